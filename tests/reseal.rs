//! Reseal after rotation, old shares dying, crash safety of the reseal
//! (kill -9 at every kill point), sessions, seed reveal, and a scan for
//! secrets at rest after a full demo.

mod common;

use breakglass::envelope::Envelope;
use breakglass::keys::MasterKey;
use breakglass::manifest::Manifest;
use breakglass::secret::SecretString;
use breakglass::shamir;
use breakglass::token::agefile::decrypt as age_decrypt;
use common::{copy_dir, run_env, Fixture, PASSWORD};

fn reseal_args(f: &Fixture, who: &[&str], extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "reseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "INC-1",
        "--reason",
        "rotation after INC-1",
        "--answers",
        &f.path("answers.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for w in who {
        a.push("--identity".into());
        a.push(f.identity(w));
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn reseal(f: &Fixture, who: &[&str], extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let a = reseal_args(f, who, extra);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    run_env(&a, "", env)
}

/// The value of the `{"new_value":{label,value}}` line of a `--json` reseal.
fn new_value_of(stdout: &str, label: &str) -> Option<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["new_value"]["label"] == label)
        .map(|v| v["new_value"]["value"].as_str().unwrap().to_owned())
}

fn answers_with(f: &Fixture, secrets: serde_json::Value, confirm: bool) {
    let mut p = serde_json::Map::new();
    for n in common::NAMES.iter().take(f.n) {
        p.insert((*n).into(), common::passphrase(n).into());
    }
    f.write_answers(serde_json::json!({
        "passphrases": p, "secrets": secrets,
        "confirm": {"reseal.provider-updated": confirm},
    }));
}

