//! What Powertools' Logger and Metrics do around a Lambda handler, for Cartwheel's functions: each
//! invocation runs in a span that names the function and says whether it is a cold start, and the
//! metrics its code records are flushed as one EMF document when it ends, with its latency.

use crate::{
    emf::{self, Recorded, Source},
    metric::Metric,
    sink,
};
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};
use tracing::Instrument;

/// What the current invocation has recorded, and whose it is.
#[derive(Clone)]
struct Current {
    source: Arc<Source>,
    recorded: Arc<Mutex<Recorded>>,
}

tokio::task_local! {
    static RECORDER: Current;
}

/// Runs one invocation of `function`'s handler, then emits its metrics: what the handler
/// recorded, `HandlerLatency`, and `ColdStart` if this is the first invocation.
pub async fn invocation<F: Future>(source: Arc<Source>, cold_start: bool, handler: F) -> F::Output {
    let recorded = Arc::new(Mutex::new(Recorded::new()));
    let span = tracing::info_span!(
        "invocation",
        function = source.function,
        coldStart = cold_start
    );
    let started = Instant::now();
    let current = Current {
        source: Arc::clone(&source),
        recorded: Arc::clone(&recorded),
    };
    let output = RECORDER.scope(current, handler.instrument(span)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut recorded = std::mem::take(&mut *lock(&recorded));
    push(&mut recorded, Metric::HandlerLatency, latency_ms);
    if cold_start {
        push(&mut recorded, Metric::ColdStart, 1.0);
    }
    sink::emit(emf::document(&source, &recorded, now_ms()));
    output
}

/// Records one value of `metric` for the current invocation. Outside an invocation (a handler
/// called directly by a unit test) there is no function to attribute it to, and it is dropped.
pub fn record(metric: Metric, value: f64) {
    let _ = RECORDER.try_with(|current| push(&mut lock(&current.recorded), metric, value));
}

/// Emits `values` of `metric` at once, in a document of their own, rather than with the
/// invocation's others when it ends: for a fact the caller has just committed, which must count
/// even if the invocation dies later in its batch (and, as a redelivery finds the fact committed,
/// would otherwise never count). Outside an invocation it is dropped, as `record` does.
pub fn fact(metric: Metric, values: &[f64]) {
    if values.is_empty() {
        return;
    }
    let _ = RECORDER.try_with(|current| {
        let recorded: Recorded = vec![(metric, values.to_vec())];
        sink::emit(emf::document(&current.source, &recorded, now_ms()));
    });
}

/// Records a count; zero records nothing, as no event happened.
pub fn count(metric: Metric, n: usize) {
    if n > 0 {
        record(metric, n as f64);
    }
}

fn push(recorded: &mut Recorded, metric: Metric, value: f64) {
    match recorded.iter_mut().find(|(m, _)| *m == metric) {
        Some((_, values)) => values.push(value),
        None => recorded.push((metric, vec![value])),
    }
}

/// A panic in a handler cannot leave the list half-written: pushes are single calls.
fn lock(recorded: &Mutex<Recorded>) -> std::sync::MutexGuard<'_, Recorded> {
    recorded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[tokio::test]
    async fn an_invocation_emits_what_it_recorded_with_its_latency_and_cold_start() {
        let lines = sink::capture_for_test();
        let source = Source {
            service: "cartwheel-test".into(),
            function: "PlaceOrderFunction",
        };
        let answer = invocation(Arc::new(source), true, async {
            count(Metric::OrdersPlaced, 1);
            count(Metric::EventsFailed, 0);
            record(Metric::CheckoutDuration, 12.0);
            record(Metric::CheckoutDuration, 30.0);
            42
        })
        .await;
        assert_eq!(answer, 42);
        let line = lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("PlaceOrderFunction"))
            .cloned()
            .expect("one EMF document");
        let line: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(line["OrdersPlaced"], 1.0);
        assert_eq!(line["CheckoutDuration"], serde_json::json!([12.0, 30.0]));
        assert!(line["HandlerLatency"].as_f64().unwrap() >= 0.0);
        assert_eq!(line["ColdStart"], 1.0);
        assert!(
            line.get("EventsFailed").is_none(),
            "zero counts are not sent"
        );
    }

    #[tokio::test]
    async fn a_fact_is_emitted_when_recorded_not_when_the_invocation_ends() {
        let lines = sink::capture_for_test();
        let source = Source {
            service: "cartwheel-fact-test".into(),
            function: "SalesAnalyticsFunction",
        };
        let facts = |lines: &Arc<Mutex<Vec<String>>>| {
            lines
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains("cartwheel-fact-test") && l.contains("OrdersRejected"))
                .count()
        };
        invocation(Arc::new(source), false, async {
            fact(Metric::OrdersRejected, &[1.0]);
            assert_eq!(facts(&lines), 1, "emitted before the invocation ends");
        })
        .await;
        assert_eq!(
            facts(&lines),
            1,
            "and not again with the invocation's document"
        );
    }

    #[test]
    fn outside_an_invocation_a_record_is_dropped_without_panicking() {
        record(Metric::OrdersPlaced, 1.0);
    }
}
