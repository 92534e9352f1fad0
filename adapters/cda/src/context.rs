//! The state of one conversion: the parsed document, the Bundle being
//! built, the resources made once and referenced often (patient,
//! practitioners, organisations) and the warnings.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};
use zorgpoort_model::datatypes::LocalZone;
use zorgpoort_model::{EntryRef, Object, TransactionBuilder, Warning};

use crate::error::{Error, ErrorKind};

/// How deep nested sections and narrative blocks are followed; below this
/// their text is kept flat and a warning says so. Independent of
/// `Limits::max_depth` so a generous limit cannot exhaust the stack.
pub const MAX_RECURSION: usize = 48;

/// Warnings kept per document; past this they are counted, and one last
/// warning says how many more there were, so a hostile document cannot
/// grow the result without bound.
pub const MAX_WARNINGS: usize = 10_000;

/// The longest text taken from the narrative for one coded element or entry.
pub const MAX_REFERENCED_CHARS: usize = 4096;

pub struct Ctx<'a, 'i> {
    pub doc: &'a Document<'i>,
    pub zone: LocalZone,
    pub warnings: Vec<Warning>,
    pub bundle: TransactionBuilder<'static>,
    pub patient: Option<EntryRef>,
    /// Conditions that are diagnoses of the document's encounter, with
    /// their role (`Encounter.diagnosis.use`), linked once the body is read.
    pub diagnoses: Vec<(EntryRef, &'static str)>,
    /// Narrative elements by their `ID`, for `originalText/reference`.
    narrative_ids: HashMap<&'a str, Node<'a, 'i>>,
    /// Resources already made for an identifier or position, so an author
    /// named in every entry becomes one resource.
    shared: HashMap<String, EntryRef>,
    /// In the body an unreadable timestamp costs only itself: it is left
    /// out with a warning rather than failing the whole document.
    pub lenient_dates: bool,
    /// Warnings from places that only read the context.
    deferred: RefCell<Vec<Warning>>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    suppressed: Cell<usize>,
    /// Each element's 1-based index among its same-named siblings, by node
    /// id (0: not known yet), filled a parent at a time so paths cost no
    /// rescans of long sibling lists. At most one slot per node, so bounded
    /// by `Limits::max_nodes`.
    sibling_index: RefCell<Vec<u32>>,
    /// Narrative texts already extracted, by element.
    narrative_texts: RefCell<HashMap<NodeId, Option<String>>>,
    /// Bytes of narrative text that references may still copy into entries.
    reference_budget: Cell<usize>,
    /// The last located (byte offset, line): warnings come mostly in
    /// document order, so each location counts only the newlines since the
    /// previous one.
    last_line: Cell<(usize, usize)>,
}

impl<'a, 'i> Ctx<'a, 'i> {
    pub fn new(
        doc: &'a Document<'i>,
        narrative_ids: HashMap<&'a str, Node<'a, 'i>>,
        zone: LocalZone,
        bundle: TransactionBuilder<'static>,
    ) -> Self {
        Self {
            doc,
            zone,
            warnings: Vec::new(),
            bundle,
            patient: None,
            diagnoses: Vec::new(),
            narrative_ids,
            shared: HashMap::new(),
            lenient_dates: false,
            deferred: RefCell::new(Vec::new()),
            suppressed: Cell::new(0),
            sibling_index: RefCell::new(Vec::new()),
            narrative_texts: RefCell::new(HashMap::new()),
            reference_budget: Cell::new(doc.input_text().len().saturating_mul(4).max(1 << 20)),
            last_line: Cell::new((0, 1)),
        }
    }

    /// Records that `node` (or part of it) was not mapped.
    pub fn warn(&mut self, node: Node<'_, '_>, message: impl Into<String>) {
        self.flush();
        if self.warnings.len() >= MAX_WARNINGS {
            self.suppressed.set(self.suppressed.get() + 1);
            return;
        }
        let location = self.location(node);
        self.warnings.push(Warning::new(location, message));
    }

    /// Records a warning from a place that only reads the context.
    pub fn defer_warning(&self, node: Node<'_, '_>, message: String) {
        let mut deferred = self.deferred.borrow_mut();
        if self.warnings.len() + deferred.len() >= MAX_WARNINGS {
            self.suppressed.set(self.suppressed.get() + 1);
            return;
        }
        deferred.push(Warning::new(self.location(node), message));
    }

