//! The zero-copy ER7 parser: one pass over the bytes records where segments
//! and fields start and end; repetitions, components and subcomponents are
//! split on access, and escapes and character sets decoded only when a value
//! is read.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{Error, ErrorKind, Location, SegmentId};
use crate::escape;

/// Limits that keep a hostile or broken message from costing unbounded
/// memory or time. Defaults suit real hospital traffic with wide margins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes.
    pub max_message_bytes: usize,
    /// Most segments in one message.
    pub max_segments: usize,
    /// Most repetitions in one field.
    pub max_repetitions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_segments: 50_000,
            max_repetitions: 10_000,
        }
    }
}

/// The delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator, MSH-1 (usually `|`).
    pub field: u8,
    /// Component separator (usually `^`).
    pub component: u8,
    /// Repetition separator (usually `~`).
    pub repetition: u8,
    /// Escape character (usually `\`).
    pub escape: u8,
    /// Subcomponent separator (usually `&`).
    pub subcomponent: u8,
    /// Truncation character of v2.7 and later (usually `#`), if declared.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            truncation: None,
        }
    }
}

impl Delimiters {
    /// Reads MSH-1 and MSH-2 from the start of an MSH segment.
    fn from_msh(line: &[u8]) -> Result<Self, Error> {
        let msh2 = |reason| {
            Error::at(
                Location::segment("MSH", 1).with_field(2),
                ErrorKind::EncodingCharacters(reason),
            )
        };
        let &field = line.get(3).ok_or_else(|| Error::new(ErrorKind::TruncatedMsh))?;
        let rest = &line[4..];
        let end = rest
            .iter()
            .position(|&b| b == field || b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let chars = &rest[..end];
        if chars.is_empty() {
            return Err(Error::new(ErrorKind::TruncatedMsh));
        }
        if chars.len() > 5 {
            return Err(msh2("more than five encoding characters"));
        }
        // Missing trailing characters fall back to the standard ones, as
        // senders that omit `&` still mean it.
        let standard = Delimiters::default();
        let pick = |i: usize, default: u8| chars.get(i).copied().unwrap_or(default);
        let delimiters = Self {
            field,
            component: pick(0, standard.component),
            repetition: pick(1, standard.repetition),
            escape: pick(2, standard.escape),
            subcomponent: pick(3, standard.subcomponent),
            truncation: chars.get(4).copied(),
        };
        let all = [
            field,
            delimiters.component,
            delimiters.repetition,
            delimiters.escape,
            delimiters.subcomponent,
        ];
        for (i, &c) in all.iter().chain(&delimiters.truncation).enumerate() {
            if c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || c.is_ascii_control() || !c.is_ascii() {
                return Err(msh2("delimiters must be printable punctuation"));
            }
            if all[..i.min(all.len())].contains(&c) {
                return Err(msh2("delimiters must differ from each other"));
            }
        }
        Ok(delimiters)
    }
}

/// The character set from MSH-18.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8, also the default when MSH-18 is empty; ASCII is its subset.
    Utf8,
    /// ISO 8859-1 (Latin-1).
    Latin1,
}

impl Charset {
    fn from_msh18(name: &str) -> Result<Self, String> {
        match name.to_ascii_uppercase().as_str() {
            "" | "UNICODE UTF-8" | "UTF-8" | "UTF8" | "UNICODE" | "ASCII" => Ok(Self::Utf8),
            "8859/1" | "ISO-8859-1" | "ISO8859-1" | "ISO IR100" | "LATIN1" => Ok(Self::Latin1),
            _ => Err(name.to_owned()),
        }
    }

    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Latin1 => "ISO 8859-1",
        }
    }

    /// Decodes bytes in this character set; `Cow::Borrowed` when they need no change.
    pub(crate) fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Self::Utf8 => String::from_utf8_lossy(bytes),
            Self::Latin1 => match std::str::from_utf8(bytes) {
                Ok(ascii) if ascii.is_ascii() => Cow::Borrowed(ascii),
                _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy)]
struct SegmentSpan {
    id: [u8; 3],
    occurrence: u32,
    first_field: u32,
    field_count: u32,
}

