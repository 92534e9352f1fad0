//! The ISO 9735 syntax layer: service string advice, segments split on the
//! terminator with release characters honoured, the UNB/UNZ, UNG/UNE and
//! UNH/UNT envelopes checked, and data elements and components read as
//! borrowed slices of the input, unescaped and decoded to UTF-8 only when
//! their text is asked for.

use std::borrow::Cow;

use crate::Limits;
use crate::error::{Error, ErrorKind, Location, Short, Trailer, position};

/// The service characters of an interchange (UNA, or the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Component data element separator (`:`).
    pub component: u8,
    /// Data element separator (`+`).
    pub element: u8,
    /// Decimal mark (`.`); `,` is accepted in numbers either way.
    pub decimal: u8,
    /// Release character (`?`); `None` when UNA gives a space.
    pub release: Option<u8>,
    /// Reserved (the repetition separator of syntax version 4; not
    /// special here, as the Dutch messages do not repeat elements).
    pub reserved: u8,
    /// Segment terminator (`'`).
    pub segment: u8,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            component: b':',
            element: b'+',
            decimal: b'.',
            release: Some(b'?'),
            reserved: b' ',
            segment: b'\'',
        }
    }
}

impl Delimiters {
    /// The defaults of character set UNOB without UNA (information
    /// separators IS1, IS3 and IS4; no release character).
    pub const UNOB: Self = Self {
        component: 0x1F,
        element: 0x1D,
        decimal: b'.',
        release: None,
        reserved: b' ',
        segment: 0x1C,
    };

    /// The advice after `UNA`: six characters.
    fn from_una(advice: &[u8]) -> Result<Self, ErrorKind> {
        let [component, element, decimal, release, reserved, segment] = advice else {
            return Err(ErrorKind::InvalidUna("fewer than 6 service characters"));
        };
        let release = (*release != b' ').then_some(*release);
        let mut special = vec![*component, *element, *segment];
        special.extend(release);
        for (i, a) in special.iter().enumerate() {
            if special[i + 1..].contains(a) {
                return Err(ErrorKind::InvalidUna("the same character for two purposes"));
            }
            if a.is_ascii_alphanumeric() || *a == b' ' {
                return Err(ErrorKind::InvalidUna("a letter, digit or space as separator"));
            }
        }
        if !matches!(decimal, b'.' | b',') {
            return Err(ErrorKind::InvalidUna("decimal mark is neither '.' nor ','"));
        }
        Ok(Self {
            component: *component,
            element: *element,
            decimal: *decimal,
            release,
            reserved: *reserved,
            segment: *segment,
        })
    }

    fn is_special(self, b: u8) -> bool {
        b == self.component || b == self.element || b == self.segment || Some(b) == self.release
    }
}

/// The character repertoire of UNB's syntax identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UNOA: upper-case ASCII subset (any ASCII is accepted).
    Unoa,
    /// UNOB: ASCII.
    Unob,
    /// UNOC: ISO 8859-1 (Latin-1), decoded to UTF-8.
    Unoc,
    /// UNOY / UNOW: UTF-8.
    Utf8,
}

impl Charset {
    /// The name as UNB writes it.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Unoa => "UNOA",
            Charset::Unob => "UNOB",
            Charset::Unoc => "UNOC",
            Charset::Utf8 => "UNOY",
        }
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"UNOA" => Some(Charset::Unoa),
            b"UNOB" => Some(Charset::Unob),
            b"UNOC" => Some(Charset::Unoc),
            b"UNOY" | b"UNOW" => Some(Charset::Utf8),
            _ => None,
        }
    }
}

/// How to read the bytes of one interchange.
#[derive(Debug, Clone, Copy)]
struct Syntax<'a> {
    delimiters: Delimiters,
    charset: Charset,
    /// The whole input when it is UTF-8 (else empty): plain ASCII elements
    /// are sliced from it instead of checked one by one.
    text: &'a str,
    /// The segment read is ASCII without release characters (known from
    /// the split): its elements need no check before they are sliced.
    plain: bool,
}

/// How many element separators of a segment the split keeps the place of:
/// more than any segment of the Dutch messages has.
const KEPT_SEPARATORS: usize = 12;

/// Where the first unreleased element separators of a segment are (from
/// its start), found by the split: elements are then cut without scanning
/// the segment again.
#[derive(Debug, Clone, Copy, Default)]
struct Separators {
    offsets: [u16; KEPT_SEPARATORS],
    /// How many offsets are kept (fewer when the segment has fewer
    /// separators, or is too long for 16-bit offsets).
    kept: u8,
}

impl Separators {
    /// Keeps the place of separator number `index` (0-based) at `offset`,
    /// when all before it are kept and there is room.
    fn keep(&mut self, index: usize, offset: usize) {
        if usize::from(self.kept) == index
            && index < KEPT_SEPARATORS
            && let Ok(offset) = u16::try_from(offset)
        {
            self.offsets[index] = offset;
            self.kept += 1;
        }
    }
}

