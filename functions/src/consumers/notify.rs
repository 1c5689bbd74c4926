//! The notifications' consumer: each event about an order that its customer is told of becomes a
//! notification, stored once (`RecordNotification`), and one e-mail (`consumers::send_once`). A
//! redelivery finds both done and does nothing.

use crate::{
    consume::{each_event, ConsumeError, Delivered},
    consumers::send_once,
    mail::SendMail,
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{Notification, NotificationKind, OrderId, OrderStatus, Timestamp, UserId};
use cartwheel_store::{Applied, ClaimEmail, GetUser, Mailing, RecordNotification};

/// The consumer's name in its dedup records.
pub const CONSUMER: &str = "notifications";

async fn notify(
    store: &(impl RecordNotification + ClaimEmail + GetUser),
    mailer: &impl SendMail,
    event: &Delivered,
) -> Result<Applied, ConsumeError> {
    let previous: Option<OrderStatus> = event.field("previousStatus")?;
    let Some(kind) = NotificationKind::of_event(&event.detail_type, previous) else {
        // The rule delivers only the kinds above; anything else is not for a customer.
        return Ok(Applied::Now);
    };
    let user: UserId = event.field("userId")?;
    let order: OrderId = event.field("orderId")?;
    let at: Timestamp = event.field("occurredAt")?;
    let event_id = event.event_id()?;
    let notification = Notification::of_event(kind, order, at, event_id);
    let applied = store
        .record_notification(CONSUMER, event_id, user, &notification)
        .await?;
    let Some(customer) = store.get_user(user).await? else {
        tracing::warn!(userId = %user, "no account to e-mail; the notification is kept");
        return Ok(applied);
    };
    let mailing = Mailing::Notification(user, notification.id);
    let text = (notification.title.as_str(), notification.body.as_str());
    send_once(store, mailer, mailing, &customer.email, text).await?;
    Ok(applied)
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn notify_customers(
    store: &(impl RecordNotification + ClaimEmail + GetUser),
    mailer: &impl SendMail,
    batch: SqsEvent,
) -> SqsBatchResponse {
    each_event(&batch, |event, _| async move {
        notify(store, mailer, &event).await
    })
    .await
}

#[cfg(test)]
mod tests;
