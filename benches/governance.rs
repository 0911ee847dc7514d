//! `log verify`, `status`, `report` and `log export` on signed format 2
//! vaults of 100,000 and 1,000,000 log entries, each one streaming pass that
//! checks the chain, the anchor, the certificates and every signature no
//! confirmed quorum checkpoint covers (each cycle's quorum entries carry a
//! checkpoint through the entry before the cycle, as a ceremony writes
//! them; `CHECKPOINTS=0` writes none), and `log verify --every-signature`
//! on the same log. Prints seconds,
//! entries/s, seconds per million entries, the ratio to `sha256sum` of the
//! same file (when `sha256sum` exists) and peak RSS (VmHWM, reset between
//! phases through /proc/self/clear_refs when the kernel allows it).
//!
//! The cost of every signature is reported apart, two ways: the same log with every
//! `sig` member stripped (and re-chained, since the hash covers `sig`)
//! verified by the chain alone, and one Ed25519 verification timed on its
//! own (`sign::verify_ed25519`), times the number of signatures.
//!
//! The mix, per cycle of 10 entries (2 of the 5 entries of an unseal
//! ceremony are signed by the quorum, as the ceremony writes them):
//!
//! | # | entry                       | signed by          |
//! |---|-----------------------------|--------------------|
//! | 0 | unseal-requested            | —                  |
//! | 1 | share-accepted              | —                  |
//! | 2 | share-accepted              | —                  |
//! | 3 | unseal-granted              | quorum             |
//! | 4 | session-ended               | quorum             |
//! | 5 | sealed (reseal: certificate)| quorum (new generation) every RESEAL_EVERY cycles, else a quorum drill |
//! | 6 | review-recorded             | custodian (alice)  |
//! | 7 | drill-requested             | —                  |
//! | 8 | drill (quorum)              | quorum             |
//! | 9 | drill (custodian)           | custodian (alice, bob, carol in turn) |
//!
//! Run: `cargo bench --bench governance` (both sizes), or with
//! `ENTRIES=N` for one size, `RESEAL_EVERY=K` to reseal every K cycles
//! (default 1: every activation is rotated, as governance requires; a
//! larger K gives fewer generations). Speed targets live here, never in
//! tests; nothing is asserted about time. `BUILD_ONLY=DIR ENTRIES=N` only
//! writes the vault into DIR (`scripts/bench cli` times the binary on it).

#[path = "../tests/support/signed_history.rs"]
mod signed_history;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use breakglass::clock::Timestamp;
use breakglass::governance::{self, report};
use breakglass::log::{self, events, By, Log};
use breakglass::log_data;
use breakglass::sign::{self, Purpose};
use breakglass::vault::Vault;
use signed_history::{SignedHistory, VAULT};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs one phase; prints and returns its seconds.
fn phase(name: &str, n: u64, sha: Option<f64>, f: impl FnOnce() -> String) -> f64 {
    let reset = reset_hwm();
    let t = Instant::now();
    let what = f();
    let s = t.elapsed().as_secs_f64();
    println!(
        "  {name:<22} {s:>8.2} s {:>10.0} entries/s {:>8.2} s per 1M {}  peak RSS {:>7} KiB{}  ({what})",
        n as f64 / s,
        s * 1e6 / n as f64,
        sha.map_or("         ".into(), |h| format!("{:>6.1}× sha", s / h)),
        vm_hwm_kib(),
        if reset { "" } else { " (process peak)" }
    );
    s
}

/// Fills `b` with `n` entries of the mix (module docs).
fn fill(b: &mut SignedHistory, n: u64, reseal_every: u64, start: Timestamp, checkpoints: bool) {
    let t0 = start;
    b.init(t0, &["alice", "bob", "carol"], 2);
    let mut i = b.entries();
    while i < n {
        let t = start.plus(i as i64 * 300);
        let cycle = i / 10;
        let seq = i + 1;
        if i.is_multiple_of(10) && checkpoints {
            // The cycle's ceremony verified the log so far: its quorum
            // entries are checkpoints through the last entry before it.
            b.verified_through(Some(i));
        }
        match i % 10 {
            0 => b.unsigned(
                events::UNSEAL_REQUESTED,
                t,
                log_data! {"ticket" => format!("INC-{cycle}"), "reason" => "idp-outage: bench"},
            ),
            1 | 2 => b.unsigned(
                events::SHARE_ACCEPTED,
                t,
                log_data! {"custodian" => ["alice", "bob"][(i % 10) as usize - 1],
                "request" => seq - (i % 10), "token" => "software:0000-0000-0000-0000"},
            ),
            3 => b.quorum(
                events::UNSEAL_GRANTED,
                t,
                log_data! {"ticket" => format!("INC-{cycle}"),
                "reason" => if cycle.is_multiple_of(7) { "curious" } else { "idp-outage: bench" },
                "custodians" => ["alice", "bob"], "entries" => ["aws-root"],
                "session_limit_s" => 900, "request" => seq - 3},
            ),
            4 => b.quorum(
                events::SESSION_ENDED,
                t,
                log_data! {"grant" => seq - 1, "duration_s" => 300, "how" => "closed"},
            ),
            5 if cycle.is_multiple_of(reseal_every) => b.seal(
                t,
                log_data! {"reason" => "reseal", "ticket" => format!("INC-{cycle}"),
                "request" => seq - 5, "entries" => ["aws-root"]},
            ),
            5 => b.quorum(
                events::DRILL,
                t,
                log_data! {"kind" => "quorum", "custodians" => ["alice", "carol"], "result" => "ok"},
            ),
            6 => b.by(
                "alice",
                events::REVIEW_RECORDED,
                t,
                log_data! {"grants" => [seq - 3], "ticket" => format!("INC-{cycle}"),
                "complete" => true, "document_sha256" => "ab".repeat(32)},
            ),
            7 => b.unsigned(
                events::DRILL_REQUESTED,
                t,
                log_data! {"kind" => "quorum"},
            ),
            8 => b.quorum(
                events::DRILL,
                t,
                log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok",
                "request" => seq - 1},
            ),
            _ => {
                let who = ["alice", "bob", "carol"][(cycle % 3) as usize];
                b.by(
                    who,
                    events::DRILL,
                    t,
                    log_data! {"kind" => "custodian", "custodian" => who, "result" => "ok"},
                )
            }
        };
        i = b.entries();
    }
}

