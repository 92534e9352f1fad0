//! Standard output of the commands, where a reader that stops reading ends
//! the output and not the command.
//!
//! `zorgpoort audit export | head` closes the pipe after ten lines. Rust
//! ignores SIGPIPE, so the next write fails with `BrokenPipe`, and `println!`
//! panics on that (exit 101). Here the first `BrokenPipe` marks standard
//! output closed; later output is dropped, the command finishes its work
//! (an export is still recorded in the audit log, `send` still sends every
//! message) and exits with its usual code, 0 when all went well, as ripgrep
//! does. Not 141 (killed by SIGPIPE): under `set -o pipefail` that would fail
//! a script that only wanted the first lines. Commands whose only work is
//! their output (`convert`, `validate`) stop early once [`closed`].
//!
//! Any other write error (a full disk behind `>`) is still an error.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// True once a write found standard output closed by its reader.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Standard output as an [`io::Write`] that treats a closed pipe as the end
/// of the output: it then accepts and drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    fn quietly<T>(done: T, result: io::Result<T>) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(done)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if closed() {
            return Ok(buf.len());
        }
        Self::quietly(buf.len(), io::stdout().write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        if closed() {
            return Ok(());
        }
        Self::quietly((), io::stdout().flush())
    }
}

/// Writes one line to standard output, the `println!` of the commands.
pub fn line(text: fmt::Arguments<'_>) -> Result<()> {
    // Held so that a line is not interleaved with another thread's.
    let _whole_line = io::stdout().lock();
    writeln!(Stdout, "{text}").context("cannot write to standard output")
}

/// `println!` that ends the output quietly on a closed pipe and returns
/// other write errors: `outln!("{n} entries")?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
