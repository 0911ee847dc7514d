//! Governance issue: drill, review, status, report, log export, receipts,
//! runbooks. Library tests build synthetic multi-year logs with
//! `Log::build_line` (times in the lines); CLI tests inject time only
//! through `BREAKGLASS_TEST_NOW`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use breakglass::clock::Timestamp;
use breakglass::governance::{self, receipt, report, ObligationKind};
use breakglass::log::{events, Log};
use breakglass::log_data;
use breakglass::manifest::{CustodianRecord, LogHead, Manifest, PayloadRef};
use serde_json::{Map, Value};

const VAULT: &str = "00112233445566778899aabbccddeeff";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Builds a log line by line, in memory, then writes it.
struct Builder {
    path: PathBuf,
    log: Log,
    text: String,
    heads: Vec<LogHead>,
}

impl Builder {
    fn new(path: &Path) -> Builder {
        Builder {
            path: path.to_owned(),
            log: Log::at_head(path, VAULT, None),
            text: String::new(),
            heads: Vec::new(),
        }
    }
    fn add(&mut self, event: &str, time: &str, data: Map<String, Value>) -> u64 {
        let (line, head) = self.log.build_line(event, 1, data, ts(time), None).unwrap();
        self.text.push_str(&line);
        self.log = Log::at_head(&self.path, VAULT, Some(head.clone()));
        self.heads.push(head.clone());
        head.seq
    }
    fn write(&self) {
        std::fs::write(&self.path, &self.text).unwrap();
    }
}

fn manifest(custodians: &[&str], anchor: LogHead) -> Manifest {
    Manifest {
        created: "2023-01-10T10:00:00Z".into(),
        custodians: custodians
            .iter()
            .enumerate()
            .map(|(i, n)| CustodianRecord {
                commitment: "00".repeat(32),
                name: (*n).into(),
                share: format!("g1/shares/{n}.age"),
                tokens: vec![],
                x: i as u8 + 1,
            })
            .collect(),
        entries: vec![],
        format: breakglass::manifest::FORMAT.into(),
        generation: 1,
        log_head: anchor,
        mac: String::new(),
        payload: PayloadRef {
            digest: "00".repeat(32),
            file: "g1/payload.age".into(),
        },
        sealed: "2023-01-10T10:00:00Z".into(),
        threshold: 2,
        vault_id: VAULT.into(),
    }
}

fn grant(ticket: &str, reason: &str, custodians: &[&str]) -> Map<String, Value> {
    log_data! {"ticket" => ticket, "reason" => reason, "custodians" => custodians,
    "entries" => ["aws-root"], "session_limit_s" => 900, "request" => 0}
}

