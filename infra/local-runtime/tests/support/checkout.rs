//! Orders through the whole offline stack: placed over HTTP, then followed until the saga ends them.

use super::app::{StackOptions, TestApp};
use cartwheel_domain::{OrderId, OrderStatus, Role};
use cartwheel_store::GetOrder;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{collections::HashMap, time::Duration};

pub async fn place(app: &TestApp, token: &str, product: &str, payment: &str, key: &str) -> OrderId {
    place_lines(app, token, &[(product, 1)], payment, key).await
}

/// An order of `lines` (product id, quantity), accepted as PENDING.
pub async fn place_lines(
    app: &TestApp,
    token: &str,
    lines: &[(&str, i64)],
    payment: &str,
    key: &str,
) -> OrderId {
    let items: Vec<Value> = lines
        .iter()
        .map(|(product, quantity)| json!({"productId": product, "quantity": quantity}))
        .collect();
    let body = json!({"items": items, "paymentToken": payment,
        "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}});
    let response = app
        .http
        .post(app.url("/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["status"], "PENDING");
    accepted["orderId"].as_str().unwrap().parse().unwrap()
}

/// A whole stack holding one product (10 units, created by an admin over HTTP) and a customer;
/// answers the stack, the admin's token, the product's id and the customer's token.
pub async fn stack_with_product(
    options: StackOptions,
    sku: &str,
    price: i64,
) -> (TestApp, String, String, String) {
    let app = TestApp::start_stack(options).await;
    let admin = app.admin_token().await;
    let product = app.create_product(&admin, sku, sku, "kitchen", price).await;
    let product = product["id"].as_str().unwrap().to_owned();
    let (_, customer) = app.user_token(Role::Customer).await;
    (app, admin, product, customer)
}

pub fn is_terminal(status: OrderStatus) -> bool {
    !matches!(
        status,
        OrderStatus::Pending | OrderStatus::Reserved | OrderStatus::Paid
    )
}

/// Waits until every order is terminal; answers each order's status.
pub async fn wait_for_outcomes(
    app: &TestApp,
    orders: &[OrderId],
    within: Duration,
) -> HashMap<OrderId, OrderStatus> {
    let deadline = tokio::time::Instant::now() + within;
    let mut outcomes = HashMap::new();
    while outcomes.len() < orders.len() {
        let waiting: Vec<OrderId> = orders
            .iter()
            .filter(|id| !outcomes.contains_key(*id))
            .copied()
            .collect();
        for id in &waiting {
            let order = app.store.get_order(*id).await.unwrap().unwrap();
            if is_terminal(order.status) {
                outcomes.insert(*id, order.status);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            explain_stall(app).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {} orders reached a terminal status within {within:?}",
            outcomes.len(),
            orders.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    outcomes
}

/// Where the hand-off stands when orders stall: the order queue's depth and the executions.
async fn explain_stall(app: &TestApp) {
    let stack = &app.stack;
    let sdk = super::aws::sdk_config().await;
    let queue = &stack.queues["OrderQueue"].url;
    let depth = aws_sdk_sqs::Client::new(&sdk)
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .map(|a| a.attributes);
    eprintln!("order queue: {depth:?}");
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    for arn in stack.state_machines.values() {
        let executions = sfn.list_executions().state_machine_arn(arn).send().await;
        let executions = executions.map(|e| {
            e.executions
                .into_iter()
                .map(|x| (x.name, x.status))
                .collect::<Vec<_>>()
        });
        eprintln!("executions of {arn}: {executions:?}");
    }
}
