//! Setup ceremony: create a vault from enrolled custodians and the secrets.
//!
//! Order (each step durable before the next): vault directory and lock →
//! fresh vault id and key → log entries `vault-created` and
//! `custodian-enrolled` (quorum-MACed: the key is known) → generation 1
//! written and fsynced → `sealed` entry → manifest (log head, MAC) renamed
//! into place: the commit point. A crash before the commit leaves a
//! directory without `manifest.json`, which is not a vault; `init` names it.

use std::path::PathBuf;

use rand::RngCore;

use crate::ceremony::{build_generation, check_attestations, check_custodians};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::log::{events, Log};
use crate::log_data;
use crate::manifest::LogHead;
use crate::payload::{Entry, Payload};
use crate::token::CustodianDescriptor;
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// What `init` needs.
pub struct InitOptions {
    /// New vault directory (absent or empty).
    pub dir: PathBuf,
    /// Threshold (≥ 2).
    pub threshold: u8,
    /// Enrolled custodians, in the order that defines their x.
    pub custodians: Vec<CustodianDescriptor>,
    /// The secrets to seal.
    pub entries: Vec<Entry>,
    /// Roots the YubiKey tokens' recorded attestations must verify to.
    pub anchors: crate::attestation::TrustAnchors,
}

/// The outcome of a seal (init, reseal, rekey).
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Vault id (hex).
    pub vault_id: String,
    /// Generation sealed.
    pub generation: u64,
    /// Vault fingerprint of the new manifest.
    pub fingerprint: String,
    /// Log head after the ceremony (the receipt).
    pub receipt: LogHead,
}

/// Runs the setup ceremony.
pub fn init(opts: InitOptions, ui: &mut dyn Ui) -> Result<Sealed> {
    check_custodians(&opts.custodians, opts.threshold)?;
    check_attestations(&opts.custodians, &opts.anchors)?;
    if opts.entries.is_empty() {
        return Err(Error::Usage(
            "nothing to seal: give at least one entry".into(),
        ));
    }
    let payload = Payload::new(opts.entries)?;
    ui.say(
        Level::Step,
        &format!(
            "Creating vault in {} ({}-of-{})",
            opts.dir.display(),
            opts.threshold,
            opts.custodians.len()
        ),
    );
    let vault = Vault::create(&opts.dir)?;
    let mut vault_id = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut vault_id)
        .map_err(|e| crate::keys::KeyError::Rng(e.to_string()))?;
    let vault_hex = crate::encoding::hex(&vault_id);
    let key = MasterKey::generate()?;
    let log_key = key.log_mac_key(&vault_id)?;
    let mut log = Log::at_head(&vault.log_path(), &vault_hex, None);
    let names: Vec<&str> = opts.custodians.iter().map(|c| c.name.as_str()).collect();
    log.append(
        events::VAULT_CREATED,
        1,
        log_data! {"threshold" => opts.threshold, "custodians" => names},
        Some(&log_key),
    )?;
    for c in &opts.custodians {
        let tokens: Vec<String> = c.tokens.iter().map(|t| t.fingerprint()).collect();
        log.append(
            events::CUSTODIAN_ENROLLED,
            1,
            log_data! {"custodian" => c.name, "tokens" => tokens},
            Some(&log_key),
        )?;
    }
    ui.say(
        Level::Step,
        "Splitting a fresh vault key into one share per custodian",
    );
    let now = Timestamp::now().to_rfc3339();
    let mut built = build_generation(
        &key,
        &vault_id,
        1,
        opts.threshold,
        &opts.custodians,
        &payload,
        &now,
        &now,
    )?;
    vault.write_generation(1, &built.payload_file, &built.share_files)?;
    let entry_names: Vec<&str> = payload.entries.iter().map(|e| e.name()).collect();
    let head = log.append(
        events::SEALED,
        1,
        log_data! {
            "reason" => "init",
            "generation" => 1,
            "threshold" => opts.threshold,
            "custodians" => names,
            "entries" => entry_names,
            "payload_digest" => built.manifest.payload.digest,
        },
        Some(&log_key),
    )?;
    built.manifest.log_head = head.clone();
    built.manifest.seal(&key.manifest_mac_key(&vault_id)?)?;
    vault.commit_manifest(&built.manifest)?;
    ui.say(Level::Step, "Vault sealed (generation 1)");
    Ok(Sealed {
        vault_id: vault_hex,
        generation: 1,
        fingerprint: built.manifest.fingerprint(),
        receipt: head,
    })
}
