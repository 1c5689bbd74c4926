//! Orders through their life: placing, reading, reserving stock, moving status, settling and
//! shipping.

use crate::{
    EarlierOrder, IdempotentRequest, OrderPage, Placement, Reservation, ReserveOutcome, Settled,
    StoreError,
};
use cartwheel_domain::{IdempotencyKey, Order, OrderId, OrderStatus, ProductId, Timestamp, UserId};
use std::future::Future;

pub trait PlaceOrder {
    /// Stores `order` (PENDING) with the fingerprint of its request, and removes `cart_lines`
    /// from the customer's cart in the same transaction. If the order's place is taken (its key
    /// was used before, see `OrderId::for_request`), nothing is written and the earlier order
    /// and its request's fingerprint come back instead.
    fn place_order(
        &self,
        order: &Order,
        request: &IdempotentRequest,
        cart_lines: &[ProductId],
    ) -> impl Future<Output = Result<Placement, StoreError>> + Send;
}

pub trait FindEarlierOrder {
    /// The order `user` placed with `key`, if any, found by the key alone (one consistent read of
    /// the place every attempt of that request shares, see `OrderId::for_request`).
    fn earlier_order(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<EarlierOrder>, StoreError>> + Send;
}

pub trait GetOrder {
    fn get_order(
        &self,
        id: OrderId,
    ) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;
}

pub trait GetOrderDetails {
    /// The order with its payment and shipment, if the saga has recorded them.
    fn get_order_details(
        &self,
        id: OrderId,
    ) -> impl Future<Output = Result<Option<crate::OrderDetails>, StoreError>> + Send;
}

pub trait ListOrders {
    /// The customer's orders, newest first.
    fn list_orders(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<OrderPage, StoreError>> + Send;
}

pub trait FindStalledOrders {
    /// Orders still in checkout (PENDING, RESERVED, PAID, or CONFIRMED without a shipment) whose
    /// last move was at or before `moved_before`: their hand-off to the saga was lost, or their
    /// execution died. At most `limit` in all, the longest-stalled of each shard first, each
    /// shard read page after page.
    fn stalled_orders(
        &self,
        moved_before: Timestamp,
        limit: u16,
    ) -> impl Future<Output = Result<Vec<OrderId>, StoreError>> + Send;
}

pub trait ReserveStock {
    /// Takes every line's quantity from stock, records the reservation and moves the order from
    /// PENDING to RESERVED, in one transaction; if any line is short, nothing is taken and the
    /// order becomes REJECTED. Running it again changes nothing.
    fn reserve_stock(
        &self,
        order: &Order,
    ) -> impl Future<Output = Result<ReserveOutcome, StoreError>> + Send;
}

pub trait ReleaseStock {
    /// Puts back exactly what the order's reservation took, once; `false` if there was nothing
    /// held (never reserved, or already released).
    fn release_stock(
        &self,
        order: OrderId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait GetReservation {
    fn get_reservation(
        &self,
        order: OrderId,
    ) -> impl Future<Output = Result<Option<Reservation>, StoreError>> + Send;
}

pub trait TransitionOrder {
    /// Moves the order to `to` if its status is one of `from`, recording the change in its
    /// history: `true`. Already being in `to` is `false` (a retried step: the caller counts
    /// nothing again); any other status is `VersionConflict`.
    fn transition_order(
        &self,
        order: OrderId,
        from: &[OrderStatus],
        to: OrderStatus,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait SettleOrder {
    /// Moves the order from one of `from` to `to` (CANCELLED, PAYMENT_FAILED) and, in the same
    /// transaction, refunds its payment, puts its held units back (of the products that still
    /// exist) and voids its shipment. Settling again finishes nothing twice; another status is
    /// `VersionConflict`.
    fn settle_order(
        &self,
        order: OrderId,
        from: &[OrderStatus],
        to: OrderStatus,
        now: Timestamp,
    ) -> impl Future<Output = Result<Settled, StoreError>> + Send;
}

pub trait ShipOrder {
    /// CONFIRMED -> SHIPPED, only with a live shipment; the reservation's units are committed
    /// (never put back after). `false` if it was shipped before; another status is
    /// `VersionConflict`.
    fn ship_order(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait ReadOrderRecords {
    /// The order with its reservation, payment and shipment, in one consistent read.
    fn order_records(
        &self,
        order: OrderId,
    ) -> impl Future<Output = Result<crate::OrderRecords, StoreError>> + Send;
}
