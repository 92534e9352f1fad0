//! FHIR STU3 input: read like R4 JSON/NDJSON, converted to R4 with the
//! converter's warnings, and never chosen by detection.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use zorgpoort_formats::{Format, Settings, convert, detect};

const CONDITION: &str = r#"{"resourceType":"Condition","id":"probleem-1","clinicalStatus":"active","verificationStatus":"confirmed","code":{"text":"diabetes mellitus type 2"},"subject":{"reference":"Patient/pat-1"},"abatementBoolean":false}"#;
const PATIENT: &str = r#"{"resourceType":"Patient","id":"pat-1","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"van der Berg"}]}"#;

#[test]
fn named_and_typed() {
    assert_eq!(Format::from_name("fhir-stu3"), Some(Format::FhirStu3));
    assert_eq!(Format::FhirStu3.to_string(), "fhir-stu3");
    assert!(Format::ALL.contains(&Format::FhirStu3));
    assert_eq!(
        Format::FhirStu3.media_types()[0],
        "application/fhir+json; fhirVersion=3.0"
    );
}

#[test]
fn detection_still_reads_fhir_json_as_r4() {
    assert_eq!(detect(CONDITION.as_bytes()), Some(Format::FhirR4));
}

#[test]
fn stu3_is_converted_to_r4_with_warnings() {
    let converted = convert(Format::FhirStu3, CONDITION.as_bytes(), &Settings::default()).unwrap();
    assert_eq!(converted.len(), 1);
    let message = converted[0].as_ref().unwrap();
    let resource: Value = serde_json::from_str(&message.bundle).unwrap();
    assert_eq!(
        resource["clinicalStatus"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/condition-clinical"
    );
    assert_eq!(message.origin.event, "FHIR^Condition");
    assert_eq!(message.origin.message_id, "probleem-1");
    let warnings: Vec<String> = message.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["Condition.abatementBoolean: no counterpart in FHIR R4; left out"]
    );

    // The same bytes read as R4 are passed on untouched, without warnings.
    let as_r4 = convert(Format::FhirR4, CONDITION.as_bytes(), &Settings::default()).unwrap();
    let message = as_r4[0].as_ref().unwrap();
    assert!(message.warnings.is_empty());
    assert!(message.bundle.contains("\"clinicalStatus\":\"active\""));
}

#[test]
fn ndjson_each_resource_on_its_own() {
    let input = format!(
        "{PATIENT}\n{{\"resourceType\":\"Condition\",\"clinicalStatus\":7}}\n{{\"resourceType\":\"Specimen\"}}\n"
    );
    let converted = convert(Format::FhirStu3, input.as_bytes(), &Settings::default()).unwrap();
    assert_eq!(converted.len(), 3);
    assert!(converted[0].as_ref().unwrap().warnings.is_empty());
    assert_eq!(
        converted[1].as_ref().unwrap_err().to_string(),
        "line 2, column 1: STU3 to R4: Condition.clinicalStatus: expected a string, found a number"
    );
    assert_eq!(
        converted[2].as_ref().unwrap_err().to_string(),
        "line 3, column 1: STU3 to R4: resource type Specimen is not supported by the STU3/R4 converter"
    );
}
