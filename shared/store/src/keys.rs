//! Key formats of the single table, in one place.

use cartwheel_domain::{
    Category, Email, NotificationId, OrderId, ProductId, ProductName, ReviewId, Sku, Timestamp,
    UserId,
};

pub const PK: &str = "PK";
pub const SK: &str = "SK";

pub fn product(id: ProductId) -> (String, String) {
    (product_partition(id), "PRODUCT".into())
}

pub fn sku(sku: &Sku) -> (String, String) {
    (format!("SKU#{sku}"), "SKU".into())
}

/// Category counters share one partition so that `GET /categories` is a single Query.
pub const CATEGORIES_PK: &str = "CATEGORIES";

pub fn category(category: &Category) -> (String, String) {
    (CATEGORIES_PK.into(), category.to_string())
}

pub fn by_category(category: &Category) -> String {
    format!("CATEGORY#{category}")
}

/// Every product sits in this GSI2 partition, sorted by name: the unfiltered catalog listing.
pub const CATALOG_PK: &str = "CATALOG";

/// Sorts by name case-insensitively; the id makes equal names distinct and the order total.
pub fn name_sort_key(name: &ProductName, id: ProductId) -> String {
    format!("{}#{id}", name.as_str().to_lowercase())
}

pub fn user(id: UserId) -> (String, String) {
    (format!("USER#{id}"), "PROFILE".into())
}

pub fn email(email: &Email) -> (String, String) {
    (format!("EMAIL#{email}"), "EMAIL".into())
}

pub const CART_LINE_PREFIX: &str = "CART#";

pub fn cart_line(user: UserId, product: ProductId) -> (String, String) {
    (
        format!("USER#{user}"),
        format!("{CART_LINE_PREFIX}{product}"),
    )
}

/// An order's partition, and that of what the saga records beside it: what every attempt of the
/// order's request shares (`OrderId::placement`), so that a retry's conditional Put meets the
/// order the first attempt stored, and that Put is the whole idempotency check.
pub fn order_partition(id: OrderId) -> String {
    format!("{ORDER_PREFIX}{}", id.placement())
}

pub const ORDER_PREFIX: &str = "ORDER#";

pub fn order(id: OrderId) -> (String, String) {
    (order_partition(id), "ORDER".into())
}

/// GSI1 partition of a customer's orders; the sort key orders them by time.
pub fn orders_of(user: UserId) -> String {
    format!("USER#{user}")
}

pub fn order_sort_key(created_at: Timestamp, id: OrderId) -> String {
    format!("ORDER#{created_at}#{id}")
}

pub fn reservation(id: OrderId) -> (String, String) {
    (order_partition(id), "RESERVATION".into())
}

pub fn payment(id: OrderId) -> (String, String) {
    (order_partition(id), "PAYMENT".into())
}

pub fn shipment(id: OrderId) -> (String, String) {
    (order_partition(id), "SHIPMENT".into())
}

/// A PENDING order sits in one of these sparse-index partitions until its first transition
/// removes it, so the sweeper finds stuck orders without a scan and no partition runs hot.
pub const PENDING_SHARDS: u8 = 4;
pub const PENDING_INDEX: &str = "PendingOrders";
pub const PENDING_SHARD: &str = "pendingShard";
pub const PENDING_SINCE: &str = "pendingSince";

pub fn pending_shard(id: OrderId) -> String {
    let last = id.to_string().bytes().last().unwrap_or_default();
    pending_shard_named(last % PENDING_SHARDS)
}

pub fn pending_shard_named(shard: u8) -> String {
    format!("PENDING#{shard}")
}

/// A consumer's record that it applied an event (`once.rs`); expires with the table's TTL.
pub fn dedup(consumer: &str, event_id: &str) -> (String, String) {
    (format!("DEDUP#{consumer}#{event_id}"), "DEDUP".into())
}

/// An entity's audit trail: one partition per order or product, sorted by time, then event id.
pub fn audit_partition(entity_id: &str) -> String {
    format!("AUDIT#{entity_id}")
}

pub fn audit_record(entity_id: &str, occurred_at: &str, event_id: &str) -> (String, String) {
    (
        audit_partition(entity_id),
        format!("{occurred_at}#{event_id}"),
    )
}

/// One day's sales: a partition per UTC day (`2026-12-03`), an item per product and currency.
pub fn sales_day(day: &str) -> String {
    format!("SALES#{day}")
}

pub fn sales_line(day: &str, product: &str, currency: &str) -> (String, String) {
    (sales_day(day), format!("{product}#{currency}"))
}

pub const FAVOURITE_PREFIX: &str = "FAV#";

pub fn favourite(user: UserId, product: ProductId) -> (String, String) {
    (
        format!("USER#{user}"),
        format!("{FAVOURITE_PREFIX}{product}"),
    )
}

/// The partition of a customer's favourites; their sort keys begin with `FAVOURITE_PREFIX`.
pub fn favourites_of(user: UserId) -> String {
    format!("USER#{user}")
}

