//! Who wrote the log: the vault's root of trust, the certified generations
//! and the signature of every entry, decided from the log alone with public
//! data (format 2; see `docs/formats.md` and SECURITY.md).
//!
//! Rules, applied to each entry of the verified hash chain in order:
//!
//! * The **root** is the first entry that is a `vault-created` (seq 1) or
//!   `migrated` entry carrying `data.genesis_key` and signed by that key. Its
//!   key is generation `generation`'s key; the vault fingerprint is derived
//!   from it ([`crate::manifest::vault_fingerprint`]). Entries before a
//!   `migrated` root are format 1 history ([`Authn::Legacy`]).
//! * A **certificate** is a `sealed` entry signed by a quorum: written under
//!   generation `g`, it certifies `data.generation` = `g + 1` (reseal, rekey)
//!   or `g` itself (init, migrate: the root's generation): its signing key,
//!   its manifest digest and its custodians' token keys (`data.signers`).
//!   Only a quorum of `g` can certify `g + 1`, so the chain root → … →
//!   current manifest needs a quorum at every step.
//! * An entry signed `by: quorum` counts only if it verifies under a key
//!   certified for its `generation`; `by: custodian` only under that
//!   custodian's token key certified for its `generation`. Anything else
//!   that carries a signature is a [`Finding`]: forged, never counted, and
//!   named with its seq. Unsigned entries are [`Authn::Unsigned`]: anyone
//!   with write access could have appended them, so governance never counts
//!   them for anything.
//!
//! Memory: one record per certified generation; findings are kept up to
//! [`MAX_FINDINGS`] and counted beyond. The token keys (`signers`) of a
//! generation are dropped once a later generation has taken over: an entry
//! signed under a dead generation is forged before any key is looked up, so
//! they are never consulted again (what stays is the generation key, its
//! `sealed` seq and manifest digest, which salvage and
//! [`Trust::check_manifest`] still ask about).

use std::collections::BTreeMap;

use super::Alg;
use crate::sign::PublicKey;

mod authenticator;
pub(crate) use authenticator::parse_signers;
pub use authenticator::{Authenticator, Evidence, KeyId};

/// Findings kept in full (more are counted).
pub const MAX_FINDINGS: usize = 100;

/// What the log says about who wrote one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authn {
    /// Format 1 history before the format 2 root: chained, but its MAC (if
    /// any) can be checked only with a secret key that no longer exists.
    Legacy {
        /// Whether it carries a format 1 quorum MAC.
        mac: bool,
    },
    /// Signed by a quorum of the entry's generation (verified).
    Quorum,
    /// Signed by this custodian's certified token (verified).
    Custodian {
        /// Custodian name.
        custodian: String,
        /// Fingerprint of the token that signed.
        token: String,
    },
    /// No signature: anyone with write access could have written it.
    Unsigned,
    /// Carries a signature that does not verify or that nobody certified.
    Forged {
        /// Why.
        why: String,
    },
}

impl Authn {
    /// Whether a quorum of the entry's generation wrote it (format 2), or,
    /// in format 1 history, it carries a quorum MAC.
    pub fn by_quorum(&self) -> bool {
        matches!(self, Authn::Quorum | Authn::Legacy { mac: true })
    }

    /// Whether `name`'s token signed it.
    pub fn by_custodian(&self, name: &str) -> bool {
        matches!(self, Authn::Custodian { custodian, .. } if custodian == name)
    }

    /// One word for people and machines: `quorum`, `custodian`, `unsigned`,
    /// `forged`, `format-1-mac`, `format-1`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Authn::Legacy { mac: true } => "format-1-mac",
            Authn::Legacy { mac: false } => "format-1",
            Authn::Quorum => "quorum",
            Authn::Custodian { .. } => "custodian",
            Authn::Unsigned => "unsigned",
            Authn::Forged { .. } => "forged",
        }
    }
}

/// An entry whose signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Sequence number.
    pub seq: u64,
    /// Event name.
    pub event: String,
    /// What is wrong.
    pub why: String,
}

