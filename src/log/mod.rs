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

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod data;
mod entry;
mod fast;
mod scan;
pub mod trust;
mod verify;

pub use data::{Data, Members};
pub use entry::{encode_entry, parse_line, Alg, By, Entry, Seal, SignFn, Signer};
pub use fast::{Resume, Resumed};
pub use verify::{
    verify, verify_every_signature, verify_only, verify_reading, verify_resuming, verify_rooted,
    verify_rooted_reference, AnchorStatus, Problem, Reads, VerifyReport, MAX_TIME_REGRESSIONS,
};

/// The `data` member of a quorum entry that makes it a checkpoint: the
/// last seq its writer verified (chain, anchor and every signature, none
/// forged) before it signed. The fast verifier takes a confirmed
/// checkpoint's word for the signatures before it (`docs/formats.md`).
pub const CHECKPOINT: &str = "verified_through";

use crate::clock::Timestamp;
use crate::encoding::{self, hex};
use crate::sign::Purpose;
use entry::{entry_object, hash_of};

/// The head of the log: its last entry's sequence number and hash (what a
/// manifest anchors and a receipt names).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHead {
    /// Entry hash (hex).
    pub hash: String,
    /// Entry sequence number.
    pub seq: u64,
}

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
    /// A remote custodian was sent a share request (custodian, request
    /// digest, session-key digest, channel, expiry).
    pub const SHARE_REQUESTED: &str = "share-requested";
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

/// An open log, positioned at its verified head, for appending.
pub struct Log {
    path: PathBuf,
    vault: String,
    head: Option<LogHead>,
    checkpoint: Option<u64>,
}

impl Log {
    /// A log whose verified head is `head` (None for a new, empty log).
    pub fn at_head(path: &Path, vault: &str, head: Option<LogHead>) -> Log {
        Log {
            path: path.to_owned(),
            vault: vault.to_owned(),
            head,
            checkpoint: None,
        }
    }

    /// Quorum entries built from now on carry `data.`[`CHECKPOINT`]` =
    /// verified_through`: call it only with the head of a verification that
    /// found the log intact (chain, anchor, every signature, none forged).
    pub fn with_checkpoint(mut self, verified_through: u64) -> Log {
        self.checkpoint = Some(verified_through);
        self
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
        mut data: Map<String, Value>,
        time: Timestamp,
        by: By<'_>,
    ) -> Result<(String, LogHead), LogError> {
        let (seq, prev) = match &self.head {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        if let (By::Quorum(_), Some(t)) = (&by, self.checkpoint.filter(|t| *t < seq)) {
            data.insert(CHECKPOINT.into(), t.into());
        }
        let mut entry = Entry {
            seq,
            time,
            event: event.into(),
            generation,
            vault: self.vault.clone(),
            data: data.into(),
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

/// What [`truncate_torn_tail`] did to a log's final line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailRepair {
    /// An incomplete line was removed: its length and SHA-256.
    Removed {
        /// Bytes removed.
        len: u64,
        /// SHA-256 of the removed bytes (hex).
        sha256: String,
    },
    /// The final line was a complete entry chained to its predecessor that
    /// lacked only its `\n`: the newline was appended, nothing removed.
    RestoredNewline {
        /// The new head: the restored entry.
        head: LogHead,
    },
}

/// Repairs the final line of a log that `report` found torn. A complete
/// entry is never removed: when the line parses, has the next sequence
/// number, chains to the verified head and belongs to the same vault, only
/// its missing `\n` is appended. Otherwise the incomplete line (which no
/// verifier accepts) is removed.
pub fn truncate_torn_tail(
    path: &Path,
    report: &VerifyReport,
) -> Result<Option<TailRepair>, LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let Some((offset, len)) = report.torn_tail else {
        return Ok(None);
    };
    let bytes = crate::fsutil::read_capped(path, offset + len).map_err(io)?;
    let tail = bytes.get(offset as usize..).unwrap_or_default();
    if let Some(head) = complete_entry(tail, report) {
        use std::io::Write;
        let mut f = crate::fsutil::open_regular(path, std::fs::OpenOptions::new().append(true))
            .map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        return Ok(Some(TailRepair::RestoredNewline { head }));
    }
    let sha256 = hex(&Sha256::digest(tail));
    let f =
        crate::fsutil::open_regular(path, std::fs::OpenOptions::new().write(true)).map_err(io)?;
    f.set_len(offset).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(Some(TailRepair::Removed { len, sha256 }))
}

/// The head `tail` would become if it is a complete entry that follows the
/// verified prefix of `report`.
fn complete_entry(tail: &[u8], report: &VerifyReport) -> Option<LogHead> {
    let text = std::str::from_utf8(tail).ok()?;
    let entry = parse_line(text).ok()?;
    let (seq, prev) = match &report.head {
        Some(h) => (h.seq + 1, h.hash.as_str()),
        None => (1, GENESIS),
    };
    let same_vault = report.vault.as_ref().is_none_or(|v| *v == entry.vault);
    (entry.seq == seq && entry.prev == prev && same_vault).then(|| LogHead {
        hash: entry.hash.clone(),
        seq: entry.seq,
    })
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
