//! Where zorgpoort and the reference FHIR validator disagreed on base R4:
//! false errors on valid resources, and findings zorgpoort missed. Each test
//! shows the valid shape and the invalid one.

use serde_json::{Value, json};
use zorgpoort_profiles::{
    Issue, IssueType, ProfileChoice, Severity, parse, validate, without_byte_order_mark, xml::XmlLimits,
};

fn errors(resource: &Value) -> Vec<Issue> {
    errors_against(resource, ProfileChoice::Claimed)
}

fn errors_against(resource: &Value, profiles: ProfileChoice<'_>) -> Vec<Issue> {
    validate(resource, profiles)
        .into_iter()
        .filter(|issue| issue.severity == Severity::Error)
        .collect()
}

/// Asserts exactly one error, at `expression`, whose message contains `says`.
fn assert_one_error(resource: &Value, expression: &str, says: &str) {
    let found = errors(resource);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].expression, expression, "{found:#?}");
    assert!(
        found[0].message.contains(says),
        "{:?} does not say {says:?}",
        found[0].message
    );
}

/// The CapabilityStatement the gateway serves at `/fhir/metadata`
/// (gateway/server/src/api/registry.rs), in short.
fn gateway_capability_statement() -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "kind": "instance",
        "software": { "name": "zorgpoort", "version": "0.1.0" },
        "implementation": { "description": "zorgpoort" },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "resource": [
                { "type": "Consent", "interaction": [{ "code": "read" }, { "code": "create" }] },
                {
                    "type": "Composition",
                    "interaction": [{ "code": "read" }],
                    "operation": [{
                        "name": "document",
                        "definition": "http://hl7.org/fhir/OperationDefinition/Composition-document"
                    }]
                }
            ]
        }]
    })
}

#[test]
fn fhir_version_4_0_1_is_r4() {
    let mut statement = gateway_capability_statement();
    assert_eq!(errors(&statement), vec![]);
    statement["fhirVersion"] = json!("4.0.0");
    assert_eq!(errors(&statement), vec![]);
    statement["fhirVersion"] = json!("4.0.2");
    let found = errors(&statement);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].code, found[0].expression.as_str()),
        (IssueType::CodeInvalid, "CapabilityStatement.fhirVersion")
    );
}

fn practitioner_with_uzi_oid() -> Value {
    json!({
        "resourceType": "Practitioner",
        "identifier": [{ "system": "urn:oid:2.16.528.1.1007.3.1", "value": "123456789" }]
    })
}

#[test]
fn the_nl_core_naming_systems_apply_only_to_nl_core_resources() {
    let mut practitioner = practitioner_with_uzi_oid();
    assert_eq!(errors(&practitioner), vec![], "no nl-core profile claimed");
    let nl_core = "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthProfessional-Practitioner";
    let oid_error = |found: Vec<Issue>| {
        found.iter().any(|issue| {
            issue.expression == "Practitioner.identifier[0].system" && issue.message.contains("uzi-nr-pers")
        })
    };
    assert!(oid_error(errors_against(
        &practitioner,
        ProfileChoice::Explicit(nl_core)
    )));
    practitioner["meta"] = json!({ "profile": [nl_core] });
    assert!(oid_error(errors(&practitioner)));
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let limits = XmlLimits::default();
    let json = "\u{feff}{\"resourceType\": \"Patient\", \"active\": true}";
    let xml = "\u{feff}\n<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>";
    for text in [json, xml] {
        let patient = parse(text.as_bytes(), &limits).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(patient, json!({ "resourceType": "Patient", "active": true }));
        assert_eq!(errors(&patient), vec![]);
    }
    // NDJSON is read by the caller, after the mark is taken off.
    let ndjson = "\u{feff}{\"resourceType\": \"Patient\"}\n{\"resourceType\": \"Patient\"}\n";
    let values: Result<Vec<Value>, _> =
        serde_json::Deserializer::from_slice(without_byte_order_mark(ndjson.as_bytes()))
            .into_iter()
            .collect();
    assert_eq!(values.map(|values| values.len()).ok(), Some(2));
    assert_eq!(without_byte_order_mark(b"{}"), b"{}");
}

