//! The order requests the tests send: a body with a shipping address, a POST with or without an
//! idempotency key, the customer's order list.

use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(super) fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "GB"})
}

pub(super) fn order_body(items: Value) -> String {
    json!({"items": items, "shippingAddress": address(), "paymentToken": "tok_visa"}).to_string()
}

pub(super) async fn place(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    body: &str,
) -> reqwest::Response {
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

pub(super) async fn my_orders(app: &TestApp, token: &str) -> Value {
    let response = app.send(Method::GET, "/orders", Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}
