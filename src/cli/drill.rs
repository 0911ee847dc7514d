//! `drill`: a custodian's share (`--custodian`) or the whole quorum path
//! (`--quorum`) proven to open, nothing shown; the work is in
//! `breakglass::ceremony::drill`. Exit 1 when the drill failed (logged).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use breakglass::ceremony::drill::{self, DrillKind, DrillOutcome};
use breakglass::error::{Error, Result};

use super::out::{self, outln};
use super::output::{print_receipt, receipt as receipt_string};

#[derive(Args)]
pub struct DrillArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Quorum drill: run the whole unseal path (shares, key, MACs, payload) and show nothing.
    #[arg(long)]
    quorum: bool,
    /// Custodian drill: the custodian whose share is checked. With --quorum: presentation order (repeatable).
    #[arg(long = "custodian", value_name = "NAME")]
    custodians: Vec<String>,
    /// A software custodian's identity file (repeatable).
    #[arg(long = "identity", value_name = "FILE")]
    identities: Vec<PathBuf>,
    /// Answers for every prompt, from a JSON file ('-' for stdin); see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    receipt: super::args::ReceiptArg,
    #[command(flatten)]
    remote: super::args::RemoteArgs,
}

pub fn run_drill(a: DrillArgs) -> Result<u8> {
    let remote = a.remote.settings()?;
    let (identities, order) =
        super::input::presenters(&a.identities, &a.custodians, &remote.names)?;
    let expect_receipt = a.receipt.parse()?;
    let outcome = if a.quorum {
        let mut ui = super::input::make_ui(a.answers.as_deref())?;
        drill::quorum_drill(
            drill::QuorumDrillOptions {
                dir: a.vault.clone(),
                quorum: breakglass::ceremony::quorum::QuorumInput {
                    identities,
                    order,
                    override_broken_log: None,
                    expect_receipt,
                    remote,
                },
            },
            ui.as_mut(),
        )?
    } else {
        let [custodian] = a.custodians.as_slice() else {
            return Err(Error::Usage(
                "give exactly one --custodian NAME for a custodian drill, or --quorum for a quorum drill".into(),
            ));
        };
        let mut ui = super::input::make_ui(a.answers.as_deref())?;
        drill::custodian_drill(
            drill::CustodianDrillOptions {
                dir: a.vault.clone(),
                custodian: custodian.clone(),
                identities,
                expect_receipt,
            },
            ui.as_mut(),
        )?
    };
    print_drill(&outcome, a.json)?;
    Ok(if outcome.verdict.passed() { 0 } else { 1 })
}

fn print_drill(o: &DrillOutcome, json: bool) -> Result<()> {
    if json {
        return out::json(&json!({
            "kind": o.kind.as_str(), "result": o.verdict.as_str(), "why": o.verdict.why(),
            "custodians": o.custodians, "generation": o.generation,
            "signatures_verified": o.signatures_verified,
            "receipt": receipt_string(&o.vault_id, &o.receipt),
        }));
    }
    if let Some(why) = o.verdict.why() {
        outln!("drill FAILED ({}): {why}", o.kind.as_str())?;
    } else {
        outln!(
            "drill OK ({}): {}",
            o.kind.as_str(),
            match o.kind {
                DrillKind::Quorum => format!(
                    "{} rebuilt the key of generation {}; certified key, {} log signatures and payload verified; nothing was shown",
                    o.custodians.join(" + "),
                    o.generation,
                    o.signatures_verified
                ),
                _ => format!(
                    "{}'s share opens and matches its commitment and binding (generation {}){}",
                    o.custodians.join(""),
                    o.generation,
                    if o.signatures_verified > 0 {
                        "; the drill entry is signed by the token"
                    } else {
                        "; the drill entry is NOT signed (no enrolled signing key): it does not count"
                    }
                ),
            }
        )?;
    }
    print_receipt(&o.vault_id, &o.receipt)
}
