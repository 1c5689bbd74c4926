//! Sign-up, login and the caller's profile on a fake store: the answers, the accounts stored,
//! and which limit slots each request leaves taken.

use super::{get_me, login, sign_up};
use crate::{
    fake::{customer, fixture_request, json_of, problem, problem_type, Event, FakeStore},
    limits::{HashLimit, LoginLimits, SignUpLimits},
};
use cartwheel_domain::{Password, RateLimit, Role, Timestamp, User};
use cartwheel_http::ApiError;
use cartwheel_identity::{JwtSecret, PasswordHash, TokenService};
use cartwheel_store::Credentials;
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

/// The password of the fixture's login and sign-up.
const PASSWORD: &str = "a long enough password";

fn limit(max: u32, window: u32) -> RateLimit {
    RateLimit::new(max, window).unwrap()
}

fn tokens() -> TokenService {
    TokenService::new(&JwtSecret::parse(&"s".repeat(32)).unwrap(), 600)
}

// The windows are the clock's (a slot counts in the window it was taken in): an hour, so that no
// test's two requests fall either side of a window's end.
fn sign_up_limits(per_address: u32, hashes: u32) -> SignUpLimits {
    SignUpLimits {
        per_address: limit(per_address, 3600),
        hashes: HashLimit(limit(hashes, 3600)),
    }
}

fn login_limits(per_account: u32, per_address: u32, hashes: u32) -> LoginLimits {
    LoginLimits {
        per_account: limit(per_account, 3600),
        per_address: limit(per_address, 3600),
        hashes: HashLimit(limit(hashes, 3600)),
    }
}

/// A store holding the account the login fixture signs in to, with its password hashed.
fn with_account() -> FakeStore {
    let store = FakeStore::default();
    let hash = PasswordHash::create(&Password::parse(PASSWORD).unwrap()).unwrap();
    let user: User = serde_json::from_value(json!({"id": customer(),
        "email": "customer@example.com", "name": "Ada", "role": "customer",
        "createdAt": Timestamp::now()}))
    .unwrap();
    let password_hash = hash.as_str().to_owned();
    store.users.lock().unwrap().push(Credentials {
        user,
        password_hash,
    });
    store
}

fn signing_up(body: Value) -> lambda_http::Request {
    Event::fixture("sign-up").body(body).request()
}

fn logging_in(email: &str, password: &str) -> lambda_http::Request {
    let body = json!({"email": email, "password": password});
    Event::fixture("login").body(body).request()
}

/// The `what` and `Retry-After` of a 429, checked to be what the client receives.
fn too_many(error: &ApiError) -> (&'static str, u64) {
    let (status, body, response) = problem(error);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["type"], problem_type("too-many-requests"));
    let ApiError::TooManyRequests { what, retry_after } = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        response.headers()["retry-after"],
        retry_after.to_string().as_str()
    );
    (what, *retry_after)
}

#[tokio::test]
async fn a_sign_up_is_201_with_a_customer_account_and_never_the_password() {
    let store = FakeStore::default();
    let created = sign_up(&store, &sign_up_limits(5, 5), fixture_request("sign-up"))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = json_of(&created);
    assert_eq!(body["role"], "customer");
    assert_eq!(body["email"], "new.customer@example.com");
    assert!(!body.to_string().contains(PASSWORD));
    let stored = store.user_by_email("new.customer@example.com").unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(PasswordHash::from_stored(stored.password_hash).verify(PASSWORD));
}

