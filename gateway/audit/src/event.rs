//! One audit event, in NEN 7513 terms, rendered as a FHIR AuditEvent in the
//! shape of IHE Basic Audit Log Patterns (BALP).

use zorgpoort_model::Object;
use zorgpoort_model::datatypes::{LocalZone, PartialDateTime, coding, concept};
use zorgpoort_model::systems::BSN;

/// What was done (AuditEvent.action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Data received and stored.
    Create,
    /// Data read or disclosed.
    Read,
    /// Data sent on (executed a transfer).
    Execute,
    /// Data removed (retention purge).
    Delete,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Self::Create => "C",
            Self::Read => "R",
            Self::Execute => "E",
            Self::Delete => "D",
        }
    }
}

/// How it ended (AuditEvent.outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused or failed, and it will not be retried (a dead letter, a deny).
    Failure,
    /// Failed for now; it will be tried again.
    Retry,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Self::Success => "0",
            Self::Retry => "4",
            Self::Failure => "8",
        }
    }
}

/// The data an event is about: never its content, only what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    /// The gateway's message id.
    pub id: String,
    /// Input format, such as `hl7v2`.
    pub format: String,
    /// SHA-256 of the data, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The categories of data it holds (`mental-health`, `medication`, ...),
    /// when known.
    pub categories: Vec<String>,
}

