//! Placing and reading orders over HTTP: catalog prices, idempotency, privacy, bad input.

use crate::support;

use cartwheel_domain::Role;
use cartwheel_store::{GetPayment, PaymentState};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use support::{assert_problem, next_window, StackOptions, TestApp};

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "GB"})
}

fn order_body(items: Value) -> String {
    json!({"items": items, "shippingAddress": address(), "paymentToken": "tok_visa"}).to_string()
}

async fn place(app: &TestApp, token: &str, key: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/orders"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

async fn my_orders(app: &TestApp, token: &str) -> Value {
    let response = app.send(Method::GET, "/orders", Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_order_is_accepted_priced_from_the_catalog_and_private() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let pan = app
        .create_product(&admin, "PAN", "Pan", "kitchen", 3500)
        .await;
    let (customer_id, customer) = app.user_token(Role::Customer).await;

    let body = order_body(
        json!([{"productId": mug["id"], "quantity": 2}, {"productId": pan["id"], "quantity": 1}]),
    );
    let accepted = place(&app, &customer, Some("order-1"), &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["status"], "PENDING");
    let order_id = accepted["orderId"].as_str().unwrap();
    assert_eq!(location, format!("/orders/{order_id}"));

    let order: Value = app
        .send(Method::GET, &location, Some(&customer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["userId"], customer_id.to_string());
    assert_eq!(
        order["total"],
        json!({"amount": 2 * 1299 + 3500, "currency": "EUR"})
    );
    assert_eq!(
        order["lines"][0]["unitPrice"],
        json!({"amount": 1299, "currency": "EUR"})
    );
    assert_eq!(order["lines"][0]["lineTotal"]["amount"], 2598);
    assert_eq!(order["history"][0]["status"], "PENDING");
    assert_eq!(order["shippingAddress"], address());

    let (_, stranger) = app.user_token(Role::Customer).await;
    assert_problem(
        app.send(Method::GET, &location, Some(&stranger), None)
            .await,
        StatusCode::NOT_FOUND,
        order_id,
    )
    .await;
    assert_eq!(my_orders(&app, &stranger).await["items"], json!([]));
    assert_eq!(
        app.send(Method::GET, &location, Some(&admin), None)
            .await
            .status(),
        StatusCode::OK
    );

    // Newest first.
    let second = place(
        &app,
        &customer,
        Some("order-2"),
        &order_body(json!([{"productId": mug["id"], "quantity": 1}])),
    )
    .await;
    let second: Value = second.json().await.unwrap();
    let mine = my_orders(&app, &customer).await;
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second["orderId"].as_str().unwrap(), order_id]);
}

#[tokio::test]
async fn one_idempotency_key_makes_one_order_even_under_concurrency() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    let body = order_body(json!([{"productId": mug["id"], "quantity": 1}]));

    let answers = join_all((0..20).map(|_| async {
        let response = place(&app, &customer, Some("same-key"), &body).await;
        (response.status(), response.json::<Value>().await.unwrap())
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::ACCEPTED),
        "{answers:?}"
    );
    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, body)| body["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        my_orders(&app, &customer).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A retry later on (another millisecond, so another id would be drawn) finds the same order;
    // an id that shares the order's place but not its time names nothing.
    let order_id = ids.iter().next().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let retry: Value = place(&app, &customer, Some("same-key"), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retry["orderId"], order_id.as_str());
    let elsewhen = format!("01ARZ3NDEK{}", &order_id[10..]);
    assert_ne!(elsewhen, order_id);
    assert_problem(
        app.send(
            Method::GET,
            &format!("/orders/{elsewhen}"),
            Some(&customer),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        &elsewhen,
    )
    .await;

    let other = order_body(json!([{"productId": mug["id"], "quantity": 2}]));
    assert_problem(
        place(&app, &customer, Some("same-key"), &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Idempotency-Key",
    )
    .await;
    // Keys belong to their customer: another customer's identical key is a new order.
    let (_, someone_else) = app.user_token(Role::Customer).await;
    let theirs: Value = place(&app, &someone_else, Some("same-key"), &body)
        .await
        .json()
        .await
        .unwrap();
    assert!(!ids.contains(theirs["orderId"].as_str().unwrap()));
}

#[tokio::test]
async fn ordering_from_the_cart_empties_it() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    let from_cart =
        json!({"fromCart": true, "shippingAddress": address(), "paymentToken": "tok_visa"})
            .to_string();
    assert_problem(
        place(&app, &customer, Some("k1"), &from_cart).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cart is empty",
    )
    .await;

    let path = format!("/cart/items/{}", mug["id"].as_str().unwrap());
    app.send(
        Method::PUT,
        &path,
        Some(&customer),
        Some(r#"{"quantity":3}"#),
    )
    .await;
    let accepted: Value = place(&app, &customer, Some("k2"), &from_cart)
        .await
        .json()
        .await
        .unwrap();
    let order: Value = app
        .send(
            Method::GET,
            &format!("/orders/{}", accepted["orderId"].as_str().unwrap()),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["lines"][0]["quantity"], 3);
    let cart: Value = app
        .send(Method::GET, "/cart", Some(&customer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["items"], json!([]));
}

#[tokio::test]
async fn bad_orders_are_problems_and_write_nothing() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
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
