//! `status --incremental` and `log export --incremental`, end to end through
//! the binary: a vault of software custodians, entries appended between
//! runs by real ceremonies (drill, unseal, review), the clock moved with
//! `BREAKGLASS_TEST_NOW`. In every case the incremental output is the
//! non-incremental one (status JSON but for `log.incremental`, status text
//! but for its `incremental` line, exports byte for byte, exit codes), and
//! what the cache did is checked from `resumed_after` / the stderr line:
//! resumed where the cached state fits, the whole log read where it cannot
//! (truncated, last cached line altered, another vault's log, a cache file
//! edited, garbage or of another log, more than 24 h since the last full
//! read, a clock gone back). Also: the documented proviso (an edit further
//! back in the prefix is seen only at the next full read), the refused
//! cache directories, the default location and modes, and that an
//! incremental run never writes the vault directory.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use breakglass::clock::Timestamp;
use common::{run_env, Fixture, Run};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// When the test vaults are created.
const T0: &str = "2030-03-01T09:00:00Z";
const MIN: i64 = 60;
const HOUR: i64 = 3600;
/// `FULL_CHECK_EVERY_SECS` (src/governance/status.rs).
const DAY: i64 = 86_400;
const FORMATS: [&str; 3] = ["jsonl", "ecs", "ocsf"];

/// `T0` plus `secs` seconds, as `BREAKGLASS_TEST_NOW` wants it.
fn t(secs: i64) -> String {
    Timestamp::parse(T0).unwrap().plus(secs).to_rfc3339()
}

/// A 2-of-3 vault (alice, bob, carol) made by the binary at `T0`.
struct V {
    f: Fixture,
}

/// What one `status --json --incremental` said about its cache.
#[derive(Debug)]
struct Inc {
    resumed_after: Option<u64>,
    /// `log.incremental.lost.seq`: an entry an earlier run verified that
    /// the log no longer holds.
    lost: Option<u64>,
    fully_verified_at: String,
    /// The status (without `now` and `log.incremental`).
    status: Value,
    code: i32,
}

impl V {
    fn new() -> V {
        let f = Fixture::custodians_only(3, 2);
        let mut args: Vec<String> = [
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "2",
            "--entries",
            "-",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for n in &common::NAMES[..3] {
            args.push("--custodian".into());
            args.push(f.path(&format!("{n}.custodian.json")));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_env(&args, &f.entries_json(), &[("BREAKGLASS_TEST_NOW", T0)]);
        assert_eq!(r.code, 0, "init failed: {}", r.stderr);
        V { f }
    }

    fn vault(&self) -> String {
        self.f.vault()
    }

    /// The default cache directory of these tests (outside the vault).
    fn cache(&self) -> String {
        self.f.path("cache")
    }

    fn cache_path(&self) -> PathBuf {
        self.f.dir.path().join("cache")
    }

    fn bg(&self, now: &str, args: &[&str]) -> Run {
        run_env(args, "", &[("BREAKGLASS_TEST_NOW", now)])
    }

    /// `status [--json]`, with `--incremental --cache-dir cache` if given.
    fn status(&self, now: &str, json: bool, cache: Option<&str>) -> Run {
        let vault = self.vault();
        let mut args = vec!["status", "--vault", &vault];
        if json {
            args.push("--json");
        }
        if let Some(c) = cache {
            args.extend(["--incremental", "--cache-dir", c]);
        }
        self.bg(now, &args)
    }

    /// `status --json` and `status --json --incremental --cache-dir cache` at
    /// `now`: same exit code, same status (`log.incremental` aside).
    fn pair_in(&self, now: &str, cache: &str) -> Inc {
        let plain = self.status(now, true, None);
        let inc = self.status(now, true, Some(cache));
        assert!(plain.code == 0 || plain.code == 1, "{}", plain.stderr);
        let (p, none) = strip(&plain.stdout);
        assert!(none.is_none(), "no log.incremental without --incremental");
        let (s, i) = strip(&inc.stdout);
        assert_eq!(s, p, "status --incremental differs from status at {now}");
        let i = i.expect("log.incremental with --incremental");
        let keys: Vec<&String> = i.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["fully_verified_at", "lost", "not_stored", "resumed_after"],
            "{i}"
        );
        // A lost entry is one more failed check (exit 1); nothing else differs.
        let lost = i["lost"]["seq"].as_u64();
        assert_eq!(
            inc.code,
            plain.code.max(i32::from(lost.is_some())),
            "exit codes: {}",
            inc.stderr
        );
        assert_eq!(i["not_stored"], Value::Null, "{i}: {}", inc.stderr);
        assert!(!inc.stderr.contains("note:"), "{}", inc.stderr);
        Inc {
            resumed_after: i["resumed_after"].as_u64(),
            lost,
            fully_verified_at: i["fully_verified_at"].as_str().unwrap().to_owned(),
            status: s,
            code: inc.code,
        }
    }

    fn pair(&self, now: &str) -> Inc {
        self.pair_in(now, &self.cache())
    }

    /// `status` and `status --incremental` as text: the same lines but for
    /// exactly one `incremental` line, which is returned.
    fn text_pair(&self, now: &str, cache: &str) -> String {
        let plain = self.status(now, false, None);
        let inc = self.status(now, false, Some(cache));
        assert_eq!(inc.code, plain.code, "{}", inc.stderr);
        let (extra, rest): (Vec<&str>, Vec<&str>) = inc
            .stdout
            .lines()
            .partition(|l| l.starts_with("incremental    "));
        assert_eq!(extra.len(), 1, "{}", inc.stdout);
        assert_eq!(rest, plain.stdout.lines().collect::<Vec<_>>());
        extra[0].to_owned()
    }

    /// The log's head seq (one entry per line).
    fn head(&self) -> u64 {
        self.f.log_lines().len() as u64
    }

    fn answers(&self) -> String {
        self.f.path("answers.json")
    }

    /// A custodian drill of `who` at `now` (appends one entry).
    fn drill(&self, now: &str, who: &str) -> u64 {
        let before = self.head();
        let (vault, id, answers) = (self.vault(), self.f.identity(who), self.answers());
        let r = self.bg(
            now,
            &[
                "drill",
                "--vault",
                &vault,
                "--custodian",
                who,
                "--identity",
                &id,
                "--answers",
                &answers,
            ],
        );
        assert_eq!(r.code, 0, "drill: {}\n{}", r.stdout, r.stderr);
        assert!(self.head() > before);
        self.head()
    }

    /// An unseal by alice and bob at `now`; returns the grant's seq.
    fn unseal(&self, now: &str) -> u64 {
        let r = self
            .f
            .unseal_env(&["alice", "bob"], &[], &[("BREAKGLASS_TEST_NOW", now)]);
        assert_eq!(r.code, 0, "unseal: {}", r.stderr);
        let v: Value = serde_json::from_str(r.stdout.trim()).expect("unseal --json");
        v["grant_seq"].as_u64().expect("grant_seq")
    }

    /// The post-incident review of the unseal `grant`, by alice, at `now`.
    fn review(&self, now: &str, grant: u64) {
        let doc = serde_json::json!({
            "participants": ["alice", "bob"],
            "timeline": [{"time": T0, "what": "idp down"}],
            "root_cause": "expired certificate",
            "preventive_measures": ["alert on expiry"],
            "provider_events": ["cloudtrail-0001"],
        });
        let p = self.f.path("review.json");
        std::fs::write(&p, doc.to_string()).unwrap();
        let (vault, id, answers, g) = (
            self.vault(),
            self.f.identity("alice"),
            self.answers(),
            grant.to_string(),
        );
        let r = self.bg(
            now,
            &[
                "review",
                "--vault",
                &vault,
                "--grant",
                &g,
                "--from",
                &p,
                "--custodian",
                "alice",
                "--identity",
                &id,
                "--answers",
                &answers,
            ],
        );
        assert_eq!(r.code, 0, "review: {}\n{}", r.stdout, r.stderr);
    }

    /// `log export --after AFTER --format FORMAT`, incremental with `cache`.
    fn export(&self, now: &str, after: u64, format: &str, cache: Option<&str>) -> Run {
        let (vault, after) = (self.vault(), after.to_string());
        let mut args = vec![
            "log", "export", "--vault", &vault, "--after", &after, "--format", format,
        ];
        if let Some(c) = cache {
            args.extend(["--incremental", "--cache-dir", c]);
        }
        self.bg(now, &args)
    }

    fn write_log(&self, bytes: &[u8]) {
        std::fs::write(self.f.log_path(), bytes).unwrap();
    }
}

/// A status JSON without `now`, and its `log.incremental` (taken out).
fn strip(stdout: &str) -> (Value, Option<Value>) {
    let mut v: Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("status JSON: {e}: {stdout}"));
    let inc = v["log"].as_object_mut().unwrap().remove("incremental");
    v.as_object_mut().unwrap().remove("now");
    (v, inc)
}

