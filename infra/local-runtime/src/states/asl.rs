//! The part of the Amazon States Language the checkout saga uses (Task with Retry and Catch,
//! Succeed, Fail), read from the ASL file as deployed (the explorer, whose time is virtual) or as
//! created with its ARNs substituted (the offline engine, `states::engine`, which waits a
//! retrier's interval and backoff). Anything else fails loudly: running a machine that is not the
//! one deployed would prove nothing.

use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum AslError {
    #[error("the state machine is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("state {state}: {problem}")]
    Unsupported { state: String, problem: String },
    #[error("the state machine has no StartAt or no States")]
    Shape,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub max_attempts: u32,
    pub interval_seconds: f64,
    pub backoff_rate: f64,
}

impl Retrier {
    /// How long before retry number `attempt` (0 for the first).
    pub fn wait(&self, attempt: u32) -> std::time::Duration {
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        std::time::Duration::from_secs_f64(self.interval_seconds * self.backoff_rate.powi(exponent))
    }
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    /// The field of the state's input the error output is put in (`error` for `$.error`);
    /// `None` for `$`: the error output replaces the input.
    pub result_path: Option<String>,
}

#[derive(Debug, Clone)]
pub enum State {
    /// `function` is the logical id named by the Resource's `${<Id>Arn}` substitution, or, in a
    /// definition with its ARNs substituted, the function's name.
    Task {
        function: String,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
        next: Option<String>,
    },
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub start: String,
    pub states: HashMap<String, State>,
}

/// Whether `pattern` in an ErrorEquals matches `error`, as the States Language defines it.
pub fn matches(pattern: &str, error: &str) -> bool {
    pattern == error
        || pattern == "States.ALL"
        || (pattern == "States.TaskFailed" && error != "States.Timeout")
}

fn strings(state: &str, value: &Value) -> Result<Vec<String>, AslError> {
    value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| unsupported(state, "ErrorEquals is not a list of names"))
}

fn unsupported(state: &str, problem: impl Into<String>) -> AslError {
    AslError::Unsupported {
        state: state.to_owned(),
        problem: problem.into(),
    }
}

/// Fields whose meaning the explorer keeps (or that do not change what happens).
const TASK_FIELDS: [&str; 6] = ["Type", "Resource", "Retry", "Catch", "Next", "Comment"];
const RETRY_FIELDS: [&str; 4] = [
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
];
const CATCH_FIELDS: [&str; 3] = ["ErrorEquals", "Next", "ResultPath"];

fn only(state: &str, object: &Value, allowed: &[&str]) -> Result<(), AslError> {
    let unknown = object
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| !allowed.contains(&k.as_str()));
    match unknown {
        Some(field) => Err(unsupported(
            state,
            format!("field {field} is not supported"),
        )),
        None => Ok(()),
    }
}

/// `$` (or none: all of the input is replaced) or `$.<field>`; deeper paths are not used here.
fn result_path(state: &str, path: &Value) -> Result<Option<String>, AslError> {
    match path.as_str() {
        None if path.is_null() => Ok(None),
        Some("$") => Ok(None),
        Some(p)
            if p.strip_prefix("$.")
                .is_some_and(|f| !f.contains(['.', '['])) =>
        {
            Ok(Some(p[2..].to_owned()))
        }
        _ => Err(unsupported(
            state,
            format!("ResultPath {path} is not supported"),
        )),
    }
}

fn task(name: &str, body: &Value) -> Result<State, AslError> {
    only(name, body, &TASK_FIELDS)?;
    let resource = body["Resource"].as_str().unwrap_or_default();
    let substituted = resource
        .strip_prefix("arn:aws:lambda:")
        .and_then(|r| r.split_once(":function:"))
        .map(|(_, function)| function);
    let function = resource
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix("Arn}"))
        .or(substituted)
        .ok_or_else(|| unsupported(name, format!("Resource {resource} is not a function's ARN")))?;
    let mut retry = Vec::new();
    for r in body["Retry"].as_array().into_iter().flatten() {
        only(name, r, &RETRY_FIELDS)?;
        retry.push(Retrier {
            errors: strings(name, &r["ErrorEquals"])?,
            max_attempts: r["MaxAttempts"].as_u64().unwrap_or(3) as u32,
            interval_seconds: r["IntervalSeconds"].as_f64().unwrap_or(1.0),
            backoff_rate: r["BackoffRate"].as_f64().unwrap_or(2.0),
        });
    }
    let mut catch = Vec::new();
    for c in body["Catch"].as_array().into_iter().flatten() {
        only(name, c, &CATCH_FIELDS)?;
        catch.push(Catcher {
            errors: strings(name, &c["ErrorEquals"])?,
            next: c["Next"]
                .as_str()
                .ok_or_else(|| unsupported(name, "a Catch without Next"))?
                .to_owned(),
            result_path: result_path(name, &c["ResultPath"])?,
        });
    }
    let next = body["Next"].as_str().map(str::to_owned);
    if next.is_none() {
        return Err(unsupported(
            name,
            "a Task must have Next (End is not used here)",
        ));
    }
    Ok(State::Task {
        function: function.to_owned(),
        retry,
        catch,
        next,
    })
}

