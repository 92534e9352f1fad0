//! FHIR `date`, `dateTime` and `instant` values as the stretch of time they
//! cover, to tell whether one is certainly later than another (per-1).
//!
//! `2021` covers the whole year and `2021-03-04T10:00:00+01:00` one
//! instant. A value without a time has no time zone; it is read in the zone
//! of the value it is compared with, when that has none either, and is
//! otherwise widened by the largest offsets (-12:00 to +14:00), so that a
//! finding is never an artefact of an unknown zone. The validator's per-1
//! and the adapters (which leave out a Period's end that comes before its
//! start, rather than write a Period that breaks per-1) read values alike.

use crate::datatypes::days_from_civil;

/// Nanoseconds since 1970-01-01T00:00:00 (UTC, or local for values
/// without a zone).
type Nanos = i128;

const NANOS_PER_SECOND: Nanos = 1_000_000_000;
const NANOS_PER_MINUTE: Nanos = 60 * NANOS_PER_SECOND;
const NANOS_PER_DAY: Nanos = 24 * 60 * NANOS_PER_MINUTE;

/// The earliest and latest instant a value may denote (both included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    earliest: Nanos,
    latest: Nanos,
    /// Whether the value carries a time zone (only values with a time do).
    zoned: bool,
}

impl Span {
    /// Reads a `date`, `dateTime` or `instant`; `None` when it is not one
    /// (the schema reports that).
    pub fn parse(text: &str) -> Option<Self> {
        let (date, time) = match text.split_once('T') {
            Some((date, time)) => (date, Some(time)),
            None => (text, None),
        };
        let fields: Vec<&str> = date.split('-').collect();
        let (year, month, day) = match fields.as_slice() {
            [year] => (number(year, 4)?, None, None),
            [year, month] => (number(year, 4)?, Some(number(month, 2)?), None),
            [year, month, day] => (number(year, 4)?, Some(number(month, 2)?), Some(number(day, 2)?)),
            _ => return None,
        };
        match (month, day, time) {
            (None, None, None) => Some(Self::local(days(year, 1, 1), days(year + 1, 1, 1))),
            (Some(month), None, None) => {
                let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                Some(Self::local(days(year, month, 1), days(next_year, next_month, 1)))
            }
            (Some(month), Some(day), None) => {
                let first = days(year, month, day);
                Some(Self::local(first, first + 1))
            }
            (Some(month), Some(day), Some(time)) => {
                let instant = Nanos::from(days(year, month, day)) * NANOS_PER_DAY + time_of_day(time)?;
                Some(Self {
                    earliest: instant,
                    latest: instant,
                    zoned: true,
                })
            }
            _ => None,
        }
    }

    /// Whether every instant `self` may denote is later than every instant
    /// `other` may denote.
    pub fn certainly_after(self, other: Self) -> bool {
        let (this, other) = if self.zoned == other.zoned {
            (self, other)
        } else {
            (self.widened(), other.widened())
        };
        this.earliest > other.latest
    }

    /// Whole days from `first` up to, not including, `end`.
    fn local(first: i64, end: i64) -> Self {
        Self {
            earliest: Nanos::from(first) * NANOS_PER_DAY,
            latest: Nanos::from(end) * NANOS_PER_DAY - 1,
            zoned: false,
        }
    }

    /// A value without a zone, as wide as any zone makes it.
    fn widened(self) -> Self {
        if self.zoned {
            return self;
        }
        Self {
            earliest: self.earliest - 14 * 60 * NANOS_PER_MINUTE,
            latest: self.latest + 12 * 60 * NANOS_PER_MINUTE,
            zoned: true,
        }
    }
}

/// `hh:mm:ss[.fff]` and a zone (`Z`, `+01:00`), as nanoseconds since
/// midnight UTC.
fn time_of_day(time: &str) -> Option<Nanos> {
    let zone_at = time.find(['Z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut fields = whole.split(':');
    let hours = number(fields.next()?, 2)?;
    let minutes = number(fields.next()?, 2)?;
    let seconds = number(fields.next()?, 2)?;
    let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: i64 = digits.parse().ok()?;
    let local = Nanos::from(hours * 3600 + minutes * 60 + seconds) * NANOS_PER_SECOND + Nanos::from(nanos);
    Some(local - offset(zone)?)
}

/// The zone's offset from UTC.
fn offset(zone: &str) -> Option<Nanos> {
    if zone == "Z" {
        return Some(0);
    }
    let (sign, rest) = zone.split_at(1);
    let (hours, minutes) = rest.split_once(':')?;
    let magnitude = Nanos::from(number(hours, 2)? * 60 + number(minutes, 2)?) * NANOS_PER_MINUTE;
    Some(if sign == "-" { -magnitude } else { magnitude })
}

/// A field of exactly `width` digits.
fn number(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Days from 1970-01-01 to `year-month-day`; the fields were read as at
/// most four and two digits, so they fit.
fn days(year: i64, month: i64, day: i64) -> i64 {
    let narrow = |n: i64| u32::try_from(n).unwrap_or_default();
    days_from_civil(i32::try_from(year).unwrap_or_default(), narrow(month), narrow(day))
}

#[cfg(test)]
mod tests {
    use super::{Span, days};

    fn after(later: &str, earlier: &str) -> bool {
        let parse = |text| Span::parse(text).unwrap_or_else(|| panic!("{text}"));
        parse(later).certainly_after(parse(earlier))
    }

    #[test]
    fn days_from_the_epoch() {
        assert_eq!(days(1970, 1, 1), 0);
        assert_eq!(days(2000, 3, 1), 11_017);
        assert_eq!(days(1969, 12, 31), -1);
    }

    #[test]
    fn values_of_one_precision() {
        assert!(after("2021", "2020"));
        assert!(after("2020-02", "2020-01"));
        assert!(after("2020-03-01", "2020-02-29"));
        assert!(after("2020-01-01T10:00:00.001Z", "2020-01-01T10:00:00Z"));
        assert!(!after("2020-01-01", "2020-01-01"));
        assert!(!after("2020-01-01T10:00:00Z", "2020-01-01T10:00:00.000Z"));
    }

    #[test]
    fn time_zones_are_compared_in_utc() {
        assert!(!after("2020-01-01T10:30:00+01:00", "2020-01-01T10:00:00Z"));
        assert!(after("2020-01-01T10:30:00-01:00", "2020-01-01T11:00:00Z"));
    }

    #[test]
    fn a_coarser_value_is_after_only_when_all_of_it_is() {
        assert!(!after("2020", "2020-06-15"));
        assert!(!after("2020-06-15", "2020"));
        assert!(after("2021", "2020-12-31"));
        // 00:30 in Amsterdam is still 2019 in UTC; the date's zone is unknown.
        assert!(!after("2020-01-01", "2020-01-01T00:30:00+01:00"));
        assert!(!after("2020-01-02T01:00:00+02:00", "2020-01-01"));
        assert!(after("2020-01-03T01:00:00Z", "2020-01-01"));
    }
}
