//! A customer's favourite products: one item each beside a counter, both in one transaction with
//! a check that the product exists, so the limit holds under concurrency and a favourite never
//! names a product that was not there when it was added.

use crate::{
    keys,
    transaction::{self, key, n, put_new, s, Item},
    AddFavourite, ListFavourites, RemoveFavourite, Store, StoreError,
};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use cartwheel_domain::{ProductId, Timestamp, UserId};

/// The most favourites one customer keeps.
pub const MAX_FAVOURITES: i64 = 500;

/// One favourite: the product and when it was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Favourite {
    pub product_id: ProductId,
    pub added_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Now,
    /// It was a favourite already; nothing changed.
    Already,
}

fn counter_by(
    table: &str,
    user: UserId,
    by: i64,
    guard: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::favourites_counter(user))))
        .update_expression("ADD favourites :by")
        .expression_attribute_values(":by", n(by));
    if let Some(condition) = guard {
        update = update
            .condition_expression(condition)
            .expression_attribute_values(":max", n(MAX_FAVOURITES));
    }
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

impl AddFavourite for Store {
    #[tracing::instrument(skip_all, fields(userId = %user, productId = %product))]
    async fn add_favourite(&self, user: UserId, product: ProductId) -> Result<Added, StoreError> {
        let exists = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(product))))
            .condition_expression("attribute_exists(PK)")
            .build();
        let mut item: Item = key(keys::favourite(user, product));
        item.insert("productId".into(), s(product.to_string()));
        item.insert("addedAt".into(), s(Timestamp::now().to_string()));
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(exists?)
                .build(),
            put_new(&self.table, item)?,
            counter_by(
                &self.table,
                user,
                1,
                Some("attribute_not_exists(favourites) OR favourites < :max"),
            )?,
        ];
        // One customer's changes all write their counter: concurrent ones conflict, and retry.
        match transaction::settle(&self.client, items).await? {
            None => Ok(Added::Now),
            Some(cancelled) if cancelled.failed(0) => Err(StoreError::NotFound),
            Some(cancelled) if cancelled.failed(1) => Ok(Added::Already),
            Some(cancelled) if cancelled.failed(2) => Err(StoreError::LimitReached(MAX_FAVOURITES)),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl RemoveFavourite for Store {
    /// Idempotent: removing what is not a favourite changes nothing.
    #[tracing::instrument(skip_all, fields(userId = %user, productId = %product))]
    async fn remove_favourite(&self, user: UserId, product: ProductId) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::favourite(user, product))))
            .condition_expression("attribute_exists(PK)")
            .build();
        let items = vec![
            TransactWriteItem::builder().delete(delete?).build(),
            counter_by(&self.table, user, -1, None)?,
        ];
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) if cancelled.failed(0) => Ok(()),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl ListFavourites for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn list_favourites(&self, user: UserId) -> Result<Vec<Favourite>, StoreError> {
        let pk = keys::favourites_of(user);
        let items = self.query_prefix(&pk, keys::FAVOURITE_PREFIX).await?;
        items.iter().map(|item| favourite_from(item, &pk)).collect()
    }
}

fn favourite_from(item: &Item, pk: &str) -> Result<Favourite, StoreError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let product_id = text("productId").and_then(|id| id.parse().ok());
    let added_at = text("addedAt").and_then(|at| at.to_owned().try_into().ok());
    match (product_id, added_at) {
        (Some(product_id), Some(added_at)) => Ok(Favourite {
            product_id,
            added_at,
        }),
        _ => Err(StoreError::corrupt(
            pk,
            "a favourite without its product or time",
        )),
    }
}
