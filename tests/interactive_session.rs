//! The interactive unseal session under a real pseudo-terminal.
//!
//! Interactive mode is chosen only when stdout is a terminal and no answers
//! file is given, and passphrases are then read from the controlling terminal
//! (`/dev/tty`). These tests run the real binary on a pty that is its
//! controlling terminal and drive it like custodians: type passphrases at the
//! prompts, watch the entries, press Enter or Ctrl-C or let the time run out,
//! reveal a TOTP seed. They check what the issue "time-limited sessions" asks:
//! the session ends by itself or on the custodians' command, the screen is
//! cleared, the terminal is left usable (echo on), and the end is logged with
//! its real duration; and that hidden input is never echoed.
//!
//! Timeouts are generous (30 s per wait) and nothing asserts wall-clock speed.
//! `PTY_DEBUG=1 cargo test --test interactive_session -- --nocapture` prints
//! each run's terminal output.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::termios::LocalModes;
use serde_json::Value;

use common::{Fixture, PASSWORD, TOTP_SEED};

/// How long any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);
/// What the session loop writes to clear the screen: cursor home, erase the
/// screen, then erase the scrollback (in this order: a terminal that saves a
/// cleared screen into its history, as tmux does, has that copy erased too).
const CLEAR: &str = "\x1b[H\x1b[2J\x1b[3J";
/// The session is drawn on the alternate screen, left when it ends.
const LEAVE_ALTERNATE: &str = "\x1b[?1049l";
/// The note entry's text in the fixture.
const NOTE: &str = "code-one code-two";

/// A child process whose stdin, stdout, stderr and controlling terminal are
/// the slave side of a fresh pseudo-terminal; the master side is read on a
/// thread into a shared buffer.
struct Pty {
    master: std::fs::File,
    /// A slave descriptor kept open by the test, so the terminal settings
    /// the child leaves behind can be read after it exits. Dropping it (after
    /// the child is gone) makes the reader see the end of the output.
    slave: Option<OwnedFd>,
    out: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    child: Child,
    started: Instant,
}

