//! The sales figures' consumer: an order's confirmation adds it to its day's figures per product
//! and currency, and a cancellation of a confirmed order, or its refund when it could not be
//! shipped (PaymentDeclined after CONFIRMED), takes it back (`OrderStatus::sale_sign`, the one
//! rule for all). The day is the event's, in UTC.

use crate::consume::{each_event, ConsumeError, Delivered};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{OrderStatus, ProductId, Timestamp, Total};
use cartwheel_store::{Applied, RecordSale, SaleChange, SaleLine};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    product_id: ProductId,
    quantity: i64,
    line_total: Total,
}

/// How the event moves the figures; `None` when it does not (an order cancelled before it was
/// confirmed, a shipment of a confirmed order).
fn sale_change(event: &Delivered) -> Result<Option<SaleChange>, ConsumeError> {
    let status: OrderStatus = event.field("status")?;
    let previous: Option<OrderStatus> = event.field("previousStatus")?;
    let sign = OrderStatus::sale_sign(previous, status);
    if sign == 0 {
        return Ok(None);
    }
    let occurred: Timestamp = event.field("occurredAt")?;
    let lines: Vec<Line> = event.field("lines")?;
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
