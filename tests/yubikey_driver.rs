//! YubiKey backend against virtual YubiKeys through the real pcscd:
//! enrollment (AES and 3DES management keys), default PIN/PUK handling, a
//! custodian with a spare token, and every error case with its exact message.

mod yubikey_support;

use breakglass::attestation::{PinPolicy, TouchPolicy};
use breakglass::secret::SecretString;
use breakglass::token::yubikey::{self, EnrollOptions, YubikeyError};
use breakglass::ui::{Level, PinPurpose, PinRequest, Ui, UiError};
use yubikey_support::*;

const SHARE: &[u8] = b"share envelope: vault 1, generation 3, alice, x=1";

fn open(
    desc: &[&breakglass::token::YubikeyDescriptor],
    file: &[u8],
    ui: &mut dyn Ui,
) -> Result<Vec<u8>, YubikeyError> {
    yubikey::open_share("alice", desc, file, FINGERPRINT, ui).map(|(s, _)| s.expose().to_vec())
}

#[test]
fn enroll_on_5_7_1_aes_and_open() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let mut ui = enroll_answers(serial);
    let desc = yubikey::enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..EnrollOptions::default()
        },
        "alice",
        &anchors(),
        &mut ui,
    )
    .unwrap();
    assert_eq!(desc.serial, serial);
    assert_eq!(desc.slot, "82");
    assert_eq!(desc.firmware, "5.7.1");
    assert_eq!(desc.pin_policy.name(), "once");
    assert_eq!(desc.touch_policy.name(), "always");
    assert_eq!(desc.attestation.pki, "test");
    assert!(desc.recipient.starts_with("age1yubikey1"));
    let said: Vec<&str> = ui.transcript().iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        said.iter().any(|t| t.contains("factory default PIN")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|t| t.contains("factory default PUK")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|t| t.contains("management key was replaced")),
        "{said:#?}"
    );
    // Card state: PIN/PUK changed, management key is now PIN-protected (non-default).
    assert_eq!(card.card().pin_tries_left(), 3);

    let file = share_file(&[&desc], SHARE);
    let mut ui = pin_answers(&[serial], PIN);
    assert_eq!(open(&[&desc], &file, &mut ui).unwrap(), SHARE);
    assert!(ui
        .transcript()
        .iter()
        .any(|(_, t)| t == &format!("touch requested: alice's token {serial}")));

    // A second enrollment on the same card picks the next free slot, with the
    // PIN-protected management key and without touching PIN/PUK again.
    let mut ui = pin_answers(&[serial], PIN);
    let desc2 = yubikey::enroll(
        &EnrollOptions {
            serial: Some(serial),
            pin_policy: PinPolicy::Always,
            touch_policy: TouchPolicy::Never,
            ..EnrollOptions::default()
        },
        "alice",
        &anchors(),
        &mut ui,
    )
    .unwrap();
    assert_eq!(desc2.slot, "83");
    assert_eq!(
        (desc2.pin_policy.name(), desc2.touch_policy.name()),
        ("always", "never")
    );
    // Asking for an occupied slot is refused, never overwritten.
    let err = yubikey::enroll(
        &EnrollOptions {
            serial: Some(serial),
            slot: Some(0x82),
            ..EnrollOptions::default()
        },
        "alice",
        &anchors(),
        &mut pin_answers(&[serial], PIN),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("slot 82 of YubiKey {serial} already holds a key; breakglass never overwrites a key: choose another retired slot (82–95) or let it pick a free one")
    );
}

#[test]
fn enroll_on_5_4_3_3des_and_open() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_OLD);
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    assert_eq!(desc.firmware, "5.4.3");
    let file = share_file(&[&desc], SHARE);
    let mut ui = pin_answers(&[card.serial()], PIN);
    assert_eq!(open(&[&desc], &file, &mut ui).unwrap(), SHARE);
}

