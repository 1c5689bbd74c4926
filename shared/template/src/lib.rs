//! Reads template.yaml, the single source of truth for what Cartwheel deploys, so that the offline
//! stack serves exactly the routes, authorizer, table, bus, queues, rules and pipes that AWS gets.

mod conditions;
mod cors;
mod model;
mod permissions;
mod policies;
mod throttle;
mod wiring;

pub use cartwheel_routes::{RouteDecl, RouteMatch, RouteTable};
pub use cors::CorsSpec;
pub use model::{
    ArchiveSpec, Authorizer, BusSpec, Function, IndexSpec, KeyAttribute, SecretSpec,
    StateMachineSpec, TableSpec, Template, TemplateError,
};
pub use permissions::{schedule_rule, InvokePermission};
pub use policies::{Effect, Expr, PolicyEntry, QueuePolicySpec, StatementSpec};
pub use throttle::{Throttle, ThrottleSpec};
pub use wiring::{DeadLetter, EnvValue, PipeSpec, QueueSpec, RuleSpec, Trigger};

/// The template that sits beside the workspace, embedded at build time for the offline runtime and
/// the tests (never in a Lambda binary).
pub const EMBEDDED: &str = include_str!("../../../template.yaml");
