//! Time of one consent decision with a few choices over a handover of four
//! data categories, and of filtering a Bundle.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use zorgpoort_consent::{Choice, Policy, Provision, Purpose, Request, decide};

fn choices() -> Vec<Choice> {
    let choice = |id: &str, provision, data: &[&str], requesters: &[&str]| Choice {
        id: id.into(),
        provision,
        data_categories: data.iter().map(|s| (*s).to_owned()).collect(),
        requester_categories: requesters.iter().map(|s| (*s).to_owned()).collect(),
        organizations: Vec::new(),
        from_ms: Some(0),
        until_ms: None,
    };
    vec![
        choice("1", Provision::Permit, &["general"], &["huisarts"]),
        choice("2", Provision::Deny, &["mental-health"], &[]),
        choice("3", Provision::Permit, &["lab", "medication"], &["vvt", "ziekenhuis"]),
        choice("4", Provision::Deny, &["documents"], &["apotheek"]),
        choice("5", Provision::Permit, &["all"], &["ggz"]),
    ]
}

fn bench(c: &mut Criterion) {
    let choices = choices();
    let policy = Policy::default();
    let categories: Vec<String> = ["general", "lab", "mental-health", "medication"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    c.bench_function("consent/decide", |b| {
        b.iter(|| {
            let request = Request {
                requester: "de-linde",
                requester_category: "vvt",
                purpose: Purpose::Handover,
                treating_relationship: true,
                data_categories: &categories,
                reason: None,
                now_ms: 1_000,
            };
            std::hint::black_box(decide(&request, &choices, &policy));
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
