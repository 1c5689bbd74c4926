//! Where the publisher puts a stream record whose item this code cannot decode (written by a
//! migration, an operator, a benchmark, or a later version with a status this one does not know).
//! Such a record fails the same way on every retry, so failing its batch would only hold every
//! change behind it in the shard until Lambda's retries ran out. It goes to a queue of its own,
//! with what an operator needs to find the item and why it was refused, and the batch moves on.

use aws_lambda_events::dynamodb::EventRecord;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde_json::{json, Value};

/// SendMessageBatch takes at most this many messages.
const MESSAGES_PER_CALL: usize = 10;
/// A decode error can quote the offending value, and an attribute may hold 400 KB; SQS takes at
/// most 256 KB per batch call. The start of the error says what was wrong.
const ERROR_CHARS: usize = 1000;

pub struct UnreadableChanges {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// The dead letter of one record: where the item is (its keys, in DynamoDB JSON, ready for a
/// GetItem), which change of it this was, and why it did not decode. Not the item itself.
pub fn dead_letter(record: &EventRecord, error: &str) -> Value {
    let error: String = error.chars().take(ERROR_CHARS).collect();
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name,
        "eventSourceARN": record.event_source_arn,
        "sequenceNumber": record.change.sequence_number,
        "approximateCreationDateTime": record.change.approximate_creation_date_time.timestamp(),
        "keys": record.change.keys,
        "error": error,
    })
}

impl UnreadableChanges {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Sends each `(position, dead letter)`; answers the positions SQS did not take.
    pub async fn send(&self, letters: &[(usize, Value)]) -> Vec<usize> {
        let mut refused = Vec::new();
        for chunk in letters.chunks(MESSAGES_PER_CALL) {
            let entries = chunk.iter().map(|(position, letter)| {
                SendMessageBatchRequestEntry::builder()
                    .id(position.to_string())
                    .message_body(letter.to_string())
                    .build()
            });
            let entries = match entries.collect::<Result<Vec<_>, _>>() {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::error!(%error, "a dead letter could not be built");
                    refused.extend(chunk.iter().map(|(position, _)| *position));
                    continue;
                }
            };
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match sent {
                Ok(sent) => {
                    for failure in sent.failed {
                        tracing::error!(code = %failure.code, message = ?failure.message, "a dead letter was refused");
                        refused.extend(failure.id.parse::<usize>());
                    }
                }
                Err(error) => {
                    let error = aws_sdk_sqs::error::DisplayErrorContext(&error);
                    tracing::error!(%error, "the unreadable changes' queue refused a batch");
                    refused.extend(chunk.iter().map(|(position, _)| *position));
                }
            }
        }
        refused
    }
}
