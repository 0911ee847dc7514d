//! Governance issue: drill, review, status, report, log export, receipts,
//! runbooks; and "Governance counts only what is authenticated". Library
//! tests build real format 2 vault directories (signed, synthetic
//! multi-year histories: `support/signed_history.rs`, times in the lines);
//! CLI tests inject time only through `BREAKGLASS_TEST_NOW`.

#[path = "support/signed_history.rs"]
mod signed_history;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use breakglass::clock::Timestamp;
use breakglass::governance::{self, receipt, report, ObligationKind, Status};
use breakglass::log::{events, Signer};
use breakglass::log_data;
use breakglass::vault::Vault;
use serde_json::{Map, Value};
use signed_history::{Sig, SignedHistory, VAULT};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Opens (and locks) the vault in `dir`. The lock is an `flock`, which a
/// child process that another test is spawning holds for an instant between
/// `fork` and `exec`: wait for that instead of failing.
fn open(dir: &Path) -> Vault {
    for _ in 0..500 {
        match Vault::open(dir) {
            Err(breakglass::vault::VaultError::Locked(_)) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            r => return r.unwrap(),
        }
    }
    panic!("{} stays locked", dir.display())
}

/// `status` of the vault in `dir` (opened and closed again).
fn status(dir: &Path, now: &str) -> Status {
    governance::status(&open(dir), None, ts(now)).unwrap()
}

/// `report` of the vault in `dir`.
fn report_of(
    dir: &Path,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    scenarios: Option<report::Scenarios>,
    now: Timestamp,
) -> report::Report {
    report::report(&open(dir), from, to, scenarios, now).unwrap()
}

fn grant(ticket: &str, reason: &str, custodians: &[&str]) -> Map<String, Value> {
    log_data! {"ticket" => ticket, "reason" => reason, "custodians" => custodians,
    "entries" => ["aws-root"], "session_limit_s" => 900, "request" => 0}
}

/// The hand-checked synthetic history (2023–2025), signed as the ceremonies
/// sign it: requests unsigned, what a quorum writes signed by the current
/// generation key, drills and reviews of one custodian by their token. The
/// reseals at 9 and 18 certify generations 2 and 3 (signed by 1 and 2).
///
/// | seq | time                 | event                                           | signed by  |
/// |-----|----------------------|-------------------------------------------------|------------|
/// | 1–5 | 2023-01-10T10:00:00Z | vault-created, enrolled ×3, sealed init         | genesis    |
/// | 6   | 2023-02-01T08:00:00Z | unseal-requested INC-1                          | —          |
/// | 7   | 2023-02-01T08:05:00Z | unseal-granted INC-1 "idp-outage: okta down"    | quorum g1  |
/// | 8   | 2023-02-01T08:20:00Z | session-ended 7                                 | quorum g1  |
/// | 9   | 2023-02-01T10:05:00Z | sealed reseal (7: 2 h) → generation 2           | quorum g1  |
/// | 10  | 2023-02-03T12:00:00Z | review-recorded [7]                             | alice      |
/// | 11  | 2023-03-15T09:00:00Z | drill custodian alice ok                        | alice      |
/// | 12  | 2023-03-20T09:00:00Z | drill-requested quorum                          | —          |
/// | 13  | 2023-03-20T09:01:00Z | drill quorum bob+carol ok                       | quorum g2  |
/// | 14  | 2023-05-10T00:00:00Z | unseal-granted INC-2 "curious" (outside)        | quorum g2  |
/// | 15  | 2023-05-10T00:10:00Z | session-ended 14                                | quorum g2  |
/// | 16  | 2023-05-10T06:00:00Z | unseal-granted INC-3 "root-only: close account" | quorum g2  |
/// | 17  | 2023-05-10T06:30:00Z | session-ended 16                                | quorum g2  |
/// | 18  | 2023-05-10T10:00:00Z | sealed reseal (14: 10 h, 16: 4 h — both over)   | quorum g2  |
/// | 19  | 2023-05-12T00:00:00Z | review-recorded [14]  (16 never reviewed)       | carol      |
/// | 20  | 2023-06-01T00:00:00Z | drill custodian bob FAILED                      | bob        |
/// | 21  | 2025-01-05T00:00:00Z | drill quorum alice+bob ok                       | quorum g3  |
/// | 22  | 2025-02-01T12:00:00Z | unseal-granted INC-4 "idp-outage" (open session)| quorum g3  |
fn history() -> SignedHistory {
    let mut b = SignedHistory::new();
    let t0 = "2023-01-10T10:00:00Z";
    b.root(
        t0,
        &["alice", "bob", "carol"],
        2,
        log_data! {"threshold" => 2, "custodians" => ["alice", "bob", "carol"]},
    );
    for c in ["alice", "bob", "carol"] {
        let token = b.custodian(c).fingerprint.clone();
        b.quorum(
            events::CUSTODIAN_ENROLLED,
            t0,
            log_data! {"custodian" => c, "tokens" => [token]},
        );
    }
    b.seal(t0, log_data! {"reason" => "init"});
    b.unsigned(
        events::UNSEAL_REQUESTED,
        "2023-02-01T08:00:00Z",
        log_data! {"ticket" => "INC-1", "reason" => "idp-outage: okta down"},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-02-01T08:05:00Z",
        grant("INC-1", "idp-outage: okta down", &["alice", "bob"]),
    );
    b.quorum(
        events::SESSION_ENDED,
        "2023-02-01T08:20:00Z",
        log_data! {"grant" => 7, "duration_s" => 900, "how" => "closed"},
    );
    b.seal("2023-02-01T10:05:00Z", log_data! {"reason" => "reseal"});
    b.by(
        "alice",
        events::REVIEW_RECORDED,
        "2023-02-03T12:00:00Z",
        log_data! {"grants" => [7], "ticket" => "INC-1", "complete" => true},
    );
    b.by(
        "alice",
        events::DRILL,
        "2023-03-15T09:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
    );
    b.unsigned(
        events::DRILL_REQUESTED,
        "2023-03-20T09:00:00Z",
        log_data! {"kind" => "quorum"},
    );
    b.quorum(
        events::DRILL,
        "2023-03-20T09:01:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok", "request" => 12},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-05-10T00:00:00Z",
        grant("INC-2", "curious", &["alice", "carol"]),
    );
    b.quorum(
        events::SESSION_ENDED,
        "2023-05-10T00:10:00Z",
        log_data! {"grant" => 14, "duration_s" => 600, "how" => "closed"},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-05-10T06:00:00Z",
        grant("INC-3", "root-only: close account", &["bob", "carol"]),
    );
    b.quorum(
        events::SESSION_ENDED,
        "2023-05-10T06:30:00Z",
        log_data! {"grant" => 16, "duration_s" => 1800, "how" => "expired"},
    );
    b.seal("2023-05-10T10:00:00Z", log_data! {"reason" => "reseal"});
    b.by(
        "carol",
        events::REVIEW_RECORDED,
        "2023-05-12T00:00:00Z",
        log_data! {"grants" => [14], "ticket" => "INC-2", "complete" => true},
    );
    // A failed drill signed by bob's token (the token signs even though the
    // share does not open: here it counts as a failed drill of bob's).
    b.by(
        "bob",
        events::DRILL,
        "2023-06-01T00:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "failed", "why" => "none of bob's tokens opens this share file"},
    );
    b.quorum(
        events::DRILL,
        "2025-01-05T00:00:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["alice", "bob"], "result" => "ok", "request" => 0},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2025-02-01T12:00:00Z",
        grant("INC-4", "idp-outage", &["alice", "bob"]),
    );
    assert_eq!((b.entries(), b.generation()), (22, 3));
    b
}

