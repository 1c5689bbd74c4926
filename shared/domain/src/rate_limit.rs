//! A fixed-window limit: at most `max` of something per subject (an account, a client address, a
//! customer) in each window of `window_seconds`. Windows start at multiples of their length, so
//! every instance of a function agrees on which window a moment falls in without talking.

use crate::{InvalidValue, Timestamp};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window_seconds: u32,
}

impl RateLimit {
    pub fn new(max: u32, window_seconds: u32) -> Result<Self, InvalidValue> {
        match (max, window_seconds) {
            (0, _) => Err(InvalidValue::new("must allow at least 1 in its window")),
            (_, 0) => Err(InvalidValue::new("must have a window of at least 1 second")),
            _ => Ok(Self {
                max,
                window_seconds,
            }),
        }
    }

    pub fn max(self) -> u32 {
        self.max
    }

    /// The unix second the window holding `now` began at; it names the window's counter.
    pub fn window_start(self, now: Timestamp) -> i64 {
        let length = i64::from(self.window_seconds);
        now.unix_seconds().div_euclid(length) * length
    }

    /// Whole seconds until the window holding `now` ends (at least 1): the `Retry-After`.
    pub fn retry_after(self, now: Timestamp) -> u64 {
        let end = self.window_start(now) + i64::from(self.window_seconds);
        u64::try_from(end - now.unix_seconds()).unwrap_or(1).max(1)
    }

    /// When a window's counter may be forgotten: one window after it ended (DynamoDB's TTL
    /// deletes late, and a counter read after its window is never consulted anyway).
    pub fn forget_after(self, now: Timestamp) -> i64 {
        self.window_start(now) + 2 * i64::from(self.window_seconds)
    }
}

/// `"<max>/<window seconds>"`, as the limits' settings are written (`5/900`).
impl FromStr for RateLimit {
    type Err = InvalidValue;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidValue::new(format!("{raw:?} is not <max>/<window seconds>"));
        let (max, window) = raw.split_once('/').ok_or_else(invalid)?;
        let max = max.trim().parse().map_err(|_| invalid())?;
        let window = window.trim().parse().map_err(|_| invalid())?;
        Self::new(max, window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(unix_seconds as u64 * 1000)
    }

    #[test]
    fn a_setting_is_max_per_window() {
        assert_eq!("5/900".parse(), RateLimit::new(5, 900));
        for bad in ["5", "0/900", "5/0", "-1/60", "five/60", "5/60/1"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_aligned_and_retry_after_counts_to_their_end() {
        let limit = RateLimit::new(5, 60).unwrap();
        assert_eq!(limit.window_start(at(1_000_000_019)), 1_000_000_020 - 60);
        assert_eq!(limit.retry_after(at(1_000_000_019)), 1);
        assert_eq!(limit.retry_after(at(1_000_000_020)), 60);
        assert_eq!(limit.forget_after(at(1_000_000_020)), 1_000_000_140);
    }
}
