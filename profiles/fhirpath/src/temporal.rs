//! Dates, date-times and times with partial precision (`@2015`, `@2015-02-04T14:34`,
//! `@T10:30`), as FHIRPath literals and as FHIR `date`/`dateTime`/`instant`/`time`
//! strings: parsing, comparison at the common precision, calendar arithmetic.

use std::cmp::Ordering;
use std::fmt;

use zorgpoort_model::datatypes;

/// A date or a date-time; which one is decided by the `Item` variant that holds it.
/// Fields after the first `None` are `None` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Year, 1..=9999.
    pub year: i32,
    /// 1..=12.
    pub month: Option<u8>,
    /// 1..=31.
    pub day: Option<u8>,
    /// 0..=23.
    pub hour: Option<u8>,
    /// 0..=59.
    pub minute: Option<u8>,
    /// 0..=59.
    pub second: Option<u8>,
    /// 0..=999, only with seconds.
    pub millis: Option<u16>,
    /// Offset from UTC in minutes (`Z` is 0); `None` when not given.
    pub offset: Option<i32>,
}

/// A time of day (`@T14:34:28.123`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: Option<u8>,
    /// 0..=59.
    pub second: Option<u8>,
    /// 0..=999.
    pub millis: Option<u16>,
}

/// Units date arithmetic accepts, as calendar durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CalendarUnit {
    /// year(s), `'a'`.
    Year,
    /// month(s), `'mo'`.
    Month,
    /// week(s), `'wk'`.
    Week,
    /// day(s), `'d'`.
    Day,
    /// hour(s), `'h'`.
    Hour,
    /// minute(s), `'min'`.
    Minute,
    /// second(s), `'s'`.
    Second,
    /// millisecond(s), `'ms'`.
    Millisecond,
}

impl CalendarUnit {
    /// For date arithmetic: a calendar keyword (`days`) or a UCUM code of fixed
    /// length (`'d'`; not `'a'` or `'mo'`, whose UCUM lengths are averages).
    pub fn for_arithmetic(unit: &str) -> Option<CalendarUnit> {
        match unit {
            "a" | "mo" => None,
            other => CalendarUnit::from_unit(other),
        }
    }

    /// From a calendar keyword (`days`) or its UCUM code (`'d'`).
    pub fn from_unit(unit: &str) -> Option<CalendarUnit> {
        Some(match unit {
            "year" | "years" | "a" => CalendarUnit::Year,
            "month" | "months" | "mo" => CalendarUnit::Month,
            "week" | "weeks" | "wk" => CalendarUnit::Week,
            "day" | "days" | "d" => CalendarUnit::Day,
            "hour" | "hours" | "h" => CalendarUnit::Hour,
            "minute" | "minutes" | "min" => CalendarUnit::Minute,
            "second" | "seconds" | "s" => CalendarUnit::Second,
            "millisecond" | "milliseconds" | "ms" => CalendarUnit::Millisecond,
            _ => return None,
        })
    }
}

/// True for the calendar duration keywords (`days`), which FHIRPath writes unquoted.
pub fn is_calendar_keyword(word: &str) -> bool {
    matches!(
        word,
        "year"
            | "years"
            | "month"
            | "months"
            | "week"
            | "weeks"
            | "day"
            | "days"
            | "hour"
            | "hours"
            | "minute"
            | "minutes"
            | "second"
            | "seconds"
            | "millisecond"
            | "milliseconds"
    )
}

fn two(text: &str, range: std::ops::RangeInclusive<u8>) -> Option<u8> {
    if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|v| range.contains(v))
}

/// Hour, minute, second, millisecond.
type Clock = (u8, Option<u8>, Option<u8>, Option<u16>);

/// Parses `hh(:mm(:ss(.fff)?)?)?` into its parts.
fn parse_clock(text: &str) -> Option<Clock> {
    let mut parts = text.splitn(3, ':');
    let hour = two(parts.next()?, 0..=23)?;
    let minute = parts
        .next()
        .map(|m| two(m, 0..=59))
        .map_or(Ok(None), |m| m.map(Some).ok_or(()));
    let minute = minute.ok()?;
    let (second, millis) = match parts.next() {
        None => (None, None),
        Some(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let second = two(whole, 0..=60)?;
            if s.contains('.') {
                if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut ms = format!("{fraction:0<3}");
                ms.truncate(3);
                (Some(second), Some(ms.parse().ok()?))
            } else {
                (Some(second), None)
            }
        }
    };
    Some((hour, minute, second, millis))
}

