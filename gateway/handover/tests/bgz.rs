//! The BgZ searches over a patient's pooled resources: every standard query
//! parses, filters and `$lastn` pick the right resources, includes and
//! Provenance come along once, one Patient stands for all messages, and a
//! search the gateway cannot answer says which parameter and why.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use zorgpoort_handover::bgz::{Mode, Pool, QUERIES, batch, parse};

const BSN: &str = "999911120";
const BASE: &str = "https://gateway.example/fhir";

fn bsn() -> Value {
    json!([{ "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN }])
}

fn entry(uuid: &str, resource: &Value) -> Value {
    json!({ "fullUrl": format!("urn:uuid:{uuid}"), "resource": resource })
}

fn observation(uuid: &str, loinc: &str, when: &str) -> Value {
    entry(
        uuid,
        &json!({
            "resourceType": "Observation",
            "status": "final",
            "code": { "coding": [{ "system": "http://loinc.org", "code": loinc }] },
            "subject": { "reference": "urn:uuid:p1" },
            "effectiveDateTime": when
        }),
    )
}

/// Two messages about one patient, newest first.
fn bundles() -> Vec<Value> {
    let newest = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        entry("p1", &json!({ "resourceType": "Patient", "identifier": bsn(),
            "generalPractitioner": [{ "reference": "urn:uuid:gp" }] })),
        entry("gp", &json!({ "resourceType": "Practitioner", "name": [{ "family": "Jansen" }] })),
        entry("c1", &json!({ "resourceType": "Condition", "subject": { "reference": "urn:uuid:p1" } })),
        entry("prov", &json!({ "resourceType": "Provenance", "target": [{ "reference": "urn:uuid:c1" }],
            "recorded": "2026-11-20T10:00:00+01:00", "agent": [{ "who": { "reference": "urn:uuid:gp" } }] })),
        observation("bp-old", "85354-9", "2026-10-01T09:00:00+02:00"),
        observation("bp-new", "85354-9", "2026-11-01T09:00:00+01:00"),
        observation("weight", "29463-7", "2026-11-01T09:00:00+01:00"),
        entry("lab", &json!({ "resourceType": "Observation", "status": "final",
            "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
            "code": { "coding": [{ "system": "http://loinc.org", "code": "24331-1" }] },
            "hasMember": [{ "reference": "urn:uuid:ldl" }], "effectiveDateTime": "2026-11-02" })),
        entry("ldl", &json!({ "resourceType": "Observation", "status": "final",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "13457-7" }] } })),
    ]});
    let older = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        entry("p2", &json!({ "resourceType": "Patient", "identifier": bsn() })),
        entry("a1", &json!({ "resourceType": "AllergyIntolerance", "patient": { "reference": "urn:uuid:p2" } })),
        entry("i1", &json!({ "resourceType": "Immunization", "status": "completed", "patient": { "reference": "urn:uuid:p2" } })),
        entry("i2", &json!({ "resourceType": "Immunization", "status": "not-done", "patient": { "reference": "urn:uuid:p2" } })),
    ]});
    vec![newest, older]
}