/// A UI that answers a scripted sequence of PINs (to exercise the guard).
struct Script {
    pins: Vec<(PinPurpose, &'static str)>,
    said: Vec<String>,
}

impl Ui for Script {
    fn say(&mut self, _level: Level, text: &str) {
        self.said.push(text.to_owned());
    }
    fn confirm(&mut self, id: &str, _q: &str) -> Result<bool, UiError> {
        Err(UiError::NoAnswer { prompt: id.into() })
    }
    fn text(&mut self, id: &str, _q: &str) -> Result<String, UiError> {
        Err(UiError::NoAnswer { prompt: id.into() })
    }
    fn secret(&mut self, id: &str, _q: &str) -> Result<SecretString, UiError> {
        Err(UiError::NoAnswer { prompt: id.into() })
    }
    fn passphrase(
        &mut self,
        c: &str,
        _p: breakglass::ui::PassphrasePurpose,
    ) -> Result<SecretString, UiError> {
        Err(UiError::NoAnswer { prompt: c.into() })
    }
    fn pin(&mut self, request: &PinRequest<'_>) -> Result<SecretString, UiError> {
        if self.pins.is_empty() {
            return Err(UiError::NoAnswer {
                prompt: "pin".into(),
            });
        }
        let (purpose, value) = self.pins.remove(0);
        assert_eq!(purpose, request.purpose, "asked {:?}", request.purpose);
        Ok(SecretString::new(value.to_owned()))
    }
    fn touch(&mut self, _c: &str, _s: u32) {}
    fn insert_token(&mut self, _c: &str, _s: &[u32]) -> Result<(), UiError> {
        Ok(())
    }
    fn choose(&mut self, id: &str, _q: &str, _o: &[String]) -> Result<usize, UiError> {
        Err(UiError::NoAnswer { prompt: id.into() })
    }
}

#[test]
fn default_pin_and_puk_are_refused_and_changed() {
    let slots = Slots::acquire();
    let mut card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let otp = format!("cccccbcdcecf{}", "t".repeat(32));
    let mut ui = Script {
        pins: vec![
            (PinPurpose::Verify, "123456"),
            // New PUK: the default again, too short, then a good one.
            (PinPurpose::NewPuk, "12345678"),
            (PinPurpose::NewPuk, "123"),
            (PinPurpose::NewPuk, PUK),
            // New PIN: the default again, an OTP from an accidental touch, then a good one.
            (PinPurpose::New, "123456"),
            (PinPurpose::New, Box::leak(otp.into_boxed_str())),
            (PinPurpose::New, PIN),
        ],
        said: vec![],
    };
    let desc = yubikey::enroll(
        &EnrollOptions {
            serial: Some(serial),
            ..EnrollOptions::default()
        },
        "alice",
        &anchors(),
        &mut ui,
    )
    .unwrap();
    assert!(ui.pins.is_empty());
    let said = ui.said.join("\n");
    assert!(
        said.contains(
            "12345678 is the factory default PUK; choose another PUK (6 to 8 characters)"
        ),
        "{said}"
    );
    assert!(
        said.contains("a PUK must be 6 to 8 characters (got 3); try again"),
        "{said}"
    );
    assert!(
        said.contains("123456 is the factory default PIN; choose another PIN (6 to 8 characters)"),
        "{said}"
    );
    assert!(said.contains(&format!("that looks like a one-time password typed by touching YubiKey {serial}, not a PIN; type the PIN instead (touch the token only when asked)")), "{said}");
    // The default PIN no longer works; the new one does.
    let file = share_file(&[&desc], SHARE);
    let err = open(&[&desc], &file, &mut pin_answers(&[serial], "123456")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("wrong PIN for YubiKey {serial}: 2 tries left before the PIN is blocked; retry with the right PIN")
    );
    assert_eq!(
        open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap(),
        SHARE
    );

    // Refusing to continue with the default PIN: a guard that always answers the
    // default ends the enrollment with a clear error (nothing generated).
    card.remove();
    let card2 = slots.fresh(FW_NEW);
    let s2 = card2.serial();
    let mut ui = Script {
        pins: vec![
            (PinPurpose::Verify, "123456"),
            (PinPurpose::NewPuk, PUK),
            (PinPurpose::New, "123456"),
            (PinPurpose::New, "123456"),
            (PinPurpose::New, "123456"),
        ],
        said: vec![],
    };
    let err = yubikey::enroll(
        &EnrollOptions {
            serial: Some(s2),
            ..EnrollOptions::default()
        },
        "bob",
        &anchors(),
        &mut ui,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "123456 is the factory default PIN; choose another PIN (6 to 8 characters)"
    );
    assert!(card2.card().public_key(0x82).is_none(), "no key generated");
}

#[test]
fn spare_token_opens_the_same_share() {
    let slots = Slots::acquire();
    let mut main = slots.fresh(FW_NEW);
    let main_desc = enroll_fresh(&main, "alice", EnrollOptions::default());
    main.remove();
    let mut spare = slots.fresh(FW_OLD);
    let spare_desc = enroll_fresh(&spare, "alice", EnrollOptions::default());
    let file = share_file(&[&main_desc, &spare_desc], SHARE);
    let both = [&main_desc, &spare_desc];

    // Spare inserted (main in the safe): the spare (index 1) is named as the opener.
    let mut ui = pin_answers(&[spare.serial()], PIN);
    let (plain, used) = yubikey::open_share("alice", &both, &file, FINGERPRINT, &mut ui).unwrap();
    assert_eq!((plain.expose(), used), (SHARE, 1));
    spare.remove();
    // Main inserted.
    main.insert(slots.port()).unwrap();
    let mut ui = pin_answers(&[main.serial()], PIN);
    let (plain, used) = yubikey::open_share("alice", &both, &file, FINGERPRINT, &mut ui).unwrap();
    assert_eq!((plain.expose(), used), (SHARE, 0));
    // The spare's descriptor alone with the main token inserted: not ours.
    let err = open(
        &[&spare_desc],
        &file,
        &mut pin_answers(&[main.serial()], PIN),
    )
    .unwrap_err();
    assert!(matches!(err, YubikeyError::NotEnrolled { serial, .. } if serial == main.serial()));
}

#[test]
fn error_no_token() {
    let slots = Slots::acquire();
    let mut card = slots.fresh(FW_NEW);
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    card.remove();
    let err = open(&[&desc], &file, &mut pin_answers(&[card.serial()], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "none of alice's YubiKeys is inserted (expected serial {}); insert one of them and retry",
            card.serial()
        )
    );
    // Enrollment with nothing inserted.
    let err = yubikey::enroll(
        &EnrollOptions::default(),
        "bob",
        &anchors(),
        &mut pin_answers(&[], PIN),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no YubiKey found; insert the YubiKey to enroll and retry"
    );
    drop(slots);
}

#[test]
fn error_token_of_no_custodian() {
    let slots = Slots::acquire();
    let mut card = slots.fresh(FW_NEW);
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    card.remove();
    let stranger = slots.fresh(FW_NEW);
    let err = open(&[&desc], &file, &mut pin_answers(&[stranger.serial()], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "YubiKey {} is not enrolled for custodian alice in this vault (their tokens: {}); remove it and insert one of alice's YubiKeys",
            stranger.serial(),
            card.serial()
        )
    );
    // The stranger was never asked for a PIN.
    assert_eq!(stranger.card().pin_tries_left(), 3);
}

#[test]
fn error_wrong_pin_then_blocked() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    for left in [2u8, 1] {
        let err = open(&[&desc], &file, &mut pin_answers(&[serial], "000000")).unwrap_err();
        assert!(matches!(err, YubikeyError::WrongPin { tries_left, .. } if tries_left == left));
        assert_eq!(
            err.to_string(),
            format!(
                "wrong PIN for YubiKey {serial}: {left} {} left before the PIN is blocked; retry with the right PIN",
                if left == 1 { "try" } else { "tries" }
            )
        );
    }
    // The PIN prompt shows the tries left and the vault fingerprint.
    struct Spy(Vec<(Option<u8>, Option<String>)>);
    impl Ui for Spy {
        fn say(&mut self, _: Level, _: &str) {}
        fn confirm(&mut self, id: &str, _: &str) -> Result<bool, UiError> {
            Err(UiError::NoAnswer { prompt: id.into() })
        }
        fn text(&mut self, id: &str, _: &str) -> Result<String, UiError> {
            Err(UiError::NoAnswer { prompt: id.into() })
        }
        fn secret(&mut self, id: &str, _: &str) -> Result<SecretString, UiError> {
            Err(UiError::NoAnswer { prompt: id.into() })
        }
        fn passphrase(
            &mut self,
            c: &str,
            _: breakglass::ui::PassphrasePurpose,
        ) -> Result<SecretString, UiError> {
            Err(UiError::NoAnswer { prompt: c.into() })
        }
        fn pin(&mut self, r: &PinRequest<'_>) -> Result<SecretString, UiError> {
            self.0
                .push((r.retries_left, r.vault_fingerprint.map(str::to_owned)));
            Ok(SecretString::new("000000".into()))
        }
        fn touch(&mut self, _: &str, _: u32) {}
        fn insert_token(&mut self, _: &str, _: &[u32]) -> Result<(), UiError> {
            Ok(())
        }
        fn choose(&mut self, id: &str, _: &str, _: &[String]) -> Result<usize, UiError> {
            Err(UiError::NoAnswer { prompt: id.into() })
        }
    }
    let mut spy = Spy(vec![]);
    let err = yubikey::open_share("alice", &[&desc], &file, FINGERPRINT, &mut spy)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(spy.0, vec![(Some(1), Some(FINGERPRINT.to_owned()))]);
    let blocked = format!(
        "the PIN of YubiKey {serial} is blocked (no tries left); unblock it with the PUK (`yubico-piv-tool -a unblock-pin` or `ykman piv access unblock-pin`), then retry"
    );
    assert_eq!(err.to_string(), blocked);
    // Blocked before asking: no prompt at all.
    let mut spy = Spy(vec![]);
    let err = yubikey::open_share("alice", &[&desc], &file, FINGERPRINT, &mut spy)
        .map(|_| ())
        .unwrap_err();
    assert!(spy.0.is_empty());
    assert_eq!(err.to_string(), blocked);
}