fn parse_offset(text: &str) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = text.get(1..)?.split_once(':')?;
    Some(sign * (i32::from(two(h, 0..=14)?) * 60 + i32::from(two(m, 0..=59)?)))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (the model's calendar arithmetic).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    datatypes::days_from_civil(year, u32::from(month), u32::from(day))
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let (year, month, day) = datatypes::civil_from_days(days);
    // A month is 1..=12 and a day 1..=31: both fit.
    (year, u8::try_from(month).unwrap_or(1), u8::try_from(day).unwrap_or(1))
}

impl DateTime {
    /// Reads `YYYY(-MM(-DD)?)?`, a date without time.
    pub fn parse_date(text: &str) -> Option<DateTime> {
        let mut parts = text.splitn(3, '-');
        let year_text = parts.next()?;
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year_text.parse().ok()?;
        let month = match parts.next() {
            Some(m) => Some(two(m, 1..=12)?),
            None => None,
        };
        let day = match parts.next() {
            Some(d) => Some(two(d, 1..=31)?),
            None => None,
        };
        if let (Some(m), Some(d)) = (month, day) {
            if d > days_in_month(year, m) {
                return None;
            }
        }
        Some(DateTime {
            year,
            month,
            day,
            hour: None,
            minute: None,
            second: None,
            millis: None,
            offset: None,
        })
    }

    /// Reads a date-time: a date, optionally `T` with a partial time and an offset
    /// (`2015-02-04T14:34:28.123+01:00`, `2015T`, `2015-02-04T`).
    pub fn parse_date_time(text: &str) -> Option<DateTime> {
        let Some((date, rest)) = text.split_once('T') else {
            return DateTime::parse_date(text);
        };
        let mut value = DateTime::parse_date(date)?;
        if rest.is_empty() {
            return Some(value);
        }
        let split = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
        let (clock, offset) = rest.split_at(split);
        if clock.is_empty() {
            // Only `2015T`-style precisions may stand without a time, never with an offset.
            return None;
        }
        value.day?;
        let (hour, minute, second, millis) = parse_clock(clock)?;
        value.hour = Some(hour);
        value.minute = minute;
        value.second = second;
        value.millis = millis;
        if !offset.is_empty() {
            value.offset = Some(parse_offset(offset)?);
        }
        Some(value)
    }

    /// True when the value carries a time part.
    pub fn has_time(&self) -> bool {
        self.hour.is_some()
    }

    /// Components from year down, seconds and milliseconds as one, normalised to
    /// UTC when `to_utc` and an offset is present.
    fn components(&self, to_utc: bool) -> Vec<i64> {
        let mut value = *self;
        if to_utc {
            if let (Some(offset), Some(_)) = (self.offset, self.hour) {
                value = value.shifted_minutes(-i64::from(offset));
            }
        }
        let mut parts = vec![i64::from(value.year)];
        for part in [value.month, value.day, value.hour, value.minute] {
            match part {
                Some(p) => parts.push(i64::from(p)),
                None => return parts,
            }
        }
        if let Some(s) = value.second {
            parts.push(i64::from(s) * 1000 + i64::from(value.millis.unwrap_or(0)));
        }
        parts
    }

    /// Compares at the common precision: `None` when one is more precise than the
    /// other and they agree as far as both go (the spec's empty result).
    pub fn compare(&self, other: &DateTime) -> Option<Ordering> {
        if self.offset.is_some() != other.offset.is_some() && self.hour.is_some() && other.hour.is_some() {
            return None;
        }
        let to_utc = self.offset.is_some() && other.offset.is_some();
        compare_parts(&self.components(to_utc), &other.components(to_utc))
    }

    fn shifted_minutes(self, minutes: i64) -> DateTime {
        let (Some(month), Some(day), Some(hour)) = (self.month, self.day, self.hour) else {
            return self;
        };
        let total = days_from_civil(self.year, month, day) * 1440
            + i64::from(hour) * 60
            + i64::from(self.minute.unwrap_or(0))
            + minutes;
        let (year, month, day) = civil_from_days(total.div_euclid(1440));
        let in_day = total.rem_euclid(1440);
        DateTime {
            year,
            month: Some(month),
            day: Some(day),
            hour: u8::try_from(in_day / 60).ok(),
            minute: self.minute.and(u8::try_from(in_day % 60).ok()),
            ..self
        }
    }