impl Finding {
    /// One sentence naming the entry.
    pub fn describe(&self) -> String {
        format!(
            "entry {} ('{}') {}: it was forged or altered, and counts for nothing",
            self.seq,
            self.event.chars().take(64).collect::<String>(),
            self.why
        )
    }
}

/// A token key certified for a custodian.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenKey {
    /// Token fingerprint (as in the manifest and `sig.token`).
    pub token: String,
    /// Algorithm.
    pub alg: Alg,
    /// Public key: Ed25519 (32 bytes) or a SEC1 P-256 point.
    pub key: Vec<u8>,
}

/// A generation certified in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertifiedGeneration {
    /// Generation number.
    pub generation: u64,
    /// Its signing key.
    pub key: PublicKey,
    /// The certifying entry (`sealed`, or the root for its own generation).
    pub seq: u64,
    /// SHA-256 (hex) of the certified manifest file (None for the root
    /// record, which precedes its `sealed` entry).
    pub manifest_digest: Option<String>,
    /// Custodians' token keys of this generation.
    pub signers: BTreeMap<String, Vec<TokenKey>>,
    /// The key of the generation that certified this one (None for the root
    /// generation's own certificate).
    pub certified_by: Option<PublicKey>,
}

/// The root of trust found in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Root {
    /// Entry that holds it.
    pub seq: u64,
    /// Its generation.
    pub generation: u64,
    /// The genesis key.
    pub key: PublicKey,
    /// `vault-created` or `migrated`.
    pub event: String,
}

/// Everything the log proves about its authors (over the verified prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trust {
    /// The root of trust, if the log is format 2.
    pub root: Option<Root>,
    /// Certified generations, in log order.
    pub generations: Vec<CertifiedGeneration>,
    /// Forged entries (the first [`MAX_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// Forged entries in all.
    pub forged_count: u64,
    /// Entries signed by a quorum (verified).
    pub quorum_signed: u64,
    /// Entries signed by a custodian's token (verified).
    pub custodian_signed: u64,
    /// Format 2 entries without a signature.
    pub unsigned: u64,
    /// Format 1 entries (before the root).
    pub legacy: u64,
    /// The last entry whose signature verified: entries after it are
    /// covered by no signature (anyone could have appended them).
    pub last_signed_seq: Option<u64>,
    /// Index of `generations` by generation number (lookups per signed
    /// entry stay logarithmic however many generations a vault has had).
    #[serde(skip)]
    by_generation: BTreeMap<u64, Vec<usize>>,
    /// Generations below this one have had their `signers` dropped.
    signers_floor: u64,
    /// Whether any certificate with a manifest digest was recorded (kept
    /// apart from [`Trust::newest`], which scans them all).
    #[serde(skip)]
    any_certificate: bool,
}

/// What the log says about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestVerdict {
    /// The manifest is the newest generation the log certifies.
    Current {
        /// The certifying `sealed` entry.
        seq: u64,
        /// The predecessor's key that certified it (None for the root).
        certified_by: Option<PublicKey>,
    },
    /// The log certifies a newer generation than this manifest (a rollback,
    /// or a commit interrupted after its `sealed` entry).
    Superseded {
        /// The newest certified generation.
        generation: u64,
        /// Its manifest digest.
        digest: String,
        /// Its `sealed` entry.
        seq: u64,
    },
    /// No quorum certified this manifest.
    NotCertified {
        /// Why, for people.
        why: String,
    },
}

impl Trust {
    /// Generations the log certifies, counted once each.
    pub fn certified_generations(&self) -> usize {
        let mut g: Vec<u64> = self
            .generations
            .iter()
            .filter(|c| c.manifest_digest.is_some())
            .map(|c| c.generation)
            .collect();
        g.sort_unstable();
        g.dedup();
        g.len()
    }

    /// The newest certificate with a manifest digest.
    pub fn newest(&self) -> Option<&CertifiedGeneration> {
        self.generations
            .iter()
            .filter(|c| c.manifest_digest.is_some())
            .max_by_key(|c| (c.generation, c.seq))
    }

