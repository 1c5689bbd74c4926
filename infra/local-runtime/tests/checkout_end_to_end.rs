//! End to end on the whole offline stack: orders placed over HTTP reach the saga through the table's
//! stream, the pipe, the order queue and the starter; the saga runs the real ASL in moto's engine;
//! every transition's domain event reaches the bus, the audit trail and the customer.

mod support;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use cartwheel_domain::{BreakerState, OrderId, OrderStatus, Role};
use cartwheel_functions::processor::BREAKER;
use cartwheel_store::{
    BreakerStore, GetOrder, GetOrderDetails, GetPayment, ListAudit, PaymentState, ProcessorSwitch,
};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use support::{
    checkout::{place, stack_with_product, wait_for_outcomes},
    StackOptions, TestApp,
};

async fn stock(app: &TestApp, product: &str) -> i64 {
    let body: Value = app
        .get(&format!("/products/{product}"))
        .await
        .json()
        .await
        .unwrap();
    body["stock"].as_i64().unwrap()
}

/// Waits until the audit trail holds each wanted event: the bus delivered it to the audit rule's
/// queue and the audit consumer stored it.
async fn wait_for_audit(app: &TestApp, wanted: &[(&str, OrderId)]) {
    for _ in 0..300 {
        let mut missing = Vec::new();
        for (kind, order) in wanted {
            let trail = app
                .store
                .list_audit(&order.to_string(), 100, None)
                .await
                .unwrap();
            if !trail.items.iter().any(|r| r.detail_type == *kind) {
                missing.push((kind, order));
            }
        }
        if missing.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the audit trail never held all of {wanted:?}");
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_five_units_confirm_exactly_five() {
    let (app, admin, lamp, first) = stack_with_product(StackOptions::default(), "LAMP", 2500).await;
    let set = app
        .send(
            Method::PUT,
            &format!("/products/{lamp}/stock"),
            Some(&admin),
            Some(r#"{"quantity": 5, "version": 1}"#),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let mut customers = vec![first];
    for _ in 1..20 {
        customers.push(app.user_token(Role::Customer).await.1);
    }

    let placed = join_all((0..200).map(|i| {
        let (app, lamp, token) = (&app, &lamp, &customers[i % customers.len()]);
        async move { place(app, token, lamp, "tok_visa", &format!("order-{i}")).await }
    }))
    .await;

    let outcomes = wait_for_outcomes(&app, &placed, Duration::from_secs(240)).await;
    let count = |status| outcomes.values().filter(|s| **s == status).count();
    assert_eq!(count(OrderStatus::Confirmed), 5, "{outcomes:?}");
    assert_eq!(count(OrderStatus::Rejected), 195, "{outcomes:?}");
    assert_eq!(stock(&app, &lamp).await, 0, "exactly the stock was sold");
}

#[tokio::test]
async fn approved_and_declined_orders_end_confirmed_and_payment_failed_with_their_events() {
    let (app, _, mug, customer) = stack_with_product(StackOptions::default(), "MUG", 1299).await;
    let approved = place(&app, &customer, &mug, "tok_visa", "a").await;
    let declined = place(&app, &customer, &mug, "tok_chargeDeclined", "d").await;

    let outcomes = wait_for_outcomes(&app, &[approved, declined], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&approved], OrderStatus::Confirmed);
    assert_eq!(outcomes[&declined], OrderStatus::PaymentFailed);
    let failed: Value = app
        .send(
            Method::GET,
            &format!("/orders/{declined}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = failed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PENDING", "RESERVED", "PAYMENT_FAILED"]);
    assert_eq!(
        stock(&app, &mug).await,
        9,
        "only the approved order's unit is gone"
    );

    wait_for_audit(
        &app,
        &[
            ("OrderConfirmed", approved),
            ("ShipmentCreated", approved),
            ("PaymentDeclined", declined),
        ],
    )
    .await;
    assert!(failed["shipment"].is_null(), "{failed}");
    let confirmed: Value = app
        .send(
            Method::GET,
            &format!("/orders/{approved}"),
            Some(&customer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["payment"]["state"], "CAPTURED", "{confirmed}");
    assert_eq!(confirmed["payment"]["amount"]["amount"], 1299);
    assert!(
        confirmed["shipment"]["trackingNumber"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "the event above is only published once the shipment is stored: {confirmed}"
    );
    wait_for_audit(
        &app,
        &[("OrderPlaced", approved), ("OrderPlaced", declined)],
    )
    .await;
    // And the customer was told of both outcomes.
    let mut kinds = Vec::new();
    for _ in 0..150 {
        let page: Value = app
            .send(
                Method::GET,
                "/notifications?limit=100",
                Some(&customer),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        kinds = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["kind"].as_str().unwrap().to_owned(),
                    n["orderId"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if kinds.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for wanted in [
        ("OrderConfirmed", approved),
        ("PaymentDeclined", declined),
        ("OrderPlaced", approved),
        ("OrderPlaced", declined),
    ] {
        let wanted = (wanted.0.to_owned(), wanted.1.to_string());
        assert!(kinds.contains(&wanted), "{wanted:?} not in {kinds:?}");
    }
}

#[tokio::test]
async fn cancelling_a_confirmed_order_refunds_it_and_restores_stock() {
    let (app, _, kettle, customer) =
        stack_with_product(StackOptions::default(), "KETTLE", 3999).await;
    let order = place(&app, &customer, &kettle, "tok_visa", "k").await;
    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);
    assert_eq!(stock(&app, &kettle).await, 9);

    let cancel = app
        .send(
            Method::POST,
            &format!("/orders/{order}/cancel"),
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let stored = app.store.get_order(order).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Cancelled);
    let payment = app.store.get_payment(order).await.unwrap().unwrap();
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(stock(&app, &kettle).await, 10, "the unit is back");
    wait_for_audit(
        &app,
        &[("OrderCancelled", order), ("PaymentRefunded", order)],
    )
    .await;
}

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

/// Waits until the order has left PENDING, and answers its status then.
async fn wait_until_moved(app: &TestApp, order: OrderId) -> OrderStatus {
    for _ in 0..200 {
        let status = app.store.get_order(order).await.unwrap().unwrap().status;
        if status != OrderStatus::Pending {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order} never left PENDING");
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

#[tokio::test]
async fn an_order_left_reserved_by_a_dead_execution_is_swept_and_finished_once() {
    let options = StackOptions {
        schedule_every: Some(Duration::from_secs(1)),
        ..StackOptions::default()
    }
    .edit(
        r#"PENDING_GRACE_SECONDS: "120""#,
        r#"PENDING_GRACE_SECONDS: "1""#,
    );
    let (app, _, kettle, customer) = stack_with_product(options, "KETTLE", 3900).await;
    // The simulated processor thinks for 3 s over this token: the execution dies meanwhile.
    let order = place(&app, &customer, &kettle, "tok_slowApproval", "dies").await;
    assert_eq!(wait_until_moved(&app, order).await, OrderStatus::Reserved);
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    sfn.stop_execution()
        .execution_arn(format!(
            "{}:{order}",
            machine.replacen(":stateMachine:", ":execution:", 1)
        ))
        .error("Test.Killed")
        .send()
        .await
        .unwrap();

    let outcomes = wait_for_outcomes(&app, &[order], Duration::from_secs(60)).await;
    assert_eq!(outcomes[&order], OrderStatus::Confirmed);
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    let payment = details.payment.expect("the resumed saga charged it");
    assert_eq!(
        payment.state,
        PaymentState::Captured,
        "charged once, captured"
    );
    assert!(details.shipment.is_some(), "the resumed saga shipped it");
    assert_eq!(stock(&app, &kettle).await, 9, "one unit reserved, once");
    // Sweeps kept coming every second: none started a third attempt, or a second beside the first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        executions_of(&app, order).await,
        [
            (order.to_string(), ExecutionStatus::Aborted),
            (format!("{order}-2"), ExecutionStatus::Succeeded),
        ]
    );
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
    assert!(app.store.get_payment(order).await.unwrap().is_none());
    let events = execution_history(&app, order).await;
    let timed_out = events.iter().any(|e| {
        e.lambda_function_failed_event_details()
            .and_then(|d| d.error())
            .or_else(|| e.task_failed_event_details().and_then(|d| d.error()))
            == Some("Sandbox.Timedout")
    });
    assert!(timed_out, "Step Functions saw Lambda's timeout: {events:?}");
}

/// The history of the execution named after `order`, once it has ended.
async fn execution_history(app: &TestApp, order: OrderId) -> Vec<HistoryEvent> {
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let execution = format!(
        "{}:{order}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    );
    let sfn = aws_sdk_sfn::Client::new(&support::sdk_config().await);
    for _ in 0..300 {
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        if described.status != ExecutionStatus::Running {
            assert_eq!(described.status, ExecutionStatus::Succeeded);
            break;
        }
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
    assert_eq!(wait_until_moved(&app, order).await, OrderStatus::Reserved);
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
    assert!(
        app.store.get_payment(order).await.unwrap().is_none(),
        "never charged"
    );
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
        assert!(
            app.store.get_payment(*order).await.unwrap().is_none(),
            "never charged"
        );
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
