//! Property tests: ER7 writing and parsing round-trip, the splitter does not
//! depend on chunking, and neither parser nor converter panics on any input.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use zorgpoort_hl7v2::synthetic::Generator;
use zorgpoort_hl7v2::write::{Er7Message, Er7Segment};
use zorgpoort_hl7v2::{Delimiters, Limits, Message, Options, Splitter, to_fhir};

/// Text with delimiters, escapes, line breaks and non-ASCII inside, but not
/// at the edges (values are read trimmed) and never the null marker `""`.
fn value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9é]([A-Za-z0-9 |^~&\\\\#\n\r.é\"-]{0,12}[A-Za-z0-9é])?".prop_filter("null marker", |s| s != "\"\"")
}

fn segment() -> impl Strategy<Value = Er7Segment> {
    let id = prop::sample::select(vec!["PID", "PV1", "OBX", "NTE", "ZXY", "NK1"]);
    let subcomponents = prop::collection::vec(value(), 1..3);
    let components = prop::collection::vec(subcomponents, 1..4);
    let repetitions = prop::collection::vec(components, 1..3);
    let fields = prop::collection::vec(repetitions, 1..8);
    (id, fields).prop_map(|(id, fields)| Er7Segment {
        id: id.to_owned(),
        fields,
    })
}

fn message() -> impl Strategy<Value = Er7Message> {
    prop::collection::vec(segment(), 0..6).prop_map(|body| {
        let mut segments = vec![Er7Segment::simple(
            "MSH",
            &["APP", "FAC", "", "", "20260101120000", "", "ADT^A08", "1", "P", "2.5"],
        )];
        segments.extend(body);
        Er7Message {
            delimiters: Delimiters::default(),
            segments,
        }
    })
}

fn split_all(input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, String>> {
    let mut splitter = Splitter::new(1 << 20);
    let mut out = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        splitter.push(part);
        while let Some(frame) = splitter.next_frame() {
            out.push(frame.map(|f| f.bytes).map_err(|e| e.to_string()));
        }
    }
    out.extend(splitter.finish().map(|f| f.map(|f| f.bytes).map_err(|e| e.to_string())));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn er7_round_trip(message in message()) {
        let text = message.to_er7();
        let parsed = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
        let read_back = Er7Message::from_parsed(&parsed);
        // The MSH written as simple text fields reads back as components.
        prop_assert_eq!(&read_back.segments[1..], &message.segments[1..]);
        prop_assert_eq!(read_back.to_er7(), text);
    }

    #[test]
    fn parser_and_converter_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(message) = Message::parse(&bytes, &Limits::default()) {
            let _ = to_fhir(&message, &Options::default());
        }
    }

    #[test]
    fn parser_and_converter_never_panic_on_damaged_messages(
        seed in any::<u64>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"|^~\\&\r\n\"0123456789+-.ZX ".to_vec())), 1..20),
    ) {
        let mut bytes = Generator::new(seed).next_message().into_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(message) = Message::parse(&bytes, &Limits::default()) {
            if let Ok(conversion) = to_fhir(&message, &Options::default()) {
                let json = conversion.bundle.to_json();
                prop_assert!(zorgpoort_model::check::check_bundle(&json, "transaction").is_empty(), "{}", json);
            }
        }
    }

    #[test]
    fn splitting_does_not_depend_on_chunking(seed in any::<u64>(), count in 1usize..5, chunk in 1usize..300, framed in any::<bool>()) {
        let mut generator = Generator::new(seed);
        let mut input = Vec::new();
        for _ in 0..count {
            let message = generator.next_message();
            if framed {
                input.push(0x0B);
                input.extend_from_slice(message.as_bytes());
                input.extend_from_slice(b"\x1c\r");
            } else {
                input.extend_from_slice(message.as_bytes());
                input.push(b'\n');
            }
        }
        let whole = split_all(&input, input.len());
        prop_assert_eq!(whole.len(), count);
        prop_assert_eq!(split_all(&input, chunk), whole);
    }
}
