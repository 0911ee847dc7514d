//! Ceremonies at a real terminal emulator: the binary runs in a tmux pane
//! (its own tmux server, default options, so `scroll-on-clear` is on) and is
//! driven with `send-keys` as custodians would drive it at 3 a.m.
//!
//! What it shows: after a session ends (closed with Enter, or expired), the
//! pane's whole history (`capture-pane -p -S -`) holds no secret; a wrong PIN
//! followed by the right one within one unseal is granted; a token pulled
//! out at the PIN prompt and put back continues the same request; Ctrl-C at
//! a PIN prompt logs that the request was aborted; without pcscd, one clear
//! error comes before anything is logged.
//!
//! tmux comes from `scripts/install-deps`; the YubiKey tests use virtual
//! cards through the real pcscd (`virtual-yubikey`).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run_env, Fixture, PASSWORD, TOTP_SEED};
use serde_json::Value;
use virtual_yubikey::harness::Harness;
use virtual_yubikey::{fresh_serial, Config, VirtualYubiKey, FW_5_4_3, FW_5_7_1};

const WAIT: Duration = Duration::from_secs(40);
const NOTE: &str = "code-one code-two";
const PIN: &str = "864213";
const PUK: &str = "97531864";

/// A private tmux server (its own socket) with one pane running a command
/// under `sh`, which prints the exit status and keeps the pane open.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(argv: &[String], env: &[(&str, &str)]) -> Tmux {
        let socket = format!("bg-test-{}-{}", std::process::id(), fresh_serial().unwrap());
        let quoted: Vec<String> = std::iter::once(common::bin().to_string())
            .chain(argv.iter().cloned())
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let script = format!("{}; echo \"[exit $?]\"; sleep 600", quoted.join(" "));
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "120", "-y", "40"]);
        for (k, v) in env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        cmd.args(["-e", "TERM=xterm-256color", "sh", "-c", &script]);
        let st = cmd
            .env_remove("BREAKGLASS_TEST_NOW")
            .env_remove("TMUX")
            .status()
            .expect("tmux (scripts/install-deps installs it)");
        assert!(st.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The whole pane: its scrollback history and the visible screen.
    fn everything(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-E", "-"])
    }

    /// Only the visible screen.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// Waits until the screen shows `what` `n` times or more in the whole
    /// pane; returns the pane.
    fn wait_for_count(&self, what: &str, n: usize) -> String {
        let start = Instant::now();
        loop {
            let all = self.everything();
            if all.matches(what).count() >= n {
                return all;
            }
            assert!(
                start.elapsed() < WAIT,
                "waited {WAIT:?} for {n}× {what:?}; the pane:\n{all}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, what: &str) -> String {
        self.wait_for_count(what, 1)
    }

    /// Waits for the command to end; returns its exit line's text.
    fn exit_status(&self) -> String {
        let all = self.wait_for("[exit ");
        let i = all.rfind("[exit ").unwrap();
        all[i..].lines().next().unwrap_or_default().to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our own server only (its private socket).
        self.tmux(&["kill-server"]);
    }
}

fn log_events(vault: &str) -> Vec<Value> {
    std::fs::read_to_string(format!("{vault}/log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn events_after_request(vault: &str) -> Vec<Value> {
    let all = log_events(vault);
    let i = all
        .iter()
        .rposition(|e| e["event"] == "unseal-requested")
        .expect("an unseal request");
    all[i..].to_vec()
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// No secret of the fixture anywhere in the pane's history or screen.
fn assert_no_secret(pane: &str) {
    for secret in [PASSWORD, NOTE, TOTP_SEED, "otpauth://"] {
        assert!(
            !pane.contains(secret),
            "{secret:?} is still in the tmux history:\n{pane}"
        );
    }
    assert!(
        !pane.lines().any(|l| l.trim_start().starts_with("code ")),
        "a TOTP code line is still in the tmux history:\n{pane}"
    );
}

fn software_unseal(f: &Fixture, session: &str) -> Vec<String> {
    [
        "unseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "INC-3AM",
        "--reason",
        "tmux test",
        "--identity",
        &f.identity("alice"),
        "--identity",
        &f.identity("bob"),
        "--custodian",
        "alice",
        "--custodian",
        "bob",
        "--session",
        session,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn type_passphrases(t: &Tmux) {
    for name in ["alice", "bob"] {
        t.wait_for(&format!("{name}, type your passphrase:"));
        t.type_line(&common::passphrase(name));
    }
}

#[test]
fn no_secret_in_the_scrollback_after_a_closed_session() {
    let f = Fixture::new(3, 2);
    let t = Tmux::start(&software_unseal(&f, "10m"), &[]);
    type_passphrases(&t);
    // The entries are on the screen while the session is open.
    let start = Instant::now();
    while !t.screen().contains(PASSWORD) {
        assert!(
            start.elapsed() < WAIT,
            "no session screen:\n{}",
            t.everything()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A few redraws, then Enter.
    std::thread::sleep(Duration::from_millis(2500));
    t.keys(&["Enter"]);
    let pane = t.wait_for("session ended (closed); secrets wiped from memory");
    assert_eq!(t.exit_status(), "[exit 0]", "{pane}");
    assert_no_secret(&t.everything());
}

#[test]
fn no_secret_in_the_scrollback_after_an_expired_session() {
    let f = Fixture::new(3, 2);
    let t = Tmux::start(&software_unseal(&f, "3s"), &[]);
    type_passphrases(&t);
    let pane = t.wait_for("session ended (expired); secrets wiped from memory");
    assert_eq!(t.exit_status(), "[exit 0]", "{pane}");
    assert_no_secret(&t.everything());
    let after = events_after_request(&f.vault());
    assert_eq!(after.last().unwrap()["data"]["how"], "expired", "{after:?}");
}

/// Two custodians with virtual YubiKeys (one per vpcd slot), enrolled and
/// sealed to a 2-of-2 vault through the binary.
struct YubikeyVault {
    dir: tempfile::TempDir,
    root: String,
    slots: [Harness; 2],
    alice: VirtualYubiKey,
    bob: VirtualYubiKey,
}

impl YubikeyVault {
    fn new() -> YubikeyVault {
        let slots = Harness::acquire_pair().expect("both vpcd slots (pcscd, vsmartcard-vpcd)");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("test-root.der");
        std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
        let mut v = YubikeyVault {
            root: root.display().to_string(),
            dir,
            alice: VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_7_1)),
            bob: VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_4_3)),
            slots,
        };
        v.alice.insert(v.slots[0].port()).unwrap();
        v.bob.insert(v.slots[1].port()).unwrap();
        let serials = [v.alice.serial(), v.bob.serial()];
        let map = |pin: &str| -> Value {
            Value::Object(
                serials
                    .iter()
                    .map(|s| (s.to_string(), Value::from(pin)))
                    .collect(),
            )
        };
        let answers = v.path("enroll.json");
        std::fs::write(
            &answers,
            serde_json::json!({"pins": map("123456"), "new_pins": map(PIN), "new_puks": map(PUK)})
                .to_string(),
        )
        .unwrap();
        std::fs::set_permissions(&answers, std::fs::Permissions::from_mode(0o600)).unwrap();
        for (name, serial) in [("alice", serials[0]), ("bob", serials[1])] {
            let desc = v.path(&format!("{name}.custodian.json"));
            let r = v.run(&[
                "custodian",
                "enroll",
                "--name",
                name,
                "--yubikey",
                "--serial",
                &serial.to_string(),
                "--descriptor",
                &desc,
                "--answers",
                &answers,
            ]);
            assert_eq!(r.code, 0, "enroll {name}: {}", r.stderr);
        }
        let entries =
            serde_json::json!([{"kind": "password", "name": "aws-root", "value": PASSWORD}])
                .to_string();
        let vault = v.vault();
        let (a, b) = (v.path("alice.custodian.json"), v.path("bob.custodian.json"));
        let r = run_env(
            &[
                "init",
                "--vault",
                &vault,
                "--threshold",
                "2",
                "--custodian",
                &a,
                "--custodian",
                &b,
                "--entries",
                "-",
                "--json",
            ],
            &entries,
            &[("BREAKGLASS_TEST_ATTESTATION_ROOT", &v.root)],
        );
        assert_eq!(r.code, 0, "init: {}", r.stderr);
        v
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn vault(&self) -> String {
        self.path("vault")
    }

    fn run(&self, args: &[&str]) -> common::Run {
        run_env(
            args,
            "",
            &[("BREAKGLASS_TEST_ATTESTATION_ROOT", &self.root)],
        )
    }

    fn unseal(&self) -> Tmux {
        let args: Vec<String> = [
            "unseal",
            "--vault",
            &self.vault(),
            "--ticket",
            "INC-3AM",
            "--reason",
            "tmux test",
            "--custodian",
            "alice",
            "--custodian",
            "bob",
            "--session",
            "10m",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Tmux::start(&args, &[("BREAKGLASS_TEST_ATTESTATION_ROOT", &self.root)])
    }

    fn pin_prompt(&self, name: &str, tries: &str) -> String {
        let serial = match name {
            "alice" => self.alice.serial(),
            _ => self.bob.serial(),
        };
        format!("{name}, enter the PIN of YubiKey {serial} ({tries} left):")
    }
}

/// Bob presents and the session is closed with Enter; returns the pane.
fn bob_presents_and_closes(v: &YubikeyVault, t: &Tmux) -> String {
    let next = format!(
        "alice: done, remove your token. Next: bob, insert YubiKey {}",
        v.bob.serial()
    );
    t.wait_for(&next);
    t.wait_for(&v.pin_prompt("bob", "3 tries"));
    t.type_line(PIN);
    let start = Instant::now();
    while !t.screen().contains(PASSWORD) {
        assert!(
            start.elapsed() < WAIT,
            "no session screen:\n{}",
            t.everything()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["Enter"]);
    let pane = t.wait_for("session ended (closed)");
    assert_eq!(t.exit_status(), "[exit 0]", "{pane}");
    assert_no_secret(&t.everything());
    pane
}

#[test]
fn yubikey_slips_are_forgiven_within_one_request() {
    let mut v = YubikeyVault::new();

    // 0. pcscd not running (libpcsclite pointed at a socket nobody listens
    //    on): one clear error, before the request is logged.
    let before = log_events(&v.vault()).len();
    let dead = v.path("no-pcscd.comm");
    let vault = v.vault();
    let r = run_env(
        &[
            "unseal",
            "--vault",
            &vault,
            "--ticket",
            "INC-3AM",
            "--reason",
            "tmux test",
            "--custodian",
            "alice",
            "--custodian",
            "bob",
        ],
        "",
        &[
            ("BREAKGLASS_TEST_ATTESTATION_ROOT", &v.root),
            ("PCSCLITE_CSOCK_NAME", &dead),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("the PC/SC daemon (pcscd) is not running")
            .count(),
        1,
        "{}",
        r.stderr
    );
    assert_eq!(log_events(&v.vault()).len(), before, "nothing logged");

    // 1. A wrong PIN, then the right one: the same request is granted.
    let t = v.unseal();
    t.wait_for(&v.pin_prompt("alice", "3 tries"));
    t.type_line("111111");
    t.wait_for("alice: try again now? [Y/n]");
    t.keys(&["Enter"]);
    t.wait_for(&v.pin_prompt("alice", "2 tries"));
    t.type_line(PIN);
    let pane = bob_presents_and_closes(&v, &t);
    assert!(
        pane.contains(&format!("wrong PIN for YubiKey {}", v.alice.serial())),
        "{pane}"
    );
    drop(t);
    let after = events_after_request(&v.vault());
    let ev = names(&after);
    assert_eq!(
        ev[..5],
        [
            "unseal-requested",
            "share-rejected",
            "share-accepted",
            "share-accepted",
            "unseal-granted"
        ],
        "{ev:?}"
    );
    assert_eq!(after[1]["data"]["custodian"], "alice");
    assert_eq!(after[2]["data"]["custodian"], "alice");
    assert_eq!(after[1]["data"]["request"], after[0]["seq"]);

    // 2. Alice's token pulled out at the PIN prompt and put back: the same
    //    request continues.
    let t = v.unseal();
    t.wait_for(&v.pin_prompt("alice", "3 tries"));
    v.alice.remove();
    t.type_line(PIN);
    t.wait_for("alice: try again now? [Y/n]");
    v.alice.insert(v.slots[0].port()).unwrap();
    t.keys(&["Enter"]);
    t.wait_for_count(&v.pin_prompt("alice", "3 tries"), 2);
    t.type_line(PIN);
    bob_presents_and_closes(&v, &t);
    drop(t);
    let after = events_after_request(&v.vault());
    let ev = names(&after);
    assert_eq!(
        ev[..5],
        [
            "unseal-requested",
            "share-rejected",
            "share-accepted",
            "share-accepted",
            "unseal-granted"
        ],
        "{ev:?}"
    );
    let why = after[1]["data"]["why"].as_str().unwrap();
    assert!(why.contains("removed"), "{why}");

    // 3. Ctrl-C at the PIN prompt: the request is logged as aborted and the
    //    command ends as Ctrl-C ends any program.
    let t = v.unseal();
    t.wait_for(&v.pin_prompt("alice", "3 tries"));
    // Half a PIN, in letters no fingerprint or serial can hold (a digit
    // pair such as "86" turned up in random vault fingerprints).
    t.keys(&["-l", "qzw"]);
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(), "[exit 130]", "{}", t.everything());
    assert!(!t.everything().contains("qzw"), "{}", t.everything());
    drop(t);
    let after = events_after_request(&v.vault());
    assert_eq!(names(&after), ["unseal-requested", "unseal-aborted"]);
    let why = after[1]["data"]["why"].as_str().unwrap();
    assert!(why.contains("interrupted (Ctrl-C)"), "{why}");
    assert_eq!(after[1]["data"]["request"], after[0]["seq"]);
    assert_eq!(v.alice.card().pin_tries_left(), 3, "no PIN try was used");

    // 4. After a wrong PIN alice steps aside ("n"): bob presents next; a
    //    2-of-2 vault then lacks a share, and the request ends logged.
    let t = v.unseal();
    t.wait_for(&v.pin_prompt("alice", "3 tries"));
    t.type_line("111111");
    t.wait_for("alice: try again now? [Y/n]");
    t.type_line("n");
    t.wait_for(&v.pin_prompt("bob", "3 tries"));
    t.type_line(PIN);
    assert_eq!(t.exit_status(), "[exit 2]", "{}", t.everything());
    assert!(t.everything().contains("1 of 2"), "{}", t.everything());
    drop(t);
    let after = events_after_request(&v.vault());
    assert_eq!(
        names(&after),
        [
            "unseal-requested",
            "share-rejected",
            "share-accepted",
            "unseal-aborted"
        ]
    );
    // The wrong try counted on alice's card; the next right PIN resets it.
    assert_eq!(v.alice.card().pin_tries_left(), 2);
}

/// Setup at the terminal: a new PUK and PIN are typed twice (a mismatch is
/// asked again), and `init` asks each secret twice, then lists what was
/// sealed with the TOTP seed's current code.
#[test]
fn setup_asks_every_new_secret_twice_and_lists_what_was_sealed() {
    let slots = Harness::acquire_pair().expect("both vpcd slots (pcscd, vsmartcard-vpcd)");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("test-root.der");
    std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
    let root = root.display().to_string();
    let env = [("BREAKGLASS_TEST_ATTESTATION_ROOT", root.as_str())];
    let mut cards = [
        VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_7_1)),
        VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_4_3)),
    ];
    let mut descriptors = vec![];
    for ((name, card), slot) in ["alice", "bob"].into_iter().zip(&mut cards).zip(&slots) {
        card.insert(slot.port()).unwrap();
        let serial = card.serial();
        let desc = dir.path().join(format!("{name}.custodian.json"));
        let desc = desc.display().to_string();
        let args: Vec<String> = [
            "custodian",
            "enroll",
            "--name",
            name,
            "--yubikey",
            "--serial",
            &serial.to_string(),
            "--descriptor",
            &desc,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = Tmux::start(&args, &env);
        t.wait_for(&format!(
            "{name}, enter the PIN of YubiKey {serial} (3 tries left):"
        ));
        t.type_line("123456");
        let new_puk = format!("{name}, enter the new PUK (6-8 characters) of YubiKey {serial}:");
        t.wait_for(&new_puk);
        t.type_line(PUK);
        t.wait_for("Type it again:");
        t.type_line("97531865");
        t.wait_for("The two entries differ; try again.");
        t.wait_for_count(&new_puk, 2);
        t.type_line(PUK);
        t.wait_for_count("Type it again:", 2);
        t.type_line(PUK);
        let new_pin = format!("{name}, enter the new PIN (6-8 characters) of YubiKey {serial}:");
        t.wait_for(&new_pin);
        t.type_line(PIN);
        t.wait_for_count("Type it again:", 3);
        t.type_line(PIN);
        let pane = t.exit_status();
        assert_eq!(pane, "[exit 0]", "{}", t.everything());
        assert!(!t.everything().contains(PUK) && !t.everything().contains(PIN));
        drop(t);
        // The PUK and PIN typed twice are the ones set.
        assert_eq!(card.card().pin_tries_left(), 3);
        let mut yk = ::yubikey::YubiKey::open_by_serial(::yubikey::Serial(serial)).unwrap();
        yk.verify_pin(PIN.as_bytes()).expect("the new PIN");
        yk.change_puk(PUK.as_bytes(), PUK.as_bytes())
            .expect("the new PUK");
        drop(yk);
        descriptors.push(desc);
    }

    let vault = dir.path().join("vault").display().to_string();
    let args: Vec<String> = [
        "init",
        "--vault",
        &vault,
        "--threshold",
        "2",
        "--custodian",
        &descriptors[0],
        "--custodian",
        &descriptors[1],
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let t = Tmux::start(&args, &env);
    t.wait_for("Entry 1: kind (password, totp, note) or empty to finish:");
    t.type_line("password");
    t.wait_for("Name (e.g. aws-root):");
    t.type_line("aws-root");
    t.wait_for("Password (not echoed):");
    t.type_line(PASSWORD);
    t.wait_for("Type it again:");
    t.type_line("Old-Secret-Password-43");
    t.wait_for("The two entries differ; type the value again.");
    t.wait_for_count("Password (not echoed):", 2);
    t.type_line(PASSWORD);
    t.wait_for_count("Type it again:", 2);
    t.type_line(PASSWORD);
    for (i, prompt) in [
        "Account id (optional):",
        "User name (optional):",
        "Sign-in URL (optional):",
        "Notes, not secret (optional):",
    ]
    .iter()
    .enumerate()
    {
        t.wait_for(prompt);
        t.type_line(if i == 0 { "123456789012" } else { "" });
    }
    t.wait_for("Entry 2: kind (password, totp, note) or empty to finish:");
    t.type_line("totp");
    t.wait_for_count("Name (e.g. aws-root):", 2);
    t.type_line("aws-root-mfa");
    t.wait_for("TOTP seed (base32) or otpauth:// URI (not echoed):");
    t.type_line(TOTP_SEED);
    t.wait_for_count("Type it again:", 3);
    t.type_line(TOTP_SEED);
    t.wait_for("Entry 3: kind (password, totp, note) or empty to finish:");
    t.type_line("");
    assert_eq!(t.exit_status(), "[exit 0]", "{}", t.everything());
    let pane = t.everything();
    assert!(pane.contains("sealed: aws-root (password)"), "{pane}");
    let line = pane
        .lines()
        .find(|l| l.contains("sealed: aws-root-mfa (totp): current code "))
        .unwrap_or_else(|| panic!("no TOTP line:\n{pane}"));
    let code: String = line
        .split("current code ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(code.len(), 6, "{line}");
    // The code of the seed that was typed (RFC 6238), within a period or two.
    let seed = breakglass::totp::TotpSeed::from_base32(TOTP_SEED, Default::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let near: Vec<String> = [now - 60, now - 30, now]
        .iter()
        .map(|t| seed.code_at(*t).unwrap())
        .collect();
    assert!(near.contains(&code), "{code} is not one of {near:?}");
    assert!(
        !pane.contains(PASSWORD) && !pane.contains(TOTP_SEED),
        "{pane}"
    );
    assert!(pane.contains("log receipt: bg1:"), "{pane}");
    assert!(pane.contains("into the vault's setup record"), "{pane}");
}

/// A reseal's new values (a generated password, a new TOTP seed with its
/// two codes) are shown until the custodians confirm the provider is
/// updated, and are then gone from the screen and the history.
#[test]
fn no_new_value_in_the_scrollback_after_a_reseal() {
    let f = Fixture::new(3, 2);
    let args: Vec<String> = [
        "reseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "CHG-3AM",
        "--reason",
        "rotation",
        "--generate",
        "aws-root",
        "--new-totp",
        "aws-mfa",
        "--identity",
        &f.identity("alice"),
        "--identity",
        &f.identity("bob"),
        "--custodian",
        "alice",
        "--custodian",
        "bob",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let t = Tmux::start(&args, &[]);
    type_passphrases(&t);
    let pane = t.wait_for("Done? [y/N]");
    let value_of = |label: &str| -> String {
        let line = pane
            .lines()
            .find(|l| l.contains(&format!("NEW VALUE {label}: ")))
            .unwrap_or_else(|| panic!("no {label} shown:\n{pane}"));
        line.split(": ").nth(1).unwrap().trim().to_owned()
    };
    let password = value_of("aws-root.password");
    let seed = value_of("aws-mfa.seed");
    assert!(password.len() >= 16 && seed.len() >= 16, "{pane}");
    t.type_line("y");
    let status = t.exit_status();
    let all = t.everything();
    assert_eq!(status, "[exit 0]", "{all}");
    assert!(
        all.contains("The new values were cleared from the screen."),
        "{all}"
    );
    for secret in [password.as_str(), seed.as_str(), "otpauth://", "NEW VALUE"] {
        assert!(
            !all.contains(secret),
            "{secret:?} is still in the tmux history:\n{all}"
        );
    }
}
