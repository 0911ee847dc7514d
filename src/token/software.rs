//! Software custodians: an age X25519 identity encrypted at rest under
//! Argon2id(passphrase).
//!
//! File format `breakglass-software-identity/1` (canonical JSON, see
//! [`crate::encoding`]):
//!
//! ```text
//! {"ciphertext":B64,"format":"breakglass-software-identity/1",
//!  "kdf":{"m_kib":N,"p":N,"t":N},"name":NAME,"nonce":B64(12),
//!  "recipient":"age1…","salt":B64(16)}
//! ```
//!
//! `ciphertext` is ChaCha20-Poly1305 under the Argon2id key, with the
//! canonical JSON of every other member as associated data (so name,
//! recipient and parameters cannot be swapped), over the identity's
//! `AGE-SECRET-KEY-1…` text. Files are written 0600 with `create_new`.
//! Parameters are checked against [`KdfParams`] caps before any work.

use std::str::FromStr;

use age::secrecy::ExposeSecret;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::encoding::{self, b64, unb64};
use crate::kdf::{self, KdfError, KdfParams};
use crate::secret::{SecretBytes, SecretString};

/// Format tag.
pub const FORMAT: &str = "breakglass-software-identity/1";
/// Largest identity file accepted.
pub const MAX_FILE_SIZE: u64 = 16 * 1024;
/// Shortest passphrase accepted for a new identity.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    ciphertext: String,
    format: String,
    kdf: KdfParams,
    name: String,
    nonce: String,
    recipient: String,
    salt: String,
}

#[derive(Serialize)]
struct Aad<'a> {
    format: &'a str,
    kdf: KdfParams,
    name: &'a str,
    nonce: &'a str,
    recipient: &'a str,
    salt: &'a str,
}

/// Errors of software identities. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoftwareError {
    /// The file is not a software identity of a known version.
    #[error("{path}: not a breakglass software identity file ({why})")]
    Malformed {
        /// File path (or a label).
        path: String,
        /// What is wrong.
        why: String,
    },
    /// KDF parameters in the file are out of range.
    #[error("{path}: {source}")]
    Kdf {
        /// File path.
        path: String,
        /// The range violation.
        #[source]
        source: KdfError,
    },
    /// Wrong passphrase (or the file was altered).
    #[error("wrong passphrase for {custodian}'s identity (or the identity file was altered); nothing was decrypted — try again, passphrases are case-sensitive")]
    WrongPassphrase {
        /// Custodian name from the file.
        custodian: String,
    },
    /// New passphrase too short.
    #[error("passphrase too short: use at least {MIN_PASSPHRASE_CHARS} characters (several random words work well)")]
    WeakPassphrase,
    /// The OS random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Rng(String),
}

/// An unlocked software identity (zeroized on drop by age).
pub struct SoftwareIdentity {
    name: String,
    identity: age::x25519::Identity,
}

impl SoftwareIdentity {
    /// Custodian name recorded in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The age identity, to decrypt the custodian's share.
    pub fn age_identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// The custodian's signing key (Ed25519, derived from the identity).
    pub fn signing_key(&self) -> crate::sign::SigningKey {
        signing_key_of(&self.identity)
    }

    /// The `AGE-SECRET-KEY-1…` text, for interop with stock `age -d -i`.
    pub fn to_age_secret_key(&self) -> SecretString {
        SecretString::new(self.identity.to_string().expose_secret().to_owned())
    }
}

/// HKDF label of a software custodian's signing key (format 2), derived from
/// the identity's secret key text.
pub const INFO_SIGNING: &[u8] = b"breakglass/v2 software custodian signing key";

fn signing_key_of(identity: &age::x25519::Identity) -> crate::sign::SigningKey {
    let text = identity.to_string();
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, text.expose_secret().as_bytes());
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    // 32 bytes are always within HKDF-SHA256's output limit.
    if hk.expand(INFO_SIGNING, seed.as_mut()).is_err() {
        seed.fill(0);
    }
    crate::sign::SigningKey::from_seed(&seed)
}

