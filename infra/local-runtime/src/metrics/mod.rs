//! The functions' metrics offline, as CloudWatch gets them in AWS: every Embedded Metric Format
//! line a function writes is collected instead of printed, and so is what the runtime observes as
//! AWS would (`observe`: Lambda's invocations, the gateway's requests, queue depths, executions).
//! All of it is put into moto's CloudWatch (`PutMetricData`) about once a second, so it can be
//! queried with `GetMetricData`.

mod emf;
mod seconds;

pub use emf::declared;
pub use seconds::{Point, Seconds};

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{MetricDatum, StandardUnit},
    Client,
};
use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard, OnceLock, PoisonError},
    time::{Duration, SystemTime},
};

/// How often collected metrics are put; CloudWatch Logs turns EMF into metrics about as often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The values one `PutMetricData` carries at most (CloudWatch takes 1,000 data of 150). moto's
/// query parser takes time quadratic in a call's fields: one call a second with a busy route's
/// thousands of latencies cost moto a core, the same values in calls of this size a few percent.
const VALUES_PER_CALL: usize = seconds::MAX_VALUES;

/// What this process collected since the last put; set once it collects.
static COLLECTED: OnceLock<Mutex<Seconds>> = OnceLock::new();

fn collected() -> Option<MutexGuard<'static, Seconds>> {
    let seconds = COLLECTED.get()?;
    Some(seconds.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Installs the process's metric sink, and answers the task that puts what it collects with
/// `client`: the caller runs it for as long as the process collects. `None` if another sink was
/// installed first.
pub fn collect_into(client: Client) -> Option<impl std::future::Future<Output = ()> + Send> {
    let installed = cartwheel_telemetry::set_metric_sink(|line| {
        // Parsed before the lock is taken: the other requests' observations wait on it.
        let Ok(document) = serde_json::from_str::<serde_json::Value>(&line) else {
            return;
        };
        if let Some(mut seconds) = collected() {
            declared(&document, |point, values| seconds.record(point, values));
        }
    });
    (installed && COLLECTED.set(Mutex::default()).is_ok()).then(|| put_metrics(client))
}

/// Whether this process keeps metrics: observers that only feed metrics need not run otherwise.
pub fn collecting() -> bool {
    COLLECTED.get().is_some()
}

/// Records one data point that AWS itself would emit (namespace `AWS/...`), at one-second
/// resolution, now. Nothing happens unless `collect_into` was called: the runtime observes
/// always, and only a process that collects keeps what it observes.
pub fn observe(
    namespace: &str,
    name: &str,
    unit: StandardUnit,
    value: f64,
    dimensions: &[(&str, &str)],
) {
    observe_at(namespace, name, unit, value, dimensions, SystemTime::now());
}

/// As `observe`, at the time the event happened rather than now.
pub fn observe_at(
    namespace: &str,
    name: &str,
    unit: StandardUnit,
    value: f64,
    dimensions: &[(&str, &str)],
    at: SystemTime,
) {
    let Some(mut seconds) = collected() else {
        return;
    };
    let point = Point {
        namespace,
        name,
        dimensions,
        unit: unit.as_str(),
        resolution: Some(1),
        second: DateTime::from(at).secs(),
    };
    seconds.record(point, &[value]);
}

async fn put_metrics(client: Client) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tick.tick().await;
        // The lock is held for the swap only, never across the puts.
        let Some(taken) = collected().map(|mut seconds| std::mem::take(&mut *seconds)) else {
            return;
        };
        if !taken.is_empty() {
            flush(&client, taken.into_data()).await;
        }
    }
}

async fn flush(client: &Client, data: BTreeMap<String, Vec<MetricDatum>>) {
    for (namespace, data) in data {
        for call in calls(data) {
            let put = client
                .put_metric_data()
                .namespace(&namespace)
                .set_metric_data(Some(call))
                .send()
                .await;
            if let Err(error) = put {
                let error = aws_sdk_cloudwatch::error::DisplayErrorContext(&error);
                tracing::warn!(%error, "CloudWatch refused the functions' metrics");
            }
        }
    }
}

/// `data` in calls of at most `VALUES_PER_CALL` values (a datum never splits).
fn calls(data: Vec<MetricDatum>) -> Vec<Vec<MetricDatum>> {
    let mut calls: Vec<Vec<MetricDatum>> = Vec::new();
    let mut values = 0;
    for datum in data {
        let size = datum.values().len().max(1);
        match calls.last_mut() {
            Some(call) if values + size <= VALUES_PER_CALL => call.push(datum),
            _ => {
                calls.push(vec![datum]);
                values = 0;
            }
        }
        values += size;
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_carry_at_most_150_values_and_never_split_a_datum() {
        let datum = |n: usize| {
            MetricDatum::builder()
                .metric_name("Latency")
                .set_values(Some((0..n).map(|v| v as f64).collect()))
                .set_counts(Some(vec![1.0; n]))
                .build()
        };
        let calls = calls(vec![datum(100), datum(50), datum(150), datum(1), datum(0)]);
        let sizes: Vec<Vec<usize>> = calls
            .iter()
            .map(|call| call.iter().map(|d| d.values().len()).collect())
            .collect();
        assert_eq!(sizes, [vec![100, 50], vec![150], vec![1, 0]]);
    }
}
