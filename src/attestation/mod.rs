//! YubiKey PIV attestation verifier: pure functions over DER, no I/O besides the
//! certificates bundled in this module.
//!
//! # Role
//!
//! Enrollment asks the YubiKey for the attestation certificate of the key it just
//! generated in a PIV slot (the *slot certificate*) and for the device attestation
//! certificate stored in slot F9 (the *F9 certificate*). [`verify`] checks that the slot
//! certificate was signed by the F9 key and that the F9 certificate chains to one of
//! Yubico's PIV attestation roots, then returns the [`AttestationFacts`] the slot
//! certificate attests. [`AttestationFacts::check`] compares the attested policies with
//! what enrollment [`Requirements`] demand.
//!
//! # Trust anchors ([`TrustAnchors::yubico`])
//!
//! Bundled with `include_str!` from `src/attestation/roots/` and checked against their
//! published SHA-256 fingerprints every time the set is built:
//!
//! * **Legacy PKI (firmware before 5.7.4)**: `Yubico PIV Root CA Serial 263751`, the
//!   current certificate (pathlen:1). Chains are `root → F9 → slot`.
//! * **Current PKI (firmware 5.7.4 and later)**: `Yubico Attestation Root 1` with the
//!   bundled intermediates `Yubico Attestation Intermediate A 1 / B 1` and `Yubico PIV
//!   Attestation A 1 / B 1 / B2 1`. Chains are `Root 1 → Intermediate A 1|B 1 → PIV
//!   Attestation A 1|B 1|B2 1 → F9 → slot`. Only the F9 is stored on the key; the two
//!   levels above it come from this bundle.
//! * In builds with the `test-hooks` feature only, one or more test roots can be added
//!   with `TrustAnchors::with_test_root`; chains under them report [`Pki::Test`].
//!
//! # Decisions
//!
//! * **Path validation is strict X.509 (RFC 5280 subset), applied to every link,
//!   including the root's own constraints.** Each issuing certificate (F9, intermediates,
//!   root) must carry basicConstraints `cA = TRUE`; a keyUsage extension, if present, must
//!   allow keyCertSign; every pathLenConstraint is honoured; issuer and subject names
//!   must match byte for byte; unknown critical extensions, duplicate extensions,
//!   non-canonical DER and trailing bytes are refused. All real YubiKey 5 F9 certificates
//!   carry `CA:TRUE, pathlen:0` (critical), so nothing genuine is lost.
//! * **The two `Yubico PIV Root CA Serial 263751` certificates.** They share subject and
//!   key and differ only in pathlen (0 in the pre-2018 certificate, 1 in the current one).
//!   Because anchor constraints are enforced, the pre-2018 certificate would reject every
//!   `root → F9 → slot` chain ("path length constraint exceeded", as OpenSSL also says).
//!   Only the current certificate (pathlen:1) is bundled. Since the key is the same,
//!   every chain the old certificate could have anchored is still anchored.
//! * **YubiKey 4 chains under the U2F root (the 4.3.7 vector) are refused** with
//!   [`AttestationError::LegacyU2fRootRefused`]. Reasons: (1) they are not valid X.509
//!   paths. The U2F root says pathlen:0 and the F9 is not a CA, so accepting them would
//!   mean turning off CA and pathlen checks for one special case. (2) The U2F root is
//!   Yubico's FIDO anchor, not its PIV one. (3) The 4.3.7 slot certificate has no serial
//!   extension, and enrollment must record the serial. The U2F root is bundled only so
//!   that this case gets a precise error after its signature has been checked. It is
//!   never used as an anchor. YubiKey 4 F9s under the PIV root have no basicConstraints
//!   either, so they fail with [`AttestationError::NotCa`]. Enrollment therefore needs a
//!   YubiKey 5. Those with firmware before 5.7 still use the 3DES default management key,
//!   which the design requires us to support.
//! * **Validity dates are not checked against a clock.** [`verify`] is a pure function
//!   with no time input, and the air-gapped machine's clock cannot be trusted. The
//!   captured certificates are valid 2016-03-14..2052-04-17 (legacy PIV root),
//!   2014-08-01..2050-09-04 (U2F root) and 2024-12-01..9999-12-31 (current PKI). Device
//!   certificates copy their issuer's window, so an expiry check would either pass for
//!   decades or fail only because of a bad clock. Yubico publishes no revocation for
//!   attestation certificates. An attestation states where a key was generated, and that
//!   does not expire. What is checked is that each validity period is well-formed
//!   (notBefore ≤ notAfter).
//! * **The firmware must match the PKI.** The firmware attested in the slot certificate
//!   must be ≥ 5.7.4 under Attestation Root 1 and < 5.7.4 under the legacy PIV root
//!   (real data: 5.7.2 is legacy, 5.7.4 is new). A mismatch means an inconsistent chain
//!   and is refused ([`AttestationError::FirmwarePkiMismatch`]). Test roots are exempt.
//! * **Device facts come from the slot certificate only.** Serial (`…41482.3.7`),
//!   firmware (`.3.3`), PIN/touch policy (`.3.8`) and form factor (`.3.9`) are read from
//!   the slot certificate, which only the device's F9 key can sign. The F9 certificate
//!   is shared across many devices and is never read for these facts. Serial, firmware
//!   and policy are required. Form factor is optional. `fips` is the 0x80 flag of the
//!   form factor (false when the extension is absent).
//! * **Chain building is deterministic and bounded.** Candidates are looked up by exact
//!   subject DER. The first candidate whose signature verifies is taken (no backtracking),
//!   and at most [`MAX_INTERMEDIATES`] bundled intermediates are used above the F9.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod anchors;
mod cert;
mod error;
mod policy;

