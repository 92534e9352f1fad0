//! The suites compiled into the binary, run by name (`--suite smoke`). Each
//! is a directory under `conformance-tests/suites/`; adding one is one line
//! in [`SUITES`] naming the directory and its files.

/// A suite compiled into the binary: its files, by path relative to the
/// suite's directory.
#[derive(Debug)]
pub struct EmbeddedSuite {
    /// The name `--suite` takes.
    pub name: &'static str,
    /// Path (`fixtures/Patient-x.json`) and content of every file.
    pub files: &'static [(&'static str, &'static [u8])],
}

/// `suite!("name", "file", ...)`: the files of `conformance-tests/suites/name/`.
macro_rules! suite {
    ($name:literal, $($file:literal),+ $(,)?) => {
        EmbeddedSuite {
            name: $name,
            files: &[$(($file, include_bytes!(concat!("../../suites/", $name, "/", $file)))),+],
        }
    };
}

/// Every built-in suite.
pub static SUITES: &[EmbeddedSuite] = &[
    // A quick look at any FHIR R4 server: capabilities, create, read.
    suite!("smoke", "TestScript-smoke.json", "fixtures/Patient-smoke.json"),
    // zorgpoort's own FHIR API: capabilities, errors, authentication, $validate, conversion.
    suite!(
        "gateway",
        "TestScript-auth.json",
        "TestScript-capabilities.json",
        "TestScript-conversion.json",
        "TestScript-errors.json",
        "TestScript-validate.json",
        "fixtures/Consent-bad-bsn.json",
        "fixtures/Patient-bad-bsn.json",
        "fixtures/Patient-nl-core.json",
        "fixtures/adt-a01.hl7",
        "fixtures/adt-no-control-id.hl7",
        "fixtures/not-json.txt",
    ),
    // A holder's BgZ searches, for the test patient loaded through zorgpoort's intake.
    suite!(
        "bgz-holder",
        "TestScript-bgz.json",
        "fixtures/Bundle-bgz-batch.json",
        "fixtures/adt-a01.hl7",
        "fixtures/oru-r01.hl7",
    ),
    // An HL7 v2 receiver over MLLP: ACKs, resends, refusals, framing errors.
    suite!(
        "mllp-sender",
        "TestScript-mllp.json",
        "fixtures/adt-a01-reused.hl7",
        "fixtures/adt-a01.hl7",
        "fixtures/adt-no-control-id.hl7",
        "fixtures/adt-no-patient.hl7",
        "fixtures/two-messages.hl7",
        "fixtures/unframed.bin",
    ),
    // eOverdracht, the sending organisation: store the nursing transfer, ask for the handover, see it taken.
    suite!(
        "eoverdracht-sender",
        "TestScript-eoverdracht-sender.json",
        "fixtures/Task-bad-bsn.json",
        "fixtures/Task-created-accepted.json",
        "fixtures/Task-no-such-bundle.json",
        "fixtures/Task-overdracht.json",
        "fixtures/Task-status-accepted.json",
        "fixtures/Task-status-cancelled.json",
        "fixtures/Task-status-completed.json",
        "fixtures/Task-unknown-owner.json",
        "fixtures/overdracht-verpleegkundig.cda.txt",
    ),
    // eOverdracht, the receiving organisation: find the Task, pull the document, accept, complete.
    suite!(
        "eoverdracht-receiver",
        "TestScript-eoverdracht-receiver.json",
        "fixtures/Task-accepted.json",
        "fixtures/Task-overdracht.json",
        "fixtures/Task-status-accepted.json",
        "fixtures/Task-status-completed.json",
        "fixtures/Task-status-in-progress.json",
        "fixtures/Task-status-requested.json",
        "fixtures/overdracht-verpleegkundig.cda.txt",
    ),
];

/// The built-in suite with this name.
pub fn find(name: &str) -> Option<&'static EmbeddedSuite> {
    SUITES.iter().find(|suite| suite.name == name)
}

/// The names of the built-in suites.
pub fn names() -> Vec<&'static str> {
    SUITES.iter().map(|suite| suite.name).collect()
}
