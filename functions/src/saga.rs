//! The checkout saga's steps. Step Functions calls each with `{"orderId": ...}` and passes the
//! same object on; a failure's `errorType` is the name the state machine's Retry and Catch match.
//! Every step is idempotent: a retried step changes nothing twice.

use cartwheel_domain::{decide_payment, Order, OrderId, OrderStatus, PaymentDecision, Timestamp};
use cartwheel_store::{
    AuthorizePayment, CapturePayment, CreateShipment, GetOrder, RefundPayment, ReleaseStock,
    ReserveOutcome, ReserveStock, StoreError, TransitionOrder,
};
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
    #[error("order {0} does not exist")]
    OrderNotFound(OrderId),
    #[error("order {0} was cancelled before its checkout began")]
    OrderCancelled(OrderId),
    #[error("order {0} is not in a state this step can act on")]
    UnexpectedStatus(OrderId),
    #[error(transparent)]
    Store(StoreError),
}

impl StepError {
    /// Every name `error_type` gives; the state machine must handle each of them.
    pub const TYPES: [&'static str; 7] = [
        "OutOfStock",
        "PaymentDeclined",
        "PaymentProcessingError",
        "OrderNotFound",
        "OrderCancelled",
        "UnexpectedStatus",
        "StoreUnavailable",
    ];

    /// The name the state machine matches in `ErrorEquals`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::OutOfStock(_) => "OutOfStock",
            Self::PaymentDeclined(_) => "PaymentDeclined",
            Self::PaymentProcessingError(_) => "PaymentProcessingError",
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
            error_message: error.to_string(),
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
        ReserveOutcome::Reserved => Ok(input),
        ReserveOutcome::OutOfStock => {
            cartwheel_telemetry::record_count(
                crate::deployed::RESERVE_STOCK.name,
                "OrdersRejected",
                1,
            );
            Err(StepError::OutOfStock(order.id))
        }
    }
}

pub async fn authorize_payment(
    store: &(impl GetOrder + AuthorizePayment),
    input: SagaInput,
) -> StepResult {
    let order = order(store, input).await?;
    match decide_payment(&order.payment_token) {
        PaymentDecision::Approved => {
            store
                .record_authorization(&order, Timestamp::now())
                .await
                .map_err(StepError::store(order.id))?;
            Ok(input)
        }
        PaymentDecision::Declined(_) => {
            cartwheel_telemetry::record_count(
                crate::deployed::AUTHORIZE_PAYMENT.name,
                "PaymentDeclines",
                1,
            );
            Err(StepError::PaymentDeclined(order.id))
        }
        PaymentDecision::TransientFailure => Err(StepError::PaymentProcessingError(order.id)),
        // A hung processor: Lambda stops the step at its Timeout and the saga compensates.
        PaymentDecision::NoAnswer => std::future::pending().await,
    }
}

pub async fn confirm_order(store: &impl CapturePayment, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .capture_payment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

pub async fn create_shipment(store: &impl CreateShipment, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .create_shipment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

/// Compensation of AuthorizePayment and ConfirmOrder; harmless if there is nothing to refund.
pub async fn refund_payment(store: &impl RefundPayment, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .refund_payment(id, Timestamp::now())
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

/// Compensation of ReserveStock; puts back exactly what was taken, once.
pub async fn release_stock(store: &impl ReleaseStock, input: SagaInput) -> StepResult {
    let id = input.order_id;
    store
        .release_stock(id)
        .await
        .map_err(StepError::store(id))?;
    Ok(input)
}

/// The saga's last compensation: the order ends `PAYMENT_FAILED`, unless the customer cancelled
/// it meanwhile (cancel refunds and releases on its own): then it stays `CANCELLED` and the
/// execution ends cleanly instead of in an error.
pub async fn mark_payment_failed(
    store: &(impl TransitionOrder + GetOrder),
    input: SagaInput,
) -> StepResult {
    let id = input.order_id;
    let from = [
        OrderStatus::Pending,
        OrderStatus::Reserved,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
    ];
    let marked = store
        .transition_order(id, &from, OrderStatus::PaymentFailed, Timestamp::now())
        .await
        .map_err(StepError::store(id));
    match marked {
        Err(StepError::UnexpectedStatus(_))
            if order(store, input).await?.status == OrderStatus::Cancelled =>
        {
            Ok(input)
        }
        other => other.map(|()| input),
    }
}

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
            StepError::OrderNotFound(order),
            StepError::OrderCancelled(order),
            StepError::UnexpectedStatus(order),
            StepError::Store(StoreError::NotFound),
        ];
        let named: Vec<&str> = errors.iter().map(StepError::error_type).collect();
        assert_eq!(named, StepError::TYPES);
    }
}
