//! An event applied once however often it is delivered, and a poison message in the dead-letter
//! queue without holding up its batch, for the audit consumer and every other.

use super::{
    messages::{batch, failed_ids, fixture_event, impatient_audit_queue, variant},
    queues::{depth, drain},
};
use crate::support::{
    fixtures::{store_fixture_data, ORDER},
    sales, sdk_config, StackOptions, TestApp,
};
use cartwheel_domain::Role;
use cartwheel_store::ListAudit;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_redelivered_event_is_audited_once_and_poison_fails_alone() {
    let app = TestApp::start().await;
    let (message, event) = fixture_event("audit");
    let first = event.to_string();
    for _ in 0..2 {
        let failed = failed_ids(
            &app,
            "AuditFunction",
            batch(&message, std::slice::from_ref(&first)),
        )
        .await;
        assert!(failed.is_empty(), "{failed:?}");
    }
    let second = variant(
        &event,
        "record-2#OrderShipped",
        json!({"status": "SHIPPED"}),
    );
    let with_poison = batch(&message, &[second, "not an event".into(), "{}".into()]);
    // The same batch twice, as SQS redelivers it after a partial failure.
    for _ in 0..2 {
        let failed = failed_ids(&app, "AuditFunction", with_poison.clone()).await;
        assert_eq!(failed, ["m1", "m2"]);
    }

    let trail = app.store.list_audit(ORDER, 10, None).await.unwrap();
    let ids: Vec<&str> = trail.items.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "fixture-stream-record-1#OrderConfirmed",
            "record-2#OrderShipped"
        ]
    );
    assert_eq!(trail.items[0].event, event, "stored as delivered");

    let admin = app.admin_token().await;
    let path = format!("/admin/audit?entityId={ORDER}&limit=1");
    let page: Value = app
        .send(Method::GET, &path, Some(&admin), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["detailType"], "OrderConfirmed");
    let cursor = page["nextCursor"].as_str().expect("a second page");
    let next = format!("{path}&cursor={cursor}");
    let rest: Value = app
        .send(Method::GET, &next, Some(&admin), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["eventId"], "record-2#OrderShipped");

    let (_, customer) = app.user_token(Role::Customer).await;
    let refused = app.send(Method::GET, &path, Some(&customer), None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let missing = app
        .send(Method::GET, "/admin/audit", Some(&admin), None)
        .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_redelivered_event_counts_once_and_a_cancellation_takes_it_back() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (message, event) = fixture_event("sales-analytics");
    // The same batch twice, as SQS redelivers it after a partial failure: the poison fails alone
    // both times, and the confirmation counts once.
    let with_poison = batch(&message, &[event.to_string(), "not an event".into()]);
    for _ in 0..2 {
        let failed = failed_ids(&app, "SalesAnalyticsFunction", with_poison.clone()).await;
        assert_eq!(failed, ["m1"]);
    }
    // And the event alone once more, as a duplicate delivery.
    let failed = failed_ids(
        &app,
        "SalesAnalyticsFunction",
        batch(&message, &[event.to_string()]),
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let report = sales(&app, &admin, "2026-11-21", "2026-11-21").await;
    assert_eq!(report["items"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["items"][0]["orders"], 1);
    assert_eq!(report["items"][0]["units"], 2);
    assert_eq!(report["items"][0]["revenue"], 2598);
    assert_eq!(report["totals"]["EUR"]["revenue"], 2598);

    // Cancelled before it was confirmed: it never counted, so nothing changes.
    let unconfirmed = variant(
        &event,
        "record-3#OrderCancelled",
        json!({"status": "CANCELLED", "previousStatus": "PAID"}),
    );
    let cancelled = variant(
        &event,
        "record-4#OrderCancelled",
        json!({"status": "CANCELLED", "previousStatus": "CONFIRMED"}),
    );
    let failed = failed_ids(
        &app,
        "SalesAnalyticsFunction",
        batch(&message, &[unconfirmed]),
    )
    .await;
    assert!(failed.is_empty());
    assert_eq!(
        sales(&app, &admin, "2026-11-21", "2026-11-21").await["items"][0]["orders"],
        1
    );
    for _ in 0..2 {
        let failed = failed_ids(
            &app,
            "SalesAnalyticsFunction",
            batch(&message, std::slice::from_ref(&cancelled)),
        )
        .await;
        assert!(failed.is_empty());
    }
    let report = sales(&app, &admin, "2026-11-20", "2026-11-22").await;
    assert_eq!(report["items"], json!([]), "{report}");

    let backwards = app
        .send(
            Method::GET,
            "/admin/reports/sales?from=2026-11-22&to=2026-11-21",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(backwards.status(), StatusCode::BAD_REQUEST);
    let too_long = app
        .send(
            Method::GET,
            "/admin/reports/sales?from=2026-01-01&to=2026-12-31",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue_and_its_batch_is_applied() {
    let app = TestApp::start_stack(impatient_audit_queue()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let queue = &app.stack.queues["AuditQueue"].url;
    let (_, event) = fixture_event("audit");
    let good = variant(
        &event,
        "record-5#OrderConfirmed",
        json!({"orderId": "01HZX3N5Q8V2K7M4R9T6W1Y0AF"}),
    );
    for body in ["not an event", good.as_str()] {
        sqs.send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let dead_letters = &app.stack.queues["AuditDeadLetterQueue"].url;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let received = sqs
            .receive_message()
            .queue_url(dead_letters)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            break message.body().unwrap_or_default().to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing reached the dead-letter queue"
        );
    };
    assert_eq!(dead, "not an event");
    let trail = app
        .store
        .list_audit("01HZX3N5Q8V2K7M4R9T6W1Y0AF", 10, None)
        .await
        .unwrap();
    assert_eq!(trail.items.len(), 1, "the good message was applied once");
}

/// The other consumers, each with its queue, its fixture and its function's description line.
const CONSUMERS: [(&str, &str, &str); 3] = [
    (
        "SalesAnalytics",
        "sales-analytics",
        "Adds confirmed orders to their day's sales figures",
    ),
    (
        "OrderNotifications",
        "notify",
        "Tells customers about their orders, stored once",
    ),
    (
        "StockAlerts",
        "stock-alerts",
        "Opens a product's stock alert when its stock runs low",
    ),
];

/// Each of CONSUMERS' queues retries a failed message every 3 s and gives up after two receives.
fn impatient_consumer_queues() -> StackOptions {
    let mut options = StackOptions::default();
    for (queue, _, description) in CONSUMERS {
        let redrive = |visibility: u32, receives: u32| {
            format!("      VisibilityTimeout: {visibility}\n      MessageRetentionPeriod: 345600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt {queue}DeadLetterQueue.Arn\n        maxReceiveCount: {receives}")
        };
        let described = format!("      Description: {description}");
        options = options
            .edit(&redrive(90, 5), &redrive(3, 2))
            .edit(&described, &format!("      Timeout: 3\n{described}"));
    }
    options
}

#[tokio::test]
async fn every_consumer_sends_poison_to_its_dead_letter_queue_and_applies_the_rest() {
    let app = TestApp::start_stack(impatient_consumer_queues()).await;
    store_fixture_data(&app.store).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    for (queue, fixture, _) in CONSUMERS {
        let (_, good) = fixture_event(fixture);
        let url = &app.stack.queues[&format!("{queue}Queue")].url;
        for body in ["not an event".to_owned(), good.to_string()] {
            let sent = sqs.send_message().queue_url(url).message_body(body);
            sent.send().await.unwrap();
        }
    }
    for (queue, _, _) in CONSUMERS {
        let source = &app.stack.queues[&format!("{queue}Queue")].url;
        let dead_letters = &app.stack.queues[&format!("{queue}DeadLetterQueue")].url;
        // Every message has left the queue: deleted once applied, or moved after its receives.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while depth(&sqs, source).await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{queue} never emptied"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let dead = drain(&sqs, dead_letters).await;
        let bodies: Vec<_> = dead.iter().map(|m| m.body().unwrap_or_default()).collect();
        assert_eq!(
            bodies,
            ["not an event"],
            "{queue}: the good message was applied"
        );
    }
}