/// Creates a new identity for `name`; returns the file bytes and the token
/// descriptor (recipient and public signing key).
pub fn create(
    name: &str,
    passphrase: &SecretString,
    params: KdfParams,
) -> Result<(Vec<u8>, crate::token::TokenDescriptor), SoftwareError> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(SoftwareError::WeakPassphrase);
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|_| rand::rngs::OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| SoftwareError::Rng(e.to_string()))?;
    let key = kdf::derive(passphrase, &salt, params).map_err(|source| SoftwareError::Kdf {
        path: name.into(),
        source,
    })?;
    let (salt_b64, nonce_b64) = (b64(&salt), b64(&nonce));
    let aad = aad_bytes(name, &recipient, params, &salt_b64, &nonce_b64)?;
    let cipher = ChaCha20Poly1305::new_from_slice(key.expose())
        .map_err(|e| SoftwareError::Rng(e.to_string()))?;
    let secret_text = identity.to_string();
    let ciphertext = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: secret_text.expose_secret().as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|e| SoftwareError::Rng(e.to_string()))?;
    let file = IdentityFile {
        ciphertext: b64(&ciphertext),
        format: FORMAT.into(),
        kdf: params,
        name: name.into(),
        nonce: nonce_b64,
        recipient: recipient.clone(),
        salt: salt_b64,
    };
    let mut text = encoding::to_canonical(&file).map_err(|e| SoftwareError::Malformed {
        path: name.into(),
        why: e.to_string(),
    })?;
    text.push('\n');
    let token = crate::token::TokenDescriptor::Software {
        recipient,
        signing_key: Some(signing_key_of(&identity).public().to_hex()),
    };
    Ok((text.into_bytes(), token))
}

fn aad_bytes(
    name: &str,
    recipient: &str,
    kdf: KdfParams,
    salt: &str,
    nonce: &str,
) -> Result<Vec<u8>, SoftwareError> {
    encoding::to_canonical(&Aad {
        format: FORMAT,
        kdf,
        name,
        nonce,
        recipient,
        salt,
    })
    .map(String::into_bytes)
    .map_err(|e| SoftwareError::Malformed {
        path: name.into(),
        why: e.to_string(),
    })
}

/// The public part of an identity file, readable without the passphrase.
pub struct IdentityHeader {
    /// Custodian name.
    pub name: String,
    /// age recipient.
    pub recipient: String,
    /// KDF parameters (already range-checked).
    pub kdf: KdfParams,
}

