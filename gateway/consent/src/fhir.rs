//! A patient's choice as a FHIR R4 Consent, read into a [`Choice`].
//!
//! The shape (Mitz-like, on R4 `Consent`):
//! - `status` `active` (others are kept but do not decide);
//! - `patient.identifier` the BSN (11-checked);
//! - `provision.type` `permit` or `deny`, `provision.period` optional;
//! - `provision.class` codings in [`DATA_CATEGORY_SYSTEM`]: the data categories
//!   (none: all);
//! - `provision.actor`: a role coding in [`REQUESTER_CATEGORY_SYSTEM`] names a
//!   category of organisation; an identifier in [`ORGANIZATION_SYSTEM`] one
//!   organisation of the region (none: all).

use serde_json::Value;
use zorgpoort_model::datatypes::{days_from_civil, is_date};
use zorgpoort_model::systems::{BSN, is_valid_bsn};

use crate::{Choice, Provision};

/// Data categories in `provision.class`.
pub const DATA_CATEGORY_SYSTEM: &str = "https://zorgpoort.nl/fhir/CodeSystem/data-category";
/// Categories of requesting organisation in `provision.actor.role`.
pub const REQUESTER_CATEGORY_SYSTEM: &str = "https://zorgpoort.nl/fhir/CodeSystem/organization-category";
/// Organisations of the region in `provision.actor.reference.identifier`.
pub const ORGANIZATION_SYSTEM: &str = "https://zorgpoort.nl/fhir/NamingSystem/organization";
/// The data categories a Consent may name.
pub const DATA_CATEGORIES: &[&str] = &[
    "all",
    "general",
    "medication",
    "lab",
    "imaging",
    "mental-health",
    "documents",
];

/// A Consent that cannot be used, with the element at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// FHIRPath of the element.
    pub expression: &'static str,
    /// Why.
    pub reason: String,
}

fn invalid(expression: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid {
        expression,
        reason: reason.into(),
    }
}

/// FHIR dateTime to ms since the epoch (date, or date and time with zone).
fn parse_instant(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    if !is_date(date) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let year = i32::try_from(number(0..4)?).ok()?;
    let mut ms = days_from_civil(year, number(5..7)?, number(8..10)?) * 86_400_000;
    if text.len() > 10 {
        let seconds = number(11..13)? * 3600 + number(14..16)? * 60 + number(17..19)?;
        ms += i64::from(seconds) * 1000;
        let zone = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if let Some(offset) = zone.strip_prefix(['+', '-']) {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = offset.split_once(':')?;
            // FHIR allows offsets up to 14:00; a larger one is not a time
            // zone (and would overflow the sum).
            let hours = hours.parse::<i64>().ok().filter(|h| (0..=14).contains(h))?;
            let minutes = minutes.parse::<i64>().ok().filter(|m| (0..60).contains(m))?;
            ms -= sign * (hours * 60 + minutes) * 60_000;
        }
    }
    Some(ms)
}

