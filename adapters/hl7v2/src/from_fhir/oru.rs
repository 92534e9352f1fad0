//! Results: `DiagnosticReport` (with the `ServiceRequest` it is based on) ->
//! ORC and OBR, Observation -> OBX, notes -> NTE. Observations outside any
//! report share one ORC/OBR group.

use serde_json::Value;
use zorgpoort_model::systems;

use super::datatypes::{c, code_of, cwe, dtm, dtm_of, items, nm, put, rep, s, xcn, xon};
use super::{Ctx, FromFhirError};
use crate::write::{Er7Segment, Field, Repetition, text_field};

/// ST holds up to 199 characters in v2.5.1; longer text and text with line
/// breaks goes as TX.
const ST_MAX: usize = 199;

/// The Observation elements OBX and NTE carry (`category` is implied by
/// ORU; `identifier` only for a loose observation's OBR, checked apart).
const OBSERVATION_ELEMENTS: &[&str] = &[
    "identifier",
    "status",
    "category",
    "code",
    "subject",
    "encounter",
    "basedOn",
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveInstant",
    "issued",
    "performer",
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
    "valueSampledData",
    "valueAttachment",
    "interpretation",
    "referenceRange",
    "method",
    "note",
    "component",
];

/// The component elements an OBX carries (value types not carried are warned about by [`value`]).
const COMPONENT_ELEMENTS: &[&str] = &[
    "code",
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
    "valueSampledData",
    "valueAttachment",
];

/// One ORC/OBR group being written.
struct Group {
    /// The loose Observation whose identifier became the filler order number.
    identified: Option<usize>,
    segments: Vec<Er7Segment>,
    /// OBX-1 of the last OBX in the group.
    obx_count: usize,
}

/// An EI (entity identifier) from an Identifier.
fn ei(identifier: &Value) -> Option<Repetition> {
    let value = s(identifier, "value")?;
    let (hd, _) = super::datatypes::authority(
        s(identifier, "system"),
        identifier.get("assigner").and_then(|a| s(a, "display")),
    );
    let mut out = vec![c(value)];
    for (n, part) in hd.into_iter().enumerate() {
        put(&mut out, n + 2, c(part));
    }
    Some(out)
}

/// Placer (PLAC) and filler (FILL) order numbers among identifiers; an
/// untyped identifier counts as the filler's, as a result's usually is.
fn order_numbers(identifiers: &[Value]) -> (Option<Repetition>, Option<Repetition>) {
    let typed = |kind: &str| {
        identifiers
            .iter()
            .find(|i| code_of(i.get("type")) == Some(kind))
            .and_then(ei)
    };
    let placer = typed("PLAC");
    let filler = typed("FILL").or_else(|| identifiers.iter().find(|i| i.get("type").is_none()).and_then(ei));
    (placer, filler)
}

fn order_status(status: Option<&str>) -> &'static str {
    match status {
        Some("completed") => "CM",
        Some("active") => "IP",
        Some("revoked") => "CA",
        Some("on-hold") => "HD",
        _ => "",
    }
}

fn report_status(status: Option<&str>) -> &'static str {
    match status {
        Some("final") => "F",
        Some("corrected" | "amended" | "appended") => "C",
        Some("preliminary") => "P",
        Some("partial") => "A",
        Some("registered") => "I",
        Some("cancelled") => "X",
        _ => "",
    }
}

fn result_status(status: Option<&str>) -> &'static str {
    match status {
        Some("final") => "F",
        Some("corrected" | "amended") => "C",
        Some("preliminary") => "P",
        Some("registered") => "I",
        Some("cancelled") => "X",
        Some("entered-in-error") => "W",
        _ => "",
    }
}

/// NTE segments for the `note` list of a resource.
fn notes(json: &Value) -> Vec<Er7Segment> {
    items(json, "note")
        .iter()
        .filter_map(|note| s(note, "text"))
        .enumerate()
        .map(|(n, text)| Er7Segment::simple("NTE", &[&(n + 1).to_string(), "", text]))
        .collect()
}