/// The hand-checked synthetic history (2023–2025). Returns the builder.
///
/// | seq | time                 | event                                           |
/// |-----|----------------------|-------------------------------------------------|
/// | 1–5 | 2023-01-10T10:00:00Z | vault-created, enrolled ×3, sealed init         |
/// | 6   | 2023-02-01T08:00:00Z | unseal-requested INC-1                          |
/// | 7   | 2023-02-01T08:05:00Z | unseal-granted INC-1 "idp-outage: okta down"    |
/// | 8   | 2023-02-01T08:20:00Z | session-ended 7                                 |
/// | 9   | 2023-02-01T10:05:00Z | sealed reseal (7: 2 h)                          |
/// | 10  | 2023-02-03T12:00:00Z | review-recorded [7]                             |
/// | 11  | 2023-03-15T09:00:00Z | drill custodian alice ok                        |
/// | 12  | 2023-03-20T09:00:00Z | drill-requested quorum                          |
/// | 13  | 2023-03-20T09:01:00Z | drill quorum bob+carol ok                       |
/// | 14  | 2023-05-10T00:00:00Z | unseal-granted INC-2 "curious" (outside)        |
/// | 15  | 2023-05-10T00:10:00Z | session-ended 14                                |
/// | 16  | 2023-05-10T06:00:00Z | unseal-granted INC-3 "root-only: close account" |
/// | 17  | 2023-05-10T06:30:00Z | session-ended 16                                |
/// | 18  | 2023-05-10T10:00:00Z | sealed reseal (14: 10 h, 16: 4 h — both over)   |
/// | 19  | 2023-05-12T00:00:00Z | review-recorded [14]  (16 never reviewed)       |
/// | 20  | 2023-06-01T00:00:00Z | drill custodian bob FAILED                      |
/// | 21  | 2025-01-05T00:00:00Z | drill quorum alice+bob ok                       |
/// | 22  | 2025-02-01T12:00:00Z | unseal-granted INC-4 "idp-outage" (open session)|
fn history(dir: &Path) -> Builder {
    let mut b = Builder::new(&dir.join("log.jsonl"));
    let t0 = "2023-01-10T10:00:00Z";
    b.add(
        events::VAULT_CREATED,
        t0,
        log_data! {"threshold" => 2, "custodians" => ["alice", "bob", "carol"]},
    );
    for c in ["alice", "bob", "carol"] {
        b.add(
            events::CUSTODIAN_ENROLLED,
            t0,
            log_data! {"custodian" => c, "tokens" => Vec::<String>::new()},
        );
    }
    b.add(
        events::SEALED,
        t0,
        log_data! {"reason" => "init", "generation" => 1},
    );
    b.add(
        events::UNSEAL_REQUESTED,
        "2023-02-01T08:00:00Z",
        log_data! {"ticket" => "INC-1", "reason" => "idp-outage: okta down"},
    );
    b.add(
        events::UNSEAL_GRANTED,
        "2023-02-01T08:05:00Z",
        grant("INC-1", "idp-outage: okta down", &["alice", "bob"]),
    );
    b.add(
        events::SESSION_ENDED,
        "2023-02-01T08:20:00Z",
        log_data! {"grant" => 7, "duration_s" => 900, "how" => "closed"},
    );
    b.add(
        events::SEALED,
        "2023-02-01T10:05:00Z",
        log_data! {"reason" => "reseal", "generation" => 2},
    );
    b.add(
        events::REVIEW_RECORDED,
        "2023-02-03T12:00:00Z",
        log_data! {"grants" => [7], "ticket" => "INC-1", "complete" => true},
    );
    b.add(
        events::DRILL,
        "2023-03-15T09:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
    );
    b.add(
        events::DRILL_REQUESTED,
        "2023-03-20T09:00:00Z",
        log_data! {"kind" => "quorum"},
    );
    b.add(
        events::DRILL,
        "2023-03-20T09:01:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok", "request" => 12},
    );
    b.add(
        events::UNSEAL_GRANTED,
        "2023-05-10T00:00:00Z",
        grant("INC-2", "curious", &["alice", "carol"]),
    );
    b.add(
        events::SESSION_ENDED,
        "2023-05-10T00:10:00Z",
        log_data! {"grant" => 14, "duration_s" => 600, "how" => "closed"},
    );
    b.add(
        events::UNSEAL_GRANTED,
        "2023-05-10T06:00:00Z",
        grant("INC-3", "root-only: close account", &["bob", "carol"]),
    );
    b.add(
        events::SESSION_ENDED,
        "2023-05-10T06:30:00Z",
        log_data! {"grant" => 16, "duration_s" => 1800, "how" => "expired"},
    );
    b.add(
        events::SEALED,
        "2023-05-10T10:00:00Z",
        log_data! {"reason" => "reseal", "generation" => 3},
    );
    b.add(
        events::REVIEW_RECORDED,
        "2023-05-12T00:00:00Z",
        log_data! {"grants" => [14], "ticket" => "INC-2", "complete" => true},
    );
    b.add(
        events::DRILL,
        "2023-06-01T00:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "failed", "why" => "none of bob's tokens opens this share file"},
    );
    b.add(
        events::DRILL,
        "2025-01-05T00:00:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["alice", "bob"], "result" => "ok", "request" => 0},
    );
    b.add(
        events::UNSEAL_GRANTED,
        "2025-02-01T12:00:00Z",
        grant("INC-4", "idp-outage", &["alice", "bob"]),
    );
    b
}

const SCENARIOS: &[u8] = b"# documented scenarios\nidp-outage  IdP down: console access via root\nroot-only   tasks only the root user can do\n";

