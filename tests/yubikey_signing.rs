//! Format 2: a YubiKey custodian signs the entries they write alone (custodian
//! drill, review) with their enrolled PIV key, on virtual YubiKeys through
//! the real pcscd. The signature verifies with the public key in the
//! custodian's `age1yubikey1…` recipient (no secret), a wrong PIN or a
//! refused touch yields no signature, a spare signs as itself, and the log's
//! trust rules accept exactly the certified token.

mod yubikey_support;

use breakglass::log::{self, trust::Authn, Alg, By, Log, Signer};
use breakglass::log_data;
use breakglass::sign::{self, Purpose};
use breakglass::token::yubikey::{self, EnrollOptions, YubikeyError};
use breakglass::token::{CustodianSigner, TokenDescriptor, YubikeyDescriptor};
use yubikey_support::*;

const BODY: &[u8] = b"{\"data\":{\"kind\":\"custodian\"},\"event\":\"drill\"}";

fn point(desc: &YubikeyDescriptor) -> Vec<u8> {
    TokenDescriptor::Yubikey(desc.clone())
        .signing_public()
        .expect("a YubiKey token signs")
        .1
}

fn sign_with(
    descs: &[&YubikeyDescriptor],
    ui: &mut dyn breakglass::ui::Ui,
) -> Result<(Vec<u8>, usize), YubikeyError> {
    let mut digest = |_: usize| sign::p256_digest(Purpose::LogEntry, BODY);
    yubikey::sign_digest("alice", descs, &mut digest, FINGERPRINT, ui)
}

#[test]
fn the_card_signs_and_anyone_verifies_with_the_recipient_point() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let mut ui = pin_answers(&[serial], PIN);
    let (der, index) = sign_with(&[&desc], &mut ui).unwrap();
    assert_eq!(index, 0);
    assert!(sign::verify_p256(
        &point(&desc),
        Purpose::LogEntry,
        BODY,
        &der
    ));
    // Domain separation: not valid for another purpose or another body.
    assert!(!sign::verify_p256(
        &point(&desc),
        Purpose::Manifest,
        BODY,
        &der
    ));
    assert!(!sign::verify_p256(
        &point(&desc),
        Purpose::LogEntry,
        b"other",
        &der
    ));
    let said: Vec<&str> = ui.transcript().iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        said.iter().any(|t| t.contains(&format!(
            "PIN of YubiKey {serial} to sign for vault {FINGERPRINT}"
        ))),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|t| *t == format!("touch requested: alice's token {serial}")),
        "{said:#?}"
    );
}

#[test]
fn a_wrong_pin_or_a_refused_touch_signs_nothing() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let err = sign_with(&[&desc], &mut pin_answers(&[serial], "000000")).unwrap_err();
    assert!(
        matches!(err, YubikeyError::WrongPin { tries_left: 2, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("wrong PIN for YubiKey {serial}: 2 tries left before the PIN is blocked; retry with the right PIN")
    );
    card.card().set_touch(Touch::Never);
    let err = sign_with(&[&desc], &mut pin_answers(&[serial], PIN)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("YubiKey {serial} was not touched in time; retry and touch the token's contact when it blinks")
    );
    card.card().set_touch(Touch::Immediate);
    assert!(sign_with(&[&desc], &mut pin_answers(&[serial], PIN)).is_ok());
}

/// A drill entry signed on the card is accepted by the log's trust rules for
/// the certified token, and the same entry claimed for another custodian, or
/// altered after signing, is named as forged.
#[test]
fn a_card_signed_entry_verifies_under_the_certified_token_only() {
    let slots = Slots::acquire();
    let card = slots.fresh(FW_NEW);
    let serial = card.serial();
    let desc = enroll_fresh(&card, "alice", EnrollOptions::default());
    let token = TokenDescriptor::Yubikey(desc.clone());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let vid = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
    let genesis = sign::SigningKey::from_seed(&[3u8; 32]);
    let mut l = Log::at_head(&path, vid, None);
    l.append(
        log::events::VAULT_CREATED,
        1,
        log_data! {"genesis_key" => genesis.public().to_hex(), "format" => 2},
        By::Quorum(&genesis),
    )
    .unwrap();
    let (alg, key) = token.signing_public().unwrap();
    assert_eq!(alg, Alg::EcdsaP256);
    l.append(
        log::events::SEALED,
        1,
        log_data! {
            "reason" => "init", "generation" => 1,
            "signing_key" => genesis.public().to_hex(),
            "manifest_digest" => "ab".repeat(32),
            "signers" => serde_json::json!({"alice": [{"alg": "ecdsa-p256", "key": breakglass::encoding::hex(&key), "token": token.fingerprint()}]}),
        },
        By::Quorum(&genesis),
    )
    .unwrap();
    let signer = CustodianSigner::Yubikey {
        custodian: "alice".into(),
        tokens: vec![desc.clone()],
        vault_fingerprint: FINGERPRINT.into(),
    };
    let mut ui = pin_answers(&[serial], PIN);
    let mut sign = |body_for: &mut dyn FnMut(&Signer) -> Vec<u8>| {
        signer
            .sign(breakglass::sign::Purpose::LogEntry, body_for, &mut ui)
            .map_err(|e| e.to_string())
    };
    l.append(
        log::events::DRILL,
        1,
        log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
        By::Custodian(&mut sign),
    )
    .unwrap();
    let mut seen = Vec::new();
    let report = log::verify(&path, None, |e, a| seen.push((e.event.clone(), a.clone()))).unwrap();
    assert!(report.is_intact(), "{}", report.explain());
    assert_eq!(
        seen.last().unwrap().1,
        Authn::Custodian {
            custodian: "alice".into(),
            token: token.fingerprint()
        }
    );
    assert_eq!(report.trust.custodian_signed, 1);

    // Altered after signing (the hash recomputed, as an attacker can): forged.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut e = log::parse_line(lines.last().unwrap()).unwrap();
    let mut data = e.data.into_map();
    data.insert("result".into(), "ok, twice".into());
    e.data = data.into();
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&log::encode_entry(&e).unwrap()).unwrap();
    v.remove("hash");
    let unhashed =
        breakglass::encoding::canonical_json(&serde_json::Value::Object(v.clone())).unwrap();
    v.insert(
        "hash".into(),
        breakglass::manifest::sha256_hex(unhashed.as_bytes()).into(),
    );
    *lines.last_mut().unwrap() =
        breakglass::encoding::canonical_json(&serde_json::Value::Object(v)).unwrap();
    std::fs::write(&path, format!("{}\n", lines.join("\n"))).unwrap();
    let report = log::verify(&path, None, |_, _| {}).unwrap();
    assert_eq!(report.trust.forged_count, 1);
    assert!(
        report.explain().contains(&format!(
            "entry 3 ('drill') claims to be signed by alice's token {} but the signature does not verify",
            token.fingerprint()
        )),
        "{}",
        report.explain()
    );
}
