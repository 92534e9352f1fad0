//! Observation values: the v3 value types (PQ, `IVL_PQ`, CD, ST, ED, ...)
//! as FHIR `value[x]`, and the physical quantities they are made of.
//!
//! A value is never rounded into a form that says more than the source:
//! an open or exclusive interval keeps its comparator, a unit that is not
//! UCUM is kept as text only, and a value that cannot be read is reported
//! so the caller can say it is absent.

use roxmltree::Node;
use zorgpoort_model::systems;
use zorgpoort_model::{Object, Value};

use crate::context::Ctx;
use crate::error::Error;
use crate::xml::{self, attr, child, children, is_null, xsi_type};

/// The OID of UCUM as a v3 code system.
const UCUM_OID: &str = "2.16.840.1.113883.6.8";

/// Unit symbols in common clinical use that are not UCUM, with the UCUM
/// symbol that means exactly the same.
const UCUM_SYNONYMS: &[(&str, &str)] = &[("mcg", "ug"), ("mcL", "uL"), ("cc", "mL")];

/// The UCUM code of a PQ unit: the unit itself when it is UCUM (C-CDA wants
/// UCUM there), or with its symbols that are well-known synonyms of UCUM
/// ones replaced (`mcg/kg` is `ug/kg`). A sender's own unit (`THOUS/MCL`)
/// has none: it is kept as text rather than claimed as UCUM.
fn ucum_code(unit: &str) -> Option<String> {
    if zorgpoort_model::ucum::check(unit).is_ok() {
        return Some(unit.to_owned());
    }
    let mut rewritten = String::with_capacity(unit.len());
    for part in unit.split_inclusive(['.', '/', '(', ')']) {
        let symbol = part.trim_end_matches(['.', '/', '(', ')']);
        match UCUM_SYNONYMS.iter().find(|(synonym, _)| *synonym == symbol) {
            Some((_, ucum)) => rewritten.push_str(&part.replacen(symbol, ucum, 1)),
            None => rewritten.push_str(part),
        }
    }
    zorgpoort_model::ucum::check(&rewritten).is_ok().then_some(rewritten)
}

/// A Quantity from a PQ (`value`, `unit` coded in UCUM when it is UCUM).
pub fn quantity(node: Node<'_, '_>) -> Option<Object<'static>> {
    let value = attr(node, "value").and_then(Value::number)?;
    let unit = attr(node, "unit");
    Some(unit_quantity(value, unit, unit.and_then(ucum_code)))
}

/// A Quantity of `value` in `unit`, with `code` in UCUM when the unit has
/// one; otherwise the unit is kept as text.
fn unit_quantity(value: Value<'static>, unit: Option<&str>, code: Option<String>) -> Object<'static> {
    Object::new()
        .with("value", value)
        .with("unit", unit.map(str::to_owned))
        .with("system", code.as_ref().map(|_| systems::UCUM))
        .with("code", code)
}

impl Ctx<'_, '_> {
    /// A Quantity from a PQ, or, when the PQ has no value of its own
    /// (C-CDA's `nullFlavor="OTH"` for a unit outside UCUM), from the
    /// first `translation` that carries one. A translation's unit is UCUM
    /// only when its `codeSystem` says so, the PQ's own when it is a UCUM
    /// code; any other is kept as `unit` without a system, with a warning.
    pub fn pq(&self, node: Node<'_, '_>) -> Option<Object<'static>> {
        if let Some(own) = quantity(node) {
            if let Some(unit) = attr(node, "unit").filter(|unit| ucum_code(unit).is_none()) {
                self.defer_warning(
                    node,
                    format!("unit {unit:?} is not UCUM: kept as text without a unit system"),
                );
            }
            return Some(own);
        }
        let translation = children(node, "translation").find(|t| attr(*t, "value").is_some())?;
        let value = attr(translation, "value").and_then(Value::number)?;
        let unit = attr(translation, "code");
        let ucum = attr(translation, "codeSystem") == Some(UCUM_OID);
        if !ucum {
            self.defer_warning(
                translation,
                format!(
                    "unit {:?} is not UCUM: kept as text without a unit system",
                    unit.unwrap_or_default()
                ),
            );
        }
        Some(unit_quantity(value, unit, unit.filter(|_| ucum).map(str::to_owned)))
    }

    /// A bound of an `IVL_PQ` (`low`, `high`), unless absent or null
    /// without a translation to read.
    fn bound(&self, interval: Node<'_, '_>, name: &str) -> Option<(Object<'static>, bool)> {
        let bound = child(interval, name)?;
        let quantity = self.pq(bound)?;
        Some((quantity, bound.attribute("inclusive") != Some("false")))
    }

    /// An `IVL_PQ`: a closed interval as `valueRange`; one open side (no
    /// bound, or `PINF`/`NINF`) as `valueQuantity` with the comparator of
    /// the bound that is there (`>=`, `>`, `<=`, `<`); a `center` alone as
    /// the quantity itself.
    fn interval(&self, node: Node<'_, '_>) -> Option<(&'static str, Value<'static>)> {
        let compared =
            |(mut quantity, inclusive): (Object<'static>, bool), closed: &'static str, open: &'static str| {
                quantity.insert_after("value", "comparator", if inclusive { closed } else { open });
                ("valueQuantity", Value::Obj(quantity))
            };
        match (self.bound(node, "low"), self.bound(node, "high")) {
            (Some(low), Some(high)) => {
                if !(low.1 && high.1) {
                    self.defer_warning(
                        node,
                        "interval with an exclusive bound given as valueRange, whose bounds are inclusive".to_owned(),
                    );
                }
                let range = Object::new().with("low", low.0).with("high", high.0);
                Some(("valueRange", Value::Obj(range)))
            }
            (Some(low), None) => Some(compared(low, ">=", ">")),
            (None, Some(high)) => Some(compared(high, "<=", "<")),
            (None, None) => child(node, "center")
                .and_then(|c| self.pq(c))
                .map(|q| ("valueQuantity", Value::Obj(q))),
        }
    }

    /// An ST or ED as text: its content, or the narrative its `reference`
    /// points at. An ED that only points outside the document, or holds
    /// base64 data, has no text to give and is reported.
    fn text_value(&self, node: Node<'_, '_>) -> Option<(&'static str, Value<'static>)> {
        let reference = child(node, "reference").and_then(|r| attr(r, "value"));
        let text = if node.attribute("representation") == Some("B64") {
            self.defer_warning(
                node,
                "base64 ED value not mapped: an Observation value holds no attachment".to_owned(),
            );
            None
        } else {
            xml::text(node).or_else(|| match reference {
                Some(r) if r.starts_with('#') => self.narrative_text(r),
                Some(_) => {
                    self.defer_warning(
                        node,
                        "ED value only refers to content outside the document; not mapped".to_owned(),
                    );
                    None
                }
                None => None,
            })
        };
        text.map(|t| ("valueString", Value::from(t)))
    }
}

