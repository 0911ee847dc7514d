//! Resumed verification (`log::verify_resuming` with a [`Resume`]): a
//! verification that resumes after a prefix it verified before gives the
//! report a verification from the first byte gives, visits exactly the
//! entries after the prefix with the same authentication, and ends in the
//! same state to resume from — for every split point tried of real signed
//! histories (checkpointed, more than two of the fast path's 1 MiB blocks,
//! with forged entries, with a torn final line), with the resume carried
//! through JSON as the cache stores it. A resume that does not fit the file
//! (truncated, rewritten, replaced, another log, another layout, an anchor it
//! was never compared with, absurd numbers) is silently ignored: the
//! verification starts from the first byte. And the documented proviso is
//! pinned down: an edit further back in the prefix than its last line is not
//! seen by a resumed verification (a full one sees it).

#[path = "support/signed_history.rs"]
mod signed_history;

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use breakglass::clock::Timestamp;
use breakglass::encoding::{canonical_json, hex};
use breakglass::log::trust::Authn;
use breakglass::log::{self, events, By, Log, LogHead, Resume, Resumed, VerifyReport};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use signed_history::{json_map, Sig, SignedHistory, VAULT};

/// Another vault's id (for logs that are not the test vault's).
const OTHER_VAULT: &str = "ffeeddccbbaa99887766554433221100";

/// The fast path's block size (`src/log/fast/mod.rs`).
const BLOCK: usize = 1 << 20;

// ------------------------------------------------------------------ logs

/// A signed format 2 history: init, then `cycles` cycles
/// ([`SignedHistory::unseal_cycle`]).
fn history_with(cycles: u64, checkpoints: bool) -> SignedHistory {
    let mut h = SignedHistory::new();
    h.init(Timestamp(1_800_000_000), &["alice", "bob", "carol"], 2);
    for i in 0..cycles {
        h.unseal_cycle(i, checkpoints);
    }
    h
}

/// A checkpointed history, then entries nobody entitled signed (a random
/// signature claiming alice, bob's claim signed with alice's key, a random
/// quorum signature, a quorum entry under a key nobody certified), then
/// more honest cycles whose checkpoints stop before the forgeries (as an
/// honest writer's do). Returns the text and the forged entries' seqs.
fn forged_history() -> (Vec<u8>, Vec<u64>) {
    let mut h = history_with(40, true);
    let honest = h.entries();
    let mut forged = h.forgeries(Timestamp(1_900_000_000));
    forged.push(h.signed(
        events::DRILL,
        Timestamp(1_900_000_000),
        json_map(json!({"kind": "quorum", "custodians": ["alice", "bob"]})),
        Sig::QuorumSeed([7; 32]),
    ));
    h.verified_through(Some(honest));
    for i in 40..60 {
        h.unseal_cycle(i, false);
    }
    (h.text().as_bytes().to_vec(), forged)
}

/// An unsigned log of another vault, at least `min_len` bytes long.
fn other_vault_log(min_len: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut head = None;
    let mut i = 0i64;
    while out.len() < min_len {
        let log = Log::at_head(Path::new("unused"), OTHER_VAULT, head.take());
        let (line, h) = log
            .build_line(
                events::DRILL,
                1,
                json_map(json!({"kind": "note", "n": i, "pad": "x".repeat(150)})),
                Timestamp(1_700_000_000 + i),
                By::Nobody,
            )
            .expect("line");
        out.push_str(&line);
        head = Some(h);
        i += 1;
    }
    out.into_bytes()
}

