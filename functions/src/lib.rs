//! Every Cartwheel Lambda. Handlers are plain async functions of (dependencies, event); the
//! registry maps each function in template.yaml to its handler, and both the Lambda binaries
//! (`src/bin`) and the offline runtime call handlers through it, so they cannot drift apart.

pub mod app;
pub mod authorizer;
pub mod handlers;
pub mod handoff;
pub mod lambda;
pub mod publish;
pub mod registry;
pub mod saga;

pub use app::{App, Config, ConfigError};