/// A FHIR `value[x]` from an observation `value` element, by its `xsi:type`;
/// `None` when there is no value to read (the caller says why).
pub fn value_x(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Result<Option<(&'static str, Value<'static>)>, Error> {
    if is_null(node) && node.children().all(|c| !c.is_element()) {
        return Ok(None);
    }
    let kind = xsi_type(node).unwrap_or("");
    let out = match kind {
        "PQ" | "REAL" | "MO" => ctx.pq(node).map(|q| ("valueQuantity", Value::Obj(q))),
        "INT" => attr(node, "value")
            .filter(|v| v.parse::<i32>().is_ok())
            .map(|v| ("valueInteger", Value::Num(v.trim_start_matches('+').to_owned().into()))),
        "BL" => match attr(node, "value") {
            Some("true") => Some(("valueBoolean", Value::Bool(true))),
            Some("false") => Some(("valueBoolean", Value::Bool(false))),
            _ => None,
        },
        "CD" | "CE" | "CV" | "CO" | "CS" => ctx.concept(Some(node)).map(|c| ("valueCodeableConcept", Value::Obj(c))),
        "TS" => ctx.datetime(Some(node))?.map(|t| ("valueDateTime", Value::from(t))),
        "IVL_PQ" => ctx.interval(node),
        "RTO_PQ_PQ" | "RTO" => {
            let ratio = Object::new()
                .with("numerator", child(node, "numerator").and_then(|n| ctx.pq(n)))
                .with("denominator", child(node, "denominator").and_then(|d| ctx.pq(d)));
            (!ratio.is_empty()).then_some(("valueRatio", Value::Obj(ratio)))
        }
        "ST" | "ED" => ctx.text_value(node),
        _ => ctx
            .text_value(node)
            .or_else(|| attr(node, "value").map(|v| ("valueString", Value::from(v.to_owned()))))
            .or_else(|| attr(node, "displayName").map(|d| ("valueString", Value::from(d.to_owned())))),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_units_are_not_ucum_codes() {
        for unit in ["mmol/L", "mm[Hg]", "{tbl}", "10*3/uL"] {
            assert_eq!(ucum_code(unit).as_deref(), Some(unit));
        }
        assert_eq!(ucum_code("mcg").as_deref(), Some("ug"));
        assert_eq!(ucum_code("mcg/kg/h").as_deref(), Some("ug/kg/h"));
        assert_eq!(ucum_code("10+3/ul"), None);
        assert_eq!(ucum_code("per dag"), None);
        assert_eq!(ucum_code("mm[Hg"), None);
        // UCUM syntax, but no UCUM unit (HL7's "Results Unit Non-UCUM").
        assert_eq!(ucum_code("THOUS/MCL"), None);
    }
}
