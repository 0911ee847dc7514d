//! Remote presentations (`docs/remote.md`, "Log entries"): which custodians
//! presented their share from elsewhere, read from the `remote` member of
//! the quorum-signed `unseal-granted`, `sealed` and `drill` entries.
//!
//! Invariants:
//!
//! * **Only quorum-signed entries count** ([`Authn::Quorum`]). The unsigned
//!   `share-requested` / `share-accepted` / `share-rejected` lines (with
//!   `remote: true`) are never counted: anyone with write access to the log
//!   can append them. A `remote` member on an unsigned, forged or format 1
//!   entry counts for nothing either.
//! * **Only names that presented count**: a `remote` member that is not a
//!   list of valid custodian names ([`crate::names`]) is ignored as a whole;
//!   a listed name is counted only when it is among the entry's own
//!   `custodians` (whose shares opened it: `unseal-granted`, `drill`) and
//!   among the custodians of the generation that wrote it (`sealed` entries
//!   name the *new* roster in `custodians`, so for them only the writing
//!   generation's roster applies); a name listed twice counts once. Every
//!   such problem is noted in [`RemoteReader::ignored`], never a panic.
//! * One pass, bounded memory: the reader keeps the rosters of the newest
//!   [`ROSTERS`] certified generations, and a [`RemoteTally`] one counter
//!   per custodian name that was counted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{DrillFact, ForgedList};
use crate::clock::Timestamp;
use crate::log::trust::Authn;
use crate::log::{events, Entry};

/// Most names a `remote` member may list (one share per custodian, at most 255).
pub const MAX_REMOTE: usize = 255;
/// Rosters of certified generations kept (the one writing, and its successor).
pub const ROSTERS: usize = 2;
/// `status` counts remote presentations of this many seconds before now (365 days).
pub const REMOTE_WINDOW_SECS: i64 = 365 * 86_400;
/// Names quoted in one finding (more are counted).
const NAMES_QUOTED: usize = 5;

fn quoted(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(NAMES_QUOTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_QUOTED {
        s.push_str(&format!(" and {} more", names.len() - NAMES_QUOTED));
    }
    s
}

/// Reads the `remote` member of every verified entry, in log order, and
/// says which custodians count as having presented remotely (module docs).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RemoteReader {
    /// (generation, custodians) from quorum-signed certificates, oldest first.
    rosters: Vec<(u64, Vec<String>)>,
    /// Entries whose `remote` member was not (fully) counted, and why.
    pub ignored: ForgedList,
}

impl RemoteReader {
    /// Nothing seen yet.
    pub fn new() -> RemoteReader {
        RemoteReader::default()
    }

    /// The roster of generation `g`, if a certificate of it was seen.
    fn roster(&self, g: u64) -> Option<&[String]> {
        self.rosters
            .iter()
            .find(|(r, _)| *r == g)
            .map(|(_, c)| c.as_slice())
    }

    /// Remembers the roster a quorum-signed `sealed` entry certifies.
    fn certify(&mut self, e: &Entry) {
        let Some(g) = e.data.u64_member("generation") else {
            return;
        };
        self.rosters.retain(|(r, _)| *r != g);
        self.rosters.push((g, e.data.strs_member("custodians")));
        self.rosters.sort_by_key(|(r, _)| *r);
        if self.rosters.len() > ROSTERS {
            self.rosters.remove(0);
        }
    }

    /// The custodians counted as having presented remotely for `e` (sorted,
    /// once each): empty unless `e` is a quorum-signed `unseal-granted`,
    /// `sealed` or `drill` entry with a valid `remote` member. Feed every
    /// verified entry, in order (certificates give the rosters).
    pub fn observe(&mut self, e: &Entry, a: &Authn) -> Vec<String> {
        if !matches!(a, Authn::Quorum) {
            return Vec::new();
        }
        let presenters = match e.event.as_str() {
            events::UNSEAL_GRANTED => Some(e.data.strs_member("custodians")),
            events::DRILL => Some(DrillFact::from_entry(e).custodians),
            events::SEALED => None,
            _ => return Vec::new(),
        };
        if e.event == events::SEALED {
            // The root of a vault (or of a migration) certifies its own
            // generation: its roster is known from this very entry.
            let own = e.data.u64_member("generation") == Some(e.generation);
            let before = self.roster(e.generation).map(<[String]>::to_vec);
            self.certify(e);
            let roster = if own {
                self.roster(e.generation).map(<[String]>::to_vec)
            } else {
                before
            };
            return self.validate(e, None, roster.as_deref());
        }
        let roster = self.roster(e.generation).map(<[String]>::to_vec);
        self.validate(e, presenters.as_deref(), roster.as_deref())
    }

