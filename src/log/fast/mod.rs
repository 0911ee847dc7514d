//! The fast verifier: the same verdicts as the reference
//! ([`super::verify_rooted_reference`]) in one streaming pass, with the
//! per-line work spread over the cores.
//!
//! The log is read in blocks of [`BLOCK`] bytes ([`reader`]; memory is
//! bounded by a block, whatever the log's length). Each block goes through
//! four phases:
//!
//! 1. *parallel*: split into lines, read each on the fast path
//!    ([`super::scan`]: canonical form checked on the bytes as they are,
//!    hashed with `hash` cut out, signed body as byte ranges), falling back
//!    to the reference [`super::parse_line`] for any line it is unsure of;
//! 2. *sequential, cheap*: a [`keybook::KeyBook`] predicts, from the `vault-created`,
//!    `migrated` and `sealed` entries seen so far (checked or not), which
//!    keys each signed entry's check will ask about;
//! 3. *parallel*: every signed entry's signature is checked under those
//!    predicted keys (strict Ed25519 or ECDSA, as [`crate::sign`] does);
//! 4. *sequential*: the chain, the anchor and the trust rules, exactly as
//!    the reference, with phase 3's outcomes as [`Evidence`] memo: a check
//!    found there is not repeated, one not predicted is made then.
//!
//! Invariant: a signature check is a pure function of (key, body,
//! signature), so the memo only saves time; the verdicts, counts and
//! wording are the reference's. The prediction is never trusted.
//!
//! **Checkpoints** (`docs/formats.md`): a quorum entry that carries
//! `data.verified_through = T` says its writer verified every entry
//! through `T` (chain, anchor, every signature; none forged) before it
//! signed. Phase 2 finds the block's last such entry `C` and marks the
//! signed entries before it with `seq ≤ T` (certificates excepted) as
//! *vouched*; phase 3 skips them. Phase 4 then runs speculatively on a copy
//! of its state, with the vouched entries' signatures taken to hold under
//! the keys the log certifies for them, and keeps the outcome only if `C`
//! itself chained and verified as a quorum entry (its own signature is
//! always checked). Otherwise the copy is dropped, the vouched signatures
//! are checked after all and phase 4 runs again: a bogus checkpoint costs
//! time, never a verdict. Nothing is visited before it is confirmed.
//! [`verify_rooted`] with `vouching` false checks every signature.

mod block;
mod keybook;
mod reader;
mod resume;

pub use resume::Resume;

use std::io::{Seek, SeekFrom};
use std::path::Path;

use super::entry::Entry;
use super::trust::{self, Evidence, KeyId};
use super::verify::{AnchorStatus, Problem, Reads, VerifyReport, MAX_TIME_REGRESSIONS};
use super::LogHead;
use super::{LogError, GENESIS, MAX_LINE};
use crate::sign::PublicKey;
use block::{Kind, Line};
use reader::{Piece, Reader, Tail};

/// Bytes read per block. It is also how far a checkpoint reaches (the
/// entries of its own block): every command reads in blocks of this size,
/// so they all take the same checkpoints' word.
const BLOCK: usize = 1 << 20;

/// Logs shorter than this are read on one thread.
const SMALL_LOG: u64 = 256 << 10;

/// The fast path of [`super::verify_rooted`]; with `vouching`, entries a
/// confirmed checkpoint covers are not checked again (module docs).
pub(super) fn verify_rooted(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<PublicKey>,
    vouching: bool,
    reads: Reads,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    verify_from(path, anchor, seed, vouching, reads, None, visit).map(|r| r.report)
}

/// A verification that may have resumed from an earlier one.
pub struct Resumed {
    /// The report over the whole log, as a verification from the first
    /// byte would give it (if the prefix did not change: [`Resume`]).
    pub report: VerifyReport,
    /// The state after the last complete line, to resume from next time
    /// (None when the chain is broken or the anchor differs, or the log is
    /// empty). What is kept is the caller's choice: the `--incremental`
    /// reports keep it only for a log that verifies.
    pub resume: Option<Resume>,
    /// The head of the prefix it resumed after (None: read from the start).
    pub resumed_after: Option<LogHead>,
}

