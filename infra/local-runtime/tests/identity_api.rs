//! Sign-up, login and the caller's profile over HTTP.

mod support;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_exactly_one, assert_problem, TestApp};

const PASSWORD: &str = "correct horse battery staple";

async fn sign_up(app: &TestApp, email: &str) -> reqwest::Response {
    let body = json!({"email": email, "password": PASSWORD, "name": "Ada Lovelace"}).to_string();
    app.send(Method::POST, "/users", None, Some(&body)).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let body = json!({"email": email, "password": password}).to_string();
    app.send(Method::POST, "/auth/login", None, Some(&body))
        .await
}

#[tokio::test]
async fn a_customer_signs_up_logs_in_and_reads_their_profile() {
    let app = TestApp::start().await;
    let created = sign_up(&app, "Ada@Example.com").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["role"], "customer");
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());

    let logged_in = login(&app, "ADA@example.com", PASSWORD).await;
    assert_eq!(logged_in.status(), StatusCode::OK);
    let token: Value = logged_in.json().await.unwrap();
    assert_eq!(token["tokenType"], "Bearer");
    assert_eq!(token["expiresIn"], 600);
    let access = token["accessToken"].as_str().unwrap();

    let me = app.send(Method::GET, "/users/me", Some(access), None).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap(), user);

    // A customer's token does not open admin routes.
    let body =
        r#"{"sku":"A","name":"A","category":"a","price":{"amount":1,"currency":"EUR"},"stock":1}"#;
    let refused = app
        .send(Method::POST, "/products", Some(access), Some(body))
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN, "admin").await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_401() {
    let app = TestApp::start().await;
    assert_eq!(
        sign_up(&app, "grace@example.com").await.status(),
        StatusCode::CREATED
    );
    let wrong = assert_problem(
        login(&app, "grace@example.com", "not the password").await,
        StatusCode::UNAUTHORIZED,
        "wrong",
    )
    .await;
    let unknown = assert_problem(
        login(&app, "nobody@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "wrong",
    )
    .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn bad_sign_ups_are_problems_and_roles_cannot_be_chosen() {
    let app = TestApp::start().await;
    for (body, mentions) in [
        (
            json!({"email": "not-an-email", "password": PASSWORD, "name": "X"}),
            "email",
        ),
        (
            json!({"email": "x@example.com", "password": "short", "name": "X"}),
            "password",
        ),
        (
            json!({"email": "x@example.com", "password": PASSWORD, "name": ""}),
            "name",
        ),
        (
            json!({"email": "x@example.com", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"email": "x@example.com", "password": PASSWORD, "name": "X", "role": "admin"}),
            "role",
        ),
    ] {
        let response = app
            .send(Method::POST, "/users", None, Some(&body.to_string()))
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, mentions).await;
    }
    assert_problem(
        login(&app, "x@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "wrong",
    )
    .await;
}

#[tokio::test]
async fn of_concurrent_sign_ups_with_one_email_exactly_one_succeeds() {
    let app = TestApp::start().await;
    let statuses =
        join_all((0..10).map(|_| async { sign_up(&app, "twin@example.com").await.status() })).await;
    assert_exactly_one(&statuses, StatusCode::CREATED, StatusCode::CONFLICT);
    assert_eq!(
        login(&app, "twin@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}
