//! Generations: building one (fresh key, payload, shares, signed manifest)
//! and committing it, crash-safely, with a certificate in the log.
//!
//! Commit protocol (format 2), shared by init, reseal, rekey and migrate:
//!
//! 1. the generation is built in memory: a fresh random `K'`, the payload
//!    encrypted to its identity, `K'` split into one share per custodian,
//!    the manifest (log head = the entry before the seal) signed by `S'`
//!    and, for a successor, by the outgoing generation's key `S`;
//! 2. its directory is written and fsynced beside the current one,
//!    including its own copy of the manifest;
//! 3. the `sealed` entry is appended, signed by the certifier (`S` for a
//!    successor, `S'` for a root): it names the new generation, its signing
//!    key, the SHA-256 of its manifest file and its custodians' token keys.
//!    **This is the commit point**: from here on the log proves which
//!    manifest is current;
//! 4. `manifest.json` is replaced by the same bytes (a crash before this is
//!    completed by the next command: [`crate::history::install_pending`]);
//! 5. older generation directories are removed.
//!
//! A crash before step 3 leaves the old generation current; the directory
//! of the new one is never certified and is moved aside later.

use serde_json::{json, Map, Value};

use crate::clock::Timestamp;
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::log::{events, By, Log};
use crate::log_data;
use crate::manifest::{generation_dir, sha256_hex, CustodianRecord, LogHead, Manifest};
use crate::payload::Payload;
use crate::shamir;
use crate::sign::SigningKey;
use crate::token::{agefile, CustodianDescriptor};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

use super::quorum::Opened;

/// The outcome of a seal (init, reseal, rekey, migrate).
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Vault id (hex).
    pub vault_id: String,
    /// Generation sealed.
    pub generation: u64,
    /// Vault fingerprint (the same for the life of the vault).
    pub fingerprint: String,
    /// Log head after the ceremony (the receipt).
    pub receipt: LogHead,
}

/// A generation built in memory: files to write and its manifest (not yet
/// signed, log head not yet set).
pub(crate) struct BuiltGeneration {
    pub payload_file: Vec<u8>,
    pub share_files: Vec<(String, Vec<u8>)>,
    pub manifest: Manifest,
}

/// What a generation is made of.
pub(crate) struct Contents<'a> {
    pub vault_id: &'a [u8; 16],
    pub generation: u64,
    pub threshold: u8,
    pub custodians: &'a [CustodianDescriptor],
    pub payload: &'a Payload,
    /// When the vault was created (kept across generations).
    pub created: &'a str,
    /// The vault's root key (hex).
    pub genesis_key: String,
}

/// Builds a generation under `key`: payload encrypted to its identity,
/// shares split and wrapped per custodian, manifest (unsigned).
pub(crate) fn build_generation(key: &MasterKey, c: &Contents<'_>) -> Result<BuiltGeneration> {
    let identity = key.payload_identity(c.vault_id)?;
    let payload_recipient: Vec<Box<dyn age::Recipient + Send>> =
        vec![Box::new(identity.to_public())];
    let payload_file = agefile::encrypt(&payload_recipient, &c.payload.to_bytes()?)
        .map_err(|e| Error::Age(e.to_string()))?;
    let n =
        u8::try_from(c.custodians.len()).map_err(|_| Error::Usage("too many custodians".into()))?;
    let shares = shamir::split(key.expose_for_sharing(), c.threshold, n)?;
    let gdir = generation_dir(c.generation);
    let mut share_files = Vec::new();
    let mut records = Vec::new();
    for (cust, share) in c.custodians.iter().zip(shares) {
        let env = Envelope {
            vault_id: *c.vault_id,
            generation: c.generation,
            custodian: cust.name.to_string(),
            threshold: c.threshold,
            share,
        };
        let recipients = crate::token::recipients(cust)?;
        let file =
            agefile::encrypt(&recipients, &env.encode()).map_err(|e| Error::Age(e.to_string()))?;
        records.push(CustodianRecord {
            commitment: sha256_hex(&file),
            name: cust.name.clone(),
            share: format!("{gdir}/shares/{}.age", cust.name),
            tokens: cust.tokens.clone(),
            x: env.share.x,
        });
        share_files.push((cust.name.to_string(), file));
    }
    let now = Timestamp::now().to_rfc3339();
    let manifest = Manifest {
        created: c.created.into(),
        custodians: records,
        entries: c.payload.index(),
        format: crate::manifest::FORMAT.into(),
        generation: c.generation,
        genesis_key: Some(c.genesis_key.clone()),
        log_head: LogHead {
            hash: crate::log::GENESIS.into(),
            seq: 0,
        },
        mac: None,
        payload: crate::manifest::PayloadRef {
            digest: sha256_hex(&payload_file),
            file: format!("{gdir}/payload.age"),
        },
        sealed: now,
        signatures: None,
        signing_key: None,
        threshold: c.threshold,
        vault_id: crate::encoding::hex(c.vault_id),
    };
    Ok(BuiltGeneration {
        payload_file,
        share_files,
        manifest,
    })
}

