//! An open token during one operation: PIN verification, PIN/PUK/management
//! metadata, slot contents and attestation reads.
//!
//! Invariants: every card error names the serial and the operation; the PIN
//! is asked only through the guard in `pin` and never kept beyond the caller;
//! attestation is read from the card and verified here, its facts are only
//! ever taken from the verified certificates.

use yubikey::piv::{self, AlgorithmId, ManagementSlotId, SlotAlgorithmId, SlotId};
use yubikey::YubiKey;

use crate::attestation::{self, AttestationFacts, TrustAnchors};
use crate::secret::SecretString;
use crate::ui::{PinPurpose, PinRequest, Ui};

use super::error::card_error;
use super::{pin, retired_slot, slotcert, YubikeyError, MIN_REQUIREMENTS};

/// PIV object holding the device attestation certificate (slot F9).
const F9_OBJECT: u32 = 0x005F_FF01;

/// An open token and who it is for (for messages and PIN prompts).
pub(super) struct Session<'a> {
    pub(super) yk: YubiKey,
    pub(super) serial: u32,
    pub(super) custodian: &'a str,
}

/// A verified slot attestation: its facts and the two certificates (DER).
pub(super) struct Attested {
    pub(super) facts: AttestationFacts,
    pub(super) slot_cert: Vec<u8>,
    pub(super) f9_cert: Vec<u8>,
}

impl<'a> Session<'a> {
    pub(super) fn new(yk: YubiKey, serial: u32, custodian: &'a str) -> Self {
        Session {
            yk,
            serial,
            custodian,
        }
    }

    pub(super) fn err(&self, e: yubikey::Error, operation: &'static str) -> YubikeyError {
        card_error(e, self.serial, operation)
    }

    /// Metadata of a management slot (PIN, PUK, management key); `None` on
    /// firmware without GET METADATA (before 5.3).
    pub(super) fn mgmt_metadata(
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
    pub(super) fn pin_retries(&mut self) -> Result<u8, YubikeyError> {
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
    pub(super) fn verify_pin(
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

    /// Whether a retired slot holds a key (or a certificate).
    pub(super) fn slot_in_use(&mut self, slot: u8) -> Result<bool, YubikeyError> {
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
    pub(super) fn slot_public_point(&mut self, slot: u8) -> Result<Option<[u8; 65]>, YubikeyError> {
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

    /// The device attestation certificate (object 5FFF01, slot F9), DER.
    fn f9_certificate(&mut self) -> Result<Vec<u8>, YubikeyError> {
        let object = self
            .yk
            .fetch_object(F9_OBJECT)
            .map_err(|e| self.err(e, "reading the attestation certificate (slot F9)"))?;
        match slotcert::read_tlv(&object) {
            Some((0x70, der, _)) => Ok(der.to_vec()),
            _ => Err(YubikeyError::AttestationMismatch {
                serial: self.serial,
                slot: 0xf9,
                what: "the F9 object does not hold a certificate".into(),
            }),
        }
    }

    /// Verifies the device attestation (the F9 certificate up to a trusted
    /// root) before anything on the token is changed. Reads only; needs no
    /// PIN.
    pub(super) fn verify_device(&mut self, anchors: &TrustAnchors) -> Result<(), YubikeyError> {
        let f9 = self.f9_certificate()?;
        attestation::verify_device(&f9, anchors)
            .map(|_| ())
            .map_err(|source| YubikeyError::DeviceAttestationFailed {
                serial: self.serial,
                source,
            })
    }

    /// Attests `slot` and verifies the attestation (slot certificate via
    /// ATTEST, F9 certificate from object 5FFF01): chain, minimum policies,
    /// and that it speaks of this serial and this slot.
    pub(super) fn attest(
        &mut self,
        slot: u8,
        anchors: &TrustAnchors,
    ) -> Result<Attested, YubikeyError> {
        let serial = self.serial;
        let id = SlotId::Retired(retired_slot(slot)?);
        let slot_cert = piv::attest(&mut self.yk, id)
            .map_err(|e| self.err(e, "getting the slot attestation"))?
            .to_vec();
        let f9_cert = self.f9_certificate()?;
        let failed = |source| YubikeyError::AttestationFailed {
            serial,
            slot,
            source,
        };
        let facts = attestation::verify(&slot_cert, &f9_cert, anchors).map_err(failed)?;
        facts.check(&MIN_REQUIREMENTS).map_err(failed)?;
        let mismatch = |what: String| YubikeyError::AttestationMismatch { serial, slot, what };
        if facts.serial != serial {
            return Err(mismatch(format!("it attests serial {}", facts.serial)));
        }
        if let Some(s) = facts.slot.filter(|s| *s != slot) {
            return Err(mismatch(format!("it attests slot {s:02x}")));
        }
        Ok(Attested {
            facts,
            slot_cert,
            f9_cert,
        })
    }
}
