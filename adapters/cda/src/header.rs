//! The CDA header: the document's identity (origin, Bundle identifier and
//! timestamp), the Composition, the patient (`recordTarget`), authors,
//! custodian, attesters, the encompassing encounter and the service event.

use roxmltree::{Document, Node};
use zorgpoort_model::datatypes::{concept, meta};
use zorgpoort_model::systems::{hl7, naming_system_of_oid, profile};
use zorgpoort_model::{EntryRef, Object, Origin, Value};

use crate::context::Ctx;
use crate::datatypes::{address, codes_of, contact_point, human_name, root_uri};
use crate::error::{Error, ErrorKind};
use crate::xml::{self, at, attr, child, children};

/// Who sent the document, which document it is and of what type.
pub fn origin(doc: &Document<'_>, root: Node<'_, '_>) -> Result<Origin, Error> {
    let Some(id) = child(root, "id") else {
        return Err(Error::at(
            xml::location(doc, root),
            ErrorKind::Missing("ClinicalDocument/id"),
        ));
    };
    let Some(id_root) = attr(id, "root") else {
        return Err(Error::at(xml::location(doc, id), ErrorKind::Missing("id/@root")));
    };
    // The document's id is the document Bundle's identifier, which must
    // have a system (bdl-9): a root that names none leaves the document
    // without an identity, as a missing one would.
    if root_uri(id_root).is_none() {
        return Err(Error::at(
            xml::location(doc, id),
            ErrorKind::Invalid {
                element: "id/@root".to_owned(),
                reason: "not an OID or UUID".to_owned(),
            },
        ));
    }
    let message_id = match attr(id, "extension") {
        Some(extension) => format!("{id_root}^{extension}"),
        None => id_root.to_owned(),
    };
    let code = child(root, "code").and_then(|c| attr(c, "code"));
    let Some(code) = code else {
        let at_node = child(root, "code").unwrap_or(root);
        return Err(Error::at(
            xml::location(doc, at_node),
            ErrorKind::Missing("ClinicalDocument/code/@code"),
        ));
    };
    let custodian = at(
        root,
        &["custodian", "assignedCustodian", "representedCustodianOrganization"],
    );
    let sender = custodian
        .and_then(|org| {
            children(org, "id").find_map(|id| {
                let root = attr(id, "root")?;
                match (naming_system_of_oid(root), attr(id, "extension")) {
                    (Some(_), Some(extension)) => Some(extension.to_owned()),
                    _ => Some(root.to_owned()),
                }
            })
        })
        // Without a custodian the document's own id root is the best
        // stable name of where it came from.
        .unwrap_or_else(|| id_root.to_owned());
    Ok(Origin {
        sender,
        message_id,
        event: format!("CDA^{code}"),
    })
}

const HEADER_HANDLED: &[&str] = &[
    "id",
    "code",
    "title",
    "effectiveTime",
    "confidentialityCode",
    "languageCode",
    "setId",
    "versionNumber",
    "recordTarget",
    "author",
    "custodian",
    "legalAuthenticator",
    "authenticator",
    "documentationOf",
    "componentOf",
    "component",
    "relatedDocument",
    "participant",
];