    fn validate(
        &mut self,
        e: &Entry,
        presenters: Option<&[String]>,
        roster: Option<&[String]>,
    ) -> Vec<String> {
        let Some(v) = e.data.member("remote") else {
            return Vec::new();
        };
        let listed = match v.as_array() {
            Some(a) if a.len() <= MAX_REMOTE => a
                .iter()
                .map(|n| n.as_str().filter(|n| crate::names::is_valid(n)))
                .collect::<Option<Vec<&str>>>(),
            _ => None,
        };
        let Some(listed) = listed else {
            self.ignored.note(
                e,
                format!("has a remote member that is not a list of at most {MAX_REMOTE} custodian names: not counted"),
            );
            return Vec::new();
        };
        let unique: BTreeSet<&str> = listed.iter().copied().collect();
        if unique.len() < listed.len() {
            self.ignored
                .note(e, "lists a remote custodian twice: counted once".into());
        }
        if presenters.is_none() && roster.is_none() {
            self.ignored.note(
                e,
                format!(
                    "lists remote custodians, but no certificate of generation {} names its custodians: not counted",
                    e.generation
                ),
            );
            return Vec::new();
        }
        let (mut counted, mut strangers) = (Vec::new(), Vec::new());
        for n in unique {
            let presented = presenters.is_none_or(|p| p.iter().any(|c| c == n));
            let of_generation = roster.is_none_or(|r| r.iter().any(|c| c == n));
            if presented && of_generation {
                counted.push(n.to_owned());
            } else {
                strangers.push(n.to_owned());
            }
        }
        if !strangers.is_empty() {
            let whom = if presenters.is_some() {
                "who presented".to_string()
            } else {
                format!("of generation {}", e.generation)
            };
            self.ignored.note(
                e,
                format!(
                    "lists as remote {}, not among the custodians {whom}: not counted",
                    quoted(&strangers)
                ),
            );
        }
        counted
    }
}

/// Remote presentations counted over some entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteTally {
    /// Activations (`unseal-granted`) with at least one remote custodian.
    pub unseals: u64,
    /// `sealed` entries (reseals, rekeys) with at least one remote custodian.
    pub seals: u64,
    /// Quorum drills (passed or failed) with at least one remote custodian.
    pub drills: u64,
    /// Remote presentations per custodian: one per entry that counts them.
    pub by_custodian: BTreeMap<String, u64>,
}

impl RemoteTally {
    /// Counts the custodians `remote` (from [`RemoteReader::observe`]) of an
    /// `event` entry; returns whether it counted anything.
    pub fn count(&mut self, event: &str, remote: &[String]) -> bool {
        if remote.is_empty() {
            return false;
        }
        match event {
            events::UNSEAL_GRANTED => self.unseals += 1,
            events::SEALED => self.seals += 1,
            events::DRILL => self.drills += 1,
            _ => return false,
        }
        for n in remote {
            *self.by_custodian.entry(n.clone()).or_default() += 1;
        }
        true
    }

    /// All remote presentations.
    pub fn presentations(&self) -> u64 {
        self.by_custodian.values().sum()
    }

    /// Adds `o`'s counts.
    pub fn add(&mut self, o: &RemoteTally) {
        self.unseals += o.unseals;
        self.seals += o.seals;
        self.drills += o.drills;
        for (k, v) in &o.by_custodian {
            *self.by_custodian.entry(k.clone()).or_default() += v;
        }
    }

