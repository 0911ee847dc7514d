//! The code read aloud (a short authentication string, as in ZRTP): twelve
//! digits derived from the request digest, shown on the vault machine and
//! typed by the custodian, who hears it from the lead over a voice call.
//!
//! `Argon2id(password = SHA-256(request file), salt = "breakglass/v2 remote
//! code", m = 19 MiB, t = 2, p = 1)`, the first 8 bytes big-endian modulo
//! 10¹², written `DDDD-DDDD-DDDD`. A relay that replaced the session key (or
//! anything else) changed the digest and so, but with probability 10⁻¹², the
//! code; to make them agree it must search about 2⁴⁰ requests of 19 MiB of
//! Argon2id each within the request's lifetime (at most an hour). The code
//! is public once spoken: it authenticates, it does not hide anything.

use super::RemoteError;
use crate::kdf::{derive_bytes, KdfParams};

/// Argon2id parameters of the code.
pub const PARAMS: KdfParams = KdfParams {
    m_kib: 19 * 1024,
    t: 2,
    p: 1,
};

/// The salt (domain separation).
pub const SALT: &[u8] = b"breakglass/v2 remote code";

/// The code of a request whose digest is `digest`, as `DDDD-DDDD-DDDD`.
pub fn code(digest: &[u8; 32]) -> Result<String, RemoteError> {
    let out = derive_bytes(digest, SALT, PARAMS)
        .map_err(|e| RemoteError::Refused(format!("cannot compute the code: {e}")))?;
    let mut first = [0u8; 8];
    first.copy_from_slice(out.expose().get(..8).unwrap_or(&[0; 8]));
    let n = u64::from_be_bytes(first) % 1_000_000_000_000;
    let d = format!("{n:012}");
    Ok(format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..]))
}

/// Whether what the custodian typed (`typed`: digits, with or without
/// dashes and spaces) is `code`; compared in constant time. `Err` when
/// `typed` is not twelve digits at all (a usage slip, said so).
pub fn typed_matches(typed: &str, code: &str) -> Result<bool, String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the code is twelve digits, as the lead reads them (e.g. 1234-5678-9012); what was typed has {} characters",
            typed.chars().count()
        ));
    }
    let want: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    Ok(crate::secret::ct_eq(digits.as_bytes(), want.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_twelve_digits_and_follows_the_digest() {
        let a = code(&[0u8; 32]).unwrap();
        let b = code(&[1u8; 32]).unwrap();
        assert_eq!(a.len(), 14);
        assert!(a.chars().enumerate().all(|(i, c)| if i == 4 || i == 9 {
            c == '-'
        } else {
            c.is_ascii_digit()
        }));
        assert_ne!(a, b);
        assert_eq!(a, code(&[0u8; 32]).unwrap());
    }

    #[test]
    fn typed_codes_are_compared_digit_by_digit() {
        let c = "0123-4567-8901";
        assert_eq!(typed_matches("0123-4567-8901", c), Ok(true));
        assert_eq!(typed_matches(" 0123 4567 8901 ", c), Ok(true));
        assert_eq!(typed_matches("012345678901", c), Ok(true));
        assert_eq!(typed_matches("0123-4567-8902", c), Ok(false));
        assert!(typed_matches("0123-4567", c).is_err());
        assert!(typed_matches("0123-4567-890x", c).is_err());
        assert!(typed_matches("", c).is_err());
    }
}
