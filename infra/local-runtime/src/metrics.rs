//! The functions' metrics offline, as CloudWatch gets them in AWS: every Embedded Metric Format
//! line a function writes is collected instead of printed, and put into moto's CloudWatch
//! (`PutMetricData`) about once a second, so they can be queried with `GetMetricData`.

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit},
    Client,
};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often collected metrics are put; CloudWatch Logs turns EMF into metrics about as often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most data points one `PutMetricData` takes.
const MAX_PER_CALL: usize = 1000;

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
                    let datum = MetricDatum::builder()
                        .metric_name(name)
                        .value(record[name].as_f64()?)
                        .unit(StandardUnit::from(
                            metric["Unit"].as_str().unwrap_or("None"),
                        ))
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

/// Installs the process's metric sink and returns the task that puts what it collects with
/// `client`. False (and no task) if another sink was installed first.
pub fn collect_into(client: Client) -> Option<tokio::task::JoinHandle<()>> {
    let (sender, receiver) = mpsc::unbounded_channel::<String>();
    let installed = cartwheel_telemetry::set_metric_sink(move |line| {
        let _ = sender.send(line);
    });
    installed.then(|| tokio::spawn(put_metrics(client, receiver)))
}

async fn put_metrics(client: Client, mut lines: mpsc::UnboundedReceiver<String>) {
    let mut pending: Vec<Sample> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => pending.extend(samples(&line)),
                None => return,
            },
            _ = tick.tick() => flush(&client, std::mem::take(&mut pending)).await,
        }
    }
}

async fn flush(client: &Client, samples: Vec<Sample>) {
    let mut by_namespace: std::collections::BTreeMap<String, Vec<MetricDatum>> =
        std::collections::BTreeMap::new();
    for sample in samples {
        by_namespace
            .entry(sample.namespace)
            .or_default()
            .push(sample.datum);
    }
    for (namespace, data) in by_namespace {
        for chunk in data.chunks(MAX_PER_CALL) {
            let put = client
                .put_metric_data()
                .namespace(&namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(error) = put {
                let error = aws_sdk_cloudwatch::error::DisplayErrorContext(&error);
                tracing::warn!(%error, "CloudWatch refused the functions' metrics");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_becomes_its_metric_with_its_dimensions() {
        let line =
            cartwheel_telemetry::metric_line("place-order", "OrdersPlaced", 2.0, "Count", 1_000);
        let samples = samples(&line);
        assert_eq!(samples.len(), 1);
        let datum = &samples[0].datum;
        assert_eq!(samples[0].namespace, "Cartwheel");
        assert_eq!(datum.metric_name(), Some("OrdersPlaced"));
        assert_eq!(datum.value(), Some(2.0));
        assert_eq!(datum.unit(), Some(&StandardUnit::Count));
        assert_eq!(datum.timestamp(), Some(&DateTime::from_millis(1_000)));
        assert_eq!(datum.dimensions()[0].name(), Some("function"));
        assert_eq!(datum.dimensions()[0].value(), Some("place-order"));
    }

    #[test]
    fn a_line_that_is_not_emf_declares_nothing() {
        assert!(samples("plain text").is_empty());
        assert!(samples(r#"{"level":"INFO","message":"hi"}"#).is_empty());
    }
}
