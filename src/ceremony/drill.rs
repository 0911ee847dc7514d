//! Drills: prove that custodians can still open the vault, without opening it.
//!
//! * **Custodian drill** ([`custodian_drill`]): one custodian opens *their*
//!   share with their token; the share file is checked against its
//!   commitment in the manifest and the envelope against its binding (vault
//!   id, generation, name, threshold, x). Nothing is combined; the share is
//!   wiped on return. Logged as `drill` `{kind:"custodian", custodian,
//!   result:"ok"|"failed", why?}` (no MAC: the key is not known). The
//!   manifest itself cannot be authenticated without a quorum, so a custodian
//!   drill proves "my token opens the share this manifest commits to".
//! * **Quorum drill** ([`quorum_drill`]): the whole unseal path — request
//!   logged (`drill-requested`, never `unseal-requested`), shares collected
//!   through [`quorum::open`], key combined, manifest MAC verified, every
//!   quorum MAC of the current generation verified, payload digest checked,
//!   payload decrypted and parsed, its index compared to the manifest — and
//!   nothing shown. Logged as `drill` `{kind:"quorum", custodians,
//!   result, request, quorum_macs_verified, why?}`, MACed under the log key.
//!
//! Drills never write `unseal-granted`, so they are never activations
//! (governance counts only `unseal-granted`). Every attempt that reached the
//! log is recorded, failed ones included; a failed drill is a finding
//! (exit 1), not an operational error.

use std::path::PathBuf;

use crate::ceremony::quorum::{self, Request};
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::log::{self, events, Log};
use crate::log_data;
use crate::manifest::{sha256_hex, LogHead, Manifest};
use crate::token::{self, SuppliedIdentity, TokenError};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// What a drill proved.
#[derive(Debug, Clone)]
pub struct DrillOutcome {
    /// `custodian` or `quorum`.
    pub kind: &'static str,
    /// Whether the drill succeeded.
    pub ok: bool,
    /// Why it failed.
    pub why: Option<String>,
    /// Custodians the drill covered.
    pub custodians: Vec<String>,
    /// Quorum MACs of the current generation verified (quorum drill).
    pub macs_verified: u64,
    /// MACed entries before the anchor or of an older generation (authenticated by
    /// the anchor and the hash chain; their keys are gone).
    pub macs_older: u64,
    /// Vault id.
    pub vault_id: String,
    /// Generation drilled.
    pub generation: u64,
    /// Log head after the drill (the receipt).
    pub receipt: LogHead,
}

/// Options of a custodian drill.
pub struct CustodianDrillOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// The custodian.
    pub custodian: String,
    /// Supplied software identity files.
    pub identities: Vec<SuppliedIdentity>,
}

