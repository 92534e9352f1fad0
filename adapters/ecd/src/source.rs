//! From export bytes to client records: CSV rows or JSON objects grouped per
//! client, each value with its place in the export, plus warnings for what
//! the mapping does not read.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;
use zorgpoort_model::Warning;

use crate::Limits;
use crate::csv::{self, Row};
use crate::error::{Error, ErrorKind};
use crate::mapping::{Format, Kind, Mapping, RecordMapping, RecordSpec, Source};

/// Where a value is in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loc {
    /// A CSV row (header = row 1) and column index.
    Cell { row: usize, column: usize },
    /// A whole CSV row.
    Row(usize),
    /// A JSON path.
    Path(String),
    /// A constant from the mapping.
    Mapping,
}

/// Renders locations with the header's column names.
#[derive(Debug, Default)]
pub(crate) struct Locator {
    header: Vec<String>,
}

impl Locator {
    pub(crate) fn render(&self, loc: &Loc) -> String {
        match loc {
            Loc::Cell { row, column } => {
                let name = self.header.get(*column).map_or("?", String::as_str);
                format!("row {row}, column {name:?}")
            }
            Loc::Row(row) => format!("row {row}"),
            Loc::Path(path) => path.clone(),
            Loc::Mapping => "mapping".to_owned(),
        }
    }
}

/// One value of a record.
#[derive(Debug, Clone)]
pub(crate) struct Cell<'a> {
    pub text: Cow<'a, str>,
    pub loc: Loc,
}

/// One record (the client itself, a diagnosis, a measurement...).
#[derive(Debug)]
pub(crate) struct Item<'a> {
    pub kind: Kind,
    /// By field index of the kind's [`RecordSpec`].
    pub cells: Vec<Option<Cell<'a>>>,
    pub loc: Loc,
}

impl<'a> Item<'a> {
    pub(crate) fn get(&self, field: &str) -> Option<&Cell<'a>> {
        let spec = RecordSpec::of(self.kind);
        let index = spec.fields.iter().position(|f| *f == field)?;
        self.cells.get(index)?.as_ref()
    }
}

/// Everything the export holds about one client.
#[derive(Debug)]
pub(crate) struct Client<'a> {
    pub key: String,
    /// The client record first, then the others in export order.
    pub items: Vec<Item<'a>>,
    pub warnings: Vec<Warning>,
    /// FNV-1a 64 of the client's input, so a re-export of unchanged data is
    /// recognised as a duplicate.
    pub hash: u64,
}

/// FNV-1a 64: tiny, stable across versions and platforms.
pub(crate) fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The clients of an export, in order of first appearance.
pub(crate) fn clients<'a>(text: &'a str, mapping: &Mapping, limits: &Limits) -> Result<Export<'a>, Error> {
    match mapping.format {
        Format::Csv { delimiter } => csv_clients(text, mapping, delimiter, limits),
        Format::Json => Ok(Export {
            locator: Locator::default(),
            clients: json_clients(text, mapping, limits)?,
            warnings: Vec::new(),
        }),
    }
}

/// The clients of an export and what is said about the export as a whole.
pub(crate) struct Export<'a> {
    pub locator: Locator,
    pub clients: Vec<Result<Client<'a>, Error>>,
    /// Once per export, not per client, so their number does not grow with
    /// the number of clients (mapped columns the header lacks).
    pub warnings: Vec<Warning>,
}

enum Resolved {
    Column(usize),
    Constant(String),
}

struct CsvRecord<'m> {
    mapping: &'m RecordMapping,
    /// Per repeat: (field index, source).
    repeats: Vec<Vec<(usize, Resolved)>>,
}

