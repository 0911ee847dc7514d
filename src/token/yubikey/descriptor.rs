//! YubiKey descriptors: built from a verified slot attestation, and
//! re-verified against their recorded attestation before a vault is sealed to
//! them.
//!
//! Invariants: every fact in a descriptor (recipient, serial, slot, firmware,
//! policies, PKI) is taken from the verified slot attestation certificate;
//! a descriptor that states anything else is refused, naming the field.

use base64::prelude::{Engine, BASE64_STANDARD};

use crate::attestation::{self, AttestationFacts, SubjectKey, TrustAnchors};
use crate::token::piv_p256::PivRecipient;
use crate::token::{AttestationRecord, YubikeyDescriptor};

use super::{YubikeyError, FIRST_RETIRED_SLOT, LAST_RETIRED_SLOT, MIN_REQUIREMENTS};

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

pub(super) fn parse_descriptor(
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

pub(super) fn descriptor_from(
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
        pin_policy: facts.pin_policy,
        touch_policy: facts.touch_policy,
        attestation: AttestationRecord {
            slot_cert: BASE64_STANDARD.encode(slot_cert),
            f9_cert: BASE64_STANDARD.encode(f9_cert),
            pki,
        },
    }
}

pub(super) fn attested_point(
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
