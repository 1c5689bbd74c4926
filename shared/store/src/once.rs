//! Exactly-once effects for event consumers: a consumer's writes for one event commit in the same
//! transaction as a dedup record keyed by the consumer and the event's id, put only if absent. A
//! redelivered event (SQS is at-least-once, a batch comes back after a partial failure, an archive
//! is replayed) finds the record and changes nothing; a crash between "done" and "recorded" cannot
//! happen, as both are one commit.

use crate::{
    keys,
    transaction::{self, n, put_new, s, Item, CONDITION_FAILED},
    Store, StoreError,
};
use aws_sdk_dynamodb::types::TransactWriteItem;
use cartwheel_domain::Timestamp;

/// How long a dedup record is kept: longer than the bus archive is replayed from (30 days) and
/// than a dead-letter queue keeps a message (14 days), so no redelivery outlives its record.
pub const DEDUP_DAYS: i64 = 35;

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Its writes committed now.
    Now,
    /// It had been applied before; nothing was written.
    Already,
    /// A condition of its writes failed: a later event got there first; nothing was written.
    Outdated,
}

/// DynamoDB takes at most 100 items in a transaction; the dedup record is one of them.
pub const MAX_WRITES_PER_EVENT: usize = 99;

impl Store {
    /// Commits `writes` and `consumer`'s record of `event_id` together, unless the record exists.
    #[tracing::instrument(skip_all, fields(consumer, eventId = event_id))]
    pub async fn apply_once(
        &self,
        consumer: &str,
        event_id: &str,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Applied, StoreError> {
        if writes.len() > MAX_WRITES_PER_EVENT {
            return Err(StoreError::TooManyWrites(writes.len()));
        }
        let mut record: Item = transaction::key(keys::dedup(consumer, event_id));
        let expires = Timestamp::now().unix_seconds() + DEDUP_DAYS * 24 * 3600;
        record.insert("expiresAt".into(), n(expires));
        record.insert("consumer".into(), s(consumer));
        let mut items = vec![put_new(&self.table, record)?];
        items.extend(writes);
        // Concurrent deliveries of one event conflict on its dedup record: settle retries them until
        // one commits and the others find the record.
        match transaction::settle(&self.client, items).await? {
            None => Ok(Applied::Now),
            Some(cancelled) if cancelled.failed(0) => Ok(Applied::Already),
            Some(cancelled) if cancelled.any(CONDITION_FAILED) => Ok(Applied::Outdated),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}
