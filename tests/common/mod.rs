//! Shared fixture for end-to-end tests: software custodians (demo-grade KDF),
//! a vault made by the real `breakglass` binary, and helpers to run it.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use breakglass::kdf::KdfParams;
use breakglass::secret::SecretString;
use breakglass::token::{software, CustodianDescriptor};

pub const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
pub const PASSWORD: &str = "Old-Secret-Password-42";
pub const TOTP_SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub fn passphrase(name: &str) -> String {
    format!("passphrase of {name} for tests")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_breakglass")
}

/// Runs the binary with `args`, feeding `stdin`, extra env.
pub fn run_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn breakglass");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .ok();
    Run::from(child.wait_with_output().expect("wait"))
}

pub fn run(args: &[&str], stdin: &str) -> Run {
    run_env(args, stdin, &[])
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub n: usize,
    pub t: u8,
}

impl Fixture {
    /// Enrolls `n` custodians (library, demo KDF) and inits a `t`-of-`n` vault
    /// through the binary with a password, a TOTP and a note entry.
    pub fn new(n: usize, t: u8) -> Fixture {
        let f = Fixture::custodians_only(n, t);
        let descs: Vec<String> = (0..n)
            .map(|i| f.path(&format!("{}.custodian.json", NAMES[i])))
            .collect();
        let mut args = vec![
            "init".to_string(),
            "--vault".into(),
            f.vault(),
            "--threshold".into(),
            t.to_string(),
            "--entries".into(),
            "-".into(),
            "--json".into(),
        ];
        for d in &descs {
            args.push("--custodian".into());
            args.push(d.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args, &f.entries_json());
        assert_eq!(r.code, 0, "init failed: {}", r.stderr);
        f
    }

    pub fn custodians_only(n: usize, t: u8) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = Fixture { dir, n, t };
        for name in NAMES.iter().take(n) {
            f.enroll(name, name);
        }
        f.write_answers(serde_json::json!({ "passphrases": f.passphrases() }));
        f
    }

    /// Enrolls a software custodian `name` (demo KDF): writes `STEM.identity`
    /// and `STEM.custodian.json`; returns the descriptor's path.
    pub fn enroll(&self, name: &str, stem: &str) -> String {
        let (bytes, token) =
            software::create(name, &SecretString::new(passphrase(name)), KdfParams::DEMO)
                .expect("create identity");
        std::fs::write(self.path(&format!("{stem}.identity")), bytes).unwrap();
        let d = CustodianDescriptor {
            format: CustodianDescriptor::FORMAT.into(),
            name: breakglass::names::CustodianName::parse(name).unwrap(),
            tokens: vec![token],
        };
        let path = self.path(&format!("{stem}.custodian.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&d).unwrap()).unwrap();
        path
    }

    /// The passphrases of all names in [`NAMES`], for an answers file.
    pub fn passphrases(&self) -> serde_json::Map<String, serde_json::Value> {
        NAMES
            .iter()
            .map(|n| ((*n).to_owned(), passphrase(n).into()))
            .collect()
    }

    pub fn write_answers(&self, v: serde_json::Value) {
        let p = self.dir.path().join("answers.json");
        std::fs::write(&p, v.to_string()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    pub fn entries_json(&self) -> String {
        serde_json::json!([
            {"kind": "password", "name": "aws-root", "value": PASSWORD,
             "account": "123456789012", "username": "root"},
            {"kind": "totp", "name": "aws-mfa", "seed": TOTP_SEED, "algorithm": "SHA1",
             "digits": 6, "period": 30},
            {"kind": "note", "name": "recovery", "text": "code-one code-two"}
        ])
        .to_string()
    }

    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    pub fn vault(&self) -> String {
        self.path("vault")
    }

    pub fn vault_path(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    pub fn log_path(&self) -> PathBuf {
        self.vault_path().join("log.jsonl")
    }

    pub fn identity(&self, name: &str) -> String {
        self.path(&format!("{name}.identity"))
    }

    /// `breakglass unseal --json` by the given custodians.
    pub fn unseal(&self, who: &[&str], extra: &[&str]) -> Run {
        self.unseal_env(who, extra, &[])
    }

    pub fn unseal_env(&self, who: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Run {
        let vault = self.vault();
        let answers = self.path("answers.json");
        let ids: Vec<String> = who.iter().map(|w| self.identity(w)).collect();
        let mut args = vec![
            "unseal",
            "--vault",
            &vault,
            "--ticket",
            "INC-1",
            "--reason",
            "test outage",
            "--answers",
            &answers,
            "--json",
        ];
        for id in &ids {
            args.push("--identity");
            args.push(id);
        }
        args.extend_from_slice(extra);
        run_env(&args, "", env)
    }

    pub fn verify_log(&self) -> Run {
        run(&["log", "verify", "--vault", &self.vault()], "")
    }

    pub fn share_file(&self, generation: u64, name: &str) -> PathBuf {
        self.vault_path()
            .join(format!("g{generation:06}"))
            .join("shares")
            .join(format!("{name}.age"))
    }

    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn events(&self) -> Vec<String> {
        self.log_lines()
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

/// Copies the directory tree `from` to `to` (e.g. a pristine vault before a kill).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
