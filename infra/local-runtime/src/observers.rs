//! What CloudWatch shows about a stack's queues and state machines without any code emitting it:
//! `AWS/SQS` depths and `AWS/States` executions. Offline, these tasks watch moto as those services
//! watch themselves, and record the same metrics (`metrics::observe`). Lambda's and API Gateway's
//! own metrics are recorded where the runtime plays those services: the sandbox and the gateway.

use crate::{metrics, queues::QueueAddress};
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};
use tokio::task::JoinHandle;

/// SQS publishes its metrics once a minute; offline they come every second, so a burst of a few
/// seconds shows.
const QUEUE_EVERY: Duration = Duration::from_secs(1);
const EXECUTIONS_EVERY: Duration = Duration::from_secs(2);

/// A queue's name, the `QueueName` dimension: the last part of its URL.
pub fn queue_name(queue: &QueueAddress) -> &str {
    queue.url.rsplit('/').next().unwrap_or_default()
}

/// Records each queue's depth every second. The age of the oldest message is recorded by the
/// queue's consumer when it receives (see `queue_age`), and is 0 when the queue is empty.
pub fn watch_queues(client: aws_sdk_sqs::Client, queues: Vec<QueueAddress>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(QUEUE_EVERY);
        loop {
            tick.tick().await;
            for queue in &queues {
                if let Err(error) = observe_depth(&client, queue).await {
                    tracing::debug!(queue = %queue.url, %error, "could not read the queue's depth");
                }
            }
        }
    })
}

async fn observe_depth(client: &aws_sdk_sqs::Client, queue: &QueueAddress) -> Result<(), String> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    let count = |name: QueueAttributeName| -> f64 {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let visible = count(QueueAttributeName::ApproximateNumberOfMessages);
    let in_flight = count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
    let observe = |name, value| {
        let dimensions = [("QueueName", queue_name(queue))];
        metrics::observe("AWS/SQS", name, StandardUnit::Count, value, &dimensions);
    };
    observe("ApproximateNumberOfMessagesVisible", visible);
    observe("ApproximateNumberOfMessagesNotVisible", in_flight);
    if visible + in_flight == 0.0 {
        queue_age(queue, 0.0);
    }
    Ok(())
}

/// `ApproximateAgeOfOldestMessage`, in seconds, as a consumer saw it when it received a batch.
pub fn queue_age(queue: &QueueAddress, seconds: f64) {
    let dimensions = [("QueueName", queue_name(queue))];
    metrics::observe(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        StandardUnit::Seconds,
        seconds,
        &dimensions,
    );
}

/// Records `AWS/States` metrics for each state machine: executions started, and how each ended,
/// at the times they did, with `ExecutionTime`.
pub fn watch_executions(client: aws_sdk_sfn::Client, machines: Vec<String>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: HashMap<String, ExecutionStatus> = HashMap::new();
        let mut tick = tokio::time::interval(EXECUTIONS_EVERY);
        loop {
            tick.tick().await;
            for machine in &machines {
                match list_executions(&client, machine).await {
                    Ok(executions) => {
                        for execution in executions {
                            observe_execution(machine, &execution, &mut seen);
                        }
                    }
                    Err(error) => {
                        tracing::debug!(%machine, %error, "could not list the executions")
                    }
                }
            }
        }
    })
}

async fn list_executions(
    client: &aws_sdk_sfn::Client,
    machine: &str,
) -> Result<Vec<ExecutionListItem>, String> {
    let mut pages = client
        .list_executions()
        .state_machine_arn(machine)
        .max_results(1000)
        .into_paginator()
        .items()
        .send();
    let mut executions = Vec::new();
    while let Some(execution) = pages.next().await {
        executions
            .push(execution.map_err(|e| aws_sdk_sfn::error::DisplayErrorContext(&e).to_string())?);
    }
    Ok(executions)
}

fn observe_execution(
    machine: &str,
    execution: &ExecutionListItem,
    seen: &mut HashMap<String, ExecutionStatus>,
) {
    let status = execution.status();
    let previous = seen.insert(execution.execution_arn().to_owned(), status.clone());
    if previous.as_ref() == Some(status) {
        return;
    }
    let dimensions = [("StateMachineArn", machine)];
    let started = system_time(execution.start_date());
    let observe = |name, unit, value, at| {
        metrics::observe_at("AWS/States", name, unit, value, &dimensions, at);
    };
    if previous.is_none() {
        observe("ExecutionsStarted", StandardUnit::Count, 1.0, started);
    }
    let ended = match status {
        ExecutionStatus::Succeeded => "ExecutionsSucceeded",
        ExecutionStatus::Failed => "ExecutionsFailed",
        ExecutionStatus::TimedOut => "ExecutionsTimedOut",
        ExecutionStatus::Aborted => "ExecutionsAborted",
        _ => return,
    };
    let stopped = execution
        .stop_date()
        .map_or_else(SystemTime::now, system_time);
    observe(ended, StandardUnit::Count, 1.0, stopped);
    let took = stopped.duration_since(started).unwrap_or_default();
    observe(
        "ExecutionTime",
        StandardUnit::Milliseconds,
        took.as_secs_f64() * 1000.0,
        stopped,
    );
}

fn system_time(at: &aws_sdk_sfn::primitives::DateTime) -> SystemTime {
    SystemTime::try_from(*at).unwrap_or_else(|_| SystemTime::now())
}
