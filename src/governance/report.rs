//! Metrics for auditors (`breakglass report`), per calendar quarter (UTC).
//!
//! Definitions (also in `docs/governance.md`):
//!
//! * **activations**: `unseal-granted` entries whose time is in the range;
//!   attributed to the quarter of the grant. Drills are never activations.
//! * **reviewed**: activations named in the `grants` of some
//!   `review-recorded` entry (at any later time; reviews are only logged when
//!   complete). `review_share` = reviewed / activations (target 100 %).
//! * **deactivation**: time from the grant to the *next* `sealed` entry with
//!   `reason: "reseal"` (the credentials were rotated and the old shares
//!   died). Mean and max over deactivated activations; `over_target` counts
//!   those that took 4 h or more, plus those still not deactivated when the
//!   log ends whose grant is already 4 h or more before the report time
//!   (they can no longer meet the target); `not_deactivated` counts
//!   activations with no reseal yet.
//! * **outside scenarios**: activations whose reason does not start with a
//!   documented scenario tag (see [`Scenarios`]); `None` when no scenario
//!   list was given (the metric is then not computed, rather than guessed).
//! * **drills**: successful (`result: "ok"`) drills per custodian, a quorum
//!   drill counting once for each custodian it included; failed ones apart.
//! * **remote**: remote presentations ([`super::remote`]) of the
//!   quorum-signed `unseal-granted`, `sealed` and `drill` entries in the
//!   range, per quarter of the entry; the timeline's markers name them.
//!
//! Memory: per quarter counters, plus activations still waiting for their
//! reseal or review, plus (for the HTML timeline) at most
//! [`MAX_TIMELINE`] markers.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use super::{is_reseal, quarter_of, DrillFact, Grant, DEACTIVATION_TARGET_SECS};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::log::{events, Entry};
use crate::manifest::LogHead;

pub use super::remote::{RemoteReader, RemoteTally};
pub use super::scenarios::{Scenarios, MAX_SCENARIOS_FILE};
pub use super::timeline::{Detail, Marker, MarkerKind};

/// Most timeline markers kept for the HTML page (the latest ones).
pub const MAX_TIMELINE: usize = 5000;

/// Counters of one quarter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarter {
    /// Activations (unseal-granted).
    pub activations: u64,
    /// Activations with a complete review.
    pub reviewed: u64,
    /// Activations followed by a reseal.
    pub deactivated: u64,
    /// Sum of activation→reseal times of deactivated activations (s).
    pub deactivation_total_s: u64,
    /// Longest activation→reseal time (s).
    pub deactivation_max_s: u64,
    /// Activations that took (or will take) 4 h or more to deactivate.
    pub over_target: u64,
    /// Activations with no reseal yet.
    pub not_deactivated: u64,
    /// Activations outside documented scenarios (None: no scenario list).
    pub outside_scenarios: Option<u64>,
    /// Successful drills per custodian.
    pub drills: BTreeMap<String, u64>,
    /// Failed drills per custodian.
    pub drills_failed: BTreeMap<String, u64>,
    /// Remote presentations (quorum-signed entries only).
    pub remote: RemoteTally,
}

impl Quarter {
    /// Share of activations with a complete review (None without activations).
    pub fn review_share(&self) -> Option<f64> {
        (self.activations > 0).then(|| self.reviewed as f64 / self.activations as f64)
    }

    /// Mean activation→reseal time (s) over deactivated activations.
    pub fn deactivation_mean_s(&self) -> Option<f64> {
        (self.deactivated > 0).then(|| self.deactivation_total_s as f64 / self.deactivated as f64)
    }

