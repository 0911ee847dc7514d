//! The status of a vault (`breakglass status`): its obligations (rotation,
//! review, drills) and their deadlines, custodians, sessions and the log's
//! standing, computed by [`super::Tracker`] in one pass over the verified
//! log (see the rules in [`super`]).

use serde_json::{json, Value};

use super::{receipt, ForgedList, Grant, LastDrill, Tracker};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::manifest::LogHead;
use crate::vault::Vault;

/// Kinds of obligation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObligationKind {
    /// Reseal after an activation.
    Rotation,
    /// Post-incident review after an activation.
    Review,
    /// Yearly custodian drill.
    Drill,
}

impl ObligationKind {
    /// Name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            ObligationKind::Rotation => "rotation",
            ObligationKind::Review => "review",
            ObligationKind::Drill => "drill",
        }
    }
}

/// One open obligation (fulfilled ones are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    /// What is due.
    pub kind: ObligationKind,
    /// The activation it follows (rotation, review).
    pub grant: Option<Grant>,
    /// The custodian it concerns (drill).
    pub custodian: Option<String>,
    /// Since when it runs.
    pub since: Timestamp,
    /// When it is due.
    pub due: Timestamp,
    /// Whether `due` has passed.
    pub overdue: bool,
}

impl Obligation {
    pub(super) fn new(
        kind: ObligationKind,
        since: Timestamp,
        within: i64,
        now: Timestamp,
        grant: Option<Grant>,
        custodian: Option<String>,
    ) -> Obligation {
        let due = since.plus(within);
        Obligation {
            kind,
            grant,
            custodian,
            since,
            due,
            overdue: now > due,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let what = match (&self.grant, &self.custodian) {
            (Some(g), _) => format!(
                "{} after unseal #{} (ticket {})",
                self.kind.as_str(),
                g.seq,
                g.ticket
            ),
            (_, Some(c)) => format!("drill of custodian {c}"),
            _ => self.kind.as_str().into(),
        };
        let state = if self.overdue { "OVERDUE" } else { "open" };
        format!("{state:<8} {what}: due {}", self.due.to_rfc3339())
    }

    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "grant": self.grant.as_ref().map(|g| g.seq),
            "ticket": self.grant.as_ref().map(|g| g.ticket.clone()),
            "custodian": self.custodian,
            "since": self.since.to_rfc3339(),
            "due": self.due.to_rfc3339(),
            "overdue": self.overdue,
        })
    }
}

/// A custodian and their last successful drill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodianStatus {
    /// Name.
    pub name: String,
    /// Last successful drill that included them.
    pub last_drill: Option<LastDrill>,
}

/// The vault's governance status.
#[derive(Debug, Clone)]
pub struct Status {
    /// Time of evaluation.
    pub now: Timestamp,
    /// Vault id.
    pub vault_id: String,
    /// Current generation.
    pub generation: u64,
    /// Threshold.
    pub threshold: u8,
    /// Current custodians with their last drill.
    pub custodians: Vec<CustodianStatus>,
    /// Last reseal: time, log seq, generation it was logged under.
    pub last_rotation: Option<(Timestamp, u64, u64)>,
    /// When the vault was created.
    pub created: Option<Timestamp>,
    /// Log head.
    pub head: Option<LogHead>,
    /// Entries verified.
    pub log_entries: u64,
    /// Whether the log verified (chain and anchor).
    pub log_intact: bool,
    /// What is wrong with the log (empty when intact).
    pub log_problem: String,
    /// Activations seen.
    pub activations: u64,
    /// Sessions granted and never ended.
    pub open_sessions: Vec<Grant>,
    /// Open obligations, soonest due first.
    pub obligations: Vec<Obligation>,
    /// The vault fingerprint.
    pub fingerprint: String,
    /// Governance entries that do not count (forged or unsigned).
    pub forged: ForgedList,
    /// Entries signed by a quorum.
    pub quorum_signed: u64,
    /// Entries signed by a custodian's token.
    pub custodian_signed: u64,
    /// Entries after the last signed one (anyone could have appended them).
    pub unsigned_after_last_signature: u64,
    /// The seq of the newest receipt a ceremony checked (`receipt-checked`).
    pub last_receipt_checked: Option<u64>,
    /// The receipt given with `--expect-receipt` and what it found.
    pub receipt: Option<ReceiptStatus>,
    /// Remote presentations (quorum-signed entries only).
    pub remote: super::remote::RemoteStatus,
}

