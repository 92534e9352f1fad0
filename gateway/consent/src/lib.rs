//! Consent decisions for data crossing an organisation boundary, modelled on
//! the Dutch national consent service (Mitz): a patient permits or denies
//! per category of data and per category of requesting organisation,
//! optionally for one organisation and a period.
//!
//! [`decide`] is a pure function of the request, the patient's choices and
//! the regional [`Policy`], applied per data category:
//!
//! 1. break-the-glass (acute care) needs a stated reason and a requester
//!    category the policy allows; then everything is permitted, flagged;
//! 2. an applicable deny wins;
//! 3. else an applicable permit;
//! 4. else presumed consent, for the policy's purposes between treating parties;
//! 5. else deny.
//!
//! Some categories permitted and others not gives permit-with-filter:
//! [`filter`] removes the withheld resources from a Bundle and tells the
//! receiver which categories were withheld, never what.
//!
//! No I/O, no clock: `now` is a parameter.

mod bundle;
pub mod fhir;

pub use bundle::{categories_in, categories_of, categorize, filter};

use serde::Deserialize;

/// Why data is requested or sent (purpose of use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// A handover (overdracht) between treating parties.
    Handover,
    /// A referral.
    Referral,
    /// Ongoing treatment by the requester.
    Treatment,
    /// Acute care without the patient's known choices (break-the-glass).
    Emergency,
}

impl Purpose {
    /// The v3 PurposeOfUse code for audit events.
    pub fn code(self) -> &'static str {
        match self {
            Self::Handover | Self::Referral | Self::Treatment => "TREAT",
            Self::Emergency => "ETREAT",
        }
    }
}

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provision {
    /// The patient allows it.
    Permit,
    /// The patient does not allow it.
    Deny,
}

/// One choice of a patient (a FHIR Consent reduced to what decides).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Choice {
    /// The Consent's id, cited by decisions.
    pub id: String,
    /// Permit or deny.
    pub provision: Provision,
    /// Data categories it covers; empty or `all` covers every category.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Requester categories it covers; empty covers all.
    #[serde(default)]
    pub requester_categories: Vec<String>,
    /// Organisations it covers; empty covers all.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// From (ms since the epoch), inclusive.
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Until (ms since the epoch), exclusive.
    #[serde(default)]
    pub until_ms: Option<i64>,
}

/// The region's rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The region's categories of organisation (Mitz: categories of data
    /// holder and requester); every organisation has one of these as `kind`.
    pub organization_categories: Vec<String>,
    /// Purposes that may run on presumed consent between treating parties.
    pub presumed_consent_for: Vec<Purpose>,
    /// Requester categories that may break the glass.
    pub break_the_glass_for: Vec<String>,
    /// The region's own data-category rules, tried before the built-in ones.
    #[serde(rename = "category")]
    pub categories: Vec<CategoryRule>,
}

/// A data-category rule: resources of a type and/or with a code (system
/// and code prefix) in `code`, `category`, `reasonCode` or
/// `valueCodeableConcept` belong to `category`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The data category.
    pub category: String,
    /// The resource type, if the rule is for one.
    #[serde(default)]
    pub resource: Option<String>,
    /// The code system of the code, if the rule looks at codes.
    #[serde(default)]
    pub system: Option<String>,
    /// The start of the code (`F` for ICD-10 chapter F).
    #[serde(default)]
    pub code_prefix: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            organization_categories: [
                "huisarts",
                "ziekenhuis",
                "vvt",
                "apotheek",
                "ggz",
                "huisartsenpost",
                "ambulance",
            ]
            .map(String::from)
            .to_vec(),
            presumed_consent_for: vec![Purpose::Handover, Purpose::Referral],
            break_the_glass_for: vec!["ziekenhuis".into(), "huisartsenpost".into(), "ambulance".into()],
            categories: Vec::new(),
        }
    }
}

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// Who asks or receives (registry id).
    pub requester: &'a str,
    /// Its category (huisarts, ziekenhuis, vvt, apotheek, ggz, huisartsenpost, ambulance).
    pub requester_category: &'a str,
    /// Why.
    pub purpose: Purpose,
    /// Whether requester and holder both treat the patient.
    pub treating_relationship: bool,
    /// The categories of data concerned.
    pub data_categories: &'a [String],
    /// For break-the-glass: the stated reason.
    pub reason: Option<&'a str>,
    /// Now, in ms since the epoch.
    pub now_ms: i64,
}

