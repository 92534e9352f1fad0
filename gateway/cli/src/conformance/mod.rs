//! `zorgpoort conformance`: the conformance kit on the command line.
//! `check` reads a vendor's sample messages as the region would take them;
//! `run` executes FHIR test scripts against a vendor's (or the gateway's own)
//! system and reports per test.

mod check;
mod run;

use std::process::ExitCode;

use anyhow::Result;

/// Arguments of `zorgpoort conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    command: ConformanceCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConformanceCommand {
    /// Check sample messages as the region would take them: read, converted, valid nl-core.
    Check(check::CheckArgs),
    /// Run FHIR R4 test scripts (a built-in suite, a file or a directory) against a system under test.
    Run(run::RunArgs),
}

/// Runs `zorgpoort conformance`.
pub fn run(args: &ConformanceArgs) -> Result<ExitCode> {
    match &args.command {
        ConformanceCommand::Check(check) => check::run(check),
        ConformanceCommand::Run(run) => run::run(run),
    }
}
