//! The table stream's consumer: turns each committed change into its domain event and publishes it.

use crate::unreadable::{dead_letter, UnreadableChanges};
use aws_lambda_events::{
    dynamodb::Event,
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};
use cartwheel_events::{events_of, Publisher};
use cartwheel_telemetry::{count, Metric};
use std::collections::BTreeSet;

fn failures(batch: &Event, positions: impl IntoIterator<Item = usize>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = positions
        .into_iter()
        .map(|position| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = batch.records[position].change.sequence_number.clone();
            failure
        })
        .collect();
    response
}

/// Records whose events were not all published are reported by sequence number; Lambda retries the
/// batch from the lowest one, so events are delivered at least once, in order, and carry ids that
/// let consumers drop the repeats. A record that does not decode would fail every retry and hold
/// up everything behind it, so it is dead-lettered instead, and reported only if that fails.
#[tracing::instrument(skip_all, fields(records = batch.records.len()))]
pub async fn publish_events(
    publisher: &Publisher,
    unreadable: &UnreadableChanges,
    batch: Event,
) -> DynamoDbEventResponse {
    let mut events = Vec::new();
    let mut record_of_event = Vec::new();
    let mut letters = Vec::new();
    for (position, record) in batch.records.iter().enumerate() {
        match events_of(record) {
            Ok(found) => {
                record_of_event.extend(std::iter::repeat_n(position, found.len()));
                events.extend(found);
            }
            Err(error) => {
                tracing::error!(%error, keys = ?record.change.keys, "a stream record could not be read: dead-lettered");
                letters.push((position, dead_letter(record, &error.to_string())));
            }
        }
    }
    let published = publisher.publish(&events).await;
    let mut failed = BTreeSet::new();
    let mut not_published = 0;
    if let Err(unpublished) = published {
        tracing::error!(error = %unpublished, "events were not published");
        not_published = unpublished.failed.len();
        failed.extend(
            unpublished
                .failed
                .iter()
                .map(|&event| record_of_event[event]),
        );
    }
    // Lambda retries the batch from its first failed record; a record behind it is delivered
    // again, so its dead letter waits for that delivery: sent now, it would be sent twice. (Two
    // cases still repeat one: SQS refusing a dead letter, which makes the retry start there and
    // send again the ones after it that SQS took; and a record behind one that fails every retry
    // reaches the on-failure destination's description, not UnreadableChangesQueue.)
    let retried_from = failed.first().copied().unwrap_or(usize::MAX);
    letters.retain(|(position, _)| *position < retried_from);
    let refused = unreadable.send(&letters).await;
    failed.extend(refused.iter().copied());
    count(Metric::EventsPublished, events.len() - not_published);
    count(Metric::EventsFailed, not_published);
    count(Metric::UnreadableRecords, letters.len() - refused.len());
    failures(&batch, failed)
}
