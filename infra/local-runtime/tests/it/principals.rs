//! The principals besides the functions are held to the template too: the state machine's role
//! (Lambda invoke), the pipe's role (stream read, queue send), the queue policy (rule targets) and
//! the function roles that event source mappings poll with; and a function's reserved concurrency
//! bounds how many of its invocations run at once.

use crate::support;

use cartwheel_domain::OrderId;
use cartwheel_local::sandbox::Failure;
use futures::future::join_all;
use serde_json::Value;
use std::time::Duration;
use support::{pending_order_paid_with, product, sdk_config, StackOptions, TestApp};

#[tokio::test]
async fn the_state_machine_may_invoke_only_the_steps_its_policy_names() {
    let app = TestApp::start_stack(StackOptions::api_only().edit(
        "        - LambdaInvokePolicy:\n            FunctionName: !Ref ConfirmOrderFunction\n",
        "",
    ))
    .await;
    let port = std::env::var("CARTWHEEL_AWS_EDGE_PORT").unwrap();
    let invoke = |function: &str| {
        let arn = app.stack.functions.arn(function);
        let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/{arn}/invocations");
        app.http
            .post(url)
            .body(format!(r#"{{"orderId": "{}"}}"#, OrderId::generate()))
            .send()
    };
    let refused = invoke("ConfirmOrderFunction").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["x-amzn-errortype"],
        "AccessDeniedException"
    );
    let body: Value = refused.json().await.unwrap();
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains("is not authorized to perform: lambda:InvokeFunction on resource:")
            && message.contains("ConfirmOrderFunction"),
        "{message}"
    );
    let allowed = invoke("ReserveStockFunction").await.unwrap();
    assert_eq!(
        allowed.status(),
        200,
        "the step runs (and reports its own error)"
    );
    assert_eq!(allowed.headers()["x-amz-function-error"], "Unhandled");
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(body["errorType"], "OrderNotFound");
}

#[tokio::test]
async fn the_pipe_sends_only_where_its_role_allows() {
    let app = TestApp::start_stack(StackOptions::default().edit(
        "Resource: [!GetAtt OrderQueue.Arn, !GetAtt OrderHandoffDeadLetterQueue.Arn]",
        "Resource: [!GetAtt OrderHandoffDeadLetterQueue.Arn]",
    ))
    .await;
    let lamp = product(&app.store, "LAMP", 3).await;
    let order = pending_order_paid_with(&app.store, &[(&lamp, 1)], "tok_visa").await;
    let pipe = &app.stack.pipe_principals[0];
    let mut refused = Vec::new();
    for _ in 0..100 {
        refused = pipe.denials();
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queue_arn = &app.stack.queues["OrderQueue"].arn;
    assert!(
        refused
            .iter()
            .any(|call| call.action == "sqs:SendMessage" && &call.resource == queue_arn),
        "{refused:?}"
    );
    use cartwheel_store::GetOrder;
    let stored = app.store.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, cartwheel_domain::OrderStatus::Pending);
}

#[tokio::test]
async fn a_rule_the_queue_policy_does_not_admit_gets_no_target() {
    let app = TestApp::start_stack(
        StackOptions::api_only().edit("              - !GetAtt StockAlertsQueue.Arn\n", ""),
    )
    .await;
    let events = aws_sdk_eventbridge::Client::new(&sdk_config().await);
    let targets = |rule: &str| {
        events
            .list_targets_by_rule()
            .rule(format!("{}-{rule}", app.stack.name))
            .event_bus_name(app.stack.bus.clone().unwrap())
            .send()
    };
    let refused = targets("StockAlertsRule").await.unwrap();
    assert!(refused.targets.unwrap_or_default().is_empty());
    let admitted = targets("OrderNotificationsRule").await.unwrap();
    assert_eq!(admitted.targets.unwrap_or_default().len(), 1);
}

/// Why the stack does not start with `from` replaced by `to` in template.yaml.
async fn refusal(from: &str, to: &str) -> String {
    match TestApp::try_start_stack(StackOptions::default().edit(from, to)).await {
        Ok(_) => panic!("the stack started without {from:?}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_queue_mapping_whose_function_may_not_poll_the_queue_is_refused() {
    let refused = refusal(
        "Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]",
        "Action: [sqs:DeleteMessage, sqs:GetQueueAttributes]",
    )
    .await;
    assert!(
        refused.contains("StartCheckoutFunction's event source mapping: InvalidParameterValueException: The provided execution role does not have permissions to call ReceiveMessage on SQS"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_stream_mapping_whose_function_may_not_read_the_stream_or_report_is_refused() {
    let stream_read = "Action: [dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator, dynamodb:ListStreams]\n              Resource: !GetAtt Table.StreamArn\n            - Effect: Allow\n              Action: [sqs:SendMessage]";
    let refused = refusal(
        stream_read,
        &stream_read.replace("dynamodb:GetRecords, ", ""),
    )
    .await;
    assert!(
        refused.contains("PublishEventsFunction's event source mapping: InvalidParameterValueException: Cannot access stream arn:"),
        "{refused}"
    );
    let refused = refusal(stream_read, &stream_read.replace("[sqs:SendMessage]", "[]")).await;
    assert!(refused.contains("call SendMessage on SQS"), "{refused}");
}

#[tokio::test]
async fn reserved_concurrency_throttles_what_runs_beyond_it() {
    let description =
        "      Description: \"Saga: authorizes the payment with the (simulated) card processor\"\n";
    let app = TestApp::start_stack(StackOptions::api_only().edit(
        description,
        &format!("{description}      Timeout: 2\n      ReservedConcurrentExecutions: 1\n"),
    ))
    .await;
    let lamp = product(&app.store, "LAMP", 5).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        let order =
            pending_order_paid_with(&app.store, &[(&lamp, 1)], "tok_processorUnresponsive").await;
        orders.push(order.id);
    }
    let step = app.function("AuthorizePaymentFunction");
    let outcomes = join_all(
        orders
            .iter()
            .map(|id| step.step(cartwheel_functions::saga::SagaInput { order_id: *id })),
    )
    .await;
    let throttled = outcomes
        .iter()
        .filter(|o| matches!(o, Err(Failure::Throttled)))
        .count();
    let timed_out = outcomes
        .iter()
        .filter(|o| matches!(o, Err(Failure::TimedOut { seconds: 2 })))
        .count();
    assert_eq!((timed_out, throttled), (1, 2), "{outcomes:?}");
}
