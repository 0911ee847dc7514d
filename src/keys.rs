//! The per-generation master key `K` and everything derived from it.
//!
//! `K` is 32 bytes from the OS RNG, fresh for every generation. It is never
//! used raw: HKDF-SHA256 (salt = vault id bytes) with distinct `info` labels
//! derives the payload identity (an age X25519 identity) and, in format 2,
//! the generation signing key `S_g` (Ed25519). The manifest and log MAC keys
//! of format 1 are kept only to open and migrate vaults of that version.

use std::str::FromStr;

use bech32::ToBase32;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::secret::{ct_eq, SecretBytes};

/// HKDF label of the payload identity.
pub const INFO_PAYLOAD: &[u8] = b"breakglass/v1 payload identity";
/// HKDF label of the manifest MAC key.
pub const INFO_MANIFEST_MAC: &[u8] = b"breakglass/v1 manifest mac";
/// HKDF label of the log-entry MAC key.
pub const INFO_LOG_MAC: &[u8] = b"breakglass/v1 log mac";
/// HKDF label of the generation signing key (format 2).
pub const INFO_SIGNING: &[u8] = b"breakglass/v2 generation signing key";

/// Key errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The OS random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Rng(String),
    /// Internal derivation failure (should not happen).
    #[error("key derivation failed: {0}")]
    Derive(&'static str),
}

/// The vault master key of one generation.
pub struct MasterKey(SecretBytes);

/// A MAC key derived from `K`.
pub struct MacKey(SecretBytes);

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut k = SecretBytes::zeroed(32);
        rand::rngs::OsRng
            .try_fill_bytes(k.expose_mut())
            .map_err(|e| KeyError::Rng(e.to_string()))?;
        Ok(Self(k))
    }

    /// Wraps recovered key bytes (must be 32 bytes).
    pub fn from_secret(k: SecretBytes) -> Result<Self, KeyError> {
        if k.len() != 32 {
            return Err(KeyError::Derive("master key must be 32 bytes"));
        }
        Ok(Self(k))
    }

    /// The raw key, only for splitting into shares.
    pub fn expose_for_sharing(&self) -> &SecretBytes {
        &self.0
    }

    fn derive(&self, vault_id: &[u8; 16], info: &[u8]) -> Result<SecretBytes, KeyError> {
        let hk = Hkdf::<Sha256>::new(Some(vault_id), self.0.expose());
        let mut out = SecretBytes::zeroed(32);
        hk.expand(info, out.expose_mut())
            .map_err(|_| KeyError::Derive("hkdf expand"))?;
        Ok(out)
    }

    /// The manifest MAC key.
    pub fn manifest_mac_key(&self, vault_id: &[u8; 16]) -> Result<MacKey, KeyError> {
        Ok(MacKey(self.derive(vault_id, INFO_MANIFEST_MAC)?))
    }

    /// The log-entry MAC key.
    pub fn log_mac_key(&self, vault_id: &[u8; 16]) -> Result<MacKey, KeyError> {
        Ok(MacKey(self.derive(vault_id, INFO_LOG_MAC)?))
    }

    /// The generation signing key `S_g` (Ed25519, format 2): what a quorum
    /// of this generation writes is signed with it.
    pub fn signing_key(&self, vault_id: &[u8; 16]) -> Result<crate::sign::SigningKey, KeyError> {
        let seed = self.derive(vault_id, INFO_SIGNING)?;
        let seed: &[u8; 32] = seed
            .expose()
            .try_into()
            .map_err(|_| KeyError::Derive("signing seed"))?;
        Ok(crate::sign::SigningKey::from_seed(seed))
    }

    /// The payload identity (age X25519), built from 32 derived bytes.
    pub fn payload_identity(&self, vault_id: &[u8; 16]) -> Result<age::x25519::Identity, KeyError> {
        let text = self.payload_identity_text(vault_id)?;
        age::x25519::Identity::from_str(&text).map_err(|_| KeyError::Derive("payload identity"))
    }

    /// The payload identity as `AGE-SECRET-KEY-1…` text (for recovery with stock `age`).
    pub fn payload_identity_text(
        &self,
        vault_id: &[u8; 16],
    ) -> Result<Zeroizing<String>, KeyError> {
        let bytes = self.derive(vault_id, INFO_PAYLOAD)?;
        let mut text = Zeroizing::new(String::with_capacity(80));
        {
            let mut w =
                bech32::Bech32Writer::new("age-secret-key-", bech32::Variant::Bech32, &mut *text)
                    .map_err(|_| KeyError::Derive("bech32"))?;
            bytes
                .expose()
                .write_base32(&mut w)
                .map_err(|_| KeyError::Derive("bech32"))?;
            w.finalize().map_err(|_| KeyError::Derive("bech32"))?;
        }
        text.make_ascii_uppercase();
        Ok(text)
    }
}

impl MacKey {
    /// HMAC-SHA256 of `data`.
    pub fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose())
            .unwrap_or_else(|_| unreachable_hmac());
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of a tag.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        ct_eq(&self.tag(data), tag)
    }
}

// HMAC accepts keys of any length; this cannot be reached.
#[allow(clippy::panic)]
fn unreachable_hmac() -> Hmac<Sha256> {
    panic!("HMAC-SHA256 rejected a 32-byte key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_distinct_and_deterministic() {
        let k = MasterKey::from_secret(SecretBytes::new(vec![7u8; 32])).unwrap();
        let id = [1u8; 16];
        let a = k.manifest_mac_key(&id).unwrap().tag(b"x");
        let b = k.log_mac_key(&id).unwrap().tag(b"x");
        assert_ne!(a, b);
        assert_eq!(a, k.manifest_mac_key(&id).unwrap().tag(b"x"));
        assert_ne!(a, k.manifest_mac_key(&[2u8; 16]).unwrap().tag(b"x"));
        let s1 = k.signing_key(&id).unwrap().public();
        assert_eq!(s1, k.signing_key(&id).unwrap().public());
        assert_ne!(s1, k.signing_key(&[2u8; 16]).unwrap().public());
        let t1 = k.payload_identity_text(&id).unwrap();
        assert!(t1.starts_with("AGE-SECRET-KEY-1"));
        let ident = k.payload_identity(&id).unwrap();
        assert!(ident.to_public().to_string().starts_with("age1"));
    }
}
