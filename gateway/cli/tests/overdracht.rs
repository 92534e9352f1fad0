//! eOverdracht between separate processes over HTTP: a hospital hands a
//! nursing transfer (a CDA document) over to a nursing home through
//! `zorgpoort serve`. The nursing home is notified at its own FHIR server,
//! reads the Task and the document through the gateway and accepts; a second
//! home rejects; a third never picks up and the Task is flagged; the
//! patient's choices stop a handover when it is asked for and when the
//! document is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Gateway, Receiver, organization, server_section, temp_dir, wait_until};
use serde_json::{Value, json};

fn config(receiver: std::net::SocketAddr, data_dir: &Path) -> String {
    let nursing_home =
        |id: &str, name: &str, endpoint: Option<(&str, &str)>| organization(id, name, "vvt", "", endpoint);
    [
        server_section(data_dir),
        // Long enough that a receiver acts before it even when the machine is
        // loaded (a flag meanwhile would make its update a 409), short enough
        // for the not-picked-up case below.
        format!("[handover]\npickup_timeout_secs = {PICKUP_SECS}\npoll_interval_ms = 50\n\n"),
        organization(
            "oudegracht",
            "Ziekenhuis Oudegracht",
            "ziekenhuis",
            "ura = \"00005678\"\nsenders = [\"HIS/OUDEGRACHT\"]\nconsent_recorder = true",
            None,
        ),
        nursing_home(
            "de-linde",
            "Verpleeghuis De Linde",
            Some(("fhir-r4", &format!("http://{receiver}/fhir"))),
        ),
        nursing_home("de-eik", "Verpleeghuis De Eik", None),
        nursing_home("de-beuk", "Verpleeghuis De Beuk", None),
        nursing_home(
            "de-es",
            "Verpleeghuis De Es",
            Some(("fhir-stu3", &format!("http://{receiver}/stu3"))),
        ),
        nursing_home("de-wilg", "Verpleeghuis De Wilg", None),
        organization("huisarts-jansen", "Huisartsenpraktijk Jansen", "huisarts", "", None),
        // Documents and messages are handed over to De Wilg on the sender's behalf.
        "[[route]]\nto = [\"de-wilg\"]\nhandover = true\n".to_owned(),
    ]
    .concat()
}

/// Seconds a receiver has to pick a handover up before it is flagged.
const PICKUP_SECS: u64 = 5;

/// The patient of the nursing-transfer fixture.
const BSN: &str = "999993653";

struct Region {
    gateway: Gateway,
    receiver: Receiver,
}

impl Region {
    fn start(name: &str) -> Self {
        let receiver = Receiver::start(201);
        let dir = temp_dir(name);
        let config_path = dir.join("zorgpoort.toml");
        std::fs::write(&config_path, config(receiver.address, &dir.join("data"))).unwrap();
        Self {
            gateway: Gateway::start(&config_path),
            receiver,
        }
    }

    /// A request as organisation `org`: status and JSON body.
    fn call(&self, org: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let (status, _, text) = self.gateway.http_with(
            method,
            path,
            &[
                ("Content-Type", "application/fhir+json"),
                ("X-Zorgpoort-Requester", org),
            ],
            body.as_bytes(),
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The nursing transfer accepted as a CDA document: its Bundle id.
    fn transfer_document(&self) -> String {
        let cda = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../adapters/cda/tests/fixtures/overdracht-verpleegkundig.xml"),
        )
        .unwrap();
        let (status, head, body) = self.gateway.http("POST", "/messages/cda", "application/xml", &cda);
        assert_eq!(status, 202, "{body}");
        head.lines()
            .find_map(|l| l.strip_prefix("location: /messages/"))
            .unwrap()
            .to_owned()
    }

    /// Asks for a handover of `document` to `owner`.
    fn hand_over(&self, document: &str, owner: &str) -> (u16, Value) {
        let task = json!({
            "resourceType": "Task",
            "status": "requested",
            "intent": "proposal",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "308292007" }] },
            "for": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN } },
            "requester": { "reference": "Organization/oudegracht" },
            "owner": { "reference": format!("Organization/{owner}") },
            "focus": { "reference": format!("Bundle/{document}") }
        });
        self.call("oudegracht", "POST", "/fhir/Task", Some(&task))
    }

    fn set_status(&self, org: &str, task: &str, status: &str, reason: Option<&str>) -> (u16, Value) {
        let mut body = json!({ "resourceType": "Task", "id": task, "status": status });
        if let Some(reason) = reason {
            body["statusReason"] = json!({ "text": reason });
        }
        self.call(org, "PUT", &format!("/fhir/Task/{task}"), Some(&body))
    }
}

