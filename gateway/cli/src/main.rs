//! The `zorgpoort` command: argument parsing and wiring only; the work is
//! done by the library crates.

// First, so that its `outln!` is in scope in the modules below.
#[macro_use]
mod output;

mod audit;
mod conformance;
mod consent;
mod convert;
mod demo;
mod queue;
mod send;
mod serve;
mod store;
mod validate;

// The conversion path allocates many small JSON nodes; mimalloc converts
// about 25% faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// zorgpoort — a regional gateway for Dutch care data: translates HL7 v2, CDA,
/// EDIFACT (MEDLAB, MEDVRI, MEDEUR) and nursing-home exports into FHIR R4 with
/// the nl-core (zib2020) profiles, and FHIR R4 back into HL7 v2.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The five-minute tour: a scripted regional handover in one process, printed as a timeline.
    Demo(demo::DemoArgs),
    /// Run the gateway: HTTP and MLLP listeners, routing and delivery.
    Serve(serve::ServeArgs),
    /// Write a commented zorgpoort.toml for a real region.
    Init(serve::InitArgs),
    /// Convert files (HL7 v2, CDA, EDIFACT, nursing-home exports, FHIR) to FHIR R4 Bundles or HL7 v2; one per message.
    Convert(convert::Args),
    /// Inspect the delivery queue and retry dead letters.
    Queue(queue::QueueArgs),
    /// Send files of HL7 v2 messages over MLLP and report each ACK.
    Send(send::SendArgs),
    /// Check, export and query the tamper-evident audit log.
    Audit(audit::AuditArgs),
    /// Load patients' choices (FHIR Consent) in bulk.
    Consent(consent::ConsentArgs),
    /// Back up the SQLite store, or move it to PostgreSQL.
    Store(store::StoreArgs),
    /// Check FHIR R4 resources against the R4 schema and the nl-core profiles; an OperationOutcome per resource.
    Validate(validate::Args),
    /// The conformance kit: check a vendor's sample messages, run FHIR test scripts against a system.
    Conformance(conformance::ConformanceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The tour's timeline is the output; the gateway's request logs would drown it.
    init_logging(if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    });
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Serve(args) => serve::serve(args),
        Command::Init(args) => serve::init(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Queue(args) => queue::run(args),
        Command::Send(args) => send::run(&args),
        Command::Audit(args) => audit::run(args),
        Command::Consent(args) => consent::run(args),
        Command::Store(args) => store::run(args),
        Command::Validate(args) => validate::run(&args),
        Command::Conformance(args) => conformance::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zorgpoort: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// JSON log lines on stderr; `RUST_LOG` picks the level (default `level`).
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
