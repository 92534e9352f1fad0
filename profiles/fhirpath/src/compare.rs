//! Turning nodes into system values, and equality, equivalence and ordering
//! between items, as FHIRPath defines them (empty where precision differs).

use std::cmp::Ordering;

use serde_json::Value;

use crate::decimal::Decimal;
use crate::error::EvalError;
use crate::temporal::{CalendarUnit, DateTime, Time};
use crate::value::{Collection, Item, Quantity};

const QUANTITY_TYPES: &[&str] = &[
    "Quantity",
    "Age",
    "Count",
    "Distance",
    "Duration",
    "SimpleQuantity",
    "MoneyQuantity",
];

/// The system value of an item: itself for system values; for a node, its
/// primitive JSON read by its FHIR type (a `date` string becomes a `Date`),
/// or a Quantity element as a `Quantity`. `None` for other complex nodes and
/// for primitives with only extensions.
pub(crate) fn system_value(item: &Item) -> Option<Item> {
    let Item::Node(node) = item else {
        return Some(item.clone());
    };
    let type_name = node.type_name();
    Some(match node.json()? {
        Value::Bool(b) => Item::Boolean(*b),
        Value::Number(n) => {
            let text = n.to_string();
            match text.parse::<i64>() {
                Ok(i) if type_name != Some("decimal") => Item::Integer(i),
                _ => Item::Decimal(Decimal::parse_json(&text)?),
            }
        }
        Value::String(s) => match type_name {
            Some("date") => DateTime::parse_date(s).map_or_else(|| Item::String(s.clone()), Item::Date),
            Some("dateTime" | "instant") => {
                DateTime::parse_date_time(s).map_or_else(|| Item::String(s.clone()), Item::DateTime)
            }
            Some("time") => Time::parse(s).map_or_else(|| Item::String(s.clone()), Item::Time),
            _ => Item::String(s.clone()),
        },
        object @ Value::Object(_) if type_name.is_some_and(|t| QUANTITY_TYPES.contains(&t)) => {
            Item::Quantity(quantity_from_json(object)?)
        }
        _ => return None,
    })
}

fn quantity_from_json(object: &Value) -> Option<Quantity> {
    let value = Decimal::parse_json(&object.get("value")?.as_number()?.to_string())?;
    let is_ucum = object.get("system").and_then(Value::as_str) == Some("http://unitsofmeasure.org");
    let unit = object
        .get("code")
        .filter(|_| is_ucum || object.get("unit").is_none())
        .or_else(|| object.get("unit"))
        .and_then(Value::as_str)
        .unwrap_or("1");
    Some(Quantity {
        value,
        unit: unit.to_owned(),
    })
}

/// A string read as a date or date-time, to compare it with one (FHIR data
/// without a model arrives as strings).
fn as_temporal(text: &str, like_date: bool) -> Option<Item> {
    if like_date && !text.contains('T') {
        DateTime::parse_date(text).map(Item::Date)
    } else {
        DateTime::parse_date_time(text).map(Item::DateTime)
    }
}

/// Brings two system values to a common type where FHIRPath converts implicitly
/// (`Integer` → `Decimal`, `Date` → `DateTime`, `String` → a date or time when compared with one).
fn promote(left: Item, right: Item) -> (Item, Item) {
    match (left, right) {
        (Item::Integer(i), Item::Decimal(d)) => (Item::Decimal(Decimal::from_integer(i)), Item::Decimal(d)),
        (Item::Decimal(d), Item::Integer(i)) => (Item::Decimal(d), Item::Decimal(Decimal::from_integer(i))),
        (Item::Integer(i), Item::Quantity(q)) => (
            Item::Quantity(Quantity {
                value: Decimal::from_integer(i),
                unit: "1".into(),
            }),
            Item::Quantity(q),
        ),
        (Item::Quantity(q), Item::Integer(i)) => (
            Item::Quantity(q),
            Item::Quantity(Quantity {
                value: Decimal::from_integer(i),
                unit: "1".into(),
            }),
        ),
        (Item::String(s), right @ (Item::Date(_) | Item::DateTime(_))) => {
            let like_date = matches!(right, Item::Date(_));
            (as_temporal(&s, like_date).unwrap_or(Item::String(s)), right)
        }
        (left @ (Item::Date(_) | Item::DateTime(_)), Item::String(s)) => {
            let like_date = matches!(left, Item::Date(_));
            let right = as_temporal(&s, like_date).unwrap_or(Item::String(s));
            (left, right)
        }
        (Item::String(s), Item::Time(t)) => (Time::parse(&s).map_or(Item::String(s), Item::Time), Item::Time(t)),
        (Item::Time(t), Item::String(s)) => (Item::Time(t), Time::parse(&s).map_or(Item::String(s), Item::Time)),
        pair => pair,
    }
}