/// The history written into a fresh vault directory.
fn written_history() -> (tempfile::TempDir, PathBuf, SignedHistory) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = history();
    b.write(&vault);
    (dir, vault, b)
}

const SCENARIOS: &[u8] = b"# documented scenarios\nidp-outage  IdP down: console access via root\nroot-only   tasks only the root user can do\n";

#[test]
fn signed_history_is_a_real_format_2_vault() {
    let (_d, vault, _b) = written_history();
    let h = breakglass::history::read(&open(&vault), |_, _| {}).unwrap();
    assert_eq!(h.standing, breakglass::history::Standing::Current);
    assert!(h.is_intact(), "{}", h.explain());
    assert_eq!(h.manifest.generation, 3);
    let t = &h.report.trust;
    assert_eq!(t.certified_generations(), 3);
    assert_eq!((t.forged_count, t.unsigned), (0, 2), "{:?}", t.findings);
    assert_eq!((t.quorum_signed, t.custodian_signed), (16, 4));
    assert_eq!(t.last_signed_seq, Some(22));
    let s = status(&vault, "2025-02-01T13:00:00Z");
    assert_eq!(
        s.fingerprint,
        breakglass::manifest::vault_fingerprint(
            &[
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff
            ],
            &signed_history::generation_key(1).public()
        )
    );
    assert_eq!((s.quorum_signed, s.custodian_signed), (16, 4));
    assert_eq!(s.unsigned_after_last_signature, 0);
    assert_eq!(s.forged.count, 0);
}

#[test]
fn report_metrics_are_exact_on_hand_checked_history() {
    let (_d, vault, _b) = written_history();
    let sc = report::Scenarios::parse(SCENARIOS).unwrap();
    let now = ts("2025-02-01T13:00:00Z");
    let r = report_of(&vault, None, None, Some(sc), now);
    assert!(r.log_intact, "{}", r.log_problem);
    assert_eq!(r.forged.count, 0, "{:?}", r.forged);
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
    let r = report_of(&vault, None, None, None, later);
    assert_eq!(r.quarters["2025-Q1"].over_target, 1);
    assert_eq!(
        r.total.outside_scenarios, None,
        "no scenario list: not computed"
    );

    // Range: 2023-04-01 ..< 2024-01-01 keeps only Q2 (its reviews/reseals still count).
    let r = report_of(
        &vault,
        Some(ts("2023-04-01T00:00:00Z")),
        Some(ts("2024-01-01T00:00:00Z")),
        None,
        now,
    );
    assert_eq!(r.quarters.keys().collect::<Vec<_>>(), ["2023-Q2"]);
    assert_eq!((r.total.activations, r.total.reviewed), (2, 1));
}

