//! Placing orders: priced from the catalog and private to their owner, one order per idempotency
//! key even under concurrency, and ordering from the cart.

use super::requests::{address, my_orders, order_body, place};
use crate::support::{assert_problem, TestApp};
use cartwheel_domain::Role;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

#[tokio::test]
async fn an_order_is_accepted_priced_from_the_catalog_and_private() {
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "ORD-PRICED-MUG", "Mug", "kitchen", 1299)
        .await;
    let pan = app
        .create_product(&admin, "ORD-PRICED-PAN", "Pan", "kitchen", 3500)
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
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "ORD-ONEKEY-MUG", "Mug", "kitchen", 1299)
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
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "ORD-CART-MUG", "Mug", "kitchen", 1299)
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
