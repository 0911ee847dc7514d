//! Every byte the binary prints goes through here.
//!
//! `println!` panics when stdout cannot be written ("failed printing to
//! stdout"): under `| head -c1` (EPIPE) or `> /dev/full` (ENOSPC) commands
//! died with a panic, and an unseal could die between showing the secrets
//! and logging the end of the session. Here writes return errors instead:
//!
//! * **EPIPE** (the reader went away, as `| head` does): like ripgrep, no
//!   message. Output stops — later writes are skipped — but the command runs
//!   to its end, so the vault and the log are left as the command leaves
//!   them (an unseal still logs `session-ended`) and the exit code is the
//!   command's own (0, or 1 when the log does not verify or something is
//!   overdue): a script with `set -o pipefail` learns the same as without
//!   the pipe.
//! * Any other error (ENOSPC on `/dev/full`, EIO on a vanished terminal):
//!   [`Error::Output`], printed on stderr, exit 2.
//!
//! Human-readable lines ([`line`]) are passed through
//! [`breakglass::text::for_terminal`]: text from vault files cannot drive the
//! terminal. JSON ([`json`]) is JSON-escaped by serde; [`raw`] is for the
//! binary's own multi-line text (help, QR codes, the session screen).
//! Diagnostics on stderr ([`err_line`]) are escaped too and best effort: when
//! stderr itself cannot be written there is nowhere left to say so.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use breakglass::error::{Error, Result};
use breakglass::text::for_terminal;

/// Set once stdout returned EPIPE: nobody reads any more.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

fn stdout_error(e: std::io::Error) -> Result<()> {
    if e.kind() == ErrorKind::BrokenPipe {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        return Ok(());
    }
    Err(Error::Output {
        what: "standard output".into(),
        source: e,
    })
}

/// Writes bytes to stdout as they are.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes) {
        Ok(()) => Ok(()),
        Err(e) => stdout_error(e),
    }
}

/// True once the reader of stdout has gone away (EPIPE).
pub fn stdout_gone() -> bool {
    STDOUT_GONE.load(Ordering::Relaxed)
}

/// One human-readable line on stdout, escaped for the terminal (a newline
/// inside `text` is shown as `\n`: one call, one line).
pub fn line(text: &str) -> Result<()> {
    let text = for_terminal(text);
    let mut s = String::with_capacity(text.len() + 1);
    s.push_str(&text);
    s.push('\n');
    write_stdout(s.as_bytes())
}

/// The binary's own text on stdout, as is (may span lines; no newline added).
pub fn raw(text: &str) -> Result<()> {
    write_stdout(text.as_bytes())
}

/// Bytes already escaped or encoded by the caller (buffered lines of
/// [`line`]'s escaping or of JSON), as they are.
pub fn raw_bytes(bytes: &[u8]) -> Result<()> {
    write_stdout(bytes)
}

/// One JSON document on one line of stdout.
pub fn json(v: &serde_json::Value) -> Result<()> {
    let mut s = v.to_string();
    s.push('\n');
    write_stdout(s.as_bytes())
}

/// Flushes stdout (the last partial line, if any).
pub fn flush() -> Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    match std::io::stdout().lock().flush() {
        Ok(()) => Ok(()),
        Err(e) => stdout_error(e),
    }
}

/// A writer for streaming output (the SIEM export) onto stdout, or a file,
/// with the same EPIPE rule. It keeps the first write error, so that the
/// caller can report it as [`Error::Output`] whatever the streaming code
/// made of it.
pub struct Sink<W> {
    inner: W,
    what: String,
    error: Option<std::io::Error>,
}

impl Sink<std::io::Stdout> {
    /// Onto stdout.
    pub fn stdout() -> Self {
        Sink {
            inner: std::io::stdout(),
            what: "standard output".into(),
            error: None,
        }
    }
}

impl<W: Write> Sink<W> {
    /// Onto `inner`, named `what` in errors.
    pub fn new(inner: W, what: String) -> Self {
        Sink {
            inner,
            what,
            error: None,
        }
    }

    /// The first write error, as the CLI reports it.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take().map(|source| Error::Output {
            what: std::mem::take(&mut self.what),
            source,
        })
    }

    fn check<T>(&mut self, r: std::io::Result<T>, gone: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                STDOUT_GONE.store(true, Ordering::Relaxed);
                Ok(gone)
            }
            Err(e) => {
                let copy = match e.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(e.kind(), e.to_string()),
                };
                self.error.get_or_insert(copy);
                Err(e)
            }
            ok => ok,
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if STDOUT_GONE.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.check(r, buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if STDOUT_GONE.load(Ordering::Relaxed) {
            return Ok(());
        }
        let r = self.inner.flush();
        self.check(r, ())
    }
}

/// One diagnostic line on stderr, escaped for the terminal (best effort).
pub fn err_line(text: &str) {
    let text = for_terminal(text);
    let mut s = String::with_capacity(text.len() + 1);
    s.push_str(&text);
    s.push('\n');
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// A prompt on stderr, escaped, without a newline (best effort).
pub fn err_prompt(text: &str) {
    err_raw(&for_terminal(text));
}

/// The binary's own text on stderr, as is: prompts (no newline), QR codes,
/// new values to set at a provider (best effort).
pub fn err_raw(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// `outln!(...)`: [`line`] of a `format!`; returns the write's `Result`.
macro_rules! outln {
    () => {
        $crate::cli::out::line("")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line(&format!($($arg)*))
    };
}

/// `errln!(...)`: [`err_line`] of a `format!` (best effort).
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::err_line(&format!($($arg)*))
    };
}

pub(crate) use {errln, outln};
