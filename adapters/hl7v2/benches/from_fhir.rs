//! FHIR R4 -> HL7 v2: one ORU^R01 with 20 OBX from a transaction Bundle
//! (Patient, Encounter, DiagnosticReport and 20 lab Observations).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use zorgpoort_hl7v2::{FromFhirOptions, from_fhir};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bundle() -> Value {
    let mut entries = vec![
        json!({"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000001", "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120"}],
            "name": [{"use": "official", "family": "van der Berg", "given": ["Johanna"]}],
            "gender": "female", "birthDate": "1980-04-12"}}),
        json!({"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000002", "resource": {
            "resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"}}}),
    ];
    let results: Vec<Value> = (0..20)
        .map(|n| json!({"reference": format!("urn:uuid:00000000-0000-0000-0001-{n:012}")}))
        .collect();
    entries.push(json!({"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000003", "resource": {
        "resourceType": "DiagnosticReport", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8", "display": "Comprehensive metabolic panel"}]},
        "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"},
        "effectiveDateTime": "2026-11-24T09:30:00+01:00", "issued": "2026-11-24T11:00:00+01:00",
        "result": results}}));
    for n in 0..20 {
        entries.push(json!({"fullUrl": format!("urn:uuid:00000000-0000-0000-0001-{n:012}"), "resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": format!("2345-{n}"), "display": "Glucose"}]},
            "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"},
            "effectiveDateTime": "2026-11-24T09:30:00+01:00",
            "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]}],
            "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 7.8}}]}}));
    }
    json!({"resourceType": "Bundle", "id": "bench-oru", "type": "transaction",
        "timestamp": "2026-11-24T11:00:00+01:00", "entry": entries})
}

fn bench(c: &mut Criterion) {
    let bundle = bundle();
    let text = bundle.to_string();
    let options = FromFhirOptions::default();
    let mut group = c.benchmark_group("from_fhir");
    group.throughput(Throughput::Elements(1));
    group.bench_function("oru_20_obx", |b| {
        b.iter(|| std::hint::black_box(from_fhir(&bundle, &options).unwrap().message.len()));
    });
    group.bench_function("oru_20_obx_with_json_parse", |b| {
        b.iter(|| {
            let value: Value = serde_json::from_str(&text).unwrap();
            std::hint::black_box(from_fhir(&value, &options).unwrap().message.len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
