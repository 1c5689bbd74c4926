use crate::InvalidValue;
use std::fmt;
use time::{macros::format_description, Date};

/// A UTC calendar day, written `YYYY-MM-DD`: what daily figures are kept and asked for by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Date::parse(raw, format_description!("[year]-[month]-[day]"))
            .map(Self)
            .map_err(|_| InvalidValue::new("must be a date written YYYY-MM-DD"))
    }

    pub(crate) fn of(date: Date) -> Self {
        Self(date)
    }

    /// Every day from this one to `last`, both included; none if `last` is earlier.
    pub fn through(self, last: Day) -> impl Iterator<Item = Day> {
        std::iter::successors(Some(self.0), |d| d.next_day())
            .take_while(move |d| *d <= last.0)
            .map(Self)
    }

    /// How many days `through(last)` gives.
    pub fn count_through(self, last: Day) -> i64 {
        (last.0 - self.0).whole_days() + 1
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_as_iso_dates() {
        assert_eq!(Day::parse("2026-12-03").unwrap().to_string(), "2026-12-03");
        for bad in ["2026-13-01", "2026-02-30", "03.12.2026", "2026-12-3", ""] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_range_includes_both_ends() {
        let (first, last) = (
            Day::parse("2026-02-27").unwrap(),
            Day::parse("2026-03-01").unwrap(),
        );
        let days: Vec<String> = first.through(last).map(|d| d.to_string()).collect();
        assert_eq!(days, ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert_eq!(first.count_through(last), 3);
        assert_eq!(last.through(first).count(), 0);
    }
}
