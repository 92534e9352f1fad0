//! The function library: existence, filtering, subsetting, combining,
//! conversion, strings, math, dates, and the FHIR additions (`extension`,
//! `resolve`, `hasValue`, `memberOf`, `conformsTo`, `htmlChecks`).

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use crate::ast::{Expr, Function};
use crate::compare::{self, singleton_boolean, system_value};
use crate::decimal::Decimal;
use crate::error::EvalError;
use crate::eval::{Evaluator, MAX_ITEMS, Scope, integer_argument, single};
use crate::navigate::{all_children, children_named, containing_resource, resolve};
use crate::temporal::{DateTime, Time, is_calendar_keyword};
use crate::value::{Collection, Item, Node, Quantity};

/// Longest string a function may build, in bytes.
const MAX_STRING: usize = 10 * 1024 * 1024;
/// Largest compiled regular expression, in bytes.
const MAX_REGEX: usize = 1024 * 1024;

fn boolean(value: bool) -> Collection {
    vec![Item::Boolean(value)]
}

fn optional(item: Option<Item>) -> Collection {
    item.into_iter().collect()
}

/// Evaluates `function` on `input`. `focus` is the focus at the call site, on
/// which arguments that are whole collections (`union(...)`) are evaluated.
// One arm per function reads better as a single table than split across helpers.
#[allow(clippy::too_many_lines)]
pub(crate) fn call(
    ev: &Evaluator<'_>,
    function: Function,
    input: &Collection,
    args: &[Expr],
    focus: &Collection,
    scope: Scope<'_>,
) -> Result<Collection, EvalError> {
    let name = function.name();
    // Arguments that are plain values are evaluated on the input, as the reference engine does.
    let arg = |i: usize| -> Result<Collection, EvalError> {
        match args.get(i) {
            Some(expr) => ev.eval(expr, input, scope),
            None => Ok(Vec::new()),
        }
    };
    let root_arg = |i: usize| -> Result<Collection, EvalError> {
        match args.get(i) {
            Some(expr) => ev.eval(expr, focus, scope),
            None => Ok(Vec::new()),
        }
    };
    Ok(match function {
        Function::Empty => boolean(input.is_empty()),
        Function::Exists => match args.first() {
            None => boolean(!input.is_empty()),
            Some(criteria) => boolean(!filter(ev, input, criteria, scope)?.is_empty()),
        },
        Function::All => {
            let criteria = &args[0];
            let mut all = true;
            for (index, item) in input.iter().enumerate() {
                let result = ev.eval(
                    criteria,
                    &vec![item.clone()],
                    Scope {
                        this: Some(item),
                        index: Some(index),
                        total: scope.total,
                    },
                )?;
                if singleton_boolean(&result, name)? != Some(true) {
                    all = false;
                    break;
                }
            }
            boolean(all)
        }
        Function::AllTrue | Function::AnyTrue | Function::AllFalse | Function::AnyFalse => {
            let mut values = Vec::with_capacity(input.len());
            for item in input {
                values.push(strict_boolean(&vec![item.clone()], name)?);
            }
            boolean(match function {
                Function::AllTrue => values.iter().all(|v| *v == Some(true)),
                Function::AnyTrue => values.contains(&Some(true)),
                Function::AllFalse => values.iter().all(|v| *v == Some(false)),
                _ => values.contains(&Some(false)),
            })
        }
        Function::SubsetOf => {
            let other = root_arg(0)?;
            boolean(input.iter().all(|item| compare::contains(&other, item)))
        }
        Function::SupersetOf => {
            let other = root_arg(0)?;
            boolean(other.iter().all(|item| compare::contains(input, item)))
        }
        Function::Count => vec![Item::Integer(i64::try_from(input.len()).unwrap_or(i64::MAX))],
        Function::Distinct => distinct(input.iter().cloned()),
        Function::IsDistinct => boolean(distinct(input.iter().cloned()).len() == input.len()),
        Function::Where => filter(ev, input, &args[0], scope)?,
        Function::Select => {
            let mut out = Vec::new();
            for (index, item) in input.iter().enumerate() {
                out.extend(ev.eval(
                    &args[0],
                    &vec![item.clone()],
                    Scope {
                        this: Some(item),
                        index: Some(index),
                        total: scope.total,
                    },
                )?);
                check_size(out.len(), name)?;
            }
            out
        }
        Function::Repeat => repeat(ev, input, &args[0], scope)?,
        Function::First => optional(input.first().cloned()),
        Function::Last => optional(input.last().cloned()),
        Function::Tail => input.iter().skip(1).cloned().collect(),
        Function::Skip => {
            let n = integer_argument(&arg(0)?, name)?.unwrap_or(0);
            input.iter().skip(usize::try_from(n).unwrap_or(0)).cloned().collect()
        }
        Function::Take => {
            let n = integer_argument(&arg(0)?, name)?.unwrap_or(0);
            input.iter().take(usize::try_from(n).unwrap_or(0)).cloned().collect()
        }
        Function::Single => optional(single(input, name)?.cloned()),
        Function::Iif => {
            let this = single(input, name)?;
            let criterion_scope = Scope {
                this: this.or(scope.this),
                ..scope
            };
            let criterion = strict_boolean(&ev.eval(&args[0], input, criterion_scope)?, name)?;
            let branch = if criterion == Some(true) {
                args.get(1)
            } else {
                args.get(2)
            };
            match branch {
                Some(expr) => ev.eval(expr, input, criterion_scope)?,
                None => Vec::new(),
            }
        }
        Function::HasValue => boolean(match input.as_slice() {
            [Item::Node(node)] => node.json().is_some_and(|v| !v.is_object() && !v.is_array()),
            [_] => true,
            _ => false,
        }),
        Function::Children => {
            let mut out = Vec::new();
            for item in input {
                all_children(ev.model(), item, &mut out);
            }
            out
        }
        Function::Descendants => descendants(ev, input)?,
        Function::Union => distinct(input.iter().cloned().chain(root_arg(0)?)),
        Function::Combine => input.iter().cloned().chain(root_arg(0)?).collect(),
        Function::Intersect => {
            let other = root_arg(0)?;
            distinct(input.iter().filter(|item| compare::contains(&other, item)).cloned())
        }
        Function::Exclude => {
            let other = root_arg(0)?;
            input
                .iter()
                .filter(|item| !compare::contains(&other, item))
                .cloned()
                .collect()
        }
        Function::ToString => optional(single_value(input, name)?.and_then(|v| to_string(&v))),
        Function::ToInteger => optional(single_value(input, name)?.and_then(|v| to_integer(&v))),
        Function::ToDecimal => optional(single_value(input, name)?.and_then(|v| to_decimal(&v))),
        Function::ToBoolean => optional(single_value(input, name)?.and_then(|v| to_boolean(&v))),
        Function::ToDate => optional(single_value(input, name)?.and_then(|v| to_date(&v))),
        Function::ToDateTime => optional(single_value(input, name)?.and_then(|v| to_date_time(&v))),
        Function::ToTime => optional(single_value(input, name)?.and_then(|v| to_time(&v))),
        Function::ToQuantity => {
            let unit = single_string(&arg(0)?, name)?;
            optional(single_value(input, name)?.and_then(|v| to_quantity(&v, unit.as_deref())))
        }
        Function::ConvertsToString => converts(input, name, to_string)?,
        Function::ConvertsToInteger => converts(input, name, to_integer)?,
        Function::ConvertsToDecimal => converts(input, name, to_decimal)?,
        Function::ConvertsToBoolean => converts(input, name, to_boolean)?,
        Function::ConvertsToDate => converts(input, name, to_date)?,
        Function::ConvertsToDateTime => converts(input, name, to_date_time)?,
        Function::ConvertsToTime => converts(input, name, to_time)?,
        Function::ConvertsToQuantity => {
            let unit = single_string(&arg(0)?, name)?;
            converts(input, name, |v| to_quantity(v, unit.as_deref()))?
        }
        Function::StartsWith
        | Function::EndsWith
        | Function::Contains
        | Function::IndexOf
        | Function::MatchesFull
        | Function::Matches
        | Function::Split => {
            let (Some(text), Some(needle)) = (single_string(input, name)?, single_string(&arg(0)?, name)?) else {
                return Ok(Vec::new());
            };
            match function {
                Function::StartsWith => boolean(text.starts_with(&needle)),
                Function::EndsWith => boolean(text.ends_with(&needle)),
                Function::Contains => boolean(text.contains(&needle)),
                Function::IndexOf => vec![Item::Integer(
                    text.find(&needle).map_or(-1, |byte| char_count(&text[..byte])),
                )],
                Function::Matches => boolean(regex(&needle)?.is_match(&text)),
                Function::MatchesFull => boolean(regex(&format!("^(?:{needle})$"))?.is_match(&text)),
                _ => text
                    .split(needle.as_str())
                    .map(|part| Item::String(part.to_owned()))
                    .collect(),
            }
        }
        Function::Replace | Function::ReplaceMatches => {
            let (Some(text), Some(pattern), Some(substitution)) = (
                single_string(input, name)?,
                single_string(&arg(0)?, name)?,
                single_string(&arg(1)?, name)?,
            ) else {
                return Ok(Vec::new());
            };
            let replaced = if function == Function::Replace {
                if text.len().saturating_mul(substitution.len().max(1)) > MAX_STRING {
                    return Err(EvalError::TooLarge {
                        what: name.into(),
                        limit: MAX_STRING,
                    });
                }
                text.replace(&pattern, &substitution)
            } else if pattern.is_empty() {
                text
            } else {
                regex(&pattern)?.replace_all(&text, substitution.as_str()).into_owned()
            };
            check_size(replaced.len() / 10, name)?;
            vec![Item::String(replaced)]
        }
        Function::Substring => {
            let Some(text) = single_string(input, name)? else {
                return Ok(Vec::new());
            };
            let Some(start) = integer_argument(&arg(0)?, name)? else {
                return Ok(Vec::new());
            };
            let length = integer_argument(&arg(1)?, name)?;
            let chars: Vec<char> = text.chars().collect();
            match usize::try_from(start).ok().filter(|s| *s < chars.len()) {
                None => Vec::new(),
                Some(start) => {
                    let end = match length {
                        Some(l) => start.saturating_add(usize::try_from(l).unwrap_or(0)).min(chars.len()),
                        None => chars.len(),
                    };
                    vec![Item::String(chars[start..end].iter().collect())]
                }
            }
        }
        Function::Upper | Function::Lower | Function::Length | Function::Trim | Function::ToChars => {
            let Some(text) = single_string(input, name)? else {
                return Ok(Vec::new());
            };
            match function {
                Function::Upper => vec![Item::String(text.to_uppercase())],
                Function::Lower => vec![Item::String(text.to_lowercase())],
                Function::Length => vec![Item::Integer(char_count(&text))],
                Function::Trim => vec![Item::String(text.trim().to_owned())],
                _ => text.chars().map(|c| Item::String(c.to_string())).collect(),
            }
        }
        Function::Join => {
            let separator = single_string(&arg(0)?, name)?.unwrap_or_default();
            let mut parts = Vec::with_capacity(input.len());
            for item in input {
                parts.push(string_of(item, name)?);
            }
            vec![Item::String(parts.join(&separator))]
        }
        Function::Today => vec![Item::Date(DateTime::now().date())],
        Function::Now => vec![Item::DateTime(DateTime::now())],
        Function::TimeOfDay => {
            let now = DateTime::now();
            vec![Item::Time(Time {
                hour: now.hour.unwrap_or(0),
                minute: now.minute,
                second: now.second,
                millis: now.millis,
            })]
        }
        Function::Not => optional(singleton_boolean(input, name)?.map(|b| Item::Boolean(!b))),
        Function::Trace => input.clone(),
        Function::Resolve => resolve_all(ev, input),
        Function::Extension => {
            let Some(url) = single_string(&arg(0)?, name)? else {
                return Ok(Vec::new());
            };
            let mut extensions = Vec::new();
            for item in input {
                children_named(ev.model(), item, "extension", &mut extensions);
            }
            extensions
                .into_iter()
                .filter(|e| matches!(e, Item::Node(n) if n.json().and_then(|v| v.get("url")).and_then(Value::as_str) == Some(url.as_str())))
                .collect()
        }
        Function::ConformsTo => {
            let Some(url) = single_string(&arg(0)?, name)? else {
                return Ok(Vec::new());
            };
            conforms_to(ev, input, &url)
        }
        Function::MemberOf => {
            let Some(url) = single_string(&arg(0)?, name)? else {
                return Ok(Vec::new());
            };
            member_of(ev, input, &url)
        }
        Function::HtmlChecks => boolean(true),
        Function::Aggregate => {
            let mut total = arg(1)?;
            for (index, item) in input.iter().enumerate() {
                total = ev.eval(
                    &args[0],
                    &vec![item.clone()],
                    Scope {
                        this: Some(item),
                        index: Some(index),
                        total: Some(&total),
                    },
                )?;
            }
            total
        }
        Function::Abs
        | Function::Ceiling
        | Function::Floor
        | Function::Truncate
        | Function::Round
        | Function::Sqrt
        | Function::Exp
        | Function::Ln
        | Function::Log
        | Function::Power => {
            let Some(value) = single_value(input, name)? else {
                return Ok(Vec::new());
            };
            math(function, &value, &arg(0)?)?
        }
        Function::Type => {
            let Some(item) = single(input, name)? else {
                return Ok(Vec::new());
            };
            let label = item.type_label();
            let (namespace, type_name) = label.split_once('.').unwrap_or(("System", &label));
            let info = serde_json::json!({ "namespace": namespace, "name": type_name });
            let mut node = Node::root(Arc::new(info));
            node.type_name = Some(Arc::from("TypeInfo"));
            vec![Item::Node(node)]
        }
    })
}