    /// Adds `amount` of `unit` (calendar arithmetic: months keep the day, clamped
    /// to the month's length). Units finer than the value's precision are
    /// converted to its precision and truncated. `None` out of range.
    pub fn checked_add(&self, amount: i64, unit: CalendarUnit) -> Option<DateTime> {
        let mut value = *self;
        let (amount, unit) = match unit {
            CalendarUnit::Week => (amount.checked_mul(7)?, CalendarUnit::Day),
            other => (amount, other),
        };
        match unit {
            CalendarUnit::Year => value.year = value.year.checked_add(i32::try_from(amount).ok()?)?,
            CalendarUnit::Month => {
                let Some(month) = value.month else {
                    value.year = value.year.checked_add(i32::try_from(amount / 12).ok()?)?;
                    return value.checked_range();
                };
                let total = i64::from(value.year) * 12 + i64::from(month) - 1 + amount;
                value.year = i32::try_from(total.div_euclid(12)).ok()?;
                value.month = u8::try_from(total.rem_euclid(12) + 1).ok();
            }
            _ => {
                let millis = match unit {
                    CalendarUnit::Day => amount.checked_mul(86_400_000)?,
                    CalendarUnit::Hour => amount.checked_mul(3_600_000)?,
                    CalendarUnit::Minute => amount.checked_mul(60_000)?,
                    CalendarUnit::Second => amount.checked_mul(1000)?,
                    _ => amount,
                };
                value = value.shifted_millis(millis)?;
            }
        }
        if let (Some(m), Some(d)) = (value.month, value.day) {
            value.day = Some(d.min(days_in_month(value.year, m)));
        }
        value.checked_range()
    }

    fn checked_range(self) -> Option<DateTime> {
        (1..=9999).contains(&self.year).then_some(self)
    }

    fn shifted_millis(self, millis: i64) -> Option<DateTime> {
        let (Some(month), Some(day)) = (self.month, self.day) else {
            // Year or month precision: days and finer do not change it.
            return Some(self);
        };
        let unit = match (self.hour, self.minute, self.second) {
            (None, ..) => 86_400_000,
            (Some(_), None, _) => 3_600_000,
            (Some(_), Some(_), None) => 60_000,
            (Some(_), Some(_), Some(_)) if self.millis.is_none() => 1000,
            _ => 1,
        };
        let delta = millis / unit * unit;
        let start = days_from_civil(self.year, month, day) * 86_400_000
            + i64::from(self.hour.unwrap_or(0)) * 3_600_000
            + i64::from(self.minute.unwrap_or(0)) * 60_000
            + i64::from(self.second.unwrap_or(0)) * 1000
            + i64::from(self.millis.unwrap_or(0));
        let total = start.checked_add(delta)?;
        let (year, month, day) = civil_from_days(total.div_euclid(86_400_000));
        let in_day = total.rem_euclid(86_400_000);
        Some(DateTime {
            year,
            month: Some(month),
            day: Some(day),
            hour: self.hour.and(u8::try_from(in_day / 3_600_000).ok()),
            minute: self.minute.and(u8::try_from(in_day / 60_000 % 60).ok()),
            second: self.second.and(u8::try_from(in_day / 1000 % 60).ok()),
            millis: self.millis.and(u16::try_from(in_day % 1000).ok()),
            offset: self.offset,
        })
    }

    /// Now, in UTC, from the system clock.
    pub fn now() -> DateTime {
        let elapsed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        let (year, month, day) = civil_from_days(elapsed.div_euclid(86_400_000));
        let in_day = elapsed.rem_euclid(86_400_000);
        DateTime {
            year,
            month: Some(month),
            day: Some(day),
            hour: u8::try_from(in_day / 3_600_000).ok(),
            minute: u8::try_from(in_day / 60_000 % 60).ok(),
            second: u8::try_from(in_day / 1000 % 60).ok(),
            millis: u16::try_from(in_day % 1000).ok(),
            offset: Some(0),
        }
    }

    #[must_use]
    /// The date part only.
    pub fn date(&self) -> DateTime {
        DateTime {
            hour: None,
            minute: None,
            second: None,
            millis: None,
            offset: None,
            ..*self
        }
    }

