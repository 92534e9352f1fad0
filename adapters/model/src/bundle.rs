//! Building FHIR transaction Bundles: deterministic ids, `urn:uuid:` full
//! URLs that references can point at, and conditional updates on business
//! identifiers so receivers de-duplicate.

use std::borrow::Cow;
use std::ops::Range;

use sha1::{Digest as _, Sha1};
use uuid::Uuid;

use crate::json::{Json, Object, Value, write_str};
use crate::writer::ObjectWriter;

/// The namespace of zorgpoort's UUID v5 ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9d4b_5e07_8a61_2f0c_4b7d_e913);

/// Makes ids that are the same whenever the same message is converted again:
/// UUID v5 over sender, message id and the resource's position key.
#[derive(Clone)]
pub struct IdGenerator {
    /// SHA-1 over the namespace and `sender|message_id|`, shared by all ids
    /// of the message (the same value `Uuid::new_v5` computes, in pieces).
    prefix: Sha1,
}

impl IdGenerator {
    /// Ids for one message of one sender.
    pub fn new(sender: &str, message_id: &str) -> Self {
        let mut prefix = Sha1::new();
        prefix.update(NAMESPACE.as_bytes());
        prefix.update(sender.as_bytes());
        prefix.update(b"|");
        prefix.update(message_id.as_bytes());
        prefix.update(b"|");
        Self { prefix }
    }

    /// The id for the resource identified by `key` inside this message.
    pub fn id(&self, key: &str) -> Uuid {
        self.id_of(&[key])
    }

    /// The id of the key made of `parts`, without joining them first.
    fn id_of(&self, parts: &[&str]) -> Uuid {
        let mut hash = self.prefix.clone();
        for part in parts {
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_sha1_bytes(bytes).into_uuid()
    }
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGenerator").finish_non_exhaustive()
    }
}

/// The lower-case hyphenated text of an id.
fn uuid_text(id: Uuid) -> String {
    let mut buffer = Uuid::encode_buffer();
    id.hyphenated().encode_lower(&mut buffer).to_owned()
}

/// A handle to an entry added to a [`TransactionBuilder`] as a tree: it can
/// be referred to, and its resource added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef(usize);

/// A handle to an entry added as written JSON ([`ResourceWriter::finish`]):
/// it can be referred to, and it is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenRef(usize);

/// Either kind of entry handle, for what works on both: references, the
/// full URL, the resource type.
pub trait Entry: Copy + sealed::Sealed {}

impl Entry for EntryRef {}
impl Entry for WrittenRef {}

mod sealed {
    /// The place of an entry in its builder.
    pub trait Sealed {
        fn index(self) -> usize;
    }

    impl Sealed for super::EntryRef {
        fn index(self) -> usize {
            self.0
        }
    }

    impl Sealed for super::WrittenRef {
        fn index(self) -> usize {
            self.0
        }
    }
}

/// How the receiver is asked to store an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request<'r> {
    /// `PUT Type/id`: idempotent by the deterministic id.
    Update,
    /// `PUT Type?identifier=system|value`: match on the business identifier.
    ConditionalUpdate { system: Cow<'r, str>, value: Cow<'r, str> },
}

#[derive(Debug)]
struct BundleEntry<'a> {
    resource_type: &'static str,
    full_url: FullUrl,
    resource: Resource<'a>,
}

/// An entry's resource, as a tree or as written JSON.
#[derive(Debug)]
enum Resource<'a> {
    /// Fields without `resourceType` and `id`, which the Bundle puts in
    /// front, and how the receiver is asked to store it.
    Tree(Object<'a>, Request<'static>),
    /// Written into the builder's text, see [`WrittenSpan`].
    Written(WrittenSpan),
}

/// Where a written entry sits in the builder's text. It is written as a
/// transaction's entry, `{"fullUrl":...,"resource":{...},"request":{...}}`,
/// so a transaction whose entries are all written is that text as it is.
#[derive(Debug, Clone)]
struct WrittenSpan {
    /// The whole entry.
    entry: Range<usize>,
    /// The resource within it.
    resource: Range<usize>,
    /// For a conditional update, where its resource leaves out the `id`
    /// (after `"resourceType":"Type"`), which a document's entry has.
    id_at: Option<usize>,
}

