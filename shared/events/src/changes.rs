use aws_lambda_events::dynamodb::EventRecord;
use cartwheel_domain::{Order, OrderStatus, Product};
use cartwheel_store::{Payment, PaymentState, Shipment};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A product whose stock falls below this many units raises `StockLow`; rising back to it or
/// above raises `StockReplenished`.
pub const LOW_STOCK_THRESHOLD: i64 = 5;

/// The detail-types of DESIGN.md §6 (plus `OrderShipped`), each with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    OrderPlaced,
    StockReserved,
    OrderRejected,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    OrderConfirmed,
    OrderCancelled,
    OrderShipped,
    ShipmentCreated,
    StockLow,
    StockReplenished,
    ProductCreated,
    ProductUpdated,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            Self::OrderPlaced => "OrderPlaced",
            Self::StockReserved => "StockReserved",
            Self::OrderRejected => "OrderRejected",
            Self::PaymentAuthorized => "PaymentAuthorized",
            Self::PaymentDeclined => "PaymentDeclined",
            Self::PaymentRefunded => "PaymentRefunded",
            Self::OrderConfirmed => "OrderConfirmed",
            Self::OrderCancelled => "OrderCancelled",
            Self::OrderShipped => "OrderShipped",
            Self::ShipmentCreated => "ShipmentCreated",
            Self::StockLow => "StockLow",
            Self::StockReplenished => "StockReplenished",
            Self::ProductCreated => "ProductCreated",
            Self::ProductUpdated => "ProductUpdated",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Self::PaymentAuthorized | Self::PaymentDeclined | Self::PaymentRefunded => {
                "cartwheel.payments"
            }
            Self::ShipmentCreated => "cartwheel.shipping",
            Self::StockLow
            | Self::StockReplenished
            | Self::ProductCreated
            | Self::ProductUpdated => "cartwheel.catalog",
            _ => "cartwheel.orders",
        }
    }

    /// The event an order's arrival in `status` announces.
    fn of_order_status(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => Self::OrderPlaced,
            OrderStatus::Reserved => Self::StockReserved,
            OrderStatus::Rejected => Self::OrderRejected,
            OrderStatus::Paid => Self::PaymentAuthorized,
            OrderStatus::PaymentFailed => Self::PaymentDeclined,
            OrderStatus::Confirmed => Self::OrderConfirmed,
            OrderStatus::Cancelled => Self::OrderCancelled,
            OrderStatus::Shipped => Self::OrderShipped,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    pub event_type: EventType,
    /// Carries `eventId` (the stream record's id and the detail-type: the same on every
    /// redelivery, so consumers can drop duplicates), `eventVersion`, `occurredAt` and the ids a consumer needs.
    pub detail: Value,
}

#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id} holds an item that does not decode: {reason}")]
pub struct UnreadableRecord {
    pub event_id: String,
    reason: String,
}

/// The schema version of every event's detail.
const EVENT_VERSION: u32 = 1;

struct Images<'a>(&'a EventRecord);

impl Images<'_> {
    fn decode<T: DeserializeOwned>(
        &self,
        image: &serde_dynamo::Item,
    ) -> Result<Option<T>, UnreadableRecord> {
        if image.is_empty() {
            return Ok(None);
        }
        serde_dynamo::from_item(image.clone())
            .map(Some)
            .map_err(|e| UnreadableRecord {
                event_id: self.0.event_id.clone(),
                reason: e.to_string(),
            })
    }

    fn before<T: DeserializeOwned>(&self) -> Result<Option<T>, UnreadableRecord> {
        self.decode(&self.0.change.old_image)
    }

    fn after<T: DeserializeOwned>(&self) -> Result<Option<T>, UnreadableRecord> {
        self.decode(&self.0.change.new_image)
    }

    fn sort_key(&self) -> Option<&str> {
        match self.0.change.keys.get("SK")? {
            serde_dynamo::AttributeValue::S(sk) => Some(sk),
            _ => None,
        }
    }

    fn event(&self, event_type: EventType, occurred_at: String, ids: Value) -> DomainEvent {
        let mut detail = json!({
            "eventId": format!("{}#{}", self.0.event_id, event_type.name()),
            "eventVersion": EVENT_VERSION,
            "occurredAt": occurred_at,
        });
        if let (Some(detail), Value::Object(ids)) = (detail.as_object_mut(), ids) {
            detail.extend(ids);
        }
        DomainEvent { event_type, detail }
    }
}

