//! `zorgpoort convert`: streams input files through the adapters, in
//! parallel batches whose output keeps the input order, in constant memory.

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
use zorgpoort_hl7v2::{Frame, Limits, Options, Splitter};
use zorgpoort_model::datatypes::LocalZone;

/// Input formats this build converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum From {
    /// HL7 v2 ER7 messages (optionally MLLP-framed, several per file).
    Hl7v2,
    /// Detect the format from the first bytes of each file.
    Auto,
}

/// Output formats this build writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum To {
    /// FHIR R4 transaction Bundles as JSON.
    FhirR4,
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
Example: zorgpoort convert --from hl7v2 admissions.hl7 > bundles.ndjson"
)]
pub struct Args {
    /// Input format.
    #[arg(long, value_enum, default_value_t = From::Auto)]
    from: From,
    /// Output format.
    #[arg(long, value_enum, default_value_t = To::FhirR4)]
    to: To,
    /// Write one file per message into DIR (`<input>-<n>.json`) instead of NDJSON on stdout.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Worker threads; output order always follows input order.
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Print mapping warnings (what was not mapped, with its location) on stderr.
    #[arg(long)]
    warnings: bool,
    /// Largest accepted message in bytes.
    #[arg(long, default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Most segments in one message.
    #[arg(long, default_value_t = Limits::default().max_segments)]
    max_segments: usize,
    /// Most repetitions in one field.
    #[arg(long, default_value_t = Limits::default().max_repetitions)]
    max_repetitions: usize,
    /// Time zone assumed for timestamps without an offset.
    #[arg(long, value_enum, default_value_t = Zone::EuropeAmsterdam)]
    zone: Zone,
    /// Input files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Messages per batch handed to a worker.
const BATCH_MESSAGES: usize = 256;
/// Bytes read at a time.
const CHUNK_BYTES: usize = 256 * 1024;

/// The result of converting one message.
enum Outcome {
    Converted { json: String, warnings: Vec<String> },
    Failed(String),
}

struct Batch {
    input: Arc<str>,
    frames: Vec<Result<Frame, zorgpoort_hl7v2::Error>>,
}

struct Converted {
    input: Arc<str>,
    outcomes: Vec<(usize, Outcome)>,
}

/// Runs the command; the exit code says whether every message converted.
pub fn run(args: &Args) -> Result<ExitCode> {
    let limits = Limits {
        max_message_bytes: args.max_message_bytes,
        max_segments: args.max_segments,
        max_repetitions: args.max_repetitions,
    };
    let options = Options {
        zone: match args.zone {
            Zone::EuropeAmsterdam => LocalZone::EuropeAmsterdam,
            Zone::Utc => LocalZone::Utc,
        },
    };
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    }
    let jobs = usize::from(args.jobs);
    let progress = progress_bar(&args.files);
    let (batch_tx, batch_rx) = sync_channel::<(usize, Batch)>(jobs * 2);
    let (done_tx, done_rx) = sync_channel::<(usize, Converted)>(jobs * 2);
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
            let options = &options;
            scope.spawn(move || worker(&batch_rx, &done_tx, &limits, options));
        }
        drop(done_tx);
        let writer = scope.spawn(|| write_output(done_rx, &token_tx, args, &progress));
        let mut sequence = 0;
        for path in &args.files {
            if let Err(error) = read_input(path, args, &limits, &batch_tx, &token_rx, &progress, &mut sequence) {
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

fn display_name(path: &Path) -> String {
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

/// Reads one input in chunks and sends its messages on in batches.
fn read_input(
    path: &Path,
    args: &Args,
    limits: &Limits,
    batches: &SyncSender<(usize, Batch)>,
    tokens: &Receiver<()>,
    progress: &ProgressBar,
    sequence: &mut usize,
) -> Result<()> {
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| "cannot open input".to_owned())?)
    };
    let input: Arc<str> = Arc::from(display_name(path));
    let mut splitter = Splitter::new(limits.max_message_bytes);
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut frames = Vec::with_capacity(BATCH_MESSAGES);
    let mut detected = args.from == From::Hl7v2;
    let mut send = |frames: &mut Vec<_>| -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        tokens.recv().context("output stopped")?;
        let batch = Batch {
            input: Arc::clone(&input),
            frames: std::mem::take(frames),
        };
        batches.send((*sequence, batch)).context("workers stopped")?;
        *sequence += 1;
        Ok(())
    };
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("read failed"),
        };
        progress.inc(n as u64);
        if !detected {
            detect(&buffer[..n])?;
            detected = true;
        }
        splitter.push(&buffer[..n]);
        while let Some(frame) = splitter.next_frame() {
            frames.push(frame);
            if frames.len() == BATCH_MESSAGES {
                send(&mut frames)?;
            }
        }
    }
    frames.extend(splitter.finish());
    let found = splitter.messages_seen();
    send(&mut frames)?;
    if found == 0 {
        bail!("no HL7 v2 message in the input");
    }
    Ok(())
}

