//! Governance: obligations (`status`), metrics (`report`), the SIEM export
//! and log receipts — all computed from the audit log alone (plus the
//! manifest, for the current custodian list).
//!
//! Invariant: every computation here streams the verified log once through
//! [`crate::log::verify`]'s visitor. Memory is bounded by what is still
//! *outstanding* (unfulfilled obligations, open sessions, custodians,
//! quarters), never by the number of entries, so a log of millions of
//! entries is processed in constant memory.
//!
//! Rules, stated once here and documented in `docs/governance.md`:
//!
//! * **Only what is authenticated counts** ([`authentic`]): `unseal-granted`,
//!   `session-ended`, `sealed`, `seed-revealed`, quorum drills, the root and
//!   enrollments must be signed by a quorum of their generation; a custodian
//!   drill by that custodian's token; a review by a custodian's token (a
//!   failed drill fulfils nothing, so it counts as claimed, signed or not).
//!   An entry that fails this never fulfils an obligation and never hides one;
//!   it is listed as forged, with its seq. Format 1 history (before a
//!   migration) is counted by the format 1 rules.
//! * An **activation** is an authentic `unseal-granted` entry. Drills log `drill` and
//!   `drill-requested`, never `unseal-granted`, so they are never activations.
//! * **Rotation** is due [`ROTATION_DUE_SECS`] (24 h) after each activation
//!   and is fulfilled by the next `sealed` entry with `reason: "reseal"`
//!   (one reseal fulfils every earlier activation). A `rekey` changes
//!   custodians but not the credentials, so it does not count.
//! * A **review** is due [`REVIEW_DUE_SECS`] (5 days) after each activation
//!   and is fulfilled by a `review-recorded` entry whose `grants` list names
//!   the activation's sequence number (incomplete reviews are never logged).
//! * A **drill** is due for every current custodian [`DRILL_INTERVAL_SECS`]
//!   (365 days) after their last successful drill that included them (a
//!   custodian drill of theirs, or a quorum drill listing them), or, if
//!   none, after they were enrolled (`custodian-enrolled`), or else after the
//!   vault was created.
//! * **Remote presentations** are read from the `remote` member of
//!   quorum-signed `unseal-granted`, `sealed` and `drill` entries only, never
//!   from the unsigned `share-*` lines ([`remote`]).

mod chart;
pub mod ecs;
pub mod export;
pub mod html;
pub mod ocsf;
pub mod receipt;
pub mod remote;
pub mod report;
mod scenarios;
pub mod siem;
mod status;
pub mod timeline;

pub use status::{
    status, status_incremental, CustodianStatus, Incremental, Lost, Obligation, ObligationKind,
    ReceiptStatus, Status, FULL_CHECK_EVERY_SECS,
};

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::history::History;
use crate::log::trust::Authn;
use crate::log::{events, Entry};

/// Rotation (reseal) is due this long after an activation (24 h).
pub const ROTATION_DUE_SECS: i64 = 24 * 3600;
/// A post-incident review is due this long after an activation (5 days).
pub const REVIEW_DUE_SECS: i64 = 5 * 86_400;
/// Every custodian must drill at least this often (365 days).
pub const DRILL_INTERVAL_SECS: i64 = 365 * 86_400;
/// Target time from activation to deactivation (reseal): under 4 h.
pub const DEACTIVATION_TARGET_SECS: i64 = 4 * 3600;

/// An activation (an `unseal-granted` entry), as much as governance needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    /// Sequence number of the `unseal-granted` entry.
    pub seq: u64,
    /// When access was granted.
    pub time: Timestamp,
    /// Incident ticket.
    pub ticket: String,
    /// Reason given.
    pub reason: String,
    /// Custodians whose shares opened the vault.
    pub custodians: Vec<String>,
    /// Session limit in seconds (0 if not recorded).
    pub session_limit_s: u64,
}

