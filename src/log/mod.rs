//! The append-only, hash-chained audit log (`log.jsonl`).
//!
//! Format `breakglass-log/2` (specification and test vectors in
//! `docs/formats.md`; format 1 lines stay readable): JSON Lines; each line is
//! the canonical JSON ([`crate::encoding`]) of one entry, followed by `\n`:
//!
//! ```text
//! {"data":{…},"event":E,"generation":G,"hash":H,"prev":P,"seq":N,"sig":SIG?,"time":T,"vault":V}
//! SIG = {"by":"quorum","value":HEX128}
//!     | {"alg":"ed25519"|"ecdsa-p256","by":"custodian","custodian":NAME,"token":FPR,"value":HEX}
//! ```
//!
//! * `seq` starts at 1 and increases by one; `prev` is the previous entry's
//!   `hash` (64 zeros for the first); `time` is RFC 3339 UTC.
//! * `hash` = SHA-256 (hex) of the canonical JSON of the entry without `hash`.
//! * `sig` says who wrote the entry: a quorum of generation `generation`
//!   (Ed25519 under that generation's signing key `S_g`), or one custodian's
//!   token. The signed body is the canonical JSON of the entry without `hash`
//!   and without `sig.value` (so who signed is signed too), after the context
//!   string of [`crate::sign::Purpose::LogEntry`]. The hash covers the
//!   signature. Whose keys are valid is decided by [`trust`], from the log
//!   itself: the vault's root entry and the certificates in `sealed` entries.
//! * Format 1 entries carry `mac` instead (HMAC under a secret key); they are
//!   read, chained and reported as format 1 history, never as signed.
//! * Appends are one `write` of the whole line then `fsync`; a crash can
//!   leave at worst a torn final line without `\n`, which [`verify`] reports
//!   and `breakglass log repair` removes (itself logged).
//!
//! Verification needs no secret: it re-encodes each line (rejecting
//! non-canonical input), recomputes hashes, checks the chain, and checks the
//! anchor (the head recorded in the sealed manifest) is still present.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub mod trust;

use crate::clock::Timestamp;
use crate::encoding::{self, hex, unhex};
use crate::manifest::LogHead;
use crate::sign::{Purpose, SigningKey};

/// Hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Longest line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// Event type names (the `event` member).
pub mod events {
    /// A vault was created (first entry).
    pub const VAULT_CREATED: &str = "vault-created";
    /// A custodian was enrolled into the vault.
    pub const CUSTODIAN_ENROLLED: &str = "custodian-enrolled";
    /// A generation was sealed (init, reseal, rekey) — written before the commit.
    pub const SEALED: &str = "sealed";
    /// A prepared generation never committed (crash) and was rolled back.
    pub const SEAL_ROLLED_BACK: &str = "seal-rolled-back";
    /// A quorum was requested to rotate and reseal (ticket, reason).
    pub const RESEAL_REQUESTED: &str = "reseal-requested";
    /// A quorum was requested to change custodians or the threshold (ticket,
    /// reason, the names added, removed and replaced, the new threshold).
    pub const REKEY_REQUESTED: &str = "rekey-requested";
    /// New values (generated passwords, TOTP seeds) were shown for rotation at the provider.
    pub const ROTATION_VALUES_SHOWN: &str = "rotation-values-shown";
    /// An unseal was requested (ticket, reason) — before any share is collected.
    pub const UNSEAL_REQUESTED: &str = "unseal-requested";
    /// A custodian's share was accepted.
    pub const SHARE_ACCEPTED: &str = "share-accepted";
    /// A custodian's share was rejected (named, with why).
    pub const SHARE_REJECTED: &str = "share-rejected";
    /// The quorum rebuilt the key; secrets named here are about to be shown.
    pub const UNSEAL_GRANTED: &str = "unseal-granted";
    /// An unseal request ended without access.
    pub const UNSEAL_ABORTED: &str = "unseal-aborted";
    /// A session ended (duration, how).
    pub const SESSION_ENDED: &str = "session-ended";
    /// A TOTP seed (or its QR) was explicitly revealed.
    pub const SEED_REVEALED: &str = "seed-revealed";
    /// A drill.
    pub const DRILL: &str = "drill";
    /// A quorum drill was requested (before any share is collected).
    pub const DRILL_REQUESTED: &str = "drill-requested";
    /// A post-incident review was recorded.
    pub const REVIEW_RECORDED: &str = "review-recorded";
    /// An unseal proceeded despite a broken log, by explicit override.
    pub const INTEGRITY_OVERRIDE: &str = "integrity-override";
    /// A torn final line was removed.
    pub const LOG_REPAIRED: &str = "log-repaired";
    /// A format 1 vault became format 2 (the new root of trust).
    pub const MIGRATED: &str = "migrated";
    /// A generation directory that was never certified was moved aside.
    pub const GENERATION_SET_ASIDE: &str = "generation-set-aside";
    /// A generation certified in the log whose commit was interrupted
    /// (manifest.json not yet replaced) was installed.
    pub const GENERATION_INSTALLED: &str = "generation-installed";
    /// A receipt given with `--expect-receipt` matched the log.
    pub const RECEIPT_CHECKED: &str = "receipt-checked";
}

