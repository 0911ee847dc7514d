//! YubiKey token backend: list, enroll and open a share with a PIV P-256 key.
//!
//! Role: the only user of the `yubikey` crate. It finds tokens (always by
//! serial once a descriptor names them), guides the PIN/PUK and management key
//! steps of enrollment, generates the key on the token, writes the
//! age-plugin-yubikey slot certificate, verifies the PIV attestation and turns
//! it into a [`YubikeyDescriptor`](crate::token::YubikeyDescriptor); and it opens a custodian's share file with
//! the card's ECDH through [`super::piv_p256`].
//!
//! Files, by operation: `session` (an open token: PIN, metadata, slots,
//! attestation), `credentials` (PIN/PUK hygiene and the management key at
//! enrollment), `enroll` (new or adopted keys, one attest-and-match step),
//! `descriptor` (descriptor facts from an attestation, re-verification),
//! `open` (finding the custodian's token and opening a share), `slotcert`,
//! `sign`, `pin` (the PIN entry guard), `error`.
//!
//! Invariants:
//! - descriptor facts (serial, firmware, policies, public key) come from the
//!   verified *slot* attestation certificate, never from the F9 certificate or
//!   from what the card says outside the attestation;
//! - enrollment verifies the device attestation (F9 chain) before it changes
//!   anything on the token: a refused token is left as it was;
//! - a share is opened only with a token whose serial the descriptor names, and
//!   whose slot still holds the enrolled key;
//! - factory default PIN/PUK are never left in place by enrollment;
//! - PINs, PUKs, management keys and ECDH outputs stay in zeroizing buffers and
//!   never appear in errors or messages; the card is reset (PIN state cleared)
//!   when a session ends.

mod credentials;
mod descriptor;
mod enroll;
mod error;
mod open;
mod pin;
mod session;
mod sign;
mod slotcert;

pub use descriptor::{recipient, verify_descriptor};
pub use enroll::{enroll, enroll_existing};
pub use error::YubikeyError;
pub use open::open_share;
pub use sign::sign_digest;

use yubikey::piv::RetiredSlotId;
use yubikey::{Serial, YubiKey};

use crate::attestation::{PinPolicy, Requirements, TouchPolicy};
use error::{card_error, context_error, pcsc_errors};

/// First PIV retired slot (age-plugin-yubikey's slot 1).
pub const FIRST_RETIRED_SLOT: u8 = 0x82;
/// Last PIV retired slot (age-plugin-yubikey's slot 20).
pub const LAST_RETIRED_SLOT: u8 = 0x95;
/// Largest share plaintext accepted (a share envelope is a few hundred bytes).
pub const MAX_SHARE_PLAINTEXT: usize = 64 * 1024;
/// How many times `open_share` asks for the right token before giving up.
pub const MAX_INSERT_ATTEMPTS: usize = 3;
/// Policies every break-glass key must have at least (a PIN is always needed).
pub const MIN_REQUIREMENTS: Requirements = Requirements {
    pin_policy_at_least: PinPolicy::Once,
    touch_policy_at_least: TouchPolicy::Never,
};

/// An inserted YubiKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Device serial number.
    pub serial: u32,
    /// PIV application version `major.minor.patch` (the firmware).
    pub firmware: String,
    /// PC/SC reader name.
    pub reader: String,
}

/// What enrollment should generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollOptions {
    /// Serial of the token to enroll; `None` = the only one inserted.
    pub serial: Option<u32>,
    /// Retired slot `0x82..=0x95`; `None` = the first free one.
    pub slot: Option<u8>,
    /// PIN policy of the new key (`once` or `always`; `never` is refused).
    pub pin_policy: PinPolicy,
    /// Touch policy of the new key.
    pub touch_policy: TouchPolicy,
}

impl Default for EnrollOptions {
    /// age-plugin-yubikey's defaults: PIN once, touch always, first free slot.
    fn default() -> Self {
        Self {
            serial: None,
            slot: None,
            pin_policy: PinPolicy::Once,
            touch_policy: TouchPolicy::Always,
        }
    }
}

/// Lists the inserted YubiKeys (serial, firmware, reader). Read-only: each
/// token is left as it was (no reset).
pub fn list() -> Result<Vec<TokenInfo>, YubikeyError> {
    let mut ctx =
        yubikey::reader::Context::open().map_err(|e| context_error(e, "listing readers"))?;
    let readers = match ctx.iter() {
        Ok(r) => r,
        Err(yubikey::Error::PcscError { inner: Some(p) }) if pcsc_errors::is_no_readers(p) => {
            return Ok(vec![])
        }
        Err(e) => return Err(context_error(e, "listing readers")),
    };
    let mut out = vec![];
    for reader in readers {
        let name = reader.name().into_owned();
        match reader.open() {
            Ok(yk) => {
                let v = yk.version();
                out.push(TokenInfo {
                    serial: yk.serial().0,
                    firmware: format!("{}.{}.{}", v.major, v.minor, v.patch),
                    reader: name,
                });
                let _ = yk.disconnect(pcsc::Disposition::LeaveCard);
            }
            Err(yubikey::Error::PcscError { inner: Some(p) }) if pcsc_errors::is_no_service(p) => {
                return Err(YubikeyError::PcscdNotRunning)
            }
            // Empty reader, not a PIV card, or busy: not listed.
            Err(_) => {}
        }
    }
    out.sort_by_key(|t| t.serial);
    Ok(out)
}

/// Checks that the smart-card service answers (before a ceremony logs a
/// request that a missing pcscd would make pointless).
///
/// # Errors
/// [`YubikeyError::PcscdNotRunning`], or another PC/SC failure.
pub fn check_service() -> Result<(), YubikeyError> {
    list().map(|_| ())
}

/// Opens the token with this serial, or `Ok(None)` when it is not inserted.
fn open_serial(serial: u32) -> Result<Option<YubiKey>, YubikeyError> {
    match YubiKey::open_by_serial(Serial(serial)) {
        Ok(yk) => Ok(Some(yk)),
        Err(yubikey::Error::NotFound) => Ok(None),
        Err(yubikey::Error::PcscError { inner: Some(p) }) if pcsc_errors::is_no_readers(p) => {
            Ok(None)
        }
        Err(e) => Err(card_error(e, serial, "opening the token")),
    }
}

fn retired_slot(slot: u8) -> Result<RetiredSlotId, YubikeyError> {
    RetiredSlotId::try_from(slot).map_err(|_| YubikeyError::BadSlot { slot })
}

/// A card error after which the token is gone was a removal: say so.
/// (A card pulled in the middle of an APDU often surfaces from the `yubikey`
/// crate as a generic error rather than a PC/SC "removed" code.)
fn removal_check(e: YubikeyError) -> YubikeyError {
    if let YubikeyError::Card { serial, .. } = &e {
        let serial = *serial;
        if let Ok(tokens) = list() {
            if !tokens.iter().any(|t| t.serial == serial) {
                return YubikeyError::TokenRemoved { serial };
            }
        }
    }
    e
}

#[cfg(test)]
mod tests;