/// The token keys of a custodian set, as certified in `sealed` entries:
/// `{name: [{alg, key, token}]}` for every token that can sign.
pub(crate) fn signers_of(custodians: &[CustodianRecord]) -> Value {
    let mut out = Map::new();
    for c in custodians {
        let keys: Vec<Value> = c
            .tokens
            .iter()
            .filter_map(|t| {
                t.signing_public().map(|(alg, key)| {
                    json!({"alg": alg.as_str(), "key": crate::encoding::hex(&key), "token": t.fingerprint()})
                })
            })
            .collect();
        out.insert(c.name.to_string(), Value::Array(keys));
    }
    Value::Object(out)
}

/// Who certifies a generation being committed.
pub(crate) enum Certifier<'a> {
    /// The outgoing generation (its quorum authorises its successor).
    Predecessor {
        /// Its signing key.
        key: &'a SigningKey,
        /// Its number.
        generation: u64,
    },
    /// The generation itself: the root of a new vault or of a migrated one.
    Root,
}

/// Steps 2–5 of the commit protocol (module docs): writes the generation,
/// appends its certificate, replaces manifest.json, removes older
/// generations. `own` is the new generation's key; `data` the `sealed`
/// entry's descriptive members. Returns the `sealed` entry's head.
pub(crate) fn commit(
    vault: &Vault,
    log: &mut Log,
    mut built: BuiltGeneration,
    own: &SigningKey,
    certifier: Certifier<'_>,
    mut data: Map<String, Value>,
    kill: &dyn Fn(&str),
) -> Result<(Manifest, LogHead)> {
    let head = log
        .head()
        .cloned()
        .ok_or_else(|| Error::Usage("a generation is sealed after its request is logged".into()))?;
    built.manifest.log_head = head;
    let (by_key, entry_generation) = match &certifier {
        Certifier::Predecessor { key, generation } => (*key, *generation),
        Certifier::Root => (own, built.manifest.generation),
    };
    let predecessor = match certifier {
        Certifier::Predecessor { key, .. } => Some(key),
        Certifier::Root => None,
    };
    built.manifest.sign(own, predecessor)?;
    let bytes = built.manifest.to_bytes()?;
    let g = built.manifest.generation;
    kill("before-write");
    vault.write_generation(g, &built.payload_file, &built.share_files, &bytes)?;
    kill("generation-written");
    data.insert("generation".into(), g.into());
    data.insert("signing_key".into(), own.public().to_hex().into());
    data.insert("manifest_digest".into(), sha256_hex(&bytes).into());
    data.insert(
        "payload_digest".into(),
        built.manifest.payload.digest.clone().into(),
    );
    data.insert("threshold".into(), built.manifest.threshold.into());
    data.insert(
        "custodians".into(),
        built
            .manifest
            .custodians
            .iter()
            .map(|c| c.name.to_string())
            .collect::<Vec<_>>()
            .into(),
    );
    data.insert("signers".into(), signers_of(&built.manifest.custodians));
    let sealed = log.append(events::SEALED, entry_generation, data, By::Quorum(by_key))?;
    kill("sealed-logged");
    vault.commit_manifest(&built.manifest)?;
    vault.remove_older_generations(g)?;
    kill("old-removed");
    Ok((built.manifest, sealed))
}

