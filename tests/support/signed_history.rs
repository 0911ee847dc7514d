//! Real format 2 vault directories for tests and benches, built with the
//! library's public API only: deterministic keys, a root `vault-created`
//! entry, quorum entries signed by the current generation key, custodian
//! entries signed by the custodian's token key, and `sealed` entries that
//! certify a signed manifest exactly as `ceremony::generation::commit` does.
//! Every line is what `Log::build_line` makes.
//!
//! Attacker tools: entries that are unsigned ([`Sig::None`]), signed by a
//! key nobody certified ([`Sig::QuorumSeed`], [`Sig::CustodianAs`]), signed
//! by a dead generation ([`Sig::Quorum`] with an older generation), or that
//! claim a signer with a random `sig.value` ([`Sig::Random`]).
//!
//! Keys (all derived from fixed bytes, so every run writes the same vault):
//!
//! * generation `g`: `MasterKey::from_secret(g as 8 bytes LE ‖ 24 × 0x5a)`
//!   → `signing_key(&vault_id)`; generation 1's key is the genesis key;
//! * custodian `name`: `SigningKey::from_seed(SHA-256("signed_history
//!   custodian " ‖ name))`; their token is a software token whose recipient
//!   is a (deterministic) age X25519 recipient and whose `signing_key` is
//!   that key, fingerprinted by `TokenDescriptor::fingerprint`.
//!
//! Included by tests with `#[path = "support/signed_history.rs"] mod
//! signed_history;` and by benches with `#[path =
//! "../tests/support/signed_history.rs"]`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use breakglass::clock::Timestamp;
use breakglass::keys::MasterKey;
use breakglass::log::{events, Alg, By, Log, Signer};
use breakglass::manifest::{
    generation_dir, sha256_hex, CustodianRecord, LogHead, Manifest, PayloadRef,
};
use breakglass::secret::SecretBytes;
use breakglass::sign::{Purpose, SigningKey};
use breakglass::token::TokenDescriptor;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The vault id of every built vault (hex).
pub const VAULT: &str = "00112233445566778899aabbccddeeff";
const VAULT_ID: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

/// A time given as RFC 3339 text or as a [`Timestamp`].
pub trait AsTime {
    /// The timestamp.
    fn as_time(&self) -> Timestamp;
}

impl AsTime for Timestamp {
    fn as_time(&self) -> Timestamp {
        *self
    }
}

impl AsTime for &str {
    fn as_time(&self) -> Timestamp {
        Timestamp::parse(self).expect("RFC 3339 UTC time")
    }
}

impl AsTime for String {
    fn as_time(&self) -> Timestamp {
        self.as_str().as_time()
    }
}

/// The signing key of generation `g` of the test vault.
pub fn generation_key(g: u64) -> SigningKey {
    let mut secret = vec![0x5a; 32];
    secret[..8].copy_from_slice(&g.to_le_bytes());
    MasterKey::from_secret(SecretBytes::new(secret))
        .expect("32 bytes")
        .signing_key(&VAULT_ID)
        .expect("signing key")
}

fn custodian_seed(name: &str) -> [u8; 32] {
    Sha256::digest(format!("signed_history custodian {name}").as_bytes()).into()
}

/// A software custodian: token descriptor (with its signing key) and key.
pub struct Custodian {
    /// Name.
    pub name: String,
    /// The token as the manifest records it.
    pub token: TokenDescriptor,
    /// `token.fingerprint()`: the `sig.token` of their entries.
    pub fingerprint: String,
    /// The token's signing key.
    pub key: SigningKey,
}

impl Custodian {
    /// The deterministic custodian `name`.
    pub fn new(name: &str) -> Custodian {
        let seed = custodian_seed(name);
        let key = SigningKey::from_seed(&seed);
        // Any valid age X25519 recipient will do: the payload identity of a
        // master key made of the same seed.
        let recipient = MasterKey::from_secret(SecretBytes::new(seed.to_vec()))
            .expect("32 bytes")
            .payload_identity(&VAULT_ID)
            .expect("identity")
            .to_public()
            .to_string();
        let token = TokenDescriptor::Software {
            recipient,
            signing_key: Some(key.public().to_hex()),
        };
        Custodian {
            name: name.into(),
            fingerprint: token.fingerprint(),
            token,
            key,
        }
    }

    /// The signer of their entries.
    pub fn signer(&self) -> Signer {
        Signer::Custodian {
            custodian: self.name.clone(),
            token: self.fingerprint.clone(),
            alg: Alg::Ed25519,
        }
    }
}

