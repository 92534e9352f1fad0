//! `zorgpoort convert` as contracted in DESIGN.md: NDJSON on stdout, one
//! Bundle per message, located errors on stderr, the other messages still
//! converted, exit status 1 at the end; `--output`, `--jobs`, `--warnings`.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn zorgpoort(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(args)
        .output()
        .unwrap()
}

/// A file of the repository's corpora (`conformance-tests/corpora`).
fn corpus(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance-tests/corpora")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters/hl7v2/tests/fixtures/dutch")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const GOOD: &str = "MSH|^~\\&|HIS|RIJN|||20261124093015+0100||ADT^A01^ADT_A01|M1|P|2.5\rPID|1||1234^^^RIJN^PI||Jansen^Piet||19800101|M\r";

#[test]
fn converts_a_sample_to_one_ndjson_bundle() {
    let out = zorgpoort(&[
        "convert",
        "--from",
        "hl7v2",
        &corpus("hl7v2/ms-fhir-converter/messages/ADT-A01-01.hl7"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bundles = lines(&out);
    assert_eq!(bundles.len(), 1);
    assert_eq!(bundles[0]["type"], "transaction");
    assert!(out.stderr.is_empty(), "no warnings unless asked");
}

#[test]
fn one_bundle_per_message_across_files() {
    let out = zorgpoort(&[
        "convert",
        "--from",
        "auto",
        &fixture("multi-message.hl7"),
        &fixture("mllp-framed.hl7"),
    ]);
    assert!(out.status.success());
    assert_eq!(lines(&out).len(), 4);
}

#[test]
fn a_bad_message_is_reported_and_the_rest_converted() {
    let dir = temp_dir("bad");
    let input = dir.join("mixed.hl7");
    // No identifier in PID-3: nobody to attach the admission to.
    let bad = "MSH|^~\\&|HIS|RIJN|||20261124||ADT^A01|M2|P|2.5\rPID|1||||X^Y||19800101\r";
    std::fs::write(&input, format!("{GOOD}\n{bad}\n{GOOD}")).unwrap();
    let out = zorgpoort(&["convert", "--from", "hl7v2", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        format!(
            "{}: msg 2: PID-3: ADT^A01 needs an identified patient: no usable patient identifier in PID-3 (or PID-2, PID-4)",
            input.display()
        )
    );
}

#[test]
fn missing_empty_and_foreign_inputs_fail_clearly() {
    let dir = temp_dir("inputs");
    let empty = dir.join("empty.hl7");
    std::fs::write(&empty, "").unwrap();
    let foreign = dir.join("doc.xml");
    std::fs::write(&foreign, "<ClinicalDocument/>").unwrap();
    let missing = dir.join("missing.hl7");
    for (path, message) in [
        (&empty, "the input is empty"),
        (&foreign, "cannot detect the input format"),
        (&missing, "cannot open input"),
    ] {
        let out = zorgpoort(&["convert", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!("{}: ", path.display())) && stderr.contains(message),
            "{stderr}"
        );
    }
}

#[test]
fn output_dir_gets_one_file_per_message() {
    let dir = temp_dir("out");
    let out = zorgpoort(&[
        "convert",
        "--output",
        dir.join("bundles").to_str().unwrap(),
        &fixture("multi-message.hl7"),
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    for n in 1..=3 {
        let text = std::fs::read_to_string(dir.join(format!("bundles/multi-message-{n}.json"))).unwrap();
        let bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle");
    }
}

#[test]
fn parallel_jobs_keep_the_input_order() {
    let dir = temp_dir("jobs");
    let input = dir.join("many.hl7");
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(42);
    let text: String = (0..3000).map(|_| generator.next_message() + "\n").collect();
    std::fs::write(&input, text).unwrap();
    let one = zorgpoort(&["convert", "-j", "1", input.to_str().unwrap()]);
    let four = zorgpoort(&["convert", "-j", "4", input.to_str().unwrap()]);
    assert!(one.status.success() && four.status.success());
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(lines(&one).len(), 3000);
}

#[test]
fn warnings_on_request_and_stdin_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
        .args(["convert", "--warnings", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{GOOD}ZPI|1|x\r").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(lines(&out).len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("<stdin>: msg 1: warning: ZPI: site-defined Z-segment not mapped"),
        "{stderr}"
    );
}

#[test]
fn help_explains_the_command() {
    let out = zorgpoort(&["convert", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--from",
        "--output",
        "--jobs",
        "--warnings",
        "--max-message-bytes",
        "Exit status",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

fn adapter_file(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_format_is_detected_per_file() {
    let files = [
        (
            adapter_file("cda/tests/fixtures/verwijsbrief-huisarts.xml"),
            "document",
            1,
        ),
        (corpus("cda/ms-fhir-converter/documents/CCD.ccda"), "document", 1),
        (
            adapter_file("edifact/fixtures/medlab/three-messages.edi"),
            "transaction",
            3,
        ),
        (
            adapter_file("edifact/fixtures/medvri/verzoek-lab.edi"),
            "transaction",
            1,
        ),
        (adapter_file("edifact/fixtures/medeur/verwijzing.edi"), "document", 1),
        (adapter_file("ecd/fixtures/zorgpoort/basis.csv"), "transaction", 0),
        (adapter_file("ecd/fixtures/carebook-json/ward-1.json"), "transaction", 0),
        (fixture("multi-message.hl7"), "transaction", 3),
    ];
    for (file, kind, count) in &files {
        let out = zorgpoort(&["convert", file]);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let bundles = lines(&out);
        if *count > 0 {
            assert_eq!(bundles.len(), *count, "{file}");
        } else {
            assert!(bundles.len() > 1, "{file}: one Bundle per client");
        }
        for bundle in &bundles {
            assert_eq!(bundle["type"], *kind, "{file}");
            let problems = zorgpoort_model::check::check_bundle(&bundle.to_string(), kind);
            assert!(problems.is_empty(), "{file}: {problems:?}");
        }
    }
}

#[test]
fn errors_in_other_formats_name_the_message_and_place() {
    let dir = temp_dir("formats");
    let cda = dir.join("bad.xml");
    std::fs::write(
        &cda,
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3\"/>\n<broken></ClinicalDocument>",
    )
    .unwrap();
    let out = zorgpoort(&["convert", cda.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("{}: line 2, column 9: not well-formed XML", cda.display())),
        "{stderr}"
    );

    let edifact = adapter_file("edifact/fixtures/bad/invalid-date.edi");
    let out = zorgpoort(&["convert", "--from", "edifact", &edifact]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("msg 1") && stderr.contains("segment 3 PID, element 1: invalid date"),
        "{stderr}"
    );

    // A mapping that does not exist is a usage error.
    let out = zorgpoort(&["convert", "--from", "ecd", "--mapping", "no-such-mapping", &edifact]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not a built-in mapping")
    );
}

#[test]
fn fhir_converts_to_hl7v2() {
    let bundles = zorgpoort(&["convert", &fixture("multi-message.hl7")]);
    assert!(bundles.status.success());
    let dir = temp_dir("to-v2");
    let input = dir.join("bundles.ndjson");
    std::fs::write(&input, &bundles.stdout).unwrap();
    let out = zorgpoort(&["convert", "--from", "fhir-r4", "--to", "hl7v2", input.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let messages: Vec<&str> = text.lines().collect();
    assert_eq!(messages.len(), 3);
    for message in messages {
        assert!(message.starts_with("MSH|^~\\&|"), "{message}");
        assert!(message.contains("\rPID|"), "{message}");
    }
}

#[test]
fn stu3_goes_both_ways_through_r4() {
    let bundles = zorgpoort(&["convert", &fixture("multi-message.hl7")]);
    let dir = temp_dir("stu3");
    let r4 = dir.join("r4.ndjson");
    std::fs::write(&r4, &bundles.stdout).unwrap();

    let out = zorgpoort(&[
        "convert",
        "--from",
        "fhir-r4",
        "--to",
        "fhir-stu3",
        r4.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stu3 = lines(&out);
    assert_eq!(stu3.len(), 3);
    let encounter = stu3[0]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    assert!(encounter["resource"]["class"].is_object(), "{encounter}");

    let stu3_file = dir.join("stu3.ndjson");
    std::fs::write(&stu3_file, &out.stdout).unwrap();
    let back = zorgpoort(&["convert", "--from", "fhir-stu3", stu3_file.to_str().unwrap()]);
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    let again = lines(&back);
    let originals = lines(&bundles);
    for (original, returned) in originals.iter().zip(&again) {
        let patient = |bundle: &serde_json::Value| {
            bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["resource"]["resourceType"] == "Patient")
                .unwrap()["resource"]
                .clone()
        };
        assert_eq!(
            patient(original),
            patient(returned),
            "the Patient survives R4 -> STU3 -> R4"
        );
    }
}
