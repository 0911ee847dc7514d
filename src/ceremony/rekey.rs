//! Rekey: a quorum of the current custodians changes who holds shares, or how
//! many are needed: custodians added, removed, or given new tokens (a lost or
//! broken YubiKey, a new spare), and the threshold raised or lowered (never
//! below 2). The credentials stay as they are (rotating them is `reseal`).
//!
//! Like a reseal it makes a new generation with a new random key and fresh
//! shares for every custodian of the new set (SECURITY.md invariant 4: shares of a removed
//! custodian, and of a replaced token, die with the old generation), committed
//! by `generation::seal_next`. Custodians who
//! stay keep the tokens recorded in the manifest the log certifies; new tokens come from
//! descriptors whose YubiKey attestations are verified again here, and the
//! quorum confirms the new set, token fingerprints included, before anything
//! is sealed.

use std::path::PathBuf;

use super::custodians::{check_attestations, check_custodians, descriptors_of};
use super::generation::{seal_next, Next, Sealed};
use super::quorum::{self, QuorumInput, Request};
use crate::attestation::TrustAnchors;
use crate::error::{Error, Result};
use crate::log::events;
use crate::log_data;
use crate::manifest::Manifest;
use crate::token::CustodianDescriptor;
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// What a rekey changes.
#[derive(Default)]
pub struct CustodianChanges {
    /// New custodians (descriptors from `custodian enroll`).
    pub add: Vec<CustodianDescriptor>,
    /// Custodians who no longer hold a share.
    pub remove: Vec<String>,
    /// New tokens for existing custodians: the descriptor's name says whose;
    /// its tokens replace all of that custodian's tokens.
    pub replace: Vec<CustodianDescriptor>,
    /// New threshold (default: unchanged).
    pub threshold: Option<u8>,
}

impl CustodianChanges {
    fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.remove.is_empty()
            && self.replace.is_empty()
            && self.threshold.is_none()
    }
}

/// What a rekey needs.
pub struct RekeyOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Change ticket.
    pub ticket: String,
    /// Reason, e.g. "carol leaves the team".
    pub reason: String,
    /// The changes.
    pub changes: CustodianChanges,
    /// Roots for the attestations of new YubiKey tokens.
    pub anchors: TrustAnchors,
    /// Identities (of the current custodians), presentation order,
    /// override, expected receipt.
    pub quorum: QuorumInput,
}

/// The custodian set and threshold after the changes, with the new
/// descriptors checked: every named custodian exists (or, when added, does
/// not), the set is valid (threshold ≥ 2, distinct names and tokens) and every
/// new YubiKey token's attestation verifies and matches its descriptor.
pub fn plan(
    manifest: &Manifest,
    changes: &CustodianChanges,
    anchors: &TrustAnchors,
) -> Result<(Vec<CustodianDescriptor>, u8)> {
    if changes.is_empty() {
        return Err(Error::Usage(
            "nothing to change: give --add, --remove, --replace or --threshold (fresh shares for the same custodians are `breakglass reseal`)".into(),
        ));
    }
    let mut set = descriptors_of(manifest);
    let exists = |set: &[CustodianDescriptor], name: &str| set.iter().any(|c| c.name == name);
    for (i, name) in changes.remove.iter().enumerate() {
        if changes.remove[..i].contains(name) {
            return Err(Error::Usage(format!("'{name}' is removed twice")));
        }
        if !exists(&set, name) {
            return Err(Error::Usage(format!(
                "'{name}' is not a custodian of this vault; nothing to remove"
            )));
        }
        set.retain(|c| &c.name != name);
    }
    for (i, new) in changes.replace.iter().enumerate() {
        if changes.replace[..i].iter().any(|o| o.name == new.name) {
            return Err(Error::Usage(format!(
                "custodian '{}' is replaced twice",
                new.name
            )));
        }
        let Some(slot) = set.iter_mut().find(|c| c.name == new.name) else {
            return Err(Error::Usage(format!(
                "'{}' is not a custodian of this vault (or is removed); to add a new custodian use --add",
                new.name
            )));
        };
        if slot.tokens == new.tokens {
            return Err(Error::Usage(format!(
                "the replacement descriptor of '{}' holds the tokens already enrolled; enroll the new token first",
                new.name
            )));
        }
        *slot = new.clone();
    }
    for new in &changes.add {
        if exists(&set, &new.name) || changes.remove.iter().any(|r| new.name == *r) {
            return Err(Error::Usage(format!(
                "'{}' is already a custodian of this vault; for a new token use --replace",
                new.name
            )));
        }
        set.push(new.clone());
    }
    let threshold = changes.threshold.unwrap_or(manifest.threshold);
    check_custodians(&set, threshold)?;
    let fresh: Vec<CustodianDescriptor> = changes
        .add
        .iter()
        .chain(&changes.replace)
        .cloned()
        .collect();
    check_attestations(&fresh, anchors)?;
    Ok((set, threshold))
}

