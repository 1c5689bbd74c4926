//! Items this code cannot decode (written by a migration, an operator, a benchmark, or the next
//! version with a status this one does not know) reach the publisher through the stream among
//! real orders. Each is dead-lettered once, with its keys, and counted; nothing waits behind it.

use crate::support;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use cartwheel_domain::{Order, OrderStatus, Product, Role, UserId};
use cartwheel_functions::{publish::publish_events, unreadable::UnreadableChanges};
use cartwheel_store::{ListAudit, Store};
use futures::StreamExt;
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};
use support::{sdk_config, StackOptions, TestApp};
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

/// `CARTWHEEL_UNREADABLE_ITEMS` (default 1,000): how many unreadable items are written.
fn unreadable_count() -> usize {
    std::env::var("CARTWHEEL_UNREADABLE_ITEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

type Item = HashMap<String, AttributeValue>;

/// The item stored at `pk`/`sk`.
async fn raw_item(dynamodb: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str) -> Item {
    let got = dynamodb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap();
    got.item.expect("the item is stored")
}

/// An order of one `product` by `customer`, stored as CONFIRMED: one `OrderConfirmed` event.
async fn confirmed_order(store: &Store, customer: UserId, product: &Product) -> Order {
    let confirmed = OrderStatus::Confirmed;
    support::stored_order(store, customer, &[(product, 1)], "tok_visa", confirmed).await
}

/// The `n`th unreadable item: a copy of a real order in a status this version does not know, or
/// of a real product whose stock is not a number, each at keys of its own.
fn unreadable(n: usize, order: &Item, product: &Item) -> Item {
    let mut item = if n.is_multiple_of(2) {
        let mut item = order.clone();
        item.insert("status".into(), AttributeValue::S("ON_HOLD".into()));
        item
    } else {
        let mut item = product.clone();
        item.insert("stock".into(), AttributeValue::S("plenty".into()));
        item
    };
    let sk = item["SK"].as_s().unwrap().clone();
    item.insert(
        "PK".into(),
        AttributeValue::S(format!("{sk}#unreadable-{n}")),
    );
    item
}

async fn write_all(dynamodb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let written = dynamodb
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .unwrap();
            requests = written
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
        }
    }
}

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

/// The `UnreadableRecords` the publisher of `stack` counted, read back from moto's CloudWatch.
async fn unreadable_counted(stack: &str) -> f64 {
    let client = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let by = [("service", stack), ("function", "PublishEventsFunction")];
    let namespace = cartwheel_telemetry::NAMESPACE;
    support::metric_series(&client, namespace, "UnreadableRecords", &by, "Sum")
        .await
        .iter()
        .sum()
}

/// Receives (and deletes) what `queue` holds until it has `at_least` messages and one more
/// receive finds none, or 60 s pass.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, at_least: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() && (all.len() >= at_least || Instant::now() > deadline) {
            return all;
        }
        let mut deletes = Vec::new();
        for (slot, message) in messages.iter().enumerate() {
            let delete = DeleteMessageBatchRequestEntry::builder()
                .id(slot.to_string())
                .receipt_handle(message.receipt_handle().unwrap());
            deletes.push(delete.build().unwrap());
            all.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
        if !deletes.is_empty() {
            let delete = sqs.delete_message_batch().queue_url(queue);
            delete.set_entries(Some(deletes)).send().await.unwrap();
        }
    }
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

