//! Every Cartwheel Lambda. Handlers are plain async functions of (dependencies, event);
//! `deployed` declares each function of template.yaml once (its handler and dependency type),
//! each binary in `src/bin` runs one of them, and the offline runtime runs them all
//! (`deployed::all`, typed by `registry::Handler`). The features are the modules below; what
//! turns them into Lambdas lives in `plumbing`, re-exported here under its old paths.

pub mod authorizer;
pub mod consume;
pub mod consumers;
/// The narrow store traits in memory, for the handlers' and consumers' tests.
#[cfg(test)]
mod fake;
pub mod handlers;
pub mod handoff;
pub mod limits;
pub mod mail;
pub mod plumbing;
pub mod processor;
pub mod publish;
pub mod push;
pub mod saga;
pub mod store_answer;
pub mod unreadable;

pub use plumbing::{config, deployed, deps, function, lambda, origin, registry};

pub use config::{ConfigError, Env};
pub use function::{Function, Instantiate, Invoke};