fn parse(bytes: &[u8], path: &str) -> Result<IdentityFile, SoftwareError> {
    let malformed = |why: String| SoftwareError::Malformed {
        path: path.into(),
        why,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text".into()))?;
    let text = text
        .strip_suffix('\n')
        .ok_or_else(|| malformed("missing final newline".into()))?;
    let value = encoding::parse_canonical(text).map_err(|e| malformed(e.to_string()))?;
    let file: IdentityFile =
        serde_json::from_value(value).map_err(|e| malformed(format!("{e}")))?;
    if file.format != FORMAT {
        return Err(malformed(format!(
            "format '{}' is not {FORMAT}",
            crate::text::bounded(&file.format)
        )));
    }
    file.kdf.validate().map_err(|source| SoftwareError::Kdf {
        path: path.into(),
        source,
    })?;
    let canonical = age::x25519::Recipient::from_str(&file.recipient)
        .map_err(|_| malformed("recipient is not an age X25519 recipient".into()))?
        .to_string();
    if canonical != file.recipient {
        return Err(malformed("recipient is not an age X25519 recipient".into()));
    }
    if !crate::names::is_valid(&file.name) {
        return Err(malformed(format!(
            "name is invalid: use {}",
            crate::names::RULE
        )));
    }
    if unb64(&file.salt, "salt").map(|s| s.len()) != Ok(16) {
        return Err(malformed(
            "salt must be 16 bytes of canonical base64".into(),
        ));
    }
    if unb64(&file.nonce, "nonce").map(|s| s.len()) != Ok(12) {
        return Err(malformed(
            "nonce must be 12 bytes of canonical base64".into(),
        ));
    }
    Ok(file)
}

/// Reads the public header of an identity file (no passphrase needed).
pub fn header(bytes: &[u8], path: &str) -> Result<IdentityHeader, SoftwareError> {
    let f = parse(bytes, path)?;
    Ok(IdentityHeader {
        name: f.name,
        recipient: f.recipient,
        kdf: f.kdf,
    })
}

/// Unlocks an identity file with its passphrase.
pub fn unlock(
    bytes: &[u8],
    path: &str,
    passphrase: &SecretString,
) -> Result<SoftwareIdentity, SoftwareError> {
    let f = parse(bytes, path)?;
    let malformed = |why: &str| SoftwareError::Malformed {
        path: path.into(),
        why: why.into(),
    };
    let salt = unb64(&f.salt, "salt").map_err(|e| malformed(&e.to_string()))?;
    let nonce = unb64(&f.nonce, "nonce").map_err(|e| malformed(&e.to_string()))?;
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| malformed("nonce is not 12 bytes"))?;
    let ciphertext = unb64(&f.ciphertext, "ciphertext").map_err(|e| malformed(&e.to_string()))?;
    let key = kdf::derive(passphrase, &salt, f.kdf).map_err(|source| SoftwareError::Kdf {
        path: path.into(),
        source,
    })?;
    let aad = aad_bytes(&f.name, &f.recipient, f.kdf, &f.salt, &f.nonce)?;
    let cipher =
        ChaCha20Poly1305::new_from_slice(key.expose()).map_err(|_| malformed("bad key length"))?;
    let plain = SecretBytes::new(
        cipher
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SoftwareError::WrongPassphrase {
                custodian: f.name.clone(),
            })?,
    );
    let text = std::str::from_utf8(plain.expose())
        .map_err(|_| malformed("decrypted identity is not text"))?;
    let identity = age::x25519::Identity::from_str(text)
        .map_err(|_| malformed("decrypted identity is not an age X25519 identity"))?;
    if identity.to_public().to_string() != f.recipient {
        return Err(malformed("identity does not match the recorded recipient"));
    }
    Ok(SoftwareIdentity {
        name: f.name,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::new(s.into())
    }

    #[test]
    fn create_unlock_round_trip() {
        let (bytes, token) =
            create("alice", &pw("correct horse battery"), KdfParams::DEMO).unwrap();
        let recipient = token.recipient().to_owned();
        let h = header(&bytes, "alice.identity").unwrap();
        assert_eq!(h.name, "alice");
        assert_eq!(h.recipient, recipient);
        let id = unlock(&bytes, "alice.identity", &pw("correct horse battery")).unwrap();
        assert_eq!(id.age_identity().to_public().to_string(), recipient);
        let crate::token::TokenDescriptor::Software { signing_key, .. } = &token else {
            panic!("software token")
        };
        assert_eq!(
            signing_key.as_deref(),
            Some(id.signing_key().public().to_hex().as_str())
        );
        // The file never contains the secret key text.
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains(id.to_age_secret_key().expose()));
        assert!(!text.contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn wrong_passphrase_is_named() {
        let (bytes, _) = create("bob", &pw("correct horse battery"), KdfParams::DEMO).unwrap();
        let err = unlock(&bytes, "bob.identity", &pw("correct horse batterY"))
            .err()
            .unwrap();
        assert!(
            matches!(err, SoftwareError::WrongPassphrase { ref custodian } if custodian == "bob")
        );
        assert!(err
            .to_string()
            .starts_with("wrong passphrase for bob's identity"));
    }

    #[test]
    fn swapped_name_or_parameters_fail_authentication() {
        let (bytes, _) = create("carol", &pw("correct horse battery"), KdfParams::DEMO).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let renamed = text.replace("\"name\":\"carol\"", "\"name\":\"carl\"");
        assert!(matches!(
            unlock(renamed.as_bytes(), "x", &pw("correct horse battery")),
            Err(SoftwareError::WrongPassphrase { .. })
        ));
    }

    #[test]
    fn absurd_kdf_cost_is_refused_without_work() {
        let (bytes, _) = create("dave", &pw("correct horse battery"), KdfParams::DEMO).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let costly = text.replace("\"t\":1", "\"t\":4000000000");
        assert!(matches!(
            unlock(costly.as_bytes(), "x", &pw("correct horse battery")),
            Err(SoftwareError::Kdf { .. })
        ));
    }

    #[test]
    fn short_passphrase_is_refused() {
        assert!(matches!(
            create("erin", &pw("short"), KdfParams::DEMO),
            Err(SoftwareError::WeakPassphrase)
        ));
    }
}
