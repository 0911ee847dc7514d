//! Keeps the runbooks in `ceremonies/` true to the CLI: every `$ ` line of
//! their ```console blocks is executed, in order, with the real binary, on
//! two tracks, each in a fresh working directory:
//!
//! * the **software track**: software custodians (identity files and
//!   passphrases);
//! * the **YubiKey track**: five virtual YubiKeys (alice's token and her
//!   spare, bob's, carol's, and dave's, who joins in the rekey runbook;
//!   firmware 5.7.1 with an AES management key and 5.4.3 with a 3DES one) behind the real pcscd and vsmartcard-vpcd, with
//!   the virtual card's test attestation root trusted.
//!
//! The info string of a fenced block selects the tracks: ```console runs on
//! both, ```console yubikey and ```console software only on theirs. A `$ `
//! line or a `breakglass …` line in any other block fails the test: a runbook
//! must not show a command that nobody runs.
//!
//! Runbooks are written as people type them (interactive prompts). The
//! runner puts a `breakglass` wrapper first on PATH that adds `--answers`
//! (the documented non-interactive form) to the commands that prompt, unless
//! the line already gives one: `$WORK/enroll-answers.json` for
//! `custodian enroll` (on the YubiKey track: the factory PIN, and the new PIN
//! and PUK of every token), `$WORK/answers.json` otherwise (the PINs chosen
//! at enrollment, or the passphrases). Environment: `$WORK` (working
//! directory), `$VAULT`, `$MEDIA` (custodians' media, with `alice/`, `bob/`,
//! `carol/`, `dave/`), `$BREAKGLASS` (the binary); on the YubiKey track also
//! the serials `$ALICE_YUBIKEY`, `$ALICE_SPARE`, `$BOB_YUBIKEY`,
//! `$CAROL_YUBIKEY`, `$DAVE_YUBIKEY` (from the reserved test range).
//!
//! vpcd has two slots: before each YubiKey-track line, [`tokens_for`] names
//! the tokens it needs and exactly those are inserted. A line that no rule
//! covers fails the test, so a new runbook line cannot run without its cards.
//!
//! Runbook order: setup, emergency unseal, reseal, then the others
//! alphabetically (install.md among them: its offline checks, `--version`,
//! `version` and `demo`, touch no vault of the others). Without pcscd or vsmartcard-vpcd the YubiKey track is
//! skipped with a message, except when `BREAKGLASS_REQUIRE_INTEROP` is set
//! (scripts/test-all, CI): then it fails.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use virtual_yubikey::harness::{fresh_serial, pcscd_answers, Harness, VPCD_DRIVER};
use virtual_yubikey::{Config, VirtualYubiKey, FW_5_4_3, FW_5_7_1};

const ORDER: [&str; 3] = [
    "setup.md",
    "emergency-unseal.md",
    "reseal-after-rotation.md",
];

/// Each track must run at least this many commands over all runbooks.
const MIN_COMMANDS: usize = 25;

/// Commands each track must have run at least this often (by subcommand).
const MIN_KINDS: [(&str, usize); 6] = [
    ("custodian enroll", 3),
    ("init", 1),
    ("unseal", 2),
    ("reseal", 2),
    ("rekey", 1),
    ("drill", 4),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Track {
    Software,
    Yubikey,
}

/// The `$ ` lines of `markdown` that run on `track`, in order; an error for
/// an unknown track or a command outside a ```console block.
fn commands(markdown: &str, track: Track) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    // Inside a fenced block: (is a console block, runs on this track).
    let mut block: Option<(bool, bool)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let t = line.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(match info.split_whitespace().collect::<Vec<_>>()[..] {
                    ["console"] => (true, true),
                    ["console", "yubikey"] => (true, track == Track::Yubikey),
                    ["console", "software"] => (true, track == Track::Software),
                    ["console", ..] => {
                        return Err(format!(
                            "line {}: ```{info}: use console, console yubikey or console software",
                            i + 1
                        ))
                    }
                    _ => (false, false),
                }),
            };
            continue;
        }
        match block {
            Some((true, runs)) => {
                if let Some(cmd) = t.strip_prefix("$ ") {
                    if runs {
                        out.push(cmd.to_owned());
                    }
                }
            }
            Some((false, _)) if t.starts_with("$ ") || t.starts_with("breakglass ") => {
                return Err(format!(
                    "line {}: `{t}` is outside a ```console block, so it never runs",
                    i + 1
                ));
            }
            _ => {}
        }
    }
    if block.is_some() {
        return Err("a fenced block is not closed".into());
    }
    Ok(out)
}

