//! The official FHIR R4 JSON schema: structural validation per resource type,
//! and the element index the XML reader needs (which elements repeat, which
//! primitives are numbers or booleans).
//!
//! Compiling the whole schema at once costs minutes and gigabytes, because
//! every `Bundle.entry.resource` and `contained` is a `oneOf` over all 146
//! resource types. So each resource type gets its own validator, compiled on
//! first use (a few milliseconds) with nested resources left open; the
//! validator walks into nested resources itself and checks each with the
//! validator of its own type.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use serde_json::{Map, Value};

const SCHEMA: &str = include_str!("../data/fhir.schema.json");

/// The JSON shape of a primitive FHIR type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// A JSON string.
    String,
    /// A JSON number (`decimal`, `integer`, `positiveInt`, ...).
    Number,
    /// `true` or `false`.
    Boolean,
}

/// What an element holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType<'a> {
    /// A primitive such as `string`, `date` or `decimal`.
    Primitive(JsonKind),
    /// A complex type or backbone element, by its schema definition name
    /// (`HumanName`, `Patient_Contact`).
    Complex(&'a str),
    /// A nested resource (`contained`, `Bundle.entry.resource`).
    Resource,
    /// The narrative's XHTML `div`.
    Xhtml,
}

/// One element of a type, as the schema defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// Whether it is an array in JSON.
    pub repeats: bool,
    /// What each value is.
    pub holds: ElementType<'a>,
}

fn json_kind(definition: &Value) -> JsonKind {
    match definition.get("type").and_then(Value::as_str) {
        Some("number") => JsonKind::Number,
        Some("boolean") => JsonKind::Boolean,
        _ => JsonKind::String,
    }
}

/// One element in the start-up index.
struct Indexed {
    repeats: bool,
    holds: Holds,
}

/// [`ElementType`], owned, with the primitive's type name when known.
enum Holds {
    Primitive(JsonKind, Option<String>),
    Complex(String),
    Resource,
    Xhtml,
}

/// The elements of one type ([`Schema::type_elements`]).
#[derive(Clone, Copy)]
pub struct TypeElements<'a>(&'a HashMap<String, Indexed>);

impl<'a> TypeElements<'a> {
    /// The element `name`, if the type has it.
    pub fn element(self, name: &str) -> Option<Element<'a>> {
        let indexed = self.0.get(name)?;
        let holds = match &indexed.holds {
            Holds::Primitive(kind, _) => ElementType::Primitive(*kind),
            Holds::Complex(name) => ElementType::Complex(name),
            Holds::Resource => ElementType::Resource,
            Holds::Xhtml => ElementType::Xhtml,
        };
        Some(Element {
            repeats: indexed.repeats,
            holds,
        })
    }

    /// The name of the primitive type element `name` holds, if a primitive.
    pub fn primitive_type(self, name: &str) -> Option<&'a str> {
        match &self.0.get(name)?.holds {
            Holds::Primitive(_, primitive) => primitive.as_deref(),
            _ => None,
        }
    }
}

/// The parsed schema, shared by every validation.
pub struct Schema {
    definitions: Map<String, Value>,
    /// Primitive type names by their pattern (`string` and `markdown`
    /// share one): inline choice primitives are known only by it.
    primitives_by_pattern: HashMap<String, Vec<String>>,
    /// Every type's elements, looked up once at start instead of walking the
    /// schema's JSON on each use.
    elements: HashMap<String, HashMap<String, Indexed>>,
    /// The resource types, found once: asked for every nested value.
    resource_types: HashSet<String>,
    validators: RwLock<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// Calls `each` with every element value of `value`, an object of the
/// schema type `type_name`, that the schema knows (the items of an array one
/// by one) and what the element holds. `path` is extended by the element's
/// name and index while `each` runs, and restored after.
pub(crate) fn each_element<'v>(
    value: &'v Value,
    type_name: &str,
    path: &mut String,
    mut each: impl FnMut(&'v Value, ElementType<'static>, &mut String),
) {
    let (Some(object), Some(elements)) = (value.as_object(), schema().type_elements(type_name)) else {
        return;
    };
    let length = path.len();
    for (key, child) in object {
        let Some(holds) = elements.element(key).map(|element| element.holds) else {
            continue;
        };
        path.push('.');
        path.push_str(key);
        match child {
            Value::Array(items) => {
                let key_length = path.len();
                for (index, item) in items.iter().enumerate() {
                    let _ = write!(path, "[{index}]");
                    each(item, holds, path);
                    path.truncate(key_length);
                }
            }
            _ => each(child, holds, path),
        }
        path.truncate(length);
    }
}