/// How an entry is signed.
pub enum Sig {
    /// Not at all.
    None,
    /// By a quorum of generation `g`, with that generation's real key.
    Quorum(u64),
    /// Claims a quorum, signed by the key of this seed (nobody certified it).
    QuorumSeed([u8; 32]),
    /// By the named custodian's token (their real key).
    Custodian(String),
    /// Claims the token of `claims`, signed with the key of custodian `key_of`.
    CustodianAs {
        /// The custodian named in `sig`.
        claims: String,
        /// The custodian whose key actually signs.
        key_of: String,
    },
    /// Claims `signer`, with a pseudo-random 64-byte `sig.value`.
    Random(Signer),
}

enum Out {
    Memory(String),
    File(BufWriter<File>, PathBuf),
}

/// A vault's history being built, entry by entry.
pub struct SignedHistory {
    log_path: PathBuf,
    head: Option<LogHead>,
    out: Out,
    heads: Option<Vec<LogHead>>,
    /// Generation that entries are written under (the newest certified one).
    current: u64,
    current_key: SigningKey,
    /// Whether a generation was certified yet (the first seal is the root's own).
    certified: bool,
    created: Option<Timestamp>,
    roster: Vec<String>,
    threshold: u8,
    custodians: BTreeMap<String, Custodian>,
    /// The newest certified manifest: generation and file bytes.
    manifest: Option<(u64, Vec<u8>)>,
    entries: u64,
    /// What quorum entries say was verified before they were signed
    /// (`Log::with_checkpoint`), as a ceremony's do; None: no checkpoint.
    checkpoint: Option<u64>,
}

impl Default for SignedHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl SignedHistory {
    /// A history kept in memory (written by [`SignedHistory::write`]),
    /// remembering every head.
    pub fn new() -> SignedHistory {
        SignedHistory {
            log_path: PathBuf::from("log.jsonl"),
            head: None,
            out: Out::Memory(String::new()),
            heads: Some(Vec::new()),
            current: 1,
            current_key: generation_key(1),
            certified: false,
            created: None,
            roster: Vec::new(),
            threshold: 2,
            custodians: BTreeMap::new(),
            manifest: None,
            entries: 0,
            checkpoint: None,
        }
    }

    /// A history streamed to `dir/log.jsonl` through a buffer (for millions
    /// of entries); heads are not kept. Finish with [`SignedHistory::write`]
    /// on the same `dir`.
    pub fn streaming(dir: &Path) -> SignedHistory {
        std::fs::create_dir_all(dir).expect("vault dir");
        let path = dir.join("log.jsonl");
        let f = File::create(&path).expect("create log");
        SignedHistory {
            log_path: path.clone(),
            out: Out::File(BufWriter::with_capacity(1 << 20, f), path),
            heads: None,
            ..SignedHistory::new()
        }
    }

    /// The head after each entry (index seq - 1); memory mode only.
    pub fn heads(&self) -> &[LogHead] {
        self.heads
            .as_deref()
            .expect("heads are kept in memory mode")
    }

    /// The head of entry `seq`.
    pub fn head_of(&self, seq: u64) -> LogHead {
        self.heads()[seq as usize - 1].clone()
    }

    /// The current head.
    pub fn head(&self) -> Option<&LogHead> {
        self.head.as_ref()
    }

    /// The log text so far (memory mode).
    pub fn text(&self) -> &str {
        match &self.out {
            Out::Memory(s) => s,
            Out::File(..) => panic!("the text of a streamed history is in its file"),
        }
    }

    /// Quorum entries from now on carry a checkpoint through `seq` (None:
    /// none), as a ceremony that verified the log through `seq` writes them.
    pub fn verified_through(&mut self, seq: Option<u64>) {
        self.checkpoint = seq;
    }

    /// The number of entries so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The generation entries are written under now.
    pub fn generation(&self) -> u64 {
        self.current
    }

    /// The custodian `name` (created on first use).
    pub fn custodian(&mut self, name: &str) -> &Custodian {
        self.custodians
            .entry(name.to_owned())
            .or_insert_with(|| Custodian::new(name))
    }

    /// The custodians and threshold of the next generation sealed.
    pub fn set_roster(&mut self, names: &[&str], threshold: u8) {
        self.roster = names.iter().map(|n| (*n).to_owned()).collect();
        self.threshold = threshold;
        for n in names {
            self.custodian(n);
        }
    }

    // ------------------------------------------------------------ entries