/// Who signed an entry (format 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A quorum of the entry's generation (Ed25519, generation key).
    Quorum,
    /// One custodian's token.
    Custodian {
        /// Custodian name.
        custodian: String,
        /// Fingerprint of the token that signed.
        token: String,
        /// Signature algorithm.
        alg: Alg,
    },
}

/// Signature algorithms of custodian tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// Ed25519 (software custodians).
    Ed25519,
    /// ECDSA P-256 with SHA-256, DER (YubiKey custodians).
    EcdsaP256,
}

impl Alg {
    /// Spelling in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Ed25519 => "ed25519",
            Alg::EcdsaP256 => "ecdsa-p256",
        }
    }

    fn parse(s: &str) -> Option<Alg> {
        match s {
            "ed25519" => Some(Alg::Ed25519),
            "ecdsa-p256" => Some(Alg::EcdsaP256),
            _ => None,
        }
    }
}

/// How an entry is authenticated, as written (not yet checked: see [`trust`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// Nothing: written before or without any key.
    None,
    /// Format 1 quorum MAC (hex); checkable only with the secret key.
    Mac(String),
    /// Format 2 signature.
    Signed {
        /// Who claims to have signed.
        by: Signer,
        /// Signature bytes.
        value: Vec<u8>,
    },
}

impl Seal {
    /// The `sig` member for `by`, without its value (what is signed).
    fn sig_object(by: &Signer) -> Map<String, Value> {
        let mut o = Map::new();
        match by {
            Signer::Quorum => {
                o.insert("by".into(), "quorum".into());
            }
            Signer::Custodian {
                custodian,
                token,
                alg,
            } => {
                o.insert("alg".into(), alg.as_str().into());
                o.insert("by".into(), "custodian".into());
                o.insert("custodian".into(), custodian.clone().into());
                o.insert("token".into(), token.clone().into());
            }
        }
        o
    }

    fn parse(v: &Value) -> Result<(Signer, Vec<u8>), String> {
        let Value::Object(o) = v else {
            return Err("member 'sig' is not an object".into());
        };
        let s = |k: &str| -> Result<&str, String> {
            o.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("member 'sig.{k}' missing or not a string"))
        };
        let value = s("value")?;
        let bytes = crate::encoding::unhex_vec(value)
            .filter(|b| !b.is_empty() && b.len() <= 128)
            .ok_or("member 'sig.value' is not lower-case hex of 1 to 128 bytes")?;
        let (by, allowed): (Signer, &[&str]) = match s("by")? {
            "quorum" => (Signer::Quorum, &["by", "value"]),
            "custodian" => {
                let custodian = s("custodian")?;
                if !crate::names::is_valid(custodian) {
                    return Err("member 'sig.custodian' is not a valid custodian name".into());
                }
                let token = s("token")?;
                if token.is_empty() || token.len() > 64 {
                    return Err("member 'sig.token' is empty or too long".into());
                }
                let alg =
                    Alg::parse(s("alg")?).ok_or("member 'sig.alg' is not ed25519 or ecdsa-p256")?;
                (
                    Signer::Custodian {
                        custodian: custodian.into(),
                        token: token.into(),
                        alg,
                    },
                    &["alg", "by", "custodian", "token", "value"],
                )
            }
            _ => return Err("member 'sig.by' is neither quorum nor custodian".into()),
        };
        if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "unknown member 'sig.{}'",
                k.chars().take(32).collect::<String>()
            ));
        }
        Ok((by, bytes))
    }
}

/// Who signs an entry being appended.
pub enum By<'a> {
    /// Nobody (no key is known yet, or a single command without a token).
    Nobody,
    /// The quorum, with the generation key.
    Quorum(&'a SigningKey),
    /// One custodian's token. It is called with a function that gives the
    /// body to sign for a given signer (a custodian with a main and a spare
    /// YubiKey learns which token signs only once one is inserted), and
    /// returns the signer and the signature.
    Custodian(&'a mut SignFn<'a>),
}

