//! YubiKey token backend: list, enroll and open a share with a PIV P-256 key.
//!
//! Role: the only user of the `yubikey` crate. It finds tokens (always by
//! serial once a descriptor names them), guides the PIN/PUK and management key
//! steps of enrollment, generates the key on the token, writes the
//! age-plugin-yubikey slot certificate, verifies the PIV attestation and turns
//! it into a [`YubikeyDescriptor`]; and it opens a custodian's share file with
//! the card's ECDH through [`super::piv_p256`].
//!
//! Invariants:
//! - descriptor facts (serial, firmware, policies, public key) come from the
//!   verified *slot* attestation certificate, never from the F9 certificate or
//!   from what the card says outside the attestation;
//! - a share is opened only with a token whose serial the descriptor names, and
//!   whose slot still holds the enrolled key;
//! - factory default PIN/PUK are never left in place by enrollment;
//! - PINs, PUKs, management keys and ECDH outputs stay in zeroizing buffers and
//!   never appear in errors or messages; the card is reset (PIN state cleared)
//!   when a session ends.

mod error;
mod pin;
mod sign;
mod slotcert;

pub use sign::sign_digest;

use std::cell::RefCell;
use std::io::Read;

use base64::prelude::{Engine, BASE64_STANDARD};
use yubikey::piv::{self, AlgorithmId, ManagementSlotId, RetiredSlotId, SlotAlgorithmId, SlotId};
use yubikey::{MgmAlgorithmId, MgmKey, Serial, YubiKey};
use zeroize::Zeroizing;

pub use error::YubikeyError;
use error::{card_error, context_error, pcsc_errors};

use crate::attestation::{
    self, AttestationFacts, PinPolicy, Requirements, SubjectKey, TouchPolicy, TrustAnchors,
};
use crate::secret::{SecretBytes, SecretString};
use crate::token::piv_p256::{PivEcdh, PivIdentity, PivRecipient, PivUnwrapError};
use crate::token::{AttestationRecord, YubikeyDescriptor};
use crate::ui::{Level, PinPurpose, PinRequest, Ui};

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

const DEFAULT_MGM_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
const F9_OBJECT: u32 = 0x005F_FF01;

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

// ---------------------------------------------------------------------------
// Listing and opening
// ---------------------------------------------------------------------------

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

fn pin_policy_byte(p: PinPolicy) -> u8 {
    match p {
        PinPolicy::Never => 1,
        PinPolicy::Once | PinPolicy::MatchOnce => 2,
        PinPolicy::Always | PinPolicy::MatchAlways => 3,
    }
}

fn touch_policy_byte(t: TouchPolicy) -> u8 {
    match t {
        TouchPolicy::Never => 1,
        TouchPolicy::Always => 2,
        TouchPolicy::Cached => 3,
    }
}

fn to_yk_pin_policy(p: PinPolicy) -> yubikey::PinPolicy {
    match p {
        PinPolicy::Never => yubikey::PinPolicy::Never,
        PinPolicy::Once | PinPolicy::MatchOnce => yubikey::PinPolicy::Once,
        PinPolicy::Always | PinPolicy::MatchAlways => yubikey::PinPolicy::Always,
    }
}

fn to_yk_touch_policy(t: TouchPolicy) -> yubikey::TouchPolicy {
    match t {
        TouchPolicy::Never => yubikey::TouchPolicy::Never,
        TouchPolicy::Always => yubikey::TouchPolicy::Always,
        TouchPolicy::Cached => yubikey::TouchPolicy::Cached,
    }
}

/// An open token and who it is for (for messages and PIN prompts).
struct Session<'a> {
    yk: YubiKey,
    serial: u32,
    custodian: &'a str,
}

