use crate::StoreError;
use aws_sdk_dynamodb::{
    error::SdkError,
    operation::{transact_write_items::TransactWriteItemsError, update_item::UpdateItemError},
    types::{AttributeValue, Put, TransactWriteItem},
};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([
        (crate::keys::PK.to_owned(), s(pk)),
        (crate::keys::SK.to_owned(), s(sk)),
    ])
}

/// A Put that only succeeds if no item with the same key exists.
pub fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Whether a conditional UpdateItem wrote: `false` if its condition refused it.
pub(crate) fn updated<O, R: std::fmt::Debug + Send + Sync + 'static>(
    result: Result<O, SdkError<UpdateItemError, R>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(error.into()),
        },
    }
}

/// The code DynamoDB gives an item whose condition failed.
pub const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Each item's code in a cancelled transaction (`ConditionalCheckFailed`, `TransactionConflict`,
/// `None`, ...).
pub struct Cancelled(pub Vec<String>);

impl Cancelled {
    pub fn failed(&self, index: usize) -> bool {
        self.0
            .get(index)
            .is_some_and(|code| code == CONDITION_FAILED)
    }

    pub fn any(&self, code: &str) -> bool {
        self.0.iter().any(|c| c == code)
    }

    /// A cancellation that no caller expects: reported as a store failure.
    pub fn unexpected(&self) -> StoreError {
        StoreError::Unexpected(format!("transaction cancelled: {:?}", self.0))
    }
}

/// The code DynamoDB gives an item that a concurrent transaction was changing.
pub const CONFLICT: &str = "TransactionConflict";

/// Runs a transaction: `Ok(None)` when it committed, `Ok(Some(..))` when DynamoDB cancelled it,
/// `Err` for any other failure.
pub async fn attempt(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
) -> Result<Option<Cancelled>, StoreError> {
    let error = match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => return Ok(None),
        Err(error) => error,
    };
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            Ok(Some(Cancelled(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_owned())
                    .collect(),
            )))
        }
        _ => Err(error.into()),
    }
}

/// Attempts of a transaction that only ever lost to concurrent ones (`TransactionConflict`).
const CONFLICT_ATTEMPTS: u32 = 12;

/// Like `attempt`, but a transaction cancelled only by conflicts with concurrent transactions on
/// the same items is tried again after a random pause (full jitter, doubling up to 640 ms), as
/// many writers of one hot item would otherwise retry in lockstep.
pub async fn settle(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
) -> Result<Option<Cancelled>, StoreError> {
    for round in 0..CONFLICT_ATTEMPTS {
        match attempt(client, items.clone()).await? {
            Some(cancelled) if cancelled.any(CONFLICT) && !cancelled.any(CONDITION_FAILED) => {
                let ceiling_ms = 10u64 << round.min(6);
                let pause = (ulid::Ulid::new().random() % u128::from(ceiling_ms)) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(pause + 1)).await;
            }
            outcome => return Ok(outcome),
        }
    }
    Err(StoreError::Unexpected(format!(
        "the transaction conflicted with concurrent ones {CONFLICT_ATTEMPTS} times"
    )))
}

/// Runs a transaction (retrying conflicts, as `settle` does); if a condition failed, `explain`
/// turns the cancellation into the domain reason.
pub async fn run(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
    explain: impl FnOnce(&Cancelled) -> StoreError,
) -> Result<(), StoreError> {
    match settle(client, items).await? {
        None => Ok(()),
        Some(cancelled) if cancelled.any(CONDITION_FAILED) => Err(explain(&cancelled)),
        Some(cancelled) => Err(cancelled.unexpected()),
    }
}
