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

/// The subcommands a `--help` page lists under "Commands:" (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues with deeper indentation.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// Every command and subcommand, found by walking the `--help` pages.
fn all_commands() -> Vec<Vec<String>> {
    let mut todo = vec![Vec::<String>::new()];
    let mut found = Vec::new();
    while let Some(cmd) = todo.pop() {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.push("--help");
        let r = common::run(&args, "");
        assert_eq!(r.code, 0, "{cmd:?}: {}", r.stderr);
        for sub in subcommands(&r.stdout) {
            let mut next = cmd.clone();
            next.push(sub);
            todo.push(next);
        }
        if !cmd.is_empty() {
            found.push(cmd);
        }
    }
    found
}

#[test]
fn every_command_has_examples_in_its_help() {
    let commands = all_commands();
    for expected in [
        &["custodian", "enroll"][..],
        &["custodian", "tokens"],
        &["init"],
        &["unseal"],
        &["reseal"],
        &["rekey"],
        &["migrate"],
        &["drill"],
        &["review"],
        &["status"],
        &["report"],
        &["check"],
        &["demo"],
        &["log", "verify"],
        &["log", "export"],
        &["log", "show"],
        &["log", "repair"],
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "the help walk did not find {expected:?}: {commands:?}"
        );
    }
    for cmd in &commands {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.push("--help");
        let r = common::run(&args, "");
        assert_eq!(r.code, 0, "{cmd:?}");
        assert!(
            r.stdout.contains("Example"),
            "`breakglass {} --help` has no example",
            cmd.join(" ")
        );
        let name = format!("breakglass {}", cmd.join(" "));
        assert!(
            r.stdout.contains(&name),
            "`{name} --help` has no example of `{name}` itself"
        );
    }
}

/// Every `breakglass …` command that a help page, hint or runbook-style
/// message names exists: a hint naming `breakglass help answers` (no such
/// command) was found once.
#[test]
fn commands_named_in_help_and_hints_exist() {
    let commands = all_commands();
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut checked = 0;
    for text in &files {
        for (i, _) in text.match_indices("`breakglass ") {
            let rest = &text[i + "`breakglass ".len()..];
            let words: Vec<&str> = rest
                .split(['`', '\\', '"'])
                .next()
                .unwrap_or("")
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .collect();
            if words.is_empty() {
                continue;
            }
            // The longest prefix that is a command must be at least one word.
            let known = (1..=words.len().min(2)).rev().any(|n| {
                commands
                    .iter()
                    .any(|c| c.iter().map(String::as_str).eq(words[..n].iter().copied()))
            });
            assert!(
                known || words[0] == "help-answers",
                "`breakglass {}` is named in src/ but is not a command",
                words.join(" ")
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "the scan found only {checked} command names");
}
