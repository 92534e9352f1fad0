//! A small JSON tree for emitting FHIR, with FHIR's "no empty values" rule
//! built in: empty strings, arrays and objects are never stored, so they can
//! never be written.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

/// A JSON value. Object keys are FHIR element names, which are always static.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A JSON string.
    Str(Cow<'a, str>),
    /// A JSON number, kept as its validated decimal text so no precision is lost.
    Num(Cow<'a, str>),
    /// A JSON boolean.
    Bool(bool),
    /// JSON `null`: only to keep `_element` arrays aligned with their values.
    Null,
    /// A JSON array.
    Arr(Vec<Value<'a>>),
    /// A JSON object with keys in insertion order.
    Obj(Object<'a>),
    /// A value written once and placed as it is, see [`Json`]; borrowed
    /// where the caller keeps it for more uses.
    Json(Cow<'a, Json>),
}

/// A finished JSON value as text, shared by reference count: a part that
/// recurs in many resources of a message (the subject reference, the
/// profile's `meta`) is written once, and each use costs neither a copy of
/// a tree nor a second serialization. It is never empty (see [`Json::of`]).
///
/// The text stays in the `String` it was written into (an `Arc<str>` would
/// copy it once more: all of a Bundle's entries are one such text).
#[derive(Debug, Clone, PartialEq)]
pub struct Json(Arc<String>);

impl Json {
    /// The JSON text of `value`, or `None` for an empty value, which FHIR
    /// forbids.
    pub fn of<'a>(value: impl Into<Value<'a>>) -> Option<Self> {
        let value = value.into();
        if value.is_empty() {
            return None;
        }
        let mut text = String::new();
        value.write(&mut text);
        Some(Self(Arc::new(text)))
    }

    /// Text the caller wrote as one non-empty JSON value.
    pub(crate) fn from_written(text: String) -> Self {
        debug_assert!(!matches!(text.as_str(), "" | "\"\"" | "[]" | "{}"));
        Self(Arc::new(text))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'a> Value<'a> {
    /// True for the values FHIR forbids: "", [] and {}.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Str(s) => s.is_empty(),
            Value::Num(_) | Value::Bool(_) | Value::Null | Value::Json(_) => false,
            Value::Arr(a) => a.is_empty(),
            Value::Obj(o) => o.is_empty(),
        }
    }

    /// Writes compact JSON.
    pub fn write(&self, out: &mut String) {
        match self {
            Value::Str(s) => write_str(s, out),
            Value::Num(n) => out.push_str(n),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Null => out.push_str("null"),
            Value::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Obj(o) => o.write(out),
            Value::Json(json) => out.push_str(json.as_str()),
        }
    }

    /// A number from decimal text, if the text is a valid FHIR decimal.
    pub fn number(text: &str) -> Option<Value<'static>> {
        crate::datatypes::is_decimal(text).then(|| {
            // JSON forbids a leading '+' and leading zeros like "007".
            Value::Num(Cow::Owned(crate::datatypes::canonical_decimal(text)))
        })
    }

    /// [`Value::number`], borrowing the text when it is written as JSON
    /// writes it already (nearly always).
    pub fn number_borrowed(text: &'a str) -> Option<Value<'a>> {
        if !crate::datatypes::is_decimal(text) {
            return None;
        }
        Some(Value::Num(if crate::datatypes::is_canonical_decimal(text) {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(crate::datatypes::canonical_decimal(text))
        }))
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Value<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Value::Str(s)
    }
}

impl From<Json> for Value<'_> {
    fn from(json: Json) -> Self {
        Value::Json(Cow::Owned(json))
    }
}

impl<'a> From<&'a Json> for Value<'a> {
    fn from(json: &'a Json) -> Self {
        Value::Json(Cow::Borrowed(json))
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<'a> From<Object<'a>> for Value<'a> {
    fn from(o: Object<'a>) -> Self {
        Value::Obj(o)
    }
}

impl<'a> From<Vec<Value<'a>>> for Value<'a> {
    fn from(mut items: Vec<Value<'a>>) -> Self {
        items.retain(|v| !v.is_empty());
        Value::Arr(items)
    }
}

impl<'a> From<Vec<Object<'a>>> for Value<'a> {
    fn from(items: Vec<Object<'a>>) -> Self {
        Value::Arr(items.into_iter().filter(|o| !o.is_empty()).map(Value::Obj).collect())
    }
}

