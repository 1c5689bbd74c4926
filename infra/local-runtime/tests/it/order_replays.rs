//! A retried order (same customer, same Idempotency-Key, same body) is answered with the order it
//! placed, whatever changed since: the cart it was ordered from is empty, the customer's order
//! limit is reached. (orders_api/placing.rs has the concurrent retries and the reused key.)

use crate::support;

use cartwheel_domain::{Role, UserId};
use cartwheel_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_problem, next_window, StackOptions, TestApp};

fn body(source: Value) -> String {
    let mut body = json!({
        "shippingAddress": {"name": "Ada Lovelace", "line1": "12 St James's Square",
            "city": "London", "postalCode": "SW1Y 4JH", "country": "GB"},
        "paymentToken": "tok_visa",
    });
    body.as_object_mut()
        .unwrap()
        .extend(source.as_object().unwrap().clone());
    body.to_string()
}

async fn place(app: &TestApp, token: &str, key: &str, body: &str) -> reqwest::Response {
    app.http
        .post(app.url("/orders"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("Idempotency-Key", key)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The order's id from a 202, or a failure naming what came instead.
async fn accepted_id(response: reqwest::Response) -> String {
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    answer["orderId"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn put_in_cart(app: &TestApp, token: &str, product: &Value, quantity: u32) {
    let path = format!("/cart/items/{}", product["id"].as_str().unwrap());
    let body = json!({ "quantity": quantity }).to_string();
    let response = app.send(Method::PUT, &path, Some(token), Some(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Slots of the customer's order limit taken, over every window the table still holds.
async fn order_slots_taken(store: &Store, user: UserId) -> i64 {
    let counters = store
        .client()
        .query()
        .table_name(store.table_name())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("LIMIT#orders-customer#{user}")),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    counters
        .items()
        .iter()
        .map(|item| item["hits"].as_n().unwrap().parse::<i64>().unwrap())
        .sum()
}

#[tokio::test]
async fn a_cart_order_retried_after_the_cart_was_emptied_answers_its_order() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let pan = app
        .create_product(&admin, "PAN", "Pan", "kitchen", 3500)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    put_in_cart(&app, &customer, &mug, 3).await;
    let from_cart = body(json!({"fromCart": true}));
    let order_id = accepted_id(place(&app, &customer, "cart-1", &from_cart).await).await;
    assert_eq!(get(&app, &customer, "/cart").await["items"], json!([]));

    // The order emptied the cart; its retry is answered from the order, not from the cart.
    let retry = accepted_id(place(&app, &customer, "cart-1", &from_cart).await).await;
    assert_eq!(retry, order_id);
    assert_eq!(get(&app, &customer, "/cart").await["items"], json!([]));

    // Nor does a cart filled again change the answer, or lose what is in it now.
    put_in_cart(&app, &customer, &pan, 1).await;
    let retry = accepted_id(place(&app, &customer, "cart-1", &from_cart).await).await;
    assert_eq!(retry, order_id);
    let cart = get(&app, &customer, "/cart").await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1, "{cart}");
    let orders = get(&app, &customer, "/orders").await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{orders}");
    let order = get(&app, &customer, &format!("/orders/{order_id}")).await;
    assert_eq!(order["lines"][0]["productId"], mug["id"]);
    assert_eq!(order["lines"][0]["quantity"], 3);
}

#[tokio::test]
async fn a_customer_at_the_order_limit_still_gets_the_answer_to_a_retry() {
    let options = StackOptions::api_only().parameter("OrderLimitPerCustomer", "2/10");
    let app = TestApp::start_stack(options).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "LIMIT-MUG", "Mug", "kitchen", 500)
        .await;
    let (customer_id, customer) = app.user_token(Role::Customer).await;
    let order = body(json!({"items": [{"productId": mug["id"], "quantity": 1}]}));
    next_window(10).await;
    let first = accepted_id(place(&app, &customer, "limit-1", &order).await).await;
    accepted_id(place(&app, &customer, "limit-2", &order).await).await;
    assert_eq!(order_slots_taken(&app.store, customer_id).await, 2);

    // The retry is owed the 202 of the order the limit already counted, and counts nothing.
    let retry = accepted_id(place(&app, &customer, "limit-1", &order).await).await;
    assert_eq!(retry, first);
    assert_eq!(order_slots_taken(&app.store, customer_id).await, 2);

    // A new order is still refused.
    assert_problem(
        place(&app, &customer, "limit-3", &order).await,
        StatusCode::TOO_MANY_REQUESTS,
        "orders",
    )
    .await;
    assert_eq!(order_slots_taken(&app.store, customer_id).await, 2);
}
