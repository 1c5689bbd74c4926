//! Undoing an order, whole: its status change, the refund, the stock put back and the shipment
//! voided, in one transaction conditioned on everything it read, so that no cancel, compensation
//! or give-up is ever half done (see `cartwheel_domain::lifecycle`). The stock of a product
//! deleted since is not put back (there is nothing left to sell it from), and that no longer
//! cancels the rest.

use crate::{
    keys,
    records::Record,
    reservations::{lifecycle_update, transition_update},
    transaction::{self, key, n, s, Item, CONDITION_FAILED},
    Payment, ReadOrderRecords, ReleaseStock, Reservation, SettleOrder, ShipOrder, Shipment, Store,
    StoreError,
};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use cartwheel_domain::{
    lifecycle::Actor, Holdings, Order, OrderId, OrderStatus, PaymentState, ProductId,
    ReservationState, ShipmentState, Timestamp,
};
use serde::de::DeserializeOwned;
use std::collections::HashSet;

/// Rounds of read-then-write before a settlement that keeps meeting concurrent writes gives up.
const ROUNDS: u32 = 8;

/// Everything the saga wrote for one order, read in one consistent Query of its partition.
#[derive(Debug, Clone, Default)]
pub struct OrderRecords {
    pub order: Option<Order>,
    pub reservation: Option<Reservation>,
    pub payment: Option<Payment>,
    pub shipment: Option<Shipment>,
}

impl OrderRecords {
    /// What the order holds: its reservation's, payment's and shipment's states.
    pub fn holdings(&self) -> Holdings {
        Holdings {
            units: self.reservation.as_ref().map(|r| r.state),
            payment: self.payment.as_ref().map(|p| p.state),
            shipment: self.shipment.as_ref().map(|s| s.state),
        }
    }
}

/// What a settlement did; each flag is `false` when there was nothing (left) to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settled {
    /// This call moved the order (not a repeat of an earlier settlement).
    pub moved: bool,
    pub refunded: bool,
    pub released: bool,
    pub voided: bool,
}

fn decode<T: DeserializeOwned>(pk: &str, item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item::<_, Record<T>>(item)
        .map(|r| r.body)
        .map_err(|e| StoreError::corrupt(pk, e))
}

fn condition_check(table: &str, at: (String, String), condition: &str) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(at)))
        .condition_expression(condition)
        .build();
    TransactWriteItem::builder()
        .condition_check(check.expect("table, key and condition are set"))
        .build()
}

/// A conditional move of one record's `state`.
fn move_state(
    table: &str,
    at: (String, String),
    from: &str,
    to: &str,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(at)))
        .update_expression("SET #state = :to, updatedAt = :now")
        .condition_expression("#state = :from")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":from", s(from))
        .expression_attribute_values(":to", s(to))
        .expression_attribute_values(":now", s(now.to_string()));
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

/// Puts a held reservation's units back: the record moves HELD -> RELEASED and each product that
/// still exists gets its units (conditioned on existing, so a delete meanwhile re-plans).
pub(crate) fn release_items(
    table: &str,
    reservation: &Reservation,
    existing: &HashSet<ProductId>,
    now: Timestamp,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut items = vec![move_state(
        table,
        keys::reservation(reservation.order_id),
        "HELD",
        "RELEASED",
        now,
    )?];
    for (product, quantity) in &reservation.lines {
        if !existing.contains(product) {
            continue;
        }
        let restore = Update::builder()
            .table_name(table)
            .set_key(Some(key(keys::product(*product))))
            .update_expression("SET stock = stock + :q, version = version + :one, updatedAt = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":q", n(quantity.units()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(now.to_string()));
        items.push(
            TransactWriteItem::builder()
                .update(restore.build()?)
                .build(),
        );
    }
    Ok(items)
}

fn payment_name(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Authorized => "AUTHORIZED",
        PaymentState::Captured => "CAPTURED",
        PaymentState::Refunded => "REFUNDED",
    }
}