#[test]
fn report_metrics_are_exact_on_hand_checked_history() {
    let dir = tempfile::tempdir().unwrap();
    let b = history(dir.path());
    b.write();
    let anchor = b.heads[4].clone();
    let sc = report::Scenarios::parse(SCENARIOS).unwrap();
    let now = ts("2025-02-01T13:00:00Z");
    let r = report::report(&b.path, Some(&anchor), None, None, Some(sc), now).unwrap();
    assert!(r.log_intact);
    assert_eq!(
        r.quarters.keys().collect::<Vec<_>>(),
        ["2023-Q1", "2023-Q2", "2025-Q1"]
    );
    let q1 = &r.quarters["2023-Q1"];
    assert_eq!(
        (q1.activations, q1.reviewed, q1.deactivated),
        (1, 1, 1),
        "{q1:?}"
    );
    assert_eq!(
        (
            q1.deactivation_total_s,
            q1.deactivation_max_s,
            q1.over_target
        ),
        (7200, 7200, 0)
    );
    assert_eq!(q1.outside_scenarios, Some(0));
    assert_eq!(q1.review_share(), Some(1.0));
    let drills: Vec<(&str, u64)> = q1.drills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(drills, [("alice", 1), ("bob", 1), ("carol", 1)]);
    let q2 = &r.quarters["2023-Q2"];
    assert_eq!((q2.activations, q2.reviewed, q2.deactivated), (2, 1, 2));
    assert_eq!(q2.deactivation_mean_s(), Some(25_200.0));
    assert_eq!((q2.deactivation_max_s, q2.over_target), (36_000, 2));
    assert_eq!(q2.outside_scenarios, Some(1));
    assert_eq!(q2.review_share(), Some(0.5));
    assert!(q2.drills.is_empty());
    assert_eq!(q2.drills_failed.get("bob"), Some(&1));
    let q5 = &r.quarters["2025-Q1"];
    assert_eq!((q5.activations, q5.reviewed, q5.deactivated), (1, 0, 0));
    assert_eq!((q5.not_deactivated, q5.over_target), (1, 0));
    assert_eq!(q5.drills.get("alice"), Some(&1));
    let t = &r.total;
    assert_eq!(
        (t.activations, t.reviewed, t.deactivated, t.not_deactivated),
        (4, 2, 3, 1)
    );
    assert_eq!(t.deactivation_mean_s(), Some(19_200.0));
    assert_eq!(
        (t.deactivation_max_s, t.over_target, t.outside_scenarios),
        (36_000, 2, Some(1))
    );
    assert!(!r.targets_met());

    // 5 h after the last grant with no reseal: it can no longer meet the target.
    let later = ts("2025-02-01T17:00:00Z");
    let r = report::report(&b.path, Some(&anchor), None, None, None, later).unwrap();
    assert_eq!(r.quarters["2025-Q1"].over_target, 1);
    assert_eq!(
        r.total.outside_scenarios, None,
        "no scenario list: not computed"
    );

    // Range: 2023-04-01 ..< 2024-01-01 keeps only Q2 (its reviews/reseals still count).
    let r = report::report(
        &b.path,
        Some(&anchor),
        Some(ts("2023-04-01T00:00:00Z")),
        Some(ts("2024-01-01T00:00:00Z")),
        None,
        now,
    )
    .unwrap();
    assert_eq!(r.quarters.keys().collect::<Vec<_>>(), ["2023-Q2"]);
    assert_eq!((r.total.activations, r.total.reviewed), (2, 1));
}

