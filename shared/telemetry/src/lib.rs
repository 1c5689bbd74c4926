//! Telemetry designed in from the start: JSON logs through `tracing`, and metrics as CloudWatch
//! Embedded Metric Format lines, which CloudWatch turns into metrics with no API call on the hot path.

use serde_json::json;
use std::{sync::OnceLock, time::Duration};
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// Installs JSON logging, filtered by `RUST_LOG` (`info`, `warn`, `cartwheel_store=debug,info`;
/// default `info`). Safe to call more than once. `Targets` rather than `EnvFilter`: it needs no
/// regex engine, which every Lambda binary would otherwise carry.
pub fn init_logging() {
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter)
        .try_init();
}

pub const NAMESPACE: &str = "Cartwheel";

/// One EMF record: a single metric with the `function` dimension.
pub fn metric_line(
    function: &str,
    name: &str,
    value: f64,
    unit: &str,
    timestamp_ms: i128,
) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["function"]],
                "Metrics": [{ "Name": name, "Unit": unit }]
            }]
        },
        "function": function,
        name: value,
    })
    .to_string()
}

fn now_ms() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

type Sink = Box<dyn Fn(String) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every EMF line to `sink` instead of stdout, for the rest of the process: the offline
/// runtime collects them as CloudWatch would. False if a sink was already installed.
pub fn set_metric_sink(sink: impl Fn(String) + Send + Sync + 'static) -> bool {
    SINK.set(Box::new(sink)).is_ok()
}

/// In Lambda, stdout goes to CloudWatch Logs, where an EMF line becomes a metric.
fn emit(line: String) {
    match SINK.get() {
        Some(sink) => sink(line),
        None => println!("{line}"),
    }
}

/// Records a handler's latency.
pub fn record_latency(function: &str, elapsed: Duration) {
    emit(metric_line(
        function,
        "HandlerLatency",
        elapsed.as_secs_f64() * 1000.0,
        "Milliseconds",
        now_ms(),
    ));
}

/// Records a count, such as orders placed or reservation conflicts.
pub fn record_count(function: &str, name: &str, count: u32) {
    emit(metric_line(
        function,
        name,
        f64::from(count),
        "Count",
        now_ms(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_follow_the_embedded_metric_format() {
        let line: serde_json::Value = serde_json::from_str(&metric_line(
            "get-product",
            "HandlerLatency",
            1.5,
            "Milliseconds",
            7,
        ))
        .unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Cartwheel"
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "HandlerLatency"
        );
        assert_eq!(line["_aws"]["Timestamp"], 7);
        assert_eq!(line["HandlerLatency"], 1.5);
        assert_eq!(line["function"], "get-product");
    }
}
