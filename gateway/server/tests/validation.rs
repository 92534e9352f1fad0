//! `$validate` and the `[validation] mode` pipeline step, over HTTP.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_server::Config;

/// The one organisation of the test region, which every request names.
const CALLER: &str = "[[organization]]\nid = \"privacy\"\nname = \"Privacy officer\"\nkind = \"huisarts\"\n\
                      consent_recorder = true\naudit_reader = true\n";

async fn start(name: &str, mode: &str) -> zorgpoort_server::Gateway {
    let dir = std::env::temp_dir().join(format!("zorgpoort-validation-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n\
         [validation]\nmode = \"{mode}\"\n\n{CALLER}",
        dir.display()
    );
    zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap()
}

/// POSTs `body` and returns the status code and the JSON answer.
async fn post(gateway: &zorgpoort_server::Gateway, path: &str, media_type: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(gateway.http_addr()).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-Zorgpoort-Requester: privacy\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
    (
        status,
        serde_json::from_slice(&response[split + 4..]).unwrap_or(Value::Null),
    )
}

async fn get(gateway: &zorgpoort_server::Gateway, path: &str) -> Value {
    let mut stream = TcpStream::connect(gateway.http_addr()).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Zorgpoort-Requester: privacy\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&response[split + 4..]).unwrap()
}

/// The issues of an OperationOutcome that are errors.
fn errors(outcome: &Value) -> Vec<&Value> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| matches!(i["severity"].as_str(), Some("error" | "fatal")))
        .collect()
}

/// Where the errors are (warnings, such as dom-6 on a resource without
/// narrative, left out).
fn expressions(outcome: &Value) -> Vec<&str> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error")
        .filter_map(|i| i["expression"][0].as_str())
        .collect()
}

const PATIENT_XML: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../conformance-tests/corpora/nl-core/examples/nl-core-Patient-01.xml"
);

#[tokio::test]
async fn validate_answers_an_operation_outcome_for_json_xml_and_parameters() {
    let gateway = start("operation", "warn").await;
    let xml = std::fs::read(PATIENT_XML).unwrap();
    let (status, outcome) = post(&gateway, "/fhir/Patient/$validate", "application/fhir+xml", &xml).await;
    assert_eq!(status, 200);
    assert_eq!(outcome["issue"][0]["severity"], "information", "{outcome}");

    let invalid = json!({ "resourceType": "Patient", "birthDate": "1934-02-30", "nickname": "Jo" });
    let (status, outcome) = post(
        &gateway,
        "/fhir/$validate",
        "application/fhir+json",
        invalid.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        expressions(&outcome),
        ["Patient.nickname", "Patient.birthDate"],
        "{outcome}"
    );
    // Besides the errors only the narrative warning (dom-6).
    assert!(
        outcome["issue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["severity"] == "error" || i["diagnostics"].as_str().unwrap().starts_with("dom-6")),
        "{outcome}"
    );

    let parameters = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "resource", "resource": { "resourceType": "Observation", "status": "final", "code": { "text": "x" } } },
        { "name": "profile", "valueCanonical": "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient" },
    ]});
    let (status, outcome) = post(
        &gateway,
        "/fhir/$validate",
        "application/json",
        parameters.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let issues = outcome["issue"].as_array().unwrap();
    assert!(
        issues.iter().any(|i| i["diagnostics"]
            .as_str()
            .unwrap()
            .contains("constrains Patient, not Observation")),
        "{outcome}"
    );

    let audit = get(&gateway, "/fhir/AuditEvent?patient=111222333").await;
    let events = audit["entry"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "the validation of the BSN-bearing Patient is audited: {audit}"
    );
    assert_eq!(events[0]["resource"]["subtype"][0]["code"], "validate", "{audit}");

    let unknown = "/fhir/Patient/$validate?profile=http%3A%2F%2Fexample.org%2FStructureDefinition%2Fx";
    let (_, outcome) = post(&gateway, unknown, "application/fhir+xml", &xml).await;
    let issues = outcome["issue"].as_array().unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i["severity"] == "error" && i["code"] == "not-supported"),
        "{outcome}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn validate_refuses_what_it_cannot_read() {
    let gateway = start("unreadable", "warn").await;
    let xml = std::fs::read(PATIENT_XML).unwrap();
    let (status, outcome) = post(&gateway, "/fhir/Consent/$validate", "application/fhir+xml", &xml).await;
    assert_eq!(status, 422);
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("the resource is a Patient")
    );
    let (status, _) = post(&gateway, "/fhir/$validate", "text/plain", b"{}").await;
    assert_eq!(status, 415);
    let (status, outcome) = post(
        &gateway,
        "/fhir/$validate",
        "application/fhir+xml",
        b"<Patient xmlns=\"http://hl7.org/fhir\"><foo/></Patient>",
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        outcome["issue"][0]["diagnostics"].as_str().unwrap().contains("line 1"),
        "{outcome}"
    );
    gateway.shutdown().await;
}

