//! FHIR data types: the lexical rules of decimal, date and dateTime,
//! building dateTimes from parts with the Dutch time zone as default, and
//! codings.

use std::cell::RefCell;
use std::fmt::Write as _;

use crate::json::{Json, Object, Value};
use crate::writer::ObjectWriter;

/// A `Coding` of `system|code`.
pub fn coding<'a>(system: impl Into<Value<'a>>, code: impl Into<Value<'a>>) -> Object<'a> {
    Object::new().with("system", system.into()).with("code", code.into())
}

/// A `CodeableConcept` with one coding of `system|code`.
pub fn concept<'a>(system: impl Into<Value<'a>>, code: impl Into<Value<'a>>) -> Object<'a> {
    Object::new().with("coding", vec![Value::Obj(coding(system, code))])
}

/// A resource's `meta` claiming one profile: `{"profile":[url]}`.
pub fn meta(profile: &'static str) -> Object<'static> {
    Object::new().with("profile", vec![Value::from(profile)])
}

/// A resource that starts with its `meta` claiming one profile (see
/// [`profile_meta`]).
pub fn profiled(profile: &'static str) -> Object<'static> {
    Object::new().with("meta", profile_meta(profile))
}

/// The `meta` claiming one profile, written once per thread and profile and
/// then shared: every resource of a Bundle repeats it. `None` for an empty
/// profile.
pub fn profile_meta(profile: &'static str) -> Option<Json> {
    thread_local! {
        static METAS: RefCell<Vec<(&'static str, Option<Json>)>> = const { RefCell::new(Vec::new()) };
    }
    // Static text at the same address is the same text: the lookup compares
    // addresses, not bytes (a profile named at a second address is written
    // once more, no harm).
    METAS.with_borrow_mut(|metas| {
        if let Some((_, json)) = metas.iter().find(|(p, _)| std::ptr::eq(*p, profile)) {
            return json.clone();
        }
        let json = Json::of(meta(profile));
        metas.push((profile, json.clone()));
        json
    })
}

/// `Patient._birthDate` carrying the time of birth (a FHIR `dateTime`).
pub fn birth_time<'a>(time: impl Into<Value<'a>>) -> Object<'a> {
    let extension = Object::new()
        .with("url", crate::systems::ext::BIRTH_TIME)
        .with("valueDateTime", time.into());
    Object::new().with("extension", vec![extension])
}

/// Writes `"extension":[{"url":...,"valueString":...},...]` for the parts
/// there are, in order: the string extensions that split a name or an
/// address line into its parts.
pub fn write_string_extensions<S: AsRef<str>>(
    w: &mut ObjectWriter<'_>,
    parts: impl IntoIterator<Item = (&'static str, Option<S>)>,
) {
    w.array("extension", |extensions| {
        for (url, value) in parts {
            if let Some(value) = value {
                extensions.object(|e| {
                    e.field("url", url).field("valueString", value.as_ref());
                });
            }
        }
    });
}

/// A FHIR `decimal`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, which we
/// accept here without exponent and with an optional leading `+` or leading
/// zeros (both common in HL7 v2), to be canonicalised by [`canonical_decimal`].
pub fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int_ok = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    // ".5" is common in v2 and unambiguous.
    let leading_dot = int.is_empty() && frac.is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    (int_ok || leading_dot) && frac_ok
}

/// Whether an [`is_decimal`] text is in JSON's number grammar already, so
/// [`canonical_decimal`] would give it back unchanged.
pub fn is_canonical_decimal(text: &str) -> bool {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => return false,
        _ => (false, text),
    };
    let int = digits.split_once('.').map_or(digits, |(i, _)| i);
    let int_ok = int == "0" || (!int.is_empty() && !int.starts_with('0'));
    // "-0" and "-0.00" lose their sign.
    int_ok && !(negative && digits.bytes().all(|b| b == b'0' || b == b'.'))
}