/// The files `PREFIX-*.json` in the cache directory `dir`.
fn cache_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n.starts_with(&format!("{prefix}-")) && n.ends_with(".json")
    });
    v.sort();
    v
}

/// The one `PREFIX-*.json` file in `dir`.
fn cache_file(dir: &Path, prefix: &str) -> PathBuf {
    let v = cache_files(dir, prefix);
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}

/// Everything under `dir` (itself included): kind, size, mode, mtime.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (bool, u64, u32, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        out.insert(
            p.clone(),
            (m.is_dir(), m.len(), m.mode(), m.mtime(), m.mtime_nsec()),
        );
        if m.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        }
    }
    out
}

/// The `seq` of every line of a jsonl export.
fn seqs_of(jsonl: &str) -> Vec<u64> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// Flips one hex digit of the `hash` member of log line `k` (1-based),
/// keeping its length: the line no longer verifies.
fn break_line(log: &[u8], k: usize) -> Vec<u8> {
    let mut out = log.to_vec();
    let start: usize = log
        .split_inclusive(|&b| b == b'\n')
        .take(k - 1)
        .map(<[u8]>::len)
        .sum();
    let line_len = log[start..].iter().position(|&b| b == b'\n').unwrap();
    let line = &log[start..start + line_len];
    let at = start
        + line
            .windows(8)
            .position(|w| w == b"\"hash\":\"")
            .expect("a hash member")
        + 8;
    out[at] = if out[at] == b'0' { b'1' } else { b'0' };
    out
}

// ------------------------------------------------------------ 1. status

/// The first run reads everything; a run without changes resumes at the
/// head; after each ceremony it resumes at the previous head and counts the
/// new entries: a drill's `last_drill`, an unseal's obligations, a review
/// clearing one. JSON and text agree with the non-incremental status.
#[test]
fn status_incremental_equals_status_as_ceremonies_append() {
    let v = V::new();
    let text_cache = v.f.path("cache-text");
    let h0 = v.head();

    let now = t(HOUR);
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, None, "first run: nothing cached");
    assert_eq!(i.fully_verified_at, now);
    assert_eq!(i.code, 0);
    assert_eq!(i.status["log"]["entries"], h0);
    assert_eq!(i.status["log"]["intact"], true);
    for c in i.status["custodians"].as_array().unwrap() {
        assert_eq!(c["last_drill"], Value::Null, "{c}");
    }
    assert_eq!(
        v.text_pair(&now, &text_cache),
        "incremental    read the whole log (nothing cached fitted)"
    );
    let first_full = now.clone();

    // Nothing changed: resumes at the head, nothing new to read.
    let now = t(2 * HOUR);
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, Some(h0));
    assert_eq!(i.fully_verified_at, first_full);
    assert_eq!(
        v.text_pair(&now, &text_cache),
        format!(
            "incremental    read the entries after {h0} (cached); whole log last read {first_full}"
        )
    );

    // A drill of bob.
    let h1 = v.drill(&t(3 * HOUR), "bob");
    let now = t(3 * HOUR + MIN);
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, Some(h0));
    assert_eq!(i.fully_verified_at, first_full);
    assert_eq!(i.status["log"]["entries"], h1);
    assert_eq!(i.status["log"]["head"]["seq"], h1);
    let bob = &i.status["custodians"][1];
    assert_eq!(bob["name"], "bob");
    assert_eq!(bob["last_drill"]["seq"], h1, "{bob}");
    assert_eq!(bob["last_drill"]["kind"], "custodian", "{bob}");
    assert_eq!(
        v.text_pair(&now, &text_cache),
        format!(
            "incremental    read the entries after {h0} (cached); whole log last read {first_full}"
        )
    );

    // An unseal: an activation, rotation and review now open.
    let grant = v.unseal(&t(4 * HOUR));
    let h2 = v.head();
    let now = t(4 * HOUR + MIN);
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, Some(h1));
    assert_eq!(i.status["activations"], 1);
    let open = |s: &Value| -> Vec<(String, Option<u64>)> {
        s["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] != "drill")
            .map(|o| (o["kind"].as_str().unwrap().to_owned(), o["grant"].as_u64()))
            .collect()
    };
    assert_eq!(
        open(&i.status),
        [
            ("rotation".to_owned(), Some(grant)),
            ("review".into(), Some(grant))
        ]
    );
    assert_eq!(i.status["log"]["head"]["seq"], h2);
    assert_eq!(i.code, 0);
    v.text_pair(&now, &text_cache);

    // The review: clears the review obligation, the rotation stays.
    v.review(&t(5 * HOUR), grant);
    let h3 = v.head();
    let now = t(5 * HOUR + MIN);
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, Some(h2));
    assert_eq!(open(&i.status), [("rotation".to_owned(), Some(grant))]);
    assert_eq!(i.status["log"]["head"]["seq"], h3);
    assert_eq!(i.fully_verified_at, first_full);
    assert_eq!(
        v.text_pair(&now, &text_cache),
        format!(
            "incremental    read the entries after {h2} (cached); whole log last read {first_full}"
        )
    );

    // And again without changes.
    let i = v.pair(&t(6 * HOUR));
    assert_eq!(i.resumed_after, Some(h3));
    // One file for this vault's status in each cache, nothing else.
    for dir in [v.cache_path(), PathBuf::from(&text_cache)] {
        cache_file(&dir, "status");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}

