//! Signatures of format version 2: who wrote a manifest or a log entry,
//! checkable by anyone with public data only.
//!
//! Role: the only user of `ed25519-dalek`, and the only place that verifies
//! ECDSA. Three kinds of signer exist:
//!
//! * a **generation key** `S_g` (Ed25519), derived from the generation's
//!   master key `K` ([`crate::keys::MasterKey::signing_key`]): signs what a
//!   quorum writes;
//! * a **software custodian** key (Ed25519), derived from the custodian's age
//!   identity ([`crate::token::software`]);
//! * a **YubiKey custodian** key: the custodian's PIV P-256 key itself, which
//!   signs on the card (ECDSA over SHA-256); its public key is the point the
//!   `age1yubikey1…` recipient encodes. SECURITY.md argues why one key may
//!   serve both ECDH and ECDSA here.
//!
//! Every signed message starts with a context string naming what it is
//! (domain separation), so a signature made for one purpose is never valid
//! for another: `breakglass/v2 <purpose>\n` followed by the canonical bytes.
//!
//! Invariant: verification is strict (Ed25519 `verify_strict`: no small-order
//! keys, canonical `S`; ECDSA signatures must be DER and low-S is not
//! required because the card does not produce it). A key or signature that
//! does not parse simply does not verify.

use ed25519_dalek::Signer;
use zeroize::Zeroizing;

use crate::encoding::{hex, unhex};

/// Length of an Ed25519 public key.
pub const ED25519_PUBLIC_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;
/// Longest DER ECDSA P-256 signature.
pub const P256_SIGNATURE_MAX: usize = 72;

/// What a signature is for: the context string that starts the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A log entry (quorum or custodian).
    LogEntry,
    /// A manifest, signed by its own generation key.
    Manifest,
    /// A manifest, signed by the previous generation's key (its certificate).
    Successor,
    /// A remote custodian's response to a share request (`docs/remote.md`),
    /// signed by the custodian's token.
    RemoteResponse,
}

impl Purpose {
    /// The context string.
    pub fn context(self) -> &'static [u8] {
        match self {
            Purpose::LogEntry => b"breakglass/v2 log entry\n",
            Purpose::Manifest => b"breakglass/v2 manifest\n",
            Purpose::Successor => b"breakglass/v2 successor manifest\n",
            Purpose::RemoteResponse => b"breakglass/v2 remote response\n",
        }
    }

    /// The message actually signed: context ‖ body.
    pub fn message(self, body: &[u8]) -> Zeroizing<Vec<u8>> {
        let ctx = self.context();
        let mut m = Zeroizing::new(Vec::with_capacity(ctx.len() + body.len()));
        m.extend_from_slice(ctx);
        m.extend_from_slice(body);
        m
    }
}

/// An Ed25519 signing key (generation or software custodian). No `Debug`,
/// no `Clone`; zeroized on drop.
pub struct SigningKey(ed25519_dalek::SigningKey);

/// An Ed25519 public key.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PublicKey(pub [u8; ED25519_PUBLIC_LEN]);

impl SigningKey {
    /// The key whose seed is these 32 bytes (derived by HKDF by the caller).
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `body` for `purpose`.
    pub fn sign(&self, purpose: Purpose, body: &[u8]) -> [u8; ED25519_SIGNATURE_LEN] {
        self.0.sign(&purpose.message(body)).to_bytes()
    }
}

impl PublicKey {
    /// Lower-case hex (64 digits), as written in manifests and log entries.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 64 hex digits (lower case).
    pub fn from_hex(s: &str) -> Option<PublicKey> {
        unhex::<ED25519_PUBLIC_LEN>(s, "key").ok().map(PublicKey)
    }

    /// Whether `sig` is this key's signature of `body` for `purpose`.
    pub fn verifies(&self, purpose: Purpose, body: &[u8], sig: &[u8]) -> bool {
        verify_ed25519(&self.0, purpose, body, sig)
    }
}

/// Strict Ed25519 verification.
pub fn verify_ed25519(public: &[u8; 32], purpose: Purpose, body: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(&purpose.message(body), &sig).is_ok()
}

/// The SHA-256 digest a YubiKey signs for `body` (the card signs a digest).
pub fn p256_digest(purpose: Purpose, body: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(purpose.message(body).as_slice()).into()
}