/// The same log without its `sig` members, re-chained (the hash covers the
/// signature): what verification costs without signatures.
fn strip_signatures(from: &Path, to: &Path) -> u64 {
    let r = BufReader::with_capacity(1 << 20, std::fs::File::open(from).expect("open"));
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(to).expect("create"));
    let mut head = None;
    let mut n = 0;
    for line in r.lines() {
        let e = log::parse_line(&line.expect("read")).expect("line");
        let (line, h) = Log::at_head(to, VAULT, head.take())
            .build_line(
                &e.event,
                e.generation,
                e.data.into_map(),
                e.time,
                By::Nobody,
            )
            .expect("line");
        w.write_all(line.as_bytes()).expect("write");
        head = Some(h);
        n += 1;
    }
    w.flush().expect("flush");
    n
}

/// Seconds for one Ed25519 verification (and one signature) of a log-sized body.
fn one_signature() -> (f64, f64) {
    let key = signed_history::generation_key(1);
    let pk = key.public().0;
    let bodies: Vec<Vec<u8>> = (0..4000u32)
        .map(|i| format!("{{\"data\":{{\"grant\":{i},\"how\":\"closed\",\"duration_s\":300}},\"event\":\"session-ended\",\"generation\":1,\"prev\":\"{}\",\"seq\":{i},\"sig\":{{\"by\":\"quorum\"}},\"time\":\"2016-01-01T00:00:00Z\",\"vault\":\"{VAULT}\"}}", "ab".repeat(32)).into_bytes())
        .collect();
    let t = Instant::now();
    let sigs: Vec<[u8; 64]> = bodies
        .iter()
        .map(|b| key.sign(Purpose::LogEntry, b))
        .collect();
    let sign_s = t.elapsed().as_secs_f64() / bodies.len() as f64;
    let t = Instant::now();
    let ok = bodies
        .iter()
        .zip(&sigs)
        .filter(|(b, s)| sign::verify_ed25519(&pk, Purpose::LogEntry, b, &s[..]))
        .count();
    let verify_s = t.elapsed().as_secs_f64() / bodies.len() as f64;
    assert_eq!(ok, bodies.len());
    (verify_s, sign_s)
}

/// Whether quorum entries carry checkpoints, as the ceremonies write them
/// (`CHECKPOINTS=0`: a log written before checkpoints existed).
fn checkpoints() -> bool {
    std::env::var("CHECKPOINTS").map_or(true, |v| v != "0")
}

fn sha256sum(path: &Path) -> Option<f64> {
    let t = Instant::now();
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    out.status.success().then(|| t.elapsed().as_secs_f64())
}