/// Byte offsets just past each complete line (`ends[k - 1]`: the length of
/// the first `k` lines).
fn line_ends(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

/// The (hash, seq) of line `k` (1-based) of `bytes`.
fn head_of_line(bytes: &[u8], k: usize) -> LogHead {
    let ends = line_ends(bytes);
    let start = if k == 1 { 0 } else { ends[k - 2] };
    let v: Value = serde_json::from_slice(&bytes[start..ends[k - 1] - 1]).expect("a JSON line");
    LogHead {
        hash: v["hash"].as_str().expect("hash").to_owned(),
        seq: v["seq"].as_u64().expect("seq"),
    }
}

/// Re-hashes one line (without its newline) after an edit.
fn rehash(line: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(line).expect("a JSON line");
    v.as_object_mut().expect("an object").remove("hash");
    let body = canonical_json(&v).expect("canonical");
    let h = hex(&Sha256::digest(body.as_bytes()));
    v.as_object_mut()
        .expect("an object")
        .insert("hash".into(), h.into());
    canonical_json(&v).expect("canonical").into_bytes()
}

// ------------------------------------------------------------- verifying

type Visits = Vec<(u64, Authn)>;

/// `verify_resuming`, with the (seq, authentication) of every entry visited.
fn run(path: &Path, anchor: Option<&LogHead>, from: Option<&Resume>) -> (Resumed, Visits) {
    let mut visits = Vec::new();
    let r = log::verify_resuming(path, anchor, from, log::Reads::Data, |e, a| {
        visits.push((e.seq, a.clone()))
    })
    .expect("the log file is readable");
    (r, visits)
}

/// Everything a report says, as one comparable text.
fn text(r: &VerifyReport) -> String {
    format!(
        "intact={} chain_intact={} explain={:?} report={:?}",
        r.is_intact(),
        r.chain_intact(),
        r.explain(),
        r
    )
}

fn json_of(r: &Resume) -> Vec<u8> {
    serde_json::to_vec(r).expect("a resume serializes")
}

fn resume_json(r: &Resumed) -> Option<Vec<u8>> {
    r.resume.as_ref().map(json_of)
}

/// `r` through JSON and back, as the cache stores it (byte-stable).
fn round_trip(r: &Resume) -> Resume {
    let j = json_of(r);
    let back: Resume = serde_json::from_slice(&j).expect("a resume deserializes");
    assert_eq!(
        json_of(&back),
        j,
        "a resume's JSON round trip is byte-stable"
    );
    back
}

/// `r` as a JSON value edited by `edit`, read back (None if serde refuses).
fn edited(r: &Resume, edit: impl FnOnce(&mut Value)) -> Option<Resume> {
    let mut v: Value = serde_json::from_slice(&json_of(r)).expect("JSON");
    edit(&mut v);
    serde_json::from_value(v).ok()
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open to append");
    f.write_all(bytes).expect("append");
}

/// The file at `path` now, verified from the first byte.
fn full(path: &Path, anchor: Option<&LogHead>) -> (Resumed, Visits) {
    let (r, v) = run(path, anchor, None);
    assert!(r.resumed_after.is_none(), "from = None never resumes");
    (r, v)
}

/// Verifying `path` from `resume` does not resume, and gives exactly what
/// a verification from the first byte gives (report, visits, end state).
fn assert_not_resumed(what: &str, path: &Path, anchor: Option<&LogHead>, resume: &Resume) {
    let (want, want_visits) = full(path, anchor);
    let (got, got_visits) = run(path, anchor, Some(resume));
    assert_eq!(
        got.resumed_after, None,
        "{what}: the resume does not fit, yet it resumed"
    );
    assert_eq!(text(&got.report), text(&want.report), "{what}: report");
    assert_eq!(got_visits, want_visits, "{what}: visits");
    assert_eq!(resume_json(&got), resume_json(&want), "{what}: end state");
}

/// Verifying `path` from `resume` resumes after `head` and gives exactly
/// what a verification from the first byte gives: the same report and end
/// state, and the full run's visits after `head`. Returns the report.
fn assert_resumed(
    what: &str,
    path: &Path,
    anchor: Option<&LogHead>,
    resume: &Resume,
    head: &LogHead,
) -> VerifyReport {
    let (want, want_visits) = full(path, anchor);
    let (got, got_visits) = run(path, anchor, Some(resume));
    assert_eq!(
        got.resumed_after.as_ref(),
        Some(head),
        "{what}: did not resume after the prefix"
    );
    assert_eq!(text(&got.report), text(&want.report), "{what}: report");
    let after: Visits = want_visits
        .into_iter()
        .filter(|(s, _)| *s > head.seq)
        .collect();
    assert_eq!(got_visits, after, "{what}: visits");
    assert_eq!(resume_json(&got), resume_json(&want), "{what}: end state");
    got.report
}

/// Writes the first `k` lines of `log` to `path` (a new file), verifies
/// them with `anchor` and returns the resume (checked against the prefix).
fn prefix_resume(path: &Path, log: &[u8], k: usize, anchor: Option<&LogHead>) -> Resume {
    let ends = line_ends(log);
    std::fs::write(path, &log[..ends[k - 1]]).expect("write the prefix");
    let (p, _) = full(path, anchor);
    let resume = p.resume.unwrap_or_else(|| {
        panic!(
            "a clean prefix of {k} lines gives a resume: {}",
            text(&p.report)
        )
    });
    assert_eq!(
        resume.head(),
        Some(&head_of_line(log, k)),
        "head of the prefix"
    );
    assert_eq!(
        resume.covers(),
        ends[k - 1] as u64,
        "bytes the prefix covers"
    );
    resume
}

// ----------------------------------------------------------- equivalence

/// Split points for a log of `n` lines: the first lines, the neighbourhood
/// of every block boundary, the last lines, and `random` seeded ones.
fn splits(log: &[u8], random: usize, seed: u64) -> Vec<usize> {
    let ends = line_ends(log);
    let n = ends.len();
    let mut out = vec![1, 2, n / 2, n - 1, n];
    let mut boundary = BLOCK;
    while boundary < log.len() {
        // The line that crosses the boundary is line `i + 1`.
        if let Some(i) = ends.iter().position(|&e| e > boundary) {
            for k in [i.saturating_sub(1), i, i + 1, i + 2] {
                out.push(k);
            }
        }
        boundary += BLOCK;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..random {
        out.push(rng.gen_range(1..=n));
    }
    out.retain(|&k| (1..=n).contains(&k));
    out.sort_unstable();
    out.dedup();
    out
}

/// For every split `k`: the first `k` lines are verified, their resume goes
/// through JSON, the rest is appended (same file), and the resumed
/// verification must match the full one in every respect.
fn assert_resumes_like_full(name: &str, log: &[u8], ks: &[usize], anchor: Option<&LogHead>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = dir.path().join("whole.jsonl");
    std::fs::write(&whole, log).expect("write");
    let (want, want_visits) = full(&whole, anchor);
    // `from = None` is `log::verify`.
    let mut plain_visits = Vec::new();
    let plain = log::verify(&whole, anchor, |e, a| plain_visits.push((e.seq, a.clone())))
        .expect("readable");
    assert_eq!(text(&plain), text(&want.report), "{name}: same as verify");
    assert_eq!(plain_visits, want_visits, "{name}: same visits as verify");

    let path = dir.path().join("log.jsonl");
    let ends = line_ends(log);
    for &k in ks {
        let what = format!("{name}, split after line {k} of {}", ends.len());
        let resume = prefix_resume(&path, log, k, anchor);
        let inode = std::fs::metadata(&path).expect("metadata").ino();
        let stored = round_trip(&resume);
        append(&path, &log[ends[k - 1]..]);
        assert_eq!(
            std::fs::metadata(&path).expect("metadata").ino(),
            inode,
            "appended in place"
        );
        let head = head_of_line(log, k);
        let (got, got_visits) = run(&path, anchor, Some(&stored));
        assert_eq!(
            got.resumed_after.as_ref(),
            Some(&head),
            "{what}: did not resume"
        );
        assert_eq!(text(&got.report), text(&want.report), "{what}: report");
        let after: Visits = want_visits
            .iter()
            .filter(|(s, _)| *s > k as u64)
            .cloned()
            .collect();
        assert_eq!(got_visits, after, "{what}: visits");
        assert_eq!(resume_json(&got), resume_json(&want), "{what}: end state");
        // The resume as made (not through JSON) resumes identically.
        if log.len() < BLOCK {
            let (direct, direct_visits) = run(&path, anchor, Some(&resume));
            assert_eq!(direct.resumed_after.as_ref(), Some(&head), "{what}");
            assert_eq!(text(&direct.report), text(&got.report), "{what}");
            assert_eq!(direct_visits, got_visits, "{what}");
            assert_eq!(resume_json(&direct), resume_json(&got), "{what}");
        }
    }
}

#[test]
fn resuming_a_long_checkpointed_history_matches_a_full_verification_at_every_split() {
    let h = history_with(1320, true);
    let log = h.text().as_bytes();
    assert!(
        log.len() > 2 * BLOCK,
        "{} bytes: over two blocks",
        log.len()
    );
    let ks = splits(log, 12, 0x7265_7375_6d65);
    assert!(ks.len() >= 20, "{} splits", ks.len());
    let (r, _) = {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, log).expect("write");
        full(&p, None)
    };
    assert!(r.report.is_intact(), "{}", r.report.explain());
    assert_resumes_like_full("long checkpointed history", log, &ks, None);
}

#[test]
fn resuming_a_small_history_matches_a_full_verification_at_every_split() {
    let h = history_with(4, false);
    let log = h.text().as_bytes();
    let n = line_ends(log).len();
    let ks: Vec<usize> = (1..=n).collect();
    assert_resumes_like_full("small history", log, &ks, None);
    // And anchored at its head (past every prefix but the last).
    assert_resumes_like_full("small history, anchored", log, &ks, h.head());
}

#[test]
fn resuming_past_forged_entries_reports_them_as_a_full_verification_does() {
    let (log, forged) = forged_history();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("log.jsonl");
    std::fs::write(&p, &log).expect("write");
    let (r, _) = full(&p, None);
    let found: Vec<u64> = r.report.trust.findings.iter().map(|f| f.seq).collect();
    assert_eq!(found, forged, "{}", r.report.explain());
    assert!(r.report.chain_intact() && !r.report.is_intact());
    let first = forged[0] as usize;
    let last = *forged.last().expect("forged") as usize;
    let mut ks = splits(&log, 6, 0x666f_7267_6564);
    // Just before, between and just after the forged entries.
    ks.extend([first - 2, first - 1, first, first + 1, last, last + 1]);
    ks.sort_unstable();
    ks.dedup();
    assert!(ks.iter().any(|&k| k < first), "splits before the forgeries");
    assert_resumes_like_full("history with forged entries", &log, &ks, None);
}

#[test]
fn resuming_a_history_with_a_torn_final_line_matches_a_full_verification() {
    let h = history_with(30, true);
    let complete = h.text().as_bytes();
    let ends = line_ends(complete);
    let torn_at = ends[ends.len() - 2] + 100;
    let log = &complete[..torn_at];
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("log.jsonl");
    std::fs::write(&p, log).expect("write");
    let (r, _) = full(&p, None);
    assert_eq!(
        r.report.torn_tail,
        Some((ends[ends.len() - 2] as u64, 100)),
        "{}",
        r.report.explain()
    );
    let ks = splits(log, 5, 0x746f_726e);
    assert_eq!(*ks.last().expect("splits"), ends.len() - 1);
    assert_resumes_like_full("history with a torn final line", log, &ks, None);
}

// ---------------------------------------------------------------- anchors

#[test]
fn an_anchor_resumes_only_when_the_prefix_was_compared_with_it_or_it_is_past_the_prefix() {
    let h = history_with(20, true);
    let log = h.text().as_bytes().to_vec();
    let n = line_ends(&log).len();
    assert!(n > 95, "{n} lines");
    let k = 60;
    let head = head_of_line(&log, k);
    let inside = head_of_line(&log, 30);
    let inside_other = head_of_line(&log, 40);
    let wrong_inside = LogHead {
        hash: head_of_line(&log, 31).hash,
        seq: 30,
    };
    let past = head_of_line(&log, 80);
    let past_other = head_of_line(&log, 90);
    let wrong_past = LogHead {
        hash: head_of_line(&log, 81).hash,
        seq: 80,
    };
    let beyond = LogHead {
        hash: head.hash.clone(),
        seq: n as u64 + 5,
    };
    let at_head = head.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let rest = &log[line_ends(&log)[k - 1]..];

    // (anchor of the prefix's run, anchor of the resumed run, resumes?)
    let cases: [(&str, Option<&LogHead>, Option<&LogHead>, bool); 11] = [
        ("same anchor inside", Some(&inside), Some(&inside), true),
        (
            "another anchor inside",
            Some(&inside),
            Some(&inside_other),
            false,
        ),
        (
            "a wrong anchor inside",
            Some(&inside),
            Some(&wrong_inside),
            false,
        ),
        ("none, then one inside", None, Some(&inside), false),
        ("none, then the prefix's head", None, Some(&at_head), false),
        ("one inside, then none", Some(&inside), None, true),
        ("same anchor past", Some(&past), Some(&past), true),
        ("none, then one past", None, Some(&past), true),
        (
            "one past, then another past",
            Some(&past),
            Some(&past_other),
            true,
        ),
        ("none, then a wrong one past", None, Some(&wrong_past), true),
        ("none, then one past the end", None, Some(&beyond), true),
    ];
    for (what, first, second, resumes) in cases {
        let resume = round_trip(&prefix_resume(&path, &log, k, first));
        append(&path, rest);
        if resumes {
            assert_resumed(what, &path, second, &resume, &head);
        } else {
            assert_not_resumed(what, &path, second, &resume);
        }
    }

    // What the anchor says, checked on the new entries when past the prefix.
    let status = |first: Option<&LogHead>, second: Option<&LogHead>| {
        let resume = round_trip(&prefix_resume(&path, &log, k, first));
        append(&path, rest);
        let r = assert_resumed("status", &path, second, &resume, &head);
        r.anchor
    };
    assert_eq!(
        status(Some(&inside), Some(&inside)),
        log::AnchorStatus::Present
    );
    assert_eq!(status(None, Some(&past)), log::AnchorStatus::Present);
    assert_eq!(
        status(None, Some(&wrong_past)),
        log::AnchorStatus::Mismatch { anchor_seq: 80 }
    );
    assert_eq!(
        status(Some(&wrong_past), Some(&wrong_past)),
        log::AnchorStatus::Mismatch { anchor_seq: 80 }
    );
    assert_eq!(
        status(None, Some(&beyond)),
        log::AnchorStatus::Truncated {
            anchor_seq: n as u64 + 5,
            last_seq: n as u64
        }
    );

    // A prefix whose anchor is past it says so (truncated), yet resumes.
    let ends = line_ends(&log);
    std::fs::write(&path, &log[..ends[k - 1]]).expect("write");
    let (p, _) = full(&path, Some(&past));
    assert_eq!(
        p.report.anchor,
        log::AnchorStatus::Truncated {
            anchor_seq: 80,
            last_seq: k as u64
        }
    );
    assert!(
        p.resume.is_some(),
        "an anchor past the prefix is no mismatch"
    );
    // A prefix that contradicts its anchor gives nothing to resume from.
    let (p, _) = full(&path, Some(&wrong_inside));
    assert_eq!(
        p.report.anchor,
        log::AnchorStatus::Mismatch { anchor_seq: 30 }
    );
    assert!(p.resume.is_none(), "a mismatched anchor gives no resume");
}

// ----------------------------------------------------- resumes that do not fit

#[test]
fn a_resume_that_does_not_fit_the_file_is_ignored() {
    let h = history_with(20, true);
    let log = h.text().as_bytes().to_vec();
    let ends = line_ends(&log);
    let k = 60;
    let covers = ends[k - 1];
    let last_start = ends[k - 2];
    let rest = &log[covers..];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let resume = round_trip(&prefix_resume(&path, &log, k, None));

    // Truncated below what the prefix covers (the last line torn, gone, all).
    for (what, len) in [
        ("its newline cut", covers - 1),
        ("its last line torn", covers - 30),
        ("its last line gone", last_start),
        ("one byte of its last line left", last_start + 1),
        ("half of it gone", covers / 2),
        ("emptied", 0),
    ] {
        std::fs::write(&path, &log[..len]).expect("write");
        assert_not_resumed(&format!("truncated: {what}"), &path, None, &resume);
    }
    // The last line's newline gone and more appended: its line grew.
    std::fs::write(&path, [&log[..covers - 1], rest].concat()).expect("write");
    assert_not_resumed("the newline gone, more appended", &path, None, &resume);

    // The prefix's last line altered (one byte flipped), the rest appended.
    let line = &log[last_start..covers];
    let hash_at = last_start
        + line
            .windows(8)
            .position(|w| w == b"\"hash\":\"")
            .expect("a hash member")
        + 8;
    for (what, at) in [
        ("its first byte", last_start),
        ("a hash digit", hash_at),
        ("a middle byte", last_start + line.len() / 2),
        ("its newline", covers - 1),
    ] {
        let mut bad = log.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).expect("write");
        assert_not_resumed(&format!("flipped: {what}"), &path, None, &resume);
    }
    // The last line rewritten and re-hashed (it parses, its hash differs).
    let edited_line = {
        let l = &log[last_start..covers - 1];
        let mut v: Value = serde_json::from_slice(l).expect("JSON");
        v["time"] = "2030-01-01T00:00:00Z".into();
        rehash(canonical_json(&v).expect("canonical").as_bytes())
    };
    std::fs::write(
        &path,
        [&log[..last_start], &edited_line, b"\n", rest].concat(),
    )
    .expect("write");
    assert_not_resumed("its last line re-hashed", &path, None, &resume);

    // The file replaced by another vault's log (longer than the prefix).
    let other = other_vault_log(log.len());
    std::fs::write(&path, &other).expect("write");
    assert_not_resumed("another vault's log", &path, None, &resume);
    // By another history of the same vault.
    let another = history_with(25, false);
    assert!(another.text().len() > covers);
    std::fs::write(&path, another.text()).expect("write");
    assert_not_resumed("another history", &path, None, &resume);

    // Log A's resume given to log B (another file, longer, same vault).
    let b = dir.path().join("b.jsonl");
    std::fs::write(&b, history_with(30, false).text()).expect("write");
    assert_not_resumed("A's resume for B", &b, None, &resume);

    // The layout of the resume changed.
    for layout in [0u64, 2, u64::from(u32::MAX)] {
        std::fs::write(&path, &log).expect("write");
        let tampered = edited(&resume, |v| v["layout"] = layout.into()).expect("deserializes");
        assert_not_resumed(&format!("layout {layout}"), &path, None, &tampered);
    }
    // The untampered resume fits the untouched log (the cases above failed
    // for their own reason).
    std::fs::write(&path, &log).expect("write");
    assert_resumed("untouched", &path, None, &resume, &head_of_line(&log, k));
}