/// An obligation that falls due between a full read and a resumed run is
/// overdue in the resumed status too (the cached tracker moves to now):
/// the same exit code 1.
#[test]
fn an_obligation_falling_due_while_resuming_is_overdue_with_exit_1() {
    let v = V::new();
    let grant = v.unseal(&t(MIN));
    let i = v.pair(&t(23 * HOUR));
    assert_eq!(i.resumed_after, None);
    assert_eq!(i.code, 0);
    assert_eq!(i.status["overdue"], 0);
    // The rotation is due 24 h after the unseal; 1 h 2 min after the full read.
    let i = v.pair(&t(24 * HOUR + 2 * MIN));
    assert_eq!(i.resumed_after, Some(v.head()));
    assert_eq!(i.code, 1);
    assert_eq!(i.status["overdue"], 1);
    assert_eq!(i.status["obligations"][0]["kind"], "rotation");
    assert_eq!(i.status["obligations"][0]["grant"], grant);
    assert_eq!(i.status["obligations"][0]["overdue"], true);
}

// ------------------------------------------------------------ 2. export

/// The SIEM-shipping loop with `--after` the head of the previous run: each
/// incremental export is the plain one byte for byte, resumes at the
/// previous head, and the exports concatenated are the full export; for
/// jsonl, ecs and ocsf (each with its own cache), to stdout and to `--out`.
#[test]
fn export_incremental_equals_export_in_every_format() {
    let v = V::new();
    let cache = |f: &str| v.f.path(&format!("cache-{f}"));
    let mut shipped: BTreeMap<&str, String> = BTreeMap::new();
    let mut heads = vec![0u64];
    let ceremonies: [&dyn Fn(&str); 3] = [
        &|now| {
            v.drill(now, "alice");
        },
        &|now| {
            v.unseal(now);
        },
        &|now| {
            v.drill(now, "carol");
            v.drill(now, "bob");
        },
    ];
    for step in 0..=ceremonies.len() {
        let now = t(HOUR + step as i64 * HOUR);
        let after = *heads.last().unwrap();
        for format in FORMATS {
            let plain = v.export(&now, after, format, None);
            let inc = v.export(&now, after, format, Some(&cache(format)));
            assert_eq!(plain.code, 0, "{}", plain.stderr);
            assert_eq!(inc.code, 0, "{}", inc.stderr);
            assert_eq!(inc.stdout, plain.stdout, "{format} after {after}");
            let expect = if step == 0 {
                "incremental: read the whole log (nothing cached fitted)".to_owned()
            } else {
                format!(
                    "incremental: read the entries after {after} (cached); whole log last read {}",
                    t(HOUR)
                )
            };
            assert!(
                inc.stderr.lines().any(|l| l == expect),
                "{format} step {step}: {}",
                inc.stderr
            );
            let n = inc.stdout.lines().count() as u64;
            let plural = if n == 1 { "entry" } else { "entries" };
            assert!(inc.stderr.contains(&format!("exported {n} {plural}")));
            assert!(n > 0, "{format} step {step}: nothing new");
            shipped.entry(format).or_default().push_str(&inc.stdout);
            if format == "jsonl" {
                let want: Vec<u64> = (after + 1..=v.head()).collect();
                assert_eq!(seqs_of(&inc.stdout), want);
            }
        }
        heads.push(v.head());
        if step < ceremonies.len() {
            ceremonies[step](&t(HOUR + step as i64 * HOUR + 30 * MIN));
        }
    }
    let now = t(6 * HOUR);
    for format in FORMATS {
        let full = v.export(&now, 0, format, None);
        assert_eq!(full.code, 0);
        assert_eq!(shipped[format], full.stdout, "{format}: concatenation");
    }

    // --after below the cached head: the cached state skips entries that
    // must be exported, so the whole log is read; the output is the same.
    let head = v.head();
    for format in FORMATS {
        for after in [0, 1, heads[2] - 1] {
            let plain = v.export(&now, after, format, None);
            let inc = v.export(&now, after, format, Some(&cache(format)));
            assert_eq!(inc.stdout, plain.stdout, "{format} after {after}");
            assert_eq!(inc.code, plain.code);
            assert!(
                inc.stderr
                    .contains("incremental: read the whole log (nothing cached fitted)"),
                "{format} after {after}: {}",
                inc.stderr
            );
        }
        // The whole read stored the state at the head: at or past it resumes.
        for after in [head, head + 10] {
            let plain = v.export(&now, after, format, None);
            let inc = v.export(&now, after, format, Some(&cache(format)));
            assert_eq!(inc.stdout, plain.stdout);
            assert_eq!(inc.stdout, "", "nothing after the head");
            assert!(
                inc.stderr.contains(&format!(
                    "incremental: read the entries after {head} (cached); whole log last read {now}"
                )),
                "{format} after {after}: {}",
                inc.stderr
            );
        }
    }

    // --out FILE: the same bytes as without the cache.
    let vault = v.vault();
    for format in FORMATS {
        let plain_out = v.f.path(&format!("plain.{format}"));
        let inc_out = v.f.path(&format!("inc.{format}"));
        let after = heads[1].to_string();
        let base = [
            "log", "export", "--vault", &vault, "--after", &after, "--format", format,
        ];
        let mut a = base.to_vec();
        a.extend(["--out", &plain_out]);
        assert_eq!(v.bg(&now, &a).code, 0);
        let c = cache(format);
        let mut a = base.to_vec();
        a.extend(["--out", &inc_out, "--incremental", "--cache-dir", &c]);
        let r = v.bg(&now, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let got = std::fs::read(&inc_out).unwrap();
        assert!(!got.is_empty());
        assert_eq!(got, std::fs::read(&plain_out).unwrap(), "{format} --out");
    }
    // Export and status keep apart files in one cache directory.
    let c = cache("jsonl");
    cache_file(Path::new(&c), "export");
    assert!(cache_files(Path::new(&c), "status").is_empty());
}

/// An export over a log that no longer verifies is the plain export (same
/// lines, exit 1) and forgets the cached state.
#[test]
fn export_over_a_broken_log_equals_export_and_forgets_the_cache() {
    let v = V::new();
    let now = t(HOUR);
    let c = v.cache();
    let r = v.export(&now, 0, "jsonl", Some(&c));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = v.head();
    v.drill(&t(2 * HOUR), "alice");
    let log = std::fs::read(v.f.log_path()).unwrap();
    v.write_log(&break_line(&log, h as usize));
    let now = t(2 * HOUR + MIN);
    for after in [h, 0] {
        let plain = v.export(&now, after, "jsonl", None);
        let inc = v.export(&now, after, "jsonl", Some(&c));
        assert_eq!(plain.code, 1, "{}", plain.stderr);
        assert_eq!(inc.code, 1);
        assert_eq!(inc.stdout, plain.stdout, "after {after}");
        assert!(inc
            .stderr
            .contains("incremental: read the whole log (nothing cached fitted)"));
        assert!(cache_files(&v.cache_path(), "export").is_empty());
    }
}

// ------------------------------------------------------------ 3. tampering

/// A cache primed at the head, then the log truncated (one line gone, or
/// only the last newline): the whole log is read and the status is the
/// plain one (the log broken, exit 1); the cached state is forgotten.
#[test]
fn truncated_log_reads_the_whole_log() {
    let v = V::new();
    v.drill(&t(HOUR), "alice");
    let pristine = std::fs::read(v.f.log_path()).unwrap();
    let last_line = pristine[..pristine.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let first_line = pristine.iter().position(|&b| b == b'\n').unwrap() + 1;
    let h = v.head();
    for (what, len) in [
        ("its last line gone", last_line),
        ("its newline cut", pristine.len() - 1),
        ("half of it gone", pristine.len() / 2),
        ("all but the first line gone", first_line),
        ("emptied", 0),
    ] {
        v.write_log(&pristine);
        v.pair(&t(2 * HOUR));
        let i = v.pair(&t(2 * HOUR + MIN));
        assert_eq!(i.resumed_after, Some(h), "{what}: primed");
        v.write_log(&pristine[..len]);
        let now = t(2 * HOUR + 2 * MIN);
        let i = v.pair(&now);
        assert_eq!(i.resumed_after, None, "{what}");
        assert_eq!(i.fully_verified_at, now, "{what}");
        let log = &i.status["log"];
        let problem = log["problem"].as_str().unwrap_or("");
        match what {
            // Undetectable by a plain status without a receipt (the
            // manifest's anchor is further back: a drill does not move it);
            // the incremental one knows entry h was there: lost, exit 1.
            "its last line gone" => {
                assert_eq!(log["intact"].as_bool(), Some(true), "{log}");
                assert_eq!((i.lost, i.code), (Some(h), 1), "{log}");
                assert_eq!(log["entries"], h - 1);
            }
            "its newline cut" => {
                assert_eq!((log["intact"].as_bool(), i.code), (Some(false), 1), "{log}");
                assert!(problem.contains("the last line is torn"), "{log}");
                assert_eq!(log["entries"], h - 1);
            }
            _ => {
                assert_eq!((log["intact"].as_bool(), i.code), (Some(false), 1), "{log}");
                assert!(problem.contains("truncated"), "{log}");
            }
        }
        // The same log again: still the plain status.
        let again = v.pair(&now);
        assert_eq!(again.status, i.status, "{what}");
    }
    assert!(
        cache_files(&v.cache_path(), "status").is_empty(),
        "emptied: forgotten"
    );
    // Restored: the whole log again, intact.
    v.write_log(&pristine);
    let i = v.pair(&t(3 * HOUR));
    assert_eq!((i.resumed_after, i.code), (None, 0));
    assert_eq!(v.pair(&t(3 * HOUR)).resumed_after, Some(v.head()));
}

/// "A log that no longer verifies on a full read removes the cached
/// state": a log truncated before the manifest's anchor (the full read says
/// "truncated", exit 1) leaves no cached state behind, for status and export.
#[test]
fn a_log_truncated_before_its_anchor_leaves_no_cached_state() {
    let v = V::new();
    let pristine = std::fs::read(v.f.log_path()).unwrap();
    let first_line = pristine.iter().position(|&b| b == b'\n').unwrap() + 1;
    v.write_log(&pristine[..first_line]);
    let now = t(HOUR);
    let i = v.pair(&now);
    assert_eq!((i.resumed_after, i.code), (None, 1));
    assert_eq!(i.status["log"]["intact"], false);
    let e = v.export(&now, 0, "jsonl", Some(&v.cache()));
    assert_eq!(e.code, 1, "{}", e.stderr);
    let left: Vec<PathBuf> = cache_files(&v.cache_path(), "status")
        .into_iter()
        .chain(cache_files(&v.cache_path(), "export"))
        .collect();
    assert!(
        left.is_empty(),
        "cached state of a log that does not verify: {left:?}"
    );
}

/// The last line of the cached prefix altered (entries appended after it
/// by a real drill): not resumed, the log reported broken as by `status`,
/// exit 1, and the cache file removed.
#[test]
fn altered_last_cached_line_reads_the_whole_log_and_forgets_the_cache() {
    let v = V::new();
    v.drill(&t(HOUR), "alice");
    let i = v.pair(&t(2 * HOUR));
    assert_eq!((i.resumed_after, i.code), (None, 0));
    let h = v.head();
    assert_eq!(cache_files(&v.cache_path(), "status").len(), 1);
    v.drill(&t(3 * HOUR), "bob");
    assert!(v.head() > h);
    let log = std::fs::read(v.f.log_path()).unwrap();
    v.write_log(&break_line(&log, h as usize));

    let i = v.pair(&t(3 * HOUR + MIN));
    assert_eq!(i.resumed_after, None);
    assert_eq!(i.status["log"]["intact"], false);
    assert!(
        i.status["log"]["problem"].is_string(),
        "{}",
        i.status["log"]
    );
    assert_eq!(i.code, 1);
    assert!(cache_files(&v.cache_path(), "status").is_empty());
    let text = v.status(&t(3 * HOUR + MIN), false, Some(&v.cache())).stdout;
    assert!(text.contains("audit log      DOES NOT VERIFY"), "{text}");
    assert!(cache_files(&v.cache_path(), "status").is_empty());
    assert_eq!(v.f.verify_log().code, 1);
}

/// The vault's log replaced by another vault's (longer) log: not resumed,
/// the same status as without the cache. A cache file of the other vault
/// copied over this vault's file name: ignored (it names another log).
#[test]
fn another_vaults_log_or_cache_file_is_not_resumed_from() {
    let a = V::new();
    let b = V::new();
    b.drill(&t(HOUR), "alice");
    b.drill(&t(HOUR), "bob");
    b.drill(&t(HOUR), "carol");
    assert!(b.head() > a.head());
    let cache = a.cache();
    let cache_dir = a.cache_path();

    // Both vaults' status cached in one directory: two files.
    let ia = a.pair_in(&t(2 * HOUR), &cache);
    let ib = b.pair_in(&t(2 * HOUR), &cache);
    assert_eq!((ia.resumed_after, ib.resumed_after), (None, None));
    let files = cache_files(&cache_dir, "status");
    assert_eq!(files.len(), 2);
    assert_eq!(
        a.pair_in(&t(2 * HOUR), &cache).resumed_after,
        Some(a.head())
    );
    let a_file = cache_file_of(&files, &a);
    let b_file = files.iter().find(|p| **p != a_file).unwrap().clone();

    // B's cache file under A's name: ignored.
    std::fs::copy(&b_file, &a_file).unwrap();
    let i = a.pair_in(&t(2 * HOUR + MIN), &cache);
    assert_eq!(i.resumed_after, None, "another log's cache file");
    assert_eq!(i.code, 0);
    assert_eq!(i.status["log"]["entries"], a.head());
    // ...and rewritten as A's own: resumes again.
    assert_eq!(
        a.pair_in(&t(2 * HOUR + MIN), &cache).resumed_after,
        Some(a.head())
    );

    // A's log replaced by B's: not resumed; broken as `status` says.
    let a_log = std::fs::read(a.f.log_path()).unwrap();
    a.write_log(&std::fs::read(b.f.log_path()).unwrap());
    let i = a.pair_in(&t(2 * HOUR + 2 * MIN), &cache);
    assert_eq!(i.resumed_after, None, "another vault's log");
    assert_eq!(i.status["log"]["intact"], false);
    assert_eq!(i.code, 1);
    // Back: the whole log, intact.
    a.write_log(&a_log);
    let i = a.pair_in(&t(2 * HOUR + 3 * MIN), &cache);
    assert_eq!((i.resumed_after, i.code), (None, 0));
    // B's cache was never disturbed.
    assert_eq!(
        b.pair_in(&t(2 * HOUR + 3 * MIN), &cache).resumed_after,
        Some(b.head())
    );
}

/// Which of `files` belongs to vault `v` (the one whose header names its log).
fn cache_file_of(files: &[PathBuf], v: &V) -> PathBuf {
    let log = std::fs::canonicalize(v.f.log_path()).unwrap();
    files
        .iter()
        .find(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
            header["log"] == log.to_string_lossy().as_ref()
        })
        .expect("a cache file for the vault")
        .clone()
}

/// A cache file whose payload was edited without its digest, or garbage, or
/// empty: ignored (whole log read, same status) and rewritten. Edited with a
/// matching digest it is trusted (the directory is the operator's alone):
/// the digest is what made the difference.
#[test]
fn edited_or_garbage_cache_file_is_ignored() {
    let v = V::new();
    v.drill(&t(HOUR), "carol");
    let i = v.pair(&t(2 * HOUR));
    assert_eq!(i.resumed_after, None);
    let file = cache_file(&v.cache_path(), "status");
    let good = std::fs::read(&file).unwrap();
    let nl = good.iter().position(|&b| b == b'\n').unwrap();
    let (header, payload) = (&good[..nl], &good[nl + 1..]);
    let mut p: Value = serde_json::from_slice(payload).unwrap();
    let full_at = p["full_at"].as_i64().expect("full_at in seconds");
    assert_eq!(Timestamp(full_at).to_rfc3339(), t(2 * HOUR));
    p["full_at"] = (full_at - HOUR).into();
    let edited_payload = serde_json::to_vec(&p).unwrap();

    let now = t(2 * HOUR + MIN);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("payload edited", [header, b"\n", &edited_payload].concat()),
        ("a space added", [&good[..], b" "].concat()),
        ("garbage", b"\xff\xfe\x00garbage\n{{{".to_vec()),
        ("empty", Vec::new()),
        ("only the header", header.to_vec()),
    ];
    let mut fake_header: Value = serde_json::from_slice(header).unwrap();
    fake_header["format"] = "breakglass-cache/2".into();
    cases.push((
        "another format",
        [
            &serde_json::to_vec(&fake_header).unwrap()[..],
            b"\n",
            payload,
        ]
        .concat(),
    ));
    for (what, bytes) in cases {
        std::fs::write(&file, &bytes).unwrap();
        let i = v.pair(&now);
        assert_eq!(i.resumed_after, None, "{what}");
        assert_eq!(i.fully_verified_at, now, "{what}");
        assert_eq!(i.code, 0);
        assert_ne!(std::fs::read(&file).unwrap(), bytes, "{what}: rewritten");
        assert_eq!(v.pair(&now).resumed_after, Some(v.head()), "{what}: again");
    }

    // The same edit with its digest: taken at its word.
    let mut h: Value = serde_json::from_slice(header).unwrap();
    h["digest"] = breakglass::encoding::hex(&Sha256::digest(&edited_payload)).into();
    let h = serde_json::to_vec(&h).unwrap();
    std::fs::write(&file, [&h[..], b"\n", &edited_payload].concat()).unwrap();
    let i = v.pair(&now);
    assert_eq!(i.resumed_after, Some(v.head()));
    assert_eq!(i.fully_verified_at, t(HOUR), "the edited full_at");
}

