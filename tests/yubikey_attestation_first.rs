//! Enrollment verifies the device attestation (the F9 certificate's chain,
//! which needs no PIN) before it changes anything: a token whose attestation
//! is refused keeps its PIN, PUK, management key and slots exactly as they
//! were. Observed through the real stack (pcscd, the `yubikey` crate) and
//! compared whole through the virtual card's own snapshot (`CardState`: PIN,
//! PUK, management key, slots, objects, a keyed digest of the secrets).

mod yubikey_support;

use breakglass::attestation::TrustAnchors;
use breakglass::token::yubikey::{self, EnrollOptions, YubikeyError};
use yubikey_support::*;

use ::yubikey::piv::{self, ManagementSlotId, RetiredSlotId, SlotId};
use ::yubikey::{MgmKey, Serial, YubiKey};

/// What the real stack can observe of a token's credentials and slots.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    pin_tries: u8,
    puk_tries: u8,
    pin_default: Option<bool>,
    puk_default: Option<bool>,
    mgm_default: Option<bool>,
    retired_keys: Vec<u8>,
}

fn observe(card: &virtual_yubikey::VirtualYubiKey) -> Observed {
    let mut yk = YubiKey::open_by_serial(Serial(card.serial())).expect("open the card");
    let default = |yk: &mut YubiKey, slot| {
        piv::metadata(yk, SlotId::Management(slot))
            .ok()
            .and_then(|m| m.default)
    };
    let pin_default = default(&mut yk, ManagementSlotId::Pin);
    let puk_default = default(&mut yk, ManagementSlotId::Puk);
    let mgm_default = default(&mut yk, ManagementSlotId::Management);
    let mut retired_keys = vec![];
    for slot in 0x82..=0x95u8 {
        let id = SlotId::Retired(RetiredSlotId::try_from(slot).unwrap());
        if piv::metadata(&mut yk, id).is_ok() || card.card().public_key(slot).is_some() {
            retired_keys.push(slot);
        }
    }
    drop(yk);
    let c = card.card();
    Observed {
        pin_tries: c.pin_tries_left(),
        puk_tries: c.puk_tries_left(),
        pin_default,
        puk_default,
        mgm_default,
        retired_keys,
    }
}

#[test]
fn a_refused_device_attestation_leaves_the_token_as_it_was() {
    let slots = Slots::acquire();
    for firmware in [FW_NEW, FW_OLD] {
        let card = slots.fresh(firmware);
        let serial = card.serial();
        let before = observe(&card);
        let snapshot = card.state();
        assert_eq!(before.retired_keys, Vec::<u8>::new());
        assert_eq!(before.pin_tries, 3);

        // Anchors without the virtual card's test root: its chain is refused.
        let mut ui = enroll_answers(serial);
        let err = yubikey::enroll(
            &EnrollOptions {
                serial: Some(serial),
                ..EnrollOptions::default()
            },
            "alice",
            &TrustAnchors::yubico().unwrap(),
            &mut ui,
        )
        .expect_err("refused");
        assert!(
            matches!(err, YubikeyError::DeviceAttestationFailed { serial: s, .. } if s == serial),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("the device attestation of YubiKey {serial}"))
                && msg.contains("nothing on it was changed"),
            "{msg}"
        );
        // Nobody was asked for a PIN, and nothing changed.
        assert!(
            !ui.transcript()
                .iter()
                .any(|(_, t)| t.contains("factory default")),
            "{:?}",
            ui.transcript()
        );
        assert_eq!(observe(&card), before, "firmware {firmware:?}");
        assert_eq!(card.state(), snapshot, "firmware {firmware:?}");

        // The factory defaults still work through the real stack.
        let mut yk = YubiKey::open_by_serial(Serial(serial)).unwrap();
        yk.verify_pin(b"123456")
            .expect("default PIN still accepted");
        let key = MgmKey::get_default(&yk).expect("default management key");
        yk.authenticate(&key)
            .expect("default management key still accepted");
        yk.change_puk(b"12345678", b"12345678")
            .expect("default PUK still accepted");
        drop(yk);

        // The same token enrolls once its chain is trusted.
        let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
        assert_eq!(desc.serial, serial);
        assert_ne!(card.state(), snapshot, "the snapshot sees an enrollment");
        drop(card);
    }
}

/// `enroll_existing` checks the device first as well: the adopted slot's
/// key and the factory PIN/PUK stay as they were.
#[test]
fn adopting_a_key_on_a_refused_token_changes_nothing() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let before = observe(&card);
    let snapshot = card.state();
    let err = yubikey::enroll_existing(
        serial,
        0x82,
        "alice",
        &TrustAnchors::yubico().unwrap(),
        &mut enroll_answers(serial),
    )
    .expect_err("refused");
    assert!(
        matches!(err, YubikeyError::DeviceAttestationFailed { .. }),
        "{err}"
    );
    assert_eq!(observe(&card), before);
    assert_eq!(card.state(), snapshot);
}
