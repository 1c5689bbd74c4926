//! The stock alerts' consumer: `StockLow` opens the product's alert and e-mails the admins once;
//! `StockReplenished` closes it. The product's version orders the two, however they arrive.

use crate::{
    consume::{each_event, ConsumeError, Delivered},
    consumers::send_once,
    mail::SendMail,
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::Email;
use cartwheel_store::{AlertChange, AlertStatus, Applied, ClaimEmail, Mailing, RecordStockAlert};

/// The consumer's name in its dedup records.
pub const CONSUMER: &str = "stock-alerts";

/// Who is told of stock running low.
pub struct AlertRecipient(pub Email);

fn change_of(event: &Delivered) -> Result<Option<AlertChange>, ConsumeError> {
    let status = match event.detail_type.as_str() {
        "StockLow" => AlertStatus::Open,
        "StockReplenished" => AlertStatus::Closed,
        _ => return Ok(None),
    };
    Ok(Some(AlertChange {
        event_id: event.event_id()?.to_owned(),
        product_id: event.field("productId")?,
        sku: event.field("sku")?,
        stock: event.field("stock")?,
        threshold: event.field("threshold")?,
        version: event.field("version")?,
        at: event.field("occurredAt")?,
        status,
    }))
}

async fn alert(
    store: &(impl RecordStockAlert + ClaimEmail),
    mail: &(impl SendMail, AlertRecipient),
    event: &Delivered,
) -> Result<Applied, ConsumeError> {
    let Some(change) = change_of(event)? else {
        return Ok(Applied::Now);
    };
    let applied = store.record_stock_alert(CONSUMER, &change).await?;
    if change.status == AlertStatus::Open && applied != Applied::Outdated {
        let mailing = Mailing::StockAlert {
            product: change.product_id,
            version: change.version,
        };
        let subject = format!("Stock low: {} has {} left", change.sku, change.stock);
        let body = format!(
            "Product {} ({}) is down to {} units, below the alert threshold of {}. The alert \
             closes when its stock is raised to {} or more.",
            change.sku, change.product_id, change.stock, change.threshold, change.threshold
        );
        let (mailer, AlertRecipient(to)) = mail;
        send_once(store, mailer, mailing, to, (&subject, &body)).await?;
    }
    Ok(applied)
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn record_stock_alerts(
    store: &(impl RecordStockAlert + ClaimEmail),
    mail: &(impl SendMail, AlertRecipient),
    batch: SqsEvent,
) -> SqsBatchResponse {
    each_event(&batch, |event, _| async move {
        alert(store, mail, &event).await
    })
    .await
}
