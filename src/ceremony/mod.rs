//! Ceremonies: the orchestration of the vault's life. Each ceremony is a
//! function taking options and a [`Ui`](crate::ui::Ui); nothing imports the
//! ceremonies except the binary.

pub mod drill;
pub mod init;
pub mod quorum;
pub mod rekey;
pub mod reseal;
pub mod review;
pub mod unseal;

use std::io::{Read, Write};

use serde_json::{Map, Value};

use crate::ceremony::init::Sealed;
use crate::ceremony::quorum::Opened;
use crate::clock::Timestamp;
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::log::events;
use crate::log_data;
use crate::manifest::{generation_dir, sha256_hex, CustodianRecord, Manifest};
use crate::payload::Payload;
use crate::shamir;
use crate::token::CustodianDescriptor;
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// Encrypts `plaintext` with age to the given recipients.
pub(crate) fn age_encrypt(
    recipients: &[Box<dyn age::Recipient + Send>],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let refs = recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient);
    let enc = age::Encryptor::with_recipients(refs).map_err(|e| Error::Age(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut w = enc
        .wrap_output(&mut out)
        .map_err(|e| Error::Age(e.to_string()))?;
    w.write_all(plaintext)
        .map_err(|e| Error::Age(e.to_string()))?;
    w.finish().map_err(|e| Error::Age(e.to_string()))?;
    Ok(out)
}

/// Decrypts an age file with one identity into a zeroizing buffer.
pub(crate) fn age_decrypt(
    identity: &dyn age::Identity,
    file: &[u8],
    max: usize,
) -> std::result::Result<zeroize::Zeroizing<Vec<u8>>, age::DecryptError> {
    let dec = age::Decryptor::new_buffered(file)?;
    let mut r = dec.decrypt(std::iter::once(identity))?;
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(max.min(1 << 16)));
    r.by_ref()
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(age::DecryptError::Io)?;
    if out.len() > max {
        return Err(age::DecryptError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "decrypted content too large",
        )));
    }
    Ok(out)
}

/// Decrypts an age file with one identity (for tests and tools; 1 MiB cap).
pub fn age_decrypt_for_tests(
    identity: &dyn age::Identity,
    file: &[u8],
) -> std::result::Result<zeroize::Zeroizing<Vec<u8>>, age::DecryptError> {
    age_decrypt(identity, file, 1 << 20)
}

/// A generation built in memory: files to write and the (unsealed) manifest.
pub(crate) struct BuiltGeneration {
    pub payload_file: Vec<u8>,
    pub share_files: Vec<(String, Vec<u8>)>,
    pub manifest: Manifest,
}

// The arguments are the generation's independent inputs; bundling them in a
// struct used once would only move the list.
#[allow(clippy::too_many_arguments)]
/// Builds generation `g`: fresh key, payload encrypted to its identity,
/// shares split and wrapped per custodian, manifest (MAC not yet set).
pub(crate) fn build_generation(
    key: &MasterKey,
    vault_id: &[u8; 16],
    generation: u64,
    threshold: u8,
    custodians: &[CustodianDescriptor],
    payload: &Payload,
    created: &str,
    now: &str,
) -> Result<BuiltGeneration> {
    let identity = key.payload_identity(vault_id)?;
    let payload_recipient: Vec<Box<dyn age::Recipient + Send>> =
        vec![Box::new(identity.to_public())];
    let payload_file = age_encrypt(&payload_recipient, &payload.to_bytes()?)?;
    let n =
        u8::try_from(custodians.len()).map_err(|_| Error::Usage("too many custodians".into()))?;
    let shares = shamir::split(key.expose_for_sharing(), threshold, n)?;
    let gdir = generation_dir(generation);
    let mut share_files = Vec::new();
    let mut records = Vec::new();
    for (c, share) in custodians.iter().zip(shares) {
        let env = Envelope {
            vault_id: *vault_id,
            generation,
            custodian: c.name.clone(),
            threshold,
            share,
        };
        let recipients = crate::token::recipients(c)?;
        let file = age_encrypt(&recipients, &env.encode())?;
        records.push(CustodianRecord {
            commitment: sha256_hex(&file),
            name: c.name.clone(),
            share: format!("{gdir}/shares/{}.age", c.name),
            tokens: c.tokens.clone(),
            x: env.share.x,
        });
        share_files.push((c.name.clone(), file));
    }
    let manifest = Manifest {
        created: created.into(),
        custodians: records,
        entries: payload.index(),
        format: crate::manifest::FORMAT.into(),
        generation,
        log_head: crate::manifest::LogHead {
            hash: crate::log::GENESIS.into(),
            seq: 0,
        },
        mac: String::new(),
        payload: crate::manifest::PayloadRef {
            digest: sha256_hex(&payload_file),
            file: format!("{gdir}/payload.age"),
        },
        sealed: now.into(),
        threshold,
        vault_id: crate::encoding::hex(vault_id),
    };
    Ok(BuiltGeneration {
        payload_file,
        share_files,
        manifest,
    })
}

