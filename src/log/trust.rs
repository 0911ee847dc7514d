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
//! [`MAX_FINDINGS`] and counted beyond.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Alg, Entry, Seal, Signer};
use crate::sign::{self, PublicKey, Purpose};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    /// Token fingerprint (as in the manifest and `sig.token`).
    pub token: String,
    /// Algorithm.
    pub alg: Alg,
    /// Public key: Ed25519 (32 bytes) or a SEC1 P-256 point.
    pub key: Vec<u8>,
}

/// A generation certified in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    by_generation: BTreeMap<u64, Vec<usize>>,
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

    fn of_generation(&self, generation: u64) -> impl Iterator<Item = &CertifiedGeneration> {
        self.by_generation
            .get(&generation)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.generations.get(i))
    }

    fn keys_of(&self, generation: u64) -> impl Iterator<Item = &PublicKey> {
        self.of_generation(generation).map(|c| &c.key)
    }

    fn token_keys<'a>(
        &'a self,
        generation: u64,
        custodian: &'a str,
    ) -> impl Iterator<Item = &'a TokenKey> {
        self.of_generation(generation)
            .filter_map(move |c| c.signers.get(custodian))
            .flatten()
    }

    fn add(&mut self, c: CertifiedGeneration) {
        self.by_generation
            .entry(c.generation)
            .or_default()
            .push(self.generations.len());
        self.generations.push(c);
    }

    fn retain(&mut self, keep: impl Fn(&CertifiedGeneration) -> bool) {
        self.generations.retain(keep);
        self.by_generation.clear();
        for (i, c) in self.generations.iter().enumerate() {
            self.by_generation.entry(c.generation).or_default().push(i);
        }
    }
}

/// Streaming checker: feed every chained entry to [`Authenticator::observe`].
#[derive(Default)]
pub struct Authenticator {
    t: Trust,
    /// The highest generation that has signed an entry: older generations
    /// are dead from then on (their shares no longer count).
    active: u64,
    /// A root key given from outside (the manifest's genesis key, confirmed
    /// on paper), used when the log's own root entry is damaged: it becomes
    /// the key of the first generation whose quorum entry it verifies.
    seed: Option<PublicKey>,
}

fn str_member<'a>(e: &'a Entry, k: &str) -> Option<&'a str> {
    e.data.get(k).and_then(Value::as_str)
}

fn parse_signers(v: Option<&Value>) -> Option<BTreeMap<String, Vec<TokenKey>>> {
    let Value::Object(o) = v? else { return None };
    let mut out = BTreeMap::new();
    for (name, tokens) in o {
        let mut keys = Vec::new();
        for t in tokens.as_array()? {
            let alg = Alg::parse(t.get("alg")?.as_str()?)?;
            let key = crate::encoding::unhex_vec(t.get("key")?.as_str()?)?;
            let ok_len = match alg {
                Alg::Ed25519 => key.len() == 32,
                Alg::EcdsaP256 => {
                    (key.len() == 33 && matches!(key.first(), Some(2 | 3)))
                        || (key.len() == 65 && key.first() == Some(&4))
                }
            };
            if !ok_len {
                return None;
            }
            keys.push(TokenKey {
                token: t.get("token")?.as_str()?.to_owned(),
                alg,
                key,
            });
        }
        out.insert(name.clone(), keys);
    }
    Some(out)
}

impl Authenticator {
    /// Nothing seen yet.
    pub fn new() -> Authenticator {
        Authenticator::default()
    }

    /// Rooted in `genesis` instead of the log's root entry (see the field).
    pub fn seeded(genesis: PublicKey) -> Authenticator {
        Authenticator {
            t: Trust {
                root: Some(Root {
                    seq: 0,
                    generation: 0,
                    key: genesis,
                    event: "manifest genesis key".into(),
                }),
                ..Trust::default()
            },
            active: 0,
            seed: Some(genesis),
        }
    }

