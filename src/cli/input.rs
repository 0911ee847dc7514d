//! Turning raw flags into library input (the second phase of argument
//! parsing): the Ui for the run, secret-bearing input files (answers,
//! entries) read with their mode checked, identity files, durations,
//! receipts and the attestation roots.

use std::io::Read;
use std::path::{Path, PathBuf};

use breakglass::ceremony::unseal;
use breakglass::error::{Error, Result};
use breakglass::token::SuppliedIdentity;
use breakglass::ui::{Answers, Ui};

use super::args::{QuorumArgs, ReceiptArg, RemoteArgs, Ticketed};
use super::terminal;
use super::ui::Checklist;

impl Ticketed {
    /// Ticket and reason are non-empty single lines of sane length.
    pub(crate) fn check(&self) -> Result<()> {
        unseal::check_text("ticket", &self.ticket)?;
        unseal::check_text("reason", &self.reason)
    }
}

impl ReceiptArg {
    /// The parsed receipt.
    pub fn parse(&self) -> Result<Option<breakglass::governance::receipt::Receipt>> {
        self.expect_receipt
            .as_deref()
            .map(breakglass::governance::receipt::Receipt::parse)
            .transpose()
    }
}

impl QuorumArgs {
    /// Reads the identity files and builds the library's input.
    pub(crate) fn input(&self) -> Result<breakglass::ceremony::quorum::QuorumInput> {
        let remote = self.remote.settings()?;
        let (identities, order) = presenters(&self.identities, &self.custodians, &remote.names)?;
        Ok(breakglass::ceremony::quorum::QuorumInput {
            identities,
            order,
            override_broken_log: self.override_broken_log.clone(),
            expect_receipt: self.receipt.parse()?,
            remote,
        })
    }
}

impl RemoteArgs {
    /// The checked settings: names, an existing directory, a one-line
    /// channel, a lifetime of at most one hour.
    pub(crate) fn settings(&self) -> Result<breakglass::ceremony::remote::RemoteSettings> {
        for n in &self.remote {
            if !breakglass::names::is_valid(n) {
                return Err(Error::Usage(format!(
                    "--remote '{}' is not a custodian name (1-32 of a-z 0-9 . _ -)",
                    breakglass::text::bounded(n)
                )));
            }
        }
        if !self.remote_dir.is_dir() {
            return Err(Error::Usage(format!(
                "--remote-dir {}: not a directory (create it, or give the outbox or USB stick to write requests to)",
                self.remote_dir.display()
            )));
        }
        unseal::check_text("remote channel", &self.remote_channel)?;
        let lifetime = parse_duration(&self.remote_expiry)?;
        let max = breakglass::remote::MAX_LIFETIME_SECS as u64;
        if lifetime == 0 || lifetime > max {
            return Err(Error::Usage(format!(
                "--remote-expiry {} is not between 1 s and 1 h: a request's lifetime bounds a relay's search for another request with the same code, so it is at most 1h",
                self.remote_expiry
            )));
        }
        Ok(breakglass::ceremony::remote::RemoteSettings {
            names: self.remote.clone(),
            dir: self.remote_dir.clone(),
            channel: self.remote_channel.clone(),
            lifetime: lifetime as i64,
        })
    }
}

/// Builds the Ui: the terminal, or the answers file.
pub(crate) fn make_ui(answers: Option<&Path>) -> Result<Box<dyn Ui>> {
    match answers {
        None => Ok(Box::new(terminal::Terminal::new())),
        Some(p) => Ok(Box::new(Checklist::ui(read_answers(p)?))),
    }
}

fn read_answers(p: &Path) -> Result<Answers> {
    let bytes = read_secret_input(p, "answers file")?;
    Ok(Answers::from_json(&bytes)?)
}

/// Largest answers or entries file accepted (1 MiB).
const MAX_SECRET_INPUT: u64 = 1 << 20;