/// How many favourites a customer has, kept beside them so the limit is one condition.
pub fn favourites_counter(user: UserId) -> (String, String) {
    (format!("USER#{user}"), "FAVOURITES".into())
}

pub const REVIEW_PREFIX: &str = "REVIEW#";

/// A review sits in its product's partition; its id is a ULID, so the sort key orders by time.
pub fn review(product: ProductId, review: ReviewId) -> (String, String) {
    (
        product_partition(product),
        format!("{REVIEW_PREFIX}{review}"),
    )
}

/// Which review a customer wrote of a product: the guard that makes it one per customer.
pub fn reviewer(product: ProductId, author: UserId) -> (String, String) {
    (product_partition(product), format!("REVIEWER#{author}"))
}

pub fn product_partition(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

pub const NOTIFICATION_PREFIX: &str = "NOTE#";

/// A customer's notification; its id is a ULID of the event's time, so the sort key orders by it.
pub fn notification(user: UserId, id: NotificationId) -> (String, String) {
    (format!("USER#{user}"), format!("{NOTIFICATION_PREFIX}{id}"))
}

/// The partition of a customer's notifications.
pub fn notifications_of(user: UserId) -> String {
    format!("USER#{user}")
}

/// How many of a customer's notifications are unread, kept beside them.
pub fn unread_counter(user: UserId) -> (String, String) {
    (format!("USER#{user}"), "NOTIFICATIONS".into())
}

/// Every product's stock alert shares one partition, so the admins' list is one Query.
pub const STOCK_ALERTS_PK: &str = "STOCK_ALERTS";

pub fn stock_alert(product: ProductId) -> (String, String) {
    (STOCK_ALERTS_PK.into(), product.to_string())
}

pub const CONNECTION_PREFIX: &str = "CONN#";

/// A customer's open WebSocket connection, kept beside them so a push finds all of theirs.
pub fn connection(user: UserId, connection_id: &str) -> (String, String) {
    (
        format!("USER#{user}"),
        format!("{CONNECTION_PREFIX}{connection_id}"),
    )
}

/// Whose a connection is: `$disconnect` knows only the connection's id.
pub fn connection_owner(connection_id: &str) -> (String, String) {
    (
        format!("{CONNECTION_PREFIX}{connection_id}"),
        "CONNECTION".into(),
    )
}

/// A limit's counter for one subject in one window (`scope` names the limit: `login-account`).
pub fn limit_window(scope: &str, subject: &str, window_start: i64) -> (String, String) {
    (
        format!("LIMIT#{scope}#{subject}"),
        format!("WINDOW#{window_start}"),
    )
}

/// The circuit breaker in front of a dependency (`payments`): one item all instances share.
pub fn breaker(name: &str) -> (String, String) {
    (format!("BREAKER#{name}"), "STATE".to_owned())
}

/// The simulated card processor's outage switch, which only the simulator and the tests know.
pub fn processor_outage() -> (String, String) {
    ("SIMULATOR#card-processor".to_owned(), "OUTAGE".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartwheel_domain::IdempotencyKey;
    use serde_json::Value;

    /// The formats the Python scripts read, as `key-formats.json` writes them with `values`.
    fn written(formats: &Value, name: &str, values: &[(&str, String)]) -> Vec<String> {
        let texts: Vec<&str> = match &formats[name] {
            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
            one => one.as_str().into_iter().collect(),
        };
        assert!(!texts.is_empty(), "key-formats.json has no {name}");
        texts
            .into_iter()
            .map(|text| {
                values.iter().fold(text.to_owned(), |text, (name, value)| {
                    text.replace(&format!("{{{name}}}"), value)
                })
            })
            .collect()
    }

    #[test]
    fn the_key_formats_python_reads_are_the_ones_the_store_writes() {
        let formats: Value = serde_json::from_str(include_str!("../key-formats.json")).unwrap();
        let (user, product) = (UserId::generate(), ProductId::generate());
        let placed = Timestamp::now();
        let key = IdempotencyKey::parse("a-key").unwrap();
        let order = OrderId::for_request(user, &key, placed);
        let from = formats["placement_starts_at"].as_u64().unwrap() as usize;
        let placement = order.to_string()[from..].to_owned();
        assert_eq!(placement, order.placement());
        let pair = |(pk, sk): (String, String)| vec![pk, sk];
        let values = [
            ("user", user.to_string()),
            ("product", product.to_string()),
            ("placement", placement),
            ("scope", "orders-customer".to_owned()),
            ("subject", user.to_string()),
            ("window_start", "60".to_owned()),
            ("created_at", placed.to_string()),
            ("order", order.to_string()),
        ];
        let cases = [
            ("product", pair(self::product(product))),
            ("order", pair(self::order(order))),
            ("cart_line", pair(cart_line(user, product))),
            (
                "limit_window",
                pair(limit_window("orders-customer", &user.to_string(), 60)),
            ),
            ("orders_of", vec![orders_of(user)]),
            ("order_sort_key", vec![order_sort_key(placed, order)]),
        ];
        for (name, expected) in cases {
            assert_eq!(written(&formats, name, &values), expected, "{name}");
        }
    }
}
