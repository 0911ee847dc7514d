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
