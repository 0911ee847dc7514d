//! age files: encrypt to recipients, decrypt with one identity into a
//! zeroizing buffer with a size cap. The only place that drives age's
//! stream API (the piv-p256 stanza lives in [`super::piv_p256`]).

use std::io::{Read, Write};

use zeroize::Zeroizing;

/// age failed to encrypt (the message is age's).
#[derive(Debug, thiserror::Error)]
#[error("age encryption failed: {0}")]
pub struct EncryptError(pub String);

/// Encrypts `plaintext` with age to the given recipients.
pub fn encrypt(
    recipients: &[Box<dyn age::Recipient + Send>],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    let e = |e: &dyn std::fmt::Display| EncryptError(e.to_string());
    let refs = recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient);
    let enc = age::Encryptor::with_recipients(refs).map_err(|x| e(&x))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut w = enc.wrap_output(&mut out).map_err(|x| e(&x))?;
    w.write_all(plaintext).map_err(|x| e(&x))?;
    w.finish().map_err(|x| e(&x))?;
    Ok(out)
}

/// A one-time X25519 key pair, in memory only: the session key of a remote
/// share request (`docs/remote.md`). No `Debug`, no `Clone`; it is never
/// written anywhere, so once it is dropped nothing sealed to it opens.
pub struct SessionKey(age::x25519::Identity);

impl SessionKey {
    /// A fresh key pair from the OS RNG.
    pub fn generate() -> SessionKey {
        SessionKey(age::x25519::Identity::generate())
    }

    /// The public half, as an age recipient (`age1…`).
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    /// Opens an age file sealed to this key (plaintexts over `max` bytes are
    /// refused).
    pub fn decrypt(
        &self,
        file: &[u8],
        max: usize,
    ) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
        decrypt(&self.0, file, max)
    }
}

/// Whether `recipient` is an age X25519 recipient in its canonical spelling.
pub fn is_x25519_recipient(recipient: &str) -> bool {
    recipient
        .parse::<age::x25519::Recipient>()
        .is_ok_and(|r| r.to_string() == recipient)
}

/// Encrypts `plaintext` to one age X25519 recipient (`age1…`).
pub fn encrypt_to_x25519(recipient: &str, plaintext: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let r: age::x25519::Recipient = recipient
        .parse()
        .map_err(|e: &str| EncryptError(format!("not an age X25519 recipient: {e}")))?;
    encrypt(&[Box::new(r)], plaintext)
}

/// Decrypts an age file with one identity; refuses plaintexts over `max` bytes.
pub fn decrypt(
    identity: &dyn age::Identity,
    file: &[u8],
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    let dec = age::Decryptor::new_buffered(file)?;
    let mut r = dec.decrypt(std::iter::once(identity))?;
    let mut out = Zeroizing::new(Vec::with_capacity(max.min(1 << 16)));
    r.by_ref()
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(age::DecryptError::Io)?;
    if out.len() > max {
        return Err(age::DecryptError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "decrypted content too large",
        )));
    }
    Ok(out)
}
