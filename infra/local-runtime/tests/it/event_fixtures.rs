//! The `sam local invoke` fixtures of the event-driven functions (queue, stream, schedule), run
//! through their handlers against a whole offline stack, as Lambda would deliver them.

use crate::support;

use cartwheel_domain::{OrderStatus, Timestamp};
use cartwheel_events::Publisher;
use cartwheel_functions::{publish::publish_events, unreadable::UnreadableChanges};
use cartwheel_local::sandbox::Failure;
use cartwheel_store::TransitionOrder;
use std::time::Duration;
use support::{
    fixtures::{fixture, store_fixture_data, ORDER},
    sdk_config, StackOptions, TestApp,
};

/// A stack whose own pipe and schedule stay out of the way, with the fixture data stored.
async fn quiet_stack() -> TestApp {
    stack_with_fixtures(StackOptions {
        play_pipes: false,
        schedule_every: Some(Duration::from_secs(3600)),
        ..StackOptions::default()
    })
    .await
}

/// A stack on which nothing consumes a queue: what a test hands to one stays there.
async fn still_stack() -> TestApp {
    stack_with_fixtures(StackOptions::api_only()).await
}

async fn stack_with_fixtures(options: StackOptions) -> TestApp {
    let app = TestApp::start_stack(options.edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "0""#,
    ))
    .await;
    store_fixture_data(&app.store).await;
    app
}

async fn executions_named(app: &TestApp, name: &str) -> usize {
    let sfn = aws_sdk_sfn::Client::new(&sdk_config().await);
    let arn = &app.stack.state_machines["CheckoutStateMachine"];
    let listed = sfn
        .list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap();
    listed.executions.iter().filter(|e| e.name == name).count()
}

#[tokio::test]
async fn a_repeated_hand_off_starts_one_execution() {
    let app = quiet_stack().await;
    for _ in 0..2 {
        let event = serde_json::from_str(&fixture("start-checkout")).unwrap();
        let response = app
            .function("StartCheckoutFunction")
            .queue(event)
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(executions_named(&app, ORDER).await, 1);
}

#[tokio::test]
async fn a_message_that_is_not_a_hand_off_is_reported_as_failed() {
    let app = quiet_stack().await;
    let event = fixture("start-checkout").replace(
        r#"{\"orderId\": \"01HZX3N5Q8V2K7M4R9T6W1Y0AE\"}"#,
        "not json",
    );
    let starter = app.function("StartCheckoutFunction");
    let response = starter
        .queue(serde_json::from_str(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        "8f3c2a1e-5b6d-4c7e-9f80-1a2b3c4d5e6f"
    );
}

/// On a still stack: with the order queue consumed, the requeued order's saga could move it out
/// of `PENDING` before the test cancels it (seen in CI, a `VersionConflict` on the cancel).
#[tokio::test]
async fn the_sweeper_requeues_pending_orders_and_only_those() {
    let app = still_stack().await;
    let scheduled: serde_json::Value =
        serde_json::from_str(&fixture("sweep-pending-orders")).unwrap();
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let sweeper = app.function("SweepPendingOrdersFunction");
    let report = sweeper.schedule(scheduled.clone()).await.unwrap().unwrap();
    assert_eq!(report.requeued, 1, "the fixture order is PENDING");
    let order = ORDER.parse().unwrap();
    app.store
        .transition_order(
            order,
            &[OrderStatus::Pending],
            OrderStatus::Cancelled,
            Timestamp::now(),
        )
        .await
        .unwrap();
    let report = sweeper.schedule(scheduled).await.unwrap().unwrap();
    assert_eq!(
        report.requeued, 0,
        "a cancelled order left the pending index"
    );
}

#[tokio::test]
async fn stream_records_become_events_on_the_bus_or_come_back_as_failures() {
    let app = quiet_stack().await;
    let event = serde_json::from_str(&fixture("publish-events")).unwrap();
    let publisher = app.function("PublishEventsFunction");
    let response = publisher.stream(event).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(publisher.sandbox.principal.denials(), vec![]);

    let sdk = sdk_config().await;
    let missing_bus = Publisher::new(aws_sdk_eventbridge::Client::new(&sdk), "no-such-bus");
    let dead_letters = UnreadableChanges::new(
        aws_sdk_sqs::Client::new(&sdk),
        &app.stack.queues["UnreadableChangesQueue"].url,
    );
    let event = serde_json::from_str(&fixture("publish-events")).unwrap();
    let response = publish_events(&missing_bus, &dead_letters, event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["111100000000000000000001"],
        "only the order record had an event to lose"
    );
}

#[tokio::test]
async fn a_function_not_given_a_setting_fails_and_names_it() {
    let app = TestApp::start_stack(StackOptions::api_only().edit(
        "          STATE_MACHINE_ARN: !Ref CheckoutStateMachine\n",
        "",
    ))
    .await;
    let event = serde_json::from_str(&fixture("start-checkout")).unwrap();
    let failure = app
        .function("StartCheckoutFunction")
        .queue(event)
        .await
        .expect_err("the cold start fails without STATE_MACHINE_ARN");
    assert!(matches!(failure, Failure::Init(_)), "{failure:?}");
    assert!(
        failure.to_string().contains("STATE_MACHINE_ARN"),
        "{failure}"
    );
}

/// A stream record the publisher never gets out, with `MaximumRetryAttempts: 0`: Lambda gives up
/// and tells the on-failure queue where the batch is (stream, shard, sequence numbers), not what it
/// holds; the mapping sends with the function's role.
#[tokio::test]
async fn a_batch_whose_retries_run_out_is_described_to_the_on_failure_queue() {
    let options = StackOptions {
        play_pipes: false,
        schedule_every: Some(Duration::from_secs(3600)),
        ..StackOptions::default()
    }
    .edit(
        "EVENT_BUS_NAME: !Ref EventBus",
        "EVENT_BUS_NAME: no-such-bus",
    )
    .edit(
        "MaximumRetryAttempts: 10\n      # What fails every retry",
        "MaximumRetryAttempts: 0\n      # What fails every retry",
    );
    let app = TestApp::start_stack(options).await;
    support::product(&app.store, "LOST-EVENT", 3).await;

    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let queue = &app.stack.queues["UnpublishedChangesQueue"].url;
    let mut body = None;
    for _ in 0..100 {
        let received = sqs.receive_message().queue_url(queue).send().await.unwrap();
        if let Some(message) = received.messages().first() {
            body = message.body().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = body.expect("the on-failure queue got the batch's description within 20 s");
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    let info = &record["DDBStreamBatchInfo"];
    assert!(
        info["streamArn"].as_str().unwrap().contains("/stream/"),
        "{info}"
    );
    assert!(info["startSequenceNumber"].is_string(), "{info}");
    assert!(info["endSequenceNumber"].is_string(), "{info}");
    // The product, its SKU claim and its category: one batch, described once.
    assert!(info["batchSize"].as_u64().unwrap() >= 1, "{info}");
    assert!(
        !body.contains("LOST-EVENT"),
        "the record itself is not sent: {body}"
    );
}
