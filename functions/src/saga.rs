//! The checkout saga's steps. Step Functions calls each with `{"orderId": ...}` and passes the
//! same object on; a failure's `errorType` is the name the state machine's Retry and Catch match.
//! Every step is idempotent: a retried step changes nothing twice.

use crate::processor::{self, Charge};
use cartwheel_domain::{
    lifecycle::{self, Actor},
    BreakerPolicy, Order, OrderId, OrderStatus, PaymentDecision, Timestamp,
};
use cartwheel_store::{
    AuthorizePayment, BreakerStore, CapturePayment, CreateShipment, GetOrder, ProcessorSwitch,
    RefundPayment, ReleaseStock, ReserveOutcome, ReserveStock, SettleOrder, StoreError,
};
use cartwheel_telemetry::{count, Metric};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaInput {
    pub order_id: OrderId,
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("order {0} cannot be fulfilled from stock")]
    OutOfStock(OrderId),
    #[error("the payment for order {0} was declined")]
    PaymentDeclined(OrderId),
    #[error("the card processor failed for order {0}; try again")]
    PaymentProcessingError(OrderId),
    #[error("the card processor is unavailable (its circuit breaker is open) for order {0}")]
    PaymentUnavailable(OrderId),
    #[error("order {0} does not exist")]
    OrderNotFound(OrderId),
    #[error("order {0} was cancelled by its owner during its checkout")]
    OrderCancelled(OrderId),
    #[error("order {0} is not in a state this step can act on")]
    UnexpectedStatus(OrderId),
    #[error("the store failed for this step")]
    Store(#[source] StoreError),
}

impl StepError {
    /// Every name `error_type` gives; the state machine must handle each of them.
    pub const TYPES: [&'static str; 8] = [
        "OutOfStock",
        "PaymentDeclined",
        "PaymentProcessingError",
        "PaymentUnavailable",
        "OrderNotFound",
        "OrderCancelled",
        "UnexpectedStatus",
        "StoreUnavailable",
    ];

    /// The answers a retry cannot change: every Task lists them first with `MaxAttempts: 0`, so
    /// that its last retrier (`States.TaskFailed`: a crash, a timeout) does not retry them.
    pub const FINAL: [&'static str; 5] = [
        "OutOfStock",
        "PaymentDeclined",
        "OrderNotFound",
        "OrderCancelled",
        "UnexpectedStatus",
    ];

    /// The name the state machine matches in `ErrorEquals`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::OutOfStock(_) => "OutOfStock",
            Self::PaymentDeclined(_) => "PaymentDeclined",
            Self::PaymentProcessingError(_) => "PaymentProcessingError",
            Self::PaymentUnavailable(_) => "PaymentUnavailable",
            Self::OrderNotFound(_) => "OrderNotFound",
            Self::OrderCancelled(_) => "OrderCancelled",
            Self::UnexpectedStatus(_) => "UnexpectedStatus",
            Self::Store(_) => "StoreUnavailable",
        }
    }

    fn store(order: OrderId) -> impl Fn(StoreError) -> Self {
        move |error| match error {
            StoreError::NotFound => Self::OrderNotFound(order),
            StoreError::VersionConflict => Self::UnexpectedStatus(order),
            other => Self::Store(other),
        }
    }
}

impl From<StepError> for Diagnostic {
    fn from(error: StepError) -> Self {
        Diagnostic {
            error_type: error.error_type().into(),
            error_message: cartwheel_http::ErrorChain(&error).to_string(),
        }
    }
}

pub type StepResult = Result<SagaInput, StepError>;

async fn order(store: &impl GetOrder, input: SagaInput) -> Result<Order, StepError> {
    let id = input.order_id;
    store
        .get_order(id)
        .await
        .map_err(StepError::store(id))?
        .ok_or(StepError::OrderNotFound(id))
}

#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn reserve_stock(store: &(impl GetOrder + ReserveStock), input: SagaInput) -> StepResult {
    let order = order(store, input).await?;
    if order.status == OrderStatus::Cancelled {
        return Err(StepError::OrderCancelled(order.id));
    }
    match store
        .reserve_stock(&order)
        .await
        .map_err(StepError::store(order.id))?
    {
        // The checkout's facts (accepted, rejected, confirmed, compensated) and its duration are
        // counted from the table's moves by the sales consumer, once each: a step that is
        // retried after its write landed, or times out after it, cannot count them right.
        ReserveOutcome::Reserved | ReserveOutcome::AlreadyReserved => Ok(input),
        // Taken and put back by a compensation that did not finish (its execution died): the
        // order holds nothing, so it must not go on to be charged. The compensation resumes.
        ReserveOutcome::Released => {
            let error = StepError::UnexpectedStatus(order.id);
            Err(cancelled_or(store, input, error).await)
        }
        ReserveOutcome::OutOfStock { short_lines, .. } => {
            count(Metric::ReservationConflicts, short_lines);
            tracing::info!(status = ?OrderStatus::Rejected, "checkout finished");
            Err(StepError::OutOfStock(order.id))
        }
    }
}