/// A cache that cannot be updated (a directory where its file goes): the
/// status is still the plain one, `not_stored` says why, a note on stderr;
/// once the way is clear the state is stored again and resumed from.
#[test]
fn a_cache_that_cannot_be_updated_changes_nothing_but_a_note() {
    let v = V::new();
    assert_eq!(v.pair(&t(HOUR)).resumed_after, None);
    let file = cache_file(&v.cache_path(), "status");
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("x"), b"in the way").unwrap();
    v.drill(&t(2 * HOUR), "alice");
    let now = t(2 * HOUR + MIN);
    let plain = v.status(&now, true, None);
    let inc = v.status(&now, true, Some(&v.cache()));
    assert_eq!(inc.code, plain.code);
    let (p, _) = strip(&plain.stdout);
    let (s, i) = strip(&inc.stdout);
    assert_eq!(s, p);
    let i = i.unwrap();
    assert!(i["resumed_after"].is_null(), "nothing could be read");
    let why = i["not_stored"].as_str().expect("not_stored");
    assert!(why.contains("cannot update the cache"), "{why}");
    assert!(
        inc.stderr.contains("note: cannot update the cache"),
        "{}",
        inc.stderr
    );
    // No temporary file is left behind by the failed update.
    let names: Vec<String> = std::fs::read_dir(v.cache_path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    std::fs::remove_dir_all(&file).unwrap();
    assert_eq!(v.pair(&now).resumed_after, None);
    assert_eq!(v.pair(&now).resumed_after, Some(v.head()));
}