impl Session<'_> {
    fn err(&self, e: yubikey::Error, operation: &'static str) -> YubikeyError {
        card_error(e, self.serial, operation)
    }

    /// Metadata of a management slot (PIN, PUK, management key); `None` on
    /// firmware without GET METADATA (before 5.3).
    fn mgmt_metadata(
        &mut self,
        slot: ManagementSlotId,
    ) -> Result<Option<piv::SlotMetadata>, YubikeyError> {
        match piv::metadata(&mut self.yk, SlotId::Management(slot)) {
            Ok(m) => Ok(Some(m)),
            Err(yubikey::Error::NotSupported) => Ok(None),
            Err(e) => Err(self.err(e, "reading PIN/key metadata")),
        }
    }

    /// Tries left for the PIN (metadata, else an empty VERIFY).
    fn pin_retries(&mut self) -> Result<u8, YubikeyError> {
        if let Some(m) = self.mgmt_metadata(ManagementSlotId::Pin)? {
            if let Some(r) = m.retries {
                return Ok(r.remaining_count);
            }
        }
        self.yk
            .get_pin_retries()
            .map_err(|e| self.err(e, "reading the PIN retry counter"))
    }

    /// Asks for the PIN (guarded) and verifies it on the token.
    fn verify_pin(
        &mut self,
        ui: &mut dyn Ui,
        vault_fingerprint: Option<&str>,
    ) -> Result<SecretString, YubikeyError> {
        let retries = self.pin_retries()?;
        if retries == 0 {
            return Err(YubikeyError::PinBlocked {
                serial: self.serial,
            });
        }
        let pin = pin::ask(
            ui,
            &PinRequest {
                custodian: self.custodian,
                serial: self.serial,
                purpose: PinPurpose::Verify,
                retries_left: Some(retries),
                vault_fingerprint,
            },
        )?;
        self.yk
            .verify_pin(pin.expose().as_bytes())
            .map_err(|e| self.err(e, "verifying the PIN"))?;
        Ok(pin)
    }

    /// Enrollment PIN step: verify the PIN, then replace a factory default PIN
    /// and PUK with values chosen through `ui`. Returns the (current) PIN.
    fn enrollment_pin(&mut self, ui: &mut dyn Ui) -> Result<SecretString, YubikeyError> {
        let pin_meta = self.mgmt_metadata(ManagementSlotId::Pin)?;
        let mut pin = self.verify_pin(ui, None)?;
        let pin_is_default = pin_meta.as_ref().and_then(|m| m.default) == Some(true)
            || pin.expose() == pin::DEFAULT_PIN;

        // PUK first: changing it needs the current PUK, and a default PIN is a
        // strong hint that the PUK is default too.
        let puk_meta = self.mgmt_metadata(ManagementSlotId::Puk)?;
        let current_puk: Option<SecretString> = match puk_meta.as_ref().and_then(|m| m.default) {
            Some(true) => Some(SecretString::new(pin::DEFAULT_PUK.to_owned())),
            Some(false) => None,
            None if pin_is_default => {
                // No metadata (firmware before 5.3): ask, and change it if it is the default.
                let puk = pin::ask(
                    ui,
                    &PinRequest {
                        custodian: self.custodian,
                        serial: self.serial,
                        purpose: PinPurpose::Puk,
                        retries_left: None,
                        vault_fingerprint: None,
                    },
                )?;
                (puk.expose() == pin::DEFAULT_PUK).then_some(puk)
            }
            None => None,
        };
        if let Some(old_puk) = current_puk {
            ui.say(
                Level::Warn,
                &format!(
                    "YubiKey {} still has the factory default PUK; choose a new PUK (6 to 8 \
                     characters) and keep it safe: it is the only way to unblock the PIN",
                    self.serial
                ),
            );
            let new_puk = pin::ask(
                ui,
                &PinRequest {
                    custodian: self.custodian,
                    serial: self.serial,
                    purpose: PinPurpose::NewPuk,
                    retries_left: None,
                    vault_fingerprint: None,
                },
            )?;
            self.yk
                .change_puk(old_puk.expose().as_bytes(), new_puk.expose().as_bytes())
                .map_err(|e| match e {
                    yubikey::Error::PinLocked | yubikey::Error::WrongPin { tries: 0 } => {
                        YubikeyError::PukBlocked {
                            serial: self.serial,
                        }
                    }
                    yubikey::Error::WrongPin { tries } => YubikeyError::WrongPuk {
                        serial: self.serial,
                        tries_left: tries,
                    },
                    e => self.err(e, "changing the PUK"),
                })?;
            ui.say(
                Level::Info,
                &format!("PUK of YubiKey {} changed", self.serial),
            );
        }

        if pin_is_default {
            ui.say(
                Level::Warn,
                &format!(
                    "YubiKey {} still has the factory default PIN ({}); choose a new PIN (6 to 8 \
                     characters)",
                    self.serial,
                    pin::DEFAULT_PIN
                ),
            );
            let new_pin = pin::ask(
                ui,
                &PinRequest {
                    custodian: self.custodian,
                    serial: self.serial,
                    purpose: PinPurpose::New,
                    retries_left: None,
                    vault_fingerprint: None,
                },
            )?;
            self.yk
                .change_pin(pin.expose().as_bytes(), new_pin.expose().as_bytes())
                .map_err(|e| self.err(e, "changing the PIN"))?;
            self.yk
                .verify_pin(new_pin.expose().as_bytes())
                .map_err(|e| self.err(e, "verifying the new PIN"))?;
            pin = new_pin;
            ui.say(
                Level::Info,
                &format!("PIN of YubiKey {} changed", self.serial),
            );
        }
        Ok(pin)
    }

    /// Authenticates with the management key: a PIN-protected key stored on
    /// the card (ykman / age-plugin-yubikey), else the factory default (then
    /// replaced by a random PIN-protected key), else one asked through `ui`.
    /// The PIN must already be verified.
    fn authenticate_management(&mut self, ui: &mut dyn Ui) -> Result<(), YubikeyError> {
        let serial = self.serial;
        let meta = self.mgmt_metadata(ManagementSlotId::Management)?;
        let algorithm = match meta.as_ref().map(|m| m.algorithm) {
            Some(SlotAlgorithmId::Management(alg)) => alg,
            // No metadata: firmware before 5.3, always 3DES.
            _ => MgmAlgorithmId::ThreeDes,
        };
        let wrong = |e: yubikey::Error, s: &Self| match e {
            yubikey::Error::AuthenticationError => YubikeyError::ManagementKeyWrong { serial },
            e => s.err(e, "authenticating with the management key"),
        };

        // 1. PIN-protected management key.
        if let Ok(key) = MgmKey::get_protected(&mut self.yk) {
            return self.yk.authenticate(&key).map_err(|e| wrong(e, self));
        }

        // 2. Factory default.
        let is_default = meta.as_ref().and_then(|m| m.default);
        if is_default != Some(false) {
            let key = MgmKey::from_bytes(DEFAULT_MGM_KEY, Some(algorithm))
                .map_err(|e| self.err(e, "preparing the default management key"))?;
            match self.yk.authenticate(&key) {
                Ok(()) => return self.protect_management_key(ui, algorithm),
                Err(yubikey::Error::AuthenticationError) if is_default.is_none() => {}
                Err(e) => return Err(wrong(e, self)),
            }
        }

        // 3. Ask.
        let expected_hex = match algorithm {
            MgmAlgorithmId::Aes128 => 32,
            MgmAlgorithmId::Aes256 => 64,
            MgmAlgorithmId::ThreeDes | MgmAlgorithmId::Aes192 => 48,
        };
        let alg_name = match algorithm {
            MgmAlgorithmId::ThreeDes => "3DES",
            MgmAlgorithmId::Aes128 => "AES-128",
            MgmAlgorithmId::Aes192 => "AES-192",
            MgmAlgorithmId::Aes256 => "AES-256",
        };
        let typed = ui.secret(
            "yubikey.management-key",
            &format!(
                "Management key of YubiKey {serial} ({alg_name}, {expected_hex} hex digits; it is \
                 neither the factory default nor PIN-protected)"
            ),
        )?;
        let format_err = YubikeyError::ManagementKeyFormat {
            serial,
            algorithm: alg_name,
            expected_hex,
        };
        let text: String = typed.expose().split_whitespace().collect();
        let text = Zeroizing::new(text);
        if text.len() != expected_hex {
            return Err(format_err);
        }
        let mut bytes = Zeroizing::new(vec![0u8; expected_hex / 2]);
        for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
            let hexval = |c: u8| (c as char).to_digit(16);
            match (
                chunk.first().and_then(|c| hexval(*c)),
                chunk.get(1).and_then(|c| hexval(*c)),
            ) {
                (Some(h), Some(l)) => {
                    if let Some(b) = bytes.get_mut(i) {
                        *b = (h * 16 + l) as u8;
                    }
                }
                _ => return Err(format_err),
            }
        }
        let key = MgmKey::from_bytes(&bytes[..], Some(algorithm)).map_err(|_| format_err)?;
        self.yk.authenticate(&key).map_err(|e| wrong(e, self))
    }

    /// Replaces the (authenticated) default management key with a random
    /// PIN-protected one, as ykman and age-plugin-yubikey do.
    fn protect_management_key(
        &mut self,
        ui: &mut dyn Ui,
        algorithm: MgmAlgorithmId,
    ) -> Result<(), YubikeyError> {
        use rand::RngCore;
        let len = match algorithm {
            MgmAlgorithmId::Aes128 => 16,
            MgmAlgorithmId::Aes256 => 32,
            MgmAlgorithmId::ThreeDes | MgmAlgorithmId::Aes192 => 24,
        };
        let mut key = None;
        for _ in 0..4 {
            let mut bytes = Zeroizing::new(vec![0u8; len]);
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // from_bytes refuses weak 3DES keys: draw again.
            if let Ok(k) = MgmKey::from_bytes(&bytes[..], Some(algorithm)) {
                key = Some(k);
                break;
            }
        }
        let Some(key) = key else {
            return Err(YubikeyError::ManagementKeyMigration {
                serial: self.serial,
                detail: "no usable random key".into(),
                state: "unchanged (still the factory default)",
            });
        };
        if let Err(e) = key.set_protected(&mut self.yk) {
            // Best effort: put the default back so the token stays manageable.
            let restored = MgmKey::from_bytes(DEFAULT_MGM_KEY, Some(algorithm))
                .and_then(|d| d.set_manual(&mut self.yk, false))
                .is_ok();
            return Err(YubikeyError::ManagementKeyMigration {
                serial: self.serial,
                detail: e.to_string(),
                state: if restored {
                    "the factory default again; retry the enrollment"
                } else {
                    "unknown; reset the PIV application with `ykman piv reset` and enroll again"
                },
            });
        }
        // Authenticate with the new key (the card may have dropped the session).
        self.yk
            .authenticate(&key)
            .map_err(|e| self.err(e, "authenticating with the new management key"))?;
        ui.say(
            Level::Info,
            &format!(
                "YubiKey {}: the factory default management key was replaced by a random key \
                 stored on the token under the PIN (as ykman and age-plugin-yubikey do)",
                self.serial
            ),
        );
        Ok(())
    }

    /// Whether a retired slot holds a key (or a certificate).
    fn slot_in_use(&mut self, slot: u8) -> Result<bool, YubikeyError> {
        let id = SlotId::Retired(retired_slot(slot)?);
        match piv::metadata(&mut self.yk, id) {
            Ok(_) => return Ok(true),
            Err(yubikey::Error::NotFound) => {}
            Err(yubikey::Error::NotSupported) => {}
            Err(e) => return Err(self.err(e, "reading slot metadata")),
        }
        Ok(yubikey::certificate::Certificate::read(&mut self.yk, id).is_ok())
    }

    /// The uncompressed public point of the key in `slot`, from slot metadata
    /// (firmware 5.3+) or, failing that, the slot certificate.
    fn slot_public_point(&mut self, slot: u8) -> Result<Option<[u8; 65]>, YubikeyError> {
        let id = SlotId::Retired(retired_slot(slot)?);
        let spki_point = |raw: &[u8]| -> Option<[u8; 65]> { raw.try_into().ok() };
        match piv::metadata(&mut self.yk, id) {
            Ok(m) => {
                if !matches!(
                    m.algorithm,
                    SlotAlgorithmId::Asymmetric(AlgorithmId::EccP256)
                ) {
                    return Err(YubikeyError::UnusableKey {
                        serial: self.serial,
                        slot,
                        why: "it is not a P-256 key; age-plugin-yubikey keys are P-256".into(),
                    });
                }
                if let Some(p) = m.public.as_ref() {
                    return Ok(spki_point(p.subject_public_key.raw_bytes()));
                }
            }
            Err(yubikey::Error::NotFound) => return Ok(None),
            Err(yubikey::Error::NotSupported) => {}
            Err(e) => return Err(self.err(e, "reading slot metadata")),
        }
        match yubikey::certificate::Certificate::read(&mut self.yk, id) {
            Ok(cert) => Ok(spki_point(
                cert.subject_pki().subject_public_key.raw_bytes(),
            )),
            Err(_) => Ok(None),
        }
    }

    /// Attests `slot` and verifies the attestation (slot certificate via
    /// ATTEST, F9 certificate from object 5FFF01).
    fn attest(
        &mut self,
        slot: u8,
        anchors: &TrustAnchors,
    ) -> Result<(AttestationFacts, Vec<u8>, Vec<u8>), YubikeyError> {
        let serial = self.serial;
        let id = SlotId::Retired(retired_slot(slot)?);
        let slot_cert = piv::attest(&mut self.yk, id)
            .map_err(|e| self.err(e, "getting the slot attestation"))?
            .to_vec();
        let f9_object = self
            .yk
            .fetch_object(F9_OBJECT)
            .map_err(|e| self.err(e, "reading the attestation certificate (slot F9)"))?;
        let f9_cert = match slotcert::read_tlv(&f9_object) {
            Some((0x70, der, _)) => der.to_vec(),
            _ => {
                return Err(YubikeyError::AttestationMismatch {
                    serial,
                    slot,
                    what: "the F9 object does not hold a certificate".into(),
                })
            }
        };
        let facts = attestation::verify(&slot_cert, &f9_cert, anchors).map_err(|source| {
            YubikeyError::AttestationFailed {
                serial,
                slot,
                source,
            }
        })?;
        facts
            .check(&MIN_REQUIREMENTS)
            .map_err(|source| YubikeyError::AttestationFailed {
                serial,
                slot,
                source,
            })?;
        if facts.serial != serial {
            return Err(YubikeyError::AttestationMismatch {
                serial,
                slot,
                what: format!("it attests serial {}", facts.serial),
            });
        }
        if let Some(s) = facts.slot {
            if s != slot {
                return Err(YubikeyError::AttestationMismatch {
                    serial,
                    slot,
                    what: format!("it attests slot {s:02x}"),
                });
            }
        }
        Ok((facts, slot_cert, f9_cert))
    }

    /// Writes the age-plugin-yubikey slot certificate for the key in `slot`.
    fn write_slot_certificate(
        &mut self,
        ui: &mut dyn Ui,
        slot: u8,
        point: &[u8; 65],
        opts: &EnrollOptions,
        pin: &SecretString,
    ) -> Result<(), YubikeyError> {
        use rand::RngCore;
        let id = SlotId::Retired(retired_slot(slot)?);
        let mut serial = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut serial);
        let common_name = format!("breakglass custodian {}", self.custodian);
        let unit = concat!("breakglass ", env!("CARGO_PKG_VERSION"));
        let now = crate::clock::Timestamp::now().to_rfc3339();
        let template = slotcert::SlotCertTemplate {
            serial,
            common_name: &common_name,
            unit,
            public_point: point,
            pin_policy: pin_policy_byte(opts.pin_policy),
            touch_policy: touch_policy_byte(opts.touch_policy),
            not_before_rfc3339: &now,
        };
        let tbs = template.tbs();
        let digest = slotcert::SlotCertTemplate::digest(&tbs);
        if matches!(opts.pin_policy, PinPolicy::Always | PinPolicy::MatchAlways) {
            self.yk
                .verify_pin(pin.expose().as_bytes())
                .map_err(|e| self.err(e, "verifying the PIN"))?;
        }
        let touch = !matches!(opts.touch_policy, TouchPolicy::Never);
        if touch {
            ui.touch(self.custodian, self.serial);
        }
        let signature = piv::sign_data(&mut self.yk, &digest, AlgorithmId::EccP256, id).map_err(
            |e| match e {
                yubikey::Error::AuthenticationError if touch => YubikeyError::TouchTimeout {
                    serial: self.serial,
                },
                e => self.err(e, "signing the slot certificate"),
            },
        )?;
        let der = slotcert::SlotCertTemplate::assemble(&tbs, &signature);
        let cert = yubikey::certificate::Certificate::from_bytes(der)
            .map_err(|e| self.err(e, "encoding the slot certificate"))?;
        cert.write(
            &mut self.yk,
            id,
            yubikey::certificate::CertInfo::Uncompressed,
        )
        .map_err(|e| self.err(e, "writing the slot certificate"))
    }
}

