//! The fast verifier: the same verdicts as the reference
//! ([`super::verify_rooted_reference`]) in one streaming pass, with the
//! per-line work spread over the cores.
//!
//! The log is read in blocks of [`BLOCK`] bytes (memory is bounded by a
//! block, whatever the log's length). Each block goes through four phases:
//!
//! 1. *parallel*: split into lines, read each on the fast path
//!    ([`super::scan`]: canonical form checked on the bytes as they are,
//!    hashed with `hash` cut out, signed body as byte ranges), falling back
//!    to the reference [`super::parse_line`] for any line it is unsure of;
//! 2. *sequential, cheap*: a [`KeyBook`] predicts, from the `vault-created`,
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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::entry::{Entry, Seal, Signer};
use super::scan::{scan, Body};
use super::trust::{self, Evidence, KeyId, TokenKey};
use super::verify::{AnchorStatus, Problem, VerifyReport, MAX_TIME_REGRESSIONS};
use super::LogHead;
use super::{events, parse_line, LogError, GENESIS, MAX_LINE};
use crate::sign::PublicKey;

/// Bytes read per block.
const BLOCK: usize = 1 << 20;
/// Generations the [`KeyBook`] keeps below the newest it has seen.
const BOOK_DEPTH: u64 = 4;

/// Where an entry's signed body is.
enum BodySrc {
    /// Unsigned (or a format 1 MAC): no body is needed.
    None,
    /// Byte ranges of the line.
    Slices(Body),
    /// Encoded by the reference (a line the fast path left to it).
    Owned(Vec<u8>),
    /// Signed, but the body cannot be encoded.
    Unencodable,
}

// Nearly every line is `Ok`: boxing its entry would add an allocation per
// line to save a few bytes on the rare bad one.
#[allow(clippy::large_enum_variant)]
enum Kind {
    NotUtf8,
    Bad(String),
    Ok {
        entry: Entry,
        body: BodySrc,
        memo: Vec<(KeyId, bool)>,
        /// The block's checkpoint vouches for it (phase 2), pending
        /// confirmation (phase 4).
        vouched: bool,
    },
}

/// One line of a block: where it is (without its `\n`) and what it holds.
struct Line {
    start: usize,
    len: usize,
    kind: Kind,
}

impl Line {
    fn vouched(&self) -> bool {
        matches!(self.kind, Kind::Ok { vouched: true, .. })
    }

    /// The signed body's bytes (into `scratch` when they are ranges).
    fn body<'a>(&'a self, block: &[u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
        let Kind::Ok { body, .. } = &self.kind else {
            return None;
        };
        match body {
            BodySrc::None | BodySrc::Unencodable => None,
            BodySrc::Owned(v) => Some(v),
            BodySrc::Slices(b) => {
                scratch.clear();
                b.write_to(&block[self.start..self.start + self.len], scratch);
                Some(scratch)
            }
        }
    }
}

fn read_line(text: &[u8]) -> Kind {
    let Ok(text) = std::str::from_utf8(text) else {
        return Kind::NotUtf8;
    };
    if let Some(s) = scan(text) {
        let body = s.body.map_or(BodySrc::None, BodySrc::Slices);
        return Kind::Ok {
            entry: s.entry,
            body,
            memo: Vec::new(),
            vouched: false,
        };
    }
    match parse_line(text) {
        Err(what) => Kind::Bad(what),
        Ok(entry) => {
            let body = match entry.seal {
                Seal::Signed { .. } => entry
                    .signed_body()
                    .map_or(BodySrc::Unencodable, |b| BodySrc::Owned(b.into_bytes())),
                _ => BodySrc::None,
            };
            Kind::Ok {
                entry,
                body,
                memo: Vec::new(),
                vouched: false,
            }
        }
    }
}

/// Index of the first `\n` in `b` (eight bytes at a time).
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = ONES * b'\n' as u64;
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ NL;
        if (x.wrapping_sub(ONES) & !x & HIGH) != 0 {
            break;
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'\n').map(|p| i + p)
}

