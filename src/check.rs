//! Health check of a vault copy (`breakglass check`): everything that can be
//! verified without a secret, for copies that sit in safes for years.
//!
//! Read-only: opens nothing for writing, takes no lock, creates nothing, so
//! it works on read-only media. In order:
//!
//! 1. `manifest.json` is a regular file within [`crate::manifest::MAX_SIZE`]
//!    that parses, and [`crate::history::read`] judges it against the log
//!    (current, pending, superseded, not certified, format 1);
//! 2. the log's chain, anchor and signatures ([`crate::log::verify`]);
//! 3. every file the manifest in force names is present, a regular file (not
//!    a link, a FIFO or a device: [`crate::fsutil::read_capped`]), within
//!    [`crate::vault::MAX_DATA_FILE`], and has the digest the manifest
//!    records: the payload its `payload.digest`, each share file its
//!    custodian's `commitment`, and the generation's own `gNNNNNN/manifest.json`
//!    the bytes of `manifest.json`;
//! 4. files nobody expects, and `.aside/`, are noted (not damage).
//!
//! When `manifest.json` is unusable, the newest generation's own copy of the
//! manifest is used to check the other files, so one damaged file never hides
//! another.

use std::io;
use std::path::Path;

use crate::error::Result;
use crate::history::{self, Standing};
use crate::log::{self, VerifyReport};
use crate::manifest::{generation_dir, sha256_hex, Manifest, MAX_SIZE};
use crate::vault::{Vault, VaultError, ASIDE_DIR, MAX_DATA_FILE};

/// What is wrong with (or worth knowing about) one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The file is absent.
    Missing,
    /// Not a regular file of ours (a link, a FIFO, a device, a directory,
    /// someone else's file): what it is instead.
    NotRegular(String),
    /// Larger than any file of its kind may be.
    TooLarge {
        /// The limit, in bytes.
        max: u64,
    },
    /// Could not be read (an I/O error).
    Unreadable(String),
    /// `manifest.json` (or a generation's copy) does not parse.
    Malformed(String),
    /// The payload's digest differs from `payload.digest`.
    DigestMismatch,
    /// A share file's digest differs from its custodian's `commitment`.
    CommitmentMismatch,
    /// A generation's own manifest differs from `manifest.json`.
    CopyDiffers,
    /// The manifest is not what the log certifies (superseded, not certified,
    /// bad signatures): what is wrong and what to do.
    Untrusted(String),
    /// The log does not verify: what is wrong.
    LogDamaged(String),
    /// Note: `manifest.json` lags behind a certified generation whose
    /// manifest is on disk (an interrupted commit the next ceremony completes).
    Pending {
        /// The generation manifest.json names.
        stale_generation: u64,
        /// The certified generation in force.
        generation: u64,
    },
    /// Note: a format 1 vault (its MAC needs the quorum's key).
    Format1,
    /// Note: a file or directory the vault does not use.
    Unexpected,
    /// Note: a generation directory set aside, never certified.
    Aside,
    /// Note: a generation directory other than the one in force.
    OtherGeneration(u64),
}

impl Problem {
    /// True for damage (exit 1); false for notes.
    pub fn is_damage(&self) -> bool {
        !matches!(
            self,
            Problem::Pending { .. }
                | Problem::Format1
                | Problem::Unexpected
                | Problem::Aside
                | Problem::OtherGeneration(_)
        )
    }

    /// A stable one-word code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::NotRegular(_) => "not-regular",
            Problem::TooLarge { .. } => "too-large",
            Problem::Unreadable(_) => "unreadable",
            Problem::Malformed(_) => "malformed",
            Problem::DigestMismatch => "digest-mismatch",
            Problem::CommitmentMismatch => "commitment-mismatch",
            Problem::CopyDiffers => "copy-differs",
            Problem::Untrusted(_) => "untrusted",
            Problem::LogDamaged(_) => "log-damaged",
            Problem::Pending { .. } => "pending",
            Problem::Format1 => "format-1",
            Problem::Unexpected => "unexpected",
            Problem::Aside => "aside",
            Problem::OtherGeneration(_) => "other-generation",
        }
    }
}

