//! Checks the R4 JSON schema cannot express: no empty values, dates that
//! exist on the calendar, the BSN 11-check, UCUM unit syntax, and the base
//! invariants (hand-written in [`crate::invariants`], FHIRPath from
//! [`crate::base_invariants`]), applied to every value of their type as the
//! walk finds it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::Value;
use zorgpoort_model::systems;

use crate::base_invariants;
use crate::constraints::{Evaluation, Step};
use crate::invariants;
use crate::issue::{Issue, IssueType};
use crate::rules::Invariant;
use crate::schema::{Element, ElementType, schema};

/// Walks `resource` (at `path`) with the schema's type knowledge. `nl_core`
/// says whether the Dutch rules apply: the resource is checked against an
/// nl-core or zib profile. `container` is the resource that contains this
/// one, if any (`%rootResource` for the base invariants).
pub fn check(resource: &Value, container: Option<&Value>, path: &str, nl_core: bool, issues: &mut Vec<Issue>) {
    if let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) {
        let mut path = path.to_owned();
        let evaluation = match container {
            Some(container) => Evaluation::contained_in(resource, container),
            None => Evaluation::new(resource),
        };
        let mut walker = Walker {
            nl_core,
            contained: container.is_some(),
            issues,
            steps: Vec::new(),
            evaluation,
        };
        walker.walk(resource, resource_type, resource_type, &mut path, 0);
    }
}

/// What a walk reports to, and which rules it applies.
struct Walker<'i, 'v> {
    nl_core: bool,
    /// A contained resource has no narrative of its own (dom-6 is not asked).
    contained: bool,
    issues: &'i mut Vec<Issue>,
    /// From the resource down to the value being walked, for the FHIRPath
    /// focus of the base invariants.
    steps: Vec<Step<'v>>,
    evaluation: Evaluation<'v>,
}

/// Nested resources are validated on their own; this bounds the rest.
const MAX_DEPTH: usize = 64;

impl<'v> Walker<'_, 'v> {
    /// `type_name` is the schema definition (`Observation_ReferenceRange`),
    /// `element_path` the FHIR element path without indices
    /// (`Observation.referenceRange`; a data type starts its own, `HumanName`).
    /// `path` is where `value` is; it is extended and restored while walking,
    /// and copied only into findings.
    fn walk(&mut self, value: &'v Value, type_name: &str, element_path: &str, path: &mut String, depth: usize) {
        let Some(object) = value.as_object() else { return };
        if object.is_empty() {
            let message = "an element must have a value or children; {} is empty";
            self.issues
                .push(Issue::error(IssueType::Structure, path.as_str(), message));
            return;
        }
        if depth > MAX_DEPTH {
            return;
        }
        self.check_type(value, type_name, path);
        for invariant in base_invariants::of_type(type_name) {
            if self.contained && invariant.key == "dom-6" {
                continue;
            }
            self.evaluation.check(invariant, &self.steps, path, self.issues);
        }
        check_required(object, element_path, path, self.issues);
        let Some(elements) = schema().type_elements(type_name) else {
            return;
        };
        let parent_length = path.len();
        for (key, child) in object {
            let (name, is_companion) = key.strip_prefix('_').map_or((key.as_str(), false), |name| (name, true));
            self.steps.push(if is_companion {
                Step::Sibling(name)
            } else {
                Step::Key(name)
            });
            path.push('.');
            path.push_str(key);
            match child {
                Value::Array(items) if items.is_empty() => {
                    self.issues.push(Issue::error(
                        IssueType::Structure,
                        path.as_str(),
                        "an array must not be empty",
                    ));
                }
                _ => {
                    if let Some(element) = elements.element(name) {
                        let primitive = elements.primitive_type(name);
                        let item_walk = ItemWalk {
                            primitive,
                            invariants: base_invariants::of_element(type_name, name),
                            element_path,
                            name,
                            element,
                            is_companion,
                        };
                        match child {
                            Value::Array(items) => {
                                let key_length = path.len();
                                for (index, item) in items.iter().enumerate() {
                                    let _ = write!(path, "[{index}]");
                                    self.steps.push(Step::Index(index));
                                    item_walk.visit(self, item, path, depth);
                                    self.steps.pop();
                                    path.truncate(key_length);
                                }
                            }
                            _ => item_walk.visit(self, child, path, depth),
                        }
                    }
                }
            }
            self.steps.pop();
            path.truncate(parent_length);
        }
    }

    /// The checks of one type that look at a value as a whole.
    fn check_type(&mut self, value: &Value, type_name: &str, path: &str) {
        let issues = &mut *self.issues;
        match type_name {
            "Identifier" => check_identifier(value, path, self.nl_core, issues),
            "Quantity" | "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity" | "MoneyQuantity" => {
                check_unit(value, path, issues);
            }
            "Extension" => invariants::check_extension(value, path, issues),
            "Period" => invariants::check_period(value, path, issues),
            "Attachment" => invariants::check_attachment(value, path, issues),
            "RiskAssessment_Prediction" => invariants::check_risk_prediction(value, path, issues),
            _ => {}
        }
    }
}

/// One element's values, as [`Walker::walk`] visits them.
struct ItemWalk<'a> {
    /// The primitive type the element holds, if it does.
    primitive: Option<&'static str>,
    /// The base invariants declared on this element.
    invariants: &'static [Invariant],
    element_path: &'a str,
    name: &'a str,
    element: Element<'static>,
    is_companion: bool,
}

