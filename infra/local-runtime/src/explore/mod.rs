//! The fault-schedule explorer (`scripts/explore`): many seeded schedules of concurrent orders
//! through the checkout saga's real step handlers against DynamoDB Local, following the ASL's
//! Retry and Catch, with faults injected, and the lifecycle's invariants checked from the table
//! after each. A broken schedule prints its seed and its log; `--replay SEED` runs it again.

pub mod check;
pub mod pipe;
pub mod rng;
pub mod saga;
pub mod schedule;

use crate::{states::asl, Cause};
use aws_sdk_dynamodb::types::AttributeValue;
use cartwheel_domain::BreakerPolicy;
use cartwheel_store::Store;
use saga::FaultRates;
use std::{collections::HashMap, time::Duration};

/// DynamoDB did not take an item the explorer wrote.
#[derive(Debug, thiserror::Error)]
#[error("PutItem of an item this version cannot read failed")]
pub struct WriteError(#[source] Cause);

pub struct Explorer {
    pub store: Store,
    pub machine: asl::Machine,
    pub breaker: BreakerPolicy,
    pub rates: FaultRates,
    /// The table's stream, routed to the sales consumer.
    pub pipe: std::sync::Arc<pipe::Pipe>,
}

/// The faults of a first execution, per mille of step invocations.
pub const RATES: FaultRates = FaultRates {
    failing_step: 300,
    crash_before: 60,
    crash_after: 80,
    duplicate: 50,
    stop: 40,
};

/// A breaker that opens quickly and closes soon, so the processor's outages matter.
pub const BREAKER: BreakerPolicy = BreakerPolicy {
    threshold: 3,
    open_for: Duration::from_millis(200),
};

impl Explorer {
    /// Items this version cannot read, as a migration or the next version might write them: an
    /// order in a status it does not know, in the sweeper's index, without its id.
    pub async fn write_unreadable(&self) -> Result<(), WriteError> {
        let id = ulid::Ulid::new().to_string();
        let item = HashMap::from([
            (
                "PK".to_owned(),
                AttributeValue::S(format!("ORDER#{}", &id[10..])),
            ),
            ("SK".to_owned(), AttributeValue::S("ORDER".into())),
            ("status".to_owned(), AttributeValue::S("ON_HOLD".into())),
            (
                "pendingShard".to_owned(),
                AttributeValue::S("PENDING#0".into()),
            ),
            ("pendingSince".to_owned(), AttributeValue::N("0".into())),
        ]);
        self.store
            .client()
            .put_item()
            .table_name(self.store.table_name())
            .set_item(Some(item))
            .send()
            .await
            .map(drop)
            .map_err(|e| WriteError(e.into()))
    }
}

/// The lifecycle as a Markdown table, for the README.
pub fn lifecycle_table() -> String {
    let mut table = String::from(
        "| who | from | to | guard | after: units / payment / shipment |\n|---|---|---|---|---|\n",
    );
    for row in cartwheel_domain::lifecycle::LIFECYCLE {
        let from: Vec<String> = row.from.iter().map(|s| format!("{s:?}")).collect();
        let show = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        table.push_str(&format!(
            "| {:?} | {} | {:?} | {} | {} / {} / {} |\n",
            row.actor,
            if from.is_empty() {
                "—".into()
            } else {
                from.join(", ")
            },
            row.to,
            row.guard,
            show(row.after.units.map(|u| format!("{u:?}"))),
            show(row.after.payment.map(|p| format!("{p:?}"))),
            show(row.after.shipment.map(|s| format!("{s:?}"))),
        ));
    }
    table
}