/// Maps the document; returns the Bundle's identifier and timestamp.
pub fn map(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> Result<(Object<'static>, String), Error> {
    // bdl-11: the Composition is the first entry; it is filled in last.
    let composition = ctx.bundle.add("Composition", "ClinicalDocument", Object::new());
    let id = child(root, "id").ok_or_else(|| ctx.error(root, ErrorKind::Missing("ClinicalDocument/id")))?;
    let identifier = bundle_identifier(id);
    let Some(effective) = child(root, "effectiveTime") else {
        return Err(ctx.error(root, ErrorKind::Missing("ClinicalDocument/effectiveTime")));
    };
    let Some(time) = ctx.ts_value(effective)? else {
        return Err(ctx.error(effective, ErrorKind::Missing("effectiveTime/@value")));
    };
    let timestamp = time.to_fhir_instant(ctx.zone);
    let date = time.to_fhir_datetime(ctx.zone);

    let mut targets = children(root, "recordTarget");
    let Some(target) = targets.next() else {
        return Err(ctx.error(root, ErrorKind::Missing("recordTarget")));
    };
    let Some(role) = child(target, "patientRole") else {
        return Err(ctx.error(target, ErrorKind::Missing("recordTarget/patientRole")));
    };
    // Entries carry no subject of their own: with two patients, each fact
    // would be written about the first one.
    if let Some(second) = targets.next() {
        return Err(ctx.error(second, ErrorKind::SecondRecordTarget));
    }
    patient(ctx, role)?;

    let mut authors = Vec::new();
    for author in children(root, "author") {
        if let Some(reference) = author_reference(ctx, author)? {
            authors.push(reference);
        }
    }
    let custodian = at(
        root,
        &["custodian", "assignedCustodian", "representedCustodianOrganization"],
    );
    let custodian = match custodian {
        Some(org) => organization(ctx, org)?,
        None => None,
    };
    if authors.is_empty() {
        // Composition.author is required; the custodian answers for the document.
        if let Some(org) = &custodian {
            ctx.warn(root, "no usable author: the custodian is given as Composition.author");
            authors.push(org.clone());
        } else {
            ctx.warn(
                root,
                "no author and no custodian: Composition.author is marked as unknown",
            );
            authors.push(crate::datatypes::absent(None));
        }
    }

    participants(ctx, root)?;
    let attesters = attesters(ctx, root)?;
    let events = events(ctx, root)?;

    let encounter = match at(root, &["componentOf", "encompassingEncounter"]) {
        Some(e) => Some(crate::entries::encounter(ctx, e, "componentOf")?),
        None => None,
    };

    let doc_type = ctx.required_concept(child(root, "code"));
    let title = title(ctx, root);
    let confidentiality = child(root, "confidentialityCode")
        .and_then(|c| attr(c, "code"))
        .and_then(|c| ["U", "L", "M", "N", "R", "V"].into_iter().find(|k| *k == c));
    let set_id = child(root, "setId")
        .and_then(|s| ctx.identifier(s).ok().flatten())
        .map(|(i, _)| i);
    let language = child(root, "languageCode")
        .and_then(|l| attr(l, "code"))
        .filter(|c| is_language(c));
    let version = version_extension(root);
    let related = related_documents(ctx, root);

    let subject = ctx.subject();
    let encounter_ref = encounter.map(|e| ctx.bundle.reference(e));
    ctx.lenient_dates = true;
    let sections = crate::entries::sections(ctx, root)?;
    ctx.lenient_dates = false;
    link_diagnoses(ctx, encounter, root);

    let body = Object::new()
        .with("extension", version)
        .with("language", language.map(str::to_owned))
        .with("identifier", set_id)
        .with("status", "final")
        .with("type", doc_type)
        .with("subject", subject)
        .with("encounter", encounter_ref)
        .with("date", date)
        .with("author", authors)
        .with("title", title)
        .with("confidentiality", confidentiality)
        .with("attester", attesters)
        .with("custodian", custodian)
        .with("relatesTo", related)
        .with("event", events)
        .with("section", sections);
    *ctx.bundle.resource_mut(composition) = body;
    ctx.warn_unmapped(root, HEADER_HANDLED);
    ctx.finish_warnings(root);
    Ok((identifier, timestamp))
}

/// `Encounter.diagnosis` of the document's encounter: the admission,
/// discharge and procedure diagnoses of the body, each with its role.
/// Without an encounter the diagnoses stand on their own, and a warning
/// says their role has no place.
fn link_diagnoses(ctx: &mut Ctx<'_, '_>, encounter: Option<EntryRef>, root: Node<'_, '_>) {
    let diagnoses = std::mem::take(&mut ctx.diagnoses);
    if diagnoses.is_empty() {
        return;
    }
    let Some(encounter) = encounter else {
        ctx.warn(
            root,
            "diagnoses of an encounter, but no componentOf/encompassingEncounter: their role (admission, discharge) is not recorded",
        );
        return;
    };
    let linked: Vec<Object<'static>> = diagnoses
        .iter()
        .map(|&(condition, role)| {
            Object::new().with("condition", ctx.bundle.reference(condition)).with(
                "use",
                concept("http://terminology.hl7.org/CodeSystem/diagnosis-role", role),
            )
        })
        .collect();
    ctx.bundle.resource_mut(encounter).set("diagnosis", linked);
}

/// Header `participant`s that name a person (next of kin, emergency
/// contact) as `RelatedPerson`s.
fn participants(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> Result<(), Error> {
    for (n, participant) in children(root, "participant").enumerate() {
        match child(participant, "associatedEntity") {
            Some(entity) if child(entity, "associatedPerson").is_some() => {
                contact_person(ctx, entity, "associatedPerson", &format!("participant/{}", n + 1))?;
            }
            _ => ctx.warn(participant, "participant without an associated person not mapped"),
        }
    }
    Ok(())
}

/// `legalAuthenticator` and `authenticator` as Composition.attester.
fn attesters(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> Result<Vec<Object<'static>>, Error> {
    let mut attesters = Vec::new();
    for (node, mode) in children(root, "legalAuthenticator")
        .map(|n| (n, "legal"))
        .chain(children(root, "authenticator").map(|n| (n, "professional")))
    {
        let time = ctx.datetime(child(node, "time"))?;
        let party = match child(node, "assignedEntity") {
            Some(entity) => practitioner_role(ctx, entity)?,
            None => None,
        };
        attesters.push(Object::new().with("mode", mode).with("time", time).with("party", party));
    }
    Ok(attesters)
}

/// `documentationOf/serviceEvent` as Composition.event.
fn events(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> Result<Vec<Object<'static>>, Error> {
    let mut events = Vec::new();
    for service in children(root, "documentationOf").filter_map(|d| child(d, "serviceEvent")) {
        let period = ctx.period(child(service, "effectiveTime"))?;
        let code = ctx.concept(child(service, "code"));
        let event = Object::new()
            .with("code", code.map(|c| vec![c]))
            .with("period", period.to_object());
        if event.is_empty() {
            ctx.warn(service, "service event without code or time not mapped");
        } else {
            events.push(event);
        }
        if child(service, "performer").is_some() {
            ctx.warn(service, "service event performers not mapped");
        }
    }
    Ok(events)
}

/// `relatedDocument` (replaces, appends, transforms) as Composition.relatesTo.
fn related_documents(ctx: &Ctx<'_, '_>, root: Node<'_, '_>) -> Vec<Object<'static>> {
    children(root, "relatedDocument")
        .filter_map(|r| {
            let code = match r.attribute("typeCode") {
                Some("RPLC") => "replaces",
                Some("APND") => "appends",
                Some("XFRM") => "transforms",
                _ => return None,
            };
            let id = at(r, &["parentDocument", "id"]).and_then(|i| ctx.identifier(i).ok().flatten())?;
            Some(Object::new().with("code", code).with("targetIdentifier", id.0))
        })
        .collect()
}

/// Composition.title is required: the document's title, else the display
/// name of its type.
fn title(ctx: &mut Ctx<'_, '_>, root: Node<'_, '_>) -> String {
    let title = child(root, "title").and_then(xml::text);
    let title = title.or_else(|| {
        child(root, "code")
            .and_then(|c| attr(c, "displayName"))
            .map(str::to_owned)
    });
    title.unwrap_or_else(|| {
        ctx.warn(root, "document without title: \"Clinical document\" used");
        "Clinical document".to_owned()
    })
}

/// `versionNumber` as the core Composition extension.
fn version_extension(root: Node<'_, '_>) -> Option<Vec<Object<'static>>> {
    // meta.versionId belongs to the receiving server; the document's own
    // version has a core extension.
    child(root, "versionNumber").and_then(|v| attr(v, "value")).map(|v| {
        vec![
            Object::new()
                .with(
                    "url",
                    "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber",
                )
                .with("valueString", v.to_owned()),
        ]
    })
}

