//! The saga under faults: a step past its timeout, a step that crashes, a cancel mid-saga, and a
//! processor outage that opens the breaker; each ends with everything given back.

use super::observe::{first_execution_arn, stock, wait_for_status};
use crate::support::{
    self,
    checkout::{place, stack_with_product, wait_for_outcomes},
    recent_sales, sales_applied, StackOptions, TestApp,
};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use cartwheel_domain::{BreakerState, OrderId, OrderStatus};
use cartwheel_functions::processor::BREAKER;
use cartwheel_store::{
    BreakerStore, GetOrder, GetOrderDetails, GetPayment, PaymentState, ProcessorSwitch,
};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// The order has no payment (the processor never charged it) and no shipment.
async fn assert_never_charged_or_shipped(app: &TestApp, order: OrderId) {
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    assert!(details.payment.is_none(), "never charged: {details:?}");
    assert!(details.shipment.is_none(), "never shipped: {details:?}");
}

#[tokio::test]
async fn a_step_past_its_timeout_is_stopped_and_the_saga_compensates() {
    let options = StackOptions::default().edit(
        "      Description: \"Saga: authorizes the payment with the (simulated) card processor\"\n",
        "      Description: \"Saga: authorizes the payment with the (simulated) card processor\"\n      Timeout: 1\n",
    );
    let (app, _, lamp, customer) = stack_with_product(options, "LAMP", 2500).await;
    let before = stock(&app, &lamp).await;
    let order = place(&app, &customer, &lamp, "tok_processorUnresponsive", "hung").await;
    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(
        outcomes[&order],
        OrderStatus::PaymentFailed,
        "the Catch path ends the order"
    );
    assert_eq!(
        stock(&app, &lamp).await,
        before,
        "the reserved unit is back"
    );
    assert_never_charged_or_shipped(&app, order).await;
    let events = execution_history(&app, order).await;
    assert_eq!(
        failures(&events, "Sandbox.Timedout"),
        3,
        "Step Functions saw Lambda's timeout, and retried it twice: {events:?}"
    );
}