/// How a custodian's token signs: see [`By::Custodian`].
pub type SignFn<'a> =
    dyn FnMut(&mut dyn FnMut(&Signer) -> Vec<u8>) -> Result<(Signer, Vec<u8>), String> + 'a;

/// One verified log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number.
    pub seq: u64,
    /// Time.
    pub time: Timestamp,
    /// Event type.
    pub event: String,
    /// Generation current when written.
    pub generation: u64,
    /// Vault id (hex).
    pub vault: String,
    /// Event data (an object).
    pub data: Map<String, Value>,
    /// Previous hash.
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
    /// How the entry says it is authenticated (checked by [`trust`]).
    pub seal: Seal,
}

impl Entry {
    /// Whether the entry claims a quorum (format 2 signature or format 1 MAC).
    pub fn claims_quorum(&self) -> bool {
        matches!(
            self.seal,
            Seal::Mac(_)
                | Seal::Signed {
                    by: Signer::Quorum,
                    ..
                }
        )
    }

    /// The bytes a format 2 signature covers: the canonical JSON of the
    /// entry without `hash` and without `sig.value`.
    pub fn signed_body(&self) -> Result<String, encoding::EncodingError> {
        let o = entry_object(self, false)?;
        encoding::canonical_json(&Value::Object(o))
    }
}

/// Log errors (I/O and misuse; integrity findings are in [`VerifyReport`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The log file cannot be read or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Appending to a log that did not verify.
    #[error("refusing to append to an audit log that does not verify: {0}")]
    Broken(String),
    /// Data could not be encoded canonically.
    #[error("log entry cannot be encoded: {0}")]
    Encoding(#[from] encoding::EncodingError),
    /// An entry would be longer than any verifier accepts.
    #[error("a '{event}' log entry would be {len} bytes, more than the {MAX_LINE}-byte line limit; nothing was written (shorten the ticket, reason or list that makes it long)")]
    TooLong {
        /// Event.
        event: String,
        /// Encoded length.
        len: usize,
    },
    /// A custodian's token could not sign the entry.
    #[error("the entry could not be signed: {0}")]
    Sign(String),
}

/// What is wrong with a log, at the first bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number.
    pub line: u64,
    /// Description.
    pub what: String,
}

/// Whether the anchor recorded in the manifest is still in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorStatus {
    /// No anchor was given.
    NotChecked,
    /// The entry `seq` has the recorded hash.
    Present,
    /// The log ends before the anchored entry: truncated.
    Truncated {
        /// Anchored sequence number.
        anchor_seq: u64,
        /// Last sequence number present.
        last_seq: u64,
    },
    /// The entry at `seq` has a different hash: rewritten.
    Mismatch {
        /// Anchored sequence number.
        anchor_seq: u64,
    },
}

/// Result of verifying a log.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Entries that verified (before any problem).
    pub entries: u64,
    /// Head of the verified prefix.
    pub head: Option<LogHead>,
    /// First integrity problem (later entries are not trusted).
    pub problem: Option<Problem>,
    /// A torn final line (crash during append): byte offset and length.
    pub torn_tail: Option<(u64, u64)>,
    /// Anchor status.
    pub anchor: AnchorStatus,
    /// Vault id seen in the log.
    pub vault: Option<String>,
    /// Who wrote what: signatures checked, certified generations, forged
    /// entries (over the verified prefix).
    pub trust: trust::Trust,
}

impl VerifyReport {
    /// True when the chain verified, nothing is torn, the anchor holds and
    /// no entry carries a signature that does not verify.
    pub fn is_intact(&self) -> bool {
        self.chain_intact() && self.trust.findings.is_empty()
    }

    /// True when the chain verified, nothing is torn and the anchor holds
    /// (signatures aside).
    pub fn chain_intact(&self) -> bool {
        self.problem.is_none()
            && self.torn_tail.is_none()
            && matches!(
                self.anchor,
                AnchorStatus::Present | AnchorStatus::NotChecked
            )
    }

