//! `breakglass check`: a health check of vault copies, needing no token and
//! writing nothing; `log repair` keeps a complete entry that only lacks its
//! newline; a crashed `init` is named.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{copy_dir, run, run_env, Fixture};
use rand::RngCore;

fn check(vault: &Path) -> (common::Run, serde_json::Value) {
    let v = vault.display().to_string();
    let r = run(&["check", "--vault", &v, "--json"], "");
    let j = serde_json::from_str(r.stdout.trim()).unwrap_or(serde_json::Value::Null);
    (r, j)
}

/// (file, custodian) of every damaged finding.
fn damaged(j: &serde_json::Value) -> Vec<(String, Option<String>)> {
    j["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["damage"] == true)
                .map(|f| {
                    (
                        f["file"].as_str().unwrap_or_default().to_owned(),
                        f["custodian"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const FILES: [&str; 7] = [
    "manifest.json",
    "log.jsonl",
    "g000001/manifest.json",
    "g000001/payload.age",
    "g000001/shares/alice.age",
    "g000001/shares/bob.age",
    "g000001/shares/carol.age",
];

fn custodian_of(file: &str) -> Option<String> {
    file.strip_prefix("g000001/shares/")
        .and_then(|n| n.strip_suffix(".age"))
        .map(str::to_owned)
}

fn damage(path: &Path, how: &str) {
    let bytes = std::fs::read(path).unwrap();
    let new = match how {
        "empty" => Vec::new(),
        "random" => {
            let mut b = vec![0u8; bytes.len()];
            rand::thread_rng().fill_bytes(&mut b);
            b
        }
        "half" => bytes[..bytes.len() / 2].to_vec(),
        "huge" => vec![0u8; 5 << 20],
        _ => unreachable!(),
    };
    std::fs::write(path, new).unwrap();
}

#[test]
fn check_names_every_damaged_file_in_four_ways() {
    let f = Fixture::new(3, 2);
    let (r, j) = check(&f.vault_path());
    assert_eq!(r.code, 0, "intact copy: {} {}", r.stdout, r.stderr);
    assert_eq!(j["ok"], true);
    assert_eq!(damaged(&j), vec![]);
    assert_eq!(j["files_ok"], 5, "{j}");
    let plain = run(&["check", "--vault", &f.vault()], "");
    assert_eq!(plain.code, 0);
    assert!(plain.stdout.contains("check OK"), "{}", plain.stdout);

    let work = tempfile::tempdir().unwrap();
    let mut named = 0;
    let mut cases = 0;
    for file in FILES {
        for how in ["empty", "random", "half", "huge"] {
            cases += 1;
            let copy = work
                .path()
                .join(format!("{}-{how}", file.replace('/', "_")));
            copy_dir(&f.vault_path(), &copy);
            damage(&copy.join(file), how);
            let (r, j) = check(&copy);
            assert_eq!(r.code, 1, "{file} {how}: {} {}", r.stdout, r.stderr);
            assert_eq!(j["ok"], false);
            let d = damaged(&j);
            assert_eq!(
                d,
                vec![(file.to_owned(), custodian_of(file))],
                "{file} {how}: {j}"
            );
            // The human form names the file and, for shares, the custodian.
            let v = copy.display().to_string();
            let text = run(&["check", "--vault", &v], "");
            assert_eq!(text.code, 1);
            assert!(text.stdout.contains("DAMAGED: "), "{}", text.stdout);
            assert!(text.stdout.contains(file), "{}", text.stdout);
            if let Some(c) = custodian_of(file) {
                assert!(
                    text.stdout.contains(&format!("{c}'s share file {file}")),
                    "{}",
                    text.stdout
                );
                assert!(
                    text.stdout.contains(&format!("before {c} is needed")),
                    "{}",
                    text.stdout
                );
            }
            named += 1;
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    // 7 files (manifest.json, log.jsonl, the generation's manifest, the
    // payload, 3 share files) × 4 kinds of damage.
    assert_eq!((named, cases), (28, 28));
}

#[test]
fn check_names_a_share_replaced_by_a_symlink_or_a_fifo_without_hanging() {
    let f = Fixture::new(3, 2);
    let work = tempfile::tempdir().unwrap();
    let real = work.path().join("carol.age");
    std::fs::copy(f.share_file(1, "carol"), &real).unwrap();
    // A symbolic link to the very same bytes is still not a vault file.
    let link = work.path().join("link");
    copy_dir(&f.vault_path(), &link);
    let share = link.join("g000001/shares/carol.age");
    std::fs::remove_file(&share).unwrap();
    std::os::unix::fs::symlink(&real, &share).unwrap();
    let (r, j) = check(&link);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        damaged(&j),
        vec![("g000001/shares/carol.age".into(), Some("carol".into()))]
    );
    assert!(r.stdout.contains("symbolic link"), "{}", r.stdout);

    let fifo = work.path().join("fifo");
    copy_dir(&f.vault_path(), &fifo);
    let share = fifo.join("g000001/shares/carol.age");
    std::fs::remove_file(&share).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &share,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from(0o600),
        0,
    )
    .unwrap();
    let t = Instant::now();
    let (r, j) = check(&fifo);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        damaged(&j),
        vec![("g000001/shares/carol.age".into(), Some("carol".into()))]
    );
    assert!(r.stdout.contains("FIFO"), "{}", r.stdout);

    // manifest.json itself a link: named, exit 1, not a usage error.
    let top = work.path().join("top");
    copy_dir(&f.vault_path(), &top);
    let m = top.join("manifest.json");
    let moved = work.path().join("manifest.json");
    std::fs::rename(&m, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &m).unwrap();
    let (r, j) = check(&top);
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert_eq!(damaged(&j), vec![("manifest.json".into(), None)]);
}

fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let m = std::fs::symlink_metadata(&d).unwrap();
        out.insert(d.clone(), (m.len(), m.mtime(), m.mtime_nsec(), m.mode()));
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                out.insert(p, (m.len(), m.mtime(), m.mtime_nsec(), m.mode()));
            }
        }
    }
    out
}

#[test]
fn check_creates_and_changes_nothing_and_notes_extras() {
    let f = Fixture::new(3, 2);
    let v = f.vault_path();
    std::fs::create_dir_all(v.join(".aside/g000002-1")).unwrap();
    std::fs::write(v.join("README.txt"), b"hello\x1b[31m").unwrap();
    std::fs::write(v.join("g000001/shares/mallory.age"), b"x").unwrap();
    let before = listing(&v);
    let (r, j) = check(&v);
    assert_eq!(r.code, 0, "notes are not damage: {}", r.stdout);
    let files: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        vec![".aside/", "README.txt", "g000001/shares/mallory.age"],
        "{j}"
    );
    let text = run(&["check", "--vault", &f.vault()], "");
    assert_eq!(text.code, 0);
    assert!(text
        .stdout
        .contains("note: README.txt is not part of the vault"));
    assert_eq!(listing(&v), before, "check changed the vault");
}