    /// Classifies one entry (which the caller has chain-verified).
    pub fn observe(&mut self, e: &Entry) -> Authn {
        let a = self.classify(e);
        let t = &mut self.t;
        match &a {
            Authn::Legacy { .. } => t.legacy += 1,
            Authn::Quorum => t.quorum_signed += 1,
            Authn::Custodian { .. } => t.custodian_signed += 1,
            Authn::Unsigned => t.unsigned += 1,
            Authn::Forged { why } => {
                t.forged_count += 1;
                if t.findings.len() < MAX_FINDINGS {
                    t.findings.push(Finding {
                        seq: e.seq,
                        event: e.event.clone(),
                        why: why.clone(),
                    });
                }
            }
        }
        if matches!(a, Authn::Quorum | Authn::Custodian { .. }) {
            t.last_signed_seq = Some(e.seq);
        }
        a
    }

    /// An entry after a break in the chain: counted for nothing, but a
    /// quorum-signed certificate in it is still recorded (its signature
    /// proves it on its own).
    pub fn salvage(&mut self, e: &Entry) {
        if self.t.root.is_none() || e.event != super::events::SEALED {
            return;
        }
        let Seal::Signed {
            by: Signer::Quorum,
            value,
        } = &e.seal
        else {
            return;
        };
        let Ok(body) = e.signed_body() else { return };
        let signed = self
            .t
            .keys_of(e.generation)
            .any(|k| k.verifies(Purpose::LogEntry, body.as_bytes(), value));
        let unknown = self.t.keys_of(e.generation).next().is_none();
        if signed || (unknown && self.adopt_seed(e, body.as_bytes(), value)) {
            let _ = self.certify(e);
        }
    }

    /// When rooted in a seed: if it verifies `e` (whose generation has no
    /// key yet), it becomes that generation's key, once.
    fn adopt_seed(&mut self, e: &Entry, body: &[u8], value: &[u8]) -> bool {
        let Some(seed) = self
            .seed
            .filter(|k| k.verifies(Purpose::LogEntry, body, value))
        else {
            return false;
        };
        self.seed = None;
        self.t.add(CertifiedGeneration {
            generation: e.generation,
            key: seed,
            seq: e.seq,
            manifest_digest: None,
            signers: BTreeMap::new(),
            certified_by: None,
        });
        true
    }

    /// The result.
    pub fn finish(self) -> Trust {
        self.t
    }

    fn classify(&mut self, e: &Entry) -> Authn {
        if self.t.root.is_none() {
            return self.before_root(e);
        }
        // A migration interrupted between its `migrated` root and the
        // `sealed` entry certifying its manifest committed nothing: the next
        // migration's root replaces it (as a never-certified generation
        // directory is replaced), but only while no certificate exists.
        if e.event == super::events::MIGRATED && self.t.newest().is_none() {
            if let Some(old) = self.t.root.take() {
                let replaced = self.before_root(e);
                if matches!(replaced, Authn::Quorum) {
                    self.t
                        .retain(|c| !(c.key == old.key && c.manifest_digest.is_none()));
                } else {
                    self.t.root = Some(old);
                }
                return replaced;
            }
        }
        if matches!(e.seal, Seal::Signed { .. }) && e.generation < self.active {
            return forged(&format!(
                "is signed under generation {} after generation {} had taken over: the key of a dead generation",
                e.generation, self.active
            ));
        }
        let a = self.classify_signed(e);
        if matches!(a, Authn::Quorum | Authn::Custodian { .. }) {
            self.active = self.active.max(e.generation);
        }
        a
    }

