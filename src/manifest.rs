//! The vault manifest: public metadata, authenticated by the vault key.
//!
//! Format `breakglass-manifest/1`, canonical JSON ([`crate::encoding`]) plus a
//! final newline:
//!
//! ```text
//! {"created":TIME,"custodians":[CUSTODIAN…],"entries":[{"kind":K,"name":N}…],
//!  "format":"breakglass-manifest/1","generation":G,"log_head":{"hash":HEX64,"seq":N},
//!  "mac":HEX64,"payload":{"digest":HEX64,"file":PATH},"sealed":TIME,"threshold":T,
//!  "vault_id":HEX32}
//! CUSTODIAN = {"commitment":HEX64,"name":N,"share":PATH,"tokens":[TOKEN…],"x":X}
//! ```
//!
//! * `mac` = HMAC-SHA256(manifest MAC key, canonical JSON of every other
//!   member). It can only be checked once the quorum has rebuilt `K`; anything
//!   reused from the manifest for a new generation (custodian keys) is used
//!   only after that check.
//! * `commitment` = SHA-256 of the custodian's share file (the age file), so
//!   one share can be checked without the others and a substituted share is
//!   named before combining.
//! * `log_head` = the last log entry written before this generation was
//!   committed: truncating the log back past it is detected.
//! * The **vault fingerprint** is the first 80 bits of SHA-256 over the
//!   manifest's canonical bytes, as five groups of four hex digits. It changes
//!   with every generation; it is printed at each seal (custodians write it
//!   down) and before every PIN prompt.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::encoding::{self, hex, unhex};
use crate::keys::MacKey;
use crate::payload::EntryInfo;
use crate::token::TokenDescriptor;

/// Format tag.
pub const FORMAT: &str = "breakglass-manifest/1";
/// Largest manifest file accepted.
pub const MAX_SIZE: u64 = 4 << 20;

/// The head of the log (last entry's sequence number and hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHead {
    /// Entry hash (hex).
    pub hash: String,
    /// Entry sequence number.
    pub seq: u64,
}

/// One custodian as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianRecord {
    /// SHA-256 of the share file (hex).
    pub commitment: String,
    /// Name.
    pub name: String,
    /// Share file path, relative to the vault directory.
    pub share: String,
    /// Tokens.
    pub tokens: Vec<TokenDescriptor>,
    /// Share x-coordinate.
    pub x: u8,
}

/// Payload reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadRef {
    /// SHA-256 of the payload file (hex).
    pub digest: String,
    /// Payload file path, relative to the vault directory.
    pub file: String,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// When the vault was created.
    pub created: String,
    /// Custodians, in x order.
    pub custodians: Vec<CustodianRecord>,
    /// Entry index.
    pub entries: Vec<EntryInfo>,
    /// Format tag.
    pub format: String,
    /// Generation number (1 at init).
    pub generation: u64,
    /// Log head at seal time.
    pub log_head: LogHead,
    /// HMAC (hex); empty while being built.
    pub mac: String,
    /// Payload reference.
    pub payload: PayloadRef,
    /// When this generation was sealed.
    pub sealed: String,
    /// Threshold.
    pub threshold: u8,
    /// Vault id (hex).
    pub vault_id: String,
}

/// Manifest errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not a manifest of this version, or non-canonical.
    #[error("manifest is malformed: {0}")]
    Malformed(String),
    /// The MAC does not verify under the key the shares rebuilt.
    #[error("the manifest is not authenticated by the key the shares rebuilt: the manifest or some share files were substituted or altered; restore the vault from a backup copy")]
    BadMac,
}

impl Manifest {
    fn unsigned_bytes(&self) -> Result<String, ManifestError> {
        let mut v =
            serde_json::to_value(self).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if let Some(obj) = v.as_object_mut() {
            obj.remove("mac");
        }
        encoding::canonical_json(&v).map_err(|e| ManifestError::Malformed(e.to_string()))
    }

    /// Computes and sets the MAC.
    pub fn seal(&mut self, key: &MacKey) -> Result<(), ManifestError> {
        self.mac = String::new();
        let tag = key.tag(self.unsigned_bytes()?.as_bytes());
        self.mac = hex(&tag);
        Ok(())
    }

    /// Checks the MAC in constant time.
    pub fn verify_mac(&self, key: &MacKey) -> Result<(), ManifestError> {
        let tag = unhex::<32>(&self.mac, "mac").map_err(|_| ManifestError::BadMac)?;
        if key.verify(self.unsigned_bytes()?.as_bytes(), &tag) {
            Ok(())
        } else {
            Err(ManifestError::BadMac)
        }
    }

