//! Property tests: release-character escaping round-trips under any service
//! characters, and no input (random or a mutated fixture) makes the parser
//! or the mapping panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use zorgpoort_edifact::{Delimiters, Interchange, Limits, Options, escape, to_fhir};

/// An interchange in UTF-8 whose one TXT segment holds `escaped`.
fn interchange_with(una: &str, d: Delimiters, escaped: &str) -> String {
    let (c, e, t) = (char::from(d.component), char::from(d.element), char::from(d.segment));
    format!(
        "{una}UNB{e}UNOY{c}4{e}S{e}R{e}260101{c}1200{e}1{t}UNH{e}1{e}MEDVRI{c}1{t}TXT{e}{escaped}{t}UNT{e}3{e}1{t}UNZ{e}1{e}1{t}"
    )
}

fn round_trip(una: &str, d: Delimiters, text: &str) -> Result<(), TestCaseError> {
    let escaped = escape(text, &d);
    let interchange = interchange_with(una, d, &escaped);
    let parsed = Interchange::parse(interchange.as_bytes(), &Limits::default())
        .map_err(|e| TestCaseError::fail(format!("{e}: {interchange:?}")))?;
    let message = parsed.messages().next().unwrap().unwrap();
    let segment = message.segments().nth(1).unwrap();
    prop_assert_eq!(segment.tag(), "TXT");
    prop_assert_eq!(segment.element_count(), 1);
    let whole = segment
        .element(1)
        .full_text()
        .unwrap()
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    prop_assert_eq!(&whole, text);
    // Released component separators are data, so the first component is all of it.
    let first = segment
        .element(1)
        .text()
        .unwrap()
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    prop_assert_eq!(&first, text);
    Ok(())
}

/// Service characters that may be chosen in UNA.
const CANDIDATES: &[u8] = b"+:'?*|^~!#$%&/;<=>@\\`_{}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn escaping_round_trips_with_the_default_characters(text in "[a-zA-Z0-9 +:'?.,é€\\n-]{0,40}") {
        round_trip("", Delimiters::default(), &text)?;
        round_trip("UNA:+.? '", Delimiters::default(), &text)?;
    }

    #[test]
    fn escaping_round_trips_with_any_una(
        picks in proptest::sample::subsequence(CANDIDATES.to_vec(), 4).prop_shuffle(),
        comma in any::<bool>(),
        extra in "[a-z ]{0,10}",
        text in any::<String>(),
    ) {
        let d = Delimiters {
            component: picks[0],
            element: picks[1],
            decimal: if comma { b',' } else { b'.' },
            release: Some(picks[2]),
            reserved: b' ',
            segment: picks[3],
        };
        let una: String = [b'U', b'N', b'A', d.component, d.element, d.decimal, picks[2], b' ', d.segment]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        // Every service character in the text, whatever they are this time.
        let text = format!("{text}{extra}{}", una[3..].to_owned());
        round_trip(&una, d, &text)?;
    }

    #[test]
    fn any_text_in_any_field_never_panics(fields in proptest::collection::vec(any::<String>(), 12)) {
        let d = Delimiters::default();
        let f: Vec<String> = fields.iter().map(|t| escape(t, &d)).collect();
        let segments = [
            format!("ZKH+{}+{}+{}", f[0], f[1], f[2]),
            format!("PID+{}+{}+{}++{}", f[3], f[4], f[5], f[6]),
            format!("DET:1+{}+{}", f[7], f[8]),
            format!("BEP:1:1:1+0+x+{}++{}+{}+{}+{}+{}", f[9], f[10], f[11], f[7], f[8], f[5]),
        ];
        for kind in ["MEDLAB", "MEDVRI", "MEDEUR"] {
            let body = segments.join("'") + "'";
            let text = format!(
                "UNB+UNOY:4+S+R+260101:1200+1'UNH+1+{kind}:1'{body}UNT+{}+1'UNZ+1+1'",
                segments.len() + 2
            );
            if let Ok(messages) = to_fhir(text.as_bytes(), &Options::default()) {
                prop_assert_eq!(messages.len(), 1);
                if let Ok(conversion) = &messages[0] {
                    let json = conversion.bundle.to_json();
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = to_fhir(&bytes, &Options::default());
        let mut framed = b"UNB+UNOC:3+S+R+260101:1200+1'UNH+1+MEDLAB:1'".to_vec();
        framed.extend(&bytes);
        let _ = to_fhir(&framed, &Options::default());
    }

    #[test]
    fn mutated_fixtures_never_panic_and_what_converts_is_json(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
    ) {
        let files = common::good_fixtures();
        let (path, _) = &files[pick.index(files.len())];
        let mut bytes = std::fs::read(path).unwrap();
        for (at, kind, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, b"+:'?"[usize::from(byte % 4)]),
                _ => bytes.truncate(i),
            }
        }
        if let Ok(messages) = to_fhir(&bytes, &Options::default()) {
            for conversion in messages.into_iter().flatten() {
                let json = conversion.bundle.to_json();
                prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{}", json);
            }
        }
    }
}
