use crate::InvalidValue;
use std::fmt;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// A point in time, always UTC, written as RFC 3339.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The UTC calendar day it falls on.
    pub fn utc_day(self) -> crate::Day {
        crate::Day::of(self.0.date())
    }

    /// The time `later` after this one.
    pub fn plus(self, later: std::time::Duration) -> Self {
        Self(self.0 + later)
    }

    /// The time `earlier` before this one.
    pub fn minus(self, earlier: std::time::Duration) -> Self {
        Self(self.0 - earlier)
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        (self.0 - earlier.0).try_into().unwrap_or_default()
    }

    /// Milliseconds since the epoch; 0 before it.
    pub fn unix_millis(self) -> u64 {
        u64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    pub fn from_unix_millis(millis: u64) -> Self {
        let nanos = i128::from(millis) * 1_000_000;
        Self(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }
}

impl From<Timestamp> for std::time::SystemTime {
    fn from(t: Timestamp) -> Self {
        t.0.into()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        OffsetDateTime::parse(&raw, &Rfc3339)
            .map(|t| Self(t.to_offset(time::UtcOffset::UTC)))
            .map_err(|_| InvalidValue::new("must be an RFC 3339 timestamp"))
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Formatting a UTC OffsetDateTime as RFC 3339 only fails for years outside 0..=9999.
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}