#[test]
fn drills_are_never_activations() {
    let (_d, vault, _b) = written_history();
    let r = report_of(&vault, None, None, None, ts("2025-03-01T00:00:00Z"));
    // 4 unseal-granted; 4 drill entries and a drill-requested are not activations.
    assert_eq!(r.total.activations, 4);
    let s = status(&vault, "2025-03-01T00:00:00Z");
    assert_eq!(s.activations, 4);
}

#[test]
fn status_obligations_become_overdue_and_disappear_when_fulfilled() {
    let (_d, vault, mut b) = written_history();
    let now = "2025-02-01T13:00:00Z";
    let s = status(&vault, now);
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
    b.by(
        "alice",
        events::REVIEW_RECORDED,
        "2025-02-01T12:30:00Z",
        log_data! {"grants" => [16], "ticket" => "INC-3", "complete" => true},
    );
    b.by(
        "carol",
        events::DRILL,
        "2025-02-01T12:40:00Z",
        log_data! {"kind" => "custodian", "custodian" => "carol", "result" => "ok"},
    );
    b.write(&vault);
    let s = status(&vault, now);
    assert_eq!(s.exit_code(), 0, "{:?} {:?}", s.obligations, s.forged);
    assert!(!s
        .obligations
        .iter()
        .any(|o| o.grant.as_ref().is_some_and(|g| g.seq == 16)));
    assert_eq!(s.obligations.len(), 5);

    // 25 h after the grant the rotation is overdue ...
    let s = status(&vault, "2025-02-02T13:00:00Z");
    assert_eq!(s.exit_code(), 1);
    assert_eq!(
        s.overdue().map(|o| o.kind).collect::<Vec<_>>(),
        [ObligationKind::Rotation]
    );
    // ... a reseal fulfils it; a rekey would not.
    b.seal("2025-02-02T13:30:00Z", log_data! {"reason" => "rekey"});
    b.write(&vault);
    let s = status(&vault, "2025-02-02T14:00:00Z");
    assert_eq!(s.generation, 4);
    assert_eq!(s.exit_code(), 1, "a rekey is not a rotation");
    b.seal("2025-02-02T14:00:00Z", log_data! {"reason" => "reseal"});
    b.write(&vault);
    let s = status(&vault, "2025-02-02T14:00:00Z");
    assert_eq!(s.generation, 5);
    assert_eq!(s.exit_code(), 0);
    assert!(!s
        .obligations
        .iter()
        .any(|o| o.kind == ObligationKind::Rotation));
    // 6 days after the grant the review of #22 is overdue.
    let s = status(&vault, "2025-02-07T12:00:01Z");
    assert_eq!(
        s.overdue().map(|o| o.kind).collect::<Vec<_>>(),
        [ObligationKind::Review]
    );
}

#[test]
fn drill_due_from_enrollment_or_vault_creation() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = history();
    b.quorum(
        events::CUSTODIAN_ENROLLED,
        "2024-06-01T00:00:00Z",
        log_data! {"custodian" => "dave"},
    );
    // erin is in the manifest (certified by this rekey) but was never
    // enrolled in this log: since creation.
    b.set_roster(&["dave", "erin"], 2);
    b.seal("2024-06-01T00:00:00Z", log_data! {"reason" => "rekey"});
    b.write(&vault);
    let s = status(&vault, "2025-02-01T13:00:00Z");
    assert_eq!(s.forged.count, 0, "{:?}", s.forged);
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
    let (_d, vault, b) = written_history();
    let path = vault.join("log.jsonl");
    let h = b.head_of(13);
    let long = receipt::Receipt::parse(&format!("bg1:{VAULT}:{}:{}", h.seq, h.hash)).unwrap();
    let short = receipt::Receipt::parse(&format!("{}:{}", h.seq, &h.hash[..16])).unwrap();
    for r in [&long, &short] {
        assert_eq!(
            receipt::check(&path, r).unwrap().0,
            receipt::ReceiptCheck::Present
        );
    }
    // Truncate to 12 entries: the receipt's entry is gone.
    let keep: String = b
        .text()
        .lines()
        .take(12)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, keep).unwrap();
    assert_eq!(
        receipt::check(&path, &short).unwrap().0,
        receipt::ReceiptCheck::Truncated { last_seq: 12 }
    );
    // Truncation *after* the receipt's entry still holds it.
    let keep: String = b
        .text()
        .lines()
        .take(13)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, keep).unwrap();
    assert_eq!(
        receipt::check(&path, &long).unwrap().0,
        receipt::ReceiptCheck::Present
    );
    // A rewritten history (a valid chain, different entries) does not hold it.
    let mut other = SignedHistory::new();
    for i in 0..20 {
        other.unsigned(
            events::DRILL,
            "2023-01-10T10:00:00Z",
            log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok", "i" => i},
        );
    }
    other.write(&vault);
    assert_eq!(
        receipt::check(&path, &long).unwrap().0,
        receipt::ReceiptCheck::Rewritten
    );
    let foreign =
        receipt::Receipt::parse(&format!("bg1:{}:1:{}", "ff".repeat(16), h.hash)).unwrap();
    assert!(matches!(
        receipt::check(&path, &foreign).unwrap().0,
        receipt::ReceiptCheck::OtherVault { .. }
    ));
}