    fn add(&mut self, o: &Quarter) {
        self.activations += o.activations;
        self.reviewed += o.reviewed;
        self.deactivated += o.deactivated;
        self.deactivation_total_s += o.deactivation_total_s;
        self.deactivation_max_s = self.deactivation_max_s.max(o.deactivation_max_s);
        self.over_target += o.over_target;
        self.not_deactivated += o.not_deactivated;
        self.outside_scenarios = match (self.outside_scenarios, o.outside_scenarios) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        for (k, v) in &o.drills {
            *self.drills.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.drills_failed {
            *self.drills_failed.entry(k.clone()).or_default() += v;
        }
        self.remote.add(&o.remote);
    }

    fn to_json(&self) -> Value {
        json!({
            "activations": self.activations,
            "reviewed": self.reviewed,
            "review_share": self.review_share(),
            "deactivated": self.deactivated,
            "deactivation_mean_s": self.deactivation_mean_s(),
            "deactivation_max_s": (self.deactivated > 0).then_some(self.deactivation_max_s),
            "over_target": self.over_target,
            "not_deactivated": self.not_deactivated,
            "outside_scenarios": self.outside_scenarios,
            "drills": self.drills,
            "drills_failed": self.drills_failed,
            "remote": self.remote.to_json(),
        })
    }
}

/// The generation a `sealed` entry made (its `generation` member; entries of
/// version 1 also carry it as their own generation).
fn sealed_generation(e: &Entry) -> u64 {
    e.data.u64_member("generation").unwrap_or(e.generation)
}

/// An activation awaiting its reseal or review.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    quarter: String,
    time: Timestamp,
}

/// Streaming collector of the report metrics.
#[derive(Debug)]
pub struct Collector {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    scenarios: Option<Scenarios>,
    quarters: BTreeMap<String, Quarter>,
    awaiting_reseal: Vec<Pending>,
    awaiting_review: BTreeMap<u64, String>,
    timeline: VecDeque<Marker>,
    timeline_dropped: u64,
    forged: super::ForgedList,
    last_time: Option<Timestamp>,
    time_regressions: u64,
    created: Option<Timestamp>,
    remote: RemoteReader,
}

impl Collector {
    /// Activations and drills with `from <= time < to` are counted.
    pub fn new(
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        scenarios: Option<Scenarios>,
    ) -> Collector {
        Collector {
            from,
            to,
            scenarios,
            quarters: BTreeMap::new(),
            awaiting_reseal: Vec::new(),
            awaiting_review: BTreeMap::new(),
            timeline: VecDeque::new(),
            timeline_dropped: 0,
            forged: super::ForgedList::default(),
            last_time: None,
            time_regressions: 0,
            created: None,
            remote: RemoteReader::new(),
        }
    }

