//! The vault manifest: public metadata of the current generation, signed by
//! its generation key and certified by its predecessor.
//!
//! Format `breakglass-manifest/2`, canonical JSON ([`crate::encoding`]) plus a
//! final newline:
//!
//! ```text
//! {"created":TIME,"custodians":[CUSTODIAN…],"entries":[{"kind":K,"name":N}…],
//!  "format":"breakglass-manifest/2","generation":G,"genesis_key":HEX64,
//!  "log_head":{"hash":HEX64,"seq":N},"payload":{"digest":HEX64,"file":PATH},
//!  "sealed":TIME,"signatures":{"predecessor":HEX128?,"self":HEX128},
//!  "signing_key":HEX64,"threshold":T,"vault_id":HEX32}
//! CUSTODIAN = {"commitment":HEX64,"name":N,"share":PATH,"tokens":[TOKEN…],"x":X}
//! ```
//!
//! * `signing_key` = the public generation key `S_g`; `genesis_key` = the
//!   vault's root key `S_1` (or the key of the generation that migrated it).
//! * `signatures.self` = Ed25519 by `S_g`, `signatures.predecessor` = by
//!   `S_{g-1}` (absent for the root generation), both over the canonical
//!   JSON of every member but `signatures` (contexts in [`crate::sign`]).
//! * What makes a manifest current is the audit log: a quorum-signed `sealed`
//!   entry certifies the SHA-256 of this file ([`crate::log::trust`]), and
//!   nothing in a manifest is used before that holds.
//! * Format 1 (`breakglass-manifest/1`) has `mac` (HMAC under a key derived
//!   from `K`) instead of the three members above; it is read to migrate.
//! * `commitment` = SHA-256 of the custodian's share file (the age file), so
//!   one share can be checked without the others and a substituted share is
//!   named before combining.
//! * `log_head` = the last log entry before this generation's `sealed` entry
//!   (format 1: the `sealed` entry itself): truncating the log back past it
//!   is detected.
//! * The **vault fingerprint** ([`vault_fingerprint`]) is derived from the
//!   vault id and the genesis key: written on paper once at setup, shown
//!   before every PIN prompt, the same for the life of the vault.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::encoding::{self, hex, unhex};
use crate::keys::MacKey;
use crate::payload::EntryInfo;
use crate::sign::{PublicKey, Purpose, SigningKey};
use crate::token::TokenDescriptor;

/// Format tag.
pub const FORMAT: &str = "breakglass-manifest/2";
/// Format tag of version 1 (read to migrate).
pub const FORMAT_V1: &str = "breakglass-manifest/1";
/// Largest manifest file accepted.
pub const MAX_SIZE: u64 = 4 << 20;

/// The head of the log, recorded in the manifest as its anchor (the log's
/// own type: the log is the lower floor).
pub use crate::log::LogHead;

/// One custodian as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianRecord {
    /// SHA-256 of the share file (hex).
    pub commitment: String,
    /// Name.
    pub name: crate::names::CustodianName,
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

/// The signatures of a format 2 manifest (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    /// By the previous generation's key (absent for the root generation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    /// By this generation's key.
    #[serde(rename = "self")]
    pub own: String,
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
    /// The vault's root key (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_key: Option<String>,
    /// Log head at seal time.
    pub log_head: LogHead,
    /// Format 1 HMAC (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Payload reference.
    pub payload: PayloadRef,
    /// When this generation was sealed.
    pub sealed: String,
    /// Signatures (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Signatures>,
    /// This generation's public signing key (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
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
    /// A format 2 signature does not verify.
    #[error("the manifest's {which} signature does not verify: the manifest was altered or forged; restore the vault from a backup copy")]
    BadSignature {
        /// `self` or `predecessor`.
        which: &'static str,
    },
}

impl Manifest {
    /// Whether this is a format 2 manifest.
    pub fn is_v2(&self) -> bool {
        self.format == FORMAT
    }

    /// Canonical JSON of every member but `mac` and `signatures`: what the
    /// MAC (format 1) or the signatures (format 2) cover.
    pub fn signed_body(&self) -> Result<String, ManifestError> {
        let mut v =
            serde_json::to_value(self).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if let Some(obj) = v.as_object_mut() {
            obj.remove("mac");
            obj.remove("signatures");
        }
        encoding::canonical_json(&v).map_err(|e| ManifestError::Malformed(e.to_string()))
    }

    /// Format 1: computes and sets the MAC.
    pub fn seal(&mut self, key: &MacKey) -> Result<(), ManifestError> {
        self.mac = None;
        let tag = key.tag(self.signed_body()?.as_bytes());
        self.mac = Some(hex(&tag));
        Ok(())
    }

    /// Format 1: checks the MAC in constant time.
    pub fn verify_mac(&self, key: &MacKey) -> Result<(), ManifestError> {
        let mac = self.mac.as_deref().ok_or(ManifestError::BadMac)?;
        let tag = unhex::<32>(mac, "mac").map_err(|_| ManifestError::BadMac)?;
        if key.verify(self.signed_body()?.as_bytes(), &tag) {
            Ok(())
        } else {
            Err(ManifestError::BadMac)
        }
    }

    /// Format 2: signs with this generation's key and, unless this is the
    /// root generation, the predecessor's (setting `signing_key` first).
    pub fn sign(
        &mut self,
        own: &SigningKey,
        predecessor: Option<&SigningKey>,
    ) -> Result<(), ManifestError> {
        self.signatures = None;
        self.signing_key = Some(own.public().to_hex());
        let body = self.signed_body()?;
        self.signatures = Some(Signatures {
            predecessor: predecessor.map(|p| hex(&p.sign(Purpose::Successor, body.as_bytes()))),
            own: hex(&own.sign(Purpose::Manifest, body.as_bytes())),
        });
        Ok(())
    }

