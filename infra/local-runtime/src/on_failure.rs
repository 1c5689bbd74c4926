//! A stream mapping's on-failure destination, as Lambda feeds it: when a batch's retries run out,
//! the queue gets a description of the batch (its shard and sequence numbers), never the records,
//! sent with the function's own role. The records stay in the stream until they expire.

use crate::Cause;
use serde_json::{json, Value};

/// The destination's queue refused the batch's record (SendMessage failed).
#[derive(Debug, thiserror::Error)]
#[error("SendMessage to the on-failure destination {queue_url} failed")]
pub struct ReportError {
    pub queue_url: String,
    #[source]
    pub source: Cause,
}

pub struct FailureDestination {
    /// The function's sandboxed client: Lambda sends with the execution role.
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub function_arn: String,
}

/// The batch Lambda gave up on.
pub struct FailedBatch<'a> {
    pub stream_arn: &'a str,
    pub shard_id: &'a str,
    pub records: &'a [Value],
    pub invocations: u32,
}

impl FailureDestination {
    pub async fn report(&self, batch: &FailedBatch<'_>) -> Result<(), ReportError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(invocation_record(&self.function_arn, batch).to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ReportError {
                queue_url: self.queue_url.clone(),
                source: e.into(),
            })
    }
}

fn arrival(record: Option<&Value>) -> Value {
    let seconds = record.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_i64());
    seconds
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

/// Lambda's invocation record for a stream batch whose retries ran out.
fn invocation_record(function_arn: &str, batch: &FailedBatch<'_>) -> Value {
    let sequence = |record: Option<&Value>| record.map(|r| r["dynamodb"]["SequenceNumber"].clone());
    let (first, last) = (batch.records.first(), batch.records.last());
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "requestContext": {
            "requestId": ulid::Ulid::new().to_string(),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": batch.invocations,
        },
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST" },
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": batch.shard_id,
            "startSequenceNumber": sequence(first),
            "endSequenceNumber": sequence(last),
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": batch.records.len(),
            "streamArn": batch.stream_arn,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_destination_gets_where_the_batch_is_not_what_it_holds() {
        let records = [
            json!({"dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 0, "NewImage": {"secret": {"S": "x"}}}}),
            json!({"dynamodb": {"SequenceNumber": "200", "ApproximateCreationDateTime": 60}}),
        ];
        let batch = FailedBatch {
            stream_arn: "arn:s/stream/1",
            shard_id: "shard-1",
            records: &records,
            invocations: 3,
        };
        let record = invocation_record("arn:f", &batch);
        let info = &record["DDBStreamBatchInfo"];
        assert_eq!(info["startSequenceNumber"], "100");
        assert_eq!(info["endSequenceNumber"], "200");
        assert_eq!(info["batchSize"], 2);
        assert_eq!(info["shardId"], "shard-1");
        assert_eq!(
            info["approximateArrivalOfLastRecord"],
            "1970-01-01T00:01:00Z"
        );
        assert_eq!(
            record["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert!(!record.to_string().contains("NewImage"));
    }
}