    fn classify_signed(&mut self, e: &Entry) -> Authn {
        match &e.seal {
            Seal::None => Authn::Unsigned,
            Seal::Mac(_) => Authn::Forged {
                why: "carries a format 1 MAC although the vault is format 2".into(),
            },
            Seal::Signed {
                by: Signer::Quorum,
                value,
            } => {
                let Ok(body) = e.signed_body() else {
                    return forged("cannot be encoded");
                };
                let mut any = false;
                let mut ok = self.t.keys_of(e.generation).any(|k| {
                    any = true;
                    k.verifies(Purpose::LogEntry, body.as_bytes(), value)
                });
                if !ok && !any {
                    ok = self.adopt_seed(e, body.as_bytes(), value);
                }
                if !ok {
                    return forged(&if any {
                        format!(
                            "claims to be written by a quorum of generation {} but its signature does not verify",
                            e.generation
                        )
                    } else {
                        format!(
                            "claims to be written by a quorum of generation {}, which no quorum certified",
                            e.generation
                        )
                    });
                }
                if e.event == super::events::SEALED {
                    if let Err(why) = self.certify(e) {
                        return forged(&why);
                    }
                }
                Authn::Quorum
            }
            Seal::Signed {
                by:
                    Signer::Custodian {
                        custodian,
                        token,
                        alg,
                    },
                value,
            } => {
                let Ok(body) = e.signed_body() else {
                    return forged("cannot be encoded");
                };
                let mut known = false;
                let ok = self
                    .t
                    .token_keys(e.generation, custodian)
                    .filter(|k| k.token == *token && k.alg == *alg)
                    .any(|k| {
                        known = true;
                        match alg {
                            Alg::Ed25519 => {
                                <&[u8; 32]>::try_from(k.key.as_slice()).is_ok_and(|pk| {
                                    sign::verify_ed25519(
                                        pk,
                                        Purpose::LogEntry,
                                        body.as_bytes(),
                                        value,
                                    )
                                })
                            }
                            Alg::EcdsaP256 => {
                                sign::verify_p256(&k.key, Purpose::LogEntry, body.as_bytes(), value)
                            }
                        }
                    });
                if ok {
                    Authn::Custodian {
                        custodian: custodian.clone(),
                        token: token.clone(),
                    }
                } else if known {
                    forged(&format!(
                        "claims to be signed by {custodian}'s token {token} but the signature does not verify"
                    ))
                } else {
                    forged(&format!(
                        "claims to be signed by {custodian}'s token {token}, which is not certified for generation {}",
                        e.generation
                    ))
                }
            }
        }
    }

    fn before_root(&mut self, e: &Entry) -> Authn {
        let is_root_event = (e.event == super::events::VAULT_CREATED && e.seq == 1)
            || e.event == super::events::MIGRATED;
        let genesis = str_member(e, "genesis_key");
        if let (true, Some(genesis)) = (is_root_event, genesis) {
            let Some(key) = PublicKey::from_hex(genesis) else {
                return forged("names a genesis key that is not 64 hex digits");
            };
            let Seal::Signed {
                by: Signer::Quorum,
                value,
            } = &e.seal
            else {
                return forged("is a root of trust without the genesis key's signature");
            };
            let signed = e
                .signed_body()
                .is_ok_and(|b| key.verifies(Purpose::LogEntry, b.as_bytes(), value));
            if !signed {
                return forged(
                    "is a root of trust whose signature does not verify under its genesis key",
                );
            }
            self.t.root = Some(Root {
                seq: e.seq,
                generation: e.generation,
                key,
                event: e.event.clone(),
            });
            self.t.add(CertifiedGeneration {
                generation: e.generation,
                key,
                seq: e.seq,
                manifest_digest: None,
                signers: BTreeMap::new(),
                certified_by: None,
            });
            self.active = e.generation;
            return Authn::Quorum;
        }
        match &e.seal {
            Seal::Signed { .. } => forged("is signed but comes before the vault's root of trust"),
            Seal::Mac(_) => Authn::Legacy { mac: true },
            Seal::None => Authn::Legacy { mac: false },
        }
    }

