//! Throughput of the CDA path on Microsoft's 47.7 KB C-CDA CCD sample
//! (`CCD.ccda` in `conformance-tests/corpora`, the sample closest to 50 KB):
//! the XML parse alone, parse + map, and parse + map + serialize to JSON.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zorgpoort_cda::{Options, to_fhir};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance-tests/corpora/cda/ms-fhir-converter/documents/CCD.ccda");
    let document = std::fs::read(&path).unwrap();
    let options = Options::default();
    let mut group = c.benchmark_group("cda");
    group.throughput(Throughput::Bytes(document.len() as u64));
    // The XML parse alone, the floor under the conversion.
    group.bench_function("ccd_parse_only", |b| {
        let text = std::str::from_utf8(&document).unwrap();
        b.iter(|| {
            let parsed = roxmltree::Document::parse(std::hint::black_box(text)).unwrap();
            std::hint::black_box(parsed.root_element().children().count());
        });
    });
    group.bench_function("ccd_map", |b| {
        b.iter(|| {
            let conversion = to_fhir(std::hint::black_box(&document), &options).unwrap();
            std::hint::black_box(conversion.warnings.len());
        });
    });
    group.bench_function("ccd_map_serialize", |b| {
        b.iter(|| {
            let json = to_fhir(std::hint::black_box(&document), &options)
                .unwrap()
                .bundle
                .to_json();
            std::hint::black_box(json.len());
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
