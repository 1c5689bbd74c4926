//! One narrow trait per store operation, so that a handler states exactly what it touches. The
//! traits are grouped by what they touch, one file each; all of them are re-exported here (and
//! from the crate root).

mod cart;
mod catalog;
mod connections;
mod favourites;
mod guards;
mod notifications;
mod orders;
mod payments;
mod records;
mod reviews;
mod users;

pub use cart::*;
pub use catalog::*;
pub use connections::*;
pub use favourites::*;
pub use guards::*;
pub use notifications::*;
pub use orders::*;
pub use payments::*;
pub use records::*;
pub use reviews::*;
pub use users::*;
