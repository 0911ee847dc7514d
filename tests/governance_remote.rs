//! Issue 12: `status` and `report` count remote presentations, and the HTML
//! timeline marks them — through the binary, over real format 2 vaults
//! built by `support/signed_history.rs` (quorum entries signed by the
//! generation key, custodian entries by their token). Remote presentations
//! come from the `remote` member of quorum-signed `unseal-granted`,
//! `sealed` and `drill` entries only; the unsigned `share-*` lines with
//! `remote: true`, and unsigned or forged copies of signed entries, count
//! for nothing.

#[path = "support/signed_history.rs"]
mod signed_history;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use breakglass::log::events;
use serde_json::{json, Value};
use signed_history::{json_map, Sig, SignedHistory};

const BIN: &str = env!("CARGO_BIN_EXE_breakglass");
const NOW: &str = "2025-06-01T00:00:00Z";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("BREAKGLASS_TEST_NOW", NOW)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), String::from_utf8_lossy(&o.stderr)))
}

fn grant(ticket: &str, custodians: &[&str], remote: Value) -> serde_json::Map<String, Value> {
    json_map(
        json!({"ticket": ticket, "reason": "idp-outage: test", "custodians": custodians,
                    "entries": ["aws-root"], "session_limit_s": 900, "request": 0,
                    "remote": remote}),
    )
}

/// The unsigned lines a remote presentation writes (anyone could write them).
fn share_lines(b: &mut SignedHistory, time: &str, custodian: &str) {
    b.unsigned(
        events::SHARE_REQUESTED,
        time,
        json_map(
            json!({"custodian": custodian, "request": 0, "request_digest": "ab".repeat(32),
                        "session_key": "cd".repeat(32), "channel": "phone",
                        "expires": NOW, "remote": true}),
        ),
    );
    b.unsigned(
        events::SHARE_ACCEPTED,
        time,
        json_map(
            json!({"custodian": custodian, "request": 0, "token": "t", "remote": true,
                        "channel": "phone", "response": "ef".repeat(32)}),
        ),
    );
}

