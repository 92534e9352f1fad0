//! `zorgpoort audit verify|export|who-accessed`: the audit log, read from
//! the store directly (safe while the gateway runs).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_handover::Organization;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_model::datatypes;
use zorgpoort_model::systems::is_valid_bsn;
use zorgpoort_store::Store;

/// Arguments of `zorgpoort audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Configuration file whose data directory to use.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the keyed chain against its anchors: every record's MAC and link,
    /// every anchor's MAC, that the chain holds each anchored record and
    /// reaches the latest anchor, and the purge checkpoint. Lists each
    /// problem with its record and kind. Exit status 0 when intact, 1 when not.
    Verify {
        /// An anchor file to check against (default: `audit.anchor_file`,
        /// or `audit-anchors.jsonl` in the data directory). Repeat it for
        /// several gateways on one PostgreSQL database: each anchors what it
        /// wrote in its own file, and the chain is checked against all of
        /// them together.
        #[arg(long = "anchor", value_name = "FILE")]
        anchors: Vec<PathBuf>,
    },
    /// Write audit events as NDJSON (FHIR AuditEvent), oldest first.
    Export {
        /// From this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long)]
        since: Option<String>,
        /// Until this day (YYYY-MM-DD, UTC), exclusive.
        #[arg(long)]
        until: Option<String>,
    },
    /// Remove audit records older than the retention period (or --before),
    /// keeping the chain verifiable; the purge itself is audited.
    Purge {
        /// Remove records before this day (YYYY-MM-DD, UTC) instead of
        /// before the retention period.
        #[arg(long)]
        before: Option<String>,
    },
    /// Who accessed a patient's data: when, organisation and its role, action, data categories, purpose, outcome.
    WhoAccessed {
        /// The patient's BSN.
        bsn: String,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Milliseconds at the start of a `YYYY-MM-DD` day (UTC).
fn day_start_ms(text: &str) -> Result<i64> {
    datatypes::day_start_ms(text).with_context(|| format!("{text:?}: use a valid date as YYYY-MM-DD"))
}

/// An operator's use of `zorgpoort audit`, for the audit log itself.
fn operator_event(kind: &'static str, action: Action, command: &str) -> AuditEvent {
    let mut event = AuditEvent::new(kind, action, now_ms(), Outcome::Success);
    event.who = Some(format!("operator: zorgpoort audit {command}"));
    event
}

/// One line of `who-accessed`: who (organisation and its role in the
/// region), what was done, with which categories of data, why, how it ended.
fn access_row(event: &serde_json::Value, organizations: &[Organization]) -> serde_json::Value {
    let who = &event["agent"][0]["who"];
    let organization = who["identifier"]["value"].as_str();
    let role = organization
        .and_then(|id| organizations.iter().find(|o| o.id == id))
        .map(|o| o.kind.as_str());
    let categories = event["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["detail"].as_array().into_iter().flatten())
        .find(|d| d["type"] == "data-categories")
        .and_then(|d| d["valueString"].as_str());
    serde_json::json!({
        "when": event["recorded"],
        "organization": organization.or(who["display"].as_str()),
        "role": role,
        "action": event["subtype"][0]["code"],
        "purpose": event["purposeOfEvent"][0]["coding"][0]["code"],
        "categories": categories,
        "outcome": match event["outcome"].as_str() {
            Some("0") => "success",
            Some("4") => "retry",
            _ => "refused",
        },
    })
}

/// What `audit verify` found, for a person; exit status 1 unless intact.
fn print_verification(report: &zorgpoort_store::Verification, anchor_files: &[&Path]) -> Result<ExitCode> {
    use std::fmt::Write as _;
    let mut text = String::new();
    let range = if report.records > 0 {
        format!(" (#{}..#{})", report.start + 1, report.head)
    } else {
        String::new()
    };
    if report.is_intact() {
        writeln!(text, "audit log intact: {} records{range}", report.records)?;
    } else {
        writeln!(
            text,
            "audit log NOT intact: {} problems in {} records{range}",
            report.problem_count, report.records
        )?;
        for broken in &report.problems {
            writeln!(text, "  {broken}")?;
        }
        let unlisted = report.problem_count - report.problems.len() as u64;
        if unlisted > 0 {
            writeln!(text, "  ... and {unlisted} more")?;
        }
    }
    if let Some((first, last)) = report.legacy {
        writeln!(
            text,
            "  unkeyed legacy records #{first}..#{last}: written before the audit key, checked by keyless hash only \
             (patient, organisation and time are not covered)"
        )?;
    }
    if report.start > 0 {
        let confirmed = if report.legacy_checkpoint {
            "from before the audit key"
        } else {
            "named by a keyed purge record"
        };
        writeln!(
            text,
            "  purge checkpoint: records up to #{} were purged ({confirmed})",
            report.start
        )?;
    }
    let files = match anchor_files {
        [file] => file.display().to_string(),
        files => format!(
            "{} files ({})",
            files.len(),
            files
                .iter()
                .enumerate()
                .map(|(n, file)| format!("{}: {}", n + 1, file.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    writeln!(
        text,
        "  anchors: {} in {files}, {} matched the chain, {} before the purge checkpoint; latest anchored record #{}",
        report.anchors, report.anchors_checked, report.anchors_before_checkpoint, report.latest_anchor
    )?;
    if report.torn_anchor_line {
        writeln!(
            text,
            "  note: an anchor file's last line was cut short (a crash while writing it)"
        )?;
    }
    crate::output::Stdout.write_all(text.as_bytes())?;
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs an audit command.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let config = crate::serve::load_config(args.config.as_deref(), args.data_dir)?;
    if matches!(args.command, AuditCommand::Verify { .. }) {
        // Never a new key for checking: records written with the old one would
        // all fail, and that is not what happened.
        let key = config.audit.key_path(&config.server.data_dir);
        if !key.exists() {
            bail!(
                "no audit key at {}: the chain cannot be checked without the key that wrote it \
                 (give the gateway's --config, or set audit.key_file)",
                key.display()
            );
        }
    }
    let (store, runtime) = crate::serve::existing_store(&config)?;
    runtime.block_on(async {
        match args.command {
            AuditCommand::Verify { mut anchors } => {
                // A file named on the command line must be there: a wrong
                // path would otherwise check against fewer anchors, unnoticed.
                if let Some(missing) = anchors.iter().find(|file| !file.exists()) {
                    bail!("no anchor file at {}", missing.display());
                }
                if anchors.is_empty() {
                    anchors.push(config.audit.anchor_path(&config.server.data_dir));
                }
                let files: Vec<&Path> = anchors.iter().map(PathBuf::as_path).collect();
                let report = store.verify_audit_report(&files).await?;
                print_verification(&report, &files)
            }
            AuditCommand::Export { since, until } => {
                let since = since.as_deref().map(day_start_ms).transpose()?.unwrap_or(i64::MIN);
                let until = until.as_deref().map(day_start_ms).transpose()?.unwrap_or(i64::MAX);
                for record in store.audit_log(since, until, None).await? {
                    outln!("{}", record.event)?;
                }
                store
                    .audit(operator_event("export-audit-log", Action::Read, "export"))
                    .await?;
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::Purge { before } => {
                let retention_ms = i64::from(config.audit.retention_days) * 86_400_000;
                let cutoff = match before {
                    Some(day) => day_start_ms(&day)?,
                    None => now_ms() - retention_ms,
                };
                let mut audit = operator_event("purge", Action::Delete, "purge");
                audit.outcome_text = Some(format!(
                    "records recorded before {cutoff} ms removed after the retention period"
                ));
                let removed = store.purge_audit(cutoff, audit).await?;
                outln!("{removed} audit records removed; the purge is recorded")?;
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::WhoAccessed { bsn, json } => {
                if !is_valid_bsn(&bsn) {
                    bail!("{bsn:?} is not a BSN (it fails the 11-check)");
                }
                let records = store.audit_log(i64::MIN, i64::MAX, Some(&bsn)).await?;
                let mut read = operator_event("read-audit-log", Action::Read, "who-accessed");
                read.patient = Some(bsn.clone());
                store.audit(read).await?;
                let rows: Vec<serde_json::Value> = records
                    .iter()
                    .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.event).ok())
                    .map(|event| access_row(&event, &config.organizations))
                    .collect();
                if json {
                    outln!("{}", serde_json::to_string_pretty(&rows)?)?;
                } else {
                    outln!(
                        "{:<26} {:<24} {:<15} {:<16} {:<8} {:<24} outcome",
                        "when",
                        "organization",
                        "role",
                        "action",
                        "purpose",
                        "data categories"
                    )?;
                    for row in &rows {
                        let text = |key: &str| row[key].as_str().unwrap_or("-").to_owned();
                        outln!(
                            "{:<26} {:<24} {:<15} {:<16} {:<8} {:<24} {}",
                            text("when"),
                            text("organization"),
                            text("role"),
                            text("action"),
                            text("purpose"),
                            text("categories"),
                            text("outcome")
                        )?;
                    }
                    outln!("{} entries", rows.len())?;
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