/// All ORC/OBR/OBX/NTE segments.
pub(super) fn order_segments(ctx: &mut Ctx<'_>) -> Result<Vec<Er7Segment>, FromFhirError> {
    let observations = ctx.of_type("Observation");
    let mut in_report = vec![false; ctx.resources.len()];
    let mut out = Vec::new();
    let mut set_id = 0;
    for report in ctx.of_type("DiagnosticReport") {
        ctx.used[report] = true;
        let json = ctx.resources[report].json;
        let path = ctx.resources[report].path.clone();
        let request = items(json, "basedOn")
            .first()
            .and_then(|r| ctx.resolve(r))
            .filter(|&i| ctx.resources[i].kind == "ServiceRequest");
        set_id += 1;
        let mut group = order_group(ctx, set_id, Some(report), request, None)?;
        if let Some(conclusion) = s(json, "conclusion") {
            group.segments.push(Er7Segment::simple("NTE", &["1", "", conclusion]));
        }
        for (n, result) in items(json, "result").iter().enumerate() {
            match ctx.resolve(result).filter(|&i| ctx.resources[i].kind == "Observation") {
                Some(observation) if !in_report[observation] => {
                    in_report[observation] = true;
                    observation_segments(ctx, &mut group, observation)?;
                }
                Some(_) => {}
                None => ctx.warn(
                    format!("{path}.result[{n}]"),
                    "result not in the Bundle; not carried into HL7 v2",
                ),
            }
        }
        ctx.leftover(
            json,
            &path,
            &[
                "identifier",
                "basedOn",
                "status",
                "category",
                "code",
                "subject",
                "encounter",
                "effectiveDateTime",
                "effectivePeriod",
                "issued",
                "result",
                "conclusion",
            ],
        );
        out.extend(group.segments);
    }
    let loose: Vec<usize> = observations.into_iter().filter(|&o| !in_report[o]).collect();
    if let Some(&first) = loose.first() {
        let request = items(ctx.resources[first].json, "basedOn")
            .first()
            .and_then(|r| ctx.resolve(r))
            .filter(|&i| ctx.resources[i].kind == "ServiceRequest");
        set_id += 1;
        let single = (loose.len() == 1).then_some(first);
        let mut group = order_group(ctx, set_id, None, request, single)?;
        for observation in loose {
            observation_segments(ctx, &mut group, observation)?;
        }
        out.extend(group.segments);
    }
    Ok(out)
}

/// The OBX segments ADT messages allow after PV1/PV2 (observations such as
/// height, weight or vital signs); ADT has no NTE, so notes are reported.
pub(super) fn adt_observations(ctx: &mut Ctx<'_>) -> Result<Vec<Er7Segment>, FromFhirError> {
    let mut group = Group {
        identified: None,
        segments: Vec::new(),
        obx_count: 0,
    };
    for observation in ctx.of_type("Observation") {
        observation_segments(ctx, &mut group, observation)?;
        if items(ctx.resources[observation].json, "note")
            .iter()
            .any(|n| n.get("text").is_some())
        {
            let path = format!("{}.note", ctx.resources[observation].path);
            ctx.warn(
                path,
                "ADT messages have no NTE for observations; note not carried into HL7 v2",
            );
        }
    }
    group.segments.retain(|segment| segment.id != "NTE");
    Ok(group.segments)
}

/// The `ServiceRequest` elements ORC and OBR carry.
const REQUEST_ELEMENTS: &[&str] = &[
    "identifier",
    "status",
    "intent",
    "subject",
    "encounter",
    "authoredOn",
    "requester",
    "code",
    "occurrenceDateTime",
    "note",
];

