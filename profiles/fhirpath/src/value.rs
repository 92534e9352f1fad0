//! The items a FHIRPath collection holds: system values (`Boolean`, `Integer`,
//! `Decimal`, `String`, `Date`, `DateTime`, `Time`, `Quantity`) and nodes of the
//! resource (its JSON and, when known, its FHIR type).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::decimal::Decimal;
use crate::temporal::{DateTime, Time};

/// A FHIRPath collection: ordered, possibly empty.
pub type Collection = Vec<Item>;

/// A quantity: a decimal and a unit (a UCUM code or a calendar keyword such as `days`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// The number.
    pub value: Decimal,
    /// The unit; `1` when the quantity has none.
    pub unit: String,
}

/// One step from a resource's root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(Arc<str>),
    Index(usize),
}

/// One step from a resource down to one of its elements, as the JSON spells
/// it: a property (`valueQuantity`; `_line` to go through a primitive's
/// extensions) or an array index. See [`crate::Context::element`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep<'a> {
    /// A property name.
    Key(&'a str),
    /// A position in an array.
    Index(usize),
}

/// Where a node lives: the root JSON and the steps to it.
pub(crate) type Path = Arc<[Step]>;

/// A node of a resource: an element, a resource or a primitive value (with its
/// `_name` sibling carrying id and extensions, when present).
#[derive(Debug, Clone)]
pub struct Node {
    pub(crate) root: Arc<Value>,
    /// The JSON value; `None` for a primitive that has only extensions.
    pub(crate) value: Option<Path>,
    /// For primitives, the `_name` element (id, extension).
    pub(crate) extension: Option<Path>,
    pub(crate) type_name: Option<Arc<str>>,
}

fn walk<'v>(root: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, step| match step {
        Step::Key(key) => value.get(&**key),
        Step::Index(index) => value.get(*index),
    })
}

impl Node {
    /// A node for a whole resource (or any JSON value) as the root.
    pub(crate) fn root(root: Arc<Value>) -> Node {
        let type_name = root.get("resourceType").and_then(Value::as_str).map(Arc::from);
        Node {
            root,
            value: Some(Arc::from(Vec::new())),
            extension: None,
            type_name,
        }
    }

    /// The element at `steps` below `root`, with a primitive's `_name`
    /// sibling; `None` when neither is there.
    pub(crate) fn at(root: &Arc<Value>, steps: &[PathStep<'_>], type_name: Option<&str>) -> Option<Node> {
        let value: Vec<Step> = steps
            .iter()
            .map(|step| match step {
                PathStep::Key(key) => Step::Key(Arc::from(*key)),
                PathStep::Index(index) => Step::Index(*index),
            })
            .collect();
        let last_key = value.iter().rposition(|step| matches!(step, Step::Key(_)));
        let sibling = last_key.and_then(|position| {
            let Some(Step::Key(key)) = value.get(position) else {
                return None;
            };
            let mut steps = value.clone();
            steps[position] = Step::Key(Arc::from(format!("_{key}")));
            Some(steps)
        });
        let present = |steps: &[Step]| walk(root, steps).is_some_and(|v| !v.is_null());
        let value = present(&value).then(|| Arc::from(value));
        let extension = sibling.filter(|steps| present(steps)).map(Arc::from);
        (value.is_some() || extension.is_some()).then(|| Node {
            root: Arc::clone(root),
            value,
            extension,
            type_name: type_name.map(Arc::from),
        })
    }

    /// The node's JSON value; `None` for an extension-only primitive.
    pub fn json(&self) -> Option<&Value> {
        walk(&self.root, self.value.as_deref()?)
    }

    /// The `_name` sibling of a primitive (`{"extension": [...]}`), if any.
    pub fn primitive_element(&self) -> Option<&Value> {
        walk(&self.root, self.extension.as_deref()?).filter(|v| !v.is_null())
    }

    /// The FHIR type name (`HumanName`, `date`, `Patient`), when known.
    pub fn type_name(&self) -> Option<&str> {
        self.type_name.as_deref()
    }

    /// True when both refer to the same place in the same JSON.
    pub(crate) fn same_place(&self, other: &Node) -> bool {
        Arc::ptr_eq(&self.root, &other.root) && self.value == other.value && self.extension == other.extension
    }
}

/// One item of a collection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Item {
    /// `true`, `false`.
    Boolean(bool),
    /// 64-bit signed.
    Integer(i64),
    /// Exact decimal.
    Decimal(Decimal),
    /// Text.
    String(String),
    /// `@2015-02-04`, partial precision allowed.
    Date(DateTime),
    /// `@2015-02-04T14:34:28+01:00`, partial precision allowed.
    DateTime(DateTime),
    /// `@T14:34:28`.
    Time(Time),
    /// `4.5 'mg'`, `3 days`.
    Quantity(Quantity),
    /// A node of a resource.
    Node(Node),
}

impl Item {
    /// The item as JSON: a node's own JSON (a primitive with only extensions
    /// gives its `_name` element), a system value as a JSON primitive, a
    /// quantity as `{"value", "unit"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Item::Boolean(b) => Value::Bool(*b),
            Item::Integer(i) => Value::from(*i),
            Item::Decimal(d) => decimal_json(*d),
            Item::String(s) => Value::String(s.clone()),
            Item::Date(d) | Item::DateTime(d) => Value::String(d.to_string()),
            Item::Time(t) => Value::String(t.to_string()),
            Item::Quantity(q) => serde_json::json!({ "value": decimal_json(q.value), "unit": q.unit }),
            Item::Node(node) => node
                .json()
                .or_else(|| node.primitive_element())
                .cloned()
                .unwrap_or(Value::Null),
        }
    }

    /// The type name as FHIRPath reports it: `System.Integer`, `FHIR.HumanName`,
    /// or `FHIR.?` for a node of unknown type.
    pub fn type_label(&self) -> String {
        match self {
            Item::Node(node) => format!("FHIR.{}", node.type_name().unwrap_or("?")),
            other => format!("System.{}", other.system_type().unwrap_or("?")),
        }
    }

    /// The System type name of a system value (`Integer`); `None` for nodes.
    pub fn system_type(&self) -> Option<&'static str> {
        Some(match self {
            Item::Boolean(_) => "Boolean",
            Item::Integer(_) => "Integer",
            Item::Decimal(_) => "Decimal",
            Item::String(_) => "String",
            Item::Date(_) => "Date",
            Item::DateTime(_) => "DateTime",
            Item::Time(_) => "Time",
            Item::Quantity(_) => "Quantity",
            Item::Node(_) => return None,
        })
    }
}

fn decimal_json(d: Decimal) -> Value {
    serde_json::from_str(&d.to_string()).unwrap_or_else(|_| Value::String(d.to_string()))
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if crate::temporal::is_calendar_keyword(&self.unit) {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Boolean(b) => write!(f, "{b}"),
            Item::Integer(i) => write!(f, "{i}"),
            Item::Decimal(d) => write!(f, "{d}"),
            Item::String(s) => write!(f, "{s}"),
            Item::Date(d) | Item::DateTime(d) => write!(f, "{d}"),
            Item::Time(t) => write!(f, "{t}"),
            Item::Quantity(q) => write!(f, "{q}"),
            Item::Node(node) => match node.json() {
                Some(Value::String(s)) => write!(f, "{s}"),
                Some(other) => write!(f, "{other}"),
                None => write!(f, "(no value)"),
            },
        }
    }
}
