//! The FHIR API against its own CapabilityStatement: every search it lists
//! answers, every parameter it lists is taken, what it does not list is an
//! error (never an empty 200), and it answers JSON or 406.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zorgpoort_server::Config;

const BSN: &str = "http://fhir.nl/fhir/NamingSystem/bsn|999911120";
/// A patient's data without a treating relationship: break the glass.
const EMERGENCY: &str = "X-Purpose-Of-Use: emergency\r\nX-Break-The-Glass-Reason: conformance test\r\n";

async fn start(name: &str) -> zorgpoort_server::Gateway {
    let dir = std::env::temp_dir().join(format!("zorgpoort-fhir-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n\
         [[organization]]\nid = \"privacy\"\nname = \"Spoedeisende hulp\"\nkind = \"ziekenhuis\"\naudit_reader = true\nbreak_the_glass = true\n",
        dir.display()
    );
    zorgpoort_server::start(Config::load(Some(&config), []).unwrap())
        .await
        .unwrap()
}

/// GETs `path` with extra header lines; the status and the JSON answer.
async fn get(gateway: &zorgpoort_server::Gateway, path: &str, headers: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(gateway.http_addr()).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nX-Zorgpoort-Requester: privacy\r\n{headers}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
    (
        status,
        serde_json::from_slice(&response[split + 4..]).unwrap_or(Value::Null),
    )
}

fn diagnostics(outcome: &Value) -> String {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The patient parameter of a search as the statement lists it: the
/// Patient's `identifier`; `patient` as a reference, chained to the BSN
/// (`patient.identifier`, the BgZ; also on Consent, whose `patient` is a
/// token as well); `patient` as a token (the BSN); none when not listed.
fn patient_parameter(resource: &Value) -> String {
    let parameters = resource["searchParam"].as_array().cloned().unwrap_or_default();
    let kind = |name: &str| parameters.iter().find(|p| p["name"] == name).map(|p| p["type"].clone());
    let bgz = kind("category").is_some();
    match (kind("identifier"), kind("patient")) {
        (Some(_), _) => format!("identifier={BSN}"),
        (None, Some(kind)) if kind == "reference" || bgz => format!("patient.identifier={BSN}"),
        (None, Some(_)) => format!("patient={BSN}"),
        (None, None) => String::new(),
    }
}

#[tokio::test]
async fn every_search_and_parameter_the_statement_lists_answers() {
    let gateway = start("listed").await;
    let (status, statement) = get(&gateway, "/fhir/metadata", "").await;
    assert_eq!(status, 200);
    let resources = statement["rest"][0]["resource"].as_array().unwrap();
    let types: Vec<&str> = resources.iter().map(|r| r["type"].as_str().unwrap()).collect();
    for expected in [
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "Task",
        "AuditEvent",
        "Consent",
    ] {
        assert!(types.contains(&expected), "{expected} missing from {types:?}");
    }
    let mut searched = 0;
    for resource in resources {
        let resource_type = resource["type"].as_str().unwrap();
        let interactions: Vec<&str> = resource["interaction"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        if !interactions.contains(&"search-type") {
            continue;
        }
        let parameters: Vec<&str> = resource["searchParam"]
            .as_array()
            .map(|p| p.iter().map(|p| p["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        let patient = patient_parameter(resource);
        let (status, answer) = get(&gateway, &format!("/fhir/{resource_type}?{patient}"), EMERGENCY).await;
        assert_eq!(status, 200, "{resource_type}?{patient}: {answer}");
        assert_eq!(answer["type"], "searchset", "{resource_type}: {answer}");
        searched += 1;
        // Each listed token parameter is taken (not refused as unknown).
        for parameter in &parameters {
            if ["category", "code", "status", "class"].contains(parameter) {
                let path = format!("/fhir/{resource_type}?{patient}&{parameter}=x");
                let (status, answer) = get(&gateway, &path, EMERGENCY).await;
                assert_eq!(status, 200, "{path}: {answer}");
            }
        }
        if resource["operation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "lastn")
        {
            let (status, answer) = get(
                &gateway,
                &format!("/fhir/{resource_type}/$lastn?{patient}&max=2"),
                EMERGENCY,
            )
            .await;
            assert_eq!(status, 200, "$lastn: {answer}");
        }
    }
    assert!(searched >= 20, "only {searched} searches listed");
    let system_operations = statement["rest"][0]["operation"].as_array().unwrap();
    assert!(system_operations.iter().any(|o| o["name"] == "validate"), "{statement}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn what_the_statement_does_not_list_is_an_error_not_an_empty_answer() {
    let gateway = start("unlisted").await;
    for (path, status, names) in [
        ("/fhir/Basic?patient.identifier=x", 404, "Basic"),
        ("/fhir/NoSuchType", 404, "NoSuchType"),
        (
            &*format!("/fhir/Condition?patient.identifier={BSN}&onset-date=ge2020"),
            422,
            "onset-date",
        ),
        (&*format!("/fhir/Patient?identifier={BSN}&name=Jansen"), 422, "name"),
        (&*format!("/fhir/AuditEvent?patient={BSN}&agent=x"), 422, "agent"),
        ("/fhir/Task?focus=Bundle/1", 422, "focus"),
        ("/fhir/Endpoint?organization=x", 422, "organization"),
        (&*format!("/fhir/Consent?patient={BSN}&_count=3"), 422, "_count"),
        (
            &*format!("/fhir/Consent?patient.identifier={BSN}&scope=x"),
            422,
            "scope",
        ),
        ("/fhir/Organization?name=x", 422, "name"),
    ] {
        let (got, outcome) = get(&gateway, path, "").await;
        assert_eq!(got, status, "{path}: {outcome}");
        let said = format!("{} {}", diagnostics(&outcome), outcome["issue"][0]["expression"]);
        assert!(said.contains(names), "{path}: {said}");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_accept_that_allows_no_json_gets_406_never_json_silently() {
    let gateway = start("accept").await;
    for (path, headers) in [
        ("/fhir/metadata", "Accept: application/fhir+xml\r\n"),
        ("/fhir/Task", "Accept: application/fhir+xml\r\n"),
        ("/fhir/metadata?_format=xml", ""),
        ("/fhir/Task?_format=application/fhir%2Bxml", ""),
        ("/fhir/metadata", "Accept: application/json;q=0\r\n"),
    ] {
        let (status, outcome) = get(&gateway, path, headers).await;
        assert_eq!(status, 406, "{path} {headers}: {outcome}");
        assert!(diagnostics(&outcome).contains("JSON"), "{outcome}");
    }
    for (path, headers) in [
        ("/fhir/metadata", "Accept: application/fhir+json\r\n"),
        (
            "/fhir/metadata",
            "Accept: text/html,application/xml;q=0.9,*/*;q=0.8\r\n",
        ),
        ("/fhir/metadata?_format=json", ""),
        // `_format` is taken here, so the Task search does not see it as a parameter.
        ("/fhir/Task?_format=application/fhir%2Bjson&status=ready", ""),
    ] {
        let (status, answer) = get(&gateway, path, headers).await;
        assert_eq!(status, 200, "{path} {headers}: {answer}");
    }
    gateway.shutdown().await;
}