/// The next generation of a vault a quorum opened (reseal, rekey).
pub(crate) struct Next<'a> {
    /// `reseal` or `rekey`: the `sealed` entry's reason, and the prefix of
    /// this ceremony's kill points.
    pub reason: &'static str,
    /// The ticket of the ceremony.
    pub ticket: &'a str,
    /// Threshold of the new generation.
    pub threshold: u8,
    /// Custodians of the new generation (from the authenticated manifest, or
    /// attestation-checked descriptors for new tokens).
    pub custodians: &'a [CustodianDescriptor],
    /// The entries to seal.
    pub payload: &'a Payload,
    /// Further members of the `sealed` entry: what changed, by name only.
    pub details: Map<String, Value>,
}

/// Seals generation g+1 of an opened vault with a new random key and fresh
/// shares, certified by the opening quorum (commit protocol in the module
/// docs). A crash anywhere leaves the old generation current (before the
/// `sealed` entry) or the new one (after it), and the log verifiable.
pub(crate) fn seal_next(
    vault: &Vault,
    opened: &mut Opened,
    next: Next<'_>,
    ui: &mut dyn Ui,
) -> Result<Sealed> {
    let old = &opened.manifest;
    let g = old.generation + 1;
    let reason = next.reason;
    let kill = move |step: &str| crate::hooks::kill_point(&format!("{reason}.{step}"));
    ui.say(
        Level::Step,
        &format!(
            "Sealing generation {g} ({}-of-{}) with a new key and fresh shares",
            next.threshold,
            next.custodians.len()
        ),
    );
    let key = MasterKey::generate()?;
    let own = key.signing_key(&opened.vault_id)?;
    // A migrated vault's root is the first format 2 generation.
    let (genesis, certifier) = if old.is_v2() {
        (
            old.genesis_key.clone().unwrap_or_default(),
            Certifier::Predecessor {
                key: &opened.signer,
                generation: old.generation,
            },
        )
    } else {
        (own.public().to_hex(), Certifier::Root)
    };
    let built = build_generation(
        &key,
        &Contents {
            vault_id: &opened.vault_id,
            generation: g,
            threshold: next.threshold,
            custodians: next.custodians,
            payload: next.payload,
            created: &old.created,
            genesis_key: genesis.clone(),
        },
    )?;
    if matches!(certifier, Certifier::Root) {
        opened.log.append(
            events::MIGRATED,
            g,
            log_data! {
                "genesis_key" => genesis,
                "from_format" => 1,
                "previous_generation" => old.generation,
                "request" => opened.request_seq,
                "ticket" => next.ticket,
            },
            By::Quorum(&own),
        )?;
        kill("migrated-logged");
    }
    let mut data = log_data! {
        "reason" => next.reason,
        "previous_generation" => old.generation,
        "request" => opened.request_seq,
        "ticket" => next.ticket,
        "entries" => next.payload.entries.iter().map(|e| e.name()).collect::<Vec<_>>(),
    };
    data.extend(next.details);
    if !opened.remote.is_empty() {
        data.insert("remote".into(), opened.remote.clone().into());
    }
    let (manifest, sealed) = commit(vault, &mut opened.log, built, &own, certifier, data, &kill)?;
    ui.say(
        Level::Step,
        &format!(
            "Generation {g} sealed and certified in the log (entry {}); shares of generation {} are dead",
            sealed.seq, old.generation
        ),
    );
    Ok(Sealed {
        vault_id: manifest.vault_id.clone(),
        generation: g,
        fingerprint: manifest.fingerprint(),
        receipt: sealed,
    })
}
