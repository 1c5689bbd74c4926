//! An open-model load generator for scripts/bench-paths: requests fall due at a fixed rate
//! whatever the answers' latency, and each latency counts from when the request was due, not from
//! when it was sent. A closed-loop generator (wrk) waits for an answer before the next request of a
//! connection, so a stalled server is sent less and its queueing never shows in the percentiles
//! (coordinated omission). Requests share at most `--connections` connections (256), as a fleet of
//! clients would: a request that waits for one has that wait in its latency, and a stalled server
//! is not flooded with new connections until it runs out of file descriptors.
//!
//! Usage: cartwheel-load URL --rate N --seconds S [--connections C] [--method M]
//!        [--header "name: value"]... [--body-file F]
//! "{{n}}" in a header or the body becomes a value unique to the request. Prints one JSON line.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::sync::Arc;
use std::{error::Error, time::Duration};
use tokio::{
    sync::{mpsc, Semaphore},
    time::Instant,
};

/// How long an answer may take before it counts as an error (wrk's `--timeout` in the bench).
const TIMEOUT: Duration = Duration::from_secs(10);

struct Load {
    url: String,
    rate: f64,
    seconds: f64,
    connections: usize,
    method: hyper::Method,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Load, Box<dyn Error>> {
    let mut load = Load {
        url: String::new(),
        rate: 0.0,
        seconds: 10.0,
        connections: 256,
        method: hyper::Method::GET,
        headers: Vec::new(),
        body: String::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rate" => load.rate = value()?.parse()?,
            "--seconds" => load.seconds = value()?.parse()?,
            "--connections" => load.connections = value()?.parse()?,
            "--method" => load.method = value()?.parse()?,
            "--body-file" => load.body = std::fs::read_to_string(value()?)?,
            "--header" => {
                let line = value()?;
                let (name, text) = line.split_once(':').ok_or("a header is name: value")?;
                load.headers.push((name.trim().into(), text.trim().into()));
            }
            url if !url.starts_with("--") => load.url = url.into(),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if load.url.is_empty() || load.rate <= 0.0 || load.seconds <= 0.0 || load.connections == 0 {
        return Err("usage: cartwheel-load URL --rate N --seconds S [--connections C] [--method M] [--header H]... [--body-file F]".into());
    }
    Ok(load)
}

/// The request due `n`-th, with "{{n}}" filled in.
fn request(load: &Load, n: u64) -> Result<hyper::Request<Full<Bytes>>, hyper::http::Error> {
    let unique = format!("load-{}-{n}", std::process::id());
    let mut builder = hyper::Request::builder()
        .method(load.method.clone())
        .uri(&load.url);
    for (name, value) in &load.headers {
        builder = builder.header(name, value.replace("{{n}}", &unique));
    }
    builder.body(Full::new(Bytes::from(load.body.replace("{{n}}", &unique))))
}

/// (status, or 0 for no answer in time; microseconds from when it was due to its last byte).
type Outcome = (u16, u64);

async fn run(load: &Load) -> Result<Vec<Outcome>, Box<dyn Error>> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let total = (load.rate * load.seconds).round() as u64;
    let gap = Duration::from_secs_f64(1.0 / load.rate);
    let (sender, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    let connections = Arc::new(Semaphore::new(load.connections));
    let start = Instant::now();
    for n in 0..total {
        let due = start + gap.mul_f64(n as f64);
        tokio::time::sleep_until(due).await;
        let (client, sender, request) = (client.clone(), sender.clone(), request(load, n)?);
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let answer = tokio::time::timeout(TIMEOUT, async {
                let _connection = connections.acquire_owned().await.ok()?;
                let response = client.request(request).await.ok()?;
                let status = response.status().as_u16();
                response.into_body().collect().await.ok()?;
                Some(status)
            });
            let status = answer.await.ok().flatten().unwrap_or(0);
            let _ = sender.send((status, due.elapsed().as_micros() as u64));
        });
    }
    drop(sender);
    let mut found = Vec::with_capacity(total as usize);
    while let Some(outcome) = outcomes.recv().await {
        found.push(outcome);
    }
    Ok(found)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> Result<(), Box<dyn Error>> {
    let load = parse(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let outcomes = runtime.block_on(run(&load))?;
    let elapsed = started.elapsed().as_secs_f64();
    let ok: Vec<&Outcome> = outcomes
        .iter()
        .filter(|(s, _)| (200..300).contains(s))
        .collect();
    let mut latencies: Vec<u64> = outcomes.iter().map(|(_, us)| *us).collect();
    latencies.sort_unstable();
    let report = serde_json::json!({
        "requests": outcomes.len(),
        "ok": ok.len(),
        "non2xx": outcomes.iter().filter(|(s, _)| *s != 0 && !(200..300).contains(s)).count(),
        "errors": outcomes.iter().filter(|(s, _)| *s == 0).count(),
        "rate": load.rate,
        "ok_per_s": ok.len() as f64 / load.seconds,
        "elapsed_s": elapsed,
        "p50_us": percentile(&latencies, 50.0),
        "p95_us": percentile(&latencies, 95.0),
        "p99_us": percentile(&latencies, 99.0),
        "max_us": latencies.last().copied().unwrap_or(0),
    });
    println!("LOAD_JSON {report}");
    Ok(())
}
