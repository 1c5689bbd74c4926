//! Every Cartwheel Lambda. Handlers are plain async functions of (dependencies, event);
//! `deployed` declares each function of template.yaml once (its handler and dependency type),
//! each binary in `src/bin` runs one of them, and the offline runtime runs them all
//! (`deployed::all`, typed by `registry::Handler`).

pub mod authorizer;
pub mod config;
pub mod consume;
pub mod consumers;
pub mod deployed;
pub mod deps;
pub mod function;
pub mod handlers;
pub mod handoff;
pub mod lambda;
pub mod limits;
pub mod mail;
pub mod origin;
pub mod processor;
pub mod publish;
pub mod push;
pub mod registry;
pub mod saga;
pub mod unreadable;

pub use config::{ConfigError, Env};
pub use function::{Function, Instantiate, Invoke};
