//! Issue "Hostile input and hostile environment": files written by someone
//! who can only write files (escape sequences in the log, symlinks, FIFOs,
//! oversized inputs, planted KDF costs), and a hostile environment (closed
//! or full stdout, umask 000, read-only media, a lock file deleted under a
//! running ceremony). Each test names the bug it pins.

mod common;

use std::process::{Command, Stdio};

use common::{bin, Fixture, Run};

/// Runs the binary with its stdout on `stdout` (a pipe end, /dev/full, …).
fn run_with_stdout(args: &[&str], stdout: impl Into<Stdio>) -> Run {
    let o = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run breakglass");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Stdout is a pipe whose read end is already closed: every write is EPIPE.
fn run_closed_pipe(args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    run_with_stdout(args, writer)
}

/// Stdout is /dev/full: every write is ENOSPC.
fn run_full(args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    run_with_stdout(args, full)
}

fn no_panic(r: &Run, what: &str) {
    assert!(
        !r.stderr.contains("panicked") && r.code != 101 && r.code != 134,
        "{what}: panicked (exit {}): {}",
        r.code,
        r.stderr
    );
}

/// The stderr lines other than the test build's banner.
fn diagnostics(r: &Run) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| !l.starts_with("warning: TEST BUILD"))
        .collect()
}

/// The read-only and one-shot commands of the issue, on `f`'s vault.
fn output_commands(f: &Fixture) -> Vec<Vec<String>> {
    let v = f.vault();
    let answers = f.path("answers.json");
    let alice = f.identity("alice");
    let s = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        s(&["status", "--vault", &v]),
        s(&["status", "--vault", &v, "--json"]),
        s(&["log", "verify", "--vault", &v]),
        s(&["log", "verify", "--vault", &v, "--json"]),
        s(&["log", "show", "--vault", &v]),
        s(&["log", "show", "--vault", &v, "--json"]),
        s(&["log", "export", "--vault", &v]),
        s(&["report", "--vault", &v]),
        s(&["report", "--vault", &v, "--json"]),
        s(&["help-answers"]),
        s(&[
            "drill",
            "--vault",
            &v,
            "--custodian",
            "alice",
            "--identity",
            &alice,
            "--answers",
            &answers,
            "--json",
        ]),
    ]
}

/// Issue item 3: `status`, `log verify`, `report`, `help-answers`, `drill
/// --json` … panicked with "failed printing to stdout: Broken pipe" under
/// `| head -c1`. A closed pipe now ends the output quietly and the exit code
/// is the command's own (what it returns with a reader).
#[test]
fn closed_stdout_pipe_is_quiet_and_keeps_the_exit_code() {
    let f = Fixture::new(3, 2);
    for args in output_commands(&f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let expected = common::run(&args, "").code;
        let r = run_closed_pipe(&args);
        no_panic(&r, &args.join(" "));
        assert_eq!(r.code, expected, "{args:?}: {}", r.stderr);
        let noise: Vec<&str> = diagnostics(&r)
            .into_iter()
            .filter(|l| l.starts_with("error") || l.contains("Broken pipe"))
            .collect();
        assert!(noise.is_empty(), "{args:?}: {noise:?}");
    }
}

/// Issue item 3: the same commands with stdout on a full disk panicked; now
/// they say what could not be written and exit 2.
#[test]
fn full_stdout_is_an_error_with_exit_2() {
    let f = Fixture::new(3, 2);
    for args in output_commands(&f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_full(&args);
        no_panic(&r, &args.join(" "));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("error: cannot write to standard output: No space left on device"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

fn unseal_args(f: &Fixture) -> Vec<String> {
    let mut args: Vec<String> = [
        "unseal",
        "--vault",
        &f.vault(),
        "--ticket",
        "INC-1",
        "--reason",
        "test outage",
        "--answers",
        &f.path("answers.json"),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for w in ["alice", "bob"] {
        args.push("--identity".into());
        args.push(f.identity(w));
    }
    args
}

/// Issue item 3: an unseal printing its entries with `--json` to a closed
/// pipe or a full disk still ends its session in the log (the session was
/// left open, the process having panicked between the grant and the end).
#[test]
fn unseal_to_closed_or_full_stdout_still_ends_the_session() {
    let f = Fixture::new(3, 2);
    let args = unseal_args(&f);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let r = run_closed_pipe(&args);
    no_panic(&r, "unseal | closed pipe");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ev = f.events();
    assert_eq!(ev[ev.len() - 2..], ["unseal-granted", "session-ended"]);

    let r = run_full(&args);
    no_panic(&r, "unseal > /dev/full");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(!r.stderr.contains(common::PASSWORD), "{}", r.stderr);
    let ev = f.events();
    assert_eq!(ev[ev.len() - 2..], ["unseal-granted", "session-ended"]);
    let s = common::run(&["status", "--vault", &f.vault(), "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(v["open_sessions"], serde_json::json!([]), "{}", s.stdout);
    assert_eq!(f.verify_log().code, 0);
}