// ------------------------------------------------------------ 4. 24 h rule

/// Resumed until 24 h after the last full read, then the whole log is read
/// (and `fully_verified_at` moves); a clock earlier than the cached state's
/// time reads the whole log. Status and export alike.
#[test]
fn the_whole_log_is_read_again_after_24_hours_or_when_the_clock_goes_back() {
    let v = V::new();
    let c = v.cache();
    let h0 = v.head();
    let exp = |now: &str, after: u64| -> String {
        let plain = v.export(now, after, "jsonl", None);
        let inc = v.export(now, after, "jsonl", Some(&c));
        assert_eq!(inc.stdout, plain.stdout);
        assert_eq!(inc.code, plain.code);
        inc.stderr
            .lines()
            .find(|l| l.starts_with("incremental: "))
            .expect("an incremental line")
            .to_owned()
    };
    let whole = "incremental: read the whole log (nothing cached fitted)";
    let resumed = |after: u64, full: &str| {
        format!("incremental: read the entries after {after} (cached); whole log last read {full}")
    };

    // Another cache, read at T, T+23 h, T+25 h: resumed, then the whole log.
    let other = v.f.path("cache-other");
    let i = v.pair_in(&t(0), &other);
    assert_eq!((i.resumed_after, i.fully_verified_at), (None, t(0)));
    let i = v.pair_in(&t(23 * HOUR), &other);
    assert_eq!((i.resumed_after, i.fully_verified_at), (Some(h0), t(0)));
    let since_23 = i.status["remote"]["last_12_months"]["since"].clone();
    let i = v.pair_in(&t(25 * HOUR), &other);
    assert_eq!((i.resumed_after, i.fully_verified_at), (None, t(25 * HOUR)));
    // The 12-month window moved with the clock (and matched `status`).
    assert_ne!(i.status["remote"]["last_12_months"]["since"], since_23);

    let start = t(0);
    let i = v.pair(&start);
    assert_eq!(
        (i.resumed_after, i.fully_verified_at.as_str()),
        (None, start.as_str())
    );
    assert_eq!(exp(&start, 0), whole);

    // +23 h: resumes, after a drill too.
    let h1 = v.drill(&t(22 * HOUR), "alice");
    let i = v.pair(&t(23 * HOUR));
    assert_eq!(i.resumed_after, Some(h0));
    assert_eq!(i.fully_verified_at, start);
    assert_eq!(exp(&t(23 * HOUR), h0), resumed(h0, &start));
    // One second before 24 h: still resumes.
    let i = v.pair(&t(DAY - 1));
    assert_eq!(i.resumed_after, Some(h1));
    assert_eq!(i.fully_verified_at, start);
    assert_eq!(exp(&t(DAY - 1), h1), resumed(h1, &start));
    // 24 h after the first full read: the whole log.
    let i = v.pair(&t(DAY));
    assert_eq!(i.resumed_after, None);
    assert_eq!(i.fully_verified_at, t(DAY));
    assert_eq!(exp(&t(DAY), h1), whole);
    // +25 h: resumes from the read at +24 h.
    let i = v.pair(&t(25 * HOUR));
    assert_eq!(i.resumed_after, Some(h1));
    assert_eq!(i.fully_verified_at, t(DAY));
    assert_eq!(exp(&t(25 * HOUR), h1), resumed(h1, &t(DAY)));
    // Days later with nothing in between: whole log.
    let i = v.pair(&t(3 * DAY));
    assert_eq!((i.resumed_after, i.fully_verified_at), (None, t(3 * DAY)));

    // The clock goes back (earlier than the stored state): the whole log.
    let back = t(3 * DAY - HOUR);
    let i = v.pair(&back);
    assert_eq!(i.resumed_after, None, "clock set back");
    assert_eq!(i.fully_verified_at, back);
    assert_eq!(
        exp(&t(3 * DAY), h1),
        whole,
        "export: more than 24 h since +25 h"
    );
    assert_eq!(exp(&back, h1), whole, "export: clock set back");
    // From there on it resumes again.
    let i = v.pair(&t(3 * DAY - HOUR + MIN));
    assert_eq!(
        (i.resumed_after, i.fully_verified_at),
        (Some(h1), back.clone())
    );
    assert_eq!(exp(&t(3 * DAY - HOUR + MIN), h1), resumed(h1, &back));
}

