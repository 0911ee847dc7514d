//! End-to-end tests of the setup and emergency-unseal ceremonies through the
//! real binary, with software custodians. Each test names the SECURITY.md
//! invariant it pins.

mod common;

use common::{run, Fixture, PASSWORD};

fn json(r: &common::Run) -> serde_json::Value {
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout))
}

#[test]
fn setup_then_two_of_three_unseal_reveals_and_logs() {
    let f = Fixture::new(3, 2);
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["entries"][0]["value"], PASSWORD);
    assert_eq!(v["custodians"], serde_json::json!(["alice", "bob"]));
    // TOTP entries show codes, never the seed.
    assert_eq!(v["entries"][1]["code"].as_str().unwrap().len(), 6);
    assert!(!r.stdout.contains(common::TOTP_SEED));
    let events = f.events();
    let tail: Vec<&str> = events
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "unseal-requested",
            "share-accepted",
            "share-accepted",
            "unseal-granted",
            "session-ended"
        ]
    );
    assert_eq!(f.verify_log().code, 0);
}

/// Invariant 1: Dual control: threshold 1 is refused with an explanation, exit 2.
#[test]
fn threshold_one_is_refused() {
    let f = Fixture::custodians_only(3, 2);
    let (a, b) = (f.path("alice.custodian.json"), f.path("bob.custodian.json"));
    let r = run(
        &[
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "1",
            "--custodian",
            &a,
            "--custodian",
            &b,
            "--entries",
            "-",
        ],
        &f.entries_json(),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("threshold 1 is refused"), "{}", r.stderr);
    assert!(!f.vault_path().exists());
    let r = run(
        &[
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "3",
            "--custodian",
            &a,
            "--custodian",
            &b,
            "--entries",
            "-",
        ],
        &f.entries_json(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("threshold 3 needs at least 3 custodians"),
        "{}",
        r.stderr
    );
}

/// Invariant 1: One token can never be enrolled for two custodians.
#[test]
fn same_token_for_two_custodians_is_refused() {
    let f = Fixture::custodians_only(2, 2);
    let mut d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path("alice.custodian.json")).unwrap())
            .unwrap();
    d["name"] = "mallory".into();
    std::fs::write(f.path("mallory.custodian.json"), d.to_string()).unwrap();
    let r = run(
        &[
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "2",
            "--custodian",
            &f.path("alice.custodian.json"),
            "--custodian",
            &f.path("mallory.custodian.json"),
            "--entries",
            "-",
        ],
        &f.entries_json(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("one token can never belong to two custodians"),
        "{}",
        r.stderr
    );
}