/// The domain events one stream record announces; most records (cart lines, guards, reservations,
/// stock taken by an order) announce none.
pub fn events_of(record: &EventRecord) -> Result<Vec<DomainEvent>, UnreadableRecord> {
    let images = Images(record);
    match images.sort_key() {
        Some("ORDER") => order_events(&images),
        Some("PAYMENT") => payment_events(&images),
        Some("SHIPMENT") => shipment_events(&images),
        Some("PRODUCT") => product_events(&images),
        _ => Ok(Vec::new()),
    }
}

fn order_events(images: &Images) -> Result<Vec<DomainEvent>, UnreadableRecord> {
    let (old, new) = (images.before::<Order>()?, images.after::<Order>()?);
    let Some(order) = new else {
        return Ok(Vec::new());
    };
    let previous = old.map(|old| old.status);
    if previous == Some(order.status) {
        return Ok(Vec::new());
    }
    let event_type = EventType::of_order_status(order.status);
    // The lines travel with the event, so that a consumer (sales analytics) needs no read of the
    // order, which may have moved on by the time the event arrives.
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| json!({"productId": line.product_id, "quantity": line.quantity, "lineTotal": line.line_total}))
        .collect();
    let ids = json!({
        "orderId": order.id, "userId": order.user_id, "status": order.status,
        "previousStatus": previous, "total": order.total, "lines": lines,
    });
    Ok(vec![images.event(
        event_type,
        order.updated_at.to_string(),
        ids,
    )])
}

fn payment_events(images: &Images) -> Result<Vec<DomainEvent>, UnreadableRecord> {
    let (old, new) = (images.before::<Payment>()?, images.after::<Payment>()?);
    let Some(payment) = new else {
        return Ok(Vec::new());
    };
    let refunded_now = payment.state == PaymentState::Refunded
        && old.is_none_or(|old| old.state != PaymentState::Refunded);
    if !refunded_now {
        return Ok(Vec::new());
    }
    let ids = json!({"orderId": payment.order_id, "amount": payment.amount});
    Ok(vec![images.event(
        EventType::PaymentRefunded,
        payment.updated_at.to_string(),
        ids,
    )])
}

fn shipment_events(images: &Images) -> Result<Vec<DomainEvent>, UnreadableRecord> {
    let (old, new) = (images.before::<Shipment>()?, images.after::<Shipment>()?);
    match (old, new) {
        (None, Some(shipment)) => {
            let ids =
                json!({"orderId": shipment.order_id, "trackingNumber": shipment.tracking_number});
            Ok(vec![images.event(
                EventType::ShipmentCreated,
                shipment.created_at.to_string(),
                ids,
            )])
        }
        _ => Ok(Vec::new()),
    }
}

