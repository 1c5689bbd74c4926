//! What the tests read back of an order's run: the stock on hand, the order's status, the ARN of
//! its first execution.

use crate::support::TestApp;
use cartwheel_domain::{OrderId, OrderStatus};
use cartwheel_store::GetOrder;
use serde_json::Value;
use std::time::Duration;

pub(super) async fn stock(app: &TestApp, product: &str) -> i64 {
    let body: Value = app
        .get(&format!("/products/{product}"))
        .await
        .json()
        .await
        .unwrap();
    body["stock"].as_i64().unwrap()
}

/// Waits until the order is in `wanted`.
pub(super) async fn wait_for_status(app: &TestApp, order: OrderId, wanted: OrderStatus) {
    let mut status = OrderStatus::Pending;
    for _ in 0..200 {
        status = app.store.get_order(order).await.unwrap().unwrap().status;
        if status == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order} is {status:?}, never {wanted:?}");
}

/// The ARN of the order's first execution, which the starter names after the order.
pub(super) fn first_execution_arn(app: &TestApp, order: OrderId) -> String {
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let executions = machine.replacen(":stateMachine:", ":execution:", 1);
    format!("{executions}:{order}")
}
