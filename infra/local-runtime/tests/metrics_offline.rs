//! The functions' metrics offline: their EMF lines are collected, not printed, and land in moto's
//! CloudWatch, where `GetMetricData` reads them as it would in AWS.

mod support;

use aws_sdk_cloudwatch::{
    primitives::DateTime,
    types::{Dimension, Metric, MetricDataQuery, MetricStat},
};
use cartwheel_domain::Role;
use serde_json::json;
use std::time::{Duration, SystemTime};
use support::{sdk_config, TestApp};

/// The sum of `name` for `function` over the last ten minutes.
async fn sum(client: &aws_sdk_cloudwatch::Client, function: &str, name: &str) -> f64 {
    let metric = Metric::builder()
        .namespace(cartwheel_telemetry::NAMESPACE)
        .metric_name(name)
        .dimensions(
            Dimension::builder()
                .name("function")
                .value(function)
                .build(),
        )
        .build();
    let query = MetricDataQuery::builder()
        .id("q")
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat("Sum")
                .build(),
        )
        .build();
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
        .flat_map(|r| r.values())
        .sum()
}

#[tokio::test]
async fn an_accepted_order_is_counted_in_cloudwatch() {
    let sdk = sdk_config().await;
    let client = aws_sdk_cloudwatch::Client::new(&sdk);
    let _collector = cartwheel_local::metrics::collect_into(client.clone())
        .expect("this test binary installs the only sink");
    let before = sum(&client, "PlaceOrderFunction", "OrdersPlaced").await;

    let app = TestApp::start().await;
    let product = support::product(&app.store, "METRIC-1", 5).await;
    let (_, token) = app.user_token(Role::Customer).await;
    let body = json!({
        "items": [{"productId": product.id.to_string(), "quantity": 1}],
        "shippingAddress": {"name": "Ada", "line1": "1 St", "city": "London", "postalCode": "N1", "country": "GB"},
        "paymentToken": "tok_visa",
    });
    let accepted = app
        .http
        .post(app.url("/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", "metrics-order-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        accepted.status(),
        reqwest::StatusCode::ACCEPTED,
        "{}",
        accepted.text().await.unwrap_or_default()
    );

    let mut counted = before;
    for _ in 0..50 {
        counted = sum(&client, "PlaceOrderFunction", "OrdersPlaced").await;
        if counted > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        counted - before,
        1.0,
        "one accepted order, one OrdersPlaced"
    );
}
