//! What a script's run knows at a given step: its fixtures (static and
//! recorded), the last request and response, and the variable values given
//! on the command line. Operations write it; asserts and variables read it.

use std::collections::BTreeMap;

use crate::fixtures::{Fixture, Fixtures};
use crate::report::Exchange;
use crate::script::TestScript;

/// The last operation's request and response.
#[derive(Debug, Clone)]
pub struct Last {
    /// The request as sent (body parsed when it is FHIR).
    pub request: Fixture,
    /// The method and URL sent.
    pub method: String,
    /// The URL sent.
    pub url: String,
    /// The response, when one came.
    pub response: Option<Fixture>,
    /// The exchange as the report shows it.
    pub exchange: Exchange,
}

/// The state of one script's run.
#[derive(Debug)]
pub struct State<'s> {
    /// The script.
    pub script: &'s TestScript,
    /// Every fixture by id.
    pub fixtures: Fixtures,
    /// The last operation, once there was one.
    pub last: Option<Last>,
    /// Variable values given by the user; they win over the script's.
    pub overrides: &'s BTreeMap<String, String>,
}
