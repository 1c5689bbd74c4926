//! Replaying the bus's archive: every event delivered again, the consumers doing nothing twice,
//! and a replay keeping to its window and to the rules it names.

use super::queues::{create_queue, depth, drain};
use crate::support::{
    self,
    checkout::{place_lines, wait_for_outcomes},
    recent_sales, sdk_config, StackOptions, TestApp,
};
use cartwheel_store::ListAudit;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

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
