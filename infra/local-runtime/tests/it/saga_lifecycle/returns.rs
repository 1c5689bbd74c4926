//! What comes back when an order does not go through: the rest of an order whose product was
//! deleted, and no live shipment for a cancelled order.

use super::running::{status, steps, stock, TO_CONFIRMED};
use crate::support::{self, pending_order, product, TestApp};
use cartwheel_domain::{OrderStatus, ReservationState, ShipmentState};
use cartwheel_store::{GetPayment, GetProduct, PaymentState, ReadOrderRecords};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn a_deleted_product_does_not_stop_the_rest_of_an_order_coming_back() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (customer_id, customer) = app.user_token(cartwheel_domain::Role::Customer).await;
    let (kept, gone) = (
        product(&app.store, "KEPT", 10).await,
        product(&app.store, "GONE", 10).await,
    );
    let lines = [(&kept, 2), (&gone, 2)];
    let order = support::stored_order(
        &app.store,
        customer_id,
        &lines,
        "tok_visa",
        OrderStatus::Pending,
    )
    .await;
    steps(&app, &order, &TO_CONFIRMED).await;
    let delete = format!("/products/{}", gone.id);
    let deleted = app.send(Method::DELETE, &delete, Some(&admin), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let cancel = format!("/orders/{}/cancel", order.id);
    for _ in 0..2 {
        let cancelled = app.send(Method::POST, &cancel, Some(&customer), None).await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(status(&app.store, order.id).await, OrderStatus::Cancelled);
    assert_eq!(
        stock(&app.store, kept.id).await,
        10,
        "the kept product's 2 are back"
    );
    let payment = app.store.get_payment(order.id).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Refunded);

    // The saga's own compensation over a deleted product.
    let other = pending_order(&app.store, &[(&kept, 3)]).await;
    let gone_too = product(&app.store, "GONE-TOO", 4).await;
    let both = pending_order(&app.store, &[(&kept, 1), (&gone_too, 1)]).await;
    steps(&app, &other, &["ReserveStockFunction"]).await;
    steps(&app, &both, &["ReserveStockFunction"]).await;
    let current = app.store.get_product(gone_too.id).await.unwrap().unwrap();
    cartwheel_store::DeleteProduct::delete_product(&app.store, &current)
        .await
        .unwrap();
    steps(&app, &both, &["ReleaseStockFunction"]).await;
    assert_eq!(
        stock(&app.store, kept.id).await,
        7,
        "10 - 3 held by the other order"
    );
}

#[tokio::test]
async fn a_cancelled_order_keeps_no_live_shipment_and_only_a_shipment_ships() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (customer_id, customer) = app.user_token(cartwheel_domain::Role::Customer).await;
    let vase = product(&app.store, "VASE", 5).await;
    let one_vase = [(&vase, 1)];
    let place = || {
        support::stored_order(
            &app.store,
            customer_id,
            &one_vase,
            "tok_visa",
            OrderStatus::Pending,
        )
    };
    let shipped_then_cancelled = place().await;
    let all = [&TO_CONFIRMED[..], &["CreateShipmentFunction"]].concat();
    steps(&app, &shipped_then_cancelled, &all).await;
    let cancel = format!("/orders/{}/cancel", shipped_then_cancelled.id);
    let cancelled = app.send(Method::POST, &cancel, Some(&customer), None).await;
    assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    let records = app
        .store
        .order_records(shipped_then_cancelled.id)
        .await
        .unwrap();
    assert_eq!(records.shipment.unwrap().state, ShipmentState::Voided);
    assert_eq!(
        records.reservation.unwrap().state,
        ReservationState::Released
    );
    assert_eq!(stock(&app.store, vase.id).await, 5);

    // Confirmed but its shipment not yet created: nothing to hand the carrier.
    let unshipped = place().await;
    steps(&app, &unshipped, &TO_CONFIRMED).await;
    let ship = format!("/orders/{}/ship", unshipped.id);
    let refused = app.send(Method::POST, &ship, Some(&admin), None).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    steps(&app, &unshipped, &["CreateShipmentFunction"]).await;
    for _ in 0..2 {
        let shipped = app.send(Method::POST, &ship, Some(&admin), None).await;
        assert_eq!(shipped.status(), StatusCode::OK);
    }
    let records = app.store.order_records(unshipped.id).await.unwrap();
    assert_eq!(
        records.reservation.unwrap().state,
        ReservationState::Committed
    );
    let cancel = format!("/orders/{}/cancel", unshipped.id);
    let late = app.send(Method::POST, &cancel, Some(&customer), None).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(
        stock(&app.store, vase.id).await,
        4,
        "a shipped unit never comes back"
    );
}
