//! The share request (`breakglass-remote-request/1`): built on the vault
//! machine, checked on the custodian's laptop.
//!
//! The custodian-side check ([`Request::verify`]) trusts nothing in the file
//! but what the paper card confirms: the root certificate must give the
//! vault fingerprint on the card; every further certificate must be a
//! quorum-signed `sealed` entry chaining from that root
//! ([`crate::log::trust`]); the manifest must be exactly the newest
//! generation they certify, with valid signatures; the share file must be
//! the one the manifest commits to. Only then is a PIN worth typing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{RemoteError, MAX_FILE, MAX_LIFETIME_SECS};
use crate::clock::Timestamp;
use crate::encoding::{self, b64, unb64};
use crate::log::trust::{Authenticator, ManifestVerdict};
use crate::manifest::{sha256_hex, CustodianRecord, Manifest};

/// The format tag.
pub const FORMAT: &str = "breakglass-remote-request/1";

/// The request events a remote custodian may be asked for.
pub const CEREMONIES: [&str; 4] = [
    "unseal-requested",
    "reseal-requested",
    "rekey-requested",
    "drill-requested",
];

/// Longest ticket or reason carried (characters).
const MAX_TEXT: usize = 2000;

/// A share request, as its canonical JSON members (see `docs/remote.md`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// [`FORMAT`].
    pub format: String,
    /// Vault id (32 hex digits).
    pub vault_id: String,
    /// The generation the share belongs to.
    pub generation: u64,
    /// The logged request event (one of [`CEREMONIES`]).
    pub ceremony: String,
    /// Seq of that entry.
    pub request_seq: u64,
    /// Ticket, as logged.
    pub ticket: String,
    /// Reason, as logged.
    pub reason: String,
    /// Who is asked.
    pub custodian: String,
    /// Custodians whose shares were accepted so far, in order.
    pub presented: Vec<String>,
    /// The one-time session key (age X25519 recipient).
    pub session_key: String,
    /// 32 hex digits, fresh per request.
    pub nonce: String,
    /// RFC 3339 UTC.
    pub created: String,
    /// RFC 3339 UTC; at most [`MAX_LIFETIME_SECS`] after `created`.
    pub expires: String,
    /// The root entry, then every `sealed` entry, as log lines.
    pub certificates: Vec<String>,
    /// Base64 of `manifest.json`.
    pub manifest: String,
    /// Base64 of the custodian's share file.
    pub share: String,
}

/// A request checked on the custodian's side: what it proves.
pub struct Verified {
    /// The request.
    pub request: Request,
    /// Its digest (SHA-256 of the file).
    pub digest: [u8; 32],
    /// The certified manifest.
    pub manifest: Manifest,
    /// The custodian's record in it.
    pub record: CustodianRecord,
    /// The custodian's share file (matches its commitment).
    pub share_file: Vec<u8>,
    /// The vault fingerprint (equal to the paper card's).
    pub fingerprint: String,
    /// When the request expires.
    pub expires: Timestamp,
}

fn malformed(why: impl Into<String>) -> RemoteError {
    RemoteError::malformed("the request", why)
}

fn refused(why: impl Into<String>) -> RemoteError {
    RemoteError::Refused(why.into())
}

/// A canonical RFC 3339 UTC time member.
pub(super) fn time(s: &str, member: &str, what: &'static str) -> Result<Timestamp, RemoteError> {
    Timestamp::parse(s)
        .ok()
        .filter(|t| t.to_rfc3339() == s)
        .ok_or_else(|| {
            RemoteError::malformed(
                what,
                format!("'{member}' is not a time YYYY-MM-DDTHH:MM:SSZ"),
            )
        })
}

/// Canonical JSON, one object, final newline: the bytes whose digest counts.
pub(super) fn canonical_file<T: Serialize>(v: &T) -> Result<Vec<u8>, RemoteError> {
    let mut s = encoding::to_canonical(v)
        .map_err(|e| RemoteError::Refused(format!("cannot encode: {e}")))?;
    s.push('\n');
    Ok(s.into_bytes())
}

