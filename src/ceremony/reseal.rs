//! Reseal after rotation: a quorum opens the vault for a ticket, the
//! credentials are changed (typed, generated, new TOTP seed, added, removed),
//! and a new generation is sealed with a new random key and fresh shares.
//!
//! The new generation is committed by
//! `generation::seal_next` (the generation
//! module gives the crash-safe commit protocol), certified by the opening
//! quorum. Custodian keys come only from the manifest the log certifies. A
//! reseal of a format 1 vault migrates it (see [`super::migrate`]).

use std::path::PathBuf;

use super::custodians::descriptors_of;
use super::generation::{seal_next, Next, Sealed};
use super::quorum::{self, Opened, QuorumInput, Request};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::log::events;
use crate::log_data;
use crate::passgen::{self, Policy};
use crate::payload::{Entry, Payload};
use crate::secret::SecretString;
use crate::totp::TotpSeed;
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// One change to the vault's entries.
pub enum Change {
    /// Replace an entry's secret with a value typed by the custodians
    /// (asked through the Ui as `entry.NAME.value`).
    Set(String),
    /// Replace a password with a generated one.
    Generate(String, Policy),
    /// Replace a TOTP seed with a fresh one (re-enrolling a virtual MFA device).
    NewTotp(String),
    /// Add a new entry.
    Add(Entry),
    /// Remove an entry.
    Remove(String),
}

/// What a reseal needs.
pub struct ResealOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Ticket (the unseal's incident ticket, or a rotation ticket).
    pub ticket: String,
    /// Reason, e.g. "rotation after INC-4711".
    pub reason: String,
    /// Changes to apply (may be empty: a periodic reseal with fresh shares).
    pub changes: Vec<Change>,
    /// Identities, presentation order, override, expected receipt.
    pub quorum: QuorumInput,
    /// `reseal`, or `migrate` (a reseal whose purpose is the format change).
    pub purpose: &'static str,
}

fn find<'a>(p: &'a mut Payload, name: &str) -> Result<&'a mut Entry> {
    p.entries
        .iter_mut()
        .find(|e| e.name() == name)
        .ok_or_else(|| Error::Usage(format!("the vault has no entry named '{name}'")))
}

/// Applies the changes; returns the log description of each (names only).
fn apply(
    payload: &mut Payload,
    changes: Vec<Change>,
    ui: &mut dyn Ui,
    opened: &mut Opened,
) -> Result<Vec<serde_json::Value>> {
    let mut described = Vec::new();
    // Values to show at the provider are logged (by name) before they are shown.
    // (Setting a TOTP seed shows two codes of it: logged too.)
    let shown: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Generate(n, _) | Change::NewTotp(n) => Some(n.clone()),
            Change::Set(n) if payload.get(n).is_some_and(|e| e.kind() == "totp") => Some(n.clone()),
            _ => None,
        })
        .collect();
    if !shown.is_empty() {
        opened.append(
            events::ROTATION_VALUES_SHOWN,
            log_data! {"entries" => shown},
        )?;
    }
    for change in changes {
        match change {
            Change::Set(name) => {
                let value = ui.secret(
                    &format!("entry.{name}.value"),
                    &format!("New secret value of '{name}' (not echoed)"),
                )?;
                match find(payload, &name)? {
                    Entry::Password { value: v, .. } | Entry::Note { text: v, .. } => {
                        *v = zeroize::Zeroizing::new(value.expose().to_owned());
                    }
                    e @ Entry::Totp { .. } => {
                        let seed = TotpSeed::parse(value.expose())
                            .map_err(|err| Error::Usage(format!("entry '{name}': {err}")))?;
                        // Providers ask for two consecutive codes to enroll the new device.
                        let now = Timestamp::now().0.max(0) as u64;
                        let (c1, c2) = seed
                            .two_consecutive(now)
                            .map_err(|err| Error::Usage(format!("entry '{name}': {err}")))?;
                        ui.reveal(
                            &format!("{name}.codes"),
                            &SecretString::new(format!("{c1} {c2}")),
                        );
                        set_totp(e, &seed);
                    }
                }
                described.push(serde_json::json!({"entry": name, "change": "set"}));
            }
            Change::Generate(name, policy) => {
                let new = passgen::generate(&policy)
                    .map_err(|e| Error::Usage(format!("entry '{name}': {e}")))?;
                match find(payload, &name)? {
                    Entry::Password { value, .. } => {
                        *value = zeroize::Zeroizing::new(new.expose().to_owned())
                    }
                    _ => {
                        return Err(Error::Usage(format!(
                            "entry '{name}' is not a password; --generate applies to passwords"
                        )))
                    }
                }
                ui.reveal(&format!("{name}.password"), &new);
                described.push(serde_json::json!({"entry": name, "change": "generated", "length": policy.length}));
            }
            Change::NewTotp(name) => {
                let e = find(payload, &name)?;
                let Some(params) = e.totp_params() else {
                    return Err(Error::Usage(format!("entry '{name}' is not a TOTP entry")));
                };
                let seed = TotpSeed::generate(params)
                    .map_err(|err| Error::Usage(format!("entry '{name}': {err}")))?;
                let now = Timestamp::now().0.max(0) as u64;
                let (c1, c2) = seed
                    .two_consecutive(now)
                    .map_err(|err| Error::Usage(format!("entry '{name}': {err}")))?;
                set_totp(e, &seed);
                ui.reveal(&format!("{name}.seed"), &seed.to_base32());
                let uri = payload
                    .otpauth_uri(&name)
                    .unwrap_or_else(|| seed.to_otpauth_uri(&name));
                ui.reveal(&format!("{name}.otpauth"), &uri);
                ui.reveal(
                    &format!("{name}.codes"),
                    &SecretString::new(format!("{c1} {c2}")),
                );
                described.push(serde_json::json!({"entry": name, "change": "new-totp-seed"}));
            }
            Change::Add(entry) => {
                let name = entry.name().to_owned();
                if payload.get(&name).is_some() {
                    return Err(Error::Usage(format!(
                        "an entry named '{name}' already exists"
                    )));
                }
                payload.entries.push(entry);
                described.push(serde_json::json!({"entry": name, "change": "added"}));
            }
            Change::Remove(name) => {
                find(payload, &name)?;
                payload.entries.retain(|e| e.name() != name);
                described.push(serde_json::json!({"entry": name, "change": "removed"}));
            }
        }
    }
    if payload.entries.is_empty() {
        return Err(Error::Usage("a vault must keep at least one entry".into()));
    }
    payload.validate()?;
    Ok(described)
}