/// A torn line after a clean prefix is no reason not to resume: it is
/// reported as a full verification reports it. A resume made over a log
/// that ended in a torn line is not resumed from (even once the line is
/// complete).
#[test]
fn torn_lines_after_the_prefix() {
    let h = history_with(20, true);
    let log = h.text().as_bytes().to_vec();
    let ends = line_ends(&log);
    let k = 60;
    let covers = ends[k - 1];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let head = head_of_line(&log, k);

    // Resumed: a torn line right after the prefix, then after more lines.
    for (what, end) in [
        ("torn right after", covers + 40),
        ("torn later", ends[k + 5] + 40),
    ] {
        let resume = round_trip(&prefix_resume(&path, &log, k, None));
        append(&path, &log[covers..end]);
        let r = assert_resumed(what, &path, None, &resume, &head);
        assert!(r.torn_tail.is_some(), "{what}: {}", r.explain());
    }

    // Made over a log with a torn final line: it covers the complete lines
    // only, so it resumes once the line is completed (or is still torn) and
    // gives the full verdict either way.
    std::fs::write(&path, &log[..covers + 40]).expect("write");
    let (p, _) = full(&path, None);
    assert_eq!(p.report.torn_tail, Some((covers as u64, 40)));
    let made = round_trip(&p.resume.expect("a torn tail does not stop a resume"));
    assert_eq!(made.covers(), covers as u64);
    let r = assert_resumed(
        "made over a torn log, still torn",
        &path,
        None,
        &made,
        &head,
    );
    assert_eq!(r.torn_tail, Some((covers as u64, 40)));
    std::fs::write(&path, &log).expect("write");
    let r = assert_resumed(
        "made over a torn log, line completed",
        &path,
        None,
        &made,
        &head,
    );
    assert!(r.is_intact(), "{}", r.explain());
}

