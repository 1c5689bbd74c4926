//! The AWS emulators every test shares: the SDK's config, the process's one AWS edge, the
//! metrics collected into moto's CloudWatch, and the e-mail moto's SES has sent.

use aws_sdk_cloudwatch::{
    config::{Credentials, SharedCredentialsProvider},
    primitives::DateTime,
    types::{Dimension, Metric, MetricDataQuery, MetricStat},
};
use cartwheel_local::aws_edge::{serve_edge, AwsEdge};
use serde_json::Value;
use std::{
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

pub async fn sdk_config() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test, which starts DynamoDB Local and moto"
    );
    aws_config::load_from_env().await
}

/// The SDK's config of one stack (or one bare table) named `name`: signed with an access key of
/// its own, so DynamoDB Local keeps its tables in a database of their own (it keeps one per
/// access key). Every call on a table with a stream looks up the stream's oldest record, and its
/// table of stream records has no index on the stream: the lookup walks the records of every
/// older stream in the database first. With one database for a run's hundred stacks, each call
/// cost more than the last, DynamoDB Local outspent the tests' own CPU, and a late burst timed
/// out. Moto takes any key as the default account.
pub async fn sdk_config_for(name: &str) -> aws_config::SdkConfig {
    let key: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let credentials = Credentials::new(key, "offline", None, None, "one stack's key");
    sdk_config()
        .await
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// The process's one AWS edge, on `CARTWHEEL_AWS_EDGE_PORT` (the port moto was told is its own).
/// It runs on a thread of its own because every `#[tokio::test]` has its own runtime.
pub fn edge() -> Arc<AwsEdge> {
    static EDGE: OnceLock<Arc<AwsEdge>> = OnceLock::new();
    Arc::clone(EDGE.get_or_init(|| {
        let moto = std::env::var("AWS_ENDPOINT_URL").expect("scripts/test sets AWS_ENDPOINT_URL");
        let port = std::env::var("CARTWHEEL_AWS_EDGE_PORT")
            .expect("scripts/test sets CARTWHEEL_AWS_EDGE_PORT");
        let edge = Arc::new(AwsEdge::new(moto));
        let serving = Arc::clone(&edge);
        let (bound, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
                    .await
                    .expect("the AWS edge port is free");
                bound.send(()).unwrap();
                let _ = serve_edge(listener, serving).await;
            });
        });
        ready.recv().expect("the AWS edge starts");
        edge
    }))
}

/// Collects the functions' and the runtime's metrics into moto's CloudWatch, once per process, on
/// a thread of its own (every `#[tokio::test]` has its own runtime). Only the test binaries that
/// call this keep metrics; in the others the runtime's observations go nowhere.
pub fn collect_metrics() {
    static COLLECTING: OnceLock<()> = OnceLock::new();
    COLLECTING.get_or_init(|| {
        let (started, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let client = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
                let collect = cartwheel_local::metrics::collect_into(client)
                    .expect("this test binary installs the only metric sink");
                started.send(()).unwrap();
                collect.await;
            });
        });
        ready.recv().expect("the metrics collector starts");
    });
}

/// One statistic of one metric per second over the last ten minutes, oldest first.
pub async fn metric_series(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    name: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
) -> Vec<f64> {
    let dimensions = dimensions
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect();
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(name)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(1)
        .stat(stat)
        .build();
    let query = MetricDataQuery::builder().id("q").metric_stat(stat).build();
    let now = SystemTime::now();
    let data = client
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(60)))
        .send()
        .await
        .expect("moto answers GetMetricData");
    data.metric_data_results()
        .iter()
        .flat_map(|r| r.values().iter().copied())
        .collect()
}

/// Every e-mail moto's SES has sent (it is shared by every stack of the run): each has
/// `destinations`, `source`, `subject` and `body`. moto serialises its whole state for this page
/// while other tests change it, and now and then answers with an error instead of JSON: the page
/// is read again, as a debugging endpoint is.
pub async fn sent_mail() -> Vec<Value> {
    let moto = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let url = format!("{moto}/moto-api/data.json");
    let mut attempts = 0;
    let data: Value = loop {
        attempts += 1;
        let response = reqwest::get(&url).await.expect("moto answers");
        let status = response.status();
        match response.json::<Value>().await {
            Ok(data) if status.is_success() => break data,
            outcome if attempts < 20 => {
                eprintln!(
                    "moto's data page failed ({status}, {:?}); reading it again",
                    outcome.err()
                );
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            outcome => panic!("moto's data page failed {attempts} times: {status}, {outcome:?}"),
        }
    };
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
