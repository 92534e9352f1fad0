//! The conformance kit: runs FHIR R4 `TestScripts` against a system under test
//! (a FHIR endpoint, or an MLLP listener through our own step type) and
//! reports what happened, for a person (console, HTML) and for a machine
//! (`JUnit` XML, a FHIR `TestReport` in JSON).
//!
//! A run: [`load::Suite`] reads the scripts (a file, a directory, or a suite
//! compiled in by [`suites`]); [`runner::Runner`] executes each script's
//! fixtures, setup, tests and teardown, turning [`operation`]s into requests
//! sent by [`http`] (or [`mllp`]) and checking [`asserts`], with
//! [`variables`] and FHIRPath ([`expression`]) in between; the result is a
//! [`report::RunReport`], which [`summary`] prints for the console.
//!
//! # The `mllp-send` step
//!
//! `TestScript` has no operation for HL7 v2, so zorgpoort adds one: an
//! operation whose `type` is
//! `{"system": "https://zorgpoort.example/fhir/CodeSystem/testscript-operation", "code": "mllp-send"}`
//! sends its `sourceId` fixture (a file of HL7 v2 ER7 text ending `.hl7`,
//! `.er7` or `.txt`, or a Binary resource with the message as `data`) over
//! MLLP (0x0B, the message, 0x1C 0x0D) to the `--mllp-target`. A fixture
//! file ending `.bin`, or an operation with the extension
//! `https://zorgpoort.example/fhir/StructureDefinition/testscript-mllp-raw`
//! (`valueBoolean: true`), is sent as its bytes are, unframed, for tests of
//! framing errors. The ACK becomes the operation's response: status 200,
//! the ACK text as body, and pseudo headers `MSA-1`, `MSA-2`, `MSA-3`,
//! `ERR-1`...`ERR-8`, `MSH-9`, `MSH-10`, so `headerField` asserts check
//! them. No ACK within the timeout is an error of the step.
//!
//! # Variables in a body
//!
//! FHIR substitutes `${name}` only in an operation's URL, params and
//! headers and in assert values, so a body is sent as its fixture is. An
//! operation with the extension
//! `https://zorgpoort.example/fhir/StructureDefinition/testscript-substitute-body`
//! (`valueBoolean: true`) has the variables in its body substituted too:
//! for a resource naming what the server made earlier in the run (an
//! eOverdracht Task whose focus is `Bundle/${document}`, the id the gateway
//! gave the stored document), or a document made new for every run.
//!
//! This crate never starts a server, and knows nothing of command lines.

pub mod asserts;
pub mod expression;
pub mod fixtures;
pub mod http;
pub mod load;
pub mod mllp;
pub mod operation;
pub mod render;
pub mod report;
pub mod runner;
pub mod script;
pub mod state;
pub mod suites;
pub mod summary;
pub mod variables;

pub use load::Suite;
pub use runner::{Options, Runner, Targets};
