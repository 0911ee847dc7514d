//! "pcscd not running", simulated by pointing libpcsclite at a socket nobody
//! listens on (`PCSCLITE_CSOCK_NAME`, honoured by pcsc-lite's client library).
//! Its own test binary: the variable is process-wide and read once.

use breakglass::attestation::TrustAnchors;
use breakglass::token::yubikey::{self, EnrollOptions, YubikeyError};
use breakglass::ui::Answers;

const MESSAGE: &str = "cannot talk to smart cards: the PC/SC daemon (pcscd) is not running; start it with `sudo systemctl start pcscd` (or run `sudo pcscd`), then retry";

#[test]
fn pcscd_not_running_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("pcscd.comm");
    std::env::set_var("PCSCLITE_CSOCK_NAME", &dead);

    let err = yubikey::list().unwrap_err();
    assert!(matches!(err, YubikeyError::PcscdNotRunning), "{err:?}");
    assert_eq!(err.to_string(), MESSAGE);

    let anchors = TrustAnchors::yubico().unwrap();
    let err = yubikey::enroll(
        &EnrollOptions::default(),
        "alice",
        &anchors,
        &mut Answers::default(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), MESSAGE);

    let desc = breakglass::token::YubikeyDescriptor {
        recipient: "age1yubikey1qfg4c0twh83edwgy60lv5l65lhxses0fj7lnwhw229ddpfkrksp47dnz2m5".into(),
        serial: 99_000_001,
        slot: "82".into(),
        firmware: "5.7.1".into(),
        pin_policy: breakglass::attestation::PinPolicy::Once,
        touch_policy: breakglass::attestation::TouchPolicy::Always,
        attestation: breakglass::token::AttestationRecord {
            slot_cert: String::new(),
            f9_cert: String::new(),
            pki: "test".into(),
        },
    };
    let file = {
        use std::io::Write;
        let r = yubikey::recipient(&desc).unwrap();
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
        let mut out = vec![];
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        out
    };
    let err = yubikey::open_share("alice", &[&desc], &file, "fp", &mut Answers::default())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.to_string(), MESSAGE);
}
