//! The FHIR R4 type knowledge of [`crate::schema`] offered to the FHIRPath
//! engine, which embeds none of its own, and the enumerated value sets of
//! the rule tables for `memberOf`.

use zorgpoort_fhirpath::Model;

use crate::schema::{ElementType, JsonKind, schema};

/// Element types from the R4 JSON schema (`Patient.birthDate` is a `date`,
/// `Patient.contact` a `Patient_Contact` backbone element).
#[derive(Debug, Clone, Copy, Default)]
pub struct SchemaModel;

impl Model for SchemaModel {
    fn element_type(&self, parent: &str, key: &str) -> Option<String> {
        let elements = schema().type_elements(parent)?;
        Some(match elements.element(key)?.holds {
            ElementType::Primitive(kind) => match elements.primitive_type(key) {
                Some(primitive) => primitive.to_owned(),
                // Required bindings are inlined as enums of codes in the schema.
                None if kind == JsonKind::String => "code".to_owned(),
                None if kind == JsonKind::Boolean => "boolean".to_owned(),
                None => "decimal".to_owned(),
            },
            ElementType::Complex(name) => name.to_owned(),
            ElementType::Resource => "Resource".to_owned(),
            ElementType::Xhtml => "xhtml".to_owned(),
        })
    }

    fn is_resource_type(&self, name: &str) -> bool {
        schema().is_resource_type(name)
    }

    /// The value sets the profiles' tables enumerate; others cannot be
    /// expanded here.
    fn member_of(&self, value: &serde_json::Value, value_set: &str) -> Option<bool> {
        crate::rules::value_set(value_set.split('|').next().unwrap_or(value_set))?.holds(value)
    }

    fn base_type(&self, name: &str) -> Option<String> {
        // The schema names backbone elements `Patient_Contact`.
        if name.contains('_') {
            return Some("BackboneElement".to_owned());
        }
        match name {
            "BackboneElement" => Some("Element".to_owned()),
            _ => R4Hierarchy.base_type(name),
        }
    }
}

/// The trait's default hierarchy, with the schema's resource types.
struct R4Hierarchy;

impl Model for R4Hierarchy {
    fn element_type(&self, _parent: &str, _key: &str) -> Option<String> {
        None
    }

    fn is_resource_type(&self, name: &str) -> bool {
        schema().is_resource_type(name)
    }
}

#[cfg(test)]
mod tests {
    use super::SchemaModel;
    use zorgpoort_fhirpath::Model;

    #[test]
    fn types_from_the_schema() {
        let model = SchemaModel;
        assert_eq!(model.element_type("Patient", "birthDate").as_deref(), Some("date"));
        assert_eq!(
            model.element_type("Observation", "valueQuantity").as_deref(),
            Some("Quantity")
        );
        assert_eq!(model.element_type("Patient", "gender").as_deref(), Some("code"));
        assert!(model.is_subtype("Patient_Contact", "BackboneElement"));
        assert!(model.is_subtype("Observation", "DomainResource") && !model.is_subtype("HumanName", "Resource"));
    }
}