impl SegmentSpan {
    fn location(&self, field: usize, repetition: usize) -> Location {
        Location {
            segment: SegmentId::new(&self.id),
            occurrence: self.occurrence as usize,
            field,
            repetition,
            ..Location::default()
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What one line of a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// A segment: three upper-case letters or digits, then the field
    /// separator or the end of the line.
    Segment,
    /// Not shaped like a segment at all (no three-character id before a
    /// field separator): the rest of a field that a line break interrupted.
    Continuation,
    /// Shaped like a segment (three characters, then the field separator
    /// or the line's end) but the id is not a segment id, or the line
    /// starts with whitespace: damage no rule can safely repair.
    Damaged,
}

/// Tells a segment from a continued field and from damage, by the start of the line.
fn line_kind(line: &[u8], field_separator: u8) -> LineKind {
    let trimmed = line.trim_ascii_start();
    let shaped = trimmed.len() >= 3
        && !trimmed[..3].contains(&field_separator)
        && trimmed.get(3).is_none_or(|&b| b == field_separator);
    if !shaped {
        LineKind::Continuation
    } else if trimmed.len() == line.len()
        && trimmed[..3]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        LineKind::Segment
    } else {
        LineKind::Damaged
    }
}

/// One parsed HL7 v2 message, borrowing the input bytes.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: &'a [u8],
    delimiters: Delimiters,
    charset: Charset,
    segments: Vec<SegmentSpan>,
    // Field 0 of each segment is its id; for MSH, field 1 is the field
    // separator itself and field 2 the encoding characters.
    fields: Vec<Span>,
    /// Fields a line break interrupted, whose next line was joined back.
    rejoined: Vec<Location>,
}