    /// Appends an entry of `generation`, signed as `sig` says; returns its seq.
    pub fn raw(
        &mut self,
        event: &str,
        generation: u64,
        time: impl AsTime,
        data: Map<String, Value>,
        sig: Sig,
    ) -> u64 {
        let time = time.as_time();
        let mut log = Log::at_head(&self.log_path, VAULT, self.head.take());
        if let Some(t) = self.checkpoint {
            log = log.with_checkpoint(t);
        }
        let built = match sig {
            Sig::None => log.build_line(event, generation, data, time, By::Nobody),
            Sig::Quorum(g) if g == self.current => {
                log.build_line(event, generation, data, time, By::Quorum(&self.current_key))
            }
            Sig::Quorum(g) => {
                let key = generation_key(g);
                log.build_line(event, generation, data, time, By::Quorum(&key))
            }
            Sig::QuorumSeed(seed) => {
                let key = SigningKey::from_seed(&seed);
                log.build_line(event, generation, data, time, By::Quorum(&key))
            }
            Sig::Custodian(name) => {
                self.custodian(&name);
                let c = &self.custodians[&name];
                Self::custodian_line(&log, event, generation, time, data, c.signer(), &c.key)
            }
            Sig::CustodianAs { claims, key_of } => {
                self.custodian(&claims);
                self.custodian(&key_of);
                let signer = self.custodians[&claims].signer();
                let key = &self.custodians[&key_of].key;
                Self::custodian_line(&log, event, generation, time, data, signer, key)
            }
            Sig::Random(signer) => {
                let mut value = Vec::with_capacity(64);
                let seed = format!("random sig {} {event}", self.entries + 1);
                value.extend_from_slice(&Sha256::digest(seed.as_bytes()));
                value.extend_from_slice(&Sha256::digest(&value));
                let mut claim = |_: &mut dyn FnMut(&Signer) -> Vec<u8>| {
                    Ok::<_, String>((signer.clone(), value.clone()))
                };
                log.build_line(event, generation, data, time, By::Custodian(&mut claim))
            }
        };
        let (line, head) = built.expect("log line");
        match &mut self.out {
            Out::Memory(s) => s.push_str(&line),
            Out::File(w, _) => w.write_all(line.as_bytes()).expect("write log"),
        }
        if let Some(h) = self.heads.as_mut() {
            h.push(head.clone());
        }
        self.entries += 1;
        let seq = head.seq;
        self.head = Some(head);
        seq
    }

    fn custodian_line(
        log: &Log,
        event: &str,
        generation: u64,
        time: Timestamp,
        data: Map<String, Value>,
        signer: Signer,
        key: &SigningKey,
    ) -> Result<(String, LogHead), breakglass::log::LogError> {
        // What `CustodianSigner::Software::sign` does.
        let mut sign = |body_for: &mut dyn FnMut(&Signer) -> Vec<u8>| {
            let body = body_for(&signer);
            Ok::<_, String>((signer.clone(), key.sign(Purpose::LogEntry, &body).to_vec()))
        };
        log.build_line(event, generation, data, time, By::Custodian(&mut sign))
    }

    /// An entry of the current generation signed by its quorum.
    pub fn quorum(&mut self, event: &str, time: impl AsTime, data: Map<String, Value>) -> u64 {
        let g = self.current;
        self.raw(event, g, time, data, Sig::Quorum(g))
    }

    /// An entry of the current generation signed by custodian `name`'s token.
    pub fn by(
        &mut self,
        name: &str,
        event: &str,
        time: impl AsTime,
        data: Map<String, Value>,
    ) -> u64 {
        let g = self.current;
        self.raw(event, g, time, data, Sig::Custodian(name.into()))
    }

    /// An unsigned entry of the current generation (requests, shares).
    pub fn unsigned(&mut self, event: &str, time: impl AsTime, data: Map<String, Value>) -> u64 {
        let g = self.current;
        self.raw(event, g, time, data, Sig::None)
    }

    /// An entry of the current generation signed as `sig` says.
    pub fn signed(
        &mut self,
        event: &str,
        time: impl AsTime,
        data: Map<String, Value>,
        sig: Sig,
    ) -> u64 {
        let g = self.current;
        self.raw(event, g, time, data, sig)
    }