fn csv_clients<'a>(
    text: &'a str,
    mapping: &Mapping,
    delimiter: Option<u8>,
    limits: &Limits,
) -> Result<Export<'a>, Error> {
    let delimiter = delimiter.unwrap_or_else(|| csv::detect_delimiter(text));
    let mut rows = csv::read(text, delimiter, limits)?;
    if rows.is_empty() {
        return Err(Error::whole(ErrorKind::NoHeader));
    }
    let header_row = rows.remove(0);
    let header: Vec<String> = header_row.fields.iter().map(|f| f.trim().to_owned()).collect();
    let index: HashMap<&str, usize> = header.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    let column = |name: &str, field: &str| {
        index.get(name).copied().ok_or_else(|| {
            Error::at(
                "row 1",
                ErrorKind::MissingColumn {
                    column: name.to_owned(),
                    field: field.to_owned(),
                },
            )
        })
    };
    let key_column = column(&mapping.key, "key")?;
    let kind_column = mapping
        .kind_column
        .as_deref()
        .map(|name| column(name, "kind_column"))
        .transpose()?;
    let resolution = resolve(mapping, &header, key_column, kind_column, &column);
    let locator = Locator { header };
    let width = locator.header.len();

    let mut order: Vec<(String, Vec<usize>)> = Vec::new();
    let mut out_of_order: Vec<(usize, Error)> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        // Spreadsheets export rows of bare delimiters: they carry nothing.
        if row.fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let key = row.fields.get(key_column).map_or("", |k| k.trim());
        if key.is_empty() {
            out_of_order.push((
                order.len(),
                Error::at(
                    locator.render(&Loc::Cell {
                        row: row.number,
                        column: key_column,
                    }),
                    ErrorKind::MissingKey,
                ),
            ));
            continue;
        }
        let slot = *by_key.entry(key).or_insert_with(|| {
            order.push((key.to_owned(), Vec::new()));
            order.len() - 1
        });
        order[slot].1.push(i);
    }

    let mut results = Vec::with_capacity(order.len() + out_of_order.len());
    let mut pending = out_of_order.into_iter().peekable();
    for (n, (key, members)) in order.into_iter().enumerate() {
        while let Some((_, error)) = pending.next_if(|(at, _)| *at <= n) {
            results.push(Err(error));
        }
        results.push(csv_client(
            key,
            &members,
            &rows,
            &resolution,
            kind_column,
            width,
            &locator,
        ));
    }
    results.extend(pending.map(|(_, e)| Err(e)));
    Ok(Export {
        locator,
        clients: results,
        warnings: resolution.missing,
    })
}

/// The columns of every record (per repeat), the columns the mapping reads,
/// per record kind the columns it reads (long exports), and warnings for
/// mapped columns the header lacks.
struct Resolution<'m> {
    used: Vec<bool>,
    used_by_kind: Vec<Vec<bool>>,
    records: Vec<CsvRecord<'m>>,
    missing: Vec<Warning>,
}

fn resolve<'m>(
    mapping: &'m Mapping,
    header: &[String],
    key_column: usize,
    kind_column: Option<usize>,
    column: &dyn Fn(&str, &str) -> Result<usize, Error>,
) -> Resolution<'m> {
    let mut missing = Vec::new();
    let mut used = vec![false; header.len()];
    used[key_column] = true;
    if let Some(k) = kind_column {
        used[k] = true;
    }
    // Per record kind, for long exports: the columns it reads.
    let mut used_by_kind: Vec<Vec<bool>> = Vec::new();
    let mut records = Vec::new();
    for record in &mapping.records {
        let spec = RecordSpec::of(record.kind);
        let mut own = used.clone();
        let mut repeats = Vec::new();
        for n in 1..=record.repeat {
            let mut fields = Vec::new();
            for (index, source) in &record.fields {
                let resolved = match source {
                    Source::Column(name) => {
                        let name = name.replace("{n}", &n.to_string());
                        let field = format!("records.{}.{}", spec.name, spec.fields[*index]);
                        // Vendors leave out columns they never fill: the
                        // field stays empty and every client is told.
                        let Ok(at) = column(&name, &field) else {
                            if !missing.iter().any(|(n, _)| *n == name) {
                                missing.push((
                                    name.clone(),
                                    Warning::new(
                                        "row 1",
                                        format!("column {name:?} (mapped as {field}) is not in the header; not read"),
                                    ),
                                ));
                            }
                            continue;
                        };
                        own[at] = true;
                        Resolved::Column(at)
                    }
                    Source::Constant(value) => Resolved::Constant(value.clone()),
                };
                fields.push((*index, resolved));
            }
            repeats.push(fields);
        }
        for (u, o) in used.iter_mut().zip(&own) {
            *u |= *o;
        }
        used_by_kind.push(own);
        records.push(CsvRecord {
            mapping: record,
            repeats,
        });
    }
    Resolution {
        used,
        used_by_kind,
        records,
        missing: missing.into_iter().map(|(_, w)| w).collect(),
    }
}