fn composition_path(task: &Value) -> String {
    let reference = task
        .pointer("/input/0/valueReference/reference")
        .and_then(Value::as_str)
        .unwrap();
    format!("/fhir/{reference}/$document")
}

#[test]
#[allow(clippy::too_many_lines)] // one handover, told in order
fn a_handover_is_notified_read_accepted_and_seen_by_the_sender() {
    let region = Region::start("overdracht");
    let document = region.transfer_document();

    let (status, task) = region.hand_over(&document, "de-linde");
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["status"], "requested");
    assert_eq!(task["for"]["identifier"]["value"], BSN);
    let id = task["id"].as_str().unwrap().to_owned();
    let (again, same) = region.hand_over(&document, "de-linde");
    assert_eq!(
        (again, &same["id"]),
        (200, &task["id"]),
        "a resent Task finds the handover"
    );

    // The notification reaches the nursing home's own server, without patient data.
    assert!(wait_until(Duration::from_secs(10), || !region
        .receiver
        .received()
        .is_empty()));
    let notifications = region.receiver.received();
    assert_eq!(notifications.len(), 1);
    assert!(!notifications[0].contains(BSN), "{}", notifications[0]);
    let notification: Value = serde_json::from_str(&notifications[0]).unwrap();
    let task_url = notification["basedOn"][0]["reference"].as_str().unwrap();
    assert_eq!(task_url, format!("http://{}/fhir/Task/{id}", region.gateway.http));

    // The nursing home reads the Task and the document through the gateway.
    let task_path = format!("/fhir/Task/{id}");
    let (status, read) = region.call("de-linde", "GET", &task_path, None);
    assert_eq!(status, 200, "{read}");
    let (status, bundle) = region.call("de-linde", "GET", &composition_path(&read), None);
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["type"], "document");
    assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "Composition");
    let composition_read = composition_path(&read).replace("/$document", "");
    let (status, composition) = region.call("de-linde", "GET", &composition_read, None);
    assert_eq!(status, 200, "{composition}");
    assert_eq!(composition, bundle["entry"][0]["resource"]);

    // Nobody else sees either.
    let (status, _) = region.call("huisarts-jansen", "GET", &task_path, None);
    assert_eq!(status, 404);
    let (status, _) = region.call("huisarts-jansen", "GET", &composition_path(&read), None);
    assert_eq!(status, 404);

    // The receiver accepts; the sender cannot accept for it, and sees the state.
    let (status, outcome) = region.set_status("oudegracht", &id, "accepted", None);
    assert_eq!(status, 422, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], "Task.status");
    let (status, accepted) = region.set_status("de-linde", &id, "accepted", None);
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["meta"]["versionId"], "3", "created, notified, accepted");
    let (_, seen) = region.call("oudegracht", "GET", &task_path, None);
    assert_eq!(seen["status"], "accepted");
    let (status, found) = region.call("oudegracht", "GET", "/fhir/Task?status=accepted&owner=de-linde", None);
    assert_eq!(status, 200);
    assert_eq!(found["total"], 1, "{found}");

    // A stale If-Match loses; the receiver completes with the current version.
    let (status, _, _) = region.gateway.http_with(
        "PUT",
        &task_path,
        &[
            ("Content-Type", "application/fhir+json"),
            ("X-Zorgpoort-Requester", "de-linde"),
            ("If-Match", "W/\"2\""),
        ],
        json!({ "resourceType": "Task", "status": "completed" })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 412);
    let (status, done) = region.set_status("de-linde", &id, "completed", None);
    assert_eq!((status, &done["status"]), (200, &json!("completed")));
    assert!(
        !wait_until(Duration::from_millis(PICKUP_SECS * 1000 + 500), || {
            region
                .call("oudegracht", "GET", &task_path, None)
                .1
                .get("businessStatus")
                .is_some()
        }),
        "a handover picked up is never flagged"
    );
}

