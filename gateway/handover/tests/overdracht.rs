//! eOverdracht: what a sender's Task must say, which status changes each
//! party may make, and the follow-up against a real receiver on loopback:
//! notification without patient data, retries, and flagging when a handover
//! is not picked up in time.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{client, receiver, store};
use serde_json::{Value, json};
use zorgpoort_handover::overdracht::{Party, TaskStatus, may_change, read_change, read_request, transfer_document};
use zorgpoort_handover::{Follower, Handover, HandoverConfig, HandoverRequest, Organization, Registry};
use zorgpoort_store::{NewMessage, SqliteStore, Store};

fn registry(receiver_endpoint: Option<&str>) -> Registry {
    let mut vvt = json!({ "id": "vvt", "name": "Verpleeghuis De Linde", "kind": "vvt", "ura": "00000002" });
    if let Some(address) = receiver_endpoint {
        vvt["endpoint"] = json!([{ "protocol": "fhir-r4", "address": address }]);
    }
    let organizations: Vec<Organization> = serde_json::from_value(json!([
        { "id": "ziekenhuis", "name": "Ziekenhuis Rijnstate", "kind": "ziekenhuis", "agb": "06010001" },
        vvt
    ]))
    .unwrap();
    Registry::new(organizations).unwrap()
}

fn task() -> Value {
    json!({
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "308292007" }] },
        "for": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" } },
        "requester": { "identifier": { "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "06010001" } },
        "owner": { "reference": "Organization/vvt" },
        "input": [{ "valueReference": { "reference": "Bundle/m1" } }]
    })
}

#[test]
fn a_sender_task_names_both_organisations_the_document_and_the_patient() {
    let request = read_request(&task(), &registry(None)).unwrap();
    assert_eq!(
        request,
        HandoverRequest {
            requester: "ziekenhuis".into(),
            owner: "vvt".into(),
            document: "m1".into(),
            intent: "proposal".into(),
            patient: Some("999911120".into()),
        }
    );
}

