//! Reviews over HTTP: only buyers may write one, one each, only the author may change it, and the
//! product's totals stay exact when many customers review it at once.

use crate::support;

use cartwheel_domain::{OrderStatus, Product, ProductUpdate, Role, Timestamp, UserId};
use cartwheel_store::{DeleteProduct, GetProduct, ReplaceProduct};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_problem, product, stored_order, TestApp};

/// A customer with an order of `product` in `status`, and their token.
async fn customer_with_order(app: &TestApp, product: &Product, status: OrderStatus) -> String {
    let (user, token): (UserId, String) = app.user_token(Role::Customer).await;
    stored_order(&app.store, user, &[(product, 1)], "tok_visa", status).await;
    token
}

async fn review(app: &TestApp, token: &str, product: &Product, rating: i64) -> reqwest::Response {
    let body = json!({"rating": rating, "title": format!("{rating} stars"), "body": "Fine."});
    let path = format!("/products/{}/reviews", product.id);
    app.send(Method::POST, &path, Some(token), Some(&body.to_string()))
        .await
}

async fn totals(app: &TestApp, product: &Product) -> (u32, u64) {
    let stored = app.store.get_product(product.id).await.unwrap().unwrap();
    (stored.ratings.rating_count, stored.ratings.rating_sum)
}

async fn listed(app: &TestApp, product: &Product, query: &str) -> Value {
    let response = app
        .get(&format!("/products/{}/reviews{query}", product.id))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn only_a_buyer_reviews_once_and_only_the_author_changes_it() {
    let app = TestApp::shared().await;
    let mug = product(&app.store, "REV-MUG", 5).await;
    let (_, stranger) = app.user_token(Role::Customer).await;
    let pending = customer_with_order(&app, &mug, OrderStatus::Paid).await;
    let buyer = customer_with_order(&app, &mug, OrderStatus::Shipped).await;
    let other = customer_with_order(&app, &mug, OrderStatus::Confirmed).await;

    for token in [&stranger, &pending] {
        assert_problem(
            review(&app, token, &mug, 4).await,
            StatusCode::FORBIDDEN,
            "confirmed or shipped order",
        )
        .await;
    }
    let invalid = review(&app, &buyer, &mug, 6).await;
    assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "rating").await;
    assert_eq!(totals(&app, &mug).await, (0, 0), "refusals change nothing");

    let created = review(&app, &buyer, &mug, 4).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let written: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "/products/{}/reviews/{}",
            mug.id,
            written["id"].as_str().unwrap()
        )
    );
    assert!(written.get("authorId").is_none(), "the author is not shown");
    assert_problem(
        review(&app, &buyer, &mug, 5).await,
        StatusCode::CONFLICT,
        "already",
    )
    .await;
    assert_eq!(
        review(&app, &other, &mug, 1).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(totals(&app, &mug).await, (2, 5));

    let rewrite = json!({"rating": 2, "title": "Chipped"}).to_string();
    let by_other = app
        .send(Method::PUT, &location, Some(&other), Some(&rewrite))
        .await;
    assert_problem(by_other, StatusCode::NOT_FOUND, "review").await;
    let deleted_by_other = app
        .send(Method::DELETE, &location, Some(&other), None)
        .await;
    assert_eq!(deleted_by_other.status(), StatusCode::NOT_FOUND);
    let rewritten = app
        .send(Method::PUT, &location, Some(&buyer), Some(&rewrite))
        .await;
    assert_eq!(rewritten.status(), StatusCode::OK);
    assert_eq!(totals(&app, &mug).await, (2, 3));
    let shown: Value = app
        .get(&format!("/products/{}", mug.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["averageRating"], 1.5);
    assert_eq!(shown["ratingCount"], 2);

    let page = listed(&app, &mug, "?limit=1").await;
    assert_eq!(page["items"][0]["rating"], 1, "newest first");
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = listed(&app, &mug, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["title"], "Chipped");

    let deleted = app
        .send(Method::DELETE, &location, Some(&buyer), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(totals(&app, &mug).await, (1, 1));
    assert_eq!(
        review(&app, &buyer, &mug, 3).await.status(),
        StatusCode::CREATED,
        "a deleted review can be written again"
    );

    let unknown = format!("/products/{}/reviews", ulid::Ulid::new());
    assert_eq!(app.get(&unknown).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_update_read_before_a_review_keeps_its_totals() {
    let app = TestApp::shared().await;
    let pan = product(&app.store, "REV-PAN", 5).await;
    let buyer = customer_with_order(&app, &pan, OrderStatus::Confirmed).await;
    // The admin reads the product; a review lands (it does not move the version); then the
    // admin's update is written. A whole-item Put would set the totals back to what was read.
    let read = app.store.get_product(pan.id).await.unwrap().unwrap();
    assert_eq!(
        review(&app, &buyer, &pan, 5).await.status(),
        StatusCode::CREATED
    );
    let update: ProductUpdate = serde_json::from_value(json!({"sku": "REV-PAN",
        "name": "Pan, renamed", "category": "misc", "price": {"amount": 700, "currency": "EUR"},
        "version": read.version}))
    .unwrap();
    let next = read.updated(update, Timestamp::now());
    app.store.replace_product(&read, &next).await.unwrap();
    let stored = app.store.get_product(pan.id).await.unwrap().unwrap();
    assert_eq!(stored.name.as_str(), "Pan, renamed");
    assert_eq!(stored.price.amount.value(), 700);
    assert_eq!(
        (stored.ratings.rating_count, stored.ratings.rating_sum),
        (1, 5)
    );
    assert_eq!(stored.version, read.version + 1);
}

#[tokio::test]
async fn fifty_concurrent_reviews_give_exact_totals() {
    let app = TestApp::shared().await;
    let book = product(&app.store, "REV-BOOK", 100).await;
    let mut customers = Vec::new();
    for _ in 0..50 {
        customers.push(customer_with_order(&app, &book, OrderStatus::Confirmed).await);
    }
    let ratings: Vec<i64> = (0..50).map(|i| i % 5 + 1).collect();
    let statuses = join_all(
        customers
            .iter()
            .zip(&ratings)
            .map(|(token, rating)| async { review(&app, token, &book, *rating).await.status() }),
    )
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    let sum: i64 = ratings.iter().sum();
    assert_eq!(totals(&app, &book).await, (50, sum as u64));
    let listed = listed(&app, &book, "?limit=100").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn a_review_of_a_deleted_product_can_still_be_deleted() {
    let app = TestApp::shared().await;
    let lamp = product(&app.store, "REV-LAMP", 5).await;
    let buyer = customer_with_order(&app, &lamp, OrderStatus::Confirmed).await;
    let created = review(&app, &buyer, &lamp, 3).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let current = app.store.get_product(lamp.id).await.unwrap().unwrap();
    app.store.delete_product(&current).await.unwrap();
    let deleted = app
        .send(Method::DELETE, &location, Some(&buyer), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        app.store.get_product(lamp.id).await.unwrap().is_none(),
        "no stub product is left by the totals' update"
    );
}