/// Invariant 1: The same custodian (or share) presented twice counts once.
#[test]
fn same_custodian_twice_counts_once() {
    let f = Fixture::new(3, 2);
    let r = f.unseal(&["alice", "alice"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not enough valid shares: 1 of 2 needed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the same custodian counts once"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains(PASSWORD));
    let r = f.unseal(
        &["alice"],
        &["--custodian", "alice", "--custodian", "alice"],
    );
    assert_eq!(r.code, 2);
    assert!(!r.stdout.contains(PASSWORD));
    // Nothing was granted.
    assert!(!f.events().contains(&"unseal-granted".to_string()));
}

/// Invariant 7: A flipped byte in any share file is named with the custodian.
#[test]
fn flipped_byte_in_each_share_file_is_named() {
    let f = Fixture::new(3, 2);
    for name in ["alice", "bob", "carol"] {
        let p = f.share_file(1, name);
        let orig = std::fs::read(&p).unwrap();
        for pos in [0, orig.len() / 2, orig.len() - 1] {
            let mut bad = orig.clone();
            bad[pos] ^= 0x01;
            std::fs::write(&p, &bad).unwrap();
            let others: Vec<&str> = ["alice", "bob", "carol"]
                .into_iter()
                .filter(|n| *n != name)
                .take(1)
                .collect();
            let r = f.unseal(&[name, others[0]], &[]);
            assert_eq!(r.code, 2, "{name} pos {pos}: {}", r.stderr);
            assert!(
                r.stderr.contains(&format!(
                    "{name}'s share file does not match its commitment"
                )),
                "{name} pos {pos}: {}",
                r.stderr
            );
            assert!(!r.stdout.contains(PASSWORD));
        }
        std::fs::write(&p, &orig).unwrap();
    }
    // The rejections are in the log, which still verifies.
    assert!(f.events().iter().filter(|e| *e == "share-rejected").count() >= 9);
    assert_eq!(f.verify_log().code, 0);
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
}

/// Invariant 7: Wrong passphrase: a clear error, exit 2, nothing revealed.
#[test]
fn wrong_passphrase_gives_clear_error_and_exit_2() {
    let f = Fixture::new(2, 2);
    f.write_answers(serde_json::json!({"passphrases": {
        "alice": "not alice's passphrase", "bob": common::passphrase("bob")}}));
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("wrong passphrase for alice's identity"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains(PASSWORD));
}

/// A missing answer names the key to add; a world-readable answers file is refused.
#[test]
fn answers_file_errors_are_clear() {
    let f = Fixture::new(2, 2);
    f.write_answers(serde_json::json!({"passphrases": {"alice": common::passphrase("alice")}}));
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no answer for 'passphrases.bob'"),
        "{}",
        r.stderr
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        f.path("answers.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("readable by others; run `chmod 600"),
        "{}",
        r.stderr
    );
}

/// Ticket and reason are required; session above 4 h is refused.
#[test]
fn ticket_reason_and_session_limits() {
    let f = Fixture::new(2, 2);
    let v = f.vault();
    let r = run(
        &["unseal", "--vault", &v, "--ticket", " ", "--reason", "x"],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("a ticket is required"), "{}", r.stderr);
    let r = f.unseal(&["alice", "bob"], &["--session", "4h1s"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("hard maximum of 4 h"), "{}", r.stderr);
    assert_eq!(f.unseal(&["alice", "bob"], &["--session", "4h"]).code, 0);
}

/// Only the requested entries are revealed and named in the grant.
#[test]
fn entry_selection_limits_what_is_revealed() {
    let f = Fixture::new(2, 2);
    let r = f.unseal(&["alice", "bob"], &["--entry", "recovery"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(PASSWORD));
    assert!(r.stdout.contains("code-one"));
    let grant = f
        .log_lines()
        .into_iter()
        .find(|l| l.contains("unseal-granted"))
        .unwrap();
    assert!(grant.contains("\"entries\":[\"recovery\"]"), "{grant}");
    let r = f.unseal(&["alice", "bob"], &["--entry", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no entry named 'nope'"));
}

/// Invariant 2: No reveal without a durable record: if the grant cannot be written,
/// nothing is shown.
#[test]
fn no_reveal_when_the_grant_cannot_be_logged() {
    let f = Fixture::new(2, 2);
    // Appends in an unseal: request, accept, accept, grant (4th).
    let r = f.unseal_env(
        &["alice", "bob"],
        &[],
        &[("BREAKGLASS_TEST_FAIL_APPEND", "4")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("injected write failure"), "{}", r.stderr);
    assert!(!r.stdout.contains(PASSWORD));
    assert!(!r.stdout.contains("code-one"));
    assert!(!f.events().contains(&"unseal-granted".to_string()));
    // A crash right after the grant was made durable: the record exists, nothing was shown.
    let r = f.unseal_env(
        &["alice", "bob"],
        &[],
        &[("BREAKGLASS_TEST_KILL_AT", "unseal.granted")],
    );
    assert_ne!(r.code, 0);
    assert!(!r.stdout.contains(PASSWORD));
    assert_eq!(
        f.events().last().map(String::as_str),
        Some("unseal-granted")
    );
    assert_eq!(f.verify_log().code, 0);
}

fn mutate_log(f: &Fixture, how: &str) {
    let mut lines = f.log_lines();
    match how {
        "flip" => {
            let l = &mut lines[2];
            let i = l.find("custodian-enrolled").unwrap();
            l.replace_range(i..i + 1, "C");
        }
        "delete" => {
            lines.remove(2);
        }
        "swap" => lines.swap(2, 3),
        "insert" => {
            let copy = lines[1].clone();
            lines.insert(3, copy);
        }
        "truncate" => lines.truncate(3),
        "edit-data" => {
            lines[0] = lines[0].replace("\"threshold\":2", "\"threshold\":3");
        }
        _ => unreachable!(),
    }
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(f.log_path(), text).unwrap();
}

/// Invariant 3: Tamper evidence: edit, deletion, insertion, reordering and truncation
/// are each detected by `log verify` (exit 1) and make unseal refuse.
#[test]
fn log_mutations_are_detected_and_block_unseal() {
    for how in ["flip", "delete", "swap", "insert", "truncate", "edit-data"] {
        let f = Fixture::new(2, 2);
        mutate_log(&f, how);
        let r = f.verify_log();
        assert_eq!(r.code, 1, "{how}: {}", r.stdout);
        assert!(r.stdout.contains("log FAILED"), "{how}: {}", r.stdout);
        let r = f.unseal(&["alice", "bob"], &[]);
        assert_eq!(r.code, 1, "{how}: {}", r.stderr);
        assert!(
            r.stderr.contains("the audit log does not verify"),
            "{how}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("--override-broken-log"),
            "{how}: {}",
            r.stderr
        );
        assert!(!r.stdout.contains(PASSWORD));
    }
}

/// Invariant 3: Never block an emergency silently: an explicit override proceeds and is logged.
#[test]
fn override_of_a_broken_log_is_logged() {
    let f = Fixture::new(2, 2);
    mutate_log(&f, "truncate");
    let r = f.unseal(
        &["alice", "bob"],
        &["--override-broken-log", "IdP down, log restored later"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(PASSWORD));
    let text = std::fs::read_to_string(f.log_path()).unwrap();
    assert!(text.contains("integrity-override"));
    assert!(text.contains("IdP down, log restored later"));
    // The log stays broken (the override does not launder it).
    assert_eq!(f.verify_log().code, 1);
}

/// Invariant 6: A process killed during a log append leaves a log that verifies or
/// reports exactly the torn line; `log repair` removes it (logged).
#[test]
fn torn_append_is_reported_and_repaired() {
    let f = Fixture::new(2, 2);
    let before = f.log_lines().len();
    let r = f.unseal_env(
        &["alice", "bob"],
        &[],
        &[("BREAKGLASS_TEST_TORN_APPEND", "2")],
    );
    assert_ne!(r.code, 0);
    let r = f.verify_log();
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("the last line is torn"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("{} entries verified", before + 1)),
        "{}",
        r.stdout
    );
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 1, "unseal must refuse a torn log: {}", r.stderr);
    assert!(r.stderr.contains("breakglass log repair"), "{}", r.stderr);
    let r = run(&["log", "repair", "--vault", &f.vault()], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("removed a torn last line"));
    assert_eq!(f.verify_log().code, 0);
    assert_eq!(f.events().last().map(String::as_str), Some("log-repaired"));
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
}

/// Invariant 3: Truncation back past the last seal is detected through the manifest anchor,
/// even when the remaining prefix is a perfect chain.
#[test]
fn truncation_past_the_seal_is_detected_by_the_anchor() {
    let f = Fixture::new(2, 2);
    let lines = f.log_lines();
    let mut text = lines[..lines.len() - 1].join("\n");
    text.push('\n');
    std::fs::write(f.log_path(), text).unwrap();
    let r = f.verify_log();
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("the log was truncated"), "{}", r.stdout);
}

/// `log verify --json` and `log show` report the chain.
#[test]
fn log_verify_json_and_show() {
    let f = Fixture::new(2, 2);
    let r = run(&["log", "verify", "--vault", &f.vault(), "--json"], "");
    assert_eq!(r.code, 0);
    let v = json(&r);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 4);
    assert_eq!(v["signatures"]["quorum"], 4);
    let r = run(&["log", "show", "--vault", &f.vault()], "");
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("vault-created"));
}

/// Invariant 5: Files with secrets are 0600; the vault holds no plaintext secret.
#[test]
fn files_are_private_and_hold_no_plaintext() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new(3, 2);
    for p in common::files_under(&f.vault_path()) {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        if p.file_name().unwrap() != ".lock" {
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        let bytes = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASSWORD), "{}", p.display());
        assert!(!text.contains(common::TOTP_SEED), "{}", p.display());
        assert!(!text.contains("code-one"), "{}", p.display());
    }
}

/// Init refuses a non-empty directory and never overwrites.
#[test]
fn init_refuses_existing_vault() {
    let f = Fixture::new(2, 2);
    let r = run(
        &[
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "2",
            "--custodian",
            &f.path("alice.custodian.json"),
            "--custodian",
            &f.path("bob.custodian.json"),
            "--entries",
            "-",
        ],
        &f.entries_json(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("already exists and is not empty"),
        "{}",
        r.stderr
    );
}

/// Bad input: a corrupted manifest is a clear error, never a panic.
#[test]
fn corrupted_manifest_is_a_clear_error() {
    let f = Fixture::new(2, 2);
    let p = f.vault_path().join("manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"threshold\":2", "\"threshold\":1", 1)).unwrap();
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("manifest is malformed"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
    // A well-formed but altered manifest (here: its creation time) is
    // certified by no sealed entry of the log: refused before any share is
    // asked for (format 2; format 1 only noticed after the shares): exit 1,
    // nothing shown.
    let created = text.find("\"created\":\"").unwrap() + 11;
    let mut altered = text.clone();
    altered.replace_range(created..created + 4, "2001");
    std::fs::write(&p, &altered).unwrap();
    let r = f.unseal(&["alice", "bob"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is certified by no sealed entry of the audit log"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains(PASSWORD));
    std::fs::write(&p, &text).unwrap();
    assert_eq!(f.unseal(&["alice", "bob"], &[]).code, 0);
}

/// Invariant 1: For n up to 5 (here 5 custodians, threshold 3, through the binary):
/// every subset below the threshold fails, every subset at or above opens.
#[test]
fn every_subset_of_five_custodians_with_threshold_three() {
    let f = Fixture::new(5, 3);
    let names = common::NAMES;
    for mask in 1u32..32 {
        let who: Vec<&str> = (0..5)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        let r = f.unseal(&who, &[]);
        if who.len() >= 3 {
            assert_eq!(r.code, 0, "{who:?}: {}", r.stderr);
            assert!(r.stdout.contains(PASSWORD), "{who:?}");
        } else {
            assert_eq!(r.code, 2, "{who:?}");
            assert!(
                r.stderr.contains(&format!(
                    "not enough valid shares: {} of 3 needed",
                    who.len()
                )),
                "{who:?}: {}",
                r.stderr
            );
            assert!(!r.stdout.contains(PASSWORD), "{who:?}");
        }
    }
    assert_eq!(f.verify_log().code, 0);
}

/// Garbage on the setup inputs (descriptor, entries file) is a clear error that
/// never echoes the input.
#[test]
fn garbage_setup_inputs_are_clear_errors() {
    let f = Fixture::custodians_only(2, 2);
    let (a, b) = (f.path("alice.custodian.json"), f.path("bob.custodian.json"));
    let init = |stdin: &str| {
        run(
            &[
                "init",
                "--vault",
                &f.vault(),
                "--threshold",
                "2",
                "--custodian",
                &a,
                "--custodian",
                &b,
                "--entries",
                "-",
            ],
            stdin,
        )
    };
    for bad in [
        "", "[", "{}", "[{\"kind\":\"password\",\"name\":\"x\",\"value\":\"Hunter2-secret\",\"extra\":1}]",
        "[{\"kind\":\"password\",\"name\":\"Bad Name\",\"value\":\"Hunter2-secret\"}]",
        "[{\"kind\":\"totp\",\"name\":\"m\",\"seed\":\"Hunter2-secret\",\"algorithm\":\"MD5\",\"digits\":6,\"period\":30}]",
        "\u{0}\u{1}binary",
    ] {
        let r = init(bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(!r.stderr.contains("Hunter2-secret"), "{bad:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
        assert!(!f.vault_path().join("manifest.json").exists());
    }
    std::fs::write(
        &b,
        "{\"format\":\"breakglass-custodian/1\",\"name\":\"bob\"}",
    )
    .unwrap();
    let r = init(&f.entries_json());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not a custodian descriptor"),
        "{}",
        r.stderr
    );
    std::fs::write(&b, [0xffu8, 0xfe, 0x00]).unwrap();
    let r = init(&f.entries_json());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not a custodian descriptor"),
        "{}",
        r.stderr
    );
}