#[test]
fn a_rejected_handover_closes_the_document_and_one_not_picked_up_is_flagged() {
    let region = Region::start("overdracht-reject");
    let document = region.transfer_document();

    let (status, task) = region.hand_over(&document, "de-eik");
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap();
    let (status, rejected) = region.set_status("de-eik", id, "rejected", Some("geen plek op de afdeling"));
    assert_eq!(status, 200, "{rejected}");
    let (_, seen) = region.call("oudegracht", "GET", &format!("/fhir/Task/{id}"), None);
    assert_eq!(seen["status"], "rejected");
    assert_eq!(seen["statusReason"]["text"], "geen plek op de afdeling");
    let (status, _) = region.call("de-eik", "GET", &composition_path(&seen), None);
    assert_eq!(status, 403, "a rejected handover's document is no longer shared");
    let (status, _) = region.set_status("de-eik", id, "accepted", None);
    assert_eq!(status, 422, "rejected is final");

    let (status, waiting) = region.hand_over(&document, "de-beuk");
    assert_eq!(status, 201, "{waiting}");
    let path = format!("/fhir/Task/{}", waiting["id"].as_str().unwrap());
    assert!(wait_until(Duration::from_secs(PICKUP_SECS * 4), || {
        region.call("oudegracht", "GET", &path, None).1["businessStatus"]["text"] == "not picked up in time"
    }));
    let (_, flagged) = region.call("oudegracht", "GET", &path, None);
    assert_eq!(flagged["status"], "requested", "flagged, still open for the receiver");
}

fn deny_everything() -> Value {
    json!({
        "resourceType": "Consent",
        "id": "geen-overdracht",
        "status": "active",
        "patient": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN } },
        "provision": { "type": "deny" }
    })
}

#[test]
fn the_patients_choices_stop_a_handover_when_asked_and_when_read() {
    let region = Region::start("overdracht-consent");
    let document = region.transfer_document();
    let (status, task) = region.hand_over(&document, "de-linde");
    assert_eq!(status, 201, "{task}");

    let (status, recorded) = region.call("oudegracht", "POST", "/fhir/Consent", Some(&deny_everything()));
    assert_eq!(status, 201, "{recorded}");

    // The document already handed over is no longer readable...
    let (status, outcome) = region.call("de-linde", "GET", &composition_path(&task), None);
    assert_eq!(status, 403, "{outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("deny:geen-overdracht")
    );
    // ...and a new handover is refused before anyone is told.
    let (status, outcome) = region.hand_over(&document, "de-eik");
    assert_eq!(status, 403, "{outcome}");
    let (_, found) = region.call("de-eik", "GET", "/fhir/Task", None);
    assert_eq!(found["total"], 0, "{found}");
}

#[test]
fn a_task_that_cannot_be_taken_is_refused_with_its_location() {
    let region = Region::start("overdracht-invalid");
    let document = region.transfer_document();
    let mut task = json!({
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "308292007" }] },
        "requester": { "reference": "Organization/oudegracht" },
        "owner": { "reference": "Organization/de-linde" },
        "focus": { "reference": "Bundle/does-not-exist" }
    });
    let (status, outcome) = region.call("oudegracht", "POST", "/fhir/Task", Some(&task));
    assert_eq!(status, 422, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], "Task.focus");

    task["focus"]["reference"] = json!(format!("Bundle/{document}"));
    let (status, _) = region.call("de-linde", "POST", "/fhir/Task", Some(&task));
    assert_eq!(status, 403, "only the requester asks for its handover");

    task["for"] = json!({ "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" } });
    let (status, outcome) = region.call("oudegracht", "POST", "/fhir/Task", Some(&task));
    assert_eq!(status, 422, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], "Task.for.identifier.value");
}