    /// Format 2: this generation's public key.
    pub fn signing_public(&self) -> Result<PublicKey, ManifestError> {
        self.signing_key
            .as_deref()
            .and_then(PublicKey::from_hex)
            .ok_or_else(|| ManifestError::Malformed("signing_key is not 64 hex digits".into()))
    }

    /// Format 2: the vault's root key.
    pub fn genesis_public(&self) -> Result<PublicKey, ManifestError> {
        self.genesis_key
            .as_deref()
            .and_then(PublicKey::from_hex)
            .ok_or_else(|| ManifestError::Malformed("genesis_key is not 64 hex digits".into()))
    }

    /// Format 2: checks the self signature, and the predecessor signature
    /// under `predecessor` when given.
    pub fn verify_signatures(&self, predecessor: Option<&PublicKey>) -> Result<(), ManifestError> {
        let sigs = self
            .signatures
            .as_ref()
            .ok_or(ManifestError::BadSignature { which: "self" })?;
        let body = self.signed_body()?;
        let own = crate::encoding::unhex_vec(&sigs.own).unwrap_or_default();
        if !self
            .signing_public()?
            .verifies(Purpose::Manifest, body.as_bytes(), &own)
        {
            return Err(ManifestError::BadSignature { which: "self" });
        }
        if let Some(p) = predecessor {
            let sig = sigs
                .predecessor
                .as_deref()
                .and_then(crate::encoding::unhex_vec)
                .unwrap_or_default();
            if !p.verifies(Purpose::Successor, body.as_bytes(), &sig) {
                return Err(ManifestError::BadSignature {
                    which: "predecessor",
                });
            }
        }
        Ok(())
    }

    /// SHA-256 (hex) of the canonical file bytes: what a `sealed` entry certifies.
    pub fn digest(&self) -> Result<String, ManifestError> {
        Ok(sha256_hex(&self.to_bytes()?))
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
        // Optional members: `null` or an empty object would parse to the same
        // value as absence; only the canonical spelling is accepted.
        if manifest.to_bytes()? != bytes {
            return Err(m(
                "not in canonical form (an optional member is null or misspelt)",
            ));
        }
        Ok(manifest)
    }

    fn check_structure(&self) -> Result<(), ManifestError> {
        let m = |s: String| Err(ManifestError::Malformed(s));
        match self.format.as_str() {
            FORMAT => {
                let hex64 = |v: &Option<String>, what: &str| -> Result<(), ManifestError> {
                    match v {
                        Some(k) if unhex::<32>(k, "key").is_ok() => Ok(()),
                        _ => Err(ManifestError::Malformed(format!(
                            "{what} is missing or not 64 hex digits"
                        ))),
                    }
                };
                hex64(&self.genesis_key, "genesis_key")?;
                hex64(&self.signing_key, "signing_key")?;
                if self.mac.is_some() {
                    return m("a format 2 manifest has no mac".into());
                }
                let Some(sigs) = &self.signatures else {
                    return m("the manifest has no signatures".into());
                };
                for s in std::iter::once(&sigs.own).chain(sigs.predecessor.iter()) {
                    unhex::<64>(s, "signature")
                        .map_err(|e| ManifestError::Malformed(e.to_string()))?;
                }
            }
            FORMAT_V1 => {
                if self.genesis_key.is_some()
                    || self.signing_key.is_some()
                    || self.signatures.is_some()
                {
                    return m("a format 1 manifest has no keys or signatures".into());
                }
                let Some(mac) = &self.mac else {
                    return m("the manifest has no MAC".into());
                };
                unhex::<32>(mac, "mac").map_err(|e| ManifestError::Malformed(e.to_string()))?;
            }
            _ => return m(format!("format is neither {FORMAT} nor {FORMAT_V1}")),
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
        if self.entries.len() > crate::payload::MAX_ENTRIES {
            return m(format!(
                "{} entries listed; a payload holds at most {}",
                self.entries.len(),
                crate::payload::MAX_ENTRIES
            ));
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

    /// The vault fingerprint (see module docs); format 1: the digest of the
    /// manifest, which changed with every generation.
    pub fn fingerprint(&self) -> String {
        match (self.vault_id_bytes(), self.genesis_public()) {
            (Ok(id), Ok(g)) if self.is_v2() => vault_fingerprint(&id, &g),
            _ => fingerprint_of(&self.to_bytes().unwrap_or_default()),
        }
    }

    /// Finds a custodian by name.
    pub fn custodian(&self, name: &str) -> Option<&CustodianRecord> {
        self.custodians.iter().find(|c| c.name == name)
    }
}

/// The vault fingerprint of format 2: the first 128 bits of
/// SHA-256("breakglass/v2 vault fingerprint\n" ‖ vault id ‖ genesis key), as
/// eight groups of four hex digits. 128 bits: a second preimage (a vault of
/// the attacker's with the same fingerprint) costs 2^128 hashes.
pub fn vault_fingerprint(vault_id: &[u8; 16], genesis: &PublicKey) -> String {
    let mut h = Sha256::new();
    h.update(b"breakglass/v2 vault fingerprint\n");
    h.update(vault_id);
    h.update(genesis.0);
    let d = h.finalize();
    let h = hex(&d[..16]);
    (0..8)
        .filter_map(|i| h.get(i * 4..i * 4 + 4))
        .collect::<Vec<_>>()
        .join("-")
}

/// Fingerprint of format 1 manifest bytes.
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
