//! SQS events made from the `sam local invoke` fixtures and handed to a consumer directly, and
//! the audit queue that gives up quickly.

use crate::support::{fixtures::fixture, StackOptions, TestApp};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};

/// The fixture's one event as the bus delivered it.
pub(super) fn fixture_event(binary: &str) -> (SqsMessage, Value) {
    let batch: SqsEvent = serde_json::from_str(&fixture(binary)).unwrap();
    let message = batch.records[0].clone();
    let event = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
    (message, event)
}

/// A batch of `bodies`, message ids `m0`, `m1`, ...
pub(super) fn batch(template: &SqsMessage, bodies: &[String]) -> SqsEvent {
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
pub(super) fn variant(event: &Value, id: &str, detail: Value) -> String {
    let mut event = event.clone();
    event["detail"]["eventId"] = json!(id);
    for (name, value) in detail.as_object().unwrap() {
        event["detail"][name] = value.clone();
    }
    event.to_string()
}

pub(super) async fn failed_ids(app: &TestApp, function: &str, batch: SqsEvent) -> Vec<String> {
    let response = app.function(function).queue(batch).await.unwrap();
    assert_eq!(app.function(function).sandbox.principal.denials(), vec![]);
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// The audit queue retries a failed message every 2 s and gives up after two receives.
pub(super) fn impatient_audit_queue() -> StackOptions {
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