/// A resource written directly as JSON (see [`ObjectWriter`]) into the
/// Bundle's text, with its `resourceType` and `id` already in place.
/// [`ResourceWriter::finish`] adds it as an entry; a writer dropped before
/// that takes its text back.
#[derive(Debug)]
pub struct ResourceWriter<'b, 'a> {
    builder: &'b mut TransactionBuilder<'a>,
    resource_type: &'static str,
    full_url: FullUrl,
    /// `None` once finished.
    request: Option<Request<'b>>,
    /// Where the entry starts: after the `[` or `,` before it.
    start: usize,
    resource_start: usize,
    id_at: Option<usize>,
}

impl ResourceWriter<'_, '_> {
    /// The writer of the resource's fields (after `resourceType` and `id`).
    pub fn fields(&mut self) -> ObjectWriter<'_> {
        ObjectWriter::after_fields(&mut self.builder.written)
    }

    /// Adds the written resource as an entry; it cannot be changed afterwards.
    pub fn finish(mut self) -> WrittenRef {
        let request = self.request.take().unwrap_or(Request::Update);
        let text = &mut self.builder.written;
        text.push('}');
        let resource = self.resource_start..text.len();
        write_request(self.resource_type, &self.full_url, &request, text);
        text.push('}');
        let span = WrittenSpan {
            entry: self.start..text.len(),
            resource,
            id_at: self.id_at,
        };
        self.builder.entries.push(BundleEntry {
            resource_type: self.resource_type,
            full_url: self.full_url,
            resource: Resource::Written(span),
        });
        WrittenRef(self.builder.entries.len() - 1)
    }
}

impl Drop for ResourceWriter<'_, '_> {
    fn drop(&mut self) {
        if self.request.is_some() {
            // Not finished: the text goes, with the `[` or `,` before it.
            self.builder.written.truncate(self.start - 1);
        }
    }
}

const URN_UUID: &str = "urn:uuid:";

/// `urn:uuid:` followed by an entry's id, kept inline: every entry has one,
/// and references copy it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullUrl([u8; URN_UUID.len() + uuid::fmt::Hyphenated::LENGTH]);

impl FullUrl {
    fn of(id: Uuid) -> Self {
        let mut bytes = [0; URN_UUID.len() + uuid::fmt::Hyphenated::LENGTH];
        bytes[..URN_UUID.len()].copy_from_slice(URN_UUID.as_bytes());
        id.hyphenated().encode_lower(&mut bytes[URN_UUID.len()..]);
        Self(bytes)
    }

    /// The full URL.
    pub fn as_str(&self) -> &str {
        // ASCII by construction: the check cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id alone.
    pub fn id(&self) -> &str {
        &self.as_str()[URN_UUID.len()..]
    }
}

/// Collects the resources of one transaction Bundle.
#[derive(Debug)]
pub struct TransactionBuilder<'a> {
    ids: IdGenerator,
    entries: Vec<BundleEntry<'a>>,
    /// The written entries, `[`-opened and comma-separated (see [`WrittenSpan`]).
    written: String,
}

impl<'a> TransactionBuilder<'a> {
    /// A builder whose ids derive from `ids`.
    pub fn new(ids: IdGenerator) -> Self {
        Self {
            ids,
            entries: Vec::with_capacity(16),
            written: String::new(),
        }
    }

    /// Adds a resource stored by its deterministic id (`key` unique in the message).
    pub fn add(&mut self, resource_type: &'static str, key: &str, resource: Object<'a>) -> EntryRef {
        self.push(resource_type, key, resource, Request::Update)
    }

