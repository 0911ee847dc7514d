//! The response (`breakglass-remote-response/1`): the custodian's share
//! envelope sealed to the request's session key, bound to the request's
//! digest and signed by the custodian's token; and the vault-side checks,
//! in the order of `docs/remote.md`, each refusal naming why.

use serde::{Deserialize, Serialize};

use super::request::{canonical_file, parse_file, time};
use super::RemoteError;
use crate::clock::Timestamp;
use crate::encoding::{self, b64, hex, unb64};
use crate::envelope::Envelope;
use crate::log::{Alg, Signer};
use crate::manifest::CustodianRecord;
use crate::sign::{verify_ed25519, verify_p256, Purpose};
use crate::token::agefile::SessionKey;

/// The format tag.
pub const FORMAT: &str = "breakglass-remote-response/1";

/// Largest share envelope opened from a response (an envelope is under
/// 200 bytes; the cap bounds what a forged `sealed` can make us allocate).
const MAX_ENVELOPE: usize = 64 << 10;

/// A response, as its canonical JSON members.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// [`FORMAT`].
    pub format: String,
    /// The request digest (hex).
    pub request: String,
    /// Copied from the request.
    pub vault_id: String,
    /// Copied from the request.
    pub generation: u64,
    /// Copied from the request.
    pub custodian: String,
    /// Fingerprint of the token that opened the share and signs.
    pub token: String,
    /// `ed25519` or `ecdsa-p256`.
    pub alg: String,
    /// RFC 3339 UTC.
    pub created: String,
    /// Base64 of the age file (to the session key) holding the envelope.
    pub sealed: String,
    /// Hex; over the canonical object without `signature`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// What the vault machine expects of the response to one request.
pub struct Expected<'a> {
    /// The request's digest.
    pub digest: &'a [u8; 32],
    /// Vault id (hex) and bytes.
    pub vault_id: &'a str,
    /// Vault id bytes (the envelope's binding).
    pub vault_id_bytes: &'a [u8; 16],
    /// Generation of the request.
    pub generation: u64,
    /// Threshold (the envelope's binding).
    pub threshold: u8,
    /// The custodian asked, as the manifest records them.
    pub record: &'a CustodianRecord,
    /// The request's expiry.
    pub expires: Timestamp,
    /// The session key.
    pub session: &'a SessionKey,
}

/// An accepted response: the share and the token that opened it.
pub struct Accepted {
    /// The envelope (its share is the custodian's).
    pub envelope: Envelope,
    /// Fingerprint of the token.
    pub token: String,
}

fn refused(why: impl Into<String>) -> RemoteError {
    RemoteError::Refused(why.into())
}

impl Response {
    /// The bytes the signature covers: the canonical object without
    /// `signature`.
    pub fn signed_body(&self) -> Result<Vec<u8>, RemoteError> {
        let mut unsigned = self.clone();
        unsigned.signature.clear();
        let mut b = canonical_file(&unsigned)?;
        b.pop();
        Ok(b)
    }

