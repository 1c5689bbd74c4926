//! End to end: orders placed over HTTP run through the real checkout ASL in moto's Step Functions
//! engine, whose Lambda tasks reach the step handlers through the local runtime's AWS edge.

mod support;

use cartwheel_domain::Role;
use cartwheel_local::{
    aws_edge::{serve_edge, AwsEdge},
    provision,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};
use support::{sdk_config, template, TestApp};

async fn place(app: &TestApp, token: &str, product: &str, payment: &str) -> String {
    let body = json!({"items": [{"productId": product, "quantity": 1}], "paymentToken": payment,
        "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}});
    let response = app
        .http
        .post(app.url("/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", payment)
        .json(&body)
        .send()
        .await
        .unwrap();
    let accepted: Value = response.json().await.unwrap();
    accepted["orderId"].as_str().unwrap().to_owned()
}

async fn wait_for_terminal(app: &TestApp, token: &str, order: &str) -> Value {
    for _ in 0..300 {
        let stored: Value = app
            .send(Method::GET, &format!("/orders/{order}"), Some(token), None)
            .await
            .json()
            .await
            .unwrap();
        if !["PENDING", "RESERVED", "PAID"].contains(&stored["status"].as_str().unwrap_or_default())
        {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("order {order} did not reach a terminal status within 30 s")
}

#[tokio::test]
async fn orders_run_through_the_checkout_state_machine_in_moto() {
    let app = TestApp::start().await;
    let sdk = sdk_config().await;
    let moto_url = std::env::var("AWS_ENDPOINT_URL").expect("scripts/test sets AWS_ENDPOINT_URL");
    let edge_port = std::env::var("CARTWHEEL_AWS_EDGE_PORT")
        .expect("scripts/test sets CARTWHEEL_AWS_EDGE_PORT");
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{edge_port}"))
        .await
        .unwrap();
    tokio::spawn(serve_edge(
        listener,
        Arc::new(AwsEdge::new(Arc::clone(&app.app), moto_url.clone())),
    ));
    provision::enable_moto_execution(&moto_url).await.unwrap();
    let machine = &template().state_machines()[0];
    let definition = std::fs::read_to_string(format!(
        "{}/../../{}",
        env!("CARGO_MANIFEST_DIR"),
        machine.definition_uri
    ))
    .unwrap();
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let arn = provision::create_state_machine(&sfn, machine, &definition, &region)
        .await
        .unwrap();

    let admin = app.admin_token().await;
    let mug = app
        .create_product(&admin, "MUG", "Mug", "kitchen", 1299)
        .await;
    let mug_id = mug["id"].as_str().unwrap();
    let (_, customer) = app.user_token(Role::Customer).await;
    let approved = place(&app, &customer, mug_id, "tok_visa").await;
    let declined = place(&app, &customer, mug_id, "tok_chargeDeclined").await;
    for order in [&approved, &declined] {
        let input = json!({ "orderId": order }).to_string();
        sfn.start_execution()
            .state_machine_arn(&arn)
            .name(order.as_str())
            .input(input)
            .send()
            .await
            .unwrap();
    }

    let confirmed = wait_for_terminal(&app, &customer, &approved).await;
    assert_eq!(confirmed["status"], "CONFIRMED", "{confirmed}");
    let failed = wait_for_terminal(&app, &customer, &declined).await;
    assert_eq!(failed["status"], "PAYMENT_FAILED", "{failed}");
    let statuses: Vec<&str> = failed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PENDING", "RESERVED", "PAYMENT_FAILED"]);
    let product: Value = app
        .get(&format!("/products/{mug_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product["stock"], 9, "the declined order's unit went back");
}