/// A receipt checked by `status --expect-receipt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptStatus {
    /// The receipt's seq.
    pub seq: u64,
    /// Whether it holds.
    pub holds: bool,
    /// Explanation.
    pub explanation: String,
}

impl Status {
    /// Entries after the receipt checked now, or else after the last one a
    /// ceremony checked (None when no receipt was ever checked).
    pub fn entries_after_receipt(&self) -> Option<u64> {
        let last = self.head.as_ref().map_or(0, |h| h.seq);
        self.receipt
            .as_ref()
            .filter(|r| r.holds)
            .map(|r| r.seq)
            .or(self.last_receipt_checked)
            .map(|s| last.saturating_sub(s))
    }

    /// Obligations whose due time has passed.
    pub fn overdue(&self) -> impl Iterator<Item = &Obligation> {
        self.obligations.iter().filter(|o| o.overdue)
    }

    /// Exit code for cron: 1 when something is overdue, the log is broken,
    /// a governance entry is forged, or a given receipt does not hold.
    pub fn exit_code(&self) -> u8 {
        if !self.log_intact
            || self.overdue().next().is_some()
            || self.receipt.as_ref().is_some_and(|r| !r.holds)
        {
            1
        } else {
            0
        }
    }

    /// The machine-readable form (`status --json`).
    pub fn to_json(&self) -> Value {
        json!({
            "now": self.now.to_rfc3339(),
            "vault_id": self.vault_id,
            "generation": self.generation,
            "threshold": self.threshold,
            "created": self.created.map(|t| t.to_rfc3339()),
            "custodians": self.custodians.iter().map(|c| json!({
                "name": c.name,
                "last_drill": c.last_drill.as_ref().map(|d| json!({
                    "time": d.time.to_rfc3339(), "seq": d.seq, "kind": d.kind})),
            })).collect::<Vec<_>>(),
            "last_rotation": self.last_rotation.map(|(t, s, g)| json!({
                "time": t.to_rfc3339(), "seq": s, "generation": g})),
            "log": {
                "entries": self.log_entries,
                "intact": self.log_intact,
                "problem": if self.log_intact { Value::Null } else { Value::String(self.log_problem.clone()) },
                "head": self.head.as_ref().map(|h| json!({"seq": h.seq, "hash": h.hash})),
            },
            "activations": self.activations,
            "open_sessions": self.open_sessions.iter().map(Grant::to_json).collect::<Vec<_>>(),
            "obligations": self.obligations.iter().map(Obligation::to_json).collect::<Vec<_>>(),
            "overdue": self.overdue().count(),
            "fingerprint": self.fingerprint,
            "forged": self.forged.to_json(),
            "signatures": {"quorum": self.quorum_signed, "custodian": self.custodian_signed,
                           "unsigned_after_last_signature": self.unsigned_after_last_signature},
            "receipt": self.receipt.as_ref().map(|r| json!({"seq": r.seq, "holds": r.holds, "explanation": r.explanation})),
            "entries_after_receipt": self.entries_after_receipt(),
            "remote": self.remote.to_json(),
        })
    }
}

/// How long `status --incremental` goes on from a verified prefix before
/// it reads the log from the first byte again (an edit inside the prefix
/// is found by then at the latest; `log verify` and ceremonies always read
/// everything).
pub const FULL_CHECK_EVERY_SECS: i64 = 86_400;