fn product_events(images: &Images) -> Result<Vec<DomainEvent>, UnreadableRecord> {
    let (old, new) = (images.before::<Product>()?, images.after::<Product>()?);
    let Some(product) = new else {
        return Ok(Vec::new());
    };
    let at = product.updated_at.to_string();
    let ids = json!({"productId": product.id, "sku": product.sku, "version": product.version});
    let mut events = Vec::new();
    match &old {
        None => events.push(images.event(EventType::ProductCreated, at.clone(), ids)),
        Some(old) if old.version != product.version => {
            events.push(images.event(EventType::ProductUpdated, at.clone(), ids))
        }
        Some(_) => {}
    }
    // Every stock change moves the version, so a consumer can order these two by it.
    let low = |p: &Product| p.stock.units() < LOW_STOCK_THRESHOLD;
    let crossed = match &old {
        Some(old) if low(old) && !low(&product) => Some(EventType::StockReplenished),
        Some(old) if low(old) => None,
        _ if low(&product) => Some(EventType::StockLow),
        _ => None,
    };
    if let Some(event_type) = crossed {
        let ids = json!({
            "productId": product.id, "sku": product.sku, "stock": product.stock,
            "threshold": LOW_STOCK_THRESHOLD, "version": product.version,
        });
        events.push(images.event(event_type, at, ids));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, sk: &str, old: Option<Value>, new: Option<Value>) -> EventRecord {
        let mut change = json!({"Keys": {"PK": {"S": "X"}, "SK": {"S": sk}}, "SizeBytes": 1,
            "SequenceNumber": "1"});
        if let Some(old) = old {
            change["OldImage"] = old;
        }
        if let Some(new) = new {
            change["NewImage"] = new;
        }
        serde_json::from_value(json!({"eventID": "e1", "eventName": name, "awsRegion": "us-east-1", "dynamodb": change}))
            .unwrap()
    }

    fn order(status: &str) -> Value {
        json!({"id": {"S": "01HZX3N5Q8V2K7M4R9T6W1Y0AE"}, "userId": {"S": "01HZX3N5Q8V2K7M4R9T6W1Y0AC"},
            "status": {"S": status}, "lines": {"L": []},
            "total": {"M": {"amount": {"N": "1299"}, "currency": {"S": "EUR"}}},
            "shippingAddress": {"M": {"name": {"S": "A"}, "line1": {"S": "B"}, "city": {"S": "C"},
                "postalCode": {"S": "D"}, "country": {"S": "GB"}}},
            "paymentToken": {"S": "tok_visa"}, "createdAt": {"S": "2026-11-21T12:00:00Z"},
            "updatedAt": {"S": "2026-11-21T12:00:01Z"}, "history": {"L": []}})
    }

    fn product(stock: u32, version: u32) -> Value {
        json!({"id": {"S": "01HZX3N5Q8V2K7M4R9T6W1Y0AB"}, "sku": {"S": "MUG-1"}, "name": {"S": "Mug"},
            "description": {"S": ""}, "category": {"S": "kitchen"},
            "price": {"M": {"amount": {"N": "1299"}, "currency": {"S": "EUR"}}},
            "stock": {"N": stock.to_string()}, "version": {"N": version.to_string()},
            "createdAt": {"S": "2026-11-21T12:00:00Z"}, "updatedAt": {"S": "2026-11-21T12:00:00Z"}})
    }

    fn types(record: &EventRecord) -> Vec<&'static str> {
        events_of(record)
            .unwrap()
            .iter()
            .map(|e| e.event_type.name())
            .collect()
    }

    #[test]
    fn each_order_status_change_announces_one_event_and_other_edits_none() {
        let placed = record("INSERT", "ORDER", None, Some(order("PENDING")));
        assert_eq!(types(&placed), ["OrderPlaced"]);
        let event = &events_of(&placed).unwrap()[0];
        assert_eq!(event.detail["orderId"], "01HZX3N5Q8V2K7M4R9T6W1Y0AE");
        assert_eq!(event.detail["eventId"], "e1#OrderPlaced");
        assert_eq!(event.event_type.source(), "cartwheel.orders");
        let confirmed = record(
            "MODIFY",
            "ORDER",
            Some(order("PAID")),
            Some(order("CONFIRMED")),
        );
        assert_eq!(types(&confirmed), ["OrderConfirmed"]);
        let declined = record(
            "MODIFY",
            "ORDER",
            Some(order("RESERVED")),
            Some(order("PAYMENT_FAILED")),
        );
        assert_eq!(types(&declined), ["PaymentDeclined"]);
        let same = record("MODIFY", "ORDER", Some(order("PAID")), Some(order("PAID")));
        assert!(types(&same).is_empty());
        let cart = record(
            "INSERT",
            "CART#1",
            None,
            Some(json!({"quantity": {"N": "1"}})),
        );
        assert!(types(&cart).is_empty());
    }

    #[test]
    fn products_announce_creation_updates_and_stock_falling_low_once() {
        assert_eq!(
            types(&record("INSERT", "PRODUCT", None, Some(product(50, 1)))),
            ["ProductCreated"]
        );
        let renamed = record(
            "MODIFY",
            "PRODUCT",
            Some(product(50, 1)),
            Some(product(50, 2)),
        );
        assert_eq!(types(&renamed), ["ProductUpdated"]);
        let sold = record(
            "MODIFY",
            "PRODUCT",
            Some(product(5, 2)),
            Some(product(4, 2)),
        );
        assert_eq!(types(&sold), ["StockLow"]);
        let sold_more = record(
            "MODIFY",
            "PRODUCT",
            Some(product(4, 2)),
            Some(product(3, 2)),
        );
        assert!(types(&sold_more).is_empty(), "already low: no second alert");
        let restocked = record(
            "MODIFY",
            "PRODUCT",
            Some(product(3, 3)),
            Some(product(12, 4)),
        );
        assert_eq!(types(&restocked), ["ProductUpdated", "StockReplenished"]);
        let events = events_of(&restocked).unwrap();
        assert_eq!(events[1].detail["version"], 4);
        assert_eq!(events[1].detail["stock"], 12);
    }

    #[test]
    fn an_image_that_does_not_decode_is_an_error_not_a_silent_skip() {
        let broken = record(
            "INSERT",
            "ORDER",
            None,
            Some(json!({"id": {"S": "not an id"}})),
        );
        assert!(events_of(&broken).is_err());
    }
}
