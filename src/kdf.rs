//! Passphrase key derivation: Argon2id, the only user of the `argon2` crate.
//!
//! Parameters are stored beside what they protect and are **capped when
//! read**: a planted identity file cannot cost a custodian's laptop more
//! than it can pay. At the caps one unlock needs 1 GiB of memory and ten
//! passes over it (seconds on a laptop, at most a minute on a weak one); the
//! old caps (2 GiB, 32 passes) could exhaust an 8 GiB laptop's memory and
//! take many minutes, in the middle of an emergency.
//!
//! | parameter | minimum | default | maximum |
//! |---|---|---|---|
//! | memory `m_kib` | 8 192 (8 MiB) | 65 536 (64 MiB, RFC 9106 second recommendation) | 1 048 576 (1 GiB) |
//! | passes `t` | 1 | 3 | 10 |
//! | lanes `p` | 1 | 1 | 8 |
//!
//! The default takes about one second on a laptop (see `benches/`). Values
//! below the default are accepted only for throwaway demo and test
//! identities, which say so when created.

use serde::{Deserialize, Serialize};

use crate::secret::{SecretBytes, SecretString};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Number of passes.
    pub t: u32,
    /// Degree of parallelism (lanes).
    pub p: u32,
}

/// KDF errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfError {
    /// A parameter is outside the accepted range.
    #[error("argon2id parameter {name} = {value} is outside the accepted range {min}..={max} (this tool asks at most m_kib = 1048576 (1 GiB), t = 10, p = 8 of a laptop); the file was not written by this tool or is corrupted: use the custodian's own copy of their identity")]
    OutOfRange {
        /// Parameter name.
        name: &'static str,
        /// Value found.
        value: u32,
        /// Smallest accepted.
        min: u32,
        /// Largest accepted.
        max: u32,
    },
    /// The salt is not 16–64 bytes.
    #[error("argon2id salt must be 16 to 64 bytes, found {0}")]
    BadSalt(usize),
    /// The argon2 implementation refused (should not happen with checked parameters).
    #[error("argon2id failed: {0}")]
    Argon2(String),
}

impl KdfParams {
    /// Minimum memory (KiB).
    pub const MIN_M_KIB: u32 = 8 * 1024;
    /// Maximum memory (KiB): 1 GiB.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    /// Minimum passes.
    pub const MIN_T: u32 = 1;
    /// Maximum passes.
    pub const MAX_T: u32 = 10;
    /// Maximum lanes.
    pub const MAX_P: u32 = 8;

    /// The production default (RFC 9106: 64 MiB, t = 3, p = 1).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// The cheapest accepted parameters: demo and test identities only.
    pub const DEMO: KdfParams = KdfParams {
        m_kib: Self::MIN_M_KIB,
        t: 1,
        p: 1,
    };

