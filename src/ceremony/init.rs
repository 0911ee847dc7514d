//! Setup ceremony: create a vault from enrolled custodians and the secrets.
//!
//! Order (each step durable before the next): vault directory and lock →
//! fresh vault id and key `K`, genesis key `S_1` → log entries
//! `vault-created` (the root of trust: it names `S_1` and is signed by it)
//! and `custodian-enrolled` (signed) → generation 1 written and fsynced with
//! its manifest → `sealed` entry certifying that manifest (the commit point)
//! → manifest.json (`generation::commit`). The vault fingerprint is
//! derived from the vault id and `S_1`; custodians write it on paper now, and
//! it never changes. A crash before the commit leaves a directory without
//! `manifest.json`, which is not a vault; `init` names it.

use std::path::PathBuf;

use rand::RngCore;

use super::generation::{build_generation, commit, Certifier, Contents, Sealed};
use super::{check_attestations, check_custodians};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::log::{events, By, Log};
use crate::log_data;
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
    let genesis = key.signing_key(&vault_id)?;
    let genesis_hex = genesis.public().to_hex();
    let mut log = Log::at_head(&vault.log_path(), &vault_hex, None);
    let names: Vec<&str> = opts.custodians.iter().map(|c| c.name.as_str()).collect();
    log.append(
        events::VAULT_CREATED,
        1,
        log_data! {"threshold" => opts.threshold, "custodians" => names, "genesis_key" => genesis_hex, "format" => 2},
        By::Quorum(&genesis),
    )?;
    for c in &opts.custodians {
        let tokens: Vec<String> = c.tokens.iter().map(|t| t.fingerprint()).collect();
        log.append(
            events::CUSTODIAN_ENROLLED,
            1,
            log_data! {"custodian" => c.name, "tokens" => tokens},
            By::Quorum(&genesis),
        )?;
    }
    ui.say(
        Level::Step,
        "Splitting a fresh vault key into one share per custodian",
    );
    let now = Timestamp::now().to_rfc3339();
    let built = build_generation(
        &key,
        &Contents {
            vault_id: &vault_id,
            generation: 1,
            threshold: opts.threshold,
            custodians: &opts.custodians,
            payload: &payload,
            created: &now,
            genesis_key: genesis_hex,
        },
    )?;
    let entry_names: Vec<&str> = payload.entries.iter().map(|e| e.name()).collect();
    let (manifest, head) = commit(
        &vault,
        &mut log,
        built,
        &genesis,
        Certifier::Root,
        log_data! {"reason" => "init", "entries" => entry_names},
        &|step| crate::hooks::kill_point(&format!("init.{step}")),
    )?;
    ui.say(Level::Step, "Vault sealed (generation 1)");
    for line in sealed_summary(&payload, Timestamp::now().0.max(0) as u64) {
        ui.say(Level::Info, &line);
    }
    Ok(Sealed {
        vault_id: vault_hex,
        generation: 1,
        fingerprint: manifest.fingerprint(),
        receipt: head,
    })
}

/// One line per sealed entry: its name and kind, and for a TOTP seed the
/// current code, to compare with the authenticator app before the seed's
/// only other copy is destroyed.
fn sealed_summary(payload: &Payload, unix_now: u64) -> Vec<String> {
    payload
        .entries
        .iter()
        .map(|e| {
            let code = e.totp_seed().and_then(|seed| seed.code_at(unix_now).ok());
            match code {
                Some(code) => format!(
                    "sealed: {} (totp): current code {code}; compare it with the authenticator app",
                    e.name()
                ),
                None => format!("sealed: {} ({})", e.name(), e.kind()),
            }
        })
        .collect()
}
