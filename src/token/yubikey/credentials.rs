//! Enrollment credentials: PIN/PUK hygiene (factory defaults replaced by
//! values the custodian chooses) and the management key (a PIN-protected key
//! on the card, the factory default replaced by a random PIN-protected one,
//! or one typed by the custodian).
//!
//! Invariants: nothing here runs before the device attestation has been
//! verified (see `enroll`); PINs, PUKs and management keys stay in zeroizing
//! buffers and never appear in messages; a failed management key migration
//! says what state the token is in.

use yubikey::piv::{ManagementSlotId, SlotAlgorithmId};
use yubikey::{MgmAlgorithmId, MgmKey};
use zeroize::Zeroizing;

use crate::secret::SecretString;
use crate::ui::{Level, PinPurpose, PinRequest, Ui};

use super::session::Session;
use super::{pin, YubikeyError};

const DEFAULT_MGM_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

impl Session<'_> {
    /// Enrollment PIN step: verify the PIN, then replace a factory default PIN
    /// and PUK with values chosen through `ui`. Returns the (current) PIN.
    pub(super) fn enrollment_pin(&mut self, ui: &mut dyn Ui) -> Result<SecretString, YubikeyError> {
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
    pub(super) fn authenticate_management(&mut self, ui: &mut dyn Ui) -> Result<(), YubikeyError> {
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
}
