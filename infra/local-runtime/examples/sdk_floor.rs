//! The floor under the runtime's CPU per request: the DynamoDB calls a route makes, sent through
//! the official SDK alone, from a process built and scheduled as the runtime is (the same
//! profile, allocator and tokio workers), 16 at a time as `wrk`'s 16 connections send. It prints
//! the requests a second and this process's CPU per request, read from `/proc`, after a warm-up.
//! docs/benchmarks.md says what the runtime spends above it.
//!
//! - `get`: `GET /products/{id}`'s one `GetItem`.
//! - `orders`: `POST /orders`' three calls in its order: the products' `BatchGetItem`, the order
//!   limit's conditional `UpdateItem` (on a counter of its own), and the order's conditional
//!   `PutItem`, of an order the table holds, re-keyed each time so that it is new.
//!
//! Against a running stack (`scripts/start`, or the DynamoDB Local of a benchmark), with the AWS
//! environment, `PRODUCT_ID` (a product's id) and, for `orders`, `ORDER_ID` (an order's), it
//! prints the rates after `WARM_UP` seconds (default: `SECONDS`, 10):
//! `cargo run --profile offline -p cartwheel-local --example sdk_floor -- get|orders [SECONDS [WARM_UP]]`

use aws_sdk_dynamodb::{
    types::{
        AttributeValue, KeysAndAttributes, ReturnConsumedCapacity,
        ReturnValuesOnConditionCheckFailure,
    },
    Client,
};
use cartwheel_store::keys;
use std::{
    collections::HashMap,
    error::Error,
    future::Future,
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 16;
/// As the runtime's capacity meter makes every function's call ask.
const TOTAL: ReturnConsumedCapacity = ReturnConsumedCapacity::Total;

/// Orders this process has placed: each is stored under a partition of its own.
static PLACED: AtomicU64 = AtomicU64::new(0);

type Item = HashMap<String, AttributeValue>;
type Failure = Box<dyn Error + Send + Sync>;

/// An SDK error with its whole cause, not only "service error".
fn said(error: impl Error) -> Failure {
    aws_sdk_dynamodb::error::DisplayErrorContext(error)
        .to_string()
        .into()
}

/// User and system CPU seconds this process has spent.
fn cpu_seconds() -> Result<f64, Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("no command in /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    // utime and stime, in clock ticks of 1/100 s on Linux.
    Ok((fields[11].parse::<f64>()? + fields[12].parse::<f64>()?) / 100.0)
}

fn key((pk, sk): (String, String)) -> Item {
    [("PK", pk), ("SK", sk)]
        .map(|(name, value)| (name.to_owned(), AttributeValue::S(value)))
        .into()
}

/// The item at `key`, which must exist.
async fn stored(client: &Client, table: &str, key: Item) -> Result<Item, Box<dyn Error>> {
    let got = (client.get_item().table_name(table))
        .set_key(Some(key.clone()))
        .send()
        .await?;
    got.item
        .ok_or_else(|| format!("no item {key:?} in {table}").into())
}

/// The id `name` names in the environment: `PRODUCT_ID`, `ORDER_ID`.
fn id<T: FromStr>(name: &str) -> Result<T, Box<dyn Error>> {
    let value = std::env::var(name)
        .map_err(|_| format!("set {name}; the README's first order shows one"))?;
    value
        .parse()
        .map_err(|_| format!("{name} {value} is not an id").into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `GET /products/{id}`: one `GetItem` of a product.
async fn get(client: Client, table: Arc<str>, product: Arc<Item>) -> Result<(), Failure> {
    (client.get_item().table_name(&*table))
        .set_key(Some((*product).clone()))
        .return_consumed_capacity(TOTAL)
        .send()
        .await
        .map_err(said)?;
    Ok(())
}

/// `POST /orders`' three calls; `order` is stored again under a partition of the same length,
/// new each time.
async fn order(
    client: Client,
    table: Arc<str>,
    (product, order): (Arc<Item>, Arc<Item>),
) -> Result<(), Failure> {
    let wanted = KeysAndAttributes::builder()
        .keys((*product).clone())
        .build()?;
    (client.batch_get_item().request_items(&*table, wanted))
        .return_consumed_capacity(TOTAL)
        .send()
        .await
        .map_err(said)?;
    (client.update_item().table_name(&*table))
        .set_key(Some(key(keys::limit_window("sdk-floor", "one", 0))))
        .update_expression("ADD hits :one SET expiresAt = :forget")
        .condition_expression("attribute_not_exists(hits) OR hits < :max")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(1_000_000_000_000))
        .expression_attribute_values(":forget", n(1_800_000_000))
        .return_consumed_capacity(TOTAL)
        .send()
        .await
        .map_err(said)?;
    let place = order["PK"]
        .as_s()
        .map_err(|_| "an order's PK is a string")?;
    let placed = PLACED.fetch_add(1, Ordering::Relaxed);
    let fresh = format!("FLOOR{:08}{placed:010}", std::process::id());
    // The same length as the stored order's partition, so that the item is the same size.
    let rest = &place[fresh.len().min(place.len())..];
    let mut item = (*order).clone();
    item.insert("PK".into(), AttributeValue::S(format!("{fresh}{rest}")));
    (client.put_item().table_name(&*table))
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .return_consumed_capacity(TOTAL)
        .send()
        .await
        .map_err(said)?;
    Ok(())
}

/// Runs `request` from `CONCURRENCY` tasks for `seconds`: (requests, CPU seconds).
async fn run<F, Fut>(seconds: u64, request: F) -> Result<(u64, f64), Box<dyn Error>>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send,
{
    let (cpu, started) = (cpu_seconds()?, Instant::now());
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < Duration::from_secs(seconds) {
                    request().await?;
                    done += 1;
                }
                Ok::<_, Failure>(done)
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await?.map_err(|e| e.to_string())?;
    }
    Ok((done, cpu_seconds()? - cpu))
}

async fn measure<F, Fut>(what: &str, seconds: [u64; 2], request: F) -> Result<(), Box<dyn Error>>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send,
{
    for (phase, seconds) in ["warm-up", "measured"].into_iter().zip(seconds) {
        if seconds == 0 {
            continue;
        }
        let (done, cpu) = run(seconds, request.clone()).await?;
        let (per_s, cpu_ms) = (done as f64 / seconds as f64, cpu * 1000.0 / done as f64);
        println!(
            "{phase}: {per_s:.0} {what}/s, {cpu_ms:.3} ms of CPU each ({CONCURRENCY} at a time)"
        );
        if phase == "measured" {
            // For scripts/bench-paths and bench-ab --floor, which read the stack's CPU around it.
            println!(r#"FLOOR_JSON {{"done": {done}, "per_s": {per_s}, "cpu_ms": {cpu_ms}}}"#);
        }
    }
    Ok(())
}

/// The route whose calls are made.
#[derive(Debug, Clone, Copy)]
enum Route {
    Get,
    Orders,
}

async fn floor(path: Route, seconds: [u64; 2]) -> Result<(), Box<dyn Error>> {
    let client = Client::new(&aws_config::load_from_env().await);
    let table: Arc<str> = std::env::var("TABLE_NAME")
        .unwrap_or_else(|_| "cartwheel".to_owned())
        .into();
    let product = key(keys::product(id("PRODUCT_ID")?));
    // Read once, so that a wrong id fails here rather than as a thousand empty reads.
    stored(&client, &table, product.clone()).await?;
    let product = Arc::new(product);
    match path {
        Route::Get => {
            let call = move || get(client.clone(), table.clone(), product.clone());
            measure("GET /products/{id}", seconds, call).await
        }
        Route::Orders => {
            let stored =
                Arc::new(stored(&client, &table, key(keys::order(id("ORDER_ID")?))).await?);
            let call = move || {
                let items = (product.clone(), stored.clone());
                order(client.clone(), table.clone(), items)
            };
            measure("POST /orders", seconds, call).await
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "get".to_owned());
    let path = match path.as_str() {
        "get" => Route::Get,
        "orders" => Route::Orders,
        other => return Err(format!("no path {other}: get or orders").into()),
    };
    let seconds =
        |s: String| (s.parse::<u64>()).map_err(|_| format!("{s} is not a whole number of seconds"));
    let measured = args.next().map_or(Ok(10), seconds)?;
    if measured == 0 {
        return Err("the measured run needs at least one second".into());
    }
    let warm_up = args.next().map_or(Ok(measured), seconds)?;
    // As the runtime sizes its pool (bin/cartwheel-local.rs).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    println!("{workers} tokio workers");
    runtime.block_on(floor(path, [warm_up, measured]))
}
