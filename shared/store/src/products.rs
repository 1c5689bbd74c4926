use crate::{
    keys,
    transaction::{self, key, n, put_new, s, Item},
    CreateProduct, DeleteProduct, GetProduct, ReplaceProduct, Store, StoreError,
};
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use cartwheel_domain::{Category, Product, ProductId, AVERAGE_RATING};
use serde::{Deserialize, Serialize};

/// A product as stored: the domain product plus its index keys and a lower-cased search text.
#[derive(Serialize, Deserialize)]
struct ProductRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    #[serde(rename = "searchText")]
    search_text: String,
    #[serde(flatten)]
    product: Product,
}

pub(crate) fn to_item(product: &Product) -> Result<Item, StoreError> {
    let (pk, sk) = keys::product(product.id);
    let sort = keys::name_sort_key(&product.name, product.id);
    let record = ProductRecord {
        pk,
        sk,
        gsi1pk: keys::by_category(&product.category),
        gsi1sk: sort.clone(),
        gsi2pk: keys::CATALOG_PK.into(),
        gsi2sk: sort,
        search_text: format!("{} {}", product.name, product.description).to_lowercase(),
        product: product.clone(),
    };
    let mut item: Item = serde_dynamo::to_item(record)
        .map_err(|e| StoreError::corrupt(keys::product(product.id).0, e))?;
    item.remove(AVERAGE_RATING);
    Ok(item)
}

pub(crate) fn from_item(item: Item) -> Result<Product, StoreError> {
    let pk = item
        .get(keys::PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::from_item::<_, ProductRecord>(item)
        .map(|record| record.product)
        .map_err(|e| StoreError::corrupt(pk, e))
}

fn sku_guard(table: &str, product: &Product) -> Result<TransactWriteItem, StoreError> {
    let mut item = key(keys::sku(&product.sku));
    item.insert("productId".into(), s(product.id.to_string()));
    put_new(table, item)
}

fn release_sku(table: &str, product: &Product) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(keys::sku(&product.sku))))
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Adds `delta` to the category's product count, creating the counter on first use.
fn count_in_category(
    table: &str,
    category: &Category,
    delta: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::category(category))))
        .update_expression("ADD productCount :delta SET #name = :name")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(":delta", n(delta))
        .expression_attribute_values(":name", s(category.to_string()))
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// What an admin's update never writes: the key, and what orders and reviews change
/// concurrently, which a whole-item Put would set back to the values read.
const NOT_EDITED: [&str; 7] = [
    keys::PK,
    keys::SK,
    "id",
    "createdAt",
    "stock",
    "ratingCount",
    "ratingSum",
];

/// Sets `product`'s edited attributes (and the index keys that follow from them) only if the
/// stored one still has `expected_version`.
fn update_if_version(
    table: &str,
    product: &Product,
    expected_version: u64,
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::product(product.id))))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", n(expected_version));
    let mut assignments = Vec::new();
    let edited = to_item(product)?
        .into_iter()
        .filter(|(name, _)| !NOT_EDITED.contains(&name.as_str()));
    for (i, (name, value)) in edited.enumerate() {
        assignments.push(format!("#a{i} = :a{i}"));
        update = update
            .expression_attribute_names(format!("#a{i}"), name)
            .expression_attribute_values(format!(":a{i}"), value);
    }
    let update = update
        .update_expression(format!("SET {}", assignments.join(", ")))
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl GetProduct for Store {
    #[tracing::instrument(skip_all, fields(productId = %id))]
    async fn get_product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.item(keys::product(id), false)
            .await?
            .map(from_item)
            .transpose()
    }
}

impl CreateProduct for Store {
    #[tracing::instrument(skip_all, fields(productId = %product.id))]
    async fn create_product(&self, product: &Product) -> Result<(), StoreError> {
        let items = vec![
            put_new(&self.table, to_item(product)?)?,
            sku_guard(&self.table, product)?,
            count_in_category(&self.table, &product.category, 1)?,
        ];
        transaction::run(&self.client, items, |cancelled| {
            if cancelled.failed(1) {
                StoreError::DuplicateSku(product.sku.clone())
            } else {
                StoreError::Unexpected(format!("product id {} is already in use", product.id))
            }
        })
        .await
    }
}

impl ReplaceProduct for Store {
    #[tracing::instrument(skip_all, fields(productId = %current.id))]
    async fn replace_product(&self, current: &Product, next: &Product) -> Result<(), StoreError> {
        let table = &self.table;
        let mut items = vec![update_if_version(table, next, current.version)?];
        let sku_changed = current.sku != next.sku;
        if sku_changed {
            items.push(sku_guard(table, next)?);
            items.push(release_sku(table, current)?);
        }
        if current.category != next.category {
            items.push(count_in_category(table, &current.category, -1)?);
            items.push(count_in_category(table, &next.category, 1)?);
        }
        transaction::run(&self.client, items, |cancelled| {
            if sku_changed && !cancelled.failed(0) {
                StoreError::DuplicateSku(next.sku.clone())
            } else {
                StoreError::VersionConflict
            }
        })
        .await
    }
}

impl DeleteProduct for Store {
    #[tracing::instrument(skip_all, fields(productId = %current.id))]
    async fn delete_product(&self, current: &Product) -> Result<(), StoreError> {
        let table = &self.table;
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key(keys::product(current.id))))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(current.version))
            .build()
            .map_err(StoreError::from)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            release_sku(table, current)?,
            count_in_category(table, &current.category, -1)?,
        ];
        transaction::run(&self.client, items, |_| StoreError::VersionConflict).await
    }
}