// ------------------------------------------- what comes after the prefix

#[test]
fn forged_or_unchained_lines_after_the_prefix_get_the_full_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");

    // Forged entries appended after the prefix (they chain).
    let mut h = history_with(10, true);
    let k = h.entries() as usize;
    let prefix = h.text().as_bytes().to_vec();
    let head = h.head().expect("head").clone();
    let forged = h.forgeries(Timestamp(1_900_000_000));
    h.verified_through(Some(k as u64));
    for i in 10..14 {
        h.unseal_cycle(i, false);
    }
    let resume = round_trip(&prefix_resume(&path, &prefix, k, None));
    std::fs::write(&path, h.text()).expect("write");
    let r = assert_resumed("forged entries appended", &path, None, &resume, &head);
    let found: Vec<u64> = r.trust.findings.iter().map(|f| f.seq).collect();
    assert_eq!(found, forged, "{}", r.explain());
    assert!(r.chain_intact());

    // Lines that break the chain after the prefix, followed by a valid
    // continuation (whose certificates are salvaged as a full run does).
    let long = history_with(14, true);
    let long = long.text().as_bytes();
    let ends = line_ends(long);
    assert_eq!(&long[..prefix.len()], &prefix[..], "the same prefix");
    let line = |i: usize| &long[ends[i - 2]..ends[i - 1]]; // line i (1-based, i ≥ 2)
    let cont = &long[prefix.len()..];
    let other_line = {
        let log = Log::at_head(Path::new("unused"), OTHER_VAULT, Some(head.clone()));
        let (l, _) = log
            .build_line(
                events::DRILL,
                1,
                json_map(json!({"kind": "note"})),
                Timestamp(1_900_000_000),
                By::Nobody,
            )
            .expect("line");
        l.into_bytes()
    };
    let edited_next = {
        let l = line(k + 2);
        let mut v: Value = serde_json::from_slice(&l[..l.len() - 1]).expect("JSON");
        v["data"]["ticket"] = "INC-EDITED".into();
        let mut fixed = rehash(canonical_json(&v).expect("canonical").as_bytes());
        fixed.push(b'\n');
        fixed
    };
    let unchained = history_with(11, false);
    let unchained_next = line_ends(unchained.text().as_bytes());
    let unchained_next = &unchained.text().as_bytes()[unchained_next[k - 1]..unchained_next[k]];
    let cases: Vec<(&str, Vec<u8>, Option<u64>)> = vec![
        (
            "the prefix's last line again",
            [line(k), cont].concat(),
            Some(k as u64 + 1),
        ),
        (
            "a line skipped",
            long[ends[k]..].to_vec(),
            Some(k as u64 + 1),
        ),
        (
            "a line of another history",
            [unchained_next, cont].concat(),
            Some(k as u64 + 1),
        ),
        (
            "a line of another vault",
            [&other_line[..], cont].concat(),
            Some(k as u64 + 1),
        ),
        (
            "not JSON",
            [&b"not json\n"[..], cont].concat(),
            Some(k as u64 + 1),
        ),
        (
            "an edited, re-hashed line",
            [line(k + 1), &edited_next, &long[ends[k + 1]..]].concat(),
            Some(k as u64 + 3),
        ),
        (
            "a line too long",
            [&vec![b'x'; log::MAX_LINE + 10][..], b"\n", cont].concat(),
            Some(k as u64 + 1),
        ),
    ];
    for (what, tail, problem_line) in cases {
        let resume = round_trip(&prefix_resume(&path, &prefix, k, None));
        append(&path, &tail);
        let r = assert_resumed(what, &path, None, &resume, &head);
        assert_eq!(
            r.problem.as_ref().map(|p| p.line),
            problem_line,
            "{what}: {}",
            r.explain()
        );
    }
}

