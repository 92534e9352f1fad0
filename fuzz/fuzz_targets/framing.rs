//! Stream splitting and MLLP framing with the input pushed in arbitrary
//! pieces (the first bytes choose the piece sizes): no panic, and the frames
//! cut do not depend on how the stream was chunked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_hl7v2::{MllpDecoder, MllpItem, Splitter};

/// Piece sizes from the first 8 bytes (1..=64 each, cycled); the rest is the stream.
fn pieces(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let (sizes, stream) = data.split_at(data.len().min(8));
    let sizes = sizes.iter().map(|&b| usize::from(b % 64) + 1).collect::<Vec<_>>();
    (if sizes.is_empty() { vec![1] } else { sizes }, stream)
}

fn chunked<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// Messages (or their errors, as text) the splitter cuts from the pieces.
fn split(pieces: &[&[u8]], limit: usize) -> Vec<Result<(usize, Vec<u8>), String>> {
    let mut splitter = Splitter::new(limit);
    let mut out = Vec::new();
    for piece in pieces {
        splitter.push(piece);
        while let Some(frame) = splitter.next_frame() {
            out.push(frame.map(|f| (f.number, f.bytes)).map_err(|e| e.to_string()));
        }
    }
    while let Some(frame) = splitter.finish() {
        out.push(frame.map(|f| (f.number, f.bytes)).map_err(|e| e.to_string()));
    }
    assert_eq!(splitter.messages_seen(), out.len());
    out
}

/// MLLP items up to the first oversized one (after which the connection is closed).
fn decode(pieces: &[&[u8]], limit: usize) -> Vec<MllpItem> {
    let mut decoder = MllpDecoder::new(limit);
    let mut out = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        while let Some(item) = decoder.next_item() {
            let too_large = matches!(item, MllpItem::TooLarge { .. });
            if let MllpItem::Frame(bytes) | MllpItem::Unframed(bytes) = &item {
                assert!(
                    bytes.len() <= limit,
                    "frame of {} bytes over the limit {limit}",
                    bytes.len()
                );
            }
            out.push(item);
            if too_large {
                return out;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = pieces(data);
    let whole = [stream];
    let parts = chunked(stream, &sizes);
    // With a limit no input reaches, chunking must not change what is cut.
    assert_eq!(split(&whole, 1 << 20), split(&parts, 1 << 20));
    assert_eq!(decode(&whole, 1 << 20), decode(&parts, 1 << 20));
    // A small limit: refusals and skipping, no panic.
    let _ = split(&parts, 64);
    let mllp = decode(&parts, 64);
    let _ = mllp.len();
});
