//! Operations on a running stack, offline or in AWS, through the same SDK calls: moving a
//! dead-letter queue's messages back to their source queue, and replaying the event bus's archive
//! for a window of time. `cartwheel-ops` (and `scripts/redrive`, `scripts/replay`) runs them; the
//! tests call them directly. Both may deliver an event again: the consumers drop what they have
//! already applied by its event id, so neither does anything twice.

pub mod redrive;
pub mod replay;

pub use redrive::{redrive, RedriveError, Redriven};
pub use replay::{replay, Replay, ReplayError, Replayed, Window, WindowError};
