//! Reviews on a fake store: who may write one, who may change it, and what is refused before
//! anything is written.

use super::{create_review, delete_review, list_reviews, update_review};
use crate::fake::{
    customer, fixture_product, fixture_request, json_of, order_of, problem, problem_type, Event,
    FakeStore, PRODUCT,
};
use cartwheel_domain::{OrderStatus, Review, ReviewId, Timestamp, UserId};
use cartwheel_store::{AuthoredReview, StoreError};
use lambda_http::http::StatusCode;
use serde_json::json;
use std::time::Duration;

/// The review the update and delete fixtures name.
const REVIEW: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AF";

fn someone_else() -> UserId {
    "01HZX3N5Q8V2K7M4R9T6W1Y0C0".parse().unwrap()
}

/// The catalog with the fixture product, and the customer's orders of it in `statuses`.
fn bought(statuses: &[OrderStatus]) -> FakeStore {
    let store = FakeStore::with_products(vec![fixture_product()]);
    for status in statuses {
        store.add_order(order_of(customer(), *status, &[&fixture_product()]));
    }
    store
}

fn review_by(author: UserId, id: &str, minutes_ago: u64) -> AuthoredReview {
    let at = Timestamp::now().minus(Duration::from_secs(60 * minutes_ago));
    let review: Review = serde_json::from_value(json!({"id": id, "productId": PRODUCT,
        "rating": 5, "title": "Lovely", "body": "", "createdAt": at, "updatedAt": at}))
    .unwrap();
    AuthoredReview {
        author_id: author,
        review,
    }
}

fn stored_reviews(store: &FakeStore) -> Vec<AuthoredReview> {
    store.reviews.lock().unwrap().clone()
}

#[tokio::test]
async fn a_customer_with_a_confirmed_order_writes_a_review_201_with_its_location() {
    let store = bought(&[OrderStatus::Confirmed]);
    let created = create_review(&store, fixture_request("create-review"))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = json_of(&created);
    assert_eq!(
        (body["rating"].clone(), body["title"].clone()),
        (json!(4), json!("Does what it says"))
    );
    assert!(body.get("authorId").is_none(), "the author is never shown");
    let location = format!(
        "/products/{PRODUCT}/reviews/{}",
        body["id"].as_str().unwrap()
    );
    assert_eq!(created.headers()["location"], location.as_str());
    assert_eq!(stored_reviews(&store)[0].author_id, customer());
}