/// Anything that can be stored under a key: a value, or an `Option` of one
/// (where `None` stores nothing).
pub trait IntoField<'a> {
    /// The value to store, if any.
    fn into_field(self) -> Option<Value<'a>>;
}

impl<'a, T: Into<Value<'a>>> IntoField<'a> for T {
    fn into_field(self) -> Option<Value<'a>> {
        Some(self.into())
    }
}

impl<'a, T: Into<Value<'a>>> IntoField<'a> for Option<T> {
    fn into_field(self) -> Option<Value<'a>> {
        self.map(Into::into)
    }
}

/// Keys are static literals, usually the very same one: pointers first,
/// and the first byte before a call to compare the rest.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || (a.as_bytes().first() == b.as_bytes().first() && a == b))
}

/// A JSON object that silently refuses empty values, so what it holds is
/// always valid FHIR in that respect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<'a>(Vec<(&'static str, Value<'a>)>);

impl<'a> Object<'a> {
    /// An empty object.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds `key` unless the value is absent or empty; builder style.
    #[must_use]
    pub fn with(mut self, key: &'static str, value: impl IntoField<'a>) -> Self {
        self.set(key, value);
        self
    }

    /// Adds `key` unless the value is absent or empty, replacing an existing `key`.
    pub fn set(&mut self, key: &'static str, value: impl IntoField<'a>) {
        if let Some(value) = value.into_field() {
            self.store(key, value);
        }
    }

    /// The one body of every `set`/`with`, whatever the value's type: kept
    /// out of line so the many instances of the generic callers stay small.
    #[inline(never)]
    fn store(&mut self, key: &'static str, value: Value<'a>) {
        if value.is_empty() {
            return;
        }
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| same_key(k, key)) {
            slot.1 = value;
        } else {
            // Room for 5, 10, 20... fields rather than Vec's 4, 8, 16: most
            // objects (codings, references, quantities) then take one
            // allocation, and 5 * 48 bytes is a size mimalloc's aligned
            // allocation serves from its free list; 4 * 48 made it fall back
            // to over-allocating on every call (measured: -4% instructions
            // for a MEDLAB conversion).
            if self.0.len() == self.0.capacity() {
                self.0.reserve_exact(self.0.capacity().max(5));
            }
            self.0.push((key, value));
        }
    }

    /// Appends to the array under `key`, creating it when needed.
    pub fn push_to<V: Into<Value<'a>>>(&mut self, key: &'static str, value: V) {
        let value = value.into();
        if value.is_empty() {
            return;
        }
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, Value::Arr(items))) => items.push(value),
            Some((_, other)) => *other = Value::Arr(vec![std::mem::replace(other, Value::Bool(false)), value]),
            None => self.0.push((key, Value::Arr(vec![value]))),
        }
    }

    /// Puts `fields` (none empty) in front of the others, in place: the
    /// Bundle's `resourceType` and `id`.
    pub(crate) fn prepend<const N: usize>(&mut self, fields: [(&'static str, Value<'a>); N]) {
        debug_assert!(fields.iter().all(|(_, v)| !v.is_empty()));
        self.0.splice(0..0, fields);
    }

    /// Inserts `key` right after the field `after` (at the start when absent),
    /// unless the value is empty.
    pub fn insert_after(&mut self, after: &str, key: &'static str, value: impl IntoField<'a>) {
        let Some(value) = value.into_field().filter(|v| !v.is_empty()) else {
            return;
        };
        let at = self.0.iter().position(|(k, _)| *k == after).map_or(0, |i| i + 1);
        self.0.insert(at, (key, value));
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.0.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// True when nothing was stored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value<'a>)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// Writes compact JSON.
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            value.write(out);
        }
        out.push('}');
    }

    /// Compact JSON as a new string.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.write(&mut out);
        out
    }
}

