use crate::{
    keys,
    transaction::{self, key, n, put_new, s, Item, CONDITION_FAILED},
    FindEarlierOrder, FindStalledOrders, GetOrder, ListOrders, PlaceOrder, Store, StoreError,
};
use aws_sdk_dynamodb::{
    operation::put_item::PutItemError,
    types::{Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem},
};
use cartwheel_domain::{IdempotencyKey, Order, OrderId, OrderStatus, ProductId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Attempts when concurrent transactions on the same key conflict (`TransactionConflict`).
const CONFLICT_ATTEMPTS: u32 = 8;

/// The customer, their key, and a fingerprint of what they asked for with it.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub user: UserId,
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

/// An order a customer's Idempotency-Key placed, and the fingerprint of the request that placed
/// it, so that a retry can be told from a reuse of the key for another request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierOrder {
    pub order: Order,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// The key was used before: nothing was written.
    Replayed(Box<EarlierOrder>),
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
    /// Only while the order is in checkout (placed PENDING); see [`keys::PENDING_SHARDS`].
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
    /// The request that placed the order, so that a retry with its key can be told from a reuse.
    #[serde(
        rename = "requestFingerprint",
        skip_serializing_if = "Option::is_none",
        default
    )]
    fingerprint: Option<String>,
    #[serde(flatten)]
    order: Order,
}

fn order_item(order: &Order, fingerprint: &str) -> Result<Item, StoreError> {
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
        fingerprint: Some(fingerprint.to_owned()),
        order: order.clone(),
    };
    serde_dynamo::to_item(record).map_err(|e| StoreError::corrupt(pk, e))
}

fn record_from(item: Item) -> Result<OrderRecord, StoreError> {
    let pk = item
        .get(keys::PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::from_item::<_, OrderRecord>(item).map_err(|e| StoreError::corrupt(pk, e))
}

fn order_from(item: Item) -> Result<Order, StoreError> {
    record_from(item).map(|r| r.order)
}

/// What is in an order's place: the order an earlier attempt stored.
fn earlier_from(item: Item) -> Result<EarlierOrder, StoreError> {
    let record = record_from(item)?;
    let fingerprint = record.fingerprint.ok_or_else(|| {
        StoreError::corrupt(
            record.pk.clone(),
            "an order without its request's fingerprint",
        )
    })?;
    Ok(EarlierOrder {
        order: record.order,
        fingerprint,
    })
}

fn replayed(item: Item) -> Result<Placement, StoreError> {
    earlier_from(item).map(|earlier| Placement::Replayed(Box::new(earlier)))
}

impl Store {
    /// The order stored in `id`'s place, which every id of the same request shares (a consistent
    /// read, so an order accepted a moment ago is found).
    async fn earlier_order_at(&self, id: OrderId) -> Result<Option<EarlierOrder>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(id))))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(earlier_from).transpose()
    }

    async fn earlier_placement(&self, order: &Order) -> Result<Option<Placement>, StoreError> {
        let earlier = self.earlier_order_at(order.id).await?;
        Ok(earlier.map(|earlier| Placement::Replayed(Box::new(earlier))))
    }

    /// An order placed from `items`: one conditional Put, whose refusal answers the order already
    /// in its place (`ReturnValuesOnConditionCheckFailure`), so a replay costs no second call.
    async fn put_order(&self, order: &Order, item: Item) -> Result<Placement, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Placement::Placed),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item.clone() {
                        Some(item) => replayed(item),
                        None => self.earlier_placement(order).await?.ok_or_else(|| {
                            StoreError::Unexpected("the order's condition failed on no item".into())
                        }),
                    }
                }
                _ => Err(error.into()),
            },
        }
    }

    /// An order from the cart: its Put and the removal of the cart lines in one transaction.
    async fn transact_order(
        &self,
        order: &Order,
        item: Item,
        request: &IdempotentRequest,
        cart_lines: &[ProductId],
    ) -> Result<Placement, StoreError> {
        let mut items = vec![put_new(&self.table, item)?];
        for product in cart_lines {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::cart_line(request.user, *product))))
                .build()
                .map_err(StoreError::from)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        for attempt in 0..CONFLICT_ATTEMPTS {
            match transaction::attempt(&self.client, items.clone()).await? {
                None => return Ok(Placement::Placed),
                // The order is there (a replay), or another attempt with its key is mid-flight.
                Some(cancelled)
                    if cancelled.any(CONDITION_FAILED) || cancelled.any(transaction::CONFLICT) =>
                {
                    if let Some(earlier) = self.earlier_placement(order).await? {
                        return Ok(earlier);
                    }
                    tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
                }
                Some(cancelled) => return Err(cancelled.unexpected()),
            }
        }
        self.earlier_placement(order).await?.ok_or_else(|| {
            StoreError::Unexpected("the order kept conflicting with concurrent writes".into())
        })
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
        // The order's id, and so its place in the table, comes from the customer and the key
        // (`OrderId::for_request`): the conditional Put of the order is the idempotency check.
        let item = order_item(order, &request.fingerprint)?;
        if cart_lines.is_empty() {
            self.put_order(order, item).await
        } else {
            self.transact_order(order, item, request, cart_lines).await
        }
    }
}

