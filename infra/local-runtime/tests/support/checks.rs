//! Checking and waiting on what the stack did: problem answers, the one winner of concurrent
//! attempts, rate-limit windows, and the sales consumer's figures.

use super::app::TestApp;
use aws_sdk_dynamodb::types::AttributeValue::S;
use cartwheel_domain::Timestamp;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Sleeps until a fixed window of `seconds` (a limit's) begins, so that what a test does next
/// falls in one window.
pub async fn next_window(seconds: u64) {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = now.as_millis() % (u128::from(seconds) * 1000);
    let left = u64::try_from(u128::from(seconds) * 1000 - into).unwrap();
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
}

/// Asserts a problem+json answer with `status` whose detail mentions `mentions`.
pub async fn assert_problem(response: Response, status: StatusCode, mentions: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(mentions),
        "detail {detail:?} should mention {mentions:?}"
    );
    body
}

/// Asserts that of concurrent attempts exactly one got `winner` and every other got `loser`.
pub fn assert_exactly_one(statuses: &[StatusCode], winner: StatusCode, loser: StatusCode) {
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(winner), 1, "{statuses:?}");
    assert_eq!(count(loser), statuses.len() - 1, "{statuses:?}");
}

/// How many events of `event_type` the sales consumer has applied, counted by its dedup records
/// (`DEDUP#sales#<eventId>`, with `<eventId>` ending in the type; keys::dedup in the store): a
/// test waits on them, not on a report that passes through the figures it expects.
pub async fn sales_applied(app: &TestApp, event_type: &str) -> i32 {
    let dynamodb = aws_sdk_dynamodb::Client::new(&app.sdk);
    let scan = dynamodb
        .scan()
        .table_name(&app.stack.name)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .filter_expression("begins_with(PK, :consumer) AND contains(PK, :type)")
        .expression_attribute_values(":consumer", S("DEDUP#sales#".into()))
        .expression_attribute_values(":type", S(format!("#{event_type}")));
    let pages: Vec<_> = scan.into_paginator().send().collect().await;
    pages.into_iter().map(|page| page.unwrap().count).sum()
}

/// `GET /admin/reports/sales?from&to`, as an admin.
pub async fn sales(app: &TestApp, admin: &str, from: &str, to: &str) -> Value {
    let path = format!("/admin/reports/sales?from={from}&to={to}");
    let response = app.send(Method::GET, &path, Some(admin), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The sales report of yesterday and today: a run just after midnight UTC has its confirmations
/// on the day before.
pub async fn recent_sales(app: &TestApp, admin: &str) -> Value {
    let now = Timestamp::now();
    let yesterday = now.minus(Duration::from_secs(86_400)).utc_day();
    sales(
        app,
        admin,
        &yesterday.to_string(),
        &now.utc_day().to_string(),
    )
    .await
}
