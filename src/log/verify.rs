//! Verifying a log: the chain (canonical form, sequence, links, one vault),
//! the anchor the manifest records, and — through [`super::trust`] — every
//! signature, in one streaming pass with bounded memory.
//!
//! [`verify`] and [`verify_rooted`] run the fast path (`fast/`: lines read
//! on the bytes as they are, hashing and signature checks spread over the
//! cores, and the signatures a confirmed quorum checkpoint covers taken on
//! its word: `docs/formats.md` §8.10). [`verify_every_signature`] is the
//! fast path checking every signature. [`verify_rooted_reference`] is the
//! slow, simple verifier kept as the specification: every line parsed into
//! a `serde_json::Value`, re-encoded and compared, every signature checked,
//! one line at a time. All three give the same report on every log whose
//! checkpoints are true (`tests/log_fast_path.rs`, which also pins down the
//! one difference: a live quorum's lying checkpoint).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::entry::{parse_line, Entry};
use super::LogHead;
use super::{trust, LogError, GENESIS, MAX_LINE};

/// What is wrong with a log, at the first bad line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// 1-based line number.
    pub line: u64,
    /// Description.
    pub what: String,
}

/// Whether the anchor recorded in the manifest is still in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AnchorStatus {
    /// No anchor was given.
    NotChecked,
    /// The entry `seq` has the recorded hash.
    Present,
    /// The log ends before the anchored entry: truncated.
    Truncated {
        /// Anchored sequence number.
        anchor_seq: u64,
        /// Last sequence number present.
        last_seq: u64,
    },
    /// The entry at `seq` has a different hash: rewritten.
    Mismatch {
        /// Anchored sequence number.
        anchor_seq: u64,
    },
}

/// Result of verifying a log.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VerifyReport {
    /// Entries that verified (before any problem).
    pub entries: u64,
    /// Head of the verified prefix.
    pub head: Option<LogHead>,
    /// First integrity problem (later entries are not trusted).
    pub problem: Option<Problem>,
    /// A torn final line (crash during append): byte offset and length.
    pub torn_tail: Option<(u64, u64)>,
    /// Anchor status.
    pub anchor: AnchorStatus,
    /// Vault id seen in the log.
    pub vault: Option<String>,
    /// Who wrote what: signatures checked, certified generations, forged
    /// entries (over the verified prefix).
    pub trust: trust::Trust,
    /// Entries whose time is earlier than their predecessor's, as (seq, by
    /// how many seconds), the first [`MAX_TIME_REGRESSIONS`] of them: a
    /// warning, not a failure (a machine's clock was set back, or entries
    /// were written on a machine with a wrong clock).
    pub time_regressions: Vec<(u64, u64)>,
    /// How many entries went back in time in all (beyond the list's cap too).
    pub time_regression_count: u64,
}

/// How many time regressions [`VerifyReport::time_regressions`] lists.
pub const MAX_TIME_REGRESSIONS: usize = 16;

impl VerifyReport {
    /// Nothing verified yet.
    pub(super) fn empty() -> VerifyReport {
        VerifyReport {
            entries: 0,
            head: None,
            problem: None,
            torn_tail: None,
            anchor: AnchorStatus::NotChecked,
            vault: None,
            trust: trust::Trust::default(),
            time_regressions: Vec::new(),
            time_regression_count: 0,
        }
    }

    /// True when the chain verified, nothing is torn, the anchor holds and
    /// no entry carries a signature that does not verify.
    pub fn is_intact(&self) -> bool {
        self.chain_intact() && self.trust.findings.is_empty()
    }

    /// True when the chain verified, nothing is torn and the anchor holds
    /// (signatures aside).
    pub fn chain_intact(&self) -> bool {
        self.problem.is_none()
            && self.torn_tail.is_none()
            && matches!(
                self.anchor,
                AnchorStatus::Present | AnchorStatus::NotChecked
            )
    }

