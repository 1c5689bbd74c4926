//! A circuit breaker in front of the card processor. After `threshold` failures in a row it opens:
//! for `open_for`, payments fail fast without calling the processor (which is down, and would
//! only time out or pile up retries). Then it half-opens: one caller at a time tries the processor
//! (a trial); a success closes it, a failure opens it again. Its state lives in the table, so every
//! instance of the function shares it.

use crate::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub threshold: u32,
    pub open_for: Duration,
}

/// The breaker as stored: consecutive failures, and while open, until when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BreakerState {
    pub failures: u32,
    pub open_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: call the processor.
    Call,
    /// Open, and its time is up: one caller may try the processor, if it claims the trial.
    Trial,
    /// Open: fail fast.
    Refuse,
}

impl BreakerState {
    pub fn admission(self, now: Timestamp) -> Admission {
        match self.open_until {
            None => Admission::Call,
            Some(until) if now < until => Admission::Refuse,
            Some(_) => Admission::Trial,
        }
    }

    /// Whether a success has anything to reset (most successes need no write).
    pub fn is_clear(self) -> bool {
        self.failures == 0 && self.open_until.is_none()
    }
}

impl BreakerPolicy {
    /// Whether the failure that made `failures` in a row opens the breaker.
    pub fn opens_at(self, failures: u32) -> bool {
        failures >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_refuses_while_open_then_admits_a_trial() {
        let now = Timestamp::now();
        let open = BreakerState {
            failures: 5,
            open_until: Some(now.plus(Duration::from_secs(30))),
        };
        assert_eq!(BreakerState::default().admission(now), Admission::Call);
        assert_eq!(open.admission(now), Admission::Refuse);
        assert_eq!(
            open.admission(now.plus(Duration::from_secs(31))),
            Admission::Trial
        );
        assert!(BreakerState::default().is_clear() && !open.is_clear());
    }

    #[test]
    fn it_opens_at_its_threshold() {
        let policy = BreakerPolicy {
            threshold: 3,
            open_for: Duration::from_secs(30),
        };
        assert!(!policy.opens_at(2));
        assert!(policy.opens_at(3) && policy.opens_at(4));
    }
}
