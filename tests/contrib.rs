//! Keeps `contrib/` (the shell completions and man pages the package
//! installs) current: regenerates them from the binary's clap definitions
//! (`breakglass generate-contrib DIR`) and compares them byte for byte with
//! the committed files, both ways (no file missing, none left over). Also
//! checks what a stale comparison cannot: the bash completion parses, every
//! visible command has its man page, and the packaging tool itself is
//! listed nowhere.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const FIX: &str =
    "regenerate them with `cargo run -- generate-contrib contrib` and commit the result";

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn generate() -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .arg("generate-contrib")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate-contrib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = files(dir.path());
    (dir, generated)
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let (_dir, generated) = generate();
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let mut committed = files(&contrib);
    committed.remove("README.md");
    for (name, bytes) in &generated {
        match committed.get(name) {
            None => panic!("contrib/{name} is missing: {FIX}"),
            Some(c) if c != bytes => panic!("contrib/{name} is stale: {FIX}"),
            Some(_) => {}
        }
    }
    for name in committed.keys() {
        assert!(
            generated.contains_key(name),
            "contrib/{name} is no longer generated (a command was removed?): delete it and {FIX}"
        );
    }
    for want in [
        "completions/breakglass.bash",
        "completions/_breakglass",
        "completions/breakglass.fish",
        "man/breakglass.1",
    ] {
        assert!(generated.contains_key(want), "{want} was not generated");
    }
}

#[test]
fn every_visible_command_has_a_man_page_and_completions() {
    let (_dir, generated) = generate();
    let bash = String::from_utf8(generated["completions/breakglass.bash"].clone()).unwrap();
    let fish = String::from_utf8(generated["completions/breakglass.fish"].clone()).unwrap();
    // The commands `breakglass --help` lists, and those of `custodian` and `log`.
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_breakglass"))
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = |text: &str| -> Vec<String> {
        text.split("Commands:")
            .nth(1)
            .unwrap_or("")
            .split("\n\n")
            .next()
            .unwrap_or("")
            .lines()
            // A command's line; its wrapped description is indented further.
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|c| c != "help")
            .collect()
    };
    let top = commands(&help(&[]));
    assert!(top.len() >= 10, "too few commands in --help: {top:?}");
    let mut pages = vec!["breakglass".to_owned()];
    for c in &top {
        pages.push(format!("breakglass-{c}"));
        assert!(
            fish.contains(&format!("-a \"{c}\"")),
            "the fish completion does not offer `{c}`"
        );
        for sub in commands(&help(&[c])) {
            pages.push(format!("breakglass-{c}-{sub}"));
        }
    }
    for page in &pages {
        let file = format!("man/{page}.1");
        let text = generated
            .get(&file)
            .unwrap_or_else(|| panic!("no man page {file}"));
        let text = String::from_utf8_lossy(text);
        assert!(
            text.contains(&format!("\n.TH {page} 1 ")),
            "{file} is not the section 1 man page of {page}"
        );
    }
    let mut expected: Vec<String> = pages.iter().map(|p| format!("man/{p}.1")).collect();
    expected.sort();
    let mut got: Vec<String> = generated
        .keys()
        .filter(|k| k.starts_with("man/"))
        .cloned()
        .collect();
    got.sort();
    assert_eq!(
        got, expected,
        "man pages other than one per visible command"
    );
    // The packaging tool is no user command.
    for (name, bytes) in &generated {
        assert!(
            !String::from_utf8_lossy(bytes).contains("generate-contrib"),
            "{name} lists the hidden generate-contrib"
        );
    }
    let parse = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&bash)
        .status()
        .unwrap();
    assert!(parse.success(), "the bash completion does not parse");
}
