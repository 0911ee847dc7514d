//! Custodian sets at the ceremonies: the checks every new set passes (init,
//! rekey; the rules are `token::set`'s), attestations re-verified, the set
//! recorded in an authenticated manifest, and entries one custodian signs.

use crate::error::{Error, Result};
use crate::log::{self, By, Log};
use crate::manifest::{LogHead, Manifest};
pub use crate::token::set::{check_custodians, CustodianSetError};
use crate::token::CustodianDescriptor;
use crate::token::CustodianSigner;
use crate::ui::Ui;

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
        signer
            .sign(crate::sign::Purpose::LogEntry, body_for, ui)
            .map_err(|e| e.to_string())
    };
    let head = log.append(event, generation, data, By::Custodian(&mut sign))?;
    Ok((head, true))
}
