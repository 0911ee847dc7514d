//! The vault's proven history: which generation is current, decided with
//! public data only, before anyone is asked for a PIN or a passphrase.
//!
//! Order, for every command that reads a vault: parse `manifest.json` → verify
//! the log (chain, anchor, every signature; [`crate::log::trust`]) → judge the
//! manifest against the certificates in the log. Nothing in the manifest is
//! used (custodians, tokens, share files, cleanup) before that judgement.
//!
//! * **Current**: a quorum-signed `sealed` entry certifies exactly this file,
//!   and no newer one exists.
//! * **Pending**: the log certifies a newer generation whose manifest sits in
//!   its own directory (a commit interrupted between its `sealed` entry, the
//!   commit point, and the replacement of `manifest.json`). Read-only
//!   commands use that manifest; ceremonies install it ([`install_pending`]).
//! * **Superseded**: the log certifies a newer generation that is missing
//!   from disk: a rollback (or a lost directory). Refused; with an explicit,
//!   logged override a ceremony may open the older generation.
//! * **Not certified**: no quorum ever certified this manifest (a
//!   substitution, or a log truncated before its seal). Always refused: an
//!   override here would hand the vault to whoever wrote the manifest.
//! * **Format 1**: a vault of the previous format (MAC only); readable, and
//!   opened by a quorum only to migrate it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::log::trust::{Authn, ManifestVerdict};
use crate::log::{self, Entry, VerifyReport};
use crate::manifest::{generation_dir, Manifest};
use crate::vault::Vault;

/// Where the manifest stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The newest certified generation.
    Current,
    /// manifest.json lags behind a certified generation whose manifest is in
    /// its directory; `manifest` below is that one.
    Pending {
        /// The manifest.json generation that lags.
        stale_generation: u64,
        /// Where the certified manifest was found.
        path: PathBuf,
    },
    /// The log certifies a newer generation that is not on disk.
    Superseded {
        /// The newest certified generation.
        newest: u64,
        /// Its `sealed` entry.
        seq: u64,
    },
    /// No quorum certified this manifest.
    NotCertified {
        /// Why.
        why: String,
    },
    /// A format 1 vault.
    Format1,
}

/// A vault's manifest, judged against its log.
pub struct History {
    /// The manifest in force (the pending one when [`Standing::Pending`]).
    pub manifest: Manifest,
    /// Where it stands.
    pub standing: Standing,
    /// The log's verification (chain, anchor, signatures).
    pub report: VerifyReport,
}

impl History {
    /// Whether the manifest may be used as it is (current or pending, format 2).
    pub fn is_trusted(&self) -> bool {
        matches!(self.standing, Standing::Current | Standing::Pending { .. })
    }

    /// The vault fingerprint.
    pub fn fingerprint(&self) -> String {
        self.manifest.fingerprint()
    }

    /// One sentence on what is wrong with the manifest (None when trusted or format 1).
    pub fn manifest_problem(&self) -> Option<String> {
        match &self.standing {
            Standing::Current | Standing::Pending { .. } | Standing::Format1 => None,
            Standing::Superseded { newest, seq } => Some(format!(
                "manifest.json is generation {} but the audit log certifies generation {newest} (entry {seq}), whose files are missing: the vault was rolled back or a generation was lost; restore the vault directory from a backup copy",
                self.manifest.generation
            )),
            Standing::NotCertified { why } => Some(format!(
                "{why}; nothing in it is used. Restore manifest.json and log.jsonl from a backup copy of the vault"
            )),
        }
    }

    /// Everything wrong, for people: manifest first, then the log.
    pub fn explain(&self) -> String {
        let mut parts: Vec<String> = self.manifest_problem().into_iter().collect();
        let log = self.report.explain();
        if !log.is_empty() {
            parts.push(log);
        }
        parts.join("; ")
    }

    /// True when the manifest is trusted and the log is intact.
    pub fn is_intact(&self) -> bool {
        (self.is_trusted() || self.standing == Standing::Format1) && self.report.is_intact()
    }
}

/// Reads the manifest and the log of `vault` and judges them, calling
/// `visit` for each entry of the verified chain (one pass over the log).
pub fn read(vault: &Vault, visit: impl FnMut(&Entry, &Authn)) -> Result<History> {
    read_with(vault, false, log::Reads::Data, visit)
}

/// [`read`]; with `every_signature`, no checkpoint is trusted and every
/// signature is checked ([`log::verify_every_signature`]); `reads` says
/// what `visit` reads of each entry ([`log::Reads`]: speed only).
pub fn read_with(
    vault: &Vault,
    every_signature: bool,
    reads: log::Reads,
    visit: impl FnMut(&Entry, &Authn),
) -> Result<History> {
    let (manifest, bytes) = vault.read_manifest()?;
    let anchor = Some(&manifest.log_head);
    let report = log::verify_reading(&vault.log_path(), anchor, every_signature, reads, visit)?;
    judge(vault.dir(), manifest, &bytes, report)
}

