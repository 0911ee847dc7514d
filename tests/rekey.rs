//! Rekey (invariants 1, 4 and 6 of SECURITY.md): custodians added, removed and given new
//! tokens, the threshold changed, by a quorum of the current custodians; old
//! shares die; the credentials are untouched; refusals happen before anyone
//! presents a share; a crash at any point leaves the old or the new custodian
//! set, never neither.

mod common;

use common::{copy_dir, run_env, Fixture, PASSWORD};

fn answers(f: &Fixture, proceed: bool) {
    f.write_answers(serde_json::json!({
        "passphrases": f.passphrases(),
        "confirm": {"rekey.proceed": proceed},
    }));
}

/// `breakglass rekey` by the identities at `ids` (paths), with `extra` flags.
fn rekey_env(f: &Fixture, ids: &[String], extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let vault = f.vault();
    let answers = f.path("answers.json");
    let mut args = vec![
        "rekey",
        "--vault",
        &vault,
        "--ticket",
        "CHG-7",
        "--reason",
        "team change",
        "--answers",
        &answers,
        "--json",
    ];
    for id in ids {
        args.push("--identity");
        args.push(id);
    }
    args.extend_from_slice(extra);
    run_env(&args, "", env)
}

fn rekey(f: &Fixture, who: &[&str], extra: &[&str]) -> common::Run {
    let ids: Vec<String> = who.iter().map(|w| f.identity(w)).collect();
    rekey_env(f, &ids, extra, &[])
}

fn password_of(r: &common::Run) -> String {
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    v["entries"][0]["value"].as_str().unwrap().to_owned()
}

fn manifest(f: &Fixture) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(f.vault_path().join("manifest.json")).unwrap()).unwrap()
}

fn last_entry(f: &Fixture, event: &str) -> serde_json::Value {
    f.log_lines()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|e| e["event"] == event)
        .unwrap_or_else(|| panic!("no {event} entry"))
}

