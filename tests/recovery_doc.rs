//! docs/recovery.md stays true: its share-combination and payload-identity
//! vectors are the library's (`shamir::combine`, `MasterKey`), and
//! docs/recover.py, which follows the document, recovers the payload of a
//! vault made by the real binary with stock `age`: software custodians (and
//! it refuses a wrong passphrase, a swapped share file and too few shares),
//! and a YubiKey custodian (virtual card through pcscd) whose share stock
//! `age` opens with `age-plugin-yubikey` "Slot 1" = PIV slot 82.
//!
//! Needs `python3` (with `cryptography` and an Argon2id: `cryptography` >= 44
//! or `argon2-cffi`) and `age` (scripts/install-deps), and for the YubiKey
//! track `age-plugin-yubikey` (scripts/test-all installs it; skipped without
//! it unless `BREAKGLASS_REQUIRE_INTEROP` is set).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use breakglass::keys::MasterKey;
use breakglass::secret::SecretBytes;
use breakglass::shamir::{combine, Share};
use common::{passphrase, Fixture, PASSWORD, TOTP_SEED};

const DOC: &str = include_str!("../docs/recovery.md");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/recover.py");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A share as documented: (x, y).
type VectorShare = (u8, Vec<u8>);
/// A threshold and the shares of its polynomial.
type Group = (u8, Vec<VectorShare>);

/// The documented vector: K and, per threshold, the shares.
fn vector() -> (Vec<u8>, Vec<Group>) {
    let k = DOC
        .lines()
        .find_map(|l| l.strip_prefix("K = "))
        .map(unhex)
        .expect("K = line in recovery.md");
    let mut groups: Vec<Group> = Vec::new();
    for line in DOC.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if let [t, x, y] = parts.as_slice() {
            let (Some(t), Some(x), Some(y)) = (
                t.strip_prefix("t="),
                x.strip_prefix("x="),
                y.strip_prefix("y="),
            ) else {
                continue;
            };
            let t: u8 = t.parse().unwrap();
            let share = (x.parse().unwrap(), unhex(y));
            match groups.iter_mut().find(|(gt, _)| *gt == t) {
                Some((_, v)) => v.push(share),
                None => groups.push((t, vec![share])),
            }
        }
    }
    (k, groups)
}

fn python(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed to run docs/recover.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every subset of `items` of size `k`.
fn subsets<T: Clone>(items: &[T], k: usize) -> Vec<Vec<T>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    if items.len() < k {
        return Vec::new();
    }
    let mut with: Vec<Vec<T>> = subsets(&items[1..], k - 1)
        .into_iter()
        .map(|mut s| {
            s.insert(0, items[0].clone());
            s
        })
        .collect();
    with.extend(subsets(&items[1..], k));
    with
}

