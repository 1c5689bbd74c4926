//! The notifications' consumer on a fake store and mailer: one notification and one e-mail per
//! event, however often it is delivered, and only the messages that failed come back.

use super::notify_customers;
use crate::fake::{customer, FakeMailer, FakeStore};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{NotificationId, NotificationKind, Timestamp, User};
use cartwheel_store::{Claim, Credentials, Mailing};
use serde_json::{json, Value};

/// The fixture's one message, with its event changed by `edit` and its id set to `id`.
fn message(id: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let path = format!("{}/../infra/events/notify.json", env!("CARGO_MANIFEST_DIR"));
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut record = fixture["Records"][0].clone();
    let mut event: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    edit(&mut event);
    record["body"] = json!(event.to_string());
    record["messageId"] = json!(id);
    record
}

fn batch(records: Vec<Value>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn confirmed() -> SqsEvent {
    batch(vec![message("m1", |_| {})])
}

fn failed(response: &SqsBatchResponse) -> Vec<&str> {
    let failures = response.batch_item_failures.iter();
    failures.map(|f| f.item_identifier.as_str()).collect()
}

/// A store where the fixture's customer has an account.
fn with_customer() -> FakeStore {
    let store = FakeStore::default();
    let user: User = serde_json::from_value(json!({"id": customer(),
        "email": "customer@example.com", "name": "Ada", "role": "customer",
        "createdAt": Timestamp::now()}))
    .unwrap();
    let password_hash = String::new();
    store.users.lock().unwrap().push(Credentials {
        user,
        password_hash,
    });
    store
}

/// The mailing of the fixture's event, as the consumer names it.
fn fixture_mailing() -> Mailing {
    let at: Timestamp = serde_json::from_value(json!("2026-11-21T12:00:05Z")).unwrap();
    let id = NotificationId::of_event(at, "fixture-stream-record-1#OrderConfirmed");
    Mailing::Notification(customer(), id)
}

#[tokio::test]
async fn a_confirmed_order_becomes_one_notification_and_one_e_mail() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    let response = notify_customers(&store, &mailer, confirmed()).await;
    assert!(failed(&response).is_empty());
    let notifications = store.notifications_of(customer());
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].kind, NotificationKind::OrderConfirmed);
    assert!(!notifications[0].read);
    let sent = mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "customer@example.com");
    assert_eq!(
        sent[0].1,
        "Your order 01HZX3N5Q8V2K7M4R9T6W1Y0AE is confirmed"
    );
    assert_eq!(store.email(fixture_mailing()), Some(Claim::Sent));
}

#[tokio::test]
async fn a_redelivered_event_records_and_sends_nothing_again() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    for _ in 0..3 {
        let response = notify_customers(&store, &mailer, confirmed()).await;
        assert!(failed(&response).is_empty());
    }
    assert_eq!(store.notifications_of(customer()).len(), 1);
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_send_fails_the_message_and_leaves_the_e_mail_unsent() {
    let store = with_customer();
    let mailer = FakeMailer {
        fails: true,
        ..FakeMailer::default()
    };
    let response = notify_customers(&store, &mailer, confirmed()).await;
    assert_eq!(failed(&response), ["m1"]);
    assert_eq!(
        store.notifications_of(customer()).len(),
        1,
        "kept for the retry"
    );
    assert_eq!(store.email(fixture_mailing()), Some(Claim::Held));
    assert_eq!(store.called("mark_emailed"), 0);
}

/// Another delivery holds the claim: this one must come back later rather than send a second
/// e-mail, or drop it.
#[tokio::test]
async fn an_e_mail_another_delivery_is_sending_fails_the_message_without_sending() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    store
        .emails
        .lock()
        .unwrap()
        .push((fixture_mailing(), Claim::Held));
    let response = notify_customers(&store, &mailer, confirmed()).await;
    assert_eq!(failed(&response), ["m1"]);
    assert!(mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_event_not_for_customers_is_consumed_and_touches_nothing() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    let stock = batch(vec![message("m1", |e| {
        e["detail-type"] = json!("StockReserved")
    })]);
    let response = notify_customers(&store, &mailer, stock).await;
    assert!(failed(&response).is_empty());
    assert!(store.calls.lock().unwrap().is_empty());
    assert!(mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_customer_without_an_account_keeps_the_notification_and_gets_no_mail() {
    let (store, mailer) = (FakeStore::default(), FakeMailer::default());
    let response = notify_customers(&store, &mailer, confirmed()).await;
    assert!(failed(&response).is_empty());
    assert_eq!(store.notifications_of(customer()).len(), 1);
    assert!(mailer.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn only_the_message_that_is_unusable_comes_back() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    let no_user = message("m2", |e| {
        e["detail"].as_object_mut().unwrap().remove("userId");
    });
    let mut not_an_event = message("m3", |_| {});
    not_an_event["body"] = json!("not json");
    let mixed = batch(vec![message("m1", |_| {}), no_user, not_an_event]);
    let response = notify_customers(&store, &mailer, mixed).await;
    assert_eq!(failed(&response), ["m2", "m3"]);
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_payment_declined_after_confirmation_is_told_as_a_refund() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    let declined = batch(vec![message("m1", |e| {
        e["detail-type"] = json!("PaymentDeclined");
        e["detail"]["eventId"] = json!("fixture-stream-record-2#PaymentDeclined");
        e["detail"]["previousStatus"] = json!("CONFIRMED");
    })]);
    let response = notify_customers(&store, &mailer, declined).await;
    assert!(failed(&response).is_empty());
    let kind = store.notifications_of(customer())[0].kind;
    assert_eq!(kind, NotificationKind::OrderRefunded);
    let subject = mailer.sent.lock().unwrap()[0].1.clone();
    assert!(
        subject.ends_with("is refunded: we could not ship it"),
        "{subject}"
    );
}

/// Two events of one order are two notifications and two e-mails.
#[tokio::test]
async fn each_event_of_an_order_is_told_once() {
    let (store, mailer) = (with_customer(), FakeMailer::default());
    let shipped = message("m2", |e| {
        e["detail-type"] = json!("OrderShipped");
        e["detail"]["eventId"] = json!("fixture-stream-record-3#OrderShipped");
        e["detail"]["occurredAt"] = json!("2026-11-22T09:00:00Z");
    });
    let response =
        notify_customers(&store, &mailer, batch(vec![message("m1", |_| {}), shipped])).await;
    assert!(failed(&response).is_empty());
    assert_eq!(store.notifications_of(customer()).len(), 2);
    assert_eq!(mailer.sent.lock().unwrap().len(), 2);
}
