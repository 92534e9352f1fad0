//! Bad exports: each error and warning says where (row and column, or JSON
//! path) and why, and a bad client does not stop the others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::root;
use zorgpoort_ecd::{ErrorKind, Limits, Mapping, Options, to_fhir};

/// Each client's outcome as text: `ok <message id> [warnings]` or `error ...`.
fn outcomes(file: &str, mapping: &str) -> Result<Vec<String>, String> {
    let input = std::fs::read(root().join("fixtures/bad").join(file)).unwrap();
    let mapping = Mapping::builtin(mapping).unwrap();
    let results = to_fhir(&input, &mapping, &Options::default()).map_err(|e| e.to_string())?;
    Ok(results
        .into_iter()
        .map(|r| match r {
            Ok(c) => {
                let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
                format!(
                    "ok {} {}",
                    c.origin.message_id.split('/').next().unwrap(),
                    warnings.join(" | ")
                )
                .trim_end()
                .to_owned()
            }
            Err(e) => format!("error {e}"),
        })
        .collect())
}

#[test]
fn an_invalid_bsn_fails_its_client_only() {
    assert_eq!(
        outcomes("invalid-bsn.csv", "zorgpoort").unwrap(),
        ["error row 2, column \"bsn\": BSN fails the 11-check", "ok B2"]
    );
}

#[test]
fn an_impossible_date_names_row_column_and_formats() {
    assert_eq!(
        outcomes("bad-date.csv", "zorgpoort").unwrap(),
        [
            "error row 2, column \"geboortedatum\": invalid date \"1980-02-30\" (formats: %Y-%m-%d, %Y-%m-%dT%H:%M, %Y-%m-%dT%H:%M:%S, %Y-%m, %Y)",
            "error row 4, column \"datum\": invalid date \"01-02-2020\" (formats: %Y-%m-%d, %Y-%m-%dT%H:%M, %Y-%m-%dT%H:%M:%S, %Y-%m, %Y)",
        ]
    );
    assert_eq!(
        outcomes("wide-bad-date.csv", "zorgdossier-wide").unwrap(),
        [
            "error row 2, column \"Geboortedatum\": invalid date \"31-06-1940\" (formats: %d-%m-%Y, %d-%m-%Y %H:%M)",
            "ok Z-0003",
        ]
    );
}

#[test]
fn an_unbalanced_quote_fails_the_export() {
    assert_eq!(
        outcomes("unbalanced-quote.csv", "zorgpoort").unwrap_err(),
        "row 3, column 4: quoted field is not closed before the end of the export"
    );
}

#[test]
fn a_row_longer_than_the_header_fails_its_client() {
    assert_eq!(
        outcomes("too-many-columns.csv", "zorgpoort").unwrap(),
        [
            "ok B1",
            "error row 3: 42 columns, more than the 39 allowed by the header"
        ]
    );
}

#[test]
fn unknown_codes_are_warnings_and_kept_as_text() {
    assert_eq!(
        outcomes("unknown-code.csv", "zorgpoort").unwrap(),
        [
            "ok B1 row 2, column \"geslacht\": code \"Z\" not in code list \"gender\"; gender left out | \
             row 3, column \"toegestaan\": code \"misschien\" not in code list \"permitted\"; kept as text"
        ]
    );
}

#[test]
fn json_errors_name_the_path() {
    assert_eq!(
        outcomes("carebook-bad.json", "carebook-json").unwrap(),
        [
            "error $.clients[0].bsn: BSN fails the 11-check",
            "error $.clients[1].birthDate: invalid date \"12-05-1940\" (formats: %Y-%m-%d, %Y-%m-%dT%H:%M:%S, %Y-%m-%dT%H:%M, %Y-%m, %Y)",
            "error $.clients[2].clientId: client key is missing or empty",
            "ok CB-903",
        ]
    );
    assert_eq!(
        outcomes("carebook-not-json.json", "carebook-json").unwrap_err(),
        "not valid JSON: trailing comma at line 1 column 34"
    );
}