/// Every dead letter `queue` receives: each once, with its keys, its change and why.
async fn assert_dead_letters(sqs: &aws_sdk_sqs::Client, queue: &str, items: &[Item]) {
    let expected: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["PK"].as_s().unwrap().clone(),
                i["SK"].as_s().unwrap().clone(),
            )
        })
        .collect();
    let letters = drain(sqs, queue, items.len()).await;
    let keys: Vec<(String, String)> = letters
        .iter()
        .map(|l| {
            (
                l["keys"]["PK"]["S"].to_string(),
                l["keys"]["SK"]["S"].to_string(),
            )
        })
        .map(|(pk, sk)| (pk.replace('"', ""), sk.replace('"', "")))
        .collect();
    assert_eq!(keys.len(), items.len(), "one dead letter per record");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), expected);
    for letter in &letters {
        assert_eq!(letter["eventName"], "INSERT", "{letter}");
        assert!(letter["sequenceNumber"].is_string(), "{letter}");
        assert!(letter["eventID"].is_string(), "{letter}");
        let error = letter["error"].as_str().unwrap_or_default();
        assert!(error.contains("does not decode"), "{letter}");
        let text = letter.to_string();
        assert!(
            !text.contains("tok_visa"),
            "the item itself is not sent: {text}"
        );
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
    let sdk = sdk_config().await;
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

/// Only a record whose dead letter SQS did not take is reported failed, for Lambda to retry.
#[tokio::test]
async fn an_unreadable_record_that_cannot_be_dead_lettered_fails_its_batch_from_there() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let sdk = sdk_config().await;
    let publisher = cartwheel_events::Publisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        app.stack.bus.clone().unwrap(),
    );
    let record = |sequence: &str, status: &str| {
        serde_json::json!({"eventID": format!("e{sequence}"), "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"PK": {"S": format!("ORDER#{sequence}")}, "SK": {"S": "ORDER"}},
            "NewImage": {"status": {"S": status}}, "SequenceNumber": sequence, "SizeBytes": 1}})
    };
    let batch = || {
        serde_json::from_value(
            serde_json::json!({"Records": [record("100", "ON_HOLD"), record("200", "LOST")]}),
        )
        .unwrap()
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = &app.stack.queues["UnreadableChangesQueue"].url;

    let dead_letters = UnreadableChanges::new(sqs.clone(), queue.clone());
    let response = publish_events(&publisher, &dead_letters, batch()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(drain(&sqs, queue, 2).await.len(), 2);

    let nowhere = UnreadableChanges::new(sqs.clone(), format!("{queue}-missing"));
    let response = publish_events(&publisher, &nowhere, batch()).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["100", "200"]);
}

/// Lambda retries a batch from its first failed record, so a dead letter behind a record whose
/// events were not published waits for that retry: sent at once, it was sent twice.
#[tokio::test]
async fn an_unreadable_record_behind_an_unpublished_one_is_dead_lettered_once_by_the_retry() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let sdk = sdk_config().await;
    let bus = app.stack.bus.clone().unwrap();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let publisher = cartwheel_events::Publisher::new(events.clone(), bus.clone());
    let no_bus = cartwheel_events::Publisher::new(events, format!("{bus}-missing"));
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (customer, _) = app.user_token(Role::Customer).await;
    let product = support::product(&app.store, "BEHIND", 5).await;
    let order = confirmed_order(&app.store, customer, &product).await;
    let pk = format!("ORDER#{}", order.id.placement());
    let image = raw_item(&dynamodb, &app.stack.name, &pk, "ORDER").await;
    let image = serde_json::to_value(serde_dynamo::Item::from(image)).unwrap();
    let record = |sequence: &str, new_image: Value| {
        serde_json::json!({"eventID": format!("e{sequence}"), "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"PK": {"S": format!("ORDER#{sequence}")}, "SK": {"S": "ORDER"}},
            "NewImage": new_image, "SequenceNumber": sequence, "SizeBytes": 1}})
    };
    let on_hold = serde_json::json!({"status": {"S": "ON_HOLD"}});
    let records = [
        record("100", on_hold.clone()),
        record("200", image),
        record("300", on_hold),
    ];
    let batch = |from: usize| {
        serde_json::from_value(serde_json::json!({"Records": records[from..].to_vec()})).unwrap()
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = &app.stack.queues["UnreadableChangesQueue"].url;
    let dead_letters = UnreadableChanges::new(sqs.clone(), queue.clone());

    // The bus is gone: 200's event is not published; 100 is behind nothing, 300 is behind 200.
    let response = publish_events(&no_bus, &dead_letters, batch(0)).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["200"]);
    // Lambda's retry, from 200, with the bus back.
    let response = publish_events(&publisher, &dead_letters, batch(1)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let letters = drain(&sqs, queue, 2).await;
    let mut ids: Vec<&str> = letters
        .iter()
        .filter_map(|l| l["eventID"].as_str())
        .collect();
    ids.sort_unstable();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let more = drain(&sqs, queue, 0).await;
    assert_eq!(ids, ["e100", "e300"], "each once; then {more:?}");
    assert!(more.is_empty(), "no second dead letter: {more:?}");
}