/// ORC and OBR for a report, its request, or a single loose observation.
fn order_group(
    ctx: &mut Ctx<'_>,
    set_id: usize,
    report: Option<usize>,
    request: Option<usize>,
    single: Option<usize>,
) -> Result<Group, FromFhirError> {
    let report_json = report.map(|r| ctx.resources[r].json);
    let report_path = report.map(|r| ctx.resources[r].path.clone()).unwrap_or_default();
    let request_json = request.map(|r| ctx.resources[r].json);
    let single_json = single.map(|o| ctx.resources[o].json);
    let identifiers: &[Value] = [report_json, request_json, single_json]
        .into_iter()
        .flatten()
        .map(|json| items(json, "identifier"))
        .find(|ids| !ids.is_empty())
        .unwrap_or(&[]);
    let (placer, filler) = order_numbers(identifiers);
    let mut orc = Er7Segment::simple("ORC", &["RE"]);
    orc.set(2, placer.clone().into_iter().collect());
    orc.set(3, filler.clone().into_iter().collect());
    let mut obr = Er7Segment::simple("OBR", &[&set_id.to_string()]);
    obr.set(2, placer.into_iter().collect());
    obr.set(3, filler.into_iter().collect());
    let mut requester: Field = Vec::new();
    let mut request_notes = Vec::new();
    if let (Some(request), Some(json)) = (request, request_json) {
        ctx.used[request] = true;
        let path = ctx.resources[request].path.clone();
        orc.set(5, text_field(order_status(s(json, "status"))));
        orc.set(
            9,
            text_field(dtm_of(ctx, json, "authoredOn", &path)?.as_deref().unwrap_or_default()),
        );
        if let Some(who) = json.get("requester") {
            requester.extend(xcn(ctx, who, &format!("{path}.requester")));
        }
        request_notes = notes(json);
        ctx.leftover(json, &path, REQUEST_ELEMENTS);
    }
    orc.set(12, requester.clone());
    obr.set(16, requester);
    let code = [report_json, request_json, single_json]
        .into_iter()
        .flatten()
        .find_map(|json| json.get("code"));
    let code = match code {
        Some(code) => cwe(ctx, code, &format!("{report_path}.code")),
        None => Some(vec![Vec::new(), c("Observations")]),
    };
    obr.set(4, code.into_iter().collect());
    let effective = match (report_json, request_json) {
        (Some(json), _) if json.get("effectiveDateTime").is_some() => {
            dtm_of(ctx, json, "effectiveDateTime", &report_path)?
        }
        (Some(json), _) if json.get("effectivePeriod").is_some() => json
            .get("effectivePeriod")
            .map(|p| dtm_of(ctx, p, "start", &format!("{report_path}.effectivePeriod")))
            .transpose()?
            .flatten(),
        (_, Some(json)) => {
            let path = request.map(|r| ctx.resources[r].path.clone()).unwrap_or_default();
            dtm_of(ctx, json, "occurrenceDateTime", &path)?
        }
        _ => None,
    };
    obr.set(7, text_field(effective.as_deref().unwrap_or_default()));
    if let Some(json) = report_json {
        obr.set(
            22,
            text_field(
                dtm_of(ctx, json, "issued", &report_path)?
                    .as_deref()
                    .unwrap_or_default(),
            ),
        );
        let section = items(json, "category").iter().find_map(|category| {
            items(category, "coding")
                .iter()
                .find(|coding| s(coding, "system") == Some("http://terminology.hl7.org/CodeSystem/v2-0074"))
                .and_then(|coding| s(coding, "code"))
        });
        obr.set(24, text_field(section.unwrap_or_default()));
        obr.set(25, text_field(report_status(s(json, "status"))));
    }
    let mut segments = vec![orc, obr];
    segments.extend(request_notes);
    let identified = single.filter(|_| {
        report_json
            .or(request_json)
            .is_none_or(|j| items(j, "identifier").is_empty())
    });
    Ok(Group {
        identified,
        segments,
        obx_count: 0,
    })
}

/// OBX-2, one OBX-5 repetition, and the Quantity whose unit goes in OBX-6.
type Obx5<'j> = (&'static str, Repetition, Option<&'j Value>);

/// OBX-2 and OBX-5 (with the quantity whose unit goes in OBX-6) of a
/// `value[x]` holder (an Observation or one of its components).
fn value<'j>(ctx: &mut Ctx<'_>, json: &'j Value, path: &str) -> Result<Option<Obx5<'j>>, FromFhirError> {
    let number = |q: &Value| q.get("value").and_then(nm);
    if let Some(q) = json.get("valueQuantity") {
        let Some(value) = number(q) else {
            ctx.warn(format!("{path}.valueQuantity"), "quantity without a value not carried");
            return Ok(None);
        };
        return Ok(Some(match s(q, "comparator") {
            Some(comparator) => ("SN", rep(&[Some(comparator), Some(&value)]), Some(q)),
            None => ("NM", vec![c(value)], Some(q)),
        }));
    }
    if let Some(concept) = json.get("valueCodeableConcept") {
        return Ok(cwe(ctx, concept, &format!("{path}.valueCodeableConcept")).map(|r| ("CE", r, None)));
    }
    if let Some(text) = s(json, "valueString") {
        let kind = if text.contains('\n') || text.chars().count() > ST_MAX {
            "TX"
        } else {
            "ST"
        };
        return Ok(Some((kind, vec![c(text)], None)));
    }
    if let Some(Value::Bool(flag)) = json.get("valueBoolean") {
        let (code, text) = if *flag { ("Y", "Yes") } else { ("N", "No") };
        return Ok(Some(("CE", rep(&[Some(code), Some(text), Some("HL70136")]), None)));
    }
    if let Some(n) = json.get("valueInteger").and_then(nm) {
        return Ok(Some(("NM", vec![c(n)], None)));
    }
    if let Some(range) = json.get("valueRange") {
        let low = range.get("low").and_then(number);
        let high = range.get("high").and_then(number);
        let unit = range.get("low").or_else(|| range.get("high"));
        return Ok(Some((
            "SN",
            rep(&[None, low.as_deref(), Some("-"), high.as_deref()]),
            unit,
        )));
    }
    if let Some(ratio) = json.get("valueRatio") {
        let numerator = ratio.get("numerator").and_then(number);
        let denominator = ratio.get("denominator").and_then(number);
        return Ok(Some((
            "SN",
            rep(&[None, numerator.as_deref(), Some(":"), denominator.as_deref()]),
            None,
        )));
    }
    if let Some(time) = s(json, "valueTime") {
        return Ok(Some(("TM", vec![c(time.replace(':', ""))], None)));
    }
    if let Some(at) = s(json, "valueDateTime") {
        let written = dtm(ctx, at, &format!("{path}.valueDateTime"))?;
        let kind = if at.contains('T') { "TS" } else { "DT" };
        return Ok(Some((kind, vec![c(written)], None)));
    }
    for other in ["valuePeriod", "valueSampledData", "valueAttachment"] {
        if json.get(other).is_some() {
            ctx.warn(format!("{path}.{other}"), "value type not carried into HL7 v2");
        }
    }
    Ok(None)
}

