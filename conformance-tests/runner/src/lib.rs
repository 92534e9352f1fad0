//! The conformance kit: runs FHIR R4 TestScripts against a system under test
//! (a FHIR endpoint, or an MLLP listener through our own step type) and
//! reports what happened, for a person (console, HTML) and for a machine
//! (JUnit XML, a FHIR TestReport in JSON).
//!
//! [`report`] is the record of a run that the runner fills in and every
//! report format reads.

pub mod render;
pub mod report;