fn run(n: u64, reseal_every: u64, one: (f64, f64)) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("vault");
    let start = Timestamp::parse("2016-01-01T00:00:00Z").expect("time");
    let mut b = SignedHistory::streaming(&dir);
    let t = Instant::now();
    fill(&mut b, n, reseal_every, start, checkpoints());
    b.write(&dir);
    let gen_s = t.elapsed().as_secs_f64();
    let path = dir.join("log.jsonl");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let sha = sha256sum(&path);
    println!(
        "== {n} entries, {} MiB, {} generations (reseal every {reseal_every} cycles)",
        size >> 20,
        b.generation()
    );
    println!(
        "  {:<22} {gen_s:>8.2} s {:>10.0} entries/s {:>8.2} s per 1M  (tests/support/signed_history.rs, release)",
        "build (signed)",
        n as f64 / gen_s,
        gen_s * 1e6 / n as f64
    );
    match sha {
        Some(h) => println!(
            "  {:<22} {h:>8.2} s {:>10.0} entries/s {:>8.2} s per 1M  ({:.0} MB/s)",
            "sha256sum",
            n as f64 / h,
            h * 1e6 / n as f64,
            size as f64 / h / 1e6
        ),
        None => println!("  sha256sum: not found, no ratio"),
    }
    let (anchor, _) = Vault::open(&dir)
        .expect("vault")
        .read_manifest()
        .expect("manifest");
    let anchor = anchor.log_head;
    let mut signatures = 0;
    phase("log verify", n, sha, || {
        let r = log::verify(&path, Some(&anchor), |_, _| {}).expect("verify");
        assert!(r.is_intact(), "{}", r.explain());
        format!(
            "{} entries, intact, {} quorum + {} custodian signatures, {} unsigned; checkpoints {}",
            r.entries,
            r.trust.quorum_signed,
            r.trust.custodian_signed,
            r.trust.unsigned,
            if checkpoints() { "trusted" } else { "absent" }
        )
    });
    let signed_s = phase("log verify --every-sig", n, sha, || {
        let r = log::verify_every_signature(&path, Some(&anchor), |_, _| {}).expect("verify");
        assert!(r.is_intact(), "{}", r.explain());
        signatures = r.trust.quorum_signed + r.trust.custodian_signed;
        format!("every signature checked: {signatures}")
    });
    let plain = tmp.path().join("stripped.jsonl");
    let t = Instant::now();
    strip_signatures(&path, &plain);
    let strip_s = t.elapsed().as_secs_f64();
    let chain_s = phase("log verify (chain only)", n, sha, || {
        let r = log::verify(&plain, None, |_, _| {}).expect("verify");
        assert!(r.chain_intact());
        format!(
            "same log, sig stripped and re-chained in {strip_s:.1} s, {} MiB",
            std::fs::metadata(&plain).map(|m| m.len()).unwrap_or(0) >> 20
        )
    });
    let _ = std::fs::remove_file(&plain);
    let cost = signed_s - chain_s;
    println!(
        "  {:<22} {cost:>8.2} s = {:.1} µs per signature, {:.0}% of the signed verify; one verify_ed25519 alone: {:.1} µs (× {signatures} = {:.2} s), one signature: {:.1} µs",
        "signature cost (all)",
        cost / signatures.max(1) as f64 * 1e6,
        cost / signed_s * 100.0,
        one.0 * 1e6,
        one.0 * signatures as f64,
        one.1 * 1e6
    );
    let now = start.plus(n as i64 * 300);
    phase("status", n, sha, || {
        let s = governance::status(&Vault::open(&dir).expect("vault"), None, now).expect("status");
        assert_eq!(s.forged.count, 0);
        format!(
            "{} activations, {} obligations ({} overdue), log intact {}, exit {}{}",
            s.activations,
            s.obligations.len(),
            s.overdue().count(),
            s.log_intact,
            s.exit_code(),
            if s.log_intact {
                String::new()
            } else {
                format!(": {}", s.log_problem)
            }
        )
    });
    phase("report (+ html)", n, sha, || {
        let sc = report::Scenarios::parse(b"idp-outage bench\n").expect("scenarios");
        let r = report::report(
            &Vault::open(&dir).expect("vault"),
            None,
            None,
            Some(sc),
            now,
        )
        .expect("report");
        let html = governance::html::render(&r, VAULT);
        format!(
            "{} quarters, {} activations, {} outside, html {} KiB",
            r.quarters.len(),
            r.total.activations,
            r.total.outside_scenarios.unwrap_or(0),
            html.len() >> 10
        )
    });
    phase("log export", n, sha, || {
        let mut sink = std::io::sink();
        let (_, written) =
            governance::export::export(&path, Some(&anchor), 0, &mut sink).expect("export");
        format!("{written} lines")
    });
}

/// `BUILD_ONLY=DIR`: writes the vault of `ENTRIES` entries into DIR (for
/// `scripts/bench cli`, which times the binary on it) and prints its size.
fn build_only(dir: &Path, n: u64, reseal_every: u64) {
    let start = Timestamp::parse("2016-01-01T00:00:00Z").expect("time");
    let mut b = SignedHistory::streaming(dir);
    let t = Instant::now();
    fill(&mut b, n, reseal_every, start, checkpoints());
    b.write(dir);
    let size = std::fs::metadata(dir.join("log.jsonl")).map_or(0, |m| m.len());
    println!(
        "built {n} entries ({} MiB, {} generations, reseal every {reseal_every} cycles) in {:.1} s into {}",
        size >> 20,
        b.generation(),
        t.elapsed().as_secs_f64(),
        dir.display()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(dir) = std::env::var_os("BUILD_ONLY") {
        let n = env("ENTRIES").unwrap_or(100_000);
        build_only(Path::new(&dir), n, env("RESEAL_EVERY").unwrap_or(1).max(1));
        return;
    }
    let sizes = match env("ENTRIES") {
        Some(n) => vec![n],
        None => vec![100_000, 1_000_000],
    };
    let reseal_every = env("RESEAL_EVERY").unwrap_or(1).max(1);
    let one = one_signature();
    for n in sizes {
        run(n, reseal_every, one);
    }
}
