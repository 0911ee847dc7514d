//! Bringing a quorum together: the common path of unseal, reseal and drills.
//!
//! Order: verify the log (chain + anchor, one pass that also collects this
//! generation's quorum-MACed entries) → remove leftovers of an interrupted
//! reseal (logged) → log the request (before any share
//! is touched) → collect shares from distinct custodians, each checked against
//! its commitment and its envelope binding, each acceptance or rejection
//! logged → combine → verify the manifest MAC (only now is the manifest
//! trusted) → verify the quorum MACs of this generation's log entries.

use serde_json::{Map, Value};

use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::keys::{MacKey, MasterKey};
use crate::log::{self, events, Log, VerifyReport};
use crate::log_data;
use crate::manifest::{sha256_hex, LogHead, Manifest};
use crate::shamir::{self, Share};
use crate::token::{self, SuppliedIdentity};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// Who asks, and why.
pub struct Request<'a> {
    /// Event to log first (`unseal-requested`, `drill`, …).
    pub event: &'a str,
    /// Data of that event (ticket, reason, …).
    pub data: Map<String, Value>,
    /// Explicit override of a broken log: the reason, logged.
    pub override_broken_log: Option<&'a str>,
    /// Supplied software identity files.
    pub identities: &'a [SuppliedIdentity],
    /// Custodians in the order they present (empty: ask).
    pub order: &'a [String],
}

/// A vault opened by a quorum.
pub struct Opened {
    /// The master key of the current generation.
    pub key: MasterKey,
    /// The authenticated manifest.
    pub manifest: Manifest,
    /// The log, positioned at its head.
    pub log: Log,
    /// The log MAC key of the current generation.
    pub log_key: MacKey,
    /// Custodians whose shares were used.
    pub custodians: Vec<String>,
    /// Sequence number of the request entry.
    pub request_seq: u64,
    /// Vault id bytes.
    pub vault_id: [u8; 16],
}

impl Opened {
    /// Reads the payload file, checks it against the digest in the
    /// authenticated manifest, decrypts it with the rebuilt key and checks its
    /// entries are those the manifest lists.
    pub fn payload(&self, vault: &Vault) -> Result<crate::payload::Payload> {
        let m = &self.manifest;
        let file = vault.read_data(&m.payload.file)?;
        if !crate::secret::ct_eq(sha256_hex(&file).as_bytes(), m.payload.digest.as_bytes()) {
            return Err(Error::PayloadDigest);
        }
        let identity = self.key.payload_identity(&self.vault_id)?;
        let plain = crate::ceremony::age_decrypt(&identity, &file, crate::payload::MAX_SIZE)
            .map_err(|e| Error::Age(format!("the payload cannot be decrypted: {e}")))?;
        let payload = crate::payload::Payload::from_bytes(&plain)?;
        if payload.index() != m.entries {
            return Err(Error::Payload(crate::payload::PayloadError::Malformed(
                "the payload's entries differ from those listed in the manifest".into(),
            )));
        }
        Ok(payload)
    }

    /// [`Opened::payload`], logging an `unseal-aborted` entry (quorum-MACed)
    /// when the payload cannot be used.
    pub fn payload_or_abort(&mut self, vault: &Vault) -> Result<crate::payload::Payload> {
        self.payload(vault).or_else(|e| {
            self.log.append(
                events::UNSEAL_ABORTED,
                self.manifest.generation,
                log_data! {"request" => self.request_seq, "why" => e.to_string()},
                Some(&self.log_key),
            )?;
            Err(e)
        })
    }
}

/// Verifies the log against the manifest anchor; on a problem, refuses unless
/// an override reason is given (then logs the override). Returns the log
/// positioned for appending.
pub fn checked_log(
    vault: &Vault,
    manifest: &Manifest,
    override_reason: Option<&str>,
    ticket: Option<&str>,
    ui: &mut dyn Ui,
) -> Result<(Log, VerifyReport)> {
    checked_log_collecting(vault, manifest, override_reason, ticket, ui)
        .map(|(log, report, _)| (log, report))
}

