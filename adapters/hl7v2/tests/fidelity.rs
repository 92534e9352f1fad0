//! Clinical fidelity on fixtures of our own (`tests/fixtures/fidelity`):
//! one bad field costs that field, not the message; damaged structure and
//! a missing patient refuse the message with a located error; text
//! results, specimens and coding systems are kept.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Converted, convert_bytes, fixtures, resources};
use serde_json::Value;
use zorgpoort_hl7v2::{Limits, LocalCodeSystems, Message, Options, to_fhir};
use zorgpoort_model::Warning;
use zorgpoort_model::systems::{AGB, LOINC, SNOMED};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("fidelity").join(name)).unwrap()
}

/// The results of every message in the fixture.
fn convert_all(name: &str) -> Vec<Result<Converted, zorgpoort_hl7v2::Error>> {
    convert_bytes(&read(name))
}

/// The one message of a fixture that must convert.
fn convert(name: &str) -> (Value, Vec<Warning>) {
    let mut results = convert_all(name);
    assert_eq!(results.len(), 1, "{name}");
    let converted = results.remove(0).unwrap_or_else(|e| panic!("{name}: {e}"));
    (serde_json::from_str(&converted.json).unwrap(), converted.warnings)
}

fn warning<'w>(warnings: &'w [Warning], location: &str) -> &'w Warning {
    warnings
        .iter()
        .find(|w| w.location == location)
        .unwrap_or_else(|| panic!("no warning at {location}: {warnings:?}"))
}