    /// One paragraph explaining what is wrong (empty when intact).
    pub fn explain(&self) -> String {
        let mut out = Vec::new();
        if let Some(p) = &self.problem {
            out.push(format!(
                "entry on line {} does not verify: {} (the log was edited, reordered or had lines removed there)",
                p.line, p.what
            ));
        }
        if let Some((off, len)) = self.torn_tail {
            out.push(format!(
                "the last line is torn ({len} bytes at offset {off}, an append interrupted by a crash); run `breakglass log repair` (it restores a complete line that only lost its newline, and removes a torn one)"
            ));
        }
        match &self.anchor {
            AnchorStatus::Truncated { anchor_seq, last_seq } => out.push(format!(
                "the log ends at entry {last_seq} but the sealed manifest records entry {anchor_seq}: the log was truncated"
            )),
            AnchorStatus::Mismatch { anchor_seq } => out.push(format!(
                "entry {anchor_seq} differs from the one recorded in the sealed manifest: the log was rewritten"
            )),
            _ => {}
        }
        if let Some(f) = self.trust.findings.first() {
            let more = self.trust.forged_count.saturating_sub(1);
            out.push(format!(
                "{}{}",
                f.describe(),
                if more > 0 {
                    format!(" (and {more} more forged entries: see `breakglass log verify`)")
                } else {
                    String::new()
                }
            ));
        }
        out.join("; ")
    }
}

/// What a verification's visitor reads of each entry. A hint for speed
/// only: an entry's `data` is read when it is asked for either way
/// ([`super::Data`]), and the verdicts are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The entries' `data` too: it is read into maps on the worker threads.
    Data,
    /// The chain members only (seq, time, event, generation, hashes, seal):
    /// `data` is read only where the trust rules look (the root, the
    /// certificates, checkpoints) or the visitor asks.
    Chain,
}

/// Verifies the log at `path`, calling `visit` for each entry of the
/// verified chain with what [`trust`] found about who wrote it. Needs no
/// secret: the chain, the anchor and every signature are checked with public
/// data from the log itself.
pub fn verify(
    path: &Path,
    anchor: Option<&LogHead>,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    verify_rooted(path, anchor, None, visit)
}

/// [`verify`], rooted in `seed` (a genesis key from outside the log) when
/// given: for a log whose own root entry is damaged.
pub fn verify_rooted(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<crate::sign::PublicKey>,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    super::fast::verify_rooted(path, anchor, seed, true, Reads::Data, visit)
}

