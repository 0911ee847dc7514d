//! Enrollment: a new P-256 key generated on the token ([`enroll`]) or a key
//! already there adopted ([`enroll_existing`]), each ending in one
//! attest-and-match step that turns the verified slot attestation into the
//! descriptor.
//!
//! Order (so that a token that will be refused is left exactly as it was):
//! options checked → token opened → device attestation (F9 chain, no PIN)
//! verified → slot chosen (read-only) → only then PIN/PUK hygiene,
//! management key, key generation, slot certificate → slot attestation
//! verified and matched against the generated key and the chosen policies.

use yubikey::piv::{self, AlgorithmId, SlotId};
use yubikey::YubiKey;

use crate::attestation::{PinPolicy, TouchPolicy, TrustAnchors};
use crate::secret::SecretString;
use crate::token::piv_p256::PivRecipient;
use crate::token::YubikeyDescriptor;
use crate::ui::{Level, Ui};

use super::descriptor::{attested_point, descriptor_from};
use super::session::Session;
use super::{
    list, open_serial, removal_check, retired_slot, slotcert, EnrollOptions, YubikeyError,
    FIRST_RETIRED_SLOT, LAST_RETIRED_SLOT, MIN_REQUIREMENTS,
};

/// Enrolls a YubiKey for `custodian`: device attestation, PIN/PUK hygiene,
/// management key, a new P-256 key generated on the token with the chosen
/// policies, the age-plugin-yubikey slot certificate, and a verified slot
/// attestation.
///
/// Serial, firmware and policies in the descriptor come from the verified slot
/// attestation certificate. A token whose device attestation is refused, or
/// that has no usable slot, is left unchanged.
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
    check_options(opts)?;
    let (yk, serial) = open_for_enrollment(opts.serial)?;
    let mut s = Session::new(yk, serial, custodian);
    let v = s.yk.version();
    ui.say(
        Level::Info,
        &format!(
            "YubiKey {serial} (firmware {}.{}.{}): checking that it is a genuine YubiKey",
            v.major, v.minor, v.patch
        ),
    );
    // Nothing is changed on a token before it proves it is genuine.
    s.verify_device(anchors)?;
    let slot = choose_slot(&mut s, opts.slot)?;

    let pin = s.enrollment_pin(ui)?;
    s.authenticate_management(ui)?;
    ui.say(
        Level::Info,
        &format!("generating a P-256 key on YubiKey {serial} in slot {slot:02x}"),
    );
    let generated = generate_key(&mut s, slot, opts)?;
    write_slot_certificate(&mut s, ui, slot, &generated, opts, &pin)?;
    drop(pin);

    ui.say(
        Level::Info,
        &format!("verifying the attestation of YubiKey {serial} slot {slot:02x}"),
    );
    attest_and_match(
        &mut s,
        slot,
        anchors,
        &generated,
        Some((opts.pin_policy, opts.touch_policy)),
    )
}

/// Adopts a key already on a token (e.g. made by `age-plugin-yubikey
/// --generate`): checks the device attestation, PIN/PUK hygiene, attests the
/// slot and records it. The slot certificate is left as it is.
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
    let mut s = Session::new(yk, serial, custodian);
    ui.say(
        Level::Info,
        &format!("adopting the key in slot {slot:02x} of YubiKey {serial} for {custodian}"),
    );
    s.verify_device(anchors)?;
    let Some(point) = s.slot_public_point(slot)? else {
        return Err(YubikeyError::SlotEmpty { serial, slot });
    };
    let pin = s.enrollment_pin(ui)?;
    drop(pin);
    attest_and_match(&mut s, slot, anchors, &point, None)
}