#[test]
fn drills_are_never_activations() {
    let dir = tempfile::tempdir().unwrap();
    let b = history(dir.path());
    b.write();
    let r = report::report(&b.path, None, None, None, None, ts("2025-03-01T00:00:00Z")).unwrap();
    // 4 unseal-granted; 4 drill entries and a drill-requested are not activations.
    assert_eq!(r.total.activations, 4);
    let s = governance::status(
        &b.path,
        &manifest(&["alice", "bob", "carol"], b.heads[4].clone()),
        ts("2025-03-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(s.activations, 4);
}

#[test]
fn status_obligations_become_overdue_and_disappear_when_fulfilled() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = history(dir.path());
    b.write();
    let m = manifest(&["alice", "bob", "carol"], b.heads[4].clone());
    let now = ts("2025-02-01T13:00:00Z");
    let s = governance::status(&b.path, &m, now).unwrap();
    let list: Vec<_> = s
        .obligations
        .iter()
        .map(|o| {
            (
                o.kind,
                o.grant.as_ref().map(|g| g.seq),
                o.custodian.as_deref(),
                o.overdue,
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            (ObligationKind::Review, Some(16), None, true),
            (ObligationKind::Drill, None, Some("carol"), true),
            (ObligationKind::Rotation, Some(22), None, false),
            (ObligationKind::Review, Some(22), None, false),
            (ObligationKind::Drill, None, Some("alice"), false),
            (ObligationKind::Drill, None, Some("bob"), false),
        ]
    );
    let due: Vec<String> = s.obligations.iter().map(|o| o.due.to_rfc3339()).collect();
    assert_eq!(
        due,
        [
            "2023-05-15T06:00:00Z",
            "2024-03-19T09:01:00Z",
            "2025-02-02T12:00:00Z",
            "2025-02-06T12:00:00Z",
            "2026-01-05T00:00:00Z",
            "2026-01-05T00:00:00Z",
        ]
    );
    assert_eq!(s.open_sessions.len(), 1);
    assert_eq!(s.open_sessions[0].seq, 22);
    assert_eq!(s.last_rotation.map(|r| r.1), Some(18));
    assert_eq!(s.exit_code(), 1);

    // Fulfil the overdue review and drill: exit 0, both gone.
    b.add(
        events::REVIEW_RECORDED,
        "2025-02-01T12:30:00Z",
        log_data! {"grants" => [16], "ticket" => "INC-3", "complete" => true},
    );
    b.add(
        events::DRILL,
        "2025-02-01T12:40:00Z",
        log_data! {"kind" => "custodian", "custodian" => "carol", "result" => "ok"},
    );
    b.write();
    let s = governance::status(&b.path, &m, now).unwrap();
    assert_eq!(s.exit_code(), 0, "{:?}", s.obligations);
    assert!(!s
        .obligations
        .iter()
        .any(|o| o.grant.as_ref().is_some_and(|g| g.seq == 16)));
    assert_eq!(s.obligations.len(), 5);

    // 25 h after the grant the rotation is overdue ...
    let s = governance::status(&b.path, &m, ts("2025-02-02T13:00:00Z")).unwrap();
    assert_eq!(s.exit_code(), 1);
    assert_eq!(
        s.overdue().map(|o| o.kind).collect::<Vec<_>>(),
        [ObligationKind::Rotation]
    );
    // ... a reseal fulfils it; a rekey would not.
    b.add(
        events::SEALED,
        "2025-02-02T13:30:00Z",
        log_data! {"reason" => "rekey", "generation" => 4},
    );
    b.write();
    let s = governance::status(&b.path, &m, ts("2025-02-02T14:00:00Z")).unwrap();
    assert_eq!(s.exit_code(), 1, "a rekey is not a rotation");
    b.add(
        events::SEALED,
        "2025-02-02T14:00:00Z",
        log_data! {"reason" => "reseal", "generation" => 5},
    );
    b.write();
    let s = governance::status(&b.path, &m, ts("2025-02-02T14:00:00Z")).unwrap();
    assert_eq!(s.exit_code(), 0);
    assert!(!s
        .obligations
        .iter()
        .any(|o| o.kind == ObligationKind::Rotation));
    // 6 days after the grant the review of #22 is overdue.
    let s = governance::status(&b.path, &m, ts("2025-02-07T12:00:01Z")).unwrap();
    assert_eq!(
        s.overdue().map(|o| o.kind).collect::<Vec<_>>(),
        [ObligationKind::Review]
    );
}

#[test]
fn drill_due_from_enrollment_or_vault_creation() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = history(dir.path());
    b.add(
        events::CUSTODIAN_ENROLLED,
        "2024-06-01T00:00:00Z",
        log_data! {"custodian" => "dave"},
    );
    b.write();
    // erin is in the manifest but was never enrolled in this log: since creation.
    let m = manifest(&["dave", "erin"], b.heads[4].clone());
    let s = governance::status(&b.path, &m, ts("2025-02-01T13:00:00Z")).unwrap();
    let drill = |n: &str| {
        s.obligations
            .iter()
            .find(|o| o.custodian.as_deref() == Some(n))
            .unwrap()
            .clone()
    };
    assert_eq!(drill("dave").due.to_rfc3339(), "2025-06-01T00:00:00Z");
    assert!(!drill("dave").overdue);
    assert_eq!(drill("erin").due.to_rfc3339(), "2024-01-10T10:00:00Z");
    assert!(drill("erin").overdue);
}

#[test]
fn receipts_detect_truncation_past_them_and_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let b = history(dir.path());
    b.write();
    let h = b.heads[12].clone(); // seq 13
    let long = receipt::Receipt::parse(&format!("bg1:{VAULT}:{}:{}", h.seq, h.hash)).unwrap();
    let short = receipt::Receipt::parse(&format!("{}:{}", h.seq, &h.hash[..16])).unwrap();
    for r in [&long, &short] {
        assert_eq!(
            receipt::check(&b.path, r).unwrap().0,
            receipt::ReceiptCheck::Present
        );
    }
    // Truncate to 12 entries: the receipt's entry is gone.
    let keep: String = b.text.lines().take(12).map(|l| format!("{l}\n")).collect();
    std::fs::write(&b.path, keep).unwrap();
    assert_eq!(
        receipt::check(&b.path, &short).unwrap().0,
        receipt::ReceiptCheck::Truncated { last_seq: 12 }
    );
    // Truncation *after* the receipt's entry still holds it.
    let keep: String = b.text.lines().take(13).map(|l| format!("{l}\n")).collect();
    std::fs::write(&b.path, keep).unwrap();
    assert_eq!(
        receipt::check(&b.path, &long).unwrap().0,
        receipt::ReceiptCheck::Present
    );
    // A rewritten history (a valid chain, different entries) does not hold it.
    let mut other = Builder::new(&b.path);
    for i in 0..20 {
        other.add(
            events::DRILL,
            "2023-01-10T10:00:00Z",
            log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok", "i" => i},
        );
    }
    other.write();
    assert_eq!(
        receipt::check(&b.path, &long).unwrap().0,
        receipt::ReceiptCheck::Rewritten
    );
    let foreign =
        receipt::Receipt::parse(&format!("bg1:{}:1:{}", "ff".repeat(16), h.hash)).unwrap();
    assert!(matches!(
        receipt::check(&b.path, &foreign).unwrap().0,
        receipt::ReceiptCheck::OtherVault { .. }
    ));
}