    /// `name:N name:N` (or `—`).
    pub fn per_custodian(&self, sep: &str, between: &str) -> String {
        if self.by_custodian.is_empty() {
            return "—".into();
        }
        self.by_custodian
            .iter()
            .map(|(k, v)| format!("{k}{sep}{v}"))
            .collect::<Vec<_>>()
            .join(between)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        format!(
            "{} unseals, {} seals, {} drills with a remote custodian; {} presentations ({})",
            self.unseals,
            self.seals,
            self.drills,
            self.presentations(),
            self.per_custodian(" ", ", ")
        )
    }

    /// The machine form: `unseals`, `seals`, `drills`, `presentations`, `by_custodian`.
    pub fn to_json(&self) -> Value {
        json!({"unseals": self.unseals, "seals": self.seals, "drills": self.drills,
               "presentations": self.presentations(), "by_custodian": self.by_custodian})
    }
}

/// Remote presentations for `status`: the last 12 months and all time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteStatus {
    /// Start of the window (`now` − [`REMOTE_WINDOW_SECS`]; None: no bound).
    pub since: Option<Timestamp>,
    /// Entries dated at or after `since`.
    pub last_12_months: RemoteTally,
    /// Every entry.
    pub all_time: RemoteTally,
    /// Entries whose `remote` member was not (fully) counted.
    pub ignored: ForgedList,
    /// What `last_12_months` counted, as (time, event, custodians), when
    /// the window has a start: so that it can move ([`Self::move_window`]).
    window: Vec<(Timestamp, String, Vec<String>)>,
}

impl RemoteStatus {
    /// Counts one entry's remote custodians.
    pub fn count(&mut self, e: &Entry, remote: &[String]) {
        self.all_time.count(&e.event, remote);
        if self.since.is_none_or(|s| e.time >= s)
            && self.last_12_months.count(&e.event, remote)
            && self.since.is_some()
        {
            self.window.push((e.time, e.event.clone(), remote.to_vec()));
        }
    }

    /// This status with `ignored` as the entries not (fully) counted.
    pub fn ignoring(self, ignored: ForgedList) -> RemoteStatus {
        RemoteStatus { ignored, ..self }
    }

    /// Moves the window's start forward to `since`, dropping what falls
    /// out of it; false (nothing changed) when the window has no start or
    /// `since` is before it.
    pub fn move_window(&mut self, since: Timestamp) -> bool {
        if self.since.is_none_or(|s| since < s) {
            return false;
        }
        self.since = Some(since);
        self.window.retain(|(t, ..)| *t >= since);
        self.last_12_months = RemoteTally::default();
        for (_, event, remote) in &self.window {
            self.last_12_months.count(event, remote);
        }
        true
    }

    /// The machine form (`status --json` member `remote`).
    pub fn to_json(&self) -> Value {
        let mut window = self.last_12_months.to_json();
        if let Some(o) = window.as_object_mut() {
            o.insert("since".into(), self.since.map(|t| t.to_rfc3339()).into());
        }
        json!({"last_12_months": window, "all_time": self.all_time.to_json(),
               "ignored": self.ignored.to_json()})
    }
}

/// A real signed log for unit tests: lines made by [`crate::log::Log::build_line`]
/// (quorum entries signed by the generation key, a certificate per seal) and
/// read back through [`crate::log::verify`], so every entry comes with the
/// [`Authn`] the verifier gives it.
#[cfg(test)]
pub(crate) mod signed {
    use serde_json::{json, Map, Value};

    use crate::clock::Timestamp;
    use crate::log::trust::Authn;
    use crate::log::{events, By, Entry, Log};
    use crate::manifest::LogHead;
    use crate::sign::SigningKey;

    const VAULT: &str = "00112233445566778899aabbccddeeff";

    /// How an entry is signed.
    #[derive(Clone, Copy)]
    pub enum How {
        /// By the quorum of the current generation.
        Quorum,
        /// Not at all.
        Unsigned,
        /// Claims a quorum, signed by a key nobody certified.
        Forged,
        /// By the quorum of the generation before the current one (dead).
        Dead,
    }

    fn key(g: u64) -> SigningKey {
        let mut seed = [0x5a; 32];
        seed[..8].copy_from_slice(&g.to_le_bytes());
        SigningKey::from_seed(&seed)
    }

