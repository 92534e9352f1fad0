//! FHIRPath over FHIR resources in their JSON form.