/// Where one segment sits in the input (terminator excluded).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// Unreleased element separators: the number of data elements after
    /// the tag, counted by the split anyway and used by the unmapped check.
    elements: usize,
    separators: Separators,
    /// The tag, found by the split.
    tag: Short<3>,
    /// Whether the segment holds a release character at all.
    released: bool,
    /// Whether the segment is ASCII throughout.
    ascii: bool,
}

/// One message of an interchange: its segments from UNH to UNT, or the
/// error that makes it unusable.
#[derive(Debug)]
struct MessageSpan {
    /// Index of UNH in the interchange's segments.
    first: usize,
    /// Index one past its last segment.
    end: usize,
    problem: Option<Error>,
}

/// A parsed interchange: the envelope checked, segments as borrowed slices.
#[derive(Debug)]
pub struct Interchange<'a> {
    input: &'a [u8],
    syntax: Syntax<'a>,
    segments: Vec<Span>,
    messages: Vec<MessageSpan>,
    sender: String,
    sender_qualifier: Option<String>,
    recipient: String,
    control_reference: String,
    prepared: Option<(String, Option<String>)>,
}

/// A count element (UNT, UNE, UNZ) as a number.
fn parse_count(raw: &[u8]) -> Option<usize> {
    std::str::from_utf8(raw).ok()?.parse().ok()
}

/// Index of the next unreleased `separator` in `raw` from `from`, or `raw.len()`.
/// The first `N` pieces of `raw` from `start` on, cut at unreleased
/// `separator`s (those not there are empty), each made into a `T` by `make`
/// with its 0-based number.
fn pieces<'a, T, const N: usize>(
    raw: &'a [u8],
    mut start: usize,
    separator: u8,
    release: Option<u8>,
    make: impl Fn(usize, &'a [u8]) -> T,
) -> [T; N] {
    std::array::from_fn(|i| {
        let piece = if start > raw.len() {
            &[][..]
        } else {
            let end = find_separator(raw, start, separator, release);
            let piece = &raw[start..end];
            start = end + 1;
            piece
        };
        make(i, piece)
    })
}

fn find_separator(raw: &[u8], from: usize, separator: u8, release: Option<u8>) -> usize {
    // Without a release character `release` is the separator itself, which
    // the first test already takes: one comparison less per byte.
    let release = release.unwrap_or(separator);
    let mut i = from;
    while let Some(&b) = raw.get(i) {
        if b == separator {
            return i;
        }
        i += if b == release { 2 } else { 1 };
    }
    raw.len()
}

/// The `n`th (0-based) piece of `raw` between unreleased `separator`s.
fn piece(raw: &[u8], n: usize, separator: u8, release: Option<u8>) -> Option<&[u8]> {
    let mut start = 0;
    for _ in 0..n {
        let end = find_separator(raw, start, separator, release);
        if end >= raw.len() {
            return None;
        }
        start = end + 1;
    }
    let end = find_separator(raw, start, separator, release);
    Some(&raw[start..end.min(raw.len())])
}

