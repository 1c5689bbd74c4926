//! CloudWatch Embedded Metric Format: one JSON document per invocation that CloudWatch Logs turns
//! into metrics, with no API call on the function's hot path.

use crate::metric::Metric;
use serde_json::{json, Map, Value};

/// The namespace of every metric Cartwheel emits.
pub const NAMESPACE: &str = "Cartwheel";
/// The one dimension set: the stack (`service`, so that two stacks in one account keep their
/// metrics apart) and the function's logical id in template.yaml (`function`).
pub const DIMENSIONS: [&str; 2] = ["service", "function"];

/// Whose metrics these are: the values of [`DIMENSIONS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub service: String,
    pub function: &'static str,
}

/// The values one invocation recorded, per metric, in the order first recorded.
pub type Recorded = Vec<(Metric, Vec<f64>)>;

/// The EMF document of one invocation's metrics. A metric recorded more than once gets an array
/// of values, which CloudWatch counts as that many samples.
pub fn document(source: &Source, recorded: &Recorded, timestamp_ms: i128) -> String {
    let declared: Vec<Value> = recorded
        .iter()
        .map(|(metric, _)| {
            json!({
                "Name": metric.name(),
                "Unit": metric.unit().as_str(),
                "StorageResolution": metric.storage_resolution(),
            })
        })
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [DIMENSIONS],
                "Metrics": declared,
            }]
        }),
    );
    document.insert(DIMENSIONS[0].into(), source.service.clone().into());
    document.insert(DIMENSIONS[1].into(), source.function.into());
    for (metric, values) in recorded {
        let value = match values.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        document.insert(metric.name().into(), value);
    }
    Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_each_metric_with_its_unit_and_resolution() {
        let recorded = vec![
            (Metric::OrdersPlaced, vec![1.0]),
            (Metric::HandlerLatency, vec![1.5, 2.5]),
        ];
        let source = Source {
            service: "cartwheel-dev".into(),
            function: "PlaceOrderFunction",
        };
        let line: Value = serde_json::from_str(&document(&source, &recorded, 7)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 7);
        assert_eq!(directive["Namespace"], "Cartwheel");
        assert_eq!(directive["Dimensions"], json!([["service", "function"]]));
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "HandlerLatency", "Unit": "Milliseconds", "StorageResolution": 1})
        );
        assert_eq!(line["service"], "cartwheel-dev");
        assert_eq!(line["function"], "PlaceOrderFunction");
        assert_eq!(line["OrdersPlaced"], 1.0);
        assert_eq!(line["HandlerLatency"], json!([1.5, 2.5]));
    }
}