fn descriptor_from(
    facts: &AttestationFacts,
    slot: u8,
    recipient: &PivRecipient,
    slot_cert: &[u8],
    f9_cert: &[u8],
) -> YubikeyDescriptor {
    let (a, b, c) = facts.firmware;
    let pki = match facts.pki {
        attestation::Pki::LegacyPivRoot263751 => "yubico-piv-root-263751".to_owned(),
        attestation::Pki::AttestationRoot1 => "yubico-attestation-root-1".to_owned(),
        attestation::Pki::Test => "test".to_owned(),
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    };
    YubikeyDescriptor {
        recipient: recipient.to_string(),
        serial: facts.serial,
        slot: format!("{slot:02x}"),
        firmware: format!("{a}.{b}.{c}"),
        pin_policy: facts.pin_policy.to_string(),
        touch_policy: facts.touch_policy.to_string(),
        attestation: AttestationRecord {
            slot_cert: BASE64_STANDARD.encode(slot_cert),
            f9_cert: BASE64_STANDARD.encode(f9_cert),
            pki,
        },
    }
}

fn attested_point(
    facts: &AttestationFacts,
    serial: u32,
    slot: u8,
) -> Result<[u8; 65], YubikeyError> {
    match &facts.public_key {
        SubjectKey::P256(p) => Ok(*p),
        _ => Err(YubikeyError::UnusableKey {
            serial,
            slot,
            why: "the attested key is not P-256".into(),
        }),
    }
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

/// Opens the token to enroll: by serial, or the only one inserted.
fn open_for_enrollment(serial: Option<u32>) -> Result<(YubiKey, u32), YubikeyError> {
    let serial = match serial {
        Some(s) => s,
        None => {
            let tokens = list()?;
            match tokens.as_slice() {
                [] => return Err(YubikeyError::NoTokenInserted),
                [one] => one.serial,
                many => {
                    return Err(YubikeyError::SeveralTokens {
                        serials: many.iter().map(|t| t.serial).collect(),
                    })
                }
            }
        }
    };
    match open_serial(serial)? {
        Some(yk) => Ok((yk, serial)),
        None => Err(YubikeyError::TokenNotInserted { serial }),
    }
}

/// Enrolls a YubiKey for `custodian`: PIN/PUK hygiene, management key, a new
/// P-256 key generated on the token with the chosen policies, the
/// age-plugin-yubikey slot certificate, and a verified attestation.
///
/// Serial, firmware and policies in the descriptor come from the verified slot
/// attestation certificate.
pub fn enroll(
    opts: &EnrollOptions,
    custodian: &str,
    anchors: &TrustAnchors,
    ui: &mut dyn Ui,
) -> Result<YubikeyDescriptor, YubikeyError> {
    enroll_inner(opts, custodian, anchors, ui).map_err(removal_check)
}

fn enroll_inner(
    opts: &EnrollOptions,
    custodian: &str,
    anchors: &TrustAnchors,
    ui: &mut dyn Ui,
) -> Result<YubikeyDescriptor, YubikeyError> {
    if opts.pin_policy.level() < MIN_REQUIREMENTS.pin_policy_at_least.level() {
        return Err(YubikeyError::PolicyNotAllowed {
            why: format!(
                "PIN policy '{}' is not allowed for break-glass keys: every opening must need the \
                 custodian's PIN; choose 'once' or 'always'",
                opts.pin_policy
            ),
        });
    }
    if matches!(
        opts.pin_policy,
        PinPolicy::MatchOnce | PinPolicy::MatchAlways
    ) {
        return Err(YubikeyError::PolicyNotAllowed {
            why: "biometric PIN policies are not supported; choose 'once' or 'always'".into(),
        });
    }
    if let Some(slot) = opts.slot {
        retired_slot(slot)?;
    }
    let (yk, serial) = open_for_enrollment(opts.serial)?;
    let mut s = Session {
        yk,
        serial,
        custodian,
    };
    let v = s.yk.version();
    ui.say(
        Level::Step,
        &format!(
            "enrolling YubiKey {serial} (firmware {}.{}.{}) for {custodian}",
            v.major, v.minor, v.patch
        ),
    );

    let pin = s.enrollment_pin(ui)?;
    s.authenticate_management(ui)?;

    let slot = match opts.slot {
        Some(slot) => {
            if s.slot_in_use(slot)? {
                return Err(YubikeyError::SlotOccupied { serial, slot });
            }
            slot
        }
        None => {
            let mut free = None;
            for slot in FIRST_RETIRED_SLOT..=LAST_RETIRED_SLOT {
                if !s.slot_in_use(slot)? {
                    free = Some(slot);
                    break;
                }
            }
            free.ok_or(YubikeyError::NoFreeSlot { serial })?
        }
    };

    ui.say(
        Level::Step,
        &format!("generating a P-256 key on YubiKey {serial} in slot {slot:02x}"),
    );
    let id = SlotId::Retired(retired_slot(slot)?);
    let spki = piv::generate(
        &mut s.yk,
        id,
        AlgorithmId::EccP256,
        to_yk_pin_policy(opts.pin_policy),
        to_yk_touch_policy(opts.touch_policy),
    )
    .map_err(|e| s.err(e, "generating the key"))?;
    let generated: [u8; 65] = spki
        .subject_public_key
        .raw_bytes()
        .try_into()
        .map_err(|_| YubikeyError::UnusableKey {
            serial,
            slot,
            why: "the token returned a malformed public key".into(),
        })?;
    let recipient = PivRecipient::from_sec1(&generated).map_err(|e| YubikeyError::UnusableKey {
        serial,
        slot,
        why: e.to_string(),
    })?;

    s.write_slot_certificate(ui, slot, &generated, opts, &pin)?;
    drop(pin);

    ui.say(
        Level::Step,
        &format!("verifying the attestation of YubiKey {serial} slot {slot:02x}"),
    );
    let (facts, slot_cert, f9_cert) = s.attest(slot, anchors)?;
    let attested = attested_point(&facts, serial, slot)?;
    if attested != generated {
        return Err(YubikeyError::AttestationMismatch {
            serial,
            slot,
            what: "the attested public key is not the generated one".into(),
        });
    }
    if facts.pin_policy != opts.pin_policy || facts.touch_policy != opts.touch_policy {
        return Err(YubikeyError::AttestationMismatch {
            serial,
            slot,
            what: format!(
                "it attests PIN policy {} and touch policy {}, {} and {} were asked for",
                facts.pin_policy, facts.touch_policy, opts.pin_policy, opts.touch_policy
            ),
        });
    }
    Ok(descriptor_from(
        &facts, slot, &recipient, &slot_cert, &f9_cert,
    ))
}

/// Adopts a key already on a token (e.g. made by `age-plugin-yubikey
/// --generate`): checks PIN/PUK hygiene, attests the slot and records it. The
/// slot certificate is left as it is.
pub fn enroll_existing(
    serial: u32,
    slot: u8,
    custodian: &str,
    anchors: &TrustAnchors,
    ui: &mut dyn Ui,
) -> Result<YubikeyDescriptor, YubikeyError> {
    enroll_existing_inner(serial, slot, custodian, anchors, ui).map_err(removal_check)
}

fn enroll_existing_inner(
    serial: u32,
    slot: u8,
    custodian: &str,
    anchors: &TrustAnchors,
    ui: &mut dyn Ui,
) -> Result<YubikeyDescriptor, YubikeyError> {
    retired_slot(slot)?;
    let yk = open_serial(serial)?.ok_or(YubikeyError::TokenNotInserted { serial })?;
    let mut s = Session {
        yk,
        serial,
        custodian,
    };
    ui.say(
        Level::Step,
        &format!("adopting the key in slot {slot:02x} of YubiKey {serial} for {custodian}"),
    );
    let Some(point) = s.slot_public_point(slot)? else {
        return Err(YubikeyError::SlotEmpty { serial, slot });
    };
    let pin = s.enrollment_pin(ui)?;
    drop(pin);
    let (facts, slot_cert, f9_cert) = s.attest(slot, anchors)?;
    let attested = attested_point(&facts, serial, slot)?;
    if attested != point {
        return Err(YubikeyError::AttestationMismatch {
            serial,
            slot,
            what: "the attested public key is not the key in the slot".into(),
        });
    }
    let recipient = PivRecipient::from_sec1(&attested).map_err(|e| YubikeyError::UnusableKey {
        serial,
        slot,
        why: e.to_string(),
    })?;
    Ok(descriptor_from(
        &facts, slot, &recipient, &slot_cert, &f9_cert,
    ))
}

/// Re-verifies a descriptor's recorded attestation (setup and rekey do this
/// for every YubiKey they seal to): the chain must verify to `anchors` with at
/// least [`MIN_REQUIREMENTS`], and every fact the descriptor states (recipient,
/// serial, slot, firmware, policies, PKI) must be what the slot certificate
/// attests. A descriptor file altered between enrollment and setup, e.g. a
/// recipient swapped for a key that never was on a YubiKey, is refused here.
///
/// # Errors
/// [`YubikeyError::BadDescriptor`] naming the field that differs, or
/// [`YubikeyError::AttestationFailed`].
pub fn verify_descriptor(
    custodian: &str,
    desc: &YubikeyDescriptor,
    anchors: &TrustAnchors,
) -> Result<(), YubikeyError> {
    let bad = |why: String| YubikeyError::BadDescriptor {
        custodian: custodian.to_owned(),
        why,
    };
    let (slot, _) = parse_descriptor(custodian, desc)?;
    let decode = |what: &str, b64: &str| {
        BASE64_STANDARD
            .decode(b64)
            .map_err(|_| bad(format!("its {what} attestation certificate is not base64")))
    };
    let slot_cert = decode("slot", &desc.attestation.slot_cert)?;
    let f9_cert = decode("F9", &desc.attestation.f9_cert)?;
    let serial = desc.serial;
    let failed = |source| YubikeyError::AttestationFailed {
        serial,
        slot,
        source,
    };
    let facts = attestation::verify(&slot_cert, &f9_cert, anchors).map_err(failed)?;
    facts.check(&MIN_REQUIREMENTS).map_err(failed)?;
    if facts.slot.is_some_and(|s| s != slot) {
        return Err(bad(format!(
            "token {serial}: it names slot {}, its attestation another",
            desc.slot
        )));
    }
    let point = attested_point(&facts, serial, slot)?;
    let recipient = PivRecipient::from_sec1(&point).map_err(|e| YubikeyError::UnusableKey {
        serial,
        slot,
        why: e.to_string(),
    })?;
    let attested = descriptor_from(&facts, slot, &recipient, &slot_cert, &f9_cert);
    let differs = [
        ("recipient", desc.recipient != attested.recipient),
        ("serial", desc.serial != attested.serial),
        ("firmware", desc.firmware != attested.firmware),
        ("PIN policy", desc.pin_policy != attested.pin_policy),
        ("touch policy", desc.touch_policy != attested.touch_policy),
        ("PKI", desc.attestation.pki != attested.attestation.pki),
    ];
    if let Some((field, _)) = differs.iter().find(|(_, d)| *d) {
        return Err(bad(format!(
            "token {serial}: its {field} is not what the token's attestation says; \
             the descriptor was altered or belongs to another enrollment: re-enroll the custodian"
        )));
    }
    Ok(())
}

/// The age recipient of an enrolled token (what share files are encrypted to).
pub fn recipient(desc: &YubikeyDescriptor) -> Result<PivRecipient, YubikeyError> {
    parse_descriptor("", desc).map(|(_, r)| r)
}

fn parse_descriptor(
    custodian: &str,
    desc: &YubikeyDescriptor,
) -> Result<(u8, PivRecipient), YubikeyError> {
    let bad = |why: String| YubikeyError::BadDescriptor {
        custodian: custodian.to_owned(),
        why,
    };
    let slot = match desc.slot.as_bytes() {
        [_, _]
            if desc
                .slot
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            u8::from_str_radix(&desc.slot, 16).map_err(|_| bad(format!("slot '{}'", desc.slot)))?
        }
        _ => {
            return Err(bad(format!(
                "slot '{}' is not two lower-case hex digits",
                desc.slot
            )))
        }
    };
    if !(FIRST_RETIRED_SLOT..=LAST_RETIRED_SLOT).contains(&slot) {
        return Err(bad(format!(
            "slot '{}' is not a retired slot (82–95)",
            desc.slot
        )));
    }
    let recipient = desc
        .recipient
        .parse::<PivRecipient>()
        .map_err(|e| bad(format!("recipient: {e}")))?;
    Ok((slot, recipient))
}

