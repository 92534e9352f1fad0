//! Splitting a byte stream into HL7 v2 messages: several messages per file,
//! optional MLLP framing bytes, batch envelopes (FHS/BHS/BTS/FTS) removed.
//!
//! The splitter is fed chunks and never holds more than one message plus one
//! chunk, so a file of any size is split in constant memory; a message over
//! the size limit is reported and skipped up to the next MSH.

use crate::error::{Error, ErrorKind};

/// MLLP start-of-block byte.
pub const MLLP_START: u8 = 0x0B;
/// MLLP end-of-block byte (followed by a carriage return).
pub const MLLP_END: u8 = 0x1C;

/// The UTF-8 byte order mark some editors put at the start of a file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One message cut from the stream, numbered from 1 in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1-based position in the input.
    pub number: usize,
    /// The message bytes, framing removed.
    pub bytes: Vec<u8>,
}

/// Cuts a stream of bytes into messages at each `MSH` that starts a line.
#[derive(Debug)]
pub struct Splitter {
    buffer: Vec<u8>,
    scanned: usize,
    max_message_bytes: usize,
    numbered: usize,
    skipping: bool,
}

impl Splitter {
    /// A splitter that refuses messages over `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            buffer: Vec::new(),
            scanned: 0,
            max_message_bytes,
            numbered: 0,
            skipping: false,
        }
    }

    /// Adds input; call [`Splitter::next_frame`] until it returns `None` after each push.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete message, if the buffered input holds one.
    pub fn next_frame(&mut self) -> Option<Result<Frame, Error>> {
        loop {
            let Some(end) = self.find_boundary() else {
                return self.check_size();
            };
            if self.skipping {
                self.skipping = false;
                self.consume(end);
                continue;
            }
            let frame = self.take(end);
            if frame.is_some() {
                return frame;
            }
        }
    }

    /// How many messages (good or refused) were cut so far.
    pub fn messages_seen(&self) -> usize {
        self.numbered
    }

    /// The last message, once the input has ended.
    pub fn finish(&mut self) -> Option<Result<Frame, Error>> {
        if let Some(frame) = self.next_frame() {
            return Some(frame);
        }
        if self.skipping {
            self.buffer.clear();
            return None;
        }
        let end = self.buffer.len();
        self.take(end)
    }

    /// Where the next message after the one at the buffer's start begins.
    fn find_boundary(&mut self) -> Option<usize> {
        let mut at = self.scanned.max(1);
        while let Some(i) = self
            .buffer
            .get(at..)
            .and_then(|rest| rest.windows(3).position(|w| w == b"MSH"))
        {
            let start = at + i;
            // An MSH inside a line is data, not a new message.
            if matches!(self.buffer[start - 1], b'\r' | b'\n' | MLLP_START | MLLP_END) {
                return Some(start);
            }
            at = start + 1;
        }
        self.scanned = self.buffer.len().saturating_sub(2).max(1);
        None
    }

    fn check_size(&mut self) -> Option<Result<Frame, Error>> {
        if self.buffer.len() <= self.max_message_bytes {
            return None;
        }
        // Keep the tail so an MSH split across chunks is still found.
        let keep = self.buffer.len() - 4;
        self.consume(keep);
        if self.skipping {
            return None;
        }
        self.skipping = true;
        self.numbered += 1;
        let kind = ErrorKind::TooLarge {
            size: self.max_message_bytes + 1,
            limit: self.max_message_bytes,
        };
        Some(Err(Error::new(kind).in_message(self.numbered)))
    }

    fn consume(&mut self, end: usize) {
        self.buffer.drain(..end);
        self.scanned = 0;
    }

    fn take(&mut self, end: usize) -> Option<Result<Frame, Error>> {
        let bytes = strip_envelope(&self.buffer[..end]);
        let frame = (!bytes.is_empty()).then(|| bytes.to_vec());
        self.consume(end);
        let bytes = frame?;
        self.numbered += 1;
        Some(Ok(Frame {
            number: self.numbered,
            bytes,
        }))
    }
}

/// What an MLLP stream (`0x0B message 0x1C 0x0D`) holds next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MllpItem {
    /// A message between a start block and an end block, framing removed.
    Frame(Vec<u8>),
    /// Bytes ended by an end block with no start block before them: a
    /// sender that does not frame, or a lost start byte. It gets a NAK.
    Unframed(Vec<u8>),
    /// Bytes that are neither whitespace nor framed, dropped before a start
    /// block; how many.
    Noise(usize),
    /// A frame (or unframed data) over the limit, of at least `size` bytes.
    /// The stream cannot be resynchronised reliably after it.
    TooLarge {
        /// The size seen so far.
        size: usize,
    },
}

