//! The card processor as AuthorizePayment calls it: the simulator (`decide_payment`, by test
//! token, plus an outage switch only the tests know), behind a circuit breaker whose state all
//! instances share in the table. While the breaker is open a charge fails fast, without calling
//! the processor, so an outage neither holds every step until its timeout nor multiplies retries.

use cartwheel_domain::{
    decide_payment, Admission, BreakerPolicy, PaymentDecision, PaymentToken, Timestamp,
};
use cartwheel_store::{BreakerStore, ProcessorSwitch, StoreError};
use std::time::Duration;

/// The breaker's name (its item in the table).
pub const BREAKER: &str = "card-processor";
/// How long the simulated processor takes over `tok_slowApproval` (a test cancels meanwhile).
pub const SLOW_PROCESSOR: Duration = Duration::from_secs(3);
/// A processor call not answered by then counts as a failure, well inside the step's 10 s
/// Timeout, so a hung processor opens the breaker too instead of only timing steps out.
pub const PROCESSOR_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The processor answered (or failed: `TransientFailure`).
    Decided(PaymentDecision),
    /// The breaker is open: the processor was not called.
    Unavailable,
}

#[tracing::instrument(skip_all)]
pub async fn charge(
    store: &(impl BreakerStore + ProcessorSwitch),
    policy: BreakerPolicy,
    token: &PaymentToken,
    now: Timestamp,
) -> Result<Charge, StoreError> {
    let state = store.breaker_state(BREAKER).await?;
    match state.admission(now) {
        Admission::Call => {}
        Admission::Refuse => return Ok(Charge::Unavailable),
        Admission::Trial => {
            if !store.claim_trial(BREAKER, now, PROCESSOR_TIMEOUT).await? {
                return Ok(Charge::Unavailable);
            }
            tracing::info!("the card processor's breaker is half-open: trying it");
        }
    }
    let decision = tokio::time::timeout(PROCESSOR_TIMEOUT, simulate(store, token))
        .await
        .unwrap_or(Ok(PaymentDecision::TransientFailure))?;
    if decision == PaymentDecision::TransientFailure {
        if store.record_failure(BREAKER, policy, now).await? {
            tracing::warn!("the card processor's breaker opened");
        }
    } else if !state.is_clear() {
        store.record_success(BREAKER).await?;
    }
    Ok(Charge::Decided(decision))
}

/// The simulated processor: down while the outage switch is on, else as the token says.
async fn simulate(
    store: &impl ProcessorSwitch,
    token: &PaymentToken,
) -> Result<PaymentDecision, StoreError> {
    if store.processor_down().await? {
        store.count_refused_charge().await?;
        return Ok(PaymentDecision::TransientFailure);
    }
    match decide_payment(token) {
        PaymentDecision::SlowApproval => {
            tokio::time::sleep(SLOW_PROCESSOR).await;
            Ok(PaymentDecision::Approved)
        }
        // A hung processor: only the timeout above (or the step's own) ends the call.
        PaymentDecision::NoAnswer => std::future::pending().await,
        decision => Ok(decision),
    }
}