/// The one attest-and-match step: the slot attestation must verify, attest
/// `point`, and (for a key generated here) the policies asked for; the
/// descriptor is then built from the attestation alone.
pub(super) fn attest_and_match(
    s: &mut Session<'_>,
    slot: u8,
    anchors: &TrustAnchors,
    point: &[u8; 65],
    policies: Option<(PinPolicy, TouchPolicy)>,
) -> Result<YubikeyDescriptor, YubikeyError> {
    let serial = s.serial;
    let mismatch = |what: String| YubikeyError::AttestationMismatch { serial, slot, what };
    let a = s.attest(slot, anchors)?;
    let attested = attested_point(&a.facts, serial, slot)?;
    if attested != *point {
        let whose = match policies {
            Some(_) => "the generated one",
            None => "the key in the slot",
        };
        return Err(mismatch(format!("the attested public key is not {whose}")));
    }
    if let Some((pin, touch)) = policies {
        if a.facts.pin_policy != pin || a.facts.touch_policy != touch {
            return Err(mismatch(format!(
                "it attests PIN policy {} and touch policy {}, {pin} and {touch} were asked for",
                a.facts.pin_policy, a.facts.touch_policy
            )));
        }
    }
    let recipient = usable_recipient(&attested, serial, slot)?;
    Ok(descriptor_from(
        &a.facts,
        slot,
        &recipient,
        &a.slot_cert,
        &a.f9_cert,
    ))
}

fn usable_recipient(point: &[u8; 65], serial: u32, slot: u8) -> Result<PivRecipient, YubikeyError> {
    PivRecipient::from_sec1(point).map_err(|e| YubikeyError::UnusableKey {
        serial,
        slot,
        why: e.to_string(),
    })
}

/// Refuses options no break-glass key may have, before any token is opened.
pub(super) fn check_options(opts: &EnrollOptions) -> Result<(), YubikeyError> {
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
    Ok(())
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

/// The slot asked for (it must be free), or the first free retired slot.
/// Reads slot metadata only.
pub(super) fn choose_slot(s: &mut Session<'_>, wanted: Option<u8>) -> Result<u8, YubikeyError> {
    let serial = s.serial;
    if let Some(slot) = wanted {
        if s.slot_in_use(slot)? {
            return Err(YubikeyError::SlotOccupied { serial, slot });
        }
        return Ok(slot);
    }
    for slot in FIRST_RETIRED_SLOT..=LAST_RETIRED_SLOT {
        if !s.slot_in_use(slot)? {
            return Ok(slot);
        }
    }
    Err(YubikeyError::NoFreeSlot { serial })
}

/// Generates the P-256 key in `slot` with the chosen policies; returns its
/// uncompressed public point.
fn generate_key(
    s: &mut Session<'_>,
    slot: u8,
    opts: &EnrollOptions,
) -> Result<[u8; 65], YubikeyError> {
    let serial = s.serial;
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
    usable_recipient(&generated, serial, slot)?;
    Ok(generated)
}

/// Writes the age-plugin-yubikey slot certificate for the key in `slot`.
fn write_slot_certificate(
    s: &mut Session<'_>,
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
    let common_name = format!("breakglass custodian {}", s.custodian);
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
        s.yk.verify_pin(pin.expose().as_bytes())
            .map_err(|e| s.err(e, "verifying the PIN"))?;
    }
    let touch = !matches!(opts.touch_policy, TouchPolicy::Never);
    if touch {
        ui.touch(s.custodian, s.serial);
    }
    let signature =
        piv::sign_data(&mut s.yk, &digest, AlgorithmId::EccP256, id).map_err(|e| match e {
            yubikey::Error::AuthenticationError if touch => {
                YubikeyError::TouchTimeout { serial: s.serial }
            }
            e => s.err(e, "signing the slot certificate"),
        })?;
    let der = slotcert::SlotCertTemplate::assemble(&tbs, &signature);
    let cert = yubikey::certificate::Certificate::from_bytes(der)
        .map_err(|e| s.err(e, "encoding the slot certificate"))?;
    cert.write(&mut s.yk, id, yubikey::certificate::CertInfo::Uncompressed)
        .map_err(|e| s.err(e, "writing the slot certificate"))
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