use core::fmt;

use rsa::pkcs1::DecodeRsaPublicKey;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::Decode;

use anchors::Anchor;
pub use anchors::{pem_to_der, TrustAnchors};
use cert::{parse_cert, verify_signature, ParsedCert};
pub use error::{AttestationError, CertRole};
pub use policy::{PinPolicy, Requirements, TouchPolicy};

/// Most bundled intermediates accepted between the F9 certificate and a root
/// (the current PKI uses 2).
pub const MAX_INTERMEDIATES: usize = 3;

/// Yubico attestation extension: firmware version (3 raw bytes).
const OID_FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
/// Yubico attestation extension: device serial (DER INTEGER).
const OID_SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
/// Yubico attestation extension: PIN policy, touch policy (2 raw bytes).
const OID_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
/// Yubico attestation extension: form factor (1 raw byte).
const OID_FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// First firmware attested under Yubico Attestation Root 1.
const FIRST_FIRMWARE_OF_ROOT_1: (u8, u8, u8) = (5, 7, 4);
/// Form factor flag marking FIPS devices.
const FORM_FACTOR_FIPS_FLAG: u8 = 0x80;

/// Which PKI an attestation chain verified under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pki {
    /// `Yubico PIV Root CA Serial 263751`: firmware before 5.7.4.
    LegacyPivRoot263751,
    /// `Yubico Attestation Root 1` (through the bundled intermediates): firmware 5.7.4+.
    AttestationRoot1,
    /// A root injected with `TrustAnchors::with_test_root` (test builds only).
    Test,
}

impl fmt::Display for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pki::LegacyPivRoot263751 => "yubico piv root ca serial 263751",
            Pki::AttestationRoot1 => "yubico attestation root 1",
            Pki::Test => "test root",
        })
    }
}

/// The attested public key of the slot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectKey {
    /// EC P-256, uncompressed SEC1 point (`04 ‖ x ‖ y`), checked to be on the curve.
    P256([u8; 65]),
    /// EC P-384, uncompressed SEC1 point (97 bytes), checked to be on the curve.
    P384(Vec<u8>),
    /// Ed25519 public key bytes (firmware 5.7+), as attested (not decompressed).
    Ed25519([u8; 32]),
    /// X25519 public key bytes (firmware 5.7+).
    X25519([u8; 32]),
    /// RSA: the SubjectPublicKeyInfo DER, checked to hold a well-formed RSA key.
    Rsa(Vec<u8>),
}

