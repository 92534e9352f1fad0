//! `zorgpoort validate`: checks FHIR R4 resources (JSON, NDJSON or XML)
//! against the R4 schema and the nl-core profiles they claim, or one given.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::Value;
use zorgpoort_profiles::xml::XmlLimits;
use zorgpoort_profiles::{Issue, ProfileChoice, Severity, has_errors, operation_outcome, validate};

/// Arguments of `zorgpoort validate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes one OperationOutcome per resource as NDJSON on stdout, in input order, and a \
readable summary per resource on stderr.\n\n\
Exit status: 0 when every resource is valid (warnings allowed), 1 when any resource has errors or a file cannot \
be read, 2 on usage errors.\n\n\
Example: zorgpoort validate --profile http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient patient.json"
)]
pub struct Args {
    /// Check against this profile (canonical URL) instead of the ones each resource claims in meta.profile.
    #[arg(long, value_name = "URL")]
    profile: Option<String>,
    /// Largest accepted file in bytes.
    #[arg(long, default_value_t = XmlLimits::default().max_bytes)]
    max_bytes: usize,
    /// FHIR JSON (one resource, or NDJSON) or FHIR XML files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `zorgpoort validate`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let limits = XmlLimits {
        max_bytes: args.max_bytes,
        ..XmlLimits::default()
    };
    let profiles = args
        .profile
        .as_deref()
        .map_or(ProfileChoice::Claimed, ProfileChoice::Explicit);
    let mut stdout = crate::output::Stdout;
    let mut all_valid = true;
    'files: for file in &args.files {
        let name = file.display().to_string();
        let resources = match read(file, args.max_bytes).and_then(|bytes| resources(&bytes, &limits)) {
            Ok(resources) => resources,
            Err(error) => {
                eprintln!("{name}: {error:#}");
                all_valid = false;
                continue;
            }
        };
        for (index, resource) in resources.iter().enumerate() {
            let issues = validate(resource, profiles);
            all_valid &= !has_errors(&issues);
            report(&format!("{name}#{}", index + 1), resource, &issues);
            writeln!(stdout, "{}", operation_outcome(&issues)).context("writing to stdout")?;
            if crate::output::closed() {
                break 'files;
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read(file: &PathBuf, max_bytes: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    if file.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        let opened = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        opened.take(limit).read_to_end(&mut bytes).context("reading")?;
    }
    anyhow::ensure!(bytes.len() <= max_bytes, "larger than --max-bytes {max_bytes}");
    Ok(bytes)
}

/// The resources in a file: one XML resource, or one or more JSON values
/// (a single resource or NDJSON).
fn resources(bytes: &[u8], limits: &XmlLimits) -> Result<Vec<Value>> {
    let bytes = zorgpoort_profiles::without_byte_order_mark(bytes);
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Ok(vec![zorgpoort_profiles::parse(bytes, limits)?]);
    }
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_slice(bytes).into_iter().collect();
    let values = values.context("not FHIR JSON")?;
    anyhow::ensure!(!values.is_empty(), "no resource in the file");
    Ok(values)
}

/// One line per resource and one per finding, on stderr.
fn report(what: &str, resource: &Value, issues: &[Issue]) {
    let kind = resource.get("resourceType").and_then(Value::as_str).unwrap_or("?");
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(String::new, |id| format!("/{id}"));
    let count = |severity| issues.iter().filter(|issue| issue.severity == severity).count();
    let verdict = if has_errors(issues) { "invalid" } else { "valid" };
    eprintln!(
        "{what} {kind}{id}: {verdict} ({} errors, {} warnings)",
        count(Severity::Error),
        count(Severity::Warning)
    );
    for issue in issues {
        eprintln!(
            "  {} {} {}: {}",
            issue.severity.as_str(),
            issue.code.as_str(),
            issue.expression,
            issue.message
        );
    }
}