fn csv_client<'a>(
    key: String,
    members: &[usize],
    rows: &[Row<'a>],
    resolution: &Resolution<'_>,
    kind_column: Option<usize>,
    width: usize,
    locator: &Locator,
) -> Result<Client<'a>, Error> {
    let Resolution {
        used,
        used_by_kind,
        records,
        missing: _,
    } = resolution;
    let mut client = Client {
        key,
        items: Vec::new(),
        warnings: Vec::new(),
        hash: FNV_OFFSET,
    };
    let mut reported = vec![false; width];
    let mut client_item: Option<Item<'a>> = None;
    let mut client_conflict = false;
    let mut saw_client_row = false;
    for &i in members {
        let row = &rows[i];
        client.hash = fnv1a(fnv1a(client.hash, row.raw.as_bytes()), b"\n");
        if row.fields.len() > width {
            return Err(Error::at(
                format!("row {}", row.number),
                ErrorKind::TooManyColumns {
                    found: row.fields.len(),
                    allowed: width,
                    why: " by the header",
                },
            ));
        }
        let (chosen, columns_used): (std::ops::Range<usize>, &[bool]) = match kind_column {
            Some(k) => {
                let tag = row.fields.get(k).map_or("", |t| t.trim());
                let found = records
                    .iter()
                    .position(|r| r.mapping.tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(tag)));
                match found {
                    Some(r) => (r..r + 1, &used_by_kind[r]),
                    None if client_item.is_none() && records[0].mapping.tag.is_none() => (0..1, &used_by_kind[0]),
                    None => {
                        client.warnings.push(Warning::new(
                            locator.render(&Loc::Cell {
                                row: row.number,
                                column: k,
                            }),
                            format!("record kind {tag:?} is not in the mapping; row not imported"),
                        ));
                        continue;
                    }
                }
            }
            None => (0..records.len(), used),
        };
        for r in chosen {
            let record = &records[r];
            let is_client = record.mapping.kind == Kind::Client;
            if is_client && saw_client_row {
                // Wide exports may repeat the client's columns on every item
                // row; only a difference is news.
                let differs = kind_column.is_some()
                    || record.repeats.iter().any(|fields| {
                        csv_item(Kind::Client, fields, row)
                            .is_some_and(|again| client_item.as_ref().is_none_or(|first| !same_cells(first, &again)))
                    });
                if differs && !client_conflict {
                    client_conflict = kind_column.is_none();
                    client.warnings.push(Warning::new(
                        format!("row {}", row.number),
                        "another client row for the same client key; only the first is imported",
                    ));
                }
                continue;
            }
            saw_client_row |= is_client;
            for fields in &record.repeats {
                if let Some(item) = csv_item(record.mapping.kind, fields, row) {
                    if is_client {
                        client_item = Some(item);
                    } else {
                        client.items.push(item);
                    }
                }
            }
        }
        report_unused(row, columns_used, used, &mut reported, locator, &mut client.warnings);
    }
    let first_row = members.first().map_or(0, |&i| rows[i].number);
    if !saw_client_row && kind_column.is_some() {
        client.warnings.push(Warning::new(
            format!("row {first_row}"),
            "no client row for this client key; the Patient has only the client number",
        ));
    }
    let client_item = client_item.unwrap_or(Item {
        kind: Kind::Client,
        cells: vec![None; RecordSpec::of(Kind::Client).fields.len()],
        loc: Loc::Row(first_row),
    });
    client.items.insert(0, client_item);
    Ok(client)
}