fn codes(resources: &[&Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["code"]["coding"][0]["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn an_impossible_report_time_costs_that_field_not_the_results() {
    let (bundle, warnings) = convert("oru-impossible-report-time.hl7");
    let observations = resources(&bundle, "Observation");
    assert_eq!(codes(&observations), ["718-7", "6690-2", "777-3", "4544-3"]);
    let report = resources(&bundle, "DiagnosticReport")[0];
    assert!(report.get("issued").is_none(), "{report}");
    assert_eq!(report["result"].as_array().unwrap().len(), 4);
    assert_eq!(report["effectiveDateTime"], "2026-03-02T08:00:00+01:00");
    let warning = warning(&warnings, "OBR-22");
    assert_eq!(warning.message, "not a valid HL7 v2 date or time; left out");
    assert!(
        !bundle.to_string().contains("2017"),
        "nothing guessed from the bad value"
    );
}

#[test]
fn a_birth_date_that_is_no_date_is_left_out_with_a_warning() {
    let results = convert_all("adt-birth-date-as-text.hl7");
    assert_eq!(results.len(), 2);
    for result in results {
        let converted = result.unwrap();
        let bundle: Value = serde_json::from_str(&converted.json).unwrap();
        let patient = resources(&bundle, "Patient")[0];
        assert!(patient.get("birthDate").is_none(), "{patient}");
        assert!(patient["identifier"].as_array().unwrap().len() == 2);
        let warning = warning(&converted.warnings, "PID-7");
        assert!(!warning.message.contains("DOB") && !warning.message.contains("2024"));
    }
}

#[test]
fn a_line_break_inside_a_field_is_joined_back_with_a_warning() {
    let (bundle, warnings) = convert("oru-line-break-in-obr4.hl7");
    let order = resources(&bundle, "ServiceRequest")[0];
    assert_eq!(order["code"]["coding"][0]["system"], LOINC);
    assert_eq!(order["code"]["coding"][0]["display"], "Comprehensive metabolic\npanel");
    // OBR-7 and OBR-16 come after the break and are kept.
    assert_eq!(order["occurrenceDateTime"], "2026-03-03T09:00:00+01:00");
    assert_eq!(order["requester"]["display"], "Eva Jansen");
    assert!(
        warning(&warnings, "OBR-4")
            .message
            .starts_with("line break inside the field")
    );
    assert!(
        !warnings.iter().any(|w| w.message.contains("segment not mapped")),
        "{warnings:?}"
    );
    assert_eq!(resources(&bundle, "Observation").len(), 1);
}

#[test]
fn a_segment_shaped_line_with_a_bad_id_refuses_the_message() {
    let error = Message::parse(&read("oru-damaged-segment-id.hl7"), &Limits::default()).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("line 5 (byte ") && text.contains(r#""Obx" is not a segment id"#),
        "{text}"
    );
}

#[test]
fn text_lines_without_a_code_are_the_reports_conclusion() {
    let (bundle, warnings) = convert("oru-text-report-without-codes.hl7");
    assert!(resources(&bundle, "Observation").is_empty());
    let report = resources(&bundle, "DiagnosticReport")[0];
    assert_eq!(
        report["conclusion"],
        "Thorax in twee richtingen.\nGeen infiltraten, geen pleuravocht.\nConclusie: geen afwijkingen."
    );
    assert!(!warnings.iter().any(|w| w.location.starts_with("OBX")), "{warnings:?}");
}

#[test]
fn orders_and_results_without_an_identified_patient_are_refused() {
    let errors: Vec<String> = convert_all("no-identified-patient.hl7")
        .into_iter()
        .map(|r| r.unwrap_err().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "msg 1: PID: ORM^O01 needs an identified patient: the message has no PID segment",
            "msg 2: PID-3: ORU^R01 needs an identified patient: no usable patient identifier in PID-3 (or PID-2, PID-4)",
        ]
    );
}

/// A message with a PID per patient (ADT^A40 merging two patients) is one
/// Bundle with a Patient each by default; with `one_patient`, as the
/// gateway converts, it is refused at the second PID.
#[test]
fn a_second_patient_is_refused_when_one_patient_is_asked_for() {
    let text = "MSH|^~\\&|HIS|RIJNSTATE|||20261124093015+0100||ADT^A40^ADT_A39|MERGE2|P|2.5\r\
        PID|1||4711^^^RIJNSTATE^PI||Jansen^Piet||19800101|M\r\
        MRG|4700^^^RIJNSTATE^PI\r\
        PID|2||4712^^^RIJNSTATE^PI||Kok^Anna||19750303|F\r\
        MRG|4701^^^RIJNSTATE^PI\r";
    let message = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
    let bundle: Value =
        serde_json::from_str(&to_fhir(&message, &Options::default()).unwrap().bundle.to_json()).unwrap();
    let patients = serde_json::to_string(&resources(&bundle, "Patient")).unwrap();
    assert!(patients.contains("4711") && patients.contains("4712"), "{patients}");

    let one_patient = Options {
        one_patient: true,
        ..Options::default()
    };
    let error = to_fhir(&message, &one_patient).unwrap_err();
    assert_eq!(
        error.to_string(),
        "PID#2: ADT^A40 is about more than one patient (a second PID); send one message per patient"
    );
}

/// The ids of the specimens a resource references.
fn specimen_refs(resource: &Value) -> Vec<String> {
    let refs = match &resource["specimen"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    refs.iter()
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn specimens_become_specimen_resources_linked_to_their_results() {
    let (bundle, _) = convert("oru-specimens.hl7");
    let specimens = resources(&bundle, "Specimen");
    assert_eq!(specimens.len(), 2);
    let serum = specimens[0];
    assert_eq!(serum["type"]["coding"][0]["system"], SNOMED);
    assert_eq!(serum["type"]["coding"][0]["code"], "119364003");
    assert_eq!(
        serum["collection"]["collectedPeriod"]["start"],
        "2026-03-06T08:15:00+01:00"
    );
    assert_eq!(
        serum["collection"]["collectedPeriod"]["end"],
        "2026-03-06T08:20:00+01:00"
    );
    assert_eq!(serum["collection"]["bodySite"]["coding"][0]["code"], "368208006");
    assert_eq!(serum["receivedTime"], "2026-03-06T09:30:00+01:00");
    assert_eq!(serum["identifier"][0]["value"], "S2007");
    assert_eq!(serum["identifier"][1]["value"], "M2007");
    assert!(serum["subject"]["reference"].is_string());
    let url = |n: usize| {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["id"] == specimens[n]["id"])
            .unwrap()["fullUrl"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let observations = resources(&bundle, "Observation");
    let linked: Vec<Vec<String>> = observations.iter().map(|o| specimen_refs(o)).collect();
    assert_eq!(
        linked,
        [vec![url(0)], vec![url(0)], vec![url(0)], vec![url(1)]],
        "results of the first order on the serum, the urine result on the urine"
    );
    let reports = resources(&bundle, "DiagnosticReport");
    assert_eq!(specimen_refs(reports[0]), [url(0)]);
    assert_eq!(specimen_refs(reports[1]), [url(1)]);
}

#[test]
fn coding_systems_from_table_0396_oids_and_the_senders_local_tables() {
    let (bundle, warnings) = convert("oru-coding-systems.hl7");
    let observations = resources(&bundle, "Observation");
    assert_eq!(observations[0]["code"]["coding"][0]["system"], LOINC);
    assert!(observations[1]["code"]["coding"][0].get("system").is_none());
    assert_eq!(observations[1]["code"]["coding"][1]["system"], LOINC);
    assert!(observations[2]["code"]["coding"][0].get("system").is_none());
    assert_eq!(
        observations[2]["valueCodeableConcept"]["coding"][0]["system"],
        "urn:oid:1.2.3.4.5.6"
    );
    // One warning per unknown name, though 99ZLAB is used twice.
    let unknown: Vec<&str> = warnings
        .iter()
        .filter(|w| w.message.starts_with("coding system"))
        .map(|w| w.location.as_str())
        .collect();
    assert_eq!(unknown, ["OBR-4", "OBX#3-3"]);

    // With the sender's local tables known, they get their systems.
    let bytes = read("oru-coding-systems.hl7");
    let message = Message::parse(&bytes, &Limits::default()).unwrap();
    let local = LocalCodeSystems::new()
        .with("99ZLAB", "https://lab.rijnstate.example/fhir/CodeSystem/tests")
        .with("L", "https://lab.rijnstate.example/fhir/CodeSystem/flags");
    let options = Options {
        local_codes: local,
        ..Options::default()
    };
    let conversion = to_fhir(&message, &options).unwrap();
    let bundle: Value = serde_json::from_str(&conversion.bundle.to_json()).unwrap();
    let observations = resources(&bundle, "Observation");
    assert_eq!(
        observations[1]["code"]["coding"][0]["system"],
        "https://lab.rijnstate.example/fhir/CodeSystem/tests"
    );
    assert_eq!(
        observations[2]["code"]["coding"][0]["system"],
        "https://lab.rijnstate.example/fhir/CodeSystem/flags"
    );
    assert!(
        !conversion
            .warnings
            .iter()
            .any(|w| w.message.starts_with("coding system"))
    );
}

#[test]
fn the_practice_agb_gets_its_system_and_names_have_text() {
    let (bundle, warnings) = convert("adt-gp-practice-without-authority.hl7");
    let practice = resources(&bundle, "Organization")[0];
    assert_eq!(practice["identifier"][0]["system"], AGB);
    assert_eq!(practice["identifier"][0]["value"], "01045678");
    assert!(warning(&warnings, "PD1-3").message.contains("AGB"));
    let patient = resources(&bundle, "Patient")[0];
    assert_eq!(patient["name"][0]["text"], "Anna M. van der Meer");
    let gp = resources(&bundle, "Practitioner")[0];
    assert_eq!(gp["name"][0]["text"], "Joost de Wit");
}