/// A clean vault (every obligation met at [`NOW`]) whose log has remote
/// presentations, one of them older than 12 months:
///
/// | time       | entry                                             | remote      |
/// |------------|---------------------------------------------------|-------------|
/// | 2024-02-01 | unseal-granted INC-1 alice+bob                     | alice       |
/// | 2024-02-01 | sealed reseal                                      | —           |
/// | 2025-03-01 | share lines of bob and carol (unsigned)            | (not counted) |
/// | 2025-03-01 | unseal-granted INC-2 bob+carol                     | bob, carol  |
/// | 2025-03-01 | sealed reseal                                      | carol       |
/// | 2025-04-01 | drill quorum alice+bob                             | bob         |
/// | 2025-04-02 | drill custodian carol (her token)                  | —           |
fn clean_vault() -> (tempfile::TempDir, PathBuf, u64) {
    let mut b = SignedHistory::new();
    b.init("2024-01-10T10:00:00Z", &["alice", "bob", "carol"], 2);
    b.unsigned(
        events::UNSEAL_REQUESTED,
        "2024-02-01T08:00:00Z",
        json_map(json!({"ticket": "INC-1"})),
    );
    share_lines(&mut b, "2024-02-01T08:01:00Z", "alice");
    let g1 = b.quorum(
        events::UNSEAL_GRANTED,
        "2024-02-01T08:05:00Z",
        grant("INC-1", &["alice", "bob"], json!(["alice"])),
    );
    b.quorum(
        events::SESSION_ENDED,
        "2024-02-01T08:20:00Z",
        json_map(json!({"grant": g1})),
    );
    b.seal(
        "2024-02-01T10:05:00Z",
        json_map(json!({"reason": "reseal", "ticket": "INC-1", "entries": ["aws-root"]})),
    );
    b.by(
        "alice",
        events::REVIEW_RECORDED,
        "2024-02-03T12:00:00Z",
        json_map(json!({"grants": [g1], "ticket": "INC-1", "complete": true})),
    );
    share_lines(&mut b, "2025-03-01T08:01:00Z", "bob");
    share_lines(&mut b, "2025-03-01T08:02:00Z", "carol");
    let g2 = b.quorum(
        events::UNSEAL_GRANTED,
        "2025-03-01T08:05:00Z",
        grant("INC-2", &["bob", "carol"], json!(["bob", "carol"])),
    );
    b.quorum(
        events::SESSION_ENDED,
        "2025-03-01T08:30:00Z",
        json_map(json!({"grant": g2})),
    );
    share_lines(&mut b, "2025-03-01T08:50:00Z", "carol");
    b.seal(
        "2025-03-01T09:00:00Z",
        json_map(
            json!({"reason": "reseal", "ticket": "INC-2", "entries": ["aws-root"],
                        "remote": ["carol"]}),
        ),
    );
    b.by(
        "bob",
        events::REVIEW_RECORDED,
        "2025-03-02T12:00:00Z",
        json_map(json!({"grants": [g2], "ticket": "INC-2", "complete": true})),
    );
    b.unsigned(
        events::DRILL_REQUESTED,
        "2025-04-01T09:00:00Z",
        json_map(json!({"kind": "quorum"})),
    );
    share_lines(&mut b, "2025-04-01T09:01:00Z", "bob");
    b.quorum(
        events::DRILL,
        "2025-04-01T09:05:00Z",
        json_map(
            json!({"kind": "quorum", "custodians": ["alice", "bob"], "result": "ok",
                        "request": 0, "signatures_verified": 12, "remote": ["bob"]}),
        ),
    );
    let token = b.custodian("carol").fingerprint.clone();
    b.by(
        "carol",
        events::DRILL,
        "2025-04-02T09:00:00Z",
        json_map(
            json!({"kind": "custodian", "custodian": "carol", "result": "ok", "token": token}),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    b.write(&vault);
    (dir, vault, g2)
}

#[test]
fn status_counts_remote_presentations_of_signed_entries() {
    let (dir, _vault, _) = clean_vault();
    let o = run(dir.path(), &["status", "--vault", "vault", "--json"]);
    let s = json_of(&o);
    assert_eq!(o.status.code(), Some(0), "{s:#}");
    assert_eq!(s["forged"]["count"], 0, "{s:#}");
    let r = &s["remote"];
    assert_eq!(
        r["all_time"],
        json!({"unseals": 2, "seals": 1, "drills": 1, "presentations": 5,
               "by_custodian": {"alice": 1, "bob": 2, "carol": 2}}),
        "{r:#}"
    );
    assert_eq!(
        r["last_12_months"],
        json!({"since": "2024-06-01T00:00:00Z", "unseals": 1, "seals": 1, "drills": 1,
               "presentations": 4, "by_custodian": {"bob": 2, "carol": 2}}),
        "{r:#}"
    );
    assert_eq!(r["ignored"], json!({"count": 0, "entries": []}));

    let text = stdout(&run(dir.path(), &["status", "--vault", "vault"]));
    assert!(
        text.contains("remote         last 12 months: 1 unseals, 1 seals, 1 drills with a remote custodian; 4 presentations (bob 2, carol 2)"),
        "{text}"
    );
    assert!(
        text.contains("remote         all time: 2 unseals, 1 seals, 1 drills with a remote custodian; 5 presentations (alice 1, bob 2, carol 2)"),
        "{text}"
    );
}

#[test]
fn report_outputs_count_and_mark_remote_presentations() {
    let (dir, _vault, g2) = clean_vault();
    let o = run(dir.path(), &["report", "--vault", "vault", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let r = json_of(&o);
    assert_eq!(
        r["total"]["remote"],
        json!({"unseals": 2, "seals": 1, "drills": 1, "presentations": 5,
               "by_custodian": {"alice": 1, "bob": 2, "carol": 2}})
    );
    assert_eq!(
        r["quarters"]["2024-Q1"]["remote"]["by_custodian"],
        json!({"alice": 1})
    );
    assert_eq!(
        r["quarters"]["2025-Q1"]["remote"]["by_custodian"],
        json!({"bob": 1, "carol": 2})
    );
    assert_eq!(
        r["quarters"]["2025-Q2"]["remote"]["by_custodian"],
        json!({"bob": 1})
    );
    assert_eq!(r["remote_ignored"]["count"], 0);
    let events: Vec<(String, Value)> = r["remote_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["remote"].clone()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("unseal".into(), json!(["alice"])),
            ("unseal".into(), json!(["bob", "carol"])),
            ("reseal".into(), json!(["carol"])),
            ("drill".into(), json!(["bob"])),
        ]
    );
    assert_eq!(r["remote_events"][1]["seq"], g2);

    // --from limits the counts to the range.
    let o = run(
        dir.path(),
        &[
            "report",
            "--vault",
            "vault",
            "--json",
            "--from",
            "2025-01-01",
        ],
    );
    let r = json_of(&o);
    assert_eq!(r["total"]["remote"]["presentations"], 4);
    assert!(r["total"]["remote"]["by_custodian"].get("alice").is_none());

    // Text: the per-quarter section and one line per remote entry.
    let html = dir.path().join("page.html");
    let o = run(
        dir.path(),
        &[
            "report",
            "--vault",
            "vault",
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.contains("remote presentations (quorum-signed unseals, seals and drills only):"),
        "{text}"
    );
    assert!(
        text.contains("  total    2 unseals, 1 seals, 1 drills with a remote custodian; 5 presentations (alice 1, bob 2, carol 2)"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  unseal #{g2} 2025-03-01T08:05:00Z INC-2: remote bob, carol"
        )),
        "{text}"
    );

    // HTML: an R beside each of the four marks (and in the legend), the
    // names in the tooltips and, as text, in the events table.
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches(">R</text>").count(), 5, "{page}");
    assert!(page.contains("(remote: bob, carol)</title>"));
    assert!(page.contains("<b>R</b> beside a mark: a custodian presented remotely"));
    assert!(page.contains(
        "<td>bob <b class=\"remote\">(remote)</b>, carol <b class=\"remote\">(remote)</b></td>"
    ));
    assert!(page.contains("<td>alice, bob <b class=\"remote\">(remote)</b></td>"));
    assert!(page.contains("<td><b class=\"remote\">remote:</b> carol</td>"));
    assert!(page.contains("<th>remote presentations</th>"));
    assert!(page.contains("alice: 1, bob: 2, carol: 2 (2 unseals, 1 seals, 1 drills)"));
}

/// A vault where someone with write access appended remote claims: unsigned
/// and forged grants, share lines, and quorum-signed entries whose `remote`
/// names someone who did not present or is not a list.
#[test]
fn unsigned_forged_and_malformed_remote_claims_are_not_counted() {
    let mut b = SignedHistory::new();
    b.init("2025-01-10T10:00:00Z", &["alice", "bob", "carol"], 2);
    share_lines(&mut b, "2025-02-01T08:00:00Z", "carol");
    let unsigned = b.unsigned(
        events::UNSEAL_GRANTED,
        "2025-02-01T08:05:00Z",
        grant("INC-U", &["alice", "carol"], json!(["carol"])),
    );
    let forged = b.signed(
        events::UNSEAL_GRANTED,
        "2025-02-01T08:06:00Z",
        grant("INC-F", &["alice", "carol"], json!(["carol"])),
        Sig::QuorumSeed([7; 32]),
    );
    let stranger = b.quorum(
        events::UNSEAL_GRANTED,
        "2025-02-01T09:00:00Z",
        grant(
            "INC-3",
            &["alice", "bob"],
            json!(["mallory", "alice", "carol"]),
        ),
    );
    let not_a_list = b.quorum(
        events::UNSEAL_GRANTED,
        "2025-02-01T09:30:00Z",
        grant("INC-4", &["alice", "bob"], json!("bob")),
    );
    let dir = tempfile::tempdir().unwrap();
    b.write(&dir.path().join("vault"));

    let o = run(dir.path(), &["status", "--vault", "vault", "--json"]);
    let s = json_of(&o);
    assert_eq!(o.status.code(), Some(1), "a forged grant fails the status");
    let listed: Vec<u64> = s["forged"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![unsigned, forged]);
    let r = &s["remote"];
    assert_eq!(
        r["all_time"],
        json!({"unseals": 1, "seals": 0, "drills": 0, "presentations": 1,
               "by_custodian": {"alice": 1}}),
        "{r:#}"
    );
    assert_eq!(r["ignored"]["count"], 2, "{r:#}");
    let ignored: Vec<(u64, String)> = r["ignored"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["seq"].as_u64().unwrap(),
                f["why"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ignored[0].0, stranger);
    assert!(ignored[0].1.contains("carol, mallory"), "{}", ignored[0].1);
    assert_eq!(ignored[1].0, not_a_list);
    let text = stdout(&run(dir.path(), &["status", "--vault", "vault"]));
    assert!(
        text.contains(&format!(
            "remote         entry {stranger} (unseal-granted) lists as remote carol, mallory"
        )),
        "{text}"
    );

    let o = run(dir.path(), &["report", "--vault", "vault", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let r = json_of(&o);
    assert_eq!(r["total"]["remote"]["by_custodian"], json!({"alice": 1}));
    assert_eq!(r["remote_ignored"]["count"], 2);
    assert_eq!(r["remote_events"].as_array().unwrap().len(), 1);
    let html = dir.path().join("page.html");
    let o = run(
        dir.path(),
        &[
            "report",
            "--vault",
            "vault",
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert!(stdout(&o)
        .contains("WARNING: 2 entries have a remote member that was not (fully) counted:"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        page.matches(">R</text>").count(),
        2,
        "one mark and the legend"
    );
    assert!(!page.contains("INC-U") && !page.contains("INC-F"));
    assert!(page.contains("<li>entry"));
    assert!(page.contains("mallory"));
}
