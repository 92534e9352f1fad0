//! Cost of validation (issue 7): validating nl-core examples against the
//! profiles they claim (steady state, the type's schema validator already
//! compiled), compiling one type's schema validator (what the first
//! validation of a type costs), and reading FHIR XML.
//!
//! Before the criterion groups it prints, once, what the first validations
//! in a fresh process cost (`cold/...`): parsing the embedded schema (once per
//! process), then the first Patient and the first Observation (each compiles
//! its type's validator).
//!
//! Inputs are the Nictiz nl-core examples in the repository's corpora
//! (`conformance-tests/corpora/nl-core/examples`), as the corpus tests read
//! them.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use serde_json::{Value, json};
use zorgpoort_profiles::{ProfileChoice, Severity, parse, schema::schema, validate, xml::XmlLimits};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance-tests/corpora/nl-core/examples"
);

/// The resources of the Bundle benchmark: a patient with vital signs and
/// problems, ten resources in all.
const BUNDLE: [&str; 10] = [
    "nl-core-Patient-01",
    "nl-core-BloodPressure-01",
    "nl-core-BodyWeight-01",
    "nl-core-BodyHeight-01",
    "nl-core-HeartRate-01",
    "nl-core-BodyTemperature-01",
    "nl-core-O2Saturation-01",
    "nl-core-PulseRate-01",
    "nl-core-Problem-01",
    "nl-core-EpisodeOfCare-01-Condition-01",
];

fn read(name: &str) -> Vec<u8> {
    let path = format!("{EXAMPLES}/{name}.xml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn example(name: &str) -> Value {
    parse(&read(name), &XmlLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn bundle() -> Value {
    let entry: Vec<Value> = BUNDLE
        .iter()
        .enumerate()
        .map(|(n, name)| {
            json!({
                "fullUrl": format!("urn:uuid:6f1c2a9e-4b7d-4c35-9a0e-{:012x}", n + 1),
                "resource": example(name),
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entry })
}

/// A benchmark of a resource that fails early would measure the wrong thing.
fn assert_valid(name: &str, resource: &Value) {
    let errors: Vec<String> = validate(resource, ProfileChoice::Claimed)
        .into_iter()
        .filter(|issue| issue.severity == Severity::Error)
        .map(|issue| format!("{} {}: {}", issue.code.as_str(), issue.expression, issue.message))
        .collect();
    assert!(errors.is_empty(), "{name} does not validate:\n{}", errors.join("\n"));
}

fn bench_validate(c: &mut Criterion) {
    let cases = [
        ("patient", example("nl-core-Patient-01")),
        ("blood_pressure", example("nl-core-BloodPressure-01")),
        ("bundle_10", bundle()),
    ];
    let mut group = c.benchmark_group("validate");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, resource) in &cases {
        assert_valid(name, resource);
        group.throughput(Throughput::Elements(1));
        group.bench_function(*name, |b| {
            b.iter(|| validate(std::hint::black_box(resource), ProfileChoice::Claimed));
        });
    }
    group.finish();
}

fn bench_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    // The parsed schema is shared by every type (parsed once per process);
    // parse it before measuring, as any earlier validation would.
    assert!(schema().is_resource_type("Patient"));
    for resource_type in ["Patient", "Observation", "Bundle"] {
        group.bench_function(resource_type, |b| {
            b.iter_batched(
                || (),
                |()| {
                    schema()
                        .compile(std::hint::black_box(resource_type))
                        .expect("a resource type")
                },
                // The validator is dropped outside the measurement.
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let xml = read("nl-core-Patient-01");
    let limits = XmlLimits::default();
    let mut group = c.benchmark_group("parse");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.bench_function("patient_xml", |b| {
        b.iter(|| parse(std::hint::black_box(&xml), &limits).expect("FHIR XML"));
    });
    group.finish();
}

/// What the first validations in this process cost; runs before anything
/// else touches the schema (the XML reader uses it too).
fn cold_start() {
    let start = Instant::now();
    assert!(schema().is_resource_type("Patient"));
    let parse_schema = start.elapsed();
    // The XML reader uses the (now parsed) schema too.
    let patient = example("nl-core-Patient-01");
    let observation = example("nl-core-BloodPressure-01");
    let start = Instant::now();
    std::hint::black_box(validate(&patient, ProfileChoice::Claimed));
    let first_patient = start.elapsed();
    let start = Instant::now();
    std::hint::black_box(validate(&patient, ProfileChoice::Claimed));
    let second_patient = start.elapsed();
    let start = Instant::now();
    std::hint::black_box(validate(&observation, ProfileChoice::Claimed));
    let first_observation = start.elapsed();
    eprintln!(
        "cold/schema_parse {parse_schema:.2?}, cold/first_validation Patient {first_patient:.2?} \
         (then {second_patient:.2?}), Observation {first_observation:.2?}"
    );
}

criterion_group!(benches, bench_validate, bench_compile, bench_parse);

fn main() {
    cold_start();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
