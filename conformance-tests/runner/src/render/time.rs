//! Times as the formats want them, from the report's clock readings only.

use std::time::{Duration, SystemTime};

use zorgpoort_model::datatypes::civil_from_days;

/// `YYYY-MM-DDThh:mm:ss` in UTC without a zone designator, the form of the
/// `JUnit` schema's `timestamp`; [`instant`] adds the `Z`.
pub(crate) fn utc(time: SystemTime) -> String {
    // A clock before 1970 is a broken clock; it reads as the epoch.
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, in_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 86_400));
    let (hour, minute, second) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
}

/// A FHIR `instant` (and `dateTime`) in UTC.
pub(crate) fn instant(time: SystemTime) -> String {
    format!("{}Z", utc(time))
}

/// Seconds with millisecond precision, as `JUnit`'s `time` attributes.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{}.{:03}", duration.as_secs(), duration.subsec_millis())
}

/// For a person: milliseconds under a second, else seconds.
pub(crate) fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_the_calendar_date_and_time() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_637_600);
        assert_eq!(utc(time), "2026-12-07T10:00:00");
        assert_eq!(instant(time + Duration::from_millis(61_500)), "2026-12-07T10:01:01Z");
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00");
    }

    #[test]
    fn durations_read_as_seconds_or_for_a_person() {
        assert_eq!(seconds(Duration::from_millis(1234)), "1.234");
        assert_eq!(seconds(Duration::from_micros(500)), "0.000");
        assert_eq!(human(Duration::from_millis(999)), "999 ms");
        assert_eq!(human(Duration::from_millis(12_340)), "12.34 s");
    }
}