    /// Flushes the deferred warnings and says how many were left out.
    pub fn finish_warnings(&mut self, root: Node<'_, '_>) {
        self.flush();
        let suppressed = self.suppressed.get();
        if suppressed > 0 {
            let message = format!("{suppressed} further warnings left out (at most {MAX_WARNINGS} are kept)");
            self.warnings.push(Warning::new(self.location(root), message));
        }
    }

    /// Moves the deferred warnings to the others, keeping their order.
    pub fn flush(&mut self) {
        self.warnings.append(self.deferred.get_mut());
    }

    /// An error at `node`.
    pub fn error(&self, node: Node<'_, '_>, kind: ErrorKind) -> Error {
        Error::at(self.location(node), kind)
    }

    /// `line L, column C (/path)` of `node`, as [`crate::xml::location`] gives it.
    pub fn location(&self, node: Node<'_, '_>) -> String {
        let text = self.doc.input_text();
        let offset = node.range().start.min(text.len());
        let (mut from, mut line) = self.last_line.get();
        if offset < from {
            (from, line) = (0, 1);
        }
        line += count_newlines(&text.as_bytes()[from..offset]);
        self.last_line.set((offset, line));
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        format!("line {line}, column {column} ({})", self.path(node))
    }

    /// The element path of `node`, as [`crate::xml::path`] gives it.
    fn path(&self, node: Node<'_, '_>) -> String {
        crate::xml::path_by(node, |n| self.index_among_siblings(n))
    }

    fn index_among_siblings(&self, node: Node<'_, '_>) -> usize {
        let slot = node.id().get_usize();
        if let Some(&index) = self.sibling_index.borrow().get(slot).filter(|&&i| i > 0) {
            return index as usize;
        }
        // Most elements have few siblings before them: counting those costs
        // less than numbering the whole list. Past a bound the list is
        // numbered once, so a long one is not rescanned for every warning.
        let name = node.tag_name().name();
        let mut same = 1;
        let mut sibling = node.prev_sibling();
        for _ in 0..SIBLING_SCAN {
            let Some(s) = sibling else { return same };
            if s.is_element() && s.tag_name().name() == name {
                same += 1;
            }
            sibling = s.prev_sibling();
        }
        if sibling.is_none() {
            return same;
        }
        let Some(parent) = node.parent() else { return 1 };
        let mut cache = self.sibling_index.borrow_mut();
        // A parent's children are numbered after it up to its last
        // descendant, so this covers every sibling of `node`.
        let last = parent.last_child().map_or(slot, |c| c.id().get_usize()).max(slot);
        if cache.len() <= last {
            cache.resize(last + 1, 0);
        }
        // Few distinct names among siblings is the rule; a map only for many.
        let mut few: Vec<(&str, u32)> = Vec::new();
        let mut many: HashMap<&str, u32> = HashMap::new();
        for sibling in parent.children().filter(Node::is_element) {
            let name = sibling.tag_name().name();
            let count = match few.iter().position(|(n, _)| *n == name) {
                Some(i) => {
                    few[i].1 += 1;
                    few[i].1
                }
                None if few.len() < 16 => {
                    few.push((name, 1));
                    1
                }
                None => {
                    let count = many.entry(name).or_insert(0);
                    *count += 1;
                    *count
                }
            };
            if let Some(cell) = cache.get_mut(sibling.id().get_usize()) {
                *cell = count;
            }
        }
        cache.get(slot).copied().filter(|&i| i > 0).map_or(1, |i| i as usize)
    }

    /// The narrative element a `reference/@value` ("#id") points at.
    pub fn narrative(&self, reference: &str) -> Option<Node<'a, 'i>> {
        self.narrative_ids.get(reference.strip_prefix('#')?).copied()
    }

