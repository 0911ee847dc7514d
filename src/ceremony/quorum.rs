//! Bringing a quorum together: the common path of unseal, reseal, rekey,
//! migrate and drills.
//!
//! Order: [`prepare`] — judge the manifest against the log with public data
//! only ([`crate::history`]: chain, anchor, every signature, the certificate
//! of the current generation), refuse or take an explicit logged override,
//! complete an interrupted commit, and only then clean up other generation
//! directories — all before anyone is asked for a PIN; → log the request
//! (before any share is touched) → collect shares from distinct custodians,
//! each checked against its commitment and its envelope binding, each
//! acceptance or rejection logged → combine → check that the rebuilt key's
//! signing key is the manifest's (format 1: the manifest MAC).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::governance::receipt::{self, Receipt};
use crate::history::{self, History, Standing};
use crate::keys::MasterKey;
use crate::log::{self, events, By, Log, VerifyReport};
use crate::log_data;
use crate::manifest::{sha256_hex, LogHead, Manifest};
use crate::shamir::{self, Share};
use crate::sign::SigningKey;
use crate::token::{self, SuppliedIdentity};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// What every quorum ceremony (unseal, reseal, rekey, migrate, quorum
/// drill) is given besides its own options.
#[derive(Default)]
pub struct QuorumInput {
    /// Supplied software identity files.
    pub identities: Vec<SuppliedIdentity>,
    /// Custodians in the order they present (empty: ask).
    pub order: Vec<String>,
    /// Explicit override of a damaged log or a rolled-back manifest: the
    /// reason, logged.
    pub override_broken_log: Option<String>,
    /// The last receipt from the ticket: the log must still hold it.
    pub expect_receipt: Option<Receipt>,
    /// Custodians who present remotely, and how they are reached.
    pub remote: super::remote::RemoteSettings,
}

/// What is checked before a ceremony ([`prepare`]).
#[derive(Default, Clone, Copy)]
pub struct Checks<'a> {
    /// Explicit override (the reason, logged).
    pub override_broken_log: Option<&'a str>,
    /// The ceremony's ticket (recorded with an override).
    pub ticket: Option<&'a str>,
    /// Whether a format 1 vault may be opened (to migrate it).
    pub format1: bool,
    /// A receipt the log must hold.
    pub expect_receipt: Option<&'a Receipt>,
    /// Whether an override may open a manifest the log no longer certifies
    /// because the log was truncated before its seal (unseal only: opening
    /// reveals nothing the quorum's own tokens do not decrypt, but a
    /// generation nobody can show certified must never certify a successor).
    pub truncated_override: bool,
}

/// Who asks, and why.
pub struct Request<'a> {
    /// Event to log first (`unseal-requested`, `drill`, …).
    pub event: &'a str,
    /// Data of that event (ticket, reason, …).
    pub data: Map<String, Value>,
    /// Identities, order, override, receipt.
    pub input: &'a QuorumInput,
    /// Whether a format 1 vault may be opened (to migrate it).
    pub format1: bool,
}

/// A vault opened by a quorum.
pub struct Opened {
    /// The master key of the current generation.
    pub key: MasterKey,
    /// The authenticated manifest.
    pub manifest: Manifest,
    /// The log, positioned at its head.
    pub log: Log,
    /// The generation signing key `S_g` (what the quorum writes is signed).
    pub signer: SigningKey,
    /// Custodians whose shares were used.
    pub custodians: Vec<String>,
    /// Those of them who presented remotely.
    pub remote: Vec<String>,
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
        let plain = crate::token::agefile::decrypt(&identity, &file, crate::payload::MAX_SIZE)
            .map_err(|e| Error::Age(format!("the payload cannot be decrypted: {e}")))?;
        let payload = crate::payload::Payload::from_bytes(&plain)?;
        if payload.index() != m.entries {
            return Err(Error::Payload(crate::payload::PayloadError::Malformed(
                "the payload's entries differ from those listed in the manifest".into(),
            )));
        }
        Ok(payload)
    }

    /// [`Opened::payload`], logging an `unseal-aborted` entry (quorum-signed)
    /// when the payload cannot be used.
    pub fn payload_or_abort(&mut self, vault: &Vault) -> Result<crate::payload::Payload> {
        self.payload(vault).or_else(|e| {
            self.abort(&e.to_string())?;
            Err(e)
        })
    }

    /// Logs that the ceremony stopped, and why (quorum-signed).
    pub fn abort(&mut self, why: &str) -> Result<LogHead> {
        Ok(self.log.append(
            events::UNSEAL_ABORTED,
            self.manifest.generation,
            log_data! {"request" => self.request_seq, "why" => why},
            By::Quorum(&self.signer),
        )?)
    }

    /// Appends an entry signed by this quorum.
    pub fn append(&mut self, event: &str, data: Map<String, Value>) -> Result<LogHead> {
        Ok(self.log.append(
            event,
            self.manifest.generation,
            data,
            By::Quorum(&self.signer),
        )?)
    }
}