    /// The root of trust: `vault-created` (seq 1, generation 1) with
    /// `genesis_key` and `format: 2` added to `data`, signed by the genesis
    /// key. `custodians` and `threshold` also become the roster.
    pub fn root(
        &mut self,
        time: impl AsTime,
        custodians: &[&str],
        threshold: u8,
        mut data: Map<String, Value>,
    ) -> u64 {
        assert!(self.head.is_none(), "the root is the first entry");
        let time = time.as_time();
        self.created = Some(time);
        self.set_roster(custodians, threshold);
        data.insert(
            "genesis_key".into(),
            generation_key(1).public().to_hex().into(),
        );
        data.insert("format".into(), 2.into());
        self.raw(events::VAULT_CREATED, 1, time, data, Sig::Quorum(1))
    }

    /// A vault as `init` creates it: root, one quorum-signed enrollment per
    /// custodian, the `sealed` entry of generation 1. Returns the seal's seq.
    pub fn init(&mut self, time: impl AsTime, custodians: &[&str], threshold: u8) -> u64 {
        let time = time.as_time();
        self.root(
            time,
            custodians,
            threshold,
            json_map(json!({"threshold": threshold, "custodians": custodians})),
        );
        for c in custodians {
            let token = self.custodian(c).fingerprint.clone();
            self.quorum(
                events::CUSTODIAN_ENROLLED,
                time,
                json_map(json!({"custodian": c, "tokens": [token]})),
            );
        }
        self.seal(
            time,
            json_map(json!({"reason": "init", "entries": ["aws-root"]})),
        )
    }

    /// One cycle of a vault's life at `1_800_000_100 + 60 i`: an unseal
    /// (request, quorum grant), a custodian drill by alice, bob or carol in
    /// turn, then a reseal (a new generation). With `checkpoints`, its
    /// quorum entries vouch for the log before the cycle, as a ceremony's do.
    pub fn unseal_cycle(&mut self, i: u64, checkpoints: bool) {
        let t = Timestamp(1_800_000_100 + i as i64 * 60);
        if checkpoints {
            self.verified_through(Some(self.entries()));
        }
        self.unsigned(
            events::UNSEAL_REQUESTED,
            t,
            json_map(json!({"ticket": format!("INC-{i}"), "reason": "outage \"db\"\n"})),
        );
        self.quorum(
            events::UNSEAL_GRANTED,
            t,
            json_map(json!({"ticket": format!("INC-{i}"), "entries": ["aws-root"]})),
        );
        let who = ["alice", "bob", "carol"][(i % 3) as usize];
        self.by(
            who,
            events::DRILL,
            t,
            json_map(json!({"kind": "custodian", "custodian": who})),
        );
        self.unsigned(
            events::RESEAL_REQUESTED,
            t,
            json_map(json!({"ticket": format!("INC-{i}"), "reason": "rotate"})),
        );
        self.seal(
            t,
            json_map(json!({"reason": "reseal", "entries": ["aws-root"]})),
        );
    }

    /// Appends three entries at `t` nobody entitled signed (a random
    /// signature claiming alice, bob's claim signed with alice's key, a
    /// random quorum signature); returns their seqs.
    pub fn forgeries(&mut self, t: Timestamp) -> Vec<u64> {
        let alice = self.custodian("alice").signer();
        vec![
            self.signed(
                events::DRILL,
                t,
                json_map(json!({"kind": "custodian", "custodian": "alice"})),
                Sig::Random(alice),
            ),
            self.signed(
                events::DRILL,
                t,
                json_map(json!({"kind": "custodian", "custodian": "bob"})),
                Sig::CustodianAs {
                    claims: "bob".into(),
                    key_of: "alice".into(),
                },
            ),
            self.signed(
                events::UNSEAL_GRANTED,
                t,
                json_map(json!({"ticket": "INC-X", "entries": ["aws-root"]})),
                Sig::Random(Signer::Quorum),
            ),
        ]
    }

    /// The `signers` member of a certificate for the roster.
    pub fn signers(&self) -> Value {
        // What `ceremony::generation::signers_of` writes.
        let mut out = Map::new();
        for n in &self.roster {
            let t = &self.custodians[n].token;
            let keys: Vec<Value> = t
                .signing_public()
                .map(|(alg, key)| {
                    json!({"alg": alg.as_str(), "key": breakglass::encoding::hex(&key), "token": t.fingerprint()})
                })
                .into_iter()
                .collect();
            out.insert(n.clone(), Value::Array(keys));
        }
        Value::Object(out)
    }

