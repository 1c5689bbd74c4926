//! The event consumers: an event applied once however often it is delivered, a poison message
//! in the dead-letter queue without holding up its batch, and the figures they keep.

use crate::support;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use cartwheel_domain::{OrderId, Role};
use cartwheel_store::{GetOrder, ListAudit};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::{collections::BTreeMap, time::Duration};
use support::{
    checkout::{place_lines, wait_for_outcomes},
    fixtures::{fixture, store_fixture_data, ORDER},
    recent_sales, sales, sales_applied, sdk_config, StackOptions, TestApp,
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
    // Every order but the declined card's was confirmed and counted, and both cancellations took
    // theirs back: only then is the report final.
    let confirmed = ids.len() as i32 - 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while (
        sales_applied(&app, "OrderConfirmed").await,
        sales_applied(&app, "OrderCancelled").await,
    ) != (confirmed, 2)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sales consumer never applied every event"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = recent_sales(&app, &admin).await;
    assert_eq!(figures_of(&report), expected, "{report}");
}

/// How many messages `queue` holds, visible or being received.
async fn depth(sqs: &aws_sdk_sqs::Client, queue: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(Name::ApproximateNumberOfMessages)
        .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let count = |name: Name| -> usize { attributes.attributes().unwrap()[&name].parse().unwrap() };
    count(Name::ApproximateNumberOfMessages) + count(Name::ApproximateNumberOfMessagesNotVisible)
}

/// Receives (and deletes) every message of `queue` until a receive finds none.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in &messages {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        all.extend(messages);
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    create.send().await.unwrap().queue_url.unwrap()
}