impl<'a> Message<'a> {
    /// Parses one message. Segments may end in `\r`, `\n` or `\r\n`.
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() > limits.max_message_bytes {
            return Err(Error::new(ErrorKind::TooLarge {
                size: bytes.len(),
                limit: limits.max_message_bytes,
            }));
        }
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .ok_or_else(|| Error::new(ErrorKind::Empty))?;
        let bytes = &bytes[start..];
        let bytes = bytes.strip_prefix(crate::framing::UTF8_BOM).unwrap_or(bytes);
        if !bytes.starts_with(b"MSH") {
            return Err(Error::new(ErrorKind::NoMsh));
        }
        let delimiters = Delimiters::from_msh(bytes)?;
        let mut message = Message {
            bytes,
            delimiters,
            charset: Charset::Utf8,
            segments: Vec::with_capacity(16),
            fields: Vec::with_capacity(256),
            rejoined: Vec::new(),
        };
        message.index(limits)?;
        // Read with escapes decoded: a name may contain a delimiter, such as `8859/1`
        // when `/` is the truncation character.
        let name = message.msh().field(18).text().unwrap_or_default();
        message.charset = Charset::from_msh18(&name).map_err(|name| {
            Error::at(
                Location::segment("MSH", 1).with_field(18),
                ErrorKind::UnsupportedCharset(name),
            )
        })?;
        if message.charset == Charset::Utf8 {
            if let Err(e) = std::str::from_utf8(bytes) {
                let kind = ErrorKind::InvalidEncoding { charset: "UTF-8" };
                return Err(Error::at(message.location_of(e.valid_up_to()), kind));
            }
        }
        Ok(message)
    }

    /// Records segment and field boundaries, enforcing the limits. A line
    /// that cannot be a segment continues the one before it (a line break
    /// inside a field); a line shaped like a segment with an id that is not
    /// one is structural damage and refuses the message (see [`line_kind`]).
    fn index(&mut self, limits: &Limits) -> Result<(), Error> {
        let bytes = self.bytes;
        let mut occurrences = HashMap::new();
        let mut pos = 0;
        let mut line_number = 0;
        while pos < bytes.len() {
            let line_end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(bytes.len(), |i| pos + i);
            let line = &bytes[pos..line_end];
            if !line.iter().all(u8::is_ascii_whitespace) {
                line_number += 1;
                match line_kind(line, self.delimiters.field) {
                    // The first line is MSH (checked before), so there is
                    // always a segment to continue.
                    LineKind::Continuation if !self.segments.is_empty() => self.rejoin(pos, line, limits)?,
                    LineKind::Segment | LineKind::Continuation => {
                        if self.segments.len() == limits.max_segments {
                            return Err(Error::new(ErrorKind::TooManySegments {
                                limit: limits.max_segments,
                            }));
                        }
                        self.index_segment(pos, line, limits, &mut occurrences)?;
                    }
                    LineKind::Damaged => {
                        let id = String::from_utf8_lossy(&line.trim_ascii_start()[..3]).into_owned();
                        return Err(Error::new(ErrorKind::DamagedSegment {
                            line: line_number,
                            offset: pos,
                            id,
                        }));
                    }
                }
            }
            pos = line_end + 1;
        }
        Ok(())
    }

    fn index_segment(
        &mut self,
        offset: usize,
        line: &[u8],
        limits: &Limits,
        occurrences: &mut HashMap<[u8; 3], u32>,
    ) -> Result<(), Error> {
        let mut id = [b' '; 3];
        for (slot, &b) in id.iter_mut().zip(line) {
            *slot = b;
        }
        let seen = occurrences.entry(id).or_insert(0);
        *seen += 1;
        let span = SegmentSpan {
            id,
            occurrence: *seen,
            first_field: to_u32(self.fields.len()),
            field_count: 0,
        };
        // A second MSH starts another message (often another patient's):
        // read as one, its segments would be credited to the first header.
        if !self.segments.is_empty() && &id == b"MSH" {
            let segment = self.segments.len() + 1;
            return Err(Error::at(span.location(0, 0), ErrorKind::AnotherMessage { segment }));
        }
        self.index_fields(span, offset, offset + line.len(), limits)
    }

    /// Joins a line that continues the last segment back onto it: the field
    /// the line break interrupted is read again from its start to the end
    /// of this line, so it holds the break, and the fields after it follow.
    fn rejoin(&mut self, offset: usize, line: &[u8], limits: &Limits) -> Result<(), Error> {
        let (Some(span), Some(open)) = (self.segments.pop(), self.fields.pop()) else {
            return Ok(());
        };
        let field = span.field_count as usize - 1;
        self.rejoined.push(span.location(field, 0));
        self.index_fields(span, open.start as usize, offset + line.len(), limits)
    }

    /// Records the fields of `segment` in `bytes[start..end]` and the segment
    /// itself. Line breaks inside the range are those of rejoined lines.
    fn index_fields(&mut self, segment: SegmentSpan, start: usize, end: usize, limits: &Limits) -> Result<(), Error> {
        let d = self.delimiters;
        let first_field = segment.first_field as usize;
        let is_msh = first_field == 0;
        let mut field_start = start;
        let mut repetitions = 1;
        for (i, &b) in (start..end).zip(&self.bytes[start..end]) {
            if b == d.field {
                self.fields.push(Span {
                    start: to_u32(field_start),
                    end: to_u32(i),
                });
                field_start = i + 1;
                repetitions = 1;
                if is_msh && self.fields.len() - first_field == 1 {
                    // MSH-1 is the separator itself, and MSH-2 holds the
                    // delimiters verbatim (no repetitions in it).
                    self.fields.push(Span {
                        start: to_u32(i),
                        end: to_u32(i + 1),
                    });
                }
            } else if b == d.repetition && !(is_msh && self.fields.len() - first_field == 2) {
                repetitions += 1;
                if repetitions > limits.max_repetitions {
                    let field = self.fields.len() - first_field;
                    return Err(Error::at(
                        segment.location(field, 0),
                        ErrorKind::TooManyRepetitions {
                            limit: limits.max_repetitions,
                        },
                    ));
                }
            } else if b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n') {
                let field = self.fields.len() - first_field;
                return Err(Error::at(
                    segment.location(field, repetitions),
                    ErrorKind::ControlCharacter(b),
                ));
            }
        }
        self.fields.push(Span {
            start: to_u32(field_start),
            end: to_u32(end),
        });
        self.segments.push(SegmentSpan {
            field_count: to_u32(self.fields.len() - first_field),
            ..segment
        });
        Ok(())
    }

    /// The location of a byte offset, for encoding errors.
    fn location_of(&self, offset: usize) -> Location {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        for segment in self.segments() {
            for n in 0..segment.field_count() {
                let span = self.fields[segment.span.first_field as usize + n];
                if span.start <= offset && offset <= span.end {
                    return segment.location().with_field(n);
                }
            }
        }
        Location::default()
    }

    /// The input bytes of this message (leading whitespace skipped).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The delimiters from MSH-1/MSH-2.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// The character set from MSH-18.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The fields that held a line break where the next line could not be
    /// a segment, so the parser joined that line back onto the field.
    pub fn rejoined_fields(&self) -> &[Location] {
        &self.rejoined
    }

    /// The MSH segment.
    pub fn msh(&self) -> Segment<'_, 'a> {
        Segment {
            message: self,
            span: self.segments[0],
        }
    }

    /// All segments in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_, 'a>> {
        self.segments.iter().map(move |&span| Segment { message: self, span })
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<Segment<'_, 'a>> {
        self.segments().find(|s| s.id() == id)
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

/// A segment of a [`Message`].
#[derive(Debug, Clone, Copy)]
pub struct Segment<'m, 'a> {
    message: &'m Message<'a>,
    span: SegmentSpan,
}

impl<'m, 'a> Segment<'m, 'a> {
    /// The segment id, such as `PID`.
    pub fn id(&self) -> &'a str {
        std::str::from_utf8(self.field(0).raw()).unwrap_or("???")
    }

    /// Which occurrence of its id this segment is, 1-based.
    pub fn occurrence(&self) -> usize {
        self.span.occurrence as usize
    }

    /// Number of fields including field 0 (the id).
    pub fn field_count(&self) -> usize {
        self.span.field_count as usize
    }

    /// Where this segment is.
    pub fn location(&self) -> Location {
        Location::segment(self.id(), self.occurrence())
    }

    /// Field `n` (1-based as in the standard); empty when absent.
    pub fn field(&self, n: usize) -> Item<'m, 'a> {
        let raw = if n < self.field_count() {
            let span = self.message.fields[self.span.first_field as usize + n];
            &self.message.bytes[span.start as usize..span.end as usize]
        } else {
            &[]
        };
        Item {
            message: self.message,
            raw,
            level: Level::Field,
            segment: self.span,
            field: n,
            repetition: 0,
            component: 0,
            subcomponent: 0,
        }
    }

    /// The non-empty fields, with their numbers.
    pub fn fields(&self) -> impl Iterator<Item = (usize, Item<'m, 'a>)> + use<'m, 'a> {
        let this = *self;
        (1..self.field_count())
            .map(move |n| (n, this.field(n)))
            .filter(|(_, f)| !f.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Field,
    Repetition,
    Component,
    Subcomponent,
}

/// A field, repetition, component or subcomponent: raw bytes plus where they are.
#[derive(Debug, Clone, Copy)]
pub struct Item<'m, 'a> {
    message: &'m Message<'a>,
    raw: &'a [u8],
    level: Level,
    segment: SegmentSpan,
    field: usize,
    repetition: usize,
    component: usize,
    subcomponent: usize,
}

impl<'m, 'a> Item<'m, 'a> {
    /// The raw ER7 bytes, delimiters and escapes included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True when absent, empty, or the explicit null `""`.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty() || self.is_null()
    }

    /// True for the explicit null `""` ("delete this value" in HL7 v2).
    pub fn is_null(&self) -> bool {
        self.raw == b"\"\""
    }

    /// Where this item is.
    pub fn location(&self) -> Location {
        Location {
            segment: SegmentId::new(&self.segment.id),
            occurrence: self.segment.occurrence as usize,
            field: self.field,
            repetition: self.repetition,
            component: self.component,
            subcomponent: self.subcomponent,
        }
    }

    fn is_msh_encoding_field(&self) -> bool {
        self.segment.first_field == 0 && self.field <= 2
    }

    fn split(self, separator: u8, level: Level) -> impl Iterator<Item = Item<'m, 'a>> {
        let splittable = !self.raw.is_empty() && !self.is_msh_encoding_field();
        Parts {
            rest: Some(self.raw),
            separator: splittable.then_some(separator),
        }
        .enumerate()
        .map(move |(i, raw)| {
            let mut item = Item { raw, level, ..self };
            match level {
                Level::Repetition => item.repetition = i + 1,
                Level::Component => item.component = i + 1,
                Level::Subcomponent => item.subcomponent = i + 1,
                Level::Field => {}
            }
            item
        })
    }

    fn nth(self, separator: u8, level: Level, n: usize) -> Item<'m, 'a> {
        let mut empty = Item {
            raw: &[],
            level,
            ..self
        };
        match level {
            Level::Repetition => empty.repetition = n,
            Level::Component => empty.component = n,
            Level::Subcomponent => empty.subcomponent = n,
            Level::Field => {}
        }
        if n == 0 {
            return empty;
        }
        self.split(separator, level).nth(n - 1).unwrap_or(empty)
    }

    /// The repetitions of a field (one for a field without `~`).
    pub fn repetitions(self) -> impl Iterator<Item = Item<'m, 'a>> {
        let raw = if self.is_null() { &[][..] } else { self.raw };
        let item = Item { raw, ..self };
        item.split(self.message.delimiters.repetition, Level::Repetition)
            .filter(|r| !r.is_empty())
    }

    /// Component `n` (1-based); of the first repetition when called on a field.
    #[must_use]
    pub fn component(self, n: usize) -> Item<'m, 'a> {
        let base = if self.level == Level::Field {
            self.nth(self.message.delimiters.repetition, Level::Repetition, 1)
        } else {
            self
        };
        if base.level >= Level::Component {
            return Item { raw: &[], ..base };
        }
        base.nth(self.message.delimiters.component, Level::Component, n)
    }

    /// Components 1..=`N` in one pass over the bytes (of the first
    /// repetition when called on a field); absent ones are empty.
    pub fn components<const N: usize>(self) -> [Item<'m, 'a>; N] {
        let base = if self.level == Level::Field {
            self.nth(self.message.delimiters.repetition, Level::Repetition, 1)
        } else {
            self
        };
        let empty = Item {
            raw: &[],
            level: Level::Component,
            ..base
        };
        let mut out: [Item<'m, 'a>; N] = std::array::from_fn(|i| Item {
            component: i + 1,
            ..empty
        });
        if base.level < Level::Component {
            for (slot, part) in out
                .iter_mut()
                .zip(base.split(self.message.delimiters.component, Level::Component))
            {
                *slot = part;
            }
        }
        out
    }

    /// Subcomponent `n` (1-based) of a component.
    #[must_use]
    pub fn subcomponent(self, n: usize) -> Item<'m, 'a> {
        let base = if self.level < Level::Component {
            self.component(1)
        } else {
            self
        };
        if base.level == Level::Subcomponent {
            return Item { raw: &[], ..base };
        }
        base.nth(self.message.delimiters.subcomponent, Level::Subcomponent, n)
    }

    /// The decoded text: escapes resolved, character set decoded, outer
    /// whitespace trimmed; `None` when empty or the explicit null `""`.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        if self.is_empty() {
            return None;
        }
        let mut decoded = escape::decode(self.raw, self.message.delimiters, self.message.charset);
        if !self.message.rejoined.is_empty() && decoded.contains('\r') {
            // A rejoined line break reads as one newline, however it was written.
            decoded = Cow::Owned(decoded.replace("\r\n", "\n").replace('\r', "\n"));
        }
        let trimmed = match decoded {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
            Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
        };
        (!trimmed.is_empty()).then_some(trimmed)
    }

    /// The text of component `n`, a common shorthand.
    pub fn text_of(self, n: usize) -> Option<Cow<'a, str>> {
        self.component(n).text()
    }
}

