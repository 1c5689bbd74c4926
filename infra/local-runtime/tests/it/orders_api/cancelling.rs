//! Cancelling: the owner cancels until the order ships, and gets refunded and restocked.

use super::requests::{order_body, place};
use crate::support::{assert_problem, TestApp};
use cartwheel_domain::Role;
use cartwheel_store::{GetPayment, PaymentState};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn stock_of(app: &TestApp, product_path: &str) -> i64 {
    let product: Value = app.get(product_path).await.json().await.unwrap();
    product["stock"].as_i64().unwrap()
}

/// Runs the saga's forward steps on the order, as Step Functions would.
async fn confirm(app: &TestApp, order_id: &str) {
    for function in [
        "ReserveStockFunction",
        "AuthorizePaymentFunction",
        "ConfirmOrderFunction",
        "CreateShipmentFunction",
    ] {
        app.step(function, order_id.parse().unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn the_owner_cancels_until_shipped_and_gets_refunded_and_restocked() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let mug_path = format!("/products/{}", mug["id"].as_str().unwrap());
    let (_, customer) = app.user_token(Role::Customer).await;
    let one_mug = order_body(json!([{"productId": mug["id"], "quantity": 3}]));
    let first: Value = place(&app, &customer, Some("c-1"), &one_mug)
        .await
        .json()
        .await
        .unwrap();
    let first = first["orderId"].as_str().unwrap().to_owned();
    confirm(&app, &first).await;
    assert_eq!(stock_of(&app, &mug_path).await, 7);

    let (_, stranger) = app.user_token(Role::Customer).await;
    let cancel = format!("/orders/{first}/cancel");
    assert_problem(
        app.send(Method::POST, &cancel, Some(&stranger), None).await,
        StatusCode::NOT_FOUND,
        &first,
    )
    .await;
    for _ in 0..2 {
        let cancelled = app.send(Method::POST, &cancel, Some(&customer), None).await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
        assert_eq!(
            stock_of(&app, &mug_path).await,
            10,
            "exactly what the order took is back, once"
        );
    }
    let order: Value = app
        .send(
            Method::GET,
            &format!("/orders/{first}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "CANCELLED");
    let payment = app
        .store
        .get_payment(first.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.state, PaymentState::Refunded);

    // A second order ships; then it can no longer be cancelled.
    let second: Value = place(&app, &customer, Some("c-2"), &one_mug)
        .await
        .json()
        .await
        .unwrap();
    let second = second["orderId"].as_str().unwrap().to_owned();
    let ship = format!("/orders/{second}/ship");
    assert_problem(
        app.send(Method::POST, &ship, Some(&admin), None).await,
        StatusCode::CONFLICT,
        "CONFIRMED",
    )
    .await;
    confirm(&app, &second).await;
    assert_problem(
        app.send(Method::POST, &ship, Some(&customer), None).await,
        StatusCode::FORBIDDEN,
        "admin",
    )
    .await;
    assert_eq!(
        app.send(Method::POST, &ship, Some(&admin), None)
            .await
            .status(),
        StatusCode::OK
    );
    let late = app
        .send(
            Method::POST,
            &format!("/orders/{second}/cancel"),
            Some(&customer),
            None,
        )
        .await;
    assert_problem(late, StatusCode::CONFLICT, "can no longer be cancelled").await;
    assert_eq!(stock_of(&app, &mug_path).await, 7);
    let shipped: Value = app
        .send(
            Method::GET,
            &format!("/orders/{second}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shipped["status"], "SHIPPED");
}