/// Cuts an MLLP byte stream into frames. Each byte is examined once however
/// the stream is chunked: the search for the end block resumes where the
/// last one stopped, so a large frame sent in small pieces costs what it
/// costs sent at once.
#[derive(Debug)]
pub struct MllpDecoder {
    buffer: Vec<u8>,
    /// Where the search for the next block byte resumes.
    scanned: usize,
    max_frame_bytes: usize,
    examined: u64,
}

impl MllpDecoder {
    /// A decoder that refuses frames over `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buffer: Vec::with_capacity(8192),
            scanned: 0,
            max_frame_bytes,
            examined: 0,
        }
    }

    /// Adds input; call [`MllpDecoder::next_item`] until it returns `None` after each push.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Bytes buffered and not yet cut into an item.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// How many byte comparisons the searches made so far: the work, for
    /// tests that check a stream is not rescanned.
    pub fn bytes_examined(&self) -> u64 {
        self.examined
    }

    /// The next item, if the buffered input holds a whole one.
    pub fn next_item(&mut self) -> Option<MllpItem> {
        // Whitespace between frames (a sender's trailing newline) is not data.
        let skip = self.buffer.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if skip > 0 {
            self.consume(skip);
        }
        let framed = *self.buffer.first()? == MLLP_START;
        let from = self.scanned.max(usize::from(framed));
        let item = if framed {
            self.find(from, |b| b == MLLP_END).map(|end| (end, true))
        } else {
            self.find(from, |b| b == MLLP_END || b == MLLP_START)
                .map(|at| (at, self.buffer[at] == MLLP_END))
        };
        match item {
            // An end block is the end byte and a carriage return.
            Some((end, true)) => match self.buffer.get(end + 1) {
                None => {
                    self.scanned = end;
                    self.check_size()
                }
                Some(b'\r') => {
                    let start = usize::from(framed);
                    if end - start > self.max_frame_bytes {
                        return Some(MllpItem::TooLarge { size: end - start });
                    }
                    let bytes = self.buffer[start..end].to_vec();
                    self.consume(end + 2);
                    Some(if framed {
                        MllpItem::Frame(bytes)
                    } else {
                        MllpItem::Unframed(bytes)
                    })
                }
                // An end byte without its carriage return is data.
                Some(_) => {
                    self.scanned = end + 1;
                    self.next_item()
                }
            },
            Some((start, false)) => {
                self.consume(start);
                Some(MllpItem::Noise(start))
            }
            None => {
                self.scanned = self.buffer.len();
                self.check_size()
            }
        }
    }

    /// The first byte from `from` on that `wanted` picks, counting the work.
    fn find(&mut self, from: usize, wanted: impl Fn(u8) -> bool) -> Option<usize> {
        let rest = self.buffer.get(from..).unwrap_or_default();
        let found = rest.iter().position(|&b| wanted(b));
        let looked = found.map_or(rest.len(), |i| i + 1);
        self.examined += u64::try_from(looked).unwrap_or(u64::MAX);
        found.map(|i| from + i)
    }

    fn check_size(&self) -> Option<MllpItem> {
        // Start block, end block and carriage return around the largest frame.
        (self.buffer.len() > self.max_frame_bytes + 3).then_some(MllpItem::TooLarge {
            size: self.buffer.len(),
        })
    }

    fn consume(&mut self, end: usize) {
        self.buffer.drain(..end);
        self.scanned = 0;
    }
}

