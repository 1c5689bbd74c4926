//! The review of a burst, offline: the functions' EMF metrics and what the runtime observes as AWS
//! would (queue depth) land in moto's CloudWatch, and `GetMetricData` reads back what happened.

use crate::support;

use aws_sdk_cloudwatch::Client;
use cartwheel_domain::{OrderStatus, Role};
use cartwheel_local::observers::queue_name;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use std::{future::Future, time::Duration};
use support::{
    checkout::{place, stack_with_product, wait_for_outcomes},
    collect_metrics, metric_series as series, sdk_config, StackOptions,
};

/// The collector puts once a second: waits until `check` holds, or fails with its last answer.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut last = String::new();
    for _ in 0..40 {
        match check().await {
            Ok(()) => return,
            Err(why) => last = why,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: {last}");
}

fn equal(name: &str, metric: f64, expected: usize) -> Result<(), String> {
    if metric == expected as f64 {
        Ok(())
    } else {
        Err(format!("{name} is {metric}, expected {expected}"))
    }
}

#[tokio::test]
async fn a_burst_of_orders_is_reviewed_from_get_metric_data() {
    collect_metrics();
    let client = Client::new(&sdk_config().await);
    let (app, admin, lamp, first) =
        stack_with_product(StackOptions::default(), "BURST", 1500).await;
    let set = app
        .send(
            Method::PUT,
            &format!("/products/{lamp}/stock"),
            Some(&admin),
            Some(r#"{"quantity": 12, "version": 1}"#),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let mut customers = vec![first];
    for _ in 1..10 {
        customers.push(app.user_token(Role::Customer).await.1);
    }

    // Every tenth card is declined: those sagas compensate. The rest compete for 12 units.
    let placed = join_all((0..120).map(|i| {
        let (app, lamp, token) = (&app, &lamp, &customers[i % customers.len()]);
        let card = if i % 10 == 0 {
            "tok_chargeDeclined"
        } else {
            "tok_visa"
        };
        async move { place(app, token, lamp, card, &format!("burst-{i}")).await }
    }))
    .await;
    let outcomes = wait_for_outcomes(&app, &placed, Duration::from_secs(240)).await;
    let rejected = outcomes
        .values()
        .filter(|s| **s == OrderStatus::Rejected)
        .count();
    assert!(
        rejected > 0,
        "the burst oversubscribes the stock: {outcomes:?}"
    );

    let service = app.stack.name.as_str();
    let by = |function| [("service", service), ("function", function)];
    let cartwheel = cartwheel_telemetry::NAMESPACE;
    eventually("every 202 is one OrdersPlaced", || async {
        let values = series(
            &client,
            cartwheel,
            "OrdersPlaced",
            &by("PlaceOrderFunction"),
            "Sum",
        )
        .await;
        equal("OrdersPlaced", values.iter().sum(), placed.len())
    })
    .await;
    // The checkout's facts are counted by SalesAnalytics from the table's moves, once each.
    let ended = |status| outcomes.values().filter(|s| **s == status).count();
    let facts = [
        ("OrdersRejected", rejected),
        ("OrdersAccepted", outcomes.len() - rejected),
        ("SagasCompleted", ended(OrderStatus::Confirmed)),
        ("SagasCompensated", ended(OrderStatus::PaymentFailed)),
    ];
    for (metric, expected) in facts {
        eventually(&format!("{metric} equals the table's orders"), || async {
            let values = series(
                &client,
                cartwheel,
                metric,
                &by("SalesAnalyticsFunction"),
                "Sum",
            )
            .await;
            equal(metric, values.iter().sum(), expected)
        })
        .await;
    }
    eventually(
        "every finished checkout is one CheckoutDuration sample",
        || async {
            let values = series(
                &client,
                cartwheel,
                "CheckoutDuration",
                &by("SalesAnalyticsFunction"),
                "SampleCount",
            )
            .await;
            equal(
                "CheckoutDuration samples",
                values.iter().sum(),
                outcomes.len(),
            )
        },
    )
    .await;

    let queue = [("QueueName", queue_name(&app.stack.queues["OrderQueue"]))];
    let dashboard = client
        .get_dashboard()
        .dashboard_name(format!("{service}-us-east-1"))
        .send()
        .await
        .expect("the stack created its dashboard as CloudFormation would");
    let body = dashboard.dashboard_body().unwrap_or_default();
    assert!(!body.contains("${"), "every substitution is resolved");
    assert!(body.contains(&format!("\"{service}-PublishEventsFunction\"")));
    assert!(body.contains(&format!("\"{}\"", queue[0].1)));
    // The starter may keep up with the burst, so the once-a-second depth need not catch a message
    // waiting; the age its consumer saw on receiving shows that the queue carried them.
    eventually(
        "the order queue carried the orders, then drained",
        || async {
            let depth = series(
                &client,
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                &queue,
                "Maximum",
            )
            .await;
            let age = series(
                &client,
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                &queue,
                "Maximum",
            )
            .await;
            let oldest = age.iter().copied().fold(0.0, f64::max);
            match depth.last() {
                Some(&last) if oldest > 0.0 && last == 0.0 => Ok(()),
                _ => Err(format!(
                    "depth per second: {depth:?}, oldest message: {age:?}"
                )),
            }
        },
    )
    .await;

    review_with_scripts_metrics(service, placed.len());
}

/// `scripts/metrics` reads the same dashboard and data, and draws every widget: its JSON says as
/// many orders placed as the API accepted.
fn review_with_scripts_metrics(stack: &str, placed: usize) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = std::env::temp_dir().join(format!("{stack}-metrics"));
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("scripts/test points the SDK at moto");
    let run = std::process::Command::new(format!("{root}/scripts/metrics"))
        .args([
            "--stack",
            stack,
            "--endpoint",
            &endpoint,
            "--since",
            "10m",
            "--json",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("scripts/metrics runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let review: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("--json prints JSON");
    let orders: f64 = review["Orders (per 10 s)"]["placed (202)"]["values"]
        .as_array()
        .expect("the Orders widget has the placed series")
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .sum();
    assert_eq!(orders, placed as f64);
    let charts = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    let widgets = review.as_object().unwrap().len();
    assert!(widgets >= 15, "{widgets} widgets");
    assert_eq!(charts, widgets, "one chart per metric widget");
    assert!(out.join("summary.md").exists());
    let _ = std::fs::remove_dir_all(&out);
}
