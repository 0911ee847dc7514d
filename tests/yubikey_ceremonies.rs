//! Whole ceremonies on virtual YubiKeys through the real pcscd, driven by the
//! real `breakglass` binary: setup with three tokens (one custodian with a
//! spare), 2-of-3 unseal with either of a custodian's tokens, reseal, and the
//! custodian-facing errors (foreign token, wrong PIN).

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{run_env, PASSWORD};
use virtual_yubikey::harness::{fresh_serial, Harness};
use virtual_yubikey::{Config, VirtualYubiKey, FW_5_4_3, FW_5_7_1};

const PIN: &str = "864213";
const PUK: &str = "97531864";

struct Bench {
    dir: tempfile::TempDir,
    root: String,
    slots: [Harness; 2],
}

impl Bench {
    fn new() -> Bench {
        let [a, b] = Harness::acquire_pair()
            .expect("both vpcd slots (pcscd and vsmartcard-vpcd installed?)");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("test-root.der");
        std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
        Bench {
            root: root.display().to_string(),
            dir,
            slots: [a, b],
        }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn answers(&self, v: serde_json::Value) -> String {
        let p = self.path("answers.json");
        std::fs::write(&p, v.to_string()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    fn run(&self, args: &[&str], stdin: &str) -> common::Run {
        run_env(
            args,
            stdin,
            &[("BREAKGLASS_TEST_ATTESTATION_ROOT", &self.root)],
        )
    }

    /// `custodian enroll --name NAME --yubikey` writing `STEM.custodian.json`,
    /// with `extra` flags (serials, policies); asserts it succeeded.
    fn enroll(&self, name: &str, stem: &str, answers: &str, extra: &[&str]) -> common::Run {
        let desc = self.path(&format!("{stem}.custodian.json"));
        let mut args = vec![
            "custodian",
            "enroll",
            "--name",
            name,
            "--yubikey",
            "--descriptor",
            &desc,
            "--answers",
            answers,
        ];
        args.extend_from_slice(extra);
        let r = self.run(&args, "");
        assert_eq!(r.code, 0, "enroll {name}: {}", r.stderr);
        r
    }

    /// Inserts `cards` (at most two at a time, one per vpcd slot).
    fn insert(&self, cards: &mut [&mut VirtualYubiKey]) {
        for (card, slot) in cards.iter_mut().zip(&self.slots) {
            card.insert(slot.port()).expect("insert");
        }
    }
}

fn card(firmware: [u8; 3]) -> VirtualYubiKey {
    VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), firmware))
}

fn pins(serials: &[u32], pin: &str) -> serde_json::Value {
    let m: serde_json::Map<String, serde_json::Value> = serials
        .iter()
        .map(|s| (s.to_string(), pin.into()))
        .collect();
    serde_json::Value::Object(m)
}

