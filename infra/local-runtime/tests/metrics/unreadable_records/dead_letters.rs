//! What the publisher made of the unreadable items: the dead letters it sent, each checked once
//! with its keys, and the `UnreadableRecords` it counted.

use super::items::Item;
use crate::support::{self, sdk_config};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::Value;
use std::{collections::BTreeSet, time::Duration};
use tokio::time::Instant;

/// The `UnreadableRecords` the publisher of `stack` counted, read back from moto's CloudWatch.
pub(super) async fn unreadable_counted(stack: &str) -> f64 {
    let client = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let by = [("service", stack), ("function", "PublishEventsFunction")];
    let namespace = cartwheel_telemetry::NAMESPACE;
    support::metric_series(&client, namespace, "UnreadableRecords", &by, "Sum")
        .await
        .iter()
        .sum()
}

/// Receives (and deletes) what `queue` holds until it has `at_least` messages and one more
/// receive finds none, or 60 s pass.
pub(super) async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, at_least: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() && (all.len() >= at_least || Instant::now() > deadline) {
            return all;
        }
        let mut deletes = Vec::new();
        for (slot, message) in messages.iter().enumerate() {
            let delete = DeleteMessageBatchRequestEntry::builder()
                .id(slot.to_string())
                .receipt_handle(message.receipt_handle().unwrap());
            deletes.push(delete.build().unwrap());
            all.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
        if !deletes.is_empty() {
            let delete = sqs.delete_message_batch().queue_url(queue);
            delete.set_entries(Some(deletes)).send().await.unwrap();
        }
    }
}

/// Every dead letter `queue` receives: each once, with its keys, its change and why.
pub(super) async fn assert_dead_letters(sqs: &aws_sdk_sqs::Client, queue: &str, items: &[Item]) {
    let expected: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["PK"].as_s().unwrap().clone(),
                i["SK"].as_s().unwrap().clone(),
            )
        })
        .collect();
    let letters = drain(sqs, queue, items.len()).await;
    let keys: Vec<(String, String)> = letters
        .iter()
        .map(|l| {
            (
                l["keys"]["PK"]["S"].to_string(),
                l["keys"]["SK"]["S"].to_string(),
            )
        })
        .map(|(pk, sk)| (pk.replace('"', ""), sk.replace('"', "")))
        .collect();
    assert_eq!(keys.len(), items.len(), "one dead letter per record");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), expected);
    for letter in &letters {
        assert_eq!(letter["eventName"], "INSERT", "{letter}");
        assert!(letter["sequenceNumber"].is_string(), "{letter}");
        assert!(letter["eventID"].is_string(), "{letter}");
        let error = letter["error"].as_str().unwrap_or_default();
        assert!(error.contains("does not decode"), "{letter}");
        let text = letter.to_string();
        assert!(
            !text.contains("tok_visa"),
            "the item itself is not sent: {text}"
        );
    }
}