    /// The response's file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RemoteError> {
        canonical_file(self)
    }

    /// Parses a response file (form only; see [`Response::check`]).
    pub fn parse(bytes: &[u8]) -> Result<Response, RemoteError> {
        let bad = |why: String| RemoteError::malformed("the response", why);
        let r: Response = parse_file(bytes, "the response")?;
        if r.format != FORMAT {
            return Err(bad(format!(
                "its format is '{}', not {FORMAT}",
                crate::text::bounded(&r.format)
            )));
        }
        if encoding::unhex::<32>(&r.request, "request").is_err() {
            return Err(bad("'request' is not 64 hex digits".into()));
        }
        if Alg::parse(&r.alg).is_none() {
            return Err(bad(format!(
                "'alg' is '{}', not ed25519 or ecdsa-p256",
                crate::text::bounded(&r.alg)
            )));
        }
        if !crate::names::is_valid(&r.custodian) {
            return Err(bad("'custodian' is not a custodian name".into()));
        }
        time(&r.created, "created", "the response")?;
        unb64(&r.sealed, "sealed").map_err(|_| bad("'sealed' is not base64".into()))?;
        if encoding::unhex_vec(&r.signature).is_none_or(|s| s.is_empty()) {
            return Err(bad("'signature' is missing or not hex".into()));
        }
        Ok(r)
    }

    /// A response sealing `envelope` to `session_key` for the request whose
    /// digest is `digest`, to be signed (`signature` empty until then).
    pub fn unsigned(
        verified: &super::Verified,
        envelope: &[u8],
        created: Timestamp,
    ) -> Result<Response, RemoteError> {
        let r = &verified.request;
        let sealed = crate::token::agefile::encrypt_to_x25519(&r.session_key, envelope)
            .map_err(|e| refused(e.to_string()))?;
        Ok(Response {
            format: FORMAT.into(),
            request: hex(&verified.digest),
            vault_id: r.vault_id.clone(),
            generation: r.generation,
            custodian: r.custodian.clone(),
            token: String::new(),
            alg: String::new(),
            created: created.to_rfc3339(),
            sealed: b64(&sealed),
            signature: String::new(),
        })
    }

    /// This response as signed by `signer` (its token and algorithm set).
    pub fn signed_by(&self, signer: &Signer) -> Response {
        let mut r = self.clone();
        if let Signer::Custodian { token, alg, .. } = signer {
            r.token = token.clone();
            r.alg = alg.as_str().into();
        }
        r.signature.clear();
        r
    }

    /// The vault-side checks, in order: vault, generation, request,
    /// custodian, signature (by one of the custodian's enrolled tokens),
    /// arrival before expiry (`now`), the session key opens `sealed`, the
    /// envelope's binding.
    pub fn check(&self, e: &Expected<'_>, now: Timestamp) -> Result<Accepted, RemoteError> {
        if self.vault_id != e.vault_id {
            return Err(refused(format!(
                "the response is for another vault ({}), not this one ({}); was it meant for another ceremony?",
                crate::text::bounded(&self.vault_id),
                e.vault_id
            )));
        }
        if self.generation != e.generation {
            return Err(refused(format!(
                "the response is for generation {}, but the vault is at generation {}: an old response, replayed",
                self.generation, e.generation
            )));
        }
        if !crate::secret::ct_eq(self.request.as_bytes(), hex(e.digest).as_bytes()) {
            return Err(refused(
                "the response answers another request (a replay, or a response meant for another ceremony); ask the custodian to answer this request",
            ));
        }
        let name = e.record.name.as_str();
        if self.custodian != name {
            return Err(refused(format!(
                "the response is {}'s, but {name} was asked",
                crate::text::bounded(&self.custodian)
            )));
        }
        self.check_signature(e.record)?;
        if now.0 > e.expires.0 {
            return Err(refused(format!(
                "the response arrived after the request expired ({}; it is now {}); ask for a new request",
                e.expires.to_rfc3339(),
                now.to_rfc3339()
            )));
        }
        let sealed =
            unb64(&self.sealed, "sealed").map_err(|_| refused("'sealed' is not base64"))?;
        let plain = e.session.decrypt(&sealed, MAX_ENVELOPE).map_err(|_| {
            refused("the response's sealed share does not open with this request's session key")
        })?;
        let envelope = Envelope::decode(&plain).map_err(|x| refused(format!("{name}'s {x}")))?;
        envelope
            .check_binding(
                e.vault_id_bytes,
                e.generation,
                name,
                e.threshold,
                e.record.x,
            )
            .map_err(|x| refused(format!("{name}'s {x}")))?;
        Ok(Accepted {
            envelope,
            token: self.token.clone(),
        })
    }

    fn check_signature(&self, record: &CustodianRecord) -> Result<(), RemoteError> {
        let name = record.name.as_str();
        let invalid = || {
            refused(format!(
                "the response does not carry a valid signature of {name}'s token {}: it was altered in transit or forged",
                crate::text::bounded(&self.token)
            ))
        };
        let token = record
            .tokens
            .iter()
            .find(|t| t.fingerprint() == self.token)
            .ok_or_else(invalid)?;
        let (alg, key) = token.signing_public().ok_or_else(invalid)?;
        if alg.as_str() != self.alg {
            return Err(invalid());
        }
        let sig = encoding::unhex_vec(&self.signature).ok_or_else(invalid)?;
        let body = self.signed_body()?;
        let ok = match alg {
            Alg::Ed25519 => <[u8; 32]>::try_from(key.as_slice())
                .is_ok_and(|k| verify_ed25519(&k, Purpose::RemoteResponse, &body, &sig)),
            Alg::EcdsaP256 => {
                crate::sign::is_p256_low_s(&sig)
                    && verify_p256(&key, Purpose::RemoteResponse, &body, &sig)
            }
        };
        ok.then_some(()).ok_or_else(invalid)
    }
}
