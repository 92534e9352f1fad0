//! The C-CDA probes under `tests/fixtures/ccda`: each fixture follows one
//! part of the C-CDA R2.1 templates and each test checks that its clinical
//! facts come out once, in the right place, or are named by a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{convert_probe, resources};

#[test]
fn severity_and_reaction_under_an_allergy_do_not_become_allergies() {
    let converted = convert_probe("allergies-severity-reaction.xml");
    let allergies = resources(&converted.bundle, "AllergyIntolerance");
    // Two allergy observations in, two allergies out: the severity beside
    // the first is not an allergy of its own.
    assert_eq!(allergies.len(), 2, "{allergies:#?}");
    let penicillin = allergies[0];
    assert_eq!(penicillin["code"]["coding"][0]["code"], "7980");
    assert_eq!(penicillin["reaction"].as_array().unwrap().len(), 1);
    assert_eq!(
        penicillin["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "247472004"
    );
    assert_eq!(penicillin["reaction"][0]["severity"], "moderate");
    let peanut = allergies[1];
    assert_eq!(peanut["code"]["coding"][0]["code"], "256349002");
    assert_eq!(
        peanut["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "39579001"
    );
    assert_eq!(peanut["reaction"][0]["severity"], "severe");
    assert_eq!(peanut["reaction"][0]["onset"], "2008-06-12");
    assert_eq!(peanut["clinicalStatus"]["coding"][0]["code"], "active");
    assert!(converted.warnings.is_empty(), "{:?}", converted.warnings);
}
