//! Nothing clinical is lost without a word, and nothing clinical is made up.
//!
//! For every HL7 v2 message the crate's tests read (the public corpus in conformance-tests/corpora, the
//! Dutch and fidelity fixtures, synthetic messages), each clinical source
//! item (OBX, AL1, DG1, PR1, RXA, SPM, and NTE with text) must be found in
//! the converted Bundle by a link this test can check, or be named by a
//! warning at its segment that says it was not mapped. And every clinical
//! resource in the Bundle must be the link of one source item.
//!
//! The source items are found here by splitting the message text on its
//! separators, not by the crate's parser, so a segment the parser or the
//! mapper skips cannot hide from the count. A message that is refused is
//! accounted for by its error (nothing of it is delivered).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{Converted, convert_bytes, corpus_messages, files, fixtures};
use serde_json::Value;
use zorgpoort_model::Warning;

/// The segments that carry clinical facts.
const CLINICAL_SEGMENTS: &[&str] = &["OBX", "AL1", "DG1", "PR1", "RXA", "SPM", "NTE"];
/// The resources made only from those segments.
const CLINICAL_RESOURCES: &[&str] = &[
    "Observation",
    "AllergyIntolerance",
    "Condition",
    "Procedure",
    "Immunization",
    "Specimen",
];

/// One clinical segment of the source text.
struct SourceItem {
    id: String,
    /// Which occurrence of its id in the message, 1-based.
    occurrence: usize,
    /// Whether it belongs to a document (after a TXA, as the mapping reads MDM).
    in_document: bool,
    fields: Vec<String>,
    separators: Separators,
}

#[derive(Clone, Copy)]
struct Separators {
    component: char,
    repetition: char,
    subcomponent: char,
}

impl SourceItem {
    /// How warnings name it: `OBX` for the first, `OBX#3` for the third.
    fn location(&self) -> String {
        if self.occurrence == 1 {
            self.id.clone()
        } else {
            format!("{}#{}", self.id, self.occurrence)
        }
    }

    /// Component `c` of the first repetition of field `n`, raw.
    fn component(&self, n: usize, c: usize) -> &str {
        let field = self.fields.get(n).map_or("", String::as_str);
        let first = field.split(self.separators.repetition).next().unwrap_or("");
        first.split(self.separators.component).nth(c - 1).unwrap_or("").trim()
    }

    /// The first subcomponent of component `c` of field `n`.
    fn subcomponent(&self, n: usize, c: usize) -> &str {
        self.component(n, c)
            .split(self.separators.subcomponent)
            .next()
            .unwrap_or("")
    }

    fn is_empty(&self, n: usize) -> bool {
        let field = self.fields.get(n).map_or("", String::as_str);
        field.trim().is_empty() || field == "\"\""
    }
}

/// The messages of a file, split where a line starts with MSH, without MLLP
/// bytes and byte order mark.
fn messages(bytes: &[u8]) -> Vec<String> {
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| !matches!(c, '\u{0B}' | '\u{1C}' | '\u{FEFF}'))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for line in text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()) {
        if line.starts_with("MSH") {
            out.push(String::new());
        }
        if let Some(message) = out.last_mut() {
            message.push_str(line);
            message.push('\r');
        }
    }
    out
}

/// The clinical segments of one message, numbered per id as warnings number them.
fn source_items(message: &str) -> Vec<SourceItem> {
    let msh: Vec<char> = message.chars().take(8).collect();
    let field = msh.get(3).copied().unwrap_or('|');
    let separators = Separators {
        component: msh.get(4).copied().unwrap_or('^'),
        repetition: msh.get(5).copied().unwrap_or('~'),
        subcomponent: msh.get(7).copied().unwrap_or('&'),
    };
    let mut seen: Vec<String> = Vec::new();
    let mut in_document = false;
    let mut items = Vec::new();
    for line in message.split('\r').filter(|l| !l.is_empty()) {
        let id: String = line.chars().take(3).collect();
        let occurrence = seen.iter().filter(|s| **s == id).count() + 1;
        seen.push(id.clone());
        // The mapping's rule: a document's group is TXA, then CON, OBX, PRT, NTE and Z-segments.
        in_document = id == "TXA"
            || (in_document && (["CON", "OBX", "PRT", "NTE"].contains(&id.as_str()) || id.starts_with('Z')));
        let has_text = id != "NTE" || line.split(field).nth(3).is_some_and(|t| !t.trim().is_empty());
        if CLINICAL_SEGMENTS.contains(&id.as_str()) && has_text {
            items.push(SourceItem {
                id,
                occurrence,
                in_document,
                fields: line.split(field).map(str::to_owned).collect(),
                separators,
            });
        }
    }
    items
}

