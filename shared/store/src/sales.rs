//! Sales figures per UTC day, product and currency, kept by atomic `ADD`s: a confirmation adds the
//! order, its units and its revenue; a cancellation of a confirmed order adds them negated
//! (`OrderStatus::sale_sign`). Each event's updates commit with its dedup record, so a redelivery
//! counts nothing twice.

use crate::{
    keys,
    once::Applied,
    transaction::{self, n, s, Item},
    RecordSale, SalesReport, Store, StoreError,
};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use cartwheel_domain::{Day, ProductId, Total};
use serde::Serialize;
use std::collections::BTreeMap;

/// One order's lines for one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    pub product_id: ProductId,
    pub units: i64,
    pub revenue: Total,
}

/// How one event moves the figures of its day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleChange {
    pub event_id: String,
    pub day: Day,
    /// +1 or -1.
    pub sign: i64,
    pub lines: Vec<SaleLine>,
}

/// One day's figures for one product in one currency; amounts in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesFigure {
    pub day: String,
    pub product_id: String,
    pub currency: String,
    pub orders: i64,
    pub units: i64,
    pub revenue: i64,
}

const CONSUMER: &str = "sales";

/// An order that lists a product twice counts once as an order of it; one item per product and
/// currency also keeps the transaction from touching an item twice, which DynamoDB refuses.
fn merged(lines: &[SaleLine]) -> BTreeMap<(String, String), (i64, i64)> {
    let mut merged = BTreeMap::new();
    for line in lines {
        let key = (
            line.product_id.to_string(),
            line.revenue.currency.to_string(),
        );
        let entry = merged.entry(key).or_insert((0, 0));
        entry.0 += line.units;
        entry.1 += line.revenue.amount;
    }
    merged
}

/// The ADDs of one product's figures; `by` is orders, units and revenue.
fn add(
    table: &str,
    day: &str,
    (product, currency): (&str, &str),
    by: [i64; 3],
) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = keys::sales_line(day, product, currency);
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(transaction::key((pk, sk))))
        .update_expression(
            "ADD orders :orders, units :units, revenue :revenue \
             SET #day = :day, productId = :product, currency = :currency",
        )
        .expression_attribute_names("#day", "day")
        .expression_attribute_values(":orders", n(by[0]))
        .expression_attribute_values(":units", n(by[1]))
        .expression_attribute_values(":revenue", n(by[2]))
        .expression_attribute_values(":day", s(day))
        .expression_attribute_values(":product", s(product))
        .expression_attribute_values(":currency", s(currency))
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl RecordSale for Store {
    #[tracing::instrument(skip_all, fields(day = %change.day, sign = change.sign))]
    async fn record_sale(&self, change: &SaleChange) -> Result<Applied, StoreError> {
        let (sign, day) = (change.sign, change.day.to_string());
        let writes = merged(&change.lines)
            .into_iter()
            .map(|((product, currency), (units, revenue))| {
                let by = [sign, sign * units, sign * revenue];
                add(&self.table, &day, (&product, &currency), by)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.apply_once(CONSUMER, &change.event_id, writes).await
    }
}

impl SalesReport for Store {
    #[tracing::instrument(skip_all, fields(days = days.len()))]
    async fn sales_report(&self, days: &[Day]) -> Result<Vec<SalesFigure>, StoreError> {
        let mut figures = Vec::new();
        for day in days {
            let partition = keys::sales_day(&day.to_string());
            let items = self.query_partition(&partition).await?;
            for item in &items {
                figures.push(figure_from(item)?);
            }
        }
        Ok(figures)
    }
}

fn figure_from(item: &Item) -> Result<SalesFigure, StoreError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok()?.parse::<i64>().ok())
    };
    let corrupt = || StoreError::corrupt(format!("sales {:?}", text("SK")), "a figure is missing");
    Ok(SalesFigure {
        day: text("day").ok_or_else(corrupt)?,
        product_id: text("productId").ok_or_else(corrupt)?,
        currency: text("currency").ok_or_else(corrupt)?,
        orders: number("orders").ok_or_else(corrupt)?,
        units: number("units").ok_or_else(corrupt)?,
        revenue: number("revenue").ok_or_else(corrupt)?,
    })
}