/// Warns once per client and column about values the mapping does not read.
fn report_unused(
    row: &Row<'_>,
    columns_used: &[bool],
    used: &[bool],
    reported: &mut [bool],
    locator: &Locator,
    warnings: &mut Vec<Warning>,
) {
    for (column, value) in row.fields.iter().enumerate() {
        if !columns_used[column] && !reported[column] && !value.trim().is_empty() {
            reported[column] = true;
            let why = if used[column] {
                "not used for this record kind; not imported"
            } else {
                "column not used by the mapping; not imported"
            };
            warnings.push(Warning::new(
                locator.render(&Loc::Cell {
                    row: row.number,
                    column,
                }),
                why,
            ));
        }
    }
}

/// True when two items hold the same texts.
fn same_cells(a: &Item<'_>, b: &Item<'_>) -> bool {
    a.cells.len() == b.cells.len()
        && a.cells
            .iter()
            .zip(&b.cells)
            .all(|(x, y)| x.as_ref().map(|c| &c.text) == y.as_ref().map(|c| &c.text))
}

fn csv_item<'a>(kind: Kind, fields: &[(usize, Resolved)], row: &Row<'a>) -> Option<Item<'a>> {
    let mut cells: Vec<Option<Cell<'a>>> = vec![None; RecordSpec::of(kind).fields.len()];
    let mut any = false;
    for (index, source) in fields {
        cells[*index] = match source {
            Resolved::Column(column) => {
                let text = match row.fields.get(*column) {
                    Some(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
                    Some(Cow::Owned(s)) => Cow::Owned(s.trim().to_owned()),
                    None => continue,
                };
                if text.is_empty() {
                    continue;
                }
                any = true;
                Some(Cell {
                    text,
                    loc: Loc::Cell {
                        row: row.number,
                        column: *column,
                    },
                })
            }
            Resolved::Constant(value) => Some(Cell {
                text: Cow::Owned(value.clone()),
                loc: Loc::Mapping,
            }),
        };
    }
    any.then_some(Item {
        kind,
        cells,
        loc: Loc::Row(row.number),
    })
}

/// The value at a dotted path (`adres.straat`) below `value`.
fn at_path<'v>(value: &'v Json, path: &str) -> Option<&'v Json> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn json_clients<'a>(
    text: &'a str,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<Vec<Result<Client<'a>, Error>>, Error> {
    let root: Json =
        serde_json::from_str(text).map_err(|e| Error::whole(ErrorKind::Json(format!("not valid JSON: {e}"))))?;
    let base = if mapping.clients.is_empty() {
        "$".to_owned()
    } else {
        format!("$.{}", mapping.clients)
    };
    let Some(Json::Array(clients)) = at_path(&root, &mapping.clients) else {
        return Err(Error::at(
            base,
            ErrorKind::Json("expected the array of clients".to_owned()),
        ));
    };
    if clients.len() > limits.max_rows {
        return Err(Error::whole(ErrorKind::TooManyRows { limit: limits.max_rows }));
    }
    let mut budget = limits.max_rows;
    let reads = JsonReads::of(mapping);
    Ok(clients
        .iter()
        .enumerate()
        .map(|(i, c)| json_client(c, &format!("{base}[{i}]"), mapping, &reads, limits, &mut budget))
        .collect())
}

fn json_item<'a>(
    kind: Kind,
    record: &RecordMapping,
    value: &Json,
    path: &str,
    always: bool,
    max_field: usize,
) -> Result<Option<Item<'a>>, Error> {
    let mut cells: Vec<Option<Cell<'a>>> = vec![None; RecordSpec::of(kind).fields.len()];
    let mut any = false;
    for (index, source) in &record.fields {
        cells[*index] = match source {
            Source::Column(field) => {
                let Some(text) = at_path(value, field).and_then(json_text) else {
                    continue;
                };
                let loc = format!("{path}.{field}");
                if text.len() > max_field {
                    return Err(Error::at(loc, ErrorKind::FieldTooLong { limit: max_field }));
                }
                any = true;
                Some(Cell {
                    text: Cow::Owned(text),
                    loc: Loc::Path(loc),
                })
            }
            Source::Constant(text) => Some(Cell {
                text: Cow::Owned(text.clone()),
                loc: Loc::Mapping,
            }),
        };
    }
    Ok((any || always).then(|| Item {
        kind,
        cells,
        loc: Loc::Path(path.to_owned()),
    }))
}