#[test]
fn export_lines_have_the_documented_fields() {
    let (_d, vault, b) = written_history();
    let mut out = Vec::new();
    let (r, n) = governance::export::export(&vault.join("log.jsonl"), None, 19, &mut out).unwrap();
    assert_eq!((r.entries, n), (22, 3));
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&String> = lines[1].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "auth",
            "data",
            "event",
            "generation",
            "hash",
            "prev",
            "seq",
            "time",
            "vault"
        ]
    );
    // A custodian's entry also names who signed it.
    let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "auth",
            "data",
            "event",
            "generation",
            "hash",
            "prev",
            "seq",
            "signer",
            "time",
            "vault"
        ]
    );
    assert_eq!(
        (&lines[0]["seq"], &lines[0]["auth"], &lines[0]["signer"]),
        (
            &Value::from(20),
            &Value::from("custodian"),
            &Value::from("bob")
        )
    );
    assert_eq!(lines[2]["seq"], 22);
    assert_eq!(lines[2]["event"], "unseal-granted");
    assert_eq!(lines[2]["auth"], "quorum");
    assert_eq!(lines[2]["generation"], 3);
    assert_eq!(lines[2]["time"], "2025-02-01T12:00:00Z");
    assert_eq!(lines[2]["prev"], b.head_of(21).hash.as_str());
    assert_eq!(lines[2]["hash"], b.head_of(22).hash.as_str());
}

#[test]
fn html_page_is_self_contained_and_escapes_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = history();
    b.quorum(
        events::UNSEAL_GRANTED,
        "2025-03-01T00:00:00Z",
        grant(
            "<script>alert(1)</script>",
            "x\" onload=\"y",
            &["alice", "bob"],
        ),
    );
    b.write(&vault);
    let r = report_of(
        &vault,
        None,
        None,
        Some(report::Scenarios::parse(b"idp-outage <b>IdP</b> & co\n").unwrap()),
        ts("2025-03-02T00:00:00Z"),
    );
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

// ------------------------------ Governance counts only what is authenticated

/// A key nobody certified (the attacker's).
const ATTACKER: [u8; 32] = [0xee; 32];

/// The ways to forge an entry that claims a quorum: no signature (pins the
/// quorum rule of `governance::authentic` for the event), a key nobody
/// certified and a random `sig.value` (pin the signature check of
/// `log::trust`: a quorum entry counts only if it verifies under a key
/// certified for its generation), and a valid custodian signature (pins that
/// `authentic` wants a quorum, not just any authenticated author).
fn quorum_forgeries() -> Vec<(&'static str, Sig)> {
    vec![
        ("unsigned", Sig::None),
        ("attacker key", Sig::QuorumSeed(ATTACKER)),
        ("random signature", Sig::Random(Signer::Quorum)),
        ("a custodian's token", Sig::Custodian("alice".into())),
    ]
}

/// The ways to forge an entry that a custodian's token must sign.
fn custodian_forgeries(name: &str, other: &str) -> Vec<(&'static str, Sig)> {
    vec![
        ("unsigned", Sig::None),
        // `log::trust`: the signature must verify under the named
        // custodian's token key certified for the generation.
        (
            "another custodian's key",
            Sig::CustodianAs {
                claims: name.into(),
                key_of: other.into(),
            },
        ),
        (
            "random signature",
            Sig::Random(signed_history::Custodian::new(name).signer()),
        ),
        // `log::trust`: a token nobody certified for this generation.
        ("an uncertified token", Sig::Custodian("mallory".into())),
        // `governance::authentic`: a quorum's signature is not the custodian's.
        ("a quorum", Sig::Quorum(3)),
    ]
}

/// The forged list names exactly `seqs`, the log is not intact, exit 1.
fn assert_listed_forged(s: &Status, seqs: &[u64], event: &str, how: &str) {
    let listed: Vec<(u64, &str)> = s
        .forged
        .entries
        .iter()
        .map(|f| (f.seq, f.event.as_str()))
        .collect();
    let want: Vec<(u64, &str)> = seqs.iter().map(|s| (*s, event)).collect();
    assert_eq!(listed, want, "{how}: {:?}", s.forged);
    assert_eq!(s.forged.count, seqs.len() as u64, "{how}");
    assert!(!s.forged.entries[0].why.is_empty());
    assert!(
        !s.log_intact,
        "{how}: a forged entry breaks the log's standing"
    );
    assert_eq!(s.exit_code(), 1, "{how}");
    let j = s.to_json();
    assert_eq!(j["forged"]["count"], seqs.len(), "{how}");
    assert_eq!(j["forged"]["entries"][0]["seq"], seqs[0], "{how}");
}

