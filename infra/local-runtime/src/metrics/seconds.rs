//! The samples of each metric in each second, counted as they arrive: one datum of distinct
//! values with their counts (`Values`/`Counts`), rounded to `SIGNIFICANT_DIGITS`, as the
//! CloudWatch agent batches them. A busy second's thousands of samples become a few hundred data,
//! which moto parses in time; sums, counts and percentiles are unchanged. A sample is counted in
//! place, with no allocation once its metric has been seen that second: the runtime records ten
//! or so for every request it serves, and its CPU per request is what the benchmarks measure.

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, MetricDatum, StandardUnit},
};
use std::{
    collections::{hash_map::RandomState, BTreeMap, HashMap},
    hash::BuildHasher,
};

/// The most distinct values one datum takes.
pub(crate) const MAX_VALUES: usize = 150;
/// Significant digits a value keeps: 12.3456 ms counts as 12.3 ms. A latency's 0.1 % is noise,
/// and a second of a busy route then has a few hundred distinct values instead of one per request.
const SIGNIFICANT_DIGITS: i32 = 3;

/// Which metric a sample belongs to, and its second, borrowed from whoever records it.
#[derive(Debug, Clone, Copy)]
pub struct Point<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub dimensions: &'a [(&'a str, &'a str)],
    pub unit: &'a str,
    pub resolution: Option<i32>,
    pub second: i64,
}

/// One metric in one second, owned, with the count of each rounded value (keyed by its bits).
#[derive(Debug)]
struct Series {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    unit: String,
    resolution: Option<i32>,
    second: i64,
    counts: BTreeMap<u64, f64>,
}

impl Series {
    fn is(&self, point: &Point<'_>) -> bool {
        self.second == point.second
            && self.name == point.name
            && self.namespace == point.namespace
            && self.unit == point.unit
            && self.resolution == point.resolution
            && self.dimensions.len() == point.dimensions.len()
            && (self.dimensions.iter())
                .zip(point.dimensions)
                .all(|((n, v), (pn, pv))| n == pn && v == pv)
    }

    fn new(point: &Point<'_>) -> Self {
        let owned = |(n, v): &(&str, &str)| ((*n).to_owned(), (*v).to_owned());
        Self {
            namespace: point.namespace.to_owned(),
            name: point.name.to_owned(),
            dimensions: point.dimensions.iter().map(owned).collect(),
            unit: point.unit.to_owned(),
            resolution: point.resolution,
            second: point.second,
            counts: BTreeMap::new(),
        }
    }

    fn order(&self) -> impl Ord + '_ {
        let unit = self.unit.as_str();
        (
            &self.namespace,
            &self.name,
            &self.dimensions,
            unit,
            self.resolution,
            self.second,
        )
    }
}

/// The metrics counted since the last `take`, found by a hash of their point; a bucket holds the
/// (rare) points whose hashes collide.
#[derive(Debug, Default)]
pub struct Seconds {
    series: HashMap<u64, Vec<Series>>,
    hasher: RandomState,
}

impl Seconds {
    /// Counts `values` as samples of `point`.
    pub fn record(&mut self, point: Point<'_>, values: &[f64]) {
        let hash = self.hasher.hash_one((
            point.namespace,
            point.name,
            point.dimensions,
            point.unit,
            point.resolution,
            point.second,
        ));
        let bucket = self.series.entry(hash).or_default();
        let at = match bucket.iter().position(|series| series.is(&point)) {
            Some(at) => at,
            None => {
                bucket.push(Series::new(&point));
                bucket.len() - 1
            }
        };
        let counts = &mut bucket[at].counts;
        for value in values {
            *counts.entry(rounded(*value).to_bits()).or_default() += 1.0;
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Each namespace's data, in the order of namespace, name, dimensions, unit, resolution and
    /// second; a metric with more than `MAX_VALUES` distinct values in a second is several data.
    pub fn into_data(self) -> BTreeMap<String, Vec<MetricDatum>> {
        let mut series: Vec<Series> = self.series.into_values().flatten().collect();
        series.sort_by(|a, b| a.order().cmp(&b.order()));
        let mut by_namespace: BTreeMap<String, Vec<MetricDatum>> = BTreeMap::new();
        for series in series {
            let counts: Vec<(f64, f64)> = (series.counts.iter())
                .map(|(v, n)| (f64::from_bits(*v), *n))
                .collect();
            let dimensions: Vec<Dimension> = (series.dimensions.iter())
                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                .collect();
            let data = by_namespace.entry(series.namespace.clone()).or_default();
            for chunk in counts.chunks(MAX_VALUES) {
                data.push(
                    MetricDatum::builder()
                        .metric_name(&series.name)
                        .set_dimensions(Some(dimensions.clone()))
                        .unit(StandardUnit::from(series.unit.as_str()))
                        .set_storage_resolution(series.resolution)
                        .timestamp(DateTime::from_secs(series.second))
                        .set_values(Some(chunk.iter().map(|(v, _)| *v).collect()))
                        .set_counts(Some(chunk.iter().map(|(_, n)| *n).collect()))
                        .build(),
                );
            }
        }
        by_namespace
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: i64, function: &'static str) -> Point<'static> {
        Point {
            namespace: "AWS/Lambda",
            name: "Duration",
            dimensions: match function {
                "f" => &[("FunctionName", "f")],
                _ => &[("FunctionName", "g")],
            },
            unit: "Milliseconds",
            resolution: Some(1),
            second,
        }
    }

    #[test]
    fn samples_of_one_metric_in_one_second_become_one_datum_of_values_and_counts() {
        let mut seconds = Seconds::default();
        seconds.record(point(2, "f"), &[5.0]);
        seconds.record(point(1, "f"), &[5.0, 7.0]);
        seconds.record(point(1, "g"), &[9.0]);
        seconds.record(point(1, "f"), &[5.0]);
        let data = &seconds.into_data()["AWS/Lambda"];
        assert_eq!(data.len(), 3, "two seconds of f, one of g: {data:?}");
        assert_eq!(data[0].values(), [5.0, 7.0]);
        assert_eq!(data[0].counts(), [2.0, 1.0]);
        assert_eq!(data[0].timestamp(), Some(&DateTime::from_secs(1)));
        assert_eq!(data[0].unit(), Some(&StandardUnit::Milliseconds));
        assert_eq!(data[0].storage_resolution(), Some(1));
        assert_eq!(data[1].values(), [5.0]);
        assert_eq!(data[1].timestamp(), Some(&DateTime::from_secs(2)));
        assert_eq!(data[2].dimensions()[0].value(), Some("g"));
    }

    #[test]
    fn a_second_with_more_distinct_values_than_a_datum_takes_is_several_data() {
        let mut seconds = Seconds::default();
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        seconds.record(point(1, "f"), &values);
        let data = &seconds.into_data()["AWS/Lambda"];
        let sizes: Vec<usize> = data.iter().map(|d| d.values().len()).collect();
        assert_eq!(sizes, [150, 50]);
    }

    #[test]
    fn values_keep_three_significant_digits() {
        assert_eq!(rounded(12.3456), 12.3);
        assert_eq!(rounded(0.012_345), 0.0123);
        assert_eq!(rounded(98_765.0), 98_800.0);
        assert_eq!(rounded(1.0), 1.0);
        assert_eq!(rounded(0.0), 0.0);
    }
}
