//! Reads template.yaml, the single source of truth for what Cartwheel deploys, so that the offline
//! stack serves exactly the routes, authorizer, table and bus that AWS gets.

mod model;
mod routes;

pub use model::{
    Authorizer, BusSpec, Function, KeyAttribute, RouteDecl, StateMachineSpec, TableSpec, Template,
    TemplateError,
};
pub use routes::{RouteMatch, RouteTable};

/// The template that sits beside the workspace, embedded at build time so that a Lambda binary
/// carries the same route table it was deployed with.
pub const EMBEDDED: &str = include_str!("../../../template.yaml");
