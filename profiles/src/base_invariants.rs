//! The invariants the base R4 4.0.1 resource and data type definitions
//! declare, evaluated with the FHIRPath engine like the profiles' ones
//! ([`crate::constraints`]).
//!
//! Their source is the committed extract of the official definitions
//! (`conformance-tests/corpora/fhir/r4-invariants/constraints.json`, 238 rows
//! without ele-1 and ext-1), embedded and read once per process. Each is
//! found by the schema type its path names (`Observation.referenceRange` is
//! `Observation_ReferenceRange`, `Quantity` is `Quantity`), so it applies to
//! every value of that type wherever the walk of [`crate::datatypes`] meets
//! it, including recursive backbone elements (`Questionnaire.item.item`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::issue::Severity;
use crate::rules::Invariant;
use crate::schema::{ElementType, schema};

/// The extract, one row per constraint: path, key, severity, human text,
/// expression.
const CONSTRAINTS: &str = include_str!("../../conformance-tests/corpora/fhir/r4-invariants/constraints.json");

/// Written by hand in [`crate::invariants`], which checks more than the
/// FHIRPath says (per-1 compares partial dates by the time they cover, the
/// Bundle checks resolve fullUrls), so the FHIRPath versions are not
/// evaluated a second time.
const HAND_WRITTEN: &[&str] = &[
    "per-1", "att-1", "ras-2", "bdl-1", "bdl-2", "bdl-3", "bdl-4", "bdl-5", "bdl-7", "bdl-8", "bdl-9", "bdl-10",
    "bdl-11", "bdl-12",
];

/// Expressions evaluated instead of the R4 ones, with why. dom-3 applies
/// `as(canonical)` to all descendants at once, which FHIRPath makes an
/// error for more than one item; R5 writes the same check with `ofType`.
/// con-3 compares a CodeableConcept with a string (`$this =
/// 'problem-list-item'`), which is false for every category, so it would
/// ask a clinical status of any Condition with a category (a burn wound);
/// it is asked of a problem-list item, as its text says.
const REWRITTEN: &[(&str, &str)] = &[
    (
        "con-3",
        "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/\
         condition-ver-status' and code = 'entered-in-error').exists() or category.coding.where(system = \
         'http://terminology.hl7.org/CodeSystem/condition-category' and code = 'problem-list-item').empty()",
    ),
    (
        "dom-3",
        "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().ofType(canonical) | \
     %resource.descendants().ofType(uri) | %resource.descendants().ofType(url))) or \
     descendants().where(reference = '#').exists() or descendants().where(ofType(canonical) = '#').exists()).not())\
     .trace('unmatched', id).empty()",
    ),
];

/// The types whose definitions derive from Quantity (so carry qty-3).
const QUANTITIES: &[&str] = &[
    "Age",
    "Count",
    "Distance",
    "Duration",
    "MoneyQuantity",
    "SimpleQuantity",
];

/// The resource types that are not a `DomainResource` (no dom-*).
const NOT_DOMAIN: &[&str] = &["Bundle", "Binary", "Parameters"];

/// The embedded constraints, indexed by schema type, or by owner type and
/// element name where the element holds a data type or primitive
/// (`Organization.address`: org-2 is not on every Address).
struct Table {
    by_type: HashMap<String, Vec<Invariant>>,
    by_element: HashMap<String, HashMap<String, Vec<Invariant>>>,
    domain_resource: Vec<Invariant>,
}

/// Where a constraint's path puts it.
enum Place {
    /// On every value of a schema type (a resource, data type or backbone
    /// element).
    Type(String),
    /// On the values of one element of an owner type.
    Element(String, String),
}

type Row = (String, String, String, String, String);

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    // The file is part of the crate's source; a test reads it whole.
    ROWS.get_or_init(|| serde_json::from_str(CONSTRAINTS).unwrap_or_default())
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Table {
            by_type: HashMap::new(),
            by_element: HashMap::new(),
            domain_resource: Vec::new(),
        };
        for (path, key, severity, human, expression) in rows() {
            if HAND_WRITTEN.contains(&key.as_str()) {
                continue;
            }
            let invariant = Invariant {
                key,
                severity: if severity == "warning" {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                human,
                expression: REWRITTEN
                    .iter()
                    .find(|(rewritten, _)| rewritten == key)
                    .map_or(expression, |(_, expression)| expression),
            };
            if path == "DomainResource" {
                table.domain_resource.push(invariant);
            } else {
                match place(path) {
                    Some(Place::Type(type_name)) => table.by_type.entry(type_name).or_default().push(invariant),
                    Some(Place::Element(owner, name)) => table
                        .by_element
                        .entry(owner)
                        .or_default()
                        .entry(name)
                        .or_default()
                        .push(invariant),
                    None => {}
                }
            }
        }
        table
    })
}

