//! Issue "Hostile input and hostile environment": files written by someone
//! who can only write files (escape sequences in the log, symlinks, FIFOs,
//! oversized inputs, planted KDF costs), and a hostile environment (closed
//! or full stdout, umask 000, read-only media, a lock file deleted under a
//! running ceremony). Each test names the bug it pins.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use breakglass::clock::Timestamp;
use breakglass::log::Log;
use breakglass::manifest::LogHead;
use serde_json::{json, Map, Value};

use common::{bin, Fixture, Run};

/// Runs the binary with its stdout on `stdout` (a pipe end, /dev/full, …).
fn run_with_stdout(args: &[&str], stdout: impl Into<Stdio>) -> Run {
    let o = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run breakglass");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Stdout is a pipe whose read end is already closed: every write is EPIPE.
fn run_closed_pipe(args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    run_with_stdout(args, writer)
}

/// Stdout is /dev/full: every write is ENOSPC.
fn run_full(args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    run_with_stdout(args, full)
}

fn no_panic(r: &Run, what: &str) {
    assert!(
        !r.stderr.contains("panicked") && r.code != 101 && r.code != 134,
        "{what}: panicked (exit {}): {}",
        r.code,
        r.stderr
    );
}

/// The stderr lines other than the test build's banner.
fn diagnostics(r: &Run) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| !l.starts_with("warning: TEST BUILD"))
        .collect()
}

/// The read-only and one-shot commands of the issue, on `f`'s vault.
fn output_commands(f: &Fixture) -> Vec<Vec<String>> {
    let v = f.vault();
    let answers = f.path("answers.json");
    let alice = f.identity("alice");
    let s = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        s(&["status", "--vault", &v]),
        s(&["status", "--vault", &v, "--json"]),
        s(&["log", "verify", "--vault", &v]),
        s(&["log", "verify", "--vault", &v, "--json"]),
        s(&["log", "show", "--vault", &v]),
        s(&["log", "show", "--vault", &v, "--json"]),
        s(&["log", "export", "--vault", &v]),
        s(&["report", "--vault", &v]),
        s(&["report", "--vault", &v, "--json"]),
        s(&["help-answers"]),
        s(&["--help"]),
        s(&["status", "--help"]),
        s(&[
            "drill",
            "--vault",
            &v,
            "--custodian",
            "alice",
            "--identity",
            &alice,
            "--answers",
            &answers,
            "--json",
        ]),
    ]
}

/// Issue item 3: `status`, `log verify`, `report`, `help-answers`, `drill
/// --json` … panicked with "failed printing to stdout: Broken pipe" under
/// `| head -c1`. A closed pipe now ends the output quietly and the exit code
/// is the command's own (what it returns with a reader).
#[test]
fn closed_stdout_pipe_is_quiet_and_keeps_the_exit_code() {
    let f = Fixture::new(3, 2);
    for args in output_commands(&f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let expected = common::run(&args, "").code;
        let r = run_closed_pipe(&args);
        no_panic(&r, &args.join(" "));
        assert_eq!(r.code, expected, "{args:?}: {}", r.stderr);
        let noise: Vec<&str> = diagnostics(&r)
            .into_iter()
            .filter(|l| l.starts_with("error") || l.contains("Broken pipe"))
            .collect();
        assert!(noise.is_empty(), "{args:?}: {noise:?}");
    }
}

