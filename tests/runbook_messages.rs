//! The runbooks' tables of messages ("If something goes wrong") quote what
//! the tool prints: every backquoted message in a table's first column, with
//! its placeholders (`N`, custodian names) and `…` gaps, is found in the
//! messages of `src/` (their `{…}` arguments being the placeholders). A
//! reworded error makes this fail until the runbook follows.

use std::path::Path;

/// Placeholder words in the runbooks' messages.
const PLACEHOLDERS: [&str; 6] = ["N", "M", "alice", "bob", "carol", "dave"];

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Source text with string continuations joined and every format argument
/// (`{…}`) replaced by `§`.
fn normalised_sources() -> String {
    let mut raw = String::new();
    rust_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut raw);
    let mut joined = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'\n') {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            continue;
        }
        joined.push(c);
    }
    // `{name}`, `{}`, `{:02x}`, `{0}`: a format argument (never a block,
    // which holds spaces or newlines).
    let is_arg = |c: char| c.is_ascii_alphanumeric() || "_.:?#".contains(c);
    let chars: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(joined.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{' {
            let close = chars[i + 1..]
                .iter()
                .take(40)
                .position(|c| !is_arg(*c))
                .map(|n| i + 1 + n);
            if let Some(end) = close.filter(|e| chars[*e] == '}') {
                out.push('§');
                i = end + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The backquoted spans of the first column of each message table.
fn table_messages(markdown: &str) -> Vec<String> {
    let mut out = vec![];
    let mut in_table = false;
    for line in markdown.lines() {
        if line.starts_with("| message |") {
            in_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let first = line.split(" | ").next().unwrap_or_default();
        out.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    out
}

fn with_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if PLACEHOLDERS.contains(&word.as_str()) {
            out.push('§');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[test]
fn every_message_in_a_runbook_table_is_one_the_tool_prints() {
    let sources = normalised_sources();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremonies");
    let mut checked = 0;
    let mut missing = vec![];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for message in table_messages(&text) {
            for piece in message.split('…').map(str::trim) {
                if piece.len() < 8 {
                    continue;
                }
                checked += 1;
                let wanted = with_placeholders(piece);
                if !sources.contains(&wanted) {
                    missing.push(format!(
                        "{}: `{piece}` (looked for {wanted:?})",
                        path.file_name().unwrap().to_string_lossy()
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} messages found in the runbooks"
    );
    assert!(
        missing.is_empty(),
        "runbook messages the tool does not print:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_emergency_runbook_covers_the_slips_the_tool_forgives() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremonies/emergency-unseal.md"),
    )
    .unwrap();
    let messages = table_messages(&text).join("\n");
    for slip in [
        "wrong PIN for YubiKey",
        "is not enrolled for custodian",
        "YubiKeys is inserted",
        "was removed (or reset) during the operation",
        "was not touched in time",
        "interrupted (Ctrl-C)",
        "pcscd",
    ] {
        assert!(messages.contains(slip), "no row for {slip:?}");
    }
    assert!(
        !text.contains("retry carefully"),
        "the advice must say what the tool does (try again at its prompt, or step aside)"
    );
    assert!(text.contains("try again now? [Y/n]"));
}
