//! The profile invariants zorgpoort checks, written by hand and named after
//! their keys. Invariants without an implementation here are not checked;
//! `docs/validation.md` lists them.

use serde_json::Value;

use crate::issue::{Issue, IssueType, Severity};

const OWN_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix";
const OWN_NAME: &str = "http://hl7.org/fhir/StructureDefinition/humanname-own-name";
const PARTNER_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix";
const PARTNER_NAME: &str = "http://hl7.org/fhir/StructureDefinition/humanname-partner-name";
const ADDITIONAL_ADVANCE_DIRECTIVE: &str =
    "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.AdvanceDirective";
const SPECIFICATION_OTHER: &str =
    "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.SpecificitionOther";
const NAME_QUALIFIER: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier";

/// Checks invariant `key` on the element at `path`; `None` when it holds or
/// is not implemented.
pub fn check(key: &str, value: Option<&Value>, companion: Option<&Value>, path: &str) -> Option<Issue> {
    let (holds, severity, human) = match key {
        "zib-NameInformation-1" => (
            !has_extension(family(value), OWN_PREFIX) || has_extension(family(value), OWN_NAME),
            Severity::Error,
            "a prefix for the own family name needs the own family name as well",
        ),
        "zib-NameInformation-2" => (
            !has_extension(family(value), PARTNER_PREFIX) || has_extension(family(value), PARTNER_NAME),
            Severity::Error,
            "a prefix for the partner's family name needs the partner's family name as well",
        ),
        "nl-core-NameInformation-01" => {
            let structured = value.and_then(|name| name.get("family")).is_some() || has_non_initial_given(value);
            (
                !structured || value.and_then(|name| name.get("text")).is_some(),
                Severity::Warning,
                "a structured name should also be given as text",
            )
        }
        "nl-core-NameInformation-02" => {
            let parts = [OWN_PREFIX, OWN_NAME, PARTNER_PREFIX, PARTNER_NAME];
            (
                !parts.iter().any(|url| has_extension(companion, url)) || value.is_some(),
                Severity::Warning,
                "a family name given in parts should also be given whole",
            )
        }
        "zib-PainScore-1" => {
            let score = value.and_then(|o| o.pointer("/valueInteger")).and_then(Value::as_i64);
            let methods: Vec<&str> = codes(value.and_then(|o| o.get("method")));
            let limit = if methods.iter().any(|m| *m == "VAS10" || *m == "NRS") {
                Some(10)
            } else if methods.contains(&"VAS100") {
                Some(100)
            } else {
                None
            };
            (
                score.zip(limit).is_none_or(|(score, limit)| score <= limit),
                Severity::Error,
                "the score is at most 10 for VAS10 or NRS, and at most 100 for VAS100",
            )
        }
        "zib-PainScore-2" => (
            value
                .and_then(|o| o.get("valueInteger"))
                .and_then(Value::as_i64)
                .is_none_or(|score| score >= 0),
            Severity::Error,
            "the score is at least 0",
        ),
        "zib-TreatmentDirective2-1" => (
            !has_extension(value, ADDITIONAL_ADVANCE_DIRECTIVE)
                || value.is_some_and(|consent| {
                    consent.get("sourceReference").is_some() || consent.get("sourceAttachment").is_some()
                }),
            Severity::Error,
            "an additional advance directive needs the first one in `source[x]`",
        ),
        "zib-TreatmentDirective2-2" => (
            !(has_extension(value, SPECIFICATION_OTHER)
                && value.and_then(|consent| consent.pointer("/provision/type")).is_some()),
            Severity::Error,
            "`specificationOther` and `provision.type` exclude each other",
        ),
        "houseNumberIndication" => (
            value
                .and_then(Value::as_str)
                .is_none_or(|indication| indication == "by" || indication == "to"),
            Severity::Error,
            "the house number indication is `by` or `to`",
        ),
        _ => return None,
    };
    (!holds).then(|| Issue {
        severity,
        code: IssueType::Invariant,
        expression: path.to_owned(),
        message: format!("{key}: {human}"),
    })
}

/// The `_family` companion of a HumanName: where the family name parts live.
fn family(name: Option<&Value>) -> Option<&Value> {
    name.and_then(|name| name.get("_family"))
}

fn has_extension(element: Option<&Value>, url: &str) -> bool {
    extensions(element).any(|extension| extension.get("url").and_then(Value::as_str) == Some(url))
}

fn extensions(element: Option<&Value>) -> impl Iterator<Item = &Value> {
    element
        .and_then(|e| e.get("extension"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether a given name is more than an initial (`iso21090-EN-qualifier` IN).
fn has_non_initial_given(name: Option<&Value>) -> bool {
    let qualifiers = name
        .and_then(|n| n.get("_given"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    qualifiers.flat_map(|given| extensions(Some(given))).any(|extension| {
        extension.get("url").and_then(Value::as_str) == Some(NAME_QUALIFIER)
            && extension.get("valueCode").and_then(Value::as_str) != Some("IN")
    })
}

/// The codes of a CodeableConcept.
fn codes(concept: Option<&Value>) -> Vec<&str> {
    let codings = concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    codings
        .filter_map(|coding| coding.get("code").and_then(Value::as_str))
        .collect()
}