// ------------------------------------------------------------ 5. proviso

/// The documented proviso: an edit inside the cached prefix but not on its
/// last line is not seen by `status --incremental` until the next full
/// read (at most 24 h later); `log verify` (never incremental) and the
/// plain `status` see it at once.
#[test]
fn documented_proviso_an_edit_before_the_last_cached_line_is_seen_at_the_next_full_read() {
    let v = V::new();
    v.drill(&t(HOUR), "alice");
    let full = t(2 * HOUR);
    let i = v.pair(&full);
    assert_eq!((i.resumed_after, i.code), (None, 0));
    let head = v.head();
    assert!(head >= 3);
    let log = std::fs::read(v.f.log_path()).unwrap();
    v.write_log(&break_line(&log, 2));

    // The incremental status resumes and says intact ...
    let now = t(3 * HOUR);
    let inc = v.status(&now, true, Some(&v.cache()));
    assert_eq!(inc.code, 0, "{}", inc.stderr);
    let (s, i) = strip(&inc.stdout);
    let i = i.unwrap();
    assert_eq!(i["resumed_after"], head);
    assert_eq!(s["log"]["intact"], true);
    let text = v.status(&now, false, Some(&v.cache())).stdout;
    assert!(text.contains("entries, verified;"), "{text}");
    // ... where `status` and `log verify` see the edit.
    let plain = v.status(&now, true, None);
    assert_eq!(plain.code, 1);
    assert_eq!(strip(&plain.stdout).0["log"]["intact"], false);
    assert_eq!(v.f.verify_log().code, 1);
    // One second before 24 h after the full read: still unseen.
    let inc = v.status(&t(2 * HOUR + DAY - 1), true, Some(&v.cache()));
    assert_eq!(inc.code, 0);
    let (s, i) = strip(&inc.stdout);
    assert_eq!(i.unwrap()["resumed_after"], head);
    assert_eq!(s["log"]["intact"], true);
    // 24 h after the last full read: the whole log, broken as `status`
    // says, exit 1, and nothing left cached.
    let i = v.pair(&t(2 * HOUR + DAY));
    assert_eq!(i.resumed_after, None);
    assert_eq!(i.status["log"]["intact"], false);
    assert_eq!(i.code, 1);
    assert!(cache_files(&v.cache_path(), "status").is_empty());
    let text = v.status(&t(2 * HOUR + DAY), false, Some(&v.cache())).stdout;
    assert!(text.contains("audit log      DOES NOT VERIFY"), "{text}");
    assert!(text.contains("incremental    read the whole log"), "{text}");
}

// ------------------------------------------------------------ 6. refusals

/// `status`/`log export` with `--incremental --cache-dir DIR`.
fn with_cache(v: &V, cmd: &str, dir: &str) -> Run {
    let vault = v.vault();
    let mut args = if cmd == "status" {
        vec!["status", "--vault", &vault]
    } else {
        vec!["log", "export", "--vault", &vault]
    };
    args.extend(["--incremental", "--cache-dir", dir]);
    v.bg(&t(HOUR), &args)
}

/// A cache directory others can write, a link, a file, one owned by another
/// user, one inside the vault: exit 2 with a clear message, for status and
/// export, and nothing created in the vault directory.
#[test]
fn unsafe_cache_directories_are_refused() {
    let v = V::new();
    let vault_before = snapshot(&v.f.vault_path());
    let work = v.f.dir.path();
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();

    let open = work.join("open");
    std::fs::create_dir(&open).unwrap();
    let mine = work.join("mine");
    std::fs::create_dir(&mine).unwrap();
    mode(&mine, 0o700);
    let file = work.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let link = work.join("link");
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    for cmd in ["status", "export"] {
        for m in [0o770, 0o777, 0o702, 0o720] {
            mode(&open, m);
            let r = with_cache(&v, cmd, open.to_str().unwrap());
            assert_eq!(r.code, 2, "{cmd} mode {m:o}: {}", r.stderr);
            assert!(r.stderr.contains("writable by others"), "{}", r.stderr);
            assert!(r.stderr.contains("chmod 700"), "{}", r.stderr);
            assert!(r.stdout.is_empty());
            assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
        }
        let r = with_cache(&v, cmd, link.to_str().unwrap());
        assert_eq!(r.code, 2, "{cmd} link: {}", r.stderr);
        assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        let r = with_cache(&v, cmd, file.to_str().unwrap());
        assert_eq!(r.code, 2, "{cmd} file: {}", r.stderr);
        assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        assert_eq!(
            std::fs::read_dir(&mine).unwrap().count(),
            0,
            "nothing through the link"
        );
    }
    // Owned by someone else (as root: a directory given to uid 65534; as
    // anyone else: `/`, which root owns).
    let me = std::fs::metadata(work).unwrap().uid();
    let theirs = if me == 0 {
        let d = work.join("theirs");
        std::fs::create_dir(&d).unwrap();
        mode(&d, 0o700);
        std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
        d
    } else {
        PathBuf::from("/")
    };
    for cmd in ["status", "export"] {
        let r = with_cache(&v, cmd, theirs.to_str().unwrap());
        assert_eq!(r.code, 2, "{cmd} theirs: {}", r.stderr);
        assert!(
            r.stderr.contains("not by the user running breakglass"),
            "{}",
            r.stderr
        );
    }
    // Inside the vault directory: missing (would be created), nested, an
    // existing directory of the vault, the vault itself, via `..`.
    let vp = v.f.vault_path();
    let gen = std::fs::read_dir(&vp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a directory in the vault");
    let inside: Vec<PathBuf> = vec![
        vp.join("cache"),
        gen.clone(),
        vp.clone(),
        work.join("mine").join("..").join("vault").join("c"),
    ];
    for cmd in ["status", "export"] {
        for d in &inside {
            let r = with_cache(&v, cmd, d.to_str().unwrap());
            assert_eq!(r.code, 2, "{cmd} {}: {}", d.display(), r.stderr);
            assert!(
                r.stderr.contains("inside the vault directory"),
                "{}",
                r.stderr
            );
            assert!(r.stdout.is_empty());
            assert_eq!(
                snapshot(&vp).keys().collect::<Vec<_>>(),
                vault_before.keys().collect::<Vec<_>>(),
                "{cmd} {}: something created or removed in the vault",
                d.display()
            );
        }
    }
    // Every file and directory as it was (the vault directory's own mtime
    // aside: see a_cache_directory_inside_the_vault_is_refused_before_anything_is_created).
    let after = snapshot(&vp);
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, m)| **k != vp && vault_before.get(*k) != Some(m))
        .map(|(k, m)| (k, vault_before.get(k), m))
        .collect();
    assert!(changed.is_empty(), "the vault changed: {changed:?}");
    // A directory that passes: 0700, or 0755 (readable is fine), works.
    for m in [0o700, 0o755, 0o750] {
        mode(&open, m);
        let r = with_cache(&v, "status", open.to_str().unwrap());
        assert_eq!(r.code, 0, "mode {m:o}: {}", r.stderr);
    }
}

