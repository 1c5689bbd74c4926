//! The order's way from the table into the checkout saga. A pipe puts every new PENDING order on
//! the order queue; `start_checkout` drains it (bounded concurrency) and starts one execution per
//! order, named after the order so that a repeated start is harmless; `sweep_pending_orders`
//! re-queues any order in checkout that has not moved for the grace period, whatever went wrong on
//! the way (a lost hand-off, an execution that died).

use crate::saga::SagaInput;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use cartwheel_domain::{
    lifecycle::{self, Actor},
    OrderId, OrderStatus, Timestamp,
};
use cartwheel_store::{FindStalledOrders, ReadOrderRecords, SettleOrder, StoreError};
use cartwheel_telemetry::{count, Metric};
use lambda_runtime::Diagnostic;
use serde::Serialize;
use std::time::Duration;

/// A cause kept as it came, with its own chain.
type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("the queued message is not an order hand-off")]
    BadMessage(#[source] Cause),
    #[error("Step Functions failed")]
    StepFunctions(#[source] Cause),
    #[error("SQS failed")]
    Queue(#[source] Cause),
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl From<HandoffError> for Diagnostic {
    fn from(error: HandoffError) -> Self {
        let error_type = match &error {
            HandoffError::BadMessage(_) => "BadMessage",
            HandoffError::StepFunctions(_) => "StepFunctionsFailed",
            HandoffError::Queue(_) => "QueueFailed",
            HandoffError::Store(_) => "StoreUnavailable",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: cartwheel_http::ErrorChain(&error).to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Started,
    /// An execution for the order is running or has finished, or the order is out of checkout.
    AlreadyStarted,
    /// The earlier execution ended without moving the order on; a new one was started.
    Restarted,
    /// Every attempt ended with the order still in checkout; none is started (see `ATTEMPTS`)
    /// and the order is settled as a failed checkout (the lifecycle's `GiveUp` row).
    GaveUp,
}

pub struct SagaStarter {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SagaStarter {
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// Starts `name`; `false` if an execution of that name exists already. StartExecution of a
    /// running name with the same input succeeds and answers that execution, so every start
    /// carries a hand-off id of its own beside the order (the steps read only `orderId`): a
    /// second start of a running attempt is refused, and never counted as a new start.
    async fn start_named(&self, name: &str, input: SagaInput) -> Result<bool, HandoffError> {
        let payload = serde_json::json!({
            "orderId": input.order_id,
            "handoff": ulid::Ulid::new().to_string(),
        });
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(payload.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Ok(false)
            }
            Err(e) => Err(HandoffError::StepFunctions(Box::new(e))),
        }
    }

    async fn status(&self, name: &str) -> Result<ExecutionStatus, HandoffError> {
        let arn = format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        );
        self.client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map(|described| described.status)
            .map_err(|e| HandoffError::StepFunctions(Box::new(e)))
    }

    /// Starts the order's checkout unless it is already under way. An order whose execution died
    /// (failed, timed out, was stopped) while the order was still in checkout gets a new attempt,
    /// which resumes it: every step skips what is already done. Attempts are numbered, and a new
    /// one starts only when every earlier one has ended, so a sweep never runs two at once.
    #[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
    pub async fn start(
        &self,
        store: &(impl ReadOrderRecords + SettleOrder),
        input: SagaInput,
    ) -> Result<Start, HandoffError> {
        // Only an order in checkout gets a saga. A hand-off can come again after the order's
        // execution is gone (offline, a restarted moto forgets every execution, and the stream
        // is read again from its start; in AWS, a name is kept 90 days): a saga started on a
        // finished order would compensate it. (An order not found may not be visible to this
        // read yet; its saga's first step decides.)
        // (A CONFIRMED order without its shipment, or refunded, is still in checkout.)
        let records = store.order_records(input.order_id).await?;
        let found = records.order.is_some();
        if let Some(order) = &records.order {
            if !order.status.in_checkout(records.holdings()) {
                return Ok(Start::AlreadyStarted);
            }
        }
        for attempt in 1..=ATTEMPTS {
            let name = attempt_name(input.order_id, attempt);
            if self.start_named(&name, input).await? {
                return Ok(if attempt == 1 {
                    Start::Started
                } else {
                    Start::Restarted
                });
            }
            let status = self.status(&name).await?;
            if matches!(
                status,
                ExecutionStatus::Running | ExecutionStatus::Succeeded
            ) {
                return Ok(Start::AlreadyStarted);
            }
        }
        if found {
            give_up(store, input.order_id).await?;
        }
        Ok(Start::GaveUp)
    }
}

/// Every attempt died with the order unfinished: rather than leave it in checkout for good (held
/// units, maybe a charge, swept again and again), the order is settled as a failed checkout in
/// one transaction: refunded, released, its shipment voided, PAYMENT_FAILED.
async fn give_up(store: &impl SettleOrder, order: OrderId) -> Result<(), HandoffError> {
    let row = lifecycle::transition(Actor::GiveUp, OrderStatus::PaymentFailed);
    match store
        .settle_order(order, row.from, row.to, Timestamp::now())
        .await
    {
        Ok(settled) => {
            if settled.moved {
                tracing::error!(
                    attempts = ATTEMPTS,
                    "every execution of this order died with the order in checkout: settled as failed"
                );
            }
            Ok(())
        }
        // Cancelled, shipped or rejected meanwhile: nothing is owed any more.
        Err(StoreError::VersionConflict) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// How many executions one order's checkout gets before the starter leaves it to an operator.
const ATTEMPTS: u32 = 3;

/// Execution names are unique for 90 days, so each attempt has its own: the order id, then
/// `<order id>-2`, `<order id>-3`.
fn attempt_name(order: OrderId, attempt: u32) -> String {
    if attempt == 1 {
        order.to_string()
    } else {
        format!("{order}-{attempt}")
    }
}

pub struct OrderQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// SendMessageBatch takes at most this many messages.
const MESSAGES_PER_BATCH: usize = 10;
/// Batches in flight at once: a sweep of thousands of stalled orders ends well within its timeout.
const BATCHES_AT_ONCE: usize = 8;

impl OrderQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Queues one hand-off per order, several batches at a time; fails if SQS refuses any of
    /// them (partial failures count).
    pub async fn send(&self, orders: &[OrderId]) -> Result<(), HandoffError> {
        for group in orders.chunks(MESSAGES_PER_BATCH * BATCHES_AT_ONCE) {
            let mut sends = Vec::new();
            for chunk in group.chunks(MESSAGES_PER_BATCH) {
                sends.push(self.send_batch(chunk));
            }
            for sent in futures::future::join_all(sends).await {
                sent?;
            }
        }
        Ok(())
    }

    async fn send_batch(&self, chunk: &[OrderId]) -> Result<(), HandoffError> {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(slot, order)| {
                let body = serde_json::to_string(&SagaInput { order_id: *order })
                    .map_err(|e| HandoffError::BadMessage(Box::new(e)))?;
                SendMessageBatchRequestEntry::builder()
                    .id(slot.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| HandoffError::Queue(Box::new(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| HandoffError::Queue(Box::new(e)))?;
        match sent.failed.first() {
            Some(failure) => Err(HandoffError::Queue(Cause::from(format!(
                "{} of {} messages refused, e.g. {}: {}",
                sent.failed.len(),
                chunk.len(),
                failure.code,
                failure.message.as_deref().unwrap_or_default()
            )))),
            None => Ok(()),
        }
    }
}

async fn start_from_message(
    store: &(impl ReadOrderRecords + SettleOrder),
    saga: &SagaStarter,
    message: &SqsMessage,
) -> Result<Start, HandoffError> {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| HandoffError::BadMessage("the message has no body".into()))?;
    let input: SagaInput = serde_json::from_str(body)
        .map_err(|e| HandoffError::BadMessage(format!("{e}: {body}").into()))?;
    saga.start(store, input).await
}

/// The order queue's consumer. A message that fails is reported alone and comes back after its
/// visibility timeout; after `maxReceiveCount` tries it goes to the dead-letter queue.
#[tracing::instrument(skip_all)]
pub async fn start_checkout(
    store: &(impl ReadOrderRecords + SettleOrder),
    saga: &SagaStarter,
    event: SqsEvent,
) -> SqsBatchResponse {
    let starts = event
        .records
        .iter()
        .map(|m| start_from_message(store, saga, m));
    let outcomes = futures::future::join_all(starts).await;
    let mut response = SqsBatchResponse::default();
    let mut started = 0;
    for (message, outcome) in event.records.iter().zip(outcomes) {
        match outcome {
            Ok(Start::Started | Start::Restarted) => started += 1,
            Ok(Start::AlreadyStarted | Start::GaveUp) => {}
            Err(error) => {
                tracing::error!(message = ?message.message_id, error = %cartwheel_http::ErrorChain(&error), "could not start a checkout");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
    }
    count(Metric::SagasStarted, started);
    response
}

/// The most stale orders one sweep re-queues from each shard of the pending index (read in pages
/// of 100).
const SWEEP_LIMIT: u16 = 1000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub requeued: usize,
}

/// Runs on a schedule: every order still in checkout whose last move is older than the grace
/// period goes back on the queue (a lost hand-off, or a dead execution: the starter decides).
#[tracing::instrument(skip_all)]
pub async fn sweep_pending_orders(
    store: &impl FindStalledOrders,
    sweep: &PendingSweep,
) -> Result<SweepReport, HandoffError> {
    let cutoff = Timestamp::now().minus(sweep.grace);
    let stale = store.stalled_orders(cutoff, SWEEP_LIMIT).await?;
    if !stale.is_empty() {
        sweep.queue.send(&stale).await?;
        tracing::warn!(
            orders = stale.len(),
            "re-queued orders whose checkout stalled"
        );
        count(Metric::OrdersRequeued, stale.len());
    }
    Ok(SweepReport {
        requeued: stale.len(),
    })
}

pub const DEFAULT_PENDING_GRACE_SECONDS: u64 = 120;

/// The sweeper's queue and how long an order may stay PENDING before it is handed off again.
pub struct PendingSweep {
    pub queue: OrderQueue,
    pub grace: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_hand_off_tells_step_functions_its_whole_cause() {
        let refused = HandoffError::Queue("3 of 10 messages refused, e.g. Throttled".into());
        let diagnostic = Diagnostic::from(refused);
        assert_eq!(diagnostic.error_type, "QueueFailed");
        assert_eq!(
            diagnostic.error_message,
            "SQS failed: 3 of 10 messages refused, e.g. Throttled"
        );
        let store = HandoffError::from(StoreError::Call("timed out".into()));
        let diagnostic = Diagnostic::from(store);
        assert_eq!(diagnostic.error_type, "StoreUnavailable");
        assert_eq!(
            diagnostic.error_message,
            "the store failed: a DynamoDB call failed: timed out"
        );
    }
}
