//! Cartwheel's domain events (DESIGN.md §6). The table's stream is the outbox: each committed change
//! that means something to another service becomes one event, read from the item's old and new
//! images, so no second write can fail after the first. The publisher sends them to the bus.

mod changes;
mod publisher;

pub use changes::{events_of, DomainEvent, EventType, UnreadableRecord, LOW_STOCK_THRESHOLD};
pub use publisher::{Publisher, Unpublished};