    /// Records the certificate in a quorum-signed `sealed` entry.
    fn certify(&mut self, e: &Entry) -> Result<(), String> {
        let bad = |what: &str| format!("is a signed seal whose certificate is malformed ({what})");
        let g = e
            .data
            .get("generation")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("generation"))?;
        let key = str_member(e, "signing_key")
            .and_then(PublicKey::from_hex)
            .ok_or_else(|| bad("signing_key"))?;
        let digest = str_member(e, "manifest_digest")
            .filter(|d| crate::encoding::unhex::<32>(d, "manifest_digest").is_ok())
            .ok_or_else(|| bad("manifest_digest"))?;
        let signers = parse_signers(e.data.get("signers")).ok_or_else(|| bad("signers"))?;
        let successor = g == e.generation + 1;
        // The root's generation certifies its own manifest with its own key.
        let own = g == e.generation && self.t.keys_of(g).any(|k| *k == key);
        if !successor && !own {
            return Err(bad("it certifies neither its own generation nor the next"));
        }
        // The certifying generation's key that signed it (for the manifest's
        // predecessor signature).
        let certified_by = if successor {
            let body = e.signed_body().map_err(|_| bad("encoding"))?;
            let Seal::Signed { value, .. } = &e.seal else {
                return Err(bad("signature"));
            };
            self.t
                .keys_of(e.generation)
                .find(|k| k.verifies(Purpose::LogEntry, body.as_bytes(), value))
                .copied()
        } else {
            None
        };
        self.t.add(CertifiedGeneration {
            generation: g,
            key,
            seq: e.seq,
            manifest_digest: Some(digest.to_owned()),
            signers,
            certified_by,
        });
        if successor {
            // A generation that has certified its successor is dead at once:
            // a second certificate from it (old shares kept by a removed
            // custodian, say) is a finding, not a rival generation.
            self.active = self.active.max(g);
        }
        Ok(())
    }
}

fn forged(why: &str) -> Authn {
    Authn::Forged { why: why.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::log::{By, Log};
    use crate::log_data;
    use crate::sign::SigningKey;

    fn entries(steps: &[(&str, u64, serde_json::Map<String, Value>, &SigningKey)]) -> Vec<Entry> {
        let mut log = Log::at_head(std::path::Path::new("unused"), &"ab".repeat(16), None);
        let mut out = Vec::new();
        for (event, g, data, key) in steps {
            let (line, head) = log
                .build_line(
                    event,
                    *g,
                    data.clone(),
                    Timestamp(1_800_000_000),
                    By::Quorum(key),
                )
                .unwrap();
            out.push(super::super::parse_line(line.trim_end()).unwrap());
            log = Log::at_head(std::path::Path::new("unused"), &"ab".repeat(16), Some(head));
        }
        out
    }

    fn cert(g: u64, key: &SigningKey) -> serde_json::Map<String, Value> {
        log_data! {"generation" => g, "signing_key" => key.public().to_hex(),
        "manifest_digest" => "cd".repeat(32), "signers" => serde_json::json!({})}
    }

    /// A generation that has certified its successor is dead at once: a
    /// second certificate from it (old shares kept by a removed custodian)
    /// is a finding and never the newest generation. (Found by the review of
    /// the format 2 spec: before, generation 1 stayed alive until generation
    /// 2 first signed.)
    #[test]
    fn a_second_successor_certificate_from_a_dead_generation_is_forged() {
        let (s1, s2, rival) = (
            SigningKey::from_seed(&[1; 32]),
            SigningKey::from_seed(&[2; 32]),
            SigningKey::from_seed(&[3; 32]),
        );
        let root = log_data! {"genesis_key" => s1.public().to_hex()};
        let es = entries(&[
            ("vault-created", 1, root, &s1),
            ("sealed", 1, cert(1, &s1), &s1),
            ("sealed", 1, cert(2, &s2), &s1),
            ("sealed", 1, cert(2, &rival), &s1),
        ]);
        let mut a = Authenticator::new();
        let got: Vec<Authn> = es.iter().map(|e| a.observe(e)).collect();
        assert_eq!(got[..3], [Authn::Quorum, Authn::Quorum, Authn::Quorum]);
        assert!(
            matches!(&got[3], Authn::Forged { why } if why.contains("after generation 2 had taken over")),
            "{:?}",
            got[3]
        );
        let t = a.finish();
        assert_eq!(t.newest().map(|n| n.key), Some(s2.public()));
        assert_eq!(t.newest().and_then(|n| n.certified_by), Some(s1.public()));
    }

    /// Token keys in certificates must be SEC1 points of the right shape.
    #[test]
    fn certificates_refuse_compact_p256_points() {
        let ok = serde_json::json!({"alice": [{"alg": "ecdsa-p256", "key": format!("02{}", "11".repeat(32)), "token": "t"}]});
        let compact = serde_json::json!({"alice": [{"alg": "ecdsa-p256", "key": format!("05{}", "11".repeat(32)), "token": "t"}]});
        assert!(parse_signers(Some(&ok)).is_some());
        assert!(parse_signers(Some(&compact)).is_none());
    }
}