/// BCP 47 language tags as `languageCode` carries them (`nl-NL`, `en-US`).
fn is_language(code: &str) -> bool {
    code.len() <= 16
        && code
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Bundle.identifier: `urn:ietf:rfc:3986|urn:oid:root`, or `urn:oid:root|extension`.
/// The root is an OID or UUID: [`origin`] refuses a document whose id has
/// another root.
fn bundle_identifier(id: Node<'_, '_>) -> Object<'static> {
    let root = attr(id, "root").unwrap_or_default();
    match attr(id, "extension") {
        Some(extension) => Object::new()
            .with("system", root_uri(root))
            .with("value", extension.to_owned()),
        None => Object::new()
            .with("system", zorgpoort_model::systems::URI)
            .with("value", root_uri(root)),
    }
}

/// The codes of the zib's marital status value set
/// (`BurgerlijkeStaatCodelijst`, 2.16.840.1.113883.2.4.3.11.60.40.2.7.9.1),
/// all of v3 `MaritalStatus`; nl-core binds `Patient.maritalStatus` to it as
/// required.
const MARITAL_STATUS_CODES: [&str; 6] = ["D", "M", "S", "T", "U", "W"];

/// `Patient.maritalStatus` from `maritalStatusCode`. The binding is
/// required, so a code outside the zib value set (another v3 code, or `M`
/// of another code system) is left out with a warning; its display name,
/// or the original text, is kept as the concept's text, which the binding
/// allows.
fn marital_status(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>) -> Option<Object<'static>> {
    let concept = ctx.concept(Some(node))?;
    let coded = codes_of(&concept).next().is_some();
    let in_set = codes_of(&concept)
        .any(|(system, code)| system == hl7::V3_MARITAL_STATUS && MARITAL_STATUS_CODES.contains(&code));
    if !coded || in_set {
        return Some(concept);
    }
    let text = match concept.get("text") {
        Some(Value::Str(text)) => Some(text.clone().into_owned()),
        _ => attr(node, "displayName").map(str::to_owned),
    };
    ctx.warn(
        node,
        "maritalStatusCode is not in the zib value set (v3 MaritalStatus D, M, S, T, U, W): the code is left out, its text kept",
    );
    let concept = Object::new().with("text", text);
    (!concept.is_empty()).then_some(concept)
}