#[test]
fn a_nursing_home_on_stu3_is_notified_and_answered_in_stu3() {
    let region = Region::start("overdracht-stu3");
    let document = region.transfer_document();
    let (status, task) = region.hand_over(&document, "de-es");
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap();

    assert!(wait_until(Duration::from_secs(10), || !region
        .receiver
        .received()
        .is_empty()));
    let notification: Value = serde_json::from_str(&region.receiver.received()[0]).unwrap();
    assert_eq!(
        notification["requester"]["agent"]["reference"], "Organization/oudegracht",
        "STU3 names the requester as agent: {notification}"
    );

    let path = format!("/fhir/Task/{id}");
    let (status, head, body) = region
        .gateway
        .http_with("GET", &path, &[("X-Zorgpoort-Requester", "de-es")], b"");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("fhirVersion=3.0"), "{head}");
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["requester"]["agent"]["reference"], "Organization/oudegracht");
    let (status, head, _) = region.gateway.http_with(
        "GET",
        &composition_path(&read),
        &[("X-Zorgpoort-Requester", "de-es")],
        b"",
    );
    assert_eq!(status, 200);
    assert!(head.contains("fhirVersion=3.0"), "{head}");

    // It answers in STU3 too.
    let (status, _, body) = region.gateway.http_with(
        "PUT",
        &path,
        &[
            ("Content-Type", "application/fhir+json; fhirVersion=3.0"),
            ("X-Zorgpoort-Requester", "de-es"),
        ],
        json!({ "resourceType": "Task", "id": id, "status": "accepted", "intent": "proposal" })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let (_, seen) = region.call("oudegracht", "GET", &path, None);
    assert_eq!(seen["status"], "accepted");
    assert_eq!(
        seen["requester"]["reference"], "Organization/oudegracht",
        "the sender reads R4"
    );
}

#[test]
fn a_routed_document_is_handed_over_on_the_senders_behalf() {
    let region = Region::start("overdracht-routed");
    let document = region.transfer_document();

    // No Task was posted: the route opened it for the hospital.
    let (status, found) = region.call("de-wilg", "GET", "/fhir/Task?status=requested", None);
    assert_eq!(status, 200);
    assert_eq!(found["total"], 1, "{found}");
    let task = &found["entry"][0]["resource"];
    assert_eq!(task["requester"]["reference"], "Organization/oudegracht");
    assert_eq!(task["for"]["identifier"]["value"], BSN);
    let (status, bundle) = region.call("de-wilg", "GET", &composition_path(task), None);
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["type"], "document");

    // The hospital sees it among its own, and asking again finds the same.
    let (_, own) = region.call("oudegracht", "GET", "/fhir/Task?owner=de-wilg", None);
    assert_eq!(own["total"], 1);
    let (status, same) = region.hand_over(&document, "de-wilg");
    assert_eq!((status, &same["id"]), (200, &task["id"]));

    // A discharge in HL7 v2 is handed over too, as a transfer document made from it.
    let discharge = format!(
        "MSH|^~\\&|HIS|OUDEGRACHT|||20261124093015+0100||ADT^A03^ADT_A03|D1|P|2.5\rPID|1||1^^^OUD^PI~{BSN}^^^NLMINBIZA^NNNLD||Visser^Daan||19520604|M\rPV1|1|I|CAR^201^1\rDG1|1||I21.9^Acuut myocardinfarct^I10|||F\r"
    );
    let (status, _, body) = region
        .gateway
        .http("POST", "/messages/hl7v2", "text/plain", discharge.as_bytes());
    assert_eq!(status, 202, "{body}");
    let (_, found) = region.call("de-wilg", "GET", "/fhir/Task?status=requested", None);
    assert_eq!(found["total"], 2, "{found}");
    let from_discharge = found["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|t| t["id"] != task["id"])
        .unwrap();
    let (status, transfer) = region.call("de-wilg", "GET", &composition_path(from_discharge), None);
    assert_eq!(status, 200, "{transfer}");
    let composition = &transfer["entry"][0]["resource"];
    assert_eq!(composition["type"]["coding"][0]["code"], "371535009");
    assert_eq!(composition["author"][0]["display"], "Ziekenhuis Oudegracht");
    let errors: Vec<_> = zorgpoort_profiles::validate(&transfer, zorgpoort_profiles::ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.severity == zorgpoort_profiles::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