#[test]
fn documented_share_vectors_combine_to_k_in_the_library_and_the_script() {
    let (k, groups) = vector();
    assert_eq!(k, (0u8..32).collect::<Vec<_>>());
    assert_eq!(groups.len(), 2, "a t=2 and a t=3 group");
    for (t, shares) in &groups {
        assert!(shares.len() > usize::from(*t));
        for subset in subsets(shares, usize::from(*t)) {
            let owned: Vec<Share> = subset
                .iter()
                .map(|(x, y)| Share {
                    x: *x,
                    y: SecretBytes::new(y.clone()),
                })
                .collect();
            let refs: Vec<&Share> = owned.iter().collect();
            let got = combine(&refs, *t).expect("library combine");
            assert_eq!(got.expose(), k.as_slice(), "library, t={t}");
            let input: String = subset
                .iter()
                .map(|(x, y)| format!("{x} {}\n", hex(y)))
                .collect();
            let (code, out, err) = python(&["combine"], &input);
            assert_eq!(code, 0, "{err}");
            assert_eq!(out.trim(), hex(&k), "script, t={t}");
        }
        // One share fewer than t gives something else, silently.
        let short = &shares[..usize::from(*t) - 1];
        if short.len() >= 2 {
            let input: String = short
                .iter()
                .map(|(x, y)| format!("{x} {}\n", hex(y)))
                .collect();
            let (_, out, _) = python(&["combine"], &input);
            assert_ne!(out.trim(), hex(&k));
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn documented_payload_identity_is_the_librarys() {
    let (k, _) = vector();
    let vid_hex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
    let vid: [u8; 16] = unhex(vid_hex).try_into().unwrap();
    let library = MasterKey::from_secret(SecretBytes::new(k.clone()))
        .unwrap()
        .payload_identity_text(&vid)
        .unwrap();
    let documented = DOC
        .lines()
        .find_map(|l| l.strip_prefix("identity = AGE-"))
        .map(|rest| format!("AGE-{rest}"))
        .expect("identity = line in recovery.md");
    assert_eq!(library.as_str(), documented);
    let (code, out, err) = python(&["payload-identity", "--vault-id", vid_hex], &hex(&k));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), library.as_str());
}

#[test]
fn the_script_recovers_a_demo_vaults_payload_with_stock_age() {
    let f = Fixture::new(3, 2);
    let vault = f.vault();
    let (alice, carol) = (f.identity("alice"), f.identity("carol"));
    let good = format!("{}\n{}\n", passphrase("alice"), passphrase("carol"));
    let args = [
        "vault",
        "--vault",
        &vault,
        "--identity",
        &alice,
        "--identity",
        &carol,
    ];
    let (code, out, err) = python(&args, &good);
    assert_eq!(code, 0, "recover.py failed: {err}");
    assert!(err.contains("share of alice (x = 1) accepted"), "{err}");
    assert!(err.contains("share of carol (x = 3) accepted"), "{err}");
    let payload: serde_json::Value = serde_json::from_str(&out).expect("payload JSON");
    assert_eq!(payload["format"], "breakglass-payload/1");
    let entries = payload["entries"].as_array().unwrap();
    let by_name = |n: &str| {
        entries
            .iter()
            .find(|e| e["name"] == n)
            .unwrap_or_else(|| panic!("entry {n} in {out}"))
    };
    assert_eq!(by_name("aws-root")["value"], PASSWORD);
    assert_eq!(by_name("aws-mfa")["seed"], TOTP_SEED);
    assert_eq!(by_name("recovery")["text"], "code-one code-two");
    // Nothing was logged: the escape hatch goes around the log.
    let lines_before = f.log_lines().len();
    assert!(lines_before > 0);

    // A wrong passphrase is named, and nothing is printed.
    let wrong = format!("wrong passphrase\n{}\n", passphrase("carol"));
    let (code, out, err) = python(&args, &wrong);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("wrong passphrase for"), "{err}");

    // Too few shares.
    let (code, _, err) = python(
        &["vault", "--vault", &vault, "--identity", &alice],
        &format!("{}\n", passphrase("alice")),
    );
    assert_ne!(code, 0);
    assert!(err.contains("1 distinct shares, 2 needed"), "{err}");

    // A share file swapped for another custodian's fails its commitment.
    let shares = f.vault_path().join("g000001/shares");
    std::fs::copy(shares.join("bob.age"), shares.join("carol.age")).unwrap();
    let (code, _, err) = python(&args, &good);
    assert_ne!(code, 0);
    assert!(err.contains("does not match carol's commitment"), "{err}");
    assert_eq!(f.log_lines().len(), lines_before);
}

/// Where `age-plugin-yubikey` is: `AGE_PLUGIN_YUBIKEY_DIR`, `/tmp/apy/bin`
/// (`cargo install age-plugin-yubikey --locked --root /tmp/apy`), or `PATH`.
fn plugin_dir() -> Option<std::path::PathBuf> {
    let from_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("age-plugin-yubikey").is_file()));
    [
        std::env::var_os("AGE_PLUGIN_YUBIKEY_DIR").map(std::path::PathBuf::from),
        Some("/tmp/apy/bin".into()),
        from_path,
    ]
    .into_iter()
    .flatten()
    .find(|d| d.join("age-plugin-yubikey").is_file())
}

