//! What routing and the audit log need to know about the patient of a
//! converted Bundle, read from the Bundle itself so every format gives it
//! alike: the BSN, and the AGB codes of the patient's GP.

use serde_json::Value;
use zorgpoort_model::systems;

/// The patient facts of one Bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientFacts {
    /// The patient's BSN, when the Bundle's Patient carries one.
    pub bsn: Option<String>,
    /// AGB codes of the patient's general practitioner: of the practitioner,
    /// the role or the practice that `Patient.generalPractitioner` points at.
    pub general_practitioner_agb: Vec<String>,
}

impl PatientFacts {
    /// The facts of a Bundle (or a single Patient resource).
    pub fn of(bundle: &Value) -> Self {
        let resources: Vec<(&str, &Value)> = match bundle.get("entry").and_then(Value::as_array) {
            Some(entries) => entries
                .iter()
                .filter_map(|e| {
                    Some((
                        e.get("fullUrl").and_then(Value::as_str).unwrap_or_default(),
                        e.get("resource")?,
                    ))
                })
                .collect(),
            None => vec![("", bundle)],
        };
        let Some(patient) = resources
            .iter()
            .map(|(_, r)| *r)
            .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
        else {
            return Self::default();
        };
        let bsn = identifiers(patient, systems::BSN).next().map(str::to_owned);
        let resolve = |reference: &str| {
            resources.iter().find_map(|(full_url, resource)| {
                let local = format!(
                    "{}/{}",
                    resource.get("resourceType").and_then(Value::as_str).unwrap_or_default(),
                    resource.get("id").and_then(Value::as_str).unwrap_or_default()
                );
                (*full_url == reference || local == reference).then_some(*resource)
            })
        };
        let mut general_practitioner_agb = Vec::new();
        for gp in patient
            .get("generalPractitioner")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            general_practitioner_agb.extend(identifiers(gp, systems::AGB).map(str::to_owned));
            let Some(resource) = gp.get("reference").and_then(Value::as_str).and_then(resolve) else {
                continue;
            };
            general_practitioner_agb.extend(identifiers(resource, systems::AGB).map(str::to_owned));
            // A PractitionerRole names the practitioner and the practice.
            for key in ["practitioner", "organization"] {
                if let Some(linked) = resource.get(key) {
                    general_practitioner_agb.extend(identifiers(linked, systems::AGB).map(str::to_owned));
                    if let Some(target) = linked.get("reference").and_then(Value::as_str).and_then(resolve) {
                        general_practitioner_agb.extend(identifiers(target, systems::AGB).map(str::to_owned));
                    }
                }
            }
        }
        general_practitioner_agb.dedup();
        Self {
            bsn,
            general_practitioner_agb,
        }
    }
}

/// The values of a resource's (or a Reference's) identifiers in `system`.
fn identifiers<'a>(resource: &'a Value, system: &'a str) -> impl Iterator<Item = &'a str> {
    let identifiers = match resource.get("identifier") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    identifiers
        .into_iter()
        .filter(move |i| i.get("system").and_then(Value::as_str) == Some(system))
        .filter_map(|i| i.get("value").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bsn_and_the_agb_of_the_gp_through_references() {
        let bundle = serde_json::json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient",
                "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999910851"}],
                "generalPractitioner": [{"reference": "urn:uuid:2"}]}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "PractitionerRole",
                "practitioner": {"reference": "urn:uuid:3"}, "organization": {"reference": "Organization/o"}}},
            {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Practitioner",
                "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "01000001"}]}},
            {"fullUrl": "urn:uuid:4", "resource": {"resourceType": "Organization", "id": "o",
                "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "01000002"}]}}
        ]});
        let facts = PatientFacts::of(&bundle);
        assert_eq!(facts.bsn.as_deref(), Some("999910851"));
        assert_eq!(facts.general_practitioner_agb, ["01000001", "01000002"]);
        assert_eq!(
            PatientFacts::of(&serde_json::json!({"resourceType": "Bundle"})),
            PatientFacts::default()
        );
    }
}
