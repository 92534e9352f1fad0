//! The TOML mapping file: which column or JSON field holds which part of a
//! client record, and how vendor codes translate to coded values.

use std::collections::HashMap;

use toml::{Table, Value as Toml};

use crate::date::DateFormat;
use crate::error::MappingError;

/// The kinds of record a client has, in the order their resources are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Client,
    Contact,
    Diagnosis,
    Medication,
    Allergy,
    FunctionalStatus,
    Wound,
    Measurement,
    Goal,
    AdvanceDirective,
    TreatmentDirective,
}

/// A record kind's name in the mapping file and the fields it knows.
pub(crate) struct RecordSpec {
    pub kind: Kind,
    pub name: &'static str,
    pub fields: &'static [&'static str],
}

pub(crate) const RECORDS: &[RecordSpec] = &[
    RecordSpec {
        kind: Kind::Client,
        name: "client",
        fields: &[
            "bsn",
            "given",
            "initials",
            "prefix",
            "family",
            "birth_date",
            "gender",
            "street",
            "house_number",
            "postal_code",
            "city",
            "country",
            "phone",
            "email",
            "gp_name",
            "gp_agb",
            "practice_name",
            "practice_agb",
        ],
    },
    RecordSpec {
        kind: Kind::Contact,
        name: "contact",
        fields: &[
            "given", "initials", "prefix", "family", "relation", "role", "phone", "email",
        ],
    },
    RecordSpec {
        kind: Kind::Diagnosis,
        name: "diagnosis",
        fields: &["code", "system", "text", "onset", "end"],
    },
    RecordSpec {
        kind: Kind::Medication,
        name: "medication",
        fields: &["code", "system", "text", "dose", "start", "end"],
    },
    RecordSpec {
        kind: Kind::Allergy,
        name: "allergy",
        fields: &["code", "system", "text", "criticality", "reaction", "date"],
    },
    RecordSpec {
        kind: Kind::FunctionalStatus,
        name: "functional_status",
        fields: &["activity", "score", "date"],
    },
    RecordSpec {
        kind: Kind::Wound,
        name: "wound",
        fields: &["type", "location", "date", "text"],
    },
    RecordSpec {
        kind: Kind::Measurement,
        name: "measurement",
        fields: &["weight", "systolic", "diastolic", "pain", "date"],
    },
    RecordSpec {
        kind: Kind::Goal,
        name: "goal",
        fields: &["text", "status", "date"],
    },
    RecordSpec {
        kind: Kind::AdvanceDirective,
        name: "advance_directive",
        fields: &["type", "date", "text"],
    },
    RecordSpec {
        kind: Kind::TreatmentDirective,
        name: "treatment_directive",
        fields: &["treatment", "permitted", "date", "text"],
    },
];

/// The code lists the mapper consults, by the field they translate.
pub(crate) const CODE_LISTS: &[&str] = &[
    "gender",
    "relation",
    "role",
    "code_system",
    "diagnosis",
    "medication",
    "allergy",
    "criticality",
    "reaction",
    "functional",
    "functional_value",
    "wound_kind",
    "body_site",
    "goal_status",
    "advance_directive",
    "treatment",
    "permitted",
];

impl RecordSpec {
    pub(crate) fn of(kind: Kind) -> &'static RecordSpec {
        // RECORDS lists every kind once, in declaration order.
        &RECORDS[kind as usize]
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A CSV column name (with `{n}` for numbered repeats) or a dotted JSON path.
    Column(String),
    /// A fixed value, written `=value` in the mapping.
    Constant(String),
}

/// How one record kind is found in the export.
#[derive(Debug, Clone)]
pub(crate) struct RecordMapping {
    pub kind: Kind,
    /// Long CSV: the value of the kind column that marks rows of this kind.
    pub tag: Option<String>,
    /// Wide CSV: numbered repeats `{n}` = 1..=repeat.
    pub repeat: u32,
    /// JSON: the dotted path of the array of these records inside a client.
    pub array: Option<String>,
    /// `(field index in the spec, source)`.
    pub fields: Vec<(usize, Source)>,
}

/// A coded value: `system|code|display`; system and display may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coded {
    pub system: String,
    pub code: String,
    pub display: String,
}

/// The export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// CSV; `None` detects `;` or `,` from the header.
    Csv {
        delimiter: Option<u8>,
    },
    Json,
}

/// A parsed mapping file: how one vendor's export maps to the client record.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) name: String,
    pub(crate) format: Format,
    pub(crate) date_formats: Vec<DateFormat>,
    /// CSV column or JSON path (relative to a client) of the client key.
    pub(crate) key: String,
    /// Long CSV: the column that tells the record kind of a row.
    pub(crate) kind_column: Option<String>,
    /// JSON: dotted path of the clients array; empty for a top-level array.
    pub(crate) clients: String,
    /// The identifier system of the client number, when the vendor has one.
    pub(crate) client_system: Option<String>,
    pub(crate) records: Vec<RecordMapping>,
    /// Code lists by name; keys are lower-cased vendor values.
    pub(crate) codes: HashMap<String, HashMap<String, Coded>>,
}