/// One finding: a file (relative to the vault), the custodian a share file
/// belongs to, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Path relative to the vault directory.
    pub file: String,
    /// The custodian whose share file this is.
    pub custodian: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl Finding {
    fn new(file: impl Into<String>, problem: Problem) -> Finding {
        Finding {
            file: file.into(),
            custodian: None,
            problem,
        }
    }

    /// Whether this finding is damage (not a note).
    pub fn is_damage(&self) -> bool {
        self.problem.is_damage()
    }

    /// One sentence for people: the file, what is wrong, what to do.
    pub fn describe(&self) -> String {
        let file = &self.file;
        let what = match &self.custodian {
            Some(c) => format!("{c}'s share file {file}"),
            None if file.ends_with("/payload.age") => format!("the payload file {file}"),
            None => file.clone(),
        };
        let restore = match &self.custodian {
            Some(c) => format!("restore it from another copy before {c} is needed"),
            None => "restore it from another copy of the vault".to_owned(),
        };
        match &self.problem {
            Problem::Missing => format!("{what} is missing: {restore}"),
            Problem::NotRegular(why) => format!("{what} is {why}"),
            Problem::TooLarge { max } => format!(
                "{what} is larger than {max} bytes, more than such a file can be: it was replaced or corrupted; {restore}"
            ),
            Problem::Unreadable(why) => {
                format!("{what} cannot be read ({why}): check the medium, or {restore}")
            }
            Problem::Malformed(why) => format!("{what} does not parse ({why}): {restore}"),
            Problem::DigestMismatch => format!(
                "{what} does not match the digest in the manifest (an unseal would refuse it): {restore}"
            ),
            Problem::CommitmentMismatch => {
                format!("{what} does not match its commitment: {restore}")
            }
            Problem::CopyDiffers => format!(
                "{what} differs from manifest.json (each generation keeps an identical copy): {restore}"
            ),
            Problem::Untrusted(why) => format!("{what}: {why}"),
            Problem::LogDamaged(why) => format!("{what} does not verify: {why}"),
            Problem::Pending {
                stale_generation,
                generation,
            } => format!(
                "note: {what} is generation {stale_generation} but the log certifies generation {generation}, whose manifest is on disk (a commit was interrupted); the next ceremony completes it"
            ),
            Problem::Format1 => format!(
                "note: {what} is format 1: its MAC can only be checked by a quorum; migrate the vault (`breakglass migrate`)"
            ),
            Problem::Unexpected => format!("note: {what} is not part of the vault"),
            Problem::Aside => format!(
                "note: {what} holds generation directories set aside by earlier ceremonies (never certified); keep or remove them"
            ),
            Problem::OtherGeneration(g) => format!(
                "note: {what} is generation {g}, not the one in force; left by an interrupted ceremony (the next one removes it)"
            ),
        }
    }
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Everything found, damage and notes, in the order checked.
    pub findings: Vec<Finding>,
    /// The generation in force, when a manifest could be read.
    pub generation: Option<u64>,
    /// The vault fingerprint, when a manifest could be read.
    pub fingerprint: Option<String>,
    /// Log entries that verified.
    pub log_entries: u64,
    /// Files whose content was checked and found intact.
    pub files_ok: usize,
}

impl CheckReport {
    /// True when nothing is damaged (notes aside).
    pub fn is_healthy(&self) -> bool {
        !self.findings.iter().any(Finding::is_damage)
    }

    /// The damaged findings.
    pub fn damage(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_damage())
    }

    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// Reads `rel` under `dir` as a regular file of at most `max` bytes.
fn read_file(dir: &Path, rel: &str, max: u64) -> Result<Vec<u8>, Problem> {
    crate::fsutil::read_capped(&dir.join(rel), max).map_err(|e| io_problem(&e, max))
}

fn io_problem(e: &io::Error, max: u64) -> Problem {
    match e.kind() {
        io::ErrorKind::NotFound => Problem::Missing,
        io::ErrorKind::InvalidInput => Problem::NotRegular(e.to_string()),
        io::ErrorKind::InvalidData => Problem::TooLarge { max },
        _ => Problem::Unreadable(e.to_string()),
    }
}