#[test]
fn export_lines_have_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let b = history(dir.path());
    b.write();
    let mut out = Vec::new();
    let (r, n) = governance::export::export(&b.path, None, 20, &mut out).unwrap();
    assert_eq!((r.entries, n), (22, 2));
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "data",
            "event",
            "generation",
            "hash",
            "prev",
            "quorum_mac",
            "seq",
            "time",
            "vault"
        ]
    );
    assert_eq!(lines[1]["seq"], 22);
    assert_eq!(lines[1]["event"], "unseal-granted");
    assert_eq!(lines[1]["quorum_mac"], false);
    assert_eq!(lines[1]["time"], "2025-02-01T12:00:00Z");
    assert_eq!(lines[1]["prev"], b.heads[20].hash.as_str());
    assert_eq!(lines[1]["hash"], b.heads[21].hash.as_str());
}

#[test]
fn html_page_is_self_contained_and_escapes_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = history(dir.path());
    b.add(
        events::UNSEAL_GRANTED,
        "2025-03-01T00:00:00Z",
        grant(
            "<script>alert(1)</script>",
            "x\" onload=\"y",
            &["alice", "bob"],
        ),
    );
    b.write();
    let r = report::report(
        &b.path,
        None,
        None,
        None,
        Some(report::Scenarios::parse(b"idp-outage <b>IdP</b> & co\n").unwrap()),
        ts("2025-03-02T00:00:00Z"),
    )
    .unwrap();
    let page = governance::html::render(&r, VAULT);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "unescaped script tag");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;IdP&lt;/b&gt; &amp; co"));
    assert!(page.contains("<svg"));
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!page.contains(external), "external reference {external}");
    }
}

// ---------------------------------------------------------------- CLI ----

const BIN: &str = env!("CARGO_BIN_EXE_breakglass");
const NAMES: [&str; 3] = ["alice", "bob", "carol"];