/// A missing cache directory inside the vault is refused before anything
/// is created there: one nested deeper (`VAULT/sub/cache`) leaves nothing
/// behind (not even `VAULT/sub`), and `VAULT/cache` does not touch the vault
/// directory at all (its mtime stays: nothing was created and removed).
#[test]
fn a_cache_directory_inside_the_vault_is_refused_before_anything_is_created() {
    let v = V::new();
    let vp = v.f.vault_path();
    let mut problems = Vec::new();
    for rel in ["sub/cache", "cache"] {
        for cmd in ["status", "export"] {
            let before = snapshot(&vp);
            let d = vp.join(rel);
            let r = with_cache(&v, cmd, d.to_str().unwrap());
            assert_eq!(r.code, 2, "{cmd}: {}", r.stderr);
            assert!(
                r.stderr.contains("inside the vault directory"),
                "{}",
                r.stderr
            );
            let after = snapshot(&vp);
            let created: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
            if !created.is_empty() {
                problems.push(format!("{cmd} --cache-dir VAULT/{rel}: left {created:?}"));
            } else if after != before {
                problems.push(format!(
                    "{cmd} --cache-dir VAULT/{rel}: the vault directory was modified (mtime {:?} -> {:?})",
                    before[&vp], after[&vp]
                ));
            }
            for k in created {
                let _ = std::fs::remove_dir_all(k);
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Usage errors: `--expect-receipt` with `--incremental`, `--cache-dir`
/// without `--incremental` (exit 2, nothing cached).
#[test]
fn usage_errors() {
    let v = V::new();
    let vault = v.vault();
    let c = v.cache();
    let lines = v.f.log_lines();
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let receipt = format!("{}:{}", last["seq"], &last["hash"].as_str().unwrap()[..16]);
    for a in [
        vec!["status", "--vault", &vault, "--cache-dir", &c],
        vec!["status", "--vault", &vault, "--json", "--cache-dir", &c],
        vec!["log", "export", "--vault", &vault, "--cache-dir", &c],
    ] {
        let r = v.bg(&t(HOUR), &a);
        assert_eq!(r.code, 2, "{a:?}: {}", r.stderr);
        assert!(r.stderr.contains("--incremental"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        assert!(!v.cache_path().exists(), "{a:?}");
    }
    // The receipt itself is fine without --incremental.
    let r = v.bg(
        &t(HOUR),
        &["status", "--vault", &vault, "--expect-receipt", &receipt],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for json in [false, true] {
        let mut a = vec![
            "status",
            "--vault",
            &vault,
            "--expect-receipt",
            &receipt,
            "--incremental",
            "--cache-dir",
            &c,
        ];
        if json {
            a.push("--json");
        }
        let r = v.bg(&t(HOUR), &a);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("leave out --incremental"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        // Refused before anything is created.
        assert!(!v.cache_path().exists());
    }
}

/// Runs the binary with HOME and XDG_CACHE_HOME as given (None: unset).
fn run_home(args: &[&str], home: Option<&Path>, xdg: Option<&str>) -> Run {
    let mut cmd = Command::new(common::bin());
    cmd.args(args)
        .env("BREAKGLASS_TEST_NOW", t(HOUR))
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .stdin(Stdio::null());
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    if let Some(x) = xdg {
        cmd.env("XDG_CACHE_HOME", x);
    }
    let o = cmd.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Without `--cache-dir`: `$XDG_CACHE_HOME/breakglass` (when absolute), else
/// `$HOME/.cache/breakglass`; created 0700, files 0600; neither set: exit 2.
#[test]
fn default_cache_location_and_modes() {
    let v = V::new();
    let vault = v.vault();
    let home = v.f.dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let status = [
        "status",
        "--vault",
        vault.as_str(),
        "--incremental",
        "--json",
    ];
    let export = ["log", "export", "--vault", vault.as_str(), "--incremental"];
    let modes = |dir: &Path| {
        let m = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o700, "{}", dir.display());
        for f in std::fs::read_dir(dir).unwrap().flatten() {
            let m = f.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o600, "{}", f.path().display());
        }
    };

    // HOME only (and a relative XDG_CACHE_HOME, which does not count).
    let default = home.join(".cache").join("breakglass");
    for xdg in [None, Some("relative/cache")] {
        for args in [&status[..], &export[..]] {
            let r = run_home(args, Some(&home), xdg);
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        }
        modes(&default);
        cache_file(&default, "status");
        cache_file(&default, "export");
        let r = run_home(&status, Some(&home), xdg);
        let (_, i) = strip(&r.stdout);
        assert_eq!(i.unwrap()["resumed_after"], v.head(), "{xdg:?}");
    }
    assert!(!v.f.dir.path().join("relative").exists());

    // XDG_CACHE_HOME: there (created with its parents), not under HOME.
    let xdg = v.f.dir.path().join("xdg").join("deep");
    let xdg_s = xdg.to_str().unwrap().to_owned();
    std::fs::remove_dir_all(&default).unwrap();
    for args in [&status[..], &export[..]] {
        let r = run_home(args, Some(&home), Some(&xdg_s));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let there = xdg.join("breakglass");
    modes(&there);
    cache_file(&there, "status");
    cache_file(&there, "export");
    assert!(!default.exists());
    let r = run_home(&status, None, Some(&xdg_s));
    assert_eq!(strip(&r.stdout).1.unwrap()["resumed_after"], v.head());

    // Neither: a usage error naming --cache-dir.
    for args in [&status[..], &export[..]] {
        let r = run_home(args, None, None);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("--cache-dir"), "{}", r.stderr);
    }
}

// ------------------------------------------------------------ 7. read-only

/// No incremental run writes the vault directory: not the first (whole
/// log), not a resumed one, not one after a tamper, status or export.
#[test]
fn incremental_runs_never_write_the_vault_directory() {
    let v = V::new();
    v.drill(&t(HOUR), "alice");
    let vp = v.f.vault_path();
    let before = snapshot(&vp);
    let c = v.cache();
    let h = v.head();
    for now in [t(2 * HOUR), t(3 * HOUR), t(2 * DAY)] {
        for json in [false, true] {
            let r = v.status(&now, json, Some(&c));
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
        for format in FORMATS {
            for after in [0, h] {
                let r = v.export(&now, after, format, Some(&c));
                assert_eq!(r.code, 0, "{}", r.stderr);
            }
        }
        assert_eq!(snapshot(&vp), before, "at {now}");
    }
    assert!(!cache_files(&v.cache_path(), "status").is_empty());
    assert!(!cache_files(&v.cache_path(), "export").is_empty());
    // A broken log: the cache is forgotten, the vault still untouched.
    let log = std::fs::read(v.f.log_path()).unwrap();
    v.write_log(&break_line(&log, h as usize));
    let before = snapshot(&vp);
    assert_eq!(v.status(&t(2 * DAY), true, Some(&c)).code, 1);
    assert_eq!(v.export(&t(2 * DAY), 0, "jsonl", Some(&c)).code, 1);
    assert_eq!(snapshot(&vp), before);
    assert!(cache_files(&v.cache_path(), "status").is_empty());
    assert!(cache_files(&v.cache_path(), "export").is_empty());
}

/// A rollback (the vault directory restored from a copy made before a
/// drill): consistent, so a plain `status` without a receipt sees nothing
/// (exit 0); the incremental one knows the entry it verified is gone: LOST,
/// exit 1, every run until the operator removes the cache file it names.
#[test]
fn a_rollback_is_reported_as_lost_until_the_cache_file_is_removed() {
    let v = V::new();
    let backup = PathBuf::from(v.f.path("backup"));
    let vault = PathBuf::from(v.vault());
    let copy = |from: &Path, to: &Path| {
        let ok = Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    copy(&vault, &backup);
    v.drill(&t(HOUR), "alice");
    let h = v.head();
    assert_eq!(v.pair(&t(2 * HOUR)).lost, None);
    std::fs::remove_dir_all(&vault).unwrap();
    copy(&backup, &vault);
    assert!(v.head() < h);
    for k in 0..2 {
        let now = t(2 * HOUR + (k + 1) * MIN);
        assert_eq!(
            v.status(&now, true, None).code,
            0,
            "a plain status sees nothing"
        );
        let i = v.pair(&now);
        assert_eq!((i.lost, i.code), (Some(h), 1), "run {k}");
        let text = v.status(&now, false, Some(&v.cache()));
        assert_eq!(text.code, 1);
        let line = text
            .stdout
            .lines()
            .find(|l| l.starts_with("incremental    LOST: "))
            .unwrap_or_else(|| panic!("{}", text.stdout))
            .to_owned();
        assert!(
            line.contains(&format!("entry {h} (")) && line.contains("rolled back"),
            "{line}"
        );
        let file = cache_file(&v.cache_path(), "status");
        assert!(
            line.contains(&format!("then remove {}", file.display())),
            "{line}"
        );
    }
    // The operator looked into it and accepts the log: removes the file.
    std::fs::remove_file(cache_file(&v.cache_path(), "status")).unwrap();
    let i = v.pair(&t(3 * HOUR));
    assert_eq!((i.lost, i.code), (None, 0));
    assert_eq!(v.pair(&t(3 * HOUR)).resumed_after, Some(v.head()));
}

/// One incremental command finding the log broken removes what the others
/// keep too: an export that finds an edit inside the cached prefix leaves
/// status nothing to resume from (status then reads the whole log).
#[test]
fn a_broken_log_found_by_export_is_not_resumed_from_by_status() {
    let v = V::new();
    v.drill(&t(HOUR), "alice");
    v.drill(&t(HOUR), "bob");
    assert_eq!(v.pair(&t(2 * HOUR)).resumed_after, None);
    let e = v.export(&t(2 * HOUR), 0, "jsonl", Some(&v.cache()));
    assert_eq!(e.code, 0, "{}", e.stderr);
    assert_eq!(cache_files(&v.cache_path(), "export").len(), 1);
    // An edit inside both cached prefixes (not their last line). `--after
    // 0` is before the export's cached head: it reads everything.
    let log = std::fs::read(v.f.log_path()).unwrap();
    v.write_log(&break_line(&log, 2));
    let e = v.export(&t(2 * HOUR), 0, "jsonl", Some(&v.cache()));
    assert_eq!(e.code, 1, "{}", e.stderr);
    assert!(cache_files(&v.cache_path(), "status").is_empty());
    assert!(cache_files(&v.cache_path(), "export").is_empty());
    let i = v.pair(&t(2 * HOUR + MIN));
    assert_eq!((i.resumed_after, i.code), (None, 1));
    assert_eq!(i.status["log"]["intact"], false);
}

/// `--after` past the log's head (a shipper's last seq the log no longer
/// reaches): a warning naming a truncation or rollback, exit 1, with and
/// without --incremental; at the head it is the ordinary empty export.
#[test]
fn export_after_past_the_head_warns_of_a_rollback() {
    let v = V::new();
    let h = v.head();
    for cache in [None, Some(v.cache())] {
        let at = v.export(&t(HOUR), h, "jsonl", cache.as_deref());
        assert_eq!((at.code, at.stdout.as_str()), (0, ""), "{}", at.stderr);
        let past = v.export(&t(HOUR), h + 3, "jsonl", cache.as_deref());
        assert_eq!(
            (past.code, past.stdout.as_str()),
            (1, ""),
            "{}",
            past.stderr
        );
        let want = format!("the log ends at entry {h} but --after {}", h + 3);
        assert!(
            past.stderr.contains(&want) && past.stderr.contains("rolled back"),
            "{}",
            past.stderr
        );
    }
}

/// A shared, sticky directory such as /tmp (mode 1777) is refused with
/// advice that fits it (a directory of your own, never `chmod 700` on it).
#[test]
fn a_shared_sticky_directory_is_refused_without_chmod_advice() {
    let v = V::new();
    let shared = v.f.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let r = with_cache(&v, "status", &shared);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("a shared directory (mode 1777"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("chmod"), "{}", r.stderr);
}

/// `--cache-dir` creates only its last directory: a typo in a parent is an
/// error naming it, and nothing is created.
#[test]
fn a_cache_dir_whose_parent_is_missing_is_an_error() {
    let v = V::new();
    let missing = v.f.path("no-such-parent/a/cache");
    let r = with_cache(&v, "status", &missing);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no-such-parent/a does not exist"),
        "{}",
        r.stderr
    );
    assert!(!Path::new(&v.f.path("no-such-parent")).exists());
    let fine = v.f.path("cache-here");
    let r = with_cache(&v, "status", &fine);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(Path::new(&fine).is_dir());
}
