//! What the engine needs to know about FHIR types, supplied by the caller.
//!
//! The engine embeds no FHIR model: [`Model`] answers "what type is this
//! property" and "does this type derive from that one". [`InferredModel`] is the
//! fallback when the caller has none: it knows only what the JSON itself says
//! (`resourceType`, the type suffix of a choice property such as `valueQuantity`)
//! and the handful of type names FHIRPath needs to tell data types from resources.

/// The FHIR data types that appear as choice suffixes (`value[x]` → `valueQuantity`),
/// with the type each derives from (`None` for `Element`-level types).
const DATA_TYPES: &[(&str, Option<&str>)] = &[
    ("Address", None),
    ("Age", Some("Quantity")),
    ("Annotation", None),
    ("Attachment", None),
    ("CodeableConcept", None),
    ("Coding", None),
    ("ContactDetail", None),
    ("ContactPoint", None),
    ("Contributor", None),
    ("Count", Some("Quantity")),
    ("DataRequirement", None),
    ("Distance", Some("Quantity")),
    ("Dosage", None),
    ("Duration", Some("Quantity")),
    ("Expression", None),
    ("HumanName", None),
    ("Identifier", None),
    ("Meta", None),
    ("Money", None),
    ("MoneyQuantity", Some("Quantity")),
    ("ParameterDefinition", None),
    ("Period", None),
    ("Quantity", None),
    ("Range", None),
    ("Ratio", None),
    ("Reference", None),
    ("RelatedArtifact", None),
    ("SampledData", None),
    ("Signature", None),
    ("SimpleQuantity", Some("Quantity")),
    ("Timing", None),
    ("TriggerDefinition", None),
    ("UsageContext", None),
];

/// FHIR primitive types. FHIRPath type tests treat each as its own type
/// (`Patient.gender.as(string)` is empty: a `code` is not a `string`), except
/// the `uri` family (`valueUuid.is(uri)` holds in the official tests).
const PRIMITIVES: &[(&str, Option<&str>)] = &[
    ("base64Binary", None),
    ("boolean", None),
    ("canonical", Some("uri")),
    ("code", None),
    ("date", None),
    ("dateTime", None),
    ("decimal", None),
    ("id", None),
    ("instant", None),
    ("integer", None),
    ("markdown", None),
    ("oid", Some("uri")),
    ("positiveInt", None),
    ("string", None),
    ("time", None),
    ("unsignedInt", None),
    ("uri", None),
    ("url", Some("uri")),
    ("uuid", Some("uri")),
    ("xhtml", None),
];

/// Resources that derive from `Resource` directly rather than `DomainResource`.
const PLAIN_RESOURCES: &[&str] = &["Binary", "Bundle", "Parameters"];

/// Type knowledge the caller supplies. Only [`Model::element_type`] and
/// [`Model::is_resource_type`] must be answered; the rest has defaults that
/// follow FHIR R4's type hierarchy.
pub trait Model: Send + Sync {
    /// The FHIR type of JSON property `key` in an element of type `parent`
    /// (`("Patient", "birthDate")` → `date`, `("Observation", "valueQuantity")` →
    /// `Quantity`, `("Patient", "contact")` → `Patient.contact` or `BackboneElement`);
    /// `None` when the property does not exist or is unknown.
    fn element_type(&self, parent: &str, key: &str) -> Option<String>;

    /// True for resource type names (`Patient`, `Bundle`).
    fn is_resource_type(&self, name: &str) -> bool;

    /// The type `name` derives from: `Patient` → `DomainResource` → `Resource`,
    /// `Age` → `Quantity`, `code` → `string`; `None` at a root.
    fn base_type(&self, name: &str) -> Option<String> {
        if let Some((_, base)) = DATA_TYPES.iter().chain(PRIMITIVES).find(|(t, _)| *t == name) {
            return base.map(str::to_owned);
        }
        match name {
            "Resource" | "Element" => None,
            "DomainResource" => Some("Resource".into()),
            _ if PLAIN_RESOURCES.contains(&name) => Some("Resource".into()),
            _ if self.is_resource_type(name) => Some("DomainResource".into()),
            _ => None,
        }
    }

    /// True when `name` names a FHIR type (`is`, `as` and `ofType` reject others).
    fn is_type_name(&self, name: &str) -> bool {
        DATA_TYPES.iter().chain(PRIMITIVES).any(|(t, _)| *t == name)
            || matches!(
                name,
                "Element" | "BackboneElement" | "Extension" | "Narrative" | "Resource" | "DomainResource"
            )
            || self.is_resource_type(name)
    }

    /// `memberOf`: whether a code (a JSON string), Coding or CodeableConcept
    /// is in the value set with canonical `value_set`; `None` (the default)
    /// when the model cannot tell, which makes `memberOf` empty.
    fn member_of(&self, _value: &serde_json::Value, _value_set: &str) -> Option<bool> {
        None
    }

    /// True when `name` is `ancestor` or derives from it.
    fn is_subtype(&self, name: &str, ancestor: &str) -> bool {
        let mut current = name.to_owned();
        // The hierarchy is shallow; the bound only guards a caller's cyclic model.
        for _ in 0..16 {
            if current == ancestor {
                return true;
            }
            match self.base_type(&current) {
                Some(base) => current = base,
                None => return false,
            }
        }
        false
    }
}

/// The fallback model: no property types, resource types recognised by their
/// shape (a capitalised name that is no data type).
#[derive(Debug, Clone, Copy, Default)]
pub struct InferredModel;

impl Model for InferredModel {
    fn element_type(&self, _parent: &str, _key: &str) -> Option<String> {
        None
    }

    fn is_resource_type(&self, name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && !DATA_TYPES.iter().any(|(t, _)| *t == name)
            && !matches!(
                name,
                "Element" | "BackboneElement" | "Extension" | "Narrative" | "Resource" | "DomainResource"
            )
            && name.chars().all(|c| c.is_ascii_alphanumeric())
    }
}

/// The type a choice suffix names (`Quantity` → `Quantity`, `DateTime` → `dateTime`),
/// when it is a FHIR data or primitive type.
pub fn choice_suffix_type(suffix: &str) -> Option<String> {
    if DATA_TYPES.iter().any(|(t, _)| *t == suffix) || matches!(suffix, "Extension" | "Narrative") {
        return Some(suffix.to_owned());
    }
    let mut chars = suffix.chars();
    let first = chars.next()?;
    let lowered: String = first.to_lowercase().chain(chars).collect();
    PRIMITIVES
        .iter()
        .any(|(t, _)| *t == lowered && first.is_ascii_uppercase())
        .then_some(lowered)
}

#[cfg(test)]
mod tests {
    use super::{InferredModel, Model, choice_suffix_type};

    #[test]
    fn hierarchy_and_choice_suffixes() {
        let model = InferredModel;
        assert!(model.is_subtype("Patient", "Resource"));
        assert!(model.is_subtype("Bundle", "Resource") && !model.is_subtype("Bundle", "DomainResource"));
        assert!(model.is_subtype("Age", "Quantity") && !model.is_subtype("Quantity", "Age"));
        assert!(!model.is_subtype("code", "string"));
        assert_eq!(choice_suffix_type("DateTime").as_deref(), Some("dateTime"));
        assert_eq!(choice_suffix_type("Quantity").as_deref(), Some("Quantity"));
        assert_eq!(choice_suffix_type("Set"), None);
    }
}
