//! What the integration tests share: where the corpora are, and a [`Model`]
//! read from the official FHIR R4 JSON schema in the corpora (the engine itself
//! embeds no model; the profiles crate will supply the real one).

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;
use zorgpoort_fhirpath::Model;

/// `conformance-tests/corpora` in this checkout.
pub fn corpora() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance-tests/corpora")
}

/// Element types and resource types from `fhir/schema/fhir.schema.json`.
pub struct SchemaModel {
    elements: HashMap<(String, String), String>,
    resources: HashSet<String>,
}

fn type_of(property: &Value) -> Option<String> {
    let target = property.get("items").unwrap_or(property);
    if let Some(reference) = target.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/definitions/")?;
        return Some(if name == "ResourceList" {
            "Resource".to_owned()
        } else {
            name.to_owned()
        });
    }
    // Required bindings are inlined as enums of codes.
    target.get("enum").map(|_| "code".to_owned())
}

impl SchemaModel {
    /// Reads the schema; panics with the reason when the corpus is missing.
    pub fn load() -> SchemaModel {
        let path = corpora().join("fhir/schema/fhir.schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let definitions = schema["definitions"].as_object().cloned().unwrap_or_default();
        let mut elements = HashMap::new();
        for (type_name, definition) in &definitions {
            let Some(properties) = definition.get("properties").and_then(Value::as_object) else {
                continue;
            };
            for (key, property) in properties {
                if key.starts_with('_') || key == "resourceType" {
                    continue;
                }
                if let Some(element_type) = type_of(property) {
                    elements.insert((type_name.clone(), key.clone()), element_type);
                }
            }
        }
        let resources = schema["definitions"]["ResourceList"]["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("$ref").and_then(Value::as_str))
            .filter_map(|r| r.strip_prefix("#/definitions/"))
            .map(str::to_owned)
            .collect();
        SchemaModel { elements, resources }
    }
}

impl Model for SchemaModel {
    fn element_type(&self, parent: &str, key: &str) -> Option<String> {
        self.elements.get(&(parent.to_owned(), key.to_owned())).cloned()
    }

    fn is_resource_type(&self, name: &str) -> bool {
        self.resources.contains(name)
    }

    fn base_type(&self, name: &str) -> Option<String> {
        // Backbone elements are named `Patient_Contact` in the schema.
        if name.contains('_') {
            return Some("BackboneElement".into());
        }
        match name {
            "BackboneElement" => Some("Element".into()),
            _ => DefaultHierarchy(self).base_type(name),
        }
    }
}

/// The trait's default hierarchy, answered with the schema's resource list.
struct DefaultHierarchy<'m>(&'m SchemaModel);

impl Model for DefaultHierarchy<'_> {
    fn element_type(&self, parent: &str, key: &str) -> Option<String> {
        self.0.element_type(parent, key)
    }

    fn is_resource_type(&self, name: &str) -> bool {
        self.0.is_resource_type(name)
    }
}
