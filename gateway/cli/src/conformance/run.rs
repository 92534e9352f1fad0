//! `zorgpoort conformance run`: parses the options, runs the suite with the
//! conformance crate's runner, prints its console summary and writes the
//! reports asked for.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use zorgpoort_conformance::http::ClientOptions;
use zorgpoort_conformance::summary::{Totals, render};
use zorgpoort_conformance::{Options, Runner, Suite, Targets};

/// A report format for `--report`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    /// `JUnit` XML, for a CI system.
    Junit,
    /// A Bundle of FHIR R4 `TestReport` resources.
    Json,
    /// One self-contained HTML page, for a person.
    Html,
}

/// Arguments of `zorgpoort conformance run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs each TestScript's setup, tests and teardown against the target and prints \
PASS, FAIL or ERROR per test on stdout, with what was expected and what came for every failure, then the totals. \
--report/--out pairs write further reports (the n-th --out is the file of the n-th --report).\n\n\
Suites: a NAME is a suite built into zorgpoort (smoke: capabilities, create and read on any FHIR R4 server); \
anything else is a TestScript file (JSON or XML) or a directory searched for them, fixtures resolved beside \
each script (fixtures/Type-id.json for a reference Type/id).\n\n\
Multisystem scripts: an operation's destination N goes to the target given as --target N=URL; a plain \
--target URL takes the next free number from 1, so one --target serves scripts without destinations.\n\n\
HL7 v2 over MLLP: operations of type https://zorgpoort.example/fhir/CodeSystem/testscript-operation|mllp-send \
send their fixture to --mllp-target and assert on the ACK's MSA-1, MSA-2, MSA-3, ERR-3... as headers.\n\n\
TLS: https targets must present a certificate from the --ca file (no built-in roots); --client-cert/--client-key \
for mutual TLS, --token for a bearer token.\n\n\
Exit status: 0 when every test passed (warnings allowed), 1 when any failed or could not run, 2 on usage errors.\n\n\
Examples:\n  zorgpoort conformance run --suite smoke --target http://localhost:8080/fhir\n  \
zorgpoort conformance run --suite ./my-scripts --target https://fhir.vendor.example/r4 --ca regio-ca.pem \\\n    \
--client-cert vendor.pem --client-key vendor.key --report junit --out junit.xml --report html --out report.html\n  \
zorgpoort conformance run --suite multisystem.json --target 1=http://a.example/fhir --target 2=http://b.example/fhir\n  \
zorgpoort conformance run --suite mllp-scripts/ --mllp-target localhost:2575 --variable patientId=123"
)]
pub struct RunArgs {
    /// A built-in suite's name, or a FHIR test script file or a directory of them.
    #[arg(long, value_name = "NAME|PATH")]
    suite: String,
    /// Base URL of the FHIR server under test; N=URL for destination N of a multisystem script. Repeatable.
    #[arg(long, value_name = "[N=]URL")]
    target: Vec<String>,
    /// host:port of the MLLP listener for mllp-send steps.
    #[arg(long, value_name = "HOST:PORT")]
    mllp_target: Option<String>,
    /// PEM client certificate (chain) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Sent as `Authorization: Bearer TOKEN` on every request.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// PEM file of the CA(s) the server's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Seconds to wait for each response (and each ACK).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// A value for a script variable (wins over the script's own). Repeatable.
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// A report to write besides the console summary. Repeatable, each with its --out.
    #[arg(long, value_enum, value_name = "FORMAT")]
    report: Vec<ReportFormat>,
    /// Where the report of the same position goes.
    #[arg(long, value_name = "PATH")]
    out: Vec<PathBuf>,
}

/// Runs `zorgpoort conformance run`.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    if args.report.len() != args.out.len() {
        bail!(
            "{} --report but {} --out: give each report its file",
            args.report.len(),
            args.out.len()
        );
    }
    if args.target.is_empty() && args.mllp_target.is_none() {
        bail!("give the system under test: --target URL (FHIR) and/or --mllp-target HOST:PORT");
    }
    let mut variables = BTreeMap::new();
    for pair in &args.variables {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--variable {pair:?}: expected NAME=VALUE"))?;
        variables.insert(name.to_owned(), value.to_owned());
    }
    let options = Options {
        targets: Targets::parse(&args.target)?,
        mllp_target: args.mllp_target.clone(),
        client: ClientOptions {
            ca: args.ca.clone(),
            client_certificate: args.client_cert.clone(),
            client_key: args.client_key.clone(),
            token: args.token.clone(),
        },
        timeout: Duration::from_secs(args.timeout),
        variables,
    };
    let suite = Suite::open(&args.suite)?;
    let runner = Runner::new(options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(runner.run(&suite));

    write!(crate::output::Stdout, "{}", render(&report)).context("writing to stdout")?;
    for (format, path) in args.report.iter().zip(&args.out) {
        let text = match format {
            ReportFormat::Junit => zorgpoort_conformance::render::junit(&report),
            ReportFormat::Json => serde_json::to_string_pretty(&zorgpoort_conformance::render::json(&report))?,
            ReportFormat::Html => zorgpoort_conformance::render::html(&report),
        };
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if Totals::of(&report).all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
