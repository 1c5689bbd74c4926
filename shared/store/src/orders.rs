use crate::{
    keys,
    transaction::{self, key, n, put_new, s, Item, CONDITION_FAILED},
    FindStalePendingOrders, GetOrder, ListOrders, PlaceOrder, Store, StoreError,
};
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use cartwheel_domain::{IdempotencyKey, Order, OrderId, OrderStatus, ProductId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, time::Duration};

/// How long an Idempotency-Key is remembered (DynamoDB's TTL removes the record afterwards).
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
/// Attempts when concurrent transactions on the same key conflict (`TransactionConflict`).
const CONFLICT_ATTEMPTS: u32 = 8;

/// The customer, their key, and a fingerprint of what they asked for with it.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub user: UserId,
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// The key was used before, for this order with this request fingerprint.
    Replayed {
        order_id: OrderId,
        fingerprint: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct OrderRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    /// Only while the order is PENDING; see [`keys::PENDING_SHARDS`].
    #[serde(
        rename = "pendingShard",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pending_shard: Option<String>,
    #[serde(
        rename = "pendingSince",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pending_since: Option<i64>,
    #[serde(flatten)]
    order: Order,
}

fn order_item(order: &Order) -> Result<Item, StoreError> {
    let (pk, sk) = keys::order(order.id);
    let record = OrderRecord {
        pk: pk.clone(),
        sk,
        gsi1pk: keys::orders_of(order.user_id),
        gsi1sk: keys::order_sort_key(order.created_at, order.id),
        pending_shard: (order.status == OrderStatus::Pending)
            .then(|| keys::pending_shard(order.id)),
        pending_since: (order.status == OrderStatus::Pending)
            .then(|| order.created_at.unix_seconds()),
        order: order.clone(),
    };
    serde_dynamo::to_item(record).map_err(|e| StoreError::corrupt(pk, e))
}

fn order_from(item: Item) -> Result<Order, StoreError> {
    let pk = item
        .get(keys::PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::from_item::<_, OrderRecord>(item)
        .map(|r| r.order)
        .map_err(|e| StoreError::corrupt(pk, e))
}

impl Store {
    async fn idempotency_record(
        &self,
        request: &IdempotentRequest,
    ) -> Result<Option<Placement>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::idempotency(request.user, &request.key))))
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let order_id = text("orderId").and_then(|id| id.parse().ok());
        match (order_id, text("fingerprint")) {
            (Some(order_id), Some(fingerprint)) => Ok(Some(Placement::Replayed {
                order_id,
                fingerprint,
            })),
            _ => Err(StoreError::corrupt(
                keys::idempotency(request.user, &request.key).0,
                "no orderId or fingerprint",
            )),
        }
    }

    fn placement_items(
        &self,
        order: &Order,
        request: &IdempotentRequest,
        cart_lines: &[ProductId],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut record = key(keys::idempotency(request.user, &request.key));
        record.insert("orderId".into(), s(order.id.to_string()));
        record.insert("fingerprint".into(), s(request.fingerprint.clone()));
        record.insert(
            "expiresAt".into(),
            n(order.created_at.unix_seconds() + IDEMPOTENCY_TTL_SECONDS),
        );
        let mut items = vec![
            put_new(&self.table, order_item(order)?)?,
            put_new(&self.table, record)?,
        ];
        for product in cart_lines {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::cart_line(request.user, *product))))
                .build()
                .map_err(|e| StoreError::Dynamo(e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(items)
    }
}

impl PlaceOrder for Store {
    #[tracing::instrument(skip_all, fields(orderId = %order.id))]
    async fn place_order(
        &self,
        order: &Order,
        request: &IdempotentRequest,
        cart_lines: &[ProductId],
    ) -> Result<Placement, StoreError> {
        let items = self.placement_items(order, request, cart_lines)?;
        // The transaction is the idempotency check: its Put of the key's record is conditional, so
        // a new request costs one call, and only a refused one reads what holds the key.
        for attempt in 0..CONFLICT_ATTEMPTS {
            match transaction::attempt(&self.client, items.clone()).await? {
                None => return Ok(Placement::Placed),
                // The key is taken (a replay), or another request with it is mid-flight.
                Some(cancelled)
                    if cancelled.any(CONDITION_FAILED) || cancelled.any("TransactionConflict") =>
                {
                    if let Some(earlier) = self.idempotency_record(request).await? {
                        return Ok(earlier);
                    }
                    tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
                }
                Some(cancelled) => return Err(cancelled.unexpected()),
            }
        }
        match self.idempotency_record(request).await? {
            Some(earlier) => Ok(earlier),
            None => Err(StoreError::Dynamo(
                "the order kept conflicting with concurrent writes".into(),
            )),
        }
    }
}

impl GetOrder for Store {
    #[tracing::instrument(skip_all, fields(orderId = %id))]
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.item(keys::order(id), false)
            .await?
            .map(order_from)
            .transpose()
    }
}

impl ListOrders for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn list_orders(
        &self,
        user: UserId,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        let partition = keys::orders_of(user);
        let start = cursor.map(|c| decode_cursor(c, &partition)).transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":prefix", s("ORDER#"))
            .scan_index_forward(false)
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let next_cursor = output.last_evaluated_key.as_ref().and_then(encode_cursor);
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(order_from)
            .collect::<Result<_, _>>()?;
        Ok(OrderPage { items, next_cursor })
    }
}

impl FindStalePendingOrders for Store {
    #[tracing::instrument(skip_all)]
    async fn stale_pending_orders(
        &self,
        placed_before: Timestamp,
        limit: u16,
    ) -> Result<Vec<OrderId>, StoreError> {
        let mut stale = Vec::new();
        for shard in 0..keys::PENDING_SHARDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::PENDING_INDEX)
                .key_condition_expression("#shard = :shard AND #since <= :cutoff")
                .expression_attribute_names("#shard", keys::PENDING_SHARD)
                .expression_attribute_names("#since", keys::PENDING_SINCE)
                .expression_attribute_values(":shard", s(keys::pending_shard_named(shard)))
                .expression_attribute_values(":cutoff", n(placed_before.unix_seconds()))
                .limit(i32::from(limit))
                .send()
                .await?;
            for item in output.items.unwrap_or_default() {
                let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
                let id = pk.and_then(|pk| pk.strip_prefix("ORDER#")?.parse().ok());
                stale.push(id.ok_or_else(|| {
                    StoreError::corrupt(pk.cloned().unwrap_or_default(), "not an order key")
                })?);
            }
        }
        Ok(stale)
    }
}

const CURSOR_KEYS: [&str; 4] = ["PK", "SK", "GSI1PK", "GSI1SK"];

fn encode_cursor(key: &Item) -> Option<String> {
    let key: BTreeMap<&str, &str> = CURSOR_KEYS
        .iter()
        .map(|name| Some((*name, key.get(*name)?.as_s().ok()?.as_str())))
        .collect::<Option<_>>()?;
    serde_json::to_vec(&key)
        .ok()
        .map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// A cursor is only valid for the customer it was issued to.
fn decode_cursor(cursor: &str, partition: &str) -> Result<Item, StoreError> {
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let key: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    let well_formed = key.len() == CURSOR_KEYS.len()
        && CURSOR_KEYS.iter().all(|k| key.contains_key(*k))
        && key["GSI1PK"] == partition
        && key["PK"].starts_with("ORDER#")
        && key["SK"] == "ORDER";
    if !well_formed {
        return Err(StoreError::InvalidCursor);
    }
    Ok(key.into_iter().map(|(k, v)| (k, s(v))).collect())
}
