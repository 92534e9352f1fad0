//! The report formats for a machine and for a person: `JUnit` XML for a
//! vendor's CI, FHIR R4 `TestReport`s in a Bundle, and one self-contained HTML
//! page for the regional IT department.
//!
//! Each is a pure function of a [`RunReport`](crate::report::RunReport): no
//! I/O, no clock (every time shown comes from the report), so the same run
//! always renders the same bytes. They agree on what a test's verdict is
//! ([`cases`]): a failed setup fails every test of its script, and a failed
//! teardown, or a script that could not run, is reported as a case of its own
//! so that no format can drop it.

mod cases;
mod csp;
mod escape;
mod html;
mod json;
mod junit;
mod time;

pub use html::html;
pub use json::json;
pub use junit::junit;
