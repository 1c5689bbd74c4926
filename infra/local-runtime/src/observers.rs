//! What CloudWatch shows about a stack's queues and state machines without any code emitting it:
//! `AWS/SQS` depths and `AWS/States` executions. Offline, these tasks watch moto as those services
//! watch themselves, and record the same metrics (`metrics::observe`). Lambda's and API Gateway's
//! own metrics are recorded where the runtime plays those services: the sandbox and the gateway.

pub use crate::queues::{queue_age, queue_name};
use crate::{metrics, queues::QueueAddress, Cause};
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_sdk_sfn::{primitives::DateTime, types::ExecutionStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use cartwheel_http::ErrorChain;
use std::{
    collections::HashSet,
    time::{Duration, SystemTime},
};
use tokio::task::JoinHandle;

/// SQS publishes its metrics once a minute. Offline, a queue a function polls is read every
/// second, so a burst of a few seconds shows; the others (dead-letter queues, queues whose
/// consumers come later) every ten, as moto counts a queue's messages one by one.
pub const POLLED_QUEUE_EVERY: Duration = Duration::from_secs(1);
pub const OTHER_QUEUE_EVERY: Duration = Duration::from_secs(10);
const EXECUTIONS_EVERY: Duration = Duration::from_secs(2);
/// Executions per ListExecutions page when looking for new ones (newest first).
const NEW_EXECUTIONS_PAGE: i32 = 100;

/// Why a watcher could not read a queue's depth this time.
#[derive(Debug, thiserror::Error)]
#[error("GetQueueAttributes failed")]
struct DepthError(#[source] Cause);

/// Why a watcher could not read a state machine's executions this time.
#[derive(Debug, thiserror::Error)]
enum ExecutionsError {
    #[error("ListExecutions failed")]
    List(#[source] Cause),
    #[error("DescribeExecution of {execution} failed")]
    Describe {
        execution: String,
        #[source]
        source: Cause,
    },
}

/// Records the queues' depths every `every`. The age of the oldest message is recorded by the
/// queue's consumer when it receives (see `queue_age`), and is 0 when the queue is empty.
pub fn watch_queues(
    client: aws_sdk_sqs::Client,
    queues: Vec<QueueAddress>,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for queue in &queues {
                if let Err(error) = observe_depth(&client, queue).await {
                    tracing::debug!(queue = %queue.url, error = %ErrorChain(&error), "could not read the queue's depth");
                }
            }
        }
    })
}

async fn observe_depth(
    client: &aws_sdk_sqs::Client,
    queue: &QueueAddress,
) -> Result<(), DepthError> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| DepthError(e.into()))?;
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

/// Records `AWS/States` metrics for each state machine: executions started, and how each ended,
/// at the times they did, with `ExecutionTime`.
pub fn watch_executions(client: aws_sdk_sfn::Client, machines: Vec<String>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut watches: Vec<Executions> = machines.into_iter().map(Executions::new).collect();
        let mut tick = tokio::time::interval(EXECUTIONS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for watch in &mut watches {
                if let Err(error) = watch.poll(&client).await {
                    let machine = &watch.machine;
                    tracing::debug!(%machine, error = %ErrorChain(&error), "could not list the executions");
                }
            }
        }
    })
}

/// One state machine's executions, as far as the watcher has seen them. Each poll costs a page
/// of the newest executions and the list of running ones, not every execution ever run: after a
/// burst of thousands, listing them all every two seconds kept moto busy.
struct Executions {
    machine: String,
    seen: HashSet<String>,
    running: HashSet<String>,
}

impl Executions {
    fn new(machine: String) -> Self {
        Self {
            machine,
            seen: HashSet::new(),
            running: HashSet::new(),
        }
    }

    async fn poll(&mut self, client: &aws_sdk_sfn::Client) -> Result<(), ExecutionsError> {
        self.find_new(client).await?;
        let still_running = self.list_running(client).await?;
        let finished: Vec<String> = self.running.difference(&still_running).cloned().collect();
        for arn in finished {
            let execution = client
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .map_err(|e| ExecutionsError::Describe {
                    execution: arn.clone(),
                    source: e.into(),
                })?;
            let start = system_time(execution.start_date());
            self.ended(execution.status(), start, execution.stop_date());
            self.running.remove(&arn);
        }
        Ok(())
    }

    /// New executions come first (ListExecutions is newest first): pages up to one already seen.
    async fn find_new(&mut self, client: &aws_sdk_sfn::Client) -> Result<(), ExecutionsError> {
        let mut token = None;
        loop {
            let page = client
                .list_executions()
                .state_machine_arn(&self.machine)
                .max_results(NEW_EXECUTIONS_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ExecutionsError::List(e.into()))?;
            for execution in page.executions() {
                let arn = execution.execution_arn().to_owned();
                if !self.seen.insert(arn.clone()) {
                    return Ok(());
                }
                let start = system_time(execution.start_date());
                self.observe("ExecutionsStarted", StandardUnit::Count, 1.0, start);
                match execution.status() {
                    ExecutionStatus::Running => {
                        self.running.insert(arn);
                    }
                    status => self.ended(status, start, execution.stop_date()),
                }
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => return Ok(()),
            }
        }
    }

    async fn list_running(
        &self,
        client: &aws_sdk_sfn::Client,
    ) -> Result<HashSet<String>, ExecutionsError> {
        let mut pages = client
            .list_executions()
            .state_machine_arn(&self.machine)
            .status_filter(ExecutionStatus::Running)
            .max_results(1000)
            .into_paginator()
            .items()
            .send();
        let mut running = HashSet::new();
        while let Some(execution) = pages.next().await {
            let execution = execution.map_err(|e| ExecutionsError::List(e.into()))?;
            running.insert(execution.execution_arn().to_owned());
        }
        Ok(running)
    }

    fn ended(&self, status: &ExecutionStatus, start: SystemTime, stop: Option<&DateTime>) {
        let metric = match status {
            ExecutionStatus::Succeeded => "ExecutionsSucceeded",
            ExecutionStatus::Failed => "ExecutionsFailed",
            ExecutionStatus::TimedOut => "ExecutionsTimedOut",
            ExecutionStatus::Aborted => "ExecutionsAborted",
            _ => return,
        };
        let stopped = stop.map_or_else(SystemTime::now, system_time);
        self.observe(metric, StandardUnit::Count, 1.0, stopped);
        let took = stopped.duration_since(start).unwrap_or_default();
        let took_ms = took.as_secs_f64() * 1000.0;
        self.observe(
            "ExecutionTime",
            StandardUnit::Milliseconds,
            took_ms,
            stopped,
        );
    }

    fn observe(&self, name: &str, unit: StandardUnit, value: f64, at: SystemTime) {
        let dimensions = [("StateMachineArn", self.machine.as_str())];
        metrics::observe_at("AWS/States", name, unit, value, &dimensions, at);
    }
}

fn system_time(at: &DateTime) -> SystemTime {
    SystemTime::try_from(*at).unwrap_or_else(|_| SystemTime::now())
}
