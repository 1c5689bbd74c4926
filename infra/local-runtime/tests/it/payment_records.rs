//! The saga's payment and shipment steps against DynamoDB Local: each writes its record and the
//! order's status together, runs twice harmlessly, and the refund undoes the payment.

use crate::support;

use cartwheel_domain::{OrderStatus, Timestamp};
use cartwheel_store::Store;
use cartwheel_store::{
    AuthorizePayment, CapturePayment, CreateShipment, GetOrder, GetPayment, PaymentState,
    RefundPayment, ReserveStock, StoreError,
};
use support::{fresh_store, pending_order, product};

async fn status(store: &Store, order: cartwheel_domain::OrderId) -> OrderStatus {
    store.get_order(order).await.unwrap().unwrap().status
}

#[tokio::test]
async fn the_forward_steps_move_the_order_once_each() {
    let store = fresh_store().await;
    let mug = product(&store, "MUG", 5).await;
    let order = pending_order(&store, &[(&mug, 2)]).await;
    store.reserve_stock(&order).await.unwrap();
    let now = Timestamp::now();

    let first = store.record_authorization(&order, now).await.unwrap();
    let again = store.record_authorization(&order, now).await.unwrap();
    assert_eq!(
        first, again,
        "a retried authorization returns the first one"
    );
    assert_eq!(first.amount, order.total);
    assert_eq!(status(&store, order.id).await, OrderStatus::Paid);

    assert!(store.capture_payment(order.id, now).await.unwrap());
    assert!(
        !store.capture_payment(order.id, now).await.unwrap(),
        "a retried capture says it was captured before"
    );
    assert_eq!(
        store.get_payment(order.id).await.unwrap().unwrap().state,
        PaymentState::Captured
    );
    assert_eq!(status(&store, order.id).await, OrderStatus::Confirmed);

    let shipment = store.create_shipment(order.id, now).await.unwrap();
    assert!(shipment.tracking_number.starts_with("CW"));
    assert_eq!(
        store.create_shipment(order.id, now).await.unwrap(),
        shipment
    );

    let history: Vec<OrderStatus> = store
        .get_order(order.id)
        .await
        .unwrap()
        .unwrap()
        .history
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        history,
        [
            OrderStatus::Pending,
            OrderStatus::Reserved,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
}

#[tokio::test]
async fn steps_refuse_an_order_in_the_wrong_state() {
    let store = fresh_store().await;
    let mug = product(&store, "MUG", 5).await;
    let order = pending_order(&store, &[(&mug, 1)]).await;
    let now = Timestamp::now();
    // Not reserved yet: no payment, no capture, no shipment.
    assert!(matches!(
        store.record_authorization(&order, now).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(store.get_payment(order.id).await.unwrap().is_none());
    assert!(matches!(
        store.capture_payment(order.id, now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_shipment(order.id, now).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(status(&store, order.id).await, OrderStatus::Pending);
}

#[tokio::test]
async fn a_refund_undoes_the_payment_exactly_once() {
    let store = fresh_store().await;
    let mug = product(&store, "MUG", 5).await;
    let order = pending_order(&store, &[(&mug, 1)]).await;
    let now = Timestamp::now();
    assert!(
        !store.refund_payment(order.id, now).await.unwrap(),
        "nothing to refund yet"
    );
    store.reserve_stock(&order).await.unwrap();
    store.record_authorization(&order, now).await.unwrap();
    store.capture_payment(order.id, now).await.unwrap();

    let refunds =
        futures::future::join_all((0..5).map(|_| store.refund_payment(order.id, now))).await;
    assert_eq!(
        refunds
            .into_iter()
            .map(Result::unwrap)
            .filter(|r| *r)
            .count(),
        1
    );
    assert_eq!(
        store.get_payment(order.id).await.unwrap().unwrap().state,
        PaymentState::Refunded
    );
    assert!(!store.refund_payment(order.id, now).await.unwrap());
    // A refunded payment cannot be captured again.
    assert!(matches!(
        store.capture_payment(order.id, now).await,
        Err(StoreError::VersionConflict)
    ));
}
