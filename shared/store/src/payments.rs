//! Payment and shipment records of the checkout saga. Each forward step writes its record and the
//! order's status change in one transaction, so the two never disagree, and each is idempotent.

use crate::{
    keys,
    records::record_item,
    reservations::lifecycle_update,
    transaction::{self, key, n, s, CONDITION_FAILED},
    AuthorizePayment, CapturePayment, CreateShipment, GetPayment, RefundPayment, Store, StoreError,
};
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    Order, OrderId, OrderStatus, PaymentState, ShipmentState, Timestamp, Total,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub order_id: OrderId,
    pub authorization_id: String,
    pub amount: Total,
    pub state: PaymentState,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub order_id: OrderId,
    pub tracking_number: String,
    pub created_at: Timestamp,
    /// CREATED until a cancel or a compensation voids it.
    #[serde(default)]
    pub state: ShipmentState,
}

impl Store {
    /// Writes a new record together with `with_order` (the order's transition or a check of its
    /// status); if the record exists, the step ran before and the stored record is returned.
    async fn create_for_order<T: Serialize + DeserializeOwned + Clone>(
        &self,
        at: (String, String),
        body: T,
        with_order: Vec<TransactWriteItem>,
    ) -> Result<T, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(at.clone(), body.clone())?))
            .condition_expression("attribute_not_exists(PK)");
        let mut items = vec![TransactWriteItem::builder().put(put.build()?).build()];
        items.extend(with_order);
        // Concurrent steps and cancels write the same order: conflicts are retried.
        match transaction::settle(&self.client, items).await? {
            None => Ok(body),
            Some(cancelled) if cancelled.failed(0) => self
                .read_record(at)
                .await?
                .ok_or(StoreError::VersionConflict),
            Some(cancelled) if cancelled.any(CONDITION_FAILED) => Err(StoreError::VersionConflict),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }

    /// Moves the payment between states with a condition, optionally with the order's transition.
    async fn move_payment(
        &self,
        order: OrderId,
        from: &[PaymentState],
        to: PaymentState,
        now: Timestamp,
        transition: Option<Update>,
    ) -> Result<bool, StoreError> {
        let names: Vec<String> = from
            .iter()
            .enumerate()
            .map(|(i, _)| format!(":from{i}"))
            .collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("SET #state = :to, updatedAt = :now")
            .condition_expression(format!("#state IN ({})", names.join(", ")))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":to", state_value(to)?)
            .expression_attribute_values(":now", s(now.to_string()));
        for (name, state) in names.iter().zip(from) {
            update = update.expression_attribute_values(name, state_value(*state)?);
        }
        let mut items = vec![TransactWriteItem::builder().update(update.build()?).build()];
        items.extend(transition.map(|t| TransactWriteItem::builder().update(t).build()));
        match transaction::settle(&self.client, items).await? {
            None => Ok(true),
            Some(cancelled) if cancelled.any(CONDITION_FAILED) => Ok(false),
            Some(cancelled) => Err(cancelled.unexpected()),
        }
    }
}

fn state_value(state: PaymentState) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(state).map_err(StoreError::from)
}

impl GetPayment for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn get_payment(&self, order: OrderId) -> Result<Option<Payment>, StoreError> {
        self.read_record(keys::payment(order)).await
    }
}

impl AuthorizePayment for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order.id))]
    async fn record_authorization(
        &self,
        order: &Order,
        now: Timestamp,
    ) -> Result<Payment, StoreError> {
        let payment = Payment {
            order_id: order.id,
            authorization_id: format!("auth_{}", ulid::Ulid::new()),
            amount: order.total.clone(),
            state: PaymentState::Authorized,
            updated_at: now,
        };
        let transition = lifecycle_update(
            &self.table,
            order.id,
            Actor::AuthorizePayment,
            OrderStatus::Paid,
            now,
        )?;
        // Only an order that still holds its units is charged: a compensation may have put
        // them back while the order is RESERVED (see `ReserveOutcome::Released`).
        let held = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::reservation(order.id))))
            .condition_expression("#state = :held")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":held", s("HELD"));
        let with_order = vec![
            TransactWriteItem::builder().update(transition).build(),
            TransactWriteItem::builder()
                .condition_check(held.build()?)
                .build(),
        ];
        self.create_for_order(keys::payment(order.id), payment, with_order)
            .await
    }
}

