//! Realtime order status: each status change of an order is pushed to every open WebSocket
//! connection of its customer, and to no one else's; a connection API Gateway reports gone (410)
//! is forgotten. A batch is pushed in the order its events occurred. Pushes are at least once: a
//! redelivered event is pushed again, and a client keys what it shows by order and status.

use crate::{
    consume::{each_event_in_order, ConsumeError, Delivered},
    push::{PushToConnection, Pushed},
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cartwheel_domain::{OrderId, OrderStatus, UserId};
use cartwheel_store::{Applied, CloseConnection, ListConnections};
use serde_json::json;

async fn push_update(
    store: &(impl ListConnections + CloseConnection),
    connections: &impl PushToConnection,
    event: &Delivered,
) -> Result<Applied, ConsumeError> {
    let user: UserId = event.field("userId")?;
    let order: OrderId = event.field("orderId")?;
    let status: OrderStatus = event.field("status")?;
    let previous: Option<OrderStatus> = event.field("previousStatus")?;
    let message = json!({
        "type": "orderStatus", "orderId": order, "status": status,
        "previousStatus": previous, "occurredAt": event.detail["occurredAt"],
    })
    .to_string();
    // Every connection is tried, whatever another's answer: one throttled connection must not
    // keep the update from the others. The message fails (and comes back) if any push did.
    let mut failed = None;
    for connection in store.connections_of(user).await? {
        match connections.push(&connection, message.as_bytes()).await {
            Ok(Pushed::Delivered) => {}
            Ok(Pushed::Gone) => store.close_connection(&connection).await?,
            Err(error) => {
                tracing::warn!(connectionId = %connection, error = %error, "a push failed");
                failed = Some(error);
            }
        }
    }
    match failed {
        Some(error) => Err(error.into()),
        None => Ok(Applied::Now),
    }
}

#[tracing::instrument(skip_all, fields(messages = batch.records.len()))]
pub async fn push_order_updates(
    store: &(impl ListConnections + CloseConnection),
    connections: &impl PushToConnection,
    batch: SqsEvent,
) -> SqsBatchResponse {
    each_event_in_order(&batch, |event| async move {
        push_update(store, connections, &event).await
    })
    .await
}
