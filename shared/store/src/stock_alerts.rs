//! Stock alerts: one item per product, opened by `StockLow` and closed by `StockReplenished`.
//! Events may arrive out of order and more than once, so a change applies only over an older
//! version of the product (every stock change moves the version), together with the consumer's
//! dedup record; an older or repeated event changes nothing.

use crate::{
    keys,
    once::Applied,
    records::bodies,
    transaction::{key, n, s},
    ListStockAlerts, RecordStockAlert, Store, StoreError,
};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use cartwheel_domain::{ProductId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertStatus {
    Open,
    Closed,
}

/// A product's alert as the admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockAlert {
    pub product_id: ProductId,
    pub sku: String,
    pub status: AlertStatus,
    /// Units on hand at the last change.
    pub stock: i64,
    pub threshold: i64,
    /// The product's version at the last change.
    pub version: u64,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

/// What one stock event does to its product's alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    pub event_id: String,
    pub product_id: ProductId,
    pub sku: String,
    pub stock: i64,
    pub threshold: i64,
    pub version: u64,
    pub at: Timestamp,
    /// Opened (stock fell below the threshold) or closed (it rose back).
    pub status: AlertStatus,
}

fn alert_update(table: &str, change: &AlertChange) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::stock_alert(change.product_id))))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":v", n(change.version))
        .expression_attribute_values(":stock", n(change.stock))
        .expression_attribute_values(":at", s(change.at.to_string()));
    // Either event may come first (a batch is handled at once, redeliveries come late), so a close
    // with no alert yet still records the version: the opening it follows then finds it newer.
    let update = update
        .condition_expression("attribute_not_exists(PK) OR version < :v")
        .expression_attribute_values(":product", s(change.product_id.to_string()))
        .expression_attribute_values(":sku", s(&change.sku))
        .expression_attribute_values(":threshold", n(change.threshold));
    let update = match change.status {
        // A new opening is a new alert: the last one's e-mail fields go.
        AlertStatus::Open => update
            .update_expression(
                "SET #status = :open, productId = :product, sku = :sku, stock = :stock, \
                 threshold = :threshold, version = :v, openedAt = :at \
                 REMOVE closedAt, emailedAt, emailClaimedUntil, emailMessageId",
            )
            .expression_attribute_values(":open", s("OPEN")),
        AlertStatus::Closed => update
            .update_expression(
                "SET #status = :closed, productId = :product, sku = :sku, stock = :stock, \
                 threshold = :threshold, version = :v, closedAt = :at",
            )
            .expression_attribute_values(":closed", s("CLOSED")),
    };
    let update = update.build().map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl RecordStockAlert for Store {
    #[tracing::instrument(skip_all, fields(productId = %change.product_id, version = change.version))]
    async fn record_stock_alert(
        &self,
        consumer: &str,
        change: &AlertChange,
    ) -> Result<Applied, StoreError> {
        let writes = vec![alert_update(&self.table, change)?];
        self.apply_once(consumer, &change.event_id, writes).await
    }
}

impl ListStockAlerts for Store {
    #[tracing::instrument(skip_all)]
    async fn list_stock_alerts(&self) -> Result<Vec<StockAlert>, StoreError> {
        let items = self.query_partition(keys::STOCK_ALERTS_PK).await?;
        bodies(items, keys::STOCK_ALERTS_PK)
    }
}
