//! The table's stream offline: each consumer (a pipe or a stream-triggered function) reads DynamoDB
//! Local's stream on its own, from the trim horizon, and gets the records as Lambda delivers them.

use crate::{
    on_failure::{FailedBatch, FailureDestination},
    pattern,
    queues::QueueAddress,
    sandbox::Deployed,
    stream_retries::{deliver, Outcome, RetryPolicy, StreamTarget},
    Cause,
};
use aws_sdk_dynamodbstreams::{
    types::{Record, ShardIteratorType},
    Client,
};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use cartwheel_http::ErrorChain;
use cartwheel_template::PipeSpec;
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;

/// How often an idle consumer looks for new records.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// How often a reader asks for the stream's shards (new ones appear rarely; records often).
const SHARD_REFRESH: Duration = Duration::from_secs(1);
/// The most records one GetRecords answers, which a pipe's poller asks for. The pipe's filter
/// passes about one record in twenty (a new order among every other write to the table), and
/// DynamoDB Local spends about 1.5 ms of CPU on a GetRecords call whatever its size: read 10 at a
/// time, the pipe spent that per order and fell minutes behind a 75 orders/s burst.
const PIPE_READ_LIMIT: u32 = 1000;

#[derive(Default)]
struct Shard {
    parent: Option<String>,
    iterator: Option<String>,
    /// The last record delivered, so a lost iterator resumes right after it.
    last_sequence: Option<String>,
    closed: bool,
}

/// One reader's position in every shard of the stream.
pub struct StreamReader {
    client: Client,
    stream_arn: String,
    region: String,
    shards: BTreeMap<String, Shard>,
    shards_listed: Option<Instant>,
    /// The shard the last batch came from.
    batch_shard: String,
}

/// Why a reader got no batch this time; it waits and reads again.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("DescribeStream failed")]
    Describe(#[source] Cause),
    #[error("GetShardIterator for shard {shard} failed")]
    Iterator {
        shard: String,
        #[source]
        source: Cause,
    },
    #[error("GetRecords from shard {shard} failed")]
    Records {
        shard: String,
        #[source]
        source: Cause,
    },
}