    /// Writes the date part (`2015-02-04`).
    pub fn fmt_date(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

fn compare_parts(a: &[i64], b: &[i64]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    (a.len() == b.len()).then_some(Ordering::Equal)
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_date(f)?;
        let Some(hour) = self.hour else {
            return Ok(());
        };
        write!(f, "T{hour:02}")?;
        if let Some(m) = self.minute {
            write!(f, ":{m:02}")?;
        }
        if let Some(s) = self.second {
            write!(f, ":{s:02}")?;
        }
        if let Some(ms) = self.millis {
            write!(f, ".{ms:03}")?;
        }
        match self.offset {
            Some(0) => write!(f, "Z"),
            Some(o) => write!(
                f,
                "{}{:02}:{:02}",
                if o < 0 { '-' } else { '+' },
                o.abs() / 60,
                o.abs() % 60
            ),
            None => Ok(()),
        }
    }
}

impl Time {
    /// Reads `hh(:mm(:ss(.fff)?)?)?`.
    pub fn parse(text: &str) -> Option<Time> {
        let (hour, minute, second, millis) = parse_clock(text)?;
        Some(Time {
            hour,
            minute,
            second,
            millis,
        })
    }

    fn components(&self) -> Vec<i64> {
        let mut parts = vec![i64::from(self.hour)];
        if let Some(m) = self.minute {
            parts.push(i64::from(m));
            if let Some(s) = self.second {
                parts.push(i64::from(s) * 1000 + i64::from(self.millis.unwrap_or(0)));
            }
        }
        parts
    }

    /// Compares at the common precision, as [`DateTime::compare`].
    pub fn compare(&self, other: &Time) -> Option<Ordering> {
        compare_parts(&self.components(), &other.components())
    }

    /// Adds hours, minutes, seconds or milliseconds, wrapping around midnight.
    pub fn checked_add(&self, amount: i64, unit: CalendarUnit) -> Option<Time> {
        let millis = match unit {
            CalendarUnit::Hour => amount.checked_mul(3_600_000)?,
            CalendarUnit::Minute => amount.checked_mul(60_000)?,
            CalendarUnit::Second => amount.checked_mul(1000)?,
            CalendarUnit::Millisecond => amount,
            _ => return None,
        };
        let start = i64::from(self.hour) * 3_600_000
            + i64::from(self.minute.unwrap_or(0)) * 60_000
            + i64::from(self.second.unwrap_or(0)) * 1000
            + i64::from(self.millis.unwrap_or(0));
        let total = start.checked_add(millis)?.rem_euclid(86_400_000);
        Some(Time {
            hour: u8::try_from(total / 3_600_000).ok()?,
            minute: self.minute.and(u8::try_from(total / 60_000 % 60).ok()),
            second: self.second.and(u8::try_from(total / 1000 % 60).ok()),
            millis: self.millis.and(u16::try_from(total % 1000).ok()),
        })
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.hour)?;
        if let Some(m) = self.minute {
            write!(f, ":{m:02}")?;
        }
        if let Some(s) = self.second {
            write!(f, ":{s:02}")?;
        }
        if let Some(ms) = self.millis {
            write!(f, ".{ms:03}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{CalendarUnit, DateTime, Time};
    use std::cmp::Ordering;

    fn dt(text: &str) -> DateTime {
        DateTime::parse_date_time(text).unwrap_or(DateTime::parse_date("0001").unwrap_or_else(|| unreachable!()))
    }

    #[test]
    fn precision_offsets_and_arithmetic() {
        assert_eq!(
            dt("2015-02-04T14:34:28.123+01:00").to_string(),
            "2015-02-04T14:34:28.123+01:00"
        );
        assert_eq!(
            dt("2012-04-15T15:00:00Z").compare(&dt("2012-04-15T10:00:00-05:00")),
            Some(Ordering::Equal)
        );
        assert_eq!(dt("2012-04-15").compare(&dt("2012-04-15T10:00")), None);
        assert_eq!(dt("2012-04").compare(&dt("2012-05-15")), Some(Ordering::Less));
        assert_eq!(
            dt("2016-02-29")
                .checked_add(1, CalendarUnit::Year)
                .map(|d| d.to_string()),
            Some("2017-02-28".into())
        );
        assert_eq!(
            dt("2019-12-31")
                .checked_add(1, CalendarUnit::Day)
                .map(|d| d.to_string()),
            Some("2020-01-01".into())
        );
        assert_eq!(
            dt("2019-01-31")
                .checked_add(1, CalendarUnit::Month)
                .map(|d| d.to_string()),
            Some("2019-02-28".into())
        );
        assert!(DateTime::parse_date_time("2015-02-30").is_none());
        assert_eq!(
            Time::parse("23:59")
                .and_then(|t| t.checked_add(2, CalendarUnit::Minute))
                .map(|t| t.to_string()),
            Some("00:01".into())
        );
    }
}
