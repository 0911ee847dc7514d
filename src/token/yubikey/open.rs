//! Opening a custodian's share file with one of their YubiKeys: find which
//! enrolled token is inserted (by serial), check its slot still holds the
//! enrolled key, verify the PIN (showing the vault fingerprint and the tries
//! left), ask for a touch when the key's policy needs one, and decrypt with
//! the card's ECDH.
//!
//! Invariants: only the serials the descriptors name are ever opened; the
//! share file is parsed before any token is touched (a bad file costs no PIN
//! try); the plaintext is capped at [`MAX_SHARE_PLAINTEXT`] and kept in a
//! zeroizing buffer.

use std::cell::RefCell;

use yubikey::piv::{self, AlgorithmId, SlotId};
use yubikey::YubiKey;

use crate::attestation::{PinPolicy, TouchPolicy};
use crate::secret::SecretBytes;
use crate::token::piv_p256::{PivEcdh, PivIdentity, PivRecipient, PivUnwrapError};
use crate::token::YubikeyDescriptor;
use crate::ui::{Level, Ui};

use super::descriptor::parse_descriptor;
use super::error::card_error;
use super::session::Session;
use super::{
    list, open_serial, removal_check, retired_slot, YubikeyError, MAX_INSERT_ATTEMPTS,
    MAX_SHARE_PLAINTEXT,
};

/// An enrolled token of the custodian, parsed: descriptor, slot, recipient.
pub(super) type Enrolled<'d> = (&'d YubikeyDescriptor, u8, PivRecipient);

/// ECDH on the card (GENERAL AUTHENTICATE), with the touch prompt.
struct CardEcdh<'s, 'u> {
    session: RefCell<Session<'s>>,
    slot: u8,
    touch: bool,
    ui: RefCell<&'u mut dyn Ui>,
}

impl PivEcdh for CardEcdh<'_, '_> {
    type Error = YubikeyError;

    fn ecdh(&self, ephemeral_uncompressed: &[u8; 65]) -> Result<SecretBytes, YubikeyError> {
        let mut session = self.session.borrow_mut();
        let serial = session.serial;
        if self.touch {
            self.ui.borrow_mut().touch(session.custodian, serial);
        }
        let id = SlotId::Retired(retired_slot(self.slot)?);
        let shared = piv::decrypt_data(
            &mut session.yk,
            ephemeral_uncompressed,
            AlgorithmId::EccP256,
            id,
        )
        .map_err(|e| match e {
            yubikey::Error::AuthenticationError if self.touch => {
                YubikeyError::TouchTimeout { serial }
            }
            e => card_error(e, serial, "decrypting the share (ECDH)"),
        })?;
        let mut out = SecretBytes::zeroed(shared.len());
        out.expose_mut().copy_from_slice(&shared);
        Ok(out)
    }
}

/// Finds which of the custodian's tokens is inserted, asking for one if none
/// is. Opens only the serials in `tokens`. A foreign token (the previous
/// custodian's, say) is mentioned only if it is still the only one after the
/// custodian was asked to insert theirs.
fn find_token(
    custodian: &str,
    tokens: &[Enrolled<'_>],
    ui: &mut dyn Ui,
) -> Result<(YubiKey, usize), YubikeyError> {
    let expected: Vec<u32> = tokens.iter().map(|(d, _, _)| d.serial).collect();
    for attempt in 1..=MAX_INSERT_ATTEMPTS {
        for (i, (desc, _, _)) in tokens.iter().enumerate() {
            if let Some(yk) = open_serial(desc.serial)? {
                return Ok((yk, i));
            }
        }
        let foreign: Vec<u32> = list()?
            .into_iter()
            .map(|t| t.serial)
            .filter(|s| !expected.contains(s))
            .collect();
        if attempt == MAX_INSERT_ATTEMPTS {
            return Err(match foreign.first() {
                Some(&serial) => YubikeyError::NotEnrolled {
                    custodian: custodian.to_owned(),
                    serial,
                    expected,
                },
                None => YubikeyError::NoToken {
                    custodian: custodian.to_owned(),
                    expected,
                },
            });
        }
        if attempt > 1 {
            for serial in &foreign {
                ui.say(
                    Level::Warn,
                    &format!(
                        "YubiKey {serial} is not one of {custodian}'s tokens in this vault; \
                         remove it"
                    ),
                );
            }
        }
        ui.insert_token(custodian, &expected)?;
    }
    Err(YubikeyError::NoToken {
        custodian: custodian.to_owned(),
        expected,
    })
}

/// Opens `custodian`'s share file with one of their YubiKeys.
///
/// Finds which of `tokens` is inserted (by serial; asks to insert one if none
/// is), checks that its slot still holds the enrolled key, asks the PIN
/// (showing `vault_fingerprint` and the tries left), asks for a touch when the
/// key's policy needs one, and decrypts the age file with the card's ECDH.
/// Returns the plaintext of the share file and the index in `tokens` of the
/// token that opened it (a spare, say).
pub fn open_share(
    custodian: &str,
    tokens: &[&YubikeyDescriptor],
    share_file: &[u8],
    vault_fingerprint: &str,
    ui: &mut dyn Ui,
) -> Result<(SecretBytes, usize), YubikeyError> {
    open_share_inner(custodian, tokens, share_file, vault_fingerprint, ui).map_err(removal_check)
}

fn open_share_inner(
    custodian: &str,
    tokens: &[&YubikeyDescriptor],
    share_file: &[u8],
    vault_fingerprint: &str,
    ui: &mut dyn Ui,
) -> Result<(SecretBytes, usize), YubikeyError> {
    let parsed = parse_tokens(custodian, tokens)?;
    // Parse the file before touching any token: a bad file costs no PIN try.
    age::Decryptor::new(share_file).map_err(|e| bad_file(custodian, e.to_string()))?;

    let ready = ready_token(custodian, &parsed, vault_fingerprint, "", ui)?;
    let index = ready.index;
    let card = CardEcdh {
        session: RefCell::new(ready.session),
        slot: ready.slot,
        touch: ready.touch,
        ui: RefCell::new(ui),
    };
    let identity = PivIdentity::new(ready.recipient, card);
    let plaintext = decrypt_on_card(custodian, identity, share_file)?;
    Ok((plaintext, index))
}

/// One of the custodian's tokens, inserted, holding the enrolled key, its PIN
/// verified when the key's policy needs one.
pub(super) struct Ready<'s> {
    pub(super) session: Session<'s>,
    /// Index of the token in the custodian's list.
    pub(super) index: usize,
    pub(super) slot: u8,
    pub(super) recipient: PivRecipient,
    /// Whether the key's policy asks for a touch.
    pub(super) touch: bool,
}

