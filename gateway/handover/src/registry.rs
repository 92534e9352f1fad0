//! The region registry (zorgadresboek): organisations, their identifiers and
//! endpoints, from configuration; served as FHIR Organization and Endpoint
//! resources in the shapes of IHE mCSD.

use std::collections::BTreeMap;

use serde::Deserialize;
use zorgpoort_model::datatypes::{coding, concept};
use zorgpoort_model::systems;
use zorgpoort_model::{Object, Value};

/// How an endpoint is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// FHIR R4 REST: transaction Bundles sent with POST to the base URL.
    FhirR4,
    /// FHIR STU3 REST.
    FhirStu3,
    /// HL7 v2 over MLLP.
    Mllp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Self::FhirR4 => "fhir-r4",
            Self::FhirStu3 => "fhir-stu3",
            Self::Mllp => "mllp",
        }
    }
}

/// One endpoint of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// How it is reached.
    pub protocol: Protocol,
    /// Base URL (`http(s)://...`) or, for MLLP, `host:port`.
    pub address: String,
}

/// One organisation of the region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Short id used in routes and URLs.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of care it gives: one of the region's organisation
    /// categories (`huisarts`, `ziekenhuis`, `vvt`, ... by default).
    pub kind: String,
    /// UZI-register abonneenummer.
    #[serde(default)]
    pub ura: Option<String>,
    /// AGB code.
    #[serde(default)]
    pub agb: Option<String>,
    /// Sender names (HL7 v2: MSH-3/MSH-4 as `APP/FACILITY`) that identify it.
    #[serde(default)]
    pub senders: Vec<String>,
    /// Where it receives data.
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<Endpoint>,
    /// SHA-256 fingerprints (hex, colons allowed) of the client certificates
    /// it connects with under mutual TLS.
    #[serde(default)]
    pub client_certificates: Vec<String>,
    /// PEM public keys (P-256) it signs `private_key_jwt` client assertions
    /// with, for callers that cannot do mutual TLS.
    #[serde(default)]
    pub jwt_keys: Vec<String>,
    /// May read the audit log (`GET /fhir/AuditEvent`), e.g. the region's
    /// privacy officer.
    #[serde(default)]
    pub audit_reader: bool,
    /// May record (`/fhir/Consent`) the choices patients made with it, e.g.
    /// a GP practice: its Consents name it in `Consent.organization`, and it
    /// cannot change Consents another organisation recorded.
    #[serde(default)]
    pub consent_recorder: bool,
    /// May read a patient's data in an emergency without the patient's
    /// permit (break-the-glass, with a stated reason, flagged in the audit
    /// log), when the region's policy also allows it for its kind of care.
    #[serde(default)]
    pub break_the_glass: bool,
    /// The names it gives its own code tables in HL7 v2 (CWE-3 or CE-3 such
    /// as `99ZLAB` or `L`), each with the URI of the code system it stands
    /// for: codes from such a table get that system instead of none.
    #[serde(default)]
    pub local_code_systems: BTreeMap<String, String>,
}

/// Why a registry cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two organisations share an id.
    #[error("organization.id: {0:?} is used twice")]
    DuplicateId(String),
    /// An id that cannot be used in URLs.
    #[error("organization.id: {0:?} may only hold letters, digits and '-'")]
    InvalidId(String),
    /// An endpoint address that does not fit its protocol.
    #[error("organization {id:?}: endpoint address {address:?} is not a {expected}")]
    InvalidAddress {
        /// The organisation.
        id: String,
        /// The address given.
        address: String,
        /// What the protocol needs.
        expected: &'static str,
    },
}

/// All organisations of the region, by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    organizations: BTreeMap<String, Organization>,
}

