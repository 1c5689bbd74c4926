//! Catalog management over HTTP: who may do it, what input is refused, and races.

use crate::support;

use cartwheel_domain::{Role, UserId};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_exactly_one, assert_problem, TestApp};

const VALID: &str = r#"{"sku":"SKU-1","name":"Mug","description":"350 ml","category":"kitchen","price":{"amount":1299,"currency":"EUR"},"stock":5}"#;

async fn gateway_message(response: reqwest::Response, status: StatusCode, message: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "message": message }));
}

#[tokio::test]
async fn the_gateway_and_the_authorizer_answer_like_api_gateway() {
    let app = TestApp::start().await;
    let post = |token: Option<String>| {
        let app = &app;
        async move {
            app.send(Method::POST, "/products", token.as_deref(), Some(VALID))
                .await
        }
    };
    gateway_message(post(None).await, StatusCode::UNAUTHORIZED, "Unauthorized").await;
    gateway_message(
        post(Some("not-a-jwt".into())).await,
        StatusCode::FORBIDDEN,
        "Forbidden",
    )
    .await;

    let user = UserId::generate();
    let expired = app
        .tokens
        .issue_at(user, Role::Admin, 1_000)
        .unwrap()
        .access_token;
    gateway_message(
        post(Some(expired)).await,
        StatusCode::FORBIDDEN,
        "Forbidden",
    )
    .await;

    let mut tampered = app.tokens.issue(user, Role::Customer).unwrap().access_token;
    // Claim admin in the payload without re-signing.
    let parts: Vec<&str> = tampered.split('.').collect();
    let payload = String::from_utf8(base64_url_decode(parts[1]))
        .unwrap()
        .replace("customer", "admin");
    tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64_url_encode(payload.as_bytes()),
        parts[2]
    );
    gateway_message(
        post(Some(tampered)).await,
        StatusCode::FORBIDDEN,
        "Forbidden",
    )
    .await;

    let (_, customer) = app.user_token(Role::Customer).await;
    assert_problem(post(Some(customer)).await, StatusCode::FORBIDDEN, "admin").await;

    // Nothing above reached the store.
    let page: Value = app.get("/products").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));

    let admin = app.admin_token().await;
    let response = post(Some(admin)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let product: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/products/{}", product["id"].as_str().unwrap())
    );
    assert_eq!(product["version"], 1);
    assert_eq!(product["stock"], 5);
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_url_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn bad_product_input_is_a_4xx_problem_and_writes_nothing() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let with = |field: &str, value: Value| {
        let mut body: Value = serde_json::from_str(VALID).unwrap();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body: Value = serde_json::from_str(VALID).unwrap();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "{\"sku\":".into(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        ("[1,2]".into(), StatusCode::UNPROCESSABLE_ENTITY, "body"),
        ("".into(), StatusCode::BAD_REQUEST, "missing"),
        (
            without("name"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `name`",
        ),
        (
            with("colour", json!("red")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            with("name", json!("   ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            with("name", json!(42)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            with("price", json!({"amount": -1, "currency": "EUR"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "price.amount",
        ),
        (
            with("price", json!({"amount": 12.5, "currency": "EUR"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "price.amount",
        ),
        (
            with("price", json!({"amount": 100, "currency": "euro"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "price.currency",
        ),
        (
            with("price", json!("12.99")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "price",
        ),
        (
            with("stock", json!(-3)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "stock",
        ),
        (
            with("sku", json!("has spaces")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sku",
        ),
        (
            with("description", json!("x".repeat(70_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
    ];
    for (body, status, mentions) in cases {
        let response = app
            .send(Method::POST, "/products", Some(&admin), Some(&body))
            .await;
        assert_problem(response, status, mentions).await;
    }
    let form = app
        .http
        .post(app.url("/products"))
        .bearer_auth(&admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("sku=1")
        .send()
        .await
        .unwrap();
    assert_problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/json").await;

    let page: Value = app.get("/products").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]), "no bad request wrote anything");
    let categories: Value = app.get("/categories").await.json().await.unwrap();
    assert_eq!(categories["items"], json!([]));
}

#[tokio::test]
async fn payloads_over_api_gateways_limit_are_413() {
    let app = TestApp::start().await;
    let huge = "x".repeat(cartwheel_local::gateway::MAX_PAYLOAD_BYTES + 1);
    let response = app.send(Method::POST, "/users", None, Some(&huge)).await;
    gateway_message(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
    )
    .await;
}

#[tokio::test]
async fn updates_need_the_current_version_and_a_free_sku() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let first = app.create_product(&admin, "ONE", "One", "misc", 100).await;
    app.create_product(&admin, "TWO", "Two", "misc", 100).await;
    let path = format!("/products/{}", first["id"].as_str().unwrap());
    let update = |sku: &str, version: u64| {
        json!({"sku": sku, "name": "One, renamed", "category": "misc",
               "price": {"amount": 250, "currency": "EUR"}, "version": version})
        .to_string()
    };

    let taken = app
        .send(Method::PUT, &path, Some(&admin), Some(&update("two", 1)))
        .await;
    assert_problem(taken, StatusCode::CONFLICT, "TWO").await;

    let renamed = app
        .send(Method::PUT, &path, Some(&admin), Some(&update("ONE-B", 1)))
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(
        (renamed["version"].as_u64(), renamed["sku"].as_str()),
        (Some(2), Some("ONE-B"))
    );
    assert_eq!(renamed["stock"], 10, "an update keeps the stock");

    let stale = app
        .send(Method::PUT, &path, Some(&admin), Some(&update("ONE-C", 1)))
        .await;
    assert_problem(stale, StatusCode::CONFLICT, "changed").await;
    // The old SKU was released and the new one is guarded.
    app.create_product(&admin, "ONE", "Reuses the old SKU", "misc", 100)
        .await;
    let clash = json!({"sku": "one-b", "name": "x", "category": "misc", "price": {"amount": 1, "currency": "EUR"}, "stock": 0});
    let clash = app
        .send(
            Method::POST,
            "/products",
            Some(&admin),
            Some(&clash.to_string()),
        )
        .await;
    assert_problem(clash, StatusCode::CONFLICT, "ONE-B").await;

    let missing = format!("/products/{}", ulid::Ulid::new());
    assert_problem(
        app.send(Method::PUT, &missing, Some(&admin), Some(&update("Z", 1)))
            .await,
        StatusCode::NOT_FOUND,
        "product",
    )
    .await;
}

#[tokio::test]
async fn stock_is_set_and_deleted_products_are_gone() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let product = app
        .create_product(&admin, "S-1", "Stocked", "misc", 100)
        .await;
    let id = product["id"].as_str().unwrap();
    let stock_path = format!("/products/{id}/stock");

    let set = app
        .send(
            Method::PUT,
            &stock_path,
            Some(&admin),
            Some(r#"{"quantity":42,"version":1}"#),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let set: Value = set.json().await.unwrap();
    assert_eq!(
        (set["stock"].as_i64(), set["version"].as_i64()),
        (Some(42), Some(2))
    );
    let added = app
        .send(
            Method::PUT,
            &stock_path,
            Some(&admin),
            Some(r#"{"delta":-2}"#),
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let stored: Value = app
        .get(&format!("/products/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stored["stock"].as_i64(), stored["version"].as_i64()),
        (Some(40), Some(3))
    );

    for (body, status, mentions) in [
        (
            r#"{"quantity":1,"version":2}"#,
            StatusCode::CONFLICT,
            "changed",
        ),
        (r#"{"delta":-41}"#, StatusCode::CONFLICT, "now 40"),
        (
            r#"{"quantity":5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "version",
        ),
        (
            r#"{"quantity":-1,"version":3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            r#"{"quantity":1.5,"version":3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (r#"{"delta":0}"#, StatusCode::UNPROCESSABLE_ENTITY, "delta"),
        (r#"{}"#, StatusCode::UNPROCESSABLE_ENTITY, "delta"),
    ] {
        let response = app
            .send(Method::PUT, &stock_path, Some(&admin), Some(body))
            .await;
        assert_problem(response, status, mentions).await;
    }
    let missing = format!("/products/{}/stock", ulid::Ulid::new());
    assert_problem(
        app.send(Method::PUT, &missing, Some(&admin), Some(r#"{"delta":1}"#))
            .await,
        StatusCode::NOT_FOUND,
        "product",
    )
    .await;

    let path = format!("/products/{id}");
    assert_eq!(
        app.send(Method::DELETE, &path, Some(&admin), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(app.get(&path).await, StatusCode::NOT_FOUND, id).await;
    assert_problem(
        app.send(Method::DELETE, &path, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
        id,
    )
    .await;
    // Its SKU is free again.
    app.create_product(&admin, "S-1", "Stocked again", "misc", 100)
        .await;
}

#[tokio::test]
async fn of_concurrent_updates_with_one_version_exactly_one_wins() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let product = app
        .create_product(&admin, "RACE", "Race", "misc", 100)
        .await;
    let path = format!("/products/{}", product["id"].as_str().unwrap());
    let attempts = (0..8).map(|i| {
        let body = json!({"sku": "RACE", "name": format!("Writer {i}"), "category": "misc",
                          "price": {"amount": 100 + i, "currency": "EUR"}, "version": 1})
        .to_string();
        let (app, admin, path) = (&app, &admin, &path);
        async move {
            app.send(Method::PUT, path, Some(admin), Some(&body))
                .await
                .status()
        }
    });
    let statuses = join_all(attempts).await;
    assert_exactly_one(&statuses, StatusCode::OK, StatusCode::CONFLICT);
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(stored["version"], 2);
}

#[tokio::test]
async fn of_concurrent_creates_with_one_sku_exactly_one_succeeds() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let attempts = (0..10).map(|i| {
        let body = json!({"sku": "dup-sku", "name": format!("Copy {i}"), "category": "misc",
                          "price": {"amount": 100, "currency": "EUR"}, "stock": 1})
        .to_string();
        let (app, admin) = (&app, &admin);
        async move {
            app.send(Method::POST, "/products", Some(admin), Some(&body))
                .await
                .status()
        }
    });
    let statuses = join_all(attempts).await;
    assert_exactly_one(&statuses, StatusCode::CREATED, StatusCode::CONFLICT);
    let page: Value = app.get("/products").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let categories: Value = app.get("/categories").await.json().await.unwrap();
    assert_eq!(
        categories["items"],
        json!([{"name": "misc", "productCount": 1}])
    );
}
