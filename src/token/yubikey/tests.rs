//! Unit tests of the backend's pieces (session, credentials, enroll, open)
//! against virtual YubiKeys through the real pcscd (`virtual-yubikey`).
//! Each test holds both vpcd slots, so no other test's card is visible.

use virtual_yubikey::harness::Harness;
use virtual_yubikey::{Config, VirtualYubiKey, FW_5_4_3, FW_5_7_1};

use super::descriptor::parse_descriptor;
use super::enroll::{attest_and_match, check_options, choose_slot};
use super::open::{parse_tokens, ready_token};
use super::session::Session;
use super::*;
use crate::attestation::TrustAnchors;
use crate::token::YubikeyDescriptor;
use crate::ui::Answers;

const PIN: &str = "864213";
const PUK: &str = "97531864";

struct Bench {
    main: Harness,
    _other: Harness,
}

impl Bench {
    fn new() -> Bench {
        let [main, _other] = Harness::acquire_pair().expect("both vpcd slots (pcscd, vpcd)");
        Bench { main, _other }
    }
    fn card(&self, firmware: [u8; 3]) -> VirtualYubiKey {
        self.main.insert_fresh(firmware).expect("insert a card")
    }
}

fn test_anchors() -> TrustAnchors {
    TrustAnchors::yubico()
        .expect("bundled anchors")
        .with_test_root(&virtual_yubikey::test_attestation_root_der())
}

fn session(card: &VirtualYubiKey) -> Session<'static> {
    let serial = card.serial();
    let yk = open_serial(serial).expect("pcscd").expect("inserted");
    Session::new(yk, serial, "alice")
}

fn enroll_answers(serial: u32) -> Answers {
    Answers::from_json(
        format!(
            r#"{{"pins":{{"{serial}":"123456"}},"new_pins":{{"{serial}":"{PIN}"}},"new_puks":{{"{serial}":"{PUK}"}}}}"#
        )
        .as_bytes(),
    )
    .expect("answers")
}

#[test]
fn options_refused_before_any_token_is_opened() {
    for policy in [PinPolicy::Never, PinPolicy::MatchOnce] {
        let opts = EnrollOptions {
            pin_policy: policy,
            ..EnrollOptions::default()
        };
        assert!(matches!(
            check_options(&opts),
            Err(YubikeyError::PolicyNotAllowed { .. })
        ));
    }
    let opts = EnrollOptions {
        slot: Some(0x9a),
        ..EnrollOptions::default()
    };
    assert!(matches!(
        check_options(&opts),
        Err(YubikeyError::BadSlot { slot: 0x9a })
    ));
    assert!(check_options(&EnrollOptions::default()).is_ok());
}

#[test]
fn session_reads_retries_and_verifies_the_pin() {
    let bench = Bench::new();
    let card = bench.card(FW_5_7_1);
    let mut s = session(&card);
    assert_eq!(s.pin_retries().unwrap(), 3);
    let mut ui = Answers::default();
    ui.set_pin(card.serial(), "654321");
    let err = s.verify_pin(&mut ui, None).err().unwrap();
    assert!(
        matches!(err, YubikeyError::WrongPin { tries_left: 2, .. }),
        "{err}"
    );
    assert_eq!(s.pin_retries().unwrap(), 2);
    ui.set_pin(card.serial(), "123456");
    s.verify_pin(&mut ui, None).unwrap();
    assert_eq!(s.pin_retries().unwrap(), 3);
}

#[test]
fn device_attestation_is_checked_with_no_pin() {
    let bench = Bench::new();
    let card = bench.card(FW_5_4_3);
    let mut s = session(&card);
    s.verify_device(&test_anchors()).unwrap();
    let err = s
        .verify_device(&TrustAnchors::yubico().unwrap())
        .err()
        .unwrap();
    assert!(
        matches!(err, YubikeyError::DeviceAttestationFailed { serial, .. } if serial == card.serial()),
        "{err}"
    );
    // Reading the F9 chain costs no PIN try.
    assert_eq!(card.card().pin_tries_left(), 3);
}