fn assert_report_forged(r: &report::Report, seqs: &[u64], how: &str) {
    let listed: Vec<u64> = r.forged.entries.iter().map(|f| f.seq).collect();
    assert_eq!(listed, seqs, "{how}: {:?}", r.forged);
    assert!(!r.log_intact, "{how}");
    assert!(!r.targets_met(), "{how}");
    assert_eq!(r.to_json(VAULT)["forged"]["count"], seqs.len(), "{how}");
}

#[test]
fn forged_reseal_never_fulfils_a_rotation() {
    for (how, sig) in quorum_forgeries() {
        let (_d, vault, mut b) = written_history();
        // A complete-looking certificate for a generation 4 of the attacker's.
        let attacker = breakglass::sign::SigningKey::from_seed(&ATTACKER);
        let mut data = log_data! {"reason" => "reseal", "ticket" => "INC-4"};
        data.extend(b.certificate(4, &attacker, &"ab".repeat(32)));
        let seq = b.signed(events::SEALED, "2025-02-01T13:00:00Z", data, sig);
        b.write(&vault);
        let s = status(&vault, "2025-02-02T13:00:00Z");
        assert_listed_forged(&s, &[seq], "sealed", how);
        assert_eq!(
            s.overdue()
                .filter(|o| o.kind == ObligationKind::Rotation)
                .map(|o| o.grant.as_ref().map(|g| g.seq))
                .collect::<Vec<_>>(),
            [Some(22)],
            "{how}: the rotation after #22 is still due"
        );
        assert_eq!(s.last_rotation.map(|r| r.1), Some(18), "{how}");
        assert_eq!(s.generation, 3, "{how}: nothing certified generation 4");
        let r = report_of(&vault, None, None, None, ts("2025-02-02T13:00:00Z"));
        assert_report_forged(&r, &[seq], how);
        let q = &r.quarters["2025-Q1"];
        assert_eq!(
            (q.deactivated, q.not_deactivated, q.over_target),
            (0, 1, 1),
            "{how}"
        );
    }
}

#[test]
fn forged_unseal_grant_is_never_an_activation_or_an_open_session() {
    for (how, sig) in quorum_forgeries() {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::UNSEAL_GRANTED,
            "2025-02-01T12:30:00Z",
            grant("INC-X", "idp-outage", &["alice", "bob"]),
            sig,
        );
        b.write(&vault);
        let s = status(&vault, "2025-02-10T00:00:00Z");
        assert_listed_forged(&s, &[seq], "unseal-granted", how);
        assert_eq!(s.activations, 4, "{how}");
        assert_eq!(
            s.open_sessions.iter().map(|g| g.seq).collect::<Vec<_>>(),
            [22],
            "{how}"
        );
        assert!(
            !s.obligations
                .iter()
                .any(|o| o.grant.as_ref().is_some_and(|g| g.seq == seq)),
            "{how}: no rotation or review is due for a forged grant"
        );
        let r = report_of(&vault, None, None, None, ts("2025-02-10T00:00:00Z"));
        assert_report_forged(&r, &[seq], how);
        assert_eq!(r.total.activations, 4, "{how}");
        assert!(
            !r.timeline.iter().any(|m| m.seq == seq),
            "{how}: not on the timeline"
        );
    }
}

#[test]
fn forged_session_end_never_closes_a_session() {
    for (how, sig) in quorum_forgeries() {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::SESSION_ENDED,
            "2025-02-01T12:15:00Z",
            log_data! {"grant" => 22, "duration_s" => 900, "how" => "closed"},
            sig,
        );
        b.write(&vault);
        let s = status(&vault, "2025-02-01T13:00:00Z");
        assert_listed_forged(&s, &[seq], "session-ended", how);
        assert_eq!(
            s.open_sessions.iter().map(|g| g.seq).collect::<Vec<_>>(),
            [22],
            "{how}: the session is still open"
        );
    }
}

#[test]
fn forged_review_never_fulfils_a_review() {
    for (how, sig) in custodian_forgeries("alice", "bob") {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::REVIEW_RECORDED,
            "2025-02-01T12:30:00Z",
            log_data! {"grants" => [16], "ticket" => "INC-3", "complete" => true},
            sig,
        );
        b.write(&vault);
        let s = status(&vault, "2025-02-01T13:00:00Z");
        assert_listed_forged(&s, &[seq], "review-recorded", how);
        assert!(
            s.overdue().any(|o| o.kind == ObligationKind::Review
                && o.grant.as_ref().is_some_and(|g| g.seq == 16)),
            "{how}: the review of #16 is still overdue"
        );
        let r = report_of(&vault, None, None, None, ts("2025-02-01T13:00:00Z"));
        assert_report_forged(&r, &[seq], how);
        assert_eq!(r.quarters["2023-Q2"].reviewed, 1, "{how}");
        assert_eq!(r.total.reviewed, 2, "{how}");
    }
}

