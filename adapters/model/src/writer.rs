//! Writing a resource's JSON directly, for mappings whose resources are
//! complete when they are made: no tree to build, walk and free. The rule
//! of [`Object`](crate::Object) holds here too: an empty value is never
//! written, and an object or array that stayed empty is taken back.

use crate::json::{IntoField, Value, write_str};

/// Writes the fields of one JSON object into a shared buffer.
#[derive(Debug)]
pub struct ObjectWriter<'o> {
    out: &'o mut String,
    /// No field written yet: the next one needs no comma.
    empty: bool,
}

impl<'o> ObjectWriter<'o> {
    /// Fields to follow those already in `out` (an open object with at
    /// least one field, such as a resource's `resourceType`).
    pub(crate) fn after_fields(out: &'o mut String) -> Self {
        Self { out, empty: false }
    }

    fn key(&mut self, key: &str) {
        write_key(self.out, self.empty, key);
        self.empty = false;
    }

    /// Writes `key` unless the value is absent or empty.
    pub fn field<'v>(&mut self, key: &'static str, value: impl IntoField<'v>) -> &mut Self {
        if let Some(value) = value.into_field().filter(|v| !v.is_empty()) {
            self.key(key);
            write_value(value, self.out);
        }
        self
    }

    /// Writes `key` as a list of the one value, unless it is absent or empty.
    pub fn list_item<'v>(&mut self, key: &'static str, value: impl IntoField<'v>) -> &mut Self {
        if let Some(value) = value.into_field().filter(|v| !v.is_empty()) {
            self.key(key);
            self.out.push('[');
            write_value(value, self.out);
            self.out.push(']');
        }
        self
    }

    /// Writes `key` with the object `write` makes, unless that stays empty.
    pub fn object(&mut self, key: &'static str, write: impl FnOnce(&mut ObjectWriter<'_>)) -> &mut Self {
        let start = |out: &mut String, first| write_key(out, first, key);
        nested(self.out, &mut self.empty, start, ['{', '}'], |out| {
            let mut inner = ObjectWriter { out, empty: true };
            write(&mut inner);
            !inner.empty
        });
        self
    }

    /// Writes `key` with the array `write` makes, unless that stays empty.
    pub fn array(&mut self, key: &'static str, write: impl FnOnce(&mut ArrayWriter<'_>)) -> &mut Self {
        let start = |out: &mut String, first| write_key(out, first, key);
        nested(self.out, &mut self.empty, start, ['[', ']'], |out| {
            let mut inner = ArrayWriter { out, empty: true };
            write(&mut inner);
            !inner.empty
        });
        self
    }

    /// Writes `key` as an array of the one object `write` makes, unless
    /// that stays empty: FHIR's many lists that a mapping fills once.
    pub fn list(&mut self, key: &'static str, write: impl FnOnce(&mut ObjectWriter<'_>)) -> &mut Self {
        self.array(key, |items| {
            items.object(write);
        })
    }
}

/// Writes a value that is not empty: text and written JSON (nearly every
/// value) straight to their writers.
fn write_value(value: Value<'_>, out: &mut String) {
    match value {
        Value::Str(text) => write_str(&text, out),
        Value::Json(json) => out.push_str(json.as_str()),
        other => other.write(out),
    }
}

/// Writes the items of one JSON array into a shared buffer.
#[derive(Debug)]
pub struct ArrayWriter<'o> {
    out: &'o mut String,
    /// No item written yet: the next one needs no comma.
    empty: bool,
}

impl ArrayWriter<'_> {
    /// Writes an item unless it is absent or empty.
    pub fn item<'v>(&mut self, value: impl IntoField<'v>) -> &mut Self {
        if let Some(value) = value.into_field().filter(|v| !v.is_empty()) {
            separate(self.out, self.empty);
            self.empty = false;
            write_value(value, self.out);
        }
        self
    }

    /// Writes the object `write` makes as an item, unless it stays empty.
    pub fn object(&mut self, write: impl FnOnce(&mut ObjectWriter<'_>)) -> &mut Self {
        nested(self.out, &mut self.empty, separate, ['{', '}'], |out| {
            let mut inner = ObjectWriter { out, empty: true };
            write(&mut inner);
            !inner.empty
        });
        self
    }
}