/// Opens the vault at `dir` read-only and checks it; `manifest.json` or
/// `log.jsonl` replaced by something that is not a regular file is a
/// finding, not an error. Errors: no vault there (exit 2).
pub fn check_dir(dir: &Path) -> Result<CheckReport> {
    match Vault::open_read_only(dir) {
        Ok(v) => check(&v),
        Err(VaultError::Io { path, source })
            if source.kind() == io::ErrorKind::InvalidInput && path.parent() == Some(dir) =>
        {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(CheckReport {
                findings: vec![Finding::new(file, Problem::NotRegular(source.to_string()))],
                ..CheckReport::default()
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks everything in `vault` that can be checked without a secret (see
/// the module docs). Writes nothing. Damage is reported as findings; an
/// error means the check itself could not run.
pub fn check(vault: &Vault) -> Result<CheckReport> {
    let dir = vault.dir();
    let mut r = CheckReport::default();

    // 1. manifest.json, judged against the log.
    let top = read_file(dir, "manifest.json", MAX_SIZE).and_then(|b| {
        Manifest::from_bytes(&b)
            .map(|m| (m, b))
            .map_err(|e| Problem::Malformed(e.to_string()))
    });
    let log_present = match crate::fsutil::check_regular(&vault.log_path()) {
        Ok(()) => true,
        Err(e) => {
            r.push(Finding::new("log.jsonl", io_problem(&e, 0)));
            false
        }
    };
    // The manifest in force, its bytes when they must equal its generation's
    // copy, and the generation whose directory is also expected.
    let mut in_force: Option<(Manifest, Option<Vec<u8>>)> = None;
    let mut stale_generation = None;
    match top {
        Ok((manifest, bytes)) if log_present => {
            match history::read_with(vault, false, log::Reads::Chain, |_, _| {}) {
                Ok(h) => {
                    r.log_entries = h.report.entries;
                    let log_ok = h.report.chain_intact();
                    log_findings(&mut r, &h.report);
                    match &h.standing {
                        Standing::Current => in_force = Some((h.manifest.clone(), Some(bytes))),
                        Standing::Pending {
                            stale_generation: s,
                            ..
                        } => {
                            stale_generation = Some(*s);
                            r.push(Finding::new(
                                "manifest.json",
                                Problem::Pending {
                                    stale_generation: *s,
                                    generation: h.manifest.generation,
                                },
                            ));
                            in_force = Some((h.manifest.clone(), None));
                        }
                        Standing::Format1 => {
                            r.push(Finding::new("manifest.json", Problem::Format1));
                            in_force = Some((h.manifest.clone(), Some(bytes)));
                        }
                        Standing::Superseded { .. } | Standing::NotCertified { .. } => {
                            // With a damaged log the log is the finding: the
                            // manifest cannot be judged until it is restored.
                            if log_ok {
                                if let Some(why) = h.manifest_problem() {
                                    r.push(Finding::new("manifest.json", Problem::Untrusted(why)));
                                }
                            }
                            in_force = Some((h.manifest.clone(), Some(bytes)));
                        }
                    }
                }
                Err(e) => {
                    r.push(Finding::new(
                        "manifest.json",
                        Problem::Untrusted(e.to_string()),
                    ));
                    in_force = Some((manifest, Some(bytes)));
                }
            }
        }
        Ok((manifest, bytes)) => in_force = Some((manifest, Some(bytes))),
        Err(p) => {
            r.push(Finding::new("manifest.json", p));
            if log_present {
                let report = log::verify_only(&vault.log_path())?;
                r.log_entries = report.entries;
                log_findings(&mut r, &report);
            }
            // Check the other files against the newest generation's copy.
            for g in vault.generations_on_disk().into_iter().rev() {
                let rel = format!("{}/manifest.json", generation_dir(g));
                if let Ok(m) = read_file(dir, &rel, MAX_SIZE)
                    .ok()
                    .map(|b| Manifest::from_bytes(&b))
                    .transpose()
                {
                    if let Some(m) = m.filter(|m| m.generation == g) {
                        in_force = Some((m, None));
                        break;
                    }
                }
            }
        }
    }

    // 2. The files the manifest in force names.
    let mut expected_gen = None;
    let mut share_names = Vec::new();
    if let Some((m, bytes)) = &in_force {
        r.generation = Some(m.generation);
        r.fingerprint = Some(m.fingerprint());
        let gdir = generation_dir(m.generation);
        expected_gen = Some(gdir.clone());
        let copy = format!("{gdir}/manifest.json");
        match read_file(dir, &copy, MAX_SIZE) {
            Err(p) => r.push(Finding::new(copy, p)),
            Ok(b) => match bytes {
                Some(top) if !crate::secret::ct_eq(&b, top) => {
                    r.push(Finding::new(copy, Problem::CopyDiffers))
                }
                _ => r.files_ok += 1,
            },
        }
        check_digest(
            &mut r,
            dir,
            &m.payload.file,
            &m.payload.digest,
            None,
            Problem::DigestMismatch,
        );
        for c in &m.custodians {
            check_digest(
                &mut r,
                dir,
                &c.share,
                &c.commitment,
                Some(&c.name),
                Problem::CommitmentMismatch,
            );
            share_names.push(format!("{}.age", c.name));
        }
    }

    // 3. What else is there.
    note_extras(
        &mut r,
        dir,
        expected_gen.as_deref(),
        stale_generation,
        &share_names,
    );
    Ok(r)
}

fn log_findings(r: &mut CheckReport, report: &VerifyReport) {
    if !report.is_intact() {
        let mut why = report.explain();
        if !report.chain_intact() {
            why.push_str("; restore log.jsonl from another copy of the vault (until then manifest.json cannot be confirmed)");
        }
        r.push(Finding::new("log.jsonl", Problem::LogDamaged(why)));
    }
}

fn check_digest(
    r: &mut CheckReport,
    dir: &Path,
    rel: &str,
    digest: &str,
    custodian: Option<&str>,
    mismatch: Problem,
) {
    let problem = match read_file(dir, rel, MAX_DATA_FILE) {
        Err(p) => Some(p),
        Ok(b) if !crate::secret::ct_eq(sha256_hex(&b).as_bytes(), digest.as_bytes()) => {
            Some(mismatch)
        }
        Ok(_) => None,
    };
    match problem {
        Some(problem) => r.push(Finding {
            file: rel.to_owned(),
            custodian: custodian.map(str::to_owned),
            problem,
        }),
        None => r.files_ok += 1,
    }
}

/// Notes files and directories the vault does not use (never descending
/// into them, never following links).
fn note_extras(
    r: &mut CheckReport,
    dir: &Path,
    gen: Option<&str>,
    stale: Option<u64>,
    shares: &[String],
) {
    let list = |d: &Path| -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                (e.file_name().to_string_lossy().into_owned(), is_dir)
            })
            .collect();
        v.sort();
        v
    };
    let stale = stale.map(generation_dir);
    for (name, is_dir) in list(dir) {
        match name.as_str() {
            "manifest.json" | "log.jsonl" | ".lock" => continue,
            ASIDE_DIR => {
                r.push(Finding::new(format!("{name}/"), Problem::Aside));
                continue;
            }
            _ => {}
        }
        if Some(name.as_str()) == gen || Some(&name) == stale.as_ref() {
            continue;
        }
        let generation = name
            .strip_prefix('g')
            .filter(|n| n.len() >= 6 && n.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        let problem = match generation {
            Some(g) if is_dir => Problem::OtherGeneration(g),
            _ => Problem::Unexpected,
        };
        let shown = if is_dir { format!("{name}/") } else { name };
        r.push(Finding::new(shown, problem));
    }
    let Some(gen) = gen else { return };
    for (name, is_dir) in list(&dir.join(gen)) {
        if matches!(name.as_str(), "manifest.json" | "payload.age") || (name == "shares" && is_dir)
        {
            continue;
        }
        let shown = format!("{gen}/{name}{}", if is_dir { "/" } else { "" });
        r.push(Finding::new(shown, Problem::Unexpected));
    }
    for (name, is_dir) in list(&dir.join(gen).join("shares")) {
        if shares.contains(&name) {
            continue;
        }
        let shown = format!("{gen}/shares/{name}{}", if is_dir { "/" } else { "" });
        r.push(Finding::new(shown, Problem::Unexpected));
    }
}
