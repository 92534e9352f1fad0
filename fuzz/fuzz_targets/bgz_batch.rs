//! The BgZ batch Bundle of POST /fhir (a `batch` of GET searches) on
//! arbitrary JSON: no panic; one answer per entry; every entry URL that
//! reads as a search runs against a small pool and gives a searchset Bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zorgpoort_handover::bgz::{Pool, parse};
use zorgpoort_server::api::bgz::batch_searches;

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(searches) = batch_searches(&bundle) else {
        return;
    };
    assert_eq!(bundle["type"], "batch");
    let entries = bundle["entry"].as_array().map_or(0, Vec::len);
    assert_eq!(searches.len(), entries);
    let pool = Pool::new(&[], "999911120", "https://gateway.example/fhir");
    for url in searches.into_iter().flatten() {
        if let Ok(search) = parse(url) {
            let found = pool.search(&search);
            let set = pool.searchset(&found);
            assert_eq!(set["resourceType"], "Bundle");
        }
    }
});