#[tokio::test]
async fn a_shipped_order_entitles_a_review_too() {
    let store = bought(&[OrderStatus::Shipped]);
    let created = create_review(&store, fixture_request("create-review")).await;
    assert_eq!(created.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_order_not_confirmed_or_cancelled_entitles_no_review() {
    use OrderStatus::*;
    let store = bought(&[Pending, Reserved, Paid, Cancelled, Rejected, PaymentFailed]);
    let refused = create_review(&store, fixture_request("create-review"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["type"], problem_type("not-entitled"));
    assert_eq!(body["detail"], super::NOT_A_BUYER);
    assert!(stored_reviews(&store).is_empty());
}

#[tokio::test]
async fn a_confirmed_order_of_another_product_entitles_no_review_of_this_one() {
    let store = bought(&[]);
    let other = crate::fake::product(
        "01HZX3N5Q8V2K7M4R9T6W1Y0B0",
        "BOWL",
        "Bowl",
        (100, "EUR"),
        1,
    );
    store.add_order(order_of(customer(), OrderStatus::Confirmed, &[&other]));
    let refused = create_review(&store, fixture_request("create-review")).await;
    assert_eq!(refused.unwrap_err().status(), StatusCode::FORBIDDEN);
}

/// The orders are read page after page until one qualifies.
#[tokio::test]
async fn a_qualifying_order_past_the_first_page_of_orders_is_found() {
    let mut statuses = vec![OrderStatus::Cancelled; usize::from(super::ORDERS_PER_PAGE)];
    statuses.push(OrderStatus::Confirmed);
    let store = bought(&statuses);
    let created = create_review(&store, fixture_request("create-review")).await;
    assert_eq!(created.unwrap().status(), StatusCode::CREATED);
    assert_eq!(store.called("list_orders"), 2);
}

#[tokio::test]
async fn a_second_review_of_the_same_product_is_409() {
    let store = bought(&[OrderStatus::Confirmed]);
    create_review(&store, fixture_request("create-review"))
        .await
        .unwrap();
    let refused = create_review(&store, fixture_request("create-review"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["detail"],
        "you have reviewed this product already; change that review instead"
    );
    assert_eq!(stored_reviews(&store).len(), 1);
}

#[tokio::test]
async fn a_review_of_an_unknown_product_is_404_and_reads_no_orders() {
    let store = FakeStore::default();
    let refused = create_review(&store, fixture_request("create-review"))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(store.called("list_orders"), 0);
}

#[tokio::test]
async fn a_bad_rating_or_title_is_422_naming_it_and_checks_nothing() {
    let cases = [
        ("rating", json!({"rating": 0, "title": "t"})),
        ("rating", json!({"rating": 4.5, "title": "t"})),
        ("title", json!({"rating": 3, "title": "  "})),
        ("title", json!({"rating": 3, "title": "x".repeat(121)})),
    ];
    for (field, text) in cases {
        let store = bought(&[OrderStatus::Confirmed]);
        let request = Event::fixture("create-review").body(text).request();
        let refused = create_review(&store, request).await.unwrap_err();
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(body["errors"][0]["field"], field);
        assert_eq!(store.calls.lock().unwrap().len(), 0, "{field}");
    }
}

#[tokio::test]
async fn an_author_rewrites_their_review_keeping_when_it_was_written() {
    let store = bought(&[]);
    let original = review_by(customer(), REVIEW, 60);
    store.reviews.lock().unwrap().push(original.clone());
    let updated = update_review(&store, fixture_request("update-review"))
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let stored = stored_reviews(&store)[0].review.clone();
    assert_eq!(
        (stored.rating.stars(), stored.title.as_str()),
        (2, "Broke after a week")
    );
    assert_eq!(stored.body.as_str(), "", "a body left out is emptied");
    assert_eq!(stored.created_at, original.review.created_at);
    assert!(stored.updated_at > original.review.updated_at);
}

#[tokio::test]
async fn someone_elses_review_is_404_to_change_or_delete_and_stays() {
    let store = bought(&[]);
    let theirs = review_by(someone_else(), REVIEW, 5);
    store.reviews.lock().unwrap().push(theirs.clone());
    let updated = update_review(&store, fixture_request("update-review")).await;
    let deleted = delete_review(&store, fixture_request("delete-review")).await;
    for refused in [updated.unwrap_err(), deleted.unwrap_err()] {
        let (status, body, _) = problem(&refused);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["detail"],
            format!("review {REVIEW} of yours was not found")
        );
    }
    assert_eq!(stored_reviews(&store), [theirs]);
}

#[tokio::test]
async fn a_review_changed_meanwhile_is_409_asking_to_read_it_again() {
    let store = bought(&[]).failing("revise_review", || StoreError::VersionConflict);
    store
        .reviews
        .lock()
        .unwrap()
        .push(review_by(customer(), REVIEW, 5));
    let refused = update_review(&store, fixture_request("update-review"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["detail"],
        "the review changed at the same time; read it and try again"
    );
}

/// The store deletes it with no totals to update (tests/it/reviews_api.rs holds the same on
/// DynamoDB Local): its author can still take it back.
#[tokio::test]
async fn a_review_whose_product_was_deleted_is_still_deleted_204() {
    let store = FakeStore::default();
    store
        .reviews
        .lock()
        .unwrap()
        .push(review_by(customer(), REVIEW, 5));
    let answer = delete_review(&store, fixture_request("delete-review"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    assert!(store.reviews.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_author_deletes_their_review_204() {
    let store = bought(&[]);
    store
        .reviews
        .lock()
        .unwrap()
        .push(review_by(customer(), REVIEW, 5));
    let deleted = delete_review(&store, fixture_request("delete-review"))
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(stored_reviews(&store).is_empty());
}

#[tokio::test]
async fn reviews_are_listed_newest_first_and_cacheable_for_a_minute() {
    let store = bought(&[]);
    let older = review_by(customer(), REVIEW, 60);
    let newer = review_by(someone_else(), &ReviewId::generate().to_string(), 1);
    store
        .reviews
        .lock()
        .unwrap()
        .extend([older.clone(), newer.clone()]);
    let answer = list_reviews(&store, fixture_request("list-reviews"))
        .await
        .unwrap();
    assert_eq!(answer.headers()["cache-control"], "public, max-age=60");
    let body = json_of(&answer);
    assert_eq!(body["items"][0]["id"], newer.review.id.to_string());
    assert_eq!(body["items"][1]["id"], REVIEW);
    assert_eq!(body["nextCursor"], json!(null));
}

#[tokio::test]
async fn the_reviews_of_an_unknown_product_are_404() {
    let store = FakeStore::default();
    let refused = list_reviews(&store, fixture_request("list-reviews"))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(store.called("list_reviews"), 0);
}

#[tokio::test]
async fn a_review_listing_with_a_bad_limit_or_cursor_is_400() {
    let store = bought(&[]);
    let limit = Event::fixture("list-reviews").query(&[("limit", "500")]);
    let refused = list_reviews(&store, limit.request()).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let cursor = Event::fixture("list-reviews").query(&[("cursor", "forged")]);
    let refused = list_reviews(&store, cursor.request()).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], problem_type("invalid-cursor"));
}