fn patient(ctx: &mut Ctx<'_, '_>, role: Node<'_, '_>) -> Result<(), Error> {
    let (identifiers, _) = ctx.identifiers(role)?;
    let person = child(role, "patient");
    let mut names = Vec::new();
    let mut gender = None;
    let mut birth = None;
    let mut marital = None;
    let mut communication = Vec::new();
    let mut deceased = None;
    if let Some(person) = person {
        deceased = deceased_of(ctx, person)?;
        names.extend(children(person, "name").filter_map(human_name));
        gender = gender_of(ctx, person);
        if let Some(node) = child(person, "birthTime") {
            birth = ctx.ts_value(node)?;
        }
        marital = child(person, "maritalStatusCode").and_then(|node| marital_status(ctx, node));
        for language in children(person, "languageCommunication") {
            let Some(code) = child(language, "languageCode").and_then(|c| attr(c, "code")) else {
                continue;
            };
            let preferred = match child(language, "preferenceInd").and_then(|p| attr(p, "value")) {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            communication.push(
                Object::new()
                    .with("language", concept("urn:ietf:bcp:47", code.to_owned()))
                    .with("preferred", preferred),
            );
        }
        ctx.warn_unmapped(
            person,
            &[
                "name",
                "administrativeGenderCode",
                "birthTime",
                "maritalStatusCode",
                "languageCommunication",
                "deceasedInd",
                "deceasedTime",
                "guardian",
            ],
        );
    }
    let birth_time = birth.filter(|b| b.time.is_some()).map(|b| b.to_fhir_datetime(ctx.zone));
    let managing = match child(role, "providerOrganization") {
        Some(org) => organization(ctx, org)?,
        None => None,
    };
    let patient = Object::new()
        .with("meta", meta(profile::PATIENT))
        .with("identifier", identifiers)
        .with("name", names)
        .with(
            "telecom",
            children(role, "telecom").filter_map(contact_point).collect::<Vec<_>>(),
        )
        .with("gender", gender)
        .with("birthDate", birth.map(|b| b.to_fhir_date()))
        .with("_birthDate", birth_time.map(zorgpoort_model::datatypes::birth_time))
        .with(
            "address",
            children(role, "addr").filter_map(address).collect::<Vec<_>>(),
        )
        .with("maritalStatus", marital)
        .with("communication", communication)
        .with("managingOrganization", managing);
    ctx.warn_unmapped(role, &["id", "addr", "telecom", "patient", "providerOrganization"]);
    let mut patient = patient;
    if let Some((key, value)) = deceased {
        patient.insert_after("_birthDate", key, value);
    }
    ctx.patient = Some(ctx.bundle.add("Patient", "recordTarget", patient));
    if let Some(person) = person {
        for (n, guardian) in children(person, "guardian").enumerate() {
            contact_person(ctx, guardian, "guardianPerson", &format!("guardian/{}", n + 1))?;
        }
    }
    Ok(())
}

/// `administrativeGenderCode` as FHIR gender.
fn gender_of(ctx: &mut Ctx<'_, '_>, person: Node<'_, '_>) -> Option<&'static str> {
    let code = child(person, "administrativeGenderCode")?;
    match attr(code, "code") {
        Some("M") => Some("male"),
        Some("F" | "V") => Some("female"),
        Some("UN") => Some("other"),
        Some("UNK") => Some("unknown"),
        Some(_) => {
            ctx.warn(code, "unknown administrative gender code; gender left out");
            None
        }
        None => None,
    }
}