/// `s` as a JSON string, quoted and escaped.
pub(crate) fn write_str(s: &str, out: &mut String) {
    out.push('"');
    if is_clean(s.as_bytes()) {
        out.push_str(s);
    } else {
        write_escaped(s, out);
    }
    out.push('"');
}

/// True when no byte of `bytes` needs an escape: nearly all FHIR text, so
/// it is checked eight bytes at a time without a branch per word (the last
/// word overlapping the one before), short text byte by byte.
fn is_clean(bytes: &[u8]) -> bool {
    let Some(last) = bytes.last_chunk::<8>() else {
        return !bytes.iter().any(|&b| NEEDS_ESCAPE[usize::from(b)]);
    };
    let mut dirty = escape_mask(u64::from_le_bytes(*last));
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        dirty |= escape_mask(u64::from_le_bytes(word));
    }
    dirty == 0
}

/// The bytes JSON strings escape: control characters, `"` and backslash.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// `s` with its quotes, backslashes and control characters escaped.
fn write_escaped(s: &str, out: &mut String) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Zero only when none of the eight bytes is a control character, `"` or
/// backslash (it may be non-zero for clean bytes next to a dirty one; only
/// zero is relied on).
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    control | quote | backslash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_never_stored() {
        let o = Object::new()
            .with("a", "")
            .with("b", Vec::<Value>::new())
            .with("c", Object::new())
            .with("d", None::<&str>)
            .with("e", "x");
        assert_eq!(o.to_json(), r#"{"e":"x"}"#);
    }

    #[test]
    fn strings_are_escaped() {
        let o = Object::new().with("s", "a\"b\\c\nd\u{1}é");
        let parsed: serde_json::Value = serde_json::from_str(&o.to_json()).unwrap();
        assert_eq!(parsed["s"], "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn escapes_are_found_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1f}', '\u{0}'] {
                    let mut text: String = "abcdéfghijklmnopqrstu".chars().take(len).collect();
                    let at = text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
                    text.insert(at, special);
                    let json = Object::new().with("s", text.as_str()).to_json();
                    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
                    assert_eq!(parsed["s"], text.as_str(), "{json}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_through_json(text in "(?s).{0,40}", bytes in proptest::collection::vec(0u8..0x80, 0..40)) {
            // Arbitrary Unicode, and ASCII dense in control characters.
            let ascii = String::from_utf8(bytes).unwrap();
            for text in [text.as_str(), ascii.as_str()] {
                let json = Object::new().with("s", text).to_json();
                let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
                proptest::prop_assert_eq!(parsed["s"].as_str().unwrap_or(""), text, "{}", json);
            }
        }
    }

    #[test]
    fn numbers_are_canonical_json() {
        assert_eq!(Value::number("+007.50"), Some(Value::Num("7.50".into())));
        assert_eq!(Value::number("-0.5"), Some(Value::Num("-0.5".into())));
        assert_eq!(Value::number("1e5"), None);
        assert_eq!(Value::number("abc"), None);
    }

    #[test]
    fn json_is_written_as_it_is_and_never_empty() {
        assert_eq!(Json::of(""), None);
        assert_eq!(Json::of(Object::new()), None);
        let reference = Json::of(Object::new().with("reference", "urn:uuid:1").with("display", "a\"b")).unwrap();
        assert_eq!(reference.as_str(), r#"{"reference":"urn:uuid:1","display":"a\"b"}"#);
        let o = Object::new()
            .with("subject", reference.clone())
            .with("focus", vec![Value::from(reference)]);
        assert_eq!(
            o.to_json(),
            r#"{"subject":{"reference":"urn:uuid:1","display":"a\"b"},"focus":[{"reference":"urn:uuid:1","display":"a\"b"}]}"#
        );
    }

    #[test]
    fn push_to_builds_arrays() {
        let mut o = Object::new();
        o.push_to("x", "1");
        o.push_to("x", "2");
        o.push_to("x", "");
        assert_eq!(o.to_json(), r#"{"x":["1","2"]}"#);
    }
}
