//! Secret-holding types.
//!
//! Invariant: a secret value lives only inside these types. They zeroize on
//! drop, implement neither `Debug`, `Display` nor `Clone`, and compare in
//! constant time. Anything that needs to leave them (to be shown to a
//! custodian, or typed into a KDF) borrows the bytes for the shortest time.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Secret bytes (a key, a share, a decrypted payload). Zeroized on drop.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; the caller's buffer is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A zero-filled secret buffer of `len` bytes, to be filled in place.
    pub fn zeroed(len: usize) -> Self {
        Self(Zeroizing::new(vec![0u8; len]))
    }

    /// Borrow the secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Borrow the secret bytes mutably (to fill them in place).
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        ct_eq(&self.0, other)
    }
}

/// A secret string (passphrase, PIN, password value). Zeroized on drop.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `s`.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// Borrow the secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes one trailing `\n` or `\r\n` in place (for values read as lines).
    pub fn trim_newline(&mut self) {
        if self.0.ends_with('\n') {
            self.0.pop();
            if self.0.ends_with('\r') {
                self.0.pop();
            }
        }
    }

    /// Constant-time equality with another secret string.
    pub fn ct_eq(&self, other: &SecretString) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl From<Zeroizing<String>> for SecretString {
    fn from(s: Zeroizing<String>) -> Self {
        Self(s)
    }
}

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// Constant-time comparison of two byte strings. Lengths are not secret.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        let s = SecretBytes::new(b"key".to_vec());
        assert!(s.ct_eq(b"key"));
        assert!(!s.ct_eq(b"kex"));
    }

    #[test]
    fn trim_newline_strips_one_line_ending() {
        let mut s = SecretString::new("pass\r\n".into());
        s.trim_newline();
        assert_eq!(s.expose(), "pass");
        let mut s = SecretString::new("pass\n\n".into());
        s.trim_newline();
        assert_eq!(s.expose(), "pass\n");
    }
}
