//! The decisions of `place_order` that need a store failing at a chosen moment.

use super::place_order;
use crate::{
    handlers::fake::{fixture_product, fixture_request, FakeStore},
    limits::OrderLimit,
};
use cartwheel_domain::RateLimit;
use lambda_http::http::StatusCode;

fn limit() -> OrderLimit {
    OrderLimit(RateLimit::new(5, 60).unwrap())
}

#[tokio::test]
async fn a_slot_taken_before_the_order_write_fails_is_given_back() {
    let store = FakeStore {
        products: vec![fixture_product()],
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
        products: vec![fixture_product()],
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