    /// Adds a resource the receiver matches on `system|value`.
    pub fn add_conditional(
        &mut self,
        resource_type: &'static str,
        key: &str,
        resource: Object<'a>,
        system: &str,
        value: &str,
    ) -> EntryRef {
        let request = Request::ConditionalUpdate {
            system: Cow::Owned(system.to_owned()),
            value: Cow::Owned(value.to_owned()),
        };
        self.push(resource_type, key, resource, request)
    }

    fn push(
        &mut self,
        resource_type: &'static str,
        key: &str,
        resource: Object<'a>,
        request: Request<'static>,
    ) -> EntryRef {
        let full_url = self.full_url_of(resource_type, key);
        self.entries.push(BundleEntry {
            resource_type,
            full_url,
            resource: Resource::Tree(resource, request),
        });
        EntryRef(self.entries.len() - 1)
    }

    /// The `urn:uuid:` full URL of the entry `resource_type` and `key` make.
    fn full_url_of(&self, resource_type: &str, key: &str) -> FullUrl {
        FullUrl::of(self.ids.id_of(&[resource_type, "/", key]))
    }

    /// A writer for a resource stored by its deterministic id (`key`
    /// unique in the message).
    pub fn writer(&mut self, resource_type: &'static str, key: &str) -> ResourceWriter<'_, 'a> {
        self.writer_for(resource_type, key, Request::Update)
    }

    /// A writer for a resource the receiver matches on `system|value`.
    pub fn conditional_writer<'b>(
        &'b mut self,
        resource_type: &'static str,
        key: &str,
        system: &'b str,
        value: &'b str,
    ) -> ResourceWriter<'b, 'a> {
        let request = Request::ConditionalUpdate {
            system: Cow::Borrowed(system),
            value: Cow::Borrowed(value),
        };
        self.writer_for(resource_type, key, request)
    }

    /// The writer with the entry's `fullUrl`, `resourceType` and (but for a
    /// conditional update) `id` written.
    fn writer_for<'b>(
        &'b mut self,
        resource_type: &'static str,
        key: &str,
        request: Request<'b>,
    ) -> ResourceWriter<'b, 'a> {
        let full_url = self.full_url_of(resource_type, key);
        let text = &mut self.written;
        if text.is_empty() {
            // Room for a message's Bundle (a lab report is about 11 KB).
            text.reserve(16 * 1024);
            text.push('[');
        } else {
            text.push(',');
        }
        let start = text.len();
        open_entry(&full_url, text);
        let resource_start = text.len();
        text.push_str("{\"resourceType\":\"");
        text.push_str(resource_type);
        text.push('"');
        let id_at = match request {
            Request::Update => {
                write_id(&full_url, text);
                None
            }
            Request::ConditionalUpdate { .. } => Some(text.len()),
        };
        ResourceWriter {
            builder: self,
            resource_type,
            full_url,
            request: Some(request),
            start,
            resource_start,
            id_at,
        }
    }

    /// The reference an entry added later as `resource_type` with `key`
    /// will have, as [`Self::shared_reference`] writes it without a display:
    /// for resources that point at one added after them.
    pub fn planned_reference(&self, resource_type: &str, key: &str) -> Json {
        reference_json(self.full_url_of(resource_type, key).as_str(), None)
    }

    /// The `urn:uuid:` reference to an entry, as `{"reference": ...}`.
    pub fn reference(&self, entry: impl Entry) -> Object<'a> {
        Object::new().with("reference", self.full_url(entry).as_str().to_owned())
    }

    /// The reference to an entry with its `display` (left out when empty),
    /// written once: for a reference that many resources repeat.
    pub fn shared_reference(&self, entry: impl Entry, display: Option<&str>) -> Json {
        reference_json(self.entries[entry.index()].full_url.as_str(), display)
    }

    /// The entry's `urn:uuid:` full URL.
    pub fn full_url(&self, entry: impl Entry) -> FullUrl {
        self.entries[entry.index()].full_url
    }

    /// The resource of an entry, to add to it later (notes, links).
    pub fn resource_mut(&mut self, entry: EntryRef) -> &mut Object<'a> {
        match &mut self.entries[entry.0].resource {
            Resource::Tree(resource, _) => resource,
            // An `EntryRef` is only made for a tree.
            Resource::Written(_) => unreachable!("an EntryRef names a tree entry"),
        }
    }

    /// The resource type of an entry.
    pub fn resource_type(&self, entry: impl Entry) -> &'static str {
        self.entries[entry.index()].resource_type
    }

    /// All entries added so far, in order, to refer to.
    pub fn entries(&self) -> impl Iterator<Item = impl Entry + use<>> + use<> {
        (0..self.entries.len()).map(WrittenRef)
    }

    /// The id generator, for ids outside the entries.
    pub fn ids(&self) -> &IdGenerator {
        &self.ids
    }

    /// `Bundle.entry`, written in one go: the resources are final by now,
    /// and nothing reads the tree of a finished Bundle. A transaction of
    /// written entries only is the written text as it is.
    fn entries_json(self, bundled: Bundled) -> Option<Json> {
        if self.entries.is_empty() {
            return None;
        }
        let all_written = self.entries.iter().all(|e| matches!(e.resource, Resource::Written(_)));
        if bundled == Bundled::Transaction && all_written {
            let mut text = self.written;
            text.push(']');
            return Some(Json::from_written(text));
        }
        let mut out = String::with_capacity(self.written.len() + self.entries.len() * 1024);
        out.push('[');
        for (i, entry) in self.entries.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            entry.write(bundled, &self.written, &mut out);
        }
        out.push(']');
        Some(Json::from_written(out))
    }

    /// The Bundle: `{"resourceType":"Bundle","type":"transaction",...}`.
    pub fn finish(self, bundle_key: &str) -> Object<'a> {
        let bundle_id = uuid_text(self.ids.id_of(&["Bundle/", bundle_key]));
        Object::new()
            .with("resourceType", "Bundle")
            .with("id", bundle_id)
            .with("type", "transaction")
            .with("entry", self.entries_json(Bundled::Transaction))
    }

    /// The Bundle as a FHIR document: `{"type":"document",...}` with the
    /// document's `identifier` and `timestamp` (bdl-9, bdl-10) and entries
    /// without requests. The first entry added must be the Composition (bdl-11).
    pub fn finish_document(self, bundle_key: &str, identifier: Object<'a>, timestamp: String) -> Object<'a> {
        let bundle_id = uuid_text(self.ids.id_of(&["Bundle/", bundle_key]));
        Object::new()
            .with("resourceType", "Bundle")
            .with("id", bundle_id)
            .with("identifier", identifier)
            .with("type", "document")
            .with("timestamp", timestamp)
            .with("entry", self.entries_json(Bundled::Document))
    }
}

