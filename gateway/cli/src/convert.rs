//! `zorgpoort convert`: streams input files through the adapters, in
//! parallel batches whose output keeps the input order. HL7 v2 streams in
//! constant memory; a document, interchange or export is read whole (up to
//! the size limit) and converted by one worker.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use zorgpoort_formats::{Format, Settings};
use zorgpoort_hl7v2::{Frame, FromFhirOptions, Limits, Options, Splitter};
use zorgpoort_model::datatypes::{LocalZone, PartialDateTime};

/// Input formats this build converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum From {
    /// HL7 v2 ER7 messages (optionally MLLP-framed, several per file).
    Hl7v2,
    /// HL7 v3 CDA R2 documents (one per file) -> document Bundles.
    Cda,
    /// EDIFACT interchanges: MEDLAB, MEDVRI, MEDEUR.
    Edifact,
    /// Nursing-home (ECD) CSV or JSON exports: one Bundle per client (see --mapping).
    Ecd,
    /// FHIR R4 JSON or NDJSON (one resource or Bundle per line); `fhir` for short.
    #[value(alias = "fhir")]
    FhirR4,
    /// FHIR STU3 JSON or NDJSON, converted to R4 (what R4 cannot hold is a warning).
    FhirStu3,
    /// Detect the format from the first bytes of each file.
    Auto,
}

impl From {
    /// The format chosen; `None` for `auto`, which detects it per file.
    pub(crate) fn format(self) -> Option<Format> {
        match self {
            Self::Hl7v2 => Some(Format::Hl7v2),
            Self::Cda => Some(Format::Cda),
            Self::Edifact => Some(Format::Edifact),
            Self::Ecd => Some(Format::Ecd),
            Self::FhirR4 => Some(Format::FhirR4),
            Self::FhirStu3 => Some(Format::FhirStu3),
            Self::Auto => None,
        }
    }
}

/// Output formats this build writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum To {
    /// FHIR R4 Bundles as JSON: transaction for messages, document for documents.
    FhirR4,
    /// The same Bundles in FHIR STU3 (what STU3 cannot hold is a warning).
    FhirStu3,
    /// HL7 v2.5.1 ER7 (ADT^A01/A03/A04/A08, ORU^R01), one message per line.
    Hl7v2,
}

/// Time zone for timestamps that carry no UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Zone {
    /// Europe/Amsterdam (CET/CEST).
    EuropeAmsterdam,
    /// UTC.
    Utc,
}

