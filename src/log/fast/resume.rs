//! Resuming a verification where an earlier one of the same log stopped.
//!
//! A [`Resume`] is the fast verifier's whole state after the last complete
//! line of a prefix that verified (chain, anchor so far, signatures): the
//! report, the [`trust::Authenticator`], the previous hash and time, and
//! where the prefix ends. Verifying from it reads only the bytes after the
//! prefix and gives the verdict a verification from the first byte would
//! give, *provided the prefix has not changed since*. That proviso is the
//! caller's to accept (`breakglass status --incremental`; see
//! [`crate::cache`]): before resuming, only the prefix's last line is read
//! again and checked against the recorded head (same bytes, same seq, same
//! hash), which catches a truncation, a rewritten or replaced file, and a
//! resume into another log, but not an edit further back. A full
//! verification (`log verify`, every ceremony) always reads everything.
//!
//! One difference is by design. A resumed verification takes no
//! checkpoint's word: it checks every signature after the prefix, as
//! `--every-signature` does (the new entries are few). A read from the
//! first byte takes a confirmed checkpoint's word for the signed entries
//! before it *in its 1 MiB block*, and a resumed read would cut its blocks
//! elsewhere. So with an honest quorum both give the same verdict; with a
//! live quorum that signed a checkpoint over an entry whose signature does
//! not hold (what checkpoints trust: SECURITY.md), a full read may count
//! that entry where a resumed one names it, never the reverse.
//!
//! Everything in a `Resume` read back is checked for consistency (counts no
//! larger than the entries, the head at the stated offset); beyond that it
//! is trusted as the verifier left it, which is why it is kept only where
//! the operator alone can write ([`crate::cache`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

use super::block::{read_line, Kind};
use super::State;
use crate::log::trust;
use crate::log::verify::{AnchorStatus, VerifyReport};
use crate::log::{LogHead, MAX_LINE};

/// Version of the [`Resume`] layout; another version is never resumed from.
const LAYOUT: u32 = 1;

/// The fast verifier's state after a prefix of a log that verified (see
/// the module). Opaque: made by a verification, given back to resume one.
#[derive(Clone, Serialize, Deserialize)]
pub struct Resume {
    layout: u32,
    /// The report over the prefix (its `trust` is in `auth`).
    report: VerifyReport,
    auth: trust::Authenticator,
    prev_time: Option<i64>,
    /// Byte offset of the prefix's last line, and of its end.
    last_start: u64,
    offset: u64,
    line_no: u64,
    /// The anchor the prefix was verified against, and whether it was in it.
    anchor: Option<LogHead>,
    anchor_found: bool,
}

impl Resume {
    /// The last entry of the prefix (what a resumed verification starts after).
    pub fn head(&self) -> Option<&LogHead> {
        self.report.head.as_ref()
    }

    /// Bytes of the log the prefix covers.
    pub fn covers(&self) -> u64 {
        self.offset
    }

    /// The vault id of the log it was made from.
    pub fn vault(&self) -> Option<&str> {
        self.report.vault.as_deref()
    }

    /// The state after `s`, if it may be resumed from: nothing wrong so far,
    /// at least one entry, not rooted in an outside key.
    pub(super) fn of(s: &State<'_>) -> Option<Resume> {
        let r = &s.report;
        let clean = r.problem.is_none() && r.anchor == AnchorStatus::NotChecked;
        if !clean || r.head.is_none() || s.auth.is_seeded() {
            return None;
        }
        let mut report = r.clone();
        report.trust = trust::Trust::default();
        // A torn final line is after `offset`: a later run reads it again.
        report.torn_tail = None;
        Some(Resume {
            layout: LAYOUT,
            report,
            auth: s.auth.clone(),
            prev_time: s.prev_time,
            last_start: s.last_start,
            offset: s.offset,
            line_no: s.line_no,
            anchor: s.anchor.cloned(),
            anchor_found: s.anchor_found,
        })
    }

    /// The state to go on from, with `file` positioned after the prefix, or
    /// None when this resume does not fit the file (module docs) or the
    /// anchor: the caller then verifies from the first byte.
    pub(super) fn fit<'a>(
        &self,
        file: &mut File,
        anchor: Option<&'a LogHead>,
    ) -> Option<State<'a>> {
        let head = self.report.head.as_ref()?;
        let line_len = self.offset.checked_sub(self.last_start)?;
        let sane = self.layout == LAYOUT
            && self.report.problem.is_none()
            && self.report.torn_tail.is_none()
            && self.report.anchor == AnchorStatus::NotChecked
            && self.report.entries == head.seq
            && self.line_no == head.seq
            && self.report.time_regression_count <= head.seq
            && (2..=MAX_LINE as u64 + 1).contains(&line_len);
        if !sane || file.metadata().ok()?.len() < self.offset {
            return None;
        }
        // The anchor: the same one, or one past the prefix (checked on the
        // new entries). One inside the prefix was never compared with it.
        let anchor_found = match (anchor, &self.anchor) {
            (a, b) if a == b.as_ref() => self.anchor_found,
            (None, _) => false,
            (Some(a), _) if a.seq > head.seq => false,
            _ => return None,
        };
        // The prefix's last line must still be there, byte for byte.
        file.seek(SeekFrom::Start(self.last_start)).ok()?;
        let mut line = vec![0u8; line_len as usize];
        file.read_exact(&mut line).ok()?;
        let (text, nl) = line.split_at(line.len() - 1);
        if nl != b"\n" {
            return None;
        }
        let Kind::Ok { entry, .. } = read_line(text) else {
            return None;
        };
        if entry.seq != head.seq || entry.hash != head.hash || self.prev_time != Some(entry.time.0)
        {
            return None;
        }
        let mut auth = self.auth.clone();
        if !auth.reindex(head.seq) || auth.is_seeded() {
            return None;
        }
        Some(State {
            report: self.report.clone(),
            auth,
            prev_time: self.prev_time,
            prev_hash: head.hash.clone(),
            last_start: self.last_start,
            offset: self.offset,
            line_no: self.line_no,
            anchor,
            anchor_found,
            scratch: Vec::new(),
        })
    }
}
