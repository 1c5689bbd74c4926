//! The cart over HTTP: lines priced from the catalog, quantities validated, one cart per caller.

use crate::support;

use cartwheel_domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_problem, TestApp};

async fn put(app: &TestApp, token: &str, product: &str, body: &str) -> reqwest::Response {
    app.send(
        Method::PUT,
        &format!("/cart/items/{product}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn cart(app: &TestApp, token: &str) -> Value {
    let response = app.send(Method::GET, "/cart", Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn id(product: &Value) -> &str {
    product["id"].as_str().unwrap()
}

#[tokio::test]
async fn the_cart_shows_current_prices_and_the_total() {
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "CART-PRICE-MUG", "Mug", "kitchen", 1299)
        .await;
    let pan = app
        .create_product(&admin, "CART-PRICE-PAN", "Pan", "kitchen", 3500)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    assert_eq!(
        cart(&app, &customer).await,
        json!({"items": [], "itemCount": 0, "total": null})
    );

    assert_eq!(
        put(&app, &customer, id(&mug), r#"{"quantity":3}"#)
            .await
            .status(),
        StatusCode::OK
    );
    let after = put(&app, &customer, id(&pan), r#"{"quantity":1}"#).await;
    assert_eq!(after.status(), StatusCode::OK);
    let view: Value = after.json().await.unwrap();
    assert_eq!(view["itemCount"], 4);
    assert_eq!(
        view["total"],
        json!({"amount": 3 * 1299 + 3500, "currency": "EUR"})
    );
    assert_eq!(
        view["items"][0]["lineTotal"],
        json!({"amount": 3897, "currency": "EUR"})
    );
    assert_eq!(view["items"][0]["inStock"], true);

    // Setting a line replaces its quantity; a price change shows on the next read.
    put(&app, &customer, id(&mug), r#"{"quantity":1}"#).await;
    let update = json!({"sku": "CART-PRICE-PAN", "name": "Pan", "category": "kitchen",
        "price": {"amount": 3000, "currency": "EUR"}, "version": 1});
    let repriced = app
        .send(
            Method::PUT,
            &format!("/products/{}", id(&pan)),
            Some(&admin),
            Some(&update.to_string()),
        )
        .await;
    assert_eq!(repriced.status(), StatusCode::OK);
    assert_eq!(
        cart(&app, &customer).await["total"],
        json!({"amount": 1299 + 3000, "currency": "EUR"})
    );

    // More than the stock is allowed in a cart, and flagged.
    put(&app, &customer, id(&mug), r#"{"quantity":11}"#).await;
    let view = cart(&app, &customer).await;
    assert_eq!(view["items"][0]["inStock"], false);

    // Removing is idempotent; a deleted product drops out of the cart.
    for _ in 0..2 {
        let removed = app
            .send(
                Method::DELETE,
                &format!("/cart/items/{}", id(&mug)),
                Some(&customer),
                None,
            )
            .await;
        assert_eq!(removed.status(), StatusCode::OK);
    }
    assert_eq!(
        app.send(
            Method::DELETE,
            &format!("/products/{}", id(&pan)),
            Some(&admin),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        cart(&app, &customer).await,
        json!({"items": [], "itemCount": 0, "total": null})
    );
}

#[tokio::test]
async fn carts_are_private_and_need_a_token() {
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "CART-PRIVATE-MUG", "Mug", "kitchen", 1299)
        .await;
    let (_, alice) = app.user_token(Role::Customer).await;
    let (_, bob) = app.user_token(Role::Customer).await;
    put(&app, &alice, id(&mug), r#"{"quantity":2}"#).await;
    assert_eq!(cart(&app, &bob).await["items"], json!([]));
    assert_eq!(cart(&app, &alice).await["itemCount"], 2);
    assert_eq!(app.get("/cart").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_cart_input_is_a_problem_and_changes_nothing() {
    let app = TestApp::shared().await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "CART-BAD-MUG", "Mug", "kitchen", 1299)
        .await;
    let (_, customer) = app.user_token(Role::Customer).await;
    for (body, status, mentions) in [
        (
            r#"{"quantity":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            r#"{"quantity":-2}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            r#"{"quantity":1.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            r#"{"quantity":1000000}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            r#"{"quantity":"2"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (r#"{"qty":2}"#, StatusCode::UNPROCESSABLE_ENTITY, "qty"),
        (r#"{"quantity":"#, StatusCode::BAD_REQUEST, "JSON"),
    ] {
        assert_problem(put(&app, &customer, id(&mug), body).await, status, mentions).await;
    }
    let missing = ulid::Ulid::new().to_string();
    assert_problem(
        put(&app, &customer, &missing, r#"{"quantity":1}"#).await,
        StatusCode::NOT_FOUND,
        &missing,
    )
    .await;
    assert_problem(
        put(&app, &customer, "nope", r#"{"quantity":1}"#).await,
        StatusCode::BAD_REQUEST,
        "productId",
    )
    .await;

    // A cart holds one currency.
    let body = json!({"sku": "CART-BAD-USD", "name": "Import", "category": "kitchen",
        "price": {"amount": 500, "currency": "USD"}, "stock": 1});
    let import: Value = app
        .send(
            Method::POST,
            "/products",
            Some(&admin),
            Some(&body.to_string()),
        )
        .await
        .json()
        .await
        .unwrap();
    put(&app, &customer, id(&mug), r#"{"quantity":1}"#).await;
    assert_problem(
        put(&app, &customer, id(&import), r#"{"quantity":1}"#).await,
        StatusCode::CONFLICT,
        "EUR",
    )
    .await;
    assert_eq!(cart(&app, &customer).await["itemCount"], 1);
}
