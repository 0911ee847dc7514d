//! The streaming checker of [`super`]'s rules: fed every chained entry in
//! order, it classifies who wrote it and records certificates. Every
//! signature check goes through an [`Evidence`]: the entry's signed body and
//! the verifications already done for it (by the parallel fast path,
//! [`crate::log::verify`]); a check found there is not repeated, one not
//! found is made here, so the verdicts never depend on what was memoised.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Authn, CertifiedGeneration, Finding, Root, TokenKey, Trust, MAX_FINDINGS};
use crate::log::{Alg, Entry, Seal, Signer};
use crate::sign::{self, PublicKey, Purpose};

/// A public key a signature can be checked under (compared by algorithm
/// and bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyId {
    alg: Alg,
    len: u8,
    bytes: [u8; 65],
}

impl KeyId {
    /// An Ed25519 key.
    pub fn ed25519(key: &PublicKey) -> KeyId {
        let mut bytes = [0; 65];
        bytes[..32].copy_from_slice(&key.0);
        KeyId {
            alg: Alg::Ed25519,
            len: 32,
            bytes,
        }
    }

    /// A token key (`None` if longer than a SEC1 P-256 point).
    pub fn token(alg: Alg, key: &[u8]) -> Option<KeyId> {
        let mut bytes = [0; 65];
        bytes.get_mut(..key.len())?.copy_from_slice(key);
        Some(KeyId {
            alg,
            len: key.len() as u8,
            bytes,
        })
    }

    fn key(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Whether `sig` is this key's signature of `body` (a log entry's
    /// signed body, under [`Purpose::LogEntry`]).
    pub fn verifies(&self, body: &[u8], sig: &[u8]) -> bool {
        match self.alg {
            Alg::Ed25519 => <&[u8; 32]>::try_from(self.key())
                .is_ok_and(|pk| sign::verify_ed25519(pk, Purpose::LogEntry, body, sig)),
            Alg::EcdsaP256 => sign::verify_p256(self.key(), Purpose::LogEntry, body, sig),
        }
    }
}

/// What an entry's signature is checked against: its signed body (`None`
/// when it cannot be encoded) and the outcome of checks already made for
/// this entry's body and signature under some keys.
pub struct Evidence<'a> {
    /// The canonical entry without `hash` and without `sig.value`.
    pub body: Option<&'a [u8]>,
    /// (key, whether the entry's signature verifies under it).
    pub memo: &'a [(KeyId, bool)],
    /// A later quorum checkpoint vouches for this entry (see
    /// `docs/formats.md`, "Checkpoints"): its signature is taken to hold
    /// under any key the log certifies for it, and only there. The caller
    /// sets this only for an entry whose checkpoint it then confirms, and
    /// throws the outcome away if it cannot (`crate::log::fast`).
    pub vouched: bool,
}

impl Evidence<'_> {
    fn check(&self, key: KeyId, sig: &[u8]) -> bool {
        let Some(body) = self.body else { return false };
        match self.memo.iter().find(|(k, _)| *k == key) {
            Some(&(_, ok)) => ok,
            None => key.verifies(body, sig),
        }
    }

    fn ed25519(&self, key: &PublicKey, sig: &[u8]) -> bool {
        self.check(KeyId::ed25519(key), sig)
    }
}

/// Streaming checker: feed every chained entry to [`Authenticator::observe`].
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
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