/// Parses canonical JSON with a final newline into `T`.
pub(super) fn parse_file<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, RemoteError> {
    let bad = |why: String| RemoteError::malformed(what, why);
    if bytes.len() > MAX_FILE {
        return Err(bad(format!("it is larger than {} MiB", MAX_FILE >> 20)));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 text".into()))?;
    let Some(line) = text.strip_suffix('\n') else {
        return Err(bad(
            "it does not end with a newline: it was cut off or altered".into(),
        ));
    };
    let v = encoding::parse_canonical(line).map_err(|e| {
        bad(format!(
            "it is not one canonical JSON object ({e}); it was altered, or is another kind of file"
        ))
    })?;
    serde_json::from_value(v).map_err(|e| {
        // serde quotes what it refuses (an unknown member's name) in full.
        bad(format!(
            "unexpected or missing members ({})",
            crate::text::bounded(&e.to_string())
        ))
    })
}

fn hex_member(s: &str, n: usize, member: &str) -> Result<(), RemoteError> {
    if s.len() == 2 * n && encoding::unhex_vec(s).is_some() {
        Ok(())
    } else {
        Err(malformed(format!(
            "'{member}' is not {} lower-case hex digits",
            2 * n
        )))
    }
}

/// Normalises a vault fingerprint as typed from paper: 32 hex digits, any
/// case, grouped or not.
pub fn normalize_fingerprint(typed: &str) -> Result<String, String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a vault fingerprint is 32 hex digits in eight groups of four (as on the paper card, e.g. 3f2a-…); '{}' is not one",
            crate::text::bounded(typed)
        ));
    }
    Ok(digits)
}