    /// One paragraph explaining what is wrong (empty when intact).
    pub fn explain(&self) -> String {
        let mut out = Vec::new();
        if let Some(p) = &self.problem {
            out.push(format!(
                "entry on line {} does not verify: {} (the log was edited, reordered or had lines removed there)",
                p.line, p.what
            ));
        }
        if let Some((off, len)) = self.torn_tail {
            out.push(format!(
                "the last line is torn ({len} bytes at offset {off}, an append interrupted by a crash); run `breakglass log repair` to remove it"
            ));
        }
        match &self.anchor {
            AnchorStatus::Truncated { anchor_seq, last_seq } => out.push(format!(
                "the log ends at entry {last_seq} but the sealed manifest records entry {anchor_seq}: the log was truncated"
            )),
            AnchorStatus::Mismatch { anchor_seq } => out.push(format!(
                "entry {anchor_seq} differs from the one recorded in the sealed manifest: the log was rewritten"
            )),
            _ => {}
        }
        if let Some(f) = self.trust.findings.first() {
            let more = self.trust.forged_count.saturating_sub(1);
            out.push(format!(
                "{}{}",
                f.describe(),
                if more > 0 {
                    format!(" (and {more} more forged entries: see `breakglass log verify`)")
                } else {
                    String::new()
                }
            ));
        }
        out.join("; ")
    }
}

fn hash_of(obj: &Map<String, Value>) -> Result<String, encoding::EncodingError> {
    let mut o = obj.clone();
    o.remove("hash");
    let text = encoding::canonical_json(&Value::Object(o))?;
    Ok(hex(&Sha256::digest(text.as_bytes())))
}

/// Parses and checks one line on its own (canonical form, fields, own hash).
pub fn parse_line(line: &str) -> Result<Entry, String> {
    let value = encoding::parse_canonical(line).map_err(|e| e.to_string())?;
    let obj = match value {
        Value::Object(o) => o,
        _ => return Err("not a JSON object".into()),
    };
    for k in obj.keys() {
        if ![
            "data",
            "event",
            "generation",
            "hash",
            "mac",
            "prev",
            "seq",
            "sig",
            "time",
            "vault",
        ]
        .contains(&k.as_str())
        {
            return Err(format!(
                "unknown member '{}'",
                k.chars().take(32).collect::<String>()
            ));
        }
    }
    let s = |k: &str| -> Result<String, String> {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("member '{k}' missing or not a string"))
    };
    let n = |k: &str| -> Result<u64, String> {
        obj.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("member '{k}' missing or not an integer"))
    };
    let data = match obj.get("data") {
        Some(Value::Object(d)) => d.clone(),
        _ => return Err("member 'data' missing or not an object".into()),
    };
    let hash = s("hash")?;
    unhex::<32>(&hash, "hash").map_err(|e| e.to_string())?;
    let prev = s("prev")?;
    unhex::<32>(&prev, "prev").map_err(|e| e.to_string())?;
    let seal = match (obj.get("mac"), obj.get("sig")) {
        (None, None) => Seal::None,
        (Some(Value::String(m)), None) => {
            unhex::<32>(m, "mac").map_err(|e| e.to_string())?;
            Seal::Mac(m.clone())
        }
        (Some(_), None) => return Err("member 'mac' is not a string".into()),
        (None, Some(sig)) => {
            let (by, value) = Seal::parse(sig)?;
            Seal::Signed { by, value }
        }
        (Some(_), Some(_)) => {
            return Err(
                "an entry carries either 'mac' (format 1) or 'sig' (format 2), not both".into(),
            )
        }
    };
    let event = s("event")?;
    if event.is_empty() || event.len() > 64 {
        return Err("member 'event' is empty or too long".into());
    }
    let vault = s("vault")?;
    unhex::<16>(&vault, "vault").map_err(|e| e.to_string())?;
    let time = Timestamp::parse(&s("time")?).map_err(|e| e.to_string())?;
    let computed = hash_of(&obj).map_err(|e| e.to_string())?;
    if computed != hash {
        return Err("its hash does not match its content".into());
    }
    let generation = n("generation")?;
    if generation == 0 {
        return Err("member 'generation' must be at least 1".into());
    }
    Ok(Entry {
        seq: n("seq")?,
        time,
        event,
        generation,
        vault,
        data,
        prev,
        hash,
        seal,
    })
}

/// Verifies the log at `path`, calling `visit` for each entry of the
/// verified chain with what [`trust`] found about who wrote it. Needs no
/// secret: the chain, the anchor and every signature are checked with public
/// data from the log itself.
pub fn verify(
    path: &Path,
    anchor: Option<&LogHead>,
    visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    verify_rooted(path, anchor, None, visit)
}