/// Whether state stored at `at`, after a full read at `full_at`, may be
/// resumed from at `now`: times in order (a clock set back reads the whole
/// log) and the full read less than [`FULL_CHECK_EVERY_SECS`] ago.
pub(super) fn may_resume(full_at: Timestamp, at: Timestamp, now: Timestamp) -> bool {
    full_at <= at && at <= now && now.0.saturating_sub(full_at.0) < FULL_CHECK_EVERY_SECS
}

/// The cache's name for what `status --incremental` keeps.
const PURPOSE: &str = "status";

/// What `status --incremental` keeps between runs.
#[derive(serde::Serialize, serde::Deserialize)]
struct Warm {
    resume: crate::log::Resume,
    tracker: Tracker,
    /// When the log was last read from the first byte.
    full_at: Timestamp,
    /// When this was stored (a tracker's window only moves forward).
    at: Timestamp,
    /// An entry an earlier run verified that the log no longer holds
    /// (kept until the operator removes the cache file).
    #[serde(default)]
    lost: Option<Lost>,
}

/// An entry an earlier `--incremental` run verified that the log no longer
/// holds as it was: the log was truncated, rolled back or replaced since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lost {
    /// The entry (the head of the log then).
    pub head: LogHead,
    /// When that run stored it.
    pub seen_at: Timestamp,
}

/// Removes what every `--incremental` command keeps for the log at `log`
/// (a log one of them found broken leaves nothing to go on from for any).
pub(super) fn forget_all(
    cache: &crate::cache::Cache,
    log: &std::path::Path,
) -> std::io::Result<()> {
    cache.forget(PURPOSE, log)?;
    cache.forget(super::export::PURPOSE, log)
}

/// How an incremental status was computed.
#[derive(Debug, Clone)]
pub struct Incremental {
    /// The cached prefix it went on from (None: the whole log was read).
    pub resumed_after: Option<LogHead>,
    /// When the log was last read from the first byte.
    pub fully_verified_at: Timestamp,
    /// Why the state could not be stored for next time (None: stored).
    pub not_stored: Option<String>,
    /// An entry an earlier run verified that the log no longer holds (a
    /// truncation, rollback or replacement; the status then exits 1).
    pub lost: Option<Lost>,
    /// The file that holds the state (to remove once a loss is understood).
    pub file: std::path::PathBuf,
}

impl Incremental {
    /// The machine form (`status --json --incremental`, member `log.incremental`).
    pub fn to_json(&self) -> Value {
        json!({
            "resumed_after": self.resumed_after.as_ref().map(|h| h.seq),
            "fully_verified_at": self.fully_verified_at.to_rfc3339(),
            "not_stored": self.not_stored,
            "lost": self.lost.as_ref().map(|l| json!({
                "seq": l.head.seq, "hash": l.head.hash, "seen_at": l.seen_at.to_rfc3339()})),
        })
    }

    /// One sentence on the loss, for people (None when nothing was lost).
    pub fn explain_lost(&self) -> Option<String> {
        self.lost.as_ref().map(|l| format!(
            "entry {} ({}…), verified by an --incremental run at {}, is no longer in the log: it was truncated, rolled back or replaced since; find out why (compare with the receipts in the tickets), then remove {} to accept the log as it is",
            l.head.seq,
            // (read back from the cache file: only its hex digits are shown)
            l.head.hash.chars().filter(char::is_ascii_hexdigit).take(16).collect::<String>(),
            l.seen_at.to_rfc3339(),
            self.file.display()
        ))
    }
}