/// `sdtc:deceasedTime` or `sdtc:deceasedInd` as `deceased[x]`.
fn deceased_of(ctx: &Ctx<'_, '_>, person: Node<'_, '_>) -> Result<Option<(&'static str, Value<'static>)>, Error> {
    let sdtc = |name: &str| {
        person
            .children()
            .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some("urn:hl7-org:sdtc"))
    };
    if let Some(time) = ctx.datetime(sdtc("deceasedTime"))? {
        return Ok(Some(("deceasedDateTime", Value::from(time))));
    }
    Ok(match sdtc("deceasedInd").and_then(|d| attr(d, "value")) {
        Some("true") => Some(("deceasedBoolean", Value::Bool(true))),
        Some("false") => Some(("deceasedBoolean", Value::Bool(false))),
        _ => None,
    })
}

/// A `RelatedPerson` (nl-core `ContactPerson`) from a `guardian` or an
/// `associatedEntity`: the person named in its `person_element`.
fn contact_person(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, person_element: &str, key: &str) -> Result<(), Error> {
    let Some(patient) = ctx.subject() else {
        return Ok(());
    };
    let (identifiers, _) = ctx.identifiers(node)?;
    let names: Vec<Object<'static>> = child(node, person_element)
        .map(|p| children(p, "name").filter_map(human_name).collect())
        .unwrap_or_default();
    let relationship = ctx.concept(child(node, "code"));
    let person = Object::new()
        .with("meta", meta(profile::CONTACT_PERSON))
        .with("identifier", identifiers)
        .with("patient", patient)
        .with("relationship", relationship.map(|r| vec![r]))
        .with("name", names)
        .with(
            "telecom",
            children(node, "telecom").filter_map(contact_point).collect::<Vec<_>>(),
        )
        .with(
            "address",
            children(node, "addr").filter_map(address).collect::<Vec<_>>(),
        );
    ctx.warn_unmapped(node, &["id", "code", "addr", "telecom", person_element]);
    ctx.bundle.add("RelatedPerson", key, person);
    Ok(())
}

/// An Organization (nl-core `HealthcareProvider`) from any v3 organization
/// element, made once per identifier; its reference.
pub fn organization(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>) -> Result<Option<Object<'static>>, Error> {
    let (identifiers, key) = ctx.identifiers(node)?;
    let name = children(node, "name").find_map(xml::text);
    if identifiers.is_empty() && name.is_none() {
        return Ok(None);
    }
    let key = format!("Organization|{}", key.unwrap_or_else(|| xml::path(node)));
    if let Some(existing) = ctx.shared(&key) {
        return Ok(Some(ctx.bundle.reference(existing).with("display", name)));
    }
    let resource = Object::new()
        .with("meta", meta(profile::ORGANIZATION))
        .with("identifier", identifiers)
        .with("name", name.clone())
        .with(
            "telecom",
            children(node, "telecom").filter_map(contact_point).collect::<Vec<_>>(),
        )
        .with(
            "address",
            children(node, "addr").filter_map(address).collect::<Vec<_>>(),
        );
    ctx.warn_unmapped(node, &["id", "name", "telecom", "addr", "standardIndustryClassCode"]);
    let entry = ctx.bundle.add("Organization", &key, resource);
    ctx.remember(key, entry);
    Ok(Some(ctx.bundle.reference(entry).with("display", name)))
}

