//! Date formats in the `strftime` notation vendors know from spreadsheets
//! (`%d-%m-%Y`, `%Y-%m-%dT%H:%M`), compiled once per mapping.

use zorgpoort_model::datatypes::{LocalZone, PartialDateTime, days_in_month};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(char),
}

/// One compiled date format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateFormat {
    text: String,
    parts: Vec<Part>,
}

impl DateFormat {
    /// Compiles `%Y %m %d %H %M %S %%` and literal characters; `None` with the
    /// reason when the pattern has an unknown directive or no year.
    pub(crate) fn compile(pattern: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                parts.push(Part::Literal(c));
                continue;
            }
            let part = match chars.next() {
                Some('Y') => Part::Year,
                Some('m') => Part::Month,
                Some('d') => Part::Day,
                Some('H') => Part::Hour,
                Some('M') => Part::Minute,
                Some('S') => Part::Second,
                Some('%') => Part::Literal('%'),
                Some(other) => return Err(format!("unknown directive %{other} (known: %Y %m %d %H %M %S %%)")),
                None => return Err("pattern ends in a lone %".to_owned()),
            };
            parts.push(part);
        }
        if !parts.contains(&Part::Year) {
            return Err("a date format needs %Y".to_owned());
        }
        if parts.contains(&Part::Day) && !parts.contains(&Part::Month) {
            return Err("a day (%d) needs a month (%m)".to_owned());
        }
        Ok(Self {
            text: pattern.to_owned(),
            parts,
        })
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Reads `text` when it has exactly this format and names a real day.
    pub(crate) fn read(&self, text: &str) -> Option<PartialDateTime> {
        let b = text.as_bytes();
        let mut at = 0;
        let (mut year, mut month, mut day) = (None, None, None);
        let (mut hour, mut minute, mut second) = (None, None, None);
        for part in &self.parts {
            match part {
                Part::Literal(c) => {
                    let mut buf = [0; 4];
                    let lit = c.encode_utf8(&mut buf).as_bytes();
                    if b.get(at..at + lit.len())? != lit {
                        return None;
                    }
                    at += lit.len();
                }
                Part::Year => {
                    year = Some(digits(b, &mut at, 4, 4)?);
                }
                Part::Month => month = Some(digits(b, &mut at, 1, 2)?),
                Part::Day => day = Some(digits(b, &mut at, 1, 2)?),
                Part::Hour => hour = Some(digits(b, &mut at, 1, 2)?),
                Part::Minute => minute = Some(digits(b, &mut at, 2, 2)?),
                Part::Second => second = Some(digits(b, &mut at, 2, 2)?),
            }
        }
        if at != b.len() {
            return None;
        }
        let year = i32::try_from(year?).ok().filter(|y| *y > 0)?;
        if month.is_some_and(|m| !(1..=12).contains(&m)) {
            return None;
        }
        if let (Some(m), Some(d)) = (month, day) {
            if d == 0 || d > days_in_month(year, m) {
                return None;
            }
        }
        let time = match (hour, minute, second) {
            (None, None, None) => None,
            (Some(h), m, s) if h < 24 && m.unwrap_or(0) < 60 && s.unwrap_or(0) < 60 && day.is_some() => {
                Some((h, m.unwrap_or(0), s.unwrap_or(0)))
            }
            _ => return None,
        };
        Some(PartialDateTime {
            year,
            month,
            day,
            time,
            fraction: None,
            offset_minutes: None,
        })
    }
}

fn digits(b: &[u8], at: &mut usize, min: usize, max: usize) -> Option<u32> {
    let n = b[*at..].iter().take(max).take_while(|d| d.is_ascii_digit()).count();
    if n < min {
        return None;
    }
    let value = b[*at..*at + n]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    *at += n;
    Some(value)
}

/// Reads `text` with the first format that fits: FHIR `date` text, or
/// `dateTime` in `zone` when the format has a time.
#[cfg(test)]
fn read(formats: &[DateFormat], text: &str, zone: LocalZone) -> Option<String> {
    parse(formats, text).map(|d| fhir_text(&d, zone))
}

/// Reads `text` with the first format that fits.
pub(crate) fn parse(formats: &[DateFormat], text: &str) -> Option<PartialDateTime> {
    formats.iter().find_map(|f| f.read(text))
}

/// FHIR `date` text, or `dateTime` in `zone` when the value has a time.
pub(crate) fn fhir_text(date: &PartialDateTime, zone: LocalZone) -> String {
    if date.time.is_some() {
        date.to_fhir_datetime(zone)
    } else {
        date.to_fhir_date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dutch_and_iso_dates() {
        let nl = DateFormat::compile("%d-%m-%Y").unwrap();
        let iso = DateFormat::compile("%Y-%m-%d").unwrap();
        let both = [nl.clone(), iso.clone()];
        assert_eq!(read(&both, "01-02-1980", LocalZone::Utc).as_deref(), Some("1980-02-01"));
        assert_eq!(read(&both, "1-2-1980", LocalZone::Utc).as_deref(), Some("1980-02-01"));
        assert_eq!(read(&both, "1980-02-01", LocalZone::Utc).as_deref(), Some("1980-02-01"));
        assert_eq!(read(&both, "1980-02-30", LocalZone::Utc), None);
        assert_eq!(read(&both, "30-02-1980", LocalZone::Utc), None);
        assert_eq!(read(&both, "1980-02-01x", LocalZone::Utc), None);
        assert_eq!(read(&both, "", LocalZone::Utc), None);
    }

    #[test]
    fn times_get_the_local_zone() {
        let f = DateFormat::compile("%d-%m-%Y %H:%M").unwrap();
        assert_eq!(
            read(&[f], "15-07-2026 10:30", LocalZone::EuropeAmsterdam).as_deref(),
            Some("2026-07-15T10:30:00+02:00")
        );
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(DateFormat::compile("%d-%m").unwrap_err().contains("%Y"));
        assert!(DateFormat::compile("%Y-%q").unwrap_err().contains("%q"));
        assert!(DateFormat::compile("%Y%").is_err());
        assert_eq!(DateFormat::compile("%Y-%m").unwrap().as_str(), "%Y-%m");
    }
}
