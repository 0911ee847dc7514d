//! Errors of the YubiKey backend.
//!
//! Every message says what happened and what to do next, names the token by
//! serial, and never contains a PIN, PUK, management key, ECDH output or file
//! key.

use crate::attestation::AttestationError;
use crate::ui::UiError;

fn list(serials: &[u32]) -> String {
    let v: Vec<String> = serials.iter().map(u32::to_string).collect();
    v.join(", ")
}

/// Errors of the YubiKey backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YubikeyError {
    /// The PC/SC daemon cannot be reached.
    #[error(
        "cannot talk to smart cards: the PC/SC daemon (pcscd) is not running; start it with \
         `sudo systemctl start pcscd` (or run `sudo pcscd`), then retry"
    )]
    PcscdNotRunning,

    /// Another PC/SC failure (reader, sharing, transport).
    #[error(
        "smart card error while {operation}: {detail}; check the reader connection and that no \
         other program (gpg's scdaemon, yubikey-agent) holds the token, then retry"
    )]
    Pcsc {
        /// What was being done.
        operation: &'static str,
        /// The PC/SC error text.
        detail: String,
    },

    /// No YubiKey at all is inserted (enrollment).
    #[error("no YubiKey found; insert the YubiKey to enroll and retry")]
    NoTokenInserted,

    /// Several YubiKeys are inserted and none was named (enrollment).
    #[error(
        "several YubiKeys are inserted ({}); remove all but the one to enroll, or name it by serial",
        list(.serials)
    )]
    SeveralTokens {
        /// Serials of the inserted YubiKeys.
        serials: Vec<u32>,
    },

    /// The YubiKey named by serial is not inserted.
    #[error("YubiKey {serial} is not inserted; insert it and retry")]
    TokenNotInserted {
        /// Serial asked for.
        serial: u32,
    },

    /// None of a custodian's tokens is inserted.
    #[error(
        "none of {custodian}'s YubiKeys is inserted (expected serial {}); insert one of them and retry",
        list(.expected)
    )]
    NoToken {
        /// Custodian name.
        custodian: String,
        /// Serials of the custodian's enrolled tokens.
        expected: Vec<u32>,
    },

    /// A YubiKey is inserted, but it is not one of the custodian's tokens.
    #[error(
        "YubiKey {serial} is not enrolled for custodian {custodian} in this vault (their tokens: \
         {}); remove it and insert one of {custodian}'s YubiKeys",
        list(.expected)
    )]
    NotEnrolled {
        /// Custodian name.
        custodian: String,
        /// The inserted, foreign token.
        serial: u32,
        /// Serials of the custodian's enrolled tokens.
        expected: Vec<u32>,
    },

    /// The key in the enrolled slot is not the enrolled key (slot reset or overwritten).
    #[error(
        "slot {slot:02x} of YubiKey {serial} no longer holds the key enrolled for {custodian} (the \
         slot was reset or overwritten); this token cannot open the share: use {custodian}'s spare \
         token, or re-enroll the custodian with the quorum"
    )]
    KeyMismatch {
        /// Custodian name.
        custodian: String,
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
    },

    /// The share file has no stanza for this token.
    #[error(
        "{custodian}'s share file is not encrypted to YubiKey {serial} slot {slot:02x}; use another \
         of {custodian}'s tokens, or check that this is {custodian}'s share file"
    )]
    NotARecipient {
        /// Custodian name.
        custodian: String,
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
    },

    /// The share file's stanza for this token does not authenticate.
    #[error(
        "{custodian}'s share file is corrupted or was substituted: its entry for YubiKey {serial} \
         does not decrypt with that token's key; restore the vault directory from a backup"
    )]
    CorruptShare {
        /// Custodian name.
        custodian: String,
        /// Token serial.
        serial: u32,
    },

    /// The share file is not a well-formed age file.
    #[error("{custodian}'s share file is not a valid age file ({why}); restore it from a backup")]
    BadShareFile {
        /// Custodian name.
        custodian: String,
        /// What was wrong.
        why: String,
    },

    /// Wrong PIN; the PIN is not blocked yet.
    #[error(
        "wrong PIN for YubiKey {serial}: {tries_left} {} left before the PIN is blocked; retry with \
         the right PIN",
        if *.tries_left == 1 { "try" } else { "tries" }
    )]
    WrongPin {
        /// Token serial.
        serial: u32,
        /// Tries left.
        tries_left: u8,
    },

    /// The PIN is blocked.
    #[error(
        "the PIN of YubiKey {serial} is blocked (no tries left); unblock it with the PUK \
         (`yubico-piv-tool -a unblock-pin` or `ykman piv access unblock-pin`), then retry"
    )]
    PinBlocked {
        /// Token serial.
        serial: u32,
    },

    /// Wrong PUK.
    #[error(
        "wrong PUK for YubiKey {serial}: {tries_left} {} left before the PUK is blocked; retry \
         with the right PUK",
        if *.tries_left == 1 { "try" } else { "tries" }
    )]
    WrongPuk {
        /// Token serial.
        serial: u32,
        /// Tries left.
        tries_left: u8,
    },

    /// The PUK is blocked.
    #[error(
        "the PUK of YubiKey {serial} is blocked; the PIN can no longer be unblocked. Enrollment \
         needs a working PUK: reset the PIV application (`ykman piv reset`, destroys its keys) \
         and enroll again"
    )]
    PukBlocked {
        /// Token serial.
        serial: u32,
    },

    /// A PIN/PUK typed was refused before reaching the token.
    #[error("{why}")]
    PinRefused {
        /// Why (length, default value, an OTP typed by an accidental touch).
        why: String,
    },

    /// The token was not touched in time.
    #[error(
        "YubiKey {serial} was not touched in time; retry and touch the token's contact when it \
         blinks"
    )]
    TouchTimeout {
        /// Token serial.
        serial: u32,
    },

    /// The token went away during the operation.
    #[error(
        "YubiKey {serial} was removed (or reset) during the operation; reinsert it and retry \
         (nothing was opened)"
    )]
    TokenRemoved {
        /// Token serial.
        serial: u32,
    },

    /// The management key was refused.
    #[error(
        "the management key of YubiKey {serial} was refused; enter the right one, or (if it is \
         lost) reset the PIV application with `ykman piv reset` (destroys its keys)"
    )]
    ManagementKeyWrong {
        /// Token serial.
        serial: u32,
    },

    /// A management key typed does not parse.
    #[error(
        "the management key for YubiKey {serial} must be {expected_hex} hex digits ({algorithm}); \
         check what was typed"
    )]
    ManagementKeyFormat {
        /// Token serial.
        serial: u32,
        /// Algorithm of the card's management key.
        algorithm: &'static str,
        /// Number of hex digits expected.
        expected_hex: usize,
    },

    /// Changing the management key to a PIN-protected one failed.
    #[error(
        "could not store a PIN-protected management key on YubiKey {serial} ({detail}); its \
         management key is {state}"
    )]
    ManagementKeyMigration {
        /// Token serial.
        serial: u32,
        /// What failed.
        detail: String,
        /// What state the key is in now, and what to do.
        state: &'static str,
    },

    /// The slot asked for already holds a key.
    #[error(
        "slot {slot:02x} of YubiKey {serial} already holds a key; breakglass never overwrites a \
         key: choose another retired slot (82–95) or let it pick a free one"
    )]
    SlotOccupied {
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
    },

    /// No free retired slot.
    #[error(
        "YubiKey {serial} has no free retired slot (82–95); free one with `ykman piv keys delete` \
         or use another token"
    )]
    NoFreeSlot {
        /// Token serial.
        serial: u32,
    },

    /// The slot is not a retired slot.
    #[error("slot {slot:02x} is not a PIV retired slot; use one of 82–95")]
    BadSlot {
        /// Slot given.
        slot: u8,
    },

    /// The slot is empty (adopting an existing key).
    #[error(
        "slot {slot:02x} of YubiKey {serial} holds no key; generate one (`age-plugin-yubikey \
         --generate`, or enroll without adopting)"
    )]
    SlotEmpty {
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
    },

    /// The key in the slot cannot be used.
    #[error("the key in slot {slot:02x} of YubiKey {serial} cannot be used: {why}")]
    UnusableKey {
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
        /// Why, and what to do.
        why: String,
    },

    /// The requested policy is not allowed for break-glass keys.
    #[error("{why}")]
    PolicyNotAllowed {
        /// Why, and what to choose instead.
        why: String,
    },

    /// The attestation did not verify.
    #[error(
        "the attestation of YubiKey {serial} slot {slot:02x} failed: {source}; the key cannot be \
         proven to have been generated on a genuine YubiKey, so it is not enrolled"
    )]
    AttestationFailed {
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
        /// The verifier's error.
        #[source]
        source: AttestationError,
    },

    /// The device attestation (the F9 certificate and its chain) did not
    /// verify; checked at enrollment before anything on the token changes.
    #[error(
        "the device attestation of YubiKey {serial} (its F9 certificate) failed: {source}; it \
         cannot be proven to be a genuine YubiKey, so it is not enrolled, and nothing on it \
         was changed (PIN, PUK, management key and slots are as they were)"
    )]
    DeviceAttestationFailed {
        /// Token serial.
        serial: u32,
        /// The verifier's error.
        #[source]
        source: AttestationError,
    },

    /// The attestation verified but does not describe this key or token.
    #[error(
        "the attestation of YubiKey {serial} slot {slot:02x} does not match: {what}; the key is \
         not enrolled (a token that lies about its keys is not trusted)"
    )]
    AttestationMismatch {
        /// Token serial.
        serial: u32,
        /// PIV slot.
        slot: u8,
        /// What differs.
        what: String,
    },

    /// A descriptor field is invalid.
    #[error("the YubiKey descriptor of {custodian} is invalid: {why}")]
    BadDescriptor {
        /// Custodian name.
        custodian: String,
        /// What is wrong.
        why: String,
    },

    /// Another card error.
    #[error(
        "YubiKey {serial} failed while {operation}: {source}; remove and reinsert it, then retry"
    )]
    Card {
        /// Token serial.
        serial: u32,
        /// What was being done.
        operation: &'static str,
        /// The `yubikey` crate's error.
        #[source]
        source: yubikey::Error,
    },

    /// The user-interaction layer failed (cancelled, no answer).
    #[error(transparent)]
    Ui(#[from] UiError),
}

