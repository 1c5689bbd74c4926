//! Stock reservation for the checkout saga: conditional writes make overselling impossible and
//! every step safe to retry.

use crate::{
    keys,
    records::record_item,
    transaction::{self, key, n, s},
    GetReservation, ReserveStock, Store, StoreError, TransitionOrder,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    Order, OrderId, OrderStatus, ProductId, Quantity, ReservationState, StatusChange, Timestamp,
};
use serde::{Deserialize, Serialize};

/// Exactly what an order took from stock, so that releasing it is exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub order_id: OrderId,
    pub lines: Vec<(ProductId, Quantity)>,
    pub state: ReservationState,
    pub reserved_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved,
    /// This step ran before and reserved the stock, which the order still holds; nothing more
    /// was taken.
    AlreadyReserved,
    /// The order's units were taken and then put back (a compensation ran): nothing is held,
    /// and nothing is taken again under this order.
    Released,
    /// `short_lines` lines were short (their stock condition failed); nothing was taken and the
    /// order is REJECTED: by this call when `rejected_now`, by an earlier run of the step
    /// otherwise (then `short_lines` is 0: it was counted then).
    OutOfStock {
        short_lines: usize,
        rejected_now: bool,
    },
}

fn status_value(status: OrderStatus) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(status).map_err(StoreError::from)
}

/// The conditional status change, as one transaction item.
pub(crate) fn transition_update(
    table: &str,
    order: OrderId,
    from: &[OrderStatus],
    to: OrderStatus,
    now: Timestamp,
) -> Result<Update, StoreError> {
    let change = serde_dynamo::to_attribute_value(vec![StatusChange {
        status: to,
        at: now,
    }])
    .map_err(StoreError::from)?;
    let set = "SET #status = :to, updatedAt = :now, history = list_append(history, :change)";
    // The sparse index holds the orders still in checkout, keyed by the time of their last move
    // (what the sweeper looks for); a move out of checkout leaves it. A move to CONFIRMED has no
    // shipment yet, so it stays until CreateShipment takes it out.
    let in_checkout = to.stays_in_checkout();
    let expression = if in_checkout {
        format!("{set}, #shard = :shard, #since = :since")
    } else {
        format!("{set} REMOVE #shard, #since")
    };
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::order(order))))
        .update_expression(expression)
        .expression_attribute_names("#shard", keys::PENDING_SHARD)
        .expression_attribute_names("#since", keys::PENDING_SINCE)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", status_value(to)?)
        .expression_attribute_values(":now", s(now.to_string()))
        .expression_attribute_values(":change", change);
    if in_checkout {
        update = update
            .expression_attribute_values(":shard", s(keys::pending_shard(order)))
            .expression_attribute_values(":since", n(now.unix_seconds()));
    }
    let mut allowed = Vec::new();
    for (i, status) in from.iter().enumerate() {
        allowed.push(format!(":from{i}"));
        update = update.expression_attribute_values(format!(":from{i}"), status_value(*status)?);
    }
    Ok(update
        .condition_expression(format!("#status IN ({})", allowed.join(", ")))
        .build()?)
}

/// The move `actor` makes to `to`, conditioned on the statuses the lifecycle names for it.
pub(crate) fn lifecycle_update(
    table: &str,
    order: OrderId,
    actor: Actor,
    to: OrderStatus,
    now: Timestamp,
) -> Result<Update, StoreError> {
    transition_update(table, order, lifecycle::transition(actor, to).from, to, now)
}

impl Store {
    async fn order_status(&self, order: OrderId) -> Result<Option<OrderStatus>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(order))))
            .projection_expression("#status")
            .expression_attribute_names("#status", "status")
            .consistent_read(true)
            .send()
            .await?;
        output
            .item
            .and_then(|mut item| item.remove("status"))
            .map(|value| {
                serde_dynamo::from_attribute_value(value)
                    .map_err(|e| StoreError::corrupt(keys::order(order).0, e))
            })
            .transpose()
    }
}

