//! Orders refused: bad input answered with problems and nothing written, and a customer placing
//! orders too fast.

use super::requests::{my_orders, order_body, place};
use crate::support::{assert_problem, next_window, StackOptions, TestApp};
use cartwheel_domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn bad_orders_are_problems_and_write_nothing() {
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "ORD-BAD-MUG", "Mug", "kitchen", 1299)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    let line = |quantity: Value| json!([{"productId": mug["id"], "quantity": quantity}]);
    let with = |field: &str, value: Value| {
        let mut body: Value = serde_json::from_str(&order_body(line(json!(1)))).unwrap();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body: Value = serde_json::from_str(&order_body(line(json!(1)))).unwrap();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    let unknown = ulid::Ulid::new().to_string();
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            order_body(json!([{"productId": unknown, "quantity": 1}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[0].productId",
        ),
        (
            order_body(line(json!(0))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            order_body(line(json!(-1))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            order_body(line(json!(1_000_000))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            order_body(json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items",
        ),
        (
            order_body(
                json!([{"productId": mug["id"], "quantity": 1}, {"productId": mug["id"], "quantity": 2}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[1].productId",
        ),
        (
            order_body(json!([{"productId": mug["id"], "quantity": 1, "price": 1}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "price",
        ),
        (
            without("shippingAddress"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "shippingAddress",
        ),
        (
            without("paymentToken"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "paymentToken",
        ),
        (
            with("paymentToken", json!("visa")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "paymentToken",
        ),
        (
            with("shippingAddress", json!({"name": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "shippingAddress",
        ),
        (
            with("fromCart", json!(true)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items",
        ),
        ("{\"items\":".into(), StatusCode::BAD_REQUEST, "JSON"),
    ];
    for (i, (body, status, mentions)) in cases.into_iter().enumerate() {
        let response = place(&app, &customer, Some(&format!("bad-{i}")), &body).await;
        assert_problem(response, status, mentions).await;
    }
    assert_problem(
        place(&app, &customer, None, &order_body(line(json!(1)))).await,
        StatusCode::BAD_REQUEST,
        "Idempotency-Key",
    )
    .await;
    assert_problem(
        app.send(Method::GET, "/orders/not-an-id", Some(&customer), None)
            .await,
        StatusCode::BAD_REQUEST,
        "orderId",
    )
    .await;
    assert_eq!(
        my_orders(&app, &customer).await["items"],
        json!([]),
        "no bad request wrote an order"
    );
    assert_eq!(
        app.send(Method::GET, "/orders", None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_customer_placing_orders_too_fast_is_refused_and_nothing_is_stored() {
    let options = StackOptions::api_only().parameter("OrderLimitPerCustomer", "2/10");
    let app = TestApp::start_stack(options).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "FAST-MUG", "Mug", "kitchen", 500)
        .await;
    let (_, eager) = app.user_token(Role::Customer).await;
    let (_, other) = app.user_token(Role::Customer).await;
    let body = order_body(json!([{"productId": mug["id"], "quantity": 1}]));
    next_window(10).await;
    for key in ["fast-1", "fast-2"] {
        assert_eq!(
            place(&app, &eager, Some(key), &body).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let refused = place(&app, &eager, Some("fast-3"), &body).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "orders").await;
    assert_eq!(
        my_orders(&app, &eager).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The limit is the caller's own: another customer still orders.
    assert_eq!(
        place(&app, &other, Some("fast-1"), &body).await.status(),
        StatusCode::ACCEPTED
    );
}
