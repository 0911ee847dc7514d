//! Strict certificate parsing and signature verification for the attestation chain.
//!
//! Invariants: a [`ParsedCert`] was decoded from exactly one canonical DER certificate
//! (no trailing bytes, re-encodes to the same bytes), is X.509 v3, names the same
//! signature algorithm inside and outside the signed part, has no duplicate extension,
//! no unknown critical extension and a well-ordered validity period. Signatures are
//! checked over the exact signed bytes received.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::sha2::{Digest, Sha256, Sha384, Sha512};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{Certificate, Version};

use super::error::{AttestationError, CertRole};

/// `rsaEncryption`.
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// `id-ecPublicKey`.
pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `prime256v1` / `secp256r1`.
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1`.
pub(crate) const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// Smallest accepted RSA issuer modulus, in bits.
const RSA_MIN_BITS: usize = 2048;
/// Largest accepted RSA issuer modulus, in bits (caps verification work).
const RSA_MAX_BITS: usize = 4096;

/// A certificate that passed the strict structural checks of this module.
#[derive(Clone, Debug)]
pub(crate) struct ParsedCert {
    pub(crate) cert: Certificate,
    /// The exact DER the certificate was read from.
    pub(crate) der: Vec<u8>,
    /// DER of the subject name (compared byte for byte with issuer names).
    pub(crate) subject_der: Vec<u8>,
    /// DER of the issuer name.
    pub(crate) issuer_der: Vec<u8>,
    /// Range of `der` holding the signed `TBSCertificate`.
    tbs_range: core::ops::Range<usize>,
}

impl ParsedCert {
    /// The exact signed bytes.
    pub(crate) fn tbs(&self) -> &[u8] {
        self.der.get(self.tbs_range.clone()).unwrap_or_default()
    }

    /// The subject name, for messages.
    pub(crate) fn subject_string(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// The issuer name, for messages.
    pub(crate) fn issuer_string(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }

    /// Whether `self` names `issuer` as its issuer (exact DER comparison).
    pub(crate) fn names_issuer(&self, issuer: &ParsedCert) -> bool {
        self.issuer_der == issuer.subject_der
    }

    /// The decoded basicConstraints extension, if any.
    pub(crate) fn basic_constraints(
        &self,
        role: CertRole,
    ) -> Result<Option<BasicConstraints>, AttestationError> {
        self.standard_extension::<BasicConstraints>(role, "basicconstraints")
    }

    /// The decoded keyUsage extension, if any.
    pub(crate) fn key_usage(&self, role: CertRole) -> Result<Option<KeyUsage>, AttestationError> {
        self.standard_extension::<KeyUsage>(role, "keyusage")
    }

    fn standard_extension<'a, T>(
        &'a self,
        role: CertRole,
        name: &'static str,
    ) -> Result<Option<T>, AttestationError>
    where
        T: Decode<'a, Error = x509_cert::der::Error> + x509_cert::der::oid::AssociatedOid,
    {
        self.cert
            .tbs_certificate()
            .get_extension::<T>()
            .map(|found| found.map(|(_critical, value)| value))
            .map_err(|e| AttestationError::MalformedStandardExtension {
                role,
                name,
                detail: e.to_string(),
            })
    }

    /// The raw value (contents of the extnValue OCTET STRING) of extension `oid`.
    /// Duplicates were rejected at parse time.
    pub(crate) fn extension_value(&self, oid: &ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| &e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }
}

/// Reads one DER TLV header at the start of `input` and returns
/// `(tag byte, header length, content length)`. Only definite, minimally encoded
/// lengths of up to 4 bytes are accepted.
fn tlv_header(input: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None; // indefinite length, or absurdly long
    }
    let bytes = input.get(2..2 + n)?;
    if bytes.first() == Some(&0) {
        return None; // leading zero: not minimal
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if len < 0x80 {
        return None; // long form where the short form fits: not minimal
    }
    Some((tag, 2 + n, len))
}

/// Parses one certificate strictly. `role` only labels errors.
pub(crate) fn parse_cert(der: &[u8], role: CertRole) -> Result<ParsedCert, AttestationError> {
    let invalid = |detail: &str| AttestationError::InvalidDer {
        role,
        detail: detail.to_owned(),
    };
    // Outer SEQUENCE: find where the certificate ends, to name trailing data precisely.
    let (tag, header, len) = tlv_header(der).ok_or_else(|| invalid("bad outer header"))?;
    if tag != 0x30 {
        return Err(invalid("not a der sequence"));
    }
    let total = header
        .checked_add(len)
        .ok_or_else(|| invalid("length overflow"))?;
    if der.len() < total {
        return Err(invalid("truncated"));
    }
    if der.len() > total {
        return Err(AttestationError::TrailingData {
            role,
            extra: der.len() - total,
        });
    }
    // First element of the outer SEQUENCE is the signed TBSCertificate.
    let inner = der.get(header..).ok_or_else(|| invalid("truncated"))?;
    let (tbs_tag, tbs_header, tbs_len) =
        tlv_header(inner).ok_or_else(|| invalid("bad tbscertificate header"))?;
    if tbs_tag != 0x30 {
        return Err(invalid("tbscertificate is not a sequence"));
    }
    let tbs_end = header
        .checked_add(tbs_header)
        .and_then(|v| v.checked_add(tbs_len))
        .filter(|end| *end <= total)
        .ok_or_else(|| invalid("truncated tbscertificate"))?;

    let cert = Certificate::from_der(der).map_err(|e| AttestationError::InvalidDer {
        role,
        detail: e.to_string(),
    })?;
    // Canonical encoding: what we parsed is exactly what was signed.
    match cert.to_der() {
        Ok(again) if again == der => {}
        _ => return Err(AttestationError::NonCanonicalEncoding { role }),
    }
    let tbs = cert.tbs_certificate();
    if tbs.version() != Version::V3 {
        return Err(AttestationError::NotVersion3 { role });
    }
    if tbs.signature() != cert.signature_algorithm() {
        return Err(AttestationError::SignatureAlgorithmMismatch { role });
    }
    if let Some(exts) = tbs.extensions() {
        for (i, ext) in exts.iter().enumerate() {
            if exts
                .iter()
                .skip(i.saturating_add(1))
                .any(|other| other.extn_id == ext.extn_id)
            {
                return Err(AttestationError::DuplicateExtension {
                    role,
                    oid: ext.extn_id.to_string(),
                });
            }
            if ext.critical && ext.extn_id != BASIC_CONSTRAINTS && ext.extn_id != KEY_USAGE {
                return Err(AttestationError::UnknownCriticalExtension {
                    role,
                    oid: ext.extn_id.to_string(),
                });
            }
        }
    }
    let validity = tbs.validity();
    if validity.not_before.to_unix_duration() > validity.not_after.to_unix_duration() {
        return Err(AttestationError::InvalidValidity { role });
    }
    let subject_der = tbs
        .subject()
        .to_der()
        .map_err(|e| AttestationError::InvalidDer {
            role,
            detail: e.to_string(),
        })?;
    let issuer_der = tbs
        .issuer()
        .to_der()
        .map_err(|e| AttestationError::InvalidDer {
            role,
            detail: e.to_string(),
        })?;
    let parsed = ParsedCert {
        cert,
        der: der.to_vec(),
        subject_der,
        issuer_der,
        tbs_range: header..tbs_end,
    };
    Ok(parsed)
}

/// Whether `params` is an explicit ASN.1 NULL or absent. RFC 4055 wants NULL for RSA,
/// but the real FIPS 5.7.4 F9 certificate (issued by Yubico PIV Attestation B 1) omits
/// it in its sha256WithRSAEncryption identifier, so both are accepted.
fn params_null_or_absent(alg: &AlgorithmIdentifierOwned) -> bool {
    alg.parameters
        .as_ref()
        .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
}

/// Key type of an issuer, for signature verification.
enum IssuerKey {
    Rsa(RsaPublicKey),
    P256(p256v14::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl IssuerKey {
    fn name(&self) -> &'static str {
        match self {
            IssuerKey::Rsa(_) => "rsa",
            IssuerKey::P256(_) => "ec p-256",
            IssuerKey::P384(_) => "ec p-384",
        }
    }

    fn from_spki(
        spki: &SubjectPublicKeyInfoOwned,
        role: CertRole,
    ) -> Result<Self, AttestationError> {
        let unsupported = |detail: String| AttestationError::UnsupportedIssuerKey { role, detail };
        let key_bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| unsupported("public key bit string has unused bits".to_owned()))?;
        if spki.algorithm.oid == RSA_ENCRYPTION {
            if !params_null_or_absent(&spki.algorithm) {
                return Err(unsupported("rsa key parameters are not null".to_owned()));
            }
            let key = RsaPublicKey::from_pkcs1_der(key_bits)
                .map_err(|e| unsupported(format!("malformed rsa key: {e}")))?;
            let bits = key.size().saturating_mul(8);
            if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                return Err(unsupported(format!("rsa modulus of {bits} bits")));
            }
            return Ok(IssuerKey::Rsa(key));
        }
        if spki.algorithm.oid == EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            return match curve {
                Some(c) if c == SECP256R1 => {
                    p256v14::ecdsa::VerifyingKey::from_sec1_bytes(key_bits)
                        .map(IssuerKey::P256)
                        .map_err(|_| unsupported("invalid p-256 point".to_owned()))
                }
                Some(c) if c == SECP384R1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bits)
                    .map(IssuerKey::P384)
                    .map_err(|_| unsupported("invalid p-384 point".to_owned())),
                _ => Err(unsupported("unsupported elliptic curve".to_owned())),
            };
        }
        Err(unsupported(format!(
            "unsupported key algorithm {}",
            spki.algorithm.oid
        )))
    }
}

/// Verifies that `child` (in role `role`) is signed by the key of `issuer` (in role
/// `issuer_role`). Names are not compared here.
pub(crate) fn verify_signature(
    child: &ParsedCert,
    role: CertRole,
    issuer: &ParsedCert,
    issuer_role: CertRole,
) -> Result<(), AttestationError> {
    let key = IssuerKey::from_spki(
        issuer.cert.tbs_certificate().subject_public_key_info(),
        issuer_role,
    )?;
    let alg = child.cert.signature_algorithm();
    let signature = child
        .cert
        .signature()
        .as_bytes()
        .ok_or(AttestationError::BadSignature { role })?;
    let tbs = child.tbs();
    let unsupported = || AttestationError::UnsupportedSignatureAlgorithm {
        role,
        oid: alg.oid.to_string(),
        issuer_key: key.name(),
    };
    let ok = match &key {
        IssuerKey::Rsa(rsa_key) => {
            if !params_null_or_absent(alg) {
                return Err(unsupported());
            }
            let result = if alg.oid == SHA256_WITH_RSA {
                rsa_key.verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(tbs),
                    signature,
                )
            } else if alg.oid == SHA384_WITH_RSA {
                rsa_key.verify(
                    Pkcs1v15Sign::new::<Sha384>(),
                    &Sha384::digest(tbs),
                    signature,
                )
            } else if alg.oid == SHA512_WITH_RSA {
                rsa_key.verify(
                    Pkcs1v15Sign::new::<Sha512>(),
                    &Sha512::digest(tbs),
                    signature,
                )
            } else {
                return Err(unsupported());
            };
            result.is_ok()
        }
        IssuerKey::P256(vk) => {
            if alg.oid != ECDSA_WITH_SHA256 || alg.parameters.is_some() {
                return Err(unsupported());
            }
            use p256v14::ecdsa::signature::Verifier;
            p256v14::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| vk.verify(tbs, &sig).is_ok())
        }
        IssuerKey::P384(vk) => {
            if alg.oid != ECDSA_WITH_SHA384 || alg.parameters.is_some() {
                return Err(unsupported());
            }
            use p384::ecdsa::signature::Verifier;
            p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| vk.verify(tbs, &sig).is_ok())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(AttestationError::BadSignature { role })
    }
}