impl<'a> Interchange<'a> {
    /// Splits and checks an interchange: UNA (optional), UNB, then messages
    /// (UNH..UNT, optionally in UNG..UNE groups), then UNZ.
    ///
    /// Problems of the envelope (no UNB, no UNZ, a wrong UNZ count or
    /// reference, limits) fail the whole interchange; problems of one
    /// message (no UNT, a wrong UNT count or reference) are kept with that
    /// message and returned by [`Interchange::messages`].
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        if input.len() > limits.max_bytes {
            return Err(Error::new(ErrorKind::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            }));
        }
        let mut pos = 0;
        if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
            pos = 3;
        }
        while pos < input.len() && input[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos == input.len() {
            return Err(Error::new(ErrorKind::Empty));
        }
        let rest = &input[pos..];
        let delimiters = if rest.starts_with(b"UNA") {
            let advice = rest.get(3..9).unwrap_or(&rest[3..]);
            let delimiters = Delimiters::from_una(advice).map_err(Error::new)?;
            pos += 9;
            while pos < input.len() && matches!(input[pos], b'\r' | b'\n') {
                pos += 1;
            }
            delimiters
        } else if rest.starts_with(b"UNB\x1D") {
            Delimiters::UNOB
        } else {
            Delimiters::default()
        };
        let segments = split(input, pos, delimiters, limits)?;
        let mut interchange = Self {
            input,
            syntax: Syntax {
                delimiters,
                charset: Charset::Unoa,
                text: std::str::from_utf8(input).unwrap_or_default(),
                plain: false,
            },
            segments,
            messages: Vec::new(),
            sender: String::new(),
            sender_qualifier: None,
            recipient: String::new(),
            control_reference: String::new(),
            prepared: None,
        };
        interchange.read_unb()?;
        interchange.read_envelope(limits)?;
        Ok(interchange)
    }

    fn segment_at(&self, index: usize) -> Segment<'a> {
        let span = self.segments[index];
        let mut syntax = self.syntax;
        if !span.released {
            // Nothing to honour or remove: its elements are read as if the
            // interchange had no release character, one test less per byte.
            syntax.delimiters.release = None;
        }
        syntax.plain = !span.released && span.ascii;
        Segment {
            raw: &self.input[span.start..span.end],
            syntax,
            elements: span.elements,
            separators: span.separators,
            location: Location {
                segment: position(index + 1),
                tag: span.tag,
                ..Location::default()
            },
        }
    }

    fn read_unb(&mut self) -> Result<(), Error> {
        let unb = self.segment_at(0);
        if unb.tag() != "UNB" {
            return Err(Error::at(unb.location(), ErrorKind::MissingUnb(unb.tag().to_owned())));
        }
        let [syntax_id, sender, recipient, prepared, reference] = unb.fields::<5>();
        let syntax_id = syntax_id.component(1);
        let name = syntax_id.raw();
        self.syntax.charset = Charset::from_name(name).ok_or_else(|| {
            Error::at(
                syntax_id.location(),
                ErrorKind::UnsupportedCharset(String::from_utf8_lossy(name).into_owned()),
            )
        })?;
        let required = |element: Element<'a>, what: &'static str| -> Result<String, Error> {
            element
                .text()?
                .map(Cow::into_owned)
                .ok_or_else(|| Error::at(element.location(), ErrorKind::MissingElement(what)))
        };
        let [sender, qualifier] = sender.components::<2>();
        self.sender = required(sender, "interchange sender")?;
        self.sender_qualifier = qualifier.text()?.map(Cow::into_owned);
        self.recipient = required(recipient.component(1), "interchange recipient")?;
        self.control_reference = required(reference.component(1), "interchange control reference")?;
        let [date, time] = prepared.components::<2>();
        let date = date.text()?.map(Cow::into_owned);
        let time = time.text()?.map(Cow::into_owned);
        self.prepared = date.map(|d| (d, time));
        Ok(())
    }

    fn read_envelope(&mut self, limits: &Limits) -> Result<(), Error> {
        let mut open: Option<usize> = None;
        let mut groups = 0usize;
        let mut group_ref: Option<(usize, Vec<u8>)> = None;
        let mut unz = None;
        for index in 1..self.segments.len() {
            if unz.is_some() {
                return Err(Error::at(self.segment_at(index).location(), ErrorKind::AfterUnz));
            }
            // The tag is all most segments need here: the segment itself is
            // made only where its elements are read.
            match self.segments[index].tag.as_bytes() {
                b"UNH" => {
                    if let Some(first) = open.take() {
                        self.close_unterminated(first, index);
                    }
                    if self.messages.len() >= limits.max_messages {
                        return Err(Error::at(
                            self.segment_at(index).location(),
                            ErrorKind::TooManyMessages {
                                limit: limits.max_messages,
                            },
                        ));
                    }
                    open = Some(index);
                }
                b"UNT" => {
                    let Some(first) = open.take() else {
                        return Err(Error::at(
                            self.segment_at(index).location(),
                            ErrorKind::OutsideMessage("UNT".to_owned()),
                        ));
                    };
                    let problem = self.check_unt(first, index);
                    self.messages.push(MessageSpan {
                        first,
                        end: index + 1,
                        problem,
                    });
                }
                b"UNG" => {
                    if let Some(first) = open.take() {
                        self.close_unterminated(first, index);
                    }
                    groups += 1;
                    group_ref = Some((
                        self.messages.len(),
                        self.segment_at(index).element(5).component(1).raw().to_vec(),
                    ));
                }
                b"UNE" => {
                    if let Some(first) = open.take() {
                        self.close_unterminated(first, index);
                    }
                    if let Some((first_message, reference)) = group_ref.take() {
                        self.check_une(index, self.messages.len() - first_message, &reference)?;
                    }
                }
                b"UNZ" => {
                    if let Some(first) = open.take() {
                        self.close_unterminated(first, index);
                    }
                    unz = Some(index);
                }
                _ => {
                    if open.is_none() {
                        let segment = self.segment_at(index);
                        return Err(Error::at(
                            segment.location(),
                            ErrorKind::OutsideMessage(segment.tag().to_owned()),
                        ));
                    }
                }
            }
        }
        if let Some(first) = open {
            self.close_unterminated(first, self.segments.len());
        }
        let Some(unz_index) = unz else {
            return Err(Error::new(ErrorKind::Truncated("no UNZ trailer")));
        };
        self.check_unz(unz_index, groups)
    }

    /// UNE (at `index`) counts the `actual` messages of its group and
    /// repeats UNG's group `reference`.
    fn check_une(&self, index: usize, actual: usize, reference: &[u8]) -> Result<(), Error> {
        let une = self.segment_at(index);
        let declared = une.element(1).component(1).raw();
        if parse_count(declared) != Some(actual) {
            return Err(Error::at(
                une.location().with_element(1),
                ErrorKind::UneCount {
                    declared: String::from_utf8_lossy(declared).into(),
                    actual,
                },
            ));
        }
        let found = une.element(2).component(1).raw();
        if found != reference {
            return Err(Error::at(
                une.location().with_element(2),
                ErrorKind::ReferenceMismatch {
                    trailer: Trailer::Une,
                    expected: String::from_utf8_lossy(reference).into(),
                    found: String::from_utf8_lossy(found).into(),
                },
            ));
        }
        Ok(())
    }

    /// UNZ counts the messages (or the groups, when there are any) and
    /// repeats UNB's control reference.
    fn check_unz(&self, unz_index: usize, groups: usize) -> Result<(), Error> {
        let unz = self.segment_at(unz_index);
        let declared = unz.element(1).component(1).raw();
        let actual = if groups > 0 { groups } else { self.messages.len() };
        if parse_count(declared) != Some(actual) {
            return Err(Error::at(
                unz.location().with_element(1),
                ErrorKind::UnzCount {
                    declared: String::from_utf8_lossy(declared).into(),
                    actual,
                },
            ));
        }
        let reference = unz.element(2).text()?.unwrap_or_default();
        if reference != self.control_reference.as_str() {
            return Err(Error::at(
                unz.location().with_element(2),
                ErrorKind::ReferenceMismatch {
                    trailer: Trailer::Unz,
                    expected: self.control_reference.as_str().into(),
                    found: reference.into(),
                },
            ));
        }
        Ok(())
    }

    /// The message location of the segment at `index` in the message from `first`.
    fn message_location(&self, first: usize, index: usize) -> Location {
        let unh = self.segment_at(first);
        let segment = self.segment_at(index.min(self.segments.len() - 1));
        Location {
            message: position(self.messages.len() + 1),
            message_ref: Short::new(unh.element(1).component(1).raw()),
            segment: position(index - first + 1),
            tag: Short::new(segment.tag().as_bytes()),
            element: 0,
            component: 0,
        }
    }

    fn close_unterminated(&mut self, first: usize, end: usize) {
        let mut location = self.message_location(first, first);
        location.segment = 1;
        self.messages.push(MessageSpan {
            first,
            end,
            problem: Some(Error::at(location, ErrorKind::MissingUnt)),
        });
    }

    fn check_unt(&self, first: usize, unt_index: usize) -> Option<Error> {
        let unt = self.segment_at(unt_index);
        let location = self.message_location(first, unt_index);
        let actual = unt_index - first + 1;
        let declared = unt.element(1).component(1).raw();
        if parse_count(declared) != Some(actual) {
            return Some(Error::at(
                location.with_element(1),
                ErrorKind::UntCount {
                    declared: String::from_utf8_lossy(declared).into(),
                    actual,
                },
            ));
        }
        let expected = self.segment_at(first).element(1).component(1).raw();
        let found = unt.element(2).component(1).raw();
        if expected != found {
            return Some(Error::at(
                location.with_element(2),
                ErrorKind::ReferenceMismatch {
                    trailer: Trailer::Unt,
                    expected: String::from_utf8_lossy(expected).into(),
                    found: String::from_utf8_lossy(found).into(),
                },
            ));
        }
        None
    }

    /// The messages in order, each parsed on its own: a message with a
    /// broken UNH/UNT envelope is an `Err`, the others are still usable.
    pub fn messages(&self) -> impl Iterator<Item = Result<Message<'_, 'a>, Error>> {
        self.messages
            .iter()
            .enumerate()
            .map(move |(i, span)| match &span.problem {
                Some(problem) => Err(problem.clone()),
                None => Ok(Message {
                    interchange: self,
                    number: i + 1,
                    first: span.first,
                    end: span.end,
                }),
            })
    }

    /// How many messages the interchange holds (good and bad).
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// The service characters in force.
    pub fn delimiters(&self) -> Delimiters {
        self.syntax.delimiters
    }

    /// The character set from UNB.
    pub fn charset(&self) -> Charset {
        self.syntax.charset
    }

    /// Interchange sender identification (UNB S002 0004).
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The sender's identification code qualifier (UNB S002 0007), if any.
    pub fn sender_qualifier(&self) -> Option<&str> {
        self.sender_qualifier.as_deref()
    }

    /// Interchange recipient identification (UNB S003 0010).
    pub fn recipient(&self) -> &str {
        &self.recipient
    }

    /// Interchange control reference (UNB 0020).
    pub fn control_reference(&self) -> &str {
        &self.control_reference
    }

    /// Date and time of preparation (UNB S004) as given: `YYMMDD` or
    /// `CCYYMMDD`, and `HHMM`.
    pub fn prepared(&self) -> Option<(&str, Option<&str>)> {
        self.prepared.as_ref().map(|(d, t)| (d.as_str(), t.as_deref()))
    }
}

