//! `zorgpoort conformance check`: a vendor's sample messages before its
//! system joins a region. Each message of each file is read as the gateway
//! reads it, converted as the gateway converts it, and the Bundle it becomes
//! is validated against the nl-core profiles it claims. Every finding names
//! the file, the message and the place, with a severity; the exit status
//! says whether anything would be refused, so it can gate a vendor's CI.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use zorgpoort_formats::Settings;
use zorgpoort_profiles::{ProfileChoice, Severity, validate};

use crate::convert::{From, display_name, ecd_mapping};

/// Arguments of `zorgpoort conformance check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each message is read as the gateway reads it (a message the gateway would refuse is an \
error, with where and why: a missing control id, a patient without a usable identifier or a BSN failing the \
11-check, damaged segments, an impossible header date), converted as the gateway converts it (what the mapping \
leaves out, unknown code systems and unreadable fields are warnings, with their place), and the Bundle it becomes \
is validated against the R4 schema and the nl-core profiles it claims (errors and warnings at their FHIRPath).\n\n\
Writes a line per finding and a verdict per message on stdout (or, with --json, one JSON object per message), and a \
summary on stderr.\n\n\
Exit status: 0 when no message has an error (warnings allowed), 1 when any message or file has one, 2 on usage \
errors.\n\n\
Examples:\n  zorgpoort conformance check adt-samples.hl7 lab.edi discharge.xml\n  \
zorgpoort conformance check --format ecd --mapping my-vendor.toml --json export.csv > report.ndjson"
)]
pub struct CheckArgs {
    /// Format of the files (default: detected per file).
    #[arg(long, value_enum, default_value_t = From::Auto)]
    format: From,
    /// Mapping of nursing-home exports: a built-in name or a TOML file.
    #[arg(long, value_name = "NAME|FILE")]
    mapping: Option<String>,
    /// One JSON object per message instead of readable lines.
    #[arg(long)]
    json: bool,
    /// Largest accepted file in bytes.
    #[arg(long, default_value_t = Settings::default().max_bytes)]
    max_bytes: usize,
    /// Sample files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// What one check found in one message.
#[derive(Debug)]
struct Finding {
    severity: Severity,
    /// Which check: `read` (the gateway would refuse it), `bsn` (a BSN
    /// failing the 11-check), `mapping` (what the conversion warns about) or
    /// `nl-core` (the Bundle's validation).
    check: &'static str,
    /// Where, in the message's own terms or as a FHIRPath; empty when the
    /// message says it (a refusal names its place first).
    location: String,
    message: String,
}

/// The findings of one message.
#[derive(Debug)]
struct MessageReport {
    /// From 1, in file order.
    number: usize,
    /// The sender's id of the message, when it could be read.
    message_id: Option<String>,
    findings: Vec<Finding>,
}

impl MessageReport {
    fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// Runs `zorgpoort conformance check`.
pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let settings = Settings {
        ecd_mapping: args.mapping.as_deref().map(ecd_mapping).transpose()?,
        ..Settings::with_max_bytes(args.max_bytes)
    };
    let mut stdout = crate::output::Stdout;
    let (mut messages, mut failed, mut unread) = (0, 0, 0);
    for path in &args.files {
        let name = display_name(path);
        let reports = match check_file(path, args, &settings) {
            Ok(reports) => reports,
            Err(error) => {
                unread += 1;
                let line = if args.json {
                    json!({ "file": name, "error": format!("{error:#}") }).to_string()
                } else {
                    format!("{name}: error: {error:#}")
                };
                writeln!(stdout, "{line}").context("writing to stdout")?;
                continue;
            }
        };
        for report in &reports {
            messages += 1;
            failed += usize::from(report.has_errors());
            if args.json {
                writeln!(stdout, "{}", report_json(&name, report)).context("writing to stdout")?;
            } else {
                write_readable(&mut stdout, &name, report)?;
            }
        }
    }
    eprintln!("{messages} messages checked, {failed} with errors, {unread} files not readable");
    Ok(if failed + unread > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Every message of one file, checked; `Err` when the file as a whole
/// cannot be read (unreadable, too large, no known format, a broken
/// envelope).
fn check_file(path: &Path, args: &CheckArgs, settings: &Settings) -> Result<Vec<MessageReport>> {
    let bytes = read(path, args.max_bytes)?;
    let format = match args.format.format() {
        Some(chosen) => chosen,
        None => zorgpoort_formats::detect(&bytes).ok_or(zorgpoort_formats::Error::NotDetected)?,
    };
    let mut reports = Vec::new();
    zorgpoort_formats::convert_each(format, &bytes, settings, |converted| {
        let number = reports.len() + 1;
        reports.push(check_message(number, converted));
    })?;
    Ok(reports)
}

/// The findings of one message, converted or refused.
fn check_message(
    number: usize,
    converted: Result<zorgpoort_formats::Converted, zorgpoort_formats::Error>,
) -> MessageReport {
    let converted = match converted {
        Ok(converted) => converted,
        Err(error) => {
            return MessageReport {
                number,
                message_id: None,
                findings: vec![Finding {
                    severity: Severity::Error,
                    check: "read",
                    location: String::new(),
                    message: error.to_string(),
                }],
            };
        }
    };
    let mut findings: Vec<Finding> = converted.warnings.iter().map(mapping_finding).collect();
    match serde_json::from_str::<Value>(&converted.bundle) {
        Ok(bundle) => findings.extend(
            validate(&bundle, ProfileChoice::Claimed)
                .into_iter()
                .filter(|issue| issue.severity != Severity::Information)
                .map(|issue| Finding {
                    severity: issue.severity,
                    check: "nl-core",
                    location: issue.expression,
                    message: issue.message,
                }),
        ),
        Err(error) => findings.push(Finding {
            severity: Severity::Error,
            check: "nl-core",
            location: String::new(),
            message: format!("the converted Bundle is no JSON: {error}"),
        }),
    }
    MessageReport {
        number,
        message_id: Some(converted.origin.message_id),
        findings,
    }
}

/// What the conversion warned about. A BSN failing the 11-check is an
/// error here, though the gateway takes the message without it: a sender
/// that writes such BSNs leaves its patients unidentifiable by BSN.
fn mapping_finding(warning: &zorgpoort_model::Warning) -> Finding {
    let bad_bsn = warning.message.starts_with("BSN fails the 11-check");
    Finding {
        severity: if bad_bsn { Severity::Error } else { Severity::Warning },
        check: if bad_bsn { "bsn" } else { "mapping" },
        location: warning.location.clone(),
        message: warning.message.clone(),
    }
}

/// `file msg N: severity [check] location: message` per finding, then the
/// message's verdict.
fn write_readable(out: &mut impl Write, file: &str, report: &MessageReport) -> Result<()> {
    let id = report
        .message_id
        .as_deref()
        .map_or_else(String::new, |id| format!(" ({id})"));
    let at = format!("{file} msg {}{id}", report.number);
    for finding in &report.findings {
        let location = if finding.location.is_empty() {
            String::new()
        } else {
            format!("{}: ", finding.location)
        };
        writeln!(
            out,
            "{at}: {} [{}] {location}{}",
            finding.severity.as_str(),
            finding.check,
            finding.message
        )
        .context("writing to stdout")?;
    }
    let verdict = if report.has_errors() { "FAIL" } else { "PASS" };
    writeln!(
        out,
        "{at}: {verdict} ({} errors, {} warnings)",
        report.count(Severity::Error),
        report.count(Severity::Warning)
    )
    .context("writing to stdout")
}

fn report_json(file: &str, report: &MessageReport) -> Value {
    json!({
        "file": file,
        "message": report.number,
        "message_id": report.message_id,
        "passed": !report.has_errors(),
        "findings": report.findings.iter().map(|f| json!({
            "severity": f.severity.as_str(),
            "check": f.check,
            "location": f.location,
            "message": f.message,
        })).collect::<Vec<_>>(),
    })
}

fn read(path: &Path, max_bytes: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    if path == Path::new("-") {
        io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    anyhow::ensure!(bytes.len() <= max_bytes, "larger than --max-bytes {max_bytes}");
    Ok(bytes)
}
