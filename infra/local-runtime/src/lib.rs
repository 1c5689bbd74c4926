//! The offline stand-in for what AWS wires around Cartwheel's functions: it reads template.yaml,
//! creates the table and bus in DynamoDB Local and moto, and serves every route with API Gateway
//! HTTP API semantics, calling the same handlers in process.

pub mod aws_edge;
pub mod gateway;
pub mod provision;
pub mod seed;

pub use gateway::{serve, Gateway, GatewayError};
