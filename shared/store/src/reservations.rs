//! Stock reservation for the checkout saga: conditional writes make overselling impossible and
//! every step safe to retry.

use crate::{
    keys,
    records::record_item,
    transaction::{self, key, n, s},
    GetReservation, ReleaseStock, ReserveStock, Store, StoreError, TransitionOrder,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use cartwheel_domain::{Order, OrderId, OrderStatus, ProductId, Quantity, StatusChange, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationState {
    Held,
    Released,
}

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
    /// This step ran before and reserved the stock; nothing more was taken.
    AlreadyReserved,
    /// `short_lines` lines were short (their stock condition failed); nothing was taken and the
    /// order is REJECTED.
    OutOfStock {
        short_lines: usize,
    },
}

pub(crate) fn build<T>(
    built: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Dynamo(e.to_string()))
}

fn status_value(status: OrderStatus) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(status).map_err(|e| StoreError::Dynamo(e.to_string()))
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
    .map_err(|e| StoreError::Dynamo(e.to_string()))?;
    let set = "SET #status = :to, updatedAt = :now, history = list_append(history, :change)";
    // The sparse index holds the orders still in checkout, keyed by the time of their last move
    // (what the sweeper looks for); a move out of checkout leaves it.
    let in_checkout = to.in_checkout();
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
    build(
        update
            .condition_expression(format!("#status IN ({})", allowed.join(", ")))
            .build(),
    )
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
    ) -> Result<(), StoreError> {
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
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                match self.order_status(order).await? {
                    Some(current) if current == to => Ok(()),
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
            items.push(
                TransactWriteItem::builder()
                    .update(build(update.build())?)
                    .build(),
            );
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
        items.push(
            TransactWriteItem::builder()
                .put(build(put.build())?)
                .build(),
        );
        let transition = transition_update(
            &self.table,
            order.id,
            &[OrderStatus::Pending],
            OrderStatus::Reserved,
            now,
        )?;
        items.push(TransactWriteItem::builder().update(transition).build());

        let lines = order.lines.len();
        // Concurrent reservations and reviews write the same products: conflicts are retried.
        match transaction::settle(&self.client, items).await? {
            None => Ok(ReserveOutcome::Reserved),
            // The reservation exists already: this step ran before.
            Some(cancelled) if cancelled.failed(lines) => Ok(ReserveOutcome::AlreadyReserved),
            Some(cancelled) if (0..lines).any(|i| cancelled.failed(i)) => {
                let short_lines = (0..lines).filter(|&i| cancelled.failed(i)).count();
                self.transition_order(
                    order.id,
                    &[OrderStatus::Pending],
                    OrderStatus::Rejected,
                    now,
                )
                .await?;
                Ok(ReserveOutcome::OutOfStock { short_lines })
            }
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

impl GetReservation for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn get_reservation(&self, order: OrderId) -> Result<Option<Reservation>, StoreError> {
        self.read_record(keys::reservation(order)).await
    }
}

impl ReleaseStock for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn release_stock(&self, order: OrderId) -> Result<bool, StoreError> {
        let Some(reservation) = self.get_reservation(order).await? else {
            return Ok(false);
        };
        if reservation.state == ReservationState::Released {
            return Ok(false);
        }
        let mut items = Vec::with_capacity(reservation.lines.len() + 1);
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::reservation(order))))
            .update_expression("SET #state = :released")
            .condition_expression("#state = :held")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":released", s("RELEASED"))
            .expression_attribute_values(":held", s("HELD"));
        items.push(
            TransactWriteItem::builder()
                .update(build(mark.build())?)
                .build(),
        );
        for (product, quantity) in &reservation.lines {
            // A product deleted since gets no stock back: there is nothing left to sell it from.
            let restore = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::product(*product))))
                .update_expression(
                    "SET stock = stock + :q, version = version + :one, updatedAt = :now",
                )
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":q", n(quantity.units()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", s(Timestamp::now().to_string()));
            items.push(
                TransactWriteItem::builder()
                    .update(build(restore.build())?)
                    .build(),
            );
        }
        match transaction::attempt(&self.client, items).await? {
            None => Ok(true),
            // Released meanwhile by a concurrent run of this step.
            Some(cancelled) if cancelled.failed(0) => Ok(false),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}
