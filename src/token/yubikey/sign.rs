//! Signing a log entry with a custodian's YubiKey (format 2): the enrolled
//! PIV P-256 key signs, on the card, the SHA-256 digest of the entry's
//! signed body (ECDSA, GENERAL AUTHENTICATE), after the PIN (showing the
//! vault fingerprint) and the touch its policies ask for. The public key is
//! the point of the custodian's `age1yubikey1…` recipient, so no new key and
//! no new descriptor field is needed; SECURITY.md argues why one key may
//! serve ECDH (shares) and ECDSA (entries).

use yubikey::piv::{self, AlgorithmId, SlotId};

use super::open::{parse_tokens, ready_token};
use super::{removal_check, retired_slot, YubikeyError};
use crate::token::YubikeyDescriptor;
use crate::ui::Ui;

/// Signs with one of `custodian`'s YubiKeys: finds which is inserted, then
/// signs `digest_for(index)` (32 bytes, domain-separated by
/// [`crate::sign::p256_digest`]; the token that signs is part of what is
/// signed). Returns the DER signature and the index in `tokens`.
pub fn sign_digest(
    custodian: &str,
    tokens: &[&YubikeyDescriptor],
    digest_for: &mut dyn FnMut(usize) -> [u8; 32],
    vault_fingerprint: &str,
    ui: &mut dyn Ui,
) -> Result<(Vec<u8>, usize), YubikeyError> {
    sign_inner(custodian, tokens, digest_for, vault_fingerprint, ui).map_err(removal_check)
}

fn sign_inner(
    custodian: &str,
    tokens: &[&YubikeyDescriptor],
    digest_for: &mut dyn FnMut(usize) -> [u8; 32],
    vault_fingerprint: &str,
    ui: &mut dyn Ui,
) -> Result<(Vec<u8>, usize), YubikeyError> {
    let parsed = parse_tokens(custodian, tokens)?;
    let ready = ready_token(custodian, &parsed, vault_fingerprint, " to sign", ui)?;
    let (mut session, index, slot, touch) = (ready.session, ready.index, ready.slot, ready.touch);
    let serial = session.serial;
    if touch {
        ui.touch(custodian, serial);
    }
    let id = SlotId::Retired(retired_slot(slot)?);
    let digest = digest_for(index);
    let der =
        piv::sign_data(&mut session.yk, &digest, AlgorithmId::EccP256, id).map_err(
            |e| match e {
                yubikey::Error::AuthenticationError if touch => {
                    YubikeyError::TouchTimeout { serial }
                }
                e => session.err(e, "signing the log entry"),
            },
        )?;
    Ok((der.to_vec(), index))
}