#[test]
fn forged_custodian_drill_never_counts() {
    for (how, sig) in custodian_forgeries("carol", "bob") {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::DRILL,
            "2025-02-01T12:40:00Z",
            log_data! {"kind" => "custodian", "custodian" => "carol", "result" => "ok"},
            sig,
        );
        b.write(&vault);
        let s = status(&vault, "2025-02-01T13:00:00Z");
        assert_listed_forged(&s, &[seq], "drill", how);
        let carol = s
            .obligations
            .iter()
            .find(|o| o.custodian.as_deref() == Some("carol"))
            .unwrap();
        assert!(carol.overdue, "{how}: carol's drill is still overdue");
        assert_eq!(carol.due.to_rfc3339(), "2024-03-19T09:01:00Z", "{how}");
        assert_eq!(
            s.custodians[2].last_drill.as_ref().map(|d| d.seq),
            Some(13),
            "{how}"
        );
        let r = report_of(&vault, None, None, None, ts("2025-02-01T13:00:00Z"));
        assert_report_forged(&r, &[seq], how);
        assert_eq!(r.quarters["2025-Q1"].drills.get("carol"), None, "{how}");
    }
}

/// A forged quorum drill does not count for the custodians it lists
/// (pins the quorum rule of `authentic` for drills that are not a
/// custodian's, and the signature check of `log::trust`).
#[test]
fn forged_quorum_drill_never_counts() {
    for (how, sig) in quorum_forgeries() {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::DRILL,
            "2025-02-01T12:40:00Z",
            log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok", "request" => 0},
            sig,
        );
        b.write(&vault);
        let s = status(&vault, "2025-02-01T13:00:00Z");
        assert_listed_forged(&s, &[seq], "drill", how);
        assert!(
            s.overdue().any(|o| o.custodian.as_deref() == Some("carol")),
            "{how}"
        );
        assert_eq!(
            s.custodians[2].last_drill.as_ref().map(|d| d.seq),
            Some(13),
            "{how}"
        );
    }
}

/// bob's valid signature on a drill that names carol: `log::trust` says bob
/// wrote it (it verifies), and `governance::authentic` refuses it for carol
/// (pins its `by_custodian(named custodian)` check). Claiming carol's token
/// but signing with bob's key is forged outright (pins `log::trust`).
#[test]
fn drill_signed_by_another_custodian_does_not_count_for_the_named_one() {
    for (how, sig, verifies) in [
        (
            "bob's token, naming carol",
            Sig::Custodian("bob".into()),
            true,
        ),
        (
            "carol's token claimed, bob's key",
            Sig::CustodianAs {
                claims: "carol".into(),
                key_of: "bob".into(),
            },
            false,
        ),
    ] {
        let (_d, vault, mut b) = written_history();
        let seq = b.signed(
            events::DRILL,
            "2025-02-01T12:40:00Z",
            log_data! {"kind" => "custodian", "custodian" => "carol", "result" => "ok"},
            sig,
        );
        b.write(&vault);
        let v = open(&vault);
        let mut authn = None;
        let h = breakglass::history::read(&v, |e, a| {
            if e.seq == seq {
                authn = Some(a.clone());
            }
        })
        .unwrap();
        drop(v);
        let a = authn.unwrap();
        if verifies {
            assert!(a.by_custodian("bob") && !a.by_custodian("carol"), "{a:?}");
            assert!(h.report.is_intact(), "the signature itself is bob's");
        } else {
            assert_eq!(a.as_str(), "forged", "{how}");
        }
        let s = status(&vault, "2025-02-01T13:00:00Z");
        assert_listed_forged(&s, &[seq], "drill", how);
        assert!(
            s.overdue().any(|o| o.custodian.as_deref() == Some("carol")),
            "{how}: carol has still not drilled"
        );
        assert_eq!(
            s.custodians[1].last_drill.as_ref().map(|d| d.seq),
            Some(21),
            "{how}: nor does it count for bob"
        );
    }
}

