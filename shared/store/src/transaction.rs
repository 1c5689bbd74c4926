use crate::StoreError;
use aws_sdk_dynamodb::{
    error::SdkError,
    operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput},
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
        .map_err(|e| StoreError::Dynamo(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Each item's cancellation code (`ConditionalCheckFailed`, `TransactionConflict`, `None`, ...)
/// when a transaction was cancelled; `None` for any other error.
pub fn cancellation_codes(
    error: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> Option<Vec<String>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Which items' conditions failed when a transaction was cancelled; `None` for any other error.
pub fn failed_conditions(
    error: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> Option<Vec<bool>> {
    cancellation_codes(error).map(|codes| {
        codes
            .iter()
            .map(|c| c == "ConditionalCheckFailed")
            .collect()
    })
}

/// Runs a transaction; if it is cancelled by a failed condition, `explain` turns the per-item
/// failures into the domain reason.
pub async fn run(
    client: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
    explain: impl FnOnce(&[bool]) -> StoreError,
) -> Result<TransactWriteItemsOutput, StoreError> {
    match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(output) => Ok(output),
        Err(error) => match failed_conditions(&error) {
            Some(failed) if failed.iter().any(|f| *f) => Err(explain(&failed)),
            _ => Err(error.into()),
        },
    }
}