impl CapturePayment for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn capture_payment(&self, order: OrderId, now: Timestamp) -> Result<bool, StoreError> {
        let transition = lifecycle_update(
            &self.table,
            order,
            Actor::ConfirmOrder,
            OrderStatus::Confirmed,
            now,
        )?;
        if self
            .move_payment(
                order,
                &[PaymentState::Authorized],
                PaymentState::Captured,
                now,
                Some(transition),
            )
            .await?
        {
            return Ok(true);
        }
        match self.get_payment(order).await? {
            Some(payment) if payment.state == PaymentState::Captured => Ok(false),
            Some(_) => Err(StoreError::VersionConflict),
            None => Err(StoreError::NotFound),
        }
    }
}

impl RefundPayment for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn refund_payment(&self, order: OrderId, now: Timestamp) -> Result<bool, StoreError> {
        let refundable = [PaymentState::Authorized, PaymentState::Captured];
        // A refund is a compensation under way: the order goes (back) into the sweeper's index,
        // so that if its execution dies before the compensation ends, the order is resumed and
        // the compensation finished (a CONFIRMED order had left the index with its shipment).
        let reindex = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(order))))
            .update_expression("SET #shard = :shard, #since = :since")
            .condition_expression(format!("#status IN ({})", UNSETTLED_VALUES.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#shard", keys::PENDING_SHARD)
            .expression_attribute_names("#since", keys::PENDING_SINCE)
            .expression_attribute_values(":shard", s(keys::pending_shard(order)))
            .expression_attribute_values(":since", n(now.unix_seconds()));
        let reindex = UNSETTLED_VALUES.iter().zip(lifecycle::UNSHIPPED).try_fold(
            reindex,
            |update, (name, status)| {
                Ok::<_, StoreError>(
                    update.expression_attribute_values(*name, status_value(*status)?),
                )
            },
        )?;
        self.move_payment(
            order,
            &refundable,
            PaymentState::Refunded,
            now,
            Some(reindex.build()?),
        )
        .await
    }
}

impl CreateShipment for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order))]
    async fn create_shipment(
        &self,
        order: OrderId,
        now: Timestamp,
    ) -> Result<Shipment, StoreError> {
        let tracking_number = format!(
            "CW{}",
            ulid::Ulid::new().to_string().get(..16).unwrap_or_default()
        );
        let shipment = Shipment {
            order_id: order,
            tracking_number,
            created_at: now,
            state: ShipmentState::Created,
        };
        // The order stays CONFIRMED until an admin ships it; only a confirmed order gets a
        // shipment, and with it the order leaves the sweeper's in-checkout index: its checkout
        // is done.
        let confirmed = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(order))))
            .update_expression("REMOVE #shard, #since")
            .condition_expression("#status = :confirmed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#shard", keys::PENDING_SHARD)
            .expression_attribute_names("#since", keys::PENDING_SINCE)
            .expression_attribute_values(":confirmed", s("CONFIRMED"));
        let confirmed = TransactWriteItem::builder()
            .update(confirmed.build()?)
            .build();
        // Only for a payment still captured: a compensation that refunded it is under way.
        let captured = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .condition_expression("#state = :captured")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":captured", s("CAPTURED"));
        let captured = TransactWriteItem::builder()
            .condition_check(captured.build()?)
            .build();
        self.create_for_order(keys::shipment(order), shipment, vec![confirmed, captured])
            .await
    }
}

/// The placeholders of `lifecycle::UNSHIPPED`, the statuses a compensation can still act on.
const UNSETTLED_VALUES: [&str; 4] = [":s0", ":s1", ":s2", ":s3"];

fn status_value(
    status: OrderStatus,
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(status).map_err(|e| StoreError::corrupt("status", e))
}