/// Removes framing bytes, surrounding whitespace and batch envelope segments.
fn strip_envelope(mut bytes: &[u8]) -> &[u8] {
    let framing = |b: &u8| b.is_ascii_whitespace() || *b == MLLP_START || *b == MLLP_END;
    loop {
        let start = bytes.iter().position(|b| !framing(b)).unwrap_or(bytes.len());
        let end = bytes.iter().rposition(|b| !framing(b)).map_or(start, |i| i + 1);
        bytes = &bytes[start..end];
        if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
            bytes = rest;
            continue;
        }
        let line_end = bytes
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(bytes.len());
        if bytes.starts_with(b"FHS") || bytes.starts_with(b"BHS") {
            bytes = &bytes[line_end..];
            continue;
        }
        let last_start = bytes
            .iter()
            .rposition(|&b| b == b'\r' || b == b'\n')
            .map_or(0, |i| i + 1);
        let last = &bytes[last_start..];
        if last.starts_with(b"BTS") || last.starts_with(b"FTS") {
            bytes = &bytes[..last_start];
            continue;
        }
        return bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8], chunk: usize, max: usize) -> Vec<Result<Frame, Error>> {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            s.push(c);
            while let Some(f) = s.next_frame() {
                out.push(f);
            }
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_messages_whatever_the_chunking() {
        let input = b"MSH|^~\\&|A\rPID|1|xMSHy\r\nMSH|^~\\&|B\nPID|2\n\x0bMSH|^~\\&|C\r\x1c\r";
        for chunk in [1, 2, 3, 7, 1000] {
            let frames: Vec<_> = split(input, chunk, 1000).into_iter().map(Result::unwrap).collect();
            assert_eq!(frames.len(), 3, "chunk {chunk}");
            assert_eq!(frames[0].bytes, b"MSH|^~\\&|A\rPID|1|xMSHy");
            assert_eq!(frames[2].bytes, b"MSH|^~\\&|C");
            assert_eq!(frames[2].number, 3);
        }
    }

    #[test]
    fn batch_envelopes_are_removed() {
        let input = b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rPID|1\rBTS|1\rFTS|1\r";
        let frames: Vec<_> = split(input, 5, 1000).into_iter().map(Result::unwrap).collect();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].bytes, b"MSH|^~\\&|A\rPID|1");
    }

    #[test]
    fn oversized_message_is_reported_and_skipped() {
        let mut input = b"MSH|^~\\&|A\rPID|".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend_from_slice(b"\rMSH|^~\\&|B\r");
        let frames = split(&input, 64, 1024);
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[0].as_ref().unwrap_err().to_string(),
            "msg 1: message of 1025 bytes exceeds the limit of 1024 bytes"
        );
        assert_eq!(frames[1].as_ref().unwrap().number, 2);
        assert_eq!(frames[1].as_ref().unwrap().bytes, b"MSH|^~\\&|B");
    }

    fn decode(input: &[u8], chunk: usize, max: usize) -> (Vec<MllpItem>, u64) {
        let mut decoder = MllpDecoder::new(max);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            decoder.push(c);
            while let Some(item) = decoder.next_item() {
                let stop = matches!(item, MllpItem::TooLarge { .. });
                out.push(item);
                if stop {
                    return (out, decoder.bytes_examined());
                }
            }
        }
        (out, decoder.bytes_examined())
    }

    #[test]
    fn mllp_frames_are_cut_at_the_end_block_whatever_the_chunking() {
        let input = b"\x0bMSH|a\x1c\r\r\n\x0bMSH|b\x1cx\x1c\r";
        for chunk in [1, 2, 3, 1000] {
            let (items, _) = decode(input, chunk, 100);
            assert_eq!(
                items,
                [
                    MllpItem::Frame(b"MSH|a".to_vec()),
                    MllpItem::Frame(b"MSH|b\x1cx".to_vec())
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn mllp_data_without_a_start_block_is_reported_not_dropped() {
        let (items, _) = decode(b"MSH|^~\\&|A\rPID|1\x1c\r\x0bMSH|b\x1c\r", 4, 100);
        assert_eq!(
            items,
            [
                MllpItem::Unframed(b"MSH|^~\\&|A\rPID|1".to_vec()),
                MllpItem::Frame(b"MSH|b".to_vec())
            ]
        );
        let (items, _) = decode(b"junk\x0bMSH|b\x1c\r", 2, 100);
        assert_eq!(items, [MllpItem::Noise(4), MllpItem::Frame(b"MSH|b".to_vec())]);
    }

    #[test]
    fn mllp_oversized_frames_are_refused() {
        let mut big = vec![MLLP_START];
        big.extend(std::iter::repeat_n(b'x', 200));
        assert_eq!(decode(&big, 7, 100).0, [MllpItem::TooLarge { size: 105 }]);
        big.extend_from_slice(b"\x1c\r");
        assert_eq!(decode(&big, 1000, 100).0, [MllpItem::TooLarge { size: 200 }]);
        let unframed = vec![b'x'; 200];
        assert!(matches!(decode(&unframed, 10, 100).0[..], [MllpItem::TooLarge { .. }]));
    }

    #[test]
    fn an_mllp_frame_in_small_pieces_is_examined_once() {
        // 8 MiB sent in 1 KiB pieces: the end block is searched for from
        // where the last search stopped, not from the start of the frame.
        let size = 8 * 1024 * 1024;
        let mut input = vec![MLLP_START];
        input.extend(std::iter::repeat_n(b'x', size));
        input.extend_from_slice(b"\x1c\r");
        let (items, examined) = decode(&input, 1024, 16 * 1024 * 1024);
        assert!(matches!(&items[..], [MllpItem::Frame(f)] if f.len() == size));
        let total = u64::try_from(input.len()).unwrap();
        assert!(examined <= total, "{examined} bytes examined for {total}");
    }

    #[test]
    fn junk_without_msh_is_one_frame_for_the_parser_to_reject() {
        let frames = split(b"garbage\x00\xff", 4, 100);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].as_ref().unwrap().bytes, b"garbage\x00\xff");
    }
}
