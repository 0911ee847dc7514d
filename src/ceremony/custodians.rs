//! Custodian sets: the checks every new set passes (init, rekey), the set
//! recorded in an authenticated manifest, and entries one custodian signs.

use crate::error::{Error, Result};
use crate::log::{self, By, Log};
use crate::manifest::{LogHead, Manifest};
use crate::shamir;
use crate::token::CustodianDescriptor;
use crate::token::CustodianSigner;
use crate::ui::Ui;

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
                crate::text::bounded(&c.name),
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

/// Custodian descriptors as recorded in a manifest (for resealing); use
/// only on a manifest [`crate::history`] judged current.
pub fn descriptors_of(manifest: &Manifest) -> Vec<CustodianDescriptor> {
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

/// Appends an entry signed by `signer` (unsigned when there is none);
/// returns the head and whether it was signed.
pub(crate) fn append_signed(
    log: &mut Log,
    event: &str,
    generation: u64,
    data: serde_json::Map<String, serde_json::Value>,
    signer: Option<&CustodianSigner>,
    ui: &mut dyn Ui,
) -> Result<(LogHead, bool)> {
    let Some(signer) = signer else {
        return Ok((log.append(event, generation, data, By::Nobody)?, false));
    };
    let mut sign = |body_for: &mut dyn FnMut(&log::Signer) -> Vec<u8>| {
        signer.sign(body_for, ui).map_err(|e| e.to_string())
    };
    let head = log.append(event, generation, data, By::Custodian(&mut sign))?;
    Ok((head, true))
}
