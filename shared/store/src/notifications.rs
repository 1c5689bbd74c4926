//! A customer's notifications: one item each beside a count of the unread ones. A notification and
//! the count's increment commit with the consumer's dedup record (`apply_once`), so a redelivered
//! event adds neither twice; its e-mail is claimed on the item (`emails.rs`).

use crate::{
    keys,
    once::Applied,
    records::record_item,
    transaction::{self, key, n, put_new},
    ListNotifications, MarkRead, RecordNotification, Store, StoreError,
};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use cartwheel_domain::{Notification, NotificationId, UserId};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub unread: i64,
    pub next_cursor: Option<String>,
}

fn unread_by(table: &str, user: UserId, by: i64) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::unread_counter(user))))
        .update_expression("ADD unread :by")
        .expression_attribute_values(":by", n(by));
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

impl RecordNotification for Store {
    #[tracing::instrument(skip_all, fields(userId = %user, notificationId = %notification.id))]
    async fn record_notification(
        &self,
        consumer: &str,
        event_id: &str,
        user: UserId,
        notification: &Notification,
    ) -> Result<Applied, StoreError> {
        let item = record_item(keys::notification(user, notification.id), notification)?;
        let writes = vec![
            put_new(&self.table, item)?,
            unread_by(&self.table, user, 1)?,
        ];
        self.apply_once(consumer, event_id, writes).await
    }
}

impl ListNotifications for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn list_notifications(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, StoreError> {
        let partition = keys::notifications_of(user);
        let (items, next_cursor) = self
            .newest_first::<Notification>(&partition, keys::NOTIFICATION_PREFIX, limit, cursor)
            .await?;
        let unread = self
            .item(keys::unread_counter(user), false)
            .await?
            .and_then(|item| item.get("unread")?.as_n().ok()?.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0);
        Ok(NotificationPage {
            items,
            unread,
            next_cursor,
        })
    }
}

impl MarkRead for Store {
    /// Idempotent: a notification read already stays read and is not counted again.
    #[tracing::instrument(skip_all, fields(userId = %user, notificationId = %id))]
    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<(), StoreError> {
        let at = keys::notification(user, id);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(at.clone())))
            .update_expression("SET #read = :yes")
            .condition_expression("attribute_exists(PK) AND #read = :no")
            .expression_attribute_names("#read", "read")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false));
        let items = vec![
            TransactWriteItem::builder().update(update.build()?).build(),
            unread_by(&self.table, user, -1)?,
        ];
        match transaction::settle(&self.client, items).await? {
            None => Ok(()),
            Some(cancelled) if cancelled.failed(0) => match self.item(at, true).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            },
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}