impl FindEarlierOrder for Store {
    #[tracing::instrument(skip_all, fields(userId = %user))]
    async fn earlier_order(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<EarlierOrder>, StoreError> {
        // The place is drawn from the customer and the key alone; any time names it.
        let any_attempt = OrderId::for_request(user, key, Timestamp::now());
        self.earlier_order_at(any_attempt).await
    }
}

impl GetOrder for Store {
    #[tracing::instrument(skip_all, fields(orderId = %id))]
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        // Another attempt's id shares the order's place but names no order of its own.
        let order = self.item(keys::order(id), false).await?.map(order_from);
        Ok(order.transpose()?.filter(|order| order.id == id))
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
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":pk", s(&partition))
            .expression_attribute_values(":prefix", s("ORDER#"))
            .scan_index_forward(false);
        // A cursor is only valid for the customer it was issued to.
        let (items, next_cursor) = self
            .query_page(query, limit, cursor, &CURSOR_KEYS, |key| {
                key["GSI1PK"] == partition
                    && key["PK"].starts_with(keys::ORDER_PREFIX)
                    && key["SK"] == "ORDER"
            })
            .await?;
        let items = items
            .into_iter()
            .map(order_from)
            .collect::<Result<_, _>>()?;
        Ok(OrderPage { items, next_cursor })
    }
}

impl FindStalledOrders for Store {
    #[tracing::instrument(skip_all)]
    async fn stalled_orders(
        &self,
        moved_before: Timestamp,
        limit: u16,
    ) -> Result<Vec<OrderId>, StoreError> {
        let mut stale = Vec::new();
        for shard in 0..keys::PENDING_SHARDS {
            // Page after page, oldest first: orders a sweep cannot move on (an execution still
            // running) must not hide the newer ones behind them.
            let mut start = None;
            let mut found = 0;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::PENDING_INDEX)
                    .key_condition_expression("#shard = :shard AND #since <= :cutoff")
                    .expression_attribute_names("#shard", keys::PENDING_SHARD)
                    .expression_attribute_names("#since", keys::PENDING_SINCE)
                    .expression_attribute_values(":shard", s(keys::pending_shard_named(shard)))
                    .expression_attribute_values(":cutoff", n(moved_before.unix_seconds()))
                    .limit(i32::from(limit.clamp(1, 100)))
                    .set_exclusive_start_key(start)
                    .send()
                    .await?;
                for item in output.items.unwrap_or_default() {
                    found += 1;
                    // An entry this code cannot read (another version's, an operator's) must not
                    // stop the sweep of every order behind it.
                    match stalled_id(&item) {
                        Ok(id) => stale.push(id),
                        Err(error) => {
                            tracing::error!(%error, "skipped an unreadable entry of the in-checkout index")
                        }
                    }
                }
                start = output.last_evaluated_key;
                if start.is_none() || found >= usize::from(limit) {
                    break;
                }
            }
        }
        Ok(stale)
    }
}

/// The index projects the order's id: its key holds only the id's placement part.
fn stalled_id(item: &Item) -> Result<OrderId, StoreError> {
    let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
    let id = item.get("id").and_then(|v| v.as_s().ok()?.parse().ok());
    id.ok_or_else(|| {
        StoreError::corrupt(pk.cloned().unwrap_or_default(), "an order without its id")
    })
}

const CURSOR_KEYS: [&str; 4] = ["PK", "SK", "GSI1PK", "GSI1SK"];