// ------------------------------------------------- the documented proviso

/// Documented proviso (`src/log/fast/resume.rs`, "provided the prefix has
/// not changed since"): before resuming only the prefix's last line is read
/// again, so an edit further back goes unseen by the resumed verification.
/// A full verification (`from = None`) finds it.
#[test]
fn documented_proviso_an_edit_before_the_prefixs_last_line_is_unseen_when_resuming() {
    let h = history_with(20, true);
    let log = h.text().as_bytes().to_vec();
    let ends = line_ends(&log);
    let k = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    for edited_line in [2, 30, k - 1] {
        let resume = round_trip(&prefix_resume(&path, &log, k, None));
        append(&path, &log[ends[k - 1]..]);
        // Flip a byte in the middle of an earlier line (same length).
        let start = ends[edited_line - 2];
        let at = start + (ends[edited_line - 1] - start) / 2;
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");

        let (resumed, _) = run(&path, None, Some(&resume));
        assert_eq!(
            resumed.resumed_after,
            Some(head_of_line(&log, k)),
            "line {edited_line}: the edit is not in the last line, it resumes"
        );
        assert!(
            resumed.report.problem.is_none() && resumed.report.is_intact(),
            "line {edited_line}: the resumed verification does not see the edit: {}",
            resumed.report.explain()
        );
        let (whole, _) = full(&path, None);
        assert_eq!(
            whole.report.problem.as_ref().map(|p| p.line),
            Some(edited_line as u64),
            "line {edited_line}: a full verification finds the edit: {}",
            whole.report.explain()
        );
        assert!(whole.resume.is_none(), "a broken log gives no resume");
    }
}