#[test]
fn a_non_breaking_space_is_not_white_space_in_fhir_patterns() {
    let mut patient = json!({
        "resourceType": "Patient",
        "name": [{ "text": "J.\u{a0}de\u{a0}Vries" }],
        "identifier": [{ "system": "http://example.org/ids", "value": "\u{a0}12\u{a0}34" }],
        "gender": "male"
    });
    assert_eq!(errors(&patient), vec![]);
    // XML Schema's `\s`: a space is still not allowed in a uri.
    patient["identifier"][0]["system"] = json!("http://example.org/my ids");
    assert_one_error(&patient, "Patient.identifier[0].system", "not a valid");
}

fn encounter_with_period(start: &str, end: &str) -> Value {
    json!({
        "resourceType": "Encounter",
        "status": "finished",
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB" },
        "period": { "start": start, "end": end }
    })
}

#[test]
fn per_1_start_is_not_after_end() {
    for (start, end) in [
        ("2021-03-01", "2021-03-01"),
        ("2021", "2021-05-01"),
        ("2021-05-01T10:00:00+02:00", "2021-05-01T08:30:00Z"),
    ] {
        assert_eq!(errors(&encounter_with_period(start, end)), vec![], "{start} .. {end}");
    }
    for (start, end) in [
        ("2021-03-02", "2021-03-01"),
        ("2021-05-01T10:00:00+02:00", "2021-05-01T07:30:00Z"),
    ] {
        assert_one_error(&encounter_with_period(start, end), "Encounter.period", "per-1");
    }
}

#[test]
fn ras_2_a_probability_decimal_is_at_most_100() {
    let mut assessment = json!({
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": { "reference": "Patient/example" },
        "prediction": [{ "probabilityDecimal": 100 }]
    });
    assert_eq!(errors(&assessment), vec![]);
    assessment["prediction"][0]["probabilityDecimal"] = json!(100.5);
    assert_one_error(&assessment, "RiskAssessment.prediction[0].probabilityDecimal", "ras-2");
}

fn document_reference(attachment: &Value) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{ "attachment": attachment }]
    })
}

#[test]
fn att_1_and_the_size_of_the_data() {
    // "aGVsbG8=" is base64 for the five bytes of "hello".
    let valid = document_reference(&json!({ "contentType": "text/plain", "data": "aGVsbG8=", "size": 5 }));
    assert_eq!(errors(&valid), vec![]);
    let unsized_ = document_reference(&json!({ "contentType": "text/plain", "data": "aGVsbG8hIQ==" }));
    assert_eq!(errors(&unsized_), vec![]);
    let untyped = document_reference(&json!({ "data": "aGVsbG8=" }));
    assert_one_error(&untyped, "DocumentReference.content[0].attachment", "att-1");
    let missized = document_reference(&json!({ "contentType": "text/plain", "data": "aGVsbG8=", "size": 6 }));
    assert_one_error(
        &missized,
        "DocumentReference.content[0].attachment.size",
        "the size is 6 bytes, but the data holds 5",
    );
}

fn collection(full_url: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{ "fullUrl": full_url, "resource": { "resourceType": "Patient", "id": "1" } }]
    })
}

#[test]
fn a_full_url_is_absolute_and_version_independent() {
    for full_url in [
        "http://example.org/fhir/Patient/1",
        "urn:uuid:0c8b5d7e-1f7e-4f5e-9d8e-2c1b0a9f8e7d",
    ] {
        assert_eq!(errors(&collection(full_url)), vec![], "{full_url}");
    }
    assert_one_error(&collection("Patient/1"), "Bundle.entry[0].fullUrl", "absolute URL");
    assert_one_error(
        &collection("http://example.org/fhir/Patient/1/_history/2"),
        "Bundle.entry[0].fullUrl",
        "bdl-8",
    );
    // A server URL names the resource's type and id (as in the official
    // message examples, which break this).
    for other in ["http://example.org/fhir/Patient/12", "http://example.org/fhir/Person/1"] {
        assert_one_error(
            &collection(other),
            "Bundle.entry[0].fullUrl",
            "must end with /Patient/1",
        );
    }
    assert_eq!(errors(&collection("http://example.org/documents/1")), vec![]);
}

/// A document whose Composition refers to `subject` and `author`; the
/// Patient is in it at `http://example.org/fhir/Patient/1`.
fn document(subject: &str, author: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:3a2f4c8e-7b1d-4e0a-9c6f-5d8e2b1a0f97" },
        "type": "document",
        "timestamp": "2024-05-01T10:00:00+02:00",
        "entry": [
            {
                "fullUrl": "http://example.org/fhir/Composition/c1",
                "resource": {
                    "resourceType": "Composition",
                    "id": "c1",
                    "status": "final",
                    "type": { "text": "summary" },
                    "subject": { "reference": subject },
                    "date": "2024-05-01",
                    "author": [{ "reference": author }],
                    "title": "Summary",
                    "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Summary</div>" }
                }
            },
            {
                "fullUrl": "http://example.org/fhir/Patient/1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "1",
                    "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div>" }
                }
            }
        ]
    })
}