/// Arguments of `zorgpoort convert`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when every message converted, 1 when any input or message failed \
(the others are still converted), 2 on usage errors.\n\n\
Examples:\n  zorgpoort convert --from hl7v2 admissions.hl7 > bundles.ndjson\n  \
zorgpoort convert letters/*.xml lab.edi export.csv > bundles.ndjson   (formats detected per file)\n  \
zorgpoort convert --from ecd --mapping my-vendor.toml --sender de-linde export.csv\n  \
zorgpoort convert --from fhir-r4 --to hl7v2 discharge.json"
)]
pub struct Args {
    /// Input format.
    #[arg(long, value_enum, default_value_t = From::Auto)]
    from: From,
    /// Output format.
    #[arg(long, value_enum, default_value_t = To::FhirR4)]
    to: To,
    /// Write one file per message into DIR (`<input>-<n>.json`, or `.hl7` with `--to hl7v2`) instead of stdout.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Worker threads; output order always follows input order.
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Print mapping warnings (what was not mapped, with its location) on stderr.
    #[arg(long)]
    warnings: bool,
    /// Largest accepted message, document, interchange or export in bytes.
    #[arg(long, default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Most segments in one HL7 v2 message.
    #[arg(long, default_value_t = Limits::default().max_segments)]
    max_segments: usize,
    /// Most repetitions in one HL7 v2 field.
    #[arg(long, default_value_t = Limits::default().max_repetitions)]
    max_repetitions: usize,
    /// Time zone assumed for timestamps without an offset.
    #[arg(long, value_enum, default_value_t = Zone::EuropeAmsterdam)]
    zone: Zone,
    /// Mapping of nursing-home exports: a built-in name or a TOML file (default: the built-in
    /// mapping whose layout the export has).
    #[arg(long, value_name = "NAME|FILE")]
    mapping: Option<String>,
    /// The organisation a nursing-home export comes from (exports carry no sender).
    #[arg(long, value_name = "NAME", default_value = "ecd")]
    sender: String,
    /// Input files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Messages per batch handed to a worker.
const BATCH_MESSAGES: usize = 256;
/// Bytes read at a time.
const CHUNK_BYTES: usize = 256 * 1024;
/// Messages of a whole input (an interchange, an export) passed on to the
/// writer at a time, so their Bundles are not all held until the end.
const WHOLE_PART_MESSAGES: usize = 64;

/// The result of converting one message.
enum Outcome {
    Converted { text: String, warnings: Vec<String> },
    Failed(String),
}

/// Work for a worker: HL7 v2 messages, or a whole input of another format.
enum Job {
    Frame(Result<Frame, zorgpoort_hl7v2::Error>),
    Whole { format: Format, bytes: Vec<u8> },
}

struct Batch {
    input: Arc<str>,
    jobs: Vec<Job>,
}

/// Part of a batch's results; a whole input's messages come in several parts.
struct Converted {
    input: Arc<str>,
    outcomes: Vec<(usize, Outcome)>,
    /// The batch's last part.
    last: bool,
}

/// Which batch (in input order) and which part of it.
type Place = (usize, usize);

/// What the workers need to know.
struct Conversion {
    settings: Settings,
    options: Options,
    to: To,
    to_hl7v2: FromFhirOptions,
}

/// Runs the command; the exit code says whether every message converted.
pub fn run(args: &Args) -> Result<ExitCode> {
    let conversion = Arc::new(conversion(args)?);
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    }
    let jobs = usize::from(args.jobs);
    let progress = progress_bar(&args.files);
    let (batch_tx, batch_rx) = sync_channel::<(usize, Batch)>(jobs * 2);
    let (done_tx, done_rx) = sync_channel::<(Place, Converted)>(jobs * 2);
    // Tokens bound the batches in flight, so a slow batch cannot make the
    // reorder buffer grow without limit.
    let (token_tx, token_rx) = sync_channel::<()>(jobs * 4);
    for _ in 0..jobs * 4 {
        token_tx.send(()).context("internal channel closed")?;
    }
    let batch_rx = Arc::new(Mutex::new(batch_rx));
    let mut failed = false;
    thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs {
            let batch_rx = Arc::clone(&batch_rx);
            let done_tx = done_tx.clone();
            let conversion = Arc::clone(&conversion);
            scope.spawn(move || worker(&batch_rx, &done_tx, &conversion));
        }
        drop(done_tx);
        // The writer owns the tokens: when it stops early (standard output
        // closed by its reader), reading stops waiting for them.
        let bar = &progress;
        let writer = scope.spawn(move || write_output(done_rx, &token_tx, args, bar));
        let mut sequence = 0;
        for path in &args.files {
            let reading = Reading {
                batches: &batch_tx,
                tokens: &token_rx,
                progress: &progress,
                limits: &conversion.settings.hl7v2,
            };
            if let Err(error) = reading.read_input(path, args.from.format(), &mut sequence) {
                if crate::output::closed() {
                    break;
                }
                progress.suspend(|| eprintln!("{}: {error:#}", display_name(path)));
                failed = true;
            }
        }
        drop(batch_tx);
        let write_failed = writer.join().map_err(|_| anyhow::anyhow!("output thread panicked"))??;
        failed |= write_failed;
        Ok(())
    })?;
    progress.finish_and_clear();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn conversion(args: &Args) -> Result<Conversion> {
    let zone = match args.zone {
        Zone::EuropeAmsterdam => LocalZone::EuropeAmsterdam,
        Zone::Utc => LocalZone::Utc,
    };
    let settings = Settings {
        zone,
        hl7v2: Limits {
            max_message_bytes: args.max_message_bytes,
            max_segments: args.max_segments,
            max_repetitions: args.max_repetitions,
        },
        ecd_mapping: args.mapping.as_deref().map(ecd_mapping).transpose()?,
        ecd_sender: args.sender.clone(),
        ..Settings::with_max_bytes(args.max_message_bytes)
    };
    Ok(Conversion {
        settings,
        options: Options {
            zone,
            ..Options::default()
        },
        to: args.to,
        to_hl7v2: FromFhirOptions {
            zone,
            // MSH-7 for Bundles that say nothing about when they were made.
            now: Some(PartialDateTime::from_unix_ms(zorgpoort_handover::delivery::now_ms()).to_fhir_instant(zone)),
            ..FromFhirOptions::default()
        },
    })
}

/// A built-in mapping by name, or a mapping file.
pub(crate) fn ecd_mapping(name_or_file: &str) -> Result<zorgpoort_ecd::Mapping> {
    if let Some(mapping) = zorgpoort_ecd::Mapping::builtin(name_or_file) {
        return Ok(mapping);
    }
    let text = std::fs::read_to_string(name_or_file).with_context(|| {
        format!(
            "--mapping {name_or_file}: not a built-in mapping ({}) and not a readable file",
            zorgpoort_ecd::Mapping::BUILTIN.join(", ")
        )
    })?;
    zorgpoort_ecd::Mapping::from_toml(&text).with_context(|| format!("--mapping {name_or_file}"))
}

/// A file's name in messages; `-` is standard input.
pub(crate) fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

fn progress_bar(files: &[PathBuf]) -> ProgressBar {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    if !io::stderr().is_terminal() || total < 8 * 1024 * 1024 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
        bar.set_style(style);
    }
    bar
}

/// Reading inputs and handing their messages to the workers.
struct Reading<'a> {
    batches: &'a SyncSender<(usize, Batch)>,
    tokens: &'a Receiver<()>,
    progress: &'a ProgressBar,
    limits: &'a Limits,
}

impl Reading<'_> {
    /// Reads one input in chunks and sends its messages on in batches.
    fn read_input(&self, path: &Path, format: Option<Format>, sequence: &mut usize) -> Result<()> {
        let mut reader: Box<dyn Read> = if path == Path::new("-") {
            Box::new(io::stdin().lock())
        } else {
            Box::new(File::open(path).with_context(|| "cannot open input".to_owned())?)
        };
        let input: Arc<str> = Arc::from(display_name(path));
        let mut buffer = vec![0; CHUNK_BYTES];
        let first = read_chunk(&mut reader, &mut buffer)?;
        self.progress.inc(first as u64);
        let format = match format {
            Some(format) => format,
            None if first == 0 => bail!("the input is empty"),
            None => zorgpoort_formats::detect(&buffer[..first])
                .ok_or_else(|| anyhow::anyhow!("{}", zorgpoort_formats::Error::NotDetected))?,
        };
        let send = |jobs: Vec<Job>, sequence: &mut usize| -> Result<()> {
            self.tokens.recv().context("output stopped")?;
            let batch = Batch {
                input: Arc::clone(&input),
                jobs,
            };
            self.batches.send((*sequence, batch)).context("workers stopped")?;
            *sequence += 1;
            Ok(())
        };
        if format != Format::Hl7v2 {
            let mut bytes = buffer;
            bytes.truncate(first);
            let limit = self.limits.max_message_bytes;
            let read = reader
                .take(u64::try_from(limit).unwrap_or(u64::MAX))
                .read_to_end(&mut bytes)
                .context("read failed")?;
            self.progress.inc(read as u64);
            if bytes.len() > limit {
                bail!("input exceeds the limit of {limit} bytes (--max-message-bytes)");
            }
            return send(vec![Job::Whole { format, bytes }], sequence);
        }
        let mut splitter = Splitter::new(self.limits.max_message_bytes);
        let mut frames = Vec::with_capacity(BATCH_MESSAGES);
        let mut n = first;
        while n > 0 {
            splitter.push(&buffer[..n]);
            while let Some(frame) = splitter.next_frame() {
                frames.push(Job::Frame(frame));
                if frames.len() == BATCH_MESSAGES {
                    send(std::mem::take(&mut frames), sequence)?;
                }
            }
            n = read_chunk(&mut reader, &mut buffer)?;
            self.progress.inc(n as u64);
        }
        frames.extend(splitter.finish().map(Job::Frame));
        if !frames.is_empty() {
            send(frames, sequence)?;
        }
        if splitter.messages_seen() == 0 {
            bail!("no HL7 v2 message in the input");
        }
        Ok(())
    }
}

fn read_chunk(reader: &mut impl Read, buffer: &mut [u8]) -> Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            read => return read.context("read failed"),
        }
    }
}

fn worker(batches: &Mutex<Receiver<(usize, Batch)>>, done: &SyncSender<(Place, Converted)>, conversion: &Conversion) {
    loop {
        let next = match batches.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((sequence, Batch { input, jobs })) = next else {
            return;
        };
        let mut part = 0;
        let mut stopped = false;
        let mut pass_on = |outcomes: &mut Vec<(usize, Outcome)>, last: bool| {
            let converted = Converted {
                input: Arc::clone(&input),
                outcomes: std::mem::take(outcomes),
                last,
            };
            stopped |= done.send(((sequence, part), converted)).is_err();
            part += 1;
        };
        let mut outcomes = Vec::new();
        for job in jobs {
            match job {
                Job::Frame(frame) => outcomes.push(convert_frame(frame, conversion)),
                Job::Whole { format, bytes } => convert_whole(format, &bytes, conversion, |outcome| {
                    outcomes.push(outcome);
                    if outcomes.len() == WHOLE_PART_MESSAGES {
                        pass_on(&mut outcomes, false);
                    }
                }),
            }
        }
        pass_on(&mut outcomes, true);
        if stopped {
            return;
        }
    }
}

fn convert_frame(frame: Result<Frame, zorgpoort_hl7v2::Error>, conversion: &Conversion) -> (usize, Outcome) {
    let frame = match frame {
        Ok(frame) => frame,
        Err(error) => {
            return (error.message.unwrap_or(0), Outcome::Failed(error.to_string()));
        }
    };
    let number = frame.number;
    let result = zorgpoort_hl7v2::Message::parse(&frame.bytes, &conversion.settings.hl7v2)
        .and_then(|m| zorgpoort_hl7v2::to_fhir(&m, &conversion.options));
    let outcome = match result {
        Ok(converted) => conversion.output(converted.bundle.to_json(), &converted.warnings),
        Err(error) => Outcome::Failed(error.in_message(number).to_string()),
    };
    (number, outcome)
}

/// The messages of a whole input, numbered from 1, each passed to `emit` as
/// soon as it is converted.
fn convert_whole(format: Format, bytes: &[u8], conversion: &Conversion, mut emit: impl FnMut((usize, Outcome))) {
    let mut number = 0;
    let whole = zorgpoort_formats::convert_each(format, bytes, &conversion.settings, |result| {
        number += 1;
        let outcome = match result {
            Ok(converted) => conversion.output(converted.bundle, &converted.warnings),
            Err(error) => Outcome::Failed(error.of_message(number)),
        };
        emit((number, outcome));
    });
    if let Err(error) = whole {
        emit((0, Outcome::Failed(error.to_string())));
    }
}

impl Conversion {
    /// What is written for one converted message: its Bundle, or HL7 v2 made from it.
    fn output(&self, bundle: String, warnings: &[zorgpoort_model::Warning]) -> Outcome {
        let mut warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        let text = match self.to {
            To::FhirR4 => bundle,
            To::FhirStu3 => {
                let made = serde_json::from_str(&bundle)
                    .map_err(|e| e.to_string())
                    .and_then(|value| zorgpoort_stu3::to_stu3(&value).map_err(|e| e.to_string()));
                match made {
                    Ok(made) => {
                        warnings.extend(made.warnings.iter().map(ToString::to_string));
                        made.resource.to_string()
                    }
                    Err(error) => return Outcome::Failed(format!("to FHIR STU3: {error}")),
                }
            }
            To::Hl7v2 => {
                let made = serde_json::from_str(&bundle)
                    .map_err(|e| e.to_string())
                    .and_then(|value| zorgpoort_hl7v2::from_fhir(&value, &self.to_hl7v2).map_err(|e| e.to_string()));
                match made {
                    Ok(made) => {
                        warnings.extend(made.warnings.iter().map(ToString::to_string));
                        made.message
                    }
                    Err(error) => return Outcome::Failed(format!("to HL7 v2: {error}")),
                }
            }
        };
        Outcome::Converted { text, warnings }
    }
}

fn write_output(
    done: Receiver<(Place, Converted)>,
    tokens: &SyncSender<()>,
    args: &Args,
    progress: &ProgressBar,
) -> Result<bool> {
    let mut out = BufWriter::with_capacity(1 << 20, crate::output::Stdout);
    let mut failed = false;
    let mut pending = BTreeMap::new();
    let mut next: Place = (0, 0);
    for (place, converted) in done {
        pending.insert(place, converted);
        while let Some(converted) = pending.remove(&next) {
            if converted.last {
                next = (next.0 + 1, 0);
                let _ = tokens.send(());
            } else {
                next.1 += 1;
            }
            failed |= write_batch(converted, &mut out, args, progress)?;
            if crate::output::closed() {
                return Ok(failed);
            }
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(failed)
}

/// Writes one batch's Bundles and reports its errors; true when any failed.
fn write_batch(converted: Converted, out: &mut impl Write, args: &Args, progress: &ProgressBar) -> Result<bool> {
    let mut failed = false;
    for (number, outcome) in converted.outcomes {
        match outcome {
            Outcome::Converted { text, warnings } => {
                if args.warnings {
                    progress.suspend(|| {
                        for warning in &warnings {
                            eprintln!("{}: msg {number}: warning: {warning}", converted.input);
                        }
                    });
                }
                if let Some(dir) = &args.output {
                    write_file(dir, &converted.input, number, &text, args.to)?;
                } else {
                    out.write_all(text.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            Outcome::Failed(error) => {
                failed = true;
                progress.suspend(|| eprintln!("{}: {error}", converted.input));
            }
        }
    }
    Ok(failed)
}

fn write_file(dir: &Path, input: &str, number: usize, text: &str, to: To) -> Result<()> {
    let stem = Path::new(input)
        .file_stem()
        .map_or_else(|| "stdin".into(), |s| s.to_string_lossy());
    let extension = match to {
        To::FhirR4 | To::FhirStu3 => "json",
        To::Hl7v2 => "hl7",
    };
    let path = dir.join(format!("{stem}-{number}.{extension}"));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}