impl Store {
    /// The order's records, as one consistent read of its partition.
    async fn read_order_records(&self, id: OrderId) -> Result<OrderRecords, StoreError> {
        let pk = keys::order_partition(id);
        let items = self
            .query_all(|| {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                    .consistent_read(true)
            })
            .await?;
        let mut records = OrderRecords::default();
        for item in items {
            let sk = item.get(keys::SK).and_then(|v| v.as_s().ok()).cloned();
            match sk.as_deref() {
                Some("ORDER") => records.order = Some(decode(&pk, item)?),
                Some("RESERVATION") => records.reservation = Some(decode(&pk, item)?),
                Some("PAYMENT") => records.payment = Some(decode(&pk, item)?),
                Some("SHIPMENT") => records.shipment = Some(decode(&pk, item)?),
                _ => {}
            }
        }
        // Another attempt's id shares the partition but names no order of its own.
        records.order = records.order.filter(|order| order.id == id);
        Ok(records)
    }

    /// Which of the reservation's products exist now (a consistent read of each).
    async fn existing_products(
        &self,
        reservation: &Reservation,
    ) -> Result<HashSet<ProductId>, StoreError> {
        let mut existing = HashSet::new();
        for (product, _) in &reservation.lines {
            let found = self.item(keys::product(*product), true).await?;
            if found.is_some() {
                existing.insert(*product);
            }
        }
        Ok(existing)
    }

    /// The stock part of a settlement, or nothing when the units are not held.
    async fn release_plan(
        &self,
        reservation: Option<&Reservation>,
        now: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match reservation {
            Some(r) if r.state == ReservationState::Held => {
                let existing = self.existing_products(r).await?;
                release_items(&self.table, r, &existing, now)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// One round: read, plan, write. `Ok(None)` when a concurrent write changed what was read.
    async fn settle_round(
        &self,
        id: OrderId,
        from: &[OrderStatus],
        to: OrderStatus,
        now: Timestamp,
    ) -> Result<Option<Settled>, StoreError> {
        let records = self.read_order_records(id).await?;
        let order = records.order.ok_or(StoreError::NotFound)?;
        let moved = order.status != to;
        if moved && !from.contains(&order.status) {
            return Err(StoreError::VersionConflict);
        }
        let table = &self.table;
        let mut items = Vec::new();
        if moved {
            items.push(
                TransactWriteItem::builder()
                    .update(transition_update(table, id, &[order.status], to, now)?)
                    .build(),
            );
        } else {
            // Settled before: whatever is left (nothing, unless records changed) is done now.
            let to_value = serde_dynamo::to_attribute_value(to)
                .map_err(|e| StoreError::corrupt(keys::order(id).0, e))?;
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(keys::order(id))))
                .condition_expression("#status = :to")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":to", to_value);
            items.push(
                TransactWriteItem::builder()
                    .condition_check(check.build()?)
                    .build(),
            );
        }
        let mut settled = Settled {
            moved,
            ..Settled::default()
        };
        let absent = "attribute_not_exists(PK)";
        match records.payment.as_ref().map(|p| p.state) {
            Some(state @ (PaymentState::Authorized | PaymentState::Captured)) => {
                let at = keys::payment(id);
                items.push(move_state(table, at, payment_name(state), "REFUNDED", now)?);
                settled.refunded = true;
            }
            Some(PaymentState::Refunded) => {}
            None => items.push(condition_check(table, keys::payment(id), absent)),
        }
        let release = self.release_plan(records.reservation.as_ref(), now).await?;
        settled.released = !release.is_empty();
        items.extend(release);
        if records.reservation.is_none() {
            items.push(condition_check(table, keys::reservation(id), absent));
        }
        match records.shipment.as_ref().map(|s| s.state) {
            Some(ShipmentState::Created) => {
                items.push(void_shipment(table, id, now)?);
                settled.voided = true;
            }
            Some(ShipmentState::Voided) => {}
            None => items.push(condition_check(table, keys::shipment(id), absent)),
        }
        match transaction::settle(&self.client, items).await? {
            None => Ok(Some(settled)),
            Some(cancelled) if cancelled.any(CONDITION_FAILED) => Ok(None),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

/// A shipment becomes VOIDED; one written before shipments had a state counts as CREATED.
fn void_shipment(
    table: &str,
    id: OrderId,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::shipment(id))))
        .update_expression("SET #state = :voided, updatedAt = :now")
        .condition_expression(LIVE_SHIPMENT)
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":voided", s("VOIDED"))
        .expression_attribute_values(":created", s("CREATED"))
        .expression_attribute_values(":now", s(now.to_string()));
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

