//! FHIR R4 -> HL7 v2.5.1: golden ER7 output for the FHIR fixtures
//! (`UPDATE_EXPECT=1` rewrites `tests/expected-v2/`), the message read back
//! to FHIR passes the Bundle checks and the nl-core profiles, errors name
//! their FHIR path, and no JSON shaped like a Bundle makes it panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{corpora, expect_file, files, fixtures, resources};
use proptest::prelude::*;
use serde_json::{Value, json};
use zorgpoort_hl7v2::{
    FromFhirError, FromFhirErrorKind, FromFhirOptions, Limits, Message, Options, from_fhir, to_fhir,
};
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

fn options() -> FromFhirOptions {
    FromFhirOptions {
        receiving_application: Some("EPD".into()),
        receiving_facility: Some("RIJNSTATE".into()),
        now: Some("2026-11-24T12:00:00+01:00".into()),
        ..FromFhirOptions::default()
    }
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("fhir").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn convert(name: &str) -> (String, Vec<String>) {
    let out = from_fhir(&fixture(name), &options()).unwrap_or_else(|e| panic!("{name}: {e}"));
    (out.message, out.warnings.iter().map(ToString::to_string).collect())
}

/// The segment with `id` (first one) split into fields, MSH counted as in the standard.
fn field(message: &str, id: &str, n: usize) -> String {
    let segment = message
        .split(['\r', '\n'])
        .find(|s| s.starts_with(&format!("{id}|")))
        .unwrap_or_else(|| panic!("no {id} in {message}"));
    let fields: Vec<&str> = segment.split('|').collect();
    let index = if id == "MSH" { n - 1 } else { n };
    fields.get(index).copied().unwrap_or_default().to_owned()
}

/// The message read back to FHIR: a Bundle with no check problems and no
/// profile errors.
fn assert_reads_back_valid(name: &str, message: &str) -> Value {
    let parsed = Message::parse(message.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let json = to_fhir(&parsed, &Options::default()).unwrap().bundle.to_json();
    let problems = zorgpoort_model::check::check_bundle(&json, "transaction");
    assert!(problems.is_empty(), "{name}: {problems:#?}");
    let bundle: Value = serde_json::from_str(&json).unwrap();
    let errors: Vec<String> = validate(&bundle, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.severity == Severity::Error)
        .map(|issue| format!("{}: {}", issue.expression, issue.message))
        .collect();
    assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    bundle
}

#[test]
fn fixtures_match_their_golden_messages_and_read_back_valid() {
    let paths = files(&fixtures().join("fhir"), &[".json"]);
    assert!(paths.len() >= 5, "{paths:?}");
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (message, warnings) = convert(&name);
        let stem = name.trim_end_matches(".json");
        expect_file(&format!("expected-v2/{stem}.hl7"), &message);
        expect_file(
            &format!("expected-v2/{stem}.warnings.txt"),
            &(warnings.join("\n") + "\n"),
        );
        assert_reads_back_valid(&name, &message);
        // Deterministic: the same input gives the same message.
        assert_eq!(convert(&name).0, message, "{name}");
    }
}

#[test]
fn admission_carries_dutch_identifiers_names_gp_and_visit() {
    let (m, warnings) = convert("admission-nl-core.json");
    assert_eq!(field(&m, "MSH", 9), "ADT^A01^ADT_A01");
    assert_eq!(field(&m, "MSH", 7), "20261124093015+0100");
    assert_eq!(field(&m, "MSH", 10), "adm-0001");
    assert_eq!(field(&m, "MSH", 12), "2.5.1");
    assert_eq!(field(&m, "MSH", 5), "EPD");
    assert_eq!(
        field(&m, "PID", 3),
        "999911120^^^NLMINBIZA^NNNLD~1234567^^^RIJNSTATE^PI"
    );
    assert_eq!(field(&m, "PID", 5), "van der Berg^Johanna^M.^^^^L");
    assert_eq!(field(&m, "PID", 7), "19850412");
    assert_eq!(field(&m, "PID", 8), "F");
    assert_eq!(
        field(&m, "PID", 11),
        "Kerkstraat 12&Kerkstraat&12^^Arnhem^^6811 AB^NL^H"
    );
    assert_eq!(
        field(&m, "PID", 13),
        "0612345678^^CP~^NET^Internet^j.vanderberg@example.nl"
    );
    assert_eq!(
        field(&m, "PD1", 3),
        "Huisartsenpraktijk De Linde^^^^^VEKTIS&2.16.840.1.113883.2.4.6.1&ISO^^^^01000001"
    );
    assert_eq!(
        field(&m, "PD1", 4),
        "01123456^Smit^Pieter^^^^^^VEKTIS&2.16.840.1.113883.2.4.6.1&ISO"
    );
    assert_eq!(field(&m, "NK1", 3), "HUSB^husband^2.16.840.1.113883.5.111");
    assert_eq!(field(&m, "PV1", 2), "I");
    assert_eq!(field(&m, "PV1", 3), "Longziekten K12 B3");
    assert!(field(&m, "PV1", 7).starts_with("123456789^de Jong^Anna^^^dr.^^^UZI&2.16.528.1.1007.3.1&ISO"));
    assert_eq!(field(&m, "PV1", 19), "V2026-0042^^^RIJNSTATE^VN");
    assert_eq!(field(&m, "PV1", 44), "20261124091500+0100");
    assert_eq!(field(&m, "PV2", 3), "233604007^Pneumonia^SCT");
    assert_eq!(field(&m, "IN1", 3), "3311^^^UZOVI&2.16.840.1.113883.2.4.6.4&ISO");
    assert_eq!(field(&m, "IN1", 15), "B^Basis^2.16.840.1.113883.2.4.3.11.60.101.5.1");
    assert!(
        warnings.contains(&"Bundle.entry[9].resource: Condition not carried into HL7 v2 ADT^A01".to_owned()),
        "{warnings:#?}"
    );
    // Read back, the patient is the same person with the same Dutch name parts.
    let bundle = assert_reads_back_valid("admission", &m);
    let patient = resources(&bundle, "Patient")[0];
    let source = fixture("admission-nl-core.json");
    assert_eq!(
        patient["name"][0]["_family"],
        source["entry"][0]["resource"]["name"][0]["_family"]
    );
    assert_eq!(
        patient["identifier"][0]["system"],
        "http://fhir.nl/fhir/NamingSystem/bsn"
    );
}

#[test]
fn discharge_of_plain_r4_is_an_a03_in_local_time() {
    let (m, warnings) = convert("discharge-plain-r4.json");
    assert_eq!(field(&m, "MSH", 9), "ADT^A03^ADT_A03");
    assert_eq!(field(&m, "MSH", 7), "20261128150500+0100");
    assert_eq!(field(&m, "MSH", 10), "DIS-2026-0077");
    // The BSN came as its OID and is written the Dutch v2 way.
    assert_eq!(
        field(&m, "PID", 3),
        "999993653^^^NLMINBIZA^NNNLD~MRN-778^^^&1.2.3.4.5&ISO^MR"
    );
    assert_eq!(field(&m, "PID", 14), "+31 26 555 0101^WPN");
    assert_eq!(field(&m, "PV1", 2), "E");
    assert_eq!(field(&m, "PV1", 3), "SEH Rijnstate");
    assert_eq!(field(&m, "PV1", 19), "E-5521^^^&https://ehr.example.org/visits&URI");
    assert_eq!(field(&m, "PV1", 36), "01");
    assert_eq!(field(&m, "PV1", 45), "20261128145500+0100");
    assert!(
        warnings.contains(&"Bundle.entry[0].resource.active: not carried into HL7 v2".to_owned()),
        "{warnings:#?}"
    );
    assert!(
        warnings.contains(&"Bundle.entry[2].resource.status: not carried into HL7 v2".to_owned()),
        "{warnings:#?}"
    );
}

#[test]
fn a_single_patient_is_an_a08_timed_by_the_caller() {
    let (m, warnings) = convert("patient-update.json");
    assert_eq!(field(&m, "MSH", 9), "ADT^A08^ADT_A01");
    assert_eq!(field(&m, "MSH", 7), "20261124120000+0100");
    assert_eq!(field(&m, "MSH", 10), "pat-42");
    assert_eq!(field(&m, "PID", 5), "Jansen^Pieter^J.^^^^L");
    assert_eq!(field(&m, "PID", 11), "Dorpsweg 3^achter^Elst^^6661 AA^^M");
    assert_eq!(field(&m, "PID", 16), "M");
    assert_eq!(field(&m, "PID", 30), "N");
    assert_eq!(field(&m, "PV1", 2), "N");
    assert_eq!(warnings, ["Patient.photo: not carried into HL7 v2"]);
}

#[test]
fn lab_report_is_an_oru_with_typed_values_and_notes() {
    let (m, warnings) = convert("lab-report-nl-core.json");
    assert_eq!(field(&m, "MSH", 9), "ORU^R01^ORU_R01");
    assert!(!m.contains("\rEVN|"), "ORU has no EVN");
    assert_eq!(field(&m, "ORC", 2), "ORD-5531^HIS");
    assert_eq!(field(&m, "ORC", 3), "LAB-88123^LAB");
    assert_eq!(field(&m, "ORC", 5), "CM");
    assert_eq!(
        field(&m, "ORC", 12),
        "19012345601^Visser^Tom^^^^^^BIG&2.16.528.1.1007.5.1&ISO"
    );
    assert_eq!(field(&m, "OBR", 4), "24331-1^Lipid panel^LN");
    assert_eq!(field(&m, "OBR", 7), "20261124083000+0100");
    assert_eq!(field(&m, "OBR", 24), "CH");
    assert_eq!(field(&m, "OBR", 25), "F");
    let obx: Vec<&str> = m.split('\r').filter(|s| s.starts_with("OBX|")).collect();
    assert_eq!(
        obx,
        [
            "OBX|1|NM|2093-3^Cholesterol^LN||6.40|mmol/L^mmol/L^UCUM|<5.0|H|||F|||20261124083000+0100",
            "OBX|2|SN|1988-5^CRP^LN||<^0.5|mg/L^mg/L^UCUM|0-5||||F|||20261124083000+0100",
            "OBX|3|CE|882-1^ABO and Rh group^LN||278149003^Blood group A Rh(D) positive^SCT||||||P",
            "OBX|4|TX|8251-1^Service comment^LN||Monster licht hemolytisch.\\.br\\Kalium onder voorbehoud.||||||C",
        ]
    );
    assert!(
        m.contains("\rNTE|1||Controle over 3 maanden\\F\\advies: dieet\r"),
        "{m}"
    );
    assert!(m.contains("\rNTE|1||Nuchter afgenomen\r"), "{m}");
    assert!(
        warnings.contains(&"Bundle.entry[8].resource.dataAbsentReason: not carried into HL7 v2".to_owned()),
        "{warnings:#?}"
    );
    assert!(
        warnings.contains(&"Bundle.entry[0].resource.source: not carried into HL7 v2".to_owned()),
        "{warnings:#?}"
    );
    let bundle = assert_reads_back_valid("lab", &m);
    let values: Vec<&Value> = resources(&bundle, "Observation")
        .into_iter()
        .map(|o| &o["valueQuantity"])
        .collect();
    assert_eq!(values[0]["value"].to_string(), "6.40", "the precision the Bundle gave");
    assert_eq!(values[1]["comparator"], "<");
}

/// Microsoft's FHIR-Converter turns its `ObservationBundle.json` sample into
/// `fhir-to-hl7v2/ObservationBundle-expected.hl7`; our fixture carries the same
/// facts. The values agree; the differences are by design (see the report
/// in the test's assertions).
#[test]
fn observation_bundle_agrees_with_microsofts_expected_message() {
    let expected =
        std::fs::read_to_string(corpora().join("hl7v2/ms-fhir-converter/fhir-to-hl7v2/ObservationBundle-expected.hl7"))
            .unwrap();
    let (ours, _) = convert("observation-batch-response.json");
    // OBR-3: the same number; we add its system as the assigning authority.
    assert_eq!(field(&expected, "OBR", 3), "6323");
    assert_eq!(
        field(&ours, "OBR", 3),
        "6323^^http://www.bmc.nl/zorgportal/identifiers/observations^URI"
    );
    for (id, n) in [("MSH", 9), ("OBX", 3), ("OBX", 5), ("OBX", 7), ("OBX", 8), ("OBX", 11)] {
        let theirs = field(&expected, id, n);
        let mine = field(&ours, id, n);
        if (id, n) == ("MSH", 9) {
            // We add the message structure (MSH-9.3), which v2.5.1 requires.
            assert_eq!(format!("{theirs}^ORU_R01"), mine);
        } else {
            assert_eq!(theirs, mine, "{id}-{n}");
        }
    }
    // PID-3: we add the assigning authority and type Microsoft leaves out.
    assert_eq!(field(&expected, "PID", 3), "12345");
    assert_eq!(field(&ours, "PID", 3), "12345^^^&1.2.36.146.595.217.0.1&ISO^MR");
    // OBX-6: we keep the UCUM code beside the unit as written.
    assert_eq!(field(&expected, "OBX", 6), "mmol/l");
    assert_eq!(field(&ours, "OBX", 6), "mmol/L^mmol/l^UCUM");
    // MSH-7 is required in v2 (Microsoft leaves it empty); the Bundle has no
    // timestamp, so the caller's `now` is used.
    assert_eq!(field(&ours, "MSH", 7), "20261124120000+0100");
}

#[test]
fn microsofts_expected_message_reads_back() {
    // Our writer's messages and Microsoft's both parse with the same parser.
    let path = corpora().join("hl7v2/ms-fhir-converter/fhir-to-hl7v2/ObservationBundle-expected.hl7");
    let bytes = std::fs::read(path).unwrap();
    assert!(Message::parse(&bytes, &Limits::default()).is_ok());
    assert!(Path::new(&fixtures().join("fhir/observation-batch-response.json")).exists());
}

fn error(input: &Value, options: &FromFhirOptions) -> FromFhirError {
    from_fhir(input, options).expect_err("must fail")
}

#[test]
fn errors_name_their_fhir_path() {
    let o = options();
    let no_patient = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}}]});
    let e = error(&no_patient, &o);
    assert_eq!(e.kind, FromFhirErrorKind::NoPatient);
    assert_eq!(e.path, "Bundle");
    let single = json!({"resourceType": "Observation", "status": "final"});
    assert_eq!(
        error(&single, &o).to_string(),
        "Observation: no Patient resource: every supported message needs one for PID"
    );

    let bad_birth = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "birthDate": "1980-02-30"}}]});
    let e = error(&bad_birth, &o);
    assert_eq!(
        e.to_string(),
        "Bundle.entry[0].resource.birthDate: not a valid FHIR date"
    );
    assert_eq!(e.kind, FromFhirErrorKind::InvalidDate { expected: "date" });

    let bad_period = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient"}},
        {"resource": {"resourceType": "Encounter", "status": "in-progress", "period": {"start": "2026-11-24T25:00:00Z"}}}]});
    assert_eq!(
        error(&bad_period, &o).to_string(),
        "Bundle.entry[1].resource.period.start: not a valid FHIR dateTime"
    );

    let forced = FromFhirOptions {
        event: Some("ADT^A05".into()),
        ..options()
    };
    let patient = json!({"resourceType": "Patient"});
    assert_eq!(
        error(&patient, &forced).to_string(),
        "options.event: unsupported event \"ADT^A05\": ADT^A01, ADT^A03, ADT^A04, ADT^A08 and ORU^R01 are supported"
    );
    let header = json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-01-01T00:00:00Z", "entry": [
        {"resource": {"resourceType": "MessageHeader", "eventCoding": {"code": "A40"}}},
        {"resource": {"resourceType": "Patient"}}]});
    let e = error(&header, &o);
    assert_eq!(e.path, "Bundle.entry[0].resource.eventCoding");
    assert_eq!(e.kind, FromFhirErrorKind::UnsupportedEvent("A40".into()));

    assert_eq!(
        error(&json!([1, 2]), &o).to_string(),
        "$: not a FHIR resource: not a JSON object"
    );
    assert_eq!(error(&json!({"a": 1}), &o).path, "$");

    let untimed = FromFhirOptions { now: None, ..options() };
    let e = error(&patient, &untimed);
    assert_eq!(
        (e.path.as_str(), e.kind),
        ("Patient.meta.lastUpdated", FromFhirErrorKind::NoTimestamp)
    );
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]});
    assert_eq!(error(&bundle, &untimed).path, "Bundle.timestamp");
    let updated = json!({"resourceType": "Bundle", "type": "collection", "meta": {"lastUpdated": "2026-03-29T01:30:00Z"},
        "entry": [{"resource": patient}]});
    let m = from_fhir(&updated, &untimed).unwrap().message;
    assert_eq!(field(&m, "MSH", 7), "20260329033000+0200");
}