/// Splits the input from `pos` into segments on unreleased terminators,
/// ignoring line breaks after terminators.
fn split(input: &[u8], mut pos: usize, d: Delimiters, limits: &Limits) -> Result<Vec<Span>, Error> {
    let mut segments = Vec::with_capacity(input.len() / 32 + 4);
    let mut start = pos;
    let mut elements = 0usize;
    let mut separators = Separators::default();
    let mut released = false;
    let location = |n: usize, start: usize, end: usize| Location {
        segment: position(n),
        tag: Short::new(&input[start..end.min(start + 3)]),
        ..Location::default()
    };
    // Only the release character and the element and segment separators
    // stop the scan: one table look-up per byte instead of three tests.
    let mut special = [false; 256];
    for b in [d.release, Some(d.element), Some(d.segment)].into_iter().flatten() {
        special[usize::from(b)] = true;
    }
    loop {
        while pos < input.len() && !special[usize::from(input[pos])] {
            pos += 1;
        }
        let Some(&b) = input.get(pos) else {
            break;
        };
        if Some(b) == d.release {
            if pos + 1 >= input.len() {
                return Err(Error::at(
                    location(segments.len() + 1, start, pos),
                    ErrorKind::LoneRelease,
                ));
            }
            released = true;
            pos += 2;
            continue;
        }
        if b == d.element {
            separators.keep(elements, pos - start);
            elements += 1;
            if elements > limits.max_elements {
                return Err(Error::at(
                    location(segments.len() + 1, start, pos),
                    ErrorKind::TooManyElements {
                        limit: limits.max_elements,
                    },
                ));
            }
            pos += 1;
            continue;
        }
        if segments.len() >= limits.max_segments {
            return Err(Error::new(ErrorKind::TooManySegments {
                limit: limits.max_segments,
            }));
        }
        let tag_end = input[start..pos]
            .iter()
            .position(|&c| c == d.element || c == d.component)
            .map_or(pos, |i| start + i);
        let tag = &input[start..tag_end];
        if tag.is_empty() || tag.len() > 3 || !tag.iter().all(u8::is_ascii_alphanumeric) {
            return Err(Error::at(
                location(segments.len() + 1, start, pos),
                ErrorKind::InvalidTag,
            ));
        }
        segments.push(Span {
            start,
            end: pos,
            elements,
            separators,
            tag: Short::new(tag),
            released,
            // Only read without release characters, when it is the whole segment.
            ascii: input[start..pos].is_ascii(),
        });
        pos += 1;
        while pos < input.len() && matches!(input[pos], b'\r' | b'\n') {
            pos += 1;
        }
        start = pos;
        elements = 0;
        separators = Separators::default();
        released = false;
    }
    if input[start..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(Error::at(
            location(segments.len() + 1, start, input.len()),
            ErrorKind::Truncated("the last segment has no terminator"),
        ));
    }
    if segments.is_empty() {
        return Err(Error::new(ErrorKind::Empty));
    }
    Ok(segments)
}