    /// Checks every parameter against its range.
    pub fn validate(&self) -> Result<(), KdfError> {
        let check = |name, value, min, max| {
            if value < min || value > max {
                Err(KdfError::OutOfRange {
                    name,
                    value,
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        };
        check("m_kib", self.m_kib, Self::MIN_M_KIB, Self::MAX_M_KIB)?;
        check("t", self.t, Self::MIN_T, Self::MAX_T)?;
        check("p", self.p, 1, Self::MAX_P)?;
        if self.m_kib < 8 * self.p {
            return Err(KdfError::OutOfRange {
                name: "m_kib",
                value: self.m_kib,
                min: 8 * self.p,
                max: Self::MAX_M_KIB,
            });
        }
        Ok(())
    }

    /// True when these are weaker than the production default.
    pub fn is_weaker_than_default(&self) -> bool {
        self.m_kib < Self::DEFAULT.m_kib || self.t < Self::DEFAULT.t
    }
}

/// Derives a 32-byte key from `passphrase` and `salt` (parameters checked first).
pub fn derive(
    passphrase: &SecretString,
    salt: &[u8],
    params: KdfParams,
) -> Result<SecretBytes, KdfError> {
    derive_bytes(passphrase.expose().as_bytes(), salt, params)
}

/// [`derive()`] over any input bytes (the remote code hashes a public request
/// digest: the cost is there to slow down a search, not to protect a secret).
pub fn derive_bytes(input: &[u8], salt: &[u8], params: KdfParams) -> Result<SecretBytes, KdfError> {
    params.validate()?;
    if !(16..=64).contains(&salt.len()) {
        return Err(KdfError::BadSalt(salt.len()));
    }
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| KdfError::Argon2(e.to_string()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut key = SecretBytes::zeroed(32);
    a.hash_password_into(input, salt, key.expose_mut())
        .map_err(|e| KdfError::Argon2(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_rfc9106_shape() {
        // Argon2id v1.3, m = 8192 KiB, t = 1, p = 1, 32-byte output.
        // Reference computed with the argon2 CLI (Debian `argon2` package):
        // echo -n "password" | argon2 somesaltsomesalt -id -t 1 -k 8192 -p 1 -l 32 -r
        let key = derive(
            &SecretString::new("password".into()),
            b"somesaltsomesalt",
            KdfParams::DEMO,
        )
        .unwrap();
        assert_eq!(
            crate::encoding::hex(key.expose()),
            "84fb006bbc3cd69895722b64b5bf735251a9e8e9f3ecb93ff595b98aeb7accb7"
        );
        let again = derive(
            &SecretString::new("password".into()),
            b"somesaltsomesalt",
            KdfParams::DEMO,
        )
        .unwrap();
        assert!(key.ct_eq(again.expose()));
        let other = derive(
            &SecretString::new("passworD".into()),
            b"somesaltsomesalt",
            KdfParams::DEMO,
        )
        .unwrap();
        assert!(!key.ct_eq(other.expose()));
    }

    #[test]
    fn absurd_parameters_are_refused_before_any_work() {
        let pw = SecretString::new("x".into());
        let salt = [0u8; 16];
        for (params, name) in [
            (
                KdfParams {
                    m_kib: u32::MAX,
                    t: 3,
                    p: 1,
                },
                "m_kib",
            ),
            (
                KdfParams {
                    m_kib: 65536,
                    t: 1_000_000,
                    p: 1,
                },
                "t",
            ),
            (
                KdfParams {
                    m_kib: 65536,
                    t: 3,
                    p: 0,
                },
                "p",
            ),
            (
                KdfParams {
                    m_kib: 1,
                    t: 3,
                    p: 1,
                },
                "m_kib",
            ),
        ] {
            match derive(&pw, &salt, params) {
                Err(KdfError::OutOfRange { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected OutOfRange for {name}, got {:?}", other.err()),
            }
        }
        assert_eq!(
            derive(&pw, &[0u8; 8], KdfParams::DEMO).err(),
            Some(KdfError::BadSalt(8))
        );
    }

    /// Issue "Hostile input": the caps were 2 GiB and 32 passes, more than
    /// a custodian's laptop can pay for a planted identity file. Now at most
    /// 1 GiB, 10 passes, 8 lanes; one above each is refused with the
    /// numbers, before any work.
    #[test]
    fn caps_are_one_gib_ten_passes_eight_lanes() {
        let at_caps = KdfParams {
            m_kib: 1_048_576,
            t: 10,
            p: 8,
        };
        assert_eq!(at_caps.validate(), Ok(()));
        for (params, name, value, max) in [
            (
                KdfParams {
                    m_kib: 1_048_577,
                    ..at_caps
                },
                "m_kib",
                1_048_577,
                1_048_576,
            ),
            (KdfParams { t: 11, ..at_caps }, "t", 11, 10),
            (KdfParams { p: 9, ..at_caps }, "p", 9, 8),
            (
                KdfParams {
                    m_kib: 2 * 1024 * 1024,
                    t: 32,
                    p: 1,
                },
                "m_kib",
                2_097_152,
                1_048_576,
            ),
        ] {
            let e = params.validate().unwrap_err();
            assert!(
                matches!(e, KdfError::OutOfRange { name: n, value: v, max: m, .. }
                    if n == name && v == value && m == max),
                "{e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains(&format!("{name} = {value}")) && text.contains(&format!("..={max}")),
                "{text}"
            );
            // Refused before any work (a derivation at 2 GiB would take minutes).
            let t = std::time::Instant::now();
            assert!(derive(&SecretString::new("x".into()), &[0u8; 16], params).is_err());
            assert!(t.elapsed() < std::time::Duration::from_secs(1));
        }
    }
}