/// [`verify`], rooted in `seed` (a genesis key from outside the log) when
/// given: for a log whose own root entry is damaged.
pub fn verify_rooted(
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<crate::sign::PublicKey>,
    mut visit: impl FnMut(&Entry, &trust::Authn),
) -> Result<VerifyReport, LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut report = VerifyReport {
        entries: 0,
        head: None,
        problem: None,
        torn_tail: None,
        anchor: AnchorStatus::NotChecked,
        vault: None,
        trust: trust::Trust::default(),
    };
    let mut auth = seed.map_or_else(trust::Authenticator::new, trust::Authenticator::seeded);
    let mut prev_hash = GENESIS.to_owned();
    let mut offset = 0u64;
    let mut line_no = 0u64;
    let mut buf = Vec::with_capacity(1024);
    let mut anchor_found = false;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            if n > MAX_LINE {
                report.problem = Some(Problem {
                    line: line_no,
                    what: format!("line longer than {MAX_LINE} bytes"),
                });
            } else {
                report.torn_tail = Some((offset, n as u64));
            }
            break;
        }
        offset += n as u64;
        let Ok(text) = std::str::from_utf8(&buf[..n - 1]) else {
            report.problem.get_or_insert(Problem {
                line: line_no,
                what: "not UTF-8".into(),
            });
            continue;
        };
        let entry = match parse_line(text) {
            Ok(e) => e,
            Err(what) => {
                report.problem.get_or_insert(Problem {
                    line: line_no,
                    what,
                });
                continue;
            }
        };
        if report.problem.is_some() {
            // Past a break nothing is counted or visited, but certificates
            // are self-authenticating: one edited line must not make the
            // current generation unverifiable (the break stays reported).
            auth.salvage(&entry);
            continue;
        }
        let expected_seq = report.entries + 1;
        let fail = if entry.seq != expected_seq {
            Some(format!(
                "sequence number {} where {} was expected",
                entry.seq, expected_seq
            ))
        } else if entry.prev != prev_hash {
            Some("it does not chain to the previous entry".into())
        } else if report.vault.as_ref().is_some_and(|v| v != &entry.vault) {
            Some("it belongs to another vault".into())
        } else {
            None
        };
        if let Some(what) = fail {
            report.problem = Some(Problem {
                line: line_no,
                what,
            });
            auth.salvage(&entry);
            continue;
        }
        if let Some(a) = anchor {
            if a.seq == entry.seq {
                anchor_found = true;
                if a.hash != entry.hash {
                    report.anchor = AnchorStatus::Mismatch { anchor_seq: a.seq };
                }
            }
        }
        report.vault.get_or_insert_with(|| entry.vault.clone());
        prev_hash = entry.hash.clone();
        report.entries += 1;
        report.head = Some(LogHead {
            hash: entry.hash.clone(),
            seq: entry.seq,
        });
        let authn = auth.observe(&entry);
        visit(&entry, &authn);
    }
    report.trust = auth.finish();
    if let Some(a) = anchor {
        if !anchor_found && report.problem.is_none() {
            report.anchor = AnchorStatus::Truncated {
                anchor_seq: a.seq,
                last_seq: report.entries,
            };
        } else if anchor_found && report.anchor == AnchorStatus::NotChecked {
            report.anchor = AnchorStatus::Present;
        }
    }
    Ok(report)
}

fn entry_object(
    e: &Entry,
    with_value: bool,
) -> Result<Map<String, Value>, encoding::EncodingError> {
    let mut o = Map::new();
    o.insert("data".into(), Value::Object(e.data.clone()));
    o.insert("event".into(), Value::String(e.event.clone()));
    o.insert("generation".into(), Value::from(e.generation));
    o.insert("prev".into(), Value::String(e.prev.clone()));
    o.insert("seq".into(), Value::from(e.seq));
    o.insert("time".into(), Value::String(e.time.to_rfc3339()));
    o.insert("vault".into(), Value::String(e.vault.clone()));
    match &e.seal {
        Seal::None => {}
        Seal::Mac(m) => {
            o.insert("mac".into(), Value::String(m.clone()));
        }
        Seal::Signed { by, value } => {
            let mut sig = Seal::sig_object(by);
            if with_value {
                sig.insert("value".into(), Value::String(hex(value)));
            }
            o.insert("sig".into(), Value::Object(sig));
        }
    }
    Ok(o)
}

