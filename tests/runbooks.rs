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
//! `carol/`, `dave/`, and `usb/`, the lead's USB stick), `$BREAKGLASS` (the
//! binary); on the YubiKey track also
//! the serials `$ALICE_YUBIKEY`, `$ALICE_SPARE`, `$BOB_YUBIKEY`,
//! `$CAROL_YUBIKEY`, `$DAVE_YUBIKEY` (from the reserved test range).
//!
//! vpcd has two slots: before each YubiKey-track line, [`tokens_for`] names
//! the tokens it needs and exactly those are inserted (a laptop line's
//! tokens replace the ones the waiting ceremony's custodians in the room have
//! already used and removed, once the ceremony shows the code: not before,
//! or their cards would go while they present). A line that no rule covers
//! fails the test, so a new runbook line cannot run without its cards.
//!
//! **Remote custodians** (ceremonies/remote-unseal.md). A line whose
//! command names `--remote NAME` is the vault machine's ceremony, which waits
//! for the remote custodians' responses: the runner starts it in the
//! background (its output collected, stdin closed, as for every line) and
//! goes on. Each later line ending in `# on NAME's laptop` is typed by NAME on
//! their own machine; for it the runner plays the phone and the e-mail:
//!
//! 1. it waits until the ceremony shows `Read this code aloud to NAME: …`
//!    (the ceremony failing first fails the test) and takes the code from
//!    that line;
//! 2. it "e-mails" the text block of the request the ceremony wrote (the one
//!    new `NAME-SEQ.bgrequest.txt` under `$WORK`, wherever `--remote-dir`
//!    put it) into NAME's laptop, `$WORK/laptops/NAME/`, which is the line's
//!    working directory; `$REQUEST` names that file, and `$VAULT` is unset
//!    (the laptop has no vault);
//! 3. the wrapper gives `respond` `--answers "$WORK/respond-answers.json"`,
//!    written just before: the PINs or passphrases, the code as heard
//!    (`respond.code`, the one read from the ceremony's output) and the vault
//!    fingerprint of the paper card (`respond.fingerprint`: the last one a
//!    ceremony printed for the custodians to write down);
//! 4. after the line, it "e-mails" the response's text block
//!    (`NAME-SEQ.bgresponse.txt`, quoted with `> ` as a reply quotes it) to
//!    `$WORK/inbox/NAME.bgresponse.txt`, the path `answers.json` gives the
//!    ceremony's prompt `remote.NAME.response` (written whole, by rename).
//!
//! When the last remote custodian named has responded, the runner waits for
//! the ceremony to end: it must exit 0, and the log (`log show --json`) must
//! hold a `share-accepted` entry with `remote: true` for each of them and, for
//! an unseal, a quorum-signed `unseal-granted` of that request naming exactly
//! them as `remote`. A line on a laptop without a ceremony waiting for that
//! custodian, another line while one waits, or a runbook ending with one
//! waiting fails the test. The inbox is emptied after each ceremony.
//!
//! Runbook order: setup, emergency unseal, reseal, then the others
//! alphabetically (install.md among them: its offline checks, `--version`,
//! `version` and `demo`, touch no vault of the others). Without pcscd or vsmartcard-vpcd the YubiKey track is
//! skipped with a message, except when `BREAKGLASS_REQUIRE_INTEROP` is set
//! (scripts/test-all, CI): then it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
const MIN_KINDS: [(&str, usize); 7] = [
    ("custodian enroll", 3),
    ("init", 1),
    ("unseal", 2),
    ("reseal", 2),
    ("rekey", 1),
    ("drill", 4),
    ("respond", 3),
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

/// The custodian on whose laptop a line runs: its trailing comment says
/// `on NAME's laptop`.
fn laptop_of(cmd: &str) -> Option<&str> {
    let (_, comment) = cmd.split_once(" # ")?;
    let rest = comment.trim().strip_prefix("on ")?;
    let (name, tail) = rest.split_once("'s laptop")?;
    (tail.trim().is_empty() && CUSTODIANS.contains(&name)).then_some(name)
}

/// The names a ceremony line asks with `--remote NAME`, in order.
fn remote_names(cmd: &str) -> Vec<String> {
    let (line, _) = cmd.split_once(" # ").unwrap_or((cmd, ""));
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "--remote")
        .map(|w| w[1].trim_matches('"').to_owned())
        .collect()
}

