//! The BgZ search parser on arbitrary text, and a search over a small pool:
//! no panic; a parsed search names a resource type of letters only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_handover::bgz::{Pool, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(search) = parse(text) {
        assert!(search.resource_type.bytes().all(|b| b.is_ascii_alphabetic()));
        let pool = Pool::new(&[], "999911120", "https://gateway.example/fhir");
        let found = pool.search(&search);
        assert!(found.is_empty());
    }
});
