//! Executions of Standard state machines, run in the local runtime: each Task invokes its saga
//! step through the AWS edge as moto's engine does, a retrier's interval and backoff are waited
//! for, a Catch puts `{Error, Cause}` at its ResultPath, and a stopped execution runs nothing
//! more. The name rule is Step Functions': a name is used once per state machine, except that
//! starting a running execution again with the same input answers that execution.

use super::{
    asl::{matches, on_error, Catcher, Machine, OnError, State},
    history::{now, Execution, Status},
};
use crate::invocation::{InvokeStep, Invoked};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

/// What a call asked for that Step Functions refuses: the error's name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str, pub String);

pub struct StateMachine {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub role: String,
    pub created: f64,
    machine: Machine,
}

type Shared = Arc<Mutex<Execution>>;

#[derive(Default)]
pub struct Engine {
    machines: RwLock<HashMap<String, Arc<StateMachine>>>,
    executions: RwLock<HashMap<String, Shared>>,
    /// Each state machine's executions, in the order they started.
    started: RwLock<HashMap<String, Vec<String>>>,
}

fn lock(execution: &Shared) -> std::sync::MutexGuard<'_, Execution> {
    execution
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    /// Creates a state machine, or answers the one of that name if its definition and role are
    /// the same (as Step Functions does); a different one of that name is refused.
    pub fn create(
        &self,
        arn: String,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Arc<StateMachine>, Refused> {
        let machine =
            Machine::parse(definition).map_err(|e| Refused("InvalidDefinition", e.to_string()))?;
        let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = machines.get(&arn) {
            if existing.definition == definition && existing.role == role {
                return Ok(Arc::clone(existing));
            }
            let message = format!("State Machine Already Exists: '{arn}'");
            return Err(Refused("StateMachineAlreadyExists", message));
        }
        let created = Arc::new(StateMachine {
            arn: arn.clone(),
            name: name.to_owned(),
            definition: definition.to_owned(),
            role: role.to_owned(),
            created: now(),
            machine,
        });
        machines.insert(arn, Arc::clone(&created));
        Ok(created)
    }

    /// Replaces a state machine's definition; executions started before keep the old one.
    pub fn update(&self, arn: &str, definition: &str) -> Result<f64, Refused> {
        let machine =
            Machine::parse(definition).map_err(|e| Refused("InvalidDefinition", e.to_string()))?;
        let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
        let old = machines.get(arn).ok_or_else(|| no_machine(arn))?;
        let updated = Arc::new(StateMachine {
            definition: definition.to_owned(),
            machine,
            arn: old.arn.clone(),
            name: old.name.clone(),
            role: old.role.clone(),
            created: old.created,
        });
        machines.insert(arn.to_owned(), updated);
        Ok(now())
    }

    pub fn machines(&self) -> Vec<Arc<StateMachine>> {
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        machines.values().cloned().collect()
    }

    fn machine(&self, arn: &str) -> Result<Arc<StateMachine>, Refused> {
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        machines.get(arn).cloned().ok_or_else(|| no_machine(arn))
    }

    pub fn execution(&self, arn: &str) -> Result<Shared, Refused> {
        let executions = self.executions.read().unwrap_or_else(|p| p.into_inner());
        executions.get(arn).cloned().ok_or_else(|| {
            let message = format!("Execution Does Not Exist: '{arn}'");
            Refused("ExecutionDoesNotExist", message)
        })
    }

    /// Starts an execution and runs it on a task of its own; answers its ARN and start date.
    pub fn start<E: InvokeStep>(
        self: &Arc<Self>,
        edge: Arc<E>,
        machine_arn: &str,
        name: String,
        input: String,
    ) -> Result<(String, f64), Refused> {
        let parsed: Value = serde_json::from_str(&input)
            .map_err(|e| Refused("InvalidExecutionInput", e.to_string()))?;
        let machine = self.machine(machine_arn)?;
        let arn = format!(
            "{}:{name}",
            machine_arn.replacen(":stateMachine:", ":execution:", 1)
        );
        let execution = {
            let mut executions = self.executions.write().unwrap_or_else(|p| p.into_inner());
            if let Some(existing) = executions.get(&arn) {
                let existing = lock(existing);
                if existing.status == Status::Running && existing.input == input {
                    return Ok((arn, existing.start));
                }
                let message = format!("Execution Already Exists: '{arn}'");
                return Err(Refused("ExecutionAlreadyExists", message));
            }
            let execution =
                Execution::new(arn.clone(), machine_arn.into(), name, input, &machine.role);
            let shared = Arc::new(Mutex::new(execution));
            executions.insert(arn.clone(), Arc::clone(&shared));
            shared
        };
        let mut started = self.started.write().unwrap_or_else(|p| p.into_inner());
        started
            .entry(machine_arn.to_owned())
            .or_default()
            .push(arn.clone());
        let start = lock(&execution).start;
        tokio::spawn(run(edge, machine, execution, parsed));
        Ok((arn, start))
    }

    /// Stops a running execution; one that has ended is left as it ended.
    pub fn stop(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<f64, Refused> {
        let execution = self.execution(arn)?;
        let mut execution = lock(&execution);
        if execution.status == Status::Running {
            let mut details = json!({});
            if let Some(error) = &error {
                details["error"] = json!(error);
            }
            if let Some(cause) = &cause {
                details["cause"] = json!(cause);
            }
            execution.record(
                "ExecutionAborted",
                Some(("executionAbortedEventDetails", details)),
            );
            let ended = error.zip(cause);
            execution.end(Status::Aborted, None, ended);
        }
        Ok(execution.stop.unwrap_or_else(now))
    }

    /// A state machine's executions, newest first, of one status if `status` says so.
    pub fn list(&self, machine_arn: &str, status: Option<&str>) -> Result<Vec<Value>, Refused> {
        self.machine(machine_arn)?;
        let started = self.started.read().unwrap_or_else(|p| p.into_inner());
        let arns = started.get(machine_arn).cloned().unwrap_or_default();
        drop(started);
        let listed = arns
            .iter()
            .rev()
            .filter_map(|arn| self.execution(arn).ok())
            .map(|e| lock(&e).listed())
            .filter(|item| status.is_none_or(|s| item["status"] == s))
            .collect();
        Ok(listed)
    }
}

fn no_machine(arn: &str) -> Refused {
    Refused(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

/// What Step Functions makes of a Lambda task's invocation: its output, or an error and cause.
fn task_result(invoked: Invoked) -> Result<Value, (String, String)> {
    match invoked {
        Invoked::Output(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            (
                "States.Runtime".to_owned(),
                format!("the task's output is not JSON: {e}"),
            )
        }),
        Invoked::FunctionError {
            error_type,
            message,
        } => {
            let cause = json!({"errorMessage": message, "errorType": error_type});
            Err((error_type, cause.to_string()))
        }
        Invoked::ApiError {
            error_type, body, ..
        } => Err((format!("Lambda.{error_type}"), body.to_string())),
    }
}

/// Whether an execution is still to run (not stopped).
fn running(execution: &Shared) -> bool {
    lock(execution).status == Status::Running
}

/// Waits out a retrier's interval, or less if the execution is stopped meanwhile.
async fn wait(execution: &Shared, mut left: Duration) {
    let step = Duration::from_millis(100);
    while !left.is_zero() && running(execution) {
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left -= now;
    }
}

/// A catcher's output: the error at its ResultPath in the input, or in place of it.
fn caught(catcher: &Catcher, mut input: Value, error: String, cause: String) -> Value {
    let output = json!({"Error": error, "Cause": cause});
    match &catcher.result_path {
        Some(field) if input.is_object() => {
            input[field.as_str()] = output;
            input
        }
        _ => output,
    }
}

/// One Task: its attempts until one answers, a retrier gives up or a catcher takes the error.
/// `Ok(output, next)`, or `Err` with the error that fails the execution; `None` if stopped.
async fn task(
    edge: &impl InvokeStep,
    execution: &Shared,
    state: &State,
    input: Value,
) -> Option<Result<(Value, String), (String, String)>> {
    let State::Task {
        function,
        retry,
        catch,
        next,
    } = state
    else {
        return None;
    };
    let mut attempts = vec![0u32; retry.len()];
    loop {
        {
            let mut record = lock(execution);
            let scheduled = json!({"resource": function, "input": input.to_string()});
            record.record(
                "LambdaFunctionScheduled",
                Some(("lambdaFunctionScheduledEventDetails", scheduled)),
            );
            record.record("LambdaFunctionStarted", None);
        }
        let invoked = edge
            .invoke_step(function, input.to_string().as_bytes())
            .await;
        if !running(execution) {
            return None;
        }
        let (error, cause) = match task_result(invoked) {
            Ok(output) => {
                let details = json!({"output": output.to_string()});
                lock(execution).record(
                    "LambdaFunctionSucceeded",
                    Some(("lambdaFunctionSucceededEventDetails", details)),
                );
                return Some(Ok((output, next.clone().unwrap_or_default())));
            }
            Err(failed) => failed,
        };
        let details = json!({"error": error, "cause": cause});
        lock(execution).record(
            "LambdaFunctionFailed",
            Some(("lambdaFunctionFailedEventDetails", details)),
        );
        match on_error(retry, catch, &attempts, &error) {
            OnError::Retry(i) => {
                wait(execution, retry[i].wait(attempts[i])).await;
                attempts[i] += 1;
                if !running(execution) {
                    return None;
                }
            }
            OnError::Goto(next) => {
                let catcher = catch
                    .iter()
                    .find(|c| c.errors.iter().any(|p| matches(p, &error)));
                let output = catcher.map_or(Value::Null, |c| caught(c, input, error, cause));
                return Some(Ok((output, next)));
            }
            OnError::FailExecution => return Some(Err((error, cause))),
        }
    }
}

fn entered(execution: &Shared, kind: &str, name: &str, input: &Value) {
    let details = json!({"name": name, "input": input.to_string()});
    lock(execution).record(kind, Some(("stateEnteredEventDetails", details)));
}

fn exited(execution: &Shared, kind: &str, name: &str, output: &Value) {
    let details = json!({"name": name, "output": output.to_string()});
    lock(execution).record(kind, Some(("stateExitedEventDetails", details)));
}

/// Ends an execution FAILED with `error` and `cause`.
fn failed(execution: &Shared, error: String, cause: String) {
    let mut record = lock(execution);
    let details = json!({"error": error, "cause": cause});
    record.record(
        "ExecutionFailed",
        Some(("executionFailedEventDetails", details)),
    );
    record.end(Status::Failed, None, Some((error, cause)));
}

/// Runs an execution from its machine's StartAt to a Succeed or Fail state, or until stopped.
async fn run<E: InvokeStep>(
    edge: Arc<E>,
    machine: Arc<StateMachine>,
    execution: Shared,
    input: Value,
) {
    let (mut name, mut data) = (machine.machine.start.clone(), input);
    while running(&execution) {
        let state = machine.machine.state(&name).clone();
        match &state {
            State::Task { .. } => {
                entered(&execution, "TaskStateEntered", &name, &data);
                match task(edge.as_ref(), &execution, &state, data).await {
                    None => return,
                    Some(Ok((output, next))) => {
                        exited(&execution, "TaskStateExited", &name, &output);
                        (name, data) = (next, output);
                    }
                    Some(Err((error, cause))) => return failed(&execution, error, cause),
                }
            }
            State::Succeed => {
                entered(&execution, "SucceedStateEntered", &name, &data);
                exited(&execution, "SucceedStateExited", &name, &data);
                let mut record = lock(&execution);
                let details = json!({"output": data.to_string()});
                record.record(
                    "ExecutionSucceeded",
                    Some(("executionSucceededEventDetails", details)),
                );
                record.end(Status::Succeeded, Some(data.to_string()), None);
            }
            State::Fail { error, cause } => {
                entered(&execution, "FailStateEntered", &name, &data);
                let (error, cause) = (error.clone(), cause.clone());
                failed(
                    &execution,
                    error.unwrap_or_default(),
                    cause.unwrap_or_default(),
                );
            }
        }
    }
}