/// Checks one custodian's share without combining anything.
fn check_share(
    vault: &Vault,
    manifest: &Manifest,
    name: &str,
    identities: &[SuppliedIdentity],
    ui: &mut dyn Ui,
) -> Result<std::result::Result<String, String>> {
    let Some(record) = manifest.custodian(name) else {
        return Err(Error::Usage(format!(
            "'{}' is not a custodian of this vault; its custodians are: {}",
            name.chars().take(40).collect::<String>(),
            manifest
                .custodians
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let file = match vault.read_data(&record.share) {
        Ok(f) => f,
        Err(e) => return Ok(Err(format!("{name}'s share file cannot be read: {e}"))),
    };
    if !crate::secret::ct_eq(sha256_hex(&file).as_bytes(), record.commitment.as_bytes()) {
        return Ok(Err(format!(
            "{name}'s share file does not match its commitment in the manifest (altered or substituted); restore it from a backup copy"
        )));
    }
    ui.say(Level::Step, &format!("{name}: opening the share"));
    let opened = match token::open_share(
        name,
        &record.tokens,
        &file,
        identities,
        &manifest.fingerprint(),
        ui,
    ) {
        Ok(p) => p,
        // Prompts cancelled or unanswered: no drill took place.
        Err(TokenError::Ui(e)) => return Err(e.into()),
        Err(e) => return Ok(Err(e.to_string())),
    };
    let env = match Envelope::decode(opened.plaintext.expose()) {
        Ok(e) => e,
        Err(e) => return Ok(Err(format!("{name}'s {e}"))),
    };
    let binding = env.check_binding(
        &manifest.vault_id_bytes()?,
        manifest.generation,
        name,
        manifest.threshold,
        record.x,
    );
    Ok(binding
        .map(|()| opened.token)
        .map_err(|e| format!("{name}'s {e}")))
}

/// Runs a custodian drill and logs its result.
pub fn custodian_drill(opts: CustodianDrillOptions, ui: &mut dyn Ui) -> Result<DrillOutcome> {
    let vault = Vault::open(&opts.dir)?;
    let (manifest, _) = vault.read_manifest()?;
    ui.say(Level::Step, "Verifying the audit log");
    let (mut log, _) = quorum::checked_log(&vault, &manifest, None, None, ui)?;
    ui.say(
        Level::Info,
        &format!(
            "Vault fingerprint {} (generation {}); custodian drill for {}",
            manifest.fingerprint(),
            manifest.generation,
            opts.custodian
        ),
    );
    let result = check_share(&vault, &manifest, &opts.custodian, &opts.identities, ui)?;
    let mut data = log_data! {
        "kind" => "custodian",
        "custodian" => opts.custodian,
        "result" => if result.is_ok() { "ok" } else { "failed" },
    };
    match &result {
        Ok(token) => data.insert("token".into(), token.as_str().into()),
        Err(why) => data.insert("why".into(), why.as_str().into()),
    };
    let receipt = log.append(events::DRILL, manifest.generation, data, None)?;
    match &result {
        Ok(token) => ui.say(
            Level::Step,
            &format!(
                "{}: share opens with token {token}, matches its commitment and its binding",
                opts.custodian
            ),
        ),
        Err(why) => ui.say(Level::Warn, &format!("drill FAILED: {why}")),
    }
    Ok(DrillOutcome {
        kind: "custodian",
        ok: result.is_ok(),
        why: result.err(),
        custodians: vec![opts.custodian],
        macs_verified: 0,
        macs_older: 0,
        vault_id: manifest.vault_id,
        generation: manifest.generation,
        receipt,
    })
}

/// Options of a quorum drill.
pub struct QuorumDrillOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Supplied software identity files.
    pub identities: Vec<SuppliedIdentity>,
    /// Custodians in presentation order (empty: ask).
    pub order: Vec<String>,
}

/// Runs the whole unseal path without revealing anything, and logs the result.
pub fn quorum_drill(opts: QuorumDrillOptions, ui: &mut dyn Ui) -> Result<DrillOutcome> {
    let vault = Vault::open(&opts.dir)?;
    let (manifest, _) = vault.read_manifest()?;
    let before = log::verify(&vault.log_path(), None, |_| {})?
        .head
        .map_or(0, |h| h.seq);
    ui.say(
        Level::Step,
        "Quorum drill: verifying the audit log and recording the request",
    );
    let opened = quorum::open(
        &vault,
        Request {
            event: events::DRILL_REQUESTED,
            data: log_data! {"kind" => "quorum"},
            override_broken_log: None,
            identities: &opts.identities,
            order: &opts.order,
        },
        ui,
    );
    let opened = match opened {
        Ok(o) => o,
        Err(e) => {
            // Record the failed drill if its request reached the log.
            let report = log::verify(&vault.log_path(), None, |_| {})?;
            let Some(head) = report.head.clone().filter(|h| h.seq > before) else {
                return Err(e);
            };
            let mut log = Log::at_head(&vault.log_path(), &manifest.vault_id, Some(head));
            let why = e.to_string();
            let receipt = log.append(
                events::DRILL,
                manifest.generation,
                log_data! {"kind" => "quorum", "custodians" => Vec::<String>::new(),
                "result" => "failed", "request" => before + 1, "why" => why},
                None,
            )?;
            ui.say(Level::Warn, &format!("drill FAILED: {why}"));
            return Ok(DrillOutcome {
                kind: "quorum",
                ok: false,
                why: Some(why),
                custodians: Vec::new(),
                macs_verified: 0,
                macs_older: 0,
                vault_id: manifest.vault_id,
                generation: manifest.generation,
                receipt,
            });
        }
    };
    let manifest = &opened.manifest;
    let g = manifest.generation;
    ui.say(
        Level::Step,
        "Key rebuilt and manifest authenticated; checking the log MACs and the payload",
    );
    // Quorum MACs, streaming (quorum::open refused a forged one already; count them).
    let mut verified = 0u64;
    let mut older = 0u64;
    let mut failed: Vec<u64> = Vec::new();
    log::verify(&vault.log_path(), None, |e| {
        if e.mac.is_none() {
            return;
        }
        if !quorum::mac_checkable(manifest, e) {
            older += 1;
            return;
        }
        let (n, bad) = log::check_macs(std::slice::from_ref(e), g, &opened.log_key);
        verified += n - bad.len() as u64;
        failed.extend(bad);
    })?;
    let result = if let Some(seq) = failed.first() {
        Err(format!(
            "entry {seq} carries a quorum MAC that does not verify"
        ))
    } else {
        check_payload(&vault, &opened)
    };
    let mut data = log_data! {
        "kind" => "quorum",
        "custodians" => opened.custodians,
        "result" => if result.is_ok() { "ok" } else { "failed" },
        "request" => opened.request_seq,
        "quorum_macs_verified" => verified,
    };
    if let Err(why) = &result {
        data.insert("why".into(), why.as_str().into());
    }
    let mut log = opened.log;
    let receipt = log.append(events::DRILL, g, data, Some(&opened.log_key))?;
    match &result {
        Ok(()) => ui.say(
            Level::Step,
            &format!("Quorum drill passed; {verified} quorum MACs verified; nothing was shown"),
        ),
        Err(why) => ui.say(Level::Warn, &format!("drill FAILED: {why}")),
    }
    Ok(DrillOutcome {
        kind: "quorum",
        ok: result.is_ok(),
        why: result.err(),
        custodians: opened.custodians,
        macs_verified: verified,
        macs_older: older,
        vault_id: manifest.vault_id.clone(),
        generation: g,
        receipt,
    })
}

/// Payload digest, decryption, schema and index — nothing leaves this function.
fn check_payload(vault: &Vault, opened: &quorum::Opened) -> std::result::Result<(), String> {
    opened.payload(vault).map(drop).map_err(|e| e.to_string())
}