    fn in_range(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t < to)
    }

    fn quarter(&mut self, q: &str) -> &mut Quarter {
        let with_scenarios = self.scenarios.is_some();
        self.quarters
            .entry(q.to_owned())
            .or_insert_with(|| Quarter {
                outside_scenarios: with_scenarios.then_some(0),
                ..Quarter::default()
            })
    }

    fn mark(&mut self, time: Timestamp, kind: MarkerKind, seq: u64, label: String, detail: Detail) {
        if !self.in_range(time) {
            return;
        }
        if self.timeline.len() == MAX_TIMELINE {
            self.timeline.pop_front();
            self.timeline_dropped += 1;
        }
        self.timeline.push_back(Marker {
            time,
            kind,
            seq,
            label,
            detail,
        });
    }

    /// Takes one verified entry into account (forged or unsigned governance
    /// entries are listed, never counted).
    pub fn observe(&mut self, e: &Entry, a: &crate::log::trust::Authn) {
        // A clock set back makes durations negative: count it, and clamp
        // (never silently) — the report says how many entries went back.
        if self.last_time.is_some_and(|t| e.time < t) {
            self.time_regressions += 1;
        }
        self.last_time = Some(self.last_time.map_or(e.time, |t| t.max(e.time)));
        if e.seq == 1 {
            self.created = Some(e.time);
        }
        if !self.forged.admit(e, a) {
            return;
        }
        let remote = self.remote.observe(e, a);
        if !remote.is_empty() && self.in_range(e.time) {
            self.quarter(&quarter_of(e.time))
                .remote
                .count(&e.event, &remote);
        }
        match e.event.as_str() {
            events::UNSEAL_GRANTED => {
                if !self.in_range(e.time) {
                    return;
                }
                let g = Grant::from_entry(e);
                let q = quarter_of(e.time);
                let outside = self
                    .scenarios
                    .as_ref()
                    .map(|s| s.matching(&g.reason).is_none());
                let quarter = self.quarter(&q);
                quarter.activations += 1;
                if outside == Some(true) {
                    if let Some(n) = quarter.outside_scenarios.as_mut() {
                        *n += 1;
                    }
                }
                self.awaiting_reseal.push(Pending {
                    seq: e.seq,
                    quarter: q.clone(),
                    time: e.time,
                });
                self.awaiting_review.insert(e.seq, q);
                let detail = Detail {
                    outside_scenarios: outside == Some(true),
                    remote,
                    ..Detail::of_grant(&g)
                };
                self.mark(e.time, MarkerKind::Unseal, e.seq, g.ticket, detail);
            }
            events::SEALED if is_reseal(e) => {
                for p in std::mem::take(&mut self.awaiting_reseal) {
                    let d = (e.time.0 - p.time.0).max(0) as u64;
                    let q = self.quarter(&p.quarter);
                    q.deactivated += 1;
                    q.deactivation_total_s += d;
                    q.deactivation_max_s = q.deactivation_max_s.max(d);
                    if d >= DEACTIVATION_TARGET_SECS as u64 {
                        q.over_target += 1;
                    }
                }
                let detail = Detail {
                    ticket: e.data.str_member("ticket"),
                    reason: "reseal".into(),
                    remote,
                    ..Detail::default()
                };
                let label = format!("generation {}", sealed_generation(e));
                self.mark(e.time, MarkerKind::Reseal, e.seq, label, detail);
            }
            events::SEALED if e.data.str_member("reason") == "rekey" => {
                let mut change: Vec<String> = e
                    .data
                    .strs_member("added")
                    .into_iter()
                    .map(|n| format!("+{n}"))
                    .collect();
                change.extend(
                    e.data
                        .strs_member("removed")
                        .into_iter()
                        .map(|n| format!("-{n}")),
                );
                change.extend(
                    e.data
                        .strs_member("replaced")
                        .into_iter()
                        .map(|n| format!("{n} new token")),
                );
                change.push(format!(
                    "threshold {}",
                    e.data.u64_member("threshold").unwrap_or(0)
                ));
                let detail = Detail {
                    ticket: e.data.str_member("ticket"),
                    reason: "rekey".into(),
                    custodians: e.data.strs_member("custodians"),
                    remote,
                    ..Detail::default()
                };
                let label = format!("generation {}: {}", sealed_generation(e), change.join(", "));
                self.mark(e.time, MarkerKind::Rekey, e.seq, label, detail);
            }
            events::REVIEW_RECORDED => {
                let mut named = Vec::new();
                for s in e.data.u64s_member("grants") {
                    if let Some(q) = self.awaiting_review.remove(&s) {
                        self.quarter(&q).reviewed += 1;
                    }
                    named.push(format!("#{s}"));
                }
                let detail = Detail {
                    ticket: e.data.str_member("ticket"),
                    custodians: match a {
                        crate::log::trust::Authn::Custodian { custodian, .. } => {
                            vec![custodian.clone()]
                        }
                        _ => Vec::new(),
                    },
                    ..Detail::default()
                };
                let label = format!("grants {}", named.join(" "));
                self.mark(e.time, MarkerKind::Review, e.seq, label, detail);
            }
            events::DRILL => {
                if !self.in_range(e.time) {
                    return;
                }
                let d = DrillFact::from_entry(e);
                let q = self.quarter(&quarter_of(e.time));
                let map = if d.ok {
                    &mut q.drills
                } else {
                    &mut q.drills_failed
                };
                for c in &d.custodians {
                    *map.entry(c.clone()).or_default() += 1;
                }
                let kind = if d.ok {
                    MarkerKind::Drill
                } else {
                    MarkerKind::DrillFailed
                };
                let detail = Detail {
                    reason: e.data.str_member("why"),
                    custodians: d.custodians.clone(),
                    remote,
                    ..Detail::default()
                };
                let label = format!("{} drill", d.kind);
                self.mark(e.time, kind, e.seq, label, detail);
            }
            _ => {}
        }
    }

    /// The report, with activations still awaiting a reseal judged at `now`.
    pub fn finish(self, history: &crate::history::History, now: Timestamp) -> Report {
        let log = &history.report;
        let mut r = self.finish_at(now);
        r.head = log.head.clone();
        r.log_entries = log.entries;
        r.log_intact = history.is_intact() && r.forged.count == 0;
        r.log_problem = history.explain();
        r.fingerprint = history.fingerprint();
        r
    }

    /// The report at `now`, without what the log's verification and the
    /// manifest add (head, entry count, standing, fingerprint).
    fn finish_at(mut self, now: Timestamp) -> Report {
        let not_resealed: std::collections::BTreeSet<u64> =
            self.awaiting_reseal.iter().map(|p| p.seq).collect();
        for m in self.timeline.iter_mut() {
            if m.kind == MarkerKind::Unseal {
                m.detail.unreviewed = self.awaiting_review.contains_key(&m.seq);
                m.detail.not_resealed = not_resealed.contains(&m.seq);
            }
        }
        for p in std::mem::take(&mut self.awaiting_reseal) {
            let late = now.0 - p.time.0 >= DEACTIVATION_TARGET_SECS;
            let q = self.quarter(&p.quarter);
            q.not_deactivated += 1;
            if late {
                q.over_target += 1;
            }
        }
        let mut total = Quarter {
            outside_scenarios: self.scenarios.as_ref().map(|_| 0),
            ..Quarter::default()
        };
        for q in self.quarters.values() {
            total.add(q);
        }
        Report {
            now,
            from: self.from,
            to: self.to,
            scenarios: self.scenarios,
            quarters: self.quarters,
            total,
            timeline: self.timeline.into(),
            timeline_dropped: self.timeline_dropped,
            head: None,
            log_entries: 0,
            log_intact: self.forged.count == 0,
            log_problem: String::new(),
            fingerprint: String::new(),
            created: self.created,
            time_regressions: self.time_regressions,
            forged: self.forged,
            remote_ignored: self.remote.ignored,
        }
    }
}