impl SettleOrder for Store {
    #[tracing::instrument(skip_all, fields(orderId = %id, to = ?to))]
    async fn settle_order(
        &self,
        id: OrderId,
        from: &[OrderStatus],
        to: OrderStatus,
        now: Timestamp,
    ) -> Result<Settled, StoreError> {
        for _ in 0..ROUNDS {
            if let Some(settled) = self.settle_round(id, from, to, now).await? {
                return Ok(settled);
            }
        }
        Err(StoreError::Unexpected(format!(
            "order {id} kept changing under its settlement ({ROUNDS} rounds)"
        )))
    }
}

impl ReleaseStock for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn release_stock(&self, order: OrderId) -> Result<bool, StoreError> {
        for _ in 0..ROUNDS {
            let reservation = self
                .read_record::<Reservation>(keys::reservation(order))
                .await?;
            let Some(reservation) = reservation else {
                return Ok(false);
            };
            if reservation.state != ReservationState::Held {
                return Ok(false);
            }
            let existing = self.existing_products(&reservation).await?;
            let items = release_items(&self.table, &reservation, &existing, Timestamp::now())?;
            match transaction::settle(&self.client, items).await? {
                None => return Ok(true),
                // Released meanwhile, or a product deleted meanwhile: read again.
                Some(cancelled) if cancelled.any(CONDITION_FAILED) => continue,
                Some(cancelled) => return Err(cancelled.unexpected()),
            }
        }
        Err(StoreError::Unexpected(format!(
            "the release of order {order} kept meeting concurrent writes"
        )))
    }
}

impl ShipOrder for Store {
    /// CONFIRMED -> SHIPPED only with a live shipment; the reservation's units are committed.
    #[tracing::instrument(skip_all, fields(orderId = %id))]
    async fn ship_order(&self, id: OrderId, now: Timestamp) -> Result<bool, StoreError> {
        let table = &self.table;
        let transition = lifecycle_update(table, id, Actor::Ship, OrderStatus::Shipped, now)?;
        let items = vec![
            TransactWriteItem::builder().update(transition).build(),
            move_state(table, keys::reservation(id), "HELD", "COMMITTED", now)?,
            shipment_live(table, id)?,
        ];
        match transaction::settle(&self.client, items).await? {
            None => Ok(true),
            Some(cancelled) if cancelled.any(CONDITION_FAILED) => {
                let current = self.read_order_records(id).await?.order.map(|o| o.status);
                match current {
                    Some(OrderStatus::Shipped) => Ok(false),
                    Some(_) => Err(StoreError::VersionConflict),
                    None => Err(StoreError::NotFound),
                }
            }
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

/// A check that the order's shipment exists and is live (one written before shipments had a
/// state is live).
fn shipment_live(table: &str, id: OrderId) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(keys::shipment(id))))
        .condition_expression(LIVE_SHIPMENT)
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":created", s("CREATED"));
    Ok(TransactWriteItem::builder()
        .condition_check(check.build()?)
        .build())
}

const LIVE_SHIPMENT: &str =
    "attribute_exists(PK) AND (attribute_not_exists(#state) OR #state = :created)";

impl ReadOrderRecords for Store {
    async fn order_records(&self, id: OrderId) -> Result<OrderRecords, StoreError> {
        self.read_order_records(id).await
    }
}