/// The canonical line of an entry (without the final newline), as the log
/// holds it: the inverse of [`parse_line`].
pub fn encode_entry(e: &Entry) -> Result<String, encoding::EncodingError> {
    let mut o = entry_object(e, true)?;
    o.insert("hash".into(), Value::String(e.hash.clone()));
    encoding::canonical_json(&Value::Object(o))
}

/// An open log, positioned at its verified head, for appending.
pub struct Log {
    path: PathBuf,
    vault: String,
    head: Option<LogHead>,
}

impl Log {
    /// A log whose verified head is `head` (None for a new, empty log).
    pub fn at_head(path: &Path, vault: &str, head: Option<LogHead>) -> Log {
        Log {
            path: path.to_owned(),
            vault: vault.to_owned(),
            head,
        }
    }

    /// Current head.
    pub fn head(&self) -> Option<&LogHead> {
        self.head.as_ref()
    }

    /// Builds the line for an entry (exposed for tests and tools): chained
    /// to the current head, signed by `by`, at most [`MAX_LINE`] bytes.
    pub fn build_line(
        &self,
        event: &str,
        generation: u64,
        data: Map<String, Value>,
        time: Timestamp,
        by: By<'_>,
    ) -> Result<(String, LogHead), LogError> {
        let (seq, prev) = match &self.head {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        let mut entry = Entry {
            seq,
            time,
            event: event.into(),
            generation,
            vault: self.vault.clone(),
            data,
            prev,
            hash: String::new(),
            seal: Seal::None,
        };
        match by {
            By::Nobody => {}
            By::Quorum(key) => {
                entry.seal = Seal::Signed {
                    by: Signer::Quorum,
                    value: Vec::new(),
                };
                let body = entry.signed_body()?;
                entry.seal = Seal::Signed {
                    by: Signer::Quorum,
                    value: key.sign(Purpose::LogEntry, body.as_bytes()).to_vec(),
                };
            }
            By::Custodian(sign) => {
                let mut failed = None;
                let (signer, value) = {
                    let mut body_for = |s: &Signer| -> Vec<u8> {
                        let mut probe = entry.clone();
                        probe.seal = Seal::Signed {
                            by: s.clone(),
                            value: Vec::new(),
                        };
                        match probe.signed_body() {
                            Ok(b) => b.into_bytes(),
                            Err(e) => {
                                failed = Some(e);
                                Vec::new()
                            }
                        }
                    };
                    sign(&mut body_for).map_err(LogError::Sign)?
                };
                if let Some(e) = failed {
                    return Err(e.into());
                }
                entry.seal = Seal::Signed { by: signer, value };
            }
        }
        let unhashed = entry_object(&entry, true)?;
        let hash = hash_of(&unhashed)?;
        entry.hash = hash.clone();
        let mut line = encode_entry(&entry)?;
        if line.len() + 1 > MAX_LINE {
            return Err(LogError::TooLong {
                event: event.into(),
                len: line.len() + 1,
            });
        }
        line.push('\n');
        Ok((line, LogHead { hash, seq }))
    }

    /// Appends an entry durably (write + fsync) and returns the new head.
    pub fn append(
        &mut self,
        event: &str,
        generation: u64,
        data: Map<String, Value>,
        by: By<'_>,
    ) -> Result<LogHead, LogError> {
        let (line, head) = self.build_line(event, generation, data, Timestamp::now(), by)?;
        crate::fsutil::append_durable(&self.path, line.as_bytes()).map_err(|source| {
            LogError::Io {
                path: self.path.clone(),
                source,
            }
        })?;
        self.head = Some(head.clone());
        crate::hooks::kill_point("log.appended");
        Ok(head)
    }
}

/// Removes a torn final line (only an incomplete last line, never a complete
/// entry); returns the removed bytes' length and SHA-256.
pub fn truncate_torn_tail(
    path: &Path,
    report: &VerifyReport,
) -> Result<Option<(u64, String)>, LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let Some((offset, len)) = report.torn_tail else {
        return Ok(None);
    };
    let bytes = crate::fsutil::read_capped(path, offset + len).map_err(io)?;
    let removed = bytes.get(offset as usize..).unwrap_or_default();
    let digest = hex(&Sha256::digest(removed));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io)?;
    f.set_len(offset).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(Some((len, digest)))
}

/// Builds a `data` object from pairs.
#[macro_export]
macro_rules! log_data {
    ($($k:expr => $v:expr),* $(,)?) => {{
        let mut m = serde_json::Map::new();
        $( m.insert(($k).to_string(), serde_json::json!($v)); )*
        m
    }};
}