/// The start of a text up to its first escape or non-ASCII character: what
/// must appear verbatim in the output, whatever decoding did to the rest.
fn plain_start(raw: &str) -> &str {
    let end = raw.find(|c: char| c == '\\' || !c.is_ascii()).unwrap_or(raw.len());
    raw[..end].trim()
}

/// Decodes standard base64 (attachment data), ignoring what is not base64.
fn base64_decode(data: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for value in data.bytes().filter_map(|b| ALPHABET.iter().position(|&a| a == b)) {
        bits = (bits << 6) | u32::try_from(value).unwrap();
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xFF).unwrap());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The output Bundle's resources, each marked once a source item claims it.
struct Output {
    resources: Vec<(Value, bool)>,
}

impl Output {
    fn new(bundle: &Value) -> Self {
        let resources = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["resource"].clone(), false))
            .collect();
        Self { resources }
    }

    /// Claims the first unclaimed resource of `kind` for which `matches` holds.
    fn claim(&mut self, kind: &str, matches: impl Fn(&Value) -> bool) -> bool {
        let found = self
            .resources
            .iter_mut()
            .find(|(r, claimed)| !claimed && r["resourceType"] == kind && matches(r));
        if let Some((_, claimed)) = found {
            *claimed = true;
        }
        found.is_some()
    }

    /// Whether any resource's free text (notes, comments, descriptions,
    /// conclusions, text attachments) contains `text`.
    fn has_text(&self, text: &str) -> bool {
        self.resources.iter().any(|(r, _)| {
            let notes = r["note"].as_array().into_iter().flatten().map(|n| n["text"].as_str());
            let fields = ["comment", "description", "conclusion"].map(|k| r[k].as_str());
            let attachments = r["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["attachment"]["data"].as_str())
                .map(base64_decode);
            notes
                .chain(fields)
                .flatten()
                .map(str::to_owned)
                .chain(attachments)
                .any(|t| t.contains(text))
        })
    }

    /// Clinical resources no source item claimed.
    fn unclaimed(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|(r, claimed)| !claimed && CLINICAL_RESOURCES.contains(&r["resourceType"].as_str().unwrap()))
            .map(|(r, _)| format!("{} {}", r["resourceType"], r["id"]))
            .collect()
    }
}

/// Whether a CodeableConcept holds `code` as a coding's code, or `text` as its text.
fn concept_has(concept: &Value, code: &str, text: &str) -> bool {
    let codes = concept["coding"].as_array().into_iter().flatten();
    codes
        .filter_map(|c| c["code"].as_str())
        .any(|c| !code.is_empty() && c == code)
        || (!text.is_empty() && concept["text"].as_str() == Some(text))
        || (code.is_empty() && text.is_empty())
}

/// Whether an Observation carries a value for an OBX whose OBX-5 is not empty.
fn has_value(observation: &Value) -> bool {
    observation
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("value") || k == "component")
}

/// Finds and claims the output of one source item; false when there is none.
fn find(item: &SourceItem, output: &mut Output) -> bool {
    match item.id.as_str() {
        "OBX" => find_obx(item, output),
        "NTE" => output.has_text(plain_start(item.component(3, 1))),
        "AL1" => output.claim("AllergyIntolerance", |r| {
            concept_has(&r["code"], item.component(3, 1), item.component(3, 2))
        }),
        "DG1" => output.claim("Condition", |r| {
            concept_has(&r["code"], item.component(3, 1), item.component(3, 2))
                || concept_has(&r["code"], "", item.component(4, 1))
        }),
        "PR1" => output.claim("Procedure", |r| {
            concept_has(&r["code"], item.component(3, 1), item.component(3, 2))
                || concept_has(&r["code"], "", item.component(4, 1))
        }),
        "RXA" => output.claim("Immunization", |r| {
            concept_has(&r["vaccineCode"], item.component(5, 1), item.component(5, 2))
        }),
        "SPM" => output.claim("Specimen", |r| {
            let id = item.subcomponent(2, 1);
            let ids = r["identifier"].as_array().into_iter().flatten();
            concept_has(&r["type"], item.component(4, 1), item.component(4, 2))
                && (id.is_empty() || ids.filter_map(|i| i["value"].as_str()).any(|v| v == id))
        }),
        other => unreachable!("{other} is not a clinical segment"),
    }
}

