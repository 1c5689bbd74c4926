//! The sweeper's index: an order given up on leaves it, one sweep hands back every stalled order
//! past the first hundred of each shard, and an order still running starts nothing.

use super::running::{stalled, stock};
use crate::support::{self, pending_order, product, TestApp};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    OrderStatus, Timestamp,
};
use cartwheel_store::{ReserveStock, SettleOrder};
use futures::future::join_all;

#[tokio::test]
async fn an_order_given_up_on_is_settled_and_leaves_the_sweepers_index() {
    let store = support::fresh_store().await;
    let bulb = product(&store, "BULB", 10).await;
    let order = pending_order(&store, &[(&bulb, 2)]).await;
    store.reserve_stock(&order).await.unwrap();
    assert!(stalled(&store).await.contains(&order.id));
    let row = lifecycle::transition(Actor::GiveUp, OrderStatus::PaymentFailed);
    let settled = store
        .settle_order(order.id, row.from, row.to, Timestamp::now())
        .await
        .unwrap();
    assert!(settled.moved && settled.released);
    assert!(!stalled(&store).await.contains(&order.id));
    assert_eq!(stock(&store, bulb.id).await, 10);
}

#[tokio::test]
async fn one_sweep_hands_back_every_stalled_order_past_the_first_hundred_of_each_shard() {
    let options = support::StackOptions {
        play_pipes: false,
        schedule_every: Some(std::time::Duration::from_secs(3600)),
        ..support::StackOptions::default()
    }
    .edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "0""#,
    );
    let app = TestApp::start_stack(options).await;
    let bulb = product(&app.store, "SWEPT-BULB", 1000).await;
    let one_bulb = [(&bulb, 1)];
    for _ in 0..10 {
        join_all((0..50).map(|_| pending_order(&app.store, &one_bulb))).await;
    }
    let scheduled = serde_json::from_str(&support::fixtures::fixture("sweep-pending-orders"));
    let sweeper = app.function("SweepPendingOrdersFunction");
    let report = sweeper.schedule(scheduled.unwrap()).await.unwrap().unwrap();
    assert_eq!(report.requeued, 500, "every stalled order, in one sweep");
}

#[tokio::test]
async fn a_sweep_of_an_order_whose_execution_still_runs_starts_nothing() {
    let (app, _, kettle, customer) =
        support::checkout::stack_with_product(support::StackOptions::default(), "SLOW-KETTLE", 999)
            .await;
    // The simulated processor thinks for 3 s over this token: the execution runs meanwhile.
    let order = support::checkout::place(&app, &customer, &kettle, "tok_slowApproval", "s").await;
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let execution = format!(
        "{}:{order}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    );
    let running = aws_sdk_sfn::types::ExecutionStatus::Running;
    for _ in 0..300 {
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await;
        if described.is_ok_and(|d| d.status == running) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let starter = cartwheel_functions::handoff::SagaStarter::new(sfn.clone(), machine.clone());
    let input = cartwheel_functions::saga::SagaInput { order_id: order };
    let start = starter.start(&app.store, input).await.unwrap();
    assert_eq!(start, cartwheel_functions::handoff::Start::AlreadyStarted);
}
