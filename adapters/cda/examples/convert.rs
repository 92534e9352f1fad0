//! Converts the CDA files named on the command line and prints each Bundle
//! as one JSON line, and the warnings on stderr.
#![allow(clippy::unwrap_used)]

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        match zorgpoort_cda::to_fhir(&bytes, &zorgpoort_cda::Options::default()) {
            Ok(conversion) => {
                println!("{}", conversion.bundle.to_json());
                for warning in &conversion.warnings {
                    eprintln!("{path}: {warning}");
                }
            }
            Err(error) => eprintln!("{path}: error: {error}"),
        }
    }
}
