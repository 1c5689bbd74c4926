//! Orders through the whole stack to their outcome: concurrent orders for scarce stock, approved
//! and declined payments with their events, a client that waits for the answer, a cancellation.

use super::observe::stock;
use crate::support::{
    checkout::{place, stack_with_product, wait_for_outcomes},
    StackOptions, TestApp,
};
use cartwheel_domain::{OrderId, OrderStatus, Role};
use cartwheel_store::{GetOrder, GetPayment, ListAudit, PaymentState};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Waits until the audit trail holds each wanted event: the bus delivered it to the audit rule's
/// queue and the audit consumer stored it.
async fn wait_for_audit(app: &TestApp, wanted: &[(&str, OrderId)]) {
    for _ in 0..300 {
        let mut missing = Vec::new();
        for (kind, order) in wanted {
            let trail = app
                .store
                .list_audit(&order.to_string(), 100, None)
                .await
                .unwrap();
            if !trail.items.iter().any(|r| r.detail_type == *kind) {
                missing.push((kind, order));
            }
        }
        if missing.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the audit trail never held all of {wanted:?}");
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_five_units_confirm_exactly_five() {
    let (app, admin, lamp, first) = stack_with_product(StackOptions::default(), "LAMP", 2500).await;
    let set = app
        .send(
            Method::PUT,
            &format!("/products/{lamp}/stock"),
            Some(&admin),
            Some(r#"{"quantity": 5, "version": 1}"#),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let mut customers = vec![first];
    for _ in 1..20 {
        customers.push(app.user_token(Role::Customer).await.1);
    }

    let placed = join_all((0..200).map(|i| {
        let (app, lamp, token) = (&app, &lamp, &customers[i % customers.len()]);
        async move { place(app, token, lamp, "tok_visa", &format!("order-{i}")).await }
    }))
    .await;

    let outcomes = wait_for_outcomes(&app, &placed, Duration::from_secs(240)).await;
    let count = |status| outcomes.values().filter(|s| **s == status).count();
    assert_eq!(count(OrderStatus::Confirmed), 5, "{outcomes:?}");
    assert_eq!(count(OrderStatus::Rejected), 195, "{outcomes:?}");
    assert_eq!(stock(&app, &lamp).await, 0, "exactly the stock was sold");
}

#[tokio::test]
async fn approved_and_declined_orders_end_confirmed_and_payment_failed_with_their_events() {
    let (app, _, mug, customer) = stack_with_product(StackOptions::default(), "MUG", 1299).await;
    let approved = place(&app, &customer, &mug, "tok_visa", "a").await;
    let declined = place(&app, &customer, &mug, "tok_chargeDeclined", "d").await;

    let outcomes = wait_for_outcomes(&app, &[approved, declined], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&approved], OrderStatus::Confirmed);
    assert_eq!(outcomes[&declined], OrderStatus::PaymentFailed);
    let failed: Value = app
        .send(
            Method::GET,
            &format!("/orders/{declined}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = failed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PENDING", "RESERVED", "PAYMENT_FAILED"]);
    assert_eq!(
        stock(&app, &mug).await,
        9,
        "only the approved order's unit is gone"
    );

    wait_for_audit(
        &app,
        &[
            ("OrderConfirmed", approved),
            ("ShipmentCreated", approved),
            ("PaymentDeclined", declined),
        ],
    )
    .await;
    assert!(failed["shipment"].is_null(), "{failed}");
    let confirmed: Value = app
        .send(
            Method::GET,
            &format!("/orders/{approved}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["payment"]["state"], "CAPTURED", "{confirmed}");
    assert_eq!(confirmed["payment"]["amount"]["amount"], 1299);
    assert!(
        confirmed["shipment"]["trackingNumber"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "the event above is only published once the shipment is stored: {confirmed}"
    );
    wait_for_audit(
        &app,
        &[("OrderPlaced", approved), ("OrderPlaced", declined)],
    )
    .await;
    // And the customer was told of both outcomes.
    let mut kinds = Vec::new();
    for _ in 0..150 {
        let page: Value = app
            .send(
                Method::GET,
                "/notifications?limit=100",
                Some(&customer),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        kinds = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["kind"].as_str().unwrap().to_owned(),
                    n["orderId"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if kinds.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for wanted in [
        ("OrderConfirmed", approved),
        ("PaymentDeclined", declined),
        ("OrderPlaced", approved),
        ("OrderPlaced", declined),
    ] {
        let wanted = (wanted.0.to_owned(), wanted.1.to_string());
        assert!(kinds.contains(&wanted), "{wanted:?} not in {kinds:?}");
    }
}

/// `Prefer: wait` through the whole stack: the same POST answers with the checkout's outcome,
/// and a retry with the key answers the same order, not a second one.
#[tokio::test]
async fn a_waiting_client_gets_the_checkouts_answer_in_the_same_call() {
    let (app, _, mug, customer) =
        stack_with_product(StackOptions::default(), "WAITMUG", 1299).await;
    let order = |payment: &str, key: &str| {
        let body = serde_json::json!({"items": [{"productId": mug, "quantity": 1}],
            "paymentToken": payment,
            "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}});
        app.http
            .post(app.url("/orders"))
            .bearer_auth(&customer)
            .header("Idempotency-Key", key)
            .header("Prefer", "wait=20")
            .json(&body)
            .send()
    };
    for (payment, key, outcome) in [
        ("tok_visa", "waited-visa", "CONFIRMED"),
        ("tok_chargeDeclined", "waited-declined", "PAYMENT_FAILED"),
    ] {
        let answer = order(payment, key).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{payment}");
        assert_eq!(answer.headers()["preference-applied"], "wait=20");
        let location = answer.headers()["location"].clone();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], outcome, "{body}");
        let retry = order(payment, key).await.unwrap();
        assert_eq!(retry.status(), StatusCode::OK);
        assert_eq!(retry.headers()["location"], location);
    }
    assert_eq!(stock(&app, &mug).await, 9, "one unit sold, once");
}

#[tokio::test]
async fn cancelling_a_confirmed_order_refunds_it_and_restores_stock() {
    let (app, _, kettle, customer) =
        stack_with_product(StackOptions::default(), "KETTLE", 3999).await;
    let order = place(&app, &customer, &kettle, "tok_visa", "k").await;
    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);
    assert_eq!(stock(&app, &kettle).await, 9);

    let cancel = app
        .send(
            Method::POST,
            &format!("/orders/{order}/cancel"),
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let stored = app.store.get_order(order).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    let payment = app.store.get_payment(order).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(stock(&app, &kettle).await, 10, "the unit is back");
    wait_for_audit(
        &app,
        &[("OrderCancelled", order), ("PaymentRefunded", order)],
    )
    .await;
}