impl ItemWalk<'_> {
    fn visit<'v>(&self, walker: &mut Walker<'_, 'v>, item: &'v Value, path: &mut String, depth: usize) {
        if !self.is_companion {
            for invariant in self.invariants {
                walker.evaluation.check(invariant, &walker.steps, path, walker.issues);
            }
        }
        match (item, self.element.holds) {
            (Value::Null, _) if self.is_companion || self.element.repeats => {}
            (Value::Null, _) => {
                walker
                    .issues
                    .push(Issue::error(IssueType::Structure, path.as_str(), "null is not a value"));
            }
            (Value::String(text), _) if text.is_empty() => {
                walker.issues.push(Issue::error(
                    IssueType::Structure,
                    path.as_str(),
                    "a string must not be empty",
                ));
            }
            (_, _) if self.is_companion => walker.walk(item, "Element", "Element", path, depth + 1),
            (Value::String(text), ElementType::Primitive(_)) => {
                check_primitive(self.primitive, text, path, walker.issues);
            }
            (_, ElementType::Complex(complex)) => {
                // Backbone elements are named `Owner_Element` in the schema.
                let child_element_path = if complex.contains('_') {
                    Cow::Owned(format!("{}.{}", self.element_path, self.name))
                } else {
                    Cow::Borrowed(complex)
                };
                walker.walk(item, complex, &child_element_path, path, depth + 1);
            }
            _ => {}
        }
    }
}

/// The required elements of the base spec the schema cannot require:
/// primitives and choices (its `required` covers the other complex ones).
fn check_required(object: &serde_json::Map<String, Value>, element_path: &str, path: &str, issues: &mut Vec<Issue>) {
    static BY_OWNER: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    let by_owner = BY_OWNER.get_or_init(|| {
        let mut by_owner: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for (owner, name) in crate::generated_r4::REQUIRED_ELEMENTS {
            by_owner.entry(owner).or_default().push(name);
        }
        by_owner
    });
    for name in by_owner.get(element_path).into_iter().flatten() {
        let present = match name.strip_suffix("[x]") {
            Some(prefix) => object.keys().any(|key| {
                let key = key.strip_prefix('_').unwrap_or(key);
                key.strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(char::is_uppercase))
            }),
            None => object.contains_key(*name) || object.contains_key(&format!("_{name}")),
        };
        if !present {
            issues.push(Issue::error(
                IssueType::Required,
                format!("{path}.{name}"),
                format!("`{name}` is required"),
            ));
        }
    }
}

fn check_primitive(primitive: Option<&str>, text: &str, path: &str, issues: &mut Vec<Issue>) {
    if matches!(primitive, Some("date" | "dateTime" | "instant")) && !is_calendar_date(text) {
        issues.push(Issue::error(
            IssueType::Value,
            path,
            format!("`{text}` is not a date on the calendar"),
        ));
    }
}

/// Whether the `YYYY[-MM[-DD]]` start of a date or dateTime exists.
/// The shape itself is the schema's check.
fn is_calendar_date(text: &str) -> bool {
    let shaped = text.bytes().take(10).enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    if !shaped || text.len() < 10 {
        return true;
    }
    let mut parts = text.get(..10.min(text.len())).unwrap_or(text).split('-');
    let year = parts.next().and_then(|y| y.parse::<i64>().ok());
    let month = parts.next().and_then(|m| m.parse::<u32>().ok());
    let day = parts.next().and_then(|d| d.parse::<u32>().ok());
    match (year, month, day) {
        (Some(year), Some(month), Some(day)) => {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let days = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            (1..=days).contains(&day)
        }
        _ => true,
    }
}

/// The BSN 11-check, and, where the Dutch rules apply (`nl_core`), the
/// nl-core naming system instead of the OID of CDA/v3.
fn check_identifier(identifier: &Value, path: &str, nl_core: bool, issues: &mut Vec<Issue>) {
    let system = identifier.get("system").and_then(Value::as_str);
    let value = identifier.get("value").and_then(Value::as_str);
    if let Some(naming_system) = system
        .filter(|_| nl_core)
        .and_then(|s| s.strip_prefix("urn:oid:"))
        .and_then(systems::naming_system_of_oid)
    {
        let oid = system.unwrap_or_default();
        let message = format!("nl-core identifies this with the system {naming_system}, not {oid}");
        issues.push(Issue::error(IssueType::Value, format!("{path}.system"), message));
    }
    if let (Some(systems::BSN), Some(bsn)) = (system, value)
        && !systems::is_valid_bsn(bsn)
    {
        let message = "a BSN has nine digits and passes the 11-check";
        issues.push(Issue::error(IssueType::Value, format!("{path}.value"), message));
    }
}

fn check_unit(quantity: &Value, path: &str, issues: &mut Vec<Issue>) {
    let system = quantity.get("system").and_then(Value::as_str);
    let code = quantity.get("code").and_then(Value::as_str);
    if let (Some(systems::UCUM), Some(code)) = (system, code)
        && let Err(reason) = zorgpoort_model::ucum::check_syntax(code)
    {
        let message = format!("`{code}` is not UCUM syntax: {reason}");
        issues.push(Issue::error(IssueType::Value, format!("{path}.code"), message));
    }
}

#[cfg(test)]
mod tests {
    use super::is_calendar_date;

    #[test]
    fn calendar_dates() {
        assert!(is_calendar_date("2024-02-29"));
        assert!(!is_calendar_date("2023-02-29"));
        assert!(!is_calendar_date("2023-04-31T10:00:00Z"));
        assert!(is_calendar_date("2023-04"));
        assert!(is_calendar_date("1900-02-28"));
        assert!(!is_calendar_date("1900-02-29"));
    }
}