/// One message of an [`Interchange`]: UNH to UNT.
#[derive(Debug, Clone, Copy)]
pub struct Message<'i, 'a> {
    interchange: &'i Interchange<'a>,
    number: usize,
    first: usize,
    end: usize,
}

impl<'i, 'a> Message<'i, 'a> {
    /// 1-based number of the message in its interchange.
    pub fn number(&self) -> usize {
        self.number
    }

    /// The interchange the message belongs to.
    pub fn interchange(&self) -> &'i Interchange<'a> {
        self.interchange
    }

    /// The UNH segment.
    pub fn header(&self) -> Segment<'a> {
        self.segment(0)
    }

    /// The message reference number (UNH 0062), raw.
    pub fn reference(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.header().element(1).component(1).raw())
    }

    /// The message type (UNH S009 0065: `MEDLAB`, `MEDVRI`, `MEDEUR`).
    pub fn message_type(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.header().element(2).component(1).raw())
    }

    fn segment(&self, offset: usize) -> Segment<'a> {
        let mut segment = self.interchange.segment_at(self.first + offset);
        segment.location.message = position(self.number);
        segment.location.message_ref =
            Short::new(self.interchange.segment_at(self.first).element(1).component(1).raw());
        segment.location.segment = position(offset + 1);
        segment
    }

    /// All segments from UNH to UNT.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + '_ {
        let message_ref = Short::new(self.interchange.segment_at(self.first).element(1).component(1).raw());
        (self.first..self.end).map(move |index| {
            let mut segment = self.interchange.segment_at(index);
            segment.location.message = position(self.number);
            segment.location.message_ref = message_ref;
            segment.location.segment = position(index - self.first + 1);
            segment
        })
    }
}

/// One segment: a borrowed slice of the input without its terminator.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    syntax: Syntax<'a>,
    /// How many data elements follow the tag.
    elements: usize,
    separators: Separators,
    location: Location,
}

