//! Throughput of parse + map + serialize over generated exports of 10,000
//! rows (the goal: 200,000 rows/s per core, 5 µs per row).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zorgpoort_ecd::{Mapping, Options, to_fhir, write_record};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 10_000;
const BSNS: [&str; 5] = ["999910851", "999911120", "999912355", "999914534", "999990019"];

/// The nine item rows every generated client has (column, value).
const ITEMS: [&[(&str, &str)]; 9] = [
    &[
        ("soort", "contactpersoon"),
        ("voorletters", "M."),
        ("achternaam", "Jansen"),
        ("relatie", "dochter"),
        ("rol", "eerste contactpersoon"),
        ("telefoon", "06-12345678"),
    ],
    &[
        ("soort", "diagnose"),
        ("omschrijving", "dementie"),
        ("datum", "2019-03-01"),
    ],
    &[
        ("soort", "diagnose"),
        ("code", "I50.9"),
        ("codesysteem", "ICD-10"),
        ("omschrijving", "Hartfalen"),
        ("datum", "2015-06"),
    ],
    &[
        ("soort", "medicatie"),
        ("omschrijving", "Furosemide 40mg"),
        ("dosering", "1x per dag"),
        ("datum", "2021-01-15"),
    ],
    &[
        ("soort", "allergie"),
        ("omschrijving", "Penicilline"),
        ("ernst", "ernstig"),
        ("reactie", "huiduitslag"),
    ],
    &[
        ("soort", "functioneren"),
        ("omschrijving", "barthel"),
        ("waarde", "11"),
        ("datum", "2024-05-02"),
    ],
    &[
        ("soort", "meting"),
        ("gewicht", "61,5"),
        ("systolisch", "135"),
        ("diastolisch", "82"),
        ("datum", "2024-05-03T09:30"),
    ],
    &[
        ("soort", "wilsverklaring"),
        ("omschrijving", "niet-reanimerenverklaring"),
        ("datum", "2020-11-05"),
    ],
    &[
        ("soort", "behandelbeperking"),
        ("omschrijving", "reanimatie"),
        ("toegestaan", "nee"),
        ("datum", "2020-11-05"),
    ],
];

/// A long zorgpoort export: per client one client row and nine item rows.
fn long_export() -> String {
    let basis = include_str!("../fixtures/zorgpoort/basis.csv");
    let header: Vec<&str> = basis.lines().next().unwrap().split(';').collect();
    let mut out = String::new();
    write_record(&header, b';', &mut out);
    for client in 0..ROWS / 10 {
        let key = format!("K{client:05}");
        let mut row = vec![""; header.len()];
        let client_row: &[(&str, &str)] = &[
            ("soort", "client"),
            ("bsn", BSNS[client % BSNS.len()]),
            ("voornamen", "Anna Maria"),
            ("achternaam", "van der Berg"),
            ("geboortedatum", "1938-04-12"),
            ("geslacht", "V"),
            ("straat", "Lindelaan"),
            ("huisnummer", "12"),
            ("woonplaats", "Amersfoort"),
            ("huisarts_naam", "P. de Wit"),
            ("huisarts_agb", "01012345"),
        ];
        for fields in std::iter::once(client_row).chain(ITEMS) {
            row.fill("");
            row[0] = &key;
            for (name, value) in fields {
                row[header.iter().position(|h| h == name).unwrap()] = value;
            }
            write_record(&row, b';', &mut out);
        }
    }
    out
}

/// The same records as a carebook JSON export (one element per row).
fn json_export() -> String {
    let mut out = String::from("{\"clients\":[");
    for client in 0..ROWS / 10 {
        if client > 0 {
            out.push(',');
        }
        let bsn = BSNS[client % BSNS.len()];
        let _ = write!(
            out,
            r#"{{"clientId":"K{client:05}","bsn":"{bsn}","name":{{"given":"Anna Maria","family":"van der Berg"}},"birthDate":"1938-04-12","sex":"F",
            "generalPractitioner":{{"name":"P. de Wit","agb":"01012345"}},
            "contacts":[{{"firstName":"M.","lastName":"Jansen","relationship":"daughter","role":"first contact","phone":"06-12345678"}}],
            "diagnoses":[{{"description":"Dementia","code":"52448006","codeSystem":"SNOMED","onsetDate":"2019-03-01"}},{{"code":"I50.9","codeSystem":"ICD-10","description":"Heart failure"}}],
            "medications":[{{"productName":"Furosemide 40mg","dosage":"1x per dag","startDate":"2021-01-15"}}],
            "allergies":[{{"substance":"penicillin","severity":"severe","reaction":"rash"}}],
            "adl":[{{"activity":"barthel index","score":11,"date":"2024-05-02"}}],
            "vitals":[{{"weightKg":61.5,"systolic":135,"diastolic":82,"measuredAt":"2024-05-03T09:30:00"}}],
            "advanceDirectives":[{{"type":"dnr","date":"2020-11-05"}}],
            "treatmentLimits":[{{"treatment":"cpr","allowed":false,"date":"2020-11-05"}}]}}"#
        );
    }
    out.push_str("]}");
    out
}

fn convert(input: &[u8], mapping: &Mapping) -> usize {
    let options = Options::default();
    to_fhir(input, mapping, &options)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().bundle.to_json().len())
        .sum()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ecd");
    group.throughput(Throughput::Elements(ROWS as u64));
    let long = long_export();
    let zorgpoort = Mapping::builtin("zorgpoort").unwrap();
    assert!(convert(long.as_bytes(), &zorgpoort) > 0);
    group.bench_function("long_csv_10k_rows", |b| b.iter(|| convert(long.as_bytes(), &zorgpoort)));
    let json = json_export();
    let carebook = Mapping::builtin("carebook-json").unwrap();
    assert!(convert(json.as_bytes(), &carebook) > 0);
    group.bench_function("json_10k_records", |b| b.iter(|| convert(json.as_bytes(), &carebook)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
