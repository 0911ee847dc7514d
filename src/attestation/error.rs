//! Errors of the attestation verifier: one enum, every variant says what is wrong and
//! what the operator can do about it.

use core::fmt;

use super::policy::{PinPolicy, TouchPolicy};
use super::Pki;

/// Which certificate of an attestation chain an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertRole {
    /// The attestation certificate the YubiKey generated for the key in a PIV slot.
    Slot,
    /// The device attestation certificate read from PIV slot F9.
    F9,
    /// A bundled Yubico intermediate certificate (5.7.4+ PKI).
    Intermediate,
    /// A bundled or injected root certificate.
    Root,
    /// The root injected with `TrustAnchors::with_test_root` (test builds only).
    TestRoot,
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertRole::Slot => "slot attestation certificate",
            CertRole::F9 => "f9 device attestation certificate",
            CertRole::Intermediate => "bundled yubico intermediate certificate",
            CertRole::Root => "root certificate",
            CertRole::TestRoot => "injected test root certificate",
        })
    }
}

/// Everything that can go wrong while verifying a YubiKey PIV attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The input is not a single DER-encoded X.509 certificate (truncated, garbage,
    /// BER instead of DER, wrong structure).
    #[error("the {role} is not a valid DER x509 certificate ({detail}); export it again from the yubikey (ykman piv keys attest / ykman piv certificates export f9)")]
    InvalidDer {
        /// The certificate concerned.
        role: CertRole,
        /// What the DER decoder reported.
        detail: String,
    },

    /// Bytes follow the end of the certificate.
    #[error("the {role} is followed by {extra} extra byte(s); pass exactly one DER certificate, without trailing data")]
    TrailingData {
        /// The certificate concerned.
        role: CertRole,
        /// How many bytes follow the certificate.
        extra: usize,
    },

    /// The certificate decodes but does not re-encode to the same bytes, so it is not
    /// canonical DER and what was signed may differ from what was read.
    #[error("the {role} is not canonical der; refusing it because signed and parsed content could differ — export it again from the yubikey")]
    NonCanonicalEncoding {
        /// The certificate concerned.
        role: CertRole,
    },

    /// The certificate is not an X.509 v3 certificate.
    #[error("the {role} is not an x509 v3 certificate; yubico attestation certificates are v3 — check that the right file was passed")]
    NotVersion3 {
        /// The certificate concerned.
        role: CertRole,
    },

    /// The outer signature algorithm differs from the one inside the signed part.
    #[error("the {role} names two different signature algorithms (outer and signed); the certificate is malformed or tampered with")]
    SignatureAlgorithmMismatch {
        /// The certificate concerned.
        role: CertRole,
    },

    /// The signature algorithm is not one this verifier supports (RSA PKCS#1 v1.5
    /// with SHA-256/384/512, ECDSA P-256/SHA-256, ECDSA P-384/SHA-384).
    #[error("the {role} is signed with an unsupported algorithm {oid} for an issuer key of type {issuer_key}; only rsa pkcs#1 v1.5 (sha-256/384/512) and ecdsa p-256/p-384 are accepted")]
    UnsupportedSignatureAlgorithm {
        /// The certificate concerned.
        role: CertRole,
        /// The signature algorithm OID, dotted.
        oid: String,
        /// The issuer key type, as far as it was recognised.
        issuer_key: &'static str,
    },

    /// The issuer's public key cannot be used to verify signatures (unknown type,
    /// malformed, or an RSA modulus outside 2048..=4096 bits).
    #[error("the public key of the {role} cannot verify signatures ({detail}); only rsa 2048-4096 and ec p-256/p-384 issuer keys are accepted")]
    UnsupportedIssuerKey {
        /// The issuing certificate whose key is unusable.
        role: CertRole,
        /// Why the key was refused.
        detail: String,
    },

    /// A signature in the chain does not verify.
    #[error("the signature on the {role} does not verify under its issuer's key; the certificate was altered, or it was not issued by that issuer (wrong f9 for this slot certificate?)")]
    BadSignature {
        /// The certificate whose signature failed.
        role: CertRole,
    },

    /// The issuer name of a certificate does not match the subject of the certificate
    /// presented as its issuer.
    #[error("the {role} names issuer \"{issuer}\" but the certificate presented as its issuer is \"{presented}\"; pass the f9 certificate of the same yubikey")]
    IssuerMismatch {
        /// The certificate whose issuer does not match.
        role: CertRole,
        /// The issuer name it carries.
        issuer: String,
        /// The subject name of the presented issuer.
        presented: String,
    },

    /// No bundled root or intermediate issued the F9 certificate (or an intermediate).
    #[error("no trusted yubico root or intermediate issued \"{issuer}\" (needed by the {role}); the yubikey is not genuine, or its pki is not trusted by this build")]
    UntrustedIssuer {
        /// The certificate that could not be chained further.
        role: CertRole,
        /// The issuer name it carries.
        issuer: String,
    },

    /// The F9 certificate chains to the Yubico U2F root, as some early YubiKey 4 do.
    /// Enrollment refuses these on purpose (see the module documentation).
    #[error("the f9 certificate chains to the yubico u2f root ca serial 457200631 (early yubikey 4); such chains are not valid x509 paths and lack the device serial, so enrollment refuses them — enroll a yubikey 5 instead")]
    LegacyU2fRootRefused,

    /// An issuing certificate is not marked as a CA (basicConstraints cA missing or false).
    #[error("the {role} signs other certificates but is not marked as a ca (basicconstraints); the chain is not a valid yubico attestation chain")]
    NotCa {
        /// The certificate concerned.
        role: CertRole,
    },

    /// An issuing certificate has a keyUsage extension without keyCertSign.
    #[error(
        "the {role} signs other certificates but its keyusage does not allow certificate signing"
    )]
    KeyUsageForbidsCertSign {
        /// The certificate concerned.
        role: CertRole,
    },

    /// A CA certificate's path length constraint is exceeded by the chain below it.
    #[error("the {role} allows {pathlen} intermediate ca(s) below it but the chain has {below}; the chain is not valid under this certificate")]
    PathLenExceeded {
        /// The certificate whose constraint is exceeded.
        role: CertRole,
        /// Its pathLenConstraint.
        pathlen: u8,
        /// How many CA certificates sit between it and the slot certificate.
        below: usize,
    },

    /// The slot certificate claims to be a CA; an attestation leaf never is.
    #[error("the slot attestation certificate is marked as a ca; pass the attestation certificate of the slot, not an f9 or intermediate")]
    SlotCertIsCa,

    /// A certificate carries a critical extension the verifier does not understand.
    #[error(
        "the {role} has an unknown critical extension {oid}; refusing it as rfc 5280 requires"
    )]
    UnknownCriticalExtension {
        /// The certificate concerned.
        role: CertRole,
        /// The extension OID, dotted.
        oid: String,
    },

    /// A certificate carries the same extension twice.
    #[error("the {role} carries extension {oid} more than once; the certificate is malformed")]
    DuplicateExtension {
        /// The certificate concerned.
        role: CertRole,
        /// The extension OID, dotted.
        oid: String,
    },

    /// A standard extension (basicConstraints, keyUsage) could not be decoded.
    #[error("the {role} has a malformed {name} extension ({detail})")]
    MalformedStandardExtension {
        /// The certificate concerned.
        role: CertRole,
        /// The extension name.
        name: &'static str,
        /// What the decoder reported.
        detail: String,
    },

    /// A validity period ends before it starts.
    #[error(
        "the {role} has a validity period that ends before it starts; the certificate is malformed"
    )]
    InvalidValidity {
        /// The certificate concerned.
        role: CertRole,
    },

    /// The slot certificate lacks a Yubico extension that enrollment requires.
    #[error("the slot attestation certificate has no {name} extension ({oid}); it is not a yubikey 5 piv attestation — enroll a yubikey 5 (firmware 5.x)")]
    MissingExtension {
        /// The extension OID, dotted.
        oid: &'static str,
        /// The extension name.
        name: &'static str,
    },

    /// A Yubico extension of the slot certificate has an unexpected encoding.
    #[error(
        "the {name} extension ({oid}) of the slot attestation certificate is malformed ({detail})"
    )]
    InvalidExtension {
        /// The extension OID, dotted.
        oid: &'static str,
        /// The extension name.
        name: &'static str,
        /// What is wrong with it.
        detail: String,
    },

    /// The slot certificate's policy extension holds a value outside the known set.
    #[error("the slot attestation certificate reports an unknown {kind} policy value {value:#04x}; update breakglass or check the yubikey firmware")]
    UnknownPolicyValue {
        /// `"pin"` or `"touch"`.
        kind: &'static str,
        /// The raw byte.
        value: u8,
    },

    /// The attested key's type is not one this verifier recognises.
    #[error(
        "the attested key has an unsupported algorithm {oid}; generate a p-256 key on the yubikey"
    )]
    UnsupportedSubjectKey {
        /// The key algorithm OID (and curve OID if any), dotted.
        oid: String,
    },

    /// The attested public key is malformed (bad point, bad RSA structure).
    #[error("the attested public key is malformed ({detail})")]
    InvalidSubjectKey {
        /// What is wrong with it.
        detail: String,
    },

    /// The firmware attested in the slot certificate does not belong to the PKI the
    /// chain verified under (5.7.4+ uses Yubico Attestation Root 1, older firmware the
    /// legacy PIV root).
    #[error("the slot certificate says firmware {}.{}.{} but the chain verified under {pki}; firmware 5.7.4 and later attest under yubico attestation root 1, older firmware under the legacy piv root — the chain is inconsistent, do not enroll this key", firmware.0, firmware.1, firmware.2)]
    FirmwarePkiMismatch {
        /// Firmware version from the slot certificate.
        firmware: (u8, u8, u8),
        /// The PKI the chain verified under.
        pki: Pki,
    },

    /// The attested PIN policy is weaker than enrollment requires.
    #[error("the key's pin policy is {found} but enrollment requires at least {required}; generate the key again with a stricter pin policy")]
    PinPolicyTooWeak {
        /// The attested policy.
        found: PinPolicy,
        /// The required minimum.
        required: PinPolicy,
    },

    /// The attested touch policy is weaker than enrollment requires.
    #[error("the key's touch policy is {found} but enrollment requires at least {required}; generate the key again with a stricter touch policy")]
    TouchPolicyTooWeak {
        /// The attested policy.
        found: TouchPolicy,
        /// The required minimum.
        required: TouchPolicy,
    },

    /// A bundled certificate does not have its published SHA-256 fingerprint. The
    /// build is corrupt.
    #[error("bundled certificate {name} does not match its published sha-256 fingerprint; this build is corrupt — rebuild breakglass from a verified source")]
    BundledCertificateMismatch {
        /// File name of the bundled certificate.
        name: &'static str,
    },

    /// A bundled certificate failed to parse. The build is corrupt.
    #[error("bundled certificate {name} cannot be parsed ({detail}); this build is corrupt — rebuild breakglass from a verified source")]
    BundledCertificateInvalid {
        /// File name of the bundled certificate.
        name: &'static str,
        /// What the parser reported.
        detail: String,
    },

    /// PEM input is not exactly one strict RFC 7468 `CERTIFICATE` block.
    #[error(
        "invalid pem certificate ({detail}); pass exactly one -----BEGIN CERTIFICATE----- block"
    )]
    InvalidPem {
        /// What is wrong with it.
        detail: String,
    },

    /// A policy name could not be parsed.
    #[error("unknown {kind} policy \"{name}\"; expected one of {expected}")]
    UnknownPolicyName {
        /// `"pin"` or `"touch"`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The accepted names.
        expected: &'static str,
    },
}
