//! Phases 1–3 of the fast verifier over one block: lines read on the fast
//! path, the block's checkpoint found and what it vouches for marked, and
//! the other signatures checked in parallel (see [`super`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::keybook::KeyBook;
use crate::log::entry::{Entry, Seal, Signer};
use crate::log::scan::{scan, Body};
use crate::log::trust::KeyId;
use crate::log::{events, parse_line, MAX_LINE};

/// Where an entry's signed body is.
pub(super) enum BodySrc {
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
pub(super) enum Kind {
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
pub(super) struct Line {
    pub(super) start: usize,
    pub(super) len: usize,
    pub(super) kind: Kind,
}

impl Line {
    pub(super) fn vouched(&self) -> bool {
        matches!(self.kind, Kind::Ok { vouched: true, .. })
    }

    /// The signed body's bytes (into `scratch` when they are ranges).
    pub(super) fn body<'a>(&'a self, block: &[u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
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

pub(super) fn read_line(text: &[u8]) -> Kind {
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
pub(super) fn find_newline(b: &[u8]) -> Option<usize> {
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

/// Phase 1 for `block[from..to]` (which ends with `\n`); with `data`, each
/// entry's data is read into its map here.
pub(super) fn read_lines(block: &[u8], from: usize, to: usize, data: bool) -> Vec<Line> {
    // No line the writer makes is shorter than this (a line is a few
    // hundred bytes of entry), so for its lines the vector is never moved to
    // grow; a log of shorter lines costs a reallocation, never a verdict.
    const SHORTEST: usize = 256;
    let mut out = Vec::with_capacity((to - from) / SHORTEST + 1);
    let mut i = from;
    while i < to {
        let len = find_newline(&block[i..to]).unwrap_or(to - i);
        let mut kind = if len > MAX_LINE {
            // Reported by phase 4 in order; not read.
            Kind::NotUtf8
        } else {
            read_line(&block[i..i + len])
        };
        if let (true, Kind::Ok { entry, .. }) = (data, &mut kind) {
            entry.data.prepare();
        }
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
pub(super) fn parallel<T: Send, R: Send>(
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

/// Runs `f(0)`, …, `f(n - 1)` on `workers` threads, each taking the next
/// task when it is done with one (a thread the scheduler slows down holds
/// up one small task, never a fixed share); the results in task order.
pub(super) fn tasks<R: Send>(n: usize, workers: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return done;
            }
            done.push((i, f(i)));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..workers.min(n)).map(|_| s.spawn(run)).collect();
        let mut all = run();
        for h in handles {
            // A worker that panicked is a bug; re-raise it here.
            all.append(&mut h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Runs of lines per worker in phase 1.
const RUNS_PER_WORKER: usize = 4;

/// One block after phases 1–3.
pub(super) struct Block {
    pub(super) lines: Vec<Line>,
    /// The keys each line's check will ask about (phase 2).
    pub(super) candidates: Vec<Vec<KeyId>>,
    /// The checkpoint that vouches for some of `lines` (an index into them).
    pub(super) checkpoint: Option<usize>,
}

impl Block {
    /// Takes the vouching back: every signature is checked (phase 3).
    pub(super) fn unvouch(&mut self, buf: &[u8], workers: usize) {
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
pub(super) fn never_vouched(e: &Entry) -> bool {
    e.event == events::VAULT_CREATED || e.event == events::MIGRATED || e.event == events::SEALED
}

/// The last quorum entry of `lines` carrying a checkpoint, with the seq it
/// vouches through (always below its own).
pub(super) fn checkpoint_of(lines: &[Line]) -> Option<(usize, u64)> {
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
        // Read from the text: most quorum entries' data is never parsed.
        let through = entry.data.u64_member(crate::log::CHECKPOINT)?;
        (through < entry.seq).then_some((i, through))
    })
}

/// Phases 1–3 for the complete lines of `buf[..cut]` (`data`: see
/// [`read_lines`]).
pub(super) fn read_block(
    buf: &[u8],
    cut: usize,
    workers: usize,
    book: &mut KeyBook,
    vouching: bool,
    data: bool,
) -> Block {
    // Phase 1: a few runs of whole lines per worker, taken as they finish.
    let runs = if workers > 1 {
        workers * RUNS_PER_WORKER
    } else {
        1
    };
    let mut bounds = vec![0];
    for r in 1..runs {
        let at = (cut * r / runs).max(*bounds.last().unwrap_or(&0));
        let next = find_newline(&buf[at..cut]).map_or(cut, |i| at + i + 1);
        bounds.push(next);
    }
    bounds.push(cut);
    let mut parts = tasks(runs, workers, |r| {
        read_lines(buf, bounds[r], bounds[r + 1], data)
    });
    let mut lines = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in &mut parts {
        lines.append(p);
    }
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
pub(super) fn check_signatures(
    buf: &[u8],
    lines: &mut [Line],
    candidates: &[Vec<KeyId>],
    workers: usize,
) {
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