impl Request {
    /// The request's file: canonical JSON and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RemoteError> {
        canonical_file(self)
    }

    /// Parses a request file and checks every member's form (not yet what
    /// it claims: see [`Request::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Request, RemoteError> {
        let r: Request = parse_file(bytes, "the request")?;
        if r.format != FORMAT {
            return Err(malformed(format!(
                "its format is '{}', not {FORMAT} (a newer breakglass, or another file)",
                crate::text::bounded(&r.format)
            )));
        }
        hex_member(&r.vault_id, 16, "vault_id")?;
        hex_member(&r.nonce, 16, "nonce")?;
        if !CEREMONIES.contains(&r.ceremony.as_str()) {
            return Err(malformed(format!(
                "'ceremony' is '{}', not one of {}",
                crate::text::bounded(&r.ceremony),
                CEREMONIES.join(", ")
            )));
        }
        for name in std::iter::once(&r.custodian).chain(&r.presented) {
            if !crate::names::is_valid(name) {
                return Err(malformed(format!(
                    "'{}' is not a custodian name",
                    crate::text::bounded(name)
                )));
            }
        }
        if r.ticket.chars().count() > MAX_TEXT || r.reason.chars().count() > MAX_TEXT {
            return Err(malformed(format!(
                "ticket or reason longer than {MAX_TEXT} characters"
            )));
        }
        if !crate::token::agefile::is_x25519_recipient(&r.session_key) {
            return Err(malformed(
                "'session_key' is not an age X25519 recipient (age1…)",
            ));
        }
        let created = time(&r.created, "created", "the request")?;
        let expires = time(&r.expires, "expires", "the request")?;
        if expires.0 < created.0 || expires.0 - created.0 > MAX_LIFETIME_SECS {
            return Err(malformed(format!(
                "it claims a lifetime of {} s ({} to {}); a request lives at most 1 h",
                expires.0 - created.0,
                r.created,
                r.expires
            )));
        }
        if r.certificates.is_empty() {
            return Err(malformed(
                "it carries no certificates (the vault's root entry comes first)",
            ));
        }
        unb64(&r.manifest, "manifest").map_err(|_| malformed("'manifest' is not base64"))?;
        unb64(&r.share, "share").map_err(|_| malformed("'share' is not base64"))?;
        Ok(r)
    }

    /// SHA-256 of the request file.
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The checks made before any PIN (module docs), in the order of
    /// `docs/remote.md`: the root against `paper_fingerprint` (normalised),
    /// the certificates, the manifest, the custodian, the share's
    /// commitment, the expiry at `now`. `bytes` are the request file's.
    pub fn verify(
        bytes: &[u8],
        paper_fingerprint: &str,
        now: Timestamp,
    ) -> Result<Verified, RemoteError> {
        let request = Request::parse(bytes)?;
        let paper = normalize_fingerprint(paper_fingerprint).map_err(RemoteError::Refused)?;
        let vault_id = encoding::unhex::<16>(&request.vault_id, "vault_id")
            .map_err(|_| malformed("'vault_id' is not 32 hex digits"))?;
        let entries = request
            .certificates
            .iter()
            .enumerate()
            .map(|(i, line)| {
                crate::log::parse_line(line).map_err(|e| {
                    malformed(format!("certificate {} is not a log entry: {e}", i + 1))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let root = entries
            .first()
            .ok_or_else(|| malformed("no certificates"))?;
        let genesis = root
            .data
            .get("genesis_key")
            .and_then(serde_json::Value::as_str)
            .and_then(crate::sign::PublicKey::from_hex)
            .filter(|_| matches!(root.event.as_str(), "vault-created" | "migrated"))
            .ok_or_else(|| refused("the request's first certificate is not a vault's root entry (a vault-created or migrated entry with its genesis key); it was not made by breakglass, or was altered"))?;
        let fingerprint = crate::manifest::vault_fingerprint(&vault_id, &genesis);
        let found: String = fingerprint.chars().filter(|c| *c != '-').collect();
        if !crate::secret::ct_eq(found.as_bytes(), paper.as_bytes()) {
            return Err(refused(format!(
                "this request comes from vault {fingerprint}, not the vault on your paper card; do not answer it. Call the lead back on the number you know and compare the fingerprint"
            )));
        }
        let mut auth = Authenticator::new();
        for e in &entries {
            if e.vault != request.vault_id {
                return Err(refused(format!(
                    "certificate seq {} belongs to another vault ({}); the request was assembled from two vaults",
                    e.seq,
                    crate::text::bounded(&e.vault)
                )));
            }
            auth.observe(e);
        }
        // The root, then `sealed` entries only, in log order, each once.
        for pair in entries.windows(2) {
            if pair[1].event != "sealed" || pair[1].seq <= pair[0].seq {
                return Err(refused(format!(
                    "the request's certificates are not the root followed by sealed entries in log order (seq {} {} after seq {}); it was assembled by hand or altered",
                    pair[1].seq,
                    crate::text::bounded(&pair[1].event),
                    pair[0].seq
                )));
            }
        }

        let trust = auth.finish();
        if let Some(f) = trust.findings.first() {
            return Err(refused(format!(
                "the vault's chain in the request does not verify: {}; the request was forged or altered",
                f.describe()
            )));
        }
        if trust.root.as_ref().map(|r| r.key) != Some(genesis) {
            return Err(refused("the request's root entry does not verify under its own genesis key; it was forged or altered"));
        }
        let manifest_bytes = unb64(&request.manifest, "manifest")
            .map_err(|_| malformed("'manifest' is not base64"))?;
        let manifest = Manifest::from_bytes(&manifest_bytes)
            .map_err(|e| refused(format!("the request's manifest cannot be read: {e}")))?;
        if manifest.vault_id != request.vault_id || manifest.generation != request.generation {
            return Err(refused(format!(
                "the request's manifest is generation {} of vault {}, but the request says generation {} of vault {}; it was altered",
                manifest.generation,
                crate::text::bounded(&manifest.vault_id),
                request.generation,
                request.vault_id
            )));
        }
        let certified_by = match trust.check_manifest(
            manifest.generation,
            &genesis,
            &sha256_hex(&manifest_bytes),
        ) {
            ManifestVerdict::Current { certified_by, .. } => certified_by,
            ManifestVerdict::Superseded { generation, seq, .. } => {
                return Err(refused(format!(
                    "the request's manifest is generation {}, but its own chain certifies generation {generation} (seq {seq}) as newer: a rolled-back vault; do not answer it",
                    manifest.generation
                )))
            }
            ManifestVerdict::NotCertified { why } => {
                return Err(refused(format!(
                    "the request's manifest is not certified by the vault's chain it carries: {why}; do not answer it"
                )))
            }
        };
        manifest
            .verify_signatures(certified_by.as_ref())
            .map_err(|e| refused(format!("the request's manifest: {e}")))?;
        let record = manifest
            .custodian(&request.custodian)
            .cloned()
            .ok_or_else(|| {
                refused(format!(
                    "the request asks '{}', who is not a custodian of this vault",
                    request.custodian
                ))
            })?;
        let share_file =
            unb64(&request.share, "share").map_err(|_| malformed("'share' is not base64"))?;
        if !crate::secret::ct_eq(
            sha256_hex(&share_file).as_bytes(),
            record.commitment.as_bytes(),
        ) {
            return Err(refused(format!(
                "the share file in the request is not the one the manifest commits to for {}; it was altered or substituted",
                record.name
            )));
        }
        let expires = time(&request.expires, "expires", "the request")?;
        if now.0 > expires.0 {
            return Err(refused(format!(
                "this request expired at {} (it is now {}); ask the lead for a new one",
                request.expires,
                now.to_rfc3339()
            )));
        }
        Ok(Verified {
            digest: Request::digest(bytes),
            request,
            manifest,
            record,
            share_file,
            fingerprint,
            expires,
        })
    }
}

/// What the vault machine puts in a request (the members it does not
/// derive itself).
pub struct Draft<'a> {
    /// The manifest in force.
    pub manifest: &'a Manifest,
    /// Its file bytes (what the chain certifies).
    pub manifest_bytes: &'a [u8],
    /// The logged request event and its seq.
    pub ceremony: &'a str,
    /// Seq of that entry.
    pub request_seq: u64,
    /// Ticket and reason, as logged.
    pub ticket: &'a str,
    /// Reason.
    pub reason: &'a str,
    /// Who is asked.
    pub custodian: &'a str,
    /// Custodians accepted so far.
    pub presented: &'a [String],
    /// The session key's recipient.
    pub session_key: &'a str,
    /// Root and `sealed` log lines.
    pub certificates: &'a [String],
    /// The custodian's share file.
    pub share_file: &'a [u8],
    /// Creation time and lifetime (seconds, at most [`MAX_LIFETIME_SECS`]).
    pub created: Timestamp,
    /// Lifetime in seconds.
    pub lifetime: i64,
}

impl Draft<'_> {
    /// The request, with a fresh nonce.
    pub fn build(&self) -> Request {
        let mut nonce = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        Request {
            format: FORMAT.into(),
            vault_id: self.manifest.vault_id.clone(),
            generation: self.manifest.generation,
            ceremony: self.ceremony.into(),
            request_seq: self.request_seq,
            ticket: self.ticket.into(),
            reason: self.reason.into(),
            custodian: self.custodian.into(),
            presented: self.presented.to_vec(),
            session_key: self.session_key.into(),
            nonce: encoding::hex(&nonce),
            created: self.created.to_rfc3339(),
            expires: self
                .created
                .plus(self.lifetime.clamp(1, MAX_LIFETIME_SECS))
                .to_rfc3339(),
            certificates: self.certificates.to_vec(),
            manifest: b64(self.manifest_bytes),
            share: b64(self.share_file),
        }
    }
}
