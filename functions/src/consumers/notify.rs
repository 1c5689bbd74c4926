//! The notifications' consumer: each event about an order that its customer is told of becomes a
//! notification, stored once (`RecordNotification`), and one e-mail (`ClaimEmail`). A redelivery
//! finds both done and does nothing; a delivery that finds another one mid-send fails, so that it
//! comes back after the other has finished (or its claim has run out).

use crate::{
    consume::{each_event, ConsumeError, Delivered},
    mail::SendMail,
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{Notification, NotificationKind, OrderId, Timestamp, UserId};
use cartwheel_store::{Applied, Claim, ClaimEmail, GetUser, RecordNotification};
use std::time::Duration;

/// The consumer's name in its dedup records.
pub const CONSUMER: &str = "notifications";

/// How long a claim to send an e-mail holds: longer than a send takes (the function's timeout is
/// 10 s), shorter than the queue's visibility timeout, so a redelivery after a crash may send.
pub const EMAIL_LEASE: Duration = Duration::from_secs(30);

async fn notify(
    store: &(impl RecordNotification + ClaimEmail + GetUser),
    mailer: &impl SendMail,
    event: &Delivered,
) -> Result<Applied, ConsumeError> {
    let Some(kind) = NotificationKind::of_event(&event.detail_type) else {
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
    email_once(store, mailer, user, &notification).await?;
    Ok(applied)
}

async fn email_once(
    store: &(impl ClaimEmail + GetUser),
    mailer: &impl SendMail,
    user: UserId,
    notification: &Notification,
) -> Result<(), ConsumeError> {
    match store
        .claim_email(user, notification.id, EMAIL_LEASE)
        .await?
    {
        Claim::Sent => Ok(()),
        Claim::Held => Err(ConsumeError::EmailInFlight),
        Claim::Granted => {
            let Some(customer) = store.get_user(user).await? else {
                tracing::warn!(userId = %user, "no account to e-mail; the notification is kept");
                return Ok(());
            };
            let message_id = mailer
                .send(&customer.email, &notification.title, &notification.body)
                .await?;
            Ok(store
                .mark_emailed(user, notification.id, &message_id)
                .await?)
        }
    }
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