fn set_totp(e: &mut Entry, seed: &TotpSeed) {
    if let Entry::Totp {
        seed: s,
        algorithm,
        digits,
        period,
        ..
    } = e
    {
        let p = seed.params();
        *s = zeroize::Zeroizing::new(seed.to_base32().expose().to_owned());
        *algorithm = p.algorithm;
        *digits = p.digits;
        *period = p.period;
    }
}

/// Runs the reseal ceremony.
pub fn reseal(opts: ResealOptions, ui: &mut dyn Ui) -> Result<Sealed> {
    crate::ceremony::unseal::check_text("ticket", &opts.ticket)?;
    crate::ceremony::unseal::check_text("reason", &opts.reason)?;
    let vault = Vault::open(&opts.dir)?;
    ui.say(
        Level::Step,
        "Verifying the audit log and recording the reseal request",
    );
    let mut opened = quorum::open(
        &vault,
        Request {
            event: events::RESEAL_REQUESTED,
            data: log_data! {"ticket" => opts.ticket.trim(), "reason" => opts.reason.trim()},
            input: &opts.quorum,
            format1: true,
        },
        ui,
    )?;
    let mut payload = opened.payload_or_abort(&vault)?;
    ui.say(Level::Step, "Applying the changes");
    let changes = match apply(&mut payload, opts.changes, ui, &mut opened) {
        Ok(c) => c,
        Err(e) => {
            opened.abort(&e.to_string())?;
            return Err(e);
        }
    };
    if changes
        .iter()
        .any(|c| c["change"] == "generated" || c["change"] == "new-totp-seed")
    {
        let done = ui.confirm(
            "reseal.provider-updated",
            "Set the new values at the provider now (password, MFA device with the two codes). Done?",
        )?;
        if !done {
            opened.abort("provider not updated; nothing resealed")?;
            return Err(Error::Usage(
                "reseal cancelled: the provider was not updated, so the vault keeps its current values".into(),
            ));
        }
    }
    let custodians = descriptors_of(&opened.manifest);
    let threshold = opened.manifest.threshold;
    seal_next(
        &vault,
        &mut opened,
        Next {
            reason: opts.purpose,
            ticket: opts.ticket.trim(),
            threshold,
            custodians: &custodians,
            payload: &payload,
            details: log_data! {"changes" => changes},
        },
        ui,
    )
}
