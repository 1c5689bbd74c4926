//! Payments (authorize, capture, refund) and shipments.

use crate::{Payment, Shipment, StoreError};
use cartwheel_domain::{Order, OrderId, Timestamp};
use std::future::Future;

pub trait AuthorizePayment {
    /// Records an authorized payment for the order's total and moves it RESERVED → PAID, together.
    /// Running it again changes nothing.
    fn record_authorization(
        &self,
        order: &Order,
        now: Timestamp,
    ) -> impl Future<Output = Result<Payment, StoreError>> + Send;
}

pub trait CapturePayment {
    /// Captures the authorized payment and moves the order PAID → CONFIRMED, together; idempotent:
    /// `false` if it was captured before.
    fn capture_payment(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait RefundPayment {
    /// Refunds an authorized or captured payment, once; `false` if there was nothing to refund.
    fn refund_payment(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait GetPayment {
    fn get_payment(
        &self,
        order: OrderId,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;
}

pub trait CreateShipment {
    /// Creates the order's shipment with a tracking number, once; a repeat returns the first.
    fn create_shipment(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Shipment, StoreError>> + Send;
}
