//! Regenerates what `zorgpoort-profiles` embeds, from the published packages
//! in the repository's corpora (`conformance-tests/corpora`, see its
//! `SOURCES.md`):
//!
//! - `profiles/data/fhir.schema.json`: the official FHIR R4 JSON schema
//!   without its descriptions (a fifth of the size, same constraints);
//! - `profiles/src/generated.rs`: the nl-core/zib2020 StructureDefinitions
//!   and enumerated ValueSets as compact rule tables;
//! - `profiles/src/generated_r4.rs`: the base R4 required elements the
//!   schema cannot require (see the `r4` module).
//!
//! Run from the workspace root: `cargo run -p zorgpoort-profiles-codegen`.
//! The output is checked in; CI fails when it is stale.

mod r4;
mod rules;
mod xml;

use std::path::Path;
use std::process::ExitCode;

/// `conformance-tests/corpora`, found from this crate's directory so that the
/// input does not depend on where the tool is run from.
const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance-tests/corpora");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [corpora] => regenerate(Path::new(corpora), Path::new("profiles")),
        [] => regenerate(Path::new(CORPORA), Path::new("profiles")),
        _ => Err("usage: zorgpoort-profiles-codegen [CORPORA_DIR]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zorgpoort-profiles-codegen: {message}");
            ExitCode::FAILURE
        }
    }
}

fn regenerate(corpora: &Path, out: &Path) -> Result<(), String> {
    let schema_path = corpora.join("fhir/schema/fhir.schema.json");
    let schema = read(&schema_path)?;
    let mut schema: serde_json::Value =
        serde_json::from_str(&schema).map_err(|e| format!("{}: {e}", schema_path.display()))?;
    strip_descriptions(&mut schema);
    write(&out.join("data/fhir.schema.json"), &schema.to_string())?;

    let packages = corpora.join("nl-core/resources");
    let tables = rules::generate(&packages)?;
    write(&out.join("src/generated.rs"), &tables)?;

    let required_path = corpora.join("fhir/r4-required/required-elements.json");
    let required =
        serde_json::from_str(&read(&required_path)?).map_err(|e| format!("{}: {e}", required_path.display()))?;
    write(&out.join("src/generated_r4.rs"), &r4::generate(&required)?)
}

/// Descriptions are documentation only; dropping them keeps the embedded
/// schema small without changing what it accepts.
fn strip_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            // A `description` property of a FHIR type is an object; only the
            // documentation strings go.
            if map.get("description").is_some_and(serde_json::Value::is_string) {
                map.remove("description");
            }
            map.values_mut().for_each(strip_descriptions);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), text.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The checked-in tables are what the packages generate today.
    #[test]
    fn checked_in_output_is_current() {
        let out = std::env::temp_dir().join(format!("zorgpoort-profiles-codegen-{}", std::process::id()));
        for dir in ["data", "src"] {
            std::fs::create_dir_all(out.join(dir)).expect("temp dir");
        }
        super::regenerate(Path::new(super::CORPORA), &out).expect("regenerate");
        for file in ["data/fhir.schema.json", "src/generated.rs", "src/generated_r4.rs"] {
            let fresh = std::fs::read_to_string(out.join(file)).expect("fresh");
            let checked_in = std::fs::read_to_string(Path::new("..").join(file)).expect("checked in");
            assert!(
                fresh == checked_in,
                "profiles/{file} is stale: run `cargo run -p zorgpoort-profiles-codegen`"
            );
        }
        std::fs::remove_dir_all(out).expect("clean up");
    }
}