/// The runbooks' custodians (dave joins in the rekey runbook).
const CUSTODIANS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// The YubiKey track's tokens: the variable holding the serial, the firmware.
const TOKENS: [(&str, [u8; 3]); 5] = [
    ("ALICE_YUBIKEY", FW_5_7_1),
    ("ALICE_SPARE", FW_5_4_3),
    ("BOB_YUBIKEY", FW_5_4_3),
    ("CAROL_YUBIKEY", FW_5_7_1),
    ("DAVE_YUBIKEY", FW_5_4_3),
];

/// Commands that touch no token (`demo` uses software custodians of its own).
const NO_TOKEN: [&str; 8] = [
    "breakglass --version",
    "breakglass version",
    "breakglass demo",
    "breakglass init ",
    "breakglass log ",
    "breakglass status ",
    "breakglass report ",
    "printf ",
];

/// Commands where each `--custodian NAME` presents with their token (a
/// review is signed by the recording custodian's token).
const PRESENTING: [&str; 6] = [
    "breakglass unseal ",
    "breakglass reseal ",
    "breakglass rekey ",
    "breakglass drill ",
    "breakglass review ",
    "breakglass migrate ",
];

/// The tokens (by serial variable, in slot order) a YubiKey-track line needs
/// inserted:
/// - commands in [`NO_TOKEN`]: none;
/// - `custodian enroll --yubikey`: the tokens whose serial variables the line names;
/// - commands in [`PRESENTING`]: the token of each `--custodian NAME`
///   (`$NAME_YUBIKEY`), or their spares (`$NAME_SPARE`) when a trailing
///   comment says `spare`.
///
/// Any other line is an error, and so is a token command that names no token
/// or more than the two vpcd slots hold.
fn tokens_for(cmd: &str) -> Result<Vec<&'static str>, String> {
    let (line, comment) = cmd.split_once(" # ").unwrap_or((cmd, ""));
    let line = format!("{line} ");
    if line.contains("--identity ") || line.contains("--out ") {
        return Err(format!(
            "`{cmd}` is for software custodians: put it in a ```console software block"
        ));
    }
    let named: Vec<&'static str> = TOKENS
        .iter()
        .map(|(var, _)| *var)
        .filter(|var| line.contains(&format!("${var}")))
        .collect();
    if NO_TOKEN.iter().any(|p| line.starts_with(p)) {
        return if named.is_empty() {
            Ok(vec![])
        } else {
            Err(format!(
                "`{cmd}` names a token but tokens_for says it needs none"
            ))
        };
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let want: Vec<&'static str> =
        if line.starts_with("breakglass custodian enroll ") && words.contains(&"--yubikey") {
            named
        } else if PRESENTING.iter().any(|p| line.starts_with(p)) {
            let which = if comment.contains("spare") {
                "SPARE"
            } else {
                "YUBIKEY"
            };
            words
                .windows(2)
                .filter(|w| w[0] == "--custodian")
                .map(|w| {
                    let var = format!("{}_{which}", w[1].trim_matches('"').to_uppercase());
                    TOKENS
                        .iter()
                        .map(|(v, _)| *v)
                        .find(|v| *v == var)
                        .ok_or_else(|| format!("`{cmd}`: the YubiKey track has no token {var}"))
                })
                .collect::<Result<_, _>>()?
        } else {
            return Err(format!(
                "no rule in tokens_for (tests/runbooks.rs) says which YubiKeys `{cmd}` needs"
            ));
        };
    match want.len() {
        0 => Err(format!(
            "`{cmd}` needs tokens but names none (--serial \"$NAME_YUBIKEY\" or --custodian NAME)"
        )),
        1 | 2 => Ok(want),
        _ => Err(format!(
            "`{cmd}` needs more tokens than the two vpcd slots hold"
        )),
    }
}

/// What is missing for virtual YubiKeys, if anything.
fn missing_prerequisite() -> Option<String> {
    if !Path::new(VPCD_DRIVER).exists() {
        return Some(format!(
            "{VPCD_DRIVER} is missing (apt-get install vsmartcard-vpcd)"
        ));
    }
    // The harness starts /usr/sbin/pcscd, or pcscd from PATH, unless one runs.
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pcscd").is_file()));
    let pcscd = Path::new("/usr/sbin/pcscd").exists() || on_path || pcscd_answers();
    if !pcscd {
        return Some("pcscd is missing (apt-get install pcscd)".into());
    }
    None
}

