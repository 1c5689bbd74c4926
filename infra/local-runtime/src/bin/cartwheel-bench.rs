//! Measures `GET /products/{id}` through the local runtime against the raw DynamoDB Local GetItem
//! that it makes, at the same concurrency in the same run, and prints both throughputs, their ratio
//! and p50/p99 latency. Run it through scripts/bench-product-read, which starts the stack.
//!
//! Usage: cartwheel-bench BASE_URL TABLE_NAME [CONCURRENCY] [SECONDS_PER_ROUND]

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::{
    error::Error,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

const ROUNDS: u32 = 3;

#[derive(Default)]
struct Sample {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }

    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&mut self, p: f64) -> f64 {
        self.latencies_us.sort_unstable();
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us.get(index).copied().unwrap_or_default()) / 1000.0
    }
}

/// Runs `call` from `concurrency` tasks for `duration`; a call returns whether it succeeded.
async fn load<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Sample
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = Arc::clone(&call);
            tokio::spawn(async move {
                let mut sample = Sample::default();
                while started.elapsed() < duration {
                    let sent = Instant::now();
                    let ok = call().await;
                    sample
                        .latencies_us
                        .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    sample.requests += 1;
                    sample.errors += u64::from(!ok);
                }
                sample
            })
        })
        .collect();
    let mut total = Sample::default();
    for worker in workers {
        total.merge(worker.await.unwrap_or_default());
    }
    total.elapsed = started.elapsed();
    total
}

fn arg<T: std::str::FromStr>(args: &[String], index: usize, default: T) -> T {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(base_url), Some(table)) = (args.first().cloned(), args.get(1).cloned()) else {
        return Err(
            "usage: cartwheel-bench BASE_URL TABLE_NAME [CONCURRENCY] [SECONDS_PER_ROUND]".into(),
        );
    };
    let concurrency: usize = arg(&args, 2, 16);
    let round = Duration::from_secs(arg(&args, 3, 5));

    let http: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let listing = http
        .get(format!("{base_url}/products?limit=1").parse()?)
        .await?
        .into_body()
        .collect()
        .await?;
    let listing: serde_json::Value = serde_json::from_slice(&listing.to_bytes())?;
    let product_id = listing["items"][0]["id"]
        .as_str()
        .ok_or("the catalog is empty: seed it first")?
        .to_owned();
    let product_uri: hyper::Uri = format!("{base_url}/products/{product_id}").parse()?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);

    let api_call = move || {
        let (http, uri) = (http.clone(), product_uri.clone());
        async move {
            match http.get(uri).await {
                Ok(response) => {
                    let ok = response.status() == 200;
                    ok && response.into_body().collect().await.is_ok()
                }
                Err(_) => false,
            }
        }
    };
    let raw_call = move || {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        let key = format!("PRODUCT#{product_id}");
        async move {
            dynamodb
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S(key))
                .key("SK", AttributeValue::S("PRODUCT".into()))
                .send()
                .await
                .is_ok_and(|out| out.item.is_some())
        }
    };
    let api_call = Arc::new(api_call);
    let raw_call = Arc::new(raw_call);

    println!("warming up (DynamoDB Local's JIT, connection pools)...");
    let warm = Duration::from_secs(5);
    load(concurrency, warm, {
        let c = Arc::clone(&raw_call);
        move || c()
    })
    .await;
    load(concurrency, warm, {
        let c = Arc::clone(&api_call);
        move || c()
    })
    .await;

    let (mut raw, mut api) = (Sample::default(), Sample::default());
    for r in 1..=ROUNDS {
        let raw_round = load(concurrency, round, {
            let c = Arc::clone(&raw_call);
            move || c()
        })
        .await;
        let api_round = load(concurrency, round, {
            let c = Arc::clone(&api_call);
            move || c()
        })
        .await;
        println!(
            "round {r}/{ROUNDS}: raw GetItem {:.0}/s, API {:.0}/s",
            raw_round.per_second(),
            api_round.per_second()
        );
        raw.elapsed += raw_round.elapsed;
        api.elapsed += api_round.elapsed;
        raw.merge(raw_round);
        api.merge(api_round);
    }
    println!(
        "\nconcurrency {concurrency}, {ROUNDS} alternating rounds of {}s each",
        round.as_secs()
    );
    println!(
        "{:<38} {:>10} {:>9} {:>9} {:>7}",
        "", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for (name, sample) in [
        ("raw DynamoDB Local GetItem", &mut raw),
        ("GET /products/{id} via local runtime", &mut api),
    ] {
        let (p50, p99) = (sample.percentile_ms(0.50), sample.percentile_ms(0.99));
        println!(
            "{name:<38} {:>10.0} {p50:>9.2} {p99:>9.2} {:>7}",
            sample.per_second(),
            sample.errors
        );
    }
    let ratio = api.per_second() / raw.per_second();
    println!("ratio (API / raw GetItem): {ratio:.2}");
    if raw.errors + api.errors > 0 {
        return Err("some requests failed".into());
    }
    Ok(())
}