/// A quantity's value in a base unit, for the units FHIRPath tests and FHIR
/// data commonly use; `None` for units it does not know.
fn canonical(q: &Quantity) -> Option<(Decimal, &'static str)> {
    let (factor, base) = match q.unit.as_str() {
        "g" => ("1", "g"),
        "mg" => ("0.001", "g"),
        "ug" => ("0.000001", "g"),
        "kg" => ("1000", "g"),
        "m" => ("1", "m"),
        "cm" => ("0.01", "m"),
        "mm" => ("0.001", "m"),
        "km" => ("1000", "m"),
        "L" | "l" => ("1", "L"),
        "mL" | "ml" => ("0.001", "L"),
        "dL" | "dl" => ("0.1", "L"),
        "wk" | "week" | "weeks" => ("604800", "s"),
        "d" | "day" | "days" => ("86400", "s"),
        "h" | "hour" | "hours" => ("3600", "s"),
        "min" | "minute" | "minutes" => ("60", "s"),
        "s" | "second" | "seconds" => ("1", "s"),
        "ms" | "millisecond" | "milliseconds" => ("0.001", "s"),
        _ => return None,
    };
    Some((q.value.checked_mul(Decimal::parse(factor)?)?, base))
}

/// Calendar years and months equal their UCUM codes only for equivalence.
fn same_unit(a: &str, b: &str, equivalence: bool) -> bool {
    if a == b {
        return true;
    }
    match (CalendarUnit::from_unit(a), CalendarUnit::from_unit(b)) {
        (Some(x), Some(y)) if x == y => {
            let calendar_only = matches!(x, CalendarUnit::Year | CalendarUnit::Month);
            equivalence
                || !calendar_only
                || crate::temporal::is_calendar_keyword(a) == crate::temporal::is_calendar_keyword(b)
        }
        _ => false,
    }
}

fn compare_quantities(a: &Quantity, b: &Quantity, equivalence: bool) -> Option<Ordering> {
    if same_unit(&a.unit, &b.unit, equivalence) {
        return Some(a.value.cmp(&b.value));
    }
    let calendar_year_month = |u: &str| {
        matches!(
            CalendarUnit::from_unit(u),
            Some(CalendarUnit::Year | CalendarUnit::Month)
        )
    };
    if calendar_year_month(&a.unit) || calendar_year_month(&b.unit) {
        return None;
    }
    let (x, base_a) = canonical(a)?;
    let (y, base_b) = canonical(b)?;
    (base_a == base_b).then(|| x.cmp(&y))
}

fn is_year_or_month(unit: &str) -> bool {
    matches!(
        CalendarUnit::from_unit(unit),
        Some(CalendarUnit::Year | CalendarUnit::Month)
    )
}

/// Ordering of two single items; `Ok(None)` when the spec says empty (dates of
/// different precision, quantities of incompatible units), an error when the
/// types cannot be compared at all.
pub(crate) fn order(left: &Item, right: &Item, what: &str) -> Result<Option<Ordering>, EvalError> {
    let wrong = |found: &Item| EvalError::WrongType {
        what: what.to_owned(),
        expected: "a comparable value",
        found: found.type_label(),
    };
    let l = system_value(left).ok_or_else(|| wrong(left))?;
    let r = system_value(right).ok_or_else(|| wrong(right))?;
    Ok(match promote(l, r) {
        (Item::Integer(a), Item::Integer(b)) => Some(a.cmp(&b)),
        (Item::Decimal(a), Item::Decimal(b)) => Some(a.cmp(&b)),
        (Item::String(a), Item::String(b)) => Some(a.cmp(&b)),
        (Item::Date(a) | Item::DateTime(a), Item::Date(b) | Item::DateTime(b)) => a.compare(&b),
        (Item::Time(a), Item::Time(b)) => a.compare(&b),
        (Item::Quantity(a), Item::Quantity(b)) => compare_quantities(&a, &b, false),
        (Item::Boolean(a), Item::Boolean(b)) => Some(a.cmp(&b)),
        (a, b) => {
            return Err(EvalError::WrongType {
                what: what.to_owned(),
                expected: "values of the same type",
                found: format!("{} and {}", a.type_label(), b.type_label()),
            });
        }
    })
}

