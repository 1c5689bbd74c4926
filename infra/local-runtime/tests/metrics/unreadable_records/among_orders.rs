//! Unreadable items written among real orders, a round at a time: each is dead-lettered once and
//! no real change waits behind them in any consumer.

use super::{
    dead_letters::{assert_dead_letters, unreadable_counted},
    items::{confirmed_order, raw_item, unreadable, unreadable_count, write_all, Item},
};
use crate::support::{self, StackOptions, TestApp};
use aws_sdk_dynamodb::types::AttributeValue;
use cartwheel_domain::{Product, Role, UserId};
use cartwheel_store::ListAudit;
use futures::StreamExt;
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{task::JoinHandle, time::Instant};

/// How far behind its write a real change's effects may be, in every consumer. A change passes
/// the publisher's 1 s batching window and a consumer's queue, about 1.5 s here when idle and
/// 2.03 s once on a CI machine busy with a build; one held behind an unreadable item would wait
/// for its batch's retries (up to 10, each a fresh read of the shard) and take far longer.
const WITHIN: Duration = Duration::from_secs(5);
/// Real orders (each with a product whose stock is low), with the unreadable items between them.
const ROUNDS: usize = 10;
/// One round every so often: orders arrive as customers place them, not all in one instant, so
/// what is measured is the wait behind unreadable items, not a burst's own queueing.
const PACE: Duration = Duration::from_millis(500);

/// A real change whose effects every consumer must show: an order confirmed, or a product created
/// with low stock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Order(String),
    LowStock(String),
}

/// Each real change, with the moment its write began.
type Written = Vec<(Change, Instant)>;

/// Whether every consumer has applied `change`: the audit trail holds its events, and the sales,
/// notification and stock-alert consumers their dedup records; an order was pushed to its
/// customer's WebSocket.
async fn applied(
    app: &TestApp,
    dynamodb: &aws_sdk_dynamodb::Client,
    change: &Change,
    pushed: &Mutex<BTreeSet<String>>,
) -> bool {
    let (entity, expected): (&str, &[(&str, Option<&str>)]) = match change {
        Change::Order(id) => {
            if !pushed.lock().unwrap().contains(&format!("{id}#CONFIRMED")) {
                return false;
            }
            (
                id,
                &[
                    ("OrderConfirmed", Some("sales")),
                    ("OrderConfirmed", Some("notifications")),
                ],
            )
        }
        Change::LowStock(id) => (
            id,
            &[("ProductCreated", None), ("StockLow", Some("stock-alerts"))],
        ),
    };
    let trail = app.store.list_audit(entity, 10, None).await.unwrap();
    for (detail_type, consumer) in expected {
        let Some(record) = trail.items.iter().find(|r| r.detail_type == *detail_type) else {
            return false;
        };
        let Some(consumer) = consumer else { continue };
        let dedup = format!("DEDUP#{consumer}#{}", record.event_id);
        let found = dynamodb
            .get_item()
            .table_name(&app.stack.name)
            .key("PK", AttributeValue::S(dedup))
            .key("SK", AttributeValue::S("DEDUP".into()))
            .send()
            .await
            .unwrap();
        if found.item.is_none() {
            return false;
        }
    }
    true
}

/// The statuses pushed to the customer's socket, as `orderId#status`, recorded as they arrive.
async fn pushes(app: &TestApp, token: &str) -> Arc<Mutex<BTreeSet<String>>> {
    let url = format!("{}/?token={token}", app.ws_url);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let pushed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let seen = Arc::clone(&pushed);
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let text = message.into_text().unwrap_or_default();
            if let Ok(update) = serde_json::from_str::<Value>(&text) {
                let pushed = format!("{}#{}", update["orderId"], update["status"]);
                seen.lock().unwrap().insert(pushed.replace('"', ""));
            }
        }
    });
    pushed
}

/// One round every `PACE`: its share of `items`, then an order of `customer` confirmed and a
/// product created with low stock, each logged with the moment its write began.
fn write_among_orders(
    app: &TestApp,
    dynamodb: &aws_sdk_dynamodb::Client,
    items: Vec<Item>,
    products: Vec<Product>,
    customer: UserId,
) -> (JoinHandle<()>, Arc<Mutex<Written>>) {
    let written: Arc<Mutex<Written>> = Arc::default();
    let log = Arc::clone(&written);
    let (store, dynamodb, table) = (app.store.clone(), dynamodb.clone(), app.stack.name.clone());
    let writer = tokio::spawn(async move {
        let per_round = items.len().div_ceil(ROUNDS).max(1);
        let mut chunks = items.chunks(per_round);
        let start = Instant::now();
        for (i, product) in products.iter().enumerate() {
            tokio::time::sleep_until(start + PACE * i as u32).await;
            let share = chunks.next().unwrap_or_default().to_vec();
            write_all(&dynamodb, &table, share).await;
            let at = Instant::now();
            let order = confirmed_order(&store, customer, product).await;
            let order = Change::Order(order.id.to_string());
            log.lock().unwrap().push((order, at));
            let at = Instant::now();
            let low = support::product(&store, &format!("LOW-{i}"), 3).await;
            log.lock()
                .unwrap()
                .push((Change::LowStock(low.id.to_string()), at));
        }
    });
    (writer, written)
}

