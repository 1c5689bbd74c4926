//! The circuit breaker's shared state (see `BreakerState`) and the simulated processor's outage
//! switch. Each change is one UpdateItem; the trial of a half-open breaker is claimed with a
//! condition, so only one caller at a time tries a processor that may still be down.

use crate::{
    keys,
    transaction::{key, n, updated},
    BreakerStore, ProcessorSwitch, Store, StoreError,
};
use aws_sdk_dynamodb::types::ReturnValue;
use cartwheel_domain::{BreakerPolicy, BreakerState, Timestamp};
use std::time::Duration;

fn number(item: &crate::transaction::Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl BreakerStore for Store {
    async fn breaker_state(&self, name: &str) -> Result<BreakerState, StoreError> {
        let item = self
            .item(keys::breaker(name), true)
            .await?
            .unwrap_or_default();
        Ok(BreakerState {
            failures: number(&item, "failures").map_or(0, |f| u32::try_from(f).unwrap_or(u32::MAX)),
            open_until: number(&item, "openUntil").map(Timestamp::from_unix_millis),
        })
    }

    async fn claim_trial(
        &self,
        name: &str,
        now: Timestamp,
        for_at_most: Duration,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::breaker(name))))
            .update_expression("SET trialUntil = :until")
            .condition_expression(
                "openUntil <= :now AND (attribute_not_exists(trialUntil) OR trialUntil <= :now)",
            )
            .expression_attribute_values(":now", n(now.unix_millis()))
            .expression_attribute_values(":until", n(now.plus(for_at_most).unix_millis()))
            .send()
            .await;
        updated(claimed)
    }

    async fn record_failure(
        &self,
        name: &str,
        policy: BreakerPolicy,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::breaker(name))))
            .update_expression("ADD failures :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await?;
        let failures = counted
            .attributes
            .as_ref()
            .and_then(|a| number(a, "failures"));
        let failures = failures.map_or(u32::MAX, |f| u32::try_from(f).unwrap_or(u32::MAX));
        if !policy.opens_at(failures) {
            return Ok(false);
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::breaker(name))))
            .update_expression("SET openUntil = :until REMOVE trialUntil")
            .expression_attribute_values(":until", n(now.plus(policy.open_for).unix_millis()))
            .send()
            .await?;
        Ok(true)
    }

    async fn record_success(&self, name: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::breaker(name))))
            .update_expression("SET failures = :zero REMOVE openUntil, trialUntil")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await?;
        Ok(())
    }
}

impl ProcessorSwitch for Store {
    async fn processor_down(&self) -> Result<bool, StoreError> {
        Ok(self.item(keys::processor_outage(), false).await?.is_some())
    }

    async fn count_refused_charge(&self) -> Result<(), StoreError> {
        // Only while the switch is on: a charge racing the switch off counts nothing.
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::processor_outage())))
            .update_expression("ADD calls :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        updated(counted).map(|_| ())
    }

    async fn set_processor_down(&self, down: bool) -> Result<(), StoreError> {
        let target = key(keys::processor_outage());
        if down {
            let mut item = target;
            item.insert("calls".into(), n(0));
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await?;
        } else {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(target))
                .send()
                .await?;
        }
        Ok(())
    }

    async fn refused_charges(&self) -> Result<u64, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::processor_outage())))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output
            .item
            .as_ref()
            .and_then(|i| number(i, "calls"))
            .unwrap_or(0))
    }
}