fn unseal_value(f: &Fixture, who: &[&str]) -> serde_json::Value {
    let r = f.unseal(who, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap()
}

#[test]
fn reseal_rotates_values_and_logs_names_only() {
    let f = Fixture::new(3, 2);
    let new_seed = "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ";
    answers_with(
        &f,
        serde_json::json!({"entry.aws-mfa.value": new_seed}),
        true,
    );
    let r = reseal(
        &f,
        &["bob", "carol"],
        &[
            "--generate",
            "aws-root",
            "--set",
            "aws-mfa",
            "--remove",
            "recovery",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out = lines.last().unwrap();
    assert_eq!(out["generation"], 2);
    // Issue 10: with --json the new values are JSON lines on stdout, each
    // once, labelled, before the result line; nothing of them goes to stderr.
    let new_value = |label: &str| new_value_of(&r.stdout, label).expect(label);
    let generated = new_value("aws-root.password");
    assert_eq!(generated.len(), 32);
    assert_eq!(r.stdout.matches(&generated).count(), 1);
    assert!(!r.stderr.contains(&generated) && !r.stderr.contains("NEW VALUE"));
    // Two consecutive codes for re-enrolling the MFA device.
    assert_eq!(new_value("aws-mfa.codes").split(' ').count(), 2);
    let v = unseal_value(&f, &["alice", "carol"]);
    assert_eq!(v["entries"][0]["value"], generated.as_str());
    assert_eq!(v["entries"].as_array().unwrap().len(), 2);
    // The log records what changed by entry name, never values.
    let log = std::fs::read_to_string(f.log_path()).unwrap();
    assert!(log.contains("\"change\":\"generated\""));
    assert!(log.contains("\"change\":\"removed\""));
    assert!(!log.contains(&generated) && !log.contains(new_seed) && !log.contains(PASSWORD));
    // Only the new generation remains on disk.
    let dirs: Vec<String> = std::fs::read_dir(f.vault_path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('g'))
        .collect();
    assert_eq!(dirs, ["g000002"]);
    assert_eq!(f.verify_log().code, 0);
}

/// Every quorum entry a ceremony signs is a checkpoint through the last
/// entry it verified before it began (docs/formats.md); nothing else
/// carries one, and a ceremony that proceeded by override writes none.
#[test]
fn quorum_entries_are_checkpoints_of_what_the_ceremony_verified() {
    let parse = |l: &String| -> serde_json::Value { serde_json::from_str(l).unwrap() };
    let f = Fixture::new(3, 2);
    let init: Vec<serde_json::Value> = f.log_lines().iter().map(parse).collect();
    assert!(init
        .iter()
        .all(|e| e["data"].get("verified_through").is_none()));
    unseal_value(&f, &["alice", "bob"]);
    let all: Vec<serde_json::Value> = f.log_lines().iter().map(parse).collect();
    let before = init.len() as u64;
    let mut quorum = 0;
    for e in &all[init.len()..] {
        let claim = e["data"].get("verified_through");
        if e["sig"]["by"] == "quorum" {
            quorum += 1;
            assert_eq!(claim, Some(&serde_json::json!(before)), "{e}");
        } else {
            assert!(claim.is_none(), "{e}");
        }
    }
    assert!(quorum >= 1, "the grant is quorum-signed");
    assert_eq!(f.verify_log().code, 0);
}

#[test]
fn reseal_without_provider_confirmation_changes_nothing() {
    let f = Fixture::new(2, 2);
    answers_with(&f, serde_json::json!({}), false);
    let r = reseal(&f, &["alice", "bob"], &["--generate", "aws-root"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the provider was not updated"),
        "{}",
        r.stderr
    );
    answers_with(&f, serde_json::json!({}), true);
    assert_eq!(
        unseal_value(&f, &["alice", "bob"])["entries"][0]["value"],
        PASSWORD
    );
}

fn open_envelope(f: &Fixture, name: &str, file: &[u8]) -> Envelope {
    let id_bytes = std::fs::read(f.identity(name)).unwrap();
    let id = breakglass::token::software::unlock(
        &id_bytes,
        name,
        &SecretString::new(common::passphrase(name)),
    )
    .unwrap();
    let plain = age_decrypt(id.age_identity(), file, 1 << 20).unwrap();
    Envelope::decode(&plain).unwrap()
}

fn manifest(f: &Fixture) -> Manifest {
    Manifest::from_bytes(&std::fs::read(f.vault_path().join("manifest.json")).unwrap()).unwrap()
}

/// Invariant 4: Old shares die: shares of generation g cannot open g+1, and the reverse.
#[test]
fn old_shares_die_across_generations() {
    let f = Fixture::new(3, 2);
    let m1 = manifest(&f);
    let g1: Vec<Vec<u8>> = ["alice", "bob"]
        .iter()
        .map(|n| std::fs::read(f.share_file(1, n)).unwrap())
        .collect();
    answers_with(&f, serde_json::json!({}), true);
    assert_eq!(reseal(&f, &["alice", "bob"], &[], &[]).code, 0);
    let m2 = manifest(&f);
    let g2: Vec<Vec<u8>> = ["alice", "bob"]
        .iter()
        .map(|n| std::fs::read(f.share_file(2, n)).unwrap())
        .collect();
    let id = m1.vault_id_bytes().unwrap();
    let e1: Vec<Envelope> = ["alice", "bob"]
        .iter()
        .zip(&g1)
        .map(|(n, b)| open_envelope(&f, n, b))
        .collect();
    let e2: Vec<Envelope> = ["alice", "bob"]
        .iter()
        .zip(&g2)
        .map(|(n, b)| open_envelope(&f, n, b))
        .collect();
    // Bindings name the generation: old shares are refused before combining.
    assert!(e1[0].check_binding(&id, 2, "alice", 2, 1).is_err());
    assert!(e2[0].check_binding(&id, 1, "alice", 2, 1).is_err());
    let key = |a: &Envelope, b: &Envelope| {
        MasterKey::from_secret(shamir::combine(&[&a.share, &b.share], 2).unwrap()).unwrap()
    };
    // Generation-1 shares rebuild K1, whose signing key is generation 1's and
    // not generation 2's (format 2: the rebuilt key must derive the
    // manifest's signing key); and the reverse.
    let signs = |k: &MasterKey, m: &breakglass::manifest::Manifest| {
        k.signing_key(&id).unwrap().public() == m.signing_public().unwrap()
    };
    let k1 = key(&e1[0], &e1[1]);
    assert!(signs(&k1, &m1));
    assert!(!signs(&k1, &m2));
    let k2 = key(&e2[0], &e2[1]);
    assert!(signs(&k2, &m2));
    assert!(!signs(&k2, &m1));
    // Mixing generations yields neither key.
    let mixed = key(&e1[0], &e2[1]);
    assert!(!signs(&mixed, &m1));
    assert!(!signs(&mixed, &m2));
    // Through the binary: an old share file put in place of the new one is named.
    std::fs::write(f.share_file(2, "alice"), &g1[0]).unwrap();
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("alice's share file does not match its commitment"),
        "{}",
        r.stderr
    );
}

/// Invariant 6: Crash safety: kill -9 (abort) at every kill point of a reseal; each
/// time the vault opens as the old or the new generation and the log verifies.
#[test]
fn reseal_killed_at_every_point_leaves_an_openable_vault() {
    let f = Fixture::new(3, 2);
    answers_with(&f, serde_json::json!({}), true);
    let pristine = f.dir.path().join("pristine");
    copy_dir(&f.vault_path(), &pristine);
    // Enumerate the kill points a reseal passes.
    let list = f.path("points.txt");
    let r = reseal(
        &f,
        &["alice", "bob"],
        &["--generate", "aws-root", "--json"],
        &[("BREAKGLASS_TEST_LIST_KILL_POINTS", &list)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let points: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        points.len() >= 15,
        "only {} kill points: {points:?}",
        points.len()
    );
    let mut outcomes = (0, 0);
    for point in &points {
        std::fs::remove_dir_all(f.vault_path()).unwrap();
        copy_dir(&pristine, &f.vault_path());
        let r = reseal(
            &f,
            &["alice", "bob"],
            &["--generate", "aws-root", "--json"],
            &[("BREAKGLASS_TEST_KILL_AT", point)],
        );
        assert_ne!(r.code, 0, "{point}: the process was not killed");
        let generated = new_value_of(&r.stdout, "aws-root.password");
        let v = f.verify_log();
        assert_eq!(v.code, 0, "{point}: log does not verify: {}", v.stdout);
        let u = f.unseal(&["bob", "carol"], &[]);
        assert_eq!(u.code, 0, "{point}: vault does not open: {}", u.stderr);
        let value: serde_json::Value = serde_json::from_str(u.stdout.trim()).unwrap();
        let got = value["entries"][0]["value"].as_str().unwrap().to_owned();
        if got == PASSWORD {
            outcomes.0 += 1;
        } else {
            assert_eq!(
                Some(got),
                generated,
                "{point}: neither the old nor the new value"
            );
            outcomes.1 += 1;
        }
        // A later reseal cleans up leftovers and succeeds.
        let again = reseal(&f, &["alice", "carol"], &[], &[]);
        assert_eq!(
            again.code, 0,
            "{point}: reseal after crash: {}",
            again.stderr
        );
        assert_eq!(f.verify_log().code, 0, "{point}");
        // ... and the vault it made opens (entries of an interrupted
        // generation must not poison the quorum-MAC check of the next one).
        let u = f.unseal(&["alice", "bob"], &[]);
        assert_eq!(u.code, 0, "{point}: unseal after recovery: {}", u.stderr);
    }
    eprintln!(
        "kill points tried: {}, old generation after kill: {}, new: {}",
        points.len(),
        outcomes.0,
        outcomes.1
    );
    assert!(outcomes.0 > 0 && outcomes.1 > 0);
}

/// A session past its limit ends and is logged as expired, with its real duration.
#[test]
fn session_past_its_limit_is_logged_as_expired() {
    use breakglass::ceremony::unseal::{unseal, EndReason, UnsealOptions};
    use breakglass::token::SuppliedIdentity;
    let f = Fixture::new(2, 2);
    let mut ui = breakglass::ui::Answers::default();
    for n in ["alice", "bob"] {
        ui.set_passphrase(n, &common::passphrase(n));
    }
    let ids = ["alice", "bob"]
        .iter()
        .map(|n| SuppliedIdentity {
            path: f.identity(n),
            bytes: std::fs::read(f.identity(n)).unwrap(),
        })
        .collect();
    let s = unseal(
        UnsealOptions {
            dir: f.vault_path(),
            ticket: "INC-9".into(),
            reason: "session test".into(),
            entries: vec![],
            session_secs: 1,
            quorum: breakglass::ceremony::quorum::QuorumInput {
                identities: ids,
                order: vec!["alice".into(), "bob".into()],
                ..Default::default()
            },
        },
        &mut ui,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(s.seconds_left(breakglass::clock::Timestamp::now()), 0);
    s.end(EndReason::Closed).unwrap();
    let last = f.log_lines().pop().unwrap();
    assert!(last.contains("\"event\":\"session-ended\""), "{last}");
    assert!(last.contains("\"how\":\"expired\""), "{last}");
    assert!(
        last.contains("\"duration_s\":2") || last.contains("\"duration_s\":3"),
        "{last}"
    );
}

/// Revealing a TOTP seed is its own, logged action, before the seed is shown.
#[test]
fn seed_reveal_is_its_own_log_event() {
    let f = Fixture::new(2, 2);
    let r = f.unseal(&["alice", "bob"], &[]);
    assert!(!r.stdout.contains(common::TOTP_SEED) && !r.stderr.contains(common::TOTP_SEED));
    assert!(!f.events().contains(&"seed-revealed".to_string()));
    let r = f.unseal(&["alice", "bob"], &["--reveal-seed", "aws-mfa"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Issue 10: with --json the revealed seed is in the result, not on stderr,
    // and never labelled as a new value.
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(out["revealed_seeds"][0]["entry"], "aws-mfa");
    assert_eq!(out["revealed_seeds"][0]["seed"], common::TOTP_SEED);
    assert!(out["revealed_seeds"][0]["otpauth"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(!r.stderr.contains(common::TOTP_SEED) && !r.stderr.contains("NEW VALUE"));
    let ev = f.events();
    let i = ev.iter().rposition(|e| e == "seed-revealed").unwrap();
    assert_eq!(ev[i - 1], "unseal-granted");
    let r = f.unseal(&["alice", "bob"], &["--reveal-seed", "aws-root"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no TOTP entry named 'aws-root'"));
}

/// Invariant 5: After a full demo (setup, unseal, rotation, reseal, review, drills,
/// rekey), no secret value
/// appears in any log line or any file that is not encrypted.
#[test]
fn no_secret_at_rest_after_a_full_demo() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let r = common::run(&["demo", "--dir", &demo.display().to_string()], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Demo complete"));
    for step in [
        "review recorded",
        "quorum drill of bob, carol: passed",
        "carol's share is dead",
        "overdue: 0",
        "log OK",
    ] {
        assert!(
            r.stdout.contains(step),
            "demo step missing: {step}\n{}",
            r.stdout
        );
    }
    let mut secrets: Vec<String> = vec![
        "Demo-Only-Password-1".into(),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
    ];
    for l in r.stdout.lines().filter(|l| l.contains("NEW VALUE")) {
        let v = l.rsplit(": ").next().unwrap();
        for part in v.split(' ') {
            if part.len() >= 16 {
                secrets.push(part.to_owned());
            }
        }
    }
    assert!(secrets.len() >= 4, "{secrets:?}");
    for name in ["alice", "bob", "carol", "dave"] {
        secrets.push(format!("demo passphrase of {name}"));
    }
    let files = common::files_under(&demo);
    assert!(files.len() >= 8);
    for p in files {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} contains a secret",
                p.display()
            );
        }
        assert!(!text.contains("AGE-SECRET-KEY"), "{}", p.display());
    }
}

/// A reseal over a broken log (an entry deleted before the seal; the seal's
/// certificate still verifies on its own), by explicit override, logs the
/// override exactly once.
#[test]
fn reseal_override_of_a_broken_log_is_logged_once() {
    let f = Fixture::new(2, 2);
    let mut lines = f.log_lines();
    lines.remove(1);
    std::fs::write(f.log_path(), format!("{}\n", lines.join("\n"))).unwrap();
    answers_with(&f, serde_json::json!({}), true);
    let r = reseal(
        &f,
        &["alice", "bob"],
        &["--override-broken-log", "log restored later"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(f.log_path()).unwrap();
    assert_eq!(
        text.matches("\"event\":\"integrity-override\"").count(),
        1,
        "{text}"
    );
    // A ceremony past a broken log vouches for nothing.
    assert!(!text.contains("\"verified_through\""), "{text}");
}

/// A reseal can never certify a successor of a generation the log no longer
/// certifies (the log truncated past its seal): refused even with the
/// override, naming why; an unseal by override is still possible.
#[test]
fn reseal_refuses_an_uncertified_generation_even_with_override() {
    let f = Fixture::new(2, 2);
    let lines = f.log_lines();
    std::fs::write(
        f.log_path(),
        format!("{}\n", lines[..lines.len() - 1].join("\n")),
    )
    .unwrap();
    answers_with(&f, serde_json::json!({}), true);
    let r = reseal(
        &f,
        &["alice", "bob"],
        &["--override-broken-log", "log restored later"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is certified by no sealed entry of the audit log"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("the log was truncated"), "{}", r.stderr);
    let r = f.unseal(&["alice", "bob"], &["--override-broken-log", "IdP down"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// With the log's root entry damaged, trust can only be rooted in
/// manifest.json itself: an unseal proceeds by override, a reseal is refused
/// (it would certify a successor on the manifest's word alone).
#[test]
fn a_damaged_root_allows_an_unseal_by_override_but_no_reseal() {
    let f = Fixture::new(2, 2);
    let mut lines = f.log_lines();
    lines[0] = lines[0].replace("\"threshold\":2", "\"threshold\":3");
    std::fs::write(f.log_path(), format!("{}\n", lines.join("\n"))).unwrap();
    answers_with(&f, serde_json::json!({}), true);
    let r = reseal(
        &f,
        &["alice", "bob"],
        &["--override-broken-log", "restore later"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("the audit log's root entry is damaged"),
        "{}",
        r.stderr
    );
    let r = f.unseal(&["alice", "bob"], &["--override-broken-log", "IdP down"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(PASSWORD));
}