// ------------------------------------------------------------ robustness

/// A resume whose numbers are absurd (as a damaged or tampered cache file
/// may hold) never panics and never resumes: the verification starts from
/// the first byte and gives its report.
#[test]
fn a_resume_with_absurd_numbers_is_ignored_without_panicking() {
    let h = history_with(20, true);
    let log = h.text().as_bytes().to_vec();
    let k = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let resume = round_trip(&prefix_resume(&path, &log, k, None));
    std::fs::write(&path, &log).expect("write");
    let covers = resume.covers();
    let seq = k as u64;
    let max = u64::MAX;
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "covers = u64::MAX",
            Box::new(move |v| v["offset"] = max.into()),
        ),
        (
            "covers and last_start = u64::MAX",
            Box::new(move |v| {
                v["offset"] = max.into();
                v["last_start"] = max.into();
            }),
        ),
        (
            "covers = u64::MAX, last_start just below",
            Box::new(move |v| {
                v["offset"] = max.into();
                v["last_start"] = (max - 100).into();
            }),
        ),
        (
            "last_start > covers",
            Box::new(move |v| v["last_start"] = (covers + 1).into()),
        ),
        (
            "last_start = u64::MAX",
            Box::new(move |v| v["last_start"] = max.into()),
        ),
        ("last_start = 0", Box::new(|v| v["last_start"] = 0.into())),
        (
            "a one-byte last line",
            Box::new(move |v| v["last_start"] = (covers - 1).into()),
        ),
        (
            "an empty last line",
            Box::new(move |v| v["last_start"] = covers.into()),
        ),
        (
            "covers short by one",
            Box::new(move |v| v["offset"] = (covers - 1).into()),
        ),
        (
            "covers long by one",
            Box::new(move |v| v["offset"] = (covers + 1).into()),
        ),
        (
            "entries > head seq",
            Box::new(move |v| v["report"]["entries"] = (seq + 1).into()),
        ),
        (
            "entries = u64::MAX",
            Box::new(move |v| v["report"]["entries"] = max.into()),
        ),
        (
            "entries = 0",
            Box::new(|v| v["report"]["entries"] = 0.into()),
        ),
        (
            "head seq = u64::MAX",
            Box::new(move |v| v["report"]["head"]["seq"] = max.into()),
        ),
        (
            "entries, head seq and line = u64::MAX",
            Box::new(move |v| {
                v["report"]["entries"] = max.into();
                v["report"]["head"]["seq"] = max.into();
                v["line_no"] = max.into();
            }),
        ),
        ("line_no = 0", Box::new(|v| v["line_no"] = 0.into())),
        (
            "line_no ahead",
            Box::new(move |v| v["line_no"] = (seq + 1).into()),
        ),
        (
            "another head hash",
            Box::new(|v| v["report"]["head"]["hash"] = "00".repeat(32).into()),
        ),
        ("no head", Box::new(|v| v["report"]["head"] = Value::Null)),
        ("no prev_time", Box::new(|v| v["prev_time"] = Value::Null)),
        (
            "prev_time = i64::MIN",
            Box::new(|v| v["prev_time"] = i64::MIN.into()),
        ),
        (
            "prev_time = i64::MAX",
            Box::new(|v| v["prev_time"] = i64::MAX.into()),
        ),
        (
            "a problem recorded",
            Box::new(|v| v["report"]["problem"] = json!({"line": 1, "what": "x"})),
        ),
        (
            "a torn tail recorded",
            Box::new(|v| v["report"]["torn_tail"] = json!([0, 0])),
        ),
        (
            "an anchor status recorded",
            Box::new(|v| v["report"]["anchor"] = json!("Present")),
        ),
        (
            "layout u32::MAX",
            Box::new(|v| v["layout"] = u32::MAX.into()),
        ),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for (what, edit) in &edits {
        let Some(bad) = edited(&resume, edit) else {
            continue; // serde refused it: nothing to resume from
        };
        tried += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            assert_not_resumed(what, &path, None, &bad);
        }));
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{what}: {msg}"));
        }
    }
    assert!(tried >= edits.len() - 2, "only {tried} edits deserialized");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Counters a resume carries at their maximum (only a damaged or tampered
/// cache holds them): a resumed verification that counts one more must not
/// panic (it may report nonsense: the cache is trusted for the prefix).
#[test]
fn a_resume_with_counters_at_their_maximum_does_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let mut h = history_with(10, true);
    let k = h.entries() as usize;
    let prefix = h.text().as_bytes().to_vec();
    let resume = round_trip(&prefix_resume(&path, &prefix, k, None));
    // The rest: quorum, custodian and unsigned entries, a forged one, and
    // a cycle dated before the prefix's last entry (time regressions).
    let alice = h.custodian("alice").signer();
    h.signed(
        events::DRILL,
        Timestamp(1_900_000_000),
        json_map(json!({"kind": "custodian", "custodian": "alice"})),
        Sig::Random(alice),
    );
    h.unseal_cycle(0, false);
    let whole = h.text().as_bytes().to_vec();
    std::fs::write(&path, &whole).expect("write");
    let (r, _) = full(&path, None);
    assert!(r.report.time_regression_count > 0 && r.report.trust.forged_count == 1);
    let max = u64::MAX;
    let mut failures = Vec::new();
    for (holder, field) in [
        ("report", "time_regression_count"),
        ("report", "entries"),
        ("auth", "quorum_signed"),
        ("auth", "custodian_signed"),
        ("auth", "unsigned"),
        ("auth", "forged_count"),
    ] {
        let bad = edited(&resume, |v| {
            let at = if holder == "report" {
                &mut v["report"]
            } else {
                &mut v["auth"]["t"]
            };
            assert!(
                at.get(field).is_some(),
                "{holder}.{field} is in the JSON: {at}"
            );
            at[field] = max.into();
        });
        let Some(bad) = bad else {
            failures.push(format!("{field}: the edited resume does not deserialize"));
            continue;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&path, None, Some(&bad))));
        match outcome {
            Err(_) => failures.push(format!(
                "{holder}.{field} = u64::MAX: the resumed verification panicked"
            )),
            Ok((r, _)) if field == "entries" => assert!(
                r.resumed_after.is_none(),
                "entries not the head's seq: not resumed"
            ),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A resume naming a crafted last line at the largest seq a line may carry
/// (2^53) fits (the line is there byte for byte); the line after it must
/// not overflow a counter into a panic, nor pass.
#[test]
fn a_resume_at_the_largest_seq_does_not_panic_on_the_next_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let h = history_with(0, false);
    let log = h.text().as_bytes().to_vec();
    let resume = round_trip(&prefix_resume(&path, &log, 2, None));
    let time = Timestamp(1_800_000_000);
    let top = breakglass::encoding::MAX_INT;
    let (line, head) = Log::at_head(
        Path::new("unused"),
        VAULT,
        Some(LogHead {
            hash: "11".repeat(32),
            seq: top - 1,
        }),
    )
    .build_line(
        events::DRILL,
        1,
        json_map(json!({"kind": "note"})),
        time,
        By::Nobody,
    )
    .expect("line");
    assert_eq!(head.seq, top);
    let len = line.len() as u64;
    let crafted = edited(&resume, |v| {
        v["report"]["entries"] = top.into();
        v["report"]["head"] = json!({"hash": head.hash, "seq": top});
        v["line_no"] = top.into();
        v["last_start"] = 0.into();
        v["offset"] = len.into();
        v["prev_time"] = time.0.into();
    })
    .expect("deserializes");
    std::fs::write(&path, [line.as_bytes(), &log].concat()).expect("write");
    let outcome = catch_unwind(AssertUnwindSafe(|| run(&path, None, Some(&crafted))));
    let (r, visits) = outcome.expect("a resumed verification past seq 2^53 panicked");
    assert_eq!(r.resumed_after, Some(head), "the crafted line fits");
    assert!(visits.is_empty(), "nothing after it chains: {visits:?}");
    assert!(
        r.report.problem.is_some() && !r.report.is_intact(),
        "a line after seq 2^53: {}",
        text(&r.report)
    );
}

