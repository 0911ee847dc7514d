//! `breakglass --version` and `breakglass version`: what the install
//! runbook (`ceremonies/install.md`) reads off the air-gapped machine. The
//! version line names version, commit and commit date, exactly as
//! `build_info` holds them; `version` adds the running executable's path and
//! a SHA-256 equal to the file's (what `sha256sum` and the release's `BUILD`
//! file say); `--version` reads no file and hashes nothing.

use std::process::Command;

use breakglass::build_info;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_breakglass");

fn stdout(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn file_sha256() -> String {
    breakglass::encoding::hex(&Sha256::digest(std::fs::read(BIN).unwrap()))
}

#[test]
fn version_flag_names_version_commit_and_commit_date() {
    let line = stdout(&["--version"]);
    assert_eq!(
        line,
        format!(
            "breakglass {} (commit {}, {})\n",
            build_info::VERSION,
            build_info::COMMIT,
            build_info::COMMIT_DATE
        )
    );
    assert_eq!(line, format!("breakglass {}\n", build_info::LONG_VERSION));
    // Built in this checkout: a real commit id (40 hex digits) and a UTC date.
    let id = build_info::COMMIT.trim_end_matches("-dirty");
    assert!(
        id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{line}"
    );
    assert!(
        !line.contains(&file_sha256()),
        "--version must not hash the executable"
    );
}

#[test]
fn version_command_prints_the_executables_own_sha256() {
    let digest = file_sha256();
    let text = stdout(&["version"]);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no `{name}` line in:\n{text}"))
            .to_owned()
    };
    assert_eq!(field("sha256:"), digest);
    assert_eq!(field("commit:"), build_info::COMMIT);
    assert_eq!(field("commit date:"), build_info::COMMIT_DATE);
    assert_eq!(
        std::fs::canonicalize(field("executable:")).unwrap(),
        std::fs::canonicalize(BIN).unwrap()
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(&["version", "--json"])).unwrap();
    assert_eq!(json["sha256"], digest.as_str());
    assert_eq!(json["version"], build_info::VERSION);
    assert_eq!(json["commit"], build_info::COMMIT);
    assert_eq!(json["commit_date"], build_info::COMMIT_DATE);
    assert_eq!(json.as_object().unwrap().len(), 5, "{json}");
}