/// The reference for an `author`: a PractitionerRole for a person, a Device
/// for software, the organisation otherwise.
fn author_reference(ctx: &mut Ctx<'_, '_>, author: Node<'_, '_>) -> Result<Option<Object<'static>>, Error> {
    let Some(assigned) = child(author, "assignedAuthor") else {
        ctx.warn(author, "author without assignedAuthor not mapped");
        return Ok(None);
    };
    if child(assigned, "assignedPerson").is_some() || child(assigned, "assignedAuthoringDevice").is_none() {
        if let Some(role) = practitioner_role(ctx, assigned)? {
            return Ok(Some(role));
        }
    }
    if let Some(device) = child(assigned, "assignedAuthoringDevice") {
        let names: Vec<Object<'static>> = [("manufacturerModelName", "model-name"), ("softwareName", "other")]
            .into_iter()
            .filter_map(|(element, kind)| {
                let name = child(device, element).and_then(xml::text)?;
                Some(Object::new().with("name", name).with("type", kind))
            })
            .collect();
        let (identifiers, key) = ctx.identifiers(assigned)?;
        let key = format!("Device|{}", key.unwrap_or_else(|| xml::path(device)));
        if let Some(existing) = ctx.shared(&key) {
            return Ok(Some(ctx.bundle.reference(existing)));
        }
        let entry = ctx.bundle.add(
            "Device",
            &key,
            Object::new().with("identifier", identifiers).with("deviceName", names),
        );
        ctx.remember(key, entry);
        return Ok(Some(ctx.bundle.reference(entry)));
    }
    match child(assigned, "representedOrganization") {
        Some(org) => organization(ctx, org),
        None => Ok(None),
    }
}

/// A Practitioner and the PractitionerRole that ties them to their
/// organisation (as nl-core wants authors and attesters), from an
/// `assignedEntity` or `assignedAuthor`; the role's reference.
pub fn practitioner_role(ctx: &mut Ctx<'_, '_>, assigned: Node<'_, '_>) -> Result<Option<Object<'static>>, Error> {
    let person = child(assigned, "assignedPerson");
    let (identifiers, key) = ctx.identifiers(assigned)?;
    let names: Vec<Object<'static>> = person
        .map(|p| children(p, "name").filter_map(human_name).collect())
        .unwrap_or_default();
    let org = match child(assigned, "representedOrganization") {
        Some(org) => organization(ctx, org)?,
        None => None,
    };
    if identifiers.is_empty() && names.is_empty() {
        return Ok(org);
    }
    let display = names.first().and_then(display_name);
    let key = format!(
        "PractitionerRole|{}|{}",
        key.unwrap_or_else(|| xml::path(assigned)),
        org.as_ref()
            .and_then(|o| o.get("reference"))
            .map(|r| format!("{r:?}"))
            .unwrap_or_default()
    );
    if let Some(existing) = ctx.shared(&key) {
        return Ok(Some(ctx.bundle.reference(existing).with("display", display)));
    }
    let practitioner = Object::new()
        .with("meta", meta(profile::PRACTITIONER))
        .with("identifier", identifiers)
        .with("name", names)
        .with(
            "telecom",
            children(assigned, "telecom")
                .filter_map(contact_point)
                .collect::<Vec<_>>(),
        )
        .with(
            "address",
            children(assigned, "addr").filter_map(address).collect::<Vec<_>>(),
        );
    let practitioner = ctx.bundle.add("Practitioner", &key, practitioner);
    let specialty = ctx.concept(child(assigned, "code"));
    let role = Object::new()
        .with("meta", meta(profile::PRACTITIONER_ROLE))
        .with(
            "practitioner",
            ctx.bundle.reference(practitioner).with("display", display.clone()),
        )
        .with("organization", org)
        .with("specialty", specialty.map(|s| vec![s]));
    let role = ctx.bundle.add("PractitionerRole", &key, role);
    ctx.remember(key, role);
    ctx.warn_unmapped(
        assigned,
        &[
            "id",
            "code",
            "addr",
            "telecom",
            "assignedPerson",
            "representedOrganization",
            "assignedAuthoringDevice",
        ],
    );
    Ok(Some(ctx.bundle.reference(role).with("display", display)))
}

/// "Given Family" for a reference's display.
fn display_name(name: &Object<'static>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(Value::Arr(given)) = name.get("given") {
        parts.extend(given.iter().filter_map(|g| match g {
            Value::Str(s) => Some(s.to_string()),
            _ => None,
        }));
    }
    if let Some(Value::Str(family)) = name.get("family").or_else(|| name.get("text")) {
        parts.push(family.to_string());
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}