/// What a verified slot attestation certificate says about the key and the device.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttestationFacts {
    /// YubiKey serial number (slot certificate, extension `1.3.6.1.4.1.41482.3.7`).
    pub serial: u32,
    /// Firmware version (slot certificate, extension `.3.3`).
    pub firmware: (u8, u8, u8),
    /// PIN policy of the key (slot certificate, extension `.3.8` byte 0).
    pub pin_policy: PinPolicy,
    /// Touch policy of the key (slot certificate, extension `.3.8` byte 1).
    pub touch_policy: TouchPolicy,
    /// Raw form factor byte (slot certificate, extension `.3.9`), if present. Low
    /// nibble: 1 USB-A keychain, 2 USB-A nano, 3 USB-C keychain, 4 USB-C nano,
    /// 5 USB-C/Lightning, 6/7 Bio; 0x80 = FIPS.
    pub form_factor: Option<u8>,
    /// Whether the form factor carries the FIPS flag (false when it is absent).
    pub fips: bool,
    /// PIV slot, from a slot certificate subject `CN=YubiKey PIV Attestation 9a`.
    pub slot: Option<u8>,
    /// The attested public key.
    pub public_key: SubjectKey,
    /// Which PKI the chain verified under.
    pub pki: Pki,
}

impl AttestationFacts {
    /// Checks the attested policies against `req`.
    ///
    /// # Errors
    /// [`AttestationError::PinPolicyTooWeak`] or [`AttestationError::TouchPolicyTooWeak`].
    pub fn check(&self, req: &Requirements) -> Result<(), AttestationError> {
        req.check(self.pin_policy, self.touch_policy)
    }
}

/// Role of the `index`-th certificate above the slot certificate in a chain
/// `[F9, intermediates…, root]`.
fn role_of(index: usize, is_root: bool, pki: Pki) -> CertRole {
    match (index, is_root) {
        (0, _) => CertRole::F9,
        (_, true) if pki == Pki::Test => CertRole::TestRoot,
        (_, true) => CertRole::Root,
        _ => CertRole::Intermediate,
    }
}

