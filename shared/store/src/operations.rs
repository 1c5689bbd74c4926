//! One narrow trait per store operation, so that a handler states exactly what it touches.

use crate::{
    Added, AlertChange, Applied, AuditPage, AuthoredReview, CategorySummary, Claim, Counter,
    Credentials, EarlierOrder, Favourite, IdempotentRequest, Mailing, NewAuditRecord,
    NotificationPage, OrderPage, Payment, Placement, ProductPage, ProductQuery, Reservation,
    ReserveOutcome, ReviewPage, SaleChange, SalesFigure, Settled, Shipment, StockAlert, StoreError,
};
use cartwheel_domain::{
    BreakerPolicy, BreakerState, CartLine, Day, Email, IdempotencyKey, Notification,
    NotificationId, Order, OrderId, OrderStatus, Product, ProductId, RateLimit, ReviewId,
    StockChange, Timestamp, User, UserId,
};
use std::{future::Future, time::Duration};

pub trait GetProduct {
    fn get_product(
        &self,
        id: ProductId,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;
}

pub trait ListProducts {
    fn list_products(
        &self,
        query: &ProductQuery,
    ) -> impl Future<Output = Result<ProductPage, StoreError>> + Send;
}

pub trait ListCategories {
    fn list_categories(
        &self,
    ) -> impl Future<Output = Result<Vec<CategorySummary>, StoreError>> + Send;
}

pub trait CreateProduct {
    /// Fails with `DuplicateSku` if another product has its SKU.
    fn create_product(
        &self,
        product: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ReplaceProduct {
    /// Writes `next`'s details over `current` only if the stored version is still
    /// `current.version`; the stock and the rating totals stay as they are in the table.
    fn replace_product(
        &self,
        current: &Product,
        next: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait DeleteProduct {
    /// Deletes `current` only if the stored version is still `current.version`.
    fn delete_product(
        &self,
        current: &Product,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ChangeStock {
    /// Applies `change` to the units on hand in one conditional write; `NotFound` if there is no
    /// such product, `VersionConflict` if a `Set` was read at another version, `StockOutOfRange`
    /// if a delta would take the stock out of its bounds.
    fn change_stock(
        &self,
        id: ProductId,
        change: StockChange,
        now: Timestamp,
    ) -> impl Future<Output = Result<Product, StoreError>> + Send;
}

pub trait CreateUser {
    /// Fails with `EmailTaken` if the e-mail address has an account.
    fn create_user(
        &self,
        user: &User,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait GetUser {
    fn get_user(&self, id: UserId)
        -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

pub trait FindCredentials {
    fn find_credentials(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;
}

pub trait GetProducts {
    /// The products that exist among `ids`, in no particular order.
    fn get_products(
        &self,
        ids: &[ProductId],
    ) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
}

pub trait GetCart {
    fn cart_lines(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<CartLine>, StoreError>> + Send;
}

pub trait PutCartLine {
    /// Sets the line for `line.product_id`, replacing any quantity it had.
    fn put_cart_line(
        &self,
        user: UserId,
        line: &CartLine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait RemoveCartLine {
    fn remove_cart_line(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

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

pub trait RecordAudit {
    /// Appends `record` once, however often its event is delivered.
    fn record_audit(
        &self,
        record: &NewAuditRecord<'_>,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ListAudit {
    /// An entity's events, oldest first.
    fn list_audit(
        &self,
        entity_id: &str,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;
}

pub trait RecordSale {
    /// Moves one day's figures by an order's status change, once per event.
    fn record_sale(
        &self,
        change: &SaleChange,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait SalesReport {
    /// The figures of each of `days`.
    fn sales_report(
        &self,
        days: &[Day],
    ) -> impl Future<Output = Result<Vec<SalesFigure>, StoreError>> + Send;
}

pub trait AddFavourite {
    /// `NotFound` if there is no such product; `LimitReached` past `MAX_FAVOURITES`.
    fn add_favourite(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<Added, StoreError>> + Send;
}

pub trait RemoveFavourite {
    fn remove_favourite(
        &self,
        user: UserId,
        product: ProductId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListFavourites {
    fn list_favourites(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Favourite>, StoreError>> + Send;
}

pub trait CreateReview {
    /// Stores a new review and adds it to its product's totals, in one transaction.
    /// `AlreadyReviewed` if its author reviewed the product before; `NotFound` without the product.
    fn create_review(
        &self,
        review: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait GetReview {
    fn get_review(
        &self,
        product: ProductId,
        id: ReviewId,
    ) -> impl Future<Output = Result<Option<AuthoredReview>, StoreError>> + Send;
}

pub trait ReviseReview {
    /// Replaces `current` with `next` and moves the product's sum by the difference in stars.
    /// `VersionConflict` if the review changed since `current` was read.
    fn revise_review(
        &self,
        current: &AuthoredReview,
        next: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait DeleteReview {
    /// Removes `current` and takes it out of the product's totals.
    /// `VersionConflict` if the review changed since `current` was read.
    fn delete_review(
        &self,
        current: &AuthoredReview,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListReviews {
    /// A product's reviews, newest first.
    fn list_reviews(
        &self,
        product: ProductId,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<ReviewPage, StoreError>> + Send;
}

pub trait RecordNotification {
    /// Stores `notification` for `user` and counts it unread, once per `consumer` and `event_id`.
    fn record_notification(
        &self,
        consumer: &str,
        event_id: &str,
        user: UserId,
        notification: &Notification,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ClaimEmail {
    /// Claims the right to send the e-mail about `mailing` for `lease`.
    fn claim_email(
        &self,
        mailing: Mailing,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records that the e-mail about `mailing` went out, as SES message `message_id`.
    fn mark_emailed(
        &self,
        mailing: Mailing,
        message_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListNotifications {
    /// A customer's notifications, newest first, with their unread count.
    fn list_notifications(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<NotificationPage, StoreError>> + Send;
}

pub trait MarkRead {
    /// `NotFound` if the customer has no such notification.
    fn mark_read(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait RecordStockAlert {
    /// Opens or closes the product's alert, once per `consumer` and event, and only over an
    /// older version of the product (`Applied::Outdated` otherwise).
    fn record_stock_alert(
        &self,
        consumer: &str,
        change: &AlertChange,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ListStockAlerts {
    /// Every product's alert, open or closed.
    fn list_stock_alerts(&self)
        -> impl Future<Output = Result<Vec<StockAlert>, StoreError>> + Send;
}

pub trait OpenConnection {
    /// Records `user`'s WebSocket connection until `expires`.
    fn open_connection(
        &self,
        user: UserId,
        connection_id: &str,
        expires: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait CloseConnection {
    fn close_connection(
        &self,
        connection_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListConnections {
    /// The ids of `user`'s open WebSocket connections.
    fn connections_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

pub trait TakeSlot {
    /// Counts one more against `limit` for `counter` in the window holding `now`; `false` (and
    /// nothing counted) when the window's slots are all taken.
    fn take_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait GiveBackSlot {
    /// Returns a slot taken at `taken_at` (an attempt that turned out not to count).
    fn give_back_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        taken_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The shared state of a circuit breaker (`BreakerState`).
pub trait BreakerStore {
    fn breaker_state(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<BreakerState, StoreError>> + Send;

    /// Claims the one trial of a half-open breaker for `for_at_most`; `false` if another caller
    /// holds it, or the breaker is not (or no longer) due for one.
    fn claim_trial(
        &self,
        name: &str,
        now: Timestamp,
        for_at_most: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts a failure in a row; `true` if it opened the breaker (for `policy.open_for`).
    fn record_failure(
        &self,
        name: &str,
        policy: BreakerPolicy,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Closes the breaker and forgets its failures.
    fn record_success(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The simulated card processor's outage switch: only the simulator and the tests use it.
pub trait ProcessorSwitch {
    fn processor_down(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts a charge the processor failed while down (the tests read it).
    fn count_refused_charge(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn set_processor_down(&self, down: bool)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    fn refused_charges(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