/// The tokens (by serial variable, in slot order) a YubiKey-track line needs
/// inserted:
/// - commands in [`NO_TOKEN`]: none;
/// - `custodian enroll --yubikey`: the tokens whose serial variables the line names;
/// - commands in [`PRESENTING`]: the token of each `--custodian NAME`
///   (`$NAME_YUBIKEY`), or their spares (`$NAME_SPARE`) when a trailing
///   comment says `spare`, except those the line also names `--remote`
///   (their tokens are on their laptops); none when every presenting
///   custodian is remote;
/// - `respond` on NAME's laptop (trailing comment `on NAME's laptop`):
///   NAME's token.
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
    let remote = !remote_names(cmd).is_empty();
    let want: Vec<&'static str> =
        if line.starts_with("breakglass custodian enroll ") && words.contains(&"--yubikey") {
            named
        } else if line.starts_with("breakglass respond ") {
            let name = laptop_of(cmd).ok_or_else(|| {
                format!("`{cmd}`: say on whose machine it runs (`# on NAME's laptop`)")
            })?;
            let var = format!("{}_YUBIKEY", name.to_uppercase());
            vec![TOKENS
                .iter()
                .map(|(v, _)| *v)
                .find(|v| *v == var)
                .ok_or_else(|| format!("`{cmd}`: the YubiKey track has no token {var}"))?]
        } else if PRESENTING.iter().any(|p| line.starts_with(p)) {
            let which = if comment.contains("spare") {
                "SPARE"
            } else {
                "YUBIKEY"
            };
            let remotes = remote_names(cmd);
            words
                .windows(2)
                .filter(|w| w[0] == "--custodian")
                .filter(|w| !remotes.iter().any(|r| r == w[1].trim_matches('"')))
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
        0 if remote => Ok(want),
        0 => Err(format!(
            "`{cmd}` needs tokens but names none (--serial \"$NAME_YUBIKEY\" or --custodian NAME)"
        )),
        1 | 2 => Ok(want),
        _ => Err(format!(
            "`{cmd}` needs more tokens than the two vpcd slots hold"
        )),
    }
}

/// Counts `cmd` under its subcommand if [`MIN_KINDS`] names it.
fn count_kind(kinds: &mut BTreeMap<&'static str, usize>, cmd: &str) {
    if let Some((kind, _)) = MIN_KINDS
        .iter()
        .find(|(k, _)| cmd.starts_with(&format!("breakglass {k} ")))
    {
        *kinds.entry(kind).or_default() += 1;
    }
}

/// Every token inserted for the line was used: touched (key generation,
/// decryption or signing), and at enrollment its factory PIN and PUK were
/// replaced.
fn check_tokens_used(book: &str, cmd: &str, inserted: &[(&str, u32)], stderr: &str) {
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
}

/// The vault fingerprint a ceremony printed for the custodians' paper cards.
fn written_down_fingerprint(output: &str) -> Option<String> {
    output
        .lines()
        .filter(|l| l.contains("every custodian writes this down"))
        .filter_map(|l| l.split_once("fingerprint:"))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_owned)
        .next_back()
}

/// The code a ceremony's output shows for `name` (the `n`th time, from 0),
/// as the lead reads it aloud.
fn code_shown(output: &str, name: &str, n: usize) -> Option<String> {
    let cue = format!("Read this code aloud to {name}: ");
    output
        .match_indices(&cue)
        .nth(n)
        .map(|(i, _)| &output[i + cue.len()..])
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect::<String>()
        })
        .filter(|code| code.len() == 14)
}

/// The files under `dir` (not under `$WORK/laptops` or `$WORK/inbox`) whose
/// name is `NAME-SEQ.bgrequest.txt`.
fn request_blocks(dir: &Path, name: &str, out: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let file = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if file != "laptops" && file != "inbox" {
                request_blocks(&path, name, out);
            }
        } else if file
            .strip_prefix(&format!("{name}-"))
            .and_then(|f| f.strip_suffix(".bgrequest.txt"))
            .is_some_and(|seq| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()))
        {
            out.insert(path);
        }
    }
}