impl<'a> Segment<'a> {
    /// The segment tag (`UNH`, `PID`), checked to be 1-3 ASCII letters or digits.
    pub fn tag(&self) -> &str {
        self.location.tag.as_str()
    }

    /// The tag's bytes: what the handlers dispatch on, without a UTF-8 check
    /// per segment.
    pub(crate) fn tag_bytes(&self) -> &[u8] {
        self.location.tag.as_bytes()
    }

    /// The raw bytes, escapes intact.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Where the segment is.
    pub fn location(&self) -> Location {
        self.location
    }

    /// Data element `n` (1-based); 0 is the tag with its components (the
    /// Dutch messages number nested segments there: `BEP:1:1:2`). An
    /// element that is not there reads as empty.
    pub fn element(&self, n: usize) -> Element<'a> {
        Element {
            raw: self.element_raw(n),
            syntax: self.syntax,
            location: self.location.with_element(n),
        }
    }

    /// The bytes of element `n` (0 the tag), empty when it is not there.
    fn element_raw(&self, n: usize) -> &'a [u8] {
        if n > self.elements {
            return &[];
        }
        let start = if n == 0 { 0 } else { self.separator(n - 1) + 1 };
        let end = if n < self.elements {
            self.separator(n)
        } else {
            self.raw.len()
        };
        &self.raw[start..end]
    }

    /// The offset of unreleased element separator `index` (0-based, below
    /// `elements`): kept by the split, or else found from the last one kept.
    fn separator(&self, index: usize) -> usize {
        let kept = usize::from(self.separators.kept);
        if index < kept {
            return usize::from(self.separators.offsets[index]);
        }
        let d = self.syntax.delimiters;
        let (mut at, mut found) = match kept.checked_sub(1) {
            Some(last) => (usize::from(self.separators.offsets[last]), last),
            None => (find_separator(self.raw, 0, d.element, d.release), 0),
        };
        while found < index {
            at = find_separator(self.raw, at + 1, d.element, d.release);
            found += 1;
        }
        at
    }

    /// The data elements after the tag, in one pass, numbered from 1.
    pub fn elements(&self) -> impl Iterator<Item = (usize, Element<'a>)> + use<'a> {
        let d = self.syntax.delimiters;
        let (raw, syntax, location) = (self.raw, self.syntax, self.location);
        let mut start = find_separator(raw, 0, d.element, d.release) + 1;
        let mut n = 0;
        std::iter::from_fn(move || {
            if start > raw.len() {
                return None;
            }
            let end = find_separator(raw, start, d.element, d.release);
            n += 1;
            let element = Element {
                raw: &raw[start..end],
                syntax,
                location: location.with_element(n),
            };
            start = end + 1;
            Some((n, element))
        })
    }

    /// Data elements 1 to `N` in one pass, as [`Segment::element`] gives
    /// them one by one (those not there read as empty): for handlers that
    /// read most elements of a long segment.
    pub(crate) fn fields<const N: usize>(&self) -> [Element<'a>; N] {
        std::array::from_fn(|i| self.element(i + 1))
    }

    /// The numbers (from 1) of the data elements that hold something: what
    /// the unmapped-element check needs, without making an [`Element`] of
    /// every one.
    pub(crate) fn filled_elements(&self) -> impl Iterator<Item = usize> + use<'a> {
        let d = self.syntax.delimiters;
        let raw = self.raw;
        let mut start = find_separator(raw, 0, d.element, d.release) + 1;
        let mut n = 0;
        std::iter::from_fn(move || {
            while start <= raw.len() {
                let end = find_separator(raw, start, d.element, d.release);
                n += 1;
                let filled = end > start;
                start = end + 1;
                if filled {
                    return Some(n);
                }
            }
            None
        })
    }

    /// How many data elements follow the tag.
    pub fn element_count(&self) -> usize {
        self.elements
    }
}

/// A data element or one of its components.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    raw: &'a [u8],
    syntax: Syntax<'a>,
    location: Location,
}

impl<'a> Element<'a> {
    /// The raw bytes, escapes intact.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Where it is.
    pub fn location(&self) -> Location {
        self.location
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Component `n` (1-based) of a composite element.
    #[must_use]
    pub fn component(&self, n: usize) -> Element<'a> {
        let d = self.syntax.delimiters;
        let raw = piece(self.raw, n.saturating_sub(1), d.component, d.release).unwrap_or_default();
        Element {
            raw,
            syntax: self.syntax,
            location: self.location.with_component(n),
        }
    }

    /// Components 1 to `N` in one pass, as [`Element::component`] gives
    /// them one by one (those not there read as empty).
    pub(crate) fn components<const N: usize>(&self) -> [Element<'a>; N] {
        let d = self.syntax.delimiters;
        pieces(self.raw, 0, d.component, d.release, |i, raw| Element {
            raw,
            syntax: self.syntax,
            location: self.location.with_component(i + 1),
        })
    }

