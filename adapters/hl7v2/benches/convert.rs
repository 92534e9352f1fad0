//! Throughput of the HL7 v2 path on synthetic Dutch ADT/ORU messages:
//! parse alone, and parse + map to FHIR + serialize to JSON.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zorgpoort_hl7v2::synthetic::Generator;
use zorgpoort_hl7v2::{Limits, Message, Options, to_fhir};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn messages() -> Vec<String> {
    let mut generator = Generator::new(2026);
    (0..1000).map(|_| generator.next_message()).collect()
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    let limits = Limits::default();
    let options = Options::default();
    let mut group = c.benchmark_group("hl7v2");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for m in &messages {
                let parsed = Message::parse(m.as_bytes(), &limits).unwrap();
                std::hint::black_box(parsed.segment_count());
            }
        });
    });
    group.bench_function("parse_map", |b| {
        b.iter(|| {
            for m in &messages {
                let parsed = Message::parse(m.as_bytes(), &limits).unwrap();
                let conversion = to_fhir(&parsed, &options).unwrap();
                std::hint::black_box(conversion.warnings.len());
            }
        });
    });
    group.bench_function("parse_map_serialize", |b| {
        b.iter(|| {
            for m in &messages {
                let parsed = Message::parse(m.as_bytes(), &limits).unwrap();
                let json = to_fhir(&parsed, &options).unwrap().bundle.to_json();
                std::hint::black_box(json.len());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