const BUILTIN_TEXT: [(&str, &str); 3] = [
    ("zorgpoort", include_str!("../mappings/zorgpoort.toml")),
    ("zorgdossier-wide", include_str!("../mappings/zorgdossier-wide.toml")),
    ("carebook-json", include_str!("../mappings/carebook-json.toml")),
];

impl Mapping {
    /// The names of the mappings shipped with zorgpoort.
    pub const BUILTIN: &'static [&'static str] = &["zorgpoort", "zorgdossier-wide", "carebook-json"];

    /// A mapping shipped with zorgpoort, by name.
    pub fn builtin(name: &str) -> Option<Mapping> {
        Self::shipped().iter().find(|m| m.name == name).cloned()
    }

    /// The shipped mappings, parsed once per process.
    pub(crate) fn shipped() -> &'static [Mapping] {
        static SHIPPED: std::sync::OnceLock<Vec<Mapping>> = std::sync::OnceLock::new();
        SHIPPED.get_or_init(|| {
            // The tests parse every shipped file; one that failed would be
            // missing here, not a panic.
            BUILTIN_TEXT
                .iter()
                .filter_map(|(_, text)| Mapping::from_toml(text).ok())
                .collect()
        })
    }

    /// The mapping's name (its `name` key).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads a mapping file.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        let table: Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            MappingError::new(format!("line {line}"), e.message().to_owned())
        })?;
        parse(&table)
    }

    pub(crate) fn record(&self, kind: Kind) -> Option<&RecordMapping> {
        self.records.iter().find(|r| r.kind == kind)
    }

    /// The coded value of a vendor value in a code list: `Ok(None)` when the
    /// mapping has no such list, `Err(())` when the list lacks the value.
    pub(crate) fn lookup(&self, list: &str, value: &str) -> Result<Option<&Coded>, ()> {
        let Some(codes) = self.codes.get(list) else {
            return Ok(None);
        };
        let value = value.trim();
        // Vendor values are mostly lower case already: no allocation then.
        let found = if value.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
            codes.get(&value.to_lowercase())
        } else {
            codes.get(value)
        };
        found.map(Some).ok_or(())
    }
}