/// The computed report.
#[derive(Debug, Clone)]
pub struct Report {
    /// When it was computed.
    pub now: Timestamp,
    /// Range start (inclusive).
    pub from: Option<Timestamp>,
    /// Range end (exclusive).
    pub to: Option<Timestamp>,
    /// Scenario list used.
    pub scenarios: Option<Scenarios>,
    /// Per quarter (`YYYY-Qn`).
    pub quarters: BTreeMap<String, Quarter>,
    /// All quarters together.
    pub total: Quarter,
    /// Timeline markers (the latest [`MAX_TIMELINE`]).
    pub timeline: Vec<Marker>,
    /// Markers left out of the timeline (older ones).
    pub timeline_dropped: u64,
    /// Log head.
    pub head: Option<LogHead>,
    /// Entries verified.
    pub log_entries: u64,
    /// Whether the log verified.
    pub log_intact: bool,
    /// What is wrong with the log (empty when intact).
    pub log_problem: String,
    /// The vault fingerprint.
    pub fingerprint: String,
    /// When the log began (time of entry 1: vault creation or migration).
    pub created: Option<Timestamp>,
    /// Governance entries that were not counted (forged or unsigned).
    pub forged: super::ForgedList,
    /// Entries dated before their predecessor (a clock set back): the
    /// durations around them are clamped at zero, and the targets are not met.
    pub time_regressions: u64,
    /// Entries whose `remote` member was not (fully) counted.
    pub remote_ignored: super::ForgedList,
}

