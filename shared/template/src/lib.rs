//! Reads template.yaml, the single source of truth for what Cartwheel deploys, so that the offline
//! stack serves exactly the routes, authorizer, table, bus, queues, rules and pipes that AWS gets.

mod model;
mod routes;
mod wiring;

pub use model::{
    Authorizer, BusSpec, Function, IndexSpec, KeyAttribute, RouteDecl, StateMachineSpec, TableSpec,
    Template, TemplateError,
};
pub use routes::{RouteMatch, RouteTable};
pub use wiring::{DeadLetter, EnvValue, PipeSpec, QueueSpec, RuleSpec, Trigger};

/// The template that sits beside the workspace, embedded at build time so that a Lambda binary
/// carries the same route table it was deployed with.
pub const EMBEDDED: &str = include_str!("../../../template.yaml");