/// What a JSON mapping reads: dotted paths relative to a client, and per
/// record array the paths relative to an item. Made once per export.
struct JsonReads<'m> {
    client: HashSet<&'m str>,
    arrays: HashMap<&'m str, (&'m RecordMapping, HashSet<&'m str>)>,
}

impl<'m> JsonReads<'m> {
    fn of(mapping: &'m Mapping) -> Self {
        let columns = |record: &'m RecordMapping| -> HashSet<&'m str> {
            record
                .fields
                .iter()
                .filter_map(|(_, s)| match s {
                    Source::Column(c) => Some(c.as_str()),
                    Source::Constant(_) => None,
                })
                .collect()
        };
        let mut client = HashSet::new();
        client.insert(mapping.key.as_str());
        let mut arrays = HashMap::new();
        for record in &mapping.records {
            match &record.array {
                Some(array) if record.kind != Kind::Client => {
                    arrays.insert(array.as_str(), (record, columns(record)));
                }
                _ => client.extend(columns(record)),
            }
        }
        Self { client, arrays }
    }
}

/// FNV-1a over what is written to it, so a client's JSON is hashed without
/// being kept.
struct FnvWriter(u64);

impl std::io::Write for FnvWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = fnv1a(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_client<'a>(
    value: &Json,
    path: &str,
    mapping: &Mapping,
    reads: &JsonReads<'_>,
    limits: &Limits,
    budget: &mut usize,
) -> Result<Client<'a>, Error> {
    if !value.is_object() {
        return Err(Error::at(path, ErrorKind::Json("expected a client object".to_owned())));
    }
    let key = at_path(value, &mapping.key)
        .and_then(json_text)
        .ok_or_else(|| Error::at(format!("{path}.{}", mapping.key), ErrorKind::MissingKey))?;
    let mut hash = FnvWriter(FNV_OFFSET);
    // Writing a parsed value to a hasher cannot fail.
    let _ = serde_json::to_writer(&mut hash, value);
    let mut client = Client {
        key,
        items: Vec::new(),
        warnings: Vec::new(),
        hash: hash.0,
    };
    for record in &mapping.records {
        if record.kind == Kind::Client {
            client.items.push(
                json_item(Kind::Client, record, value, path, true, limits.max_field_bytes)?.unwrap_or_else(|| Item {
                    kind: Kind::Client,
                    cells: Vec::new(),
                    loc: Loc::Path(path.to_owned()),
                }),
            );
            continue;
        }
        let Some(array_path) = record.array.as_deref() else {
            continue;
        };
        match at_path(value, array_path) {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                for (j, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.{array_path}[{j}]");
                    if *budget == 0 {
                        return Err(Error::at(item_path, ErrorKind::TooManyRows { limit: limits.max_rows }));
                    }
                    *budget -= 1;
                    if item.is_object() {
                        client.items.extend(json_item(
                            record.kind,
                            record,
                            item,
                            &item_path,
                            false,
                            limits.max_field_bytes,
                        )?);
                    } else {
                        client
                            .warnings
                            .push(Warning::new(item_path, "expected an object; not imported"));
                    }
                }
            }
            Some(_) => client.warnings.push(Warning::new(
                format!("{path}.{array_path}"),
                "expected an array; not imported",
            )),
        }
    }
    let mut unread = Unread {
        reported: HashSet::new(),
        warnings: &mut client.warnings,
    };
    unread.walk(value, "", path, "", &reads.client, Some(&reads.arrays));
    Ok(client)
}