    /// The text of a simple element (or of this component): release
    /// characters removed, decoded from the interchange's character set,
    /// `None` when empty. Borrowed when nothing needed changing.
    pub fn text(&self) -> Result<Option<Cow<'a, str>>, Error> {
        let raw = match self.location.component {
            // Component 1, without making an `Element` of it.
            0 => {
                let d = self.syntax.delimiters;
                &self.raw[..find_separator(self.raw, 0, d.component, d.release)]
            }
            _ => self.raw,
        };
        if raw.is_empty() {
            return Ok(None);
        }
        decode(raw, self.syntax)
            .map(Some)
            .map_err(|kind| Error::at(self.location, kind))
    }
}

impl<'a> Element<'a> {
    /// The text of the whole element, unreleased component separators kept
    /// as they are: for free text, where senders write `:` without release.
    pub fn full_text(&self) -> Result<Option<Cow<'a, str>>, Error> {
        if self.raw.is_empty() {
            return Ok(None);
        }
        decode(self.raw, self.syntax)
            .map(Some)
            .map_err(|kind| Error::at(self.location, kind))
    }
}

/// Unescapes and decodes to UTF-8.
fn decode<'a>(raw: &'a [u8], syntax: Syntax<'a>) -> Result<Cow<'a, str>, ErrorKind> {
    // Nearly every element is ASCII without release characters, the same
    // text in every character set: taken from the input checked once.
    let release = syntax.delimiters.release;
    if syntax.plain || (raw.is_ascii() && release.is_none_or(|r| !raw.contains(&r))) {
        let whole = syntax.text;
        let text = raw
            .as_ptr()
            .addr()
            .checked_sub(whole.as_ptr().addr())
            .and_then(|start| whole.get(start..start.checked_add(raw.len())?))
            .filter(|t| std::ptr::eq(t.as_bytes(), raw));
        if let Some(text) = text {
            return Ok(Cow::Borrowed(text));
        }
        if let Ok(text) = std::str::from_utf8(raw) {
            return Ok(Cow::Borrowed(text));
        }
    }
    let released = match release {
        Some(release) if raw.contains(&release) => {
            let mut out = Vec::with_capacity(raw.len());
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == release && i + 1 < raw.len() {
                    i += 1;
                }
                out.push(raw[i]);
                i += 1;
            }
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(raw),
    };
    let invalid = |byte: u8| ErrorKind::InvalidEncoding {
        charset: syntax.charset.name(),
        byte,
    };
    match syntax.charset {
        Charset::Unoa | Charset::Unob => {
            if !released.is_ascii() {
                let b = released.iter().copied().find(|b| !b.is_ascii()).unwrap_or_default();
                return Err(invalid(b));
            }
            Ok(bytes_to_str(released))
        }
        Charset::Unoc => {
            if released.is_ascii() {
                Ok(bytes_to_str(released))
            } else {
                Ok(Cow::Owned(released.iter().map(|&b| char::from(b)).collect()))
            }
        }
        Charset::Utf8 => match std::str::from_utf8(&released) {
            Ok(_) => Ok(bytes_to_str(released)),
            Err(e) => Err(invalid(released[e.valid_up_to()])),
        },
    }
}

/// Bytes already checked to be valid UTF-8 as text.
fn bytes_to_str(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default()),
        Cow::Owned(b) => Cow::Owned(String::from_utf8(b).unwrap_or_default()),
    }
}

