//! SQS offline: creates template.yaml's queues (with redrive) in moto, and plays Lambda's SQS event
//! source: batches of up to `BatchSize`, at most `MaximumConcurrency` at once, only the messages a
//! handler did not report as failed are deleted; failed ones come back after their visibility
//! timeout, and moto moves them to the dead-letter queue after `maxReceiveCount` receives.

use crate::provision::{failed, ProvisionError};
use crate::{sandbox::Deployed, Cause};
use aws_sdk_sqs::{
    types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName},
    Client,
};
use cartwheel_http::ErrorChain;
use cartwheel_template::QueueSpec;
use serde_json::json;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAddress {
    pub url: String,
    pub arn: String,
}

/// Queues are named `<stack>-<logical id>`; dead-letter queues are created before the queues that
/// redrive to them.
pub async fn create_queues(
    client: &Client,
    stack: &str,
    specs: &[QueueSpec],
) -> Result<HashMap<String, QueueAddress>, ProvisionError> {
    let mut ordered: Vec<&QueueSpec> = specs.iter().collect();
    ordered.sort_by_key(|q| q.dead_letter.is_some());
    let mut created: HashMap<String, QueueAddress> = HashMap::new();
    for spec in ordered {
        let name = format!("{stack}-{}", spec.logical_id);
        let mut request = client.create_queue().queue_name(&name).attributes(
            QueueAttributeName::VisibilityTimeout,
            spec.visibility_timeout_seconds.to_string(),
        );
        if let Some(dead_letter) = &spec.dead_letter {
            let target = created.get(&dead_letter.queue).ok_or_else(|| {
                ProvisionError::Unsupported(format!(
                    "{} redrives to {}, which is not a queue of the template",
                    spec.logical_id, dead_letter.queue
                ))
            })?;
            let policy = json!({"deadLetterTargetArn": target.arn, "maxReceiveCount": dead_letter.max_receive_count});
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = request
            .send()
            .await
            .map_err(|e| failed(format!("queue {name}"), e))?
            .queue_url
            .unwrap_or_default();
        let arn = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| failed(format!("queue {name}"), e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        created.insert(spec.logical_id.clone(), QueueAddress { url, arn });
    }
    Ok(created)
}

/// How long the oldest of `messages` waited in the queue, from its `SentTimestamp`.
fn oldest_age_seconds(messages: &[aws_sdk_sqs::types::Message]) -> f64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64;
    messages
        .iter()
        .filter_map(|m| {
            m.attributes()?
                .get(&MessageSystemAttributeName::SentTimestamp)
        })
        .filter_map(|sent| sent.parse::<f64>().ok())
        .map(|sent_ms| (now_ms - sent_ms).max(0.0) / 1000.0)
        .fold(0.0, f64::max)
}

/// Why a poller's round failed; it waits a second and polls again.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error("ReceiveMessage failed")]
    Receive(#[source] Cause),
    #[error("the SQS event does not parse")]
    Event(#[source] serde_json::Error),
    #[error("DeleteMessageBatch failed")]
    Delete(#[source] Cause),
}

/// How a queue feeds its function. `client` carries the function's role: in AWS the event source
/// mapping receives and deletes with it.
pub struct QueueConsumer {
    pub client: Client,
    pub queue: QueueAddress,
    pub function: Arc<Deployed>,
    pub batch_size: u32,
    pub region: String,
}

impl QueueConsumer {
    /// `workers` concurrent pollers, as Lambda scales an SQS event source up to its maximum.
    pub fn spawn(self, workers: u32) -> Vec<JoinHandle<()>> {
        let consumer = Arc::new(self);
        (0..workers.max(1))
            .map(|_| tokio::spawn(Arc::clone(&consumer).poll()))
            .collect()
    }

    async fn poll(self: Arc<Self>) {
        loop {
            if let Err(error) = self.deliver_one_batch().await {
                tracing::warn!(queue = %self.queue.url, error = %ErrorChain(&error), "polling the queue failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn deliver_one_batch(&self) -> Result<(), PollError> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(i32::try_from(self.batch_size.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| PollError::Receive(e.into()))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        queue_age(&self.queue, oldest_age_seconds(&messages));
        let records: Vec<_> = messages
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect();
                json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "md5OfBody": m.md5_of_body, "attributes": attributes, "messageAttributes": {},
                    "eventSource": "aws:sqs", "eventSourceARN": self.queue.arn, "awsRegion": self.region,
                })
            })
            .collect();
        let event =
            serde_json::from_value(json!({ "Records": records })).map_err(PollError::Event)?;
        // A failed invocation deletes nothing: every message comes back after its visibility timeout.
        let Ok(response) = self.function.queue(event).await else {
            return Ok(());
        };
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(&m.message_id.as_deref().unwrap_or_default()))
            .filter_map(|(slot, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(slot.to_string())
                    .receipt_handle(m.receipt_handle.clone()?)
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            self.client
                .delete_message_batch()
                .queue_url(&self.queue.url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| PollError::Delete(e.into()))?;
        }
        Ok(())
    }
}

/// A queue's name, the `QueueName` dimension: the last part of its URL.
pub fn queue_name(queue: &QueueAddress) -> &str {
    queue.url.rsplit('/').next().unwrap_or_default()
}

/// `ApproximateAgeOfOldestMessage`, in seconds, as a consumer saw it when it received a batch.
pub fn queue_age(queue: &QueueAddress, seconds: f64) {
    let dimensions = [("QueueName", queue_name(queue))];
    crate::metrics::observe(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        aws_sdk_cloudwatch::types::StandardUnit::Seconds,
        seconds,
        &dimensions,
    );
}
