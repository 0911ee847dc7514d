//! The documentation the binary prints stays true: every ceremony command's
//! `--help` has examples, and `help-answers` names every yes/no question the
//! code can ask (the non-interactive form of every prompt, README, "Commands").

mod common;

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
}

/// The literal ids passed to `confirm(` anywhere in `src/`.
fn confirm_ids() -> Vec<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut ids = Vec::new();
    for text in files {
        for (i, _) in text.match_indices("confirm(") {
            let rest = text[i + "confirm(".len()..].trim_start();
            if let Some(lit) = rest.strip_prefix('"') {
                let id: String = lit.chars().take_while(|c| *c != '"').collect();
                if !id.is_empty() && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids
}

#[test]
fn help_answers_names_every_confirmation() {
    let ids = confirm_ids();
    assert!(
        ids.iter().any(|i| i == "rekey.proceed") && ids.len() >= 3,
        "the scan found too little: {ids:?}"
    );
    let help = common::run(&["help-answers"], "");
    assert_eq!(help.code, 0);
    for id in &ids {
        assert!(
            help.stdout.contains(id.as_str()),
            "help-answers does not name the confirmation '{id}'"
        );
    }
}

#[test]
fn ceremony_commands_have_examples_in_their_help() {
    for cmd in [
        &["custodian", "enroll"][..],
        &["init"],
        &["unseal"],
        &["reseal"],
        &["rekey"],
        &["drill"],
        &["review"],
        &["log", "verify"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let r = common::run(&args, "");
        assert_eq!(r.code, 0, "{cmd:?}");
        assert!(
            r.stdout.contains("Example"),
            "`breakglass {} --help` has no example",
            cmd.join(" ")
        );
        assert!(r.stdout.contains("breakglass "), "{cmd:?}");
    }
}