    /// Canonical file bytes (with final newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        let mut s =
            encoding::to_canonical(self).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        s.push('\n');
        Ok(s.into_bytes())
    }

    /// Parses canonical file bytes and checks structural rules.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m = |s: &str| ManifestError::Malformed(s.into());
        let text = std::str::from_utf8(bytes).map_err(|_| m("not UTF-8"))?;
        let text = text
            .strip_suffix('\n')
            .ok_or_else(|| m("missing final newline"))?;
        let value = encoding::parse_canonical(text).map_err(|e| m(&e.to_string()))?;
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| m(&e.to_string()))?;
        manifest.check_structure()?;
        Ok(manifest)
    }

    fn check_structure(&self) -> Result<(), ManifestError> {
        let m = |s: String| Err(ManifestError::Malformed(s));
        if self.format != FORMAT {
            return m(format!("format is not {FORMAT}"));
        }
        self.vault_id_bytes()?;
        if self.generation == 0 {
            return m("generation must be at least 1".into());
        }
        let n = self.custodians.len();
        if self.threshold < 2
            || self.threshold as usize > n
            || n > crate::shamir::MAX_SHARES as usize
        {
            return m(format!(
                "threshold {} with {n} custodians is not allowed (2 ≤ threshold ≤ custodians ≤ {})",
                self.threshold,
                crate::shamir::MAX_SHARES
            ));
        }
        for t in [&self.created, &self.sealed] {
            Timestamp::parse(t).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        }
        unhex::<32>(&self.log_head.hash, "log_head.hash")
            .map_err(|e| ManifestError::Malformed(e.to_string()))?;
        unhex::<32>(&self.payload.digest, "payload.digest")
            .map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if self.mac.is_empty() {
            return m("the manifest has no MAC".into());
        }
        unhex::<32>(&self.mac, "mac").map_err(|e| ManifestError::Malformed(e.to_string()))?;
        let gen_dir = generation_dir(self.generation);
        if self.payload.file != format!("{gen_dir}/payload.age") {
            return m("payload path does not match the generation".into());
        }
        // Sets, not lists: a manifest of up to MAX_SIZE bytes can list tens of
        // thousands of tokens or entries, and is parsed before its MAC can be
        // checked (the quadratic scans this replaces took 20 s in a release
        // build on a 3.5 MB manifest of 120 000 entries).
        let mut recipients: BTreeSet<&str> = BTreeSet::new();
        let mut serials: BTreeSet<u32> = BTreeSet::new();
        for (i, c) in self.custodians.iter().enumerate() {
            if !crate::names::is_valid(&c.name) {
                return m(format!(
                    "custodian name is invalid: use {}",
                    crate::names::RULE
                ));
            }
            if self.custodians[..i].iter().any(|o| o.name == c.name) {
                return m(format!("custodian '{}' is listed twice", c.name));
            }
            if c.x as usize != i + 1 {
                return m(format!(
                    "custodian '{}' has x = {}, expected {}",
                    c.name,
                    c.x,
                    i + 1
                ));
            }
            if c.share != format!("{gen_dir}/shares/{}.age", c.name) {
                return m(format!(
                    "share path of '{}' does not match the generation",
                    c.name
                ));
            }
            unhex::<32>(&c.commitment, "commitment")
                .map_err(|e| ManifestError::Malformed(e.to_string()))?;
            if c.tokens.is_empty() {
                return m(format!("custodian '{}' has no token", c.name));
            }
            for t in &c.tokens {
                crate::token::check_recipient_canonical(t).map_err(|why| {
                    ManifestError::Malformed(format!("a token of '{}': {why}", c.name))
                })?;
                if !recipients.insert(t.recipient()) {
                    return m(format!(
                        "a token of '{}' is also enrolled elsewhere in this vault",
                        c.name
                    ));
                }
                if let TokenDescriptor::Yubikey(y) = t {
                    if !serials.insert(y.serial) {
                        return m(format!("YubiKey {} is enrolled twice", y.serial));
                    }
                }
            }
        }
        let mut entry_names: BTreeSet<&str> = BTreeSet::new();
        for e in &self.entries {
            if !crate::names::is_valid(&e.name) || !entry_names.insert(&e.name) {
                return m("entry names must be valid and unique".into());
            }
            if !["password", "totp", "note"].contains(&e.kind.as_str()) {
                return m(format!(
                    "entry '{}' has an unknown kind (password, totp or note)",
                    e.name
                ));
            }
        }
        if self.log_head.seq == 0 {
            return m(
                "log_head.seq must be at least 1 (a sealed vault has logged its creation)".into(),
            );
        }
        Ok(())
    }

    /// Vault id bytes.
    pub fn vault_id_bytes(&self) -> Result<[u8; 16], ManifestError> {
        unhex::<16>(&self.vault_id, "vault_id").map_err(|e| ManifestError::Malformed(e.to_string()))
    }

    /// The vault fingerprint (see module docs).
    pub fn fingerprint(&self) -> String {
        let bytes = self.to_bytes().unwrap_or_default();
        fingerprint_of(&bytes)
    }

    /// Finds a custodian by name.
    pub fn custodian(&self, name: &str) -> Option<&CustodianRecord> {
        self.custodians.iter().find(|c| c.name == name)
    }
}

/// Fingerprint of manifest bytes.
pub fn fingerprint_of(manifest_bytes: &[u8]) -> String {
    let d = Sha256::digest(manifest_bytes);
    let h = hex(&d[..10]);
    (0..5)
        .filter_map(|i| h.get(i * 4..i * 4 + 4))
        .collect::<Vec<_>>()
        .join("-")
}

/// Directory of generation `g`, relative to the vault: `g000001`.
pub fn generation_dir(g: u64) -> String {
    format!("g{g:06}")
}

/// SHA-256 hex of bytes (commitments, digests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
