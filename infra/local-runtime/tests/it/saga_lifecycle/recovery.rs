//! A saga resumed after it died: it never charges an order whose units were put back, keeps a
//! charged order in checkout until its shipment exists, and finishes a compensation.

use super::running::{stalled, status, steps, stock, TO_CONFIRMED};
use crate::support::{pending_order, product, TestApp};
use cartwheel_domain::{OrderStatus, ShipmentState};
use cartwheel_functions::saga::StepError;
use cartwheel_store::{GetPayment, PaymentState, ReadOrderRecords, ReserveOutcome, ReserveStock};

#[tokio::test]
async fn a_resumed_saga_never_charges_an_order_whose_units_were_put_back() {
    let app = TestApp::start().await;
    let lamp = product(&app.store, "LAST-LAMP", 1).await;
    let first = pending_order(&app.store, &[(&lamp, 1)]).await;
    steps(&app, &first, &["ReserveStockFunction"]).await;
    // AuthorizePayment failed for a passing reason; the compensation put the unit back, then its
    // execution died before MarkPaymentFailed: the order is still RESERVED.
    steps(
        &app,
        &first,
        &["RefundPaymentFunction", "ReleaseStockFunction"],
    )
    .await;
    assert_eq!(status(&app.store, first.id).await, OrderStatus::Reserved);
    let second = pending_order(&app.store, &[(&lamp, 1)]).await;
    steps(&app, &second, &["ReserveStockFunction"]).await;
    assert_eq!(stock(&app.store, lamp.id).await, 0);

    // The sweeper's new attempt: it must not go on as if the unit were held.
    let resumed = app.step("ReserveStockFunction", first.id).await;
    assert!(
        matches!(resumed, Err(StepError::UnexpectedStatus(_))),
        "{resumed:?}"
    );
    let charged = app.step("AuthorizePaymentFunction", first.id).await;
    assert!(charged.is_err(), "an order holding nothing is not charged");
    assert!(app.store.get_payment(first.id).await.unwrap().is_none());
    steps(
        &app,
        &first,
        &["ReleaseStockFunction", "MarkPaymentFailedFunction"],
    )
    .await;
    assert_eq!(
        status(&app.store, first.id).await,
        OrderStatus::PaymentFailed
    );
    assert_eq!(stock(&app.store, lamp.id).await, 0, "the unit stays sold");
    assert_eq!(status(&app.store, second.id).await, OrderStatus::Reserved);
    assert_eq!(
        app.store.reserve_stock(&first).await.unwrap(),
        ReserveOutcome::Released
    );
}

#[tokio::test]
async fn a_charged_order_stays_in_checkout_until_its_shipment_exists() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 1)]).await;
    steps(&app, &order, &TO_CONFIRMED).await;
    // Its execution died here: the sweeper must still see it.
    assert!(stalled(&app.store).await.contains(&order.id));
    let records = app.store.order_records(order.id).await.unwrap();
    assert!(OrderStatus::Confirmed.in_checkout(records.holdings()));
    // The resumed saga skips what is done and ships it; then it has left checkout.
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &order, &all).await;
    assert!(!stalled(&app.store).await.contains(&order.id));
    let payment = app.store.get_payment(order.id).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Captured);
    assert_eq!(
        stock(&app.store, kettle.id).await,
        4,
        "one unit, taken once"
    );
}

#[tokio::test]
async fn a_compensation_that_died_after_the_refund_is_finished_by_the_next_attempt() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE-2", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 2)]).await;
    steps(&app, &order, &TO_CONFIRMED).await;
    // CreateShipment failed for good; the refund ran, then the execution died.
    steps(&app, &order, &["RefundPaymentFunction"]).await;
    assert_eq!(status(&app.store, order.id).await, OrderStatus::Confirmed);
    assert!(stalled(&app.store).await.contains(&order.id));
    let confirm = app.step("ConfirmOrderFunction", order.id).await;
    assert!(confirm.is_err(), "a refunded order is not confirmed again");
    let compensation = [
        "RefundPaymentFunction",
        "ReleaseStockFunction",
        "MarkPaymentFailedFunction",
    ];
    steps(&app, &order, &compensation).await;
    assert_eq!(
        status(&app.store, order.id).await,
        OrderStatus::PaymentFailed
    );
    assert_eq!(stock(&app.store, kettle.id).await, 5);
    assert!(!stalled(&app.store).await.contains(&order.id));
}

/// Found by the explorer (schedule 13286325977360369605): CreateShipment wrote its shipment and
/// its answer was lost, twice, then crashed; the saga compensated, refunded, and died in
/// ReleaseStock. The order, CONFIRMED with a live shipment and a refunded payment, had left
/// the sweeper's index with its shipment: charged back, never released, never resumed.
#[tokio::test]
async fn a_compensation_after_a_shipment_whose_answer_was_lost_is_resumed_and_voids_it() {
    let app = TestApp::start().await;
    let kettle = product(&app.store, "KETTLE-3", 5).await;
    let order = pending_order(&app.store, &[(&kettle, 1)]).await;
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &order, &all).await;
    steps(&app, &order, &["RefundPaymentFunction"]).await;
    // The execution died here (CompensationFailed).
    assert!(stalled(&app.store).await.contains(&order.id));
    let confirm = app.step("ConfirmOrderFunction", order.id).await;
    assert!(confirm.is_err(), "a refunded order is not confirmed again");
    let compensation = ["ReleaseStockFunction", "MarkPaymentFailedFunction"];
    steps(&app, &order, &compensation).await;
    let records = app.store.order_records(order.id).await.unwrap();
    assert_eq!(records.order.unwrap().status, OrderStatus::PaymentFailed);
    assert_eq!(records.shipment.unwrap().state, ShipmentState::Voided);
    assert_eq!(stock(&app.store, kettle.id).await, 5);
    assert!(!stalled(&app.store).await.contains(&order.id));
}
