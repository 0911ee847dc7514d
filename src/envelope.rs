//! The share envelope: the plaintext inside a custodian's age share file.
//!
//! Format `breakglass-share/1`, exactly these seven lines, LF-terminated:
//!
//! ```text
//! breakglass-share/1
//! vault: <32 lower-case hex digits>
//! generation: <decimal, no leading zeros, ≥ 1>
//! custodian: <custodian name>
//! threshold: <decimal, 2..=32>
//! x: <decimal, 1..=32>
//! y: <64 lower-case hex digits>
//! ```
//!
//! Binding vault, generation, custodian and x to y means a share cannot be
//! replayed into another vault, another generation or another custodian's
//! slot: the opener checks every field against the manifest before the share
//! is used. Decoders reject any other spelling (canonical form only).

use zeroize::Zeroizing;

use crate::encoding::{hex, unhex};
use crate::secret::SecretBytes;
use crate::shamir::Share;

/// First line of the format.
pub const MAGIC: &str = "breakglass-share/1";

/// A decoded envelope. `share.y` is secret.
pub struct Envelope {
    /// Vault id.
    pub vault_id: [u8; 16],
    /// Generation.
    pub generation: u64,
    /// Custodian name.
    pub custodian: String,
    /// Threshold of the generation.
    pub threshold: u8,
    /// The share.
    pub share: Share,
}

/// Envelope errors (never contain y).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not an envelope of this version.
    #[error("share envelope is malformed: {0}")]
    Malformed(&'static str),
    /// Field does not match what the manifest expects.
    #[error("share envelope is bound to a different {field} (expected {expected}, found {found}); this share belongs to another vault, generation or custodian")]
    Mismatch {
        /// Field name.
        field: &'static str,
        /// Expected value.
        expected: String,
        /// Found value.
        found: String,
    },
}

impl Envelope {
    /// Encodes the envelope (the result is secret: it contains y).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(256));
        let header = format!(
            "{MAGIC}\nvault: {}\ngeneration: {}\ncustodian: {}\nthreshold: {}\nx: {}\ny: ",
            hex(&self.vault_id),
            self.generation,
            self.custodian,
            self.threshold,
            self.share.x
        );
        out.extend_from_slice(header.as_bytes());
        let y = Zeroizing::new(hex(self.share.y.expose()));
        out.extend_from_slice(y.as_bytes());
        out.push(b'\n');
        out
    }

    /// Decodes canonical envelope bytes.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        use EnvelopeError::Malformed;
        let text = std::str::from_utf8(bytes).map_err(|_| Malformed("not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(Malformed("missing final newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() != 7 {
            return Err(Malformed("expected exactly 7 lines"));
        }
        if lines[0] != MAGIC {
            return Err(Malformed("first line is not breakglass-share/1"));
        }
        let field = |i: usize, name: &'static str| -> Result<&str, EnvelopeError> {
            lines[i]
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(": "))
                .ok_or(Malformed("fields out of order or misspelt"))
        };
        let vault_id = unhex::<16>(field(1, "vault")?, "vault")
            .map_err(|_| Malformed("vault is not 32 lower-case hex digits"))?;
        let generation = decimal(field(2, "generation")?, u64::MAX)?;
        if generation == 0 {
            return Err(Malformed("generation must be at least 1"));
        }
        let custodian = field(3, "custodian")?;
        if !crate::names::is_valid(custodian) {
            return Err(Malformed("custodian is not a valid name"));
        }
        let threshold = decimal(field(4, "threshold")?, 32)? as u8;
        if threshold < 2 {
            return Err(Malformed("threshold must be at least 2"));
        }
        let x = decimal(field(5, "x")?, 32)? as u8;
        if x == 0 {
            return Err(Malformed("x must be at least 1"));
        }
        let y = Zeroizing::new(
            unhex::<32>(field(6, "y")?, "y")
                .map_err(|_| Malformed("y is not 64 lower-case hex digits"))?,
        );
        Ok(Envelope {
            vault_id,
            generation,
            custodian: custodian.to_owned(),
            threshold,
            share: Share {
                x,
                y: SecretBytes::new(y.to_vec()),
            },
        })
    }

    /// Checks the binding against the values the manifest expects.
    pub fn check_binding(
        &self,
        vault_id: &[u8; 16],
        generation: u64,
        custodian: &str,
        threshold: u8,
        x: u8,
    ) -> Result<(), EnvelopeError> {
        let mismatch = |field, expected: String, found: String| {
            Err(EnvelopeError::Mismatch {
                field,
                expected,
                found,
            })
        };
        if &self.vault_id != vault_id {
            return mismatch("vault", hex(vault_id), hex(&self.vault_id));
        }
        if self.generation != generation {
            return mismatch(
                "generation",
                generation.to_string(),
                self.generation.to_string(),
            );
        }
        if self.custodian != custodian {
            return mismatch("custodian", custodian.into(), self.custodian.clone());
        }
        if self.threshold != threshold {
            return mismatch(
                "threshold",
                threshold.to_string(),
                self.threshold.to_string(),
            );
        }
        if self.share.x != x {
            return mismatch("x", x.to_string(), self.share.x.to_string());
        }
        Ok(())
    }
}

fn decimal(s: &str, max: u64) -> Result<u64, EnvelopeError> {
    let bad = EnvelopeError::Malformed("number is not canonical decimal or out of range");
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad);
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad);
    }
    match s.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            vault_id: [0xab; 16],
            generation: 3,
            custodian: "alice".into(),
            threshold: 2,
            share: Share {
                x: 1,
                y: SecretBytes::new(vec![0x11; 32]),
            },
        }
    }

    #[test]
    fn round_trip_is_canonical() {
        let bytes = sample().encode();
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(&*back.encode(), &*bytes);
        assert!(back.check_binding(&[0xab; 16], 3, "alice", 2, 1).is_ok());
    }

    #[test]
    fn binding_mismatch_is_named() {
        let e = sample();
        let err = e.check_binding(&[0xab; 16], 4, "alice", 2, 1).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::Mismatch {
                field: "generation",
                ..
            }
        ));
        let err = e.check_binding(&[0xab; 16], 3, "bob", 2, 1).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::Mismatch {
                field: "custodian",
                ..
            }
        ));
    }
}
