//! The audit trail's consumer: every domain event, appended unchanged under its order or product.

use crate::consume::{each_event, ConsumeError, Delivered};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_store::{Applied, NewAuditRecord, RecordAudit};

/// An order's events (and its payment's and shipment's) are about the order; the catalog's about
/// the product.
fn entity_of(event: &Delivered) -> Result<&str, ConsumeError> {
    event
        .text("orderId")
        .or_else(|_| event.text("productId"))
        .map_err(|_| ConsumeError::Incomplete("orderId or productId"))
}

async fn append(
    store: &impl RecordAudit,
    event: &Delivered,
    raw: &str,
) -> Result<Applied, ConsumeError> {
    let record = NewAuditRecord {
        entity_id: entity_of(event)?,
        event_id: event.event_id()?,
        detail_type: &event.detail_type,
        occurred_at: event.text("occurredAt")?,
        raw,
    };
    Ok(store.record_audit(&record).await?)
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn record_events(store: &impl RecordAudit, batch: SqsEvent) -> SqsBatchResponse {
    each_event(&batch, |event, raw| async move {
        append(store, &event, raw).await
    })
    .await
}
