//! Step Functions offline. `asl` reads the part of the States Language the checkout saga uses.
//! `engine` runs its executions in the local runtime, each Task a saga step invoked in its sandbox
//! exactly as moto's engine invokes it through the AWS edge (the state machine's role checked,
//! Lambda's answers and errors kept); `api` serves the Step Functions protocol (JSON 1.0) that
//! the SDK speaks, on the AWS edge, for the calls Cartwheel makes. A client reaches it when
//! `AWS_ENDPOINT_URL_SFN` names the edge (`CARTWHEEL_STATES=local`, docs/checkout.md, "The offline saga
//! engine"); otherwise every Step Functions call goes to moto's engine, as before.

pub mod api;
pub mod asl;
pub mod engine;
mod history;

pub use engine::Engine;
