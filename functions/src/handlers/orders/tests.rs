//! The decisions of `place_order` that need a store failing at a chosen moment.

use super::place_order;
use crate::{
    fake::{fixture_product, fixture_request, FakeStore},
    limits::OrderLimit,
};
use cartwheel_domain::{OrderStatus, RateLimit};
use lambda_http::{
    http::{HeaderValue, StatusCode},
    Body, Request,
};
use serde_json::Value;

fn limit() -> OrderLimit {
    OrderLimit(RateLimit::new(5, 60).unwrap())
}

#[tokio::test]
async fn a_slot_taken_before_the_order_write_fails_is_given_back() {
    let store = FakeStore {
        products: vec![fixture_product()].into(),
        fail_order_writes: true,
        ..FakeStore::default()
    };
    let failed = place_order(&store, &limit(), fixture_request("place-order"))
        .await
        .unwrap_err();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(store.slots_held(), 0, "no order was placed, so none counts");
}

/// Two attempts with one key that both pass the lookup: the conditional write lets one place the
/// order, and the other, answered with it, gives back its slot.
#[tokio::test]
async fn an_order_that_a_concurrent_attempt_placed_counts_once() {
    let store = FakeStore {
        products: vec![fixture_product()].into(),
        lookup_misses: true,
        ..FakeStore::default()
    };
    let first = place_order(&store, &limit(), fixture_request("place-order"))
        .await
        .unwrap();
    let retry = place_order(&store, &limit(), fixture_request("place-order"))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    assert_eq!(retry.body(), first.body());
    assert_eq!(store.orders.lock().unwrap().len(), 1);
    assert_eq!(store.slots_held(), 1);
}

/// A store that holds the fixture's product.
fn stocked() -> FakeStore {
    FakeStore {
        products: vec![fixture_product()].into(),
        ..FakeStore::default()
    }
}

/// The fixture's order, sent with its fixed key; it must be answered.
async fn place(store: &FakeStore) -> lambda_http::Response<Body> {
    place_order(store, &limit(), fixture_request("place-order"))
        .await
        .unwrap()
}

/// A new order pays for its reads and its write only: nothing refused it, so there is no earlier
/// order to look for. Its retry is answered by the conditional write with the same order, and
/// the slot the retry took is given back.
#[tokio::test]
async fn a_new_order_looks_up_no_earlier_one_and_its_retry_is_answered_with_it() {
    let store = stocked();
    let first = place(&store).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(store.called("earlier_order"), 0);
    let retry = place(&store).await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    assert_eq!(retry.body(), first.body());
    assert_eq!(store.orders.lock().unwrap().len(), 1);
    assert_eq!(store.slots_held(), 1, "the retry's slot is given back");
}

/// A retry refused where its first attempt was not (here the product is gone since) is
/// answered with the order its key placed, which only then is looked up.
#[tokio::test]
async fn a_refused_retry_is_answered_with_the_order_its_key_placed() {
    let store = stocked();
    let first = place(&store).await;
    store.products.lock().unwrap().clear();
    let retry = place(&store).await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    assert_eq!(retry.body(), first.body());
    assert_eq!(store.called("earlier_order"), 1);
    assert_eq!(store.slots_held(), 1);
}

fn waiting(seconds: &str) -> Request {
    let mut request = fixture_request("place-order");
    let value = HeaderValue::from_str(seconds).unwrap();
    request.headers_mut().insert("prefer", value);
    request
}

fn status_of(body: &Body) -> Value {
    serde_json::from_slice::<Value>(body.as_ref()).unwrap()["status"].clone()
}

fn ordering(saga: Vec<OrderStatus>) -> FakeStore {
    FakeStore {
        products: vec![fixture_product()].into(),
        saga: saga.into(),
        ..FakeStore::default()
    }
}

/// Paused time: the fake's saga moves one status per read, and the handler's pauses between
/// reads pass at once.
#[tokio::test(start_paused = true)]
async fn a_waiting_client_is_answered_200_with_the_status_the_checkout_ended_in() {
    use OrderStatus::*;
    for end in [Confirmed, Rejected, PaymentFailed, Cancelled] {
        let store = ordering(vec![Reserved, Paid, end]);
        let answer = place_order(&store, &limit(), waiting("wait=10"))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{end:?}");
        assert_eq!(status_of(answer.body()), serde_json::to_value(end).unwrap());
        assert_eq!(answer.headers()["preference-applied"], "wait=10");
        assert_eq!(
            *store.order_reads.lock().unwrap(),
            3,
            "read until answered, then no more"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_checkout_slower_than_the_wait_is_answered_202_with_the_status_it_has() {
    let store = ordering(vec![OrderStatus::Reserved]);
    let started = tokio::time::Instant::now();
    let answer = place_order(&store, &limit(), waiting("wait=3"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(status_of(answer.body()), "RESERVED");
    assert_eq!(started.elapsed(), std::time::Duration::from_secs(3));
    assert_eq!(
        answer.headers()["location"].to_str().unwrap().len(),
        "/orders/".len() + 26
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_past_the_bound_is_cut_to_it_and_says_so() {
    let store = ordering(vec![OrderStatus::Pending]);
    let started = tokio::time::Instant::now();
    let answer = place_order(&store, &limit(), waiting("respond-async, wait=600"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(answer.headers()["preference-applied"], "wait=20");
    assert_eq!(started.elapsed(), super::MAX_WAIT);
}

#[tokio::test]
async fn a_wait_that_is_not_seconds_is_refused_before_anything_is_written() {
    let store = ordering(vec![]);
    for bad in ["wait=soon", "wait=-1", "wait=1.5", "wait="] {
        let refused = place_order(&store, &limit(), waiting(bad))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(store.orders.lock().unwrap().is_empty(), "{bad}");
        assert_eq!(store.slots_held(), 0, "{bad}");
    }
}

#[tokio::test]
async fn without_a_wait_the_order_is_answered_202_at_once_and_never_read() {
    let store = ordering(vec![OrderStatus::Confirmed]);
    for request in [
        fixture_request("place-order"),
        waiting("wait=0"),
        waiting("handling=strict"),
    ] {
        let answer = place_order(&store, &limit(), request).await.unwrap();
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        assert!(!answer.headers().contains_key("preference-applied"));
    }
    assert_eq!(*store.order_reads.lock().unwrap(), 0);
}

/// A failed read ends the wait: the order is placed, and its place is in `Location`.
#[tokio::test(start_paused = true)]
async fn a_read_that_fails_while_waiting_answers_202_not_an_error() {
    let store = FakeStore {
        fail_order_reads: true,
        ..ordering(vec![])
    };
    let answer = place_order(&store, &limit(), waiting("wait=10"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(status_of(answer.body()), "PENDING");
    assert_eq!(store.orders.lock().unwrap().len(), 1);
}

/// A retry with the key (the client's connection dropped while it waited) waits again for the
/// same order and places no second one.
#[tokio::test(start_paused = true)]
async fn a_waiting_retry_waits_for_the_order_its_key_placed() {
    let store = ordering(vec![OrderStatus::Confirmed]);
    let first = place_order(&store, &limit(), waiting("wait=5"))
        .await
        .unwrap();
    let retry = place_order(&store, &limit(), waiting("wait=5"))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.headers()["location"], first.headers()["location"]);
    assert_eq!(store.orders.lock().unwrap().len(), 1);
    assert_eq!(store.slots_held(), 1);
}