/// Reads a Consent: the patient's BSN and the choice; `None` for a Consent
/// that is not active (it is stored, but does not decide).
pub fn read_consent(consent: &Value) -> Result<(String, Option<Choice>), Invalid> {
    if consent["resourceType"] != "Consent" {
        return Err(invalid("Consent", "resourceType must be Consent"));
    }
    let id = consent["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid("Consent.id", "id is required"))?;
    let identifier = &consent["patient"]["identifier"];
    if identifier["system"] != BSN {
        return Err(invalid("Consent.patient.identifier.system", format!("must be {BSN}")));
    }
    let bsn = identifier["value"]
        .as_str()
        .filter(|b| is_valid_bsn(b))
        .ok_or_else(|| invalid("Consent.patient.identifier.value", "not a BSN (11-check)"))?;
    let status = consent["status"]
        .as_str()
        .ok_or_else(|| invalid("Consent.status", "status is required"))?;
    if !matches!(
        status,
        "draft" | "proposed" | "active" | "rejected" | "inactive" | "entered-in-error"
    ) {
        return Err(invalid("Consent.status", format!("unknown status {status:?}")));
    }
    let provision = &consent["provision"];
    let kind = match provision["type"].as_str() {
        Some("permit") => Provision::Permit,
        Some("deny") => Provision::Deny,
        _ => return Err(invalid("Consent.provision.type", "must be permit or deny")),
    };
    let mut data_categories = Vec::new();
    for class in provision["class"].as_array().into_iter().flatten() {
        let code = class["code"].as_str().unwrap_or_default();
        if class["system"] != DATA_CATEGORY_SYSTEM || !DATA_CATEGORIES.contains(&code) {
            return Err(invalid(
                "Consent.provision.class",
                format!("use {DATA_CATEGORY_SYSTEM} with one of {}", DATA_CATEGORIES.join(", ")),
            ));
        }
        data_categories.push(code.to_owned());
    }
    let (mut requester_categories, mut organizations) = (Vec::new(), Vec::new());
    for actor in provision["actor"].as_array().into_iter().flatten() {
        for coding in actor["role"]["coding"].as_array().into_iter().flatten() {
            if coding["system"] == REQUESTER_CATEGORY_SYSTEM {
                requester_categories.extend(coding["code"].as_str().map(str::to_owned));
            }
        }
        let identifier = &actor["reference"]["identifier"];
        if identifier["system"] == ORGANIZATION_SYSTEM {
            organizations.extend(identifier["value"].as_str().map(str::to_owned));
        }
    }
    let period = &provision["period"];
    let bound = |key: &str, expression: &'static str| match period[key].as_str() {
        None => Ok(None),
        Some(text) => parse_instant(text)
            .map(Some)
            .ok_or_else(|| invalid(expression, format!("invalid dateTime {text:?}"))),
    };
    let from_ms = bound("start", "Consent.provision.period.start")?;
    let until_ms = bound("end", "Consent.provision.period.end")?;
    if status != "active" {
        return Ok((bsn.to_owned(), None));
    }
    let choice = Choice {
        id: id.to_owned(),
        provision: kind,
        data_categories,
        requester_categories,
        organizations,
        from_ms,
        until_ms,
    };
    Ok((bsn.to_owned(), Some(choice)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> Value {
        serde_json::json!({
            "resourceType": "Consent", "id": "c1", "status": "active",
            "patient": {"identifier": {"system": BSN, "value": "999911120"}},
            "provision": {
                "type": "deny",
                "period": {"start": "2026-01-01", "end": "2027-01-01T00:00:00+01:00"},
                "class": [{"system": DATA_CATEGORY_SYSTEM, "code": "mental-health"}],
                "actor": [{"role": {"coding": [{"system": REQUESTER_CATEGORY_SYSTEM, "code": "vvt"}]}}]
            }
        })
    }

    #[test]
    fn reads_a_choice() {
        let (bsn, choice) = read_consent(&consent()).unwrap();
        assert_eq!(bsn, "999911120");
        let choice = choice.unwrap();
        assert_eq!(choice.provision, Provision::Deny);
        assert_eq!(choice.data_categories, ["mental-health"]);
        assert_eq!(choice.requester_categories, ["vvt"]);
        assert_eq!(choice.from_ms, Some(1_767_225_600_000));
        assert_eq!(choice.until_ms, Some(1_798_758_000_000));
    }

    #[test]
    fn an_offset_that_is_no_time_zone_is_invalid() {
        // Overflowed the millisecond sum (a panic in a debug build).
        assert_eq!(parse_instant("2026-01-01T00:00:00+99999999999999999:00"), None);
        assert_eq!(parse_instant("2026-01-01T00:00:00+01:60"), None);
        assert_eq!(
            parse_instant("2026-01-01T00:00:00-14:00"),
            Some(1_767_225_600_000 + 14 * 3_600_000)
        );
    }

    #[test]
    fn names_the_element_at_fault() {
        let mut bad = consent();
        bad["patient"]["identifier"]["value"] = "123456789".into();
        assert_eq!(
            read_consent(&bad).unwrap_err().expression,
            "Consent.patient.identifier.value"
        );
        let mut bad = consent();
        bad["provision"]["class"][0]["code"] = "secrets".into();
        assert_eq!(read_consent(&bad).unwrap_err().expression, "Consent.provision.class");
        let mut bad = consent();
        bad["provision"]["type"] = "maybe".into();
        assert_eq!(read_consent(&bad).unwrap_err().expression, "Consent.provision.type");
        let mut inactive = consent();
        inactive["status"] = "inactive".into();
        assert_eq!(read_consent(&inactive).unwrap().1, None);
    }
}
