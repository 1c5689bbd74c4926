//! The sweeper: an order whose hand-off never arrived, or whose execution died, is finished once.

use super::observe::{first_execution_arn, stock, wait_for_status};
use crate::support::{
    self,
    checkout::{place, stack_with_product, wait_for_outcomes},
    StackOptions, TestApp,
};
use aws_sdk_sfn::types::ExecutionStatus;
use cartwheel_domain::{OrderId, OrderStatus};
use cartwheel_store::{GetOrderDetails, PaymentState};
use std::time::Duration;

#[tokio::test]
async fn an_order_whose_hand_off_never_arrived_is_swept_into_the_saga() {
    let options = StackOptions {
        play_pipes: false,
        schedule_every: Some(Duration::from_secs(1)),
        ..StackOptions::default()
    }
    .edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "0""#,
    );
    let (app, _, tray, customer) = stack_with_product(options, "TRAY", 999).await;
    let order = place(&app, &customer, &tray, "tok_visa", "t").await;
    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);
}

/// The executions of the checkout state machine for `order` (every attempt), with their status.
async fn executions_of(app: &TestApp, order: OrderId) -> Vec<(String, ExecutionStatus)> {
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    let listed = sfn
        .list_executions()
        .state_machine_arn(&app.stack.state_machines["CheckoutStateMachine"])
        .send()
        .await
        .unwrap();
    let mut executions: Vec<_> = listed
        .executions
        .into_iter()
        .filter(|e| e.name.starts_with(&order.to_string()))
        .map(|e| (e.name, e.status))
        .collect();
    executions.sort();
    executions
}

/// A stack whose sweeper runs every second with a grace period of 1 s.
async fn stack_with_a_quick_sweeper() -> (TestApp, String, String) {
    let options = StackOptions {
        schedule_every: Some(Duration::from_secs(1)),
        ..StackOptions::default()
    }
    .edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "1""#,
    );
    let (app, _, kettle, customer) = stack_with_product(options, "KETTLE", 3900).await;
    (app, kettle, customer)
}

/// Stops the order's first execution, still running, as if it died.
async fn kill_first_execution(app: &TestApp, order: OrderId) {
    let execution = first_execution_arn(app, order);
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    let described = sfn.describe_execution().execution_arn(&execution).send();
    let status = described.await.unwrap().status;
    assert_eq!(status, ExecutionStatus::Running, "it ended before the kill");
    let stopped = sfn
        .stop_execution()
        .execution_arn(execution)
        .error("Test.Killed");
    stopped.send().await.unwrap();
}

/// Checks the sweeper finished the order of a dead execution once: CONFIRMED, charged once,
/// shipped, one unit taken, by exactly one more attempt.
async fn check_swept_once(app: &TestApp, order: OrderId, kettle: &str) {
    let outcomes = wait_for_outcomes(app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    let payment = details.payment.expect("the resumed saga charged it");
    assert_eq!(
        payment.state,
        PaymentState::Captured,
        "charged once, captured"
    );
    assert!(details.shipment.is_some(), "the resumed saga shipped it");
    assert_eq!(stock(app, kettle).await, 9, "one unit reserved, once");
    // Sweeps kept coming every second: none started a third attempt, or a second beside the first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        executions_of(app, order).await,
        [
            (order.to_string(), ExecutionStatus::Aborted),
            (format!("{order}-2"), ExecutionStatus::Succeeded),
        ]
    );
}

#[tokio::test]
async fn an_order_left_reserved_by_a_dead_execution_is_swept_and_finished_once() {
    let (app, kettle, customer) = stack_with_a_quick_sweeper().await;
    // The simulated processor thinks for 3 s over this token: the execution dies meanwhile.
    let order = place(&app, &customer, &kettle, "tok_slowApproval", "dies").await;
    wait_for_status(&app, order, OrderStatus::Reserved).await;
    kill_first_execution(&app, order).await;
    check_swept_once(&app, order, &kettle).await;
}

#[tokio::test]
async fn an_order_left_paid_by_a_dead_execution_is_swept_and_not_charged_again() {
    let (app, kettle, customer) = stack_with_a_quick_sweeper().await;
    // ConfirmOrder crashes, so the execution sits in its retries with the order PAID; it dies
    // there, and the step works again for the attempt the sweeper starts.
    let confirm = app.stack.functions.get("ConfirmOrderFunction").unwrap();
    confirm.inject_panics(usize::MAX);
    let order = place(&app, &customer, &kettle, "tok_visa", "dies-paid").await;
    wait_for_status(&app, order, OrderStatus::Paid).await;
    kill_first_execution(&app, order).await;
    // A call the dead execution made just before it was stopped must not confirm the order
    // behind the sweeper's back: the step keeps crashing until the next attempt has started.
    let next = format!("{order}-2");
    for waited in 0.. {
        if executions_of(&app, order)
            .await
            .iter()
            .any(|(name, _)| *name == next)
        {
            break;
        }
        assert!(waited < 300, "the sweeper never started {next}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    confirm.inject_panics(0);
    check_swept_once(&app, order, &kettle).await;
}