#[test]
fn setup_unseal_and_reseal_with_virtual_yubikeys() {
    let b = Bench::new();
    let mut alice = card(FW_5_7_1);
    let mut alice_spare = card(FW_5_4_3);
    let mut bob = card(FW_5_4_3);
    let mut carol = card(FW_5_7_1);
    let all = [
        alice.serial(),
        alice_spare.serial(),
        bob.serial(),
        carol.serial(),
    ];

    // Enrollment: default PIN/PUK are refused and changed; keys generated on the tokens.
    let enroll_answers = b.answers(serde_json::json!({
        "pins": pins(&all, "123456"), "new_pins": pins(&all, PIN), "new_puks": pins(&all, PUK),
    }));
    b.insert(&mut [&mut alice, &mut alice_spare]);
    let (s1, s2) = (alice.serial().to_string(), alice_spare.serial().to_string());
    let r = b.enroll(
        "alice",
        "alice",
        &enroll_answers,
        &["--serial", &s1, "--serial", &s2],
    );
    assert!(
        r.stdout.contains(&format!("YubiKey {s1} slot 82")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("YubiKey {s2} slot 82")),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("attestation verified (test)"),
        "{}",
        r.stderr
    );
    alice.remove();
    alice_spare.remove();
    for (name, c) in [("bob", &mut bob), ("carol", &mut carol)] {
        b.insert(&mut [c]);
        b.enroll(name, name, &enroll_answers, &["--touch-policy", "cached"]);
        c.remove();
    }

    // Setup: 2-of-3.
    let vault = b.path("vault");
    let entries = serde_json::json!([{"kind": "password", "name": "aws-root", "value": PASSWORD}])
        .to_string();
    let r = b.run(
        &[
            "init",
            "--vault",
            &vault,
            "--threshold",
            "2",
            "--custodian",
            &b.path("alice.custodian.json"),
            "--custodian",
            &b.path("bob.custodian.json"),
            "--custodian",
            &b.path("carol.custodian.json"),
            "--entries",
            "-",
            "--json",
        ],
        &entries,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fingerprint = serde_json::from_str::<serde_json::Value>(r.stdout.trim()).unwrap()
        ["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();

    let open_answers = b.answers(serde_json::json!({"pins": pins(&all, PIN)}));
    let unseal = |who: &[&str]| {
        let mut args = vec![
            "unseal",
            "--vault",
            &vault,
            "--ticket",
            "INC-7",
            "--reason",
            "IdP outage",
            "--answers",
            &open_answers,
            "--json",
        ];
        for w in who {
            args.push("--custodian");
            args.push(w);
        }
        b.run(&args, "")
    };

    // Emergency unseal by alice and bob; the vault fingerprint is shown before each PIN.
    b.insert(&mut [&mut alice, &mut bob]);
    let r = unseal(&["alice", "bob"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(PASSWORD));
    assert_eq!(
        r.stderr
            .matches(&format!("Opening vault {fingerprint}"))
            .count(),
        2,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("touch YubiKey"), "{}", r.stderr);
    alice.remove();
    bob.remove();

    // Alice's spare token (from the safe) opens the same share, and the log
    // says the spare was used.
    b.insert(&mut [&mut alice_spare, &mut carol]);
    let r = unseal(&["alice", "carol"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(PASSWORD));
    let alice_desc: breakglass::token::CustodianDescriptor =
        serde_json::from_str(&std::fs::read_to_string(b.path("alice.custodian.json")).unwrap())
            .unwrap();
    let tokens_used: Vec<String> = std::fs::read_to_string(format!("{vault}/log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "share-accepted" && e["data"]["custodian"] == "alice")
        .map(|e| e["data"]["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        tokens_used,
        [
            alice_desc.tokens[0].fingerprint(),
            alice_desc.tokens[1].fingerprint()
        ]
    );

    // Reseal after rotation by alice (spare) and carol: fresh shares on the same tokens.
    let reseal_answers = b.answers(serde_json::json!({
        "pins": pins(&all, PIN), "confirm": {"reseal.provider-updated": true},
    }));
    let r = b.run(
        &[
            "reseal",
            "--vault",
            &vault,
            "--ticket",
            "INC-7",
            "--reason",
            "rotation after INC-7",
            "--generate",
            "aws-root",
            "--custodian",
            "alice",
            "--custodian",
            "carol",
            "--answers",
            &reseal_answers,
            "--json",
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // With --json the new value is a JSON line on stdout (issue 10).
    let generated = r
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["new_value"]["label"] == "aws-root.password")
        .map(|v| v["new_value"]["value"].as_str().unwrap().to_owned())
        .unwrap();
    alice_spare.remove();
    carol.remove();

    b.insert(&mut [&mut bob, &mut carol]);
    let r = unseal(&["bob", "carol"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&generated) && !r.stdout.contains(PASSWORD));
    bob.remove();
    carol.remove();

    // Rekey: alice lost her tokens. She enrolls a new one; bob and carol
    // replace her tokens; the lost token no longer opens anything.
    let mut alice_new = card(FW_5_7_1);
    let fresh = [alice_new.serial()];
    let enroll_new = b.answers(serde_json::json!({
        "pins": pins(&fresh, "123456"), "new_pins": pins(&fresh, PIN), "new_puks": pins(&fresh, PUK),
    }));
    b.insert(&mut [&mut alice_new]);
    b.enroll("alice", "alice-new", &enroll_new, &[]);
    let new_desc = b.path("alice-new.custodian.json");
    alice_new.remove();
    let all_now = [all[0], all[1], all[2], all[3], alice_new.serial()];
    let rekey_answers = b.answers(serde_json::json!({
        "pins": pins(&all_now, PIN), "confirm": {"rekey.proceed": true},
    }));
    b.insert(&mut [&mut bob, &mut carol]);
    let r = b.run(
        &[
            "rekey",
            "--vault",
            &vault,
            "--ticket",
            "CHG-9",
            "--reason",
            "alice lost her YubiKeys",
            "--replace",
            &new_desc,
            "--custodian",
            "bob",
            "--custodian",
            "carol",
            "--answers",
            &rekey_answers,
            "--json",
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("NEW TOKEN alice: "), "{}", r.stderr);
    bob.remove();
    carol.remove();
    let open_now = b.answers(serde_json::json!({"pins": pins(&all_now, PIN)}));
    let unseal_now = |who: [&str; 2]| {
        b.run(
            &[
                "unseal",
                "--vault",
                &vault,
                "--ticket",
                "INC-9",
                "--reason",
                "test",
                "--answers",
                &open_now,
                "--json",
                "--custodian",
                who[0],
                "--custodian",
                who[1],
            ],
            "",
        )
    };
    b.insert(&mut [&mut alice_new, &mut bob]);
    let r = unseal_now(["alice", "bob"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&generated));
    alice_new.remove();
    bob.remove();
    b.insert(&mut [&mut alice, &mut carol]);
    let r = unseal_now(["alice", "carol"]);
    assert_eq!(r.code, 2, "the lost token still opens: {}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "YubiKey {} is not enrolled for custodian alice in this vault",
            alice.serial()
        )),
        "{}",
        r.stderr
    );
    alice.remove();
    carol.remove();
    let r = b.run(&["log", "verify", "--vault", &vault], "");
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn foreign_token_and_wrong_pin_are_named() {
    let b = Bench::new();
    let mut alice = card(FW_5_7_1);
    let mut bob = card(FW_5_7_1);
    let mut stranger = card(FW_5_7_1);
    let all = [alice.serial(), bob.serial(), stranger.serial()];
    let enroll_answers = b.answers(serde_json::json!({
        "pins": pins(&all, "123456"), "new_pins": pins(&all, PIN), "new_puks": pins(&all, PUK),
    }));
    for (name, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        b.insert(&mut [c]);
        b.enroll(name, name, &enroll_answers, &[]);
        c.remove();
    }
    let vault = b.path("vault");
    let entries = serde_json::json!([{"kind": "password", "name": "aws-root", "value": PASSWORD}])
        .to_string();
    let r = b.run(
        &[
            "init",
            "--vault",
            &vault,
            "--threshold",
            "2",
            "--custodian",
            &b.path("alice.custodian.json"),
            "--custodian",
            &b.path("bob.custodian.json"),
            "--entries",
            "-",
        ],
        &entries,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    tampered_descriptors_are_refused_at_setup(&b, &entries);
    // A token that belongs to no custodian of this vault.
    b.insert(&mut [&mut stranger]);
    let answers = b.answers(serde_json::json!({"pins": pins(&all, PIN)}));
    let args = [
        "unseal",
        "--vault",
        &vault,
        "--ticket",
        "INC-8",
        "--reason",
        "test",
        "--answers",
        &answers,
        "--custodian",
        "alice",
        "--custodian",
        "bob",
        "--json",
    ];
    let r = b.run(&args, "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "YubiKey {} is not enrolled for custodian alice in this vault",
            stranger.serial()
        )),
        "{}",
        r.stderr
    );
    stranger.remove();
    // Wrong PIN: retries left are shown, nothing is revealed, the rejection is logged.
    b.insert(&mut [&mut alice, &mut bob]);
    let wrong = b.answers(serde_json::json!({"pins": {alice.serial().to_string(): "000000", bob.serial().to_string(): PIN}}));
    let args = [
        "unseal",
        "--vault",
        &vault,
        "--ticket",
        "INC-8",
        "--reason",
        "test",
        "--answers",
        &wrong,
        "--custodian",
        "alice",
        "--custodian",
        "bob",
        "--json",
    ];
    let r = b.run(&args, "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "wrong PIN for YubiKey {}: 2 tries left",
            alice.serial()
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains(PASSWORD));
    let log = std::fs::read_to_string(format!("{vault}/log.jsonl")).unwrap();
    assert!(log.contains("share-rejected"));
    alice.remove();
    bob.remove();
}

/// `init` re-verifies every YubiKey descriptor's recorded attestation: a
/// descriptor altered between enrollment and setup (a recipient swapped for a
/// key that never was on a YubiKey, another serial, weaker policies, another
/// PKI, damaged evidence) is refused, naming what is wrong.
fn tampered_descriptors_are_refused_at_setup(b: &Bench, entries: &str) {
    use breakglass::token::piv_p256::PivRecipient;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.path("alice.custodian.json")).unwrap())
            .unwrap();
    let serial = original["tokens"][0]["serial"].as_u64().unwrap();
    // A valid P-256 recipient whose private key lives in software.
    let software_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let foreign =
        PivRecipient::from_sec1(software_key.public_key().to_encoded_point(true).as_bytes())
            .unwrap()
            .to_string();
    let field = |name: &str| {
        format!(
            "the YubiKey descriptor of alice is invalid: token {serial}: its {name} is not what the token's attestation says"
        )
    };
    let cases: Vec<(&str, serde_json::Value, String)> = vec![
        ("recipient", serde_json::json!(foreign), field("recipient")),
        (
            "serial",
            serde_json::json!(99_999_998u32),
            "token 99999998: its serial is not what the token's attestation says".into(),
        ),
        (
            "touch_policy",
            serde_json::json!("never"),
            field("touch policy"),
        ),
        (
            "pin_policy",
            serde_json::json!("always"),
            field("PIN policy"),
        ),
        ("firmware", serde_json::json!("5.7.4"), field("firmware")),
    ];
    let mut variants: Vec<(serde_json::Value, String)> = cases
        .into_iter()
        .map(|(key, value, want)| {
            let mut d = original.clone();
            d["tokens"][0][key] = value;
            (d, want)
        })
        .collect();
    let mut d = original.clone();
    d["tokens"][0]["attestation"]["pki"] = "yubico-attestation-root-1".into();
    variants.push((d, field("PKI")));
    let mut d = original.clone();
    d["tokens"][0]["attestation"]["slot_cert"] = "not base64!".into();
    variants.push((d, "its slot attestation certificate is not base64".into()));
    let mut d = original.clone();
    let f9 = d["tokens"][0]["attestation"]["f9_cert"].clone();
    d["tokens"][0]["attestation"]["slot_cert"] = f9;
    variants.push((
        d,
        format!("the attestation of YubiKey {serial} slot 82 failed"),
    ));
    for (i, (d, want)) in variants.iter().enumerate() {
        let path = b.path(&format!("tampered-{i}.custodian.json"));
        std::fs::write(&path, d.to_string()).unwrap();
        let vault = b.path(&format!("tampered-vault-{i}"));
        let r = b.run(
            &[
                "init",
                "--vault",
                &vault,
                "--threshold",
                "2",
                "--custodian",
                &path,
                "--custodian",
                &b.path("bob.custodian.json"),
                "--entries",
                "-",
            ],
            entries,
        );
        assert_eq!(r.code, 2, "variant {i} was accepted: {}", r.stdout);
        assert!(
            r.stderr.contains(want.as_str()),
            "variant {i}: want {want:?}, got {}",
            r.stderr
        );
        assert!(!std::path::Path::new(&vault).join("manifest.json").exists());
    }
}
