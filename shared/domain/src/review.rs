//! Product reviews: what a customer writes, and the running totals a product keeps of them.

use crate::{
    text::{bounded, string_value},
    InvalidValue, OrderStatus, ProductId, ReviewId, Timestamp,
};
use serde::{Deserialize, Serialize, Serializer};

/// Stars from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Rating(u8);

impl Rating {
    pub fn stars(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Rating {
    type Error = InvalidValue;
    fn try_from(stars: i64) -> Result<Self, Self::Error> {
        u8::try_from(stars)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .map(Self)
            .ok_or_else(|| InvalidValue::new("must be a whole number from 1 to 5"))
    }
}

impl From<Rating> for i64 {
    fn from(rating: Rating) -> i64 {
        rating.stars()
    }
}

string_value!(ReviewTitle, |raw| bounded(raw, 1, 120));
string_value!(ReviewBody, |raw| bounded(raw, 0, 4000));

fn no_body() -> ReviewBody {
    ReviewBody(String::new())
}

/// What a customer sends to write or rewrite their review.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewText {
    pub rating: Rating,
    pub title: ReviewTitle,
    #[serde(default = "no_body")]
    pub body: ReviewBody,
}

/// A review as shown. The store keeps its author beside it, to decide who may change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub rating: Rating,
    pub title: ReviewTitle,
    pub body: ReviewBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether an order in `status` entitles its customer to review what it bought: once it is
/// confirmed, and for as long as it is not cancelled.
pub fn entitles_review(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Confirmed | OrderStatus::Shipped)
}

/// A product's running totals of its reviews, changed in the same transaction as each review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ratings {
    #[serde(default)]
    pub rating_count: u32,
    #[serde(default)]
    pub rating_sum: u64,
}

impl Ratings {
    /// The mean rating to two decimals; `None` before the first review.
    pub fn average(self) -> Option<f64> {
        (self.rating_count > 0).then(|| {
            let mean = self.rating_sum as f64 / f64::from(self.rating_count);
            (mean * 100.0).round() / 100.0
        })
    }
}

/// Serialized with the average beside the totals, so every view of a product shows it; the store
/// drops it again, as it is derived.
impl Serialize for Ratings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("ratingCount", &self.rating_count)?;
        map.serialize_entry("ratingSum", &self.rating_sum)?;
        map.serialize_entry(AVERAGE_RATING, &self.average())?;
        map.end()
    }
}

/// The name of the derived attribute, which the store must not keep.
pub const AVERAGE_RATING: &str = "averageRating";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five_whole_stars() {
        assert_eq!(Rating::try_from(1).map(Rating::stars), Ok(1));
        assert_eq!(Rating::try_from(5).map(Rating::stars), Ok(5));
        assert!(Rating::try_from(0).is_err());
        assert!(Rating::try_from(6).is_err());
        assert!(serde_json::from_str::<Rating>("4.5").is_err());
    }

    #[test]
    fn review_text_needs_a_title_and_refuses_unknown_fields() {
        let ok: ReviewText = serde_json::from_str(r#"{"rating":4,"title":" Good "}"#).unwrap();
        assert_eq!(ok.title.as_str(), "Good");
        assert_eq!(ok.body.as_str(), "");
        assert!(serde_json::from_str::<ReviewText>(r#"{"rating":4,"title":"  "}"#).is_err());
        let extra = r#"{"rating":4,"title":"t","stars":5}"#;
        assert!(serde_json::from_str::<ReviewText>(extra).is_err());
    }

    #[test]
    fn average_is_rounded_and_absent_without_reviews() {
        assert_eq!(Ratings::default().average(), None);
        let ratings = Ratings {
            rating_count: 3,
            rating_sum: 13,
        };
        assert_eq!(ratings.average(), Some(4.33));
        let json = serde_json::to_value(ratings).unwrap();
        assert_eq!(json["averageRating"], 4.33);
        assert_eq!(json["ratingCount"], 3);
    }

    #[test]
    fn only_confirmed_or_shipped_orders_entitle_a_review() {
        assert!(entitles_review(OrderStatus::Confirmed));
        assert!(entitles_review(OrderStatus::Shipped));
        assert!(!entitles_review(OrderStatus::Paid));
        assert!(!entitles_review(OrderStatus::Cancelled));
    }
}
