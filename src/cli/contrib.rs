//! The hidden `generate-contrib DIR` subcommand: writes the shell
//! completions (bash, zsh, fish) and the man pages, generated from the clap
//! definitions, that the Debian package and the tarball install. They are
//! committed under `contrib/`; `tests/contrib.rs` regenerates them and fails
//! when the committed ones are stale.
//!
//! Invariants: the output depends on the clap definitions alone (the man
//! pages carry the package version without commit and no date), so every
//! checkout of a commit generates the same files. It is a packaging tool,
//! not a user command: it is recognised before clap parses (only when the
//! arguments are exactly `generate-contrib DIR`), so neither `--help`, the
//! completions nor the man pages list it (clap_complete offers hidden
//! subcommands too).

use std::path::{Path, PathBuf};

use clap_complete::Shell;

use breakglass::error::{Error, Result};

/// The directory DIR when the arguments are exactly `generate-contrib DIR`.
pub fn requested() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next(), args.next()) {
        (Some(cmd), Some(dir), None) if cmd == "generate-contrib" => Some(PathBuf::from(dir)),
        _ => None,
    }
}

/// Where each shell's completion goes under `DIR/completions/`.
const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "breakglass.bash"),
    (Shell::Zsh, "_breakglass"),
    (Shell::Fish, "breakglass.fish"),
];

/// Writes `dir/completions/*` and `dir/man/*.1` (one page per command,
/// `breakglass.1`, `breakglass-init.1`, `breakglass-log-verify.1`…; no
/// page for `help` or hidden commands). Pages of commands that no longer
/// exist (`dir/man/breakglass*.1`) are removed first.
pub fn generate(cmd: clap::Command, dir: &Path) -> Result<u8> {
    let mut cmd = cmd
        .version(breakglass::build_info::VERSION)
        .long_version(None::<&str>);
    // Before the completion generator builds it (which adds `help` subcommands).
    let man_cmd = cmd.clone();
    let name = cmd.get_name().to_owned();
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).map_err(|e| output(d.clone(), e))?;
    }
    for (shell, file) in SHELLS {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut cmd, &name, &mut text);
        let path = completions.join(file);
        std::fs::write(&path, text).map_err(|e| output(path, e))?;
    }
    let stale = std::fs::read_dir(&man).map_err(|e| output(man.clone(), e))?;
    for entry in stale {
        let path = entry.map_err(|e| output(man.clone(), e))?.path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if file.starts_with(&name) && file.ends_with(".1") {
            std::fs::remove_file(&path).map_err(|e| output(path.clone(), e))?;
        }
    }
    clap_mangen::generate_to(man_cmd, &man).map_err(|e| output(man, e))?;
    Ok(0)
}

fn output(what: PathBuf, source: std::io::Error) -> Error {
    Error::Output {
        what: what.display().to_string(),
        source,
    }
}