fn string(table: &Table, key: &str, path: &str) -> Result<Option<String>, MappingError> {
    match table.get(key) {
        None => Ok(None),
        Some(Toml::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Toml::String(_)) => Err(MappingError::new(join(path, key), "must not be empty")),
        Some(other) => Err(MappingError::new(
            join(path, key),
            format!("expected a string, found {}", other.type_str()),
        )),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn parse(table: &Table) -> Result<Mapping, MappingError> {
    const TOP: &[&str] = &[
        "name",
        "description",
        "format",
        "delimiter",
        "date_formats",
        "key",
        "kind_column",
        "clients",
        "client_system",
        "records",
        "codes",
    ];
    for key in table.keys() {
        if !TOP.contains(&key.as_str()) {
            return Err(MappingError::new(
                key,
                format!("unknown key (known: {})", TOP.join(", ")),
            ));
        }
    }
    let name = string(table, "name", "")?.ok_or_else(|| MappingError::new("name", "missing"))?;
    let format = match string(table, "format", "")?.as_deref() {
        Some("csv") => {
            let delimiter = match string(table, "delimiter", "")?.as_deref() {
                None | Some("auto") => None,
                Some(";") => Some(b';'),
                Some(",") => Some(b','),
                Some("\t" | "tab") => Some(b'\t'),
                Some("|") => Some(b'|'),
                Some(other) => {
                    return Err(MappingError::new(
                        "delimiter",
                        format!("{other:?} is not one of \";\", \",\", \"tab\", \"|\", \"auto\""),
                    ));
                }
            };
            Format::Csv { delimiter }
        }
        Some("json") => Format::Json,
        Some(other) => {
            return Err(MappingError::new(
                "format",
                format!("{other:?} is not \"csv\" or \"json\""),
            ));
        }
        None => return Err(MappingError::new("format", "missing (\"csv\" or \"json\")")),
    };
    let date_formats = match table.get("date_formats") {
        None => vec![DateFormat::compile("%Y-%m-%d").map_err(|m| MappingError::new("date_formats", m))?],
        Some(Toml::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("date_formats[{i}]");
                let text = item
                    .as_str()
                    .ok_or_else(|| MappingError::new(&at, "expected a string"))?;
                DateFormat::compile(text).map_err(|m| MappingError::new(&at, m))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(MappingError::new(
                "date_formats",
                "expected a non-empty array of strings",
            ));
        }
    };
    let key = string(table, "key", "")?
        .ok_or_else(|| MappingError::new("key", "missing (the client key column or field)"))?;
    let kind_column = string(table, "kind_column", "")?;
    let clients = string(table, "clients", "")?.unwrap_or_default();
    let client_system = string(table, "client_system", "")?;
    let records = parse_records(table, format, kind_column.is_some())?;
    let codes = parse_codes(table)?;
    Ok(Mapping {
        name,
        format,
        date_formats,
        key,
        kind_column,
        clients,
        client_system,
        records,
        codes,
    })
}

fn parse_records(table: &Table, format: Format, long: bool) -> Result<Vec<RecordMapping>, MappingError> {
    let Some(records) = table.get("records") else {
        return Err(MappingError::new("records", "missing (at least [records.client])"));
    };
    let Some(records) = records.as_table() else {
        return Err(MappingError::new("records", "expected a table"));
    };
    let mut out = Vec::new();
    for (name, value) in records {
        let path = format!("records.{name}");
        let Some(spec) = RECORDS.iter().find(|s| s.name == name) else {
            let known: Vec<&str> = RECORDS.iter().map(|s| s.name).collect();
            return Err(MappingError::new(
                path,
                format!("unknown record kind (known: {})", known.join(", ")),
            ));
        };
        let Some(fields) = value.as_table() else {
            return Err(MappingError::new(path, "expected a table"));
        };
        let mut record = RecordMapping {
            kind: spec.kind,
            tag: None,
            repeat: 1,
            array: None,
            fields: Vec::new(),
        };
        for (key, value) in fields {
            match key.as_str() {
                "kind" => record.tag = string(fields, key, &path)?,
                "array" => record.array = string(fields, key, &path)?,
                "repeat" => {
                    record.repeat = value
                        .as_integer()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| MappingError::new(join(&path, key), "expected a whole number 1-100"))?;
                }
                field => {
                    let Some(index) = spec.fields.iter().position(|f| *f == field) else {
                        return Err(MappingError::new(
                            join(&path, key),
                            format!(
                                "unknown field (known for {name}: {}; and kind, repeat, array)",
                                spec.fields.join(", ")
                            ),
                        ));
                    };
                    let text = string(fields, key, &path)?.unwrap_or_default();
                    let source = match text.strip_prefix('=') {
                        Some(constant) => Source::Constant(constant.to_owned()),
                        None => Source::Column(text),
                    };
                    record.fields.push((index, source));
                }
            }
        }
        // The spec's order, so reports do not depend on how TOML orders keys.
        record.fields.sort_by_key(|(i, _)| *i);
        match format {
            Format::Json if spec.kind != Kind::Client && record.array.is_none() => {
                return Err(MappingError::new(
                    join(&path, "array"),
                    "missing: a JSON export needs the path of the array holding these records",
                ));
            }
            Format::Csv { .. } if long && spec.kind != Kind::Client && record.tag.is_none() => {
                return Err(MappingError::new(
                    join(&path, "kind"),
                    "missing: with kind_column set, each record kind needs the value that marks its rows",
                ));
            }
            _ => {}
        }
        if record.repeat > 1
            && !record
                .fields
                .iter()
                .all(|(_, s)| matches!(s, Source::Column(c) if c.contains("{n}")) || matches!(s, Source::Constant(_)))
        {
            return Err(MappingError::new(
                join(&path, "repeat"),
                "every column of a repeated record must contain {n}",
            ));
        }
        out.push(record);
    }
    if !out.iter().any(|r| r.kind == Kind::Client) {
        return Err(MappingError::new("records.client", "missing"));
    }
    out.sort_by_key(|r| r.kind as usize);
    Ok(out)
}

fn parse_codes(table: &Table) -> Result<HashMap<String, HashMap<String, Coded>>, MappingError> {
    let mut out = HashMap::new();
    let Some(codes) = table.get("codes") else {
        return Ok(out);
    };
    let Some(codes) = codes.as_table() else {
        return Err(MappingError::new("codes", "expected a table"));
    };
    for (list, entries) in codes {
        let path = format!("codes.{list}");
        if !CODE_LISTS.contains(&list.as_str()) {
            return Err(MappingError::new(
                path,
                format!("unknown code list (known: {})", CODE_LISTS.join(", ")),
            ));
        }
        let Some(entries) = entries.as_table() else {
            return Err(MappingError::new(
                path,
                "expected a table of vendor value = \"system|code|display\"",
            ));
        };
        let mut map = HashMap::with_capacity(entries.len());
        for (vendor, entry) in entries {
            let at = join(&path, vendor);
            let Some(text) = entry.as_str() else {
                return Err(MappingError::new(at, "expected a string \"system|code|display\""));
            };
            let value = if list == "code_system" {
                Coded {
                    system: text.to_owned(),
                    code: String::new(),
                    display: String::new(),
                }
            } else {
                let mut parts = text.splitn(3, '|');
                let system = parts.next().unwrap_or_default().trim().to_owned();
                let code = parts.next().unwrap_or_default().trim().to_owned();
                let display = parts.next().unwrap_or_default().trim().to_owned();
                if code.is_empty() {
                    return Err(MappingError::new(at, "expected \"system|code|display\" with a code"));
                }
                Coded { system, code, display }
            };
            map.insert(vendor.trim().to_lowercase(), value);
        }
        out.insert(list.clone(), map);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_in_spec_order() {
        for (i, spec) in RECORDS.iter().enumerate() {
            assert_eq!(spec.kind as usize, i, "{}", spec.name);
        }
    }
}