/// The schema, parsed on first use.
pub fn schema() -> &'static Schema {
    static SCHEMA_ONCE: OnceLock<Schema> = OnceLock::new();
    SCHEMA_ONCE.get_or_init(|| {
        let Ok(Value::Object(mut root)) = serde_json::from_str::<Value>(SCHEMA) else {
            unreachable!("the embedded schema is generated JSON")
        };
        let Some(Value::Object(mut definitions)) = root.remove("definitions") else {
            unreachable!("the embedded schema has definitions")
        };
        definitions.values_mut().for_each(adapt);
        definitions.values_mut().for_each(add_canonical_companions);
        let mut primitives_by_pattern: HashMap<String, Vec<String>> = HashMap::new();
        for (name, definition) in &definitions {
            if let Some(pattern) = definition.get("pattern").and_then(Value::as_str) {
                primitives_by_pattern
                    .entry(pattern.to_owned())
                    .or_default()
                    .push(name.clone());
            }
        }
        let mut schema = Schema {
            definitions,
            primitives_by_pattern,
            elements: HashMap::new(),
            resource_types: HashSet::new(),
            validators: RwLock::default(),
        };
        schema.elements = schema.index_elements();
        schema.resource_types = schema
            .definitions
            .iter()
            .filter(|(name, definition)| {
                definition
                    .pointer("/properties/resourceType/const")
                    .is_some_and(|constant| constant == name.as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        schema
    })
}

/// The published schema, read as R4 4.0.1 means it: patterns with XML
/// Schema's `\s` ([`crate::pattern`]), and the R4 technical correction
/// 4.0.1 wherever the enumeration of FHIR versions (made for 4.0.0) lists
/// 4.0.0, since 4.0.1 is the version this schema was published with.
fn adapt(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(pattern)) = object.get_mut("pattern") {
                *pattern = crate::pattern::from_xml_schema(pattern);
            }
            if let Some(Value::Array(versions)) = object.get_mut("enum")
                && versions.iter().any(|version| version == "4.0.0")
                && !versions.iter().any(|version| version == "4.0.1")
            {
                versions.push(Value::from("4.0.1"));
            }
            object.values_mut().for_each(adapt);
        }
        Value::Array(items) => items.iter_mut().for_each(adapt),
        _ => {}
    }
}

/// Gives every `canonical` element its `_name` companion, which the R4
/// schema leaves out (for `canonical` only) although FHIR JSON allows it
/// on every primitive: `"_instantiatesCanonical": [{"extension": ...}]`.
fn add_canonical_companions(definition: &mut Value) {
    let Some(Value::Object(properties)) = definition.get_mut("properties") else {
        return;
    };
    let canonical = |property: &Value| {
        let target = property.get("items").unwrap_or(property);
        target.get("$ref").and_then(Value::as_str) == Some("#/definitions/canonical")
    };
    let companions: Vec<(String, Value)> = properties
        .iter()
        .filter(|(name, property)| canonical(property) && !properties.contains_key(&format!("_{name}")))
        .map(|(name, property)| {
            let element = serde_json::json!({ "$ref": "#/definitions/Element" });
            let companion = if property.get("items").is_some() {
                serde_json::json!({ "items": element, "type": "array" })
            } else {
                element
            };
            (format!("_{name}"), companion)
        })
        .collect();
    properties.extend(companions);
}

