//! The integration tests that read the stack's metrics back from moto's CloudWatch, in a process
//! of their own: the metrics collector is installed once for the whole process and puts whatever
//! any stack in it emits, so in `tests/it` it would carry (and wait on) every other test's metrics.

#[path = "../support/mod.rs"]
mod support;

mod metrics_offline;
mod unreadable_records;