/// Once generation 1 has certified generation 2, generation 1's key is
/// dead: entries it signs after its certificate are forged (pins the
/// dead-generation check of `log::trust`, `e.generation < active`, and that
/// a successor certificate kills its certifier at once). Before that, the
/// same key counts (the positive control).
#[test]
fn entries_of_a_dead_generation_are_forged() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = SignedHistory::new();
    b.init("2024-01-01T00:00:00Z", &["alice", "bob", "carol"], 2);
    // Generation 1's quorum before its successor's certificate: counts.
    let alive = b.raw(
        events::UNSEAL_GRANTED,
        1,
        "2024-01-01T12:00:00Z",
        grant("INC-1", "idp-outage", &["alice", "bob"]),
        Sig::Quorum(1),
    );
    b.seal("2024-01-02T00:00:00Z", log_data! {"reason" => "reseal"});
    assert_eq!(b.generation(), 2);
    // Generation 2 signs (a quorum drill): generation 1 is dead from here on.
    b.quorum(
        events::DRILL,
        "2024-01-04T00:00:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["alice", "bob", "carol"], "result" => "ok"},
    );
    let dead_end = b.raw(
        events::SESSION_ENDED,
        1,
        "2024-01-05T00:00:00Z",
        log_data! {"grant" => alive, "duration_s" => 60, "how" => "closed"},
        Sig::Quorum(1),
    );
    let dead_grant = b.raw(
        events::UNSEAL_GRANTED,
        1,
        "2024-01-06T00:00:00Z",
        grant("INC-2", "idp-outage", &["alice", "bob"]),
        Sig::Quorum(1),
    );
    let dead_reseal = b.raw(
        events::SEALED,
        1,
        "2024-01-07T00:00:00Z",
        log_data! {"reason" => "reseal"},
        Sig::Quorum(1),
    );
    b.write(&vault);
    let s = status(&vault, "2024-01-08T00:00:00Z");
    let listed: Vec<(u64, &str)> = s
        .forged
        .entries
        .iter()
        .map(|f| (f.seq, f.event.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (dead_end, "session-ended"),
            (dead_grant, "unseal-granted"),
            (dead_reseal, "sealed")
        ]
    );
    assert!(
        s.forged.entries[0].why.contains("dead generation"),
        "{:?}",
        s.forged
    );
    assert_eq!(s.exit_code(), 1);
    assert_eq!(s.activations, 1, "only the grant of the live generation");
    assert_eq!(
        s.open_sessions.iter().map(|g| g.seq).collect::<Vec<_>>(),
        [alive],
        "a dead generation cannot close it"
    );
    assert!(
        s.last_rotation
            .is_some_and(|(_, seq, _)| seq != dead_reseal && seq < dead_end),
        "a dead generation's reseal is no rotation: {:?}",
        s.last_rotation
    );
    assert_eq!(s.generation, 2);
    let r = report_of(&vault, None, None, None, ts("2024-01-08T00:00:00Z"));
    assert_report_forged(&r, &[dead_end, dead_grant, dead_reseal], "dead generation");
    assert_eq!(r.total.activations, 1);
}