#[tokio::test]
async fn a_sign_up_with_an_e_mail_that_has_an_account_is_409() {
    let store = with_account();
    let again = json!({"email": " Customer@Example.COM", "password": PASSWORD, "name": "Bob"});
    let refused = sign_up(&store, &sign_up_limits(5, 5), signing_up(again))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["detail"],
        "an account with this e-mail address already exists"
    );
    assert_eq!(store.users.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_invalid_sign_up_is_422_naming_the_field_and_takes_no_slot() {
    let cases = [
        (
            "email",
            json!({"email": "ada", "password": PASSWORD, "name": "Ada"}),
        ),
        (
            "password",
            json!({"email": "a@b.io", "password": "short", "name": "Ada"}),
        ),
        (
            "name",
            json!({"email": "a@b.io", "password": PASSWORD, "name": " "}),
        ),
    ];
    for (field, body) in cases {
        let store = FakeStore::default();
        let refused = sign_up(&store, &sign_up_limits(5, 5), signing_up(body))
            .await
            .unwrap_err();
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(body["errors"][0]["field"], field);
        assert!(
            !body.to_string().contains("short"),
            "a password is never echoed"
        );
        assert_eq!(store.slots_held(), 0, "{field}");
        assert!(store.users.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn sign_ups_past_the_address_limit_are_429_and_hash_no_password() {
    let store = FakeStore::default();
    let limits = sign_up_limits(1, 5);
    sign_up(&store, &limits, fixture_request("sign-up"))
        .await
        .unwrap();
    let other = json!({"email": "other@example.com", "password": PASSWORD, "name": "O"});
    let refused = sign_up(&store, &limits, signing_up(other))
        .await
        .unwrap_err();
    let (what, retry_after) = too_many(&refused);
    assert_eq!(what, "sign-ups from this address");
    assert!((1..=3600).contains(&retry_after));
    assert_eq!(
        store.slots_held(),
        2,
        "the first sign-up's address and hash slots"
    );
    assert!(store.user_by_email("other@example.com").is_none());
}

#[tokio::test]
async fn another_address_has_its_own_sign_up_limit() {
    let store = FakeStore::default();
    let limits = sign_up_limits(1, 5);
    sign_up(&store, &limits, fixture_request("sign-up"))
        .await
        .unwrap();
    let other = json!({"email": "other@example.com", "password": PASSWORD, "name": "O"});
    let elsewhere = Event::fixture("sign-up")
        .body(other)
        .source_ip("198.51.100.7");
    let created = sign_up(&store, &limits, elsewhere.request()).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_sign_up_past_the_hash_limit_gives_back_its_address_slot() {
    let store = FakeStore::default();
    let limits = sign_up_limits(5, 1);
    sign_up(&store, &limits, fixture_request("sign-up"))
        .await
        .unwrap();
    let other = json!({"email": "other@example.com", "password": PASSWORD, "name": "O"});
    let refused = sign_up(&store, &limits, signing_up(other))
        .await
        .unwrap_err();
    assert_eq!(too_many(&refused).0, "password checks right now");
    assert_eq!(store.slots_held(), 2, "only the first sign-up's slots");
}

#[tokio::test]
async fn a_login_with_the_right_password_is_200_with_a_token_for_the_account() {
    let store = with_account();
    let answer = login(
        &store,
        &tokens(),
        &login_limits(5, 50, 25),
        fixture_request("login"),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body = json_of(&answer);
    assert_eq!(body["tokenType"], "Bearer");
    let claims = tokens()
        .verify(body["accessToken"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.user_id().unwrap(), customer());
    assert_eq!(claims.role, Role::Customer);
    assert_eq!(store.slots_held(), 1, "only the password check counts");
}

#[tokio::test]
async fn a_wrong_password_is_401_and_counts_a_failed_login() {
    let store = with_account();
    let limits = login_limits(5, 50, 25);
    let wrong = logging_in("customer@example.com", "not the password at all");
    let refused = login(&store, &tokens(), &limits, wrong).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], problem_type("bad-credentials"));
    assert_eq!(body["detail"], "the e-mail address or password is wrong");
    assert_eq!(store.slots_held(), 3, "account, address and password check");
}

#[tokio::test]
async fn an_unknown_e_mail_is_answered_as_a_wrong_password() {
    let store = with_account();
    let limits = login_limits(5, 50, 25);
    let wrong = logging_in("customer@example.com", "not the password at all");
    let unknown = logging_in("nobody@example.com", PASSWORD);
    let wrong = login(&store, &tokens(), &limits, wrong).await.unwrap_err();
    let unknown = login(&store, &tokens(), &limits, unknown)
        .await
        .unwrap_err();
    assert_eq!(problem(&unknown).1, problem(&wrong).1);
    assert_eq!(store.slots_held(), 6, "both count against their limits");
}

/// Once an account's failed logins reach the limit, even its right password is refused until the
/// window ends, and no password is checked.
#[tokio::test]
async fn an_account_locked_by_failed_logins_refuses_even_its_password_429() {
    let store = with_account();
    let limits = login_limits(2, 50, 25);
    for _ in 0..2 {
        let wrong = logging_in("customer@example.com", "not the password at all");
        let refused = login(&store, &tokens(), &limits, wrong).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login(&store, &tokens(), &limits, fixture_request("login"))
        .await
        .unwrap_err();
    let (what, retry_after) = too_many(&refused);
    assert_eq!(what, "failed logins for this account");
    assert!((1..=3600).contains(&retry_after));
    assert_eq!(store.called("find_credentials"), 2);
    assert_eq!(store.slots_held(), 6);
}

#[tokio::test]
async fn an_address_past_its_failed_login_limit_is_429_for_any_account() {
    let store = with_account();
    let limits = login_limits(5, 1, 25);
    let wrong = logging_in("someone@example.com", "not the password at all");
    login(&store, &tokens(), &limits, wrong).await.unwrap_err();
    let refused = login(&store, &tokens(), &limits, fixture_request("login"))
        .await
        .unwrap_err();
    assert_eq!(too_many(&refused).0, "failed logins from this address");
}

#[tokio::test]
async fn a_login_body_with_an_unknown_field_is_422_and_takes_no_slot() {
    let store = with_account();
    let body = json!({"email": "customer@example.com", "password": PASSWORD, "otp": "1"});
    let request = Event::fixture("login").body(body).request();
    let refused = login(&store, &tokens(), &login_limits(5, 50, 25), request)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(store.slots_held(), 0);
}

#[tokio::test]
async fn a_store_failure_is_not_a_failed_login() {
    let store = FakeStore {
        fail_credential_reads: true,
        ..FakeStore::default()
    };
    let failed = login(
        &store,
        &tokens(),
        &login_limits(5, 50, 25),
        fixture_request("login"),
    )
    .await
    .unwrap_err();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(store.slots_held(), 0, "no password was tried");
}

#[tokio::test]
async fn a_login_past_the_password_check_limit_is_429_and_counts_no_failed_login() {
    let store = FakeStore::default();
    let limits = login_limits(5, 50, 1);
    let first = login(&store, &tokens(), &limits, fixture_request("login"))
        .await
        .unwrap_err();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let second = login(&store, &tokens(), &limits, fixture_request("login"))
        .await
        .unwrap_err();
    let (what, retry_after) = too_many(&second);
    assert!(what.contains("password checks"));
    assert!((1..=3600).contains(&retry_after));
    // The first login's failures on both limits and its password check; nothing of the second.
    assert_eq!(store.slots_held(), 3);
}

#[tokio::test]
async fn the_caller_reads_their_own_account_and_404_once_it_is_gone() {
    let store = with_account();
    let me = get_me(&store, fixture_request("get-me")).await.unwrap();
    assert_eq!(json_of(&me)["email"], "customer@example.com");
    store.users.lock().unwrap().clear();
    let gone = get_me(&store, fixture_request("get-me")).await.unwrap_err();
    let (status, body, _) = problem(&gone);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "your account was not found");
}