/// [`read`], resuming the log's verification after the prefix `from`
/// covers when it still fits (see [`log::Resume`]: for read-only reports
/// that accept its proviso, never for a ceremony). The manifest is judged
/// afresh. Returns the history, the state to resume from next time, and
/// the head of the prefix it resumed after (None: read from the start).
pub fn read_resuming(
    vault: &Vault,
    from: Option<&log::Resume>,
    reads: log::Reads,
    visit: impl FnMut(&Entry, &Authn),
) -> Result<(History, Option<log::Resume>, Option<log::LogHead>)> {
    let (manifest, bytes) = vault.read_manifest()?;
    let log::Resumed {
        report,
        resume,
        resumed_after,
    } = log::verify_resuming(
        &vault.log_path(),
        Some(&manifest.log_head),
        from,
        reads,
        visit,
    )?;
    let history = judge(vault.dir(), manifest, &bytes, report)?;
    Ok((history, resume, resumed_after))
}

/// When the log's own root entry is damaged: judges again with the trust
/// rooted in manifest.json's genesis key, which the custodians confirm by
/// comparing the vault fingerprint with their paper copy (it is shown before
/// every PIN prompt). Returns None when that does not apply.
pub fn read_rooted_in_manifest(vault: &Vault, first: &History) -> Result<Option<History>> {
    let broken_root = first.report.trust.root.is_none() && first.report.problem.is_some();
    if !first.manifest.is_v2() || !broken_root {
        return Ok(None);
    }
    let (manifest, bytes) = vault.read_manifest()?;
    let seed = manifest.genesis_public()?;
    let report = log::verify_rooted(
        &vault.log_path(),
        Some(&manifest.log_head),
        Some(seed),
        |_, _| {},
    )?;
    judge(vault.dir(), manifest, &bytes, report).map(Some)
}

fn judge(
    dir: &Path,
    manifest: Manifest,
    bytes: &[u8],
    mut report: VerifyReport,
) -> Result<History> {
    if manifest.is_v2()
        && report.problem.is_none()
        && report.anchor == crate::log::AnchorStatus::Present
        && report.entries <= manifest.log_head.seq
    {
        // A format 2 manifest's anchor is the entry before its `sealed`
        // entry, which must follow it: a log that ends at the anchor was
        // truncated past the seal.
        report.anchor = crate::log::AnchorStatus::Truncated {
            anchor_seq: manifest.log_head.seq + 1,
            last_seq: report.entries,
        };
    }
    let verdict = if manifest.is_v2() {
        let digest = crate::manifest::sha256_hex(bytes);
        let genesis = manifest.genesis_public()?;
        report
            .trust
            .check_manifest(manifest.generation, &genesis, &digest)
    } else {
        // A format 1 manifest is current unless the log already certifies a
        // format 2 generation (a migration interrupted after its commit point).
        match report.trust.newest() {
            None => {
                return Ok(History {
                    manifest,
                    standing: Standing::Format1,
                    report,
                })
            }
            Some(n) => ManifestVerdict::Superseded {
                generation: n.generation,
                digest: n.manifest_digest.clone().unwrap_or_default(),
                seq: n.seq,
            },
        }
    };
    let mut certifier = None;
    let standing = match verdict {
        ManifestVerdict::Current { certified_by, .. } => {
            certifier = certified_by;
            Standing::Current
        }
        ManifestVerdict::NotCertified { why } => Standing::NotCertified { why },
        ManifestVerdict::Superseded {
            generation,
            digest,
            seq,
        } => {
            let path = dir.join(generation_dir(generation)).join("manifest.json");
            match read_certified(&path, &digest) {
                Some(pending) => {
                    return Ok(History {
                        standing: Standing::Pending {
                            stale_generation: manifest.generation,
                            path,
                        },
                        manifest: pending,
                        report,
                    })
                }
                None => Standing::Superseded {
                    newest: generation,
                    seq,
                },
            }
        }
    };
    if standing == Standing::Current {
        // Defence in depth: the certified file must also carry valid
        // signatures, its own and its predecessor's.
        manifest.verify_signatures(certifier.as_ref())?;
    }
    Ok(History {
        manifest,
        standing,
        report,
    })
}

/// The manifest at `path` if its bytes have the certified digest.
fn read_certified(path: &Path, digest: &str) -> Option<Manifest> {
    let bytes = crate::fsutil::read_capped(path, crate::manifest::MAX_SIZE).ok()?;
    if !crate::secret::ct_eq(
        crate::manifest::sha256_hex(&bytes).as_bytes(),
        digest.as_bytes(),
    ) {
        return None;
    }
    Manifest::from_bytes(&bytes).ok()
}

/// Completes an interrupted commit: replaces manifest.json with the pending
/// certified manifest (its bytes were certified in the log).
pub fn install_pending(vault: &Vault, history: &mut History) -> Result<Option<u64>> {
    let Standing::Pending {
        stale_generation, ..
    } = history.standing
    else {
        return Ok(None);
    };
    vault.commit_manifest(&history.manifest)?;
    history.standing = Standing::Current;
    Ok(Some(stale_generation))
}

/// The error for a manifest that must not be used.
pub fn untrusted(history: &History) -> Error {
    Error::Untrusted {
        explanation: history.explain(),
    }
}
