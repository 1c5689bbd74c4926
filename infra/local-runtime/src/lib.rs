//! The offline stand-in for what AWS wires around Cartwheel's functions: it reads template.yaml,
//! creates the table, bus, queues, rules and state machines in DynamoDB Local and moto, serves every
//! route with API Gateway HTTP API semantics, and plays the event sources, pipes and schedules,
//! calling the same handlers in process.

pub mod accept;
pub mod arns;
pub mod aws_edge;
pub mod capacity;
pub mod cors;
pub mod docs;
#[cfg(test)]
mod expanded;
pub mod explore;
pub mod gateway;
pub mod iam;
pub mod invocation;
pub mod invoke_permission;
pub mod metrics;
pub mod observers;
pub mod on_failure;
pub mod ops;
pub mod parameters;
pub mod pattern;
pub mod provision;
pub mod queue_policy;
pub mod queues;
pub mod resources;
pub mod response_log;
pub mod sandbox;
pub mod seed;
pub mod stack;
pub mod stack_functions;
pub mod states;
pub mod stream;
pub mod stream_retries;
pub mod throttle;
pub mod websocket;
pub mod ws_management;

pub use gateway::{serve, Gateway, GatewayError};

/// What an error keeps of the SDK's (or serde's) error under it, as its `#[source]`.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync>;
