//! Writing ER7: an owned message model whose text is escaped on output, for
//! ACKs and for FHIR -> v2. [`Er7Message::from_parsed`] reads a parsed
//! message back into it, so parse and write round-trip.

use crate::escape::encode;
use crate::message::{Charset, Delimiters, Message};

/// A component's subcomponents.
pub type Component = Vec<String>;
/// A repetition's components.
pub type Repetition = Vec<Component>;
/// A field's repetitions.
pub type Field = Vec<Repetition>;

/// One segment: its id and fields 1..n (for MSH, fields 3..n: MSH-1 and
/// MSH-2 are written from the delimiters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Er7Segment {
    /// Segment id such as `PID`.
    pub id: String,
    /// Fields in order, starting at field 1 (MSH: field 3).
    pub fields: Vec<Field>,
}

impl Er7Segment {
    /// A segment with simple text fields (one repetition, one component each).
    pub fn simple(id: &str, fields: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            fields: fields.iter().map(|f| text_field(f)).collect(),
        }
    }

    /// Sets field `n` (1-based as in the standard, MSH included), growing the segment.
    pub fn set(&mut self, n: usize, field: Field) {
        let index = if self.id == "MSH" {
            n.saturating_sub(3)
        } else {
            n.saturating_sub(1)
        };
        if self.fields.len() <= index {
            self.fields.resize(index + 1, Vec::new());
        }
        self.fields[index] = field;
    }
}

/// A field holding one text value.
pub fn text_field(text: &str) -> Field {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![vec![vec![text.to_owned()]]]
    }
}

/// A field of components (one repetition, no subcomponents).
pub fn components_field(components: &[&str]) -> Field {
    vec![components.iter().map(|c| vec![(*c).to_owned()]).collect()]
}

/// An owned message, written with [`Er7Message::to_er7`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Er7Message {
    /// The delimiters to write with.
    pub delimiters: Delimiters,
    /// Segments in order, MSH first.
    pub segments: Vec<Er7Segment>,
}

impl Er7Message {
    /// ER7 text, segments ended by `\r`, text escaped, trailing empty parts left out.
    pub fn to_er7(&self) -> String {
        let d = self.delimiters;
        let mut out = String::with_capacity(512);
        for segment in &self.segments {
            out.push_str(&segment.id);
            if segment.id == "MSH" {
                out.push(char::from(d.field));
                for c in [d.component, d.repetition, d.escape, d.subcomponent] {
                    out.push(char::from(c));
                }
                out.extend(d.truncation.map(char::from));
            }
            let fields = trim_trailing(&segment.fields, Vec::is_empty);
            for field in fields {
                out.push(char::from(d.field));
                join(field, d.repetition, &mut out, |rep, out| {
                    join(
                        trim_trailing(rep, |c| c.iter().all(String::is_empty)),
                        d.component,
                        out,
                        |comp, out| {
                            join(
                                trim_trailing(comp, String::is_empty),
                                d.subcomponent,
                                out,
                                |sub, out| {
                                    out.push_str(&encode(sub, d));
                                },
                            );
                        },
                    );
                });
            }
            out.push('\r');
        }
        out
    }

    /// The decoded content of a parsed message; a message in another
    /// character set than UTF-8 is re-declared as UTF-8 in MSH-18.
    pub fn from_parsed(message: &Message<'_>) -> Self {
        let d = message.delimiters();
        let segments = message
            .segments()
            .map(|segment| {
                let first = if segment.id() == "MSH" { 3 } else { 1 };
                let fields = (first..segment.field_count())
                    .map(|n| {
                        segment
                            .field(n)
                            .repetitions()
                            .map(|rep| {
                                rep.raw()
                                    .split(|&b| b == d.component)
                                    .enumerate()
                                    .map(|(c, _)| {
                                        let component = rep.component(c + 1);
                                        component
                                            .raw()
                                            .split(|&b| b == d.subcomponent)
                                            .enumerate()
                                            .map(|(s, _)| {
                                                component
                                                    .subcomponent(s + 1)
                                                    .text()
                                                    .map(std::borrow::Cow::into_owned)
                                                    .unwrap_or_default()
                                            })
                                            .collect()
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect();
                Er7Segment {
                    id: segment.id().to_owned(),
                    fields: normalized(fields),
                }
            })
            .collect();
        let mut owned = Self {
            delimiters: d,
            segments,
        };
        // The owned text is Unicode and `to_er7` writes UTF-8, so the
        // header must stop claiming another character set.
        if message.charset() != Charset::Utf8 {
            if let Some(msh) = owned.segments.first_mut() {
                msh.set(18, text_field("UNICODE UTF-8"));
            }
        }
        owned
    }
}

/// Drops what ER7 cannot tell apart from absence: trailing empty parts and
/// empty repetitions, so that writing and reading back give the same value.
fn normalized(fields: Vec<Field>) -> Vec<Field> {
    let mut fields: Vec<Field> = fields
        .into_iter()
        .map(|field| {
            field
                .into_iter()
                .map(|rep| {
                    let mut rep: Repetition = rep
                        .into_iter()
                        .map(|mut component| {
                            let keep = trim_trailing(&component, String::is_empty).len();
                            component.truncate(keep);
                            component
                        })
                        .collect();
                    let keep = trim_trailing(&rep, Vec::is_empty).len();
                    rep.truncate(keep);
                    rep
                })
                .filter(|rep| !rep.is_empty())
                .collect()
        })
        .collect();
    let keep = trim_trailing(&fields, Vec::is_empty).len();
    fields.truncate(keep);
    fields
}

fn trim_trailing<T>(items: &[T], empty: impl Fn(&T) -> bool) -> &[T] {
    let end = items.iter().rposition(|i| !empty(i)).map_or(0, |i| i + 1);
    &items[..end]
}

fn join<T>(items: &[T], separator: u8, out: &mut String, mut write: impl FnMut(&T, &mut String)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(char::from(separator));
        }
        write(item, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Limits;

    #[test]
    fn writes_escaped_er7_without_trailing_empties() {
        let mut pid = Er7Segment::simple("PID", &["1", "", "a|b^c"]);
        pid.set(
            5,
            vec![vec![
                vec!["van der Berg".into(), "van der".into(), "Berg".into()],
                vec!["Jan".into()],
                vec![],
            ]],
        );
        pid.set(8, Vec::new());
        let message = Er7Message {
            delimiters: Delimiters::default(),
            segments: vec![Er7Segment::simple("MSH", &["APP", "FAC"]), pid],
        };
        assert_eq!(
            message.to_er7(),
            "MSH|^~\\&|APP|FAC\rPID|1||a\\F\\b\\S\\c||van der Berg&van der&Berg^Jan\r"
        );
    }

    #[test]
    fn parse_then_write_then_parse_is_stable() {
        let text = "MSH|^~\\&|A|B|||20260101||ADT^A01|1|P|2.5\rPID|1||x\\T\\y~z||a&b^c\r";
        let parsed = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
        let owned = Er7Message::from_parsed(&parsed);
        assert_eq!(owned.to_er7(), text);
    }
}
