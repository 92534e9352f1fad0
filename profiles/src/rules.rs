//! The profile rule tables and how they apply to an instance.
//!
//! A profile's rules are the differential elements of its StructureDefinition
//! and of every profile it derives from (a derived profile only narrows). An
//! element id such as `Patient.identifier:bsn.system` is walked segment by
//! segment through the JSON instance; a `:slice` keeps only the items that
//! belong to the slice.
//!
//! Slice membership is decided from what the slice fixes: its own and its
//! descendants' fixed and pattern values, the `url` of an extension slice, or
//! the type of a `value[x]` slice. Slices discriminated only by a profile
//! cannot be decided without validating every item against every candidate
//! profile; their rules are not applied (and say so in `docs/validation.md`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::issue::Severity;

/// One StructureDefinition, reduced to what is checked.
#[derive(Debug)]
pub struct Profile {
    /// The canonical URL.
    pub url: &'static str,
    /// The type it constrains (`Patient`, `HumanName`, `Extension`).
    pub type_name: &'static str,
    /// The profile it derives from.
    pub base: &'static str,
    /// Its differential elements that check something.
    pub elements: &'static [ElementRule],
}

/// One differential element.
#[derive(Debug)]
pub struct ElementRule {
    /// The element id, e.g. `Patient.identifier:bsn.system`.
    pub id: &'static str,
    /// Minimum occurrences.
    pub min: u32,
    /// Maximum occurrences, when limited.
    pub max: Option<u32>,
    /// `fixed[x]` as JSON: the value must equal it.
    pub fixed: Option<&'static str>,
    /// `pattern[x]` as JSON: the value must contain it.
    pub pattern: Option<&'static str>,
    /// A required binding.
    pub value_set: Option<&'static str>,
    /// For `[x]` elements: the allowed types.
    pub types: &'static [&'static str],
    /// Profiles each value must conform to (data types, extensions).
    pub profiles: &'static [&'static str],
    /// Resource types a Reference may point to.
    pub targets: &'static [&'static str],
    /// Invariants declared on the element.
    pub invariants: &'static [Invariant],
}

/// A constraint on an element: a FHIRPath expression that must not be
/// false on any of the element's values.
#[derive(Debug)]
pub struct Invariant {
    /// Its key, e.g. `zib-Alert-1`.
    pub key: &'static str,
    /// What a violation is.
    pub severity: Severity,
    /// What it requires, in words.
    pub human: &'static str,
    /// The FHIRPath expression, evaluated on each value of the element.
    pub expression: &'static str,
}

/// A value set that only enumerates concepts.
#[derive(Debug)]
pub struct ValueSet {
    /// The canonical URL.
    pub url: &'static str,
    /// Sorted (system, code) pairs.
    pub codes: &'static [(&'static str, &'static str)],
}

impl ValueSet {
    /// Whether the value set holds `code` (in `system`, when given).
    pub fn contains(&self, system: Option<&str>, code: &str) -> bool {
        match system {
            Some(system) => self.codes.binary_search(&(system, code)).is_ok(),
            None => self.codes.iter().any(|(_, known)| *known == code),
        }
    }
}

impl ValueSet {
    /// Whether a code, Coding or CodeableConcept is in the set; `None` when
    /// it holds no code at all (text only), which a binding does not judge.
    pub fn holds(&self, value: &Value) -> Option<bool> {
        let codings: Vec<&Value> = match value.get("coding") {
            Some(Value::Array(codings)) => codings.iter().collect(),
            _ => vec![value],
        };
        let codes: Vec<(Option<&str>, &str)> = codings
            .iter()
            .filter_map(|coding| match coding {
                Value::String(code) => Some((None, code.as_str())),
                Value::Object(coding) => {
                    let code = coding.get("code").and_then(Value::as_str)?;
                    Some((coding.get("system").and_then(Value::as_str), code))
                }
                _ => None,
            })
            .collect();
        (!codes.is_empty()).then(|| codes.iter().any(|(system, code)| self.contains(*system, code)))
    }
}

/// The profile with this canonical URL (a `|version` suffix is ignored).
pub fn profile(url: &str) -> Option<&'static Profile> {
    static BY_URL: OnceLock<HashMap<&'static str, &'static Profile>> = OnceLock::new();
    let by_url = BY_URL.get_or_init(|| crate::generated::PROFILES.iter().map(|p| (p.url, p)).collect());
    by_url.get(url.split('|').next().unwrap_or(url)).copied()
}

/// The enumerated value set with this canonical URL.
pub fn value_set(url: &str) -> Option<&'static ValueSet> {
    let found = crate::generated::VALUE_SETS
        .binary_search_by(|set| set.url.cmp(url))
        .ok()?;
    crate::generated::VALUE_SETS.get(found)
}