/// How long after its write each change was in every consumer; `None` if it was not within
/// 3 × `WITHIN` of the last write.
async fn time_changes(
    app: &TestApp,
    dynamodb: &aws_sdk_dynamodb::Client,
    pushed: &Mutex<BTreeSet<String>>,
    writer: JoinHandle<()>,
    written: &Mutex<Written>,
) -> Vec<(Change, Option<Duration>)> {
    let mut took: BTreeMap<Change, Duration> = BTreeMap::new();
    let mut last_write = Instant::now();
    loop {
        let all_written = writer.is_finished();
        let log = written.lock().unwrap().clone();
        let pending: Vec<_> = log.iter().filter(|(c, _)| !took.contains_key(c)).collect();
        // All at once, so that a check's own time adds little to what it measures.
        let checks = pending
            .iter()
            .map(|(change, _)| applied(app, dynamodb, change, pushed));
        let found = futures::future::join_all(checks).await;
        for ((change, at), found) in pending.into_iter().zip(found) {
            last_write = last_write.max(*at);
            if found {
                took.insert(change.clone(), at.elapsed());
            }
        }
        if all_written && (took.len() == log.len() || last_write.elapsed() > WITHIN * 3) {
            return log
                .into_iter()
                .map(|(c, _)| (c.clone(), took.get(&c).copied()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn unreadable_items_are_dead_lettered_once_and_hold_up_no_event_of_any_order() {
    // The publisher's count lands in moto's CloudWatch, as it would in AWS.
    support::collect_metrics();
    let options = StackOptions {
        play_pipes: false,
        schedule_every: Some(Duration::from_secs(3600)),
        ..StackOptions::default()
    };
    let app = TestApp::start_stack(options).await;
    let sdk = app.sdk.clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (customer, token) = app.user_token(Role::Customer).await;
    let pushed = pushes(&app, &token).await;

    // The unreadable items are copies of a real order and product, changed as another writer would.
    let mut products = Vec::new();
    for i in 0..ROUNDS {
        products.push(support::product(&app.store, &format!("REAL-{i}"), 50).await);
    }
    let model = confirmed_order(&app.store, customer, &products[0]).await;
    let model_pk = format!("ORDER#{}", model.id.placement());
    let order_item = raw_item(&dynamodb, &app.stack.name, &model_pk, "ORDER").await;
    let product_pk = format!("PRODUCT#{}", products[0].id);
    let product_item = raw_item(&dynamodb, &app.stack.name, &product_pk, "PRODUCT").await;
    let items: Vec<Item> = (0..unreadable_count())
        .map(|n| unreadable(n, &order_item, &product_item))
        .collect();

    let (writer, written) = write_among_orders(&app, &dynamodb, items.clone(), products, customer);
    let took = time_changes(&app, &dynamodb, &pushed, writer, &written).await;
    let late: Vec<_> = took
        .iter()
        .filter(|(_, t)| t.is_none_or(|t| t > WITHIN))
        .collect();
    assert!(
        late.is_empty(),
        "not in every consumer within {WITHIN:?} ({} of {}): {late:?}",
        late.len(),
        took.len()
    );
    eprintln!(
        "slowest change: {:?}",
        took.iter().filter_map(|(_, t)| *t).max()
    );

    // Each unreadable record is dead-lettered once, with its keys and why, and counted.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    assert_dead_letters(
        &sqs,
        &app.stack.queues["UnreadableChangesQueue"].url,
        &items,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut counted = unreadable_counted(&app.stack.name).await;
    while counted < items.len() as f64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        counted = unreadable_counted(&app.stack.name).await;
    }
    assert_eq!(counted, items.len() as f64);
    let unpublished = &app.stack.queues["UnpublishedChangesQueue"].url;
    let received = sqs.receive_message().queue_url(unpublished).send().await;
    assert!(
        received.unwrap().messages().is_empty(),
        "no batch ran out of retries"
    );
}