/// OBX-6 from a Quantity: UCUM code with its text, or the unit as written.
fn units(quantity: &Value) -> Option<Repetition> {
    let unit = s(quantity, "unit");
    let code = s(quantity, "code");
    match s(quantity, "system") {
        Some(systems::UCUM) => {
            let code = code.or(unit)?;
            Some(rep(&[Some(code), Some(unit.unwrap_or(code)), Some("UCUM")]))
        }
        Some(system) if code.is_some() => {
            let name = super::datatypes::coding_system_name(system);
            Some(rep(&[code, unit, Some(&name)]))
        }
        _ => unit.or(code).map(|u| vec![c(u)]),
    }
}

/// OBX-7 from the first reference range: `low-high`, `<high`, `>low` or text.
fn range_text(range: &Value) -> Option<String> {
    let bound = |key: &str| range.get(key).and_then(|q| q.get("value")).and_then(nm);
    match (bound("low"), bound("high")) {
        (Some(low), Some(high)) => Some(format!("{low}-{high}")),
        (None, Some(high)) => Some(format!("<{high}")),
        (Some(low), None) => Some(format!(">{low}")),
        (None, None) => s(range, "text").map(str::to_owned),
    }
}

/// OBX-16 (responsible observers) and OBX-23 (performing organisation).
fn performers(ctx: &mut Ctx<'_>, json: &Value, path: &str) -> (Field, Field) {
    let mut people: Field = Vec::new();
    let mut organization: Field = Vec::new();
    for (n, performer) in items(json, "performer").iter().enumerate() {
        let ppath = format!("{path}.performer[{n}]");
        let is_org = ctx
            .resolve(performer)
            .is_some_and(|i| ctx.resources[i].kind == "Organization")
            || s(performer, "reference").is_some_and(|r| r.contains("Organization/"));
        if is_org && organization.is_empty() {
            organization.extend(xon(ctx, performer));
        } else if !is_org {
            people.extend(xcn(ctx, performer, &ppath));
        } else {
            ctx.warn(ppath, "a second performing organisation is not carried into HL7 v2");
        }
    }
    (people, organization)
}

/// OBX segments of their own for components with another code than their
/// Observation, grouped with it by OBX-4.
fn component_segments(
    ctx: &mut Ctx<'_>,
    group: &mut Group,
    json: &Value,
    path: &str,
    own_components: &[usize],
    (set_id, status, effective): (usize, &str, Option<&str>),
) -> Result<(), FromFhirError> {
    let components = items(json, "component");
    for &n in own_components {
        let component = &components[n];
        let cpath = format!("{path}.component[{n}]");
        group.obx_count += 1;
        let (kind, value, quantity) = value(ctx, component, &cpath)?.unwrap_or(("", Vec::new(), None));
        let mut obx = Er7Segment::simple("OBX", &[&group.obx_count.to_string(), kind]);
        let code = component
            .get("code")
            .and_then(|code| cwe(ctx, code, &format!("{cpath}.code")));
        obx.set(3, code.into_iter().collect());
        // OBX-4 groups the component with the Observation it belongs to.
        obx.set(4, text_field(&set_id.to_string()));
        obx.set(5, if value.is_empty() { Vec::new() } else { vec![value] });
        obx.set(6, quantity.and_then(units).into_iter().collect());
        obx.set(11, text_field(status));
        obx.set(14, text_field(effective.unwrap_or_default()));
        group.segments.push(obx);
    }
    Ok(())
}