/// `=` between single items: `None` when the spec says empty.
pub(crate) fn equal_items(left: &Item, right: &Item) -> Option<bool> {
    match (system_value(left), system_value(right)) {
        (Some(left_value), Some(right_value)) => match promote(left_value, right_value) {
            (Item::Integer(a), Item::Integer(b)) => Some(a == b),
            (Item::Decimal(a), Item::Decimal(b)) => Some(a == b),
            (Item::String(a), Item::String(b)) => Some(a == b),
            (Item::Boolean(a), Item::Boolean(b)) => Some(a == b),
            (Item::Date(a) | Item::DateTime(a), Item::Date(b) | Item::DateTime(b)) => {
                a.compare(&b).map(|o| o == Ordering::Equal)
            }
            (Item::Time(a), Item::Time(b)) => a.compare(&b).map(|o| o == Ordering::Equal),
            // Units that do not convert are unequal; calendar years and months against
            // UCUM stay empty, as the spec says.
            (Item::Quantity(a), Item::Quantity(b)) => match compare_quantities(&a, &b, false) {
                Some(ordering) => Some(ordering == Ordering::Equal),
                None if is_year_or_month(&a.unit) || is_year_or_month(&b.unit) => None,
                None => Some(false),
            },
            _ => Some(false),
        },
        (None, None) => match (left, right) {
            (Item::Node(a), Item::Node(b)) => {
                Some(a.json() == b.json() && a.primitive_element() == b.primitive_element())
            }
            _ => Some(false),
        },
        _ => Some(false),
    }
}

fn normalized_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `~` between single items.
pub(crate) fn equivalent_items(left: &Item, right: &Item) -> bool {
    match (system_value(left), system_value(right)) {
        (Some(left_value), Some(right_value)) => match promote(left_value, right_value) {
            (Item::String(a), Item::String(b)) => normalized_text(&a) == normalized_text(&b),
            (Item::Decimal(a), Item::Decimal(b)) => {
                let digits = a.scale().min(b.scale());
                a.round(digits) == b.round(digits)
            }
            (Item::Date(a) | Item::DateTime(a), Item::Date(b) | Item::DateTime(b)) => {
                a.compare(&b) == Some(Ordering::Equal)
            }
            (Item::Time(a), Item::Time(b)) => a.compare(&b) == Some(Ordering::Equal),
            (Item::Quantity(a), Item::Quantity(b)) => match (canonical(&a), canonical(&b)) {
                (Some((first, first_unit)), Some((second, second_unit))) if first_unit == second_unit => {
                    let digits = first.scale().min(second.scale());
                    first.round(digits) == second.round(digits)
                }
                _ => compare_quantities(&a, &b, true) == Some(Ordering::Equal),
            },
            (a, b) => equal_items(&a, &b) == Some(true),
        },
        (None, None) => match (left, right) {
            (Item::Node(a), Item::Node(b)) => a.json() == b.json(),
            _ => false,
        },
        _ => false,
    }
}

/// `=` between collections.
pub(crate) fn equal(left: &Collection, right: &Collection) -> Option<bool> {
    if left.is_empty() || right.is_empty() {
        return None;
    }
    if left.len() != right.len() {
        return Some(false);
    }
    let mut result = Some(true);
    for (a, b) in left.iter().zip(right) {
        match equal_items(a, b) {
            Some(false) => return Some(false),
            None => result = None,
            Some(true) => {}
        }
    }
    result
}

/// `~` between collections (order does not matter).
pub(crate) fn equivalent(left: &Collection, right: &Collection) -> bool {
    if left.len() != right.len() {
        return false;
    }
    let mut used = vec![false; right.len()];
    left.iter().all(|a| {
        let found = right
            .iter()
            .enumerate()
            .find(|(i, b)| !used[*i] && equivalent_items(a, b));
        found.map(|(i, _)| used[i] = true).is_some()
    })
}

/// True when `item` equals some member of `collection`.
pub(crate) fn contains(collection: &Collection, item: &Item) -> bool {
    collection.iter().any(|other| equal_items(item, other) == Some(true))
}

/// Singleton evaluation to a boolean (see [`crate::as_boolean`]).
pub(crate) fn singleton_boolean(collection: &Collection, what: &str) -> Result<Option<bool>, EvalError> {
    match collection.as_slice() {
        [] => Ok(None),
        [item] => Ok(Some(match system_value(item) {
            Some(Item::Boolean(b)) => b,
            _ => true,
        })),
        items => Err(EvalError::NotSingleton {
            what: what.to_owned(),
            count: items.len(),
        }),
    }
}
