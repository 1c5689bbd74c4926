//! The floor under the runtime's CPU per `GET /products/{id}`: the one `GetItem` that route
//! makes, sent through the official SDK alone, from a process built and scheduled as the runtime
//! is (the same profile, allocator and tokio workers), 16 calls at a time as `wrk`'s 16
//! connections send. It prints the calls a second and this process's CPU per call, read from
//! `/proc`, after a warm-up. docs/benchmarks.md says what the runtime spends above it.
//!
//! Against a running stack (`scripts/start`, or the DynamoDB Local of a benchmark), with the
//! AWS environment it prints:
//! `cargo run --profile offline -p cartwheel-local --example sdk_floor -- [SECONDS]`

use aws_sdk_dynamodb::{
    types::{AttributeValue, ReturnConsumedCapacity},
    Client,
};
use std::{
    collections::HashMap,
    error::Error,
    time::{Duration, Instant},
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 16;

type Key = HashMap<String, AttributeValue>;

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

/// The key of a product of the table's: the item a `GET /products/{id}` reads.
async fn a_product(client: &Client, table: &str) -> Result<Key, Box<dyn Error>> {
    let scan = client.scan().table_name(table).send().await?;
    let item = (scan.items())
        .iter()
        .find(|item| {
            item.get("SK")
                .and_then(|sk| sk.as_s().ok())
                .map(String::as_str)
                == Some("PRODUCT")
        })
        .ok_or(
            "no product in the table's first page; seed it (scripts/start seeds the demo catalog)",
        )?;
    Ok(["PK", "SK"].map(|k| (k.to_owned(), item[k].clone())).into())
}

/// Calls `GetItem` on `key` from `CONCURRENCY` tasks for `seconds`: (calls, CPU seconds).
async fn run(
    client: &Client,
    table: &str,
    key: &Key,
    seconds: u64,
) -> Result<(u64, f64), Box<dyn Error>> {
    let (cpu, started) = (cpu_seconds()?, Instant::now());
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let get = client
                .get_item()
                .table_name(table)
                .set_key(Some(key.clone()))
                // As the runtime's capacity meter makes every function's call ask.
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            tokio::spawn(async move {
                let mut calls = 0u64;
                while started.elapsed() < Duration::from_secs(seconds) {
                    get.clone().send().await?;
                    calls += 1;
                }
                Ok::<_, aws_sdk_dynamodb::Error>(calls)
            })
        })
        .collect();
    let mut calls = 0;
    for task in tasks {
        calls += task.await??;
    }
    Ok((calls, cpu_seconds()? - cpu))
}

fn main() -> Result<(), Box<dyn Error>> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(10), |s| s.parse())?;
    // As the runtime sizes its pool (bin/cartwheel-local.rs).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Client::new(&aws_config::load_from_env().await);
        let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "cartwheel".to_owned());
        let key = a_product(&client, &table).await?;
        for phase in ["warm-up", "measured"] {
            let (calls, cpu) = run(&client, &table, &key, seconds).await?;
            println!(
                "{phase}: {:.0} GetItem/s, {:.3} ms of CPU per call ({workers} workers, {CONCURRENCY} at a time)",
                calls as f64 / seconds as f64,
                cpu * 1000.0 / calls as f64
            );
        }
        Ok(())
    })
}