/// The virtual YubiKeys and both vpcd slots, for the whole track: card
/// state (PINs, keys) lives in the card objects across removals. The cards
/// are declared before the slots, so they are removed before the slots go.
struct VirtualTokens {
    cards: Vec<(&'static str, VirtualYubiKey)>,
    inserted: Vec<&'static str>,
    slots: [Harness; 2],
}

impl VirtualTokens {
    /// None (with a message) when the prerequisites are missing and the
    /// environment allows skipping.
    fn acquire() -> Option<VirtualTokens> {
        if let Some(missing) = missing_prerequisite() {
            if std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_some() {
                panic!("the YubiKey track of the runbook test needs virtual YubiKeys: {missing} (scripts/test-all installs it)");
            }
            eprintln!("SKIPPED: the YubiKey track of the runbook test: {missing}");
            return None;
        }
        let slots = Harness::acquire_pair().expect("both vpcd slots");
        let cards = TOKENS
            .iter()
            .map(|(var, firmware)| {
                let serial = fresh_serial().expect("a serial from the reserved test range");
                (*var, VirtualYubiKey::new(Config::new(serial, *firmware)))
            })
            .collect();
        Some(VirtualTokens {
            cards,
            inserted: vec![],
            slots,
        })
    }

    fn card(&mut self, var: &str) -> &mut VirtualYubiKey {
        &mut self
            .cards
            .iter_mut()
            .find(|(v, _)| *v == var)
            .expect("a token of TOKENS")
            .1
    }

    fn serials(&self) -> Vec<(&'static str, u32)> {
        self.cards.iter().map(|(v, c)| (*v, c.serial())).collect()
    }