/// [`checked_log`], also returning the quorum-MACed entries of the current
/// generation (collected in the same pass, to be checked once the key is rebuilt).
fn checked_log_collecting(
    vault: &Vault,
    manifest: &Manifest,
    override_reason: Option<&str>,
    ticket: Option<&str>,
    ui: &mut dyn Ui,
) -> Result<(Log, VerifyReport, Vec<log::Entry>)> {
    let mut maced = Vec::new();
    let report = log::verify(&vault.log_path(), Some(&manifest.log_head), |e| {
        if mac_checkable(manifest, e) {
            maced.push(e.clone());
        }
    })?;
    let mut log = Log::at_head(&vault.log_path(), &manifest.vault_id, report.head.clone());
    if report.is_intact() {
        return Ok((log, report, maced));
    }
    let explanation = report.explain();
    if report.torn_tail.is_some() && report.problem.is_none() {
        return Err(Error::LogBroken { explanation });
    }
    let Some(reason) = override_reason else {
        return Err(Error::LogBroken {
            explanation: format!(
                "{explanation}. Nothing was opened. Restore the log from a backup copy of the vault, or, in an emergency, proceed with --override-broken-log \"<reason>\" (the override is itself logged)"
            ),
        });
    };
    // Continue the chain from the physical end of the file, so the override
    // entry is appended after (not over) whatever is there.
    let end = physical_end(vault)?;
    log = Log::at_head(&vault.log_path(), &manifest.vault_id, end);
    ui.say(
        Level::Warn,
        &format!("Proceeding despite a broken audit log, by explicit override: {explanation}"),
    );
    log.append(
        events::INTEGRITY_OVERRIDE,
        manifest.generation,
        log_data! {"problem" => explanation, "reason" => reason, "ticket" => ticket.unwrap_or("")},
        None,
    )?;
    Ok((log, report, maced))
}