/// A vault judged and ready for a ceremony: the manifest in force, the log
/// positioned for appending, and what the verification found.
pub struct Prepared {
    /// The authenticated manifest.
    pub manifest: Manifest,
    /// The log, positioned for appending.
    pub log: Log,
    /// The log's verification.
    pub report: VerifyReport,
}

/// Judges the vault before any prompt (module docs): refuses a manifest no
/// quorum certified, refuses a broken log or a rollback unless
/// `override_reason` is given (then logs the override, naming every
/// problem), installs a certified manifest whose commit was interrupted,
/// then moves aside generation directories newer than the manifest and
/// removes older ones. `format1` allows a format 1 vault (migration).
pub fn prepare(vault: &Vault, checks: Checks<'_>, ui: &mut dyn Ui) -> Result<Prepared> {
    prepare_reading(vault, checks, ui, log::Reads::Chain, |_, _| {})
}

/// [`prepare`], calling `visit` for each entry of the verified chain in the
/// same pass.
pub fn prepare_visiting(
    vault: &Vault,
    checks: Checks<'_>,
    ui: &mut dyn Ui,
    visit: impl FnMut(&log::Entry, &log::trust::Authn),
) -> Result<Prepared> {
    prepare_reading(vault, checks, ui, log::Reads::Data, visit)
}

/// [`prepare_visiting`] for a visitor that reads what `reads` says.
fn prepare_reading(
    vault: &Vault,
    checks: Checks<'_>,
    ui: &mut dyn Ui,
    reads: log::Reads,
    mut visit: impl FnMut(&log::Entry, &log::trust::Authn),
) -> Result<Prepared> {
    let Checks {
        override_broken_log: override_reason,
        ticket,
        format1,
        expect_receipt,
        ..
    } = checks;
    let mut watch = expect_receipt.cloned().map(receipt::Watch::new);
    // The receipt's watch reads no data.
    let mut h = history::read_with(vault, false, reads, |e, a| {
        if let Some(w) = watch.as_mut() {
            w.observe(e);
        }
        visit(e, a)
    })?;
    if let Some(rooted) = history::read_rooted_in_manifest(vault, &h)? {
        if !checks.truncated_override {
            // Rooted in manifest.json itself, the chain proves only what the
            // manifest claims: enough to open (by override) what the quorum's
            // own tokens decrypt, never to certify a successor.
            return Err(Error::Untrusted {
                explanation: format!(
                    "the audit log's root entry is damaged, so nothing but manifest.json itself vouches for the current generation; {}. Restore log.jsonl from a backup copy before a reseal, rekey or migration (an emergency unseal can proceed with --override-broken-log)",
                    rooted.report.explain()
                ),
            });
        }
        ui.say(
            Level::Warn,
            &format!(
                "The audit log's root entry is damaged; its history was checked from the genesis key in manifest.json instead. Compare the vault fingerprint {} with the paper copy before anyone types a PIN",
                rooted.fingerprint()
            ),
        );
        h = rooted;
    }
    let receipt_problem = watch.as_ref().and_then(|w| {
        let check = w.finish(&h.report);
        (check != receipt::ReceiptCheck::Present).then(|| {
            format!(
                "the receipt from the ticket does not match: {}; the vault was rolled back or its log rewritten since that receipt was taken",
                check.explain(w.receipt())
            )
        })
    });
    match &h.standing {
        Standing::Format1 if !format1 => {
            return Err(Error::Usage(format!(
                "{} is a format 1 vault, whose history cannot be checked without secrets; a quorum migrates it to format 2 first: breakglass migrate --vault {} --ticket T --reason R (or any reseal migrates it)",
                vault.dir().display(),
                vault.dir().display()
            )))
        }
        Standing::NotCertified { .. } => {
            let truncated = matches!(h.report.anchor, log::AnchorStatus::Truncated { .. });
            if !(checks.truncated_override && truncated) {
                return Err(history::untrusted(&h));
            }
            // Its own signature must hold even so.
            h.manifest.verify_signatures(None)?;
        }
        _ => {}
    }
    let mut log = Log::at_head(
        &vault.log_path(),
        &h.manifest.vault_id,
        h.report.head.clone(),
    );
    // Everything through the head was just checked: the quorum entries this
    // ceremony signs say so (checkpoints; an overridden log gets none).
    if let Some(head) = h.report.head.as_ref().filter(|_| h.report.is_intact()) {
        log = log.with_checkpoint(head.seq);
    }
    let superseded = matches!(
        h.standing,
        Standing::Superseded { .. } | Standing::NotCertified { .. }
    );
    if superseded || !h.report.is_intact() || receipt_problem.is_some() {
        log = overridden(
            vault,
            &h,
            receipt_problem.as_deref(),
            override_reason,
            ticket,
            ui,
        )?;
    } else if let Some(w) = &watch {
        let r = w.receipt();
        log.append(
            events::RECEIPT_CHECKED,
            h.manifest.generation,
            log_data! {"seq" => r.seq, "hash" => r.hash_prefix},
            By::Nobody,
        )?;
        ui.say(
            Level::Info,
            &format!(
                "Receipt checked: the log still holds entry {} as recorded in the ticket",
                r.seq
            ),
        );
    }
    if let Some(stale) = history::install_pending(vault, &mut h)? {
        let g = h.manifest.generation;
        ui.say(
            Level::Warn,
            &format!("Completing an interrupted commit: generation {g} is certified in the log; installing its manifest (manifest.json was still generation {stale})"),
        );
        log.append(
            events::GENERATION_INSTALLED,
            g,
            log_data! {"generation" => g, "stale_generation" => stale, "why" => "the commit was interrupted after its sealed entry"},
            By::Nobody,
        )?;
    }
    if h.standing == Standing::Current {
        clean_up(vault, &h.manifest, &mut log, ui)?;
    }
    Ok(Prepared {
        manifest: h.manifest,
        log,
        report: h.report,
    })
}

