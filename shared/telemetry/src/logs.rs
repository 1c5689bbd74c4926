//! JSON logs, one object per line, as CloudWatch Logs Insights queries them.

use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// Installs JSON logging, filtered by `RUST_LOG` (`info`, `warn`, `cartwheel_store=debug,info`;
/// default `info`). Safe to call more than once. `Targets` rather than `EnvFilter`: it needs no
/// regex engine, which every Lambda binary would otherwise carry.
///
/// Every line lists its spans with their fields: the runtime's (`requestId`, `xrayTraceId`), the
/// invocation's (`function`, `coldStart`), and the handler's and store calls' (`order_id`,
/// `product_id`, ...).
pub fn init_logging() {
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter)
        .try_init();
}