/// Sequence number and hash of the last complete line, read loosely.
fn physical_end(vault: &Vault) -> Result<Option<LogHead>> {
    let path = vault.log_path();
    let bytes = std::fs::read(&path).map_err(|source| log::LogError::Io {
        path: path.clone(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    Ok(last.and_then(|l| {
        let v: Value = serde_json::from_str(l).ok()?;
        Some(LogHead {
            hash: v.get("hash")?.as_str()?.to_owned(),
            seq: v.get("seq")?.as_u64()?,
        })
    }))
}

/// Collects shares and rebuilds the key. See the module docs for the order.
pub fn open(vault: &Vault, req: Request<'_>, ui: &mut dyn Ui) -> Result<Opened> {
    let (manifest, _) = vault.read_manifest()?;
    let ticket = req
        .data
        .get("ticket")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (mut log, _, maced) = checked_log_collecting(
        vault,
        &manifest,
        req.override_broken_log,
        ticket.as_deref(),
        ui,
    )?;
    recover_leftovers(vault, &manifest, &mut log)?;
    let fingerprint = manifest.fingerprint();
    let vault_id = manifest.vault_id_bytes()?;
    let g = manifest.generation;
    let t = manifest.threshold;
    let request = log.append(req.event, g, req.data, None)?;
    ui.say(
        Level::Info,
        &format!(
            "Vault fingerprint {fingerprint} (generation {g}); {t} of {} custodians needed",
            manifest.custodians.len()
        ),
    );
    let mut accepted: Vec<(String, Share)> = Vec::new();
    let mut rejected: Vec<(String, String)> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let mut order = req.order.iter();
    while accepted.len() < t as usize {
        // Next custodian: from the given order, else ask among those not yet tried.
        let name = match order.next() {
            Some(n) => n.clone(),
            None if !req.order.is_empty() => break,
            None => {
                let remaining: Vec<String> = manifest
                    .custodians
                    .iter()
                    .map(|c| c.name.clone())
                    .filter(|n| !tried.contains(n))
                    .collect();
                if remaining.len() + accepted.len() < t as usize {
                    break;
                }
                let i = ui.choose(
                    &format!("unseal.custodian.{}", accepted.len() + 1),
                    &format!(
                        "Custodian {} of {t}: who presents their share?",
                        accepted.len() + 1
                    ),
                    &remaining,
                )?;
                remaining.get(i).cloned().unwrap_or_default()
            }
        };
        if accepted.iter().any(|(n, _)| *n == name) || tried.contains(&name) {
            ui.say(
                Level::Warn,
                &format!("{name} has already presented; the same custodian counts once — another custodian is needed"),
            );
            continue;
        }
        tried.push(name.clone());
        let Some(record) = manifest.custodian(&name) else {
            let why = format!("'{name}' is not a custodian of this vault");
            ui.say(Level::Warn, &why);
            rejected.push((name.clone(), why));
            continue;
        };
        ui.say(Level::Step, &format!("{name}: presenting share"));
        match present(vault, &manifest, record, req.identities, &fingerprint, ui) {
            Ok((share, token)) => {
                log.append(
                    events::SHARE_ACCEPTED,
                    g,
                    log_data! {"custodian" => name, "request" => request.seq, "token" => token},
                    None,
                )?;
                ui.say(Level::Info, &format!("{name}: share accepted"));
                accepted.push((name, share));
            }
            Err(why) => {
                log.append(
                    events::SHARE_REJECTED,
                    g,
                    log_data! {"custodian" => name, "request" => request.seq, "why" => why},
                    None,
                )?;
                ui.say(Level::Warn, &format!("{name}: share rejected: {why}"));
                rejected.push((name, why));
            }
        }
    }
    if accepted.len() < t as usize {
        let details: String = rejected
            .iter()
            .map(|(n, w)| format!("; {n}: {w}"))
            .collect();
        log.append(
            events::UNSEAL_ABORTED,
            g,
            log_data! {"request" => request.seq, "why" => format!("{} of {t} shares", accepted.len())},
            None,
        )?;
        return Err(Error::NotEnoughShares {
            have: accepted.len(),
            need: t as usize,
            details,
        });
    }
    let shares: Vec<&Share> = accepted.iter().map(|(_, s)| s).collect();
    let key = crate::keys::MasterKey::from_secret(shamir::combine(&shares, t)?)?;
    if let Err(e) = manifest.verify_mac(&key.manifest_mac_key(&vault_id)?) {
        log.append(
            events::UNSEAL_ABORTED,
            g,
            log_data! {"request" => request.seq, "why" => "manifest MAC does not verify under the rebuilt key"},
            None,
        )?;
        return Err(e.into());
    }
    let log_key = key.log_mac_key(&vault_id)?;
    check_quorum_macs(&maced, &manifest, &log_key)?;
    Ok(Opened {
        key,
        manifest,
        log,
        log_key,
        custodians: accepted.into_iter().map(|(n, _)| n).collect(),
        request_seq: request.seq,
        vault_id,
    })
}

/// One custodian presents: commitment, token, envelope binding. Returns the
/// share and the fingerprint of the token that opened it. Errors are
/// returned as text for the log (never containing secret material).
fn present(
    vault: &Vault,
    manifest: &Manifest,
    record: &crate::manifest::CustodianRecord,
    identities: &[SuppliedIdentity],
    fingerprint: &str,
    ui: &mut dyn Ui,
) -> std::result::Result<(Share, String), String> {
    let file = vault.read_data(&record.share).map_err(|e| e.to_string())?;
    if !crate::secret::ct_eq(sha256_hex(&file).as_bytes(), record.commitment.as_bytes()) {
        return Err(format!(
            "{}'s share file does not match its commitment in the manifest (altered or substituted); restore it from a backup copy",
            record.name
        ));
    }
    let opened = token::open_share(
        &record.name,
        &record.tokens,
        &file,
        identities,
        fingerprint,
        ui,
    )
    .map_err(|e| e.to_string())?;
    let env = Envelope::decode(opened.plaintext.expose())
        .map_err(|e| format!("{}'s {e}", record.name))?;
    env.check_binding(
        &manifest.vault_id_bytes().map_err(|e| e.to_string())?,
        manifest.generation,
        &record.name,
        manifest.threshold,
        record.x,
    )
    .map_err(|e| format!("{}'s {e}", record.name))?;
    Ok((env.share, opened.token))
}

/// Whether `e` carries a quorum MAC that the current generation's log key
/// must verify: a MACed entry of the manifest's generation at or after the
/// `sealed` entry the manifest anchors.
///
/// Entries before the anchor are already authenticated by it (the manifest,
/// MACed under the key, records the hash of the chain up to there). Among them
/// may be entries of an interrupted reseal or rekey that carry the same
/// generation number but a MAC under a key that was never committed (a crash
/// after its `sealed` entry, before its manifest rename): checking those under
/// the committed key would wrongly call the log forged.
pub(crate) fn mac_checkable(manifest: &Manifest, e: &log::Entry) -> bool {
    e.mac.is_some() && e.generation == manifest.generation && e.seq >= manifest.log_head.seq
}

/// Checks every quorum MAC of the current generation's entries.
fn check_quorum_macs(entries: &[log::Entry], manifest: &Manifest, key: &MacKey) -> Result<()> {
    let (_, failed) = log::check_macs(entries, manifest.generation, key);
    if let Some(seq) = failed.first() {
        return Err(Error::LogBroken {
            explanation: format!(
                "entry {seq} claims to be written by a quorum but its MAC does not verify: it was forged or altered"
            ),
        });
    }
    Ok(())
}

/// Removes generation directories other than the manifest's (leftovers of a
/// crash) and logs each removal of an uncommitted one.
pub(crate) fn recover_leftovers(vault: &Vault, manifest: &Manifest, log: &mut Log) -> Result<()> {
    let leftovers: Vec<u64> = vault
        .generations_on_disk()
        .into_iter()
        .filter(|g| *g != manifest.generation)
        .collect();
    if leftovers.is_empty() {
        return Ok(());
    }
    vault.remove_other_generations(manifest.generation)?;
    for g in leftovers.into_iter().filter(|g| *g > manifest.generation) {
        log.append(
            events::SEAL_ROLLED_BACK,
            manifest.generation,
            log_data! {"generation" => g, "why" => "a reseal was interrupted before its commit; the vault stayed at the previous generation"},
            None,
        )?;
    }
    Ok(())
}