/// One line per custodian of the new set, and per removed custodian, for the
/// quorum to check.
fn describe(set: &[CustodianDescriptor], changes: &CustodianChanges) -> Vec<String> {
    let mut lines = Vec::new();
    for c in set {
        let tag = if changes.add.iter().any(|a| a.name == c.name) {
            "NEW      "
        } else if changes.replace.iter().any(|r| r.name == c.name) {
            "NEW TOKEN"
        } else {
            "stays    "
        };
        let tokens: Vec<String> = c.tokens.iter().map(|t| t.fingerprint()).collect();
        lines.push(format!("{tag} {}: {}", c.name, tokens.join(", ")));
    }
    for r in &changes.remove {
        lines.push(format!("REMOVED   {r}"));
    }
    lines
}

/// Runs the rekey ceremony.
pub fn rekey(opts: RekeyOptions, ui: &mut dyn Ui) -> Result<Sealed> {
    crate::ceremony::unseal::check_text("ticket", &opts.ticket)?;
    crate::ceremony::unseal::check_text("reason", &opts.reason)?;
    let vault = Vault::open(&opts.dir)?;
    // Fail before asking anyone for a share when the changes cannot apply
    // (checked again below against the authenticated manifest).
    let (unverified, _) = vault.read_manifest()?;
    plan(&unverified, &opts.changes, &opts.anchors)?;
    let names = |v: &[CustodianDescriptor]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let mut request = log_data! {
        "ticket" => opts.ticket.trim(),
        "reason" => opts.reason.trim(),
        "add" => names(&opts.changes.add),
        "remove" => opts.changes.remove,
        "replace" => names(&opts.changes.replace),
    };
    if let Some(t) = opts.changes.threshold {
        request.insert("threshold".into(), t.into());
    }
    ui.say(
        Level::Step,
        "Verifying the audit log and recording the rekey request",
    );
    let mut opened = quorum::open(
        &vault,
        Request {
            event: events::REKEY_REQUESTED,
            data: request,
            input: &opts.quorum,
            format1: false,
        },
        ui,
    )?;
    let payload = opened.payload_or_abort(&vault)?;
    let generation = opened.manifest.generation;
    let old_threshold = opened.manifest.threshold;
    let abort =
        |opened: &mut quorum::Opened, why: String| -> Result<()> { opened.abort(&why).map(drop) };
    let (set, threshold) = match plan(&opened.manifest, &opts.changes, &opts.anchors) {
        Ok(p) => p,
        Err(e) => {
            abort(&mut opened, e.to_string())?;
            return Err(e);
        }
    };
    ui.say(
        Level::Info,
        &format!(
            "New custodians ({threshold} of {} needed, was {old_threshold} of {}); compare each new token fingerprint with the one written down at its enrollment:",
            set.len(),
            opened.manifest.custodians.len(),
        ),
    );
    for line in describe(&set, &opts.changes) {
        ui.say(Level::Info, &line);
    }
    if !ui.confirm(
        "rekey.proceed",
        "Seal the vault for these custodians? Shares of the current generation stop working.",
    )? {
        abort(
            &mut opened,
            "the quorum did not confirm the new custodians; nothing changed".into(),
        )?;
        return Err(Error::Usage(
            "rekey cancelled: the quorum did not confirm the new custodians; the vault is unchanged".into(),
        ));
    }
    // New tokens are announced under the current generation's quorum key: an
    // interrupted rekey leaves them verifiable.
    for c in opts.changes.add.iter().chain(&opts.changes.replace) {
        let tokens: Vec<String> = c.tokens.iter().map(|t| t.fingerprint()).collect();
        let replaced = opts.changes.replace.iter().any(|r| r.name == c.name);
        opened.append(
            events::CUSTODIAN_ENROLLED,
            log_data! {
                "custodian" => c.name,
                "tokens" => tokens,
                "for_generation" => generation + 1,
                "replaces_tokens" => replaced,
            },
        )?;
    }
    let details = log_data! {
        "previous_threshold" => old_threshold,
        "added" => names(&opts.changes.add),
        "removed" => opts.changes.remove,
        "replaced" => names(&opts.changes.replace),
    };
    seal_next(
        &vault,
        &mut opened,
        Next {
            reason: "rekey",
            ticket: opts.ticket.trim(),
            threshold,
            custodians: &set,
            payload: &payload,
            details,
        },
        ui,
    )
}
