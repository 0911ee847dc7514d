//! `breakglass check`: the health check of a vault copy (no token, read-only).
//! The library does the checking ([`breakglass::check`]); this prints it.

use std::path::PathBuf;

use clap::Args;

use breakglass::check::{self, CheckReport};
use breakglass::error::Result;

use super::out::{self, outln};

pub const AFTER_HELP: &str = "\
Needs no token and no passphrase, takes no lock and writes nothing: it works on a copy
on read-only media. It checks manifest.json against the audit log (chain, anchor,
signatures), and that every file the manifest names is present, a regular file, within
size limits and matches the digest the manifest records (share files: their custodian's
commitment). Damaged files are named, with the custodian a share file belongs to.

Exit 0 when the copy is intact (notes, such as unknown files or .aside/, do not count),
1 when anything is damaged, 2 on usage errors (for example no vault at DIR).

Examples:
  breakglass check --vault /media/vault
  breakglass check --vault /media/vault --json
      {\"ok\":true,\"generation\":1,\"findings\":[{\"file\":…,\"custodian\":…,\"problem\":…}]}";

#[derive(Args)]
pub struct CheckArgs {
    /// Vault directory (a copy may be on read-only media).
    #[arg(long)]
    vault: PathBuf,
    /// Machine-readable output on stdout: {ok, generation, fingerprint, log_entries, findings: [{file, custodian?, problem, kind, damage}]}.
    #[arg(long)]
    json: bool,
}

pub fn run(a: CheckArgs) -> Result<u8> {
    let report = check::check_dir(&a.vault)?;
    if a.json {
        print_json(&report)?;
    } else {
        print_text(&a, &report)?;
    }
    Ok(if report.is_healthy() { 0 } else { 1 })
}

fn print_json(r: &CheckReport) -> Result<()> {
    let findings: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut o = serde_json::json!({
                "file": f.file,
                "problem": f.describe(),
                "kind": f.problem.code(),
                "damage": f.is_damage(),
            });
            if let (Some(c), Some(obj)) = (&f.custodian, o.as_object_mut()) {
                obj.insert("custodian".into(), c.clone().into());
            }
            o
        })
        .collect();
    out::json(&serde_json::json!({
        "ok": r.is_healthy(),
        "generation": r.generation,
        "fingerprint": r.fingerprint,
        "log_entries": r.log_entries,
        "files_ok": r.files_ok,
        "findings": findings,
    }))
}

fn print_text(a: &CheckArgs, r: &CheckReport) -> Result<()> {
    for f in r.damage() {
        outln!("DAMAGED: {}", f.describe())?;
    }
    for f in r.findings.iter().filter(|f| !f.is_damage()) {
        outln!("{}", f.describe())?;
    }
    let damaged = r.damage().count();
    let at = match (r.generation, &r.fingerprint) {
        (Some(g), Some(fp)) => format!(" (generation {g}, vault fingerprint {fp})"),
        _ => String::new(),
    };
    if damaged == 0 {
        outln!(
            "check OK: {} intact{at}; log: {} entries verified",
            a.vault.display(),
            r.log_entries
        )?;
    } else {
        outln!(
            "check FAILED: {damaged} damaged file{} in {}{at}; restore {} from another copy of the vault",
            if damaged == 1 { "" } else { "s" },
            a.vault.display(),
            if damaged == 1 { "it" } else { "them" }
        )?;
    }
    Ok(())
}