/// Finds the path from the F9 certificate to a trusted root: returns the intermediates
/// used (bottom-up) and the anchor.
fn build_path<'a>(
    f9: &'a ParsedCert,
    intermediates: &'a [ParsedCert],
    roots: &'a [Anchor],
    u2f_root: &ParsedCert,
) -> Result<(Vec<&'a ParsedCert>, &'a Anchor), AttestationError> {
    let mut used: Vec<&ParsedCert> = Vec::new();
    let mut current = f9;
    let mut current_role = CertRole::F9;
    loop {
        // A root first: a direct anchor wins over a longer path.
        let mut last_err = None;
        for anchor in roots.iter().filter(|a| current.names_issuer(&a.cert)) {
            let anchor_role = role_of(1, true, anchor.pki);
            match verify_signature(current, current_role, &anchor.cert, anchor_role) {
                Ok(()) => return Ok((used, anchor)),
                Err(e) => last_err = Some(e),
            }
        }
        if used.len() < MAX_INTERMEDIATES {
            let mut next = None;
            for candidate in intermediates
                .iter()
                .filter(|c| current.names_issuer(c))
                .filter(|c| !used.iter().any(|u| u.der == c.der) && c.der != current.der)
            {
                match verify_signature(current, current_role, candidate, CertRole::Intermediate) {
                    Ok(()) => {
                        next = Some(candidate);
                        break;
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            if let Some(next) = next {
                used.push(next);
                current = next;
                current_role = CertRole::Intermediate;
                continue;
            }
        }
        if let Some(e) = last_err {
            return Err(e);
        }
        if current_role == CertRole::F9
            && current.names_issuer(u2f_root)
            && verify_signature(current, current_role, u2f_root, CertRole::Root).is_ok()
        {
            return Err(AttestationError::LegacyU2fRootRefused);
        }
        return Err(AttestationError::UntrustedIssuer {
            role: current_role,
            issuer: current.issuer_string(),
        });
    }
}

/// Checks CA flags, keyUsage and path lengths along `[F9, intermediates…, root]`.
fn check_constraints(issuers: &[(&ParsedCert, CertRole)]) -> Result<(), AttestationError> {
    for (below, (cert, role)) in issuers.iter().enumerate() {
        // `below` = CA certificates between this one and the slot certificate.
        let bc = cert.basic_constraints(*role)?;
        let Some(bc) = bc.filter(|bc| bc.ca) else {
            return Err(AttestationError::NotCa { role: *role });
        };
        if let Some(pathlen) = bc.path_len_constraint {
            if below > usize::from(pathlen) {
                return Err(AttestationError::PathLenExceeded {
                    role: *role,
                    pathlen,
                    below,
                });
            }
        }
        if let Some(ku) = cert.key_usage(*role)? {
            if !ku.key_cert_sign() {
                return Err(AttestationError::KeyUsageForbidsCertSign { role: *role });
            }
        }
    }
    Ok(())
}

/// Verifies a PIV attestation: `slot_cert_der` (the attestation certificate of the slot
/// key) signed by `f9_cert_der` (the device attestation certificate from slot F9),
/// chained to `anchors`. Returns the facts attested by the slot certificate.
///
/// See the module documentation for the rules and the decisions behind them.
///
/// # Errors
/// Any [`AttestationError`] except the policy and PEM ones; the first check that fails
/// decides. Order: parse both certificates, slot → F9 link, F9 → root path,
/// constraints, slot extensions and key, firmware/PKI consistency.
pub fn verify(
    slot_cert_der: &[u8],
    f9_cert_der: &[u8],
    anchors: &TrustAnchors,
) -> Result<AttestationFacts, AttestationError> {
    let slot = parse_cert(slot_cert_der, CertRole::Slot)?;
    let f9 = parse_cert(f9_cert_der, CertRole::F9)?;

    // Link 1: slot certificate issued by this F9.
    if !slot.names_issuer(&f9) {
        return Err(AttestationError::IssuerMismatch {
            role: CertRole::Slot,
            issuer: slot.issuer_string(),
            presented: f9.subject_string(),
        });
    }
    verify_signature(&slot, CertRole::Slot, &f9, CertRole::F9)?;

    // Links 2..: F9 to a trusted root.
    let roots = anchors.effective_roots()?;
    let (intermediates, anchor) = build_path(
        &f9,
        &anchors.intermediates,
        &roots,
        &anchors.refused_u2f_root,
    )?;
    let mut issuers: Vec<(&ParsedCert, CertRole)> = vec![(&f9, CertRole::F9)];
    issuers.extend(intermediates.iter().map(|c| (*c, CertRole::Intermediate)));
    issuers.push((&anchor.cert, role_of(issuers.len(), true, anchor.pki)));
    check_constraints(&issuers)?;
    if slot
        .basic_constraints(CertRole::Slot)?
        .is_some_and(|bc| bc.ca)
    {
        return Err(AttestationError::SlotCertIsCa);
    }

    // Facts, from the slot certificate only.
    let facts = slot_facts(&slot, anchor.pki)?;
    check_firmware_matches_pki(facts.firmware, anchor.pki)?;
    Ok(facts)
}

/// Verifies a device attestation certificate alone (slot F9) up to `anchors`:
/// the path to a trusted root and the CA constraints along it, as [`verify`]
/// does above the slot certificate. Enrollment checks this before it changes
/// anything on a token, since the chain needs no PIN and no key. Returns the
/// PKI the device chains to.
///
/// # Errors
/// The parse, path and constraint errors of [`verify`].
pub fn verify_device(f9_cert_der: &[u8], anchors: &TrustAnchors) -> Result<Pki, AttestationError> {
    let f9 = parse_cert(f9_cert_der, CertRole::F9)?;
    let roots = anchors.effective_roots()?;
    let (intermediates, anchor) = build_path(
        &f9,
        &anchors.intermediates,
        &roots,
        &anchors.refused_u2f_root,
    )?;
    let mut issuers: Vec<(&ParsedCert, CertRole)> = vec![(&f9, CertRole::F9)];
    issuers.extend(intermediates.iter().map(|c| (*c, CertRole::Intermediate)));
    issuers.push((&anchor.cert, role_of(issuers.len(), true, anchor.pki)));
    check_constraints(&issuers)?;
    Ok(anchor.pki)
}

/// Firmware 5.7.4+ attests under Attestation Root 1, older firmware under the legacy
/// PIV root; test roots are exempt.
fn check_firmware_matches_pki(firmware: (u8, u8, u8), pki: Pki) -> Result<(), AttestationError> {
    let new_pki_firmware = firmware >= FIRST_FIRMWARE_OF_ROOT_1;
    let consistent = match pki {
        Pki::AttestationRoot1 => new_pki_firmware,
        Pki::LegacyPivRoot263751 => !new_pki_firmware,
        Pki::Test => true,
    };
    if consistent {
        Ok(())
    } else {
        Err(AttestationError::FirmwarePkiMismatch { firmware, pki })
    }
}

/// Reads the Yubico extensions, subject and key of a verified slot certificate.
fn slot_facts(slot: &ParsedCert, pki: Pki) -> Result<AttestationFacts, AttestationError> {
    let required = |oid: &ObjectIdentifier, oid_str: &'static str, name: &'static str| {
        slot.extension_value(oid)
            .ok_or(AttestationError::MissingExtension { oid: oid_str, name })
    };
    let invalid = |oid: &'static str, name: &'static str, detail: String| {
        AttestationError::InvalidExtension { oid, name, detail }
    };

    const FW: &str = "1.3.6.1.4.1.41482.3.3";
    const SERIAL: &str = "1.3.6.1.4.1.41482.3.7";
    const POLICY: &str = "1.3.6.1.4.1.41482.3.8";
    const FORM: &str = "1.3.6.1.4.1.41482.3.9";

    let firmware = match required(&OID_FIRMWARE, FW, "firmware")? {
        [a, b, c] => (*a, *b, *c),
        other => {
            return Err(invalid(
                FW,
                "firmware",
                format!("{} bytes instead of 3", other.len()),
            ))
        }
    };
    let serial_der = required(&OID_SERIAL, SERIAL, "serial")?;
    let serial = u32::from_der(serial_der).map_err(|e| {
        invalid(
            SERIAL,
            "serial",
            format!("not a der integer in u32 range: {e}"),
        )
    })?;
    let (pin_policy, touch_policy) = match required(&OID_POLICY, POLICY, "policy")? {
        [pin, touch] => (
            PinPolicy::from_attested(*pin)?,
            TouchPolicy::from_attested(*touch)?,
        ),
        other => {
            return Err(invalid(
                POLICY,
                "policy",
                format!("{} bytes instead of 2", other.len()),
            ))
        }
    };
    let form_factor = match slot.extension_value(&OID_FORM_FACTOR) {
        None => None,
        Some([b]) => Some(*b),
        Some(other) => {
            return Err(invalid(
                FORM,
                "form factor",
                format!("{} bytes instead of 1", other.len()),
            ))
        }
    };
    let fips = form_factor.is_some_and(|f| f & FORM_FACTOR_FIPS_FLAG != 0);

    Ok(AttestationFacts {
        serial,
        firmware,
        pin_policy,
        touch_policy,
        form_factor,
        fips,
        slot: slot_from_subject(slot),
        public_key: subject_key(slot)?,
        pki,
    })
}

/// `CN=YubiKey PIV Attestation 9a` → `Some(0x9a)`; anything else → `None`.
fn slot_from_subject(slot: &ParsedCert) -> Option<u8> {
    const PREFIX: &str = "YubiKey PIV Attestation ";
    let subject = slot.cert.tbs_certificate().subject();
    if subject.len() != 1 {
        return None;
    }
    let cn = subject.common_name().ok()??;
    let text = cn.value();
    let hex = text.strip_prefix(PREFIX)?;
    if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// The attested public key, validated.
fn subject_key(slot: &ParsedCert) -> Result<SubjectKey, AttestationError> {
    let spki = slot.cert.tbs_certificate().subject_public_key_info();
    let invalid = |detail: &str| AttestationError::InvalidSubjectKey {
        detail: detail.to_owned(),
    };
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| invalid("bit string has unused bits"))?;
    let oid = spki.algorithm.oid;
    if oid == cert::EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(c) if c == cert::SECP256R1 => {
                let point: [u8; 65] = bits
                    .try_into()
                    .map_err(|_| invalid("p-256 point is not 65-byte uncompressed sec1"))?;
                if point.first() != Some(&0x04) {
                    return Err(invalid("p-256 point is not uncompressed"));
                }
                p256v14::PublicKey::from_sec1_bytes(&point)
                    .map_err(|_| invalid("p-256 point is not on the curve"))?;
                Ok(SubjectKey::P256(point))
            }
            Some(c) if c == cert::SECP384R1 => {
                if bits.len() != 97 || bits.first() != Some(&0x04) {
                    return Err(invalid("p-384 point is not 97-byte uncompressed sec1"));
                }
                p384::PublicKey::from_sec1_bytes(bits)
                    .map_err(|_| invalid("p-384 point is not on the curve"))?;
                Ok(SubjectKey::P384(bits.to_vec()))
            }
            Some(c) => Err(AttestationError::UnsupportedSubjectKey {
                oid: format!("{oid} / {c}"),
            }),
            None => Err(invalid("ec key without a named curve")),
        };
    }
    if oid == OID_ED25519 || oid == OID_X25519 {
        if spki.algorithm.parameters.is_some() {
            return Err(invalid("curve25519 key with parameters"));
        }
        let key: [u8; 32] = bits
            .try_into()
            .map_err(|_| invalid("curve25519 key is not 32 bytes"))?;
        return Ok(if oid == OID_ED25519 {
            SubjectKey::Ed25519(key)
        } else {
            SubjectKey::X25519(key)
        });
    }
    if oid == cert::RSA_ENCRYPTION {
        rsa::RsaPublicKey::from_pkcs1_der(bits).map_err(|_| invalid("malformed rsa key"))?;
        let der =
            x509_cert::der::Encode::to_der(spki).map_err(|_| invalid("cannot encode spki"))?;
        return Ok(SubjectKey::Rsa(der));
    }
    Err(AttestationError::UnsupportedSubjectKey {
        oid: oid.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::anchors::{INTERMEDIATES, ROOTS, U2F_ROOT};
    use super::*;

    #[test]
    fn bundled_set_loads_and_fingerprints_match_table() {
        let anchors = TrustAnchors::yubico();
        assert!(anchors.is_ok(), "{anchors:?}");
        let computed = TrustAnchors::bundled_fingerprints();
        let table: Vec<_> = ROOTS
            .iter()
            .map(|(b, _)| b)
            .chain(INTERMEDIATES.iter())
            .chain(core::iter::once(&U2F_ROOT))
            .map(|b| (b.name, b.sha256))
            .collect();
        assert_eq!(computed, table);
    }

    #[test]
    fn tlv_lengths_must_be_minimal() {
        // Long-form length for a short value: refused as non-DER.
        let err = parse_cert(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], CertRole::Slot);
        assert!(matches!(err, Err(AttestationError::InvalidDer { .. })));
        // Indefinite length (BER): refused.
        let err = parse_cert(&[0x30, 0x80, 0, 0], CertRole::Slot);
        assert!(matches!(err, Err(AttestationError::InvalidDer { .. })));
        let err = parse_cert(&[], CertRole::F9);
        assert!(matches!(err, Err(AttestationError::InvalidDer { .. })));
    }

    #[test]
    fn firmware_must_match_the_pki() {
        let legacy = Pki::LegacyPivRoot263751;
        let root1 = Pki::AttestationRoot1;
        assert!(check_firmware_matches_pki((5, 7, 2), legacy).is_ok());
        assert!(check_firmware_matches_pki((4, 3, 7), legacy).is_ok());
        assert!(check_firmware_matches_pki((5, 7, 4), root1).is_ok());
        assert!(check_firmware_matches_pki((5, 8, 0), root1).is_ok());
        assert!(check_firmware_matches_pki((6, 0, 0), root1).is_ok());
        assert_eq!(
            check_firmware_matches_pki((5, 7, 4), legacy),
            Err(AttestationError::FirmwarePkiMismatch {
                firmware: (5, 7, 4),
                pki: legacy
            })
        );
        assert_eq!(
            check_firmware_matches_pki((5, 7, 3), root1),
            Err(AttestationError::FirmwarePkiMismatch {
                firmware: (5, 7, 3),
                pki: root1
            })
        );
        assert!(check_firmware_matches_pki((5, 4, 3), Pki::Test).is_ok());
        assert!(check_firmware_matches_pki((5, 7, 4), Pki::Test).is_ok());
    }

    #[test]
    fn u2f_root_is_never_an_anchor() {
        let anchors = TrustAnchors::yubico().ok();
        let anchors = anchors.as_ref();
        assert!(
            anchors.is_some_and(|a| a.roots.iter().all(|r| r.cert.der != a.refused_u2f_root.der))
        );
    }
}
