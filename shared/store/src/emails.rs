//! E-mail sent at most once per claim, on at-least-once queues. SES takes no idempotency key, so
//! the item an e-mail is about guards it: a sender claims the item for a lease (only if no e-mail
//! went out and no other claim is live), sends, and records `emailedAt`. A sender that finds
//! `emailedAt` sends nothing; one that finds a live claim leaves its message for later. Only a
//! crash between SES's answer and the write of `emailedAt` can send twice, after the lease.

use crate::{
    keys,
    transaction::{key, n, s, Item},
    ClaimEmail, Store, StoreError,
};
use aws_sdk_dynamodb::{
    operation::update_item::{builders::UpdateItemFluentBuilder, UpdateItemError},
    types::ReturnValuesOnConditionCheckFailure,
};
use cartwheel_domain::{NotificationId, ProductId, Timestamp, UserId};
use std::time::Duration;

/// What an e-mail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailing {
    /// A customer's notification.
    Notification(UserId, NotificationId),
    /// A product's stock alert, as opened at `version` of the product: a later opening is
    /// another e-mail.
    StockAlert { product: ProductId, version: u64 },
}

/// What a sender may do about an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Send it now; no one else will until the lease runs out.
    Granted,
    /// It was sent already, or what it was about has moved on (a newer alert).
    Sent,
    /// Another sender holds a live claim; try again after it.
    Held,
}

impl Store {
    /// An UpdateItem of the item `mailing` is about, conditional on it being that very item.
    fn update_of(&self, mailing: Mailing, condition: &str) -> UpdateItemFluentBuilder {
        let update = self.client.update_item().table_name(&self.table);
        match mailing {
            Mailing::Notification(user, id) => update
                .set_key(Some(key(keys::notification(user, id))))
                .condition_expression(format!("attribute_exists(PK) AND {condition}")),
            Mailing::StockAlert { product, version } => update
                .set_key(Some(key(keys::stock_alert(product))))
                .condition_expression(format!("version = :version AND {condition}"))
                .expression_attribute_values(":version", n(version)),
        }
    }
}

/// Why a claim on `item` (as it was) was refused.
fn refused(mailing: Mailing, item: Option<&Item>) -> Result<Claim, StoreError> {
    let Some(item) = item else {
        return match mailing {
            Mailing::Notification(..) => Err(StoreError::NotFound),
            // No alert, or not this one: nothing to tell.
            Mailing::StockAlert { .. } => Ok(Claim::Sent),
        };
    };
    let this_one = match mailing {
        Mailing::Notification(..) => true,
        Mailing::StockAlert { version, .. } => {
            item.get("version").and_then(|v| v.as_n().ok()) == Some(&version.to_string())
        }
    };
    if this_one && !item.contains_key("emailedAt") {
        Ok(Claim::Held)
    } else {
        Ok(Claim::Sent)
    }
}

impl ClaimEmail for Store {
    #[tracing::instrument(skip_all, fields(mailing = ?mailing))]
    async fn claim_email(&self, mailing: Mailing, lease: Duration) -> Result<Claim, StoreError> {
        let now = Timestamp::now().unix_millis();
        let until = now + u64::try_from(lease.as_millis()).unwrap_or(u64::MAX / 2);
        let free = "attribute_not_exists(emailedAt) \
             AND (attribute_not_exists(emailClaimedUntil) OR emailClaimedUntil < :now)";
        let result = self
            .update_of(mailing, free)
            .update_expression("SET emailClaimedUntil = :until")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Err(error) = result else {
            return Ok(Claim::Granted);
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
            error.as_service_error()
        else {
            return Err(error.into());
        };
        refused(mailing, failed.item())
    }

    #[tracing::instrument(skip_all, fields(mailing = ?mailing))]
    async fn mark_emailed(&self, mailing: Mailing, message_id: &str) -> Result<(), StoreError> {
        let result = self
            .update_of(mailing, "attribute_not_exists(emailedAt)")
            .update_expression(
                "SET emailedAt = :at, emailMessageId = :message REMOVE emailClaimedUntil",
            )
            .expression_attribute_values(":at", s(Timestamp::now().to_string()))
            .expression_attribute_values(":message", s(message_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // What the e-mail was about moved on while it was sent (a newer alert): nothing to mark.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}
