use crate::{text::string_value, InvalidValue};
use serde::{Deserialize, Serialize};

string_value!(
    /// An ISO 4217 alphabetic currency code, upper case.
    Currency,
    |raw| {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(raw.to_owned())
        } else {
            Err(InvalidValue::new("must be a three-letter ISO 4217 code in upper case, such as EUR"))
        }
    }
);

/// A price in minor units (cents): a positive whole number, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct PriceAmount(i64);

impl PriceAmount {
    /// Ten million in major units: far above any real product, far below overflow when summed.
    pub const MAX: i64 = 1_000_000_000;

    pub fn value(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for PriceAmount {
    type Error = InvalidValue;
    fn try_from(minor_units: i64) -> Result<Self, Self::Error> {
        if (1..=Self::MAX).contains(&minor_units) {
            Ok(Self(minor_units))
        } else {
            Err(InvalidValue::new(format!(
                "must be a whole number of minor units from 1 to {}",
                Self::MAX
            )))
        }
    }
}

impl From<PriceAmount> for i64 {
    fn from(amount: PriceAmount) -> i64 {
        amount.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: PriceAmount,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_whole_minor_units() {
        assert!(PriceAmount::try_from(0).is_err());
        assert!(PriceAmount::try_from(-5).is_err());
        assert!(PriceAmount::try_from(PriceAmount::MAX + 1).is_err());
        assert_eq!(PriceAmount::try_from(1999).map(i64::from), Ok(1999));
        assert!(serde_json::from_str::<Money>(r#"{"amount":19.99,"currency":"EUR"}"#).is_err());
    }

    #[test]
    fn currency_is_three_upper_case_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}

/// A sum of money in minor units, such as a line total or a cart total; unlike a price it may be
/// zero and may exceed one price's bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    /// The price of `quantity` units. Both are bounded, so this cannot overflow.
    pub fn times(&self, quantity: crate::Quantity) -> Total {
        Total {
            amount: self.amount.value() * quantity.units(),
            currency: self.currency.clone(),
        }
    }
}

impl Total {
    /// Adds `other`, or `None` if it is in another currency.
    pub fn plus(&self, other: &Total) -> Option<Total> {
        (self.currency == other.currency).then(|| Total {
            amount: self.amount + other.amount,
            currency: self.currency.clone(),
        })
    }
}