#[test]
fn limits_are_enforced() {
    let mapping = Mapping::builtin("zorgpoort").unwrap();
    let input = std::fs::read(root().join("fixtures/zorgpoort/basis.csv")).unwrap();
    let small = |limits: Limits| {
        let options = Options {
            limits,
            ..Options::default()
        };
        to_fhir(&input, &mapping, &options).unwrap_err()
    };
    let e = small(Limits {
        max_bytes: 100,
        ..Limits::default()
    });
    assert_eq!(
        e.kind,
        ErrorKind::TooLarge {
            size: input.len(),
            limit: 100
        }
    );
    let e = small(Limits {
        max_rows: 5,
        ..Limits::default()
    });
    assert_eq!(e.to_string(), "more than 5 rows");
    let e = small(Limits {
        max_columns: 10,
        ..Limits::default()
    });
    assert_eq!(e.to_string(), "row 1: 11 columns, more than the 10 allowed");
    let e = small(Limits {
        max_field_bytes: 10,
        ..Limits::default()
    });
    assert_eq!(e.to_string(), "row 1, column 1: field longer than 10 bytes");
}

#[test]
fn exports_that_do_not_fit_the_mapping_say_why() {
    let mapping = Mapping::builtin("zorgpoort").unwrap();
    let e = to_fhir(b"", &mapping, &Options::default()).unwrap_err();
    assert_eq!(e.to_string(), "no header row");
    let e = to_fhir(b"nummer;soort\nC1;client\n", &mapping, &Options::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "row 1: column \"clientnummer\" (mapped as key) is not in the header"
    );
    let e = to_fhir(b"\xff\xfe", &mapping, &Options::default()).unwrap_err();
    assert_eq!(e.to_string(), "not UTF-8 (byte offset 0); export as UTF-8");
    let json = Mapping::builtin("carebook-json").unwrap();
    let e = to_fhir(b"{\"patients\": []}", &json, &Options::default()).unwrap_err();
    assert_eq!(e.to_string(), "$.clients: expected the array of clients");
}

#[test]
fn an_empty_client_key_is_an_error_in_place() {
    let mapping = Mapping::builtin("zorgpoort").unwrap();
    let header = std::fs::read_to_string(root().join("fixtures/zorgpoort/basis.csv")).unwrap();
    let header = header.lines().next().unwrap();
    let fill = ";".repeat(37);
    // The row of bare delimiters is skipped, the row without a key is not.
    let input = format!("{header}\nA;client{fill}\n;client{fill}\n;{fill};\nB;client{fill}\n");
    let results = to_fhir(input.as_bytes(), &mapping, &Options::default()).unwrap();
    let texts: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(c) => c.origin.message_id.split('/').next().unwrap().to_owned(),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        texts,
        [
            "A",
            "row 3, column \"clientnummer\": client key is missing or empty",
            "B"
        ]
    );
}

#[test]
fn mapped_columns_missing_from_the_header_are_warnings() {
    let mapping = Mapping::builtin("zorgpoort").unwrap();
    let input =
        "clientnummer;soort;bsn;achternaam;geboortedatum\nC0;client;1\nC1;client;999910851;Vos;1940-01-01\nC2;client\n";
    let results = to_fhir(input.as_bytes(), &mapping, &Options::default()).unwrap();
    // Said once per export, on the first client that converts (C0 fails).
    assert!(results[0].is_err());
    assert!(results[2].as_ref().unwrap().warnings.is_empty());
    let conversion = results.into_iter().nth(1).unwrap().unwrap();
    let warnings: Vec<String> = conversion.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 34, "{warnings:#?}");
    assert_eq!(
        warnings[0],
        "row 1: column \"voornamen\" (mapped as records.client.given) is not in the header; not read"
    );
    let json = conversion.bundle.to_json();
    assert!(json.contains("\"birthDate\":\"1940-01-01\""), "{json}");
}

#[test]
fn long_json_values_are_refused_in_place() {
    let mapping = Mapping::builtin("carebook-json").unwrap();
    let long = "x".repeat(100);
    let input = format!(r#"{{"clients":[{{"clientId":"A","name":{{"family":"{long}"}}}},{{"clientId":"B"}}]}}"#);
    let options = Options {
        limits: Limits {
            max_field_bytes: 50,
            ..Limits::default()
        },
        ..Options::default()
    };
    let results = to_fhir(input.as_bytes(), &mapping, &options).unwrap();
    assert_eq!(
        results[0].as_ref().unwrap_err().to_string(),
        "$.clients[0].name.family: field longer than 50 bytes"
    );
    assert!(results[1].is_ok());
}