    /// Makes exactly `want` inserted, in slot order.
    fn present(&mut self, want: &[&'static str]) {
        if self.inserted == want {
            return;
        }
        for (_, card) in &mut self.cards {
            card.remove();
        }
        self.inserted.clear();
        let ports: Vec<u16> = self.slots.iter().map(Harness::port).collect();
        for (var, port) in want.iter().zip(ports) {
            self.card(var)
                .insert(port)
                .unwrap_or_else(|e| panic!("inserting the virtual {var}: {e}"));
        }
        self.inserted = want.to_vec();
    }
}

/// A distinct PIN and PUK per token (what its custodian chose at enrollment).
fn pin_of(var: &str) -> String {
    let i = TOKENS.iter().position(|(v, _)| *v == var).unwrap();
    format!("{}", 314_159 + 111_111 * i)
}

fn puk_of(var: &str) -> String {
    let i = TOKENS.iter().position(|(v, _)| *v == var).unwrap();
    format!("{}", 27_182_818 + 1_111_111 * i)
}

/// (answers.json, enroll-answers.json) of a track.
fn answers(serials: &[(&'static str, u32)]) -> (serde_json::Value, serde_json::Value) {
    let mut common = serde_json::json!({
        "text": {
            "entry.1.kind": "password", "entry.1.name": "aws-root",
            "entry.aws-root.account": "123456789012", "entry.aws-root.username": "breakglass",
            "entry.aws-root.url": "https://123456789012.signin.aws.amazon.com/console",
            "entry.aws-root.notes": "",
            "entry.2.kind": "totp", "entry.2.name": "aws-root-mfa",
            "entry.3.kind": "note", "entry.3.name": "aws-recovery",
            "entry.4.kind": ""
        },
        "secrets": {
            "entry.aws-root.value": "Runbook-Password-1",
            "entry.aws-root-mfa.value": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "entry.aws-recovery.value": "recovery-code-1 recovery-code-2"
        },
        "confirm": {"reseal.provider-updated": true, "rekey.proceed": true}
    });
    if serials.is_empty() {
        let pass = |n: &str| format!("runbook passphrase of {n}");
        let names: serde_json::Map<String, serde_json::Value> = CUSTODIANS
            .iter()
            .map(|n| (n.to_string(), pass(n).into()))
            .collect();
        let names = serde_json::Value::from(names);
        common["passphrases"] = names.clone();
        common["new_passphrases"] = names;
        return (common.clone(), common);
    }
    let by_serial = |f: &dyn Fn(&str) -> String| -> serde_json::Value {
        serials
            .iter()
            .map(|(var, serial)| (serial.to_string(), f(var).into()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    common["pins"] = by_serial(&pin_of);
    let enroll = serde_json::json!({
        "pins": by_serial(&|_| "123456".into()),
        "new_pins": by_serial(&pin_of),
        "new_puks": by_serial(&puk_of),
    });
    (common, enroll)
}

fn write_secret(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, v.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The runbooks, in ceremony order.
fn books() -> Vec<String> {
    let ceremonies = Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremonies");
    let mut books: Vec<String> = std::fs::read_dir(&ceremonies)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    books.sort_by_key(|n| {
        (
            ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()),
            n.clone(),
        )
    });
    for want in ORDER {
        assert!(books.iter().any(|b| b == want), "missing runbook {want}");
    }
    books
}

/// Runs every runbook on `track` in a fresh working directory.
fn run_track(track: Track) {
    let mut tokens = match track {
        Track::Software => None,
        Track::Yubikey => match VirtualTokens::acquire() {
            Some(t) => Some(t),
            None => return,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let media = work.join("media");
    for n in CUSTODIANS {
        std::fs::create_dir_all(media.join(n)).unwrap();
    }
    let serials = tokens
        .as_ref()
        .map(VirtualTokens::serials)
        .unwrap_or_default();
    let (main, enroll) = answers(&serials);
    write_secret(&work.join("answers.json"), &main);
    write_secret(&work.join("enroll-answers.json"), &enroll);
    let bin_dir = work.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let wrapper = bin_dir.join("breakglass");
    std::fs::write(
        &wrapper,
        format!(
            "#!/usr/bin/env bash\n\
             for a in \"$@\"; do [ \"$a\" = --answers ] && exec '{bin}' \"$@\"; done\n\
             case \"$1 $2\" in\n\
               'custodian enroll') exec '{bin}' \"$@\" --answers \"$WORK/enroll-answers.json\";;\n\
               init\\ *|unseal\\ *|reseal\\ *|rekey\\ *|drill\\ *|review\\ *)\n\
                 exec '{bin}' \"$@\" --answers \"$WORK/answers.json\";;\n\
             esac\n\
             exec '{bin}' \"$@\"\n",
            bin = env!("CARGO_BIN_EXE_breakglass")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ),
        ("WORK".into(), work.display().to_string()),
        ("VAULT".into(), work.join("vault").display().to_string()),
        ("MEDIA".into(), media.display().to_string()),
        ("BREAKGLASS".into(), env!("CARGO_BIN_EXE_breakglass").into()),
    ];
    if tokens.is_some() {
        let root = work.join("test-attestation-root.der");
        std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
        env.push((
            "BREAKGLASS_TEST_ATTESTATION_ROOT".into(),
            root.display().to_string(),
        ));
        for (var, serial) in &serials {
            env.push((var.to_string(), serial.to_string()));
        }
    }

    let ceremonies = Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremonies");
    let books = books();
    let mut ran = 0;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for book in &books {
        let text = std::fs::read_to_string(ceremonies.join(book)).unwrap();
        let cmds = commands(&text, track).unwrap_or_else(|e| panic!("{book}: {e}"));
        assert!(
            !cmds.is_empty(),
            "{book} has no commands on the {track:?} track"
        );
        for cmd in cmds {
            let mut inserted = vec![];
            if let Some(t) = tokens.as_mut() {
                let want = tokens_for(&cmd).unwrap_or_else(|e| panic!("{book}: {e}"));
                t.present(&want);
                inserted = want.iter().map(|v| (*v, t.card(v).serial())).collect();
            }
            let out = Command::new("bash")
                .arg("-c")
                .arg(&cmd)
                .current_dir(work)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{track:?} track, {book}: `{cmd}` failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // Every token inserted for the line was used: touched (key
            // generation or decryption), and at enrollment its factory PIN
            // and PUK were replaced.
            let stderr = String::from_utf8_lossy(&out.stderr);
            for (var, serial) in inserted {
                let mut expect = vec![format!("touch YubiKey {serial}")];
                if cmd.starts_with("breakglass custodian enroll ") {
                    expect.push(format!("PUK of YubiKey {serial} changed"));
                    expect.push(format!("PIN of YubiKey {serial} changed"));
                }
                for e in expect {
                    assert!(
                        stderr.contains(&e),
                        "{book}: `{cmd}`: no `{e}` for {var}:\n{stderr}"
                    );
                }
            }
            ran += 1;
            if let Some((kind, _)) = MIN_KINDS
                .iter()
                .find(|(k, _)| cmd.starts_with(&format!("breakglass {k} ")))
            {
                *kinds.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!(
        "{track:?} track: ran {ran} runbook commands from {} runbooks ({kinds:?})",
        books.len()
    );
    assert!(
        ran >= MIN_COMMANDS,
        "{track:?} track ran only {ran} commands"
    );
    for (kind, min) in MIN_KINDS {
        let n = kinds.get(kind).copied().unwrap_or(0);
        assert!(
            n >= min,
            "{track:?} track ran `{kind}` {n} times, expected at least {min}"
        );
    }
    if let Some(t) = &tokens {
        // The custodians really are the virtual tokens (alice with her spare).
        for (name, vars) in [
            ("alice", &["ALICE_YUBIKEY", "ALICE_SPARE"][..]),
            ("bob", &["BOB_YUBIKEY"]),
            ("carol", &["CAROL_YUBIKEY"]),
            ("dave", &["DAVE_YUBIKEY"]),
        ] {
            let path = work.join(format!("{name}.custodian.json"));
            if name == "dave" && !path.exists() {
                continue; // dave joins only if a runbook enrolls him
            }
            let desc = std::fs::read_to_string(path).unwrap();
            for (var, serial) in t.serials() {
                assert_eq!(
                    desc.contains(&serial.to_string()),
                    vars.contains(&var),
                    "{name}'s descriptor and {var} ({serial}):\n{desc}"
                );
            }
        }
    }
}

#[test]
fn runbooks_run_with_software_custodians() {
    run_track(Track::Software);
}

#[test]
fn runbooks_run_with_virtual_yubikeys() {
    run_track(Track::Yubikey);
}

/// The install runbook's offline checks are commands the tracks execute
/// (console blocks, on both tracks), not prose: the version and commit, the
/// executable's own digest, every ceremony on a throwaway vault.
#[test]
fn install_runbook_runs_the_offline_checks() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremonies/install.md");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(books().iter().any(|b| b == "install.md"));
    for track in [Track::Software, Track::Yubikey] {
        let cmds = commands(&text, track).unwrap();
        for want in [
            "breakglass --version",
            "breakglass version",
            "breakglass demo",
        ] {
            assert!(
                cmds.iter().any(|c| c == want),
                "install.md, {track:?} track: `{want}` is not run ({cmds:?})"
            );
            assert_eq!(tokens_for(want), Ok(vec![]), "{want} touches no token");
        }
    }
}

#[test]
fn fences_select_tracks() {
    let md = "```console\n$ both\n```\n```console yubikey\n$ yk\n```\n\
              ```console software\n$ sw\n```\n```text\nnot run\n```\n";
    assert_eq!(commands(md, Track::Software).unwrap(), ["both", "sw"]);
    assert_eq!(commands(md, Track::Yubikey).unwrap(), ["both", "yk"]);
    assert!(commands("```console yubi\n$ x\n```\n", Track::Yubikey).is_err());
    assert!(commands("```text\nbreakglass unseal\n```\n", Track::Yubikey).is_err());
    assert!(commands("```console\n$ x\n", Track::Yubikey).is_err());
}

#[test]
fn token_rules() {
    let ok = |cmd: &str| tokens_for(cmd).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ok(
            r#"breakglass custodian enroll --name alice --yubikey --serial "$ALICE_YUBIKEY" --serial "$ALICE_SPARE" --descriptor "$WORK/alice.custodian.json""#
        ),
        ["ALICE_YUBIKEY", "ALICE_SPARE"]
    );
    assert_eq!(
        ok(
            r#"breakglass unseal --vault "$VAULT" --ticket T --reason "r" --custodian alice --custodian bob"#
        ),
        ["ALICE_YUBIKEY", "BOB_YUBIKEY"]
    );
    assert_eq!(
        ok(r#"breakglass drill --vault "$VAULT" --custodian alice   # the spare, from the safe"#),
        ["ALICE_SPARE"]
    );
    assert_eq!(
        ok(
            r#"breakglass rekey --vault "$VAULT" --ticket T --reason r --add "$WORK/dave.custodian.json" --remove carol --custodian alice --custodian bob"#
        ),
        ["ALICE_YUBIKEY", "BOB_YUBIKEY"]
    );
    assert_eq!(ok(r#"breakglass log verify --vault "$VAULT""#), [""; 0]);
    for bad in [
        r#"breakglass rekey --vault "$VAULT" --remove carol"#,
        r#"breakglass frobnicate --vault "$VAULT""#,
        r#"breakglass unseal --vault "$VAULT" --ticket T --reason r"#,
        r#"breakglass unseal --vault "$VAULT" --identity "$MEDIA/alice/alice.identity""#,
        r#"breakglass drill --vault "$VAULT" --custodian bob   # the spare"#,
        r#"breakglass custodian enroll --name dave --yubikey"#,
        r#"breakglass log show --vault "$VAULT" --serial "$BOB_YUBIKEY""#,
        "rm -rf /",
    ] {
        assert!(tokens_for(bad).is_err(), "{bad}");
    }
}