#[test]
fn references_in_a_document_resolve_inside_it() {
    let inside = ["Patient/1", "http://example.org/fhir/Patient/1", "Patient/1/_history/3"];
    for subject in inside {
        assert_eq!(
            validate(&document(subject, "Patient/1"), ProfileChoice::Claimed),
            vec![],
            "{subject}"
        );
    }
    let dangling = document("Patient/1", "Practitioner/2");
    assert_one_error(
        &dangling,
        "Bundle.entry[0].resource.author[0].reference",
        "does not resolve",
    );
    let unknown_uuid = document("urn:uuid:9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f", "Patient/1");
    assert_one_error(
        &unknown_uuid,
        "Bundle.entry[0].resource.subject.reference",
        "does not resolve",
    );
    // Another server may still hold it: a warning, not an error.
    let external = document("Patient/1", "http://elsewhere.example.org/fhir/Practitioner/2");
    let findings = validate(&external, ProfileChoice::Claimed);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        (findings[0].severity, findings[0].code),
        (Severity::Warning, IssueType::NotFound)
    );
}

#[test]
fn references_outside_documents_need_not_resolve() {
    let mut bundle = document("Patient/1", "Practitioner/2");
    bundle["type"] = json!("collection");
    assert_eq!(errors(&bundle), vec![]);
}

#[test]
fn a_resource_type_in_data_is_not_a_nested_resource() {
    // ExampleScenario.instance names the type of an instance in a code
    // element called `resourceType`; it is not a resource.
    let scenario = json!({
        "resourceType": "ExampleScenario",
        "status": "draft",
        "instance": [{ "resourceId": "p1", "resourceType": "Patient", "name": "A patient" }]
    });
    assert_eq!(errors(&scenario), vec![]);
    let mut contained = scenario.clone();
    contained["contained"] = json!([{ "resourceType": "Patient", "id": "p", "gender": "unknown-gender" }]);
    // Referenced, as dom-3 requires of a contained resource.
    contained["useContext"] = json!([{
        "code": { "system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus" },
        "valueReference": { "reference": "#p" }
    }]);
    let found = errors(&contained);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].expression, "ExampleScenario.contained[0].gender");
}

#[test]
fn a_canonical_may_carry_extensions() {
    let extension = json!([{ "extension": [{ "url": "http://example.org/note", "valueString": "local" }] }]);
    let mut plan = json!({
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": { "reference": "Patient/example" },
        "instantiatesCanonical": ["http://example.org/PlanDefinition/p1"],
        "_instantiatesCanonical": extension
    });
    assert_eq!(errors(&plan), vec![]);
    plan["_instantiatesCanonicalX"] = plan["_instantiatesCanonical"].clone();
    assert_one_error(&plan, "CarePlan._instantiatesCanonicalX", "unknown element");
}

#[test]
fn ext_1_an_extension_has_a_value_or_extensions() {
    let patient_with = |extension: Value| json!({ "resourceType": "Patient", "extension": [extension] });
    let url = "http://example.org/fhir/StructureDefinition/x";
    let valid = [
        json!({ "url": url, "valueString": "a" }),
        json!({ "url": url, "_valueCode": { "extension": [{ "url": url, "valueBoolean": true }] } }),
        json!({ "url": url, "extension": [{ "url": "part", "valueInteger": 1 }] }),
    ];
    for extension in valid {
        assert_eq!(errors(&patient_with(extension.clone())), vec![], "{extension}");
    }
    let both = json!({ "url": url, "valueString": "a", "extension": [{ "url": "part", "valueInteger": 1 }] });
    assert_one_error(&patient_with(both), "Patient.extension[0]", "ext-1");
    assert_one_error(&patient_with(json!({ "url": url })), "Patient.extension[0]", "ext-1");
}

#[test]
fn bdl_5_an_entry_holds_a_resource_a_request_or_a_response() {
    let mut bundle = collection("urn:uuid:0c8b5d7e-1f7e-4f5e-9d8e-2c1b0a9f8e7d");
    bundle["entry"][0].as_object_mut().map(|entry| entry.remove("resource"));
    assert_one_error(&bundle, "Bundle.entry[0]", "bdl-5");
}
