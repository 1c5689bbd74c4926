//! JSON logs, one object per line, as CloudWatch Logs Insights queries them.

use tracing::Subscriber;
use tracing_subscriber::{
    filter::Targets, fmt::MakeWriter, layer::SubscriberExt, registry::LookupSpan,
    util::SubscriberInitExt, Layer,
};

/// Installs JSON logging to stdout, filtered by `RUST_LOG` (`info`, `warn`,
/// `cartwheel_store=debug,info`; default `info`). Safe to call more than once. `Targets` rather
/// than `EnvFilter`: it needs no regex engine, which every Lambda binary would otherwise carry.
pub fn init_logging() {
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(json_logs(std::io::stdout))
        .with(filter)
        .try_init();
}

/// The log format: each line lists its spans with their fields, outermost first: the runtime's
/// (`requestId`, `xrayTraceId`), the invocation's (`function`, `coldStart`), then the handler's and
/// the store call's (`orderId`, `productId`, ...).
pub fn json_logs<S, W>(writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .without_time()
        .with_writer(writer)
}
