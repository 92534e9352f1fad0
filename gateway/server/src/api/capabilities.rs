//! `GET /fhir/metadata`: the CapabilityStatement, which says what the FHIR
//! API serves: every interaction, search parameter and operation of the
//! routes in [`crate::router`], and nothing they do not serve. The BgZ part
//! comes from the BgZ searches themselves ([`zorgpoort_handover::bgz`]), so
//! the two cannot drift apart.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use zorgpoort_handover::bgz;

use crate::outcome::{FHIR_JSON, fhir_json};

const VALIDATE: &str = "http://hl7.org/fhir/OperationDefinition/Resource-validate";
const DOCUMENT: &str = "http://hl7.org/fhir/OperationDefinition/Composition-document";
const LASTN: &str = "http://hl7.org/fhir/OperationDefinition/Observation-lastn";

/// `GET /fhir/metadata`.
pub(crate) async fn capability_statement() -> Response {
    static STATEMENT: OnceLock<String> = OnceLock::new();
    let body = STATEMENT.get_or_init(|| statement().to_string());
    fhir_json(StatusCode::OK, body.clone())
}

/// The statement as JSON.
fn statement() -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "kind": "instance",
        "software": { "name": "zorgpoort", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "zorgpoort, a regional gateway for Dutch care data: the region's registry, \
                consent, handovers (eOverdracht) and the BgZ of the patients whose messages it holds"
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every request but this statement and /oauth/token names its caller: a client \
                certificate (mutual TLS) or a bearer token. Answers are JSON (FHIR R4, or STU3 with \
                fhirVersion=3.0 on Accept); an Accept that allows no JSON gets 406. An unknown search \
                parameter is an error, never ignored. Messages in other formats are converted at /hl7v2, \
                /convert/{format} and /messages/{format}, outside this FHIR API.",
            "security": {
                "service": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "Certificates"
                }] }],
                "description": "Mutual TLS with certificates of the region's CA, or bearer tokens from \
                    /oauth/token (client credentials with a signed JWT assertion)."
            },
            "resource": resources(),
            "interaction": [{
                "code": "batch",
                "documentation": "A batch Bundle of BgZ searches (GET entries), each answered with its own status."
            }],
            "operation": [{ "name": "validate", "definition": VALIDATE }]
        }]
    })
}

fn resources() -> Vec<Value> {
    let mut resources = vec![
        resource(
            "AuditEvent",
            &["search-type"],
            &[
                ("patient", "token", "the patient's BSN, as [system|]BSN; required"),
                ("date", "date", "[ge|gt|le|lt|eq]YYYY-MM-DD"),
            ],
        ),
        resource("Bundle", &["read"], &[]),
        with_operation(resource("Composition", &["read"], &[]), "document", DOCUMENT),
        resource("Endpoint", &["read", "search-type"], &[]),
        resource(
            "Task",
            &["read", "search-type", "create", "update"],
            &[
                ("status", "token", "one or more Task statuses, comma-separated"),
                ("owner", "reference", "Organization/{id} of the receiver"),
                ("requester", "reference", "Organization/{id} of the sender"),
                ("_count", "number", "most Tasks in the answer"),
            ],
        ),
    ];
    for resource_type in bgz::RESOURCE_TYPES {
        resources.push(bgz_resource(resource_type));
    }
    resources.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    resources
}

/// A BgZ type: searched by patient; Organization and Consent also have
/// routes of their own (the registry, the patient's choices).
fn bgz_resource(resource_type: &str) -> Value {
    let (interactions, own): (&[&str], &[(&str, &str, &str)]) = match resource_type {
        "Organization" => (&["read", "search-type"], &[]),
        "Consent" => (
            &["read", "search-type", "create", "update"],
            &[(
                "patient",
                "token",
                "the patient's BSN, as [system|]BSN: the patient's choices about sharing",
            )],
        ),
        _ => (&["search-type"], &[]),
    };
    let mut parameters: Vec<(&str, &str, &str)> = own.to_vec();
    for name in bgz::search_parameters(resource_type) {
        let (name, kind, documentation) = match *name {
            "identifier" => (
                "identifier",
                "token",
                "the patient's BSN: http://fhir.nl/fhir/NamingSystem/bsn|{BSN}",
            ),
            "patient.identifier" => (
                "patient",
                "reference",
                "chained only: patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|{BSN} (the BgZ)",
            ),
            "subject.identifier" => (
                "subject",
                "reference",
                "chained only: subject.identifier, as patient.identifier",
            ),
            other => (
                other,
                "token",
                "system|code, code or system|, comma-separated for any of several",
            ),
        };
        // Consent's own `patient` (the patient's choices) is also the
        // BgZ's: one parameter, both uses documented.
        match parameters.iter_mut().find(|(own, _, _)| *own == name) {
            Some(own) => {
                own.2 = "the patient's choices: patient=[system|]BSN; the BgZ's directives: \
                patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|{BSN}";
            }
            None => parameters.push((name, kind, documentation)),
        }
    }
    let mut resource = resource(resource_type, interactions, &parameters);
    let includes = bgz::includes(resource_type);
    if !includes.is_empty() {
        resource["searchInclude"] = json!(includes);
    }
    resource["searchRevInclude"] = json!(["Provenance:target"]);
    if resource_type == "Observation" {
        resource = with_operation(resource, "lastn", LASTN);
    }
    resource
}

fn resource(resource_type: &str, interactions: &[&str], parameters: &[(&str, &str, &str)]) -> Value {
    let mut resource = json!({
        "type": resource_type,
        "interaction": interactions.iter().map(|code| json!({ "code": code })).collect::<Vec<_>>(),
        "operation": [{ "name": "validate", "definition": VALIDATE }],
    });
    if !parameters.is_empty() {
        resource["searchParam"] = parameters
            .iter()
            .map(|(name, kind, documentation)| json!({ "name": name, "type": kind, "documentation": documentation }))
            .collect();
    }
    resource
}

fn with_operation(mut resource: Value, name: &str, definition: &str) -> Value {
    if let Some(operations) = resource["operation"].as_array_mut() {
        operations.push(json!({ "name": name, "definition": definition }));
    }
    resource
}