impl Pty {
    fn spawn(args: &[&str]) -> Pty {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .expect("open the pty slave");
        rustix::termios::tcsetwinsize(
            &slave,
            rustix::termios::Winsize {
                ws_row: 60,
                ws_col: 120,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .expect("set the window size");
        let io = || Stdio::from(slave.try_clone().expect("dup the pty slave"));
        let mut cmd = Command::new(common::bin());
        cmd.args(args)
            .stdin(io())
            .stdout(io())
            .stderr(io())
            .env_remove("BREAKGLASS_TEST_NOW") // a frozen clock would never expire
            .env("TERM", "xterm");
        // SAFETY: between fork and exec only the two system calls below run
        // (rustix issues them directly: no allocation, no locks).
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                // A new session whose controlling terminal is the pty (stdin
                // is already the slave here), so /dev/tty is the pty.
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(0))?;
                Ok(())
            });
        }
        let started = Instant::now();
        let child = cmd.spawn().expect("spawn breakglass on the pty");
        let master = std::fs::File::from(master);
        let out = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let mut m = master.try_clone().expect("dup the pty master");
            let (out, done) = (out.clone(), done.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match m.read(&mut buf) {
                        // EIO: every slave descriptor is closed.
                        Ok(0) | Err(_) => break,
                        Ok(n) => out.lock().unwrap().extend_from_slice(&buf[..n]),
                    }
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        Pty {
            master,
            slave: Some(slave),
            out,
            done,
            reader: Some(reader),
            child,
            started,
        }
    }

    /// Everything the child wrote to the terminal so far (and the echo).
    fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what} (after {:?}); terminal output so far:\n{}",
            self.started.elapsed(),
            self.output().escape_debug()
        )
    }

    /// Waits until `ok` holds for the output; fails after [`WAIT`].
    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + WAIT;
        loop {
            let text = self.output();
            if ok(&text) {
                return text;
            }
            if Instant::now() > until {
                self.fail(&format!("timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the output contains `needle`.
    fn wait_for(&self, needle: &str) -> String {
        self.wait_until(&format!("{needle:?}"), |t| t.contains(needle))
    }

    /// The terminal's local modes (the master reports the slave's settings).
    fn local_modes(&self) -> LocalModes {
        rustix::termios::tcgetattr(self.master.as_fd())
            .expect("tcgetattr")
            .local_modes
    }

    /// Types `text` at the terminal.
    fn type_text(&self, text: &str) {
        (&self.master)
            .write_all(text.as_bytes())
            .expect("write to the pty");
    }

    /// Waits for a hidden prompt and for the program to switch echo off.
    fn wait_hidden_prompt(&self, prompt: &str) {
        self.wait_for(prompt);
        let until = Instant::now() + WAIT;
        while self.local_modes().contains(LocalModes::ECHO) {
            if Instant::now() > until {
                self.fail(&format!("echo is still on at the prompt {prompt:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Answers a hidden prompt: the secret, then Enter.
    fn type_secret(&self, prompt: &str, secret: &str) {
        self.wait_hidden_prompt(prompt);
        self.type_text(secret);
        self.type_text("\r");
    }

    /// Waits for the child to exit; then returns its status, the terminal's
    /// local modes it left behind, and the complete output.
    fn finish(mut self) -> (ExitStatus, LocalModes, String) {
        let until = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > until {
                self.fail("timed out waiting for breakglass to exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let modes = self.local_modes();
        // Last slave descriptor closed: the reader drains the rest and stops.
        drop(self.slave.take());
        let until = Instant::now() + WAIT;
        while !self.done.load(Ordering::SeqCst) {
            if Instant::now() > until {
                self.fail("timed out reading the rest of the output");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(r) = self.reader.take() {
            r.join().expect("reader thread");
        }
        if std::env::var_os("PTY_DEBUG").is_some() {
            eprintln!("{}", self.output().escape_debug());
        }
        (status, modes, self.output())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A failed test must not leave the binary running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `unseal` arguments for an interactive run by alice and bob.
fn unseal_args(f: &Fixture, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "unseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "INC-77",
        "--reason",
        "pty test outage",
        "--identity",
        &f.identity("alice"),
        "--identity",
        &f.identity("bob"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn spawn_unseal(f: &Fixture, extra: &[&str]) -> Pty {
    let args = unseal_args(f, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Pty::spawn(&args)
}

/// Alice and Bob type their passphrases at the prompts (Alice mistypes the
/// last letter and corrects it with Backspace).
fn present_quorum(pty: &Pty) {
    let alice = common::passphrase("alice");
    let typo = format!(
        "{}x\x7f{}",
        &alice[..alice.len() - 1],
        &alice[alice.len() - 1..]
    );
    pty.type_secret("alice, type your passphrase: ", &typo);
    pty.type_secret("bob, type your passphrase: ", &common::passphrase("bob"));
}

/// One rendered TOTP line: `code      NNNNNN   (S s left; next NNNNNN)`.
#[derive(Debug, Clone, PartialEq)]
struct CodeLine {
    current: String,
    seconds_left: u32,
    next: String,
}

/// Every TOTP code line in `text`, in order.
fn code_lines(text: &str) -> Vec<CodeLine> {
    let six = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
    text.split("code      ")
        .skip(1)
        .filter_map(|rest| {
            let current = rest.get(..6)?;
            let rest = rest.get(6..)?.strip_prefix("   (")?;
            let (secs, rest) = rest.split_once(" s left; next ")?;
            let next = rest.get(..6)?;
            rest.get(6..)?.starts_with(')').then_some(())?;
            let seconds_left = secs.parse().ok()?;
            (six(current) && six(next)).then(|| CodeLine {
                current: current.to_owned(),
                seconds_left,
                next: next.to_owned(),
            })
        })
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The codes of the fixture's TOTP seed for every step between `from` and `to`
/// (plus one step either side).
fn valid_codes(from: u64, to: u64) -> Vec<String> {
    let seed = breakglass::totp::TotpSeed::parse(TOTP_SEED).unwrap();
    let mut t = from.saturating_sub(30);
    let mut out = Vec::new();
    while t <= to + 60 {
        out.push(seed.code_at(t).unwrap());
        t += 30;
    }
    out
}

/// The session screens in `text`: what follows each clear-screen.
fn screens(text: &str) -> Vec<&str> {
    text.split(CLEAR).skip(1).collect()
}

/// The `ends in M:SS` countdown of each session screen.
fn countdowns(text: &str) -> Vec<u64> {
    screens(text)
        .iter()
        .filter_map(|s| {
            let rest = s.split_once(" · ends in ")?.1;
            let (m, rest) = rest.split_once(':')?;
            let sec = rest.get(..2)?;
            Some(m.parse::<u64>().ok()? * 60 + sec.parse::<u64>().ok()?)
        })
        .collect()
}

fn log_entries(f: &Fixture) -> Vec<Value> {
    f.log_lines()
        .iter()
        .map(|l| serde_json::from_str(l).expect("log line is JSON"))
        .collect()
}

/// The log after one interactive unseal: request, two accepted shares, the
/// grant, optional extra quorum entries, and finally `session-ended` for that
/// grant. Returns (the grant entry, the entries after it).
fn unseal_log(f: &Fixture) -> (Value, Vec<Value>) {
    let entries = log_entries(f);
    let g = entries
        .iter()
        .rposition(|e| e["event"] == "unseal-granted")
        .expect("an unseal-granted entry");
    let granted = entries[g].clone();
    assert_eq!(granted["data"]["ticket"], "INC-77");
    assert_eq!(
        granted["data"]["custodians"],
        serde_json::json!(["alice", "bob"])
    );
    let before: Vec<&str> = entries[g - 3..g]
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        before,
        ["unseal-requested", "share-accepted", "share-accepted"]
    );
    let after = entries[g + 1..].to_vec();
    let last = after.last().expect("an entry after the grant");
    assert_eq!(last["event"], "session-ended", "{last}");
    assert_eq!(last["data"]["grant"], granted["seq"], "{last}");
    assert_eq!(
        last["sig"]["by"], "quorum",
        "session-ended is a quorum entry: {last}"
    );
    (granted, after)
}

fn assert_log_verifies(f: &Fixture) {
    let r = f.verify_log();
    assert_eq!(r.code, 0, "log verify: {}{}", r.stdout, r.stderr);
}

/// No secret other than the shown entries ever reaches the terminal: no
/// passphrase (hidden input is not echoed) and no TOTP seed.
fn assert_no_hidden_secret(out: &str) {
    for name in ["alice", "bob"] {
        assert!(
            !out.contains(&common::passphrase(name)),
            "{name}'s passphrase was echoed:\n{}",
            out.escape_debug()
        );
    }
    assert!(!out.contains("passphrase of"), "{}", out.escape_debug());
    assert!(
        !out.contains(TOTP_SEED) && !out.contains("otpauth://"),
        "the TOTP seed was shown without --reveal-seed:\n{}",
        out.escape_debug()
    );
}

/// The session ended cleanly: the last secret was followed by a clear-screen,
/// and what stays on the terminal afterwards holds no secret.
fn assert_cleared_after_secrets(out: &str, how: &str) {
    let last_secret = out.rfind(PASSWORD).expect("the password was shown");
    let last_clear = out.rfind(CLEAR).expect("a clear-screen sequence");
    assert!(
        last_clear > last_secret,
        "the screen was not cleared after the entries:\n{}",
        out.escape_debug()
    );
    let remains = &out[last_clear + CLEAR.len()..];
    assert!(
        remains.starts_with(LEAVE_ALTERNATE),
        "the session does not leave the alternate screen after the final clear: {remains:?}"
    );
    for secret in [PASSWORD, NOTE, "code      ", TOTP_SEED] {
        assert!(
            !remains.contains(secret),
            "{secret:?} stays on the terminal after the session: {:?}",
            remains
        );
    }
    assert!(
        remains.contains(&format!(
            "session ended ({how}); secrets wiped from memory; log entry"
        )),
        "{remains:?}"
    );
}

/// Echo, line editing and signals are back on when the program exits.
fn assert_terminal_restored(modes: LocalModes) {
    for (flag, name) in [
        (LocalModes::ECHO, "ECHO"),
        (LocalModes::ICANON, "ICANON"),
        (LocalModes::ISIG, "ISIG"),
    ] {
        assert!(
            modes.contains(flag),
            "the terminal was left without {name}: {modes:?}"
        );
    }
}

/// The custodians read the entries and press Enter: the session ends at once,
/// the screen is cleared and the end is logged as `closed` with its duration.
#[test]
fn custodians_close_the_session_with_enter() {
    let f = Fixture::new(3, 2);
    let t0 = unix_now();
    let pty = spawn_unseal(&f, &["--session", "10m"]);
    present_quorum(&pty);
    // The entries, then one more redraw a second later (the countdown ticks).
    let shown = pty.wait_until("the entries, drawn twice", |t| {
        screens(t)
            .iter()
            .filter(|s| s.contains(PASSWORD) && !code_lines(s).is_empty() && s.contains(NOTE))
            .count()
            >= 2
    });
    let screen = screens(&shown)[0];
    assert!(
        screen.contains("press Enter to close"),
        "the screen says how to end the session: {screen:?}"
    );
    assert!(screen.contains("ticket INC-77"), "{screen:?}");
    let codes = code_lines(&shown);
    let valid = valid_codes(t0, unix_now());
    for c in &codes {
        assert!(
            valid.contains(&c.current),
            "{c:?} is not a code of the seed"
        );
        assert!(valid.contains(&c.next), "{c:?}");
        assert!((1..=30).contains(&c.seconds_left), "{c:?}");
    }
    let left = countdowns(&shown);
    assert!(
        left.iter().all(|&s| s > 0 && s <= 600),
        "countdown of a 10 min session: {left:?}"
    );
    pty.type_text("\r");
    let (status, modes, out) = pty.finish();
    let elapsed = unix_now() - t0;

    assert_eq!(status.code(), Some(0), "{}", out.escape_debug());
    assert_no_hidden_secret(&out);
    assert_cleared_after_secrets(&out, "closed");
    assert_terminal_restored(modes);

    let (_, after) = unseal_log(&f);
    assert_eq!(after.len(), 1, "{after:?}");
    let end = &after[0]["data"];
    assert_eq!(end["how"], "closed", "{end}");
    let d = end["duration_s"].as_u64().expect("duration_s");
    // At least one redraw (1 s) was seen before Enter; at most the whole run.
    assert!(
        d >= 1 && d <= elapsed + 1 && d < 600,
        "duration {d} s (run took about {elapsed} s)"
    );
    assert_log_verifies(&f);
}

/// The shortest session the CLI accepts ends by itself: nobody presses a key.
#[test]
fn shortest_session_expires_by_itself() {
    let f = Fixture::new(3, 2);
    // 0 s is refused before anything is asked or logged.
    let before = f.log_lines().len();
    let args = unseal_args(&f, &["--session", "0s"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = common::run(&args, "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("between 1 s"), "{}", r.stderr);
    assert_eq!(f.log_lines().len(), before);

    let t0 = unix_now();
    let pty = spawn_unseal(&f, &["--session", "1s"]);
    present_quorum(&pty);
    let (status, modes, out) = pty.finish();
    let elapsed = unix_now() - t0;

    assert_eq!(status.code(), Some(0), "{}", out.escape_debug());
    assert!(out.contains(PASSWORD), "the entries were shown");
    assert!(!code_lines(&out).is_empty(), "{}", out.escape_debug());
    assert_eq!(
        countdowns(&out).last(),
        Some(&0),
        "the last screen shows no time left"
    );
    assert_no_hidden_secret(&out);
    assert_cleared_after_secrets(&out, "expired");
    assert_terminal_restored(modes);

    let (_, after) = unseal_log(&f);
    assert_eq!(after.len(), 1, "{after:?}");
    let end = &after[0]["data"];
    assert_eq!(end["how"], "expired", "{end}");
    let d = end["duration_s"].as_u64().expect("duration_s");
    assert!(
        d >= 1 && d <= elapsed + 1,
        "duration {d} s of a 1 s session"
    );
    assert_log_verifies(&f);
}

/// While the session is open the screen is redrawn every second: the
/// countdown goes down to 0:00 and every screen carries the entries and a
/// fresh TOTP code line, never the seed.
#[test]
fn open_session_redraws_every_second() {
    let f = Fixture::new(3, 2);
    let t0 = unix_now();
    let pty = spawn_unseal(&f, &["--session", "6s"]);
    present_quorum(&pty);
    let (status, modes, out) = pty.finish();
    assert_eq!(status.code(), Some(0), "{}", out.escape_debug());
    assert_terminal_restored(modes);
    assert_no_hidden_secret(&out);

    let all = screens(&out);
    let (session_screens, last) = all.split_at(all.len() - 1);
    assert!(last[0].contains("session ended (expired)"), "{:?}", last[0]);
    assert!(
        session_screens.len() >= 2,
        "a 6 s session is drawn more than once: {}",
        out.escape_debug()
    );
    let valid = valid_codes(t0, unix_now());
    for s in session_screens {
        assert!(s.contains(PASSWORD) && s.contains(NOTE), "{s:?}");
        let codes = code_lines(s);
        assert_eq!(codes.len(), 1, "one TOTP code line per screen: {s:?}");
        assert!(valid.contains(&codes[0].current), "{codes:?}");
    }
    let left = countdowns(&out);
    assert_eq!(left.len(), session_screens.len(), "{left:?}");
    assert!(left[0] <= 6, "{left:?}");
    assert!(
        left.windows(2).all(|w| w[1] <= w[0]),
        "the countdown never goes up: {left:?}"
    );
    assert!(left[0] > *left.last().unwrap(), "{left:?}");
    assert_eq!(left.last(), Some(&0), "{left:?}");
    assert_cleared_after_secrets(&out, "expired");
    let (_, after) = unseal_log(&f);
    assert_eq!(after[0]["data"]["how"], "expired");
    assert!(after[0]["data"]["duration_s"].as_u64().unwrap() >= 6);
}

/// `--reveal-seed` under a terminal: the reveal is logged before it is
/// shown, the seed and its otpauth QR code stay on screen while the session
/// is open, and are cleared with it.
#[test]
fn revealed_seed_stays_on_screen_and_is_logged_first() {
    let f = Fixture::new(3, 2);
    let pty = spawn_unseal(&f, &["--session", "10m", "--reveal-seed", "aws-mfa"]);
    present_quorum(&pty);
    // Two session screens, so the reveal has been through a redraw.
    let shown = pty.wait_until("the entries, drawn twice", |t| {
        screens(t).iter().filter(|s| s.contains(PASSWORD)).count() >= 2
    });
    // While the session is open: logged, and on the current screen.
    let events: Vec<String> = log_entries(&f)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        events.last().map(String::as_str),
        Some("seed-revealed"),
        "{events:?}"
    );
    let current = screens(&shown).last().copied().unwrap();
    assert!(
        current.contains(TOTP_SEED),
        "the seed is not on the session screen: {current:?}"
    );
    assert!(current.contains("otpauth://totp/"), "{current:?}");
    assert!(
        current.contains('█') || current.contains('▀') || current.contains('▄'),
        "no QR code on the session screen: {current:?}"
    );
    pty.type_text("\r");
    let (status, modes, out) = pty.finish();
    assert_eq!(status.code(), Some(0), "{}", out.escape_debug());
    assert_terminal_restored(modes);
    for name in ["alice", "bob"] {
        assert!(!out.contains(&common::passphrase(name)));
    }
    assert_cleared_after_secrets(&out, "closed");
    let last_seed = out.rfind(TOTP_SEED).unwrap();
    assert!(out.rfind(CLEAR).unwrap() > last_seed);

    let (granted, after) = unseal_log(&f);
    let events: Vec<&str> = after.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["seed-revealed", "session-ended"]);
    let reveal = &after[0];
    assert_eq!(reveal["data"]["entry"], "aws-mfa");
    assert_eq!(reveal["data"]["grant"], granted["seq"]);
    assert_eq!(reveal["data"]["ticket"], "INC-77");
    assert_eq!(reveal["sig"]["by"], "quorum", "{reveal}");
    assert_eq!(after[1]["data"]["how"], "closed");
    assert_log_verifies(&f);
}

/// A custodian who presses Ctrl-C at the passphrase prompt stops the command
/// as Ctrl-C stops any program, and gets a usable terminal back: echo, line
/// editing and signals on (the password reader switches all three off).
#[test]
fn ctrl_c_at_a_passphrase_prompt_restores_the_terminal() {
    let f = Fixture::new(3, 2);
    let pty = spawn_unseal(&f, &["--session", "10m"]);
    pty.wait_hidden_prompt("alice, type your passphrase: ");
    pty.type_text("passphrase of al");
    pty.type_text("\x03");
    let (status, modes, out) = pty.finish();
    // Ended by SIGINT, or, where the test runner's parent ignores SIGINT (a
    // background job of a script), by exit 130 as a shell reports a Ctrl-C.
    assert!(
        status.signal() == Some(rustix::process::Signal::INT.as_raw())
            || status.code() == Some(130),
        "{status:?}: {}",
        out.escape_debug()
    );
    assert_terminal_restored(modes);
    assert!(!out.contains("passphrase of"), "{}", out.escape_debug());
    assert!(!f
        .events()
        .iter()
        .any(|e| e == "unseal-granted" || e == "share-accepted"));
}
/// Ctrl-C in an open session closes it like Enter: the screen is cleared and
/// the end is logged, instead of the process dying with the secrets on
/// screen and the session left open in the log.
#[test]
fn ctrl_c_closes_the_session_like_enter() {
    let f = Fixture::new(3, 2);
    let pty = spawn_unseal(&f, &["--session", "10m"]);
    present_quorum(&pty);
    pty.wait_until("the entries", |t| {
        screens(t).iter().any(|s| s.contains(NOTE))
    });
    pty.type_text("\x03");
    let (status, modes, out) = pty.finish();
    assert_eq!(status.code(), Some(0), "{status:?}: {}", out.escape_debug());
    assert_terminal_restored(modes);
    assert_no_hidden_secret(&out);
    assert_cleared_after_secrets(&out, "closed");
    let (_, after) = unseal_log(&f);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["data"]["how"], "closed");
    assert_log_verifies(&f);
}