#[test]
fn check_usage_and_help() {
    let r = run(&["check", "--help"], "");
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("breakglass check --vault /media/vault"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Exit 0"), "{}", r.stdout);
    let r = run(&["check"], "");
    assert_eq!(r.code, 2);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing").display().to_string();
    let r = run(&["check", "--vault", &missing], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no vault at"), "{}", r.stderr);
}

#[test]
fn log_repair_restores_a_missing_final_newline_and_never_deletes_the_entry() {
    let f = Fixture::new(3, 2);
    let log = f.log_path();
    let mut bytes = std::fs::read(&log).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&log, &bytes).unwrap();
    let before = f.log_lines();
    assert_ne!(f.verify_log().code, 0, "a missing newline is reported");
    let r = run(&["log", "repair", "--vault", &f.vault(), "--json"], "");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(j["restored_newline"], true, "{j}");
    let after = f.log_lines();
    assert_eq!(after.len(), before.len() + 1, "the entry is kept");
    assert_eq!(after[..before.len()], before[..]);
    let last: serde_json::Value = serde_json::from_str(after.last().unwrap()).unwrap();
    assert_eq!(last["event"], "log-repaired");
    assert_eq!(last["data"]["restored_newline"], true);
    let v = f.verify_log();
    assert_eq!(v.code, 0, "{} {}", v.stdout, v.stderr);
    assert_eq!(check(&f.vault_path()).0.code, 0);

    // A genuinely torn line (half an entry) is still removed.
    let line = format!("{}\n", after.last().unwrap());
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&line.as_bytes()[..line.len() / 2]);
    std::fs::write(&log, &bytes).unwrap();
    let r = run(&["log", "repair", "--vault", &f.vault(), "--json"], "");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(j["removed_bytes"], line.len() / 2, "{j}");
    assert_eq!(f.verify_log().code, 0);
    assert_eq!(f.log_lines().len(), after.len() + 1);
}

