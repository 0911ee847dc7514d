//! Remote custodians (`docs/remote.md`): a custodian who is not at the
//! air-gapped vault machine presents their share through two files that
//! travel by any channel (a USB stick, e-mail, chat, QR codes) and a code
//! read aloud over a voice call.
//!
//! * [`request`]: what the vault machine sends — the custodian's share file
//!   (already encrypted to their tokens), the vault's public chain up to the
//!   current manifest, ticket, reason, a one-time session key, an expiry —
//!   and the custodian-side check of all of it against the fingerprint on
//!   their paper card, before any PIN is asked.
//! * [`sas`]: the code read aloud: Argon2id of the request digest, so a
//!   relay that swaps the session key changes the code.
//! * [`response`]: what the custodian sends back — their share envelope
//!   sealed to the session key, bound to the request's digest and signed by
//!   their token — and the vault-side checks.
//! * The custodian's side end to end (`breakglass respond`) is the
//!   ceremony `crate::ceremony::respond`; the vault side's is
//!   `crate::ceremony::remote`.
//! * [`armor`]: the checksummed text blocks that survive e-mail and chat,
//!   and their QR parts.
//!
//! Invariants: the session key's secret half exists only in the ceremony's
//! memory; nothing secret is written on the custodian's disk (the response
//! holds the share sealed to the session key); every check on either side
//! names what is wrong; parsers take untrusted bytes of bounded size and
//! never panic (fuzzed: `fuzz/fuzz_targets/remote.rs`).

pub mod armor;
pub mod request;
pub mod response;
pub mod sas;

pub use request::{Request, Verified};
pub use response::Response;

/// Largest request or response file read, and largest text block (4 MiB).
pub const MAX_FILE: usize = 4 << 20;

/// Longest lifetime of a request (`--remote-expiry`): one hour. It bounds
/// the time a relay has to search for a request with the same code.
pub const MAX_LIFETIME_SECS: i64 = 3600;

/// A remote request or response refused, or unreadable (exit 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The bytes are not a well-formed request or response (or text block).
    #[error("{what} cannot be read: {why}")]
    Malformed {
        /// "the request", "the response", "the text block".
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A well-formed file that must not be answered or accepted; the text
    /// says why and what to do.
    #[error("{0}")]
    Refused(String),
}

impl RemoteError {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> RemoteError {
        RemoteError::Malformed {
            what,
            why: why.into(),
        }
    }
}

/// Reads a file that may be either the raw file or its text block of
/// `kind`: (the file's bytes, whether it came as a block).
pub fn decode_any(kind: armor::Kind, bytes: &[u8]) -> Result<(Vec<u8>, bool), RemoteError> {
    if bytes.len() > MAX_FILE {
        return Err(RemoteError::malformed(
            kind.what(),
            format!("it is larger than {} MiB", MAX_FILE >> 20),
        ));
    }
    let text = std::str::from_utf8(bytes).ok();
    match text {
        Some(t) if armor::has_block(t) => Ok((armor::decode(kind, t)?, true)),
        _ => Ok((bytes.to_vec(), false)),
    }
}