    /// Judges a manifest of `generation` whose file digest is `digest`,
    /// naming root key `genesis`.
    pub fn check_manifest(
        &self,
        generation: u64,
        genesis: &PublicKey,
        digest: &str,
    ) -> ManifestVerdict {
        let Some(root) = &self.root else {
            return ManifestVerdict::NotCertified {
                why: "the audit log holds no format 2 root of trust (a signed vault-created or migrated entry): it was replaced, or truncated to nothing".into(),
            };
        };
        if root.key != *genesis {
            return ManifestVerdict::NotCertified {
                why: "manifest.json names another vault's root key than the audit log: it belongs to another vault or was forged".into(),
            };
        }
        let newest = self.newest();
        let mine = self
            .generations
            .iter()
            .find(|c| c.generation == generation && c.manifest_digest.as_deref() == Some(digest));
        match (mine, newest) {
            (Some(m), Some(n)) if m.seq == n.seq => ManifestVerdict::Current {
                seq: m.seq,
                certified_by: m.certified_by,
            },
            (Some(_), Some(n)) => ManifestVerdict::Superseded {
                generation: n.generation,
                digest: n.manifest_digest.clone().unwrap_or_default(),
                seq: n.seq,
            },
            _ => ManifestVerdict::NotCertified {
                why: format!(
                    "manifest.json (generation {generation}) is certified by no sealed entry of the audit log: it was substituted, or the log was truncated before its seal"
                ),
            },
        }
    }

    /// Whether [`Trust::newest`] is `Some`, in constant time.
    pub(super) fn has_certificate(&self) -> bool {
        self.any_certificate
    }

    pub(super) fn of_generation(
        &self,
        generation: u64,
    ) -> impl Iterator<Item = &CertifiedGeneration> {
        self.by_generation
            .get(&generation)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.generations.get(i))
    }

    pub(super) fn keys_of(&self, generation: u64) -> impl Iterator<Item = &PublicKey> {
        self.of_generation(generation).map(|c| &c.key)
    }

    pub(super) fn token_keys<'a>(
        &'a self,
        generation: u64,
        custodian: &'a str,
    ) -> impl Iterator<Item = &'a TokenKey> {
        self.of_generation(generation)
            .filter_map(move |c| c.signers.get(custodian))
            .flatten()
    }

    pub(super) fn add(&mut self, c: CertifiedGeneration) {
        self.any_certificate |= c.manifest_digest.is_some();
        self.by_generation
            .entry(c.generation)
            .or_default()
            .push(self.generations.len());
        self.generations.push(c);
    }

    /// Drops the token keys of generations below `floor` (see the module).
    pub(super) fn drop_signers_below(&mut self, floor: u64) {
        if floor <= self.signers_floor {
            return;
        }
        for idxs in self
            .by_generation
            .range(self.signers_floor..floor)
            .map(|(_, v)| v)
        {
            for &i in idxs {
                if let Some(c) = self.generations.get_mut(i) {
                    c.signers = BTreeMap::new();
                }
            }
        }
        self.signers_floor = floor;
    }

    pub(super) fn retain(&mut self, keep: impl Fn(&CertifiedGeneration) -> bool) {
        self.generations.retain(keep);
        self.reindex();
    }

    /// Whether these counts could have come from `entries` entries (a
    /// [`crate::log::Resume`] read back is checked with it: no counter can
    /// then overflow on the entries that follow).
    pub(crate) fn plausible(&self, entries: u64) -> bool {
        let counted = [
            self.legacy,
            self.quorum_signed,
            self.custodian_signed,
            self.unsigned,
            self.forged_count,
        ]
        .iter()
        .try_fold(0u64, |a, &n| a.checked_add(n));
        counted.is_some_and(|n| n <= entries)
            && self.findings.len() as u64 <= self.forged_count
            && self.last_signed_seq.is_none_or(|s| s <= entries)
    }

    /// Rebuilds what is derived from `generations` (after a retain, or
    /// after reading a [`crate::log::Resume`], which does not store it).
    pub(crate) fn reindex(&mut self) {
        self.any_certificate = self.generations.iter().any(|c| c.manifest_digest.is_some());
        self.by_generation.clear();
        for (i, c) in self.generations.iter().enumerate() {
            self.by_generation.entry(c.generation).or_default().push(i);
        }
    }
}
