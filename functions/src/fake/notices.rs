//! Notifications, e-mail claims and a mailer in memory.

use super::FakeStore;
use crate::mail::{MailError, SendMail};
use cartwheel_domain::{Email, Notification, NotificationId, UserId};
use cartwheel_store::{
    Applied, Claim, ClaimEmail, ListNotifications, Mailing, MarkRead, NotificationPage,
    RecordNotification, StoreError,
};
use std::{sync::Mutex, time::Duration};

impl FakeStore {
    pub fn notifications_of(&self, user: UserId) -> Vec<Notification> {
        let notifications = self.notifications.lock().unwrap();
        notifications.get(&user).cloned().unwrap_or_default()
    }

    /// Where the e-mail about `mailing` stands: `None` before any claim, `Held` while claimed,
    /// `Sent` once marked.
    pub fn email(&self, mailing: Mailing) -> Option<Claim> {
        let emails = self.emails.lock().unwrap();
        emails.iter().find(|(m, _)| *m == mailing).map(|(_, c)| *c)
    }

    fn set_email(&self, mailing: Mailing, claim: Claim) {
        let mut emails = self.emails.lock().unwrap();
        emails.retain(|(m, _)| *m != mailing);
        emails.push((mailing, claim));
    }

    fn has_notification(&self, user: UserId, id: NotificationId) -> bool {
        self.notifications_of(user).iter().any(|n| n.id == id)
    }
}

impl RecordNotification for FakeStore {
    async fn record_notification(
        &self,
        consumer: &str,
        event_id: &str,
        user: UserId,
        notification: &Notification,
    ) -> Result<Applied, StoreError> {
        self.call("record_notification")?;
        let record = (consumer.to_owned(), event_id.to_owned());
        if !self.applied.lock().unwrap().insert(record) {
            return Ok(Applied::Already);
        }
        let mut notifications = self.notifications.lock().unwrap();
        notifications
            .entry(user)
            .or_default()
            .push(notification.clone());
        Ok(Applied::Now)
    }
}

impl ClaimEmail for FakeStore {
    /// A claim is never let go here: a lease running out needs a clock, and the tests stage a
    /// held claim instead (`emails`).
    async fn claim_email(&self, mailing: Mailing, _lease: Duration) -> Result<Claim, StoreError> {
        self.call("claim_email")?;
        if let Mailing::Notification(user, id) = mailing {
            if !self.has_notification(user, id) {
                return Err(StoreError::NotFound);
            }
        }
        match self.email(mailing) {
            Some(Claim::Sent) => Ok(Claim::Sent),
            Some(_) => Ok(Claim::Held),
            None => {
                self.set_email(mailing, Claim::Held);
                Ok(Claim::Granted)
            }
        }
    }

    async fn mark_emailed(&self, mailing: Mailing, _message_id: &str) -> Result<(), StoreError> {
        self.call("mark_emailed")?;
        self.set_email(mailing, Claim::Sent);
        Ok(())
    }
}

impl ListNotifications for FakeStore {
    async fn list_notifications(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, StoreError> {
        self.call("list_notifications")?;
        let mut all = self.notifications_of(user);
        // Their ids sort by the time of their event, as the table's sort key does.
        all.sort_by_key(|n| std::cmp::Reverse(n.id));
        let unread = all.iter().filter(|n| !n.read).count() as i64;
        let (items, next_cursor) = super::page(all, limit, cursor)?;
        Ok(NotificationPage {
            items,
            unread,
            next_cursor,
        })
    }
}

impl MarkRead for FakeStore {
    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<(), StoreError> {
        self.call("mark_read")?;
        let mut notifications = self.notifications.lock().unwrap();
        let theirs = notifications.get_mut(&user).ok_or(StoreError::NotFound)?;
        let found = theirs.iter_mut().find(|n| n.id == id);
        found.ok_or(StoreError::NotFound)?.read = true;
        Ok(())
    }
}

/// A mailer that keeps what it sends: (to, subject, body).
#[derive(Default)]
pub struct FakeMailer {
    pub sent: Mutex<Vec<(String, String, String)>>,
    /// Every send fails, as SES does when it throttles.
    pub fails: bool,
}

impl SendMail for FakeMailer {
    async fn send(&self, to: &Email, subject: &str, body: &str) -> Result<String, MailError> {
        if self.fails {
            use aws_sdk_sesv2::types::error::TooManyRequestsException;
            let refused = TooManyRequestsException::builder()
                .message("slow down")
                .build();
            let error = aws_sdk_sesv2::Error::TooManyRequestsException(refused);
            return Err(MailError(Box::new(error)));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((to.to_string(), subject.to_owned(), body.to_owned()));
        Ok(format!("message-{}", sent.len()))
    }
}