/// The kind of Bundle the entries go into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bundled {
    /// With a `request` per entry.
    Transaction,
    /// Without requests, every resource with its id.
    Document,
}

/// `{"reference":full_url,"display":display}`, without an empty display.
fn reference_json(full_url: &str, display: Option<&str>) -> Json {
    let mut text = String::with_capacity(full_url.len() + display.map_or(0, str::len) + 32);
    text.push_str("{\"reference\":");
    write_str(full_url, &mut text);
    if let Some(display) = display.filter(|d| !d.is_empty()) {
        text.push_str(",\"display\":");
        write_str(display, &mut text);
    }
    text.push('}');
    Json::from_written(text)
}

impl BundleEntry<'_> {
    /// `{"fullUrl":...,"resource":...,"request":...}`: `resourceType` and
    /// `id` in front of the resource, except the `id` of a conditional
    /// update, which the receiver's match decides. A written resource is
    /// taken from `written`.
    fn write(self, bundled: Bundled, written: &str, out: &mut String) {
        match (self.resource, bundled) {
            (Resource::Written(span), Bundled::Transaction) => out.push_str(&written[span.entry]),
            (Resource::Written(span), Bundled::Document) => {
                open_entry(&self.full_url, out);
                match span.id_at {
                    Some(at) => {
                        out.push_str(&written[span.resource.start..at]);
                        write_id(&self.full_url, out);
                        out.push_str(&written[at..span.resource.end]);
                    }
                    None => out.push_str(&written[span.resource]),
                }
                out.push('}');
            }
            (Resource::Tree(mut resource, request), bundled) => {
                let conditional = matches!(request, Request::ConditionalUpdate { .. });
                open_entry(&self.full_url, out);
                let resource_type = ("resourceType", Value::from(self.resource_type));
                if bundled == Bundled::Transaction && conditional {
                    resource.prepend([resource_type]);
                } else {
                    resource.prepend([resource_type, ("id", Value::from(self.full_url.id()))]);
                }
                resource.write(out);
                if bundled == Bundled::Transaction {
                    write_request(self.resource_type, &self.full_url, &request, out);
                }
                out.push('}');
            }
        }
    }
}