#[test]
fn events_follow_header_option_and_content() {
    let o = options();
    let bundle = |entries: Value| json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let patient = json!({"resource": {"resourceType": "Patient"}});
    let event = |input: &Value, options: &FromFhirOptions| field(&from_fhir(input, options).unwrap().message, "MSH", 9);
    let arrived = bundle(json!([patient, {"resource": {"resourceType": "Encounter", "status": "arrived"}}]));
    assert_eq!(event(&arrived, &o), "ADT^A01^ADT_A01");
    let ended = bundle(
        json!([patient, {"resource": {"resourceType": "Encounter", "status": "in-progress", "period": {"end": "2026-01-01"}}}]),
    );
    assert_eq!(event(&ended, &o), "ADT^A03^ADT_A03");
    let planned = bundle(json!([patient, {"resource": {"resourceType": "Encounter", "status": "planned"}}]));
    assert_eq!(event(&planned, &o), "ADT^A08^ADT_A01");
    let forced = FromFhirOptions {
        event: Some("ADT^A08".into()),
        ..options()
    };
    assert_eq!(event(&arrived, &forced), "ADT^A08^ADT_A01");
    let header =
        bundle(json!([{"resource": {"resourceType": "MessageHeader", "eventCoding": {"code": "ADT^A03"}}}, patient]));
    assert_eq!(event(&header, &forced), "ADT^A03^ADT_A03");
    let outpatient = bundle(
        json!([patient, {"resource": {"resourceType": "Encounter", "status": "in-progress", "class": {"code": "AMB"}}}]),
    );
    assert_eq!(event(&outpatient, &o), "ADT^A04^ADT_A01");
    let observation = json!({"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}});
    let loose = bundle(json!([patient, observation]));
    assert_eq!(event(&loose, &o), "ORU^R01^ORU_R01");
    let report = json!({"resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "x"}}});
    let visit = json!({"resource": {"resourceType": "Encounter", "status": "in-progress"}});
    assert_eq!(
        event(&bundle(json!([patient, visit, observation, report])), &o),
        "ORU^R01^ORU_R01"
    );
}

/// Issue 17: an admission or registration that carries observations (vital
/// signs in OBX) comes back as the same ADT event, not as ORU^R01, and the
/// observation values keep the decimals the Bundle gave them.
#[test]
fn admissions_with_observations_keep_their_event_and_decimals() {
    let pid = "PID|1||1234567^^^RIJNSTATE^PI~999911120^^^NLMINBIZA^NNNLD||Berg^Johanna^^^^^L||19580312|F\r";
    let obx = "OBX|1|NM|29463-7^Body weight^LN||31.00|kg^kilogram^UCUM|||||F\rOBX|2|NM|8302-2^Body height^LN||1.50|m^meter^UCUM|||||F\r";
    for (trigger, class) in [("A01", "I"), ("A04", "O")] {
        let er7 = format!(
            "MSH|^~\\&|HIS|RIJNSTATE|ZP|ZP|20261124093015+0100||ADT^{trigger}^ADT_A01|EV{trigger}|P|2.5.1\r\
             EVN|{trigger}|20261124093000+0100\r{pid}PV1|1|{class}|AFD3^K12^B1^RIJNSTATE||||||||||||||||V1^^^RIJNSTATE^VN\r{obx}"
        );
        let message = Message::parse(er7.as_bytes(), &Limits::default()).unwrap();
        let bundle: Value =
            serde_json::from_str(&to_fhir(&message, &Options::default()).unwrap().bundle.to_json()).unwrap();
        let back = from_fhir(&bundle, &FromFhirOptions::default()).unwrap().message;
        assert_eq!(field(&back, "MSH", 9), format!("ADT^{trigger}^ADT_A01"), "{back}");
        let values: Vec<String> = back
            .split('\r')
            .filter(|segment| segment.starts_with("OBX|"))
            .map(|segment| segment.split('|').nth(5).unwrap_or_default().to_owned())
            .collect();
        assert_eq!(values, ["31.00", "1.50"], "{back}");
    }
}

#[test]
fn invalid_bsns_and_unreferenced_entries_are_warned_about() {
    let input = json!({"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-01", "entry": [
        {"resource": {"resourceType": "Patient", "identifier": [
            {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "123456789"}]}},
        {"fullUrl": "urn:uuid:x"},
        {"resource": {"resourceType": "Patient", "gender": "male"}}]});
    let out = from_fhir(&input, &options()).unwrap();
    assert_eq!(field(&out.message, "PID", 3), "");
    assert_eq!(field(&out.message, "MSH", 7), "20260101");
    let warnings: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "Bundle.entry[1]: entry without a resource; not carried into HL7 v2",
            "Bundle.entry[0].resource.identifier[0]: BSN fails the 11-check; not carried into HL7 v2",
            "Bundle.entry[2].resource: second Patient not carried into HL7 v2: a message has one PID",
        ]
    );
}

/// JSON values of bounded depth, with strings that include v2 delimiters.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9|^~&\\\\\\-:T+. ]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2026-11-24"),
            Just("2026-11-24T10:00:00Z"),
            Just("urn:uuid:p"),
            Just("Patient/p"),
            Just("http://fhir.nl/fhir/NamingSystem/bsn"),
            Just("999911120"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("reference".to_owned()),
                    Just("value".to_owned()),
                    Just("system".to_owned()),
                    Just("code".to_owned()),
                    Just("coding".to_owned()),
                    Just("family".to_owned()),
                    Just("start".to_owned()),
                    "[a-zA-Z_]{1,8}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn resource() -> impl Strategy<Value = Value> {
    let kinds = prop_oneof![
        Just("Patient"),
        Just("Encounter"),
        Just("Observation"),
        Just("DiagnosticReport"),
        Just("ServiceRequest"),
        Just("Practitioner"),
        Just("Organization"),
        Just("Coverage"),
        Just("RelatedPerson"),
        Just("MessageHeader"),
        Just("Provenance"),
    ];
    let keys = prop_oneof![
        Just("identifier"),
        Just("name"),
        Just("birthDate"),
        Just("_birthDate"),
        Just("gender"),
        Just("telecom"),
        Just("address"),
        Just("generalPractitioner"),
        Just("contact"),
        Just("status"),
        Just("class"),
        Just("period"),
        Just("participant"),
        Just("location"),
        Just("subject"),
        Just("result"),
        Just("basedOn"),
        Just("code"),
        Just("valueQuantity"),
        Just("valueString"),
        Just("component"),
        Just("referenceRange"),
        Just("effectiveDateTime"),
        Just("performer"),
        Just("payor"),
        Just("eventCoding"),
        Just("recorded"),
        Just("note"),
        Just("patient"),
    ];
    (kinds, prop::collection::vec((keys, json_value()), 0..8)).prop_map(|(kind, fields)| {
        let mut map = serde_json::Map::new();
        map.insert("resourceType".into(), Value::from(kind));
        map.insert("id".into(), Value::from("p"));
        for (key, value) in fields {
            map.insert(key.to_owned(), value);
        }
        Value::Object(map)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_panics_on_bundle_shaped_json(
        entries in prop::collection::vec((prop::option::of(Just("urn:uuid:p")), resource()), 0..6),
        timestamp in prop::option::of(json_value()),
    ) {
        let entries: Vec<Value> = entries
            .into_iter()
            .map(|(url, resource)| json!({"fullUrl": url, "resource": resource}))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "timestamp": timestamp, "entry": entries});
        if let Ok(out) = from_fhir(&bundle, &options()) {
            let parsed = Message::parse(out.message.as_bytes(), &Limits::default());
            prop_assert!(parsed.is_ok(), "{:?}: {}", parsed.err(), out.message);
        }
    }
}

/// A receiver's ACK to a message we wrote is read back: code and text.
#[test]
fn acks_to_delivered_messages_are_read() {
    use zorgpoort_hl7v2::{AckCode, AckRequest, Error, ErrorKind, Location, ack, read_ack};
    let (message, _) = convert("admission-nl-core.json");
    let parsed = Message::parse(message.as_bytes(), &Limits::default()).unwrap();
    let accept = ack(
        &parsed,
        AckRequest {
            code: AckCode::Accept,
            error: None,
            control_id: "A1",
            timestamp: "20261124093016",
            text: None,
        },
    );
    assert_eq!(read_ack(accept.as_bytes()).unwrap(), (AckCode::Accept, None));
    let error = Error::at(Location::segment("PID", 1).with_field(7), ErrorKind::MissingField);
    let rejected = ack(
        &parsed,
        AckRequest {
            code: AckCode::Error,
            error: Some(&error),
            control_id: "A2",
            timestamp: "20261124093016",
            text: None,
        },
    );
    assert_eq!(
        read_ack(rejected.as_bytes()).unwrap(),
        (AckCode::Error, Some("required field is empty".to_owned()))
    );
    assert!(read_ack(b"not hl7").is_err());
}