/// [`verify_rooted`], resuming after `from` when it fits the file (see
/// [`Resume`]; otherwise from the first byte), and returning the state at
/// the end. `visit` sees only the entries read.
pub(super) fn verify_from(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<PublicKey>,
    vouching: bool,
    reads: Reads,
    from: Option<&Resume>,
    mut visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<Resumed, LogError> {
    // Rooted in a seed, the log's own root is damaged: check everything.
    let vouching = vouching && seed.is_none();
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    // Never through a link, never a FIFO that would block (as every vault file).
    let mut file =
        crate::fsutil::open_regular(path, std::fs::OpenOptions::new().read(true)).map_err(io)?;
    let fresh = || State {
        report: VerifyReport::empty(),
        auth: seed.map_or_else(trust::Authenticator::new, trust::Authenticator::seeded),
        prev_time: None,
        prev_hash: GENESIS.to_owned(),
        last_start: 0,
        offset: 0,
        line_no: 0,
        anchor,
        anchor_found: false,
        scratch: Vec::new(),
    };
    let resumed = from
        .filter(|_| seed.is_none())
        .and_then(|r| Some((r.fit(&mut file, anchor)?, r.head()?.clone())));
    let (mut s, resumed_after) = match resumed {
        Some((s, head)) => (s, Some(head)),
        None => {
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            (fresh(), None)
        }
    };
    // A checkpoint vouches for the entries of its own block, and a resumed
    // read cuts its blocks elsewhere than a read from the first byte: it
    // checks every signature instead (the new entries are few), so it never
    // takes a quorum's word where a full read would not (`resume`).
    let vouching = vouching && resumed_after.is_none();
    // Below a quarter of a block, starting threads costs more than it saves
    // (a 100-entry `status` spent more time in them than in its log).
    let small = file
        .metadata()
        .is_ok_and(|m| m.len().saturating_sub(s.offset) < SMALL_LOG);
    let workers = if small {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    // Data is read on the worker threads when the visitor reads it.
    let data = reads == Reads::Data;
    let mut reader = Reader::new(file, workers, data, BLOCK);
    let mut buf = Vec::new();
    // Past a break only certificates are salvaged: nothing is vouched.
    while let Some(piece) = reader
        .next(buf, vouching && s.report.problem.is_none())
        .map_err(io)?
    {
        let Piece {
            buf: read,
            mut block,
            tail,
        } = piece;
        let go = match block.checkpoint {
            None => s.apply(&read, &block.lines, &mut |_, e, a| visit(e, a)),
            Some(c) => {
                let before = s.clone();
                let mut seen: Vec<(usize, trust::Authn)> = Vec::new();
                let go = s.apply(&read, &block.lines, &mut |i, _, a| {
                    seen.push((i, a.clone()))
                });
                if seen
                    .iter()
                    .any(|(i, a)| *i == c && *a == trust::Authn::Quorum)
                {
                    for (i, a) in &seen {
                        if let Some(Kind::Ok { entry, .. }) = block.lines.get(*i).map(|l| &l.kind) {
                            visit(entry, a);
                        }
                    }
                    go
                } else {
                    s = before;
                    block.unvouch(&read, workers);
                    s.apply(&read, &block.lines, &mut |_, e, a| visit(e, a))
                }
            }
        };
        drop(block);
        if !go {
            break;
        }
        match tail {
            Tail::More => {}
            Tail::TooLong => {
                s.line_no += 1;
                s.report.problem = Some(Problem {
                    line: s.line_no,
                    what: format!("line longer than {MAX_LINE} bytes"),
                });
            }
            Tail::End { rest } => {
                if rest > 0 {
                    s.report.torn_tail = Some((s.offset, rest as u64));
                }
            }
        }
        // The buffer is filled again (no new pages).
        buf = read;
    }
    let resume = Resume::of(&s);
    Ok(Resumed {
        report: s.finish(),
        resume,
        resumed_after,
    })
}

/// Phase 4's state, carried from block to block (copied before a
/// speculative run).
#[derive(Clone)]
struct State<'a> {
    report: VerifyReport,
    auth: trust::Authenticator,
    prev_time: Option<i64>,
    prev_hash: String,
    /// Byte offset of the last chained line, and of the end of the lines read.
    last_start: u64,
    offset: u64,
    line_no: u64,
    anchor: Option<&'a LogHead>,
    anchor_found: bool,
    scratch: Vec<u8>,
}

impl State<'_> {
    /// Phase 4 over one block's lines; false when reading must stop.
    fn apply(
        &mut self,
        block: &[u8],
        lines: &[Line],
        visit: &mut impl FnMut(usize, &Entry, &trust::Authn),
    ) -> bool {
        for (idx, line) in lines.iter().enumerate() {
            self.line_no += 1;
            if line.len > MAX_LINE {
                self.report.problem = Some(Problem {
                    line: self.line_no,
                    what: format!("line longer than {MAX_LINE} bytes"),
                });
                return false;
            }
            self.offset += line.len as u64 + 1;
            let (entry, memo) = match &line.kind {
                Kind::NotUtf8 => {
                    self.report.problem.get_or_insert(Problem {
                        line: self.line_no,
                        what: "not UTF-8".into(),
                    });
                    continue;
                }
                Kind::Bad(what) => {
                    self.report.problem.get_or_insert(Problem {
                        line: self.line_no,
                        what: what.clone(),
                    });
                    continue;
                }
                Kind::Ok { entry, memo, .. } => (entry, memo.as_slice()),
            };
            let mut scratch = std::mem::take(&mut self.scratch);
            if self.report.problem.is_some() {
                if self.auth.salvageable(entry) {
                    let ev = Evidence {
                        body: line.body(block, &mut scratch),
                        memo,
                        vouched: false,
                    };
                    self.auth.salvage_with(entry, &ev);
                }
                self.scratch = scratch;
                continue;
            }
            self.chained(idx, entry, line, block, memo, &mut scratch, visit);
            self.scratch = scratch;
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn chained(
        &mut self,
        idx: usize,
        entry: &Entry,
        line: &Line,
        block: &[u8],
        memo: &[(KeyId, bool)],
        scratch: &mut Vec<u8>,
        visit: &mut impl FnMut(usize, &Entry, &trust::Authn),
    ) {
        let r = &mut self.report;
        let expected_seq = r.entries + 1;
        let fail = if entry.seq != expected_seq {
            Some(format!(
                "sequence number {} where {} was expected",
                entry.seq, expected_seq
            ))
        } else if entry.prev != self.prev_hash {
            Some("it does not chain to the previous entry".into())
        } else if r.vault.as_ref().is_some_and(|v| v != &entry.vault) {
            Some("it belongs to another vault".into())
        } else {
            None
        };
        if let Some(what) = fail {
            r.problem = Some(Problem {
                line: self.line_no,
                what,
            });
            if self.auth.salvageable(entry) {
                let ev = Evidence {
                    body: line.body(block, scratch),
                    memo,
                    vouched: false,
                };
                self.auth.salvage_with(entry, &ev);
            }
            return;
        }
        if let Some(a) = self.anchor {
            if a.seq == entry.seq {
                self.anchor_found = true;
                if a.hash != entry.hash {
                    r.anchor = AnchorStatus::Mismatch { anchor_seq: a.seq };
                }
            }
        }
        if r.vault.is_none() {
            r.vault = Some(entry.vault.clone());
        }
        if let Some(before) = self.prev_time.filter(|t| entry.time.0 < *t) {
            r.time_regression_count += 1;
            if r.time_regressions.len() < MAX_TIME_REGRESSIONS {
                let by = before.saturating_sub(entry.time.0).unsigned_abs();
                r.time_regressions.push((entry.seq, by));
            }
        }
        self.prev_time = Some(entry.time.0);
        self.last_start = self.offset - (line.len as u64 + 1);
        self.prev_hash.clear();
        self.prev_hash.push_str(&entry.hash);
        r.entries += 1;
        match &mut r.head {
            Some(h) => {
                h.seq = entry.seq;
                h.hash.clear();
                h.hash.push_str(&entry.hash);
            }
            None => {
                r.head = Some(LogHead {
                    hash: entry.hash.clone(),
                    seq: entry.seq,
                })
            }
        }
        let ev = Evidence {
            body: line.body(block, scratch),
            memo,
            vouched: line.vouched(),
        };
        let authn = self.auth.observe_with(entry, &ev);
        visit(idx, entry, &authn);
    }

    fn finish(mut self) -> VerifyReport {
        self.report.trust = self.auth.finish();
        if let Some(a) = self.anchor {
            if !self.anchor_found && self.report.problem.is_none() {
                self.report.anchor = AnchorStatus::Truncated {
                    anchor_seq: a.seq,
                    last_seq: self.report.entries,
                };
            } else if self.anchor_found && self.report.anchor == AnchorStatus::NotChecked {
                self.report.anchor = AnchorStatus::Present;
            }
        }
        self.report
    }
}
