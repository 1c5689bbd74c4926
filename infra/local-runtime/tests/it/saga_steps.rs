//! The checkout saga's steps, run through the registry as Step Functions would run them, and the
//! state machine definition checked against template.yaml and the registry.

use crate::support;

use cartwheel_domain::{Order, OrderStatus};
use cartwheel_functions::{deployed, registry::Handler, saga::StepError};
use cartwheel_store::{
    CreateShipment, GetOrder, GetPayment, GetProduct, PaymentState, TransitionOrder,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::{pending_order, product, template, TestApp};

/// Runs the step `function` on the order; `Err` holds the error type the state machine sees.
async fn step(app: &TestApp, function: &str, order: &Order) -> Result<(), String> {
    match app.step(function, order.id).await {
        Ok(output) => {
            assert_eq!(output.order_id, order.id, "a step passes its input on");
            Ok(())
        }
        Err(error) => Err(error.error_type().to_owned()),
    }
}

async fn stored(app: &TestApp, order: &Order) -> Order {
    app.store.get_order(order.id).await.unwrap().unwrap()
}

#[test]
fn the_state_machine_names_only_saga_steps_and_all_of_them() {
    let machines = template().state_machines();
    assert_eq!(machines.len(), 1);
    let machine = &machines[0];
    let path = format!(
        "{}/../../{}",
        env!("CARGO_MANIFEST_DIR"),
        machine.definition_uri
    );
    let definition = std::fs::read_to_string(&path).unwrap();
    let asl: Value = serde_json::from_str(&definition).expect("the ASL is JSON");
    assert!(asl["States"][asl["StartAt"].as_str().unwrap()].is_object());
    assert!(
        !definition.contains("QueryLanguage"),
        "JSONPath, not JSONata"
    );
    let substituted: BTreeSet<String> = machine
        .function_arns
        .iter()
        .map(|(key, _)| key.clone())
        .collect();
    let used: BTreeSet<String> = asl["States"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|state| state["Resource"].as_str())
        .map(|r| r.trim_start_matches("${").trim_end_matches('}').to_owned())
        .collect();
    assert_eq!(
        used, substituted,
        "every Resource is substituted, every substitution used"
    );
    let steps: BTreeSet<String> = deployed::all()
        .into_iter()
        .filter(|handler| matches!(handler, Handler::Step(_)))
        .map(|handler| handler.name().to_owned())
        .collect();
    let invoked: BTreeSet<String> = machine
        .function_arns
        .iter()
        .map(|(_, function)| function.clone())
        .collect();
    assert_eq!(invoked, steps);
}

#[tokio::test]
async fn an_approved_order_is_reserved_paid_confirmed_and_shipped() {
    let app = TestApp::start().await;
    let mug = product(&app.store, "MUG", 5).await;
    let order = pending_order(&app.store, &[(&mug, 2)]).await;
    for function in [
        "ReserveStockFunction",
        "AuthorizePaymentFunction",
        "ConfirmOrderFunction",
        "CreateShipmentFunction",
    ] {
        step(&app, function, &order).await.unwrap();
        // Every step is retried safely.
        step(&app, function, &order).await.unwrap();
    }
    let done = stored(&app, &order).await;
    assert_eq!(done.status, OrderStatus::Confirmed);
    assert_eq!(
        app.store
            .get_payment(order.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        PaymentState::Captured
    );
    assert_eq!(
        app.store
            .get_product(mug.id)
            .await
            .unwrap()
            .unwrap()
            .stock
            .units(),
        3
    );
}

#[tokio::test]
async fn a_declined_payment_is_compensated_in_reverse() {
    let app = TestApp::start().await;
    let mug = product(&app.store, "MUG", 5).await;
    let order = pending_order_with_token(&app, &mug, "tok_chargeDeclined").await;
    step(&app, "ReserveStockFunction", &order).await.unwrap();
    assert_eq!(
        app.store
            .get_product(mug.id)
            .await
            .unwrap()
            .unwrap()
            .stock
            .units(),
        4
    );
    assert_eq!(
        step(&app, "AuthorizePaymentFunction", &order).await,
        Err("PaymentDeclined".into())
    );

    // The compensations, twice over: the second run changes nothing.
    for _ in 0..2 {
        for function in [
            "RefundPaymentFunction",
            "ReleaseStockFunction",
            "MarkPaymentFailedFunction",
        ] {
            step(&app, function, &order).await.unwrap();
        }
        assert_eq!(
            app.store
                .get_product(mug.id)
                .await
                .unwrap()
                .unwrap()
                .stock
                .units(),
            5
        );
    }
    let failed = stored(&app, &order).await;
    assert_eq!(failed.status, OrderStatus::PaymentFailed);
    assert!(
        app.store.get_payment(order.id).await.unwrap().is_none(),
        "no payment was taken"
    );
    let shipment = app
        .store
        .create_shipment(order.id, cartwheel_domain::Timestamp::now())
        .await;
    assert!(shipment.is_err(), "no shipment for a failed order");
}

#[tokio::test]
async fn a_saga_compensating_an_order_cancelled_meanwhile_ends_cleanly_and_leaves_it_cancelled() {
    let app = TestApp::start().await;
    let mug = product(&app.store, "MUG", 5).await;
    let order = pending_order(&app.store, &[(&mug, 1)]).await;
    step(&app, "ReserveStockFunction", &order).await.unwrap();
    app.store
        .transition_order(
            order.id,
            &[OrderStatus::Reserved],
            OrderStatus::Cancelled,
            cartwheel_domain::Timestamp::now(),
        )
        .await
        .unwrap();
    for function in [
        "RefundPaymentFunction",
        "ReleaseStockFunction",
        "MarkPaymentFailedFunction",
    ] {
        step(&app, function, &order).await.unwrap();
    }
    assert_eq!(stored(&app, &order).await.status, OrderStatus::Cancelled);
    assert_eq!(
        app.store
            .get_product(mug.id)
            .await
            .unwrap()
            .unwrap()
            .stock
            .units(),
        5
    );
}

#[tokio::test]
async fn out_of_stock_and_transient_failures_have_their_own_error_types() {
    let app = TestApp::start().await;
    let scarce = product(&app.store, "SCARCE", 1).await;
    let order = pending_order(&app.store, &[(&scarce, 2)]).await;
    assert_eq!(
        step(&app, "ReserveStockFunction", &order).await,
        Err("OutOfStock".into())
    );
    assert_eq!(stored(&app, &order).await.status, OrderStatus::Rejected);

    let cancelled = pending_order_with_token(&app, &scarce, "tok_visa").await;
    let now = cartwheel_domain::Timestamp::now();
    app.store
        .transition_order(
            cancelled.id,
            &[OrderStatus::Pending],
            OrderStatus::Cancelled,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        step(&app, "ReserveStockFunction", &cancelled).await,
        Err("OrderCancelled".into())
    );
    assert_eq!(
        app.store
            .get_product(scarce.id)
            .await
            .unwrap()
            .unwrap()
            .stock
            .units(),
        1,
        "nothing taken"
    );

    let flaky = pending_order_with_token(&app, &scarce, "tok_processingError").await;
    step(&app, "ReserveStockFunction", &flaky).await.unwrap();
    assert_eq!(
        step(&app, "AuthorizePaymentFunction", &flaky).await,
        Err("PaymentProcessingError".into())
    );
    assert_eq!(
        stored(&app, &flaky).await.status,
        OrderStatus::Reserved,
        "a transient failure changes nothing"
    );
}

/// A one-unit PENDING order of `product` paid with `token`.
async fn pending_order_with_token(
    app: &TestApp,
    product: &cartwheel_domain::Product,
    token: &str,
) -> Order {
    support::pending_order_paid_with(&app.store, &[(product, 1)], token).await
}

/// The checkout state machine's definition (its ASL file, before substitution).
fn state_machine() -> Value {
    let machine = &template().state_machines()[0];
    let path = format!(
        "{}/../../{}",
        env!("CARGO_MANIFEST_DIR"),
        machine.definition_uri
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a Task state's `Retry` and `Catch` match.
fn handled(state: &Value) -> Vec<String> {
    ["Retry", "Catch"]
        .iter()
        .flat_map(|key| state[*key].as_array().cloned().unwrap_or_default())
        .flat_map(|rule| rule["ErrorEquals"].as_array().cloned().unwrap_or_default())
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_error_name_in_the_state_machine_is_one_a_step_or_lambda_returns_and_every_step_error_is_handled(
) {
    let asl = state_machine();
    let lambda_errors = [
        "Lambda.ServiceException",
        "Lambda.TooManyRequestsException",
        "Lambda.SdkClientException",
        "Sandbox.Timedout",
    ];
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let names = handled(state);
        for error in &names {
            assert!(
                error.starts_with("States.")
                    || lambda_errors.contains(&error.as_str())
                    || StepError::TYPES.contains(&error.as_str()),
                "{name} matches {error}, which no step returns"
            );
        }
        for error in StepError::TYPES {
            assert!(
                names.iter().any(|n| n == error || n == "States.ALL"),
                "{name} does not handle {error}"
            );
        }
    }
}

#[test]
fn every_task_retries_a_crash_or_a_timeout_and_never_a_final_answer() {
    let asl = state_machine();
    // Every answer a step gives has its own retrier somewhere (final or retried on its own
    // terms): a new one that had none would fall through to the crash retrier unnoticed.
    let mut decided = std::collections::BTreeSet::new();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let retry = state["Retry"].as_array().unwrap();
        let (first, last) = (&retry[0], &retry[retry.len() - 1]);
        assert_eq!(first["ErrorEquals"], json!(StepError::FINAL), "{name}");
        assert_eq!(first["MaxAttempts"], 0, "{name} retries a final answer");
        assert_eq!(last["ErrorEquals"], json!(["States.TaskFailed"]), "{name}");
        // ASL's default is 3 attempts.
        assert!(last["MaxAttempts"].as_u64().unwrap_or(3) >= 1, "{name}");
        for retrier in &retry[..retry.len() - 1] {
            let names = retrier["ErrorEquals"].as_array().unwrap();
            decided.extend(names.iter().map(|n| n.as_str().unwrap().to_owned()));
        }
    }
    for error in StepError::TYPES {
        assert!(decided.contains(error), "no retrier decides {error}");
    }
}
