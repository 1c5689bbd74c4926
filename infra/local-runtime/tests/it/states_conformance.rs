//! The offline Step Functions engine (`states`) against moto's, on the same executions: the
//! checkout machine as provisioned is created on both, each scenario runs once on each engine
//! with an order of its own, and what each execution entered, failed with and answered is
//! compared. moto's engine (LocalStack's interpreter) is the reference.

use crate::support;

use aws_sdk_sfn::{types::ExecutionStatus, Client};
use cartwheel_domain::Product;
use cartwheel_local::provision;
use futures::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;
use support::{pending_order_paid_with, product, sdk_config, StackOptions, TestApp};

/// One engine: a client that reaches it, and the checkout machine created on it.
struct Engine {
    client: Client,
    machine: String,
}

async fn engine(app: &TestApp, endpoint: String) -> Engine {
    let sdk = sdk_config().await;
    let config = aws_sdk_sfn::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    let client = Client::from_conf(config);
    let spec = app.template.state_machines().remove(0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let definition = std::fs::read_to_string(root.join(&spec.definition_uri)).unwrap();
    let functions = &app.stack.functions;
    let location = (
        functions.resources.region.as_str(),
        functions.resources.account.as_str(),
    );
    let machine =
        provision::create_state_machine(&client, &functions.stack, &spec, &definition, location)
            .await
            .unwrap();
    Engine { client, machine }
}

/// moto's engine and the offline one, each with the stack's checkout machine.
async fn both(app: &TestApp) -> [Engine; 2] {
    let moto = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let edge = format!(
        "http://127.0.0.1:{}",
        std::env::var("CARTWHEEL_AWS_EDGE_PORT").unwrap()
    );
    [engine(app, moto).await, engine(app, edge).await]
}

/// What an execution did, with its order's id written `ORDER` so two orders compare.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: ExecutionStatus,
    /// Every history event's type, in order.
    events: Vec<String>,
    entered: Vec<String>,
    failures: Vec<String>,
    error: Option<String>,
    output: Option<Value>,
}

