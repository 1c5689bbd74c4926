//! Placing and reading orders over HTTP: catalog prices, idempotency, privacy, bad input.
//!
//! `placing.rs` places and reads orders, `refusals.rs` has the orders refused, `cancelling.rs`
//! the owner's cancellations; `requests.rs` holds the requests they all send.

mod cancelling;
mod placing;
mod refusals;
mod requests;
