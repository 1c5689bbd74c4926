use crate::{InvalidValue, ProductId, Timestamp};
use serde::{Deserialize, Serialize};

/// How many units of one product a cart line or an order line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u32);

impl Quantity {
    /// Far above any real basket; keeps line totals far from overflow.
    pub const MAX: i64 = 1000;

    pub fn units(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = InvalidValue;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        match u32::try_from(units) {
            Ok(units) if units >= 1 && i64::from(units) <= Self::MAX => Ok(Self(units)),
            _ => Err(InvalidValue::new(format!(
                "must be a whole number from 1 to {}",
                Self::MAX
            ))),
        }
    }
}

impl From<Quantity> for i64 {
    fn from(quantity: Quantity) -> i64 {
        quantity.units()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub added_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_positive_and_bounded() {
        for bad in [0, -1, Quantity::MAX + 1] {
            assert!(Quantity::try_from(bad).is_err(), "{bad}");
        }
        assert_eq!(Quantity::try_from(3).map(i64::from), Ok(3));
    }
}
