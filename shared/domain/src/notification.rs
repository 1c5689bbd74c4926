//! What a customer is told about their order: one notification per domain event that concerns
//! them, kept for them to read and sent to them by e-mail.

use crate::{NotificationId, OrderId, OrderStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// One kind per domain event a customer is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationKind {
    OrderPlaced,
    OrderConfirmed,
    PaymentDeclined,
    OrderRejected,
    OrderShipped,
    OrderCancelled,
    /// A payment declined after the order was a sale: the saga refunded a confirmed order whose
    /// shipment failed past its retries.
    OrderRefunded,
}

impl NotificationKind {
    /// The kind an event's detail-type and the order's status before it give; `None` for events
    /// no customer is told of.
    pub fn of_event(detail_type: &str, previous: Option<OrderStatus>) -> Option<Self> {
        Some(match detail_type {
            "OrderPlaced" => Self::OrderPlaced,
            "OrderConfirmed" => Self::OrderConfirmed,
            // Its payment had been taken: "nothing was charged" would not be true.
            "PaymentDeclined" if previous.is_some_and(OrderStatus::is_sale) => Self::OrderRefunded,
            "PaymentDeclined" => Self::PaymentDeclined,
            "OrderRejected" => Self::OrderRejected,
            "OrderShipped" => Self::OrderShipped,
            "OrderCancelled" => Self::OrderCancelled,
            _ => return None,
        })
    }

    /// The subject line, also the notification's title.
    pub fn title(self, order: OrderId) -> String {
        let what = match self {
            Self::OrderPlaced => "received",
            Self::OrderConfirmed => "confirmed",
            // Every checkout that ended PAYMENT_FAILED before it was a sale: a declined card, but
            // also a processor that was down or a step that kept failing.
            Self::PaymentDeclined => "not paid: the payment did not go through",
            Self::OrderRejected => "not accepted: an item is out of stock",
            Self::OrderShipped => "on its way",
            Self::OrderCancelled => "cancelled",
            Self::OrderRefunded => "refunded: we could not ship it",
        };
        format!("Your order {order} is {what}")
    }

    pub fn body(self) -> &'static str {
        match self {
            Self::OrderPlaced => "We have your order and are checking stock and payment.",
            Self::OrderConfirmed => "Payment is taken and your items are reserved for you.",
            Self::PaymentDeclined => {
                "Nothing was charged and the items went back on sale. You can order again (with another card if yours was declined)."
            }
            Self::OrderRejected => {
                "Nothing was charged. Some of what you ordered sold out before we could reserve it."
            }
            Self::OrderShipped => "Your parcel has left our warehouse.",
            Self::OrderCancelled => "Any payment is refunded, and the items went back on sale.",
            Self::OrderRefunded => {
                "Your payment is refunded in full. We are sorry: your order could not be shipped."
            }
        }
    }
}

/// One notification, kept for its customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub order_id: OrderId,
    pub title: String,
    pub body: String,
    pub read: bool,
    pub created_at: Timestamp,
}

impl Notification {
    /// The notification that event `event_id` of kind `kind`, about `order` at `at`, gives.
    pub fn of_event(kind: NotificationKind, order: OrderId, at: Timestamp, event_id: &str) -> Self {
        Self {
            id: NotificationId::of_event(at, event_id),
            kind,
            order_id: order,
            title: kind.title(order),
            body: kind.body().to_owned(),
            read: false,
            created_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_events_about_an_order_notify() {
        let confirmed = Some(OrderStatus::Confirmed);
        assert_eq!(
            NotificationKind::of_event("OrderShipped", confirmed),
            Some(NotificationKind::OrderShipped)
        );
        assert_eq!(NotificationKind::of_event("StockReserved", None), None);
        assert_eq!(NotificationKind::of_event("StockLow", None), None);
    }

    #[test]
    fn a_payment_declined_after_confirmation_is_a_refund() {
        let kind = |previous| NotificationKind::of_event("PaymentDeclined", Some(previous));
        assert_eq!(
            kind(OrderStatus::Reserved),
            Some(NotificationKind::PaymentDeclined)
        );
        assert_eq!(
            kind(OrderStatus::Confirmed),
            Some(NotificationKind::OrderRefunded)
        );
        assert!(NotificationKind::OrderRefunded
            .body()
            .contains("refunded in full"));
    }

    #[test]
    fn a_notification_names_its_order_and_starts_unread() {
        let order: OrderId = "01HZX3N5Q8V2K7M4R9T6W1Y0AE".parse().unwrap();
        let n = Notification::of_event(
            NotificationKind::OrderConfirmed,
            order,
            Timestamp::now(),
            "e1#OrderConfirmed",
        );
        assert_eq!(
            n.title,
            "Your order 01HZX3N5Q8V2K7M4R9T6W1Y0AE is confirmed"
        );
        assert!(!n.read);
    }
}