impl Report {
    /// The machine-readable form (`report --json`).
    pub fn to_json(&self, vault_id: &str) -> Value {
        let quarters: serde_json::Map<String, Value> = self
            .quarters
            .iter()
            .map(|(k, q)| (k.clone(), q.to_json()))
            .collect();
        json!({
            "vault_id": vault_id,
            "generated": self.now.to_rfc3339(),
            "from": self.from.map(|t| t.to_rfc3339()),
            "to": self.to.map(|t| t.to_rfc3339()),
            "targets": {"review_share": 1.0, "deactivation_s_below": DEACTIVATION_TARGET_SECS, "outside_scenarios": 0},
            "scenarios": self.scenarios.as_ref().map(|s| json!({
                "sha256": s.sha256,
                "tags": s.list.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
            })),
            "quarters": quarters,
            "total": self.total.to_json(),
            "fingerprint": self.fingerprint,
            "forged": self.forged.to_json(),
            "time_regressions": self.time_regressions,
            "remote_ignored": self.remote_ignored.to_json(),
            "remote_events": self.timeline.iter().filter(|m| !m.detail.remote.is_empty()).map(|m| json!({
                "seq": m.seq, "time": m.time.to_rfc3339(), "kind": m.kind.as_str(), "remote": m.detail.remote,
            })).collect::<Vec<_>>(),
            "log": {
                "entries": self.log_entries,
                "intact": self.log_intact,
                "problem": if self.log_intact { Value::Null } else { Value::String(self.log_problem.clone()) },
                "head": self.head.as_ref().map(|h| json!({"seq": h.seq, "hash": h.hash})),
            },
        })
    }

    /// Whether every target is met (all activations reviewed, none over 4 h,
    /// none outside documented scenarios) on an intact log with nothing forged.
    pub fn targets_met(&self) -> bool {
        let t = &self.total;
        self.log_intact
            && self.time_regressions == 0
            && t.reviewed == t.activations
            && t.over_target == 0
            && t.outside_scenarios.unwrap_or(0) == 0
    }
}