/// [`status`] that reads only the entries appended since the last
/// incremental status of this vault, from state kept in `cache`, when that
/// state still fits the log (see [`crate::log::Resume`] for what it trusts)
/// and the log was read from the first byte less than
/// [`FULL_CHECK_EVERY_SECS`] ago; otherwise the whole log. Same status as
/// [`status`] in either case. No receipt: a receipt is checked on the whole log.
pub fn status_incremental(
    vault: &Vault,
    cache: &crate::cache::Cache,
    now: Timestamp,
) -> Result<(Status, Incremental)> {
    let log = std::fs::canonicalize(vault.log_path()).unwrap_or_else(|_| vault.log_path());
    let stored = cache.load::<Warm>(PURPOSE, &log);
    // Whatever its age, what was stored says which entry the log held then.
    let expected = stored
        .as_ref()
        .and_then(|w| Some((w.resume.head()?.clone(), w.at)));
    let lost_before = stored.as_ref().and_then(|w| w.lost.clone());
    let warm = stored
        .filter(|w| may_resume(w.full_at, w.at, now))
        .and_then(|w| Some((w.tracker.moved_to(now)?, w.resume, w.full_at)));
    let mut fresh = Tracker::at(now);
    let (mut warm_tracker, resume, full_at) = match warm {
        Some((t, r, f)) => (Some(t), Some(r), f),
        None => (None, None, now),
    };
    // Both trackers see what is read: which one is right is known only at
    // the end (whether the verification resumed).
    let mut at_expected: Option<bool> = None;
    let (history, next, resumed_after) =
        crate::history::read_resuming(vault, resume.as_ref(), crate::log::Reads::Chain, |e, a| {
            fresh.observe(e, a);
            if let Some(w) = warm_tracker.as_mut() {
                w.observe(e, a);
            }
            if let Some((h, _)) = expected.as_ref().filter(|(h, _)| h.seq == e.seq) {
                at_expected = Some(h.hash == e.hash);
            }
        })?;
    let (t, fully_verified_at) = match (resumed_after.is_some(), warm_tracker) {
        (true, Some(w)) => (w, full_at),
        _ => (fresh, now),
    };
    // Resumed: the entry was checked in place. Else it must have been read,
    // unless the log breaks before it (then that is what is reported).
    let holds = resumed_after.is_some() || at_expected.unwrap_or(history.report.problem.is_some());
    let lost = expected
        .filter(|_| !holds)
        .map(|(head, seen_at)| Lost { head, seen_at })
        .or(lost_before);
    // A log that does not verify leaves nothing to go on from.
    let stored = match next.filter(|_| history.report.is_intact()) {
        Some(resume) => cache.store(
            PURPOSE,
            &log,
            &Warm {
                resume,
                tracker: t.clone(),
                full_at: fully_verified_at,
                at: now,
                lost: lost.clone(),
            },
        ),
        None => forget_all(cache, &log),
    };
    let not_stored = stored.err().map(|e| {
        format!(
            "cannot update the cache in {}: {e} (the next --incremental status reads the whole log)",
            cache.dir().display()
        )
    });
    let status = t.finish(&history, now);
    Ok((
        status,
        Incremental {
            resumed_after,
            fully_verified_at,
            not_stored,
            lost,
            file: cache.path(PURPOSE, &log),
        },
    ))
}

/// Computes the status of `vault` at `now`, checking `receipt` if given, in
/// one pass over the log. Entries past a verification problem are not
/// trusted and not counted; the status then says the log is broken (exit 1).
pub fn status(vault: &Vault, receipt: Option<&receipt::Receipt>, now: Timestamp) -> Result<Status> {
    let mut t = Tracker::at(now);
    let mut watch = receipt.cloned().map(receipt::Watch::new);
    // The tracker reads members of the text (`log::Data`): no maps.
    let history = crate::history::read_with(vault, false, crate::log::Reads::Chain, |e, a| {
        t.observe(e, a);
        if let Some(w) = watch.as_mut() {
            w.observe(e);
        }
    })?;
    let mut status = t.finish(&history, now);
    if let Some(w) = watch {
        let check = w.finish(&history.report);
        status.receipt = Some(ReceiptStatus {
            seq: w.receipt().seq,
            holds: check == receipt::ReceiptCheck::Present,
            explanation: check.explain(w.receipt()),
        });
    }
    Ok(status)
}
