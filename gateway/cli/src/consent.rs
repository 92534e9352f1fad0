//! `zorgpoort consent load FILE`: patients' choices in bulk (NDJSON, one
//! FHIR Consent per line), checked and stored with an audit record each.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_consent::fhir::read_consent;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_store::{ConsentRecord, Store};

/// Arguments of `zorgpoort consent`.
#[derive(Debug, clap::Args)]
pub struct ConsentArgs {
    /// Configuration file whose data directory to use.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: ConsentCommand,
}

#[derive(Debug, Subcommand)]
enum ConsentCommand {
    /// Load Consents from an NDJSON file (one FHIR Consent per line). Invalid
    /// lines are reported with their line number and skipped; exit status 1
    /// when any was.
    Load {
        /// The NDJSON file.
        file: PathBuf,
    },
}

/// Runs a consent command.
pub fn run(args: ConsentArgs) -> Result<ExitCode> {
    let config = crate::serve::load_config(args.config.as_deref(), args.data_dir)?;
    let (store, runtime) = crate::serve::open_store(&config)?;
    let ConsentCommand::Load { file } = args.command;
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    runtime.block_on(async {
        let (mut loaded, mut refused) = (0usize, 0usize);
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let place = format!("{}:{}", file.display(), number + 1);
            let mut consent: serde_json::Value = match serde_json::from_str(line) {
                Ok(value) => value,
                Err(e) => {
                    eprintln!("{place}: not JSON: {e}");
                    refused += 1;
                    continue;
                }
            };
            if consent["id"].as_str().is_none() {
                consent["id"] = uuid::Uuid::new_v4().to_string().into();
            }
            let patient = match read_consent(&consent) {
                Ok((patient, _)) => patient,
                Err(invalid) => {
                    eprintln!("{place}: {}: {}", invalid.expression, invalid.reason);
                    refused += 1;
                    continue;
                }
            };
            let id = consent["id"].as_str().unwrap_or_default().to_owned();
            let now = now_ms();
            let mut audit = AuditEvent::new("consent-recorded", Action::Create, now, Outcome::Success);
            audit.who = Some("operator: zorgpoort consent load".into());
            audit.patient = Some(patient.clone());
            audit.consent_rule = Some(id.clone());
            let record = ConsentRecord {
                id,
                patient,
                recorded_by: None,
                resource: consent.to_string(),
                updated_ms: now,
            };
            store.put_consent(record, audit).await?;
            loaded += 1;
        }
        outln!("{loaded} consents loaded, {refused} refused")?;
        if refused > 0 && loaded == 0 {
            bail!("no consent in {} could be loaded", file.display());
        }
        Ok(if refused == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
