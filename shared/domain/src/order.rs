use crate::{
    text::{bounded, string_value},
    InvalidValue, Money, Product, ProductId, Quantity, Timestamp, Total, UserId,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{fmt, str::FromStr};
use ulid::Ulid;

/// Identifies an order; also the saga execution's name, so a duplicate start is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(Ulid);

impl OrderId {
    pub fn generate() -> Self {
        Self::generate_at(Timestamp::now())
    }

    /// A new id that carries the time its order is placed, to the millisecond: every saga step
    /// can tell how long the checkout took without reading the order.
    pub fn generate_at(placed: Timestamp) -> Self {
        Self(Ulid::from_datetime(placed.into()))
    }

    /// The id of the order that `user` places with Idempotency-Key `key`: its 80 random bits are
    /// drawn from the two, so every retry of one request names the same order (see `placement`),
    /// and its time part is when this attempt placed it.
    pub fn for_request(user: UserId, key: &IdempotencyKey, placed: Timestamp) -> Self {
        let digest = Sha256::new()
            .chain_update(user.to_string())
            .chain_update([0])
            .chain_update(key.as_str())
            .finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        let random = u128::from_be_bytes(first) & ((1 << 80) - 1);
        Self(Ulid::from_parts(placed.unix_millis(), random))
    }

    /// What every attempt of one request shares: the id's 80 random bits, which are the last 16
    /// characters of its text. An order is stored under this, so a retry finds it.
    pub fn placement(self) -> String {
        self.0.to_string().split_off(10)
    }

    /// When the order was placed, from its id.
    pub fn placed_at(self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.timestamp_ms())
    }

    /// The checkout's duration: from the order's placement until `finished`, when it reached its
    /// final status.
    pub fn checkout_duration(self, finished: Timestamp) -> std::time::Duration {
        finished.since(self.placed_at())
    }
}

impl FromStr for OrderId {
    type Err = InvalidValue;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(raw)
            .map(Self)
            .map_err(|_| InvalidValue::new("must be a 26-character ULID"))
    }
}

impl TryFrom<String> for OrderId {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        raw.parse()
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.to_string()
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

string_value!(
    /// A card processor's token for a payment method, such as `tok_visa`.
    PaymentToken,
    |raw| {
        let valid = raw.starts_with("tok_")
            && raw.len() <= 100
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(raw.to_owned())
        } else {
            Err(InvalidValue::new("must be a payment token such as tok_visa"))
        }
    }
);
string_value!(AddressLine, |raw| bounded(raw, 1, 200));
string_value!(
    /// An ISO 3166-1 alpha-2 country code.
    CountryCode,
    |raw| {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(raw.to_owned())
        } else {
            Err(InvalidValue::new("must be a two-letter ISO 3166 country code in upper case"))
        }
    }
);
string_value!(
    /// The client's Idempotency-Key header: the same key returns the same order.
    IdempotencyKey,
    |raw| {
        let valid = (1..=255).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_graphic());
        if valid {
            Ok(raw.to_owned())
        } else {
            Err(InvalidValue::new("must be 1 to 255 visible ASCII characters"))
        }
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: AddressLine,
    pub line1: AddressLine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<AddressLine>,
    pub city: AddressLine,
    pub postal_code: AddressLine,
    pub country: CountryCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Reserved,
    Paid,
    Confirmed,
    Shipped,
    Rejected,
    PaymentFailed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Reserved,
        Self::Paid,
        Self::Confirmed,
        Self::Shipped,
        Self::Rejected,
        Self::PaymentFailed,
        Self::Cancelled,
    ];

    /// Whether the payment step is behind an order in this status (it was authorized).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Paid | Self::Confirmed | Self::Shipped)
    }

    /// Whether an order in this status counts in the sales figures: from its confirmation on, for
    /// as long as it is not cancelled. A status change moves the figures by
    /// `sale_sign(before, after)`, so a cancellation takes back exactly what a confirmation added,
    /// and an order cancelled or refunded before it was confirmed never counted.
    pub fn is_sale(self) -> bool {
        matches!(self, Self::Confirmed | Self::Shipped)
    }

    /// +1 when a change makes an order a sale, -1 when it stops being one, 0 otherwise.
    pub fn sale_sign(before: Option<Self>, after: Self) -> i64 {
        i64::from(after.is_sale()) - i64::from(before.is_some_and(Self::is_sale))
    }

    /// What the checkout's figures count when an order moves from `before` to `after`: the
    /// business metrics are these facts of the table, counted once per move the stream carries.
    pub fn checkout_fact(before: Option<Self>, after: Self) -> Option<CheckoutFact> {
        match (before, after) {
            (Some(before), after) if before == after => None,
            (_, Self::Reserved) => Some(CheckoutFact::Accepted),
            (_, Self::Rejected) => Some(CheckoutFact::Rejected),
            (_, Self::Confirmed) => Some(CheckoutFact::Confirmed),
            (_, Self::PaymentFailed) => Some(CheckoutFact::Compensated),
            _ => None,
        }
    }

    /// Whether the move ends the order's checkout (its first final status: rejected, confirmed,
    /// or its payment failed before it was confirmed), which the checkout's duration measures.
    pub fn ends_checkout(before: Option<Self>, after: Self) -> bool {
        match Self::checkout_fact(before, after) {
            Some(CheckoutFact::Rejected | CheckoutFact::Confirmed) => true,
            Some(CheckoutFact::Compensated) => before != Some(Self::Confirmed),
            _ => false,
        }
    }
}

