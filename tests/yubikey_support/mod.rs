//! Shared helpers for the YubiKey backend tests (virtual cards through pcscd).
#![allow(dead_code, unused_imports)]

use breakglass::attestation::TrustAnchors;
use breakglass::token::yubikey::{self, EnrollOptions};
use breakglass::token::YubikeyDescriptor;
use breakglass::ui::Answers;
use virtual_yubikey::harness::Harness;
use virtual_yubikey::{Config, VirtualYubiKey, FW_5_4_3, FW_5_7_1};

pub use virtual_yubikey::{Touch, FW_5_4_3 as FW_OLD, FW_5_7_1 as FW_NEW};

/// New PIN/PUK chosen at enrollment in these tests.
pub const PIN: &str = "864213";
pub const PUK: &str = "97531864";
pub const FINGERPRINT: &str = "vault:3f2a-9c41-07be-d5e8";

/// Both vpcd slots, so no other test (thread or process) can insert a card
/// while a test reasons about which tokens are present; tests holding them
/// run one at a time. Cards go into the first.
pub struct Slots {
    pub main: Harness,
    _other: Harness,
}

impl Slots {
    pub fn acquire() -> Slots {
        let [main, other] =
            Harness::acquire_pair().expect("both vpcd slots (is pcscd/vsmartcard-vpcd installed?)");
        Slots {
            main,
            _other: other,
        }
    }

    pub fn fresh(&self, firmware: [u8; 3]) -> VirtualYubiKey {
        self.main
            .insert_fresh(firmware)
            .expect("insert virtual card")
    }

    pub fn with_config(&self, config: Config) -> VirtualYubiKey {
        self.main.insert(config).expect("insert virtual card")
    }

    pub fn port(&self) -> u16 {
        self.main.port()
    }
}

pub fn anchors() -> TrustAnchors {
    TrustAnchors::yubico()
        .expect("bundled anchors")
        .with_test_root(&virtual_yubikey::test_attestation_root_der())
}

/// Answers for enrolling a factory-fresh card: default PIN given, new PIN/PUK chosen.
pub fn enroll_answers(serial: u32) -> Answers {
    Answers::from_json(
        format!(
            r#"{{"pins":{{"{serial}":"123456"}},"new_pins":{{"{serial}":"{PIN}"}},"new_puks":{{"{serial}":"{PUK}"}}}}"#
        )
        .as_bytes(),
    )
    .expect("answers")
}

/// Answers with the PIN set at enrollment, for opening.
pub fn pin_answers(serials: &[u32], pin: &str) -> Answers {
    let mut a = Answers::default();
    for s in serials {
        a.set_pin(*s, pin);
    }
    a
}

pub fn enroll_fresh(
    card: &VirtualYubiKey,
    custodian: &str,
    opts: EnrollOptions,
) -> YubikeyDescriptor {
    let serial = card.serial();
    let mut ui = enroll_answers(serial);
    yubikey::enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..opts
        },
        custodian,
        &anchors(),
        &mut ui,
    )
    .unwrap_or_else(|e| panic!("enroll {serial}: {e}"))
}

/// Encrypts `plaintext` to all given descriptors (a custodian's share file).
pub fn share_file(descs: &[&YubikeyDescriptor], plaintext: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let recipients: Vec<_> = descs
        .iter()
        .map(|d| yubikey::recipient(d).expect("recipient"))
        .collect();
    let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .expect("encryptor");
    let mut out = vec![];
    let mut w = enc.wrap_output(&mut out).expect("wrap");
    w.write_all(plaintext).expect("write");
    w.finish().expect("finish");
    out
}

pub fn _firmwares() -> [[u8; 3]; 2] {
    [FW_5_7_1, FW_5_4_3]
}