#[test]
fn choose_slot_takes_the_first_free_one_and_refuses_an_occupied_one() {
    let bench = Bench::new();
    let card = bench.card(FW_5_7_1);
    let serial = card.serial();
    {
        let mut s = session(&card);
        assert_eq!(choose_slot(&mut s, None).unwrap(), FIRST_RETIRED_SLOT);
        assert_eq!(choose_slot(&mut s, Some(0x90)).unwrap(), 0x90);
    }
    let desc = enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..EnrollOptions::default()
        },
        "alice",
        &test_anchors(),
        &mut enroll_answers(serial),
    )
    .unwrap();
    assert_eq!(desc.slot, "82");
    let mut s = session(&card);
    assert_eq!(choose_slot(&mut s, None).unwrap(), 0x83);
    assert!(matches!(
        choose_slot(&mut s, Some(0x82)),
        Err(YubikeyError::SlotOccupied { slot: 0x82, .. })
    ));
}

#[test]
fn attest_and_match_refuses_another_point_and_other_policies() {
    let bench = Bench::new();
    let card = bench.card(FW_5_7_1);
    let serial = card.serial();
    let desc = enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..EnrollOptions::default()
        },
        "alice",
        &test_anchors(),
        &mut enroll_answers(serial),
    )
    .unwrap();
    let (_, recipient) = parse_descriptor("alice", &desc).unwrap();
    let point = recipient.uncompressed();
    let mut s = session(&card);
    let anchors = test_anchors();
    // The enrolled key and its policies: the same descriptor again.
    let again = attest_and_match(
        &mut s,
        0x82,
        &anchors,
        &point,
        Some((PinPolicy::Once, TouchPolicy::Always)),
    )
    .unwrap();
    // A fresh slot attestation (its own serial number), the same facts.
    assert_eq!(
        YubikeyDescriptor {
            attestation: desc.attestation.clone(),
            ..again
        },
        desc
    );
    let mut other = point;
    other[64] ^= 1;
    let err = attest_and_match(&mut s, 0x82, &anchors, &other, None)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("the attested public key is not the key in the slot"),
        "{err}"
    );
    let err = attest_and_match(
        &mut s,
        0x82,
        &anchors,
        &point,
        Some((PinPolicy::Always, TouchPolicy::Always)),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("it attests PIN policy once and touch policy always"),
        "{err}"
    );
}

#[test]
fn ready_token_checks_the_slot_key_and_the_pin() {
    let bench = Bench::new();
    let card = bench.card(FW_5_7_1);
    let serial = card.serial();
    let desc = enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..EnrollOptions::default()
        },
        "alice",
        &test_anchors(),
        &mut enroll_answers(serial),
    )
    .unwrap();
    let parsed = parse_tokens("alice", &[&desc]).unwrap();
    let mut ui = Answers::default();
    ui.set_pin(serial, PIN);
    let ready = ready_token("alice", &parsed, "vault:x", "", &mut ui).unwrap();
    assert_eq!((ready.index, ready.slot, ready.touch), (0, 0x82, true));
    assert!(ui
        .transcript()
        .iter()
        .any(|(_, t)| t == &format!("alice: PIN of YubiKey {serial} for vault vault:x")));
    drop(ready);
    assert!(matches!(
        parse_tokens("alice", &[]),
        Err(YubikeyError::BadDescriptor { .. })
    ));
}

#[test]
fn list_and_check_service_see_the_inserted_card() {
    let bench = Bench::new();
    let card = bench.card(FW_5_4_3);
    check_service().unwrap();
    let tokens = list().unwrap();
    let t = tokens
        .iter()
        .find(|t| t.serial == card.serial())
        .expect("listed");
    assert_eq!(t.firmware, "5.4.3");
    let _ = Config::new(card.serial(), FW_5_4_3);
}