impl Registry {
    /// Checks and indexes the configured organisations.
    pub fn new(organizations: Vec<Organization>) -> Result<Self, RegistryError> {
        let mut by_id = BTreeMap::new();
        for org in organizations {
            if org.id.is_empty() || !org.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(RegistryError::InvalidId(org.id));
            }
            for endpoint in &org.endpoints {
                let ok = match endpoint.protocol {
                    Protocol::FhirR4 | Protocol::FhirStu3 => {
                        endpoint.address.starts_with("http://") || endpoint.address.starts_with("https://")
                    }
                    Protocol::Mllp => endpoint
                        .address
                        .rsplit_once(':')
                        .is_some_and(|(_, port)| port.parse::<u16>().is_ok()),
                };
                if !ok {
                    let expected = if endpoint.protocol == Protocol::Mllp {
                        "host:port"
                    } else {
                        "http(s) URL"
                    };
                    return Err(RegistryError::InvalidAddress {
                        id: org.id.clone(),
                        address: endpoint.address.clone(),
                        expected,
                    });
                }
            }
            if by_id.contains_key(&org.id) {
                return Err(RegistryError::DuplicateId(org.id));
            }
            by_id.insert(org.id.clone(), org);
        }
        Ok(Self { organizations: by_id })
    }

    /// The organisation with this id.
    pub fn get(&self, id: &str) -> Option<&Organization> {
        self.organizations.get(id)
    }

    /// All organisations, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Organization> {
        self.organizations.values()
    }

    /// The organisation that sends under this name: one of its sender
    /// names (`APP/FACILITY`), else its id, URA or AGB (a CDA custodian, an
    /// EDIFACT sender).
    pub fn by_sender(&self, sender: &str) -> Option<&Organization> {
        self.iter().find(|o| o.senders.iter().any(|s| s == sender)).or_else(|| {
            self.iter()
                .find(|o| o.id == sender || o.ura.as_deref() == Some(sender) || o.agb.as_deref() == Some(sender))
        })
    }

    /// The organisation a client certificate (SHA-256 fingerprint, hex) is registered to.
    pub fn by_certificate(&self, fingerprint: &str) -> Option<&Organization> {
        let wanted = normalize_fingerprint(fingerprint);
        self.iter()
            .find(|o| o.client_certificates.iter().any(|c| normalize_fingerprint(c) == wanted))
    }

    /// The organisation with this AGB code.
    pub fn by_agb(&self, agb: &str) -> Option<&Organization> {
        self.iter().find(|o| o.agb.as_deref() == Some(agb))
    }

    /// An organisation as a FHIR Organization (mCSD).
    pub fn organization_resource(org: &Organization) -> Object<'_> {
        let identifiers: Vec<Object<'_>> = [(systems::URA, &org.ura), (systems::AGB, &org.agb)]
            .into_iter()
            .filter_map(|(system, value)| {
                value
                    .as_deref()
                    .map(|v| Object::new().with("system", system).with("value", v))
            })
            .collect();
        let endpoints: Vec<Object<'_>> = (0..org.endpoints.len())
            .map(|n| Object::new().with("reference", format!("Endpoint/{}", endpoint_id(org, n))))
            .collect();
        Object::new()
            .with("resourceType", "Organization")
            .with("id", org.id.as_str())
            .with(
                "meta",
                Object::new().with("profile", vec![Value::from(systems::profile::ORGANIZATION)]),
            )
            .with("identifier", identifiers)
            .with("active", true)
            .with("type", vec![Object::new().with("text", org.kind.as_str())])
            .with("name", org.name.as_str())
            .with("endpoint", endpoints)
    }

    /// The endpoints as FHIR Endpoint resources (mCSD), with their ids.
    pub fn endpoint_resources(org: &Organization) -> impl Iterator<Item = (String, Object<'_>)> {
        org.endpoints.iter().enumerate().map(move |(n, endpoint)| {
            let id = endpoint_id(org, n);
            let (connection, payload) = match endpoint.protocol {
                Protocol::FhirR4 | Protocol::FhirStu3 => ("hl7-fhir-rest", "application/fhir+json"),
                Protocol::Mllp => ("hl7v2-mllp", "x-application/hl7-v2+er7"),
            };
            let resource = Object::new()
                .with("resourceType", "Endpoint")
                .with("id", id.clone())
                .with("status", "active")
                .with(
                    "connectionType",
                    coding(
                        "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                        connection,
                    ),
                )
                .with("name", format!("{} ({})", org.name, endpoint.protocol.as_str()))
                .with(
                    "managingOrganization",
                    Object::new().with("reference", format!("Organization/{}", org.id)),
                )
                .with(
                    "payloadType",
                    vec![concept(
                        "http://terminology.hl7.org/CodeSystem/endpoint-payload-type",
                        "any",
                    )],
                )
                .with("payloadMimeType", vec![Value::from(payload)])
                .with("address", endpoint.address.as_str());
            (id, resource)
        })
    }
}

fn normalize_fingerprint(text: &str) -> String {
    let text = text.strip_prefix("sha256:").unwrap_or(text);
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn endpoint_id(org: &Organization, n: usize) -> String {
    format!("{}-{}", org.id, n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str, address: &str, protocol: Protocol) -> Organization {
        Organization {
            id: id.into(),
            name: "Test".into(),
            kind: "vvt".into(),
            ura: Some("90000003".into()),
            agb: None,
            senders: vec![],
            endpoints: vec![Endpoint {
                protocol,
                address: address.into(),
            }],
            client_certificates: vec!["sha256:AB:cd:01".into()],
            jwt_keys: Vec::new(),
            audit_reader: false,
            consent_recorder: false,
            break_the_glass: false,
            local_code_systems: BTreeMap::new(),
        }
    }

    #[test]
    fn checks_ids_and_addresses() {
        assert!(Registry::new(vec![org("a", "http://x", Protocol::FhirR4)]).is_ok());
        assert_eq!(
            Registry::new(vec![
                org("a", "http://x", Protocol::FhirR4),
                org("a", "http://y", Protocol::FhirR4)
            ])
            .unwrap_err(),
            RegistryError::DuplicateId("a".into())
        );
        assert!(matches!(
            Registry::new(vec![org("a b", "http://x", Protocol::FhirR4)]),
            Err(RegistryError::InvalidId(_))
        ));
        assert!(matches!(
            Registry::new(vec![org("a", "ftp://x", Protocol::FhirR4)]),
            Err(RegistryError::InvalidAddress { .. })
        ));
        assert!(Registry::new(vec![org("a", "localhost:2575", Protocol::Mllp)]).is_ok());
    }

    #[test]
    fn finds_organisations_by_certificate_fingerprint() {
        let registry = Registry::new(vec![org("a", "http://x", Protocol::FhirR4)]).unwrap();
        assert_eq!(registry.by_certificate("abcd01").map(|o| o.id.as_str()), Some("a"));
        assert!(registry.by_certificate("abcd02").is_none());
    }

    #[test]
    fn serves_mcsd_organization_and_endpoint() {
        let o = org("de-linde", "http://127.0.0.1:9/fhir", Protocol::FhirR4);
        let json = Registry::organization_resource(&o).to_json();
        assert!(
            json.contains(r#""identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/ura","value":"90000003"}]"#),
            "{json}"
        );
        assert!(
            json.contains(r#""endpoint":[{"reference":"Endpoint/de-linde-1"}]"#),
            "{json}"
        );
        let (id, endpoint) = Registry::endpoint_resources(&o).next().unwrap();
        assert_eq!(id, "de-linde-1");
        assert!(endpoint.to_json().contains(r#""address":"http://127.0.0.1:9/fhir""#));
    }
}