/// The outcome, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Everything may go.
    Permit {
        /// The deciding rule (`permit:<consent>`, `presumed:<purpose>`, `break-the-glass`).
        rule: String,
        /// Break-the-glass: to be reviewed afterwards.
        flagged: bool,
    },
    /// Nothing may go.
    Deny {
        /// The deciding rule (`deny:<consent>`, `default-deny`, `break-the-glass:*`).
        rule: String,
    },
    /// Some categories may go; these are withheld.
    PermitWithFilter {
        /// Withheld data categories.
        withheld: Vec<String>,
        /// The rules, `category=rule` joined by `;`.
        rule: String,
    },
}

impl Decision {
    /// The rule to cite in audit events and states.
    pub fn rule(&self) -> &str {
        match self {
            Self::Permit { rule, .. } | Self::Deny { rule } | Self::PermitWithFilter { rule, .. } => rule,
        }
    }
}

fn covers(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|v| v == value || v == "all")
}

impl Choice {
    fn applies(&self, request: &Request<'_>, category: &str) -> bool {
        covers(&self.data_categories, category)
            && covers(&self.requester_categories, request.requester_category)
            && covers(&self.organizations, request.requester)
            && self.from_ms.is_none_or(|from| request.now_ms >= from)
            && self.until_ms.is_none_or(|until| request.now_ms < until)
    }
}

/// The decision for one data category: permitted, and the rule.
fn decide_category(request: &Request<'_>, choices: &[Choice], policy: &Policy, category: &str) -> (bool, String) {
    let applicable = || choices.iter().filter(|c| c.applies(request, category));
    if let Some(deny) = applicable().find(|c| c.provision == Provision::Deny) {
        return (false, format!("deny:{}", deny.id));
    }
    if let Some(permit) = applicable().find(|c| c.provision == Provision::Permit) {
        return (true, format!("permit:{}", permit.id));
    }
    if request.treating_relationship && policy.presumed_consent_for.contains(&request.purpose) {
        let purpose = match request.purpose {
            Purpose::Handover => "handover",
            Purpose::Referral => "referral",
            Purpose::Treatment => "treatment",
            Purpose::Emergency => "emergency",
        };
        return (true, format!("presumed:{purpose}"));
    }
    (false, "default-deny".into())
}

/// Decides a request against the patient's choices and the policy.
pub fn decide(request: &Request<'_>, choices: &[Choice], policy: &Policy) -> Decision {
    if request.purpose == Purpose::Emergency {
        if request.reason.is_none_or(|r| r.trim().is_empty()) {
            return Decision::Deny {
                rule: "break-the-glass:no-reason".into(),
            };
        }
        if !policy
            .break_the_glass_for
            .iter()
            .any(|c| c == request.requester_category)
        {
            return Decision::Deny {
                rule: "break-the-glass:not-allowed".into(),
            };
        }
        return Decision::Permit {
            rule: "break-the-glass".into(),
            flagged: true,
        };
    }
    let decided: Vec<(&String, bool, String)> = request
        .data_categories
        .iter()
        .map(|category| {
            let (permitted, rule) = decide_category(request, choices, policy, category);
            (category, permitted, rule)
        })
        .collect();
    let withheld: Vec<String> = decided
        .iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(c, _, _)| (*c).clone())
        .collect();
    if withheld.is_empty() {
        let rule = decided
            .first()
            .map_or_else(|| "default-deny".to_owned(), |(_, _, r)| r.clone());
        if decided.is_empty() {
            return Decision::Deny { rule };
        }
        return Decision::Permit { rule, flagged: false };
    }
    if withheld.len() == decided.len() {
        return Decision::Deny {
            rule: decided[0].2.clone(),
        };
    }
    let rule = decided
        .iter()
        .map(|(c, _, r)| format!("{c}={r}"))
        .collect::<Vec<_>>()
        .join(";");
    Decision::PermitWithFilter { withheld, rule }
}
