//! How an admin changes a product's stock. Orders reserve stock concurrently, so a plain "set to
//! N" computed from an earlier read would overwrite every reservation made since. A change is
//! therefore relative (a delta, applied atomically) or absolute but conditional on the version
//! the admin read (every reservation moves the version).

use crate::{InvalidValue, Stock};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawStockChange")]
pub enum StockChange {
    /// Set the units on hand, if the product is still at `version`.
    Set { quantity: Stock, version: u64 },
    /// Add (or, negative, take) units, whatever else changed meanwhile.
    Adjust(StockDelta),
}

/// A non-zero number of units to add or take, no larger than any stock can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockDelta(i64);

impl StockDelta {
    pub fn units(self) -> i64 {
        self.0
    }

    /// The stock the product must have now for the change to leave it within `0..=Stock::MAX`.
    pub fn allowed_before(self) -> std::ops::RangeInclusive<i64> {
        (-self.0).max(0)..=Stock::MAX - self.0.max(0)
    }
}

impl TryFrom<i64> for StockDelta {
    type Error = InvalidValue;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        match units {
            0 => Err(InvalidValue::new("must not be 0")),
            units if units.abs() <= Stock::MAX => Ok(Self(units)),
            _ => Err(InvalidValue::new(format!(
                "must be from -{0} to {0}",
                Stock::MAX
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStockChange {
    quantity: Option<i64>,
    version: Option<u64>,
    delta: Option<i64>,
}

impl TryFrom<RawStockChange> for StockChange {
    type Error = InvalidValue;
    fn try_from(raw: RawStockChange) -> Result<Self, Self::Error> {
        match (raw.quantity, raw.version, raw.delta) {
            (Some(quantity), Some(version), None) => Ok(Self::Set {
                quantity: Stock::try_from(quantity)
                    .map_err(|e| InvalidValue::new(format!("quantity {e}")))?,
                version,
            }),
            (None, None, Some(delta)) => StockDelta::try_from(delta)
                .map(Self::Adjust)
                .map_err(|e| InvalidValue::new(format!("delta {e}"))),
            (Some(_), None, None) => Err(InvalidValue::new(
                "must carry the product's version with quantity (orders change stock \
                 concurrently), or a delta instead",
            )),
            _ => Err(InvalidValue::new(
                "must be either {quantity, version} or {delta}",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<StockChange, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_set_needs_the_version_it_was_read_at() {
        assert_eq!(
            parse(r#"{"quantity": 25, "version": 7}"#),
            Ok(StockChange::Set {
                quantity: Stock::try_from(25).unwrap(),
                version: 7
            })
        );
        assert!(parse(r#"{"quantity": 25}"#)
            .unwrap_err()
            .contains("version"));
        assert!(parse(r#"{"quantity": -1, "version": 7}"#)
            .unwrap_err()
            .contains("quantity"));
    }

    #[test]
    fn a_delta_is_non_zero_and_bounded() {
        assert_eq!(
            parse(r#"{"delta": -3}"#),
            Ok(StockChange::Adjust(StockDelta(-3)))
        );
        assert!(parse(r#"{"delta": 0}"#).is_err());
        assert!(parse(r#"{"delta": 1000000001}"#).is_err());
    }

    #[test]
    fn one_kind_of_change_at_a_time() {
        assert!(parse(r#"{"quantity": 1, "version": 1, "delta": 1}"#).is_err());
        assert!(parse(r#"{"delta": 1, "version": 1}"#).is_err());
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"units": 1}"#).is_err());
    }

    #[test]
    fn a_delta_keeps_stock_within_its_bounds() {
        assert_eq!(StockDelta(-3).allowed_before(), 3..=Stock::MAX);
        assert_eq!(StockDelta(5).allowed_before(), 0..=Stock::MAX - 5);
    }
}
