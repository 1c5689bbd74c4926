//! An execution's record: its status, its answers and its history events, as
//! `DescribeExecution` and `GetExecutionHistory` give them.

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, as the JSON protocol writes a timestamp.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
        }
    }
}

pub struct Execution {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub input: String,
    pub status: Status,
    pub start: f64,
    pub stop: Option<f64>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    events: Vec<Value>,
}

impl Execution {
    pub fn new(arn: String, machine_arn: String, name: String, input: String, role: &str) -> Self {
        let mut execution = Self {
            arn,
            machine_arn,
            name,
            input: input.clone(),
            status: Status::Running,
            start: now(),
            stop: None,
            output: None,
            error: None,
            cause: None,
            events: Vec::new(),
        };
        let details = json!({"input": input, "roleArn": role});
        execution.record(
            "ExecutionStarted",
            Some(("executionStartedEventDetails", details)),
        );
        execution
    }

    /// Appends one history event, numbered from 1, each naming the one before it.
    pub fn record(&mut self, kind: &str, details: Option<(&str, Value)>) {
        let id = self.events.len() + 1;
        let mut event =
            json!({"id": id, "previousEventId": id - 1, "timestamp": now(), "type": kind});
        if let Some((key, value)) = details {
            event[key] = value;
        }
        self.events.push(event);
    }

    /// Ends a running execution; one that ended already (stopped meanwhile) keeps its end.
    pub fn end(&mut self, status: Status, output: Option<String>, error: Option<(String, String)>) {
        if self.status != Status::Running {
            return;
        }
        self.status = status;
        self.stop = Some(now());
        self.output = output;
        if let Some((error, cause)) = error {
            self.error = Some(error);
            self.cause = Some(cause);
        }
    }

    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// As `ListExecutions` lists it.
    pub fn listed(&self) -> Value {
        let mut item = json!({
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "status": self.status.as_str(), "startDate": self.start,
        });
        if let Some(stop) = self.stop {
            item["stopDate"] = json!(stop);
        }
        item
    }

    /// As `DescribeExecution` describes it.
    pub fn described(&self) -> Value {
        let mut item = self.listed();
        item["input"] = json!(self.input);
        for (key, value) in [
            ("output", &self.output),
            ("error", &self.error),
            ("cause", &self.cause),
        ] {
            if let Some(value) = value {
                item[key] = json!(value);
            }
        }
        item
    }
}