/// Computes the report for `vault` (one pass over its log).
pub fn report(
    vault: &crate::vault::Vault,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    scenarios: Option<Scenarios>,
    now: Timestamp,
) -> Result<Report> {
    let mut c = Collector::new(from, to, scenarios);
    // The collector reads members of the text (`log::Data`): no maps.
    let h = crate::history::read_with(vault, false, crate::log::Reads::Chain, |e, a| {
        c.observe(e, a)
    })?;
    Ok(c.finish(&h, now))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::remote::signed::{How, SignedLog};
    use super::*;

    fn grant(ticket: &str, custodians: &[&str], remote: Value) -> Value {
        json!({"ticket": ticket, "reason": "test", "custodians": custodians,
               "entries": ["aws-root"], "session_limit_s": 900, "request": 0, "remote": remote})
    }

    /// A history with remote presentations, signed and not.
    fn history() -> SignedLog {
        let mut l = SignedLog::new("2025-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        l.add(
            events::SHARE_ACCEPTED,
            "2025-02-01T00:00:00Z",
            json!({"custodian": "bob", "request": 2, "token": "t", "remote": true}),
            How::Unsigned,
        );
        l.add(
            events::UNSEAL_GRANTED,
            "2025-02-01T00:01:00Z",
            grant("INC-1", &["alice", "bob"], json!(["bob"])),
            How::Quorum,
        );
        // The same claims, unsigned and forged: counted for nothing.
        for how in [How::Unsigned, How::Forged] {
            l.add(
                events::UNSEAL_GRANTED,
                "2025-02-01T00:02:00Z",
                grant("INC-X", &["alice", "carol"], json!(["alice", "carol"])),
                how,
            );
        }
        l.seal(
            "2025-02-01T02:00:00Z",
            &["alice", "bob", "carol"],
            json!({"reason": "reseal", "ticket": "INC-1", "remote": ["carol"]}),
        );
        l.add(
            events::DRILL,
            "2025-05-01T00:00:00Z",
            json!({"kind": "quorum", "custodians": ["bob", "carol"], "result": "ok",
                   "request": 0, "signatures_verified": 4, "remote": ["bob", "mallory"]}),
            How::Quorum,
        );
        l
    }

    fn report_of(l: &SignedLog) -> Report {
        let mut c = Collector::new(None, None, None);
        for (e, a) in l.verified() {
            c.observe(&e, &a);
        }
        c.finish_at(Timestamp::parse("2025-06-01T00:00:00Z").unwrap())
    }

    #[test]
    fn quarters_count_remote_presentations_of_signed_entries_only() {
        let r = report_of(&history());
        let q1 = &r.quarters["2025-Q1"].remote;
        assert_eq!((q1.unseals, q1.seals, q1.drills), (1, 1, 0));
        assert_eq!(
            q1.by_custodian,
            BTreeMap::from([("bob".into(), 1), ("carol".into(), 1)])
        );
        let q2 = &r.quarters["2025-Q2"].remote;
        assert_eq!((q2.unseals, q2.seals, q2.drills), (0, 0, 1));
        assert_eq!(q2.by_custodian, BTreeMap::from([("bob".into(), 1)]));
        assert_eq!(r.total.remote.presentations(), 3);
        assert_eq!(r.total.remote.by_custodian["bob"], 2);
        assert!(!r.total.remote.by_custodian.contains_key("alice"));
        assert_eq!(r.forged.count, 2);
        // mallory, who did not present, is a finding.
        assert_eq!(r.remote_ignored.count, 1);
        assert!(r.remote_ignored.entries[0].why.contains("mallory"));
        // The markers say who was remote: the grant, the reseal, the drill.
        let remote: Vec<(MarkerKind, Vec<String>)> = r
            .timeline
            .iter()
            .filter(|m| !m.detail.remote.is_empty())
            .map(|m| (m.kind, m.detail.remote.clone()))
            .collect();
        assert_eq!(
            remote,
            vec![
                (MarkerKind::Unseal, vec!["bob".to_string()]),
                (MarkerKind::Reseal, vec!["carol".to_string()]),
                (MarkerKind::Drill, vec!["bob".to_string()]),
            ]
        );
    }

    #[test]
    fn json_has_the_remote_members() {
        let j = report_of(&history()).to_json("v");
        let t = &j["total"]["remote"];
        assert_eq!(t["unseals"], 1);
        assert_eq!(t["seals"], 1);
        assert_eq!(t["drills"], 1);
        assert_eq!(t["presentations"], 3);
        assert_eq!(t["by_custodian"], json!({"bob": 2, "carol": 1}));
        assert_eq!(
            j["quarters"]["2025-Q2"]["remote"]["by_custodian"],
            json!({"bob": 1})
        );
        assert_eq!(j["remote_ignored"]["count"], 1);
        let events = j["remote_events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["kind"], "unseal");
        assert_eq!(events[0]["remote"], json!(["bob"]));
        assert_eq!(events[0]["time"], "2025-02-01T00:01:00Z");
        assert!(events[0]["seq"].is_u64());
        assert_eq!(events[1]["kind"], "reseal");
        assert_eq!(events[2]["kind"], "drill");
    }

    #[test]
    fn html_marks_remote_presentations() {
        let r = report_of(&history());
        let page = super::super::html::render(&r, "v");
        // One R beside each of the three marks, and one in the legend.
        assert_eq!(page.matches(">R</text>").count(), 4, "{page}");
        assert!(page.contains("(remote: bob)</title>"));
        assert!(page.contains("(remote: carol)</title>"));
        assert!(page.contains("R: a custodian presented remotely"));
        assert!(page.contains("<b>R</b> beside a mark: a custodian presented remotely"));
        // Events table: the grant's and the drill's custodians, the reseal's remote.
        assert!(page.contains("<td>alice, bob <b class=\"remote\">(remote)</b></td>"));
        assert!(page.contains("<td>bob <b class=\"remote\">(remote)</b>, carol</td>"));
        assert!(page.contains("<td><b class=\"remote\">remote:</b> carol</td>"));
        // Per quarter column, and the finding.
        assert!(page.contains("<th>remote presentations</th>"));
        assert!(page.contains("bob: 1, carol: 1 (1 unseals, 1 seals, 0 drills)"));
        assert!(page.contains("mallory"));
        // The unsigned and forged claims are in no row as remote.
        assert!(!page.contains("alice <b class=\"remote\">"));
        assert!(!page.contains("INC-X"));
    }
}