async fn start(engine: &Engine, name: &str, input: &Value) -> Result<String, String> {
    let started = engine
        .client
        .start_execution()
        .state_machine_arn(&engine.machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    started.map(|s| s.execution_arn).map_err(|e| {
        e.into_service_error()
            .meta()
            .code()
            .unwrap_or("?")
            .to_owned()
    })
}

async fn finished(
    engine: &Engine,
    execution: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..600 {
        let described = engine
            .client
            .describe_execution()
            .execution_arn(execution)
            .send();
        let described = described.await.unwrap();
        if described.status != ExecutionStatus::Running {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{execution} still running after 60 s");
}

/// Waits until the execution has entered its first Task: what is stopped is a saga under way.
/// moto's StopExecution skips an execution whose worker is not set up yet: one stopped that
/// early ended FAILED in a CI run, not ABORTED.
async fn in_a_task(engine: &Engine, execution: &str) {
    for _ in 0..100 {
        let history = engine
            .client
            .get_execution_history()
            .execution_arn(execution)
            .send();
        let events = history.await.unwrap().events;
        if events
            .iter()
            .any(|e| e.r#type.as_str() == "TaskStateEntered")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{execution} entered no Task within 5 s");
}

/// Runs an order's execution to its end and reads what it did.
async fn outcome(engine: &Engine, order: &str) -> Outcome {
    let input = json!({"orderId": order, "handoff": "conformance"});
    let execution = start(engine, order, &input).await.unwrap();
    let described = finished(engine, &execution).await;
    let history = engine
        .client
        .get_execution_history()
        .execution_arn(&execution)
        .max_results(1000);
    let events = history.send().await.unwrap().events;
    let unnamed = |text: &str| text.replace(order, "ORDER");
    Outcome {
        status: described.status,
        events: events
            .iter()
            .map(|e| e.r#type.as_str().to_owned())
            .collect(),
        entered: events
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_owned())
            .collect(),
        failures: events
            .iter()
            .filter_map(|e| e.lambda_function_failed_event_details())
            .filter_map(|d| d.error().map(str::to_owned))
            .collect(),
        error: described.error,
        output: described
            .output
            .map(|o| serde_json::from_str(&unnamed(&o)).unwrap()),
    }
}

/// One scenario on both engines at once, each with an order of its own paid with `token`; the
/// outcomes, moto's first.
async fn on_both(
    app: &TestApp,
    engines: &[Engine; 2],
    product: &Product,
    quantity: i64,
    token: &str,
) -> Vec<Outcome> {
    join_all(engines.iter().map(|engine| async move {
        let order = pending_order_paid_with(&app.store, &[(product, quantity)], token).await;
        outcome(engine, &order.id.to_string()).await
    }))
    .await
}

fn entered(outcome: &Outcome) -> Vec<&str> {
    outcome.entered.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn both_engines_take_every_path_of_the_checkout_alike() {
    // The card processor's breaker would carry one engine's failures into the other's run.
    let options = StackOptions::api_only().parameter("PaymentBreakerThreshold", "1000");
    let app = TestApp::start_stack(options).await;
    let engines = both(&app).await;
    let stocked = product(&app.store, "CONFORM", 100).await;

    let scarce = product(&app.store, "CONFORM-SCARCE", 1).await;
    // The scenarios at once: each order is its own, and no scenario changes what another reads
    // (the stocked product has units for all; the scarce one refuses every order of two).
    let (confirmed, declined, flaky, rejected) = tokio::join!(
        on_both(&app, &engines, &stocked, 1, "tok_visa"),
        on_both(&app, &engines, &stocked, 1, "tok_chargeDeclined"),
        // Retried twice with backoff (1 s, then 2 s), then caught and compensated.
        on_both(&app, &engines, &stocked, 1, "tok_processingError"),
        on_both(&app, &engines, &scarce, 2, "tok_visa"),
    );
    assert_eq!(confirmed[0], confirmed[1]);
    assert_eq!(confirmed[1].status, ExecutionStatus::Succeeded);
    let path = [
        "ReserveStock",
        "AuthorizePayment",
        "ConfirmOrder",
        "CreateShipment",
        "Confirmed",
    ];
    assert_eq!(entered(&confirmed[1]), path);

    assert_eq!(declined[0], declined[1]);
    assert_eq!(
        declined[1].entered.last().map(String::as_str),
        Some("PaymentFailed")
    );

    assert_eq!(flaky[0], flaky[1]);
    assert_eq!(flaky[1].failures, ["PaymentProcessingError"; 3]);

    assert_eq!(rejected[0], rejected[1]);
    assert_eq!(entered(&rejected[1]), ["ReserveStock", "Rejected"]);

    // A step that crashes three times: Lambda's error, retried as a task failure, then caught.
    // One engine at a time: the injected crashes are the function's, whichever engine calls it.
    let mut crashed = Vec::new();
    for engine in &engines {
        app.function("ConfirmOrderFunction").inject_panics(3);
        let order = pending_order_paid_with(&app.store, &[(&stocked, 1)], "tok_visa").await;
        crashed.push(outcome(engine, &order.id.to_string()).await);
    }
    assert_eq!(crashed[0], crashed[1]);
    assert_eq!(crashed[1].failures.len(), 3, "{:?}", crashed[1]);
}

#[tokio::test]
async fn both_engines_see_a_step_s_timeout_alike() {
    let options = StackOptions::api_only().edit(
        "      Description: \"Saga: authorizes the payment with the (simulated) card processor\"\n",
        "      Description: \"Saga: authorizes the payment with the (simulated) card processor\"\n      Timeout: 1\n",
    );
    let app = TestApp::start_stack(options).await;
    let engines = both(&app).await;
    let stocked = product(&app.store, "CONFORM-SLOW", 10).await;
    let hung = on_both(&app, &engines, &stocked, 1, "tok_processorUnresponsive").await;
    assert_eq!(hung[0], hung[1]);
    assert_eq!(hung[1].failures, ["Sandbox.Timedout"; 3]);
}

#[tokio::test]
async fn names_stops_and_unknown_executions_are_answered_alike() {
    let app = TestApp::start_stack(StackOptions::api_only()).await;
    let engines = both(&app).await;
    let stocked = product(&app.store, "CONFORM-NAMES", 10).await;
    // Both engines at once: each has its own orders, names and executions.
    let answers = join_all(engines.iter().map(|engine| async {
        // tok_slowApproval: the processor thinks for 3 s, so the execution is still running.
        let order = pending_order_paid_with(&app.store, &[(&stocked, 1)], "tok_slowApproval").await;
        let name = order.id.to_string();
        let input = json!({"orderId": name, "handoff": "first"});
        let first = start(engine, &name, &input).await.unwrap();
        let again = start(engine, &name, &input).await;
        let other = start(
            engine,
            &name,
            &json!({"orderId": name, "handoff": "second"}),
        )
        .await;
        finished(engine, &first).await;
        let after = start(engine, &name, &input).await;

        let stoppable =
            pending_order_paid_with(&app.store, &[(&stocked, 1)], "tok_slowApproval").await;
        let stoppable = stoppable.id.to_string();
        let running = start(engine, &stoppable, &json!({"orderId": stoppable}))
            .await
            .unwrap();
        in_a_task(engine, &running).await;
        let stop = engine
            .client
            .stop_execution()
            .execution_arn(&running)
            .error("Stopped")
            .cause("by the test");
        stop.send().await.unwrap();
        let stopped = finished(engine, &running).await;

        let unknown = format!(
            "{}:nobody",
            engine.machine.replacen(":stateMachine:", ":execution:", 1)
        );
        let missing = engine
            .client
            .describe_execution()
            .execution_arn(unknown)
            .send()
            .await;
        let missing = missing.map_err(|e| {
            e.into_service_error()
                .meta()
                .code()
                .unwrap_or("?")
                .to_owned()
        });
        let listed = engine
            .client
            .list_executions()
            .state_machine_arn(&engine.machine)
            .send()
            .await
            .unwrap();
        let names: Vec<String> = listed.executions.iter().map(|e| e.name.clone()).collect();
        json!({
            "again": again.map(|arn| arn == first), "other": other, "after": after,
            // moto's DescribeExecution drops a stop's error and cause; the status is compared.
            "stopped": stopped.status.as_str(),
            "missing": missing.map(|_| "found"),
            "listed": names.iter().map(|n| if *n == name { "first" } else if *n == stoppable { "stopped" } else { "?" }).collect::<Vec<_>>(),
        })
    }))
    .await;
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[1],
        json!({
            "again": {"Ok": true}, "other": {"Err": "ExecutionAlreadyExists"},
            "after": {"Err": "ExecutionAlreadyExists"},
            "stopped": "ABORTED",
            "missing": {"Err": "ExecutionDoesNotExist"},
            "listed": ["stopped", "first"],
        })
    );
}