impl TransitionOrder for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn transition_order(
        &self,
        order: OrderId,
        from: &[OrderStatus],
        to: OrderStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let update = transition_update(&self.table, order, from, to, now)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                match self.order_status(order).await? {
                    Some(current) if current == to => Ok(false),
                    Some(_) => Err(StoreError::VersionConflict),
                    None => Err(StoreError::NotFound),
                }
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl ReserveStock for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order.id))]
    async fn reserve_stock(&self, order: &Order) -> Result<ReserveOutcome, StoreError> {
        let now = Timestamp::now();
        let mut items = Vec::with_capacity(order.lines.len() + 2);
        for line in &order.lines {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::product(line.product_id))))
                // The time moves with the stock, so the events of this change carry when it was.
                .update_expression(
                    "SET stock = stock - :q, version = version + :one, updatedAt = :now",
                )
                .condition_expression("attribute_exists(PK) AND stock >= :q")
                .expression_attribute_values(":q", n(line.quantity.units()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", s(now.to_string()));
            items.push(TransactWriteItem::builder().update(update.build()?).build());
        }
        let (pk, sk) = keys::reservation(order.id);
        let reservation = Reservation {
            order_id: order.id,
            lines: order
                .lines
                .iter()
                .map(|l| (l.product_id, l.quantity))
                .collect(),
            state: ReservationState::Held,
            reserved_at: now,
        };
        let record = record_item((pk, sk), reservation)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(PK)");
        items.push(TransactWriteItem::builder().put(put.build()?).build());
        let transition = lifecycle_update(
            &self.table,
            order.id,
            Actor::ReserveStock,
            OrderStatus::Reserved,
            now,
        )?;
        items.push(TransactWriteItem::builder().update(transition).build());

        let lines = order.lines.len();
        // Concurrent reservations and reviews write the same products: conflicts are retried.
        match transaction::settle(&self.client, items).await? {
            None => Ok(ReserveOutcome::Reserved),
            // The reservation exists already: this step ran before. Its state says whether the
            // order still holds the units.
            Some(cancelled) if cancelled.failed(lines) => self.earlier_reservation(order.id).await,
            // Not PENDING and never reserved: rejected before (a retry), or cancelled.
            Some(cancelled) if cancelled.failed(lines + 1) => {
                match self.order_status(order.id).await? {
                    Some(OrderStatus::Rejected) => Ok(ReserveOutcome::OutOfStock {
                        short_lines: 0,
                        rejected_now: false,
                    }),
                    Some(_) => Err(StoreError::VersionConflict),
                    None => Err(StoreError::NotFound),
                }
            }
            Some(cancelled) if (0..lines).any(|i| cancelled.failed(i)) => {
                let short_lines = (0..lines).filter(|&i| cancelled.failed(i)).count();
                let rejected_now = self
                    .transition_order(
                        order.id,
                        lifecycle::transition(Actor::ReserveStock, OrderStatus::Rejected).from,
                        OrderStatus::Rejected,
                        now,
                    )
                    .await?;
                Ok(ReserveOutcome::OutOfStock {
                    short_lines,
                    rejected_now,
                })
            }
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl Store {
    async fn earlier_reservation(&self, order: OrderId) -> Result<ReserveOutcome, StoreError> {
        match self.get_reservation(order).await? {
            Some(r) if r.state == ReservationState::Released => Ok(ReserveOutcome::Released),
            Some(_) => Ok(ReserveOutcome::AlreadyReserved),
            // Its condition failed on a record that is gone: nothing deletes reservations.
            None => Err(StoreError::VersionConflict),
        }
    }
}

impl GetReservation for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn get_reservation(&self, order: OrderId) -> Result<Option<Reservation>, StoreError> {
        self.read_record(keys::reservation(order)).await
    }
}
