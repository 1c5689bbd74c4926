//! Telemetry designed in from the start, doing in Rust what Powertools for AWS Lambda's Logger and
//! Metrics do: JSON logs through `tracing` with the invocation's request id, trace id, function and
//! cold start, and business metrics as CloudWatch Embedded Metric Format, one document per
//! invocation.

mod emf;
mod invocation;
mod logs;
mod metric;
mod sink;

pub use emf::{document, Recorded, Source, DIMENSIONS, NAMESPACE};
pub use invocation::{count, fact, invocation, record};
pub use logs::{init_logging, json_logs};
pub use metric::{Metric, Unit};
pub use sink::set_metric_sink;
