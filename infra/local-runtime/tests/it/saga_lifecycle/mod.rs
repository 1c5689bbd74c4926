//! The order lifecycle on its recovery paths (issue 22): a resumed saga, a dead execution after
//! the charge, a deleted product, a cancel after the shipment, a long sweep, racing writes and
//! retried steps. Each step runs in its sandbox (its own role) against DynamoDB Local.
//!
//! `recovery.rs`, `returns.rs`, `sweeps.rs` and `races.rs` hold the tests by path; `running.rs`
//! the steps and reads they share.

mod races;
mod recovery;
mod returns;
mod running;
mod sweeps;
