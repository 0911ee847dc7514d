//! Helpers for tests/remote.rs (remote custodians, docs/remote.md): a
//! ceremony running as a background child whose stderr is read while it
//! waits for a response, `breakglass respond` run from a directory standing
//! for a custodian's laptop, the request/response files and their text
//! blocks taken apart and re-encoded as a relay would, the spoken code
//! computed independently from the spec, and the log read back.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{self, Run};

/// How long any wait on a child or a file may take before the test fails
/// (generous: the machine is shared and small).
pub const WAIT: Duration = Duration::from_secs(180);

/// Polls `cond` every 20 ms until it gives a value or `timeout` passes;
/// panics with `what` (and `context()`) on timeout.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; {}",
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes an answers file (mode 0600, as the binary demands).
pub fn write_answers(path: &Path, v: &Value) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, v.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A ceremony (`unseal`, `reseal`, …) running in the background, its
/// stdout and stderr collected as they come. Killed by its PID on drop if
/// it still runs.
pub struct Ceremony {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

fn reader(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

impl Ceremony {
    pub fn spawn(args: &[String], env: &[(&str, &str)]) -> Ceremony {
        let mut cmd = Command::new(common::bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn breakglass");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            reader(child.stdout.take().unwrap(), stdout.clone()),
            reader(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Ceremony {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the line `Read this code aloud to <name>: DDDD-DDDD-DDDD`
    /// (the `nth` one for that name, from 1) and returns the code. Fails at
    /// once if the ceremony exits first.
    pub fn code_for(&mut self, name: &str, nth: usize) -> String {
        let needle = format!("Read this code aloud to {name}: ");
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.stderr();
            let found = text
                .match_indices(&needle)
                .nth(nth - 1)
                .map(|(i, _)| {
                    text[i + needle.len()..]
                        .chars()
                        .take(14)
                        .collect::<String>()
                })
                .filter(|c| {
                    c.len() == 14
                        && c.char_indices().all(|(i, ch)| {
                            if i == 4 || i == 9 {
                                ch == '-'
                            } else {
                                ch.is_ascii_digit()
                            }
                        })
                });
            if let Some(code) = found {
                return code;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the readers drain what the child wrote last.
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                panic!(
                    "the ceremony exited ({status}) before showing {name}'s code; stderr:\n{}\nstdout:\n{}",
                    self.stderr(),
                    self.stdout.lock().unwrap()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "no code for {name} on the ceremony's stderr within {WAIT:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the ceremony to end (killing it and failing after [`WAIT`]).
    pub fn finish(mut self) -> Run {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the ceremony did not end within {WAIT:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Ceremony {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Only this child, by its PID.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `breakglass respond` run with `cwd` as its working directory (the
/// custodian's laptop), stdin fed from `stdin`.
pub fn respond(cwd: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let mut cmd = Command::new(common::bin());
    cmd.arg("respond")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn breakglass respond");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let pid = child.id();
    let deadline = Instant::now() + WAIT;
    let waiter = std::thread::spawn(move || child.wait_with_output());
    while !waiter.is_finished() {
        if Instant::now() >= deadline {
            // Only this child, by its PID.
            if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
            panic!("breakglass respond did not end within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = feeder.join();
    let o = waiter.join().unwrap().expect("wait respond");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The request files `DIR/<name>-<seq>.bgrequest` (+ `.txt`) once both are
/// there and the first parses as canonical JSON: (path, bytes, value).
pub fn wait_request(dir: &Path, name: &str) -> (PathBuf, Vec<u8>, Value) {
    let prefix = format!("{name}-");
    poll(
        &format!("{name}'s request in {}", dir.display()),
        WAIT,
        || {
            let entries = std::fs::read_dir(dir).ok()?;
            for e in entries.flatten() {
                let file = e.file_name().to_string_lossy().into_owned();
                if file.starts_with(&prefix) && file.ends_with(".bgrequest") {
                    let path = e.path();
                    if !txt(&path).exists() {
                        continue;
                    }
                    let bytes = std::fs::read(&path).ok()?;
                    let text = std::str::from_utf8(&bytes).ok()?;
                    let v = breakglass::encoding::parse_canonical(text.strip_suffix('\n')?).ok()?;
                    return Some((path, bytes, v));
                }
            }
            None
        },
        || "no request appeared".into(),
    )
}

/// `<path>.txt`.
pub fn txt(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".txt");
    PathBuf::from(s)
}

/// Canonical JSON with the final newline, as a relay would re-encode.
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut s = breakglass::encoding::canonical_json(v).expect("canonical");
    s.push('\n');
    s.into_bytes()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    breakglass::encoding::hex(&Sha256::digest(bytes))
}

/// The code read aloud, computed from docs/remote.md: Argon2id(password =
/// the request digest, salt = "breakglass/v2 remote code", m = 19 MiB,
/// t = 2, p = 1), the first 8 bytes big-endian modulo 10^12, as
/// `DDDD-DDDD-DDDD`.
pub fn spoken_code(request: &[u8]) -> String {
    let digest = Sha256::digest(request);
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).unwrap();
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(&digest, b"breakglass/v2 remote code", &mut out)
        .unwrap();
    let n = u64::from_be_bytes(out[..8].try_into().unwrap()) % 1_000_000_000_000;
    let d = format!("{n:012}");
    format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..])
}

/// Decodes a text block (`-----BEGIN BREAKGLASS REMOTE <KIND>-----`):
/// (decoded bytes, checksum line). Whitespace and `>` are ignored.
pub fn unarmor(text: &str, kind: &str) -> (Vec<u8>, String) {
    let begin = format!("-----BEGIN BREAKGLASS REMOTE {kind}-----");
    let end = format!("-----END BREAKGLASS REMOTE {kind}-----");
    let start = text.find(&begin).expect("begin marker") + begin.len();
    let stop = text.find(&end).expect("end marker");
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let (b64, sum) = body.rsplit_once('=').expect("checksum line");
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .expect("base64 body");
    (bytes, sum.to_owned())
}

/// The text block with one base64 character of its body changed (still
/// valid base64: only the checksum can tell).
pub fn damage_block(text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let i = lines
        .iter()
        .position(|l| l.len() >= 64 && !l.starts_with("-----"))
        .expect("a full body line");
    let mut chars: Vec<char> = lines[i].chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    lines[i] = chars.into_iter().collect();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Log entries as JSON values.
pub fn entries(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Entries after seq `after` with this event.
pub fn events_after<'a>(all: &'a [Value], after: u64, event: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|e| e["seq"].as_u64().unwrap() > after && e["event"] == event)
        .collect()
}

pub fn last_seq(log: &Path) -> u64 {
    entries(log).last().unwrap()["seq"].as_u64().unwrap()
}

/// Puts a file where the ceremony waits for it in one step (written beside
/// it, then renamed), as a mail client saving an attachment would.
pub fn deliver(bytes: &[u8], to: &Path) {
    let tmp = to.with_extension("partial");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}