/// ECDSA P-256 / SHA-256 verification of a DER signature made by a YubiKey
/// whose public point is `sec1` (compressed or uncompressed).
pub fn verify_p256(sec1: &[u8], purpose: Purpose, body: &[u8], der: &[u8]) -> bool {
    use p256v14::ecdsa::signature::Verifier as _;
    use p256v14::ecdsa::{Signature, VerifyingKey};
    if der.len() > P256_SIGNATURE_MAX {
        return false;
    }
    let Ok(key) = VerifyingKey::from_sec1_bytes(sec1) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(der) else {
        return false;
    };
    // `verify` hashes the message with SHA-256: the digest the card signed.
    key.verify(&purpose.message(body), &sig).is_ok()
}

/// The low-S DER form of a P-256 signature. Both (r, s) and (r, n − s)
/// verify, so a signature that travels (a remote response) is normalised by
/// its signer and required in this form by its reader: a relay cannot turn
/// it into other bytes that still verify. `None` when it is not DER.
pub fn p256_low_s(der: &[u8]) -> Option<Vec<u8>> {
    let sig = p256v14::ecdsa::Signature::from_der(der).ok()?;
    Some(sig.normalize_s().to_der().as_bytes().to_vec())
}

/// Whether `der` is a P-256 signature in the form [`p256_low_s`] gives.
pub fn is_p256_low_s(der: &[u8]) -> bool {
    p256_low_s(der).is_some_and(|n| n == der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_roundtrip_and_domain_separation() {
        let k = SigningKey::from_seed(&[7u8; 32]);
        let pk = k.public();
        let sig = k.sign(Purpose::LogEntry, b"body");
        assert!(pk.verifies(Purpose::LogEntry, b"body", &sig));
        assert!(!pk.verifies(Purpose::Manifest, b"body", &sig));
        assert!(!pk.verifies(Purpose::LogEntry, b"bodY", &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!pk.verifies(Purpose::LogEntry, b"body", &bad));
        assert!(!pk.verifies(Purpose::LogEntry, b"body", &sig[..63]));
        assert_eq!(PublicKey::from_hex(&pk.to_hex()), Some(pk));
        assert_eq!(PublicKey::from_hex("zz"), None);
    }

    #[test]
    fn p256_signatures_travel_in_their_low_s_form_only() {
        use p256v14::ecdsa::signature::Signer as _;
        use p256v14::ecdsa::{Signature, SigningKey as P256Key};
        use p256v14::elliptic_curve::sec1::ToSec1Point as _;
        let key = P256Key::from_slice(&[7u8; 32]).unwrap();
        let public = key.verifying_key().as_affine().to_sec1_point(false);
        let purpose = Purpose::RemoteResponse;
        let sig: Signature = key.sign(&purpose.message(b"body"));
        let (r, s) = sig.split_scalars();
        let twin = Signature::from_scalars(r.to_bytes(), (-*s.as_ref()).to_bytes()).unwrap();
        let (a, b) = (sig.to_der(), twin.to_der());
        // Both verify (what a card produces for log entries is accepted either way) …
        assert!(verify_p256(
            public.as_bytes(),
            purpose,
            b"body",
            a.as_bytes()
        ));
        assert!(verify_p256(
            public.as_bytes(),
            purpose,
            b"body",
            b.as_bytes()
        ));
        // … but exactly one is the low-S form, and both normalise to it.
        assert_ne!(is_p256_low_s(a.as_bytes()), is_p256_low_s(b.as_bytes()));
        assert_eq!(p256_low_s(a.as_bytes()), p256_low_s(b.as_bytes()));
        let low = p256_low_s(a.as_bytes()).unwrap();
        assert!(is_p256_low_s(&low));
        assert!(verify_p256(public.as_bytes(), purpose, b"body", &low));
        assert_eq!(p256_low_s(b"not der"), None);
        assert!(!is_p256_low_s(b""));
    }

    #[test]
    fn p256_rejects_garbage() {
        assert!(!verify_p256(
            &[2u8; 33],
            Purpose::LogEntry,
            b"x",
            &[0x30, 0]
        ));
        assert!(!verify_p256(&[], Purpose::LogEntry, b"x", &[]));
        assert!(!verify_p256(
            &[4u8; 65],
            Purpose::LogEntry,
            b"x",
            &[0u8; 80]
        ));
    }
}