fn pass(n: &str) -> String {
    format!("{n}-passphrase-for-tests")
}

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn work(&self) -> &Path {
        self.dir.path()
    }
    fn vault(&self) -> PathBuf {
        self.work().join("vault")
    }
    fn run(&self, now: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(self.work())
            .env("BREAKGLASS_TEST_NOW", now)
            .output()
            .unwrap()
    }
    fn ok(&self, now: &str, args: &[&str]) -> String {
        let o = self.run(now, args);
        assert!(
            o.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn code(&self, now: &str, args: &[&str]) -> i32 {
        self.run(now, args).status.code().unwrap()
    }
    fn status_json(&self, now: &str) -> (i32, Value) {
        let o = self.run(now, &["status", "--vault", "vault", "--json"]);
        (
            o.status.code().unwrap(),
            serde_json::from_slice(&o.stdout).unwrap(),
        )
    }
    /// The reseal ceremony (a periodic reseal: fresh shares, same values).
    fn reseal(&self, time: &str) {
        self.ok(
            time,
            &[
                "reseal",
                "--vault",
                "vault",
                "--ticket",
                "INC-1",
                "--reason",
                "rotation after INC-1",
                "--identity",
                "alice.identity",
                "--identity",
                "bob.identity",
                "--answers",
                "answers.json",
            ],
        );
    }
}

fn write_secret(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A vault with software custodians alice, bob, carol (2 of 3) created at `t0`.
fn cli_vault(t0: &str) -> Cli {
    let cli = Cli {
        dir: tempfile::tempdir().unwrap(),
    };
    let p: Map<String, Value> = NAMES
        .iter()
        .map(|n| (n.to_string(), pass(n).into()))
        .collect();
    let answers = serde_json::json!({"passphrases": p, "new_passphrases": p});
    write_secret(
        &cli.work().join("answers.json"),
        answers.to_string().as_bytes(),
    );
    for n in NAMES {
        cli.ok(
            t0,
            &[
                "custodian",
                "enroll",
                "--name",
                n,
                "--out",
                &format!("{n}.identity"),
                "--kdf",
                "demo",
                "--answers",
                "answers.json",
            ],
        );
    }
    write_secret(
        &cli.work().join("entries.json"),
        br#"[{"kind":"password","name":"aws-root","value":"correct-horse-battery"}]"#,
    );
    cli.ok(
        t0,
        &[
            "init",
            "--vault",
            "vault",
            "--threshold",
            "2",
            "--custodian",
            "alice.custodian.json",
            "--custodian",
            "bob.custodian.json",
            "--custodian",
            "carol.custodian.json",
            "--entries",
            "entries.json",
            "--answers",
            "answers.json",
        ],
    );
    cli
}

const ANS: [&str; 2] = ["--answers", "answers.json"];

#[test]
fn cli_status_review_drill_report_over_years() {
    let cli = cli_vault("2023-01-10T10:00:00Z");
    let (code, s) = cli.status_json("2023-01-10T11:00:00Z");
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["obligations"].as_array().unwrap().len(), 3);

    // An unseal (one-shot, JSON: nothing interactive).
    let t1 = "2023-02-01T08:00:00Z";
    let out = cli.ok(
        t1,
        &[
            "unseal",
            "--vault",
            "vault",
            "--ticket",
            "INC-7",
            "--reason",
            "idp-outage: okta",
            "--identity",
            "alice.identity",
            "--identity",
            "bob.identity",
            "--json",
            ANS[0],
            ANS[1],
        ],
    );
    let grant_seq = serde_json::from_str::<Value>(&out).unwrap()["grant_seq"]
        .as_u64()
        .unwrap();
    let (code, s) = cli.status_json("2023-02-01T09:00:00Z");
    assert_eq!(code, 0);
    let kinds: Vec<&str> = s["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rotation", "review", "drill", "drill", "drill"]);
    assert_eq!(s["open_sessions"].as_array().unwrap().len(), 0);

    // 25 h later: rotation overdue → exit 1.
    let (code, s) = cli.status_json("2023-02-02T08:00:01Z");
    assert_eq!(code, 1);
    assert_eq!(s["overdue"], 1);
    assert_eq!(s["obligations"][0]["kind"], "rotation");
    assert_eq!(s["obligations"][0]["overdue"], true);
    cli.reseal("2023-02-02T09:00:00Z");
    let (code, s) = cli.status_json("2023-02-02T09:00:00Z");
    assert_eq!(code, 0, "{s}");

    // 6 days later: review overdue → exit 1; an incomplete review is refused,
    // naming exactly what is missing.
    let (code, _) = cli.status_json("2023-02-07T08:00:01Z");
    assert_eq!(code, 1);
    std::fs::write(
        cli.work().join("partial.txt"),
        "participants: alice, bob\ntimeline: 2023-02-01T07:50:00Z okta down\npreventive measure: second IdP\n",
    )
    .unwrap();
    let o = cli.run(
        "2023-02-07T09:00:00Z",
        &[
            "review",
            "--vault",
            "vault",
            "--ticket",
            "INC-7",
            "--from",
            "partial.txt",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the review is incomplete; missing: root cause, provider audit event ids"),
        "{err}"
    );
    let doc = serde_json::json!({
        "participants": ["alice", "bob"],
        "timeline": [{"time": "2023-02-01T07:50:00Z", "what": "okta down"}],
        "root_cause": "expired certificate",
        "preventive_measures": ["alert on expiry"],
        "provider_events": ["cloudtrail-0001"],
    })
    .to_string();
    std::fs::write(cli.work().join("review.json"), &doc).unwrap();
    let out = cli.ok(
        "2023-02-07T09:00:00Z",
        &[
            "review",
            "--vault",
            "vault",
            "--grant",
            &grant_seq.to_string(),
            "--from",
            "review.json",
            "--json",
        ],
    );
    let rec: Value = serde_json::from_str(&out).unwrap();
    use sha2::Digest;
    assert_eq!(
        rec["document_sha256"],
        breakglass::encoding::hex(&sha2::Sha256::digest(doc.as_bytes()))
    );
    let (code, s) = cli.status_json("2023-02-07T09:00:00Z");
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["obligations"].as_array().unwrap().len(), 3);

    // More than a year after creation: every drill overdue.
    let y = "2024-01-11T10:00:00Z";
    let (code, s) = cli.status_json(y);
    assert_eq!((code, s["overdue"].as_u64()), (1, Some(3)));
    cli.ok(
        y,
        &[
            "drill",
            "--vault",
            "vault",
            "--custodian",
            "bob",
            "--identity",
            "bob.identity",
            ANS[0],
            ANS[1],
        ],
    );
    let (code, s) = cli.status_json(y);
    assert_eq!((code, s["overdue"].as_u64()), (1, Some(2)));
    let out = cli.ok(
        y,
        &[
            "drill",
            "--vault",
            "vault",
            "--quorum",
            "--identity",
            "alice.identity",
            "--identity",
            "carol.identity",
            "--json",
            ANS[0],
            ANS[1],
        ],
    );
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["result"], "ok");
    // After the reseal the vault is at generation 2: its quorum entries are
    // verified under the rebuilt key; older generations' keys are gone.
    assert_eq!(d["generation"], 2, "{d}");
    assert!(d["quorum_macs_verified"].as_u64().unwrap() >= 1, "{d}");
    assert!(
        d["quorum_macs_older_generations"].as_u64().unwrap() >= 5,
        "{d}"
    );
    let (code, s) = cli.status_json(y);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["custodians"][0]["last_drill"]["kind"], "quorum");
    assert_eq!(s["custodians"][1]["last_drill"]["kind"], "custodian");

    // A prompt without an answer is not a drill: exit 2, nothing logged.
    let o = cli.run(
        y,
        &[
            "drill",
            "--vault",
            "vault",
            "--custodian",
            "carol",
            "--identity",
            "alice.identity",
            ANS[0],
            ANS[1],
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // An altered share file: the drill fails, is logged, exit 1.
    let share = cli
        .vault()
        .join(breakglass::manifest::generation_dir(2))
        .join("shares/carol.age");
    let mut bytes = std::fs::read(&share).unwrap();
    bytes.push(b'\n');
    std::fs::write(&share, bytes).unwrap();
    let o = cli.run(
        y,
        &[
            "drill",
            "--vault",
            "vault",
            "--custodian",
            "carol",
            "--identity",
            "carol.identity",
            "--json",
            ANS[0],
            ANS[1],
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        d["why"]
            .as_str()
            .unwrap()
            .contains("does not match its commitment"),
        "{d}"
    );

    // Report: one activation (drills are not activations), reviewed, resealed after 25 h.
    std::fs::write(cli.vault().join("scenarios"), "idp-outage IdP down\n").unwrap();
    let out = cli.ok(
        y,
        &[
            "report",
            "--vault",
            "vault",
            "--json",
            "--html",
            "report.html",
        ],
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    let q = &r["quarters"]["2023-Q1"];
    assert_eq!(q["activations"], 1, "{r}");
    assert_eq!(q["reviewed"], 1);
    assert_eq!(q["deactivation_max_s"], 25 * 3600);
    assert_eq!(q["over_target"], 1);
    assert_eq!(q["outside_scenarios"], 0);
    assert_eq!(r["quarters"]["2024-Q1"]["drills"]["bob"], 1);
    assert_eq!(r["quarters"]["2024-Q1"]["drills_failed"]["carol"], 1);
    assert_eq!(r["quarters"]["2024-Q1"]["activations"], 0);
    assert_eq!(r["total"]["activations"], 1);
    let html = std::fs::read_to_string(cli.work().join("report.html")).unwrap();
    assert!(html.contains("INC-7") && html.contains("<svg"));
    let table = cli.ok(
        y,
        &[
            "report",
            "--vault",
            "vault",
            "--from",
            "2023-01-01",
            "--to",
            "2023-03-31",
        ],
    );
    assert!(
        table.contains("2023-Q1") && !table.contains("2024-Q1"),
        "{table}"
    );
}

#[test]
fn cli_receipt_and_export() {
    let cli = cli_vault("2023-01-10T10:00:00Z");
    let t = "2023-01-10T11:00:00Z";
    let out = cli.ok(
        t,
        &[
            "drill",
            "--vault",
            "vault",
            "--custodian",
            "alice",
            "--identity",
            "alice.identity",
            "--json",
            ANS[0],
            ANS[1],
        ],
    );
    let receipt = serde_json::from_str::<Value>(&out).unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = receipt.split(':').collect();
    let short = format!("{}:{}", parts[2], &parts[3][..16]);
    for r in [&receipt, &short] {
        assert_eq!(
            cli.code(t, &["log", "verify", "--vault", "vault", "--receipt", r]),
            0
        );
    }
    // Another entry after it: the receipt still holds.
    cli.ok(
        t,
        &[
            "drill",
            "--vault",
            "vault",
            "--custodian",
            "bob",
            "--identity",
            "bob.identity",
            ANS[0],
            ANS[1],
        ],
    );
    assert_eq!(
        cli.code(
            t,
            &["log", "verify", "--vault", "vault", "--receipt", &short]
        ),
        0
    );
    // Export: one line per entry, documented fields.
    let out = cli.ok(t, &["log", "export", "--vault", "vault"]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[5]["event"], "drill");
    assert_eq!(lines[0]["quorum_mac"], true);
    assert_eq!(lines[5]["quorum_mac"], false);
    // Truncate back past the receipt (drop the two drills): exit 1.
    let path = cli.vault().join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).unwrap();
    let o = cli.run(
        t,
        &["log", "verify", "--vault", "vault", "--receipt", &receipt],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("truncated past the receipt"));
    assert_eq!(
        cli.code(
            t,
            &["log", "verify", "--vault", "vault", "--receipt", "6:zz"]
        ),
        2
    );
}

#[test]
fn review_documents_text_json_and_prompts_agree() {
    use breakglass::ceremony::review::{parse_document, prompt_document};
    let text = b"# review\nticket: INC-9\nParticipants: alice, bob\ntimeline: 2023-02-01T07:50:00Z okta down\nroot cause: expired certificate\npreventive measures: alert on expiry\nprovider event: ct-1, ct-2\n";
    let a = parse_document(text).unwrap();
    let json = br#"{"ticket":"INC-9","participants":["alice","bob"],"timeline":[{"time":"2023-02-01T07:50:00Z","what":"okta down"}],"root_cause":"expired certificate","preventive_measures":["alert on expiry"],"provider_events":["ct-1","ct-2"]}"#;
    assert_eq!(a, parse_document(json).unwrap());
    a.check().unwrap();
    let mut ui = breakglass::ui::Answers::default();
    for (k, v) in [
        ("review.participants", "alice, bob"),
        ("review.timeline.1", "2023-02-01T07:50:00Z okta down"),
        ("review.timeline.2", ""),
        ("review.root_cause", "expired certificate"),
        ("review.preventive_measures.1", "alert on expiry"),
        ("review.preventive_measures.2", ""),
        ("review.provider_events.1", "ct-1"),
        ("review.provider_events.2", "ct-2"),
        ("review.provider_events.3", ""),
    ] {
        ui.set_text(k, v);
    }
    let p = prompt_document(&mut ui).unwrap();
    assert_eq!(p.ticket, None);
    assert_eq!(
        (p.participants, p.provider_events),
        (a.participants, a.provider_events)
    );
    // Errors: unknown key, bad timeline time, nothing at all.
    assert!(parse_document(b"whatever: x\n").is_err());
    let bad = parse_document(b"participants: a\ntimeline: yesterday it broke\nroot cause: x\npreventive measure: y\nprovider event: z\n").unwrap();
    assert!(bad
        .check()
        .unwrap_err()
        .to_string()
        .contains("YYYY-MM-DDTHH:MM:SSZ"));
    let empty = parse_document(b"\n").unwrap();
    assert_eq!(
        empty.check().unwrap_err().to_string(),
        "the review is incomplete; missing: participants, timeline, root cause, preventive measures, provider audit event ids"
    );
}

/// `review --edit`: the editor gets a template; an incomplete draft is named
/// and may be edited again; a complete one is recorded.
#[test]
fn review_written_in_an_editor() {
    let cli = cli_vault("2023-01-10T10:00:00Z");
    let t1 = "2023-02-01T08:00:00Z";
    cli.ok(
        t1,
        &[
            "unseal",
            "--vault",
            "vault",
            "--ticket",
            "INC-8",
            "--reason",
            "idp-outage",
            "--identity",
            "alice.identity",
            "--identity",
            "bob.identity",
            "--json",
            ANS[0],
            ANS[1],
        ],
    );
    // The "editor" keeps a copy of the template it was given, then writes a draft.
    let editor = |draft: &str| {
        let script = cli.work().join("editor.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncp \"$1\" '{}/template.txt'\ncp '{}/{draft}' \"$1\"\n",
                cli.work().display(),
                cli.work().display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script.display().to_string()
    };
    std::fs::write(
        cli.work().join("partial.txt"),
        "participants: alice\ntimeline: 2023-02-01T07:50:00Z okta down\n",
    )
    .unwrap();
    std::fs::write(
        cli.work().join("complete.txt"),
        "participants: alice, bob\ntimeline: 2023-02-01T07:50:00Z okta down\nroot cause: expired certificate\npreventive measure: alert on expiry\nprovider event: ct-77\n",
    )
    .unwrap();
    let run = |draft: &str, again: bool| {
        write_secret(
            &cli.work().join("edit-answers.json"),
            serde_json::json!({"confirm": {"review.edit-again": again}})
                .to_string()
                .as_bytes(),
        );
        Command::new(BIN)
            .args([
                "review",
                "--vault",
                "vault",
                "--ticket",
                "INC-8",
                "--edit",
                "--answers",
                "edit-answers.json",
                "--json",
            ])
            .current_dir(cli.work())
            .env("BREAKGLASS_TEST_NOW", "2023-02-03T09:00:00Z")
            .env_remove("VISUAL")
            .env("EDITOR", editor(draft))
            .output()
            .unwrap()
    };
    let o = run("partial.txt", false);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing: root cause, preventive measures, provider audit event ids"),
        "{err}"
    );
    let template = std::fs::read_to_string(cli.work().join("template.txt")).unwrap();
    assert!(template.contains("ticket: INC-8\n"), "{template}");
    for key in [
        "participants:",
        "timeline:",
        "root cause:",
        "preventive measure:",
        "provider event:",
    ] {
        assert!(template.contains(key), "template lacks {key}: {template}");
    }
    assert!(
        !cli.vault().join("log.jsonl").exists() || {
            let log = std::fs::read_to_string(cli.vault().join("log.jsonl")).unwrap();
            !log.contains("review-recorded")
        }
    );
    let o = run("complete.txt", false);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rec["ticket"], "INC-8");
    // No draft is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("breakglass-review-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
