use crate::{
    keys,
    products::from_item,
    transaction::{key, Item},
    GetCart, GetProducts, PutCartLine, RemoveCartLine, Store, StoreError,
};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use cartwheel_domain::{CartLine, Product, ProductId, UserId};
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, time::Duration};

/// BatchGetItem takes at most 100 keys a call.
const BATCH_GET_LIMIT: usize = 100;
/// Retries of the keys DynamoDB leaves unprocessed under throttling, with doubling backoff.
const UNPROCESSED_RETRIES: u32 = 5;

#[derive(Serialize, Deserialize)]
struct CartLineRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    line: CartLine,
}

impl Store {
    /// Reads one batch, retrying unprocessed keys; fails rather than return a silently short list.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .map_err(StoreError::from)?;
        let mut found = Vec::new();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await?;
            found.extend(
                output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default(),
            );
            match output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
            {
                Some(rest) if !rest.keys().is_empty() => pending = rest,
                _ => return Ok(found),
            }
        }
        Err(StoreError::Unexpected(format!(
            "BatchGetItem left keys unprocessed after {UNPROCESSED_RETRIES} retries"
        )))
    }
}

impl GetProducts for Store {
    #[tracing::instrument(skip_all)]
    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        let mut unique: Vec<ProductId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        let mut products = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let keys = chunk.iter().map(|id| key(keys::product(*id))).collect();
            for item in self.batch_get(keys).await? {
                products.push(from_item(item)?);
            }
        }
        Ok(products)
    }
}

impl GetCart for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn cart_lines(&self, user: UserId) -> Result<Vec<CartLine>, StoreError> {
        let items = self
            .query_prefix(&keys::user(user).0, keys::CART_LINE_PREFIX)
            .await?;
        items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, CartLineRecord>(item)
                    .map(|record| record.line)
                    .map_err(|e| StoreError::corrupt(keys::user(user).0, e))
            })
            .collect()
    }
}

impl PutCartLine for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn put_cart_line(&self, user: UserId, line: &CartLine) -> Result<(), StoreError> {
        let (pk, sk) = keys::cart_line(user, line.product_id);
        let record = CartLineRecord {
            pk: pk.clone(),
            sk,
            line: line.clone(),
        };
        let item: HashMap<_, _> =
            serde_dynamo::to_item(record).map_err(|e| StoreError::corrupt(pk, e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }
}

impl RemoveCartLine for Store {
    #[tracing::instrument(skip_all, fields(productId = %product))]
    async fn remove_cart_line(&self, user: UserId, product: ProductId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::cart_line(user, product))))
            .send()
            .await?;
        Ok(())
    }
}
