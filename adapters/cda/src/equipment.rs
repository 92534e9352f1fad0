//! The Medical Equipment Section (C-CDA 2.16.840.1.113883.10.20.22.2.23):
//! each Non-Medicinal Supply Activity (…4.50) naming a device, alone or in
//! a Medical Equipment Organizer (…4.135), as an nl-core-MedicalDevice
//! `DeviceUseStatement` with its device as a `Device`
//! (nl-core-MedicalDevice.Product). A procedure in the section (an implant,
//! say) is a Procedure like any other.

use roxmltree::Node;
use zorgpoort_model::datatypes::meta;
use zorgpoort_model::systems;
use zorgpoort_model::{EntryRef, Object};

use crate::context::Ctx;
use crate::datatypes::codes_of;
use crate::entries::{attr_code, procedure, set_time};
use crate::error::Error;
use crate::xml::{child, children};

const DEVICE_USE: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-MedicalDevice";
const PRODUCT: &str = "http://nictiz.nl/fhir/StructureDefinition/nl-core-MedicalDevice.Product";

/// An entry of the section: a supply, a procedure, or an organizer of those.
pub fn entry(ctx: &mut Ctx<'_, '_>, statement: Node<'_, '_>, key: &str) -> Result<Vec<EntryRef>, Error> {
    match statement.tag_name().name() {
        "supply" => Ok(supply(ctx, statement, key)?.into_iter().collect()),
        "procedure" => Ok(vec![procedure(ctx, statement, key)?]),
        "organizer" => {
            let mut made = Vec::new();
            for (n, component) in children(statement, "component").enumerate() {
                let inner = component
                    .children()
                    .find(|c| matches!(c.tag_name().name(), "supply" | "procedure") && c.is_element());
                match inner {
                    Some(inner) => made.extend(entry(ctx, inner, &format!("{key}.{}", n + 1))?),
                    None => ctx.warn(component, "neither a supply nor a procedure; not mapped"),
                }
            }
            ctx.warn_unmapped(statement, &["id", "code", "statusCode", "effectiveTime", "component"]);
            Ok(made)
        }
        other => {
            ctx.warn(statement, format!("{other} entry not mapped in this kind of section"));
            Ok(Vec::new())
        }
    }
}

/// A supply of a device: the `DeviceUseStatement` and its `Device`. A
/// supply that names no device has nothing to point at and is reported.
fn supply(ctx: &mut Ctx<'_, '_>, node: Node<'_, '_>, key: &str) -> Result<Option<EntryRef>, Error> {
    let role = children(node, "participant")
        .filter(|p| p.attribute("typeCode") == Some("PRD"))
        .find_map(|p| child(p, "participantRole"))
        .filter(|r| child(*r, "playingDevice").is_some());
    let Some(role) = role else {
        ctx.warn(
            node,
            "supply without a device (participant/participantRole/playingDevice) not mapped",
        );
        return Ok(None);
    };
    let device = device(ctx, role, key)?;
    for other in children(node, "participant").filter(|p| child(*p, "participantRole") != Some(role)) {
        ctx.warn(other, "supply participant other than the device not mapped");
    }
    let (identifiers, _) = ctx.identifiers(node)?;
    let period = ctx.effective_time(node)?;
    let status = if node.attribute("moodCode") == Some("INT") {
        "intended"
    } else {
        match attr_code(child(node, "statusCode")) {
            Some("nullified") => "entered-in-error",
            Some("aborted" | "cancelled") => "stopped",
            Some("held" | "suspended") => "on-hold",
            _ if period.has_end() => "completed",
            _ => "active",
        }
    };
    let mut statement = Object::new()
        .with("meta", meta(DEVICE_USE))
        .with("identifier", identifiers)
        .with("status", status)
        .with("subject", ctx.subject());
    set_time(ctx, &mut statement, node, "timing")?;
    statement.set("device", ctx.bundle.reference(device));
    ctx.warn_unmapped(node, &["id", "statusCode", "effectiveTime", "participant", "text"]);
    Ok(Some(ctx.bundle.add("DeviceUseStatement", key, statement)))
}

/// The device of a Product Instance (…4.37): its ids (a UDI among them)
/// and its kind. The zib binds the kind to SNOMED CT physical objects and
/// Dutch product lists: the profile is claimed for a SNOMED CT kind.
fn device(ctx: &mut Ctx<'_, '_>, role: Node<'_, '_>, key: &str) -> Result<EntryRef, Error> {
    let (identifiers, _) = ctx.identifiers(role)?;
    let playing = child(role, "playingDevice");
    let kind = ctx.required_concept(playing.and_then(|d| child(d, "code")));
    let snomed = codes_of(&kind).any(|(system, _)| system == systems::SNOMED);
    if !snomed {
        ctx.warn(
            role,
            "device kind not coded in SNOMED CT: Device mapped without nl-core-MedicalDevice.Product",
        );
    }
    let model = playing
        .and_then(|d| child(d, "manufacturerModelName"))
        .and_then(crate::xml::text)
        .map(|name| vec![Object::new().with("name", name).with("type", "model-name")]);
    let device = Object::new()
        .with("meta", snomed.then(|| meta(PRODUCT)))
        .with("identifier", identifiers.into_iter().take(1).collect::<Vec<_>>())
        .with("deviceName", model)
        .with("type", kind)
        .with("patient", ctx.subject());
    ctx.warn_unmapped(role, &["id", "playingDevice"]);
    if let Some(playing) = playing {
        ctx.warn_unmapped(playing, &["code", "manufacturerModelName"]);
    }
    if children(role, "id").count() > 1 {
        ctx.warn(
            role,
            "more than one device id: only the first is mapped (the zib allows one)",
        );
    }
    Ok(ctx.bundle.add("Device", &format!("{key}.device"), device))
}