fn ids(result: &[(&Value, Mode)]) -> Vec<String> {
    result
        .iter()
        .map(|(r, mode)| {
            format!(
                "{}/{}:{mode:?}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn every_standard_query_parses() {
    for (section, query) in QUERIES {
        let search = parse(query).unwrap_or_else(|e| panic!("{section}: {e}"));
        assert!(search.patient.is_none());
    }
}

#[test]
fn the_batch_names_the_patient_in_every_search() {
    let batch = batch(BSN);
    let entries = batch["entry"].as_array().unwrap();
    assert_eq!(entries.len(), QUERIES.len());
    for entry in entries {
        assert_eq!(entry["request"]["method"], "GET");
        let search = parse(entry["request"]["url"].as_str().unwrap()).unwrap();
        assert_eq!(search.patient.as_deref(), Some(BSN), "{entry}");
    }
}

#[test]
fn one_patient_stands_for_all_messages_and_brings_the_gp() {
    let pool = Pool::new(&bundles(), BSN, BASE);
    let result = pool.search(&parse("Patient?_include=Patient:general-practitioner").unwrap());
    assert_eq!(ids(&result), ["Patient/p1:Match", "Practitioner/gp:Include"]);
    assert_eq!(
        result[0].0["generalPractitioner"][0]["reference"],
        format!("{BASE}/Practitioner/gp")
    );
    let allergies = pool.search(&parse("AllergyIntolerance").unwrap());
    assert_eq!(
        allergies[0].0["patient"]["reference"],
        format!("{BASE}/Patient/p1"),
        "the older message's Patient is the newest one's"
    );
}

#[test]
fn lastn_keeps_the_latest_per_code() {
    let pool = Pool::new(&bundles(), BSN, BASE);
    let result =
        pool.search(&parse("Observation/$lastn?code=http://loinc.org|85354-9,http://loinc.org|29463-7").unwrap());
    assert_eq!(ids(&result), ["Observation/weight:Match", "Observation/bp-new:Match"]);
    let two = pool.search(&parse("Observation/$lastn?code=http://loinc.org|85354-9&max=2").unwrap());
    assert_eq!(ids(&two), ["Observation/bp-new:Match", "Observation/bp-old:Match"]);
}

#[test]
fn filters_includes_and_provenance_bring_each_resource_once() {
    let pool = Pool::new(&bundles(), BSN, BASE);
    let lab = pool.search(
        &parse(
            "Observation/$lastn?category=http://snomed.info/sct|275711006,\
             http://terminology.hl7.org/CodeSystem/observation-category|laboratory\
             &_include=Observation:related-target",
        )
        .unwrap(),
    );
    assert_eq!(ids(&lab), ["Observation/lab:Match", "Observation/ldl:Include"]);
    let problems = pool.search(&parse("Condition?_revinclude=Provenance:target").unwrap());
    assert_eq!(ids(&problems), ["Condition/c1:Match", "Provenance/prov:Include"]);
    let vaccinations = pool.search(&parse("Immunization?status=completed").unwrap());
    assert_eq!(ids(&vaccinations), ["Immunization/i1:Match"]);
    let by_system = pool.search(&parse("Observation?code=http://loinc.org|").unwrap());
    assert_eq!(by_system.len(), 5);

    let bundle = pool.searchset(&problems);
    assert_eq!(bundle["total"], 1);
    assert_eq!(bundle["entry"][1]["search"]["mode"], "include");
    assert_eq!(bundle["entry"][0]["fullUrl"], format!("{BASE}/Condition/c1"));
    let empty = pool.searchset(&pool.search(&parse("Flag").unwrap()));
    assert_eq!(
        empty,
        json!({ "resourceType": "Bundle", "type": "searchset", "total": 0 })
    );
}

#[test]
fn a_search_that_cannot_be_answered_names_the_parameter() {
    // The BgZ's own searches are all answered.
    let bsn = "999911120";
    for entry in batch(bsn)["entry"].as_array().unwrap() {
        let url = entry["request"]["url"].as_str().unwrap();
        assert_eq!(parse(url).map(|s| s.patient), Ok(Some(bsn.to_owned())), "{url}");
    }
    let cases = [
        (
            "Condition?onset-date=ge2020",
            "onset-date: not a search parameter of Condition here (use patient.identifier",
        ),
        ("Patient?category=x", "category: not a search parameter of Patient here"),
        ("Observation?max=3", "max: not a search parameter of Observation here"),
        (
            "Basic?patient.identifier=x",
            "type: \"Basic\" is not a type the BgZ searches answer",
        ),
        ("Foo", "type: \"Foo\" is not a type the BgZ searches answer"),
        (
            "Condition?_revinclude=Provenance:entity",
            "_revinclude: \"Provenance:entity\" is not a _revinclude",
        ),
        (
            "Condition?patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|123456789",
            "patient.identifier: not a valid BSN",
        ),
        (
            "Condition?patient.identifier=999911120",
            "patient.identifier: use http://fhir.nl/fhir/NamingSystem/bsn|{bsn}",
        ),
        (
            "Condition?_include=Condition:asserter",
            "_include: \"Condition:asserter\" is not an include",
        ),
        ("Patient/$lastn", "type: \"Patient/$lastn\" is not a search"),
        ("Observation/$lastn?max=0", "max: a number from 1 to 100"),
        ("Condition?code=%ZZ", "query: a % is not followed by two hex digits"),
    ];
    for (query, expected) in cases {
        let error = parse(query).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{query}: {error}");
    }
    let named =
        parse("Condition?patient.identifier=http%3A%2F%2Ffhir.nl%2Ffhir%2FNamingSystem%2Fbsn%7C999911120").unwrap();
    assert_eq!(named.patient.as_deref(), Some(BSN));
}
