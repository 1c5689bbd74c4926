//! The event consumers: an event applied once however often it is delivered, a poison message
//! in the dead-letter queue without holding up its batch, and the figures they keep.
//!
//! The tests are grouped by what they exercise: delivery (once, poison), the sales report,
//! redriving dead letters and replaying the archive. `messages.rs` and `queues.rs` hold the
//! helpers more than one of them uses.

mod delivery;
mod messages;
mod queues;
mod redrive;
mod replay;
mod sales_report;
