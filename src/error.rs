//! The library's top-level error: every domain error, plus ceremony outcomes,
//! each mapped to a documented exit code (0 ok, 1 verification failed or
//! something overdue, 2 usage or operational error).

use crate::{
    envelope::EnvelopeError, kdf::KdfError, keys::KeyError, log::LogError, manifest::ManifestError,
    payload::PayloadError, shamir::ShamirError, token::TokenError, ui::UiError, vault::VaultError,
};

/// Any failure of a ceremony or command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Wrong use: bad arguments or parameters (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A file named by the operator could not be read or written (exit 2).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "read identity file".
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A custodian set is refused at init or rekey (exit 2).
    #[error(transparent)]
    Custodians(#[from] crate::token::set::CustodianSetError),
    /// The audit log does not verify (exit 1).
    #[error("the audit log does not verify: {explanation}")]
    LogBroken {
        /// What is wrong.
        explanation: String,
    },
    /// The manifest is not what the custodians' quorum certified (exit 1).
    #[error("the vault cannot be trusted: {explanation}")]
    Untrusted {
        /// What is wrong and what to do.
        explanation: String,
    },
    /// A custodian's share was rejected and not enough remain (exit 2).
    #[error("not enough valid shares: {have} of {need} needed{details}")]
    NotEnoughShares {
        /// Accepted shares.
        have: usize,
        /// Threshold.
        need: usize,
        /// "; alice: why" for each rejection.
        details: String,
    },
    /// The manifest MAC failed after combining (exit 1).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The payload file does not match the manifest (exit 1).
    #[error("the payload file does not match the digest in the manifest: it was altered or replaced; restore the vault from a backup copy")]
    PayloadDigest,
    /// Vault files.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Log I/O.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Tokens.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Prompts.
    #[error(transparent)]
    Ui(#[from] UiError),
    /// Secret sharing.
    #[error(transparent)]
    Shamir(#[from] ShamirError),
    /// Payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// Envelope.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// Keys.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// KDF.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// A remote request or response refused or unreadable (exit 1).
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// age encryption or decryption failed.
    #[error("{0}")]
    Age(String),
    /// A post-incident review lacks required parts (exit 2).
    #[error("the review is incomplete; missing: {missing}")]
    ReviewIncomplete {
        /// What is missing, comma-separated.
        missing: String,
    },
    /// Something is overdue (status) (exit 1).
    #[error("{0}")]
    Overdue(String),
    /// The command's output could not be written, e.g. to a full disk (exit 2).
    /// (A reader that went away, EPIPE, is not an error: the binary stops
    /// printing quietly.)
    #[error("cannot write to {what}: {source}")]
    Output {
        /// Where the output went ("standard output", a file name).
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O error on a named file.
    pub fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::LogBroken { .. }
            | Error::Untrusted { .. }
            | Error::Manifest(ManifestError::BadMac)
            | Error::Manifest(ManifestError::BadSignature { .. })
            | Error::PayloadDigest
            | Error::Remote(_)
            | Error::Overdue(_) => 1,
            _ => 2,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
