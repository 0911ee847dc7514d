//! Interop with stock `age` (Debian's, written by nobody here): share files
//! are standard age files that a custodian can decrypt with their own
//! identity, and the payload can be recovered by hand from a quorum's shares.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use breakglass::envelope::Envelope;
use breakglass::keys::MasterKey;
use breakglass::secret::SecretString;
use common::{Fixture, PASSWORD};

fn age_available() -> bool {
    let ok = Command::new("age").arg("--version").output().is_ok();
    if !ok && std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_some() {
        panic!("stock `age` is required (scripts/install-deps installs it)");
    }
    if !ok {
        eprintln!("SKIPPED: stock `age` not installed (apt-get install age)");
    }
    ok
}

fn key_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}

fn stock_age_decrypt(key: &str, file: &std::path::Path) -> Vec<u8> {
    let out = Command::new("age")
        .args(["-d", "-i", key])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn stock_age_decrypts_a_share_and_recovers_the_payload() {
    if !age_available() {
        return;
    }
    let f = Fixture::new(3, 2);
    let keys = tempfile::tempdir().unwrap();
    let mut envelopes = Vec::new();
    for name in ["alice", "bob"] {
        let bytes = std::fs::read(f.identity(name)).unwrap();
        let id = breakglass::token::software::unlock(
            &bytes,
            name,
            &SecretString::new(common::passphrase(name)),
        )
        .unwrap();
        let key = key_file(keys.path(), name, id.to_age_secret_key().expose());
        let plain = stock_age_decrypt(&key, &f.share_file(1, name));
        assert!(plain.starts_with(b"breakglass-share/1\nvault: "), "{name}");
        envelopes.push(Envelope::decode(&plain).unwrap());
    }
    // A quorum's shares, decrypted by stock age, rebuild K; its payload identity
    // is an ordinary age identity that stock age uses to open the payload.
    let k = breakglass::shamir::combine(&[&envelopes[0].share, &envelopes[1].share], 2).unwrap();
    let k = MasterKey::from_secret(k).unwrap();
    let id_text = k.payload_identity_text(&envelopes[0].vault_id).unwrap();
    let key = key_file(keys.path(), "payload", &id_text);
    let payload = stock_age_decrypt(&key, &f.vault_path().join("g000001/payload.age"));
    let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(v["format"], "breakglass-payload/1");
    assert_eq!(v["entries"][0]["value"], PASSWORD);
}

#[test]
fn stock_age_with_the_wrong_identity_opens_nothing() {
    if !age_available() {
        return;
    }
    let f = Fixture::new(2, 2);
    let keys = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(f.identity("alice")).unwrap();
    let id = breakglass::token::software::unlock(
        &bytes,
        "alice",
        &SecretString::new(common::passphrase("alice")),
    )
    .unwrap();
    let key = key_file(keys.path(), "alice", id.to_age_secret_key().expose());
    let out = Command::new("age")
        .args(["-d", "-i", &key])
        .arg(f.share_file(1, "bob"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}