/// An OBX is an Observation with its code and a value, document content, or
/// a line of its report's conclusion.
fn find_obx(item: &SourceItem, output: &mut Output) -> bool {
    let value_type = item.component(2, 1);
    let text = plain_start(item.component(5, 1));
    if value_type == "RP" {
        return output.resources.iter().any(|(r, _)| {
            let content = r["content"].as_array().into_iter().flatten();
            content
                .into_iter()
                .filter_map(|c| c["attachment"]["url"].as_str())
                .any(|url| url.starts_with(text))
        });
    }
    if value_type == "ED" {
        let data: String = item.component(5, 5).split_whitespace().collect();
        return output.resources.iter().any(|(r, _)| {
            let content = r["content"].as_array().into_iter().flatten();
            content.into_iter().any(|c| {
                let attached = c["attachment"]["data"].as_str().unwrap_or("");
                !attached.is_empty() && (attached == data || !item.component(5, 4).eq_ignore_ascii_case("Base64"))
            })
        });
    }
    if item.in_document || item.component(3, 1).is_empty() && item.component(3, 4).is_empty() {
        return !item.is_empty(5) && output.has_text(text);
    }
    output.claim("Observation", |r| {
        concept_has(&r["code"], item.component(3, 1), item.component(3, 2))
            || concept_has(&r["code"], item.component(3, 4), "")
    }) && {
        // The claimed Observation is the last one marked: check its value.
        let claimed = output
            .resources
            .iter()
            .rev()
            .find(|(r, c)| *c && r["resourceType"] == "Observation");
        item.is_empty(5) || claimed.is_some_and(|(r, _)| has_value(r))
    }
}

/// Whether a warning at the item's segment says it was not mapped.
fn warned(item: &SourceItem, warnings: &[Warning]) -> bool {
    let location = item.location();
    warnings.iter().any(|w| {
        let at_item = w.location == location || w.location.starts_with(&format!("{location}-"));
        at_item
            && w.message != "field not mapped"
            && (w.message.contains("not mapped") || w.message.contains("nothing to map"))
    })
}

/// The problems of one converted message: items neither found nor warned,
/// and clinical resources without a source item.
fn account(message: &str, converted: &Converted) -> Vec<String> {
    let bundle: Value = serde_json::from_str(&converted.json).unwrap();
    let mut output = Output::new(&bundle);
    let mut problems = Vec::new();
    for item in source_items(message) {
        if !find(&item, &mut output) && !warned(&item, &converted.warnings) {
            problems.push(format!("{}: lost without a warning", item.location()));
        }
    }
    for resource in output.unclaimed() {
        problems.push(format!("{resource}: no source segment"));
    }
    problems
}

/// Accounts for every message of every file; returns the number of
/// clinical items checked and the problems found.
fn account_all(paths: &[PathBuf]) -> (usize, Vec<String>) {
    let mut items = 0;
    let mut problems = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).unwrap();
        let sources = messages(&bytes);
        let results = convert_bytes(&bytes);
        assert_eq!(
            sources.len(),
            results.len(),
            "{}: messages split differently",
            path.display()
        );
        for (n, (source, result)) in sources.iter().zip(results).enumerate() {
            let Ok(converted) = result else { continue };
            items += source_items(source).len();
            for problem in account(source, &converted) {
                problems.push(format!("{} msg {}: {problem}", path.display(), n + 1));
            }
        }
    }
    (items, problems)
}

fn assert_accounted(paths: &[PathBuf], at_least: usize) {
    let (items, problems) = account_all(paths);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(items >= at_least, "only {items} clinical items found");
}

#[test]
fn every_clinical_item_of_the_corpus_messages_is_accounted_for() {
    assert_accounted(&corpus_messages(), 350);
}

#[test]
fn every_clinical_item_of_the_fixtures_is_accounted_for() {
    let mut paths = files(&fixtures().join("dutch"), &[".hl7"]);
    paths.extend(files(&fixtures().join("fidelity"), &[".hl7"]));
    assert_accounted(&paths, 30);
}

#[test]
fn every_clinical_item_of_synthetic_messages_is_accounted_for() {
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(17);
    let text: String = (0..200).map(|_| generator.next_message() + "\n").collect();
    let dir = std::env::temp_dir().join(format!("zorgpoort-accounting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("synthetic.hl7");
    std::fs::write(&path, text).unwrap();
    assert_accounted(&[path], 500);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The accounting itself catches a silent drop: an OBX whose output is
/// removed, without a warning, is reported.
#[test]
fn a_silent_drop_is_caught() {
    let message = "MSH|^~\\&|LAB|X|||20260101120000||ORU^R01|1|P|2.5.1\rPID|1||1^^^X^PI\rOBR|1||F1|2345-7^Glucose^LN\rOBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L\rNTE|1||nuchter afgenomen\r";
    let converted = convert_bytes(message.as_bytes()).remove(0).unwrap();
    assert!(account(message, &converted).is_empty());
    let mut bundle: Value = serde_json::from_str(&converted.json).unwrap();
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["resource"]["resourceType"] != "Observation");
    let dropped = Converted {
        json: bundle.to_string(),
        warnings: converted.warnings,
    };
    assert_eq!(
        account(message, &dropped),
        ["OBX: lost without a warning", "NTE: lost without a warning"]
    );
}
