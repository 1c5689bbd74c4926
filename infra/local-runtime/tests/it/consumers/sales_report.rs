//! The sales figures the consumer keeps: after a day of orders and cancellations, the report
//! equals what the table holds.

use crate::support::{
    checkout::{place_lines, wait_for_outcomes},
    recent_sales, sales_applied, StackOptions, TestApp,
};
use cartwheel_domain::{OrderId, Role};
use cartwheel_store::GetOrder;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::{collections::BTreeMap, time::Duration};

type Figures = BTreeMap<(String, String), (i64, i64, i64)>;

/// What the report should say: every order in the table that is a sale, line by line.
async fn figures_from_the_table(app: &TestApp, orders: &[OrderId]) -> Figures {
    let mut figures = Figures::new();
    for id in orders {
        let order = app.store.get_order(*id).await.unwrap().unwrap();
        if !order.status.is_sale() {
            continue;
        }
        for line in &order.lines {
            let key = (
                line.product_id.to_string(),
                line.line_total.currency.to_string(),
            );
            let entry = figures.entry(key).or_default();
            entry.0 += 1;
            entry.1 += line.quantity.units();
            entry.2 += line.line_total.amount;
        }
    }
    figures
}

fn figures_of(report: &Value) -> Figures {
    let mut figures = Figures::new();
    for item in report["items"].as_array().unwrap() {
        let key = (
            item["productId"].as_str().unwrap().into(),
            item["currency"].as_str().unwrap().into(),
        );
        let entry = figures.entry(key).or_default();
        entry.0 += item["orders"].as_i64().unwrap();
        entry.1 += item["units"].as_i64().unwrap();
        entry.2 += item["revenue"].as_i64().unwrap();
    }
    figures
}

#[tokio::test]
async fn after_a_day_of_orders_and_cancellations_the_report_equals_the_table() {
    let app = TestApp::start_stack(StackOptions::default()).await;
    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "DAY-MUG", "Mug", "kitchen", 1250)
        .await;
    let pan = app
        .create_product(&admin, "DAY-PAN", "Pan", "kitchen", 3999)
        .await;
    let (mug, pan) = (mug["id"].as_str().unwrap(), pan["id"].as_str().unwrap());
    let mut orders = Vec::new();
    for (i, payment) in [
        "tok_visa",
        "tok_visa",
        "tok_chargeDeclined",
        "tok_visa",
        "tok_mastercard",
        "tok_visa",
    ]
    .into_iter()
    .enumerate()
    {
        let (_, customer) = app.user_token(Role::Customer).await;
        let lines: Vec<(&str, i64)> = match i % 3 {
            0 => vec![(mug, 2)],
            1 => vec![(mug, 1), (pan, 1)],
            _ => vec![(pan, 3)],
        };
        let key = ulid::Ulid::new().to_string();
        orders.push((
            place_lines(&app, &customer, &lines, payment, &key).await,
            customer,
        ));
    }
    let ids: Vec<OrderId> = orders.iter().map(|(id, _)| *id).collect();
    wait_for_outcomes(&app, &ids, Duration::from_secs(60)).await;
    // Two confirmed orders are cancelled: refunded, and taken back out of the figures.
    for (id, customer) in orders.iter().filter(|(i, _)| [ids[0], ids[4]].contains(i)) {
        let cancelled = app
            .send(
                Method::POST,
                &format!("/orders/{id}/cancel"),
                Some(customer),
                None,
            )
            .await;
        assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    }

    let expected = figures_from_the_table(&app, &ids).await;
    assert!(!expected.is_empty());
    // Every order but the declined card's was confirmed and counted, and both cancellations took
    // theirs back: only then is the report final.
    let confirmed = ids.len() as i32 - 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while (
        sales_applied(&app, "OrderConfirmed").await,
        sales_applied(&app, "OrderCancelled").await,
    ) != (confirmed, 2)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sales consumer never applied every event"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = recent_sales(&app, &admin).await;
    assert_eq!(figures_of(&report), expected, "{report}");
}
