//! The nl-core/zib invariants, evaluated with the FHIRPath engine: for each,
//! a resource that keeps it and one that breaks it, the broken one having
//! exactly that finding more than the kept one.

mod common;

use serde_json::{Value, json};
use zorgpoort_profiles::{Issue, IssueType, ProfileChoice, Severity, parse, validate, xml::XmlLimits};

use common::assert_breaks;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/nl-core/examples"
);
const SCORES: &str = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.0.1";
const SCT: &str = "http://snomed.info/sct";

fn example(name: &str) -> Value {
    let path = format!("{EXAMPLES}/{name}.xml");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&bytes, &XmlLimits::default()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn no_errors(resource: &Value) {
    let errors: Vec<Issue> = validate(resource, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.severity == Severity::Error)
        .collect();
    assert_eq!(errors, vec![]);
}

/// Components whose code has none of `codes`.
fn without_components(resource: &Value, codes: &[&str]) -> Value {
    let mut changed = resource.clone();
    if let Some(components) = changed["component"].as_array_mut() {
        components.retain(|component| {
            !component["code"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|coding| codes.contains(&coding["code"].as_str().unwrap_or_default()))
        });
    }
    changed
}

#[test]
fn vital_signs() {
    let kept = example("nl-core-BloodPressure-01");
    no_errors(&kept);
    let mut broken = kept.clone();
    broken["effectiveDateTime"] = json!("2021-05");
    assert_breaks(&kept, &broken, "vs-1", Severity::Error, "Observation.effectiveDateTime");

    let kept = example("nl-core-BodyWeight-01");
    no_errors(&kept);
    let mut kept = kept.clone();
    // The clothing component would be enough for vs-2.
    kept.as_object_mut().and_then(|o| o.remove("component"));
    let mut broken = kept.clone();
    let value = broken.as_object_mut().and_then(|o| o.remove("valueQuantity"));
    assert!(value.is_some(), "the example has a value");
    assert_breaks(&kept, &broken, "vs-2", Severity::Error, "Observation");

    // A component without a value needs a reason; the value is also what
    // tells the blood pressure slices apart, so both lose their slice.
    let mut kept = example("nl-core-BloodPressure-01");
    let component = kept["component"][0].as_object_mut().expect("a component");
    assert!(component.remove("valueQuantity").is_some(), "the component has a value");
    component.insert("dataAbsentReason".to_owned(), json!({ "text": "not measured" }));
    let mut broken = kept.clone();
    broken["component"][0]
        .as_object_mut()
        .and_then(|o| o.remove("dataAbsentReason"));
    assert_breaks(&kept, &broken, "vs-3", Severity::Error, "Observation.component[0]");
}

#[test]
fn alert() {
    const DETAIL: &str = "http://hl7.org/fhir/StructureDefinition/flag-detail";
    // A concern in flag-detail, and `not-applicable` as the code.
    let kept = example("nl-core-Alert-01");
    no_errors(&kept);
    assert!(kept["extension"][0]["url"] == DETAIL);
    let mut broken = kept.clone();
    let codings = broken["code"]["coding"].as_array_mut().expect("codings");
    codings.push(json!({ "system": SCT, "code": "432415000" }));
    assert_breaks(&kept, &broken, "zib-Alert-1", Severity::Error, "Flag");

    let mut broken = kept.clone();
    broken["code"]["coding"][0]["code"] = json!("unknown");
    assert_breaks(&kept, &broken, "zib-Alert-2", Severity::Error, "Flag");

    // An alert name from the value set, and no concern.
    let kept = example("nl-core-Alert-02");
    no_errors(&kept);
    let mut broken = kept.clone();
    broken["extension"] = json!([{ "url": DETAIL, "valueReference": { "reference": "Condition/1" } }]);
    let added: Vec<Issue> = validate(&broken, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.code == IssueType::Invariant)
        .collect();
    let keys: Vec<&str> = added.iter().filter_map(|i| i.message.split(':').next()).collect();
    assert_eq!(keys, ["zib-Alert-1", "zib-Alert-2"], "{added:#?}");
}

#[test]
fn freedom_restricting_intervention() {
    let kept = example("nl-core-FreedomRestrictingIntervention-01");
    no_errors(&kept);
    let mut broken = kept.clone();
    let parts = broken["extension"][0]["extension"].as_array_mut().expect("parts");
    parts.retain(|part| part["url"] != "legallyCapableComment");
    assert_breaks(
        &kept,
        &broken,
        "zib-FreedomRestrictingIntervention-01",
        Severity::Warning,
        "Procedure.extension[0]",
    );
}

#[test]
fn functional_or_mental_status() {
    let kept = example("nl-core-FunctionalOrMentalStatus-01");
    no_errors(&kept);
    let mut broken = kept.clone();
    let codings = broken["category"][0]["coding"].as_array_mut().expect("codings");
    codings.push(json!({ "system": SCT, "code": "384821006" }));
    assert_breaks(
        &kept,
        &broken,
        "zib-FunctionalOrMentalStatus-1",
        Severity::Warning,
        "Observation.category[0]",
    );
}

#[test]
fn score_components_all_or_none() {
    for (name, key, codes) in [
        (
            "nl-core-MUSTScore-01",
            "zib-MUSTScore",
            &["4005003", "4005004", "4005005"][..],
        ),
        (
            "nl-core-SNAQScore-01",
            "zib-SNAQScore",
            &["4006003", "4006004", "4006005"],
        ),
        (
            "nl-core-SNAQ65plusScore-01",
            "zib-SNAQ65PlusScore",
            &["4030003", "4030008", "4030004", "4030005"],
        ),
        (
            "nl-core-SNAQrcScore-01",
            "zib-SNAQrcScore",
            &["4029003", "4029004", "4029005", "4029008"],
        ),
        (
            "nl-core-StrongKidsScore-01",
            "zib-StrongKidsScore",
            &["4028003", "4028004", "4028005", "4028008"],
        ),
    ] {
        let kept = example(name);
        no_errors(&kept);
        assert!(kept["component"][0]["code"]["coding"][0]["system"] == SCORES, "{name}");
        // One component fewer: not all, not none.
        let broken = without_components(&kept, &codes[..1]);
        assert_breaks(&kept, &broken, &format!("{key}-1"), Severity::Error, "Observation");
        // No components (allowed) and no total either.
        let kept = without_components(&kept, codes);
        let mut broken = kept.clone();
        let total = broken.as_object_mut().and_then(|o| o.remove("valueInteger"));
        assert!(total.is_some(), "{name} has a total");
        assert_breaks(&kept, &broken, &format!("{key}-2"), Severity::Error, "Observation");
    }
}

#[test]
fn nursing_intervention() {
    let bounds = json!({ "start": "2021-05-01", "end": "2021-06-01" });
    let kept = json!({
        "resourceType": "CarePlan",
        "meta": { "profile": ["http://nictiz.nl/fhir/StructureDefinition/nl-core-NursingIntervention"] },
        "status": "active",
        "intent": "plan",
        "subject": { "reference": "Patient/1" },
        "period": bounds,
        "activity": [{ "detail": {
            "status": "scheduled",
            "scheduledTiming": { "repeat": { "boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "d" } },
        } }],
    });
    let mut broken = kept.clone();
    broken["period"]["end"] = json!("2021-07-01");
    assert_breaks(&kept, &broken, "zib-NursingIntervention-1", Severity::Error, "CarePlan");
}

#[test]
fn refraction_components_in_pairs() {
    let kept = example("nl-core-Refraction-01");
    no_errors(&kept);
    for (key, removed) in [
        ("zib-Refraction-1", "251799001"),
        ("zib-Refraction-2", "251797004"),
        ("zib-Refraction-3", "246223004"),
        ("zib-Refraction-4", "251762001"),
        ("zib-Refraction-5", "251795007"),
    ] {
        let broken = without_components(&kept, &[removed]);
        assert_breaks(&kept, &broken, key, Severity::Error, "Observation");
    }
}

#[test]
fn soap_report_line_codes() {
    const LINE_CODE: &str = "http://nictiz.nl/fhir/StructureDefinition/ext-SOAPReport.SOAPLineCode";
    let kept = example("nl-core-SOAPReport.SOAPLine-01");
    no_errors(&kept);
    assert!(kept["extension"][0]["url"] == LINE_CODE);
    let mut broken = kept.clone();
    broken["code"]["coding"][0]["code"] = json!("260224007");
    assert_breaks(&kept, &broken, "zib-SOAPReport-1", Severity::Error, "Observation");
}

#[test]
fn pain_score_range() {
    let kept = example("nl-core-PainScore-01");
    no_errors(&kept);
    assert_eq!(kept["method"]["coding"][0]["code"], "VAS10");
    let mut broken = kept.clone();
    broken["valueInteger"] = json!(11);
    assert_breaks(&kept, &broken, "zib-PainScore-1", Severity::Error, "Observation");
    let mut broken = kept.clone();
    broken["valueInteger"] = json!(-1);
    assert_breaks(&kept, &broken, "zib-PainScore-2", Severity::Error, "Observation");
}

#[test]
fn name_information() {
    const PARTNER_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix";
    let kept = example("nl-core-Patient-01");
    no_errors(&kept);
    let family_parts = |patient: &Value| -> Vec<Value> {
        patient["name"][0]["_family"]["extension"]
            .as_array()
            .cloned()
            .expect("family parts")
    };

    let mut broken = kept.clone();
    let parts: Vec<Value> = family_parts(&broken)
        .into_iter()
        .filter(|part| {
            !part["url"]
                .as_str()
                .is_some_and(|url| url.ends_with("humanname-own-name"))
        })
        .collect();
    broken["name"][0]["_family"]["extension"] = json!(parts);
    assert_breaks(
        &kept,
        &broken,
        "zib-NameInformation-1",
        Severity::Error,
        "Patient.name[0]",
    );

    let mut broken = kept.clone();
    let mut parts = family_parts(&broken);
    parts.retain(|part| !part["url"].as_str().is_some_and(|url| url.contains("partner")));
    parts.push(json!({ "url": PARTNER_PREFIX, "valueString": "van" }));
    broken["name"][0]["_family"]["extension"] = json!(parts);
    assert_breaks(
        &kept,
        &broken,
        "zib-NameInformation-2",
        Severity::Error,
        "Patient.name[0]",
    );

    let mut broken = kept.clone();
    assert!(broken["name"][0]["text"].is_string());
    broken["name"][0].as_object_mut().and_then(|name| name.remove("text"));
    assert_breaks(
        &kept,
        &broken,
        "nl-core-NameInformation-01",
        Severity::Warning,
        "Patient.name[0]",
    );

    let mut broken = kept.clone();
    broken["name"][0].as_object_mut().and_then(|name| name.remove("family"));
    assert_breaks(
        &kept,
        &broken,
        "nl-core-NameInformation-02",
        Severity::Warning,
        "Patient.name[0].family",
    );
}

#[test]
fn treatment_directive() {
    const ADDITIONAL: &str = "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.AdvanceDirective";
    const OTHER: &str = "http://nictiz.nl/fhir/StructureDefinition/ext-TreatmentDirective2.SpecificitionOther";
    let kept = example("nl-core-TreatmentDirective2-01");
    no_errors(&kept);
    let mut with_additional = kept.clone();
    let extensions = with_additional.as_object_mut().expect("a resource");
    let extensions = extensions.entry("extension").or_insert(json!([]));
    let extensions = extensions.as_array_mut().expect("extensions");
    extensions.push(json!({ "url": ADDITIONAL, "valueReference": { "reference": "Consent/2" } }));
    let mut broken = with_additional.clone();
    broken.as_object_mut().and_then(|o| o.remove("sourceReference"));
    assert_breaks(
        &with_additional,
        &broken,
        "zib-TreatmentDirective2-1",
        Severity::Error,
        "Consent",
    );

    assert!(kept.pointer("/provision/type").is_some());
    let mut broken = kept.clone();
    let extensions = broken.as_object_mut().expect("a resource");
    let extensions = extensions.entry("extension").or_insert(json!([]));
    let extensions = extensions.as_array_mut().expect("extensions");
    extensions.push(json!({ "url": OTHER, "valueString": "geen" }));
    assert_breaks(&kept, &broken, "zib-TreatmentDirective2-2", Severity::Error, "Consent");
}

#[test]
fn house_number_indication() {
    const INDICATION: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-additionalLocator";
    let mut kept = example("nl-core-Patient-01");
    let line = &mut kept["address"][0]["_line"][0]["extension"];
    let parts = line.as_array_mut().expect("line parts");
    parts.push(json!({ "url": INDICATION, "valueString": "to" }));
    let index = parts.len() - 1;
    no_errors(&kept);
    let mut broken = kept.clone();
    broken["address"][0]["_line"][0]["extension"][index]["valueString"] = json!("tot");
    assert_breaks(
        &kept,
        &broken,
        "houseNumberIndication",
        Severity::Error,
        &format!("Patient.address[0].line[0].extension[{index}].valueString"),
    );
}
