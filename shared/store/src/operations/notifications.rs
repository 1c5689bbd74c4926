//! Notifications to customers, the e-mails about them, and stock alerts.

use crate::{AlertChange, Applied, Claim, Mailing, NotificationPage, StockAlert, StoreError};
use cartwheel_domain::{Notification, NotificationId, UserId};
use std::{future::Future, time::Duration};

pub trait RecordNotification {
    /// Stores `notification` for `user` and counts it unread, once per `consumer` and `event_id`.
    fn record_notification(
        &self,
        consumer: &str,
        event_id: &str,
        user: UserId,
        notification: &Notification,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ClaimEmail {
    /// Claims the right to send the e-mail about `mailing` for `lease`.
    fn claim_email(
        &self,
        mailing: Mailing,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records that the e-mail about `mailing` went out, as SES message `message_id`.
    fn mark_emailed(
        &self,
        mailing: Mailing,
        message_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ListNotifications {
    /// A customer's notifications, newest first, with their unread count.
    fn list_notifications(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<NotificationPage, StoreError>> + Send;
}

pub trait MarkRead {
    /// `NotFound` if the customer has no such notification.
    fn mark_read(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait RecordStockAlert {
    /// Opens or closes the product's alert, once per `consumer` and event, and only over an
    /// older version of the product (`Applied::Outdated` otherwise).
    fn record_stock_alert(
        &self,
        consumer: &str,
        change: &AlertChange,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

pub trait ListStockAlerts {
    /// Every product's alert, open or closed.
    fn list_stock_alerts(&self)
        -> impl Future<Output = Result<Vec<StockAlert>, StoreError>> + Send;
}