/// A Consent `read_consent` accepts but R4 does not: `scope` and
/// `category` are required, and `nickname` is no element.
fn nonconformant_consent() -> Vec<u8> {
    json!({
        "resourceType": "Consent", "status": "active", "nickname": "x",
        "patient": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" } },
        "provision": { "type": "deny" },
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn reject_mode_refuses_incoming_fhir_with_every_finding() {
    let gateway = start("reject", "reject").await;
    let (status, outcome) = post(
        &gateway,
        "/fhir/Consent",
        "application/fhir+json",
        &nonconformant_consent(),
    )
    .await;
    assert_eq!(status, 422, "{outcome}");
    let found = expressions(&outcome);
    for expected in ["Consent.nickname", "Consent.scope", "Consent.category"] {
        assert!(found.contains(&expected), "{expected} missing from {found:?}");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn warn_mode_passes_it_on() {
    let gateway = start("warn", "warn").await;
    let (status, outcome) = post(
        &gateway,
        "/fhir/Consent",
        "application/fhir+json",
        &nonconformant_consent(),
    )
    .await;
    assert_eq!(status, 201, "{outcome}");
    gateway.shutdown().await;
}

/// The Consents the README records, as a region with `mode = "reject"`
/// would check them.
#[tokio::test]
async fn the_readme_consents_are_valid_r4_and_nl_core() {
    let gateway = start("readme-consents", "reject").await;
    let readme = include_str!("../../../README.md");
    let consents: Vec<&str> = readme
        .lines()
        .filter(|line| line.contains("/fhir/Consent"))
        .filter_map(|line| line.split_once(" -d '").map(|(_, body)| body.trim_end_matches('\'')))
        .collect();
    assert_eq!(consents.len(), 2, "the README records a deny and a permit");
    for consent in &consents {
        let (status, outcome) = post(
            &gateway,
            "/fhir/Consent/$validate",
            "application/fhir+json",
            consent.as_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{outcome}");
        let errors = errors(&outcome);
        assert!(errors.is_empty(), "{errors:?}");
    }
    let (status, outcome) = post(
        &gateway,
        "/fhir/Consent",
        "application/fhir+json",
        consents[0].as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "recorded in reject mode: {outcome}");
    gateway.shutdown().await;
}

/// Issue 17: the gateway's own CapabilityStatement (`fhirVersion` 4.0.1)
/// passes its own `$validate`; the embedded schema's enumeration was from
/// 4.0.0 and refused it.
#[tokio::test]
async fn the_gateways_own_capability_statement_passes_its_validate() {
    let gateway = start("metadata", "reject").await;
    let metadata = get(&gateway, "/fhir/metadata").await;
    assert_eq!(metadata["fhirVersion"], "4.0.1");
    let (status, outcome) = post(
        &gateway,
        "/fhir/$validate",
        "application/fhir+json",
        metadata.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{outcome}");
    let errors = errors(&outcome);
    assert!(errors.is_empty(), "{errors:?}");
    gateway.shutdown().await;
}
