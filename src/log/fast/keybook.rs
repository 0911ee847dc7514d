//! Phase 2's prediction of the keys each signed entry's check will ask
//! about, learnt from the entries seen so far (checked or not: the
//! prediction only decides what is checked in parallel, never a verdict).

use std::collections::BTreeMap;

use crate::log::entry::{Entry, Seal, Signer};
use crate::log::events;
use crate::log::trust::{self, KeyId, TokenKey};
use crate::sign::PublicKey;

/// Generations the [`KeyBook`] keeps below the newest it has seen.
const BOOK_DEPTH: u64 = 4;

/// The keys signed entries will probably be checked under (see phase 2).
#[derive(Default)]
pub(super) struct KeyBook {
    quorum: BTreeMap<u64, Vec<PublicKey>>,
    tokens: BTreeMap<(u64, String), Vec<TokenKey>>,
    newest: u64,
}

impl KeyBook {
    pub(super) fn learn(&mut self, e: &Entry) {
        let str_of = |k: &str| e.data.get(k).and_then(serde_json::Value::as_str);
        if e.event == events::VAULT_CREATED || e.event == events::MIGRATED {
            if let Some(k) = str_of("genesis_key").and_then(PublicKey::from_hex) {
                self.add_quorum(e.generation, k);
            }
        }
        if e.event == events::SEALED {
            let g = e.data.get("generation").and_then(serde_json::Value::as_u64);
            let key = str_of("signing_key").and_then(PublicKey::from_hex);
            if let (Some(g), Some(key)) = (g, key) {
                self.add_quorum(g, key);
                for (name, keys) in trust::parse_signers(e.data.get("signers")).unwrap_or_default()
                {
                    let slot = self.tokens.entry((g, name)).or_default();
                    for k in keys {
                        if !slot.contains(&k) {
                            slot.push(k);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn add_quorum(&mut self, g: u64, key: PublicKey) {
        let slot = self.quorum.entry(g).or_default();
        if !slot.contains(&key) {
            slot.push(key);
        }
        self.newest = self.newest.max(g);
    }

    /// Forgets generations far below the newest (memory stays bounded).
    pub(super) fn prune(&mut self) {
        let floor = self.newest.saturating_sub(BOOK_DEPTH);
        self.quorum = self.quorum.split_off(&floor);
        self.tokens = self.tokens.split_off(&(floor, String::new()));
    }

    pub(super) fn candidates(&self, e: &Entry) -> Vec<KeyId> {
        match &e.seal {
            Seal::Signed {
                by: Signer::Quorum, ..
            } => self
                .quorum
                .get(&e.generation)
                .into_iter()
                .flatten()
                .map(KeyId::ed25519)
                .collect(),
            Seal::Signed {
                by:
                    Signer::Custodian {
                        custodian,
                        token,
                        alg,
                    },
                ..
            } => self
                .tokens
                .get(&(e.generation, custodian.clone()))
                .into_iter()
                .flatten()
                .filter(|k| k.token == *token && k.alg == *alg)
                .filter_map(|k| KeyId::token(k.alg, &k.key))
                .collect(),
            _ => Vec::new(),
        }
    }
}
