//! `breakglass version`: what this build is (version, commit, commit date)
//! and the SHA-256 of the running executable, for the install runbook
//! (`ceremonies/install.md`) to compare with the release's `BUILD` file and
//! the change ticket. Plain `--version` (clap) prints the first three only
//! and never hashes, so it starts as fast as the binary can.

use clap::Args;

use breakglass::build_info;
use breakglass::error::{Error, Result};

use super::out::{self, outln};

pub const AFTER_HELP: &str = "Examples:\n  breakglass version\n  breakglass version --json\n\n`breakglass --version` prints the version, commit and commit date only (it reads no file).\nThe sha256 line must equal `binary sha256:` in the release's BUILD file and\n`sha256sum /usr/bin/breakglass`: see ceremonies/install.md.";

#[derive(Args)]
pub struct VersionArgs {
    /// Print one JSON object: version, commit, commit_date, executable, sha256.
    #[arg(long)]
    json: bool,
}

pub fn run(a: VersionArgs) -> Result<u8> {
    let exe = build_info::executable().map_err(|e| {
        Error::Usage(format!(
            "cannot hash the running executable: {e} (is /proc mounted?); \
             `sha256sum /usr/bin/breakglass` gives the same digest"
        ))
    })?;
    if a.json {
        out::json(&serde_json::json!({
            "version": build_info::VERSION,
            "commit": build_info::COMMIT,
            "commit_date": build_info::COMMIT_DATE,
            "executable": exe.path.display().to_string(),
            "sha256": exe.sha256,
        }))?;
        return Ok(0);
    }
    outln!("breakglass {}", build_info::VERSION)?;
    outln!("commit:      {}", build_info::COMMIT)?;
    outln!("commit date: {}", build_info::COMMIT_DATE)?;
    outln!("executable:  {}", exe.path.display())?;
    outln!("sha256:      {}", exe.sha256)?;
    Ok(0)
}