/// The explicit override of a damaged log or a rolled-back manifest: refuse
/// without a reason, else log it (unsigned: no key is known yet) after the
/// physical end of the log and continue.
fn overridden(
    vault: &Vault,
    h: &History,
    receipt_problem: Option<&str>,
    override_reason: Option<&str>,
    ticket: Option<&str>,
    ui: &mut dyn Ui,
) -> Result<Log> {
    let explanation = receipt_problem
        .map(str::to_owned)
        .into_iter()
        .chain(std::iter::once(h.explain()).filter(|e| !e.is_empty()))
        .collect::<Vec<_>>()
        .join("; ");
    let r = &h.report;
    if r.torn_tail.is_some()
        && r.problem.is_none()
        && r.trust.findings.is_empty()
        && receipt_problem.is_none()
    {
        return Err(Error::LogBroken { explanation });
    }
    let Some(reason) = override_reason else {
        let kind = if (h.manifest_problem().is_some() && r.chain_intact())
            || receipt_problem.is_some()
        {
            Error::Untrusted {
                explanation: format!(
                    "{explanation}. Nothing was opened. In an emergency, proceed with --override-broken-log \"<reason>\" (the override is itself logged)"
                ),
            }
        } else {
            Error::LogBroken {
                explanation: format!(
                    "{explanation}. Nothing was opened. Restore the log from a backup copy of the vault, or, in an emergency, proceed with --override-broken-log \"<reason>\" (the override is itself logged)"
                ),
            }
        };
        return Err(kind);
    };
    let end = physical_end(vault)?;
    let mut log = Log::at_head(&vault.log_path(), &h.manifest.vault_id, end);
    ui.say(
        Level::Warn,
        &format!("Proceeding despite a damaged vault, by explicit override: {explanation}"),
    );
    let forged: Vec<u64> = r.trust.findings.iter().map(|f| f.seq).collect();
    log.append(
        events::INTEGRITY_OVERRIDE,
        h.manifest.generation,
        log_data! {"problem" => explanation, "reason" => reason, "ticket" => ticket.unwrap_or(""), "forged" => forged},
        By::Nobody,
    )?;
    Ok(log)
}