/// Checks a custodian set for init/rekey: names valid and distinct, tokens
/// distinct across custodians, threshold in range.
pub fn check_custodians(custodians: &[CustodianDescriptor], threshold: u8) -> Result<()> {
    if threshold < 2 {
        return Err(Error::Usage(
            "threshold 1 is refused: a single custodian could open the vault alone, which defeats dual control; use --threshold 2 or more".into(),
        ));
    }
    if custodians.len() < threshold as usize {
        return Err(Error::Usage(format!(
            "threshold {threshold} needs at least {threshold} custodians, {} given",
            custodians.len()
        )));
    }
    if custodians.len() > shamir::MAX_SHARES as usize {
        return Err(Error::Usage(format!(
            "at most {} custodians",
            shamir::MAX_SHARES
        )));
    }
    let mut recipients: Vec<(&str, &str)> = Vec::new();
    let mut serials: Vec<(u32, &str)> = Vec::new();
    for (i, c) in custodians.iter().enumerate() {
        if c.format != CustodianDescriptor::FORMAT {
            return Err(Error::Usage(format!(
                "custodian descriptor of '{}' is not {}",
                c.name,
                CustodianDescriptor::FORMAT
            )));
        }
        if !crate::names::is_valid(&c.name) {
            return Err(Error::Usage(format!(
                "custodian name '{}' is invalid: use {}",
                c.name.chars().take(40).collect::<String>(),
                crate::names::RULE
            )));
        }
        if custodians[..i].iter().any(|o| o.name == c.name) {
            return Err(Error::Usage(format!(
                "custodian '{}' is given twice; each custodian holds exactly one share",
                c.name
            )));
        }
        if c.tokens.is_empty() {
            return Err(Error::Usage(format!("custodian '{}' has no token", c.name)));
        }
        for t in &c.tokens {
            crate::token::check_recipient_canonical(t).map_err(|why| {
                Error::Usage(format!("custodian descriptor of '{}': {why}", c.name))
            })?;
            if let Some((_, other)) = recipients.iter().find(|(r, _)| *r == t.recipient()) {
                return Err(Error::Usage(format!(
                    "the same token ({}) is enrolled for '{}' and '{}'; one token can never belong to two custodians",
                    t.fingerprint(),
                    other,
                    c.name
                )));
            }
            recipients.push((t.recipient(), &c.name));
            if let crate::token::TokenDescriptor::Yubikey(y) = t {
                if let Some((_, other)) = serials.iter().find(|(s, _)| *s == y.serial) {
                    return Err(Error::Usage(format!(
                        "YubiKey {} is enrolled for '{}' and '{}'; one token can never belong to two custodians",
                        y.serial, other, c.name
                    )));
                }
                serials.push((y.serial, &c.name));
            }
        }
    }
    Ok(())
}

/// Verifies the recorded attestation of every YubiKey token of `custodians`
/// against `anchors` (see [`crate::token::yubikey::verify_descriptor`]).
/// Software tokens carry no attestation.
pub fn check_attestations(
    custodians: &[CustodianDescriptor],
    anchors: &crate::attestation::TrustAnchors,
) -> Result<()> {
    for c in custodians {
        for t in &c.tokens {
            if let crate::token::TokenDescriptor::Yubikey(y) = t {
                crate::token::yubikey::verify_descriptor(&c.name, y, anchors)
                    .map_err(|e| Error::Token(e.into()))?;
            }
        }
    }
    Ok(())
}

