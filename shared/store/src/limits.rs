//! Fixed-window counters for abuse limits: one item per subject and window, deleted by the table's
//! TTL. Taking a slot is one conditional `ADD`, so concurrent requests can never take more slots
//! than the limit allows, on any number of instances.

use crate::{
    keys,
    transaction::{key, n, updated},
    GiveBackSlot, Store, StoreError, TakeSlot,
};
use cartwheel_domain::{RateLimit, Timestamp};

/// What a limit counts, for whom: `Counter::new("login-account", "ann@example.com")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub scope: &'static str,
    pub subject: String,
}

impl Counter {
    pub fn new(scope: &'static str, subject: impl Into<String>) -> Self {
        Self {
            scope,
            subject: subject.into(),
        }
    }

    fn key(&self, limit: RateLimit, now: Timestamp) -> crate::transaction::Item {
        key(keys::limit_window(
            self.scope,
            &self.subject,
            limit.window_start(now),
        ))
    }
}

impl TakeSlot for Store {
    #[tracing::instrument(skip_all, fields(scope = counter.scope))]
    async fn take_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter.key(limit, now)))
            .update_expression("ADD hits :one SET expiresAt = :forget")
            .condition_expression("attribute_not_exists(hits) OR hits < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(limit.max()))
            .expression_attribute_values(":forget", n(limit.forget_after(now)))
            .send()
            .await;
        updated(taken)
    }
}

impl GiveBackSlot for Store {
    #[tracing::instrument(skip_all, fields(scope = counter.scope))]
    async fn give_back_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        taken_at: Timestamp,
    ) -> Result<(), StoreError> {
        // Only a counter that exists: a slot taken in a window whose item TTL has deleted is gone.
        let given = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter.key(limit, taken_at)))
            .update_expression("ADD hits :minus_one")
            .condition_expression("hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        updated(given).map(|_| ())
    }
}
