//! The ER7 parser and splitter on arbitrary bytes: no panic, and every value
//! of a parsed message can be read and written back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_hl7v2::{Er7Message, Limits, Message, Splitter};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_message_bytes: 1 << 16, max_segments: 512, max_repetitions: 256 };
    let mut splitter = Splitter::new(limits.max_message_bytes);
    for chunk in data.chunks(97) {
        splitter.push(chunk);
        while splitter.next_frame().is_some() {}
    }
    while splitter.finish().is_some() {}
    if let Ok(message) = Message::parse(data, &limits) {
        let text = Er7Message::from_parsed(&message).to_er7();
        let again = Message::parse(text.as_bytes(), &Limits { max_message_bytes: usize::MAX, ..limits });
        assert!(again.is_ok(), "written ER7 must parse: {text:?}");
    }
});