/// Warnings for keys of a client the mapping does not read, once per key
/// pattern (`diagnoses[*].hobby`) per client.
struct Unread<'w> {
    reported: HashSet<String>,
    warnings: &'w mut Vec<Warning>,
}

impl Unread<'_> {
    /// `relative` is the dotted path below `base` (a JSON path), `pattern`
    /// what goes before it in the de-duplication key.
    fn walk(
        &mut self,
        value: &Json,
        relative: &str,
        base: &str,
        pattern: &str,
        read: &HashSet<&str>,
        arrays: Option<&HashMap<&str, (&RecordMapping, HashSet<&str>)>>,
    ) {
        match value {
            Json::Object(map) => {
                for (k, v) in map {
                    let rel: Cow<'_, str> = if relative.is_empty() {
                        Cow::Borrowed(k)
                    } else {
                        Cow::Owned(format!("{relative}.{k}"))
                    };
                    if let Some((_, item_read)) = arrays.and_then(|a| a.get(rel.as_ref())) {
                        if let Json::Array(items) = v {
                            let item_pattern = format!("{rel}[*].");
                            for (j, item) in items.iter().enumerate() {
                                if item.is_object() {
                                    let item_base = format!("{base}.{rel}[{j}]");
                                    self.walk(item, "", &item_base, &item_pattern, item_read, None);
                                }
                            }
                        }
                        continue;
                    }
                    if !read.contains(rel.as_ref()) {
                        self.walk(v, &rel, base, pattern, read, arrays);
                    }
                }
            }
            Json::Null => {}
            Json::String(s) if s.trim().is_empty() => {}
            _ => {
                if !read.contains(relative) && self.reported.insert(format!("{pattern}{relative}")) {
                    self.warnings.push(Warning::new(
                        format!("{base}.{relative}"),
                        "field not used by the mapping; not imported",
                    ));
                }
            }
        }
    }
}

/// How well a header line fits a CSV mapping: `None` without the key (and
/// kind) column or with fewer than half the mapped columns, else the share
/// of mapped columns present.
pub(crate) fn csv_shape_fit(text: &str, mapping: &Mapping, delimiter: Option<u8>) -> Option<f64> {
    let first = text.split('\n').next().unwrap_or_default();
    let delimiter = delimiter.unwrap_or_else(|| csv::detect_delimiter(first));
    let rows = csv::read(first, delimiter, &Limits::default()).ok()?;
    let names: HashSet<&str> = rows.first()?.fields.iter().map(|f| f.trim()).collect();
    let required = std::iter::once(&mapping.key).chain(&mapping.kind_column);
    if !required.into_iter().all(|c| names.contains(c.as_str())) {
        return None;
    }
    let mapped: Vec<String> = mapping
        .records
        .iter()
        .flat_map(|r| &r.fields)
        .filter_map(|(_, source)| match source {
            Source::Column(c) => Some(c.replace("{n}", "1")),
            Source::Constant(_) => None,
        })
        .collect();
    let present = mapped.iter().filter(|c| names.contains(c.as_str())).count();
    // Column counts are far below 2^52: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let share = present as f64 / mapped.len().max(1) as f64;
    (share >= 0.5).then_some(share)
}

/// True when the clients array is where the mapping says and its first
/// client has the key and at least one mapped client field.
pub(crate) fn json_shape_fits(root: &Json, mapping: &Mapping) -> bool {
    let Some(Json::Array(clients)) = at_path(root, &mapping.clients) else {
        return false;
    };
    let Some(first) = clients.first() else {
        return false;
    };
    at_path(first, &mapping.key).is_some()
        && mapping.record(Kind::Client).is_some_and(|r| {
            r.fields
                .iter()
                .any(|(_, s)| matches!(s, Source::Column(c) if at_path(first, c).is_some()))
        })
}
