//! The engine against a small reference model written independently, on
//! 100,000 random policies, choices and requests: no disagreement, so in
//! particular no disclosure the reference model denies.

use proptest::prelude::*;
use zorgpoort_consent::{Choice, Decision, Policy, Provision, Purpose, Request, decide};

const DATA: &[&str] = &["general", "lab", "medication", "mental-health", "documents"];
const REQUESTERS: &[&str] = &["huisarts", "ziekenhuis", "vvt", "ggz", "ambulance"];
const ORGS: &[&str] = &["a", "b", "c"];

/// Which categories the reference model lets through.
fn reference(request: &Request<'_>, choices: &[Choice], policy: &Policy) -> Vec<bool> {
    let all = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value || v == "all");
    if request.purpose == Purpose::Emergency {
        let allowed = request.reason.is_some_and(|r| !r.trim().is_empty())
            && policy
                .break_the_glass_for
                .iter()
                .any(|c| c == request.requester_category);
        return vec![allowed; request.data_categories.len()];
    }
    request
        .data_categories
        .iter()
        .map(|category| {
            // Strength of what applies: 2 deny, 1 permit; presumed consent only without either.
            let strongest = choices
                .iter()
                .filter(|c| {
                    all(&c.data_categories, category)
                        && all(&c.requester_categories, request.requester_category)
                        && all(&c.organizations, request.requester)
                        && c.from_ms.is_none_or(|f| f <= request.now_ms)
                        && c.until_ms.is_none_or(|u| request.now_ms < u)
                })
                .map(|c| if c.provision == Provision::Deny { 2 } else { 1 })
                .max();
            match strongest {
                Some(2) => false,
                Some(_) => true,
                None => request.treating_relationship && policy.presumed_consent_for.contains(&request.purpose),
            }
        })
        .collect()
}

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool.to_vec(), 0..=pool.len()).prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn purpose() -> impl Strategy<Value = Purpose> {
    prop::sample::select(vec![
        Purpose::Handover,
        Purpose::Referral,
        Purpose::Treatment,
        Purpose::Emergency,
    ])
}

fn choice() -> impl Strategy<Value = Choice> {
    (
        any::<bool>(),
        subset(DATA),
        subset(REQUESTERS),
        subset(ORGS),
        prop::option::of(0i64..10),
        prop::option::of(0i64..10),
    )
        .prop_map(|(deny, data, requesters, orgs, from, until)| Choice {
            id: "c".into(),
            provision: if deny { Provision::Deny } else { Provision::Permit },
            data_categories: data,
            requester_categories: requesters,
            organizations: orgs,
            from_ms: from,
            until_ms: until,
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    (prop::collection::vec(purpose(), 0..3), subset(REQUESTERS)).prop_map(|(presumed, btg)| Policy {
        presumed_consent_for: presumed,
        break_the_glass_for: btg,
        ..Policy::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100_000))]

    #[test]
    fn engine_agrees_with_the_reference_model(
        policy in policy(),
        choices in prop::collection::vec(choice(), 0..5),
        purpose in purpose(),
        treating in any::<bool>(),
        categories in subset(DATA),
        requester in prop::sample::select(ORGS),
        requester_category in prop::sample::select(REQUESTERS),
        reason in prop::option::of(prop::sample::select(vec!["", " ", "acuut"])),
        now in 0i64..10,
    ) {
        let request = Request {
            requester,
            requester_category,
            purpose,
            treating_relationship: treating,
            data_categories: &categories,
            reason,
            now_ms: now,
        };
        let allowed = reference(&request, &choices, &policy);
        let expected_withheld: Vec<String> =
            categories.iter().zip(&allowed).filter(|(_, ok)| !**ok).map(|(c, _)| c.clone()).collect();
        let none_asked = categories.is_empty() && purpose != Purpose::Emergency;
        match decide(&request, &choices, &policy) {
            // Everything goes only when the reference lets everything through.
            Decision::Permit { .. } => prop_assert!(!none_asked && expected_withheld.is_empty()),
            // Nothing goes when the reference lets nothing through (or nothing was asked).
            Decision::Deny { .. } => prop_assert!(none_asked || !allowed.iter().any(|a| *a) || allowed.is_empty()),
            Decision::PermitWithFilter { withheld, .. } => {
                prop_assert_eq!(&withheld, &expected_withheld);
                prop_assert!(withheld.len() < categories.len());
            }
        }
    }
}
