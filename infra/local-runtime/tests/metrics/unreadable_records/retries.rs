//! Lambda's retry of a stream batch: only a record whose dead letter SQS did not take fails its
//! batch, and a dead letter behind an unpublished record is sent once, by the retry.

use super::{
    dead_letters::drain,
    items::{confirmed_order, raw_item},
};
use crate::support::{self, sdk_config, StackOptions, TestApp};
use cartwheel_domain::Role;
use cartwheel_functions::{publish::publish_events, unreadable::UnreadableChanges};
use serde_json::Value;
use std::time::Duration;

/// Only a record whose dead letter SQS did not take is reported failed, for Lambda to retry.
#[tokio::test]
async fn an_unreadable_record_that_cannot_be_dead_lettered_fails_its_batch_from_there() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let sdk = sdk_config().await;
    let publisher = cartwheel_events::Publisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        app.stack.bus.clone().unwrap(),
    );
    let record = |sequence: &str, status: &str| {
        serde_json::json!({"eventID": format!("e{sequence}"), "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"PK": {"S": format!("ORDER#{sequence}")}, "SK": {"S": "ORDER"}},
            "NewImage": {"status": {"S": status}}, "SequenceNumber": sequence, "SizeBytes": 1}})
    };
    let batch = || {
        serde_json::from_value(
            serde_json::json!({"Records": [record("100", "ON_HOLD"), record("200", "LOST")]}),
        )
        .unwrap()
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = &app.stack.queues["UnreadableChangesQueue"].url;

    let dead_letters = UnreadableChanges::new(sqs.clone(), queue.clone());
    let response = publish_events(&publisher, &dead_letters, batch()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(drain(&sqs, queue, 2).await.len(), 2);

    let nowhere = UnreadableChanges::new(sqs.clone(), format!("{queue}-missing"));
    let response = publish_events(&publisher, &nowhere, batch()).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["100", "200"]);
}

/// Lambda retries a batch from its first failed record, so a dead letter behind a record whose
/// events were not published waits for that retry: sent at once, it was sent twice.
#[tokio::test]
async fn an_unreadable_record_behind_an_unpublished_one_is_dead_lettered_once_by_the_retry() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let sdk = sdk_config().await;
    let bus = app.stack.bus.clone().unwrap();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let publisher = cartwheel_events::Publisher::new(events.clone(), bus.clone());
    let no_bus = cartwheel_events::Publisher::new(events, format!("{bus}-missing"));
    let dynamodb = aws_sdk_dynamodb::Client::new(&app.sdk);
    let (customer, _) = app.user_token(Role::Customer).await;
    let product = support::product(&app.store, "BEHIND", 5).await;
    let order = confirmed_order(&app.store, customer, &product).await;
    let pk = format!("ORDER#{}", order.id.placement());
    let image = raw_item(&dynamodb, &app.stack.name, &pk, "ORDER").await;
    let image = serde_json::to_value(serde_dynamo::Item::from(image)).unwrap();
    let record = |sequence: &str, new_image: Value| {
        serde_json::json!({"eventID": format!("e{sequence}"), "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"PK": {"S": format!("ORDER#{sequence}")}, "SK": {"S": "ORDER"}},
            "NewImage": new_image, "SequenceNumber": sequence, "SizeBytes": 1}})
    };
    let on_hold = serde_json::json!({"status": {"S": "ON_HOLD"}});
    let records = [
        record("100", on_hold.clone()),
        record("200", image),
        record("300", on_hold),
    ];
    let batch = |from: usize| {
        serde_json::from_value(serde_json::json!({"Records": records[from..].to_vec()})).unwrap()
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = &app.stack.queues["UnreadableChangesQueue"].url;
    let dead_letters = UnreadableChanges::new(sqs.clone(), queue.clone());

    // The bus is gone: 200's event is not published; 100 is behind nothing, 300 is behind 200.
    let response = publish_events(&no_bus, &dead_letters, batch(0)).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["200"]);
    // Lambda's retry, from 200, with the bus back.
    let response = publish_events(&publisher, &dead_letters, batch(1)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let letters = drain(&sqs, queue, 2).await;
    let mut ids: Vec<&str> = letters
        .iter()
        .filter_map(|l| l["eventID"].as_str())
        .collect();
    ids.sort_unstable();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let more = drain(&sqs, queue, 0).await;
    assert_eq!(ids, ["e100", "e300"], "each once; then {more:?}");
    assert!(more.is_empty(), "no second dead letter: {more:?}");
}
