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

pub mod piv_p256;
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
    pub name: String,
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
    /// PIN policy of the key (`once`, `always`, …).
    pub pin_policy: String,
    /// Touch policy of the key (`always`, `cached`, `never`).
    pub touch_policy: String,
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
}

impl TokenDescriptor {
    /// The age recipient string of this token.
    pub fn recipient(&self) -> &str {
        match self {
            TokenDescriptor::Software { recipient } => recipient,
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
        TokenDescriptor::Software { recipient } => recipient
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

/// A share file opened by one of a custodian's tokens.
pub struct OpenedShare {
    /// The share file's plaintext (the share envelope).
    pub plaintext: crate::secret::SecretBytes,
    /// Fingerprint of the token that opened it (logged: a spare's use shows).
    pub token: String,
}

/// The age recipients of a custodian's share file (one per token).
pub fn recipients(
    custodian: &CustodianDescriptor,
) -> Result<Vec<Box<dyn age::Recipient + Send>>, TokenError> {
    let mut out: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    for t in &custodian.tokens {
        let bad = || TokenError::BadRecipient {
            custodian: custodian.name.clone(),
            recipient: t.recipient().chars().take(100).collect(),
        };
        match t {
            TokenDescriptor::Software { recipient } => {
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
            TokenDescriptor::Software { recipient } => Some(recipient.as_str()),
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
        return Ok(OpenedShare { plaintext, token });
    }
    if file.is_none() {
        let path = ui.text(
            &format!("identity.{custodian}"),
            &format!("Path of {custodian}'s identity file"),
        )?;
        let bytes =
            crate::fsutil::read_capped(std::path::Path::new(&path), software::MAX_FILE_SIZE)
                .map_err(|e| software::SoftwareError::Malformed {
                    path: path.clone(),
                    why: e.to_string(),
                })?;
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
    let token = TokenDescriptor::Software {
        recipient: header.recipient.clone(),
    }
    .fingerprint();
    crate::ceremony::age_decrypt(identity.age_identity(), share_file, 4096)
        .map(|z| OpenedShare {
            plaintext: crate::secret::SecretBytes::new(z.to_vec()),
            token,
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