/// [`verify`], resuming after the prefix `from` covers when it still fits
/// the file (only the bytes after it are read: see [`super::Resume`] for
/// what that trusts), else from the first byte; returns the state at the
/// end to resume from next time. `visit` sees the entries read (and reads
/// what `reads` says of them).
pub fn verify_resuming(
    path: &Path,
    anchor: Option<&LogHead>,
    from: Option<&super::Resume>,
    reads: Reads,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<super::Resumed, LogError> {
    super::fast::verify_from(path, anchor, None, true, reads, from, visit)
}

/// [`verify`] without trusting any checkpoint: every signature is checked
/// here, as the reference does (`breakglass log verify --every-signature`;
/// for an auditor who will not take a quorum's word that it checked the
/// custodians' signatures before it signed). Same verdicts as [`verify`] on
/// every log whose quorum entries were written by breakglass.
pub fn verify_every_signature(
    path: &Path,
    anchor: Option<&LogHead>,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    super::fast::verify_rooted(path, anchor, None, false, Reads::Data, visit)
}

/// [`verify`] (or [`verify_every_signature`]) for a visitor that reads
/// what `reads` says: `log verify` and every ceremony's log check pass
/// [`Reads::Chain`].
pub fn verify_reading(
    path: &Path,
    anchor: Option<&LogHead>,
    every_signature: bool,
    reads: Reads,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    super::fast::verify_rooted(path, anchor, None, !every_signature, reads, visit)
}

/// [`verify`]'s report alone, without an anchor or a visitor (checkpoints
/// vouching): `log verify` and the drills' and checks' log reads.
pub fn verify_only(path: &Path) -> Result<VerifyReport, LogError> {
    verify_reading(path, None, false, Reads::Chain, |_, _| {})
}

/// The reference verifier: what [`verify_rooted`] must answer, computed the
/// slow and simple way (one line at a time, each parsed into a value,
/// re-encoded and compared; every signed body re-encoded). For tests and
/// for doubt; it needs no more memory than the fast path.
pub fn verify_rooted_reference(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<crate::sign::PublicKey>,
    mut visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    // Never through a link, never a FIFO that would block (as every vault file).
    let file =
        crate::fsutil::open_regular(path, std::fs::OpenOptions::new().read(true)).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut report = VerifyReport::empty();
    let mut prev_time: Option<i64> = None;
    let mut auth = seed.map_or_else(trust::Authenticator::new, trust::Authenticator::seeded);
    let mut prev_hash = GENESIS.to_owned();
    let mut offset = 0u64;
    let mut line_no = 0u64;
    let mut buf = Vec::with_capacity(1024);
    let mut anchor_found = false;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            if n > MAX_LINE {
                report.problem = Some(Problem {
                    line: line_no,
                    what: format!("line longer than {MAX_LINE} bytes"),
                });
            } else {
                report.torn_tail = Some((offset, n as u64));
            }
            break;
        }
        offset += n as u64;
        let Ok(text) = std::str::from_utf8(&buf[..n - 1]) else {
            report.problem.get_or_insert(Problem {
                line: line_no,
                what: "not UTF-8".into(),
            });
            continue;
        };
        let entry = match parse_line(text) {
            Ok(e) => e,
            Err(what) => {
                report.problem.get_or_insert(Problem {
                    line: line_no,
                    what,
                });
                continue;
            }
        };
        if report.problem.is_some() {
            // Past a break nothing is counted or visited, but certificates
            // are self-authenticating: one edited line must not make the
            // current generation unverifiable (the break stays reported).
            auth.salvage(&entry);
            continue;
        }
        let expected_seq = report.entries + 1;
        let fail = if entry.seq != expected_seq {
            Some(format!(
                "sequence number {} where {} was expected",
                entry.seq, expected_seq
            ))
        } else if entry.prev != prev_hash {
            Some("it does not chain to the previous entry".into())
        } else if report.vault.as_ref().is_some_and(|v| v != &entry.vault) {
            Some("it belongs to another vault".into())
        } else {
            None
        };
        if let Some(what) = fail {
            report.problem = Some(Problem {
                line: line_no,
                what,
            });
            auth.salvage(&entry);
            continue;
        }
        if let Some(a) = anchor {
            if a.seq == entry.seq {
                anchor_found = true;
                if a.hash != entry.hash {
                    report.anchor = AnchorStatus::Mismatch { anchor_seq: a.seq };
                }
            }
        }
        report.vault.get_or_insert_with(|| entry.vault.clone());
        if let Some(before) = prev_time.filter(|t| entry.time.0 < *t) {
            report.time_regression_count += 1;
            if report.time_regressions.len() < MAX_TIME_REGRESSIONS {
                let by = before.saturating_sub(entry.time.0).unsigned_abs();
                report.time_regressions.push((entry.seq, by));
            }
        }
        prev_time = Some(entry.time.0);
        prev_hash = entry.hash.clone();
        report.entries += 1;
        report.head = Some(LogHead {
            hash: entry.hash.clone(),
            seq: entry.seq,
        });
        let authn = auth.observe(&entry);
        visit(&entry, &authn);
    }
    report.trust = auth.finish();
    if let Some(a) = anchor {
        if !anchor_found && report.problem.is_none() {
            report.anchor = AnchorStatus::Truncated {
                anchor_seq: a.seq,
                last_seq: report.entries,
            };
        } else if anchor_found && report.anchor == AnchorStatus::NotChecked {
            report.anchor = AnchorStatus::Present;
        }
    }
    Ok(report)
}