impl Machine {
    pub fn parse(text: &str) -> Result<Self, AslError> {
        let definition: Value = serde_json::from_str(text)?;
        let start = definition["StartAt"].as_str().ok_or(AslError::Shape)?;
        let mut states = HashMap::new();
        for (name, body) in definition["States"].as_object().ok_or(AslError::Shape)? {
            let state = match body["Type"].as_str() {
                Some("Task") => task(name, body)?,
                Some("Succeed") => State::Succeed,
                Some("Fail") => State::Fail {
                    error: body["Error"].as_str().map(str::to_owned),
                    cause: body["Cause"].as_str().map(str::to_owned),
                },
                other => {
                    return Err(unsupported(
                        name,
                        format!("Type {other:?} is not supported"),
                    ))
                }
            };
            states.insert(name.clone(), state);
        }
        let machine = Self {
            start: start.to_owned(),
            states,
        };
        machine.check_targets()?;
        Ok(machine)
    }

    fn check_targets(&self) -> Result<(), AslError> {
        let mut targets = vec![("StartAt", self.start.clone())];
        for (name, state) in &self.states {
            if let State::Task { catch, next, .. } = state {
                targets.extend(next.iter().map(|n| (name.as_str(), n.clone())));
                targets.extend(catch.iter().map(|c| (name.as_str(), c.next.clone())));
            }
        }
        match targets.iter().find(|(_, t)| !self.states.contains_key(t)) {
            Some((from, target)) => Err(unsupported(from, format!("goes to unknown {target}"))),
            None => Ok(()),
        }
    }

    /// The names of the Task states, sorted (so a seed picks the same one every run).
    pub fn tasks(&self) -> Vec<String> {
        let mut tasks: Vec<String> = self
            .states
            .iter()
            .filter(|(_, s)| matches!(s, State::Task { .. }))
            .map(|(name, _)| name.clone())
            .collect();
        tasks.sort();
        tasks
    }

    pub fn state(&self, name: &str) -> &State {
        &self.states[name]
    }
}

/// What a Task does with a step's error: retry it (the retrier's index), go to a catcher's
/// state, or fail the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnError {
    Retry(usize),
    Goto(String),
    FailExecution,
}

/// The first retrier whose ErrorEquals matches decides; past its MaxAttempts (counted per
/// retrier, in `attempts`), the first matching catcher does.
pub fn on_error(retry: &[Retrier], catch: &[Catcher], attempts: &[u32], error: &str) -> OnError {
    let retrier = retry
        .iter()
        .position(|r| r.errors.iter().any(|p| matches(p, error)));
    if let Some(i) = retrier {
        if attempts.get(i).copied().unwrap_or(0) < retry[i].max_attempts {
            return OnError::Retry(i);
        }
    }
    catch
        .iter()
        .find(|c| c.errors.iter().any(|p| matches(p, error)))
        .map_or(OnError::FailExecution, |c| OnError::Goto(c.next.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_machine_is_read_and_its_errors_routed_as_written() {
        let text = include_str!("../../../statemachines/checkout.asl.json");
        let machine = Machine::parse(text).unwrap();
        let State::Task {
            function,
            retry,
            catch,
            ..
        } = machine.state(&machine.start)
        else {
            panic!("the saga starts with a Task");
        };
        assert_eq!(function, "ReserveStockFunction");
        let first = on_error(retry, catch, &[0; 8], "OutOfStock");
        assert_eq!(first, OnError::Goto("Rejected".into()));
        let crash = "Sandbox.Timedout";
        let retried = on_error(retry, catch, &[0; 8], crash);
        assert!(matches!(retried, OnError::Retry(_)));
        assert_eq!(
            on_error(retry, catch, &[9; 8], crash),
            OnError::Goto("ReleaseStock".into())
        );
    }

    #[test]
    fn a_construct_it_does_not_know_fails_loudly() {
        let parallel =
            r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}"#;
        assert!(Machine::parse(parallel).is_err());
        let mapped = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"${XArn}","Parameters":{},"Next":"S"},"S":{"Type":"Succeed"}}}"#;
        assert!(Machine::parse(mapped).is_err());
    }
}
