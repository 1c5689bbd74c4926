//! Items that are one serializable value under a key, read and written the same way.

use crate::{
    transaction::{key, Item},
    Store, StoreError,
};
use aws_sdk_dynamodb::{operation::query::builders::QueryFluentBuilder, types::AttributeValue};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A value stored under `PK`/`SK`, its fields beside the keys.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record<T> {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(flatten)]
    pub body: T,
}

pub(crate) fn record_item<T: Serialize>(
    (pk, sk): (String, String),
    body: T,
) -> Result<Item, StoreError> {
    serde_dynamo::to_item(Record {
        pk: pk.clone(),
        sk,
        body,
    })
    .map_err(|e| StoreError::corrupt(pk, e))
}

/// The values of `items`, each a `Record<T>`; `pk` names them in an error.
pub(crate) fn bodies<T: DeserializeOwned>(
    items: Vec<Item>,
    pk: &str,
) -> Result<Vec<T>, StoreError> {
    items
        .into_iter()
        .map(|item| {
            serde_dynamo::from_item::<_, Record<T>>(item)
                .map(|record| record.body)
                .map_err(|e| StoreError::corrupt(pk, e))
        })
        .collect()
}

impl Store {
    /// Every item a query finds, page after page: `query` builds the request, and each page's
    /// `ExclusiveStartKey` is set here.
    pub(crate) async fn query_all(
        &self,
        query: impl Fn() -> QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = query().set_exclusive_start_key(start).send().await?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every item of partition `pk`.
    pub(crate) async fn query_partition(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        })
        .await
    }

    /// One page of the records of partition `pk` whose sort key begins with `prefix`, highest
    /// sort key (for ULID keys: newest) first, and the cursor of the next page.
    pub(crate) async fn newest_first<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(false);
        let names = [crate::keys::PK, crate::keys::SK];
        let (items, next) = self
            .query_page(query, limit, cursor, &names, |key| {
                key[crate::keys::PK] == pk && key[crate::keys::SK].starts_with(prefix)
            })
            .await?;
        Ok((bodies(items, pk)?, next))
    }

    /// Every item of partition `pk` whose sort key begins with `prefix`.
    pub(crate) async fn query_prefix(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
        })
        .await
    }

    /// The item at `at`; `consistent` for steps that must see their own earlier writes.
    pub(crate) async fn item(
        &self,
        at: (String, String),
        consistent: bool,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(at)))
            .consistent_read(consistent)
            .send()
            .await?;
        Ok(output.item)
    }

    /// The record at `at`, read consistently.
    pub(crate) async fn read_record<T: DeserializeOwned>(
        &self,
        at: (String, String),
    ) -> Result<Option<T>, StoreError> {
        let pk = at.0.clone();
        self.item(at, true)
            .await?
            .map(|item| {
                serde_dynamo::from_item::<_, Record<T>>(item)
                    .map(|r| r.body)
                    .map_err(|e| StoreError::corrupt(pk, e))
            })
            .transpose()
    }
}
