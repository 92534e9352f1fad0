//! The `zorgpoort` command: argument parsing and wiring only; the work is
//! done by the library crates.

mod convert;

// The conversion path allocates many small JSON nodes; mimalloc converts
// about 25% faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// zorgpoort — a regional gateway for Dutch care data: translates HL7 v2 and
/// other care formats into FHIR R4 with the nl-core (zib2020) profiles.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert files of messages to FHIR R4 Bundles (NDJSON on stdout, one Bundle per message).
    Convert(convert::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zorgpoort: {error:#}");
            ExitCode::from(2)
        }
    }
}