// The pieces of an entry's JSON. A full URL is ASCII with nothing JSON
// escapes, and so is a request URL: percent-encoding leaves no quote,
// backslash or control character.

/// `{"fullUrl":"...","resource":`: an entry up to its resource.
fn open_entry(full_url: &FullUrl, out: &mut String) {
    out.push_str("{\"fullUrl\":\"");
    out.push_str(full_url.as_str());
    out.push_str("\",\"resource\":");
}

/// `,"id":"..."`: a resource's id, after its `resourceType`.
fn write_id(full_url: &FullUrl, out: &mut String) {
    out.push_str(",\"id\":\"");
    out.push_str(full_url.id());
    out.push('"');
}

/// `,"request":{...}`, after an entry's resource: `PUT Type/id`, or
/// `PUT Type?identifier=system|value` for a conditional update.
fn write_request(resource_type: &str, full_url: &FullUrl, request: &Request<'_>, out: &mut String) {
    out.push_str(",\"request\":{\"method\":\"PUT\",\"url\":\"");
    out.push_str(resource_type);
    match request {
        Request::Update => {
            out.push('/');
            out.push_str(full_url.id());
        }
        Request::ConditionalUpdate { system, value } => {
            out.push_str("?identifier=");
            percent_encode(system, out);
            out.push('|');
            percent_encode(value, out);
        }
    }
    out.push_str("\"}");
}