impl Grant {
    /// Reads a grant from an `unseal-granted` entry.
    pub fn from_entry(e: &Entry) -> Grant {
        Grant {
            seq: e.seq,
            time: e.time,
            ticket: e.data.str_member("ticket"),
            reason: e.data.str_member("reason"),
            custodians: e.data.strs_member("custodians"),
            session_limit_s: e.data.u64_member("session_limit_s").unwrap_or(0),
        }
    }

    fn to_json(&self) -> Value {
        json!({"seq": self.seq, "time": self.time.to_rfc3339(), "ticket": self.ticket,
               "reason": self.reason, "custodians": self.custodians})
    }
}

/// What a `drill` entry says: which custodians it proved, and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillFact {
    /// `custodian` or `quorum`.
    pub kind: String,
    /// Custodians the drill covered.
    pub custodians: Vec<String>,
    /// `result == "ok"`.
    pub ok: bool,
}

impl DrillFact {
    /// Reads a `drill` entry.
    pub fn from_entry(e: &Entry) -> DrillFact {
        let kind = e.data.str_member("kind");
        let custodians = if kind == "custodian" {
            vec![e.data.str_member("custodian")]
        } else {
            e.data.strs_member("custodians")
        };
        DrillFact {
            kind,
            custodians,
            ok: e.data.str_member("result") == "ok",
        }
    }
}

/// Entries listed as forged in full (more are counted).
pub const MAX_FORGED: usize = 100;

/// A governance entry that is not what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forged {
    /// Sequence number.
    pub seq: u64,
    /// Event.
    pub event: String,
    /// Why it does not count.
    pub why: String,
}

impl Forged {
    fn to_json(&self) -> Value {
        json!({"seq": self.seq, "event": self.event, "why": self.why})
    }
}

/// Forged governance entries seen: the first [`MAX_FORGED`], and a count.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForgedList {
    /// The first ones.
    pub entries: Vec<Forged>,
    /// All of them.
    pub count: u64,
}

impl ForgedList {
    /// Records `e` if it is a governance entry that is not authentic;
    /// returns whether it may be counted.
    pub fn admit(&mut self, e: &Entry, a: &Authn) -> bool {
        match authentic(e, a) {
            Ok(()) => true,
            Err(why) => {
                self.note(e, why);
                false
            }
        }
    }

    /// Records `e` with the reason it does not (fully) count.
    pub fn note(&mut self, e: &Entry, why: String) {
        self.count += 1;
        if self.entries.len() < MAX_FORGED {
            self.entries.push(Forged {
                seq: e.seq,
                event: e.event.chars().take(64).collect(),
                why,
            });
        }
    }

    /// The machine form.
    pub fn to_json(&self) -> Value {
        json!({"count": self.count, "entries": self.entries.iter().map(Forged::to_json).collect::<Vec<_>>()})
    }
}

/// Whether a governance entry is written by whom it must be (module docs).
/// Entries that no governance rule reads are always admitted.
pub fn authentic(e: &Entry, a: &Authn) -> std::result::Result<(), String> {
    if let Authn::Legacy { .. } = a {
        return Ok(());
    }
    if let Authn::Forged { why } = a {
        return Err(why.clone());
    }
    let quorum = || {
        if a.by_quorum() {
            Ok(())
        } else {
            Err(format!("is not signed by a quorum ({})", a.as_str()))
        }
    };
    match e.event.as_str() {
        events::UNSEAL_GRANTED
        | events::SESSION_ENDED
        | events::SEALED
        | events::SEED_REVEALED
        | events::VAULT_CREATED
        | events::CUSTODIAN_ENROLLED => quorum(),
        events::REVIEW_RECORDED => match a {
            Authn::Custodian { .. } => Ok(()),
            _ => Err(format!(
                "is not signed by a custodian's token ({})",
                a.as_str()
            )),
        },
        // A failed drill fulfils nothing and hides nothing: it is counted
        // as claimed even unsigned (a failure cannot be signed when the
        // token did not open; a forged one can only make things look worse).
        events::DRILL if e.data.str_member("result") != "ok" => Ok(()),
        events::DRILL if e.data.str_member("kind") == "custodian" => {
            let c = e.data.str_member("custodian");
            if a.by_custodian(&c) {
                Ok(())
            } else {
                Err(format!("is not signed by {c}'s token ({})", a.as_str()))
            }
        }
        events::DRILL => quorum(),
        _ => Ok(()),
    }
}

