//! The Payers Section (C-CDA 2.16.840.1.113883.10.20.22.2.18): each Policy
//! Activity (…4.61) of a Coverage Activity (…4.60) as an
//! nl-core-Payer.InsuranceCompany `Coverage`, its payer as an
//! nl-core-Payer-Organization.

use roxmltree::Node;
use zorgpoort_model::datatypes::{concept, meta};
use zorgpoort_model::systems::profile;
use zorgpoort_model::{EntryRef, Object};

use crate::context::Ctx;
use crate::datatypes::{absent, address, contact_point};
use crate::entries::{attr_code, related};
use crate::error::Error;
use crate::xml::{self, attr, child, children};

/// The Vektis insurance types (COD622-VEKT) the zib allows as `Coverage.type`.
const VEKTIS_INSURANCE_TYPES: &[&str] = &["A", "AT", "B", "BZ", "H", "T"];
/// The OID of the Vektis insurance type list.
const VEKTIS_OID: &str = "2.16.840.1.113883.2.4.3.11.60.101.5.1";

/// A Coverage Activity: each Policy Activity in it; a policy act given
/// directly is one coverage.
pub fn entry(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    let policies: Vec<Node<'_, '_>> = related(act, "act").collect();
    if policies.is_empty() {
        return Ok(vec![policy(ctx, act, key)?]);
    }
    let mut made = Vec::new();
    for (n, policy_act) in policies.into_iter().enumerate() {
        made.push(policy(ctx, policy_act, &format!("{key}.{}", n + 1))?);
    }
    crate::entries::warn_other_than(ctx, act, "entryRelationship", "act");
    ctx.warn_unmapped(act, &["id", "code", "statusCode", "effectiveTime", "entryRelationship"]);
    Ok(made)
}

/// A Policy Activity as a `Coverage`.
fn policy(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(act)?;
    let status = match attr_code(child(act, "statusCode")) {
        Some("nullified") => "entered-in-error",
        Some("aborted" | "cancelled") => "cancelled",
        _ => "active",
    };
    let covered = children(act, "participant")
        .filter(|p| p.attribute("typeCode") == Some("COV"))
        .find_map(|p| child(p, "participantRole").map(|r| (p, r)));
    let subscriber = covered
        .and_then(|(_, role)| children(role, "id").find_map(|id| attr(id, "extension")))
        .map(str::to_owned);
    let period = match covered {
        Some((participant, _)) => ctx.period(child(participant, "time"))?.to_object(),
        None => Object::new(),
    };
    let relationship = match covered.and_then(|(_, role)| child(role, "code")) {
        Some(code) => relationship(ctx, code),
        None => None,
    };
    let payor = if let Some(payor) = payer(ctx, act)? {
        payor
    } else {
        ctx.warn(
            act,
            "policy without a payer performer: Coverage.payor marked as unknown",
        );
        absent(None)
    };
    let coverage = Object::new()
        .with("meta", meta(profile::COVERAGE))
        .with("identifier", identifiers)
        .with("status", status)
        .with("type", coverage_type(ctx, act))
        .with("subscriberId", subscriber)
        .with("beneficiary", ctx.subject())
        .with("relationship", relationship)
        .with("period", period)
        .with("payor", vec![payor]);
    for other in children(act, "participant").filter(|p| p.attribute("typeCode") != Some("COV")) {
        ctx.warn(other, "policy participant other than the covered party not mapped");
    }
    for other in children(act, "performer").filter(|p| !is_payer(*p)) {
        ctx.warn(other, "policy performer other than the payer not mapped");
    }
    ctx.warn_unmapped(act, &["id", "code", "statusCode", "performer", "participant", "text"]);
    Ok(ctx.bundle.add("Coverage", key, coverage))
}

/// `Coverage.relationship` from the covered party's role (HL7 RoleCode):
/// the patient's relation to the subscriber. A role outside the FHIR list's
/// kinds is reported.
fn relationship(ctx: &mut Ctx<'_, '_>, code: Node<'_, '_>) -> Option<Object<'static>> {
    let kind = match attr(code, "code")? {
        "SELF" => "self",
        "SPS" | "HUSB" | "WIFE" => "spouse",
        "DOMPART" => "common",
        "CHILD" | "SON" | "DAU" | "CHLDADOPT" | "CHLDFOST" | "STPCHLD" => "child",
        "PRN" | "FTH" | "MTH" => "parent",
        other => {
            ctx.warn(code, format!("covered party's relationship {other:?} not mapped"));
            return None;
        }
    };
    Some(concept(
        "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
        kind,
    ))
}

/// The type of insurance, when it is a Vektis type as the zib requires;
/// any other is reported.
fn coverage_type(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>) -> Option<Object<'static>> {
    let code = child(act, "code")?;
    let vektis = std::iter::once(code).chain(children(code, "translation")).any(|c| {
        attr(c, "codeSystem") == Some(VEKTIS_OID)
            && attr(c, "code").is_some_and(|v| VEKTIS_INSURANCE_TYPES.contains(&v))
    });
    if vektis {
        return ctx.concept(Some(code));
    }
    ctx.warn(
        code,
        "insurance type is not a Vektis type, which nl-core-Payer.InsuranceCompany requires; not mapped",
    );
    None
}

/// The Payer Performer (…4.87): a `performer` with that template or with
/// the code PAYOR.
fn is_payer(performer: Node<'_, '_>) -> bool {
    xml::at(performer, &["assignedEntity", "code"]).and_then(|c| attr(c, "code")) == Some("PAYOR")
        || xml::has_template(performer, "2.16.840.1.113883.10.20.22.4.87")
}

/// The payer as an nl-core-Payer-Organization, referenced.
fn payer(ctx: &mut Ctx<'_, '_>, act: Node<'_, '_>) -> Result<Option<Object<'static>>, Error> {
    let Some(entity) = children(act, "performer")
        .find(|p| is_payer(*p))
        .and_then(|p| child(p, "assignedEntity"))
    else {
        return Ok(None);
    };
    let organization = child(entity, "representedOrganization");
    let (identifiers, key) = ctx.identifiers(entity)?;
    let name = organization.and_then(|o| children(o, "name").find_map(xml::text));
    if identifiers.is_empty() && name.is_none() {
        return Ok(None);
    }
    let key = format!("Payer|{}", key.unwrap_or_else(|| xml::path(entity)));
    if let Some(existing) = ctx.shared(&key) {
        return Ok(Some(ctx.bundle.reference(existing).with("display", name)));
    }
    let telecom: Vec<Object<'static>> = organization
        .into_iter()
        .chain(std::iter::once(entity))
        .flat_map(|n| children(n, "telecom"))
        .filter_map(contact_point)
        .collect();
    let addresses: Vec<Object<'static>> = organization
        .into_iter()
        .chain(std::iter::once(entity))
        .flat_map(|n| children(n, "addr"))
        .filter_map(address)
        .collect();
    let resource = Object::new()
        .with("meta", meta(profile::PAYER_ORGANIZATION))
        .with("identifier", identifiers)
        .with("name", name.clone())
        .with("telecom", telecom)
        .with("address", addresses);
    let entry = ctx.bundle.add("Organization", &key, resource);
    ctx.remember(key, entry);
    Ok(Some(ctx.bundle.reference(entry).with("display", name)))
}
