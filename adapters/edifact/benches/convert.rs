//! Parse + convert + serialize of MEDLAB messages (the hot path of a lab
//! feed), and the syntax layer on its own.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zorgpoort_edifact::{Interchange, Limits, Options, to_fhir};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

/// An interchange of `n` copies of the first message of a fixture.
fn repeated(name: &str, n: usize) -> Vec<u8> {
    let text = String::from_utf8(fixture(name)).unwrap();
    let start = text.find("UNH").unwrap();
    let end = text.find("UNZ").unwrap();
    let message = &text[start..end];
    let mut out = text[..start].to_owned();
    for _ in 0..n {
        out.push_str(message);
    }
    out.push_str(&text[end..].replacen("UNZ+1+", &format!("UNZ+{n}+"), 1));
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let options = Options::default();
    let mut group = c.benchmark_group("medlab");
    let one = fixture("medlab/chemie-una.edi");
    group.throughput(Throughput::Elements(1));
    group.bench_function("convert+json, 1 message (chemie, 17 segments)", |b| {
        b.iter(|| {
            let messages = to_fhir(&one, &options).unwrap();
            let mut bytes = 0;
            for message in messages {
                bytes += message.unwrap().bundle.to_json().len();
            }
            bytes
        });
    });
    let hundred = repeated("medlab/chemie-una.edi", 100);
    group.throughput(Throughput::Elements(100));
    group.bench_function("convert+json, 100 messages in one interchange", |b| {
        b.iter(|| {
            let messages = to_fhir(&hundred, &options).unwrap();
            messages
                .into_iter()
                .map(|m| m.unwrap().bundle.to_json().len())
                .sum::<usize>()
        });
    });
    group.bench_function("parse only, 100 messages", |b| {
        b.iter(|| {
            Interchange::parse(&hundred, &Limits::default())
                .unwrap()
                .message_count()
        });
    });
    group.finish();
    println!("message size: {} bytes", one.len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