/// Whether a `sealed` entry is a reseal (a rotation / deactivation).
pub fn is_reseal(e: &Entry) -> bool {
    e.event == events::SEALED && e.data.str_member("reason") == "reseal"
}

/// The last successful drill of a custodian.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastDrill {
    /// When.
    pub time: Timestamp,
    /// Log entry.
    pub seq: u64,
    /// `custodian` or `quorum`.
    pub kind: String,
}

/// Streaming state for `status`: feed every verified entry to [`Tracker::observe`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Tracker {
    created: Option<Timestamp>,
    first: Option<Timestamp>,
    enrolled: BTreeMap<String, Timestamp>,
    last_drill: BTreeMap<String, LastDrill>,
    last_reseal: Option<(Timestamp, u64, u64)>,
    pending_rotation: Vec<Grant>,
    pending_review: BTreeMap<u64, Grant>,
    open_sessions: BTreeMap<u64, Grant>,
    activations: u64,
    forged: ForgedList,
    last_receipt_checked: Option<u64>,
    remote_reader: remote::RemoteReader,
    remote: remote::RemoteStatus,
}

impl Tracker {
    /// A tracker with nothing seen yet, whose 12-month window of remote
    /// presentations has no start (see [`Tracker::at`]).
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// A tracker for a status at `now`: remote presentations are also
    /// counted over the [`remote::REMOTE_WINDOW_SECS`] before it.
    pub fn at(now: Timestamp) -> Tracker {
        let mut t = Tracker::default();
        t.remote.since = Some(now.plus(-remote::REMOTE_WINDOW_SECS));
        t
    }

    /// This tracker (made by [`Tracker::at`] some earlier `then`) as made by
    /// `Tracker::at(now)` and fed the same entries: its window moved
    /// forward. None when `now` is before `then`.
    pub fn moved_to(mut self, now: Timestamp) -> Option<Tracker> {
        self.remote
            .move_window(now.plus(-remote::REMOTE_WINDOW_SECS))
            .then_some(self)
    }