#[test]
fn a_task_that_cannot_be_taken_says_where_and_why() {
    let cases: [(&str, Value, &str); 8] = [
        (
            "/code/coding/0/code",
            json!("3457005"),
            "Task.code: an eOverdracht Task has code",
        ),
        (
            "/status",
            json!("accepted"),
            "Task.status: a new handover is \"requested\"",
        ),
        ("/intent", json!("option"), "Task.intent: use proposal, plan or order"),
        (
            "/owner",
            json!({ "reference": "Organization/elders" }),
            "Task.owner.reference: not in the region's registry",
        ),
        (
            "/owner",
            json!({ "reference": "Organization/ziekenhuis" }),
            "Task.owner: a handover goes to another",
        ),
        (
            "/input/0/valueReference/reference",
            json!("Composition/x"),
            "Task.input[0].valueReference.reference: must be Bundle/{id}",
        ),
        (
            "/for/identifier/value",
            json!("123456789"),
            "Task.for.identifier.value: not a valid BSN",
        ),
        (
            "/requester/identifier/system",
            json!("urn:oid:1.2.3"),
            "Task.requester.identifier.system: use",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut task = task();
        *task.pointer_mut(pointer).unwrap() = value;
        let error = read_request(&task, &registry(None)).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{pointer}: {error}");
    }
    let mut two = task();
    two["input"] = json!([
        { "valueReference": { "reference": "Bundle/m1" } },
        { "valueReference": { "reference": "Bundle/m2" } }
    ]);
    assert_eq!(
        read_request(&two, &registry(None)).unwrap_err().to_string(),
        "Task.input[1]: a handover hands over one document"
    );
    let mut none = task();
    none.as_object_mut().unwrap().remove("input");
    assert!(
        read_request(&none, &registry(None))
            .unwrap_err()
            .to_string()
            .starts_with("Task.focus: name the document")
    );
}

#[test]
fn the_receiver_works_the_task_through_and_the_sender_may_only_withdraw_it() {
    use TaskStatus::{Accepted, Cancelled, Completed, InProgress, Received, Rejected, Requested};
    assert!(may_change(Party::Receiver, Requested, Accepted));
    assert!(may_change(Party::Receiver, Requested, Rejected));
    assert!(may_change(Party::Receiver, Received, Accepted));
    assert!(may_change(Party::Receiver, Accepted, InProgress));
    assert!(may_change(Party::Receiver, InProgress, Completed));
    assert!(
        !may_change(Party::Receiver, Rejected, Accepted),
        "final states stay final"
    );
    assert!(!may_change(Party::Receiver, Requested, Completed), "accept first");
    assert!(
        !may_change(Party::Receiver, Requested, Cancelled),
        "only the sender withdraws"
    );
    assert!(may_change(Party::Sender, Requested, Cancelled));
    assert!(may_change(Party::Sender, Accepted, Cancelled));
    assert!(!may_change(Party::Sender, InProgress, Cancelled), "care has begun");
    assert!(!may_change(Party::Sender, Requested, Accepted), "the receiver accepts");
    for status in [Rejected, Completed, Cancelled] {
        assert!(status.is_final());
    }
}

#[test]
fn a_status_change_reads_the_status_and_its_reason_only() {
    let change = read_change(&json!({
        "resourceType": "Task",
        "status": "rejected",
        "statusReason": { "text": "  geen bed beschikbaar  " }
    }))
    .unwrap();
    assert_eq!(change.status, TaskStatus::Rejected);
    assert_eq!(change.reason.as_deref(), Some("geen bed beschikbaar"));
    assert_eq!(
        read_change(&json!({ "resourceType": "Task", "status": "draft" }))
            .unwrap_err()
            .to_string(),
        "Task.status: \"draft\" is not a status a handover takes"
    );
}

fn handover(due_ms: i64) -> Handover {
    Handover {
        id: "t1".into(),
        request: read_request(&task(), &registry(None)).unwrap(),
        composition: "c1".into(),
        status: TaskStatus::Requested,
        reason: None,
        version: 1,
        created_ms: 1_000,
        updated_ms: 1_000,
        due_ms,
        notified_ms: None,
        flagged: false,
    }
}

async fn stored(store: &SqliteStore, registry: &Registry, handover: &Handover) {
    store
        .accept(NewMessage {
            id: "m1".into(),
            sender: "ziekenhuis".into(),
            control_id: "letter-1".into(),
            format: "fhir-r4".into(),
            body: b"{}".to_vec(),
            deliveries: Vec::new(),
            received_ms: 0,
            patient: Some("999911120".into()),
            audit: Vec::new(),
            origin: None,
            content_hash: None,
        })
        .await
        .unwrap();
    assert!(store.put_task(handover.to_record(registry), Vec::new()).await.unwrap());
}

fn config() -> HandoverConfig {
    HandoverConfig {
        public_base_url: "https://gateway.example/fhir/".into(),
        timeout_ms: 2_000,
        ..HandoverConfig::default()
    }
}

#[tokio::test]
async fn the_receiver_is_notified_without_patient_data_and_retried_while_down() {
    let receiver = receiver(vec![503, 201]).await;
    let registry = Arc::new(registry(Some(&format!("http://{}/fhir", receiver.address))));
    let store = store("notify");
    stored(&store, &registry, &handover(i64::MAX)).await;
    let mut follower = Follower::new(store.clone(), Arc::clone(&registry), config(), client());

    follower.follow_up(2_000).await.unwrap();
    assert!(
        store.task("t1").await.unwrap().unwrap().notified_ms.is_none(),
        "503: not yet"
    );
    follower.follow_up(2_500).await.unwrap();
    assert!(
        receiver.bodies.lock().unwrap().is_empty(),
        "backing off: no second attempt yet"
    );
    follower.follow_up(4_000).await.unwrap();

    let record = store.task("t1").await.unwrap().unwrap();
    assert_eq!((record.notified_ms, record.version), (Some(4_000), 2));
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let notification: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        notification["basedOn"][0]["reference"],
        "https://gateway.example/fhir/Task/t1"
    );
    assert_eq!(notification["owner"]["reference"], "Organization/vvt");
    assert_eq!(notification["code"]["coding"][0]["code"], "308292007");
    assert!(
        notification.get("for").is_none() && !bodies[0].contains("999911120"),
        "{}",
        bodies[0]
    );
    follower.follow_up(5_000).await.unwrap();
    assert_eq!(receiver.bodies.lock().unwrap().len(), 1, "notified once");

    let audit = store.audit_log(0, i64::MAX, Some("999911120")).await.unwrap();
    let kinds: Vec<_> = audit
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.event).unwrap()["outcome"].clone())
        .collect();
    assert_eq!(kinds, [json!("4"), json!("0")], "a retry, then the notification");
}