#[tokio::test]
async fn a_redrive_moves_the_dead_letters_back_and_the_consumer_applies_them_once() {
    let app = TestApp::start_stack(impatient_audit_queue()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let dead_letters = &app.stack.queues["AuditDeadLetterQueue"].url;
    let (_, event) = fixture_event("audit");
    let orders = [
        "01HZX3N5Q8V2K7M4R9T6W1Y0B1",
        "01HZX3N5Q8V2K7M4R9T6W1Y0B2",
        "01HZX3N5Q8V2K7M4R9T6W1Y0B3",
    ];
    // What a broken consumer left behind: three good events and one that never will be.
    let mut bodies: Vec<String> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            variant(
                &event,
                &format!("redrive-{i}#OrderConfirmed"),
                json!({"orderId": order}),
            )
        })
        .collect();
    bodies.push("not an event".into());
    for body in &bodies {
        sqs.send_message()
            .queue_url(dead_letters)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    // By name, as an operator types it; the source is found from the redrive policies.
    let name = format!("{}-AuditDeadLetterQueue", app.stack.name);
    let mut batches = Vec::new();
    let redriven = cartwheel_local::ops::redrive(&sqs, &name, None, |batch, total| {
        batches.push((batch, total))
    })
    .await
    .unwrap();
    assert_eq!(redriven.source, app.stack.queues["AuditQueue"].url);
    assert_eq!(redriven.moved, 4);
    assert_eq!(batches, [(4, 4)]);
    assert_eq!(
        depth(&sqs, dead_letters).await,
        0,
        "the dead-letter queue is empty"
    );

    // The good events are applied, once each...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (i, order) in orders.iter().enumerate() {
        loop {
            let trail = app.store.list_audit(order, 10, None).await.unwrap();
            if !trail.items.is_empty() {
                let ids: Vec<&str> = trail.items.iter().map(|r| r.event_id.as_str()).collect();
                assert_eq!(ids, [format!("redrive-{i}#OrderConfirmed")]);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{order} was never audited"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // ...and the poison fails its receives again and is back, alone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let back = loop {
        let messages = drain(&sqs, dead_letters).await;
        if !messages.is_empty() {
            break messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison never came back"
        );
    };
    let back: Vec<&str> = back.iter().filter_map(|m| m.body()).collect();
    assert_eq!(back, ["not an event"]);
    for order in orders {
        let trail = app.store.list_audit(order, 10, None).await.unwrap();
        assert_eq!(trail.items.len(), 1, "{order} audited once");
    }
}

#[tokio::test]
async fn a_redrive_keeps_bodies_attributes_and_fifo_groups_and_needs_one_source() {
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let prefix = format!("ops-{}", ulid::Ulid::new()).to_lowercase();
    let dead_letters = create_queue(&sqs, &format!("{prefix}-dlq")).await;
    let target = create_queue(&sqs, &format!("{prefix}-target")).await;
    for i in 0..12 {
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(format!("kind-{i}"))
            .build()
            .unwrap();
        sqs.send_message()
            .queue_url(&dead_letters)
            .message_body(format!("message {i}"))
            .message_attributes("kind", kind)
            .send()
            .await
            .unwrap();
    }
    // No queue names this one as its dead-letter queue: the operator must say where to.
    let refused = cartwheel_local::ops::redrive(&sqs, &dead_letters, None, |_, _| {}).await;
    assert!(
        matches!(
            refused,
            Err(cartwheel_local::ops::RedriveError::NoSource { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(depth(&sqs, &dead_letters).await, 12, "nothing moved");

    let mut batches = Vec::new();
    let redriven = cartwheel_local::ops::redrive(&sqs, &dead_letters, Some(&target), |b, t| {
        batches.push((b, t))
    })
    .await
    .unwrap();
    assert_eq!(redriven.moved, 12);
    assert_eq!(batches, [(10, 10), (2, 12)]);
    assert_eq!(depth(&sqs, &dead_letters).await, 0);
    let mut moved: Vec<(String, String)> = drain(&sqs, &target)
        .await
        .iter()
        .map(|m| {
            let kind = m.message_attributes().unwrap()["kind"].string_value();
            (m.body().unwrap().to_owned(), kind.unwrap().to_owned())
        })
        .collect();
    moved.sort();
    let mut sent: Vec<(String, String)> = (0..12)
        .map(|i| (format!("message {i}"), format!("kind-{i}")))
        .collect();
    sent.sort();
    assert_eq!(moved, sent, "the same bodies and attributes, each once");

    // FIFO: each message back in its group, in order, however often it has been moved.
    let fifo_dead_letters = create_queue(&sqs, &format!("{prefix}-dlq.fifo")).await;
    let fifo_target = create_queue(&sqs, &format!("{prefix}-target.fifo")).await;
    let sent = [("a", "a1"), ("b", "b1"), ("a", "a2")];
    for (group, body) in sent {
        sqs.send_message()
            .queue_url(&fifo_dead_letters)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(body)
            .send()
            .await
            .unwrap();
    }
    let redriven =
        cartwheel_local::ops::redrive(&sqs, &fifo_dead_letters, Some(&fifo_target), |_, _| {})
            .await
            .unwrap();
    assert_eq!(redriven.moved, 3);
    let moved: Vec<(String, String)> = drain(&sqs, &fifo_target)
        .await
        .iter()
        .map(|m| {
            let group = &m.attributes().unwrap()[&MessageSystemAttributeName::MessageGroupId];
            (group.clone(), m.body().unwrap().to_owned())
        })
        .collect();
    let in_group = |wanted: &str| -> Vec<String> {
        moved
            .iter()
            .filter(|(g, _)| g == wanted)
            .map(|(_, b)| b.clone())
            .collect()
    };
    assert_eq!(in_group("a"), ["a1", "a2"]);
    assert_eq!(in_group("b"), ["b1"]);
}

/// The consumers' queues: empty once every delivered event has been handled.
const CONSUMER_QUEUES: [&str; 5] = [
    "AuditQueue",
    "SalesAnalyticsQueue",
    "OrderNotificationsQueue",
    "StockAlertsQueue",
    "OrderUpdatesQueue",
];

/// The stack's bus and how many events its archive holds.
async fn archived(app: &TestApp, events: &aws_sdk_eventbridge::Client) -> (String, i64) {
    let bus = app.stack.bus.clone().unwrap();
    let arn = events
        .describe_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let listed = events
        .list_archives()
        .event_source_arn(arn)
        .send()
        .await
        .unwrap();
    (bus, listed.archives()[0].event_count())
}

/// Waits until the archive holds more than `more_than` events and nothing moves: for two seconds
/// the archive's count stays the same and every consumer's queue is empty. Answers the count.
async fn settle(
    app: &TestApp,
    sqs: &aws_sdk_sqs::Client,
    events: &aws_sdk_eventbridge::Client,
    more_than: i64,
) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (mut last, mut still) = (-1, 0);
    loop {
        let (_, count) = archived(app, events).await;
        let mut busy = 0;
        for queue in CONSUMER_QUEUES {
            busy += depth(sqs, &app.stack.queues[queue].url).await;
        }
        still = if busy == 0 && count == last {
            still + 1
        } else {
            0
        };
        if still == 2 && count > more_than {
            return count;
        }
        last = count;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stack never settled"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A rule of the test's own on the stack's bus, taking every domain event to a queue of its own:
/// what a replay delivers to the bus's rules, made visible. Answers the rule's ARN and the queue.
async fn probe(
    app: &TestApp,
    sqs: &aws_sdk_sqs::Client,
    events: &aws_sdk_eventbridge::Client,
    name: &str,
) -> (String, String) {
    let queue = create_queue(sqs, &format!("{}-{name}", app.stack.name)).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let bus = app.stack.bus.clone().unwrap();
    let rule = format!("{}-{name}", app.stack.name);
    let pattern = json!({"source": ["cartwheel.orders", "cartwheel.payments", "cartwheel.shipping", "cartwheel.catalog"]});
    let rule_arn = events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap()
        .rule_arn
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(name)
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (rule_arn, queue)
}

/// The events `queue` received, as JSON.
async fn delivered(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<Value> {
    drain(sqs, queue)
        .await
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

fn rfc3339(time: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn window(from: std::time::SystemTime, to: std::time::SystemTime) -> cartwheel_local::ops::Window {
    cartwheel_local::ops::Window::parse(&rfc3339(from), &rfc3339(to)).unwrap()
}

/// What the consumers made of the events: the audit trails, the customer's notifications and
/// unread count, the sales report.
async fn consumers_state(
    app: &TestApp,
    admin: &str,
    customer: &str,
    entities: &[String],
) -> (Vec<Vec<String>>, Value, Value) {
    let mut trails = Vec::new();
    for entity in entities {
        let trail = app.store.list_audit(entity, 100, None).await.unwrap();
        trails.push(trail.items.into_iter().map(|r| r.event_id).collect());
    }
    let notifications: Value = app
        .send(
            Method::GET,
            "/notifications?limit=100",
            Some(customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let report = recent_sales(app, admin).await;
    (trails, notifications, report)
}

#[tokio::test]
async fn a_replay_redelivers_every_event_and_the_consumers_do_nothing_twice() {
    let began = std::time::SystemTime::now() - Duration::from_secs(1);
    let (app, admin, mug, customer) =
        support::checkout::stack_with_product(StackOptions::default(), "REPLAY-MUG", 1250).await;
    let sdk = sdk_config().await;
    let (sqs, events) = (
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_eventbridge::Client::new(&sdk),
    );
    let mut orders = Vec::new();
    for _ in 0..2 {
        let key = ulid::Ulid::new().to_string();
        orders.push(place_lines(&app, &customer, &[(&mug, 1)], "tok_visa", &key).await);
    }
    let outcomes = wait_for_outcomes(&app, &orders, Duration::from_secs(30)).await;
    assert!(outcomes
        .values()
        .all(|s| *s == cartwheel_domain::OrderStatus::Confirmed));
    let archived_events = settle(&app, &sqs, &events, 0).await;
    let mut entities: Vec<String> = orders.iter().map(ToString::to_string).collect();
    entities.push(mug.clone());
    let before = consumers_state(&app, &admin, &customer, &entities).await;
    assert!(before.0.iter().all(|trail| !trail.is_empty()), "{before:?}");
    assert!(!before.1["items"].as_array().unwrap().is_empty());
    // Made now, so it sees only what the replay delivers.
    let (_, probe_queue) = probe(&app, &sqs, &events, "ReplayProbe").await;

    let request = cartwheel_local::ops::Replay {
        bus: app.stack.bus.clone().unwrap(),
        archive: None,
        window: window(began, std::time::SystemTime::now()),
        rules: Vec::new(),
    };
    let replayed = cartwheel_local::ops::replay(&events, &request)
        .await
        .unwrap();
    assert_eq!(replayed.state, "COMPLETED");

    // Every archived event went to the bus's rules again, marked as this replay's...
    let redelivered = delivered(&sqs, &probe_queue).await;
    assert_eq!(
        i64::try_from(redelivered.len()).unwrap(),
        archived_events,
        "{redelivered:?}"
    );
    assert!(redelivered
        .iter()
        .all(|e| e["replay-name"] == replayed.name.as_str()));
    let ids: Vec<&str> = redelivered
        .iter()
        .filter_map(|e| e["detail"]["eventId"].as_str())
        .collect();
    for trail in &before.0 {
        for id in trail {
            assert!(ids.contains(&id.as_str()), "{id} was not replayed");
        }
    }
    // ...and, once the consumers have handled their copies, nothing changed.
    assert_eq!(
        settle(&app, &sqs, &events, 0).await,
        archived_events,
        "a replay is not archived"
    );
    let after = consumers_state(&app, &admin, &customer, &entities).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_replay_delivers_only_its_window_and_only_to_the_rules_named() {
    let began = std::time::SystemTime::now() - Duration::from_secs(1);
    let app = TestApp::start_stack(StackOptions::default()).await;
    let admin = app.admin_token().await;
    let sdk = sdk_config().await;
    let (sqs, events) = (
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_eventbridge::Client::new(&sdk),
    );
    let first = app
        .create_product(&admin, "WINDOW-1", "First", "kitchen", 100)
        .await;
    let in_window = settle(&app, &sqs, &events, 0).await;
    let middle = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.create_product(&admin, "WINDOW-2", "Second", "kitchen", 200)
        .await;
    settle(&app, &sqs, &events, in_window).await;
    let (_, named_queue) = probe(&app, &sqs, &events, "NamedProbe").await;
    let (_, other_queue) = probe(&app, &sqs, &events, "OtherProbe").await;
    let bus = app.stack.bus.clone().unwrap();

    // An hour before anything happened: nothing.
    let hour = Duration::from_secs(3600);
    let request = cartwheel_local::ops::Replay {
        bus: bus.clone(),
        archive: None,
        window: window(began - 2 * hour, began - hour),
        rules: Vec::new(),
    };
    let replayed = cartwheel_local::ops::replay(&events, &request)
        .await
        .unwrap();
    assert_eq!(replayed.state, "COMPLETED");
    assert_eq!(delivered(&sqs, &named_queue).await, Vec::<Value>::new());
    assert_eq!(delivered(&sqs, &other_queue).await, Vec::<Value>::new());

    // Up to the middle, to one rule (by name): the first product's events, to it alone.
    let request = cartwheel_local::ops::Replay {
        bus,
        archive: None,
        window: window(began, middle),
        rules: vec![format!("{}-NamedProbe", app.stack.name)],
    };
    cartwheel_local::ops::replay(&events, &request)
        .await
        .unwrap();
    let redelivered = delivered(&sqs, &named_queue).await;
    assert_eq!(i64::try_from(redelivered.len()).unwrap(), in_window);
    assert!(
        redelivered
            .iter()
            .all(|e| e["detail"]["productId"] == first["id"]),
        "{redelivered:?}"
    );
    assert_eq!(delivered(&sqs, &other_queue).await, Vec::<Value>::new());
}