/// Runs `argv` on a pty with `PATH` = `dir` + `PATH`; each (pattern, answer)
/// waits for the pattern's next occurrence in the output, then types the
/// answer and Enter. Returns (success, everything the pty showed).
fn on_pty(dir: &std::path::Path, script: &[(&str, &str)], argv: &[&str]) -> (bool, String) {
    const DRIVER: &str = r#"
import json, os, pty, sys, select, time
script = json.loads(sys.argv[1]); argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b""; step = 0; seen = 0; deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if step < len(script):
        at = out.find(script[step][0].encode(), seen)
        if at >= 0:
            time.sleep(0.2)
            os.write(fd, (script[step][1] + "\n").encode())
            seen = at + 1; step += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let mut paths = vec![dir.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(serde_json::to_string(script).unwrap())
        .args(argv)
        .env("PATH", std::env::join_paths(paths).unwrap())
        .output()
        .expect("python3");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_script_recovers_with_a_yubikey_custodian_through_age_plugin_yubikey() {
    use std::os::unix::fs::PermissionsExt;
    use virtual_yubikey::harness::{fresh_serial, Harness};
    use virtual_yubikey::{Config, VirtualYubiKey, FW_5_4_3};
    let Some(plugin) = plugin_dir() else {
        if std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_some() {
            panic!("age-plugin-yubikey is required for the interop tests (scripts/test-all installs it)");
        }
        eprintln!("SKIPPED: age-plugin-yubikey not found (cargo install age-plugin-yubikey --locked --root /tmp/apy)");
        return;
    };
    const PIN: &str = "864213";
    let [slot, _other] =
        Harness::acquire_pair().expect("both vpcd slots (pcscd and vsmartcard-vpcd installed?)");
    let f = Fixture::custodians_only(2, 2); // alice, bob: software
    let root = f.path("test-root.der");
    std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
    let env = [("BREAKGLASS_TEST_ATTESTATION_ROOT", root.as_str())];
    let mut card = VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_4_3));
    let serial = card.serial().to_string();
    card.insert(slot.port()).expect("insert");

    // carol enrolls her (virtual) YubiKey with the real binary.
    let answers = f.path("carol.answers.json");
    std::fs::write(
        &answers,
        serde_json::json!({"pins": {&serial: "123456"}, "new_pins": {&serial: PIN},
                           "new_puks": {&serial: "97531864"}})
        .to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&answers, std::fs::Permissions::from_mode(0o600)).unwrap();
    let carol_desc = f.path("carol.custodian.json");
    let r = common::run_env(
        &[
            "custodian",
            "enroll",
            "--name",
            "carol",
            "--yubikey",
            "--serial",
            &serial,
            "--descriptor",
            &carol_desc,
            "--answers",
            &answers,
        ],
        "",
        &env,
    );
    assert_eq!(r.code, 0, "enroll carol: {}", r.stderr);
    let vault = f.vault();
    let (alice_desc, bob_desc) = (f.path("alice.custodian.json"), f.path("bob.custodian.json"));
    let r = common::run_env(
        &[
            "init",
            "--vault",
            &vault,
            "--threshold",
            "2",
            "--custodian",
            &alice_desc,
            "--custodian",
            &bob_desc,
            "--custodian",
            &carol_desc,
            "--entries",
            "-",
            "--json",
        ],
        &f.entries_json(),
        &env,
    );
    assert_eq!(r.code, 0, "init: {}", r.stderr);

    // The plugin's identity stub for PIV slot 82 is its "Slot 1".
    let stub = Command::new(plugin.join("age-plugin-yubikey"))
        .args(["--identity", "--serial", &serial, "--slot", "1"])
        .output()
        .unwrap();
    let stub_text = String::from_utf8_lossy(&stub.stdout).into_owned();
    assert!(stub_text.contains("AGE-PLUGIN-YUBIKEY-1"), "{stub_text}");
    let stub_path = f.path("carol-yubikey.txt");
    std::fs::write(&stub_path, &stub_text).unwrap();

    let alice = f.identity("alice");
    let alice_pass = passphrase("alice");
    let (ok, shown) = on_pty(
        &plugin,
        &[("PIN", PIN), ("passphrase of alice", &alice_pass)],
        &[
            "python3",
            SCRIPT,
            "vault",
            "--vault",
            &vault,
            "--identity",
            &stub_path,
            "--identity",
            &alice,
        ],
    );
    assert!(ok, "recover.py with age-plugin-yubikey failed:\n{shown}");
    assert!(shown.contains("share of carol (x = 3) accepted"), "{shown}");
    assert!(shown.contains("share of alice (x = 1) accepted"), "{shown}");
    assert!(shown.contains(PASSWORD), "payload not shown:\n{shown}");
    assert!(!shown.contains(&alice_pass), "the passphrase was echoed");
}