/// Finds the custodian's inserted token, checks its slot still holds the
/// enrolled key, and verifies the PIN (after a checklist line saying which
/// token, for which vault, and `action`, e.g. " to sign").
pub(super) fn ready_token<'s>(
    custodian: &'s str,
    parsed: &[Enrolled<'_>],
    vault_fingerprint: &str,
    action: &str,
    ui: &mut dyn Ui,
) -> Result<Ready<'s>, YubikeyError> {
    let (yk, index) = find_token(custodian, parsed, ui)?;
    let Some((desc, slot, recipient)) = parsed.get(index).map(|(d, s, r)| (*d, *s, r.clone()))
    else {
        return Err(YubikeyError::NoToken {
            custodian: custodian.to_owned(),
            expected: vec![],
        });
    };
    let serial = desc.serial;
    let mut session = Session::new(yk, serial, custodian);
    if session.slot_public_point(slot)?.as_ref() != Some(&recipient.uncompressed()) {
        return Err(YubikeyError::KeyMismatch {
            custodian: custodian.to_owned(),
            serial,
            slot,
        });
    }
    if desc.pin_policy != PinPolicy::Never {
        ui.say(
            Level::Step,
            &format!("{custodian}: PIN of YubiKey {serial}{action} for vault {vault_fingerprint}"),
        );
        drop(session.verify_pin(ui, Some(vault_fingerprint))?);
    }
    Ok(Ready {
        session,
        index,
        slot,
        recipient,
        touch: desc.touch_policy != TouchPolicy::Never,
    })
}

/// The custodian's enrolled tokens, parsed (at least one).
pub(super) fn parse_tokens<'d>(
    custodian: &str,
    tokens: &[&'d YubikeyDescriptor],
) -> Result<Vec<Enrolled<'d>>, YubikeyError> {
    if tokens.is_empty() {
        return Err(YubikeyError::BadDescriptor {
            custodian: custodian.to_owned(),
            why: "no YubiKey is enrolled for this custodian".into(),
        });
    }
    tokens
        .iter()
        .map(|d| parse_descriptor(custodian, d).map(|(slot, r)| (*d, slot, r)))
        .collect()
}

fn bad_file(custodian: &str, why: String) -> YubikeyError {
    YubikeyError::BadShareFile {
        custodian: custodian.to_owned(),
        why,
    }
}

/// Decrypts the share file with the card identity; a card error wins over
/// age's summary of it.
fn decrypt_on_card(
    custodian: &str,
    identity: PivIdentity<CardEcdh<'_, '_>>,
    share_file: &[u8],
) -> Result<SecretBytes, YubikeyError> {
    let decrypted = crate::token::agefile::decrypt(&identity, share_file, MAX_SHARE_PLAINTEXT);
    let (serial, slot) = {
        let card = identity.backend();
        (card.session.borrow().serial, card.slot)
    };
    match decrypted {
        Ok(plain) => {
            let mut out = SecretBytes::zeroed(plain.len());
            out.expose_mut().copy_from_slice(&plain);
            Ok(out)
        }
        Err(e) => Err(match identity.take_error() {
            Some(PivUnwrapError::Ecdh(card)) => card,
            Some(PivUnwrapError::WrongKey) | Some(PivUnwrapError::BadSharedSecret) => {
                YubikeyError::CorruptShare {
                    custodian: custodian.to_owned(),
                    serial,
                }
            }
            Some(PivUnwrapError::Malformed(f)) => bad_file(custodian, f.to_string()),
            _ => match e {
                age::DecryptError::NoMatchingKeys => YubikeyError::NotARecipient {
                    custodian: custodian.to_owned(),
                    serial,
                    slot,
                },
                e => bad_file(custodian, e.to_string()),
            },
        }),
    }
}
