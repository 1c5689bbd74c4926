//! API Gateway (HTTP API, payload format 2.0) in process: route matching, the Lambda authorizer
//! with its result cache, the gateway's own 401/403/404/413 answers, and the handler call through
//! lambda_http's own event conversion, so a handler sees exactly what it would see in AWS.
//!
//! `service.rs` holds the gateway and its request path, `authorizer.rs` the authorizer step,
//! `event.rs` the request context of the event it builds, and `answers.rs` its own answers.
//! `authorizer.rs` and `event.rs` add methods to the gateway and import `service.rs`, which
//! imports neither; none of them imports this file.

mod answers;
mod authorizer;
mod event;
mod service;

pub use service::{serve, Gateway, GatewayError, MAX_PAYLOAD_BYTES};