#[tokio::test]
async fn a_step_that_crashes_is_retried_and_past_its_retries_compensated() {
    let (app, _, kettle, customer) =
        stack_with_product(StackOptions::default(), "KETTLE", 3900).await;
    let shipping = app.stack.functions.get("CreateShipmentFunction").unwrap();

    // Two crashes: the third attempt ships it.
    shipping.inject_panics(2);
    let order = place(&app, &customer, &kettle, "tok_visa", "crashes-twice").await;
    // The order is CONFIRMED before it ships: wait for the execution's end.
    assert_eq!(panics(&execution_history(&app, order).await), 2);
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    assert_eq!(details.order.status, OrderStatus::Confirmed);
    assert_eq!(details.payment.unwrap().state, PaymentState::Captured);
    assert!(details.shipment.is_some(), "the retry shipped it");
    assert_eq!(stock(&app, &kettle).await, 9);

    // A step that always crashes: after its retries, the payment is refunded and the unit is back.
    shipping.inject_panics(usize::MAX);
    let order = place(&app, &customer, &kettle, "tok_visa", "always-crashes").await;
    assert_eq!(
        panics(&execution_history(&app, order).await),
        3,
        "1 + 2 retries"
    );
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    assert_eq!(details.order.status, OrderStatus::PaymentFailed);
    assert_eq!(details.payment.unwrap().state, PaymentState::Refunded);
    assert!(details.shipment.is_none());
    assert_eq!(
        stock(&app, &kettle).await,
        9,
        "only the first order's unit is taken"
    );

    // It was confirmed, so it counted as a sale; its refund takes the sale back.
    for waited in 0.. {
        let applied = (
            sales_applied(&app, "OrderConfirmed").await,
            sales_applied(&app, "PaymentDeclined").await,
        );
        if applied == (2, 1) {
            break;
        }
        assert!(
            waited < 150,
            "the sales figures never took the refunded sale back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = recent_sales(&app, &app.admin_token().await).await;
    assert_eq!(report["totals"]["EUR"]["orders"], 1, "{report}");
    assert_eq!(report["totals"]["EUR"]["revenue"], 3900, "{report}");

    // Its customer is told of a refund, not of a declined card that was "never charged".
    for waited in 0.. {
        let mine = app.send(Method::GET, "/notifications", Some(&customer), None);
        let mine: Value = mine.await.json().await.unwrap();
        let told = mine["items"].as_array().unwrap().iter().find(|n| {
            n["orderId"] == order.to_string()
                && n["kind"] != "OrderPlaced"
                && n["kind"] != "OrderConfirmed"
        });
        if let Some(told) = told {
            assert_eq!(told["kind"], "OrderRefunded", "{mine}");
            break;
        }
        assert!(waited < 150, "never told of the refund: {mine}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many of an execution's Lambda calls failed with a panic, as lambda_runtime reports one.
fn panics(history: &[HistoryEvent]) -> usize {
    failures(
        history,
        "&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>",
    )
}

/// How many of an execution's Lambda calls failed with `error`.
fn failures(history: &[HistoryEvent], error: &str) -> usize {
    history
        .iter()
        .filter_map(|e| {
            e.lambda_function_failed_event_details()
                .and_then(|d| d.error())
                .or_else(|| e.task_failed_event_details().and_then(|d| d.error()))
        })
        .filter(|&failed| failed == error)
        .count()
}

/// The history of the execution named after `order`, once it has ended.
async fn execution_history(app: &TestApp, order: OrderId) -> Vec<HistoryEvent> {
    let execution = first_execution_arn(app, order);
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    for waited in 0.. {
        let described = sfn.describe_execution().execution_arn(&execution).send();
        // The starter starts the execution once the order's stream record reaches it.
        match described.await.map_err(|e| e.into_service_error()) {
            Err(e) if e.is_execution_does_not_exist() => {}
            Err(e) => panic!("DescribeExecution: {e:?}"),
            Ok(described) if described.status != ExecutionStatus::Running => {
                assert_eq!(described.status, ExecutionStatus::Succeeded);
                break;
            }
            Ok(_) => {}
        }
        assert!(
            waited < 300,
            "execution {execution} still running after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let history = sfn.get_execution_history().execution_arn(execution);
    history.send().await.unwrap().events
}

#[tokio::test]
async fn a_cancel_during_the_saga_ends_its_execution_cancelled_with_everything_given_back() {
    let (app, _, radio, customer) =
        stack_with_product(StackOptions::default(), "RADIO", 4500).await;
    // The simulated processor takes 3 s over this token: the cancel lands while it thinks.
    let order = place(&app, &customer, &radio, "tok_slowApproval", "slow").await;
    wait_for_status(&app, order, OrderStatus::Reserved).await;
    let path = format!("/orders/{order}/cancel");
    let cancel = app.send(Method::POST, &path, Some(&customer), None).await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);

    let entered: Vec<String> = execution_history(&app, order)
        .await
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_owned())
        .collect();
    assert_eq!(
        entered,
        [
            "ReserveStock",
            "AuthorizePayment",
            "RefundCancelled",
            "ReleaseCancelled",
            "Cancelled"
        ]
    );
    let stored = app.store.get_order(order).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    assert_never_charged_or_shipped(&app, order).await;
    assert_eq!(
        stock(&app, &radio).await,
        10,
        "the reserved unit is back, once"
    );
}

#[tokio::test]
async fn a_processor_outage_opens_the_breaker_and_every_order_ends_with_its_stock_back() {
    let options = StackOptions::default()
        .parameter("PaymentBreakerThreshold", "3")
        .parameter("PaymentBreakerOpenSeconds", "4");
    let (app, _, lamp, customer) = stack_with_product(options, "OUTAGE", 2000).await;
    app.store.set_processor_down(true).await.unwrap();
    let orders = join_all((0..6).map(|i| {
        let (app, customer, lamp) = (&app, &customer, &lamp);
        async move { place(app, customer, lamp, "tok_visa", &format!("outage-{i}")).await }
    }))
    .await;
    let outcomes = wait_for_outcomes(&app, &orders, Duration::from_secs(120)).await;
    for order in &orders {
        assert_eq!(outcomes[order], OrderStatus::PaymentFailed);
        assert_never_charged_or_shipped(&app, *order).await;
    }
    assert_eq!(stock(&app, &lamp).await, 10, "every reserved unit is back");
    // Without the breaker each order would reach the processor three times (the step retries
    // PaymentProcessingError twice): 18 calls. Open, it fails fast instead.
    let calls = app.store.refused_charges().await.unwrap();
    assert!(
        (3..18).contains(&calls),
        "the processor was called {calls} times"
    );
    let open = app.store.breaker_state(BREAKER).await.unwrap();
    assert!(open.open_until.is_some(), "{open:?}");

    // The processor recovers; once the breaker's open time is over, one trial closes it.
    app.store.set_processor_down(false).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = place(&app, &customer, &lamp, "tok_visa", "after-the-outage").await;
    let outcome = wait_for_outcomes(&app, &[after], Duration::from_secs(60)).await;
    assert_eq!(outcome[&after], OrderStatus::Confirmed);
    let payment = app.store.get_payment(after).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Captured);
    assert_eq!(stock(&app, &lamp).await, 9);
    assert_eq!(
        app.store.breaker_state(BREAKER).await.unwrap(),
        BreakerState::default()
    );
}