/// Escapes `text` for a data element: every service character and the
/// release character itself get the release character in front. Without a
/// release character the text is returned unchanged.
pub fn escape(text: &str, delimiters: &Delimiters) -> String {
    let Some(release) = delimiters.release else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if c.is_ascii() && delimiters.is_special(c as u8) {
            out.push(char::from(release));
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Interchange<'_>, Error> {
        Interchange::parse(text.as_bytes(), &Limits::default())
    }

    #[test]
    fn splits_segments_elements_and_components_with_releases() {
        let text =
            "UNA:+.? 'UNB+UNOA:1+LAB:30+GP+260101:1200+42'\r\nUNH+1+MEDLAB:1'PID+Jan?+Piet:v?:d+??x'UNT+3+1'UNZ+1+42'";
        let interchange = parse(text).unwrap();
        assert_eq!(interchange.sender(), "LAB");
        assert_eq!(interchange.sender_qualifier(), Some("30"));
        let message = interchange.messages().next().unwrap().unwrap();
        assert_eq!(message.message_type(), "MEDLAB");
        let pid = message.segments().nth(1).unwrap();
        assert_eq!(pid.tag(), "PID");
        assert_eq!(pid.element_count(), 2);
        assert_eq!(pid.element(1).text().unwrap().unwrap(), "Jan+Piet");
        assert_eq!(pid.element(1).component(2).text().unwrap().unwrap(), "v:d");
        assert_eq!(pid.element(2).text().unwrap().unwrap(), "?x");
        assert!(pid.element(3).text().unwrap().is_none());
        assert_eq!(pid.location().to_string(), "msg 1 (UNH+1): segment 2 PID");
    }

    /// The segment after UNH of an interchange holding `segment`.
    fn with_segment(segment: &str) -> String {
        format!("UNB+UNOA:1+S+R+260101+1'UNH+1+MEDLAB:1'{segment}'UNT+3+1'UNZ+1+1'")
    }

    /// Every element as the split placed it is the element a scan finds.
    fn assert_elements_as_scanned(text: &str) {
        let interchange = parse(text).unwrap();
        let message = interchange.messages().next().unwrap().unwrap();
        let segment = message.segments().nth(1).unwrap();
        for n in 0..segment.element_count() + 3 {
            let scanned = piece(segment.raw(), n, b'+', Some(b'?')).unwrap_or_default();
            assert_eq!(segment.element(n).raw(), scanned, "element {n}");
        }
    }

    #[test]
    fn elements_past_the_kept_separators_and_in_long_segments_are_found() {
        let many: Vec<String> = (0..KEPT_SEPARATORS + 8).map(|n| format!("e{n}")).collect();
        assert_elements_as_scanned(&with_segment(&format!("TXT+{}", many.join("+"))));
        let long = "x".repeat(70_000);
        assert_elements_as_scanned(&with_segment(&format!("TXT+a+b?+c+{long}+d+e")));
        assert_elements_as_scanned(&with_segment(&format!("TXT+{long}+a+b")));
    }

    proptest::proptest! {
        #[test]
        fn elements_are_where_a_scan_finds_them(elements in proptest::collection::vec("[a-z?:+']{0,5}", 0..20)) {
            let escaped: Vec<String> = elements.iter().map(|e| escape(e, &Delimiters::default())).collect();
            assert_elements_as_scanned(&with_segment(&format!("TXT+{}", escaped.join("+"))));
        }
    }

    #[test]
    fn elements_in_one_pass_match_elements_by_number() {
        let text = "UNB+UNOA:1+S+R+260101+1'UNH+1+MEDLAB:1'BEP:1:1:2+0+Na?+K+140++mmol/l+++?'x'UNT+3+1'UNZ+1+1'";
        let interchange = parse(text).unwrap();
        let message = interchange.messages().next().unwrap().unwrap();
        let bep = message.segments().nth(1).unwrap();
        let all: Vec<_> = bep.elements().collect();
        assert_eq!(all.len(), bep.element_count());
        assert_eq!(all.len(), 8);
        for (n, element) in all {
            assert_eq!(element.raw(), bep.element(n).raw(), "element {n}");
            assert_eq!(element.location(), bep.element(n).location());
        }
        let filled: Vec<usize> = bep.filled_elements().collect();
        let expected: Vec<usize> = bep.elements().filter(|(_, e)| !e.is_empty()).map(|(n, _)| n).collect();
        assert_eq!(filled, expected);
        let fields = bep.fields::<10>();
        for (i, element) in fields.iter().enumerate() {
            assert_eq!(element.raw(), bep.element(i + 1).raw(), "field {}", i + 1);
            assert_eq!(element.location(), bep.element(i + 1).location());
        }
        assert_eq!(bep.element(0).component(4).text().unwrap().unwrap(), "2");
        assert_eq!(bep.element(2).text().unwrap().unwrap(), "Na+K");
        assert_eq!(bep.element(8).text().unwrap().unwrap(), "'x");
    }

    #[test]
    fn latin1_is_decoded_and_utf8_checked() {
        let mut latin1 = b"UNB+UNOC:3+S+R+260101+1'UNH+1+MEDVRI:1'TXT+Citro".to_vec();
        latin1.extend([0xEB, b'n']);
        latin1.extend(b"'UNT+3+1'UNZ+1+1'");
        let interchange = Interchange::parse(&latin1, &Limits::default()).unwrap();
        let txt = interchange
            .messages()
            .next()
            .unwrap()
            .unwrap()
            .segments()
            .nth(1)
            .unwrap();
        assert_eq!(txt.element(1).text().unwrap().unwrap(), "Citroën");
        let mut bad_utf8 = latin1.clone();
        bad_utf8[7] = b'Y';
        bad_utf8[9] = b'4';
        let interchange = Interchange::parse(&bad_utf8, &Limits::default()).unwrap();
        let txt = interchange
            .messages()
            .next()
            .unwrap()
            .unwrap()
            .segments()
            .nth(1)
            .unwrap();
        assert_eq!(
            txt.element(1).text().unwrap_err().to_string(),
            "msg 1 (UNH+1): segment 2 TXT, element 1: byte 0xEB is not valid in character set UNOY"
        );
    }

    #[test]
    fn escape_marks_every_service_character() {
        assert_eq!(escape("a+b:c'd?e", &Delimiters::default()), "a?+b?:c?'d??e");
    }
}