/// Reads at most [`MAX_SECRET_INPUT`] bytes into `buf`; a larger input is
/// refused (it was cut at the limit and then failed to parse, "error at
/// column 1048576").
fn read_bounded(
    mut input: impl Read,
    buf: &mut zeroize::Zeroizing<Vec<u8>>,
    name: &str,
    what: &str,
) -> Result<()> {
    (&mut input)
        .take(MAX_SECRET_INPUT + 1)
        .read_to_end(buf)
        .map_err(|e| Error::Usage(format!("cannot read the {what} ({name}): {e}")))?;
    if buf.len() as u64 > MAX_SECRET_INPUT {
        return Err(Error::Usage(format!(
            "{name}: file too large (limit 1 MiB); the {what} is read whole, so split it or remove what is not needed"
        )));
    }
    Ok(())
}

/// A secret-bearing input that is a regular file must give group and
/// others no access. Checked on the open descriptor (fstat): the file
/// checked is the file read (checking the path, then opening it, let a
/// file swapped in between go unchecked), and stdin redirected from a file
/// is checked too. Pipes and terminals have no such mode to check.
fn check_private(fd: impl std::os::fd::AsFd, name: &str, what: &str, fix: &str) -> Result<()> {
    use rustix::fs::{FileType, Mode};
    let st = rustix::fs::fstat(fd)
        .map_err(|e| Error::Usage(format!("cannot read the {what} ({name}): {e}")))?;
    let mode = Mode::from_raw_mode(st.st_mode);
    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
        && mode.intersects(Mode::RWXG | Mode::RWXO)
    {
        return Err(Error::Usage(format!(
            "the {what} {name} holds secrets but is readable by others; {fix} (it has mode {:04o})",
            mode.bits()
        )));
    }
    Ok(())
}

/// Reads a secret-bearing input: stdin for '-', else a file; either, when it
/// is a regular file, must not be accessible to group or others.
pub(crate) fn read_secret_input(p: &Path, what: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    // Sized up front: growing the buffer would leave copies of the secrets
    // in freed memory.
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(MAX_SECRET_INPUT as usize + 1));
    if p == Path::new("-") {
        let stdin = std::io::stdin();
        check_private(
            &stdin,
            "on stdin",
            what,
            "stdin is redirected from that file: run `chmod 600` on it first",
        )?;
        read_bounded(stdin, &mut buf, "stdin", what)?;
        return Ok(buf);
    }
    let name = p.display().to_string();
    let f = std::fs::File::open(p)
        .map_err(|e| Error::Usage(format!("cannot read the {what} {name}: {e}")))?;
    check_private(&f, &name, what, &format!("run `chmod 600 {name}` first"))?;
    read_bounded(f, &mut buf, &name, what)?;
    Ok(buf)
}

/// Yubico's attestation roots (plus, in test builds only, an injected test root).
pub(crate) fn trust_anchors() -> Result<breakglass::attestation::TrustAnchors> {
    breakglass::attestation::TrustAnchors::for_this_build()
        .map_err(|e| Error::Usage(format!("attestation roots: {e}")))
}

/// Parses a session length such as `90s`, `15m`, `1h` or `2h30m`
/// (humantime's grammar); whole seconds.
pub(crate) fn parse_duration(s: &str) -> Result<u64> {
    humantime::parse_duration(s)
        .ok()
        .filter(|d| d.subsec_nanos() == 0)
        .map(|d| d.as_secs())
        .ok_or_else(|| Error::Usage(format!("'{s}' is not a duration like 90s, 15m or 1h")))
}

/// The supplied identity files, and the presentation order: the
/// `--custodian` list if given, else the order of the identity files; either
/// followed by the `--remote` custodians it does not name. Neither given:
/// asked (a `--remote` custodian chosen presents remotely).
pub(crate) fn presenters(
    identity_paths: &[PathBuf],
    custodians: &[String],
    remote: &[String],
) -> Result<(Vec<SuppliedIdentity>, Vec<String>)> {
    let (identities, id_order) = supplied_identities(identity_paths)?;
    let mut order = if custodians.is_empty() {
        id_order
    } else {
        custodians.to_vec()
    };
    if !order.is_empty() {
        for r in remote {
            if !order.contains(r) {
                order.push(r.clone());
            }
        }
    }
    Ok((identities, order))
}

pub(crate) fn supplied_identities(
    paths: &[PathBuf],
) -> Result<(Vec<SuppliedIdentity>, Vec<String>)> {
    let read = paths
        .iter()
        .map(|p| SuppliedIdentity::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(read.into_iter().unzip())
}