#[test]
fn error_touch_timeout() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    card.card().set_touch(Touch::Never);
    let err = open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("YubiKey {serial} was not touched in time; retry and touch the token's contact when it blinks")
    );
    card.card().set_touch(Touch::Immediate);
    assert_eq!(
        open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap(),
        SHARE
    );
}

#[test]
fn error_removed_mid_operation() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    // Count the APDUs of a successful opening, then remove the card just
    // before the last one (the ECDH).
    let before = card.card().apdu_count();
    open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap();
    let per_open = card.card().apdu_count() - before;
    let pin_tries = card.card().pin_tries_left();
    card.remove_after_apdus(per_open - 1);
    let err = open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("YubiKey {serial} was removed (or reset) during the operation; reinsert it and retry (nothing was opened)")
    );
    assert_eq!(pin_tries, 3);
}

#[test]
fn error_key_replaced_in_slot() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let file = share_file(&[&desc], SHARE);
    // Someone re-generates the slot (here: forge a descriptor for slot 83, empty).
    let mut other = desc.clone();
    other.slot = "83".into();
    let err = open(&[&other], &file, &mut pin_answers(&[serial], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("slot 83 of YubiKey {serial} no longer holds the key enrolled for alice (the slot was reset or overwritten); this token cannot open the share: use alice's spare token, or re-enroll the custodian with the quorum")
    );
}

/// Not a timed test: prints APDUs per share unwrap and host-side time.
#[test]
fn measure_apdus_and_time_per_unwrap() {
    let slots = Slots::acquire();
    for fw in [FW_NEW, FW_OLD] {
        let card = slots.fresh(fw);
        let serial = card.serial();
        let desc = enroll_fresh(
            &card,
            "alice",
            EnrollOptions {
                touch_policy: TouchPolicy::Never,
                ..EnrollOptions::default()
            },
        );
        let file = share_file(&[&desc], SHARE);
        let runs = 5;
        let before = card.card().apdu_count();
        let t = std::time::Instant::now();
        for _ in 0..runs {
            assert_eq!(
                open(&[&desc], &file, &mut pin_answers(&[serial], PIN)).unwrap(),
                SHARE
            );
        }
        let elapsed = t.elapsed() / runs;
        let apdus = (card.card().apdu_count() - before) / u64::from(runs);
        eprintln!(
            "MEASURE firmware {}.{}.{}: {apdus} APDUs per share unwrap, {:.1} ms per custodian (host side, virtual card)",
            fw[0], fw[1], fw[2], elapsed.as_secs_f64() * 1000.0
        );
    }
}
