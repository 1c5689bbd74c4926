//! Stock alerts: a product running low opens its alert and e-mails the admins once; stock raised
//! again closes it; the product's version orders the events however late or often they come.

use crate::support;

use aws_lambda_events::sqs::SqsEvent;
use cartwheel_domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use support::{fixtures::fixture, sent_mail, StackOptions, TestApp};

const ADMINS: &str = "stock-alerts@cartwheel.example";

/// Subjects of the e-mails moto's SES sent to the admins that name `sku`.
async fn alert_mail(sku: &str) -> Vec<String> {
    sent_mail()
        .await
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == ADMINS)
        .filter_map(|m| m["subject"].as_str())
        .filter(|subject| subject.contains(&format!(" {sku} ")))
        .map(str::to_owned)
        .collect()
}

async fn alerts(app: &TestApp, token: &str, status: &str) -> Vec<Value> {
    let path = format!("/admin/stock-alerts?status={status}");
    let response = app.send(Method::GET, &path, Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// Sets the stock at the version the admin reads first, as an admin's client would.
async fn set_stock(app: &TestApp, admin: &str, product: &str, quantity: i64) {
    let read: Value = app
        .get(&format!("/products/{product}"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/products/{product}/stock");
    let body = json!({ "quantity": quantity, "version": read["version"] }).to_string();
    let response = app.send(Method::PUT, &path, Some(admin), Some(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Polls until the product's alert has `status`.
async fn wait_for_alert(app: &TestApp, admin: &str, product: &str, status: &str) -> Value {
    for _ in 0..150 {
        let all = alerts(app, admin, "all").await;
        if let Some(alert) = all
            .iter()
            .find(|a| a["productId"] == product && a["status"] == status)
        {
            return alert.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{product}'s alert never became {status}");
}

#[tokio::test]
async fn low_stock_opens_an_alert_that_emails_once_and_restocking_closes_it() {
    let app = TestApp::start_stack(StackOptions::default()).await;
    let admin = app.admin_token().await;
    let sku = format!("ALERT-{}", ulid::Ulid::new());
    let product = app
        .create_product(&admin, &sku, "Kettle", "kitchen", 2500)
        .await;
    let product = product["id"].as_str().unwrap().to_owned();
    assert!(
        alerts(&app, &admin, "all").await.is_empty(),
        "10 units are not low"
    );

    set_stock(&app, &admin, &product, 3).await;
    let open = wait_for_alert(&app, &admin, &product, "OPEN").await;
    assert_eq!(
        (open["stock"].clone(), open["threshold"].clone()),
        (json!(3), json!(5))
    );
    set_stock(&app, &admin, &product, 2).await;
    set_stock(&app, &admin, &product, 20).await;
    let closed = wait_for_alert(&app, &admin, &product, "CLOSED").await;
    assert_eq!(closed["stock"], 20);
    assert!(alerts(&app, &admin, "open").await.is_empty());
    assert_eq!(
        alert_mail(&sku).await,
        [format!("Stock low: {sku} has 3 left")],
        "one e-mail for one opening"
    );

    let (_, customer) = app.user_token(Role::Customer).await;
    let refused = app
        .send(Method::GET, "/admin/stock-alerts", Some(&customer), None)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = app
        .send(
            Method::GET,
            "/admin/stock-alerts?status=maybe",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// The fixture's StockLow for `sku` as another stock event: its type, version and stock.
fn stock_event(sku: &str, detail_type: &str, version: u64, stock: i64) -> String {
    let batch: SqsEvent = serde_json::from_str(&fixture("stock-alerts")).unwrap();
    let mut event: Value = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
    event["detail-type"] = json!(detail_type);
    let detail = &mut event["detail"];
    detail["eventId"] = json!(format!("{sku}-v{version}#{detail_type}"));
    detail["sku"] = json!(sku);
    detail["version"] = json!(version);
    detail["stock"] = json!(stock);
    event.to_string()
}

#[tokio::test]
async fn late_and_repeated_stock_events_change_nothing() {
    let app = TestApp::start().await;
    let admin = app.admin_token().await;
    let sku = format!("LATE-{}", ulid::Ulid::new());
    let function = app.function("StockAlertsFunction");
    let template: SqsEvent = serde_json::from_str(&fixture("stock-alerts")).unwrap();
    let deliver = |bodies: Vec<String>| {
        let mut batch = SqsEvent::default();
        for (i, body) in bodies.into_iter().enumerate() {
            let mut message = template.records[0].clone();
            message.message_id = Some(format!("m{i}"));
            message.body = Some(body);
            batch.records.push(message);
        }
        let function = function.clone();
        async move {
            let response = function.queue(batch).await.unwrap();
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
        }
    };
    let low = stock_event(&sku, "StockLow", 7, 4);
    deliver(vec![low.clone()]).await;
    deliver(vec![low.clone()]).await;
    deliver(vec![stock_event(&sku, "StockReplenished", 9, 30)]).await;
    // Late: the opening again, and an older opening never seen before.
    deliver(vec![low, stock_event(&sku, "StockLow", 5, 1)]).await;
    assert_eq!(function.sandbox.principal.denials(), vec![]);

    let all = alerts(&app, &admin, "all").await;
    let alert = all.iter().find(|a| a["sku"] == sku.as_str()).unwrap();
    assert_eq!(alert["status"], "CLOSED");
    assert_eq!(
        (alert["version"].clone(), alert["stock"].clone()),
        (json!(9), json!(30))
    );
    assert_eq!(alert_mail(&sku).await.len(), 1, "one e-mail, for version 7");

    // Another product: its restock is handled before the dip it ends (one batch, handled at once,
    // may do that). The dip then finds a newer state, and no one is told of stock that is back.
    let other = format!("EARLY-{}", ulid::Ulid::new());
    let product = ulid::Ulid::new().to_string();
    let of_other = |event: String| event.replace(support::fixtures::PRODUCT, &product);
    deliver(vec![of_other(stock_event(
        &other,
        "StockReplenished",
        4,
        8,
    ))])
    .await;
    deliver(vec![of_other(stock_event(&other, "StockLow", 3, 2))]).await;
    let all = alerts(&app, &admin, "all").await;
    let alert = all.iter().find(|a| a["sku"] == other.as_str()).unwrap();
    assert_eq!(
        (alert["status"].clone(), alert["version"].clone()),
        (json!("CLOSED"), json!(4))
    );
    assert!(alert_mail(&other).await.is_empty());
}
