//! What every event consumer shares: a rule delivers each domain event to the consumer's queue as
//! the EventBridge event's JSON; a batch is handled message by message, and only the messages that
//! failed are reported (`ReportBatchItemFailures`), so they alone come back, and after the queue's
//! `maxReceiveCount` go to its dead-letter queue. A message that is no event at all (poison) fails
//! the same way: it cannot block the batch, and it ends in the dead-letter queue for a person.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use cartwheel_http::ErrorChain;
use cartwheel_store::{Applied, StoreError};
use cartwheel_telemetry::{count, Metric};
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;

/// A domain event as the bus delivers it.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivered {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub detail: Value,
}

impl Delivered {
    /// A string field of the detail, or why the event is unusable.
    pub fn text(&self, field: &'static str) -> Result<&str, ConsumeError> {
        self.detail[field]
            .as_str()
            .ok_or(ConsumeError::Incomplete(field))
    }

    /// A field of the detail as `T`, or why the event is unusable.
    pub fn field<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<T, ConsumeError> {
        serde_json::from_value(self.detail[name].clone())
            .map_err(|_| ConsumeError::Incomplete(name))
    }

    /// The id a consumer deduplicates by: the same on every delivery of one event.
    pub fn event_id(&self) -> Result<&str, ConsumeError> {
        self.text("eventId")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("the message has no body")]
    NoBody,
    #[error("the message is not a domain event")]
    NotAnEvent(#[source] serde_json::Error),
    #[error("the event's detail has no usable {0}")]
    Incomplete(&'static str),
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("the e-mail could not be sent")]
    Mail(#[from] crate::mail::MailError),
    #[error("another delivery of this event is sending its e-mail; it comes back after that")]
    EmailInFlight,
    #[error("the message could not be pushed")]
    Push(#[from] crate::push::PushError),
}

/// Handles each message of `batch` with `handle` (given the event and the message's text, all
/// at once) and reports the ones that failed.
pub async fn each_event<'a, F, Fut>(batch: &'a SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(Delivered, &'a str) -> Fut,
    Fut: Future<Output = Result<Applied, ConsumeError>>,
{
    let outcomes = batch.records.iter().map(|message| {
        let handled = parse(message).map(|(event, raw)| handle(event, raw));
        async move { handled?.await }
    });
    let outcomes = futures::future::join_all(outcomes).await;
    report(batch, outcomes)
}

/// Like `each_event`, but one message after the other, in the order their events occurred
/// (`occurredAt`), for a consumer whose effects must keep that order.
pub async fn each_event_in_order<F, Fut>(batch: &SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(Delivered) -> Fut,
    Fut: Future<Output = Result<Applied, ConsumeError>>,
{
    let mut parsed: Vec<_> = batch.records.iter().map(|m| Some(parse(m))).collect();
    // By time, not by text: RFC 3339 texts of one instant may differ in their fraction's digits.
    let occurred: Vec<Option<cartwheel_domain::Timestamp>> = parsed
        .iter()
        .map(|p| match p {
            Some(Ok((event, _))) => event.field("occurredAt").ok(),
            _ => None,
        })
        .collect();
    let mut order: Vec<usize> = (0..parsed.len()).collect();
    order.sort_by_key(|i| occurred[*i]);
    let mut outcomes: Vec<Option<Result<Applied, ConsumeError>>> =
        (0..parsed.len()).map(|_| None).collect();
    for i in order {
        outcomes[i] = match parsed[i].take() {
            Some(Ok((event, _))) => Some(handle(event).await),
            Some(Err(error)) => Some(Err(error)),
            None => None,
        };
    }
    report(batch, outcomes.into_iter().flatten().collect())
}

/// The batch's response: the messages whose outcome is an error, which alone come back.
fn report(batch: &SqsEvent, outcomes: Vec<Result<Applied, ConsumeError>>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let (mut applied, mut duplicates) = (0, 0);
    for (message, outcome) in batch.records.iter().zip(outcomes) {
        match outcome {
            Ok(Applied::Now) => applied += 1,
            Ok(Applied::Already | Applied::Outdated) => duplicates += 1,
            Err(error) => {
                let error: &dyn std::error::Error = &error;
                tracing::error!(message = ?message.message_id, error = %ErrorChain(error), "could not apply an event");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
    }
    count(Metric::EventsConsumed, applied);
    count(Metric::EventsDuplicate, duplicates);
    response
}

fn parse(message: &SqsMessage) -> Result<(Delivered, &str), ConsumeError> {
    let raw = message.body.as_deref().ok_or(ConsumeError::NoBody)?;
    let event = serde_json::from_str(raw).map_err(ConsumeError::NotAnEvent)?;
    Ok((event, raw))
}