/// A fact of the checkout that the business metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckoutFact {
    /// Its stock was reserved; it goes on to payment.
    Accepted,
    /// Its stock was short.
    Rejected,
    /// It was paid and confirmed.
    Confirmed,
    /// Its payment failed, or its shipment did after it was confirmed: the saga compensated.
    Compensated,
}

/// A line as ordered: the catalog's price at the time of the order, never the client's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub line_total: Total,
}

impl OrderLine {
    /// `quantity` of `product`, at its price now.
    pub fn priced(product: &Product, quantity: Quantity) -> Self {
        Self {
            product_id: product.id,
            sku: product.sku.to_string(),
            name: product.name.to_string(),
            unit_price: product.price.clone(),
            quantity,
            line_total: product.price.times(quantity),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total: Total,
    pub shipping_address: ShippingAddress,
    pub payment_token: PaymentToken,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub history: Vec<StatusChange>,
}

impl Order {
    /// A new order, `PENDING`, placed by `user_id` with Idempotency-Key `key`. `lines` is not
    /// empty and all in one currency; the caller checks.
    pub fn place(
        user_id: UserId,
        key: &IdempotencyKey,
        lines: Vec<OrderLine>,
        total: Total,
        shipping_address: ShippingAddress,
        payment_token: PaymentToken,
        now: Timestamp,
    ) -> Self {
        Self {
            id: OrderId::for_request(user_id, key, now),
            user_id,
            status: OrderStatus::Pending,
            lines,
            total,
            shipping_address,
            payment_token,
            created_at: now,
            updated_at: now,
            history: vec![StatusChange {
                status: OrderStatus::Pending,
                at: now,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_countries_and_keys_are_checked() {
        assert!(PaymentToken::parse("tok_visa").is_ok());
        assert!(PaymentToken::parse("visa").is_err());
        assert!(CountryCode::parse("DE").is_ok());
        assert!(CountryCode::parse("de").is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn one_customer_and_key_name_one_placement() {
        let (user, other) = (UserId::generate(), UserId::generate());
        let key = IdempotencyKey::parse("checkout-1").unwrap();
        let (first, later) = (
            Timestamp::from_unix_millis(1_700_000_000_000),
            Timestamp::from_unix_millis(1_700_000_005_000),
        );
        let id = OrderId::for_request(user, &key, first);
        let retry = OrderId::for_request(user, &key, later);
        assert_ne!(id, retry, "each attempt carries its own time");
        assert_eq!(id.placement(), retry.placement());
        assert_eq!(id.placement().len(), 16);
        assert_eq!(id.placed_at(), first);
        let another_key = IdempotencyKey::parse("checkout-2").unwrap();
        assert_ne!(
            OrderId::for_request(user, &another_key, first).placement(),
            id.placement()
        );
        assert_ne!(
            OrderId::for_request(other, &key, first).placement(),
            id.placement()
        );
    }

    #[test]
    fn each_checkout_fact_is_a_move_and_the_checkout_ends_once() {
        use OrderStatus::*;
        let fact = OrderStatus::checkout_fact;
        assert_eq!(fact(Some(Pending), Reserved), Some(CheckoutFact::Accepted));
        assert_eq!(fact(Some(Pending), Rejected), Some(CheckoutFact::Rejected));
        assert_eq!(fact(Some(Paid), Confirmed), Some(CheckoutFact::Confirmed));
        assert_eq!(
            fact(Some(Reserved), PaymentFailed),
            Some(CheckoutFact::Compensated)
        );
        assert_eq!(
            fact(Some(Confirmed), PaymentFailed),
            Some(CheckoutFact::Compensated)
        );
        assert_eq!(fact(Some(Reserved), Reserved), None, "no move, no fact");
        assert_eq!(fact(Some(Confirmed), Cancelled), None);
        assert_eq!(fact(None, Pending), None);
        assert!(OrderStatus::ends_checkout(Some(Paid), Confirmed));
        assert!(OrderStatus::ends_checkout(Some(Reserved), PaymentFailed));
        assert!(
            !OrderStatus::ends_checkout(Some(Confirmed), PaymentFailed),
            "its checkout ended when it was confirmed"
        );
        assert!(!OrderStatus::ends_checkout(Some(Pending), Reserved));
    }

    #[test]
    fn an_order_id_tells_when_its_order_was_placed() {
        let placed = Timestamp::from_unix_millis(1_700_000_000_123);
        let id = OrderId::generate_at(placed);
        assert_eq!(id.placed_at(), placed);
        let finished = Timestamp::from_unix_millis(1_700_000_002_623);
        assert_eq!(id.checkout_duration(finished).as_millis(), 2_500);
        assert_eq!(
            id.checkout_duration(placed.minus(std::time::Duration::from_secs(1)))
                .as_millis(),
            0
        );
    }

    #[test]
    fn a_confirmation_counts_once_and_a_cancellation_takes_it_back() {
        use OrderStatus::*;
        assert_eq!(OrderStatus::sale_sign(Some(Paid), Confirmed), 1);
        assert_eq!(OrderStatus::sale_sign(Some(Confirmed), Shipped), 0);
        assert_eq!(OrderStatus::sale_sign(Some(Confirmed), Cancelled), -1);
        assert_eq!(OrderStatus::sale_sign(Some(Paid), Cancelled), 0);
        assert_eq!(OrderStatus::sale_sign(Some(Pending), Reserved), 0);
        assert_eq!(OrderStatus::sale_sign(None, Pending), 0);
    }

    #[test]
    fn statuses_are_written_in_capitals() {
        assert_eq!(
            serde_json::to_string(&OrderStatus::PaymentFailed).unwrap(),
            "\"PAYMENT_FAILED\""
        );
    }
}