/// Phase 1 for `block[from..to]` (which ends with `\n`).
fn read_lines(block: &[u8], from: usize, to: usize) -> Vec<Line> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        let len = find_newline(&block[i..to]).unwrap_or(to - i);
        let kind = if len > MAX_LINE {
            // Reported by phase 4 in order; not read.
            Kind::NotUtf8
        } else {
            read_line(&block[i..i + len])
        };
        out.push(Line {
            start: i,
            len,
            kind,
        });
        i += len + 1;
    }
    out
}

/// Runs `f` over `items` split into one contiguous part per worker.
fn parallel<T: Send, R: Send>(
    items: &mut [T],
    workers: usize,
    f: impl Fn(&mut [T]) -> R + Sync,
) -> Vec<R> {
    let per = items.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|s| {
        let mut parts = items.chunks_mut(per);
        let first = parts.next();
        let handles: Vec<_> = parts.map(|p| s.spawn(|| f(p))).collect();
        let mut out = Vec::with_capacity(handles.len() + 1);
        out.push(f(first.unwrap_or_default()));
        for h in handles {
            // A worker that panicked is a bug; re-raise it here.
            out.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    })
}

/// The keys signed entries will probably be checked under (see phase 2).
#[derive(Default)]
struct KeyBook {
    quorum: BTreeMap<u64, Vec<PublicKey>>,
    tokens: BTreeMap<(u64, String), Vec<TokenKey>>,
    newest: u64,
}

impl KeyBook {
    fn learn(&mut self, e: &Entry) {
        let str_of = |k: &str| e.data.get(k).and_then(serde_json::Value::as_str);
        if e.event == events::VAULT_CREATED || e.event == events::MIGRATED {
            if let Some(k) = str_of("genesis_key").and_then(PublicKey::from_hex) {
                self.add_quorum(e.generation, k);
            }
        }
        if e.event == events::SEALED {
            let g = e.data.get("generation").and_then(serde_json::Value::as_u64);
            let key = str_of("signing_key").and_then(PublicKey::from_hex);
            if let (Some(g), Some(key)) = (g, key) {
                self.add_quorum(g, key);
                for (name, keys) in trust::parse_signers(e.data.get("signers")).unwrap_or_default()
                {
                    let slot = self.tokens.entry((g, name)).or_default();
                    for k in keys {
                        if !slot.contains(&k) {
                            slot.push(k);
                        }
                    }
                }
            }
        }
    }

    fn add_quorum(&mut self, g: u64, key: PublicKey) {
        let slot = self.quorum.entry(g).or_default();
        if !slot.contains(&key) {
            slot.push(key);
        }
        self.newest = self.newest.max(g);
    }

    /// Forgets generations far below the newest (memory stays bounded).
    fn prune(&mut self) {
        let floor = self.newest.saturating_sub(BOOK_DEPTH);
        self.quorum = self.quorum.split_off(&floor);
        self.tokens = self.tokens.split_off(&(floor, String::new()));
    }