    /// The certificate members of a `sealed` entry for generation `g` with
    /// signing key `key` and manifest digest `digest` (what an attacker
    /// copies into a forged seal).
    pub fn certificate(&self, g: u64, key: &SigningKey, digest: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("generation".into(), g.into());
        m.insert("signing_key".into(), key.public().to_hex().into());
        m.insert("manifest_digest".into(), digest.into());
        m.insert("payload_digest".into(), payload_digest(g).into());
        m.insert("threshold".into(), self.threshold.into());
        m.insert("custodians".into(), self.roster.clone().into());
        m.insert("signers".into(), self.signers());
        m
    }

    /// The manifest of generation `g` for the roster, signed by `own` and
    /// `predecessor`, with log head `head`.
    fn build_manifest(
        &self,
        g: u64,
        time: Timestamp,
        head: LogHead,
        own: &SigningKey,
        predecessor: Option<&SigningKey>,
    ) -> Manifest {
        let gdir = generation_dir(g);
        let custodians = self
            .roster
            .iter()
            .enumerate()
            .map(|(i, n)| CustodianRecord {
                commitment: sha256_hex(format!("share of {n} in generation {g}").as_bytes()),
                name: breakglass::names::CustodianName::parse(n).unwrap(),
                share: format!("{gdir}/shares/{n}.age"),
                tokens: vec![self.custodians[n].token.clone()],
                x: i as u8 + 1,
            })
            .collect();
        let mut m = Manifest {
            created: self.created.unwrap_or(time).to_rfc3339(),
            custodians,
            entries: vec![],
            format: breakglass::manifest::FORMAT.into(),
            generation: g,
            genesis_key: Some(generation_key(1).public().to_hex()),
            log_head: head,
            mac: None,
            payload: PayloadRef {
                digest: payload_digest(g),
                file: format!("{gdir}/payload.age"),
            },
            sealed: time.to_rfc3339(),
            signatures: None,
            signing_key: None,
            threshold: self.threshold,
            vault_id: VAULT.into(),
        };
        m.sign(own, predecessor).expect("sign manifest");
        m
    }

    /// A `sealed` entry certifying the next generation, as
    /// `ceremony::generation::commit` writes it: the first seal certifies
    /// generation 1 with its own key; later ones generation `g + 1`, signed
    /// by generation `g`'s key and written under `g`. `data` gives the
    /// descriptive members (`reason`, …); the certificate is added. From
    /// then on entries are written under the new generation. Returns the seq.
    pub fn seal(&mut self, time: impl AsTime, mut data: Map<String, Value>) -> u64 {
        let time = time.as_time();
        let head = self.head.clone().expect("a seal follows its request");
        let (g, own, entry_generation) = if self.certified {
            let g = self.current + 1;
            (g, generation_key(g), self.current)
        } else {
            (self.current, generation_key(self.current), self.current)
        };
        let predecessor = self.certified.then_some(&self.current_key);
        let manifest = self.build_manifest(g, time, head, &own, predecessor);
        let bytes = manifest.to_bytes().expect("manifest bytes");
        let digest = sha256_hex(&bytes);
        data.extend(self.certificate(g, &own, &digest));
        if self.certified {
            data.entry("previous_generation")
                .or_insert(self.current.into());
        }
        let seq = self.raw(
            events::SEALED,
            entry_generation,
            time,
            data,
            Sig::Quorum(entry_generation),
        );
        self.certified = true;
        self.current = g;
        self.current_key = own;
        self.manifest = Some((g, bytes));
        seq
    }

    // ------------------------------------------------------------- output

    /// Writes the vault directory: `log.jsonl`, `manifest.json` (the newest
    /// certified generation's) and its `gNNNNNN/manifest.json`. May be
    /// called again after more entries.
    pub fn write(&mut self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("vault dir");
        match &mut self.out {
            Out::Memory(s) => std::fs::write(dir.join("log.jsonl"), s.as_bytes()).expect("log"),
            Out::File(w, path) => {
                assert_eq!(
                    path.as_path(),
                    dir.join("log.jsonl"),
                    "a streamed history is written where it streams"
                );
                w.flush().expect("flush log");
            }
        }
        if let Some((g, bytes)) = &self.manifest {
            let gdir = dir.join(generation_dir(*g));
            std::fs::create_dir_all(&gdir).expect("generation dir");
            std::fs::write(gdir.join("manifest.json"), bytes).expect("generation manifest");
            std::fs::write(dir.join("manifest.json"), bytes).expect("manifest");
        }
    }

    /// The newest certified manifest's bytes.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest.as_ref().expect("a certified generation").1
    }
}

fn payload_digest(g: u64) -> String {
    sha256_hex(format!("payload of generation {g}").as_bytes())
}

/// A JSON object as event data.
pub fn json_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("event data is an object"),
    }
}
