//! Favourites over HTTP: idempotent adds and removes, unknown products, one customer's list, and
//! the limit of 500 held under concurrency.

use crate::support;

use aws_sdk_dynamodb::types::AttributeValue;
use cartwheel_domain::Role;
use cartwheel_store::MAX_FAVOURITES;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{assert_problem, product, TestApp};

async fn favourites(app: &TestApp, token: &str) -> Vec<String> {
    let response = app
        .send(Method::GET, "/favourites", Some(token), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["productId"].as_str().unwrap().to_owned())
        .collect()
}

async fn put(app: &TestApp, token: &str, product: &str) -> StatusCode {
    let path = format!("/favourites/{product}");
    app.send(Method::PUT, &path, Some(token), None)
        .await
        .status()
}

#[tokio::test]
async fn favourites_are_added_and_removed_idempotently() {
    let app = TestApp::shared().await;
    let (mug, pan) = (
        product(&app.store, "FAV-MUG", 3).await,
        product(&app.store, "FAV-PAN", 0).await,
    );
    let (_, ann) = app.user_token(Role::Customer).await;
    let (_, bob) = app.user_token(Role::Customer).await;
    for _ in 0..2 {
        assert_eq!(
            put(&app, &ann, &mug.id.to_string()).await,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        put(&app, &ann, &pan.id.to_string()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        favourites(&app, &ann).await,
        [pan.id.to_string(), mug.id.to_string()],
        "newest first"
    );
    assert!(
        favourites(&app, &bob).await.is_empty(),
        "one customer's favourites are theirs"
    );

    let unknown = ulid::Ulid::new().to_string();
    assert_problem(
        app.send(
            Method::PUT,
            &format!("/favourites/{unknown}"),
            Some(&ann),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        &unknown,
    )
    .await;
    assert_problem(
        app.send(Method::PUT, "/favourites/not-an-id", Some(&ann), None)
            .await,
        StatusCode::BAD_REQUEST,
        "productId",
    )
    .await;
    let anonymous = app.send(Method::GET, "/favourites", None, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    for _ in 0..2 {
        let path = format!("/favourites/{}", mug.id);
        let removed = app.send(Method::DELETE, &path, Some(&ann), None).await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(favourites(&app, &ann).await, [pan.id.to_string()]);
}

#[tokio::test]
async fn concurrent_adds_stop_at_the_limit() {
    let app = TestApp::shared().await;
    let (user, token) = app.user_token(Role::Customer).await;
    // The customer has 490 favourites already (the counter says so); 20 more race for 10 places.
    app.store
        .client()
        .put_item()
        .table_name(app.store.table_name())
        .item("PK", AttributeValue::S(format!("USER#{user}")))
        .item("SK", AttributeValue::S("FAVOURITES".into()))
        .item(
            "favourites",
            AttributeValue::N((MAX_FAVOURITES - 10).to_string()),
        )
        .send()
        .await
        .unwrap();
    let mut products = Vec::new();
    for i in 0..20 {
        products.push(
            product(&app.store, &format!("LIMIT-{i}"), 1)
                .await
                .id
                .to_string(),
        );
    }
    let statuses = join_all(products.iter().map(|p| put(&app, &token, p))).await;
    let added = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((added, refused), (10, 10), "{statuses:?}");
    assert_eq!(favourites(&app, &token).await.len(), 10);

    // Removing one frees one place.
    let path = format!("/favourites/{}", favourites(&app, &token).await[0]);
    app.send(Method::DELETE, &path, Some(&token), None).await;
    let refused: Vec<&String> = products
        .iter()
        .filter(|p| !path.ends_with(p.as_str()))
        .collect();
    let mut retried = Vec::new();
    for product in refused {
        retried.push(put(&app, &token, product).await);
    }
    assert_eq!(
        retried
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        10,
        "nine already there, and one new in the freed place: {retried:?}"
    );
}
