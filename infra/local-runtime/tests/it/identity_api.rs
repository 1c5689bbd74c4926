//! Sign-up, login and the caller's profile over HTTP.

use crate::support;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use support::{assert_exactly_one, assert_problem, next_window, StackOptions, TestApp};

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
    // Signed by the key the stack's keyset names (GenerateSecretString's GenerateStringKey).
    let header = access.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("HS256"), Some("k1"))
    );

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

/// Logins of the limit tests: 3 failures per account in each 6-second window.
async fn app_with_login_limit() -> TestApp {
    TestApp::start_stack(StackOptions::api_only().parameter("LoginLimitPerAccount", "3/6")).await
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_lock_the_account_for_its_window_whether_or_not_it_exists() {
    let app = app_with_login_limit().await;
    assert_eq!(
        sign_up(&app, "lin@example.com").await.status(),
        StatusCode::CREATED
    );
    next_window(6).await;
    for email in ["lin@example.com", "nobody-here@example.com"] {
        for _ in 0..3 {
            let wrong = login(&app, email, "not the password").await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{email}");
        }
    }
    // The fourth attempt is refused, a wrong password, the right one or an unknown e-mail alike.
    let fourth = login(&app, "lin@example.com", "not the password").await;
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    let locked = login(&app, "lin@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&locked);
    assert!((1..=6).contains(&wait), "Retry-After {wait}");
    let locked = assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "failed logins").await;
    let unknown = login(&app, "nobody-here@example.com", PASSWORD).await;
    assert_eq!(
        assert_problem(unknown, StatusCode::TOO_MANY_REQUESTS, "failed logins").await,
        locked
    );

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        login(&app, "lin@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let unknown = login(&app, "nobody-here@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_tries_than_the_limit() {
    let app = app_with_login_limit().await;
    assert_eq!(
        sign_up(&app, "max@example.com").await.status(),
        StatusCode::CREATED
    );
    next_window(6).await;
    // 10 at once, below the password checks' limit (25 a second), which would shed more.
    let guesses = (0..10).map(|i| {
        let app = &app;
        async move {
            login(app, "max@example.com", &format!("guess number {i}"))
                .await
                .status()
        }
    });
    let statuses = join_all(guesses).await;
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (3, 7)
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_address_across_accounts() {
    let options = StackOptions::api_only().parameter("LoginLimitPerAddress", "4/10");
    let app = TestApp::start_stack(options).await;
    assert_eq!(
        sign_up(&app, "ana@example.com").await.status(),
        StatusCode::CREATED
    );
    next_window(10).await;
    // One wrong guess at each of four accounts: no account reaches its own limit of 5.
    for i in 0..4 {
        let wrong = login(&app, &format!("guess{i}@example.com"), "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login(&app, "ana@example.com", PASSWORD).await;
    let wait = retry_after(&refused);
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "from this address").await;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        login(&app, "ana@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let app =
        TestApp::start_stack(StackOptions::api_only().parameter("SignUpLimitPerAddress", "2/10"))
            .await;
    next_window(10).await;
    for email in ["one@example.com", "two@example.com"] {
        assert_eq!(sign_up(&app, email).await.status(), StatusCode::CREATED);
    }
    let third = sign_up(&app, "three@example.com").await;
    assert_problem(third, StatusCode::TOO_MANY_REQUESTS, "sign-ups").await;
    assert_eq!(
        login(&app, "three@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the refused sign-up created no account"
    );
}

/// One answer of a flood: its status, with a 429's `Retry-After` checked. API Gateway's own 429
/// (`{"message":"Too Many Requests"}`) has none, so the flood must never reach its throttle.
async fn flood_answer(response: reqwest::Response) -> StatusCode {
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS {
        return status;
    }
    let retry_after = retry_after(&response);
    let body: Value = response.json().await.unwrap();
    assert_ne!(
        body,
        json!({"message": "Too Many Requests"}),
        "the gateway's 429"
    );
    assert!((1..=3600).contains(&retry_after), "{body}");
    assert_eq!(
        body["type"]
            .as_str()
            .map(|t| t.ends_with("too-many-requests")),
        Some(true)
    );
    status
}

fn count(answers: &[StatusCode], status: StatusCode) -> usize {
    answers.iter().filter(|s| **s == status).count()
}

/// 20, 50 and 100 sign-ups with one e-mail, then as many logins, all at once: the functions'
/// limit on password checks sheds them with 429 and Retry-After, below the route's throttle
/// (whose 429 has no Retry-After) and the reserved concurrency (a Lambda throttle is a 500).
#[tokio::test]
async fn floods_of_sign_ups_and_logins_are_shed_with_429_and_retry_after_never_a_5xx() {
    let app = TestApp::start().await;
    for size in [20, 50, 100] {
        // A full bucket for each flood (burst 100, refilled at 50 a second).
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let email = format!("flood-{size}@example.com");
        let answers =
            join_all((0..size).map(|_| async { flood_answer(sign_up(&app, &email).await).await }))
                .await;
        let created = count(&answers, StatusCode::CREATED);
        let refused = count(&answers, StatusCode::CONFLICT);
        let shed = count(&answers, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(created, 1, "{size} sign-ups: {answers:?}");
        assert_eq!(
            created + refused + shed,
            size,
            "{size} sign-ups: {answers:?}"
        );
        // 25 password checks a second: a flood past it is shed, in this window or the next.
        assert!(
            size < 50 || shed >= size - 50,
            "{size} sign-ups: {answers:?}"
        );

        tokio::time::sleep(Duration::from_millis(2100)).await;
        let answers = join_all((0..size).map(|i| {
            let (app, email) = (&app, &email);
            async move {
                let password = if i % 2 == 0 {
                    PASSWORD
                } else {
                    "a wrong guess"
                };
                flood_answer(login(app, email, password).await).await
            }
        }))
        .await;
        let (ok, wrong) = (
            count(&answers, StatusCode::OK),
            count(&answers, StatusCode::UNAUTHORIZED),
        );
        let shed = count(&answers, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(ok + wrong + shed, size, "{size} logins: {answers:?}");
        assert!(ok >= 1, "{size} logins: {answers:?}");
        assert!(size < 50 || shed >= size - 50, "{size} logins: {answers:?}");
    }
}