/// Maps a `yubikey` crate error to a [`YubikeyError`] for token `serial`.
pub(crate) fn card_error(e: yubikey::Error, serial: u32, operation: &'static str) -> YubikeyError {
    use pcsc_errors::*;
    match e {
        yubikey::Error::PcscError { inner: Some(p) } if is_no_service(p) => {
            YubikeyError::PcscdNotRunning
        }
        yubikey::Error::PcscError { inner: Some(p) } if is_removed(p) => {
            YubikeyError::TokenRemoved { serial }
        }
        yubikey::Error::PcscError { inner } => YubikeyError::Pcsc {
            operation,
            detail: inner.map_or_else(|| "unknown PC/SC error".to_owned(), |p| p.to_string()),
        },
        yubikey::Error::WrongPin { tries: 0 } | yubikey::Error::PinLocked => {
            YubikeyError::PinBlocked { serial }
        }
        yubikey::Error::WrongPin { tries } => YubikeyError::WrongPin {
            serial,
            tries_left: tries,
        },
        source => YubikeyError::Card {
            serial,
            operation,
            source,
        },
    }
}

/// Maps an error that happened before a token was identified.
pub(crate) fn context_error(e: yubikey::Error, operation: &'static str) -> YubikeyError {
    use pcsc_errors::*;
    match e {
        yubikey::Error::PcscError { inner: Some(p) } if is_no_service(p) => {
            YubikeyError::PcscdNotRunning
        }
        yubikey::Error::PcscError { inner } => YubikeyError::Pcsc {
            operation,
            detail: inner.map_or_else(|| "unknown PC/SC error".to_owned(), |p| p.to_string()),
        },
        other => YubikeyError::Pcsc {
            operation,
            detail: other.to_string(),
        },
    }
}

pub(crate) mod pcsc_errors {
    use pcsc::Error as P;

    /// The daemon is absent or went away.
    pub(crate) fn is_no_service(e: P) -> bool {
        matches!(e, P::NoService | P::ServiceStopped)
    }

    /// The card went away or was reset under us.
    pub(crate) fn is_removed(e: P) -> bool {
        matches!(
            e,
            P::RemovedCard
                | P::ResetCard
                | P::NoSmartcard
                | P::UnpoweredCard
                | P::ReaderUnavailable
        )
    }

    /// No reader at all (treated as "no token").
    pub(crate) fn is_no_readers(e: P) -> bool {
        matches!(e, P::NoReadersAvailable | P::UnknownReader)
    }
}