/// Rewrites an [`is_decimal`] text into JSON's number grammar, keeping its
/// precision (significant trailing zeros stay).
pub fn canonical_decimal(text: &str) -> String {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let int = int.trim_start_matches('0');
    let mut out = String::with_capacity(text.len() + 1);
    let is_zero = int.is_empty() && frac.is_none_or(|f| f.bytes().all(|b| b == b'0'));
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// FHIR `date`: YYYY, YYYY-MM or YYYY-MM-DD, and a day that exists.
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let year_ok = b.len() >= 4 && b[..4].iter().all(u8::is_ascii_digit) && &b[..4] != b"0000";
    if !year_ok {
        return false;
    }
    match b.len() {
        4 => true,
        7 => b[4] == b'-' && two_digits(&b[5..7]).is_some_and(|m| (1..=12).contains(&m)),
        10 => {
            let year = four_digits(&b[..4]);
            let month = two_digits(&b[5..7]);
            let day = two_digits(&b[8..10]);
            b[4] == b'-'
                && b[7] == b'-'
                && matches!((year, month, day), (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        }
        _ => false,
    }
}

/// FHIR `dateTime`: a [`is_date`], or a full date with a time and a zone.
pub fn is_datetime(text: &str) -> bool {
    let Some((date, time)) = text.split_once('T') else {
        return is_date(text);
    };
    if date.len() != 10 || !is_date(date) {
        return false;
    }
    let t = time.as_bytes();
    if t.len() < 9 || t[2] != b':' || t[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (two_digits(&t[0..2]), two_digits(&t[3..5]), two_digits(&t[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &time[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    is_zone(rest)
}

fn is_zone(zone: &str) -> bool {
    if zone == "Z" {
        return true;
    }
    let z = zone.as_bytes();
    if z.len() != 6 || !matches!(z[0], b'+' | b'-') || z[3] != b':' {
        return false;
    }
    match (two_digits(&z[1..3]), two_digits(&z[4..6])) {
        (Some(h), Some(m)) => (h <= 13 && m <= 59) || (h == 14 && m == 0),
        _ => false,
    }
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    }
}

fn four_digits(b: &[u8]) -> Option<i32> {
    b.iter().try_fold(0i32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + i32::from(d - b'0'))
    })
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The start (00:00 UTC) of a full `YYYY-MM-DD` date, in milliseconds since
/// the Unix epoch; `None` for anything else.
pub fn day_start_ms(text: &str) -> Option<i64> {
    if text.len() != 10 || !is_date(text) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let year = i32::try_from(number(0..4)?).ok()?;
    Some(days_from_civil(year, number(5..7)?, number(8..10)?) * 86_400_000)
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = i32::try_from(yoe + era * 400 + i64::from(month <= 2)).unwrap_or(1970);
    (year, month, day)
}

/// Day of month of the last Sunday of `month`.
fn last_sunday(year: i32, month: u32) -> u32 {
    let last = days_in_month(year, month);
    // 1970-01-01 was a Thursday: weekday 0 = Sunday gives (days + 4) % 7.
    let weekday = (days_from_civil(year, month, last) + 4).rem_euclid(7);
    last - u32::try_from(weekday).unwrap_or(0)
}

/// Where a timestamp without a zone is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalZone {
    /// Europe/Amsterdam: CET (+01:00) in winter, CEST (+02:00) from the last
    /// Sunday of March 02:00 to the last Sunday of October 03:00 local time.
    #[default]
    EuropeAmsterdam,
    /// UTC.
    Utc,
}

impl LocalZone {
    /// The UTC offset in minutes at a local wall-clock time. In the repeated
    /// hour of October the summer offset (first occurrence) is chosen.
    pub fn offset_minutes(self, year: i32, month: u32, day: u32, hour: u32) -> i32 {
        match self {
            LocalZone::Utc => 0,
            LocalZone::EuropeAmsterdam => {
                let summer = match month {
                    4..=9 => true,
                    3 => {
                        let start = last_sunday(year, 3);
                        day > start || (day == start && hour >= 2)
                    }
                    10 => {
                        let end = last_sunday(year, 10);
                        day < end || (day == end && hour < 3)
                    }
                    _ => false,
                };
                if summer { 120 } else { 60 }
            }
        }
    }
}

/// A date and time of any precision, as HL7 v2 and EDIFACT carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDateTime {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: Option<u32>,
    /// Day 1–31.
    pub day: Option<u32>,
    /// Hour, minute, second (minute and second default to 0).
    pub time: Option<(u32, u32, u32)>,
    /// Fraction of a second as its digits, up to 9 in nanoseconds with their count.
    pub fraction: Option<(u32, u8)>,
    /// UTC offset in minutes, when the source gave one.
    pub offset_minutes: Option<i32>,
}

impl PartialDateTime {
    /// FHIR `date` text (the time part dropped).
    pub fn to_fhir_date(&self) -> String {
        let mut out = String::with_capacity(32);
        self.write_date(&mut out);
        out
    }

    fn write_date(&self, out: &mut String) {
        match u32::try_from(self.year) {
            Ok(year) if year <= 9999 => {
                push_two(out, year / 100);
                push_two(out, year % 100);
            }
            _ => {
                let _ = write!(out, "{:04}", self.year);
            }
        }
        if let Some(m) = self.month {
            out.push('-');
            push_two(out, m);
            if let Some(d) = self.day {
                out.push('-');
                push_two(out, d);
            }
        }
    }

    /// FHIR `dateTime` text. FHIR requires a zone once there is a time, so a
    /// time without one is placed in `zone`. A time on a date without a day is
    /// dropped, as FHIR cannot express it.
    pub fn to_fhir_datetime(&self, zone: LocalZone) -> String {
        let mut out = String::with_capacity(32);
        self.write_date(&mut out);
        let (Some(month), Some(day), Some((h, m, s))) = (self.month, self.day, self.time) else {
            return out;
        };
        out.push('T');
        push_two(&mut out, h);
        out.push(':');
        push_two(&mut out, m);
        out.push(':');
        push_two(&mut out, s);
        if let Some((frac, digits)) = self.fraction {
            let _ = write!(out, ".{frac:0width$}", width = usize::from(digits));
        }
        let offset = self
            .offset_minutes
            .unwrap_or_else(|| zone.offset_minutes(self.year, month, day, h));
        if offset == 0 && self.offset_minutes.is_none() {
            out.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            out.push(sign);
            push_two(&mut out, abs / 60);
            out.push(':');
            push_two(&mut out, abs % 60);
        }
        out
    }
}

/// `n` with at least two digits, like `{n:02}` (this runs for every date
/// written, where `write!` costs more than the rest of the date).
fn push_two(out: &mut String, n: u32) {
    if n < 100 {
        out.push(char::from(b'0' + u8::try_from(n / 10).unwrap_or(0)));
        out.push(char::from(b'0' + u8::try_from(n % 10).unwrap_or(0)));
    } else {
        let _ = write!(out, "{n}");
    }
}

impl PartialDateTime {
    /// The UTC date and time of a Unix timestamp in milliseconds.
    pub fn from_unix_ms(ms: i64) -> Self {
        let seconds = ms.div_euclid(1000);
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let in_day = u32::try_from(seconds.rem_euclid(86_400)).unwrap_or(0);
        Self {
            year,
            month: Some(month),
            day: Some(day),
            time: Some((in_day / 3600, in_day / 60 % 60, in_day % 60)),
            fraction: None,
            offset_minutes: Some(0),
        }
    }

    /// FHIR `instant` text: missing parts count from the start of the
    /// period given (a day becomes its midnight, in `zone`).
    pub fn to_fhir_instant(&self, zone: LocalZone) -> String {
        let full = PartialDateTime {
            month: Some(self.month.unwrap_or(1)),
            day: Some(self.day.unwrap_or(1)),
            time: Some(self.time.unwrap_or((0, 0, 0))),
            ..*self
        };
        full.to_fhir_datetime(zone)
    }
}

impl PartialDateTime {
    /// Whether all of the time `self` covers, as FHIR text written with
    /// [`Self::to_fhir_datetime`] in `zone` says it, lies after all of the
    /// time `other` covers: a Period from `self` to `other` would break
    /// FHIR's per-1 (start not after end). Read as the validator reads
    /// per-1 ([`Span`](crate::span::Span)), so only a certain
    /// contradiction counts.
    #[must_use]
    pub fn certainly_after(&self, other: &Self, zone: LocalZone) -> bool {
        let span = |value: &Self| crate::span::Span::parse(&value.to_fhir_datetime(zone));
        match (span(self), span(other)) {
            (Some(this), Some(other)) => this.certainly_after(other),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(year: i32, month: Option<u32>, day: Option<u32>, time: Option<(u32, u32, u32)>) -> PartialDateTime {
        PartialDateTime {
            year,
            month,
            day,
            time,
            fraction: None,
            offset_minutes: None,
        }
    }

    #[test]
    fn certainly_after_compares_the_time_each_value_covers() {
        let zone = LocalZone::EuropeAmsterdam;
        let day = |y, m, d| parts(y, Some(m), Some(d), None);
        // The ECD and CDA findings: a start millennia after its end.
        assert!(day(4044, 2, 1).certainly_after(&day(2022, 3, 1), zone));
        assert!(day(5531, 12, 29).certainly_after(&day(2026, 10, 29), zone));
        assert!(day(2021, 5, 2).certainly_after(&day(2021, 5, 1), zone));
        assert!(!day(2021, 5, 1).certainly_after(&day(2021, 5, 1), zone));
        assert!(!day(2021, 5, 1).certainly_after(&day(2021, 5, 2), zone));
        // A year covers its days; December rolls over into the next year.
        assert!(!parts(2021, None, None, None).certainly_after(&day(2021, 5, 1), zone));
        assert!(!day(2021, 12, 31).certainly_after(&parts(2021, Some(12), None, None), zone));
        assert!(day(2022, 1, 1).certainly_after(&parts(2021, Some(12), None, None), zone));
        // Times are instants in their zone; equal instants are no contradiction.
        let at = |h, offset| PartialDateTime {
            offset_minutes: offset,
            ..parts(2021, Some(5), Some(1), Some((h, 0, 0)))
        };
        assert!(at(11, Some(0)).certainly_after(&at(12, Some(120)), zone));
        assert!(!at(10, Some(0)).certainly_after(&at(12, Some(120)), zone));
        assert!(!at(12, None).certainly_after(&at(12, Some(120)), zone));
        // A date against a time: only certain beyond the widest offsets.
        assert!(!day(2021, 5, 2).certainly_after(&at(23, Some(0)), zone));
        assert!(day(2021, 5, 3).certainly_after(&at(12, Some(0)), zone));
        assert!(!at(1, Some(0)).certainly_after(&day(2021, 4, 30), zone));
        assert!(at(13, Some(0)).certainly_after(&day(2021, 4, 30), zone));
    }

    #[test]
    fn profiled_resources_share_one_meta_per_profile() {
        let a = profiled("http://example.org/StructureDefinition/a");
        let again = profiled("http://example.org/StructureDefinition/a");
        assert_eq!(
            a.to_json(),
            r#"{"meta":{"profile":["http://example.org/StructureDefinition/a"]}}"#
        );
        assert_eq!(again, a);
        let b = profiled("http://example.org/StructureDefinition/b");
        assert_eq!(
            b.to_json(),
            r#"{"meta":{"profile":["http://example.org/StructureDefinition/b"]}}"#
        );
        assert!(profiled("").is_empty());
    }

    #[test]
    fn full_dates_give_the_start_of_their_day() {
        assert_eq!(day_start_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(day_start_ms("2025-11-25"), Some(1_764_028_800_000));
        for wrong in ["2025-02-30", "2025-11", "25-11-2025", "2025-11-25T10:00:00Z", ""] {
            assert_eq!(day_start_ms(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn unix_timestamps_become_utc_dates() {
        let t = PartialDateTime::from_unix_ms(1_764_064_800_123);
        assert_eq!(t.to_fhir_datetime(LocalZone::Utc), "2025-11-25T10:00:00+00:00");
        assert_eq!(PartialDateTime::from_unix_ms(0).to_fhir_date(), "1970-01-01");
        assert_eq!(
            PartialDateTime::from_unix_ms(951_782_400_000).to_fhir_date(),
            "2000-02-29"
        );
    }

    #[test]
    fn instants_are_padded() {
        let day = PartialDateTime {
            year: 2026,
            month: Some(7),
            day: Some(1),
            time: None,
            fraction: None,
            offset_minutes: None,
        };
        assert_eq!(
            day.to_fhir_instant(LocalZone::EuropeAmsterdam),
            "2026-07-01T00:00:00+02:00"
        );
    }

    #[test]
    fn dates_follow_the_fhir_regex_and_calendar() {
        for ok in ["2024", "2024-02", "2024-02-29", "1900-12-31"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "",
            "24",
            "2023-02-29",
            "2024-13",
            "2024-00",
            "0000",
            "2024-1-1",
            "19800230",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn datetimes_need_a_zone_with_a_time() {
        assert!(is_datetime("2024-03-01T10:00:00+01:00"));
        assert!(is_datetime("2024-03-01T10:00:00.123Z"));
        assert!(is_datetime("2024-03"));
        assert!(!is_datetime("2024-03-01T10:00:00"));
        assert!(!is_datetime("2024-03-01T24:00:00Z"));
        assert!(!is_datetime("2024-03-01T10:00:00+15:00"));
    }

    #[test]
    fn amsterdam_switches_on_the_last_sundays() {
        let z = LocalZone::EuropeAmsterdam;
        // 2026: last Sunday of March is the 29th, of October the 25th.
        assert_eq!(z.offset_minutes(2026, 3, 29, 1), 60);
        assert_eq!(z.offset_minutes(2026, 3, 29, 3), 120);
        assert_eq!(z.offset_minutes(2026, 7, 15, 10), 120);
        assert_eq!(z.offset_minutes(2026, 10, 25, 2), 120);
        assert_eq!(z.offset_minutes(2026, 10, 25, 3), 60);
        assert_eq!(z.offset_minutes(2026, 12, 1, 12), 60);
    }

    #[test]
    fn datetime_text_gets_a_zone() {
        let t = PartialDateTime {
            year: 2026,
            month: Some(7),
            day: Some(15),
            time: Some((10, 30, 0)),
            fraction: None,
            offset_minutes: None,
        };
        assert_eq!(
            t.to_fhir_datetime(LocalZone::EuropeAmsterdam),
            "2026-07-15T10:30:00+02:00"
        );
        assert_eq!(t.to_fhir_datetime(LocalZone::Utc), "2026-07-15T10:30:00Z");
        let with_offset = PartialDateTime {
            offset_minutes: Some(-330),
            ..t
        };
        assert_eq!(
            with_offset.to_fhir_datetime(LocalZone::Utc),
            "2026-07-15T10:30:00-05:30"
        );
    }

    #[test]
    fn decimals_become_json_numbers() {
        assert_eq!(canonical_decimal("+01.20"), "1.20");
        assert_eq!(canonical_decimal("-0"), "0");
        assert_eq!(canonical_decimal(".5"), "0.5");
        assert!(is_decimal(".5"));
        assert!(!is_decimal("1."));
        assert!(!is_decimal("-"));
    }

    proptest::proptest! {
        #[test]
        fn canonical_decimals_are_told_without_rewriting(text in "[+-]?[0-9]{0,3}(\\.[0-9]{0,3})?") {
            if is_decimal(&text) {
                proptest::prop_assert_eq!(is_canonical_decimal(&text), canonical_decimal(&text) == text, "{}", text);
            }
        }
    }
}
