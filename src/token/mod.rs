//! Custodian tokens: what a custodian holds to open their share.
//!
//! A custodian holds one or more tokens (a YubiKey and a spare in a safe, or a
//! passphrase-protected software identity). Every token is an age recipient; a
//! custodian's share file is one age file with one stanza per token, so all of
//! a custodian's tokens open the same, single share.
//!
//! This module owns the public descriptors (what the manifest records) and
//! dispatches to the backends: [`software`] (age X25519 identity under
//! Argon2id) and `yubikey` (PIV P-256 on the token, `piv-p256` stanza).

pub mod agefile;
pub mod piv_p256;
pub mod set;
pub mod software;
pub mod yubikey;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Public description of a custodian: name and tokens. Written by
/// `breakglass custodian enroll`, consumed by `breakglass init`, and recorded
/// in the (MAC-authenticated) manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianDescriptor {
    /// Format tag, always [`CustodianDescriptor::FORMAT`].
    pub format: String,
    /// Custodian name: 1–32 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
    pub name: crate::names::CustodianName,
    /// The custodian's tokens, each an age recipient of the custodian's share file.
    pub tokens: Vec<TokenDescriptor>,
}

/// Public description of one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TokenDescriptor {
    /// A software identity (age X25519), encrypted at rest under Argon2id.
    Software {
        /// The age recipient (`age1…`).
        recipient: String,
        /// The custodian's Ed25519 signing key (hex), derived from the
        /// identity; absent in descriptors made before format 2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signing_key: Option<String>,
    },
    /// A YubiKey PIV key (P-256, generated on the token).
    Yubikey(YubikeyDescriptor),
}

/// Public description of a YubiKey token, taken from its verified attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YubikeyDescriptor {
    /// The age-plugin-yubikey recipient (`age1yubikey1…`).
    pub recipient: String,
    /// Device serial number (from the slot attestation certificate).
    pub serial: u32,
    /// PIV slot, two lower-case hex digits (a retired slot, `82`–`95`).
    pub slot: String,
    /// Firmware version `major.minor.patch` (from the slot attestation certificate).
    pub firmware: String,
    /// PIN policy of the key (stored as `once`, `always`, …).
    pub pin_policy: crate::attestation::PinPolicy,
    /// Touch policy of the key (stored as `always`, `cached`, `never`).
    pub touch_policy: crate::attestation::TouchPolicy,
    /// The attestation evidence (base64 DER), re-verifiable by an auditor.
    pub attestation: AttestationRecord,
}

/// Attestation evidence recorded at enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRecord {
    /// Slot attestation certificate, base64 (standard, padded) of the DER.
    pub slot_cert: String,
    /// Device attestation (F9) certificate, base64 of the DER.
    pub f9_cert: String,
    /// The PKI the chain verified to (`yubico-piv-root-263751`, `yubico-attestation-root-1`, `test`).
    pub pki: String,
}

impl CustodianDescriptor {
    /// The format tag of version 1.
    pub const FORMAT: &'static str = "breakglass-custodian/1";
    /// Largest descriptor file read (1 MiB).
    pub const MAX_FILE_SIZE: u64 = 1 << 20;

