//! Shared helpers of the EDIFACT integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use zorgpoort_edifact::{Options, to_fhir};

/// The adapter's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The `.edi` files of one fixtures subfolder, sorted.
pub fn fixture_files(kind: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "edi"))
        .collect();
    paths.sort();
    paths
}

/// Every good fixture with the Bundle type its messages must have.
pub fn good_fixtures() -> Vec<(PathBuf, &'static str)> {
    let mut all = Vec::new();
    for (kind, bundle_type) in [
        ("medlab", "transaction"),
        ("medvri", "transaction"),
        ("medeur", "document"),
    ] {
        let files = fixture_files(kind);
        assert!(files.len() >= 5, "{kind}: {} fixtures", files.len());
        all.extend(files.into_iter().map(|p| (p, bundle_type)));
    }
    all
}

/// One converted message: Bundle JSON and warnings as text.
pub struct Converted {
    pub json: String,
    pub warnings: Vec<String>,
    pub origin: zorgpoort_model::Origin,
}

/// Converts a file whose messages must all convert.
pub fn convert_file(path: &Path) -> Vec<Converted> {
    let bytes = std::fs::read(path).unwrap();
    let results = to_fhir(&bytes, &Options::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    results
        .into_iter()
        .map(|r| {
            let c = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Converted {
                json: c.bundle.to_json(),
                warnings: c.warnings.iter().map(ToString::to_string).collect(),
                origin: c.origin,
            }
        })
        .collect()
}

/// Compares `actual` with the committed file `tests/expected/<name>`, or
/// rewrites it when `UPDATE_EXPECT=1`.
pub fn expect_file(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected").join(name);
    zorgpoort_model::check::expect_file(&path, actual);
}

/// Compact JSON laid out one value per line, keys in emitted order (the
/// order is part of the output, so golden files keep it).
pub fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}