/// A forward step's refusal: an order its owner cancelled meanwhile fails the step with
/// `OrderCancelled`, which the state machine ends in `Cancelled` (after compensating), not in an
/// error. Cancelling refunds and releases on its own; the saga's compensation repeats both
/// harmlessly, which covers a step that committed just before the cancel.
async fn cancelled_or(store: &impl GetOrder, input: SagaInput, error: StepError) -> StepError {
    if !matches!(error, StepError::UnexpectedStatus(_)) {
        return error;
    }
    match order(store, input).await {
        Ok(order) if order.status == OrderStatus::Cancelled => StepError::OrderCancelled(order.id),
        _ => error,
    }
}

#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn authorize_payment(
    store: &(impl GetOrder + AuthorizePayment + BreakerStore + ProcessorSwitch),
    breaker: BreakerPolicy,
    input: SagaInput,
) -> StepResult {
    let order = order(store, input).await?;
    if order.status == OrderStatus::Cancelled {
        return Err(StepError::OrderCancelled(order.id));
    }
    // A second attempt of a saga whose first died after this step: charge nothing twice.
    if order.status.is_paid() {
        return Ok(input);
    }
    let charge = processor::charge(store, breaker, &order.payment_token, Timestamp::now())
        .await
        .map_err(StepError::store(order.id))?;
    match charge {
        Charge::Unavailable => Err(StepError::PaymentUnavailable(order.id)),
        Charge::Decided(PaymentDecision::Declined(_)) => {
            count(Metric::PaymentsDeclined, 1);
            Err(StepError::PaymentDeclined(order.id))
        }
        Charge::Decided(PaymentDecision::Approved | PaymentDecision::SlowApproval) => {
            approve(store, input, &order).await
        }
        Charge::Decided(PaymentDecision::TransientFailure | PaymentDecision::NoAnswer) => {
            Err(StepError::PaymentProcessingError(order.id))
        }
    }
}

/// Records the authorization with the order's move to `PAID`, unless the order moved meanwhile.
async fn approve(
    store: &(impl GetOrder + AuthorizePayment),
    input: SagaInput,
    order: &Order,
) -> StepResult {
    if let Err(error) = store
        .record_authorization(order, Timestamp::now())
        .await
        .map_err(StepError::store(order.id))
    {
        return Err(cancelled_or(store, input, error).await);
    }
    count(Metric::PaymentsAuthorized, 1);
    Ok(input)
}

#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn confirm_order(
    store: &(impl CapturePayment + GetOrder),
    input: SagaInput,
) -> StepResult {
    let id = input.order_id;
    let captured = store
        .capture_payment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id));
    let captured_now = match captured {
        Ok(captured_now) => captured_now,
        Err(error) => return Err(cancelled_or(store, input, error).await),
    };
    if captured_now {
        tracing::info!(status = ?OrderStatus::Confirmed, "checkout finished");
    }
    Ok(input)
}

#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn create_shipment(
    store: &(impl CreateShipment + GetOrder),
    input: SagaInput,
) -> StepResult {
    let id = input.order_id;
    match store
        .create_shipment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id))
    {
        Ok(_) => Ok(input),
        Err(error) => Err(cancelled_or(store, input, error).await),
    }
}

/// Compensation of AuthorizePayment and ConfirmOrder; harmless if there is nothing to refund.
#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn refund_payment(store: &impl RefundPayment, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .refund_payment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

/// Compensation of ReserveStock; puts back exactly what was taken, once.
#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn release_stock(store: &impl ReleaseStock, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .release_stock(id)
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

/// The saga's last compensation: the order ends `PAYMENT_FAILED`, and whatever the steps before
/// it did not finish (a refund, a release, a shipment to void) is done in the same transaction,
/// so a compensation is never left half done. If the customer cancelled meanwhile (a cancel
/// settles the order on its own), it stays `CANCELLED` and the execution ends cleanly.
#[tracing::instrument(skip_all, fields(orderId = %input.order_id))]
pub async fn mark_payment_failed(
    store: &(impl SettleOrder + GetOrder),
    input: SagaInput,
) -> StepResult {
    let id = input.order_id;
    let row = lifecycle::transition(Actor::MarkPaymentFailed, OrderStatus::PaymentFailed);
    let settled = store
        .settle_order(id, row.from, row.to, Timestamp::now())
        .await
        .map_err(StepError::store(id));
    match settled {
        Ok(_) => {
            tracing::info!(status = ?OrderStatus::PaymentFailed, "checkout finished");
            Ok(input)
        }
        Err(StepError::UnexpectedStatus(_))
            if order(store, input).await?.status == OrderStatus::Cancelled =>
        {
            Ok(input)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
#[path = "saga_decisions.rs"]
mod decisions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_type_is_listed() {
        let order = OrderId::generate();
        let errors = [
            StepError::OutOfStock(order),
            StepError::PaymentDeclined(order),
            StepError::PaymentProcessingError(order),
            StepError::PaymentUnavailable(order),
            StepError::OrderNotFound(order),
            StepError::OrderCancelled(order),
            StepError::UnexpectedStatus(order),
            StepError::Store(StoreError::NotFound),
        ];
        let named: Vec<&str> = errors.iter().map(StepError::error_type).collect();
        assert_eq!(named, StepError::TYPES);
    }
}