/// The OBX (and NTE) segments of one Observation; components whose code
/// differs from the Observation's get OBX segments of their own.
fn observation_segments(ctx: &mut Ctx<'_>, group: &mut Group, observation: usize) -> Result<(), FromFhirError> {
    ctx.used[observation] = true;
    let json = ctx.resources[observation].json;
    let path = ctx.resources[observation].path.clone();
    let mut value_type = None;
    let mut values: Field = Vec::new();
    let mut unit = None;
    if let Some((kind, v, q)) = value(ctx, json, &path)? {
        value_type = Some(kind);
        values.push(v);
        unit = q;
    }
    let components = items(json, "component");
    let code = json.get("code");
    // The v2 -> FHIR mapping turns a repeating OBX-5 into components that
    // repeat the Observation's code: those go back as repetitions.
    let mut own_components = Vec::new();
    for (n, component) in components.iter().enumerate() {
        let cpath = format!("{path}.component[{n}]");
        let same_code = component.get("code") == code;
        match value(ctx, component, &cpath)? {
            Some((kind, v, q)) if same_code && value_type.is_none_or(|t| t == kind) && values.len() == n => {
                value_type = Some(kind);
                values.push(v);
                unit = unit.or(q);
            }
            _ => own_components.push(n),
        }
        ctx.leftover(component, &cpath, COMPONENT_ELEMENTS);
    }
    group.obx_count += 1;
    let set_id = group.obx_count;
    let mut obx = Er7Segment::simple("OBX", &[&set_id.to_string(), value_type.unwrap_or_default()]);
    obx.set(
        3,
        code.and_then(|code| cwe(ctx, code, &format!("{path}.code")))
            .into_iter()
            .collect(),
    );
    obx.set(5, values);
    obx.set(6, unit.and_then(units).into_iter().collect());
    let ranges = items(json, "referenceRange");
    obx.set(
        7,
        text_field(ranges.first().and_then(range_text).as_deref().unwrap_or_default()),
    );
    for (n, range) in ranges.iter().enumerate() {
        let rpath = format!("{path}.referenceRange[{n}]");
        if n > 0 {
            ctx.warn(rpath, "reference ranges after the first not carried into HL7 v2");
        } else {
            ctx.leftover(range, &rpath, &["low", "high", "text"]);
        }
    }
    let flags: Field = items(json, "interpretation")
        .iter()
        .filter_map(|i| code_of(Some(i)))
        .map(|code| vec![c(code)])
        .collect();
    obx.set(8, flags);
    let status = result_status(s(json, "status"));
    if status.is_empty() {
        ctx.warn(format!("{path}.status"), "status has no OBX-11 code; OBX-11 left empty");
    }
    obx.set(11, text_field(status));
    let effective = match (json.get("effectivePeriod"), s(json, "effectiveInstant")) {
        (Some(period), _) => dtm_of(ctx, period, "start", &format!("{path}.effectivePeriod"))?,
        (None, Some(_)) => dtm_of(ctx, json, "effectiveInstant", &path)?,
        (None, None) => dtm_of(ctx, json, "effectiveDateTime", &path)?,
    };
    obx.set(14, text_field(effective.as_deref().unwrap_or_default()));
    let (people, organization) = performers(ctx, json, &path);
    obx.set(16, people);
    let method = json.get("method").and_then(|m| cwe(ctx, m, &format!("{path}.method")));
    obx.set(17, method.into_iter().collect());
    obx.set(
        19,
        text_field(dtm_of(ctx, json, "issued", &path)?.as_deref().unwrap_or_default()),
    );
    obx.set(23, organization);
    group.segments.push(obx);
    group.segments.extend(notes(json));
    component_segments(
        ctx,
        group,
        json,
        &path,
        &own_components,
        (set_id, status, effective.as_deref()),
    )?;
    ctx.leftover(json, &path, OBSERVATION_ELEMENTS);
    if group.identified != Some(observation) && json.get("identifier").is_some() {
        ctx.warn(format!("{path}.identifier"), "not carried into HL7 v2");
    }
    Ok(())
}
