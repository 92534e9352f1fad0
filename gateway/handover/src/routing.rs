//! Routing: configured rules choose the receivers of a message from its
//! event, its sender, the patient's GP and explicit destinations.

use serde::Deserialize;
use zorgpoort_store::NewDelivery;

use crate::registry::{Protocol, Registry};

/// One routing rule; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Events this rule applies to (`ADT^A03`, or `ADT` for all ADT); empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Sending organisation ids; empty: any sender.
    #[serde(default)]
    pub from: Vec<String>,
    /// Explicit receivers (organisation ids).
    #[serde(default)]
    pub to: Vec<String>,
    /// Also deliver to the patient's GP, found by AGB in the registry.
    #[serde(default)]
    pub to_gp: bool,
    /// Hand what the rule matches over as eOverdracht on the sender's
    /// behalf, instead of pushing it: a Task the receiver is notified of and
    /// picks up. A document (a CDA or MEDEUR letter, a FHIR document) is
    /// handed over as it is; any other message (a discharge ADT^A03, a
    /// client of an export) as a transfer document made from its data.
    #[serde(default)]
    pub handover: bool,
}

/// What routing looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The sender's name (`APP/FACILITY`).
    pub sender: String,
    /// `ADT^A03` and the like.
    pub event: String,
    /// AGB codes of the patient's GP (practice).
    pub general_practitioner_agb: Vec<String>,
}

/// The configured rules over a registry.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

/// A rule that names an organisation the registry does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route {index}: unknown organization {id:?} in `{key}`")]
pub struct UnknownOrganization {
    index: usize,
    key: &'static str,
    id: String,
}

impl Routes {
    /// Rules checked against the registry.
    pub fn new(routes: Vec<Route>, registry: &Registry) -> Result<Self, UnknownOrganization> {
        for (index, route) in routes.iter().enumerate() {
            for (key, ids) in [("from", &route.from), ("to", &route.to)] {
                if let Some(id) = ids.iter().find(|id| registry.get(id).is_none()) {
                    return Err(UnknownOrganization {
                        index: index + 1,
                        key,
                        id: id.clone(),
                    });
                }
            }
        }
        Ok(Self { routes })
    }

    /// The receivers the rules picked by `take` name for a message, once
    /// each, never the sender itself.
    fn receivers<'r>(&'r self, facts: &Facts, registry: &'r Registry, take: impl Fn(&Route) -> bool) -> Vec<&'r str> {
        let sender = registry.by_sender(&facts.sender).map(|o| o.id.as_str());
        let mut receivers: Vec<&str> = Vec::new();
        for route in self.routes.iter().filter(|r| take(r)) {
            let event_ok = route.events.is_empty()
                || route
                    .events
                    .iter()
                    .any(|e| *e == facts.event || facts.event.split('^').next() == Some(e.as_str()));
            let sender_ok = route.from.is_empty() || sender.is_some_and(|s| route.from.iter().any(|f| f == s));
            if !(event_ok && sender_ok) {
                continue;
            }
            receivers.extend(route.to.iter().map(String::as_str));
            if route.to_gp {
                receivers.extend(
                    facts
                        .general_practitioner_agb
                        .iter()
                        .filter_map(|agb| registry.by_agb(agb))
                        .map(|o| o.id.as_str()),
                );
            }
        }
        let mut once: Vec<&str> = Vec::new();
        for id in receivers {
            if Some(id) != sender && !once.contains(&id) {
                once.push(id);
            }
        }
        once
    }

