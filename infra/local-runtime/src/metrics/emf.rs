//! The metrics an Embedded Metric Format line declares, read as CloudWatch Logs reads them.

use super::seconds::Point;
use serde_json::Value;

/// Calls `each` with every metric an EMF document declares (each `Metrics` entry of each
/// directive, with its `Dimensions` read from the document's own fields) and its values: EMF gives
/// a metric one value, or an array of values that are as many samples. A document that is not
/// EMF declares none.
pub fn declared(document: &Value, mut each: impl FnMut(Point<'_>, &[f64])) {
    let millis = document["_aws"]["Timestamp"].as_i64().unwrap_or_default();
    let directives = document["_aws"]["CloudWatchMetrics"].as_array();
    for directive in directives.into_iter().flatten() {
        let dimensions: Vec<(&str, &str)> = (directive["Dimensions"].as_array().into_iter())
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|name| Some((name, document[name].as_str()?)))
            .collect();
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = metric["Name"].as_str() else {
                continue;
            };
            let Some(values) = values(&document[name]) else {
                continue;
            };
            let resolution = metric["StorageResolution"].as_i64();
            let point = Point {
                namespace,
                name,
                dimensions: &dimensions,
                unit: metric["Unit"].as_str().unwrap_or("None"),
                resolution: resolution.and_then(|r| i32::try_from(r).ok()),
                second: millis.div_euclid(1000),
            };
            each(point, &values);
        }
    }
}

fn values(value: &Value) -> Option<Vec<f64>> {
    match value {
        Value::Array(values) => values.iter().map(Value::as_f64).collect(),
        one => Some(vec![one.as_f64()?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each declared metric as (namespace, name, dimensions, unit, resolution, second, values).
    type Declared = (
        String,
        String,
        Vec<(String, String)>,
        String,
        Option<i32>,
        i64,
        Vec<f64>,
    );

    fn declared_by(line: &str) -> Vec<Declared> {
        let mut found = Vec::new();
        if let Ok(document) = serde_json::from_str::<Value>(line) {
            declared(&document, |p, values| {
                let dimensions = p.dimensions.iter();
                found.push((
                    p.namespace.to_owned(),
                    p.name.to_owned(),
                    dimensions
                        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                        .collect(),
                    p.unit.to_owned(),
                    p.resolution,
                    p.second,
                    values.to_vec(),
                ));
            });
        }
        found
    }

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
        let document = cartwheel_telemetry::document(&source, &recorded, 1_500);
        let found = declared_by(&document);
        assert_eq!(found.len(), 2, "{found:?}");
        let (namespace, name, dimensions, unit, resolution, second, values) = &found[0];
        assert_eq!(
            (namespace.as_str(), name.as_str()),
            ("Cartwheel", "OrdersPlaced")
        );
        assert_eq!(values, &[2.0]);
        assert_eq!((unit.as_str(), *resolution, *second), ("Count", Some(1), 1));
        assert_eq!(dimensions[0].1, "cartwheel-local");
        assert_eq!(
            dimensions[1],
            ("function".into(), "PlaceOrderFunction".into())
        );
        assert_eq!(found[1].6, [10.0, 20.0]);
        assert_eq!(found[1].3, "Milliseconds");
    }

    #[test]
    fn a_line_that_is_not_emf_declares_nothing() {
        assert!(declared_by("plain text").is_empty());
        assert!(declared_by(r#"{"level":"INFO","message":"hi"}"#).is_empty());
    }
}