    fn candidates(&self, e: &Entry) -> Vec<KeyId> {
        match &e.seal {
            Seal::Signed {
                by: Signer::Quorum, ..
            } => self
                .quorum
                .get(&e.generation)
                .into_iter()
                .flatten()
                .map(KeyId::ed25519)
                .collect(),
            Seal::Signed {
                by:
                    Signer::Custodian {
                        custodian,
                        token,
                        alg,
                    },
                ..
            } => self
                .tokens
                .get(&(e.generation, custodian.clone()))
                .into_iter()
                .flatten()
                .filter(|k| k.token == *token && k.alg == *alg)
                .filter_map(|k| KeyId::token(k.alg, &k.key))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The fast path of [`super::verify_rooted`]; with `vouching`, entries a
/// confirmed checkpoint covers are not checked again (module docs).
pub(super) fn verify_rooted(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<PublicKey>,
    vouching: bool,
    mut visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    // Rooted in a seed, the log's own root is damaged: check everything.
    let vouching = vouching && seed.is_none();
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut s = State {
        report: VerifyReport {
            entries: 0,
            head: None,
            problem: None,
            torn_tail: None,
            anchor: AnchorStatus::NotChecked,
            vault: None,
            trust: trust::Trust::default(),
            time_regressions: Vec::new(),
            time_regression_count: 0,
        },
        auth: seed.map_or_else(trust::Authenticator::new, trust::Authenticator::seeded),
        prev_time: None,
        prev_hash: GENESIS.to_owned(),
        offset: 0,
        line_no: 0,
        anchor,
        anchor_found: false,
        scratch: Vec::new(),
    };
    let mut book = KeyBook::default();
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + MAX_LINE + 1);
    let mut eof = false;
    loop {
        if buf.len() < BLOCK && !eof {
            let want = (BLOCK - buf.len()) as u64;
            let got = (&mut file).take(want).read_to_end(&mut buf).map_err(io)?;
            eof = (got as u64) < want;
        }
        if buf.is_empty() {
            break;
        }
        let cut = buf.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        // Past a break only certificates are salvaged: nothing is vouched.
        let vouch = vouching && s.report.problem.is_none();
        let mut block = read_block(&buf, cut, workers, &mut book, vouch);
        let go = match block.checkpoint {
            None => s.apply(&buf, &block.lines, &mut |_, e, a| visit(e, a)),
            Some(c) => {
                let before = s.clone();
                let mut seen: Vec<(usize, trust::Authn)> = Vec::new();
                let go = s.apply(&buf, &block.lines, &mut |i, _, a| seen.push((i, a.clone())));
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
                    block.unvouch(&buf, workers);
                    s.apply(&buf, &block.lines, &mut |_, e, a| visit(e, a))
                }
            }
        };
        // Freeing a block's entries is a tenth of the work: spread it too.
        drop_parallel(block.lines, workers);
        if !go {
            break;
        }
        let rest = buf.len() - cut;
        if rest > MAX_LINE {
            s.line_no += 1;
            s.report.problem = Some(Problem {
                line: s.line_no,
                what: format!("line longer than {MAX_LINE} bytes"),
            });
            break;
        }
        if eof {
            if rest > 0 {
                s.report.torn_tail = Some((s.offset, rest as u64));
            }
            break;
        }
        buf.drain(..cut);
    }
    Ok(s.finish())
}

/// Drops `lines` on `workers` threads.
fn drop_parallel(mut lines: Vec<Line>, workers: usize) {
    let per = lines.len().div_ceil(workers.max(1)).max(1);
    let mut parts = Vec::with_capacity(workers);
    while lines.len() > per {
        parts.push(lines.split_off(lines.len() - per));
    }
    parts.push(lines);
    parallel(&mut parts, workers, |p| {
        p.iter_mut().for_each(|v| *v = Vec::new())
    });
}

/// One block after phases 1–3.
struct Block {
    lines: Vec<Line>,
    /// The keys each line's check will ask about (phase 2).
    candidates: Vec<Vec<KeyId>>,
    /// The checkpoint that vouches for some of `lines` (an index into them).
    checkpoint: Option<usize>,
}

impl Block {
    /// Takes the vouching back: every signature is checked (phase 3).
    fn unvouch(&mut self, buf: &[u8], workers: usize) {
        for l in &mut self.lines {
            if let Kind::Ok { vouched, .. } = &mut l.kind {
                *vouched = false;
            }
        }
        self.checkpoint = None;
        check_signatures(buf, &mut self.lines, &self.candidates, workers);
    }
}

/// Events whose signature is always checked: the root of trust and the
/// certificates (what every other verdict rests on).
fn never_vouched(e: &Entry) -> bool {
    e.event == events::VAULT_CREATED || e.event == events::MIGRATED || e.event == events::SEALED
}

/// The last quorum entry of `lines` carrying a checkpoint, with the seq it
/// vouches through (always below its own).
fn checkpoint_of(lines: &[Line]) -> Option<(usize, u64)> {
    lines.iter().enumerate().rev().find_map(|(i, l)| {
        let Kind::Ok { entry, .. } = &l.kind else {
            return None;
        };
        let Seal::Signed {
            by: Signer::Quorum, ..
        } = entry.seal
        else {
            return None;
        };
        let through = entry
            .data
            .get(super::CHECKPOINT)
            .and_then(serde_json::Value::as_u64)?;
        (through < entry.seq).then_some((i, through))
    })
}

/// Phases 1–3 for the complete lines of `buf[..cut]`.
fn read_block(buf: &[u8], cut: usize, workers: usize, book: &mut KeyBook, vouching: bool) -> Block {
    // Phase 1: one contiguous run of lines per worker.
    let mut bounds = vec![0];
    for w in 1..workers {
        let at = (cut * w / workers).max(*bounds.last().unwrap_or(&0));
        let next = find_newline(&buf[at..cut]).map_or(cut, |i| at + i + 1);
        bounds.push(next);
    }
    bounds.push(cut);
    let mut ranges: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let mut lines: Vec<Line> = parallel(&mut ranges, workers, |rs| {
        rs.iter()
            .flat_map(|&(a, b)| read_lines(buf, a, b))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    // Phase 2: which keys each signed entry will be asked about, and which
    // entries the block's checkpoint vouches for.
    let mut candidates: Vec<Vec<KeyId>> = Vec::with_capacity(lines.len());
    for l in &lines {
        match &l.kind {
            Kind::Ok { entry, .. } => {
                book.learn(entry);
                candidates.push(book.candidates(entry));
            }
            _ => candidates.push(Vec::new()),
        }
    }
    book.prune();
    let mut checkpoint = None;
    if let Some((c, through)) = checkpoint_of(&lines).filter(|_| vouching) {
        for l in &mut lines[..c] {
            if let Kind::Ok { entry, vouched, .. } = &mut l.kind {
                if matches!(entry.seal, Seal::Signed { .. })
                    && entry.seq <= through
                    && !never_vouched(entry)
                {
                    *vouched = true;
                    checkpoint = Some(c);
                }
            }
        }
    }
    // Phase 3: check the others.
    check_signatures(buf, &mut lines, &candidates, workers);
    Block {
        lines,
        candidates,
        checkpoint,
    }
}

/// Phase 3: checks, in parallel, every signed line not vouched for and not
/// checked yet under the keys predicted for it.
fn check_signatures(buf: &[u8], lines: &mut [Line], candidates: &[Vec<KeyId>], workers: usize) {
    let mut work: Vec<(&mut Line, &[KeyId])> = lines
        .iter_mut()
        .zip(candidates)
        .filter(|(l, keys)| {
            !keys.is_empty()
                && matches!(&l.kind, Kind::Ok { memo, vouched: false, .. } if memo.is_empty())
        })
        .map(|(l, keys)| (l, keys.as_slice()))
        .collect();
    parallel(&mut work, workers, |part| {
        let mut scratch = Vec::new();
        for (line, keys) in part.iter_mut() {
            let memo: Vec<(KeyId, bool)> = {
                let (Some(body), Kind::Ok { entry, .. }) =
                    (line.body(buf, &mut scratch), &line.kind)
                else {
                    continue;
                };
                let Seal::Signed { value, .. } = &entry.seal else {
                    continue;
                };
                keys.iter().map(|k| (*k, k.verifies(body, value))).collect()
            };
            if let Kind::Ok { memo: m, .. } = &mut line.kind {
                *m = memo;
            }
        }
    });
}

/// Phase 4's state, carried from block to block (copied before a
/// speculative run).
#[derive(Clone)]
struct State<'a> {
    report: VerifyReport,
    auth: trust::Authenticator,
    prev_time: Option<i64>,
    prev_hash: String,
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
