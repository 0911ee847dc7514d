//! Signing a log entry with a custodian's YubiKey (format 2): the enrolled
//! PIV P-256 key signs, on the card, the SHA-256 digest of the entry's
//! signed body (ECDSA, GENERAL AUTHENTICATE), after the PIN (showing the
//! vault fingerprint) and the touch its policies ask for. The public key is
//! the point of the custodian's `age1yubikey1…` recipient, so no new key and
//! no new descriptor field is needed; SECURITY.md argues why one key may
//! serve ECDH (shares) and ECDSA (entries).

use yubikey::piv::{self, AlgorithmId, SlotId};

use super::{find_token, parse_descriptor, removal_check, retired_slot, Session, YubikeyError};
use crate::attestation::{PinPolicy, TouchPolicy};
use crate::token::YubikeyDescriptor;
use crate::ui::{Level, Ui};

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
    if tokens.is_empty() {
        return Err(YubikeyError::BadDescriptor {
            custodian: custodian.to_owned(),
            why: "no YubiKey is enrolled for this custodian".into(),
        });
    }
    let parsed: Vec<_> = tokens
        .iter()
        .map(|d| parse_descriptor(custodian, d).map(|(slot, r)| (*d, slot, r)))
        .collect::<Result<_, _>>()?;
    let (yk, index) = find_token(custodian, &parsed, ui)?;
    let Some((desc, slot, recipient)) = parsed.get(index) else {
        return Err(YubikeyError::NoToken {
            custodian: custodian.to_owned(),
            expected: vec![],
        });
    };
    let mut session = Session {
        yk,
        serial: desc.serial,
        custodian,
    };
    let point = session.slot_public_point(*slot)?;
    if point.as_ref() != Some(&recipient.uncompressed()) {
        return Err(YubikeyError::KeyMismatch {
            custodian: custodian.to_owned(),
            serial: desc.serial,
            slot: *slot,
        });
    }
    if desc.pin_policy.parse::<PinPolicy>().ok() != Some(PinPolicy::Never) {
        ui.say(
            Level::Step,
            &format!(
                "{custodian}: PIN of YubiKey {} to sign for vault {vault_fingerprint}",
                desc.serial
            ),
        );
        drop(session.verify_pin(ui, Some(vault_fingerprint))?);
    }
    let touch = desc.touch_policy.parse::<TouchPolicy>().ok() != Some(TouchPolicy::Never);
    if touch {
        ui.touch(custodian, desc.serial);
    }
    let id = SlotId::Retired(retired_slot(*slot)?);
    let serial = desc.serial;
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