/// Why a pipe's batch did not reach its target queue; the pipe sends it again.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("a SendMessageBatch entry could not be built")]
    Build(#[source] Cause),
    #[error("SendMessageBatch failed")]
    Call(#[source] Cause),
    #[error("{count} refused: {code}")]
    Refused { count: usize, code: String },
}

impl StreamReader {
    /// A reader of `stream_arn` that reads with `client`, the SDK of the principal that reads it
    /// in AWS (the pipe's role, or the function's for its event source).
    pub fn new(client: Client, stream_arn: &str, region: &str) -> Self {
        Self {
            client,
            stream_arn: stream_arn.to_owned(),
            region: region.to_owned(),
            shards: BTreeMap::new(),
            shards_listed: None,
            batch_shard: String::new(),
        }
    }

    async fn discover_shards(&mut self) -> Result<(), ReadError> {
        if self
            .shards_listed
            .is_some_and(|at| at.elapsed() < SHARD_REFRESH)
        {
            return Ok(());
        }
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| ReadError::Describe(e.into()))?;
        self.shards_listed = Some(Instant::now());
        for shard in described
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id else { continue };
            self.shards.entry(id).or_insert_with(|| Shard {
                parent: shard.parent_shard_id,
                ..Shard::default()
            });
        }
        Ok(())
    }

    /// A shard is read once its parent (if this reader knows it) has been read to its end.
    fn readable(&self) -> Vec<String> {
        self.shards
            .iter()
            .filter(|(_, shard)| !shard.closed)
            .filter(|(_, shard)| {
                shard
                    .parent
                    .as_ref()
                    .and_then(|p| self.shards.get(p))
                    .is_none_or(|parent| parent.closed)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    async fn fresh_iterator(&self, shard: &str) -> Result<String, ReadError> {
        let last = self.shards.get(shard).and_then(|s| s.last_sequence.clone());
        let position = match last {
            Some(_) => ShardIteratorType::AfterSequenceNumber,
            None => ShardIteratorType::TrimHorizon,
        };
        self.client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(position)
            .set_sequence_number(last)
            .send()
            .await
            .map(|output| output.shard_iterator.unwrap_or_default())
            .map_err(|e| ReadError::Iterator {
                shard: shard.to_owned(),
                source: e.into(),
            })
    }

    /// Up to `limit` records in stream order, as Lambda's event records; empty when none are new.
    pub async fn next_batch(&mut self, limit: u32) -> Result<Vec<Value>, ReadError> {
        self.discover_shards().await?;
        for id in self.readable() {
            let iterator = match self.shards.get(&id).and_then(|s| s.iterator.clone()) {
                Some(iterator) => iterator,
                None => self.fresh_iterator(&id).await?,
            };
            let output = match self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
                .send()
                .await
            {
                Ok(output) => output,
                // Under load DynamoDB Local sometimes refuses an iterator (trimmed or expired);
                // a new one from the last delivered record loses and repeats nothing.
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_trimmed_data_access_exception() || s.is_expired_iterator_exception()
                    }) =>
                {
                    if let Some(shard) = self.shards.get_mut(&id) {
                        shard.iterator = None;
                    }
                    continue;
                }
                Err(e) => {
                    let source = e.into();
                    return Err(ReadError::Records { shard: id, source });
                }
            };
            if let Some(shard) = self.shards.get_mut(&id) {
                shard.closed = output.next_shard_iterator.is_none();
                shard.iterator = output.next_shard_iterator;
            }
            let records = output.records.unwrap_or_default();
            if let (Some(shard), Some(last)) = (self.shards.get_mut(&id), records.last()) {
                shard.last_sequence = last
                    .dynamodb
                    .as_ref()
                    .and_then(|c| c.sequence_number.clone());
            }
            if !records.is_empty() {
                self.batch_shard = id;
                return Ok(records.iter().map(|r| self.lambda_record(r)).collect());
            }
        }
        Ok(Vec::new())
    }

    fn lambda_record(&self, record: &Record) -> Value {
        let change = record.dynamodb.as_ref();
        let image = |item: Option<
            &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
        >| {
            item.map(|item| {
                serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap_or_default()
            })
        };
        json!({
            "eventID": record.event_id,
            "eventName": record.event_name.as_ref().map(|n| n.as_str()),
            "eventVersion": record.event_version,
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
            "dynamodb": {
                "ApproximateCreationDateTime": change
                    .and_then(|c| c.approximate_creation_date_time)
                    .map(|t| t.secs()),
                "Keys": image(change.and_then(|c| c.keys.as_ref())),
                "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
                "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
                "SequenceNumber": change.and_then(|c| c.sequence_number.clone()),
                "SizeBytes": change.and_then(|c| c.size_bytes).unwrap_or_default(),
                "StreamViewType": change.and_then(|c| c.stream_view_type.as_ref()).map(|v| v.as_str()),
            },
        })
    }
}

async fn next_or_wait(reader: &mut StreamReader, limit: u32) -> Vec<Value> {
    match reader.next_batch(limit).await {
        Ok(batch) if !batch.is_empty() => return batch,
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "reading the table's stream failed");
        }
    }
    tokio::time::sleep(IDLE_POLL).await;
    Vec::new()
}