/// Where a constraint's path puts it: its first part names a type, each
/// part below a backbone element (`Observation_ReferenceRange`), and the
/// last may be an element holding a data type or primitive. `None` for a
/// choice element (`probability[x]`), the narrative's `div` (not walked)
/// or a type the schema does not define (`MetadataResource`).
fn place(path: &str) -> Option<Place> {
    let Some((owner, last)) = path.rsplit_once('.') else {
        schema().type_elements(path)?;
        return Some(Place::Type(path.to_owned()));
    };
    let mut parts = owner.split('.');
    let mut type_name = parts.next()?.to_owned();
    for part in parts {
        match schema().element(&type_name, part)?.holds {
            ElementType::Complex(name) => name.clone_into(&mut type_name),
            _ => return None,
        }
    }
    match schema().element(&type_name, last)?.holds {
        // Backbone elements are named `Owner_Element` in the schema.
        ElementType::Complex(name) if name.contains('_') => Some(Place::Type(name.to_owned())),
        ElementType::Complex(_) | ElementType::Primitive(_) => Some(Place::Element(type_name, last.to_owned())),
        ElementType::Resource | ElementType::Xhtml => None,
    }
}

/// The base invariants of each value of schema type `type_name` (a
/// resource type at a resource's root).
pub fn of_type(type_name: &str) -> impl Iterator<Item = &'static Invariant> {
    let table = table();
    let own = table.by_type.get(type_name).into_iter().flatten();
    let quantity = QUANTITIES
        .contains(&type_name)
        .then(|| table.by_type.get("Quantity"))
        .flatten()
        .into_iter()
        .flatten();
    let domain = (!NOT_DOMAIN.contains(&type_name) && schema().is_resource_type(type_name))
        .then_some(&table.domain_resource)
        .into_iter()
        .flatten();
    own.chain(quantity).chain(domain)
}

/// The base invariants of each value of element `name` of schema type
/// `owner`, where the element holds a data type or primitive.
pub fn of_element(owner: &str, name: &str) -> &'static [Invariant] {
    table()
        .by_element
        .get(owner)
        .and_then(|elements| elements.get(name))
        .map_or(&[], Vec::as_slice)
}

/// The expressions of all base invariants, to parse once.
pub fn expressions() -> impl Iterator<Item = &'static str> {
    let rows = rows().iter().map(|(_, _, _, _, expression)| expression.as_str());
    rows.chain(REWRITTEN.iter().map(|(_, expression)| *expression))
}

/// Whether `value` is one of the resources in `container.contained`.
pub fn is_contained(container: &Value, value: &Value) -> bool {
    container
        .get("contained")
        .and_then(Value::as_array)
        .is_some_and(|contained| contained.iter().any(|item| std::ptr::eq(item, value)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{HAND_WRITTEN, place, rows, table};

    /// Every row is read, and each is evaluated, written by hand, or one
    /// of the few whose path names no schema type (docs/validation.md).
    #[test]
    fn every_row_is_read_and_placed() {
        assert_eq!(rows().len(), 238);
        let table = table();
        let on_elements = table.by_element.values().flat_map(HashMap::values).map(Vec::len);
        let placed: usize = table.by_type.values().map(Vec::len).sum::<usize>()
            + on_elements.sum::<usize>()
            + table.domain_resource.len();
        let mut unplaced: Vec<&str> = rows()
            .iter()
            .filter(|(path, key, ..)| {
                path != "DomainResource" && !HAND_WRITTEN.contains(&key.as_str()) && place(path).is_none()
            })
            .map(|(_, key, ..)| key.as_str())
            .collect();
        unplaced.sort_unstable();
        assert_eq!(unplaced, ["inv-0", "ras-1", "txt-1", "txt-2"]);
        assert_eq!(placed + unplaced.len() + HAND_WRITTEN.len(), 238);
    }
}