/// `--from auto`: HL7 v2 is the one format this build reads.
fn detect(start: &[u8]) -> Result<()> {
    let head: Vec<u8> = start
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace() || *b == 0x0B || *b == 0xEF || *b == 0xBB || *b == 0xBF)
        .take(3)
        .collect();
    if matches!(head.as_slice(), b"MSH" | b"FHS" | b"BHS") {
        Ok(())
    } else {
        bail!(
            "cannot detect the input format: not HL7 v2 (no MSH, FHS or BHS at the start); this build converts HL7 v2 only"
        )
    }
}

fn worker(
    batches: &Mutex<Receiver<(usize, Batch)>>,
    done: &SyncSender<(usize, Converted)>,
    limits: &Limits,
    options: &Options,
) {
    loop {
        let next = match batches.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((sequence, batch)) = next else { return };
        let outcomes = batch
            .frames
            .into_iter()
            .map(|frame| convert_frame(frame, limits, options))
            .collect();
        if done
            .send((
                sequence,
                Converted {
                    input: batch.input,
                    outcomes,
                },
            ))
            .is_err()
        {
            return;
        }
    }
}

fn convert_frame(frame: Result<Frame, zorgpoort_hl7v2::Error>, limits: &Limits, options: &Options) -> (usize, Outcome) {
    let frame = match frame {
        Ok(frame) => frame,
        Err(error) => {
            return (error.message.unwrap_or(0), Outcome::Failed(error.to_string()));
        }
    };
    let number = frame.number;
    let result =
        zorgpoort_hl7v2::Message::parse(&frame.bytes, limits).and_then(|m| zorgpoort_hl7v2::to_fhir(&m, options));
    let outcome = match result {
        Ok(conversion) => Outcome::Converted {
            json: conversion.bundle.to_json(),
            warnings: conversion.warnings.iter().map(ToString::to_string).collect(),
        },
        Err(error) => Outcome::Failed(error.in_message(number).to_string()),
    };
    (number, outcome)
}

fn write_output(
    done: Receiver<(usize, Converted)>,
    tokens: &SyncSender<()>,
    args: &Args,
    progress: &ProgressBar,
) -> Result<bool> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut failed = false;
    let mut pending = BTreeMap::new();
    let mut next = 0;
    for (sequence, converted) in done {
        pending.insert(sequence, converted);
        while let Some(converted) = pending.remove(&next) {
            next += 1;
            failed |= write_batch(converted, &mut out, args, progress)?;
            let _ = tokens.send(());
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
            Outcome::Converted { json, warnings } => {
                if args.warnings {
                    progress.suspend(|| {
                        for warning in &warnings {
                            eprintln!("{}: msg {number}: warning: {warning}", converted.input);
                        }
                    });
                }
                if let Some(dir) = &args.output {
                    write_file(dir, &converted.input, number, &json)?;
                } else {
                    out.write_all(json.as_bytes())?;
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

fn write_file(dir: &Path, input: &str, number: usize, json: &str) -> Result<()> {
    let stem = Path::new(input)
        .file_stem()
        .map_or_else(|| "stdin".into(), |s| s.to_string_lossy());
    let path = dir.join(format!("{stem}-{number}.json"));
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))
}