/// An unsigned entry after the last signature is counted as such, and a
/// governance entry among them is listed (the status says how many entries
/// nobody vouches for).
#[test]
fn unsigned_tail_is_reported() {
    let (_d, vault, mut b) = written_history();
    b.unsigned(
        events::UNSEAL_REQUESTED,
        "2025-02-01T12:10:00Z",
        log_data! {"ticket" => "INC-5", "reason" => "idp-outage"},
    );
    let seq = b.unsigned(
        events::REVIEW_RECORDED,
        "2025-02-01T12:20:00Z",
        log_data! {"grants" => [22], "ticket" => "INC-4", "complete" => true},
    );
    b.write(&vault);
    let s = status(&vault, "2025-02-01T13:00:00Z");
    assert_eq!(s.unsigned_after_last_signature, 2);
    assert_listed_forged(&s, &[seq], "review-recorded", "unsigned review");
    assert!(
        s.obligations
            .iter()
            .any(|o| o.kind == ObligationKind::Review
                && o.grant.as_ref().is_some_and(|g| g.seq == 22))
    );
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
            "--custodian",
            "alice",
            "--identity",
            "alice.identity",
            ANS[0],
            ANS[1],
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
            "--custodian",
            "alice",
            "--identity",
            "alice.identity",
            "--json",
            ANS[0],
            ANS[1],
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
    // After the reseal the vault is at generation 2; every signature of the
    // log verifies with public data, those of generation 1 included.
    assert_eq!(d["generation"], 2, "{d}");
    assert!(d["signatures_verified"].as_u64().unwrap() >= 6, "{d}");
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
    let failed_seq: u64 = d["receipt"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();

    // Report: one activation (drills are not activations), reviewed, resealed after 25 h.
    // The failed drill is logged unsigned (the token signs only a drill
    // whose share opened); a failed drill fulfils nothing, so it is counted
    // as claimed: carol's failed drill is in `drills_failed`, and the report
    // exits 0 (it once listed the failure as forged and exited 1 forever).
    std::fs::write(cli.vault().join("scenarios"), "idp-outage IdP down\n").unwrap();
    let o = cli.run(
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
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let q = &r["quarters"]["2023-Q1"];
    assert_eq!(q["activations"], 1, "{r}");
    assert_eq!(q["reviewed"], 1);
    assert_eq!(q["deactivation_max_s"], 25 * 3600);
    assert_eq!(q["over_target"], 1);
    assert_eq!(q["outside_scenarios"], 0);
    assert_eq!(r["quarters"]["2024-Q1"]["drills"]["bob"], 1);
    assert_eq!(r["forged"]["count"], 0, "{r}");
    assert_eq!(
        r["quarters"]["2024-Q1"]["drills_failed"]["carol"], 1,
        "the failed drill (entry {failed_seq}) counts: {r}"
    );
    assert_eq!(r["quarters"]["2024-Q1"]["activations"], 0);
    assert_eq!(r["total"]["activations"], 1);
    let html = std::fs::read_to_string(cli.work().join("report.html")).unwrap();
    assert!(html.contains("INC-7") && html.contains("<svg"));
    let o = cli.run(
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
    assert_eq!(
        o.status.code(),
        Some(0),
        "the failed drill counts, it is not forged"
    );
    let table = String::from_utf8(o.stdout).unwrap();
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
    assert_eq!(lines[0]["auth"], "quorum");
    assert_eq!(lines[5]["auth"], "custodian");
    assert_eq!(lines[5]["signer"], "alice");
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
            serde_json::json!({"confirm": {"review.edit-again": again},
                               "passphrases": {"alice": pass("alice")}})
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
                "--custodian",
                "alice",
                "--identity",
                "alice.identity",
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

/// After a reseal certifies generation 2, and before generation 2 has signed
/// anything, a quorum of generation 1 (the old shares, "dead" once the
/// reseal is sealed) appends a second `sealed` entry certifying another
/// generation 2 (its own custodians) and puts that manifest in `g000002/`.
/// `log::trust` used to accept the second certificate (it killed a
/// generation only once its successor signed) and `history` offered the
/// forged generation as pending, to be installed by the next ceremony. A
/// successor certificate now kills its certifier at once: the fork is
/// forged and counts for nothing.
#[test]
fn a_dead_quorum_cannot_fork_the_next_generation() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = SignedHistory::new();
    b.init("2024-01-01T00:00:00Z", &["alice", "bob", "carol"], 2);
    b.seal("2024-01-02T00:00:00Z", log_data! {"reason" => "reseal"});
    b.write(&vault);
    // The same history sealed for the attacker's custodians: its generation 2 manifest.
    let mut fork = SignedHistory::new();
    fork.init("2024-01-01T00:00:00Z", &["alice", "bob", "carol"], 2);
    fork.set_roster(&["mallory", "trent"], 2);
    fork.seal("2024-01-02T00:00:00Z", log_data! {"reason" => "reseal"});
    let forged_manifest = fork.manifest_bytes().to_vec();
    b.set_roster(&["mallory", "trent"], 2);
    let mut data = log_data! {"reason" => "reseal"};
    data.extend(b.certificate(
        2,
        &signed_history::generation_key(2),
        &breakglass::manifest::sha256_hex(&forged_manifest),
    ));
    let seq = b.raw(
        events::SEALED,
        1,
        "2024-01-03T00:00:00Z",
        data,
        Sig::Quorum(1),
    );
    b.write(&vault);
    std::fs::write(
        vault
            .join(breakglass::manifest::generation_dir(2))
            .join("manifest.json"),
        &forged_manifest,
    )
    .unwrap();
    let h = breakglass::history::read(&open(&vault), |_, _| {}).unwrap();
    assert_eq!(
        h.manifest
            .custodians
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob", "carol"],
        "{:?}",
        h.standing
    );
    let s = status(&vault, "2024-01-04T00:00:00Z");
    assert_listed_forged(&s, &[seq], "sealed", "a dead quorum's second certificate");
}

/// `log verify` takes a live quorum's checkpoint on its word (SECURITY.md,
/// "Checkpoints"); `--every-signature` does not, and names the custodian
/// drill whose signature does not hold although a checkpoint covered it.
#[test]
fn every_signature_finds_what_a_lying_quorum_checkpoint_covered() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = SignedHistory::new();
    b.init("2026-01-01T00:00:00Z", &["alice", "bob", "carol"], 2);
    let alice = b.custodian("alice").signer();
    let forged = b.signed(
        events::DRILL,
        "2026-02-01T00:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
        Sig::Random(alice),
    );
    b.verified_through(Some(b.entries()));
    b.quorum(
        events::DRILL,
        "2026-02-02T00:00:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["alice", "bob"], "result" => "ok"},
    );
    b.write(&dir.path().join("vault"));
    let verify = |extra: &[&str]| -> (i32, Value) {
        let o = Command::new(BIN)
            .args(["log", "verify", "--vault", "vault", "--json"])
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            serde_json::from_slice(&o.stdout).unwrap(),
        )
    };
    let (code, j) = verify(&[]);
    assert_eq!((code, &j["ok"]), (0, &Value::Bool(true)), "{j}");
    let (code, j) = verify(&["--every-signature"]);
    assert_eq!(code, 1, "{j}");
    assert_eq!(j["forged"][0]["seq"], forged, "{j}");
    assert_eq!(j["signatures"]["forged"], 1, "{j}");
}