    /// Takes one verified entry into account, with what the log proves
    /// about who wrote it.
    pub fn observe(&mut self, e: &Entry, a: &Authn) {
        self.first.get_or_insert(e.time);
        if !self.forged.admit(e, a) {
            return;
        }
        let remote = self.remote_reader.observe(e, a);
        self.remote.count(e, &remote);
        if e.event == events::RECEIPT_CHECKED {
            self.last_receipt_checked = e.data.u64_member("seq");
        }
        match e.event.as_str() {
            events::VAULT_CREATED => {
                self.created.get_or_insert(e.time);
            }
            events::CUSTODIAN_ENROLLED => {
                self.enrolled.insert(e.data.str_member("custodian"), e.time);
            }
            events::UNSEAL_GRANTED => {
                let g = Grant::from_entry(e);
                self.activations += 1;
                self.pending_rotation.push(g.clone());
                self.pending_review.insert(g.seq, g.clone());
                self.open_sessions.insert(g.seq, g);
            }
            events::SESSION_ENDED => {
                if let Some(s) = e.data.u64_member("grant") {
                    self.open_sessions.remove(&s);
                }
            }
            events::SEALED if is_reseal(e) => {
                self.pending_rotation.clear();
                self.last_reseal = Some((e.time, e.seq, e.generation));
            }
            events::REVIEW_RECORDED => {
                for s in e.data.u64s_member("grants") {
                    self.pending_review.remove(&s);
                }
            }
            events::DRILL => {
                let d = DrillFact::from_entry(e);
                if d.ok {
                    for c in d.custodians {
                        self.last_drill.insert(
                            c,
                            LastDrill {
                                time: e.time,
                                seq: e.seq,
                                kind: d.kind.clone(),
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// The status at `now`, for the custodians of the judged manifest.
    pub fn finish(self, history: &History, now: Timestamp) -> Status {
        let manifest = &history.manifest;
        let log = &history.report;
        let mut obligations = Vec::new();
        for g in &self.pending_rotation {
            obligations.push(Obligation::new(
                ObligationKind::Rotation,
                g.time,
                ROTATION_DUE_SECS,
                now,
                Some(g.clone()),
                None,
            ));
        }
        for g in self.pending_review.values() {
            obligations.push(Obligation::new(
                ObligationKind::Review,
                g.time,
                REVIEW_DUE_SECS,
                now,
                Some(g.clone()),
                None,
            ));
        }
        let base = self.created.or(self.first).unwrap_or(now);
        let mut custodians = Vec::new();
        for c in &manifest.custodians {
            let last = self.last_drill.get(c.name.as_str()).cloned();
            let since = last
                .as_ref()
                .map(|d| d.time)
                .or_else(|| self.enrolled.get(c.name.as_str()).copied())
                .unwrap_or(base);
            obligations.push(Obligation::new(
                ObligationKind::Drill,
                since,
                DRILL_INTERVAL_SECS,
                now,
                None,
                Some(c.name.to_string()),
            ));
            custodians.push(CustodianStatus {
                name: c.name.to_string(),
                last_drill: last,
            });
        }
        obligations.sort_by_key(|o| (o.due, o.kind));
        Status {
            now,
            vault_id: manifest.vault_id.clone(),
            generation: manifest.generation,
            threshold: manifest.threshold,
            custodians,
            last_rotation: self.last_reseal,
            created: self.created,
            head: log.head.clone(),
            log_entries: log.entries,
            log_intact: history.is_intact() && self.forged.count == 0,
            log_problem: history.explain(),
            activations: self.activations,
            open_sessions: self.open_sessions.into_values().collect(),
            obligations,
            fingerprint: manifest.fingerprint(),
            forged: self.forged,
            quorum_signed: log.trust.quorum_signed,
            custodian_signed: log.trust.custodian_signed,
            unsigned_after_last_signature: log.head.as_ref().map_or(0, |h| {
                h.seq.saturating_sub(log.trust.last_signed_seq.unwrap_or(0))
            }),
            last_receipt_checked: self.last_receipt_checked,
            receipt: None,
            remote: self.remote.ignoring(self.remote_reader.ignored),
        }
    }
}

/// `YYYY-Qn` of a time (UTC).
pub fn quarter_of(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    let year = s.get(0..4).unwrap_or("0000");
    let month: u32 = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!("{year}-Q{}", (month - 1) / 3 + 1)
}

/// Parses a `--from`/`--to` date: `YYYY-MM-DD` (midnight UTC) or RFC 3339 UTC.
pub fn parse_date(s: &str) -> std::result::Result<Timestamp, crate::clock::TimeError> {
    if s.len() == 10 {
        Timestamp::parse(&format!("{s}T00:00:00Z"))
    } else {
        Timestamp::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters() {
        let q = |s| quarter_of(Timestamp::parse(s).unwrap());
        assert_eq!(q("2025-01-01T00:00:00Z"), "2025-Q1");
        assert_eq!(q("2025-03-31T23:59:59Z"), "2025-Q1");
        assert_eq!(q("2025-04-01T00:00:00Z"), "2025-Q2");
        assert_eq!(q("2025-12-31T23:59:59Z"), "2025-Q4");
    }
}