/// Percent-encodes a query parameter value (RFC 3986), keeping the
/// characters FHIR servers expect to see literally in a system URI.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let literal = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/@!$'()*,;".contains(&b);
    // Runs of literal characters (nearly all of a system URI) are copied whole.
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if !literal(b) {
            // A run of literals is ASCII, so it starts and ends on character
            // boundaries; an empty one may not (inside a multi-byte character).
            if start < i {
                out.push_str(&text[start..i]);
            }
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v5_of_sender_message_and_key() {
        let id = IdGenerator::new("HIS", "MSG1").id("Patient/1");
        assert_eq!(id, Uuid::new_v5(&NAMESPACE, b"HIS|MSG1|Patient/1"));
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = IdGenerator::new("HIS", "MSG1");
        assert_eq!(a.id("Patient/1"), IdGenerator::new("HIS", "MSG1").id("Patient/1"));
        assert_ne!(a.id("Patient/1"), a.id("Patient/2"));
        assert_ne!(a.id("Patient/1"), IdGenerator::new("HIS", "MSG2").id("Patient/1"));
    }

    #[test]
    fn ids_are_uuid_v5_of_namespace_and_name() {
        let ids = IdGenerator::new("LAB01:30", "LAB2603180001/1");
        let expected = Uuid::new_v5(&NAMESPACE, b"LAB01:30|LAB2603180001/1|Observation/BEP/13");
        assert_eq!(ids.id("Observation/BEP/13"), expected);
        assert_eq!(ids.id_of(&["Observation", "/", "BEP/13"]), expected);
        let long = "x".repeat(200);
        assert_eq!(
            IdGenerator::new(&long, "1").id("Patient/PID"),
            Uuid::new_v5(&NAMESPACE, format!("{long}|1|Patient/PID").as_bytes())
        );
    }

    #[test]
    fn percent_encoding_keeps_literals_and_encodes_every_other_byte() {
        let mut out = String::new();
        percent_encode("http://x/é 1|a%b~", &mut out);
        assert_eq!(out, "http://x/%C3%A9%201%7Ca%25b~");
        out.clear();
        percent_encode("éé", &mut out);
        assert_eq!(out, "%C3%A9%C3%A9");
    }

    #[test]
    fn entries_carry_full_url_and_request() {
        let mut b = TransactionBuilder::new(IdGenerator::new("HIS", "1"));
        let p = b.add_conditional(
            "Patient",
            "1",
            Object::new().with("gender", "male"),
            "http://x/bsn",
            "1 2&3",
        );
        let o = b.add("Observation", "1", Object::new().with("subject", b.reference(p)));
        assert_eq!(b.resource_type(o), "Observation");
        let json: serde_json::Value = serde_json::from_str(&b.finish("1").to_json()).unwrap();
        assert_eq!(json["type"], "transaction");
        let patient = &json["entry"][0];
        assert_eq!(patient["request"]["url"], "Patient?identifier=http://x/bsn|1%202%263");
        assert!(patient["resource"].get("id").is_none());
        let obs = &json["entry"][1];
        assert_eq!(obs["resource"]["subject"]["reference"], patient["fullUrl"]);
        assert_eq!(
            obs["request"]["url"].as_str().unwrap(),
            format!("Observation/{}", obs["resource"]["id"].as_str().unwrap())
        );
    }

    #[test]
    fn shared_references_are_the_references_with_their_display() {
        let mut b = TransactionBuilder::new(IdGenerator::new("LAB", "1"));
        let lab = b.add("Organization", "ZKH", Object::new().with("name", "Lab"));
        let with_display = b.reference(lab).with("display", "Lab \"Noord\"");
        assert_eq!(
            b.shared_reference(lab, Some("Lab \"Noord\"")).as_str(),
            with_display.to_json()
        );
        assert_eq!(b.shared_reference(lab, Some("")).as_str(), b.reference(lab).to_json());
        assert_eq!(b.shared_reference(lab, None).as_str(), b.reference(lab).to_json());
    }

    proptest::proptest! {
        #[test]
        fn shared_references_carry_any_display(display in "(?s).{0,40}") {
            let mut b = TransactionBuilder::new(IdGenerator::new("LAB", "1"));
            let lab = b.add("Organization", "ZKH", Object::new().with("name", "Lab"));
            let json: serde_json::Value = serde_json::from_str(b.shared_reference(lab, Some(&display)).as_str()).unwrap();
            let full_url = b.full_url(lab);
            proptest::prop_assert_eq!(json["reference"].as_str(), Some(full_url.as_str()));
            proptest::prop_assert_eq!(json["display"].as_str(), Some(display.as_str()).filter(|d| !d.is_empty()));
        }
    }

    #[test]
    fn written_resources_are_the_tree_resources() {
        let write = |bundle: &mut TransactionBuilder<'_>| {
            let mut patient = bundle.conditional_writer("Patient", "1", "http://x/bsn", "123");
            patient.fields().field("gender", "male");
            let patient = patient.finish();
            let subject = bundle.shared_reference(patient, None);
            let mut observation = bundle.writer("Observation", "1");
            observation.fields().field("status", "final").field("subject", subject);
            observation.finish();
        };
        let tree = |bundle: &mut TransactionBuilder<'_>| {
            let patient = Object::new().with("gender", "male");
            let patient = bundle.add_conditional("Patient", "1", patient, "http://x/bsn", "123");
            let observation = Object::new()
                .with("status", "final")
                .with("subject", bundle.reference(patient));
            bundle.add("Observation", "1", observation);
        };
        let transaction = |fill: &dyn Fn(&mut TransactionBuilder<'_>)| {
            let mut bundle = TransactionBuilder::new(IdGenerator::new("HIS", "1"));
            fill(&mut bundle);
            bundle.finish("1").to_json()
        };
        let document = |fill: &dyn Fn(&mut TransactionBuilder<'_>)| {
            let mut bundle = TransactionBuilder::new(IdGenerator::new("HIS", "1"));
            fill(&mut bundle);
            bundle
                .finish_document("1", Object::new().with("value", "x"), "2026".into())
                .to_json()
        };
        let written = transaction(&write);
        assert_eq!(written, transaction(&tree));
        // A conditional update leaves the id to the receiver; a document keeps it.
        assert!(!written.contains("\"Patient\",\"id\""), "{written}");
        let written = document(&write);
        assert_eq!(written, document(&tree));
        assert!(written.contains("\"Patient\",\"id\""), "{written}");
    }

    #[test]
    fn a_writer_dropped_unfinished_leaves_nothing() {
        let mut b = TransactionBuilder::new(IdGenerator::new("LAB", "1"));
        b.writer("Observation", "dropped").fields().field("status", "final");
        let mut kept = b.writer("Observation", "kept");
        kept.fields().field("status", "final");
        kept.finish();
        b.writer("Observation", "dropped too").fields().field("status", "final");
        let json: serde_json::Value = serde_json::from_str(&b.finish("1").to_json()).unwrap();
        let entries = json["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["fullUrl"], format!("urn:uuid:{}", b_id("kept")));
    }

    fn b_id(key: &str) -> Uuid {
        IdGenerator::new("LAB", "1").id(&format!("Observation/{key}"))
    }

    #[test]
    fn written_and_tree_entries_keep_their_order() {
        let mut b = TransactionBuilder::new(IdGenerator::new("LAB", "1"));
        b.add("Observation", "tree 1", Object::new().with("status", "final"));
        b.writer("Observation", "written").finish();
        b.add("Observation", "tree 2", Object::new().with("status", "final"));
        let json: serde_json::Value = serde_json::from_str(&b.finish("1").to_json()).unwrap();
        let urls: Vec<String> = json["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = ["tree 1", "written", "tree 2"]
            .iter()
            .map(|key| format!("urn:uuid:{}", b_id(key)))
            .collect();
        assert_eq!(urls, expected);
        assert_eq!(json["entry"][1]["request"]["method"], "PUT");
    }

    #[test]
    fn planned_references_are_the_references_of_the_entries_added_later() {
        let mut b = TransactionBuilder::new(IdGenerator::new("LAB", "1"));
        let planned = b.planned_reference("ServiceRequest", "request");
        let request = b.writer("ServiceRequest", "request").finish();
        assert_eq!(planned, b.shared_reference(request, None));
    }

    #[test]
    fn documents_have_identifier_timestamp_and_no_requests() {
        let mut b = TransactionBuilder::new(IdGenerator::new("GP", "DOC1"));
        let composition = b.add("Composition", "1", Object::new().with("status", "final"));
        let patient = b.add("Patient", "1", Object::new().with("gender", "female"));
        let subject = b.reference(patient);
        b.resource_mut(composition).set("subject", subject);
        let identifier = Object::new()
            .with("system", "urn:ietf:rfc:3986")
            .with("value", "urn:oid:1.2.3");
        let json: serde_json::Value = serde_json::from_str(
            &b.finish_document("1", identifier, "2026-01-02T03:04:05Z".into())
                .to_json(),
        )
        .unwrap();
        assert_eq!(json["type"], "document");
        assert_eq!(json["timestamp"], "2026-01-02T03:04:05Z");
        assert_eq!(json["identifier"]["value"], "urn:oid:1.2.3");
        let first = &json["entry"][0];
        assert_eq!(first["resource"]["resourceType"], "Composition");
        assert!(first.get("request").is_none());
        assert_eq!(first["resource"]["subject"]["reference"], json["entry"][1]["fullUrl"]);
        assert!(json["entry"][1]["resource"]["id"].is_string());
    }
}