/// Splits bytes on a separator without allocating; no separator yields the
/// bytes whole.
struct Parts<'a> {
    rest: Option<&'a [u8]>,
    separator: Option<u8>,
}

impl<'a> Iterator for Parts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let Some(sep) = self.separator else {
            self.rest = None;
            return Some(rest);
        };
        if let Some(i) = rest.iter().position(|&b| b == sep) {
            self.rest = Some(&rest[i + 1..]);
            Some(&rest[..i])
        } else {
            self.rest = None;
            Some(rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &[u8] = b"MSH|^~\\&|HIS|RIJN|EPD|GP|20261124093015+0100||ADT^A01^ADT_A01|MSG1|P|2.5\rPID|1||123^^^RIJN^PI~999911120^^^NLMINBIZA^NNNLD||van der Berg&van der&Berg^Jan\\T\\Piet\r";

    fn parse(bytes: &[u8]) -> Message<'_> {
        Message::parse(bytes, &Limits::default()).unwrap()
    }

    #[test]
    fn msh_fields_are_numbered_as_in_the_standard() {
        let m = parse(ADT);
        let msh = m.msh();
        assert_eq!(msh.field(1).raw(), b"|");
        assert_eq!(msh.field(2).raw(), b"^~\\&");
        assert_eq!(msh.field(3).text().as_deref(), Some("HIS"));
        assert_eq!(msh.field(9).text_of(2).as_deref(), Some("A01"));
        assert_eq!(msh.field(12).text().as_deref(), Some("2.5"));
        assert_eq!(msh.field(2).repetitions().count(), 1);
    }

    #[test]
    fn repetitions_components_and_subcomponents() {
        let m = parse(ADT);
        let pid = m.segment("PID").unwrap();
        let ids: Vec<_> = pid
            .field(3)
            .repetitions()
            .map(|r| r.text_of(1).unwrap().into_owned())
            .collect();
        assert_eq!(ids, ["123", "999911120"]);
        let bsn = pid.field(3).repetitions().nth(1).unwrap().component(4);
        assert_eq!(bsn.location().to_string(), "PID-3[2].4");
        let name = pid.field(5).component(1);
        assert_eq!(name.subcomponent(2).text().as_deref(), Some("van der"));
        assert_eq!(pid.field(5).component(2).text().as_deref(), Some("Jan&Piet"));
        assert!(pid.field(40).is_empty());
        assert!(pid.field(5).component(9).subcomponent(3).text().is_none());
    }

    #[test]
    fn segment_terminators_may_be_cr_lf_or_crlf() {
        for sep in ["\r", "\n", "\r\n"] {
            let text = format!("MSH|^~\\&|A{sep}PID|1{sep}{sep}OBX|1{sep}");
            let m = parse(text.as_bytes());
            let ids: Vec<_> = m.segments().map(|s| s.id().to_owned()).collect();
            assert_eq!(ids, ["MSH", "PID", "OBX"]);
        }
    }

    #[test]
    fn a_line_that_cannot_be_a_segment_continues_the_field_before_it() {
        // However the break was written, it reads as newlines; a blank line counts.
        for (brk, read) in [("\r", "\n"), ("\n", "\n"), ("\r\n", "\n"), ("\r\n\r\n", "\n\n")] {
            let text = format!("MSH|^~\\&|A\rOBR|1||F1|1^Complete{brk}panel^LN|||20260101\rOBX|1\r");
            let m = parse(text.as_bytes());
            let ids: Vec<_> = m.segments().map(|s| s.id().to_owned()).collect();
            assert_eq!(ids, ["MSH", "OBR", "OBX"], "{brk:?}");
            let obr = m.segment("OBR").unwrap();
            let expected = format!("Complete{read}panel");
            assert_eq!(obr.field(4).text_of(2).as_deref(), Some(expected.as_str()), "{brk:?}");
            assert_eq!(obr.field(4).text_of(3).as_deref(), Some("LN"));
            assert_eq!(obr.field(7).text().as_deref(), Some("20260101"));
            let rejoined: Vec<String> = m.rejoined_fields().iter().map(ToString::to_string).collect();
            assert_eq!(rejoined, ["OBR-4"]);
        }
        // A break right before a separator, and a fragment too short for an id.
        let m = parse(b"MSH|^~\\&|A\rPID|1\n|x\nab\rPV1|1\r");
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(2).text().as_deref(), Some("x\nab"));
        assert_eq!(m.segment_count(), 3);
    }

    #[test]
    fn segment_shaped_lines_with_bad_ids_are_damage() {
        assert_eq!(line_kind(b"PID|1", b'|'), LineKind::Segment);
        assert_eq!(line_kind(b"ZP1", b'|'), LineKind::Segment);
        assert_eq!(line_kind(b"panel^LN|", b'|'), LineKind::Continuation);
        assert_eq!(line_kind(b"|20260101", b'|'), LineKind::Continuation);
        assert_eq!(line_kind(b"ab", b'|'), LineKind::Continuation);
        for damaged in [&b"pan|el"[..], b"Obx|1", b" PID|1", b"P D|", b"abc"] {
            assert_eq!(line_kind(damaged, b'|'), LineKind::Damaged, "{damaged:?}");
        }
        let error = Message::parse(b"MSH|^~\\&|A\rPID|1\r\nOb1|2\r", &Limits::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3 (byte 18): \"Ob1\" is not a segment id (three upper-case letters or digits); the segment structure is damaged"
        );
    }

    #[test]
    fn custom_delimiters_and_truncation_character() {
        let m = parse(b"MSH#$*/%!#A#B\rPID#1##a%b$c!d*e/F/\r");
        let d = m.delimiters();
        assert_eq!(
            (
                d.field,
                d.component,
                d.repetition,
                d.escape,
                d.subcomponent,
                d.truncation
            ),
            (b'#', b'$', b'*', b'/', b'%', Some(b'!'))
        );
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(3).component(1).subcomponent(2).text().as_deref(), Some("b"));
        assert_eq!(pid.field(3).repetitions().count(), 2);
        assert_eq!(pid.field(3).repetitions().nth(1).unwrap().text().as_deref(), Some("e#"));
    }

    #[test]
    fn explicit_null_is_empty() {
        let m = parse(b"MSH|^~\\&|A\rPID|1||\"\"\r");
        let f = m.segment("PID").unwrap().field(3);
        assert!(f.is_null() && f.is_empty() && f.text().is_none());
        assert_eq!(f.repetitions().count(), 0);
    }

    #[test]
    fn errors_are_located() {
        let err = |b: &[u8], l: &Limits| Message::parse(b, l).unwrap_err().to_string();
        let d = Limits::default();
        assert_eq!(err(b"", &d), "empty message");
        assert_eq!(err(b"PID|1", &d), "does not start with an MSH segment");
        assert_eq!(err(b"MSH", &d), "truncated MSH segment: no encoding characters");
        assert_eq!(
            err(b"MSH|^^\\&|", &d),
            "MSH-2: invalid encoding characters: delimiters must differ from each other"
        );
        // `^\&` declares `&` as escape, which collides with the default subcomponent separator.
        assert_eq!(
            err(b"MSH|^\\&|", &d),
            "MSH-2: invalid encoding characters: delimiters must differ from each other"
        );
        assert_eq!(
            err(b"MSH|^~\\&|A\rPID|1|x\0y", &d),
            "PID-2: control character 0x00 in the data"
        );
        assert_eq!(
            err(b"MSH|^~\\&|A\rPID|1|\xe9", &d),
            "PID-2: invalid UTF-8 byte sequence (declare the character set in MSH-18)"
        );
        assert_eq!(
            err(b"MSH|^~\\&|A|||||||||||||||EBCDIC", &d),
            "MSH-18: unsupported character set \"EBCDIC\""
        );
        let tight = Limits {
            max_message_bytes: 64,
            max_segments: 2,
            max_repetitions: 3,
        };
        assert_eq!(
            err(b"MSH|^~\\&|A\rPID|1|a~b~c~d", &tight),
            "PID-2: more than 3 repetitions"
        );
        assert_eq!(err(b"MSH|^~\\&|A\rPID\rPV1", &tight), "more than 2 segments");
        assert_eq!(
            err(&[b'M'; 65], &tight),
            "message of 65 bytes exceeds the limit of 64 bytes"
        );
    }

    #[test]
    fn a_second_msh_is_another_message_not_more_segments() {
        let d = Limits::default();
        let err = |b: &[u8], l: &Limits| Message::parse(b, l).unwrap_err().to_string();
        let two = b"MSH|^~\\&|A|||||||ADT^A01|1|P|2.5\rPID|1||999910851\rMSH|^~\\&|A|||||||ORU^R01|2|P|2.5\rPID|1||999911739\r";
        assert_eq!(
            err(two, &d),
            "MSH#2: segment 3 is a second MSH: another message starts there; send one message per frame or request"
        );
        // MSH inside a field is data.
        assert!(Message::parse(b"MSH|^~\\&|A\rNTE|1||MSH|x\r", &d).is_ok());
    }

    #[test]
    fn latin1_is_decoded() {
        let m = parse(b"MSH|^~\\&|A|||||||||||||||8859/1\rPID|1||Ren\xe9\r");
        assert_eq!(m.charset(), Charset::Latin1);
        assert_eq!(m.segment("PID").unwrap().field(3).text().as_deref(), Some("René"));
    }
}