    /// The organisations a message is handed over to as eOverdracht (rules
    /// with `handover`).
    pub fn handovers(&self, facts: &Facts, registry: &Registry) -> Vec<String> {
        self.receivers(facts, registry, |r| r.handover)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The deliveries for a message: each receiver's FHIR R4 endpoint, or
    /// else its STU3 endpoint, or else its MLLP endpoint, once per
    /// receiver, never back to the sender itself. Rules that hand over push
    /// nothing.
    pub fn deliveries(&self, facts: &Facts, registry: &Registry) -> Vec<NewDelivery> {
        let receivers = self.receivers(facts, registry, |r| !r.handover);
        let mut deliveries: Vec<NewDelivery> = Vec::new();
        for id in receivers {
            let Some(org) = registry.get(id) else { continue };
            // R4 where the receiver takes it, else STU3, else HL7 v2.
            let endpoint = [Protocol::FhirR4, Protocol::FhirStu3, Protocol::Mllp]
                .into_iter()
                .find_map(|protocol| org.endpoints.iter().find(|e| e.protocol == protocol))
                .map(|e| match e.protocol {
                    Protocol::FhirR4 => e.address.clone(),
                    Protocol::FhirStu3 => format!("{STU3_PREFIX}{}", e.address),
                    Protocol::Mllp => format!("{MLLP_PREFIX}{}", e.address),
                });
            if let Some(endpoint) = endpoint {
                deliveries.push(NewDelivery {
                    receiver: id.to_owned(),
                    endpoint,
                });
            }
        }
        deliveries
    }
}

/// How a queued delivery's endpoint says the receiver takes HL7 v2 over
/// MLLP (`mllp://host:port`).
pub const MLLP_PREFIX: &str = "mllp://";
/// How a queued delivery's endpoint says the receiver takes FHIR STU3
/// (`fhir-stu3+https://host/base`).
pub const STU3_PREFIX: &str = "fhir-stu3+";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Endpoint, Organization};

    fn org(id: &str, kind: &str, agb: Option<&str>, senders: &[&str]) -> Organization {
        Organization {
            id: id.into(),
            name: id.into(),
            kind: kind.into(),
            ura: None,
            agb: agb.map(Into::into),
            senders: senders.iter().map(|s| (*s).to_owned()).collect(),
            endpoints: vec![Endpoint {
                protocol: Protocol::FhirR4,
                address: format!("http://127.0.0.1:9/{id}"),
            }],
            client_certificates: Vec::new(),
            jwt_keys: Vec::new(),
            audit_reader: false,
            consent_recorder: false,
            break_the_glass: false,
            local_code_systems: std::collections::BTreeMap::new(),
        }
    }

    fn registry() -> Registry {
        Registry::new(vec![
            org("rijnstate", "ziekenhuis", None, &["HIS/RIJNSTATE"]),
            org("linde", "huisarts", Some("01000001"), &[]),
            org("vvt", "vvt", None, &[]),
        ])
        .unwrap()
    }

    #[test]
    fn rules_pick_receivers_once_and_never_the_sender() {
        let registry = registry();
        let routes = Routes::new(
            vec![
                Route {
                    events: vec!["ADT^A03".into()],
                    to: vec!["vvt".into(), "rijnstate".into()],
                    ..Route::default()
                },
                Route {
                    events: vec!["ADT".into()],
                    from: vec!["rijnstate".into()],
                    to_gp: true,
                    ..Route::default()
                },
                Route {
                    to: vec!["vvt".into()],
                    ..Route::default()
                },
            ],
            &registry,
        )
        .unwrap();
        let facts = |event: &str| Facts {
            sender: "HIS/RIJNSTATE".into(),
            event: event.into(),
            general_practitioner_agb: vec!["01000001".into(), "99999999".into()],
        };
        let receivers = |event| {
            routes
                .deliveries(&facts(event), &registry)
                .into_iter()
                .map(|d| d.receiver)
                .collect::<Vec<_>>()
        };
        assert_eq!(receivers("ADT^A03"), ["vvt", "linde"]);
        assert_eq!(receivers("ADT^A01"), ["linde", "vvt"]);
        assert_eq!(receivers("ORU^R01"), ["vvt"]);
    }

    #[test]
    fn the_endpoint_says_which_form_the_receiver_takes() {
        let with = |protocols: &[Protocol]| {
            let mut vvt = org("vvt", "vvt", None, &[]);
            vvt.endpoints = protocols
                .iter()
                .map(|&protocol| Endpoint {
                    protocol,
                    address: if protocol == Protocol::Mllp {
                        "127.0.0.1:2575"
                    } else {
                        "http://vvt/fhir"
                    }
                    .into(),
                })
                .collect();
            let registry = Registry::new(vec![vvt]).unwrap();
            let to_vvt = Route {
                to: vec!["vvt".into()],
                ..Route::default()
            };
            let routes = Routes::new(vec![to_vvt], &registry).unwrap();
            let facts = Facts {
                sender: "HIS".into(),
                event: "ADT^A01".into(),
                general_practitioner_agb: Vec::new(),
            };
            routes.deliveries(&facts, &registry)[0].endpoint.clone()
        };
        assert_eq!(
            with(&[Protocol::Mllp, Protocol::FhirStu3, Protocol::FhirR4]),
            "http://vvt/fhir"
        );
        assert_eq!(with(&[Protocol::Mllp, Protocol::FhirStu3]), "fhir-stu3+http://vvt/fhir");
        assert_eq!(with(&[Protocol::Mllp]), "mllp://127.0.0.1:2575");
    }

    #[test]
    fn rules_that_hand_over_push_nothing() {
        let registry = registry();
        let routes = Routes::new(
            vec![
                Route {
                    to: vec!["vvt".into()],
                    handover: true,
                    ..Route::default()
                },
                Route {
                    events: vec!["ADT".into()],
                    to: vec!["linde".into()],
                    ..Route::default()
                },
            ],
            &registry,
        )
        .unwrap();
        let facts = |event: &str| Facts {
            sender: "HIS/RIJNSTATE".into(),
            event: event.into(),
            general_practitioner_agb: Vec::new(),
        };
        let pushed = |facts: &Facts| {
            routes
                .deliveries(facts, &registry)
                .into_iter()
                .map(|d| d.receiver)
                .collect::<Vec<_>>()
        };
        assert_eq!(routes.handovers(&facts("CDA^34133-9"), &registry), ["vvt"]);
        assert!(pushed(&facts("CDA^34133-9")).is_empty());
        assert_eq!(routes.handovers(&facts("ADT^A03"), &registry), ["vvt"]);
        assert_eq!(pushed(&facts("ADT^A03")), ["linde"]);
    }

    #[test]
    fn unknown_organisations_are_refused() {
        let err = Routes::new(
            vec![Route {
                to: vec!["nope".into()],
                ..Route::default()
            }],
            &registry(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "route 1: unknown organization \"nope\" in `to`");
    }
}
