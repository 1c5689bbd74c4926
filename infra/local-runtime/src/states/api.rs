//! The Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`) for the
//! calls Cartwheel and its tests make: state machines created, listed and updated; executions
//! started, described, stopped, listed and their history read. Another operation is refused by
//! name, never half-answered.

use super::engine::{Engine, Refused};
use crate::invocation::InvokeStep;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The operation a request's `X-Amz-Target` names, if it is a Step Functions call.
pub fn operation(headers: &hyper::HeaderMap) -> Option<String> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    target.strip_prefix(TARGET_PREFIX).map(str::to_owned)
}

fn respond(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

fn refused(Refused(kind, message): Refused) -> Response<Full<Bytes>> {
    respond(
        StatusCode::BAD_REQUEST,
        &json!({"__type": kind, "message": message}),
    )
}

fn text<'a>(request: &'a Value, key: &str) -> Result<&'a str, Refused> {
    request[key]
        .as_str()
        .ok_or_else(|| Refused("ValidationException", format!("{key} is required")))
}

/// One page of `items` from the offset `nextToken` names, with the token of the next.
fn page(items: Vec<Value>, request: &Value, key: &str) -> Value {
    let size = match request["maxResults"].as_u64() {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => 100,
    };
    let from: usize = request["nextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let end = from.saturating_add(size).min(items.len());
    let mut answer = json!({ key: items.get(from..end).unwrap_or_default() });
    if end < items.len() {
        answer["nextToken"] = json!(end.to_string());
    }
    answer
}

/// Answers one Step Functions call.
pub fn handle<E: InvokeStep>(
    engine: &Arc<Engine>,
    edge: &Arc<E>,
    operation: &str,
    region: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match answer(engine, edge, operation, region, &request) {
        Ok(body) => respond(StatusCode::OK, &body),
        Err(refusal) => refused(refusal),
    }
}

fn answer<E: InvokeStep>(
    engine: &Arc<Engine>,
    edge: &Arc<E>,
    operation: &str,
    region: &str,
    request: &Value,
) -> Result<Value, Refused> {
    match operation {
        "CreateStateMachine" => {
            let name = text(request, "name")?;
            // moto's default account, which the offline stacks' other resources have.
            let (region, account) = edge
                .location_of(name)
                .unwrap_or_else(|| (region.to_owned(), "123456789012".to_owned()));
            let arn = format!("arn:aws:states:{region}:{account}:stateMachine:{name}");
            let definition = text(request, "definition")?;
            let role = text(request, "roleArn")?;
            let machine = engine.create(arn, name, definition, role)?;
            Ok(json!({"stateMachineArn": machine.arn, "creationDate": machine.created}))
        }
        "UpdateStateMachine" => {
            let arn = text(request, "stateMachineArn")?;
            let updated = engine.update(arn, text(request, "definition")?)?;
            Ok(json!({"updateDate": updated}))
        }
        "ListStateMachines" => {
            let machines = engine.machines().iter().map(|m| {
                json!({"stateMachineArn": m.arn, "name": m.name, "type": "STANDARD", "creationDate": m.created})
            }).collect();
            Ok(page(machines, request, "stateMachines"))
        }
        "StartExecution" => {
            let machine = text(request, "stateMachineArn")?;
            let name = request["name"]
                .as_str()
                .map_or_else(|| ulid::Ulid::new().to_string(), str::to_owned);
            let input = request["input"].as_str().unwrap_or("{}").to_owned();
            let (arn, start) = engine.start(Arc::clone(edge), machine, name, input)?;
            Ok(json!({"executionArn": arn, "startDate": start}))
        }
        "DescribeExecution" => {
            let execution = engine.execution(text(request, "executionArn")?)?;
            let described = execution.lock().map(|e| e.described()).unwrap_or_default();
            Ok(described)
        }
        "StopExecution" => {
            let arn = text(request, "executionArn")?;
            let owned = |key: &str| request[key].as_str().map(str::to_owned);
            let stopped = engine.stop(arn, owned("error"), owned("cause"))?;
            Ok(json!({"stopDate": stopped}))
        }
        "ListExecutions" => {
            let machine = text(request, "stateMachineArn")?;
            let listed = engine.list(machine, request["statusFilter"].as_str())?;
            Ok(page(listed, request, "executions"))
        }
        "GetExecutionHistory" => {
            let execution = engine.execution(text(request, "executionArn")?)?;
            let mut events = execution
                .lock()
                .map(|e| e.events().to_vec())
                .unwrap_or_default();
            if request["reverseOrder"].as_bool() == Some(true) {
                events.reverse();
            }
            Ok(page(events, request, "events"))
        }
        other => Err(Refused(
            "UnknownOperationException",
            format!("the offline Step Functions engine does not serve {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Invoked;

    const REGION: &str = "us-east-1";

    /// An edge with no stack registered: no function to invoke, no stack's location.
    struct NoStacks;

    impl InvokeStep for NoStacks {
        async fn invoke_step(&self, function: &str, _: &[u8]) -> Invoked {
            let body = json!({"Message": format!("Function not found: {function}")});
            Invoked::api(StatusCode::NOT_FOUND, "ResourceNotFoundException", body)
        }

        fn location_of(&self, _: &str) -> Option<(String, String)> {
            None
        }
    }

    fn call(engine: &Arc<Engine>, operation: &str, request: Value) -> Result<Value, Refused> {
        answer(engine, &Arc::new(NoStacks), operation, REGION, &request)
    }

    fn create(engine: &Arc<Engine>, name: &str, definition: &str) -> Result<String, Refused> {
        let request = json!({"name": name, "definition": definition, "roleArn": "arn:role"});
        let created = call(engine, "CreateStateMachine", request)?;
        Ok(created["stateMachineArn"].as_str().unwrap().to_owned())
    }

    async fn ended(engine: &Arc<Engine>, execution: &str) -> Value {
        for _ in 0..100 {
            let described = call(
                engine,
                "DescribeExecution",
                json!({"executionArn": execution}),
            );
            let described = described.unwrap();
            if described["status"] != "RUNNING" {
                return described;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{execution} never ended");
    }

    const SUCCEEDS: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
    const FAILS: &str =
        r#"{"StartAt":"No","States":{"No":{"Type":"Fail","Error":"Nope","Cause":"as written"}}}"#;

    #[tokio::test]
    async fn executions_end_as_their_machine_says_and_their_history_tells_it() {
        let engine = Arc::new(Engine::default());
        let machine = create(&engine, "shop-Checkout", SUCCEEDS).unwrap();
        assert_eq!(
            machine,
            "arn:aws:states:us-east-1:123456789012:stateMachine:shop-Checkout"
        );
        let start =
            json!({"stateMachineArn": machine, "name": "one", "input": "{\"orderId\":\"o\"}"});
        let started = call(&engine, "StartExecution", start.clone()).unwrap();
        let execution = started["executionArn"].as_str().unwrap();
        let described = ended(&engine, execution).await;
        assert_eq!(described["status"], "SUCCEEDED");
        assert_eq!(described["output"], "{\"orderId\":\"o\"}");
        let history = call(
            &engine,
            "GetExecutionHistory",
            json!({"executionArn": execution}),
        );
        let kinds: Vec<Value> = history.unwrap()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].clone())
            .collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "SucceedStateEntered",
                "SucceedStateExited",
                "ExecutionSucceeded"
            ]
        );
        // A name is used once, and an ended execution is not answered again.
        let again = call(&engine, "StartExecution", start).unwrap_err();
        assert_eq!(again.0, "ExecutionAlreadyExists");

        let failing = create(&engine, "shop-Failing", FAILS).unwrap();
        let started = call(
            &engine,
            "StartExecution",
            json!({"stateMachineArn": failing}),
        )
        .unwrap();
        let described = ended(&engine, started["executionArn"].as_str().unwrap()).await;
        assert_eq!(
            (
                &described["status"],
                &described["error"],
                &described["cause"]
            ),
            (&json!("FAILED"), &json!("Nope"), &json!("as written"))
        );
    }

    #[tokio::test]
    async fn machines_names_and_pages_follow_the_api_s_rules() {
        let engine = Arc::new(Engine::default());
        let machine = create(&engine, "shop-M", SUCCEEDS).unwrap();
        assert_eq!(
            create(&engine, "shop-M", SUCCEEDS).unwrap(),
            machine,
            "the same again"
        );
        assert_eq!(
            create(&engine, "shop-M", FAILS).unwrap_err().0,
            "StateMachineAlreadyExists"
        );
        let parallel =
            r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}"#;
        assert_eq!(
            create(&engine, "shop-P", parallel).unwrap_err().0,
            "InvalidDefinition"
        );
        for name in ["a", "b", "c"] {
            let start = json!({"stateMachineArn": machine, "name": name});
            call(&engine, "StartExecution", start).unwrap();
        }
        let first = call(
            &engine,
            "ListExecutions",
            json!({"stateMachineArn": machine, "maxResults": 2}),
        )
        .unwrap();
        let names = |page: &Value| {
            page["executions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&first), ["c", "b"], "newest first");
        let token = first["nextToken"].clone();
        let rest = call(
            &engine,
            "ListExecutions",
            json!({"stateMachineArn": machine, "nextToken": token}),
        )
        .unwrap();
        assert_eq!(names(&rest), ["a"]);
        assert!(rest.get("nextToken").is_none());
        let missing = call(
            &engine,
            "DescribeExecution",
            json!({"executionArn": format!("{machine}:x")}),
        );
        assert_eq!(missing.unwrap_err().0, "ExecutionDoesNotExist");
        let unknown = call(
            &engine,
            "StartExecution",
            json!({"stateMachineArn": "arn:nope"}),
        );
        assert_eq!(unknown.unwrap_err().0, "StateMachineDoesNotExist");
        assert_eq!(
            call(&engine, "TagResource", json!({})).unwrap_err().0,
            "UnknownOperationException"
        );
    }
}