/// Two gateways (replicas) on one store follow the same handovers: the
/// receiver is notified once, by the one that claimed the notification.
#[tokio::test]
async fn two_gateways_on_one_store_notify_once() {
    let receiver = receiver(vec![201, 201]).await;
    let registry = Arc::new(registry(Some(&format!("http://{}/fhir", receiver.address))));
    let store = store("notify-replicas");
    stored(&store, &registry, &handover(i64::MAX)).await;
    let mut one = Follower::new(store.clone(), Arc::clone(&registry), config(), client());
    let mut other = Follower::new(store.clone(), Arc::clone(&registry), config(), client());
    // Both read the Task as not yet notified before either has notified it.
    let (a, b) = tokio::join!(one.follow_up(2_000), other.follow_up(2_000));
    a.unwrap();
    b.unwrap();
    other.follow_up(9_000).await.unwrap();
    assert_eq!(receiver.bodies.lock().unwrap().len(), 1, "notified once");
    assert_eq!(store.task("t1").await.unwrap().unwrap().notified_ms, Some(2_000));
}

#[tokio::test]
async fn a_handover_not_picked_up_in_time_is_flagged_once() {
    let registry = Arc::new(registry(None));
    let store = store("overdue");
    stored(&store, &registry, &handover(10_000)).await;
    let mut follower = Follower::new(store.clone(), Arc::clone(&registry), config(), client());

    follower.follow_up(2_000).await.unwrap();
    let record = store.task("t1").await.unwrap().unwrap();
    assert_eq!(
        record.notified_ms,
        Some(2_000),
        "no endpoint: recorded, the receiver searches"
    );
    assert!(!record.flagged);

    follower.follow_up(10_000).await.unwrap();
    follower.follow_up(11_000).await.unwrap();
    let record = store.task("t1").await.unwrap().unwrap();
    assert!(record.flagged);
    assert_eq!(record.version, 3, "flagged once");
    let task: Value = serde_json::from_str(&record.resource).unwrap();
    assert_eq!(task["businessStatus"]["text"], "not picked up in time");
    assert_eq!(task["meta"]["versionId"], "3");
    let audit = store.audit_log(0, i64::MAX, Some("999911120")).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        audit[1].event.contains("not picked up in time by vvt"),
        "{}",
        audit[1].event
    );
}

#[test]
fn a_message_that_is_not_a_document_becomes_a_transfer_document() {
    let registry = registry(None);
    let hospital = registry.get("ziekenhuis").unwrap();
    let discharge = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        { "fullUrl": "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0001",
          "resource": { "resourceType": "Patient", "identifier": [{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120" }] },
          "request": { "method": "PUT", "url": "Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120" } },
        { "fullUrl": "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0002",
          "resource": { "resourceType": "Condition", "subject": { "reference": "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0001" } },
          "request": { "method": "POST", "url": "Condition" } },
        { "fullUrl": "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0003",
          "resource": { "resourceType": "Encounter", "status": "finished", "class": { "code": "IMP" },
            "subject": { "reference": "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0001" } },
          "request": { "method": "POST", "url": "Encounter" } }
    ]});
    let document = transfer_document(&discharge, "m1", hospital, 1_764_000_000_000).unwrap();
    let problems = zorgpoort_model::check::check_bundle(&document.to_string(), "document");
    assert!(problems.is_empty(), "{problems:?}");
    let composition = &document["entry"][0]["resource"];
    assert_eq!(composition["type"]["coding"][0]["code"], "371535009");
    assert_eq!(
        composition["subject"]["reference"],
        "urn:uuid:0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0001"
    );
    assert_eq!(composition["author"][0]["display"], "Ziekenhuis Rijnstate");
    let titles: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Condition", "Encounter"]);
    assert_eq!(
        document["entry"][1]["resource"]["id"],
        "0a6a1c52-5b43-4c55-8d2b-1f0d8f0b0001"
    );
    assert!(
        document["entry"][1].get("request").is_none(),
        "a document has no requests"
    );
    assert_eq!(
        transfer_document(&discharge, "m1", hospital, 1_764_000_000_000),
        Some(document),
        "the same message makes the same document"
    );

    let no_patient =
        json!({ "resourceType": "Bundle", "type": "transaction", "entry": [discharge["entry"][1].clone()] });
    assert!(transfer_document(&no_patient, "m2", hospital, 0).is_none());
}