/// A forged entry, then a checkpoint signed by the live quorum that lies
/// about it (`tests/log_fast_path.rs`,
/// `a_lying_live_quorum_is_believed_by_the_fast_path_only`), with the cached
/// prefix ending after the forged entry (`split_after_forged`) or before
/// it. The full fast path believes the checkpoint (one block); the resumed
/// read names the entry, as `verify_every_signature` does: resuming never
/// believes more. Returns the forged seq and the resumed read's visits.
fn lying_checkpoint_case(split_after_forged: bool) -> (u64, Visits) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.jsonl");
    let mut h = history_with(3, true);
    let mut split = (h.entries() as usize, h.head().expect("head").clone());
    let t = Timestamp(1_900_000_000);
    let alice = h.custodian("alice").signer();
    let forged = h.signed(
        events::DRILL,
        t,
        json_map(json!({"kind": "custodian", "custodian": "alice"})),
        Sig::Random(alice),
    );
    if split_after_forged {
        split = (h.entries() as usize, h.head().expect("head").clone());
    }
    // The live quorum vouches for everything, the forged entry included.
    h.verified_through(Some(h.entries()));
    h.quorum(
        events::DRILL,
        t,
        json_map(json!({"kind": "quorum", "custodians": ["alice", "bob"]})),
    );
    let log = h.text().as_bytes().to_vec();
    let resume = round_trip(&prefix_resume(&path, &log, split.0, None));
    std::fs::write(&path, &log).expect("write");
    let (fast, _) = full(&path, None);
    assert!(fast.report.is_intact(), "the full fast path believes it");
    let every = log::verify_every_signature(&path, None, |_, _| {}).expect("readable");
    let (resumed, visits) = run(&path, None, Some(&resume));
    assert_eq!(resumed.resumed_after, Some(split.1));
    let found: Vec<u64> = resumed
        .report
        .trust
        .findings
        .iter()
        .map(|f| f.seq)
        .collect();
    assert_eq!(found, [forged], "{}", resumed.report.explain());
    assert_eq!(text(&resumed.report), text(&every));
    (forged, visits)
}

/// The forged entry inside the prefix: it was checked when the prefix was
/// read, before the checkpoint was written, and stays named.
#[test]
fn a_lying_live_quorum_checkpoint_after_the_split_is_not_believed_about_the_prefix() {
    lying_checkpoint_case(true);
}

/// Both after the prefix: a resumed read takes no checkpoint's word (it
/// cuts its blocks elsewhere than a read from the first byte, and a
/// checkpoint vouches for its own block). Before this rule, where the
/// blocks fell decided which answer cron got.
#[test]
fn a_resumed_read_checks_every_signature_after_the_prefix() {
    let (forged, visits) = lying_checkpoint_case(false);
    assert!(visits
        .iter()
        .any(|(seq, a)| *seq == forged && matches!(a, Authn::Forged { .. })));
}
