//! The sales figures' consumer: an order's confirmation adds it to its day's figures per product
//! and currency, and a cancellation of a confirmed order takes it back (`OrderStatus::sale_sign`,
//! the one rule for both). The day is the event's, in UTC.

use crate::consume::{each_event, ConsumeError, Delivered};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{OrderStatus, ProductId, Timestamp, Total};
use cartwheel_store::{Applied, RecordSale, SaleChange, SaleLine};
use serde::{de::DeserializeOwned, Deserialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    product_id: ProductId,
    quantity: i64,
    line_total: Total,
}

fn field<T: DeserializeOwned>(event: &Delivered, name: &'static str) -> Result<T, ConsumeError> {
    serde_json::from_value(event.detail[name].clone()).map_err(|_| ConsumeError::Incomplete(name))
}

/// How the event moves the figures; `None` when it does not (an order cancelled before it was
/// confirmed, a shipment of a confirmed order).
fn sale_change(event: &Delivered) -> Result<Option<SaleChange>, ConsumeError> {
    let status: OrderStatus = field(event, "status")?;
    let previous: Option<OrderStatus> = field(event, "previousStatus")?;
    let sign = OrderStatus::sale_sign(previous, status);
    if sign == 0 {
        return Ok(None);
    }
    let occurred: Timestamp = field(event, "occurredAt")?;
    let lines: Vec<Line> = field(event, "lines")?;
    Ok(Some(SaleChange {
        event_id: event.event_id()?.to_owned(),
        day: occurred.utc_day(),
        sign,
        lines: lines
            .into_iter()
            .map(|line| SaleLine {
                product_id: line.product_id,
                units: line.quantity,
                revenue: line.line_total,
            })
            .collect(),
    }))
}

async fn count(store: &impl RecordSale, event: &Delivered) -> Result<Applied, ConsumeError> {
    match sale_change(event)? {
        Some(change) => Ok(store.record_sale(&change).await?),
        None => Ok(Applied::Now),
    }
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn record_sales(store: &impl RecordSale, batch: SqsEvent) -> SqsBatchResponse {
    each_event(&batch, |event, _| async move { count(store, &event).await }).await
}