/// A single `Boolean` (or nothing); any other item is an error, unlike
/// singleton evaluation.
fn strict_boolean(items: &Collection, what: &str) -> Result<Option<bool>, EvalError> {
    match single(items, what)?.map(|item| (item, system_value(item))) {
        None => Ok(None),
        Some((_, Some(Item::Boolean(b)))) => Ok(Some(b)),
        Some((item, _)) => Err(EvalError::WrongType {
            what: what.to_owned(),
            expected: "a Boolean",
            found: item.type_label(),
        }),
    }
}

/// Only the base resource definitions can be judged without the profiles;
/// any other profile is unknown (empty).
fn conforms_to(ev: &Evaluator<'_>, input: &Collection, url: &str) -> Collection {
    let Some(wanted) = url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") else {
        return Vec::new();
    };
    if !ev.model().is_resource_type(wanted) {
        return Vec::new();
    }
    match input.as_slice() {
        [Item::Node(node)] => node
            .type_name()
            .map(|t| boolean(ev.model().is_subtype(t, wanted)))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// `memberOf`: the model's terminology answers for one code, Coding or
/// CodeableConcept; empty when it cannot (the engine has none of its own).
fn member_of(ev: &Evaluator<'_>, input: &Collection, url: &str) -> Collection {
    match input.as_slice() {
        [Item::Node(node)] => node
            .json()
            .and_then(|value| ev.model().member_of(value, url))
            .map(boolean)
            .unwrap_or_default(),
        [Item::String(code)] => ev
            .model()
            .member_of(&Value::String(code.clone()), url)
            .map(boolean)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn check_size(length: usize, what: &str) -> Result<(), EvalError> {
    if length > MAX_ITEMS {
        return Err(EvalError::TooLarge {
            what: what.to_owned(),
            limit: MAX_ITEMS,
        });
    }
    Ok(())
}

fn char_count(text: &str) -> i64 {
    i64::try_from(text.chars().count()).unwrap_or(i64::MAX)
}

fn regex(pattern: &str) -> Result<Regex, EvalError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX)
        .dot_matches_new_line(true)
        .build()
        .map_err(|e| EvalError::InvalidRegex {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}

fn filter(ev: &Evaluator<'_>, input: &Collection, criteria: &Expr, scope: Scope<'_>) -> Result<Collection, EvalError> {
    let mut out = Vec::new();
    for (index, item) in input.iter().enumerate() {
        let result = ev.eval(
            criteria,
            &vec![item.clone()],
            Scope {
                this: Some(item),
                index: Some(index),
                total: scope.total,
            },
        )?;
        if singleton_boolean(&result, "where")? == Some(true) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

fn distinct(items: impl Iterator<Item = Item>) -> Collection {
    let mut out: Collection = Vec::new();
    for item in items {
        if !compare::contains(&out, &item) {
            out.push(item);
        }
    }
    out
}

fn repeat(
    ev: &Evaluator<'_>,
    input: &Collection,
    projection: &Expr,
    scope: Scope<'_>,
) -> Result<Collection, EvalError> {
    let mut out: Collection = Vec::new();
    let mut pending: Collection = input.clone();
    while let Some(item) = pending.pop() {
        let produced = ev.eval(
            projection,
            &vec![item.clone()],
            Scope {
                this: Some(&item),
                index: None,
                total: scope.total,
            },
        )?;
        for next in produced {
            let seen = out.iter().any(|o| same_item(o, &next));
            if !seen {
                out.push(next.clone());
                pending.push(next);
                check_size(out.len(), "repeat")?;
            }
        }
    }
    Ok(out)
}

/// Nodes are the same when at the same place; values when equal.
fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Node(x), Item::Node(y)) => x.same_place(y),
        (Item::Node(_), _) | (_, Item::Node(_)) => false,
        _ => compare::equal_items(a, b) == Some(true),
    }
}

fn descendants(ev: &Evaluator<'_>, input: &Collection) -> Result<Collection, EvalError> {
    let mut out = Vec::new();
    let mut level = input.clone();
    // Breadth first, level by level: JSON depth is bounded by the parser that
    // built it, and this loop does not recurse.
    while !level.is_empty() {
        let mut next = Vec::new();
        for item in &level {
            all_children(ev.model(), item, &mut next);
        }
        out.extend(next.iter().cloned());
        check_size(out.len(), "descendants")?;
        level = next;
    }
    Ok(out)
}

fn resolve_all(ev: &Evaluator<'_>, input: &Collection) -> Collection {
    let mut out = Vec::new();
    for item in input {
        let reference = match item {
            Item::Node(node) => match node.json() {
                Some(Value::Object(object)) => object.get("reference").and_then(Value::as_str).map(str::to_owned),
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            Item::String(s) => Some(s.clone()),
            _ => None,
        };
        let Some(reference) = reference else { continue };
        let mut containers: Vec<Node> = Vec::new();
        if let Item::Node(node) = item {
            containers.extend(containing_resource(node));
            containers.push(Node::root(Arc::clone(&node.root)));
        }
        containers.push(ev.context.resource.clone());
        if let Some(root) = &ev.context.root_resource {
            containers.push(root.clone());
        }
        let refs: Vec<&Node> = containers.iter().collect();
        out.extend(resolve(&reference, &refs).map(Item::Node));
    }
    out
}

/// The single item's system value; `None` when empty or a complex node.
fn single_value(input: &Collection, what: &str) -> Result<Option<Item>, EvalError> {
    Ok(single(input, what)?.and_then(system_value))
}

/// A primitive's text as written (a FHIR `date` stays its JSON string).
fn string_of(item: &Item, what: &str) -> Result<String, EvalError> {
    match item {
        Item::String(s) => Ok(s.clone()),
        Item::Node(node) => match node.json() {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(EvalError::WrongType {
                what: what.to_owned(),
                expected: "a string",
                found: item.type_label(),
            }),
        },
        other => Err(EvalError::WrongType {
            what: what.to_owned(),
            expected: "a string",
            found: other.type_label(),
        }),
    }
}

fn single_string(input: &Collection, what: &str) -> Result<Option<String>, EvalError> {
    single(input, what)?.map(|item| string_of(item, what)).transpose()
}

fn converts(input: &Collection, what: &str, convert: impl Fn(&Item) -> Option<Item>) -> Result<Collection, EvalError> {
    Ok(match single(input, what)? {
        None => Vec::new(),
        Some(item) => boolean(system_value(item).and_then(|v| convert(&v)).is_some()),
    })
}

fn to_string(value: &Item) -> Option<Item> {
    Some(Item::String(match value {
        Item::Node(_) => return None,
        other => other.to_string(),
    }))
}

fn to_integer(value: &Item) -> Option<Item> {
    match value {
        Item::Integer(_) => Some(value.clone()),
        Item::Boolean(b) => Some(Item::Integer(i64::from(*b))),
        Item::String(s) => {
            let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok().map(Item::Integer))
                .flatten()
        }
        _ => None,
    }
}

fn to_decimal(value: &Item) -> Option<Item> {
    match value {
        Item::Decimal(_) => Some(value.clone()),
        Item::Integer(i) => Some(Item::Decimal(Decimal::from_integer(*i))),
        Item::Boolean(b) => Some(Item::Decimal(Decimal::from_integer(i64::from(*b)))),
        Item::String(s) => Decimal::parse(s).map(Item::Decimal),
        _ => None,
    }
}

fn to_boolean(value: &Item) -> Option<Item> {
    let b = match value {
        Item::Boolean(b) => *b,
        Item::Integer(1) => true,
        Item::Integer(0) => false,
        Item::Decimal(d) if *d == Decimal::from_integer(1) => true,
        Item::Decimal(d) if d.is_zero() => false,
        Item::String(s) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => true,
            "false" | "f" | "no" | "n" | "0" | "0.0" => false,
            _ => return None,
        },
        _ => return None,
    };
    Some(Item::Boolean(b))
}

fn to_date(value: &Item) -> Option<Item> {
    match value {
        Item::Date(_) => Some(value.clone()),
        Item::DateTime(d) => Some(Item::Date(d.date())),
        Item::String(s) => DateTime::parse_date(s)
            .or_else(|| DateTime::parse_date_time(s).map(|d| d.date()))
            .map(Item::Date),
        _ => None,
    }
}

fn to_date_time(value: &Item) -> Option<Item> {
    match value {
        Item::DateTime(_) => Some(value.clone()),
        Item::Date(d) => Some(Item::DateTime(*d)),
        Item::String(s) => DateTime::parse_date_time(s).map(Item::DateTime),
        _ => None,
    }
}

fn to_time(value: &Item) -> Option<Item> {
    match value {
        Item::Time(_) => Some(value.clone()),
        Item::String(s) => Time::parse(s.strip_prefix('T').unwrap_or(s)).map(Item::Time),
        _ => None,
    }
}

fn to_quantity(value: &Item, unit: Option<&str>) -> Option<Item> {
    let quantity = match value {
        Item::Quantity(q) => q.clone(),
        Item::Integer(i) => Quantity {
            value: Decimal::from_integer(*i),
            unit: "1".into(),
        },
        Item::Decimal(d) => Quantity {
            value: *d,
            unit: "1".into(),
        },
        Item::Boolean(b) => Quantity {
            value: Decimal::from_integer(i64::from(*b)),
            unit: "1".into(),
        },
        Item::String(s) => parse_quantity(s)?,
        _ => return None,
    };
    match unit {
        Some(unit) if unit != quantity.unit => None,
        _ => Some(Item::Quantity(quantity)),
    }
}

/// `5`, `5.0 'mg'`, `3 days`.
fn parse_quantity(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (number, unit) = text.split_once(' ').unwrap_or((text, ""));
    let value = Decimal::parse(number)?;
    let unit = unit.trim();
    let unit = if unit.is_empty() {
        "1".to_owned()
    } else if let Some(quoted) = unit.strip_prefix('\'').and_then(|u| u.strip_suffix('\'')) {
        quoted.to_owned()
    } else if is_calendar_keyword(unit) {
        unit.to_owned()
    } else {
        return None;
    };
    Some(Quantity { value, unit })
}

fn math(function: Function, value: &Item, arg: &Collection) -> Result<Collection, EvalError> {
    let name = function.name();
    let wrong = || EvalError::WrongType {
        what: name.to_owned(),
        expected: "a number",
        found: value.type_label(),
    };
    let overflow = || EvalError::Overflow { what: name.to_owned() };
    let decimal = match value {
        Item::Integer(i) => Decimal::from_integer(*i),
        Item::Decimal(d) => *d,
        Item::Quantity(q) if function == Function::Abs => {
            return Ok(vec![Item::Quantity(Quantity {
                value: q.value.abs(),
                unit: q.unit.clone(),
            })]);
        }
        _ => return Err(wrong()),
    };
    let from_f64 = |f: f64| optional(Decimal::from_f64(f).map(Item::Decimal));
    Ok(match function {
        Function::Abs => match value {
            Item::Integer(i) => vec![Item::Integer(i.checked_abs().ok_or_else(overflow)?)],
            _ => vec![Item::Decimal(decimal.abs())],
        },
        Function::Ceiling => vec![Item::Integer(decimal.ceiling().ok_or_else(overflow)?)],
        Function::Floor => vec![Item::Integer(decimal.floor().ok_or_else(overflow)?)],
        Function::Truncate => vec![Item::Integer(decimal.truncate().ok_or_else(overflow)?)],
        Function::Round => {
            let digits = integer_argument(arg, name)?.unwrap_or(0);
            let digits = u32::try_from(digits).map_err(|_| wrong())?;
            vec![Item::Decimal(decimal.round(digits))]
        }
        Function::Sqrt => from_f64(decimal.to_f64().sqrt()),
        Function::Exp => from_f64(decimal.to_f64().exp()),
        Function::Ln => from_f64(decimal.to_f64().ln()),
        Function::Log | Function::Power => {
            let Some(other) = single(arg, name)?.and_then(system_value) else {
                return Ok(Vec::new());
            };
            let other_value = match other {
                Item::Integer(i) => Decimal::from_integer(i),
                Item::Decimal(d) => d,
                _ => return Err(wrong()),
            };
            if function == Function::Log {
                from_f64(decimal.to_f64().ln() / other_value.to_f64().ln())
            } else if let (Item::Integer(base), Item::Integer(exponent)) = (value, &other) {
                match u32::try_from(*exponent) {
                    Ok(e) => vec![Item::Integer(base.checked_pow(e).ok_or_else(overflow)?)],
                    Err(_) => from_f64(decimal.to_f64().powf(other_value.to_f64())),
                }
            } else {
                from_f64(decimal.to_f64().powf(other_value.to_f64()))
            }
        }
        _ => return Err(wrong()),
    })
}