/// `"key":`, after a comma unless it is the `first` field.
fn write_key(out: &mut String, first: bool, key: &str) {
    // One check for room instead of one per push.
    out.reserve(key.len() + 4);
    if !first {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
}

/// The comma before an item, unless it is the `first`.
fn separate(out: &mut String, first: bool) {
    if !first {
        out.push(',');
    }
}

/// Writes a nested object or array: what `start` puts before it (a key or
/// a comma), the opening bracket, what `write` writes, the closing one.
/// When `write` says it wrote nothing, all of it is taken back; otherwise
/// the enclosing object or array is no longer `empty`.
fn nested(
    out: &mut String,
    empty: &mut bool,
    start: impl FnOnce(&mut String, bool),
    [open, close]: [char; 2],
    write: impl FnOnce(&mut String) -> bool,
) {
    let mark = out.len();
    start(out, *empty);
    out.push(open);
    if write(out) {
        out.push(close);
        *empty = false;
    } else {
        out.truncate(mark);
    }
}

/// The object `write` writes, as text: for tests that compare a writer
/// with the tree it stands for.
#[cfg(test)]
pub(crate) fn object_text(write: impl FnOnce(&mut ObjectWriter<'_>)) -> String {
    let mut out = String::from("{");
    write(&mut ObjectWriter {
        out: &mut out,
        empty: true,
    });
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{Object, Value};

    fn written(write: impl FnOnce(&mut ObjectWriter<'_>)) -> String {
        let mut out = String::from("{\"resourceType\":\"Basic\"");
        write(&mut ObjectWriter::after_fields(&mut out));
        out.push('}');
        out
    }

    #[test]
    fn empty_values_objects_and_arrays_are_taken_back() {
        let json = written(|w| {
            w.field("a", "")
                .field("b", None::<&str>)
                .object("c", |c| {
                    c.field("x", "").array("y", |_| {});
                })
                .array("d", |d| {
                    d.item("").object(|_| {}).item(Vec::<Value>::new());
                })
                .list("e", |_| {})
                .list_item("f", "")
                .list_item("g", None::<&str>);
        });
        assert_eq!(json, r#"{"resourceType":"Basic"}"#);
    }

    #[test]
    fn writes_what_the_tree_writes() {
        let json = written(|w| {
            w.field("status", "final")
                .object("code", |c| {
                    c.list("coding", |coding| {
                        coding.field("system", "http://loinc.org").field("code", "1-8");
                    })
                    .field("text", "Na \"x\"");
                })
                .array("note", |notes| {
                    notes.item(Object::new().with("text", "a")).object(|n| {
                        n.field("text", "b");
                    });
                })
                .field("valueBoolean", true)
                .list_item("basedOn", Object::new().with("reference", "urn:uuid:1"));
        });
        let tree = Object::new()
            .with("resourceType", "Basic")
            .with("status", "final")
            .with(
                "code",
                crate::datatypes::concept("http://loinc.org", "1-8").with("text", "Na \"x\""),
            )
            .with(
                "note",
                vec![Object::new().with("text", "a"), Object::new().with("text", "b")],
            )
            .with("valueBoolean", true)
            .with("basedOn", vec![Object::new().with("reference", "urn:uuid:1")]);
        assert_eq!(json, tree.to_json());
    }

    #[test]
    fn an_empty_object_between_fields_leaves_the_commas_right() {
        let json = written(|w| {
            w.object("empty", |_| {})
                .field("kept", "1")
                .array("none", |_| {})
                .field("last", "2");
        });
        assert_eq!(json, r#"{"resourceType":"Basic","kept":"1","last":"2"}"#);
        let mut out = String::from("[");
        let mut items = ArrayWriter {
            out: &mut out,
            empty: true,
        };
        items.object(|_| {}).item("a").object(|_| {}).item("b");
        out.push(']');
        assert_eq!(out, r#"["a","b"]"#);
    }
}