    /// Reads a descriptor file (`NAME.custodian.json`, from `custodian enroll`).
    /// Its members are checked by the ceremony that uses it (setup, rekey).
    pub fn read(path: &std::path::Path) -> Result<Self, TokenError> {
        let bytes = crate::fsutil::read_capped(path, Self::MAX_FILE_SIZE).map_err(|source| {
            TokenError::Read {
                what: "custodian descriptor",
                path: path.to_path_buf(),
                source,
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| TokenError::BadDescriptor {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            why: match e.classify() {
                serde_json::error::Category::Data => "unexpected or missing members",
                _ => "not valid JSON",
            },
        })
    }
}

impl TokenDescriptor {
    /// The age recipient string of this token.
    pub fn recipient(&self) -> &str {
        match self {
            TokenDescriptor::Software { recipient, .. } => recipient,
            TokenDescriptor::Yubikey(y) => &y.recipient,
        }
    }

    /// Short, human-comparable fingerprint: `kind:` then 16 hex digits of
    /// SHA-256 over the recipient string, grouped by four.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.recipient().as_bytes());
        let hex = crate::encoding::hex(&digest[..8]);
        let grouped: Vec<&str> = (0..4).filter_map(|i| hex.get(i * 4..i * 4 + 4)).collect();
        let kind = match self {
            TokenDescriptor::Software { .. } => "software",
            TokenDescriptor::Yubikey(_) => "yubikey",
        };
        format!("{kind}:{}", grouped.join("-"))
    }

    /// Short label for messages: `software` or `YubiKey 12345678 slot 82`.
    pub fn label(&self) -> String {
        match self {
            TokenDescriptor::Software { .. } => "software identity".into(),
            TokenDescriptor::Yubikey(y) => format!("YubiKey {} slot {}", y.serial, y.slot),
        }
    }
}

/// Errors of the token layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// A descriptor or identity file named by the operator cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// "custodian descriptor" or "identity file".
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A custodian descriptor (`NAME.custodian.json`) does not parse.
    #[error("{} is not a custodian descriptor (line {line}, column {column}): {why}", path.display())]
    BadDescriptor {
        /// The file.
        path: std::path::PathBuf,
        /// Line of the first error.
        line: usize,
        /// Column of the first error.
        column: usize,
        /// "not valid JSON" or "unexpected or missing members".
        why: &'static str,
    },
    /// A software identity file could not be used.
    #[error(transparent)]
    Software(#[from] software::SoftwareError),
    /// A recipient string does not parse.
    #[error(
        "token recipient '{recipient}' of custodian '{custodian}' is not a valid age recipient"
    )]
    BadRecipient {
        /// Custodian name.
        custodian: String,
        /// The (public) recipient string.
        recipient: String,
    },
    /// None of the custodian's tokens could open the share.
    #[error(
        "none of {custodian}'s tokens opens this share file (is it the right identity or token?)"
    )]
    NotARecipient {
        /// Custodian name.
        custodian: String,
    },
    /// The share file is not a well-formed age file.
    #[error("{custodian}'s share file is not a valid age file: {why}")]
    BadShareFile {
        /// Custodian name.
        custodian: String,
        /// What age reported.
        why: String,
    },
    /// A token kind is not usable in this build or situation.
    #[error("{custodian}'s token ({label}) cannot be used here: {why}")]
    Unsupported {
        /// Custodian name.
        custodian: String,
        /// Token label.
        label: String,
        /// Why, and what to do.
        why: String,
    },
    /// A YubiKey could not be used (the message says what to do).
    #[error(transparent)]
    Yubikey(#[from] self::yubikey::YubikeyError),
    /// The user-interaction layer failed (cancelled, no answer).
    #[error(transparent)]
    Ui(#[from] crate::ui::UiError),
}

/// Checks that a token's recipient parses and is spelled canonically (lower
/// case, as age prints it), so that comparing recipient strings compares keys.
pub fn check_recipient_canonical(t: &TokenDescriptor) -> Result<(), String> {
    let canonical = match t {
        TokenDescriptor::Software { recipient, .. } => recipient
            .parse::<age::x25519::Recipient>()
            .map(|r| r.to_string())
            .map_err(|_| "the recipient is not an age X25519 recipient".to_string())?,
        TokenDescriptor::Yubikey(y) => y
            .recipient
            .parse::<piv_p256::PivRecipient>()
            .map(|r| r.to_string())
            .map_err(|_| "the recipient is not an age1yubikey recipient".to_string())?,
    };
    if canonical != t.recipient() {
        return Err("the recipient is not in canonical (lower-case) form".into());
    }
    Ok(())
}

impl TokenDescriptor {
    /// The public key this token signs log entries with (format 2): a
    /// software identity's Ed25519 key (if its descriptor records one), a
    /// YubiKey's P-256 point (its recipient).
    pub fn signing_public(&self) -> Option<(crate::log::Alg, Vec<u8>)> {
        match self {
            TokenDescriptor::Software { signing_key, .. } => signing_key
                .as_deref()
                .and_then(crate::sign::PublicKey::from_hex)
                .map(|k| (crate::log::Alg::Ed25519, k.0.to_vec())),
            TokenDescriptor::Yubikey(y) => y
                .recipient
                .parse::<piv_p256::PivRecipient>()
                .ok()
                .map(|r| (crate::log::Alg::EcdsaP256, r.compressed().to_vec())),
        }
    }
}

/// A custodian's token, ready to sign log entries the custodian writes alone
/// (custodian drill, review).
pub enum CustodianSigner {
    /// An unlocked software identity's signing key.
    Software {
        /// Custodian.
        custodian: String,
        /// Token fingerprint.
        token: String,
        /// The key.
        key: crate::sign::SigningKey,
    },
    /// YubiKeys: the card signs (PIN and touch asked when signing).
    Yubikey {
        /// Custodian.
        custodian: String,
        /// The custodian's YubiKey tokens (the first inserted one signs).
        tokens: Vec<YubikeyDescriptor>,
        /// The vault fingerprint shown at the PIN prompt.
        vault_fingerprint: String,
    },
}

impl CustodianSigner {
    /// Signs for `purpose` (a log entry, a remote response) through `ui`:
    /// `body_for` gives the signed body for a signer (the token that signs
    /// is part of it). Returns who signed and the signature.
    pub fn sign(
        &self,
        purpose: crate::sign::Purpose,
        body_for: &mut dyn FnMut(&crate::log::Signer) -> Vec<u8>,
        ui: &mut dyn crate::ui::Ui,
    ) -> Result<(crate::log::Signer, Vec<u8>), TokenError> {
        use crate::log::{Alg, Signer};
        match self {
            CustodianSigner::Software {
                custodian,
                token,
                key,
            } => {
                let signer = Signer::Custodian {
                    custodian: custodian.clone(),
                    token: token.clone(),
                    alg: Alg::Ed25519,
                };
                let body = body_for(&signer);
                let sig = key.sign(purpose, &body).to_vec();
                Ok((signer, sig))
            }
            CustodianSigner::Yubikey {
                custodian,
                tokens,
                vault_fingerprint,
            } => {
                let refs: Vec<&YubikeyDescriptor> = tokens.iter().collect();
                let signer_of = |index: usize| Signer::Custodian {
                    custodian: custodian.clone(),
                    token: tokens
                        .get(index)
                        .map(|y| TokenDescriptor::Yubikey(y.clone()).fingerprint())
                        .unwrap_or_default(),
                    alg: Alg::EcdsaP256,
                };
                let mut digest_for =
                    |index: usize| crate::sign::p256_digest(purpose, &body_for(&signer_of(index)));
                let (der, index) = self::yubikey::sign_digest(
                    custodian,
                    &refs,
                    &mut digest_for,
                    vault_fingerprint,
                    ui,
                )?;
                Ok((signer_of(index), der))
            }
        }
    }
}

/// A share file opened by one of a custodian's tokens.
pub struct OpenedShare {
    /// The share file's plaintext (the share envelope).
    pub plaintext: crate::secret::SecretBytes,
    /// Fingerprint of the token that opened it (logged: a spare's use shows).
    pub token: String,
    /// The same custodian's token, ready to sign (None: a software identity
    /// enrolled before format 2 has no recorded signing key).
    pub signer: Option<CustodianSigner>,
}

/// The age recipients of a custodian's share file (one per token).
pub fn recipients(
    custodian: &CustodianDescriptor,
) -> Result<Vec<Box<dyn age::Recipient + Send>>, TokenError> {
    let mut out: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    for t in &custodian.tokens {
        let bad = || TokenError::BadRecipient {
            custodian: custodian.name.to_string(),
            recipient: t.recipient().chars().take(100).collect(),
        };
        match t {
            TokenDescriptor::Software { recipient, .. } => {
                let r: age::x25519::Recipient = recipient.parse().map_err(|_| bad())?;
                out.push(Box::new(r));
            }
            TokenDescriptor::Yubikey(y) => {
                out.push(Box::new(self::yubikey::recipient(y)?));
            }
        }
    }
    Ok(out)
}

/// Software identity files the operator supplied (`--identity`), read once.
pub struct SuppliedIdentity {
    /// Path, for messages.
    pub path: String,
    /// File bytes (public header + encrypted identity).
    pub bytes: Vec<u8>,
}

impl SuppliedIdentity {
    /// Reads an identity file; returns it with the custodian name its public
    /// header gives (nothing is decrypted).
    pub fn read(path: &std::path::Path) -> Result<(Self, String), TokenError> {
        let bytes =
            crate::fsutil::read_capped(path, software::MAX_FILE_SIZE).map_err(|source| {
                TokenError::Read {
                    what: "identity file",
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        let shown = path.display().to_string();
        let header = software::header(&bytes, &shown).map_err(TokenError::from)?;
        Ok((SuppliedIdentity { path: shown, bytes }, header.name))
    }
}

/// Opens one custodian's share file with one of their tokens; returns the
/// plaintext envelope bytes. Asks for passphrase or PIN through `ui`.
pub fn open_share(
    custodian: &str,
    tokens: &[TokenDescriptor],
    share_file: &[u8],
    supplied: &[SuppliedIdentity],
    vault_fingerprint: &str,
    ui: &mut dyn crate::ui::Ui,
) -> Result<OpenedShare, TokenError> {
    let software: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match t {
            TokenDescriptor::Software { recipient, .. } => Some(recipient.as_str()),
            _ => None,
        })
        .collect();
    let (yubikey_tokens, yubikeys): (Vec<&TokenDescriptor>, Vec<&YubikeyDescriptor>) = tokens
        .iter()
        .filter_map(|t| match t {
            TokenDescriptor::Yubikey(y) => Some((t, y)),
            _ => None,
        })
        .unzip();
    // A supplied identity file whose header names this custodian and one of their recipients.
    let mut file: Option<(String, Vec<u8>)> = supplied.iter().find_map(|s| {
        software::header(&s.bytes, &s.path)
            .ok()
            .filter(|h| h.name == custodian && software.contains(&h.recipient.as_str()))
            .map(|_| (s.path.clone(), s.bytes.clone()))
    });
    if file.is_none() && !yubikeys.is_empty() {
        let (plaintext, index) =
            self::yubikey::open_share(custodian, &yubikeys, share_file, vault_fingerprint, ui)?;
        let token = yubikey_tokens
            .get(index)
            .map(|t| t.fingerprint())
            .unwrap_or_default();
        let signer = Some(CustodianSigner::Yubikey {
            custodian: custodian.to_owned(),
            tokens: yubikeys.iter().map(|y| (*y).clone()).collect(),
            vault_fingerprint: vault_fingerprint.to_owned(),
        });
        return Ok(OpenedShare {
            plaintext,
            token,
            signer,
        });
    }
    if file.is_none() {
        let (path, bytes) = ask_identity_file(custodian, ui)?;
        file = Some((path, bytes));
    }
    let (path, bytes) = file.ok_or(TokenError::NotARecipient {
        custodian: custodian.into(),
    })?;
    let header = software::header(&bytes, &path)?;
    if header.name != custodian || !software.contains(&header.recipient.as_str()) {
        return Err(TokenError::Unsupported {
            custodian: custodian.into(),
            label: "software identity".into(),
            why: format!(
                "{path} is {}'s identity, not one enrolled for {custodian} in this vault",
                header.name
            ),
        });
    }
    let passphrase = ui.passphrase(custodian, crate::ui::PassphrasePurpose::Unlock)?;
    let identity = software::unlock(&bytes, &path, &passphrase)?;
    let enrolled = tokens
        .iter()
        .find(|t| t.recipient() == header.recipient)
        .cloned()
        .unwrap_or(TokenDescriptor::Software {
            recipient: header.recipient.clone(),
            signing_key: None,
        });
    let token = enrolled.fingerprint();
    let signer = software_signer(custodian, &enrolled, &identity);
    agefile::decrypt(identity.age_identity(), share_file, 4096)
        .map(|z| OpenedShare {
            plaintext: crate::secret::SecretBytes::new(z.to_vec()),
            token,
            signer,
        })
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => TokenError::NotARecipient {
                custodian: custodian.into(),
            },
            other => TokenError::BadShareFile {
                custodian: custodian.into(),
                why: other.to_string(),
            },
        })
}

/// The signer of an unlocked software identity, if its enrolled descriptor
/// records the same signing key (a descriptor from before format 2 has none).
fn software_signer(
    custodian: &str,
    enrolled: &TokenDescriptor,
    identity: &software::SoftwareIdentity,
) -> Option<CustodianSigner> {
    let key = identity.signing_key();
    let recorded = enrolled.signing_public()?;
    (recorded.1 == key.public().0).then(|| CustodianSigner::Software {
        custodian: custodian.to_owned(),
        token: enrolled.fingerprint(),
        key,
    })
}

/// A custodian's signer without opening a share (a review): YubiKeys sign
/// on the card when asked; a software identity is read from `supplied` (or
/// its path asked) and unlocked with its passphrase now.
pub fn signer_for(
    custodian: &str,
    tokens: &[TokenDescriptor],
    supplied: &[SuppliedIdentity],
    vault_fingerprint: &str,
    ui: &mut dyn crate::ui::Ui,
) -> Result<CustodianSigner, TokenError> {
    let software: Vec<&TokenDescriptor> = tokens
        .iter()
        .filter(|t| matches!(t, TokenDescriptor::Software { .. }))
        .collect();
    let yubikeys: Vec<YubikeyDescriptor> = tokens
        .iter()
        .filter_map(|t| match t {
            TokenDescriptor::Yubikey(y) => Some(y.clone()),
            _ => None,
        })
        .collect();
    let find = |bytes: &[u8], path: &str| {
        software::header(bytes, path).ok().and_then(|h| {
            software
                .iter()
                .find(|t| h.name == custodian && t.recipient() == h.recipient)
                .map(|t| (*t).clone())
        })
    };
    let mut file = supplied
        .iter()
        .find_map(|s| find(&s.bytes, &s.path).map(|t| (s.path.clone(), s.bytes.clone(), t)));
    if file.is_none() && !yubikeys.is_empty() {
        return Ok(CustodianSigner::Yubikey {
            custodian: custodian.to_owned(),
            tokens: yubikeys,
            vault_fingerprint: vault_fingerprint.to_owned(),
        });
    }
    if file.is_none() {
        let (path, bytes) = ask_identity_file(custodian, ui)?;
        let token = find(&bytes, &path).ok_or_else(|| TokenError::Unsupported {
            custodian: custodian.into(),
            label: "software identity".into(),
            why: format!("{path} is not an identity enrolled for {custodian} in this vault"),
        })?;
        file = Some((path, bytes, token));
    }
    let (path, bytes, enrolled) = file.ok_or(TokenError::NotARecipient {
        custodian: custodian.into(),
    })?;
    let passphrase = ui.passphrase(custodian, crate::ui::PassphrasePurpose::Unlock)?;
    let identity = software::unlock(&bytes, &path, &passphrase)?;
    software_signer(custodian, &enrolled, &identity).ok_or_else(|| TokenError::Unsupported {
        custodian: custodian.into(),
        label: "software identity".into(),
        why: "its enrolled descriptor records no signing key (enrolled before format 2); re-enroll it and replace the token with `breakglass rekey --replace`".into(),
    })
}

/// Asks where `custodian`'s identity file is and reads it (capped).
fn ask_identity_file(
    custodian: &str,
    ui: &mut dyn crate::ui::Ui,
) -> Result<(String, Vec<u8>), TokenError> {
    let path = ui.text(
        &format!("identity.{custodian}"),
        &format!("Path of {custodian}'s identity file"),
    )?;
    let bytes = crate::fsutil::read_capped(std::path::Path::new(&path), software::MAX_FILE_SIZE)
        .map_err(|e| software::SoftwareError::Malformed {
            path: path.clone(),
            why: e.to_string(),
        })?;
    Ok((path, bytes))
}
