//! The functions' metrics offline, as CloudWatch gets them in AWS: every Embedded Metric Format
//! line a function writes is collected instead of printed, and so is what the runtime observes as
//! AWS would (`observe`: Lambda's invocations, the gateway's requests, queue depths, executions).
//! All of it is put into moto's CloudWatch (`PutMetricData`) about once a second, so it can be
//! queried with `GetMetricData`.

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit},
    Client,
};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    sync::OnceLock,
    time::{Duration, SystemTime},
};
use tokio::sync::mpsc;

/// How often collected metrics are put; CloudWatch Logs turns EMF into metrics about as often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most distinct values one datum takes.
const MAX_VALUES: usize = 150;
/// The values one `PutMetricData` carries at most (CloudWatch takes 1,000 data of 150). moto's
/// query parser takes time quadratic in a call's fields: one call a second with a busy route's
/// thousands of latencies cost moto a core, the same values in calls of this size a few percent.
const VALUES_PER_CALL: usize = MAX_VALUES;
/// Significant digits a value keeps: 12.3456 ms counts as 12.3 ms. A latency's 0.1 % is noise,
/// and a second of a busy route then has a few hundred distinct values instead of one per request.
const SIGNIFICANT_DIGITS: i32 = 3;

/// One metric of an EMF line, with its namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub namespace: String,
    pub datum: MetricDatum,
}

/// The metrics an EMF line declares: each `Metrics` entry, with its `Dimensions` read from the
/// line's own fields. A line that is not EMF declares none.
pub fn samples(line: &str) -> Vec<Sample> {
    let Ok(record) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let timestamp = record["_aws"]["Timestamp"].as_i64().unwrap_or_default();
    let directives = record["_aws"]["CloudWatchMetrics"].as_array();
    directives
        .into_iter()
        .flatten()
        .flat_map(|directive| {
            let dimensions: Vec<Dimension> = directive["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|name| {
                    let value = record[name].as_str()?;
                    Some(Dimension::builder().name(name).value(value).build())
                })
                .collect();
            let namespace = directive["Namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let record = &record;
            directive["Metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |metric| {
                    let name = metric["Name"].as_str()?;
                    let datum = with_values(MetricDatum::builder(), &record[name])?
                        .metric_name(name)
                        .unit(StandardUnit::from(
                            metric["Unit"].as_str().unwrap_or("None"),
                        ))
                        .set_storage_resolution(
                            metric["StorageResolution"]
                                .as_i64()
                                .and_then(|r| i32::try_from(r).ok()),
                        )
                        .timestamp(DateTime::from_millis(timestamp))
                        .set_dimensions(Some(dimensions.clone()))
                        .build();
                    Some(Sample {
                        namespace: namespace.clone(),
                        datum,
                    })
                })
        })
        .collect()
}

/// EMF gives a metric one value, or an array of values that are as many samples.
fn with_values(
    datum: aws_sdk_cloudwatch::types::builders::MetricDatumBuilder,
    value: &Value,
) -> Option<aws_sdk_cloudwatch::types::builders::MetricDatumBuilder> {
    match value {
        Value::Array(values) => {
            let values: Option<Vec<f64>> = values.iter().map(Value::as_f64).collect();
            Some(datum.set_values(Some(values?)))
        }
        one => Some(datum.value(one.as_f64()?)),
    }
}

static OBSERVED: OnceLock<mpsc::UnboundedSender<Sample>> = OnceLock::new();

/// Installs the process's metric sink, and answers the task that puts what it collects with
/// `client`: the caller runs it for as long as the process collects. `None` if another sink was
/// installed first.
pub fn collect_into(client: Client) -> Option<impl std::future::Future<Output = ()> + Send> {
    let (sender, receiver) = mpsc::unbounded_channel::<Sample>();
    let emf = sender.clone();
    let installed = cartwheel_telemetry::set_metric_sink(move |line| {
        for sample in samples(&line) {
            let _ = emf.send(sample);
        }
    });
    (installed && OBSERVED.set(sender).is_ok()).then(|| put_metrics(client, receiver))
}