/// Custodian descriptors as recorded in a manifest (for resealing).
pub(crate) fn descriptors_of(manifest: &Manifest) -> Vec<CustodianDescriptor> {
    manifest
        .custodians
        .iter()
        .map(|c| CustodianDescriptor {
            format: CustodianDescriptor::FORMAT.into(),
            name: c.name.clone(),
            tokens: c.tokens.clone(),
        })
        .collect()
}

/// The next generation of a vault a quorum opened (reseal, rekey).
pub(crate) struct Next<'a> {
    /// `reseal` or `rekey`: the `sealed` entry's reason, and the prefix of
    /// this ceremony's kill points.
    pub reason: &'static str,
    /// The ticket of the ceremony.
    pub ticket: &'a str,
    /// Threshold of the new generation.
    pub threshold: u8,
    /// Custodians of the new generation (from the MAC-verified manifest, or
    /// attestation-checked descriptors for new tokens).
    pub custodians: &'a [CustodianDescriptor],
    /// The entries to seal.
    pub payload: &'a Payload,
    /// Further members of the `sealed` entry: what changed, by name only.
    pub details: Map<String, Value>,
}

/// Seals generation g+1 of an opened vault with a new random key and fresh
/// shares, crash-safely (DESIGN §1.4, §1.6).
///
/// Commit protocol: the new generation is written and fsynced in its own
/// directory; a `sealed` entry (MACed under the *new* log key) is appended;
/// the manifest naming that entry as its log head is renamed into place, the
/// single commit point; the old generation's files are then removed. A crash
/// anywhere leaves the old generation (before the rename) or the new one
/// (after it) openable, and the log verifiable; leftovers of an uncommitted
/// generation are removed, and logged, by the next quorum ceremony.
pub(crate) fn seal_next(
    vault: &Vault,
    opened: &mut Opened,
    next: Next<'_>,
    ui: &mut dyn Ui,
) -> Result<Sealed> {
    let old = &opened.manifest;
    let g = old.generation + 1;
    let kill = |step: &str| crate::hooks::kill_point(&format!("{}.{step}", next.reason));
    ui.say(
        Level::Step,
        &format!(
            "Sealing generation {g} ({}-of-{}) with a new key and fresh shares",
            next.threshold,
            next.custodians.len()
        ),
    );
    let key = MasterKey::generate()?;
    let now = Timestamp::now().to_rfc3339();
    let mut built = build_generation(
        &key,
        &opened.vault_id,
        g,
        next.threshold,
        next.custodians,
        next.payload,
        &old.created,
        &now,
    )?;
    kill("before-write");
    vault.write_generation(g, &built.payload_file, &built.share_files)?;
    kill("generation-written");
    let new_log_key = key.log_mac_key(&opened.vault_id)?;
    let names: Vec<&str> = next.custodians.iter().map(|c| c.name.as_str()).collect();
    let entry_names: Vec<&str> = next.payload.entries.iter().map(|e| e.name()).collect();
    let mut data = log_data! {
        "reason" => next.reason,
        "generation" => g,
        "previous_generation" => old.generation,
        "request" => opened.request_seq,
        "ticket" => next.ticket,
        "threshold" => next.threshold,
        "custodians" => names,
        "entries" => entry_names,
        "payload_digest" => built.manifest.payload.digest,
    };
    data.extend(next.details);
    let head = opened
        .log
        .append(events::SEALED, g, data, Some(&new_log_key))?;
    kill("sealed-logged");
    built.manifest.log_head = head.clone();
    built
        .manifest
        .seal(&key.manifest_mac_key(&opened.vault_id)?)?;
    vault.commit_manifest(&built.manifest)?;
    vault.remove_other_generations(g)?;
    kill("old-removed");
    ui.say(
        Level::Step,
        &format!(
            "Generation {g} sealed; shares of generation {} are dead",
            old.generation
        ),
    );
    Ok(Sealed {
        vault_id: old.vault_id.clone(),
        generation: g,
        fingerprint: built.manifest.fingerprint(),
        receipt: head,
    })
}
