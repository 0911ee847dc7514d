//! scripts/rehearse stays true: its non-interactive path (`--auto`) runs the
//! very commands its recipe prints — three enrollments through the real
//! pcscd on virtual cards of the `virtual-yubikey drawer`, a 2-of-3 init, the
//! drawer restarted (cards come back from their state files), an unseal, a
//! reseal and an unseal of the new value — and checks each result.
//!
//! The emulator binary is built first (`cargo build -p virtual-yubikey
//! --bin virtual-yubikey`: it is not a target of this package); the
//! breakglass binary is this test build's.

use std::path::PathBuf;
use std::process::Command;

use virtual_yubikey::harness::fresh_serial;

fn virtual_yubikey_bin() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "virtual-yubikey",
            "--bin",
            "virtual-yubikey",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build for the emulator");
    assert!(status.success(), "building virtual-yubikey failed");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_breakglass"))
        .parent()
        .expect("target dir")
        .join("virtual-yubikey");
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    bin
}

/// Three consecutive serials from the shared counter (the script numbers its
/// cards base, base + 1, base + 2).
fn serial_base() -> u32 {
    loop {
        let a = fresh_serial().unwrap();
        let b = fresh_serial().unwrap();
        let c = fresh_serial().unwrap();
        if b == a + 1 && c == b + 1 {
            return a;
        }
    }
}

#[test]
fn the_rehearsal_recipe_runs_end_to_end_on_virtual_cards() {
    let vy = virtual_yubikey_bin();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("rehearsal");
    let base = serial_base().to_string();
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/rehearse"))
        .args(["--auto", "--no-build", "--serial-base", &base, "--dir"])
        .arg(&work)
        .env("BREAKGLASS_BIN", env!("CARGO_BIN_EXE_breakglass"))
        .env("VIRTUAL_YUBIKEY_BIN", &vy)
        .output()
        .expect("run scripts/rehearse");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rehearse --auto failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("rehearsal passed"), "{stdout}");
    // The recipe's steps really ran, in order.
    let order = [
        "custodian enroll --name alice",
        "custodian enroll --name carol",
        " init --vault",
        "restarting the drawer",
        " unseal --vault",
        " reseal --vault",
    ];
    let mut at = 0;
    for step in order {
        let found = stdout[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} missing or out of order:\n{stdout}"));
        at += found;
    }
    // The vault's log holds the ceremonies; the answers files are gone; the
    // cards' state files are private.
    let log = std::fs::read_to_string(work.join("vault/log.jsonl")).unwrap();
    assert_eq!(
        log.matches("\"event\":\"unseal-granted\"").count(),
        2,
        "{log}"
    );
    assert!(!std::fs::read_dir(&work).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".answers.json")));
    use std::os::unix::fs::PermissionsExt;
    for n in ["alice", "bob", "carol"] {
        let mode = std::fs::metadata(work.join(format!("cards/{n}.card")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{n}.card is readable by others");
    }
}