    /// A log being built (in memory), then verified.
    pub struct SignedLog {
        text: String,
        head: Option<LogHead>,
        /// The generation entries are written under.
        pub generation: u64,
    }

    /// Event data from a JSON object.
    pub fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    impl SignedLog {
        /// `vault-created` and the `sealed` entry certifying generation 1
        /// with `custodians`, at `t0`.
        pub fn new(t0: &str, custodians: &[&str]) -> SignedLog {
            let mut l = SignedLog {
                text: String::new(),
                head: None,
                generation: 1,
            };
            let root = json!({"genesis_key": key(1).public().to_hex(), "format": 2,
                              "threshold": 2, "custodians": custodians});
            l.add(events::VAULT_CREATED, t0, root, How::Quorum);
            l.certify(t0, 1, custodians, json!({"reason": "init"}));
            l
        }

        /// Appends an entry; returns its seq.
        pub fn add(&mut self, event: &str, time: &str, d: Value, how: How) -> u64 {
            let time = Timestamp::parse(time).expect("time");
            let log = Log::at_head(std::path::Path::new("log.jsonl"), VAULT, self.head.take());
            let (g, d) = (self.generation, data(d));
            let (quorum, forged, dead) = (key(g), SigningKey::from_seed(&[9; 32]), key(g - 1));
            let by = match how {
                How::Quorum => By::Quorum(&quorum),
                How::Unsigned => By::Nobody,
                How::Forged => By::Quorum(&forged),
                How::Dead => By::Quorum(&dead),
            };
            let eg = if matches!(how, How::Dead) { g - 1 } else { g };
            let (line, head) = log.build_line(event, eg, d, time, by).expect("line");
            self.text.push_str(&line);
            let seq = head.seq;
            self.head = Some(head);
            seq
        }

        fn certify(&mut self, time: &str, g: u64, custodians: &[&str], mut d: Value) {
            let o = d.as_object_mut().expect("object");
            o.insert("generation".into(), g.into());
            o.insert("signing_key".into(), key(g).public().to_hex().into());
            o.insert("manifest_digest".into(), "ab".repeat(32).into());
            o.insert("payload_digest".into(), "cd".repeat(32).into());
            o.insert("threshold".into(), 2.into());
            o.insert("custodians".into(), json!(custodians));
            o.insert("signers".into(), json!({}));
            self.add(events::SEALED, time, d, How::Quorum);
        }

        /// A `sealed` entry (members `d`) certifying the next generation
        /// with `custodians`; later entries are written under it.
        pub fn seal(&mut self, time: &str, custodians: &[&str], d: Value) -> u64 {
            let g = self.generation + 1;
            self.certify(time, g, custodians, d);
            self.generation = g;
            self.head.as_ref().map_or(0, |h| h.seq)
        }

        /// The entries, with what the verifier says about their signatures.
        pub fn verified(&self) -> Vec<(Entry, Authn)> {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("log.jsonl");
            std::fs::write(&path, &self.text).expect("write log");
            let mut out = Vec::new();
            let report = crate::log::verify(&path, None, |e, a| out.push((e.clone(), a.clone())))
                .expect("verify");
            assert!(report.problem.is_none(), "{:?}", report.problem);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::signed::{How, SignedLog};
    use super::*;
    use crate::governance::Tracker;

    fn grant(custodians: &[&str], remote: Value) -> Value {
        json!({"ticket": "INC-1", "reason": "test", "custodians": custodians,
               "entries": ["aws-root"], "session_limit_s": 900, "request": 0, "remote": remote})
    }

    fn quorum_drill(custodians: &[&str], remote: Value) -> Value {
        json!({"kind": "quorum", "custodians": custodians, "result": "ok", "request": 0,
               "signatures_verified": 3, "remote": remote})
    }

    /// What the reader counts for each entry (seq → names), and its findings.
    fn read(l: &SignedLog) -> (BTreeMap<u64, Vec<String>>, RemoteTally, ForgedList) {
        let mut r = RemoteReader::new();
        let (mut by_seq, mut tally) = (BTreeMap::new(), RemoteTally::default());
        for (e, a) in l.verified() {
            let names = r.observe(&e, &a);
            tally.count(&e.event, &names);
            if !names.is_empty() {
                by_seq.insert(e.seq, names);
            }
        }
        (by_seq, tally, r.ignored)
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn remote_of_quorum_signed_grants_seals_and_drills_is_counted() {
        let mut l = SignedLog::new("2025-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        let g = l.add(
            events::UNSEAL_GRANTED,
            "2025-02-01T00:00:00Z",
            grant(&["alice", "bob"], json!(["bob"])),
            How::Quorum,
        );
        let d = l.add(
            events::DRILL,
            "2025-03-01T00:00:00Z",
            quorum_drill(&["bob", "carol"], json!(["carol", "bob"])),
            How::Quorum,
        );
        // A reseal: `custodians` is the new roster; the remote custodian is
        // judged against the roster of the generation that wrote it.
        let s = l.seal(
            "2025-03-02T00:00:00Z",
            &["alice", "bob", "carol"],
            json!({"reason": "reseal", "remote": ["alice"]}),
        );
        let g2 = l.add(
            events::UNSEAL_GRANTED,
            "2025-04-01T00:00:00Z",
            grant(&["alice", "carol"], json!(["carol"])),
            How::Quorum,
        );
        // A rekey removing bob, who presented remotely: he is of the old
        // generation, so he counts although the new roster lacks him.
        let k = l.seal(
            "2025-05-01T00:00:00Z",
            &["alice", "carol"],
            json!({"reason": "rekey", "removed": ["bob"], "remote": ["bob"]}),
        );
        let (by_seq, tally, ignored) = read(&l);
        assert_eq!(by_seq[&g], names(&["bob"]));
        assert_eq!(by_seq[&d], names(&["bob", "carol"]));
        assert_eq!(by_seq[&s], names(&["alice"]));
        assert_eq!(by_seq[&g2], names(&["carol"]));
        assert_eq!(by_seq[&k], names(&["bob"]));
        assert_eq!(by_seq.len(), 5);
        assert_eq!((tally.unseals, tally.seals, tally.drills), (2, 2, 1));
        assert_eq!(tally.presentations(), 6);
        assert_eq!(
            tally.by_custodian,
            BTreeMap::from([("alice".into(), 1), ("bob".into(), 3), ("carol".into(), 2)])
        );
        assert_eq!(ignored.count, 0, "{:?}", ignored.entries);
    }

    #[test]
    fn remote_of_unsigned_forged_or_dead_entries_is_not_counted() {
        let mut l = SignedLog::new("2025-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        for how in [How::Unsigned, How::Forged] {
            l.add(
                events::UNSEAL_GRANTED,
                "2025-02-01T00:00:00Z",
                grant(&["alice", "bob"], json!(["bob"])),
                how,
            );
            l.add(
                events::DRILL,
                "2025-02-02T00:00:00Z",
                quorum_drill(&["alice", "bob"], json!(["alice"])),
                how,
            );
            l.add(
                events::SEALED,
                "2025-02-03T00:00:00Z",
                json!({"reason": "reseal", "remote": ["alice"]}),
                how,
            );
        }
        l.seal(
            "2025-03-01T00:00:00Z",
            &["alice", "bob", "carol"],
            json!({"reason": "reseal"}),
        );
        // Generation 1 is dead now: its key signs nothing that counts.
        l.add(
            events::UNSEAL_GRANTED,
            "2025-03-02T00:00:00Z",
            grant(&["alice", "bob"], json!(["bob"])),
            How::Dead,
        );
        let entries = l.verified();
        let auths: Vec<&str> = entries.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(auths.iter().filter(|a| **a == "unsigned").count(), 3);
        assert_eq!(auths.iter().filter(|a| **a == "forged").count(), 4);
        let (by_seq, tally, ignored) = read(&l);
        assert!(by_seq.is_empty(), "{by_seq:?}");
        assert_eq!(tally, RemoteTally::default());
        assert_eq!(ignored.count, 0);
        // Nor through the status tracker (which lists them as forged).
        let mut t = Tracker::new();
        for (e, a) in &entries {
            t.observe(e, a);
        }
        assert_eq!(t.remote.all_time, RemoteTally::default());
        assert_eq!(t.forged.count, 7);
    }

    #[test]
    fn share_lines_with_remote_true_never_count() {
        let mut l = SignedLog::new("2025-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        let share = |c: &str| {
            json!({"custodian": c, "request": 3, "token": "t", "remote": true,
                   "channel": "phone", "response": "ab".repeat(32)})
        };
        for how in [How::Unsigned, How::Quorum] {
            l.add(
                events::SHARE_REQUESTED,
                "2025-02-01T00:00:00Z",
                share("bob"),
                how,
            );
            l.add(
                events::SHARE_ACCEPTED,
                "2025-02-01T00:01:00Z",
                share("bob"),
                how,
            );
            l.add(
                events::SHARE_REJECTED,
                "2025-02-01T00:02:00Z",
                share("carol"),
                how,
            );
            // Even a list in a share line: only granted/sealed/drill count.
            l.add(
                events::SHARE_ACCEPTED,
                "2025-02-01T00:03:00Z",
                json!({"custodian": "bob", "custodians": ["bob"], "remote": ["bob"]}),
                how,
            );
        }
        // The grant itself lists nobody remote.
        l.add(
            events::UNSEAL_GRANTED,
            "2025-02-01T00:05:00Z",
            grant(&["alice", "bob"], json!([])),
            How::Quorum,
        );
        let (by_seq, tally, ignored) = read(&l);
        assert!(by_seq.is_empty(), "{by_seq:?}");
        assert_eq!(tally, RemoteTally::default());
        assert_eq!(ignored.count, 0);
    }

    #[test]
    fn malformed_or_foreign_remote_members_are_findings_never_counts() {
        let mut l = SignedLog::new("2025-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        let many: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        let bad = [
            json!("bob"),
            json!(true),
            json!(null),
            json!({"bob": true}),
            json!([1]),
            json!([["bob"]]),
            json!(["Bob"]),
            json!(["bob", "not a name"]),
            json!(["b\u{202e}ob"]),
            json!(many),
        ];
        for r in &bad {
            l.add(
                events::UNSEAL_GRANTED,
                "2025-02-01T00:00:00Z",
                grant(&["alice", "bob"], r.clone()),
                How::Quorum,
            );
        }
        // mallory never presented; carol is a custodian but did not present.
        let partly = l.add(
            events::UNSEAL_GRANTED,
            "2025-02-02T00:00:00Z",
            grant(&["alice", "bob"], json!(["mallory", "bob", "carol"])),
            How::Quorum,
        );
        let twice = l.add(
            events::DRILL,
            "2025-02-03T00:00:00Z",
            quorum_drill(&["alice", "bob"], json!(["alice", "alice"])),
            How::Quorum,
        );
        // A seal naming someone outside the generation writing it.
        let stranger = l.seal(
            "2025-02-04T00:00:00Z",
            &["alice", "bob", "dave"],
            json!({"reason": "rekey", "added": ["dave"], "remote": ["dave"]}),
        );
        let (by_seq, tally, ignored) = read(&l);
        assert_eq!(by_seq.len(), 2, "{by_seq:?}");
        assert_eq!(by_seq[&partly], names(&["bob"]));
        assert_eq!(by_seq[&twice], names(&["alice"]));
        assert_eq!(tally.presentations(), 2);
        assert_eq!((tally.unseals, tally.seals, tally.drills), (1, 0, 1));
        // null is a member too: every bad one is a finding.
        assert_eq!(ignored.count, bad.len() as u64 + 3, "{:?}", ignored.entries);
        let why = |seq: u64| {
            ignored
                .entries
                .iter()
                .find(|f| f.seq == seq)
                .map(|f| f.why.clone())
                .unwrap_or_default()
        };
        assert!(why(partly).contains("carol, mallory"), "{}", why(partly));
        assert!(why(twice).contains("twice"), "{}", why(twice));
        assert!(why(stranger).contains("dave"), "{}", why(stranger));
        assert!(why(stranger).contains("generation 1"), "{}", why(stranger));
    }

    #[test]
    fn status_counts_the_last_12_months_and_all_time() {
        let mut l = SignedLog::new("2023-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        l.add(
            events::UNSEAL_GRANTED,
            "2023-06-01T00:00:00Z",
            grant(&["alice", "bob"], json!(["bob"])),
            How::Quorum,
        );
        l.add(
            events::UNSEAL_GRANTED,
            "2025-03-01T00:00:00Z",
            grant(&["alice", "carol"], json!(["alice", "carol"])),
            How::Quorum,
        );
        l.add(
            events::UNSEAL_GRANTED,
            "2025-03-02T00:00:00Z",
            grant(&["alice", "carol"], json!([])),
            How::Quorum,
        );
        let now = Timestamp::parse("2025-06-01T00:00:00Z").unwrap();
        let mut t = Tracker::at(now);
        for (e, a) in l.verified() {
            t.observe(&e, &a);
        }
        let r = &t.remote;
        assert_eq!(r.since, Some(now.plus(-REMOTE_WINDOW_SECS)));
        assert_eq!(r.all_time.unseals, 2);
        assert_eq!(r.all_time.presentations(), 3);
        assert_eq!(r.last_12_months.unseals, 1);
        assert_eq!(
            r.last_12_months.by_custodian,
            BTreeMap::from([("alice".into(), 1), ("carol".into(), 1)])
        );
        let j = r.to_json();
        assert_eq!(j["last_12_months"]["since"], "2024-06-01T00:00:00Z");
        assert_eq!(j["last_12_months"]["unseals"], 1);
        assert_eq!(j["last_12_months"]["presentations"], 2);
        assert_eq!(j["all_time"]["by_custodian"]["bob"], 1);
        for k in [
            "unseals",
            "seals",
            "drills",
            "presentations",
            "by_custodian",
        ] {
            assert!(j["all_time"].get(k).is_some(), "{k}");
            assert!(j["last_12_months"].get(k).is_some(), "{k}");
        }
        assert_eq!(j["ignored"]["count"], 0);
        assert!(j["ignored"]["entries"].is_array());
    }

    /// A tracker made at `then` and moved to `now` (what `status
    /// --incremental` resumes with) is the tracker made at `now`, at every
    /// step of the window past the entries; it never moves backwards.
    #[test]
    fn a_moved_window_counts_what_a_window_made_then_counts() {
        let mut l = SignedLog::new("2023-01-01T00:00:00Z", &["alice", "bob", "carol"]);
        for (time, remote) in [
            ("2023-06-01T00:00:00Z", json!(["alice"])),
            ("2024-02-01T00:00:00Z", json!(["alice", "carol"])),
            ("2024-09-01T00:00:00Z", json!(["carol"])),
            ("2025-03-01T00:00:00Z", json!([])),
        ] {
            l.add(
                events::UNSEAL_GRANTED,
                time,
                grant(&["alice", "carol"], remote),
                How::Quorum,
            );
        }
        let fed = |mut t: Tracker| {
            for (e, a) in l.verified() {
                t.observe(&e, &a);
            }
            t
        };
        let then = Timestamp::parse("2024-03-01T00:00:00Z").unwrap();
        let made_then = fed(Tracker::at(then));
        assert_eq!(made_then.remote.last_12_months.presentations(), 4);
        for later in [
            "2024-03-01T00:00:00Z",
            "2024-06-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
            "2025-02-02T00:00:00Z",
            "2025-09-02T00:00:00Z",
            "2030-01-01T00:00:00Z",
        ] {
            let now = Timestamp::parse(later).unwrap();
            let moved = made_then.clone().moved_to(now).expect("forward");
            let made_now = fed(Tracker::at(now));
            assert_eq!(moved.remote, made_now.remote, "{later}");
        }
        assert_eq!(
            fed(Tracker::at(
                Timestamp::parse("2030-01-01T00:00:00Z").unwrap()
            ))
            .remote
            .last_12_months
            .presentations(),
            0
        );
        let earlier = Timestamp::parse("2024-02-29T23:59:59Z").unwrap();
        assert!(made_then.clone().moved_to(earlier).is_none());
        // A tracker with no window (report) has nothing to move.
        assert!(fed(Tracker::new()).moved_to(then).is_none());
    }
}