// ---------------------------------------------------------------------------
// Opening a share
// ---------------------------------------------------------------------------

/// ECDH on the card (GENERAL AUTHENTICATE), with the touch prompt.
struct CardEcdh<'s, 'u> {
    session: RefCell<Session<'s>>,
    slot: u8,
    touch: bool,
    ui: RefCell<&'u mut dyn Ui>,
    apdu_ops: RefCell<u32>,
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
        *self.apdu_ops.borrow_mut() += 1;
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
/// is. Opens only the serials in `tokens`.
fn find_token(
    custodian: &str,
    tokens: &[(&YubikeyDescriptor, u8, PivRecipient)],
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
        for serial in &foreign {
            ui.say(
                Level::Warn,
                &format!(
                    "YubiKey {serial} is not one of {custodian}'s tokens in this vault; remove it"
                ),
            );
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
    if tokens.is_empty() {
        return Err(YubikeyError::BadDescriptor {
            custodian: custodian.to_owned(),
            why: "no YubiKey is enrolled for this custodian".into(),
        });
    }
    let parsed: Vec<(&YubikeyDescriptor, u8, PivRecipient)> = tokens
        .iter()
        .map(|d| parse_descriptor(custodian, d).map(|(slot, r)| (*d, slot, r)))
        .collect::<Result<_, _>>()?;

    // Parse the file before touching any token: a bad file costs no PIN try.
    let decryptor = age::Decryptor::new(share_file).map_err(|e| YubikeyError::BadShareFile {
        custodian: custodian.to_owned(),
        why: e.to_string(),
    })?;

    let (yk, index) = find_token(custodian, &parsed, ui)?;
    let Some((desc, slot, recipient)) = parsed.get(index).map(|(d, s, r)| (*d, *s, r.clone()))
    else {
        return Err(YubikeyError::NoToken {
            custodian: custodian.to_owned(),
            expected: vec![],
        });
    };
    let serial = desc.serial;
    let mut session = Session {
        yk,
        serial,
        custodian,
    };

    // The slot must still hold the enrolled key.
    let point = session.slot_public_point(slot)?;
    if point.as_ref() != Some(&recipient.uncompressed()) {
        return Err(YubikeyError::KeyMismatch {
            custodian: custodian.to_owned(),
            serial,
            slot,
        });
    }

    let pin_needed = desc.pin_policy != "never";
    let touch = desc.touch_policy != "never";
    if pin_needed {
        ui.say(
            Level::Step,
            &format!("{custodian}: PIN of YubiKey {serial} for vault {vault_fingerprint}"),
        );
        let pin = session.verify_pin(ui, Some(vault_fingerprint))?;
        drop(pin);
    }

    let identity = PivIdentity::new(
        recipient,
        CardEcdh {
            session: RefCell::new(session),
            slot,
            touch,
            ui: RefCell::new(ui),
            apdu_ops: RefCell::new(0),
        },
    );
    let result = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity));
    let mut reader = match result {
        Ok(r) => r,
        Err(e) => {
            return Err(match identity.take_error() {
                Some(PivUnwrapError::Ecdh(card)) => card,
                Some(PivUnwrapError::WrongKey) | Some(PivUnwrapError::BadSharedSecret) => {
                    YubikeyError::CorruptShare {
                        custodian: custodian.to_owned(),
                        serial,
                    }
                }
                Some(PivUnwrapError::Malformed(f)) => YubikeyError::BadShareFile {
                    custodian: custodian.to_owned(),
                    why: f.to_string(),
                },
                _ => match e {
                    age::DecryptError::NoMatchingKeys => YubikeyError::NotARecipient {
                        custodian: custodian.to_owned(),
                        serial,
                        slot,
                    },
                    e => YubikeyError::BadShareFile {
                        custodian: custodian.to_owned(),
                        why: e.to_string(),
                    },
                },
            })
        }
    };
    let mut plaintext = Zeroizing::new(Vec::new());
    let read = (&mut reader)
        .take(MAX_SHARE_PLAINTEXT as u64 + 1)
        .read_to_end(&mut plaintext);
    match read {
        Ok(n) if n <= MAX_SHARE_PLAINTEXT => {}
        Ok(_) => {
            return Err(YubikeyError::BadShareFile {
                custodian: custodian.to_owned(),
                why: format!("the plaintext is larger than {MAX_SHARE_PLAINTEXT} bytes"),
            })
        }
        Err(e) => {
            return Err(YubikeyError::BadShareFile {
                custodian: custodian.to_owned(),
                why: e.to_string(),
            })
        }
    }
    let mut out = SecretBytes::zeroed(plaintext.len());
    out.expose_mut().copy_from_slice(&plaintext);
    Ok((out, index))
}
