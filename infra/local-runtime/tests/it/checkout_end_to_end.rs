//! End to end on the whole offline stack: orders placed over HTTP reach the saga through the table's
//! stream, the pipe, the order queue and the starter; the saga runs the real ASL in moto's engine;
//! every transition's domain event reaches the bus, the audit trail and the customer.

use crate::support;

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
    recent_sales, sales_applied, StackOptions, TestApp,
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

/// `Prefer: wait` through the whole stack: the same POST answers with the checkout's outcome,
/// and a retry with the key answers the same order, not a second one.
#[tokio::test]
async fn a_waiting_client_gets_the_checkouts_answer_in_the_same_call() {
    let (app, _, mug, customer) =
        stack_with_product(StackOptions::default(), "WAITMUG", 1299).await;
    let order = |payment: &str, key: &str| {
        let body = serde_json::json!({"items": [{"productId": mug, "quantity": 1}],
            "paymentToken": payment,
            "shippingAddress": {"name": "A", "line1": "B", "city": "C", "postalCode": "D", "country": "GB"}});
        app.http
            .post(app.url("/orders"))
            .bearer_auth(&customer)
            .header("Idempotency-Key", key)
            .header("Prefer", "wait=20")
            .json(&body)
            .send()
    };
    for (payment, key, outcome) in [
        ("tok_visa", "waited-visa", "CONFIRMED"),
        ("tok_chargeDeclined", "waited-declined", "PAYMENT_FAILED"),
    ] {
        let answer = order(payment, key).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{payment}");
        assert_eq!(answer.headers()["preference-applied"], "wait=20");
        let location = answer.headers()["location"].clone();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], outcome, "{body}");
        let retry = order(payment, key).await.unwrap();
        assert_eq!(retry.status(), StatusCode::OK);
        assert_eq!(retry.headers()["location"], location);
    }
    assert_eq!(stock(&app, &mug).await, 9, "one unit sold, once");
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

/// The order has no payment (the processor never charged it) and no shipment.
async fn assert_never_charged_or_shipped(app: &TestApp, order: OrderId) {
    let details = app.store.get_order_details(order).await.unwrap().unwrap();
    assert!(details.payment.is_none(), "never charged: {details:?}");
    assert!(details.shipment.is_none(), "never shipped: {details:?}");
}

/// Waits until the order is in `wanted`.
async fn wait_for_status(app: &TestApp, order: OrderId, wanted: OrderStatus) {
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

/// The ARN of the order's first execution, which the starter names after the order.
fn first_execution_arn(app: &TestApp, order: OrderId) -> String {
    let machine = &app.stack.state_machines["CheckoutStateMachine"];
    let executions = machine.replacen(":stateMachine:", ":execution:", 1);
    format!("{executions}:{order}")
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