/// Generation directories other than the authenticated current one: newer
/// ones were never certified (an interrupted seal, or planted) and are moved
/// aside, never deleted, each logged; older ones are dead and removed.
fn clean_up(vault: &Vault, manifest: &Manifest, log: &mut Log, ui: &mut dyn Ui) -> Result<()> {
    let g = manifest.generation;
    for newer in vault.generations_on_disk().into_iter().filter(|n| *n > g) {
        let to = vault.set_aside(newer)?;
        ui.say(
            Level::Warn,
            &format!("Generation directory {newer} was never certified (an interrupted seal, or not written by breakglass); moved aside to {to}"),
        );
        log.append(
            events::GENERATION_SET_ASIDE,
            g,
            log_data! {"generation" => newer, "moved_to" => to, "why" => "never certified in the log"},
            By::Nobody,
        )?;
    }
    vault.remove_older_generations(g)?;
    Ok(())
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
    let ticket = req
        .data
        .get("ticket")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let input = req.input;
    let Prepared {
        manifest,
        mut log,
        report,
    } = prepare(
        vault,
        Checks {
            override_broken_log: input.override_broken_log.as_deref(),
            ticket: ticket.as_deref(),
            format1: req.format1,
            expect_receipt: input.expect_receipt.as_ref(),
            truncated_override: req.event == events::UNSEAL_REQUESTED,
        },
        ui,
    )?;
    let fingerprint = manifest.fingerprint();
    let vault_id = manifest.vault_id_bytes()?;
    let g = manifest.generation;
    let t = manifest.threshold;
    if let Some(n) = input
        .remote
        .names
        .iter()
        .find(|n| manifest.custodian(n).is_none())
    {
        let names: Vec<&str> = manifest
            .custodians
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(Error::Usage(format!(
            "--remote {n}: not a custodian of this vault (its custodians: {}); nothing was logged",
            names.join(", ")
        )));
    }
    if super::presenting::needs_pcscd(&manifest, &input.remote.names) {
        // One clear error before anything is logged, not one per custodian.
        token::yubikey::check_service().map_err(token::TokenError::from)?;
    }
    let reason = req
        .data
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let request = log.append(req.event, g, req.data, By::Nobody)?;
    ui.say(
        Level::Info,
        &format!(
            "Vault fingerprint {fingerprint} (generation {g}); {t} of {} custodians needed",
            manifest.custodians.len()
        ),
    );
    let trust = &report.trust;
    let certificates = trust
        .root
        .iter()
        .map(|r| r.seq)
        .chain(
            trust
                .generations
                .iter()
                .filter(|c| c.manifest_digest.is_some())
                .map(|c| c.seq),
        )
        .collect();
    let presentation = super::presenting::Presentation {
        vault,
        manifest: &manifest,
        request: request.seq,
        fingerprint: &fingerprint,
        event: req.event,
        ticket: ticket.as_deref().unwrap_or_default(),
        reason: &reason,
        certificates,
        remote: &input.remote,
    };
    let super::presenting::Collected {
        accepted,
        rejected,
        remote,
    } = super::presenting::collect(&presentation, &mut log, input, ui)?;
    if accepted.len() < t as usize {
        let details: String = rejected
            .iter()
            .map(|(n, w)| format!("; {n}: {w}"))
            .collect();
        log.append(
            events::UNSEAL_ABORTED,
            g,
            log_data! {"request" => request.seq, "why" => format!("{} of {t} shares", accepted.len())},
            By::Nobody,
        )?;
        return Err(Error::NotEnoughShares {
            have: accepted.len(),
            need: t as usize,
            details,
        });
    }
    let shares: Vec<&Share> = accepted.iter().map(|(_, s)| s).collect();
    let key = crate::keys::MasterKey::from_secret(shamir::combine(&shares, t)?)?;
    let signer = key.signing_key(&vault_id)?;
    let authentic = if manifest.is_v2() {
        // The rebuilt key must be the certified generation's: a share
        // substituted in transit yields another key (caught here, named by
        // its commitment before that).
        manifest
            .signing_public()
            .is_ok_and(|k| crate::secret::ct_eq(&k.0, &signer.public().0))
            .then_some(())
            .ok_or(crate::manifest::ManifestError::BadSignature { which: "self" })
    } else {
        manifest.verify_mac(&key.manifest_mac_key(&vault_id)?)
    };
    if let Err(e) = authentic {
        log.append(
            events::UNSEAL_ABORTED,
            g,
            log_data! {"request" => request.seq, "why" => "the shares rebuilt a key that is not this generation's"},
            By::Nobody,
        )?;
        return Err(e.into());
    }
    Ok(Opened {
        key,
        manifest,
        log,
        signer,
        custodians: accepted.into_iter().map(|(n, _)| n).collect(),
        remote,
        request_seq: request.seq,
        vault_id,
    })
}