/// Issue item 3: the same commands with stdout on a full disk panicked; now
/// they say what could not be written and exit 2.
#[test]
fn full_stdout_is_an_error_with_exit_2() {
    let f = Fixture::new(3, 2);
    for args in output_commands(&f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_full(&args);
        no_panic(&r, &args.join(" "));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("error: cannot write to standard output: No space left on device"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

fn unseal_args(f: &Fixture) -> Vec<String> {
    let mut args: Vec<String> = [
        "unseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "INC-1",
        "--reason",
        "test outage",
        "--answers",
        &f.path("answers.json"),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for w in ["alice", "bob"] {
        args.push("--identity".into());
        args.push(f.identity(w));
    }
    args
}

/// Issue item 3: an unseal printing its entries with `--json` to a closed
/// pipe or a full disk still ends its session in the log (the session was
/// left open, the process having panicked between the grant and the end).
#[test]
fn unseal_to_closed_or_full_stdout_still_ends_the_session() {
    let f = Fixture::new(3, 2);
    let args = unseal_args(&f);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let r = run_closed_pipe(&args);
    no_panic(&r, "unseal | closed pipe");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ev = f.events();
    assert_eq!(ev[ev.len() - 2..], ["unseal-granted", "session-ended"]);

    let r = run_full(&args);
    no_panic(&r, "unseal > /dev/full");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(!r.stderr.contains(common::PASSWORD), "{}", r.stderr);
    let ev = f.events();
    assert_eq!(ev[ev.len() - 2..], ["unseal-granted", "session-ended"]);
    let s = common::run(&["status", "--vault", &f.vault(), "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(v["open_sessions"], serde_json::json!([]), "{}", s.stdout);
    assert_eq!(f.verify_log().code, 0);
}

// ---------------------------------------------------------------------------
// Item 1: terminal escape injection through the log.

/// Everything a terminal could act on: ESC, BEL, C1 controls (U+009B is a
/// one-character CSI), bidi overrides and isolates, zero-width characters,
/// the BOM, a line separator, and a newline and a tab to forge lines.
const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07\u{9b}31m\u{202e}evil\u{200b}\u{2066}x\u{2069}\u{feff}\u{2028}\n\tlog OK\u{85}\x7f";

/// The head (last entry) of the log at `path`.
fn head_of(path: &Path) -> (String, LogHead) {
    let text = std::fs::read_to_string(path).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    (
        last["vault"].as_str().unwrap().to_owned(),
        LogHead {
            hash: last["hash"].as_str().unwrap().to_owned(),
            seq: last["seq"].as_u64().unwrap(),
        },
    )
}

/// Appends entries by raw file edits, with the hash chain recomputed (what
/// anyone who can write the vault directory can do, no key needed). Returns
/// the sequence numbers given.
fn plant(path: &Path, entries: &[(&str, Map<String, Value>)]) -> Vec<u64> {
    let (vault, head) = head_of(path);
    let mut log = Log::at_head(path, &vault, Some(head));
    let mut text = std::fs::read_to_string(path).unwrap();
    let mut seqs = Vec::new();
    for (event, data) in entries {
        let (line, head) = log
            .build_line(
                event,
                1,
                data.clone(),
                Timestamp::now(),
                breakglass::log::By::Nobody,
            )
            .unwrap();
        text.push_str(&line);
        seqs.push(head.seq);
        log = Log::at_head(path, &vault, Some(head));
    }
    std::fs::write(path, text).unwrap();
    seqs
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A log whose verified entries are full of hostile text: an activation
/// (ticket, reason, custodians, entries), drills naming a hostile
/// custodian, a review, and an entry whose event name and data keys are
/// hostile. Returns the seq of the planted grant.
fn plant_hostile_entries(f: &Fixture) -> u64 {
    let evil_event: String = std::iter::once('x')
        .chain(HOSTILE.chars().take(24))
        .collect();
    let seqs = plant(
        &f.log_path(),
        &[
            (
                "unseal-granted",
                obj(json!({"ticket": HOSTILE, "reason": HOSTILE,
                           "custodians": [HOSTILE, "alice"], "entries": [HOSTILE],
                           "session_limit_s": 60})),
            ),
            (
                "drill",
                obj(json!({"kind": "custodian", "custodian": HOSTILE, "result": "ok"})),
            ),
            (
                "drill",
                obj(json!({"kind": "quorum", "custodians": [HOSTILE, "bob"],
                           "result": "failed", "why": HOSTILE})),
            ),
            (
                "review-recorded",
                obj(
                    json!({"grants": [9999], "ticket": HOSTILE, "root_cause": HOSTILE,
                           "participants": [HOSTILE], "complete": true}),
                ),
            ),
            (evil_event.as_str(), obj(json!({HOSTILE: HOSTILE}))),
        ],
    );
    seqs[0]
}

/// Appends a line with an unknown member whose name is hostile: `log
/// verify` and every ceremony quote it in their error ("unknown member '…'").
fn plant_hostile_member(f: &Fixture) {
    let (vault, head) = head_of(&f.log_path());
    let log = Log::at_head(&f.log_path(), &vault, Some(head));
    let (line, _) = log
        .build_line(
            "drill",
            1,
            Map::new(),
            Timestamp::now(),
            breakglass::log::By::Nobody,
        )
        .unwrap();
    let mut o: Map<String, Value> = serde_json::from_str(&line).unwrap();
    o.insert(HOSTILE.chars().take(30).collect(), json!(1));
    let mut line = breakglass::encoding::canonical_json(&Value::Object(o)).unwrap();
    line.push('\n');
    let mut text = std::fs::read_to_string(f.log_path()).unwrap();
    text.push_str(&line);
    std::fs::write(f.log_path(), text).unwrap();
}

/// No byte of `out` can drive a terminal: no control character but the
/// line breaks the binary itself writes, no C1, no format character, no
/// line separator.
fn assert_inert(what: &str, out: &str) {
    let bad: Vec<String> = out
        .chars()
        .filter(|&c| c != '\n' && breakglass::text::is_unsafe(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: terminal controls reach the terminal: {bad:?}\n{out}"
    );
}

fn review_file(f: &Fixture) -> String {
    let p = f.path("review.txt");
    std::fs::write(
        &p,
        "participants: alice, bob\ntimeline: 2026-01-01T10:00:00Z outage\nroot cause: expired certificate\npreventive measure: monitor expiry\nprovider event: ev-1\n",
    )
    .unwrap();
    p
}

/// Issue item 1: text planted in the log (ESC, BEL, C1 such as U+009B,
/// U+202E, zero-width, newlines) reached the terminal raw through every
/// human-readable command. Now none of it does, and it is shown escaped.
#[test]
fn planted_escape_sequences_never_reach_the_terminal() {
    let f = Fixture::new(3, 2);
    let grant = plant_hostile_entries(&f);
    assert_eq!(f.verify_log().code, 0, "the planted chain verifies");
    let v = f.vault();
    let answers = f.path("answers.json");
    let alice = f.identity("alice");
    let review = review_file(&f);
    let grant = grant.to_string();
    let shows_hostile_text: &[&[&str]] = &[
        &["status", "--vault", &v],
        &["log", "show", "--vault", &v],
        &["report", "--vault", &v],
    ];
    // Format 2: the planted grant is unsigned, so it cannot be reviewed; the
    // refusal quotes the log, inert.
    let r = common::run(
        &[
            "review",
            "--vault",
            &v,
            "--grant",
            &grant,
            "--from",
            &review,
            "--answers",
            &answers,
            "--custodian",
            "alice",
            "--identity",
            &alice,
        ],
        "",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not an unseal grant signed by a quorum"),
        "{}",
        r.stderr
    );
    assert_inert("review stdout", &r.stdout);
    assert_inert("review stderr", &r.stderr);
    let others: &[&[&str]] = &[
        &["log", "verify", "--vault", &v],
        &[
            "drill",
            "--vault",
            &v,
            "--custodian",
            "alice",
            "--identity",
            &alice,
            "--answers",
            &answers,
        ],
    ];
    for (i, args) in shows_hostile_text.iter().chain(others).enumerate() {
        let r = common::run(args, "");
        assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
        assert_inert(&format!("{args:?} stdout"), &r.stdout);
        assert_inert(&format!("{args:?} stderr"), &r.stderr);
        if i < shows_hostile_text.len() {
            assert!(
                r.stdout.contains("\\u{202e}evil"),
                "{args:?} shows the planted text, escaped: {}",
                r.stdout
            );
        }
    }
}

/// Issue item 1: error messages quoting file content ("unknown member
/// '…'") reached the terminal raw, from `log verify`, `status`, `report`,
/// `log show` and from a ceremony refusing the broken log.
#[test]
fn planted_escape_sequences_in_errors_never_reach_the_terminal() {
    let f = Fixture::new(3, 2);
    plant_hostile_entries(&f);
    plant_hostile_member(&f);
    let v = f.vault();
    let answers = f.path("answers.json");
    let alice = f.identity("alice");
    let bob = f.identity("bob");
    let commands: &[&[&str]] = &[
        &["log", "verify", "--vault", &v],
        &["status", "--vault", &v],
        &["report", "--vault", &v],
        &["log", "show", "--vault", &v],
        &["log", "export", "--vault", &v],
        &[
            "drill",
            "--vault",
            &v,
            "--custodian",
            "alice",
            "--identity",
            &alice,
            "--answers",
            &answers,
        ],
        &[
            "unseal",
            "--vault",
            &v,
            "--ticket",
            "INC-2",
            "--reason",
            "outage",
            "--identity",
            &alice,
            "--identity",
            &bob,
            "--answers",
            &answers,
            "--json",
        ],
    ];
    for args in commands {
        let r = common::run(args, "");
        assert!(r.code == 1 || r.code == 2, "{args:?}: {}", r.stderr);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(all.contains("unknown member"), "{args:?}: {all}");
        assert!(all.contains("\\x1b[2J"), "{args:?}: {all}");
        // The SIEM export is JSON (escaped by JSON's rules, for machines).
        if args[1] != "export" {
            assert_inert(&format!("{args:?} stdout"), &r.stdout);
        }
        assert_inert(&format!("{args:?} stderr"), &r.stderr);
    }
}

// ---------------------------------------------------------------------------
// Item 2: bidi and zero-width characters in ticket, reason and review text.

/// Characters that passed `check_text` (not Cc) yet change how the text reads.
const INVISIBLE: [char; 8] = [
    '\u{202e}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{2028}',
];

/// Issue item 2: tickets and reasons with bidi overrides, isolates,
/// zero-width characters, a BOM or a line separator were accepted (only Cc
/// was refused). Now refused, naming the field and the code point.
#[test]
fn ticket_and_reason_refuse_bidi_and_zero_width_characters() {
    use breakglass::ceremony::unseal::check_text;
    for c in INVISIBLE
        .iter()
        .chain(&['\u{2029}', '\u{85}', '\x1b', '\t'])
    {
        for field in ["ticket", "reason"] {
            let e = check_text(field, &format!("INC-{c}4711"))
                .expect_err(&format!("{field} with U+{:04X}", *c as u32))
                .to_string();
            assert!(e.contains(&format!("the {field} contains")), "{e}");
            assert!(e.contains(&format!("U+{:04X}", *c as u32)), "{e}");
        }
    }
    check_text("ticket", "INC-4711 (Zoë, Ōsaka, 東京)").unwrap();

    // Through the CLI: refused before anything is logged.
    let f = Fixture::new(3, 2);
    let before = f.log_lines();
    let owned = unseal_args(&f);
    let mut args: Vec<&str> = owned.iter().map(String::as_str).collect();
    assert_eq!((args[3], args[5]), ("--ticket", "--reason"));
    args[4] = "INC\u{202e}1-CNI";
    let r = common::run(&args, "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the ticket contains the invisible or control character U+202E"),
        "{}",
        r.stderr
    );
    args[4] = &owned[4];
    args[6] = "outage\u{200b}";
    let r = common::run(&args, "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("the reason contains"), "{}", r.stderr);
    assert!(r.stderr.contains("U+200B"), "{}", r.stderr);
    assert_eq!(f.log_lines(), before, "nothing logged");
}

/// Issue item 2: the same characters in a post-incident review were
/// accepted and logged; now the review is refused naming the part and the
/// code point (line breaks stay allowed in multi-line items).
#[test]
fn review_text_refuses_bidi_and_zero_width_characters() {
    use breakglass::ceremony::review::{ReviewDocument, TimelineItem};
    let good = ReviewDocument {
        ticket: Some("INC-1".into()),
        participants: vec!["alice".into(), "bob".into()],
        timeline: vec![TimelineItem {
            time: "2026-01-01T10:00:00Z".into(),
            what: "outage detected".into(),
        }],
        root_cause: "expired certificate,\nnobody was paged".into(),
        preventive_measures: vec!["monitor expiry".into()],
        provider_events: vec!["ev-1".into()],
    };
    good.check().unwrap();
    for c in INVISIBLE.iter().chain(&['\x1b', '\t', '\u{9b}']) {
        let cp = format!("U+{:04X}", *c as u32);
        let mut parts: Vec<(&str, ReviewDocument)> = Vec::new();
        let mut d = good.clone();
        d.participants[1] = format!("b{c}ob");
        parts.push(("review participants", d));
        let mut d = good.clone();
        d.timeline[0].what = format!("outage{c}");
        parts.push(("review timeline", d));
        let mut d = good.clone();
        d.root_cause = format!("{c}cause");
        parts.push(("review root cause", d));
        let mut d = good.clone();
        d.preventive_measures[0] = format!("m{c}");
        parts.push(("review preventive measures", d));
        let mut d = good.clone();
        d.provider_events[0] = format!("ev{c}-1");
        parts.push(("review provider events", d));
        let mut d = good.clone();
        d.ticket = Some(format!("INC{c}-1"));
        parts.push(("review ticket", d));
        for (what, d) in parts {
            let e = d
                .check()
                .expect_err(&format!("{what} with {cp}"))
                .to_string();
            assert!(e.contains(what) && e.contains(&cp), "{e}");
        }
    }

    // Through the CLI: nothing is logged.
    let f = Fixture::new(3, 2);
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
    let grant = f
        .log_lines()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"] == "unseal-granted")
        .unwrap()["seq"]
        .to_string();
    let doc = f.path("review.txt");
    std::fs::write(
        &doc,
        "participants: alice, b\u{200b}ob\ntimeline: 2026-01-01T10:00:00Z outage\nroot cause: expired certificate\npreventive measure: monitor expiry\nprovider event: ev-1\n",
    )
    .unwrap();
    let before = f.log_lines();
    let r = common::run(
        &[
            "review",
            "--vault",
            &f.vault(),
            "--grant",
            &grant,
            "--from",
            &doc,
            "--custodian",
            "alice",
        ],
        "",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("review participants") && r.stderr.contains("U+200B"),
        "{}",
        r.stderr
    );
    assert_eq!(f.log_lines(), before, "nothing logged");
}

// ---------------------------------------------------------------------------
// Item 4: answers and entries files over 1 MiB.

/// A valid answers document of more than 1 MiB (a long unused text answer).
fn big_answers(f: &Fixture) -> String {
    let v = json!({"passphrases": f.passphrases(), "text": {"pad": "a".repeat(1 << 20)}});
    let p = f.path("big-answers.json");
    std::fs::write(&p, v.to_string()).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    p
}

/// Issue item 4: an answers file over 1 MiB was cut at 1 MiB and reported as
/// "not a valid answers document (line 1, column 1048576)"; an entries file
/// the same. Now: "FILE: file too large (limit 1 MiB)", from a file or stdin.
#[test]
fn answers_and_entries_over_1_mib_are_refused_by_size() {
    let f = Fixture::new(3, 2);
    let big = big_answers(&f);
    let alice = f.identity("alice");
    let v = f.vault();
    let drill = |answers: &str, stdin: &str| {
        common::run(
            &[
                "drill",
                "--vault",
                &v,
                "--custodian",
                "alice",
                "--identity",
                &alice,
                "--answers",
                answers,
            ],
            stdin,
        )
    };
    let r = drill(&big, "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{big}: file too large (limit 1 MiB)")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("column"), "{}", r.stderr);
    let r = drill("-", &std::fs::read_to_string(&big).unwrap());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stdin: file too large (limit 1 MiB)"),
        "{}",
        r.stderr
    );

    let entries = json!([{"kind": "note", "name": "n", "text": "a".repeat(1 << 20)}]).to_string();
    let c = Fixture::custodians_only(2, 2);
    let d0 = c.path("alice.custodian.json");
    let d1 = c.path("bob.custodian.json");
    let r = common::run(
        &[
            "init",
            "--vault",
            &c.vault(),
            "--threshold",
            "2",
            "--custodian",
            &d0,
            "--custodian",
            &d1,
            "--entries",
            "-",
        ],
        &entries,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stdin: file too large (limit 1 MiB)"),
        "{}",
        r.stderr
    );
    assert!(!c.vault_path().exists(), "nothing created");

    // At the limit exactly, the size is fine (the document is read whole).
    let v1 = json!({"passphrases": f.passphrases()}).to_string();
    let pad = (1 << 20) - v1.len();
    let exact = format!("{v1}{}", " ".repeat(pad));
    assert_eq!(exact.len(), 1 << 20);
    let r = drill("-", &exact);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// Item 5: symbolic links and special files in the vault.

fn drill_args(f: &Fixture, who: &str) -> Vec<String> {
    [
        "drill",
        "--vault",
        &f.vault(),
        "--custodian",
        who,
        "--identity",
        &f.identity(who),
        "--answers",
        &f.path("answers.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Runs the binary, killing it (and failing) if it takes longer than `secs`.
fn run_within(args: &[String], secs: u64) -> Run {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().ok();
            child.wait().ok();
            panic!("{args:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Issue item 5: `.lock` replaced by a symbolic link made every command
/// create (and lock) the file it points to, outside the vault.
#[test]
fn lock_symlink_creates_nothing_outside_the_vault() {
    let f = Fixture::new(3, 2);
    let outside = f.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("planted");
    let lock = f.vault_path().join(".lock");
    let _ = std::fs::remove_file(&lock);
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    let drill = drill_args(&f, "alice");
    let commands: Vec<Vec<String>> = vec![
        drill,
        vec!["status".into(), "--vault".into(), f.vault()],
        vec!["log".into(), "verify".into(), "--vault".into(), f.vault()],
    ];
    for args in &commands {
        // .lock plays no part any more (the directory is locked): they run.
        let r = run_within(args, 30);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            !target.exists(),
            "{args:?} created {} through .lock",
            target.display()
        );
    }
}

/// Issue item 5: with `log.jsonl` a symbolic link to another file ending in
/// a torn line, `log repair` truncated and appended to that other file.
#[test]
fn log_symlink_is_never_written_through_by_repair() {
    let f = Fixture::new(3, 2);
    let outside = f.dir.path().join("elsewhere.jsonl");
    let mut text = std::fs::read(f.log_path()).unwrap();
    text.extend_from_slice(b"{\"torn");
    std::fs::write(&outside, &text).unwrap();
    std::fs::remove_file(f.log_path()).unwrap();
    std::os::unix::fs::symlink(&outside, f.log_path()).unwrap();
    let r = common::run(&["log", "repair", "--vault", &f.vault()], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("log.jsonl")
            && r.stderr.contains("not a regular file but a symbolic link")
            && r.stderr.contains("backup copy"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        text,
        "the target is untouched"
    );
}

/// Issue item 5: a FIFO in place of a share file made a drill hang forever
/// in open(2); now it fails at once, naming the file.
#[test]
fn fifo_share_file_fails_a_drill_at_once() {
    let f = Fixture::new(3, 2);
    let share = f.share_file(1, "alice");
    std::fs::remove_file(&share).unwrap();
    let made = Command::new("mkfifo").arg(&share).status().unwrap();
    assert!(made.success());
    let r = run_within(&drill_args(&f, "alice"), 20);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("g000001/shares/alice.age") && all.contains("FIFO"),
        "{all}"
    );
}

/// A log swapped for a FIFO or a link after the vault's files were checked
/// by name: the verifiers (fast and reference) open it with `O_NOFOLLOW` and
/// `O_NONBLOCK` and refuse it at once, naming what it is, instead of
/// blocking in open(2) or following the link.
#[test]
fn the_verifiers_refuse_a_fifo_or_a_link_as_the_log_at_once() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo.jsonl");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let real = d.path().join("real.jsonl");
    std::fs::write(&real, b"").unwrap();
    let link = d.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    for (path, what) in [(&fifo, "FIFO"), (&link, "symbolic link")] {
        let fast = breakglass::log::verify(path, None, |_, _| {});
        let reference = breakglass::log::verify_rooted_reference(path, None, None, |_, _| {});
        for (name, r) in [
            ("fast", fast.map(|_| ())),
            ("reference", reference.map(|_| ())),
        ] {
            let e = r.expect_err(name).to_string();
            assert!(e.contains(what) && e.contains("audit log"), "{name}: {e}");
        }
    }
}

// ---------------------------------------------------------------------------
// Item 6: the lock.

/// Takes a `flock` on `path` (a directory or a file) in this process.
fn flock(path: &Path, op: rustix::fs::FlockOperation) -> std::fs::File {
    let f = std::fs::File::open(path).unwrap();
    rustix::fs::flock(&f, op).unwrap();
    f
}

/// A custodian drill spawned in the background (a ceremony: it appends).
fn spawn_drill(f: &Fixture, who: &str) -> std::process::Child {
    Command::new(bin())
        .args(drill_args(f, who))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) -> Run {
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A custodian drill at the terminal prompt asking for alice's identity
/// file: a ceremony that holds the vault and waits. Returns the child and a
/// handle on its stderr so far.
fn ceremony_waiting_at_a_prompt(
    f: &Fixture,
) -> (
    std::process::Child,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    let mut child = Command::new(bin())
        .args(["drill", "--vault", &f.vault(), "--custodian", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = err.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 256];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let start = std::time::Instant::now();
    while !err.lock().unwrap().contains("identity file") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the drill never prompted: {}",
            err.lock().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, err)
}

/// Issue item 6: the lock was a flock on `.lock`, which anyone can delete or
/// replace: a second ceremony then created a fresh `.lock`, locked it and
/// ran beside the first. The vault directory itself is locked now: the
/// second ceremony waits a few seconds (saying so once), then refuses.
#[test]
fn deleting_the_lock_file_does_not_let_a_second_ceremony_in() {
    let f = Fixture::new(3, 2);
    let (mut first, _) = ceremony_waiting_at_a_prompt(&f);
    let _ = std::fs::remove_file(f.vault_path().join(".lock"));
    let second = run_within(&drill_args(&f, "bob"), 60);
    assert_eq!(second.code, 2, "{}{}", second.stdout, second.stderr);
    assert_eq!(
        second
            .stderr
            .matches("waiting for another breakglass command to finish")
            .count(),
        1,
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("another breakglass command is using the vault"),
        "{}",
        second.stderr
    );
    // The first gives up at its prompt (end of input); then the vault is free.
    drop(first.stdin.take());
    assert_eq!(first.wait().unwrap().code(), Some(2));
    assert!(!f.events().contains(&"drill".to_string()), "no drill ran");
    let third = common::run(
        &drill_args(&f, "bob")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "",
    );
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(f.verify_log().code, 0);
}

/// Issue item 6: every command took the same exclusive lock, so a `log
/// show` or `status` still running (here: `log show` blocked writing to a
/// pipe nobody reads yet) made any ceremony fail at once. Read-only
/// commands take no lock now, and a ceremony started meanwhile runs.
#[test]
fn a_running_read_only_command_does_not_make_a_ceremony_fail() {
    let f = Fixture::new(3, 2);
    // Enough entries that `log show` fills a pipe (64 KiB) and blocks.
    let filler: Vec<(&str, Map<String, Value>)> = (0..400)
        .map(|i| ("note", obj(json!({"n": i, "text": "x".repeat(300)}))))
        .collect();
    plant(&f.log_path(), &filler);
    let show = Command::new(bin())
        .args(["log", "show", "--vault", &f.vault()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let drill = run_within(&drill_args(&f, "alice"), 60);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    assert!(!drill.stderr.contains("waiting"), "{}", drill.stderr);
    let show = finish(show);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.lines().count() > 400);
}

/// Issue item 6: a lock held for a moment by another command (a shared
/// lock, as a reader might take, on the directory and on the old `.lock`)
/// made a ceremony fail at once; now it waits, says so once on stderr, and
/// runs.
#[test]
fn a_ceremony_waits_for_a_lock_held_briefly() {
    use rustix::fs::FlockOperation;
    let f = Fixture::new(3, 2);
    let lock = f.vault_path().join(".lock");
    if !lock.exists() {
        std::fs::write(&lock, b"").unwrap();
    }
    let held = (
        flock(&f.vault_path(), FlockOperation::LockShared),
        flock(&lock, FlockOperation::LockShared),
    );
    let drill = spawn_drill(&f, "alice");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(held);
    let drill = finish(drill);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    assert_eq!(
        drill
            .stderr
            .matches("waiting for another breakglass command to finish")
            .count(),
        1,
        "{}",
        drill.stderr
    );
}

// ---------------------------------------------------------------------------
// Item 7: read-only media.

/// Every entry under `dir` (directories too) with its size, mode and mtime.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, u64, u32, std::time::SystemTime)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, m.len(), m.permissions().mode(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

/// chmod -R: files `file_mode`, directories `dir_mode`.
fn chmod_tree(dir: &Path, file_mode: u32, dir_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    for p in common::files_under(dir) {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(file_mode)).unwrap();
    }
    let mut dirs = vec![dir.to_owned()];
    let mut i = 0;
    while i < dirs.len() {
        for e in std::fs::read_dir(&dirs[i]).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        i += 1;
    }
    for d in dirs.iter().rev() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(dir_mode)).unwrap();
    }
}

/// Runs every read-only command on the vault at `vault`, writing reports
/// and exports to `out`; each must succeed.
fn run_read_only_commands(vault: &str, out: &Path) {
    let r = common::run(&["log", "verify", "--vault", vault], "");
    assert_eq!(r.code, 0, "log verify: {}", r.stderr);
    let receipt = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("log receipt: "))
        .unwrap()
        .to_owned();
    let html = out.join("report.html").display().to_string();
    let export = out.join("export.jsonl").display().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["log", "verify", "--vault", vault, "--json"],
        vec!["log", "verify", "--vault", vault, "--receipt", &receipt],
        vec!["status", "--vault", vault],
        vec!["status", "--vault", vault, "--json"],
        vec!["report", "--vault", vault],
        vec!["report", "--vault", vault, "--json"],
        vec!["report", "--vault", vault, "--html", &html],
        vec!["log", "export", "--vault", vault],
        vec!["log", "export", "--vault", vault, "--out", &export],
        vec!["log", "show", "--vault", vault],
        vec!["log", "show", "--vault", vault, "--json"],
    ];
    for args in commands {
        let r = common::run(&args, "");
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
}

/// Unmounts on drop (also when the test fails).
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Issue item 7: every read-only command (log verify, status, report, log
/// export, log show) created and opened `.lock` for writing, so none worked
/// from a read-only copy of the vault (a CD, a write-protected stick, a
/// read-only mount). Now they create, open for writing and change nothing:
/// checked on a chmod'ed copy (as root chmod stops nothing, so the listing
/// with sizes, modes and mtimes is compared) and, where this test may
/// mount, on a real read-only bind mount.
#[test]
fn read_only_commands_work_on_read_only_media_and_change_nothing() {
    let f = Fixture::new(3, 2);
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
    let _ = std::fs::remove_file(f.vault_path().join(".lock"));
    let out = f.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    chmod_tree(&f.vault_path(), 0o400, 0o500);
    let before = snapshot(&f.vault_path());
    run_read_only_commands(&f.vault(), &out);
    assert_eq!(snapshot(&f.vault_path()), before, "the vault was changed");
    chmod_tree(&f.vault_path(), 0o600, 0o700);

    // A real read-only file system, when this test may mount one (root).
    let ro = f.dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let bind = Command::new("mount")
        .arg("--bind")
        .arg(f.vault_path())
        .arg(&ro)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !bind {
        eprintln!("note: cannot mount here; the read-only mount part is skipped");
        return;
    }
    let mount = Mount(ro.clone());
    let remount = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&ro)
        .status()
        .unwrap();
    assert!(remount.success());
    assert!(
        std::fs::write(ro.join("probe"), b"x").is_err(),
        "mounted read-only"
    );
    run_read_only_commands(&ro.display().to_string(), &out);
    drop(mount);
}

// ---------------------------------------------------------------------------
// Item 8: file modes.

/// Runs the binary under `umask 000` (set in a shell that then execs it).
fn run_umask_000(args: &[&str], stdin: &str) -> Run {
    let mut sh_args = vec!["-c", "umask 000; exec \"$0\" \"$@\"", bin()];
    sh_args.extend_from_slice(args);
    let mut child = Command::new("sh")
        .args(&sh_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).ok();
    finish(child)
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Issue item 8: under umask 000, `.lock` came out 0666, and so did the
/// `report --html` page and the `log export --out` file. Now every vault
/// file is 0600 (directories 0700) whatever the umask, and reports and
/// exports are at most 0644 (an existing file loses group/other write).
#[test]
fn modes_are_explicit_under_umask_000() {
    let f = Fixture::custodians_only(3, 2);
    let v = f.vault();
    let d: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| f.path(&format!("{n}.custodian.json")))
        .collect();
    let r = run_umask_000(
        &[
            "init",
            "--vault",
            &v,
            "--threshold",
            "2",
            "--custodian",
            &d[0],
            "--custodian",
            &d[1],
            "--custodian",
            &d[2],
            "--entries",
            "-",
        ],
        &f.entries_json(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let answers = f.path("answers.json");
    let (alice, bob) = (f.identity("alice"), f.identity("bob"));
    for args in [
        drill_args(&f, "alice"),
        unseal_args(&f),
        [
            "reseal",
            "--vault",
            &v,
            "--ticket",
            "INC-1",
            "--reason",
            "rotation",
            "--identity",
            &alice,
            "--identity",
            &bob,
            "--answers",
            &answers,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_umask_000(&args, "");
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    let mut seen = 0;
    let mut stack = vec![f.vault_path()];
    assert_eq!(mode_of(&f.vault_path()), 0o700);
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                assert_eq!(mode_of(&p), 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode_of(&p), 0o600, "{}", p.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "manifest, log, payload, shares");

    let html = f.path("report.html");
    let export = f.path("export.jsonl");
    for (args, out) in [
        (vec!["report", "--vault", &v, "--html", &html], &html),
        (
            vec!["log", "export", "--vault", &v, "--out", &export],
            &export,
        ),
    ] {
        let r = run_umask_000(&args, "");
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(mode_of(Path::new(out)), 0o644, "{out}");
        // An existing world-writable file is tightened, not kept as is.
        std::fs::set_permissions(out, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        let r = run_umask_000(&args, "");
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(mode_of(Path::new(out)), 0o644, "{out}");
    }
    // And never into the vault (it would truncate the log it exports).
    let inside = f.vault_path().join("log.jsonl").display().to_string();
    let before = std::fs::read(f.log_path()).unwrap();
    let r = common::run(&["log", "export", "--vault", &v, "--out", &inside], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("inside the vault directory"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(f.log_path()).unwrap(), before);
}

/// Issue item 8: the answers file's mode was checked on the path, then the
/// file opened (a file swapped in between was read unchecked), and not at
/// all for `--answers -` with stdin redirected from a file. Now the open
/// descriptor is checked, stdin included.
#[test]
fn answers_mode_is_checked_on_what_is_read() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new(3, 2);
    let shared = f.path("shared-answers.json");
    std::fs::write(&shared, json!({"passphrases": f.passphrases()}).to_string()).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = drill_args(&f, "alice");
    let n = args.len();
    args[n - 1] = "-".into();
    let r = run_with_stdin_file(&args, &shared);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "the answers file on stdin holds secrets but is readable by others; stdin is redirected from that file: run `chmod 600` on it first (it has mode 0644)"
        ),
        "{}",
        r.stderr
    );
    assert!(!f.events().contains(&"drill".to_string()));
    // Made private, the same redirection is accepted.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(run_with_stdin_file(&args, &shared).code, 0);

    // The path swapped between a private and a shared file all the time
    // (renameat2 RENAME_EXCHANGE): whatever is read must have been checked.
    // The shared one is not even JSON, so reading it unchecked shows.
    let private = f.path("answers.json");
    let other = f.path("answers.swap");
    std::fs::write(&other, "not json").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, a, b) = (stop.clone(), private.clone(), other.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &a,
                    rustix::fs::CWD,
                    &b,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
            }
        })
    };
    let missing = f.path("no-vault");
    let (mut refused, mut read) = (0, 0);
    for _ in 0..150 {
        // Answers are read before the vault is opened; no vault here: fast.
        let r = common::run(
            &[
                "drill",
                "--vault",
                &missing,
                "--custodian",
                "alice",
                "--answers",
                &private,
            ],
            "",
        );
        assert!(
            !r.stderr.contains("not a valid answers document"),
            "a shared file was read unchecked: {}",
            r.stderr
        );
        if r.stderr.contains("readable by others") {
            refused += 1;
        } else if r.stderr.contains("no vault at") {
            read += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        refused > 0 && read > 0,
        "both files were seen: {refused} / {read}"
    );
}

/// Runs the binary with stdin redirected from the file at `path`.
fn run_with_stdin_file(args: &[String], path: &str) -> Run {
    let o = Command::new(bin())
        .args(args)
        .stdin(std::fs::File::open(path).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}