/// Plays an `AWS::Pipes::Pipe`: matching records, rendered by the input template, go to the queue.
/// A batch the queue refuses is sent again until it is taken, as a pipe retries.
pub fn play_pipe(
    mut reader: StreamReader,
    pipe: PipeSpec,
    sqs: aws_sdk_sqs::Client,
    target: QueueAddress,
) -> Result<JoinHandle<()>, pattern::UnsupportedPattern> {
    pipe.filters.iter().try_for_each(pattern::check)?;
    Ok(tokio::spawn(async move {
        loop {
            let batch = next_or_wait(&mut reader, PIPE_READ_LIMIT).await;
            let bodies: Vec<String> = batch
                .iter()
                .filter(|r| {
                    pipe.filters.is_empty() || pipe.filters.iter().any(|f| pattern::matches(f, r))
                })
                .map(|r| match &pipe.input_template {
                    Some(template) => pattern::render(template, r),
                    None => r.to_string(),
                })
                .collect();
            // SendMessageBatch takes at most 10 messages.
            for chunk in bodies.chunks(10) {
                while let Err(error) = send_batch(&sqs, &target.url, chunk).await {
                    tracing::warn!(pipe = %pipe.logical_id, error = %ErrorChain(&error), "the pipe's target refused a batch; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }))
}

async fn send_batch(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    bodies: &[String],
) -> Result<(), SendError> {
    let entries = bodies
        .iter()
        .enumerate()
        .map(|(slot, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(slot.to_string())
                .message_body(body)
                .build()
                .map_err(|e| SendError::Build(e.into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sent = sqs
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| SendError::Call(e.into()))?;
    // Resending the whole batch may duplicate a message; the starter's execution name absorbs it.
    match sent.failed.first() {
        None => Ok(()),
        Some(failure) => Err(SendError::Refused {
            count: sent.failed.len(),
            code: failure.code.clone(),
        }),
    }
}

/// An event source mapping from the stream, as the template sets it.
pub struct StreamMapping {
    pub batch_size: u32,
    pub retries: RetryPolicy,
    pub on_failure: Option<FailureDestination>,
}

/// Plays an event source mapping from the stream: each batch goes to the function, and what it
/// fails is retried, split and given up on as Lambda does (`stream_retries`); then the reader
/// moves on to the records after it.
pub fn feed_function(
    mut reader: StreamReader,
    function: Arc<Deployed>,
    mapping: StreamMapping,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let batch = next_or_wait(&mut reader, mapping.batch_size).await;
            if batch.is_empty() {
                continue;
            }
            observe_iterator_age(&function, &batch);
            let target = MappedFunction {
                reader: &reader,
                function: &function,
                mapping: &mapping,
            };
            deliver(&target, mapping.retries, batch).await;
        }
    })
}

/// The function behind a stream mapping, and the destination told of what it never took.
struct MappedFunction<'a> {
    reader: &'a StreamReader,
    function: &'a Deployed,
    mapping: &'a StreamMapping,
}

impl StreamTarget for MappedFunction<'_> {
    async fn invoke(&self, records: &[Value]) -> Outcome {
        let event = match serde_json::from_value(json!({ "Records": records })) {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(function = %self.function.sandbox.function, %error, "a stream batch does not parse");
                return Outcome::Failed;
            }
        };
        match self.function.stream(event).await {
            Ok(response) => Outcome::Returned(
                response
                    .batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect(),
            ),
            Err(_) => Outcome::Failed,
        }
    }

    async fn give_up(&self, records: &[Value], invocations: u32) {
        let name = &self.function.sandbox.function;
        tracing::error!(function = %name, records = records.len(), invocations, "retries exhausted: skipping stream records");
        let Some(destination) = &self.mapping.on_failure else {
            return;
        };
        let failed = FailedBatch {
            stream_arn: &self.reader.stream_arn,
            shard_id: &self.reader.batch_shard,
            records,
            invocations,
        };
        if let Err(error) = destination.report(&failed).await {
            tracing::error!(function = %name, error = %ErrorChain(&error), "the on-failure destination refused the batch's record");
        }
    }
}

/// Lambda's `IteratorAge` for a stream mapping: how old the batch's last record is when the
/// function gets it.
fn observe_iterator_age(function: &Deployed, batch: &[Value]) {
    let Some(created) = batch
        .last()
        .and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
    else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let age_ms = ((now - created) * 1000.0).max(0.0);
    let dimensions = [("FunctionName", function.sandbox.function_name.as_str())];
    crate::metrics::observe(
        "AWS/Lambda",
        "IteratorAge",
        aws_sdk_cloudwatch::types::StandardUnit::Milliseconds,
        age_ms,
        &dimensions,
    );
}