impl DataObject {
    /// Identifies `bytes` by hash and size, never by content.
    pub fn of(id: String, format: String, bytes: &[u8], categories: Vec<String>) -> Self {
        Self {
            id,
            format,
            sha256: crate::sha256_hex(bytes),
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            categories,
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// What kind of event: `accept`, `deliver`, `consent`, `read`, `purge`, ...
    pub kind: &'static str,
    /// What was done.
    pub action: Action,
    /// When, in milliseconds since the Unix epoch.
    pub recorded_ms: i64,
    /// How it ended, with the reason when it did not succeed.
    pub outcome: Outcome,
    /// The reason or rule, for a person (never patient data).
    pub outcome_text: Option<String>,
    /// On behalf of which organisation (registry id).
    pub organization: Option<String>,
    /// Which system or user acted (for HL7 v2: the sending application).
    pub who: Option<String>,
    /// From where (network address), when known.
    pub from: Option<String>,
    /// The patient's BSN, when the data names one.
    pub patient: Option<String>,
    /// Why (a v3 PurposeOfUse code such as `TREAT`).
    pub purpose: Option<&'static str>,
    /// The data concerned.
    pub data: Option<DataObject>,
    /// The consent rule the decision cites.
    pub consent_rule: Option<String>,
}

impl AuditEvent {
    /// An event of `kind` with only the required parts.
    pub fn new(kind: &'static str, action: Action, recorded_ms: i64, outcome: Outcome) -> Self {
        Self {
            kind,
            action,
            recorded_ms,
            outcome,
            outcome_text: None,
            organization: None,
            who: None,
            from: None,
            patient: None,
            purpose: None,
            data: None,
            consent_rule: None,
        }
    }

    /// The FHIR AuditEvent (R4, BALP shape) as compact JSON.
    pub fn to_fhir(&self) -> String {
        let (type_code, type_display) = match self.action {
            Action::Create => ("110107", "Import"),
            Action::Execute => ("110106", "Export"),
            Action::Read => ("110110", "Patient Record"),
            Action::Delete => ("110105", "DICOM Study Deleted"),
        };
        let event_type =
            coding("http://dicom.nema.org/resources/ontology/DCM", type_code).with("display", type_display);
        Object::new()
            .with("resourceType", "AuditEvent")
            .with("type", event_type)
            .with(
                "subtype",
                vec![coding("https://zorgpoort.nl/fhir/CodeSystem/audit-event", self.kind)],
            )
            .with("action", self.action.code())
            .with(
                "recorded",
                PartialDateTime::from_unix_ms(self.recorded_ms).to_fhir_datetime(LocalZone::Utc),
            )
            .with("outcome", self.outcome.code())
            .with("outcomeDesc", self.outcome_text.as_deref())
            .with(
                "purposeOfEvent",
                self.purpose
                    .map(|p| vec![concept("http://terminology.hl7.org/CodeSystem/v3-ActReason", p)]),
            )
            .with("agent", vec![self.agent()])
            .with(
                "source",
                Object::new()
                    .with("observer", Object::new().with("display", "zorgpoort"))
                    .with(
                        "type",
                        vec![coding(
                            "http://terminology.hl7.org/CodeSystem/security-source-type",
                            "4",
                        )],
                    ),
            )
            .with("entity", self.entities())
            .to_json()
    }

    /// The requesting organisation (or system) and where it came from.
    fn agent(&self) -> Object<'_> {
        Object::new()
            .with(
                "type",
                concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP"),
            )
            .with(
                "who",
                Object::new()
                    .with(
                        "identifier",
                        self.organization.as_deref().map(|o| Object::new().with("value", o)),
                    )
                    .with(
                        "display",
                        self.who
                            .as_deref()
                            .or(self.organization.as_deref())
                            .unwrap_or("unknown"),
                    ),
            )
            .with("requestor", true)
            .with(
                "network",
                self.from
                    .as_deref()
                    .map(|a| Object::new().with("address", a).with("type", "2")),
            )
    }

    /// The patient, the data (by hash and size) and the consent rule cited.
    fn entities(&self) -> Vec<Object<'_>> {
        let entity = |what: Object<'static>, kind: &'static str, role: &'static str| {
            Object::new()
                .with("what", what)
                .with(
                    "type",
                    coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", kind),
                )
                .with(
                    "role",
                    coding("http://terminology.hl7.org/CodeSystem/object-role", role),
                )
        };
        let mut entities = Vec::new();
        if let Some(bsn) = &self.patient {
            let identifier = Object::new().with("system", BSN).with("value", bsn.clone());
            entities.push(entity(Object::new().with("identifier", identifier), "1", "1"));
        }
        if let Some(data) = &self.data {
            let detail =
                |kind: &'static str, value: String| Object::new().with("type", kind).with("valueString", value);
            let what = Object::new().with("identifier", Object::new().with("value", data.id.clone()));
            let mut details = vec![
                detail("format", data.format.clone()),
                detail("sha256", data.sha256.clone()),
                detail("size", data.size.to_string()),
            ];
            if !data.categories.is_empty() {
                details.push(detail("data-categories", data.categories.join(",")));
            }
            entities.push(entity(what, "2", "4").with("detail", details));
        }
        if let Some(rule) = &self.consent_rule {
            entities.push(entity(
                Object::new().with("display", format!("consent rule {rule}")),
                "2",
                "13",
            ));
        }
        entities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_balp_audit_event_without_content() {
        let mut event = AuditEvent::new("deliver", Action::Execute, 1_764_064_800_000, Outcome::Success);
        event.organization = Some("de-linde".into());
        event.patient = Some("999911120".into());
        event.purpose = Some("TREAT");
        event.data = Some(DataObject {
            id: "m1".into(),
            format: "hl7v2".into(),
            sha256: "ab".into(),
            size: 534,
            categories: vec!["general".into(), "mental-health".into()],
        });
        let json: serde_json::Value = serde_json::from_str(&event.to_fhir()).unwrap();
        assert_eq!(json["resourceType"], "AuditEvent");
        assert_eq!(json["action"], "E");
        assert_eq!(json["outcome"], "0");
        assert_eq!(json["recorded"], "2025-11-25T10:00:00+00:00");
        assert_eq!(json["entity"][0]["what"]["identifier"]["value"], "999911120");
        assert_eq!(json["entity"][1]["detail"][2]["valueString"], "534");
        assert_eq!(json["entity"][1]["detail"][3]["type"], "data-categories");
        assert_eq!(json["entity"][1]["detail"][3]["valueString"], "general,mental-health");
        assert_eq!(json["agent"][0]["who"]["identifier"]["value"], "de-linde");
        let problems = zorgpoort_model::check::check_bundle(
            &format!(
                "{{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{{\"fullUrl\":\"urn:uuid:00000000-0000-0000-0000-000000000001\",\"resource\":{}}}]}}",
                event.to_fhir()
            ),
            "collection",
        );
        assert!(problems.is_empty(), "{problems:?}");
    }
}
