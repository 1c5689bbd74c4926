use crate::{
    text::{bounded, string_value},
    InvalidValue, Money, ProductId, Ratings, Timestamp,
};
use serde::{Deserialize, Serialize};

fn slug(raw: &str, max: usize, extra: &[char]) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || extra.contains(&c);
    if trimmed.is_empty() || trimmed.len() > max || !trimmed.chars().all(allowed) {
        let extras: String = extra.iter().map(|c| format!(" '{c}'")).collect();
        return Err(InvalidValue::new(format!(
            "must be 1 to {max} characters of letters, digits, '-'{extras}"
        )));
    }
    Ok(trimmed.to_owned())
}

string_value!(
    /// A stock-keeping unit, unique across the catalog; compared case-insensitively (stored upper case).
    Sku,
    |raw| slug(raw, 64, &['_']).map(|s| s.to_ascii_uppercase())
);
string_value!(
    /// A catalog category, stored lower case so that "Books" and "books" are one category.
    Category,
    |raw| slug(raw, 50, &[]).map(|s| s.to_ascii_lowercase())
);
string_value!(ProductName, |raw| bounded(raw, 1, 200));
string_value!(Description, |raw| bounded(raw, 0, 2000));

/// Units on hand; never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Stock(u32);

impl Stock {
    pub const MAX: i64 = 1_000_000_000;

    pub fn units(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Stock {
    type Error = InvalidValue;
    fn try_from(units: i64) -> Result<Self, Self::Error> {
        match u32::try_from(units) {
            Ok(units) if i64::from(units) <= Self::MAX => Ok(Self(units)),
            _ => Err(InvalidValue::new(format!(
                "must be a whole number from 0 to {}",
                Self::MAX
            ))),
        }
    }
}

impl From<Stock> for i64 {
    fn from(stock: Stock) -> i64 {
        stock.units()
    }
}

fn no_description() -> Description {
    Description(String::new())
}

/// What an admin sends to create a product.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: ProductName,
    #[serde(default = "no_description")]
    pub description: Description,
    pub category: Category,
    pub price: Money,
    pub stock: Stock,
}

/// What an admin sends to replace a product's details; `version` is the one they last read.
/// Stock is not part of it: it has its own route, because orders move it concurrently.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductUpdate {
    pub sku: Sku,
    pub name: ProductName,
    #[serde(default = "no_description")]
    pub description: Description,
    pub category: Category,
    pub price: Money,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: Description,
    pub category: Category,
    pub price: Money,
    pub stock: Stock,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Changed only by reviews, never by an admin's update.
    #[serde(flatten)]
    pub ratings: Ratings,
}

impl Product {
    pub fn create(id: ProductId, new: NewProduct, now: Timestamp) -> Self {
        Self {
            id,
            sku: new.sku,
            name: new.name,
            description: new.description,
            category: new.category,
            price: new.price,
            stock: new.stock,
            version: 1,
            created_at: now,
            updated_at: now,
            ratings: Ratings::default(),
        }
    }

    /// The product as it is after `update`, one version on.
    pub fn updated(&self, update: ProductUpdate, now: Timestamp) -> Self {
        Self {
            sku: update.sku,
            name: update.name,
            description: update.description,
            category: update.category,
            price: update.price,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_and_category_are_normalised() {
        assert_eq!(Sku::parse(" ab-12_x ").unwrap().as_str(), "AB-12_X");
        assert_eq!(Category::parse("Books").unwrap().as_str(), "books");
        assert!(Sku::parse("has space").is_err());
        assert!(Category::parse("a_b").is_err());
        assert!(Category::parse("").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProductName::parse("  Mug ").unwrap().as_str(), "Mug");
        assert!(ProductName::parse("   ").is_err());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
        assert!(Description::parse("").is_ok());
    }

    #[test]
    fn stock_is_never_negative() {
        assert!(Stock::try_from(-1).is_err());
        assert_eq!(Stock::try_from(0).map(i64::from), Ok(0));
    }

    #[test]
    fn new_product_refuses_unknown_fields_and_fractional_prices() {
        let ok = r#"{"sku":"A1","name":"Mug","category":"kitchen","price":{"amount":500,"currency":"EUR"},"stock":3}"#;
        assert!(serde_json::from_str::<NewProduct>(ok).is_ok());
        let unknown = ok.replace("\"stock\":3", "\"stock\":3,\"colour\":\"red\"");
        assert!(serde_json::from_str::<NewProduct>(&unknown).is_err());
        let fractional = ok.replace("500", "5.5");
        assert!(serde_json::from_str::<NewProduct>(&fractional).is_err());
    }
}
