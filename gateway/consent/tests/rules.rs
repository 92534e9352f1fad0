//! Each rule and their precedence, table-driven.

use zorgpoort_consent::{Choice, Decision, Policy, Provision, Purpose, Request, decide};

fn choice(id: &str, provision: Provision, data: &[&str], requesters: &[&str], orgs: &[&str]) -> Choice {
    Choice {
        id: id.into(),
        provision,
        data_categories: data.iter().map(|s| (*s).to_owned()).collect(),
        requester_categories: requesters.iter().map(|s| (*s).to_owned()).collect(),
        organizations: orgs.iter().map(|s| (*s).to_owned()).collect(),
        from_ms: Some(1_000),
        until_ms: Some(9_000),
    }
}

struct Case {
    name: &'static str,
    choices: Vec<Choice>,
    purpose: Purpose,
    treating: bool,
    categories: &'static [&'static str],
    reason: Option<&'static str>,
    requester_category: &'static str,
    now_ms: i64,
    expected: Decision,
}

fn permit(rule: &str) -> Decision {
    Decision::Permit {
        rule: rule.into(),
        flagged: false,
    }
}

fn deny(rule: &str) -> Decision {
    Decision::Deny { rule: rule.into() }
}

#[test]
#[allow(clippy::too_many_lines)] // one row per rule reads best as one table
fn rules_and_precedence() {
    use Provision::{Deny, Permit};
    let cases = vec![
        Case {
            name: "no choice, no presumed purpose: deny",
            choices: vec![],
            purpose: Purpose::Treatment,
            treating: true,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: deny("default-deny"),
        },
        Case {
            name: "handover between treating parties: presumed consent",
            choices: vec![],
            purpose: Purpose::Handover,
            treating: true,
            categories: &["general", "lab"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: permit("presumed:handover"),
        },
        Case {
            name: "handover to a non-treating party: deny",
            choices: vec![],
            purpose: Purpose::Handover,
            treating: false,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: deny("default-deny"),
        },
        Case {
            name: "explicit permit for the requester category",
            choices: vec![choice("c1", Permit, &["general"], &["vvt"], &[])],
            purpose: Purpose::Treatment,
            treating: false,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: permit("permit:c1"),
        },
        Case {
            name: "a permit for another requester category does not apply",
            choices: vec![choice("c1", Permit, &["general"], &["apotheek"], &[])],
            purpose: Purpose::Treatment,
            treating: true,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: deny("default-deny"),
        },
        Case {
            name: "a permit outside its period does not apply",
            choices: vec![choice("c1", Permit, &["general"], &[], &[])],
            purpose: Purpose::Treatment,
            treating: true,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 9_000,
            expected: deny("default-deny"),
        },
        Case {
            name: "a permit for one organisation only",
            choices: vec![choice("c1", Permit, &["all"], &[], &["other-org"])],
            purpose: Purpose::Treatment,
            treating: true,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: deny("default-deny"),
        },
        Case {
            name: "deny wins over permit and over presumed consent",
            choices: vec![
                choice("p", Permit, &[], &[], &[]),
                choice("d", Deny, &["general"], &[], &[]),
            ],
            purpose: Purpose::Handover,
            treating: true,
            categories: &["general"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: deny("deny:d"),
        },
        Case {
            name: "a deny of mental-health data filters a handover",
            choices: vec![choice("d", Deny, &["mental-health"], &[], &[])],
            purpose: Purpose::Handover,
            treating: true,
            categories: &["general", "mental-health", "lab"],
            reason: None,
            requester_category: "vvt",
            now_ms: 5_000,
            expected: Decision::PermitWithFilter {
                withheld: vec!["mental-health".into()],
                rule: "general=presumed:handover;mental-health=deny:d;lab=presumed:handover".into(),
            },
        },
        Case {
            name: "break-the-glass without a reason is refused",
            choices: vec![],
            purpose: Purpose::Emergency,
            treating: false,
            categories: &["general"],
            reason: Some("  "),
            requester_category: "ziekenhuis",
            now_ms: 5_000,
            expected: deny("break-the-glass:no-reason"),
        },
        Case {
            name: "break-the-glass by a category the policy does not allow",
            choices: vec![],
            purpose: Purpose::Emergency,
            treating: false,
            categories: &["general"],
            reason: Some("bewusteloos binnengebracht"),
            requester_category: "apotheek",
            now_ms: 5_000,
            expected: deny("break-the-glass:not-allowed"),
        },
        Case {
            name: "break-the-glass with a reason overrides a deny, flagged",
            choices: vec![choice("d", Deny, &[], &[], &[])],
            purpose: Purpose::Emergency,
            treating: false,
            categories: &["general"],
            reason: Some("bewusteloos binnengebracht"),
            requester_category: "ambulance",
            now_ms: 5_000,
            expected: Decision::Permit {
                rule: "break-the-glass".into(),
                flagged: true,
            },
        },
    ];
    let policy = Policy::default();
    for case in cases {
        let categories: Vec<String> = case.categories.iter().map(|s| (*s).to_owned()).collect();
        let request = Request {
            requester: "de-linde",
            requester_category: case.requester_category,
            purpose: case.purpose,
            treating_relationship: case.treating,
            data_categories: &categories,
            reason: case.reason,
            now_ms: case.now_ms,
        };
        assert_eq!(decide(&request, &case.choices, &policy), case.expected, "{}", case.name);
    }
}
