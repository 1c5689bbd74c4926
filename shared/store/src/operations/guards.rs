//! What protects callers and dependencies: rate-limit slots, circuit breakers and the simulated
//! card processor's outage switch.

use crate::{Counter, StoreError};
use cartwheel_domain::{BreakerPolicy, BreakerState, RateLimit, Timestamp};
use std::{future::Future, time::Duration};

pub trait TakeSlot {
    /// Counts one more against `limit` for `counter` in the window holding `now`; `false` (and
    /// nothing counted) when the window's slots are all taken.
    fn take_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait GiveBackSlot {
    /// Returns a slot taken at `taken_at` (an attempt that turned out not to count).
    fn give_back_slot(
        &self,
        counter: &Counter,
        limit: RateLimit,
        taken_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The shared state of a circuit breaker (`BreakerState`).
pub trait BreakerStore {
    fn breaker_state(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<BreakerState, StoreError>> + Send;

    /// Claims the one trial of a half-open breaker for `for_at_most`; `false` if another caller
    /// holds it, or the breaker is not (or no longer) due for one.
    fn claim_trial(
        &self,
        name: &str,
        now: Timestamp,
        for_at_most: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts a failure in a row; `true` if it opened the breaker (for `policy.open_for`).
    fn record_failure(
        &self,
        name: &str,
        policy: BreakerPolicy,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Closes the breaker and forgets its failures.
    fn record_success(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The simulated card processor's outage switch: only the simulator and the tests use it.
pub trait ProcessorSwitch {
    fn processor_down(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts a charge the processor failed while down (the tests read it).
    fn count_refused_charge(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn set_processor_down(&self, down: bool)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    fn refused_charges(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
