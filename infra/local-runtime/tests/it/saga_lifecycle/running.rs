//! Running the saga's steps on an order (each in its sandbox), and reading back a product's stock,
//! an order's status and the orders the sweeper would hand back.

use crate::support::TestApp;
use cartwheel_domain::{Order, OrderId, OrderStatus, ProductId, Timestamp};
use cartwheel_store::{FindStalledOrders, GetOrder, GetProduct, Store};

pub(super) async fn stock(store: &Store, id: ProductId) -> i64 {
    store.get_product(id).await.unwrap().unwrap().stock.units()
}

pub(super) async fn status(store: &Store, id: OrderId) -> OrderStatus {
    store.get_order(id).await.unwrap().unwrap().status
}

/// The orders the sweeper would hand back now, whatever the grace period.
pub(super) async fn stalled(store: &Store) -> Vec<OrderId> {
    let later = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 5_000);
    store.stalled_orders(later, 1000).await.unwrap()
}

pub(super) async fn steps(app: &TestApp, order: &Order, functions: &[&str]) {
    for function in functions {
        let done = app.step(function, order.id).await;
        assert!(done.is_ok(), "{function} on {}: {done:?}", order.id);
    }
}

pub(super) const TO_CONFIRMED: [&str; 3] = [
    "ReserveStockFunction",
    "AuthorizePaymentFunction",
    "ConfirmOrderFunction",
];
