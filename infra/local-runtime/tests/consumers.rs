//! The event consumers: an event applied once however often it is delivered, a poison message
//! in the dead-letter queue without holding up its batch, and the figures they keep.

mod support;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use cartwheel_domain::{OrderId, Role};
use cartwheel_store::{GetOrder, ListAudit};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::{collections::BTreeMap, time::Duration};
use support::{
    checkout::{place_lines, wait_for_outcomes},
    fixtures::{fixture, ORDER},
    sdk_config, StackOptions, TestApp,
};

/// The fixture's one event as the bus delivered it.
fn fixture_event(binary: &str) -> (SqsMessage, Value) {
    let batch: SqsEvent = serde_json::from_str(&fixture(binary)).unwrap();
    let message = batch.records[0].clone();
    let event = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
    (message, event)
}

/// A batch of `bodies`, message ids `m0`, `m1`, ...
fn batch(template: &SqsMessage, bodies: &[String]) -> SqsEvent {
    let mut batch = SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut message = template.clone();
        message.message_id = Some(format!("m{i}"));
        message.body = Some(body.clone());
        batch.records.push(message);
    }
    batch
}

/// `event` as another event of the same kind: a new id, and `detail` merged over its detail.
fn variant(event: &Value, id: &str, detail: Value) -> String {
    let mut event = event.clone();
    event["detail"]["eventId"] = json!(id);
    for (name, value) in detail.as_object().unwrap() {
        event["detail"][name] = value.clone();
    }
    event.to_string()
}

async fn failed_ids(app: &TestApp, function: &str, batch: SqsEvent) -> Vec<String> {
    let response = app.function(function).queue(batch).await.unwrap();
    assert_eq!(app.function(function).sandbox.principal.denials(), vec![]);
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

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

async fn sales(app: &TestApp, admin: &str, from: &str, to: &str) -> Value {
    let path = format!("/admin/reports/sales?from={from}&to={to}");
    let response = app.send(Method::GET, &path, Some(admin), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_redelivered_event_counts_once_and_a_cancellation_takes_it_back() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let (message, event) = fixture_event("sales-analytics");
    for _ in 0..2 {
        let failed = failed_ids(
            &app,
            "SalesAnalyticsFunction",
            batch(&message, &[event.to_string()]),
        )
        .await;
        assert!(failed.is_empty(), "{failed:?}");
    }
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

/// The audit queue retries a failed message every 2 s and gives up after two receives.
fn impatient_audit_queue() -> StackOptions {
    StackOptions::default()
        .edit(
            "      VisibilityTimeout: 90\n      MessageRetentionPeriod: 345600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt AuditDeadLetterQueue.Arn\n        maxReceiveCount: 5",
            "      VisibilityTimeout: 2\n      MessageRetentionPeriod: 345600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt AuditDeadLetterQueue.Arn\n        maxReceiveCount: 2",
        )
        // A queue's visibility timeout may not be below its consumer's timeout in AWS.
        .edit(
            "      Description: Appends every domain event",
            "      Timeout: 1\n      Description: Appends every domain event",
        )
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

type Figures = BTreeMap<(String, String), (i64, i64, i64)>;

/// What the report should say: every order in the table that is a sale, line by line.
async fn figures_from_the_table(app: &TestApp, orders: &[OrderId]) -> Figures {
    let mut figures = Figures::new();
    for id in orders {
        let order = app.store.get_order(*id).await.unwrap().unwrap();
        if !order.status.is_sale() {
            continue;
        }
        for line in &order.lines {
            let key = (
                line.product_id.to_string(),
                line.line_total.currency.to_string(),
            );
            let entry = figures.entry(key).or_default();
            entry.0 += 1;
            entry.1 += line.quantity.units();
            entry.2 += line.line_total.amount;
        }
    }
    figures
}

fn figures_of(report: &Value) -> Figures {
    let mut figures = Figures::new();
    for item in report["items"].as_array().unwrap() {
        let key = (
            item["productId"].as_str().unwrap().into(),
            item["currency"].as_str().unwrap().into(),
        );
        let entry = figures.entry(key).or_default();
        entry.0 += item["orders"].as_i64().unwrap();
        entry.1 += item["units"].as_i64().unwrap();
        entry.2 += item["revenue"].as_i64().unwrap();
    }
    figures
}

#[tokio::test]
async fn after_a_day_of_orders_and_cancellations_the_report_equals_the_table() {
    let app = TestApp::start_stack(StackOptions::default()).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "DAY-MUG", "Mug", "kitchen", 1250)
        .await;
    let pan = app
        .create_product(&admin, "DAY-PAN", "Pan", "kitchen", 3999)
        .await;
    let (mug, pan) = (mug["id"].as_str().unwrap(), pan["id"].as_str().unwrap());
    let mut orders = Vec::new();
    for (i, payment) in [
        "tok_visa",
        "tok_visa",
        "tok_chargeDeclined",
        "tok_visa",
        "tok_mastercard",
        "tok_visa",
    ]
    .into_iter()
    .enumerate()
    {
        let (_, customer) = app.user_token(Role::Customer).await;
        let lines: Vec<(&str, i64)> = match i % 3 {
            0 => vec![(mug, 2)],
            1 => vec![(mug, 1), (pan, 1)],
            _ => vec![(pan, 3)],
        };
        let key = ulid::Ulid::new().to_string();
        orders.push((
            place_lines(&app, &customer, &lines, payment, &key).await,
            customer,
        ));
    }
    let ids: Vec<OrderId> = orders.iter().map(|(id, _)| *id).collect();
    wait_for_outcomes(&app, &ids, Duration::from_secs(60)).await;
    // Two confirmed orders are cancelled: refunded, and taken back out of the figures.
    for (id, customer) in orders.iter().filter(|(i, _)| [ids[0], ids[4]].contains(i)) {
        let cancelled = app
            .send(
                Method::POST,
                &format!("/orders/{id}/cancel"),
                Some(customer),
                None,
            )
            .await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    }

    let expected = figures_from_the_table(&app, &ids).await;
    assert!(!expected.is_empty());
    // Yesterday too: a run just after midnight UTC has its confirmations on the day before.
    let now = cartwheel_domain::Timestamp::now();
    let from = now.minus(Duration::from_secs(86_400)).utc_day().to_string();
    let to = now.utc_day().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let report = sales(&app, &admin, &from, &to).await;
        if figures_of(&report) == expected {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "report {report} never became {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
