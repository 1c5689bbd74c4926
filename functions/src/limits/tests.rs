//! Taking and giving back limit slots on a fake store.

use super::{take_all, Slot};
use crate::fake::{problem, FakeStore};
use cartwheel_domain::{RateLimit, Timestamp};
use cartwheel_http::ApiError;
use cartwheel_store::{Counter, StoreError};
use lambda_http::http::StatusCode;

/// 1_000_000_000 s lies 40 s into its minute (windows start at multiples of 60 s).
fn at(unix_seconds: u64) -> Timestamp {
    Timestamp::from_unix_millis(unix_seconds * 1000)
}

fn slot(scope: &'static str, max: u32) -> Slot {
    Slot {
        counter: Counter::new(scope, "192.0.2.1"),
        limit: RateLimit::new(max, 60).unwrap(),
        what: scope,
    }
}

#[tokio::test]
async fn a_refused_slot_is_429_with_the_seconds_left_in_its_window() {
    let store = FakeStore::default();
    let one = slot("tries", 1);
    one.take(&store, at(1_000_000_000)).await.unwrap();
    let refused = one.take(&store, at(1_000_000_000)).await.unwrap_err();
    let (status, body, response) = problem(&refused);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "20");
    assert_eq!(body["detail"], "too many tries; try again in 20 s");
    assert_eq!(store.slots_held(), 1, "a refused slot counts nothing");
}

#[tokio::test]
async fn the_next_window_has_its_slots_again() {
    let store = FakeStore::default();
    let one = slot("tries", 1);
    one.take(&store, at(1_000_000_000)).await.unwrap();
    assert!(one.take(&store, at(1_000_000_019)).await.is_err());
    assert!(one.take(&store, at(1_000_000_020)).await.is_ok());
}

#[tokio::test]
async fn take_all_gives_back_the_slots_taken_before_one_is_refused() {
    let store = FakeStore::default();
    let now = at(1_000_000_000);
    let full = slot("full", 1);
    full.take(&store, now).await.unwrap();
    let slots = [slot("first", 5), full, slot("last", 5)];
    let refused = take_all(&store, &slots, now).await.unwrap_err();
    assert!(matches!(
        refused,
        ApiError::TooManyRequests { what: "full", .. }
    ));
    assert_eq!(store.slots_held(), 1, "only the full limit's own slot");
    assert_eq!(
        store.called("take_slot"),
        3,
        "the last limit is never asked"
    );
}

#[tokio::test]
async fn a_store_that_cannot_count_is_a_500_not_a_429() {
    let store = FakeStore::default().failing("take_slot", || StoreError::Call("down".into()));
    let failed = slot("tries", 1)
        .take(&store, at(1_000_000_000))
        .await
        .unwrap_err();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

/// A limit checked on a throttled or unanswering table is overload like any other store call:
/// 429 with `Retry-After`, as the handler's next call would answer, never a 500.
#[tokio::test]
async fn a_store_too_busy_to_count_is_a_429() {
    let busy: [fn() -> StoreError; 2] = [
        || StoreError::Throttled("slow down".into()),
        || StoreError::TimedOut("no answer".into()),
    ];
    for error in busy {
        let store = FakeStore::default().failing("take_slot", error);
        let refused = slot("tries", 1)
            .take(&store, at(1_000_000_000))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let (_, _, answer) = problem(&refused);
        assert!(answer.headers().contains_key("retry-after"));
    }
}

/// The caller is owed its work's answer: a slot that cannot be given back only counts once too
/// often until its window ends.
#[tokio::test]
async fn a_slot_that_cannot_be_given_back_stays_taken_without_an_error() {
    let store = FakeStore::default().failing("give_back_slot", || StoreError::Call("down".into()));
    let one = slot("tries", 1);
    one.take(&store, at(1_000_000_000)).await.unwrap();
    one.give_back(&store, at(1_000_000_000)).await;
    assert_eq!(store.slots_held(), 1);
}

#[tokio::test]
async fn a_slot_given_back_may_be_taken_again_in_its_window() {
    let store = FakeStore::default();
    let one = slot("tries", 1);
    one.take(&store, at(1_000_000_000)).await.unwrap();
    one.give_back(&store, at(1_000_000_000)).await;
    assert!(one.take(&store, at(1_000_000_010)).await.is_ok());
}
