//! Interop with Yubico's own `ykman` (PyPI `yubikey-manager`, pinned in
//! scripts/install-deps) on a virtual YubiKey that the real `breakglass`
//! binary enrolled through pcscd: `ykman list` finds it by serial, `ykman piv
//! info` reads it (PIN/PUK changed, management key not default, slot 82 with
//! its certificate) and `ykman piv keys attest 82` returns a certificate for
//! exactly the key breakglass enrolled.
//!
//! The enrollment reads the test attestation root as PEM (what
//! `virtual-yubikey --print-root` writes), so this also checks that
//! `BREAKGLASS_TEST_ATTESTATION_ROOT` accepts PEM.
//!
//! `ykman` is found through `BREAKGLASS_YKMAN`, then `PATH`, then
//! `/opt/breakglass-ykman/bin/ykman` (where scripts/install-deps puts it).
//! Missing, the test is skipped with the reason printed, except with
//! `BREAKGLASS_REQUIRE_INTEROP` set (scripts/test-all), where it fails.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use common::run_env;
use virtual_yubikey::harness::{fresh_serial, Harness};
use virtual_yubikey::{Config, VirtualYubiKey, FW_5_7_1};
use x509_cert::der::DecodePem;

const PIN: &str = "864213";
const PUK: &str = "97531864";

fn ykman() -> Option<PathBuf> {
    let from_env = std::env::var_os("BREAKGLASS_YKMAN").map(PathBuf::from);
    let from_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("ykman"))
            .find(|f| f.is_file())
    });
    let found = [
        from_env,
        from_path,
        Some("/opt/breakglass-ykman/bin/ykman".into()),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_some() {
            panic!("ykman is required for the interop tests (scripts/install-deps installs it)");
        }
        eprintln!("skipped: ykman not found (run scripts/install-deps, or set BREAKGLASS_YKMAN)");
    }
    found
}

/// Runs ykman; returns (success, stdout, stderr).
fn ykman_run(ykman: &PathBuf, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(ykman)
        .args(args)
        .output()
        .expect("spawn ykman");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ykman_reads_and_attests_a_card_breakglass_enrolled() {
    let Some(ykman) = ykman() else { return };
    let [slot, _other] =
        Harness::acquire_pair().expect("both vpcd slots (pcscd and vsmartcard-vpcd installed?)");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("test-root.pem");
    std::fs::write(&root, virtual_yubikey::test_attestation_root_pem()).unwrap();
    let mut card = VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_7_1));
    let serial = card.serial().to_string();
    card.insert(slot.port()).expect("insert");

    // Before enrollment ykman sees a factory-fresh card.
    let (ok, out, err) = ykman_run(&ykman, &["list"]);
    assert!(ok, "ykman list: {err}");
    assert!(
        out.contains(&format!("Serial: {serial}")),
        "ykman list does not show the virtual card {serial} (ykman only talks to readers named \
         like a YubiKey: is a system pcscd with another reader name running?):\n{out}{err}"
    );
    let (ok, fresh_info, err) = ykman_run(&ykman, &["--device", &serial, "piv", "info"]);
    assert!(ok, "ykman piv info (fresh): {err}");
    assert!(fresh_info.contains("Using default PIN"), "{fresh_info}");

    // Enrollment by the real binary.
    let answers = dir.path().join("answers.json");
    std::fs::write(
        &answers,
        serde_json::json!({
            "pins": {&serial: "123456"}, "new_pins": {&serial: PIN}, "new_puks": {&serial: PUK},
        })
        .to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&answers, std::fs::Permissions::from_mode(0o600)).unwrap();
    let desc = dir.path().join("alice.custodian.json");
    let r = run_env(
        &[
            "custodian",
            "enroll",
            "--name",
            "alice",
            "--yubikey",
            "--serial",
            &serial,
            "--descriptor",
            desc.to_str().unwrap(),
            "--answers",
            answers.to_str().unwrap(),
        ],
        "",
        &[("BREAKGLASS_TEST_ATTESTATION_ROOT", root.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "enroll with a PEM test root: {}", r.stderr);
    let enrolled = card.state();
    let slot82 = enrolled
        .slots
        .get(&0x82)
        .expect("breakglass generated a key in slot 82");

    let (ok, info, err) = ykman_run(&ykman, &["--device", &serial, "piv", "info"]);
    assert!(ok, "ykman piv info: {err}");
    assert!(info.contains("PIV version:              5.7.1"), "{info}");
    assert!(info.contains("PIN tries remaining:      3/3"), "{info}");
    assert!(info.contains("PUK tries remaining:      3/3"), "{info}");
    assert!(!info.contains("Using default PIN"), "{info}");
    assert!(!info.contains("Using default PUK"), "{info}");
    assert!(!info.contains("Using default Management key"), "{info}");
    assert!(
        info.contains("Slot 82 (RETIRED1)"),
        "slot 82 missing:\n{info}"
    );
    assert_eq!(card.state(), enrolled, "ykman piv info changed the card");

    // ykman's attestation of slot 82 certifies the very key breakglass enrolled.
    let attest_pem = dir.path().join("attest-82.pem");
    let (ok, _, err) = ykman_run(
        &ykman,
        &[
            "--device",
            &serial,
            "piv",
            "keys",
            "attest",
            "82",
            attest_pem.to_str().unwrap(),
        ],
    );
    assert!(ok, "ykman piv keys attest 82: {err}");
    let pem = std::fs::read(&attest_pem).unwrap();
    let cert = x509_cert::Certificate::from_pem(&pem).expect("ykman wrote a PEM certificate");
    let spki = &cert.tbs_certificate().subject_public_key_info();
    assert_eq!(
        spki.subject_public_key.raw_bytes(),
        slot82.public_key.as_slice(),
        "attested key differs from the enrolled one"
    );
    let issuer = cert.tbs_certificate().issuer().to_string();
    assert!(issuer.contains("Yubico PIV Attestation"), "issuer {issuer}");
}