    /// The text of the narrative element a `reference/@value` points at,
    /// extracted once per element: many entries may point at one large
    /// table, and re-reading it for each would be quadratic.
    ///
    /// Each entry gets its own copy, so a document could amplify one large
    /// table into gigabytes: a text is cut at [`MAX_REFERENCED_CHARS`], and
    /// all copies together may not exceed four times the input.
    pub fn narrative_text(&self, reference: &str) -> Option<String> {
        let node = self.narrative(reference)?;
        let cached = self.narrative_texts.borrow().get(&node.id()).cloned();
        let text = if let Some(text) = cached {
            text
        } else {
            let mut text = crate::xml::text(node);
            if let Some(t) = &mut text {
                if let Some((cut, _)) = t.char_indices().nth(MAX_REFERENCED_CHARS) {
                    t.truncate(cut);
                    t.push('…');
                    self.defer_warning(
                        node,
                        format!("referenced narrative text cut to {MAX_REFERENCED_CHARS} characters"),
                    );
                }
            }
            self.narrative_texts.borrow_mut().insert(node.id(), text.clone());
            text
        }?;
        let left = self.reference_budget.get();
        if text.len() > left {
            self.defer_warning(
                node,
                "narrative reference not resolved: the document's budget for copied text is spent".to_owned(),
            );
            return None;
        }
        self.reference_budget.set(left - text.len());
        Some(text)
    }

    /// The reference to the patient, when there is one.
    pub fn subject(&self) -> Option<Object<'static>> {
        self.patient.map(|p| self.bundle.reference(p))
    }

    /// A resource made once per `key`.
    pub fn shared(&self, key: &str) -> Option<EntryRef> {
        self.shared.get(key).copied()
    }

    /// Remembers a resource made for `key`.
    pub fn remember(&mut self, key: String, entry: EntryRef) {
        self.shared.insert(key, entry);
    }

    /// Warns once per element about the children of `node` that the mapping
    /// did not read: `handled` lists the names it did.
    pub fn warn_unmapped(&mut self, node: Node<'_, '_>, handled: &[&str]) {
        let mut names: Vec<&str> = Vec::new();
        for c in node.children().filter(Node::is_element) {
            let name = c.tag_name().name();
            if !handled.contains(&name) && !IGNORED.contains(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
        if !names.is_empty() {
            let message = format!("not mapped: {}", names.join(", "));
            self.warn(node, message);
        }
    }
}

/// How many preceding sibling nodes a path step counts before it numbers
/// all children of the parent instead.
const SIBLING_SCAN: usize = 64;

/// Elements that carry no data of their own: template and type markers,
/// realm codes.
const IGNORED: &[&str] = &["templateId", "typeId", "realmCode"];

/// The number of `\n` in `bytes`. Counting into a byte per block of 128
/// lets the compiler compare 16 or 32 bytes per instruction; a plain
/// `filter().count()` widens every byte to a `usize` first and is several
/// times slower, which showed in documents with warnings far apart.
#[allow(clippy::naive_bytecount)]
fn count_newlines(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(128);
    let mut count = 0;
    for chunk in &mut chunks {
        let in_chunk: u8 = chunk.iter().map(|&b| u8::from(b == b'\n')).sum();
        count += usize::from(in_chunk);
    }
    count + chunks.remainder().iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use zorgpoort_model::IdGenerator;

    use super::*;

    #[test]
    fn paths_number_same_named_siblings_in_short_and_long_lists() {
        let mut xml = String::from("<r><x/><x><y/><z/><y/></x>");
        for _ in 0..100 {
            xml.push_str("<a/><!-- c --><b/>\n");
        }
        xml.push_str("</r>");
        let doc = Document::parse(&xml).unwrap();
        let ctx = Ctx::new(
            &doc,
            HashMap::new(),
            LocalZone::Utc,
            TransactionBuilder::new(IdGenerator::new("a", "b")),
        );
        let elements: Vec<Node<'_, '_>> = doc.descendants().filter(Node::is_element).collect();
        let paths: Vec<String> = elements.iter().map(|&n| ctx.path(n)).collect();
        for (node, path) in elements.iter().zip(&paths) {
            assert_eq!(*path, crate::xml::path(*node));
        }
        assert_eq!(paths[5], "/r/x[2]/y[2]");
        assert_eq!(paths[6 + 2 * 79], "/r/a[80]");
        // The second time a long list is read from the numbering.
        assert_eq!(ctx.path(elements[6 + 2 * 79 + 1]), "/r/b[80]");
        assert_eq!(ctx.location(elements[8]).split(' ').nth(1), Some("2,"));
    }
}