fn init_args(f: &Fixture) -> Vec<String> {
    let mut args = vec![
        "init".to_string(),
        "--vault".into(),
        f.vault(),
        "--threshold".into(),
        f.t.to_string(),
        "--entries".into(),
        "-".into(),
        "--json".into(),
    ];
    for name in common::NAMES.iter().take(f.n) {
        args.push("--custodian".into());
        args.push(f.path(&format!("{name}.custodian.json")));
    }
    args
}

#[test]
fn init_names_an_unfinished_setup_left_by_a_crash() {
    for (point, sealed) in [
        ("init.before-write", false),
        ("init.generation-written", false),
        ("init.sealed-logged", true),
    ] {
        let f = Fixture::custodians_only(3, 2);
        let args = init_args(&f);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_env(
            &args,
            &f.entries_json(),
            &[("BREAKGLASS_TEST_KILL_AT", point)],
        );
        assert_ne!(r.code, 0, "{point}: the kill point was reached");
        assert!(!f.vault_path().join("manifest.json").exists());
        let r = run(&args, &f.entries_json());
        assert_eq!(r.code, 2, "{point}: {}", r.stderr);
        let expected = format!(
            "{} holds an unfinished setup (no manifest.json: init was interrupted before its commit",
            f.vault()
        );
        assert!(r.stderr.contains(&expected), "{point}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing in it was ever a vault"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("rm -r {}", f.vault())),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("already exists and is not empty"));
        assert_eq!(
            r.stderr.contains("`sealed` entry was logged"),
            sealed,
            "{point}: {}",
            r.stderr
        );
        // Following the advice works.
        std::fs::remove_dir_all(f.vault_path()).unwrap();
        let r = run(&args, &f.entries_json());
        assert_eq!(r.code, 0, "{point}: {}", r.stderr);
    }
    // A directory with other things in it is still only "not empty".
    let f = Fixture::custodians_only(3, 2);
    std::fs::create_dir_all(f.vault_path()).unwrap();
    std::fs::write(f.vault_path().join("log.jsonl"), b"").unwrap();
    std::fs::write(f.vault_path().join("notes.txt"), b"mine").unwrap();
    let args = init_args(&f);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&args, &f.entries_json());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("already exists and is not empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn log_verify_warns_when_an_entry_is_dated_before_its_predecessor() {
    let f = Fixture::new(3, 2);
    let v = f.verify_log();
    assert_eq!(v.code, 0);
    assert!(!v.stdout.contains("warning: entry"), "{}", v.stdout);
    // An entry written with a clock set back by years.
    let log = f.log_path();
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.pop();
    std::fs::write(&log, &bytes).unwrap();
    let r = run_env(
        &["log", "repair", "--vault", &f.vault()],
        "",
        &[("BREAKGLASS_TEST_NOW", "2020-01-01T00:00:00Z")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seq = f.log_lines().len() as u64;
    let v = f.verify_log();
    assert_eq!(v.code, 0, "a warning, not a failure: {}", v.stdout);
    assert!(
        v.stdout
            .contains(&format!("warning: entry {seq} is dated ")),
        "{}",
        v.stdout
    );
    let j = run(&["log", "verify", "--vault", &f.vault(), "--json"], "");
    assert_eq!(j.code, 0);
    let j: serde_json::Value = serde_json::from_str(j.stdout.trim()).unwrap();
    let t = j["time_regressions"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{j}");
    assert_eq!(t[0]["seq"], seq);
    assert!(t[0]["by_secs"].as_u64().unwrap() > 86400 * 365, "{j}");
}