/// Whether this process keeps metrics: observers that only feed metrics need not run otherwise.
pub fn collecting() -> bool {
    OBSERVED.get().is_some()
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
    let Some(sender) = OBSERVED.get() else {
        return;
    };
    let dimensions = dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(*value).build())
        .collect();
    let datum = MetricDatum::builder()
        .metric_name(name)
        .unit(unit)
        .value(value)
        .storage_resolution(1)
        .timestamp(DateTime::from(at))
        .set_dimensions(Some(dimensions))
        .build();
    let _ = sender.send(Sample {
        namespace: namespace.to_owned(),
        datum,
    });
}

async fn put_metrics(client: Client, mut samples: mpsc::UnboundedReceiver<Sample>) {
    let mut pending: Vec<Sample> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            sample = samples.recv() => match sample {
                Some(sample) => pending.push(sample),
                None => return,
            },
            _ = tick.tick() => flush(&client, std::mem::take(&mut pending)).await,
        }
    }
}

async fn flush(client: &Client, samples: Vec<Sample>) {
    // A busy second holds tens of thousands of samples: aggregated on a worker, they would stall
    // every request queued behind them (the runtime may have one CPU to itself,
    // docs/experiments.md), so they are aggregated beside the workers.
    let aggregated = tokio::task::spawn_blocking(move || aggregate(samples)).await;
    for (namespace, data) in aggregated.unwrap_or_default() {
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

/// `value` to `SIGNIFICANT_DIGITS` significant digits.
fn rounded(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let exponent = SIGNIFICANT_DIGITS - 1 - value.abs().log10().floor() as i32;
    // Dividing by an exact power of ten keeps 98,800 exact, where multiplying by 0.01 would not.
    if exponent >= 0 {
        let scale = 10f64.powi(exponent);
        (value * scale).round() / scale
    } else {
        let scale = 10f64.powi(-exponent);
        (value / scale).round() * scale
    }
}

/// A metric's identity within one second: namespace, name, dimensions, unit, resolution, second.
type SecondKey = (
    String,
    String,
    Vec<(String, String)>,
    String,
    Option<i32>,
    i64,
);

/// The samples of each metric in each second, as one datum of distinct values with their counts
/// (`Values`/`Counts`), rounded to `SIGNIFICANT_DIGITS`, as the CloudWatch agent batches them: a burst's thousands of samples per
/// second become a few hundred data, which moto parses in time. Sums, counts and percentiles are
/// unchanged.
pub fn aggregate(samples: Vec<Sample>) -> BTreeMap<String, Vec<MetricDatum>> {
    let mut seconds: BTreeMap<SecondKey, BTreeMap<u64, f64>> = BTreeMap::new();
    for Sample { namespace, datum } in samples {
        let dimensions = datum
            .dimensions()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let key = (
            namespace,
            datum.metric_name().unwrap_or_default().to_owned(),
            dimensions,
            datum
                .unit()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            datum.storage_resolution(),
            datum.timestamp().map_or(0, DateTime::secs),
        );
        let counts = seconds.entry(key).or_default();
        let values = datum
            .value()
            .into_iter()
            .chain(datum.values().iter().copied());
        for value in values {
            *counts.entry(rounded(value).to_bits()).or_default() += 1.0;
        }
    }
    let mut by_namespace: BTreeMap<String, Vec<MetricDatum>> = BTreeMap::new();
    for ((namespace, name, dimensions, unit, resolution, second), counts) in seconds {
        let counts: Vec<(f64, f64)> = counts
            .into_iter()
            .map(|(v, n)| (f64::from_bits(v), n))
            .collect();
        for chunk in counts.chunks(MAX_VALUES) {
            let datum = MetricDatum::builder()
                .metric_name(&name)
                .set_dimensions(Some(
                    dimensions
                        .iter()
                        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                        .collect(),
                ))
                .unit(StandardUnit::from(unit.as_str()))
                .set_storage_resolution(resolution)
                .timestamp(DateTime::from_secs(second))
                .set_values(Some(chunk.iter().map(|(v, _)| *v).collect()))
                .set_counts(Some(chunk.iter().map(|(_, n)| *n).collect()))
                .build();
            by_namespace
                .entry(namespace.clone())
                .or_default()
                .push(datum);
        }
    }
    by_namespace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_document_becomes_its_metrics_with_their_dimensions() {
        use cartwheel_telemetry::Metric;
        let recorded = vec![
            (Metric::OrdersPlaced, vec![2.0]),
            (Metric::CheckoutDuration, vec![10.0, 20.0]),
        ];
        let source = cartwheel_telemetry::Source {
            service: "cartwheel-local".into(),
            function: "PlaceOrderFunction",
        };
        let document = cartwheel_telemetry::document(&source, &recorded, 1_000);
        let samples = samples(&document);
        assert_eq!(samples.len(), 2);
        let datum = &samples[0].datum;
        assert_eq!(samples[0].namespace, "Cartwheel");
        assert_eq!(datum.metric_name(), Some("OrdersPlaced"));
        assert_eq!(datum.value(), Some(2.0));
        assert_eq!(datum.unit(), Some(&StandardUnit::Count));
        assert_eq!(datum.storage_resolution(), Some(1));
        assert_eq!(datum.timestamp(), Some(&DateTime::from_millis(1_000)));
        assert_eq!(datum.dimensions()[0].value(), Some("cartwheel-local"));
        assert_eq!(datum.dimensions()[1].name(), Some("function"));
        assert_eq!(datum.dimensions()[1].value(), Some("PlaceOrderFunction"));
        let durations = &samples[1].datum;
        assert_eq!(durations.values(), [10.0, 20.0]);
        assert_eq!(durations.unit(), Some(&StandardUnit::Milliseconds));
    }

    #[test]
    fn samples_of_one_metric_in_one_second_become_one_datum_of_values_and_counts() {
        let sample = |value: f64, millis: i64| Sample {
            namespace: "AWS/Lambda".into(),
            datum: MetricDatum::builder()
                .metric_name("Duration")
                .dimensions(Dimension::builder().name("FunctionName").value("f").build())
                .unit(StandardUnit::Milliseconds)
                .value(value)
                .timestamp(DateTime::from_millis(millis))
                .build(),
        };
        let samples = vec![
            sample(5.0, 1_000),
            sample(5.0, 1_400),
            sample(7.0, 1_999),
            sample(5.0, 2_000),
        ];
        let data = &aggregate(samples)["AWS/Lambda"];
        assert_eq!(data.len(), 2, "two seconds: {data:?}");
        assert_eq!(data[0].values(), [5.0, 7.0]);
        assert_eq!(data[0].counts(), [2.0, 1.0]);
        assert_eq!(data[0].timestamp(), Some(&DateTime::from_secs(1)));
        assert_eq!(data[1].values(), [5.0]);
        assert_eq!(data[1].dimensions()[0].value(), Some("f"));
    }

    #[test]
    fn values_keep_three_significant_digits() {
        assert_eq!(rounded(12.3456), 12.3);
        assert_eq!(rounded(0.012_345), 0.0123);
        assert_eq!(rounded(98_765.0), 98_800.0);
        assert_eq!(rounded(1.0), 1.0);
        assert_eq!(rounded(0.0), 0.0);
    }

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

    #[test]
    fn a_line_that_is_not_emf_declares_nothing() {
        assert!(samples("plain text").is_empty());
        assert!(samples(r#"{"level":"INFO","message":"hi"}"#).is_empty());
    }
}