#[test]
fn add_and_remove_custodians_old_shares_die_credentials_stay() {
    let f = Fixture::new(3, 2);
    let dave = f.enroll("dave", "dave");
    answers(&f, true);
    // Carol keeps a copy of her generation-1 share file.
    let carol_g1 = std::fs::read(f.share_file(1, "carol")).unwrap();

    let r = rekey(
        &f,
        &["alice", "bob"],
        &["--add", &dave, "--remove", "carol"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(out["generation"], 2);
    assert!(r.stderr.contains("NEW       dave: "), "{}", r.stderr);
    assert!(r.stderr.contains("REMOVED   carol"), "{}", r.stderr);

    let m = manifest(&f);
    let names: Vec<&str> = m["custodians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "dave"]);
    assert_eq!(m["threshold"], 2);
    assert!(!f.share_file(2, "carol").exists());
    assert!(!f.vault_path().join("g000001").exists());

    // The new custodian opens with an old one; the credentials are unchanged.
    let u = f.unseal(&["dave", "alice"], &[]);
    assert_eq!(u.code, 0, "{}", u.stderr);
    assert_eq!(password_of(&u), PASSWORD);
    // Carol is no longer a custodian: she cannot make up a quorum.
    let u = f.unseal(&["carol", "bob"], &[]);
    assert_eq!(u.code, 2, "{}", u.stderr);
    assert!(
        u.stderr
            .contains("'carol' is not a custodian of this vault"),
        "{}",
        u.stderr
    );
    // Her old share file, put back in place of dave's, is refused.
    std::fs::write(f.share_file(2, "dave"), &carol_g1).unwrap();
    let u = f.unseal(&["dave", "bob"], &[]);
    assert_eq!(u.code, 2);
    assert!(
        u.stderr
            .contains("dave's share file does not match its commitment"),
        "{}",
        u.stderr
    );

    // The log tells what happened, MACed by the quorum, by name only.
    assert_eq!(f.verify_log().code, 0);
    let req = last_entry(&f, "rekey-requested");
    assert_eq!(req["data"]["add"], serde_json::json!(["dave"]));
    assert_eq!(req["data"]["remove"], serde_json::json!(["carol"]));
    // Each accepted share names the token that opened it.
    let accepted = last_entry(&f, "share-accepted");
    assert!(accepted["data"]["token"]
        .as_str()
        .unwrap()
        .starts_with("software:"));
    let enrolled = last_entry(&f, "custodian-enrolled");
    assert_eq!(enrolled["data"]["custodian"], "dave");
    assert_eq!(enrolled["data"]["for_generation"], 2);
    assert_eq!(enrolled["sig"]["by"], "quorum");
    let sealed = last_entry(&f, "sealed");
    assert_eq!(sealed["data"]["reason"], "rekey");
    assert_eq!(sealed["data"]["added"], serde_json::json!(["dave"]));
    assert_eq!(sealed["data"]["removed"], serde_json::json!(["carol"]));
    assert_eq!(sealed["data"]["previous_threshold"], 2);
    assert_eq!(sealed["sig"]["by"], "quorum");
    let log = std::fs::read_to_string(f.log_path()).unwrap();
    assert!(!log.contains(PASSWORD));
}

#[test]
fn raising_the_threshold_needs_more_custodians() {
    let f = Fixture::new(3, 2);
    answers(&f, true);
    let r = rekey(&f, &["bob", "carol"], &["--threshold", "3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("3 of 3 needed, was 2 of 3"),
        "{}",
        r.stderr
    );
    let u = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(u.code, 2, "two of three must no longer open: {}", u.stdout);
    let u = f.unseal(&["alice", "bob", "carol"], &[]);
    assert_eq!(u.code, 0, "{}", u.stderr);
    assert_eq!(password_of(&u), PASSWORD);
    // And back down to 2, by the three of them.
    let r = rekey(&f, &["alice", "bob", "carol"], &["--threshold", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(f.unseal(&["carol", "alice"], &[]).code, 0);
}

#[test]
fn a_replaced_token_stops_working() {
    let f = Fixture::new(3, 2);
    // Alice lost her medium: she enrolls a new identity under her name.
    let new_desc = f.enroll("alice", "alice-new");
    answers(&f, true);
    let r = rekey(&f, &["bob", "carol"], &["--replace", &new_desc]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("NEW TOKEN alice: "), "{}", r.stderr);
    // The old identity no longer opens alice's share; the new one does.
    let u = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(u.code, 2, "{}", u.stdout);
    assert!(u.stderr.contains("alice"), "{}", u.stderr);
    let ids = [f.path("alice-new.identity"), f.identity("bob")];
    let vault = f.vault();
    let answers = f.path("answers.json");
    let u = run_env(
        &[
            "unseal",
            "--vault",
            &vault,
            "--ticket",
            "INC-2",
            "--reason",
            "test",
            "--answers",
            &answers,
            "--json",
            "--identity",
            &ids[0],
            "--identity",
            &ids[1],
        ],
        "",
        &[],
    );
    assert_eq!(u.code, 0, "{}", u.stderr);
    assert_eq!(password_of(&u), PASSWORD);
}

/// Changes that cannot apply are refused before anyone presents a share:
/// nothing is appended to the log.
#[test]
fn impossible_changes_are_refused_before_the_quorum() {
    let f = Fixture::new(3, 2);
    let dave = f.enroll("dave", "dave");
    let alice_again = f.enroll("alice", "alice-again");
    let bob_desc = f.path("bob.custodian.json");
    answers(&f, true);
    let before = f.log_lines().len();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "nothing to change"),
        (vec!["--threshold", "1"], "threshold 1 is refused"),
        (
            vec!["--threshold", "4"],
            "threshold 4 needs at least 4 custodians, 3 given",
        ),
        (
            vec!["--remove", "carol", "--remove", "bob"],
            "threshold 2 needs at least 2 custodians, 1 given",
        ),
        (
            vec!["--remove", "zoe"],
            "'zoe' is not a custodian of this vault",
        ),
        (
            vec!["--remove", "bob", "--remove", "bob"],
            "'bob' is removed twice",
        ),
        (
            vec!["--add", &alice_again],
            "'alice' is already a custodian of this vault",
        ),
        (
            vec!["--replace", &dave],
            "'dave' is not a custodian of this vault",
        ),
        (
            vec!["--replace", &bob_desc],
            "holds the tokens already enrolled",
        ),
        (
            vec!["--replace", &alice_again, "--replace", &alice_again],
            "replaced twice",
        ),
    ];
    for (extra, want) in &cases {
        let r = rekey(&f, &["alice", "bob"], extra);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{extra:?}: want {want:?}, got {}",
            r.stderr
        );
    }
    // Dave's token given to a second custodian: one token, two custodians.
    let dave_as_erin = f.path("erin.custodian.json");
    let text = std::fs::read_to_string(&dave)
        .unwrap()
        .replace("\"dave\"", "\"erin\"");
    std::fs::write(&dave_as_erin, text).unwrap();
    let r = rekey(
        &f,
        &["alice", "bob"],
        &["--add", &dave, "--add", &dave_as_erin],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("one token can never belong to two custodians"),
        "{}",
        r.stderr
    );
    assert_eq!(
        f.log_lines().len(),
        before,
        "a refused rekey wrote to the log"
    );
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
}

#[test]
fn the_quorum_can_decline_the_new_set() {
    let f = Fixture::new(3, 2);
    let dave = f.enroll("dave", "dave");
    answers(&f, false);
    let before = std::fs::read(f.vault_path().join("manifest.json")).unwrap();
    let r = rekey(&f, &["alice", "bob"], &["--add", &dave]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("rekey cancelled"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(f.vault_path().join("manifest.json")).unwrap(),
        before
    );
    let aborted = last_entry(&f, "unseal-aborted");
    assert!(aborted["data"]["why"]
        .as_str()
        .unwrap()
        .contains("did not confirm"));
    assert_eq!(f.verify_log().code, 0);
}

#[test]
fn a_quorum_of_the_new_set_is_not_enough_to_rekey_again_without_the_old() {
    // Shares are checked against the CURRENT custodians: a custodian added by
    // a rekey that was not committed cannot take part.
    let f = Fixture::new(2, 2);
    let dave = f.enroll("dave", "dave");
    answers(&f, true);
    let r = rekey(&f, &["alice", "dave"], &["--add", &dave]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("'dave' is not a custodian of this vault"),
        "{}",
        r.stderr
    );
}

#[test]
fn status_follows_the_new_custodian_set() {
    let f = Fixture::new(3, 2);
    let dave = f.enroll("dave", "dave");
    answers(&f, true);
    assert_eq!(
        rekey(
            &f,
            &["alice", "carol"],
            &["--add", &dave, "--remove", "bob"]
        )
        .code,
        0
    );
    let s = run_env(&["status", "--vault", &f.vault(), "--json"], "", &[]);
    let v: serde_json::Value = serde_json::from_str(s.stdout.trim()).unwrap();
    let names: Vec<&str> = v["custodians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "carol", "dave"]);
    // A rekey changes custodians, not credentials: it is not a rotation.
    assert!(v["last_rotation"].is_null(), "{v}");
    // The auditor's timeline shows the custodian change.
    let html = f.path("report.html");
    let r = run_env(&["report", "--vault", &f.vault(), "--html", &html], "", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("generation 2: +dave, -bob, threshold 2</title>"),
        "{page}"
    );
}

/// Invariant 6:: kill -9 at every kill point of a rekey; each time the vault opens
/// for the old custodian set or the new one, the log verifies, and a later
/// rekey succeeds.
#[test]
fn rekey_killed_at_every_point_leaves_an_openable_vault() {
    let f = Fixture::new(3, 2);
    let dave = f.enroll("dave", "dave");
    answers(&f, true);
    let pristine = f.dir.path().join("pristine");
    copy_dir(&f.vault_path(), &pristine);
    let change = ["--add", dave.as_str(), "--remove", "carol"];
    let ids: Vec<String> = ["alice", "bob"].iter().map(|w| f.identity(w)).collect();
    let list = f.path("points.txt");
    let r = rekey_env(
        &f,
        &ids,
        &change,
        &[("BREAKGLASS_TEST_LIST_KILL_POINTS", &list)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let points: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(points.iter().any(|p| p.starts_with("rekey.")), "{points:?}");
    let mut outcomes = (0, 0);
    for point in &points {
        std::fs::remove_dir_all(f.vault_path()).unwrap();
        copy_dir(&pristine, &f.vault_path());
        let r = rekey_env(&f, &ids, &change, &[("BREAKGLASS_TEST_KILL_AT", point)]);
        assert_ne!(r.code, 0, "{point}: the process was not killed");
        assert_eq!(f.verify_log().code, 0, "{point}: log does not verify");
        // Old set (carol counts) or new set (dave counts): exactly one opens.
        let old = f.unseal(&["carol", "bob"], &[]);
        let new = f.unseal(&["dave", "bob"], &[]);
        match (old.code, new.code) {
            (0, 2) => outcomes.0 += 1,
            (2, 0) => outcomes.1 += 1,
            other => panic!(
                "{point}: old set {}, new set {}: {other:?}\n{}\n{}",
                old.code, new.code, old.stderr, new.stderr
            ),
        }
        // A later rekey (the change, or its undo) still works, and opens.
        let again = if new.code == 0 {
            rekey(&f, &["alice", "dave"], &["--threshold", "3"])
        } else {
            rekey(&f, &["alice", "carol"], &["--threshold", "3"])
        };
        assert_eq!(
            again.code, 0,
            "{point}: rekey after crash: {}",
            again.stderr
        );
        assert_eq!(f.verify_log().code, 0, "{point}");
    }
    eprintln!(
        "rekey kill points tried: {}, old set after kill: {}, new set: {}",
        points.len(),
        outcomes.0,
        outcomes.1
    );
    assert!(outcomes.0 > 0 && outcomes.1 > 0);
}
