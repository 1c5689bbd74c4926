//! The caller's notifications on a fake store: listing with the unread count, and marking read
//! only one's own.

use super::{list_notifications, mark_read};
use crate::fake::{customer, fixture_request, json_of, problem, Event, FakeStore};
use cartwheel_domain::{Notification, NotificationKind, OrderId, Timestamp, UserId};
use lambda_http::http::StatusCode;
use serde_json::json;

/// The notification the read fixture names.
const NOTIFICATION: &str = "01HZX3N5Q8V2K7M4R9T6W1Y0AH";

fn notification(id: &str, kind: NotificationKind) -> Notification {
    let order: OrderId = "01HZX3N5Q8V2K7M4R9T6W1Y0AE".parse().unwrap();
    Notification {
        id: id.parse().unwrap(),
        ..Notification::of_event(kind, order, Timestamp::now(), "e1")
    }
}

/// The fixture's notification and a later one, both unread, for `user`.
fn inbox(user: UserId) -> FakeStore {
    let store = FakeStore::default();
    let both = vec![
        notification(NOTIFICATION, NotificationKind::OrderPlaced),
        notification(
            "01HZX3N5Q8V2K7M4R9T6W1Y0B9",
            NotificationKind::OrderConfirmed,
        ),
    ];
    store.notifications.lock().unwrap().insert(user, both);
    store
}

#[tokio::test]
async fn notifications_are_listed_newest_first_with_the_unread_count() {
    let store = inbox(customer());
    let answer = list_notifications(&store, fixture_request("list-notifications"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body = json_of(&answer);
    assert_eq!(body["unread"], 2);
    assert_eq!(body["items"][0]["kind"], "OrderConfirmed");
    assert_eq!(body["items"][1]["id"], NOTIFICATION);
    assert_eq!(body["nextCursor"], json!(null));
}

#[tokio::test]
async fn a_page_of_notifications_says_where_the_next_one_starts() {
    let store = inbox(customer());
    let request = Event::fixture("list-notifications").query(&[("limit", "1")]);
    let body = json_of(&list_notifications(&store, request.request()).await.unwrap());
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["unread"], 2, "the count is of all, not of the page");
    let next = body["nextCursor"].as_str().unwrap();
    let request = Event::fixture("list-notifications").query(&[("limit", "1"), ("cursor", next)]);
    let body = json_of(&list_notifications(&store, request.request()).await.unwrap());
    assert_eq!(body["items"][0]["id"], NOTIFICATION);
}

#[tokio::test]
async fn a_listing_with_a_limit_out_of_range_is_400_and_reads_nothing() {
    let store = inbox(customer());
    let request = Event::fixture("list-notifications").query(&[("limit", "0")]);
    let refused = list_notifications(&store, request.request())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(store.called("list_notifications"), 0);
}

#[tokio::test]
async fn marking_read_is_204_every_time_and_lowers_the_unread_count_once() {
    let store = inbox(customer());
    for _ in 0..2 {
        let marked = mark_read(&store, fixture_request("read-notification"))
            .await
            .unwrap();
        assert_eq!(marked.status(), StatusCode::NO_CONTENT);
    }
    let read: Vec<bool> = store
        .notifications_of(customer())
        .iter()
        .map(|n| n.read)
        .collect();
    assert_eq!(read, [true, false]);
    let body = json_of(
        &list_notifications(&store, fixture_request("list-notifications"))
            .await
            .unwrap(),
    );
    assert_eq!(body["unread"], 1);
}

#[tokio::test]
async fn another_customers_notification_is_404_and_stays_unread() {
    let other: UserId = "01HZX3N5Q8V2K7M4R9T6W1Y0C0".parse().unwrap();
    let store = inbox(other);
    let refused = mark_read(&store, fixture_request("read-notification"))
        .await
        .unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["detail"],
        format!("notification {NOTIFICATION} was not found")
    );
    assert!(store.notifications_of(other).iter().all(|n| !n.read));
}

#[tokio::test]
async fn a_notification_id_that_is_no_ulid_is_400() {
    let store = inbox(customer());
    let request = Event::fixture("read-notification").path("notificationId", "all");
    let refused = mark_read(&store, request.request()).await.unwrap_err();
    let (status, body, _) = problem(&refused);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("notificationId"));
    assert_eq!(store.called("mark_read"), 0);
}

#[tokio::test]
async fn notifications_need_a_caller() {
    let store = inbox(customer());
    let request = Event::fixture("read-notification").anonymous().request();
    let refused = mark_read(&store, request).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
