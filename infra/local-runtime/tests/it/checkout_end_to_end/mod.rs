//! End to end on the whole offline stack: orders placed over HTTP reach the saga through the table's
//! stream, the pipe, the order queue and the starter; the saga runs the real ASL in moto's engine;
//! every transition's domain event reaches the bus, the audit trail and the customer.
//!
//! `outcomes.rs` follows orders to their outcome, `sweeper.rs` the orders the sweeper finishes,
//! `faults.rs` the saga under timeouts, crashes, cancels and an outage; `observe.rs` holds what
//! they read back.

mod faults;
mod observe;
mod outcomes;
mod sweeper;