/// A text block as it arrives in a reply that quotes it.
fn quoted_in_a_reply(block: &str, from: &str) -> String {
    let mut out = format!("On the phone just now, {from} wrote:\n");
    for line in block.lines() {
        out.push_str("> ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A vault-machine ceremony with `--remote`, running in the background.
struct Waiting {
    cmd: String,
    child: std::process::Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// All the remote custodians it names, and those still to respond.
    names: Vec<String>,
    remotes: Vec<String>,
    /// The request seq (from the request file names).
    seq: Option<u64>,
    inserted: Vec<(&'static str, u32)>,
    /// Request blocks that existed before it started, per remote custodian.
    before: BTreeMap<String, BTreeSet<PathBuf>>,
}

/// How long the runner waits for a ceremony to show a code, or to end.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(600);

impl Waiting {
    fn start(
        mut command: Command,
        cmd: &str,
        remotes: Vec<String>,
        inserted: Vec<(&'static str, u32)>,
        work: &Path,
    ) -> Waiting {
        let before = remotes
            .iter()
            .map(|n| {
                let mut found = BTreeSet::new();
                request_blocks(work, n, &mut found);
                (n.clone(), found)
            })
            .collect();
        let _ = std::fs::remove_dir_all(work.join("inbox"));
        std::fs::create_dir_all(work.join("inbox")).unwrap();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut readers = vec![];
        let mut collect = |from: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let to = Arc::clone(&buf);
            readers.push(std::thread::spawn(move || {
                let mut from = from;
                let mut chunk = [0u8; 4096];
                while let Ok(n) = from.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    to.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            }));
            buf
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Waiting {
            cmd: cmd.to_owned(),
            child,
            stdout,
            stderr,
            readers,
            names: remotes.clone(),
            remotes,
            seq: None,
            inserted,
            before,
        }
    }

    fn output(&self) -> (String, String) {
        (
            String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned(),
        )
    }

    /// Waits until the ceremony shows the code for `name`.
    fn code_for(&mut self, name: &str, book: &str) -> String {
        let since = Instant::now();
        loop {
            let (out, err) = self.output();
            if let Some(code) = code_shown(&format!("{out}\n{err}"), name, 0) {
                return code;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                for r in self.readers.drain(..) {
                    r.join().unwrap();
                }
                let (out, err) = self.output();
                panic!(
                    "{book}: `{}` ended ({status}) without showing a code for {name}:\n{out}\n{err}",
                    self.cmd
                );
            }
            if since.elapsed() > REMOTE_TIMEOUT {
                let _ = self.child.kill();
                panic!(
                    "{book}: `{}` showed no code for {name} in {REMOTE_TIMEOUT:?}:\n{out}\n{err}",
                    self.cmd
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `cmd` on `name`'s laptop, playing the phone call and the e-mail
    /// both ways; returns its output.
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &mut self,
        cmd: &str,
        name: &str,
        paper_card: &str,
        answers: &serde_json::Value,
        work: &Path,
        env: &[(String, String)],
        book: &str,
    ) -> (String, String) {
        let code = self.code_for(name, book);
        // The request the ceremony wrote for this custodian.
        let mut now = BTreeSet::new();
        request_blocks(work, name, &mut now);
        let new: Vec<PathBuf> = now.difference(&self.before[name]).cloned().collect();
        let [request] = &new[..] else {
            panic!(
                "{book}: `{}` showed the code for {name} but wrote {} new {name}-SEQ.bgrequest.txt files: {new:?}",
                self.cmd,
                new.len()
            );
        };
        let file = request.file_name().unwrap().to_string_lossy().into_owned();
        let seq: u64 = file[name.len() + 1..file.len() - ".bgrequest.txt".len()]
            .parse()
            .unwrap();
        assert!(
            self.seq.is_none_or(|s| s == seq),
            "{book}: `{}`: requests of one ceremony name seqs {:?} and {seq}",
            self.cmd,
            self.seq
        );
        self.seq = Some(seq);
        // The e-mail: the text block arrives on the laptop.
        let laptop = work.join("laptops").join(name);
        std::fs::create_dir_all(&laptop).unwrap();
        std::fs::copy(request, laptop.join(&file)).unwrap();
        // The phone call: the code as heard; the paper card.
        let mut heard = answers.clone();
        heard["text"]["respond.code"] = code.clone().into();
        heard["text"]["respond.fingerprint"] = paper_card.into();
        write_secret(&work.join("respond-answers.json"), &heard);
        let out = Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .current_dir(&laptop)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("REQUEST", &file)
            .env_remove("VAULT")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "{book}: `{cmd}` on {name}'s laptop (code {code}) failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        // The reply: the response's text block, quoted, to the inbox the
        // ceremony's answer names.
        let response = laptop.join(format!("{name}-{seq}.bgresponse.txt"));
        let block = std::fs::read_to_string(&response)
            .unwrap_or_else(|e| panic!("{book}: `{cmd}` wrote no {}: {e}", response.display()));
        let inbox = work.join("inbox");
        let partial = inbox.join(format!(".{name}.partial"));
        std::fs::write(&partial, quoted_in_a_reply(&block, name)).unwrap();
        std::fs::rename(&partial, inbox.join(format!("{name}.bgresponse.txt"))).unwrap();
        (stdout, stderr)
    }

    /// Waits for the ceremony to end; it must have succeeded, and the log
    /// must show every remote share accepted and, for an unseal, the grant.
    fn finish(mut self, work: &Path, book: &str, track: Track) {
        let since = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if since.elapsed() > REMOTE_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let (out, err) = self.output();
                panic!(
                    "{book}: `{}` did not end in {REMOTE_TIMEOUT:?} after the last response:\n{out}\n{err}",
                    self.cmd
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let (out, err) = self.output();
        assert!(
            status.success(),
            "{track:?} track, {book}: `{}` failed ({status}):\n{out}\n{err}",
            self.cmd
        );
        check_tokens_used(book, &self.cmd, &self.inserted, &err);
        let seq = self.seq.expect("a request seq");
        let shown = Command::new(env!("CARGO_BIN_EXE_breakglass"))
            .args(["log", "show", "--json", "--vault"])
            .arg(work.join("vault"))
            .output()
            .unwrap();
        assert!(shown.status.success(), "log show --json failed");
        let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&shown.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let of_request: Vec<&serde_json::Value> = entries
            .iter()
            .filter(|e| e["data"]["request"] == seq)
            .collect();
        for name in &self.names {
            assert!(
                of_request.iter().any(|e| e["event"] == "share-accepted"
                    && e["data"]["custodian"] == name.as_str()
                    && e["data"]["remote"] == true),
                "{book}: `{}`: no remote share-accepted of {name} for request {seq}:\n{of_request:#?}",
                self.cmd
            );
        }
        if self.cmd.starts_with("breakglass unseal ") {
            assert!(
                of_request.iter().any(|e| e["event"] == "unseal-granted"
                    && e["auth"] == "quorum"
                    && e["data"]["remote"] == serde_json::json!(self.names)),
                "{book}: `{}` did not end granted (no quorum-signed unseal-granted of request {seq} with remote {:?}):\n{of_request:#?}",
                self.cmd,
                self.names
            );
        }
        let _ = std::fs::remove_dir_all(work.join("inbox"));
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

/// (answers.json, enroll-answers.json) of a track; `work` is the track's
/// working directory (remote responses arrive in its `inbox/`).
fn answers(serials: &[(&'static str, u32)], work: &Path) -> (serde_json::Value, serde_json::Value) {
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
    for n in CUSTODIANS {
        common["text"][format!("remote.{n}.response")] = work
            .join("inbox")
            .join(format!("{n}.bgresponse.txt"))
            .display()
            .to_string()
            .into();
    }
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
    for n in CUSTODIANS.iter().chain(&["usb"]) {
        std::fs::create_dir_all(media.join(n)).unwrap();
    }
    let serials = tokens
        .as_ref()
        .map(VirtualTokens::serials)
        .unwrap_or_default();
    let (main, enroll) = answers(&serials, work);
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
               respond\\ *) exec '{bin}' \"$@\" --answers \"$WORK/respond-answers.json\";;\n\
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
    // The vault fingerprint on the custodians' paper cards: the last one a
    // ceremony printed for them to write down.
    let mut paper_card: Option<String> = None;
    let mut remote_granted = 0;
    for book in &books {
        let text = std::fs::read_to_string(ceremonies.join(book)).unwrap();
        let cmds = commands(&text, track).unwrap_or_else(|e| panic!("{book}: {e}"));
        assert!(
            !cmds.is_empty(),
            "{book} has no commands on the {track:?} track"
        );
        let mut waiting: Option<Waiting> = None;
        for cmd in cmds {
            if let Some(name) = laptop_of(&cmd) {
                let w = waiting.as_mut().unwrap_or_else(|| {
                    panic!(
                        "{book}: `{cmd}` runs on {name}'s laptop, but no ceremony waits for {name}"
                    )
                });
                assert_eq!(
                    w.remotes.first().map(String::as_str),
                    Some(name),
                    "{book}: `{cmd}`: the ceremony `{}` waits for {:?} next",
                    w.cmd,
                    w.remotes.first()
                );
                // The custodians in the room have presented (and removed
                // their tokens) when the code is shown: only then do the
                // laptop's tokens take the slots.
                w.code_for(name, book);
            }
            let mut inserted = vec![];
            if let Some(t) = tokens.as_mut() {
                let want = tokens_for(&cmd).unwrap_or_else(|e| panic!("{book}: {e}"));
                t.present(&want);
                inserted = want.iter().map(|v| (*v, t.card(v).serial())).collect();
            }
            let remotes = remote_names(&cmd);
            let (stdout, stderr) = if let Some(name) = laptop_of(&cmd) {
                let w = waiting.as_mut().expect("checked above");
                let card = paper_card.clone().unwrap_or_else(|| {
                    panic!("{book}: `{cmd}`: no ceremony printed a vault fingerprint to write down")
                });
                let out = w.respond(&cmd, name, &card, &main, work, &env, book);
                w.remotes.remove(0);
                if w.remotes.is_empty() {
                    waiting.take().unwrap().finish(work, book, track);
                    remote_granted += 1;
                }
                out
            } else {
                if let Some(w) = &waiting {
                    panic!(
                        "{book}: `{cmd}` comes while `{}` still waits for {:?} (a line `# on NAME's laptop` for each)",
                        w.cmd, w.remotes
                    );
                }
                let mut command = Command::new("bash");
                command
                    .arg("-c")
                    .arg(&cmd)
                    .current_dir(work)
                    .envs(env.iter().map(|(k, v)| (k, v)));
                if !remotes.is_empty() {
                    waiting = Some(Waiting::start(
                        command,
                        &cmd,
                        remotes.clone(),
                        inserted,
                        work,
                    ));
                    ran += 1;
                    count_kind(&mut kinds, &cmd);
                    continue;
                }
                let out = command.output().unwrap();
                assert!(
                    out.status.success(),
                    "{track:?} track, {book}: `{cmd}` failed ({}):\n{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                (
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            if let Some(fp) = written_down_fingerprint(&format!("{stdout}\n{stderr}")) {
                paper_card = Some(fp);
            }
            check_tokens_used(book, &cmd, &inserted, &stderr);
            ran += 1;
            count_kind(&mut kinds, &cmd);
        }
        if let Some(w) = waiting {
            panic!(
                "{book}: the runbook ends while `{}` still waits for {:?}",
                w.cmd, w.remotes
            );
        }
    }
    if books.iter().any(|b| b == "remote-unseal.md") {
        assert!(
            remote_granted >= 2,
            "{track:?} track: only {remote_granted} remote ceremonies ran to the end"
        );
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

#[test]
fn remote_conventions() {
    assert_eq!(
        laptop_of(r#"breakglass respond "$REQUEST"   # on bob's laptop"#),
        Some("bob")
    );
    assert_eq!(laptop_of(r#"breakglass respond "$REQUEST""#), None);
    assert_eq!(
        laptop_of("breakglass respond x # on mallory's laptop"),
        None
    );
    assert_eq!(
        remote_names(
            r#"breakglass unseal --vault "$VAULT" --remote bob --remote-dir "$MEDIA/usb" --remote "dave""#
        ),
        ["bob", "dave"]
    );
    let ok = |cmd: &str| tokens_for(cmd).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ok(r#"breakglass respond "$REQUEST"   # on bob's laptop"#),
        ["BOB_YUBIKEY"]
    );
    assert_eq!(
        ok(
            r#"breakglass unseal --vault "$VAULT" --ticket T --reason r --custodian alice --remote bob"#
        ),
        ["ALICE_YUBIKEY"]
    );
    assert_eq!(
        ok(
            r#"breakglass unseal --vault "$VAULT" --ticket T --reason r --custodian alice --custodian bob --remote bob"#
        ),
        ["ALICE_YUBIKEY"]
    );
    assert_eq!(
        ok(
            r#"breakglass unseal --vault "$VAULT" --ticket T --reason r --remote bob --remote dave"#
        ),
        [""; 0]
    );
    assert_eq!(
        ok(
            r#"breakglass unseal --vault "$VAULT" --ticket T --reason r --custodian bob --custodian dave --remote bob --remote dave"#
        ),
        [""; 0]
    );
    assert!(tokens_for(r#"breakglass respond "$REQUEST""#).is_err());
    let shown = "     Read this code aloud to bob: 0123-4567-8901\n";
    assert_eq!(
        code_shown(shown, "bob", 0).as_deref(),
        Some("0123-4567-8901")
    );
    assert_eq!(code_shown(shown, "dave", 0), None);
    assert_eq!(
        written_down_fingerprint("fingerprint:  ab12-cd34   <- every custodian writes this down\n")
            .as_deref(),
        Some("ab12-cd34")
    );
}