impl Schema {
    /// Whether `name` is a resource type (`Patient`, not `HumanName`).
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.resource_types.contains(name)
    }

    /// The element `name` of the type `type_name`, if the schema defines it.
    pub fn element(&self, type_name: &str, name: &str) -> Option<Element<'_>> {
        self.type_elements(type_name)?.element(name)
    }

    /// The name of the primitive type element `name` of `type_name` holds
    /// (`date`, `dateTime`), if it holds a primitive.
    pub fn primitive_type(&self, type_name: &str, name: &str) -> Option<&str> {
        self.type_elements(type_name)?.primitive_type(name)
    }

    /// The elements of one type, to look several up.
    pub fn type_elements(&self, type_name: &str) -> Option<TypeElements<'_>> {
        self.elements.get(type_name).map(TypeElements)
    }

    fn index_elements(&self) -> HashMap<String, HashMap<String, Indexed>> {
        let mut types = HashMap::new();
        for (type_name, definition) in &self.definitions {
            let Some(Value::Object(properties)) = definition.get("properties") else {
                continue;
            };
            let elements = properties
                .iter()
                .filter_map(|(name, property)| Some((name.clone(), self.describe(property)?)))
                .collect();
            types.insert(type_name.clone(), elements);
        }
        types
    }

    /// What the schema says of one property.
    fn describe(&self, property: &Value) -> Option<Indexed> {
        let repeats = property.get("type").is_some_and(|kind| kind == "array");
        let target = if repeats { property.get("items")? } else { property };
        let holds = if let Some(reference) = target.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/definitions/")?;
            match self.element_type(name)? {
                ElementType::Primitive(kind) => Holds::Primitive(kind, Some(name.to_owned())),
                ElementType::Complex(name) => Holds::Complex(name.to_owned()),
                ElementType::Resource => Holds::Resource,
                ElementType::Xhtml => Holds::Xhtml,
            }
        } else {
            // Choice primitives (`valueInteger`) and required bindings on
            // `code` (enumerations) are defined inline; a choice primitive
            // is an inline copy of its type's definition, known by pattern.
            let primitive = target
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(|pattern| self.primitives_with_pattern(pattern).first().cloned());
            Holds::Primitive(json_kind(target), primitive)
        };
        Some(Indexed { repeats, holds })
    }

    /// The primitive types whose schema pattern is `pattern` (`string` and
    /// `markdown` share one), to name them in messages.
    pub fn primitives_with_pattern(&self, pattern: &str) -> &[String] {
        self.primitives_by_pattern.get(pattern).map_or(&[], Vec::as_slice)
    }

    fn element_type(&self, definition_name: &str) -> Option<ElementType<'_>> {
        let (name, definition) = self.definitions.get_key_value(definition_name)?;
        Some(match name.as_str() {
            "ResourceList" => ElementType::Resource,
            "xhtml" => ElementType::Xhtml,
            _ if definition.get("type").is_some() => ElementType::Primitive(json_kind(definition)),
            _ => ElementType::Complex(name),
        })
    }

    /// Compiles the structural validator of one resource type, uncached
    /// (what the first validation of a type costs; see the benchmarks).
    pub fn compile(&self, resource_type: &str) -> Option<jsonschema::Validator> {
        if !self.is_resource_type(resource_type) {
            return None;
        }
        let mut definitions = self.definitions.clone();
        // Nested resources are validated by their own type's validator.
        definitions.insert(
            "ResourceList".to_owned(),
            serde_json::json!({ "type": "object", "required": ["resourceType"] }),
        );
        let document = serde_json::json!({
            "$schema": "http://json-schema.org/draft-06/schema#",
            "$ref": format!("#/definitions/{resource_type}"),
            "definitions": definitions,
        });
        jsonschema::draft6::new(&document).ok()
    }

    /// The structural validator for one resource type, compiled on first use.
    /// `None` when the schema does not know the type.
    pub fn validator(&self, resource_type: &str) -> Option<Arc<jsonschema::Validator>> {
        if let Some(found) = self
            .validators
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(resource_type)
        {
            return Some(Arc::clone(found));
        }
        let compiled = Arc::new(self.compile(resource_type)?);
        let mut validators = self
            .validators
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(
            validators.entry(resource_type.to_owned()).or_insert(compiled),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::schema;

    #[test]
    fn resource_types_are_the_definitions_with_their_own_resource_type() {
        let schema = schema();
        for name in ["Patient", "Bundle", "Parameters", "ServiceRequest"] {
            assert!(schema.is_resource_type(name), "{name}");
        }
        for name in [
            "HumanName",
            "Bundle_Entry",
            "Resource",
            "DomainResource",
            "string",
            "patient",
        ] {
            assert!(!schema.is_resource_type(name), "{name}");
        }
        assert_eq!(schema.resource_types.len(), 146, "the resource types of R4 4.0.1");
    }
}