pub(crate) fn parse_signers(v: Option<&Value>) -> Option<BTreeMap<String, Vec<TokenKey>>> {
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

    /// Whether it was rooted in a key from outside the log ([`Self::seeded`]).
    pub(crate) fn is_seeded(&self) -> bool {
        self.seed.is_some()
    }

    /// Rebuilds the indexes a [`crate::log::Resume`] does not store; false
    /// when its counts could not have come from `entries` entries.
    pub(crate) fn reindex(&mut self, entries: u64) -> bool {
        self.t.reindex();
        self.t.plausible(entries)
    }

    /// Classifies one entry (which the caller has chain-verified), encoding
    /// its signed body (the reference path).
    pub fn observe(&mut self, e: &Entry) -> Authn {
        let body = signed_body_of(e);
        self.observe_with(
            e,
            &Evidence {
                body: body.as_deref(),
                memo: &[],
                vouched: false,
            },
        )
    }

    /// [`Authenticator::observe`] with the signed body (and any checks
    /// already made) given.
    pub fn observe_with(&mut self, e: &Entry, ev: &Evidence<'_>) -> Authn {
        let a = self.classify(e, ev);
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
        if !self.salvageable(e) {
            return;
        }
        let body = signed_body_of(e);
        self.salvage_with(
            e,
            &Evidence {
                body: body.as_deref(),
                memo: &[],
                vouched: false,
            },
        );
    }

    /// Whether [`Authenticator::salvage`] would look at `e` at all.
    pub fn salvageable(&self, e: &Entry) -> bool {
        self.t.root.is_some()
            && e.event == crate::log::events::SEALED
            && matches!(
                e.seal,
                Seal::Signed {
                    by: Signer::Quorum,
                    ..
                }
            )
    }

    /// [`Authenticator::salvage`] with the signed body given.
    pub fn salvage_with(&mut self, e: &Entry, ev: &Evidence<'_>) {
        if self.t.root.is_none() || e.event != crate::log::events::SEALED {
            return;
        }
        let Seal::Signed {
            by: Signer::Quorum,
            value,
        } = &e.seal
        else {
            return;
        };
        if ev.body.is_none() {
            return;
        }
        let signed = self.t.keys_of(e.generation).any(|k| ev.ed25519(k, value));
        let unknown = self.t.keys_of(e.generation).next().is_none();
        if signed || (unknown && self.adopt_seed(e, ev, value)) {
            let _ = self.certify(e, ev);
        }
    }

    /// When rooted in a seed: if it verifies `e` (whose generation has no
    /// key yet), it becomes that generation's key, once.
    fn adopt_seed(&mut self, e: &Entry, ev: &Evidence<'_>, value: &[u8]) -> bool {
        let Some(seed) = self.seed.filter(|k| ev.ed25519(k, value)) else {
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

    fn classify(&mut self, e: &Entry, ev: &Evidence<'_>) -> Authn {
        if self.t.root.is_none() {
            return self.before_root(e, ev);
        }
        // A migration interrupted between its `migrated` root and the
        // `sealed` entry certifying its manifest committed nothing: the next
        // migration's root replaces it (as a never-certified generation
        // directory is replaced), but only while no certificate exists.
        if e.event == crate::log::events::MIGRATED && self.t.newest().is_none() {
            if let Some(old) = self.t.root.take() {
                let replaced = self.before_root(e, ev);
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
        let a = self.classify_signed(e, ev);
        if matches!(a, Authn::Quorum | Authn::Custodian { .. }) {
            self.active = self.active.max(e.generation);
            self.t.drop_signers_below(self.active);
        }
        a
    }

    fn classify_signed(&mut self, e: &Entry, ev: &Evidence<'_>) -> Authn {
        match &e.seal {
            Seal::None => Authn::Unsigned,
            Seal::Mac(_) => Authn::Forged {
                why: "carries a format 1 MAC although the vault is format 2".into(),
            },
            Seal::Signed {
                by: Signer::Quorum,
                value,
            } => {
                if ev.body.is_none() {
                    return forged("cannot be encoded");
                }
                let vouched = self.vouch_applies(ev);
                let mut any = false;
                let mut ok = self.t.keys_of(e.generation).any(|k| {
                    any = true;
                    vouched || ev.ed25519(k, value)
                });
                if !ok && !any {
                    ok = self.adopt_seed(e, ev, value);
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
                if e.event == crate::log::events::SEALED {
                    if let Err(why) = self.certify(e, ev) {
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
                if ev.body.is_none() {
                    return forged("cannot be encoded");
                }
                let vouched = self.vouch_applies(ev);
                let mut known = false;
                let ok = self
                    .t
                    .token_keys(e.generation, custodian)
                    .filter(|k| k.token == *token && k.alg == *alg)
                    .any(|k| {
                        known = true;
                        KeyId::token(k.alg, &k.key).is_some_and(|id| vouched || ev.check(id, value))
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

    /// Whether a checkpoint's vouching counts here: only once the log has
    /// a certificate and never while rooted in an unadopted seed. Before
    /// the first certificate a damaged log may still replace its root (an
    /// interrupted migration), and vouching there could change which root
    /// is in force; after it, vouching can only make more entries valid,
    /// which raises the live generation and so never certifies a key or
    /// revives a generation the reference would not (docs/formats.md).
    fn vouch_applies(&self, ev: &Evidence<'_>) -> bool {
        ev.vouched && self.seed.is_none() && self.t.has_certificate()
    }

    fn before_root(&mut self, e: &Entry, ev: &Evidence<'_>) -> Authn {
        let is_root_event = (e.event == crate::log::events::VAULT_CREATED && e.seq == 1)
            || e.event == crate::log::events::MIGRATED;
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
            let signed = ev.ed25519(&key, value);
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
    fn certify(&mut self, e: &Entry, ev: &Evidence<'_>) -> Result<(), String> {
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
            if ev.body.is_none() {
                return Err(bad("encoding"));
            }
            let Seal::Signed { value, .. } = &e.seal else {
                return Err(bad("signature"));
            };
            self.t
                .keys_of(e.generation)
                .find(|k| ev.ed25519(k, value))
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
            self.t.drop_signers_below(self.active);
        }
        Ok(())
    }
}

/// The signed body of a signed entry, encoded (the reference path; `None`
/// when unsigned or when it cannot be encoded).
fn signed_body_of(e: &Entry) -> Option<Vec<u8>> {
    match e.seal {
        Seal::Signed { .. } => e.signed_body().ok().map(String::into_bytes),
        _ => None,
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
            out.push(crate::log::parse_line(line.trim_end()).unwrap());
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
