//! Keeps the runbooks in `ceremonies/` true to the CLI: every `$ ` line of
//! every ```console block is executed, in order, with the real binary.
//!
//! Runbooks are written as people type them (interactive prompts). The
//! runner puts a `breakglass` wrapper first on PATH that adds
//! `--answers $WORK/answers.json` (the documented non-interactive form) to the
//! commands that prompt, unless the line already gives one. Environment:
//! `$WORK` (working directory), `$VAULT`, `$MEDIA` (custodians' media, with
//! `alice/`, `bob/`, `carol/`), `$BREAKGLASS` (the binary).
//! Runbook order: setup, emergency unseal, reseal, then the others.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const ORDER: [&str; 3] = [
    "setup.md",
    "emergency-unseal.md",
    "reseal-after-rotation.md",
];

fn commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_console = false;
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            in_console = !in_console && t.trim_start_matches('`').starts_with("console");
            continue;
        }
        if in_console {
            if let Some(cmd) = t.strip_prefix("$ ") {
                out.push(cmd.to_owned());
            }
        }
    }
    out
}

fn answers() -> serde_json::Value {
    let pass = |n: &str| format!("runbook passphrase of {n}");
    serde_json::json!({
        "passphrases": {"alice": pass("alice"), "bob": pass("bob"), "carol": pass("carol"), "dave": pass("dave")},
        "new_passphrases": {"alice": pass("alice"), "bob": pass("bob"), "carol": pass("carol"), "dave": pass("dave")},
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
    })
}

#[test]
fn every_runbook_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let media = work.join("media");
    for n in ["alice", "bob", "carol", "dave"] {
        std::fs::create_dir_all(media.join(n)).unwrap();
    }
    let answers_path = work.join("answers.json");
    std::fs::write(&answers_path, answers().to_string()).unwrap();
    std::fs::set_permissions(&answers_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bin_dir = work.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let wrapper = bin_dir.join("breakglass");
    std::fs::write(
        &wrapper,
        format!(
            "#!/usr/bin/env bash\n\
             case \"$1 $2\" in\n\
               'custodian enroll'*|init\\ *|unseal\\ *|reseal\\ *|rekey\\ *|drill\\ *|review\\ *)\n\
                 for a in \"$@\"; do [ \"$a\" = --answers ] && exec {bin} \"$@\"; done\n\
                 exec {bin} \"$@\" --answers \"$WORK/answers.json\";;\n\
             esac\n\
             exec {bin} \"$@\"\n",
            bin = env!("CARGO_BIN_EXE_breakglass")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

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
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for book in &books {
        let text = std::fs::read_to_string(ceremonies.join(book)).unwrap();
        let cmds = commands(&text);
        assert!(!cmds.is_empty(), "{book} has no console commands");
        for cmd in cmds {
            let out = Command::new("bash")
                .arg("-c")
                .arg(&cmd)
                .current_dir(work)
                .env("PATH", &path)
                .env("WORK", work)
                .env("VAULT", work.join("vault"))
                .env("MEDIA", &media)
                .env("BREAKGLASS", env!("CARGO_BIN_EXE_breakglass"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{book}: `{cmd}` failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    eprintln!("ran {ran} runbook commands from {} runbooks", books.len());
    assert!(ran >= 10);
}
