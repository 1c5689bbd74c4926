pub mod admin;
pub mod cart;
pub mod catalog;
pub mod favourites;
pub mod identity;
pub mod notifications;
pub mod orders;
pub mod realtime;
pub mod reports;
pub mod reviews;
pub mod system;

/// Handlers answer a store failure through this, as the limits do.
pub(crate) use crate::store_answer::store_error;
