//! Shamir secret sharing of the 32-byte vault key over GF(256).
//!
//! The only user of `vsss-rs` (constant-time GF(256) arithmetic, coefficients
//! drawn uniformly over the whole field — the property whose absence is
//! RUSTSEC-2024-0398 in `sharks` —, rejects x = 0 and duplicate x). Share
//! x-coordinates are custodian indices 1..=n. Shares carry no integrity of
//! their own: the caller authenticates them (envelope binding inside an age
//! file, manifest commitment) and the combined key is checked against the
//! manifest MAC, so a wrong share can never become a silently wrong key.

use crate::secret::SecretBytes;

/// Length of the shared secret (the vault master key).
pub const SECRET_LEN: usize = 32;
/// Largest number of custodians a vault may have.
pub const MAX_SHARES: u8 = 32;

/// One share: x-coordinate and the 32 y-bytes (secret).
pub struct Share {
    /// x-coordinate, 1..=255 (the custodian index).
    pub x: u8,
    /// y-values, one per secret byte.
    pub y: SecretBytes,
}

/// Sharing errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShamirError {
    /// Threshold below 2 (no dual control) or above the number of shares.
    #[error("threshold {threshold} is not allowed for {shares} custodians: it must be at least 2 (dual control) and at most the number of custodians")]
    BadThreshold {
        /// Requested threshold.
        threshold: u8,
        /// Number of shares.
        shares: u8,
    },
    /// Too many shares.
    #[error("{0} custodians is more than the maximum of {MAX_SHARES}")]
    TooManyShares(u8),
    /// Fewer distinct shares than the threshold.
    #[error("{have} distinct shares present, {need} needed")]
    NotEnoughShares {
        /// Distinct shares presented.
        have: usize,
        /// Threshold.
        need: usize,
    },
    /// A share is malformed (x = 0, wrong length, duplicate x).
    #[error("share with x = {x} is malformed ({why})")]
    BadShare {
        /// The x-coordinate.
        x: u8,
        /// What is wrong.
        why: &'static str,
    },
    /// The OS random generator failed.
    #[error("the operating system's random generator failed")]
    Rng,
    /// The sharing library refused.
    #[error("secret sharing failed: {0}")]
    Library(String),
}

/// A CSPRNG for vsss-rs: ChaCha12 seeded from the OS (seeding is the only
/// fallible step, so generation never panics).
struct SeededRng(rand::rngs::StdRng);

impl rand_core_010::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::RngCore::next_u32(&mut self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::RngCore::next_u64(&mut self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::RngCore::fill_bytes(&mut self.0, dst);
        Ok(())
    }
}
impl rand_core_010::TryCryptoRng for SeededRng {}

fn check_params(threshold: u8, n: u8) -> Result<(), ShamirError> {
    if n > MAX_SHARES {
        return Err(ShamirError::TooManyShares(n));
    }
    if threshold < 2 || threshold > n {
        return Err(ShamirError::BadThreshold {
            threshold,
            shares: n,
        });
    }
    Ok(())
}

/// Splits `secret` into `n` shares with x = 1..=n, any `threshold` of which recover it.
pub fn split(secret: &SecretBytes, threshold: u8, n: u8) -> Result<Vec<Share>, ShamirError> {
    check_params(threshold, n)?;
    if secret.len() != SECRET_LEN {
        return Err(ShamirError::Library("secret must be 32 bytes".into()));
    }
    let rng = SeededRng(
        <rand::rngs::StdRng as rand::SeedableRng>::from_rng(rand::rngs::OsRng)
            .map_err(|_| ShamirError::Rng)?,
    );
    let ids = (1..=n).map(|x| vsss_rs::IdentifierGf256(vsss_rs::Gf256(x)));
    let raw = vsss_rs::Gf256::split_bytes_with_participant_ids_iter(
        threshold as usize,
        n as usize,
        secret.expose(),
        rng,
        ids,
    )
    .map_err(|e| ShamirError::Library(format!("{e:?}")))?;
    let mut shares = Vec::with_capacity(n as usize);
    for mut s in raw {
        let share = match s.split_first() {
            Some((&x, y)) if y.len() == SECRET_LEN => Share {
                x,
                y: SecretBytes::new(y.to_vec()),
            },
            _ => return Err(ShamirError::Library("unexpected share layout".into())),
        };
        zeroize::Zeroize::zeroize(&mut s);
        shares.push(share);
    }
    Ok(shares)
}

/// Recovers the secret from at least `threshold` shares with distinct x.
pub fn combine(shares: &[&Share], threshold: u8) -> Result<SecretBytes, ShamirError> {
    let mut seen = [false; 256];
    for s in shares {
        if s.x == 0 {
            return Err(ShamirError::BadShare {
                x: 0,
                why: "x must not be 0",
            });
        }
        if s.y.len() != SECRET_LEN {
            return Err(ShamirError::BadShare {
                x: s.x,
                why: "y must be 32 bytes",
            });
        }
        if seen[s.x as usize] {
            return Err(ShamirError::BadShare {
                x: s.x,
                why: "the same share was presented twice",
            });
        }
        seen[s.x as usize] = true;
    }
    if threshold < 2 || shares.len() < threshold as usize {
        return Err(ShamirError::NotEnoughShares {
            have: shares.len(),
            need: threshold.max(2) as usize,
        });
    }
    let mut raw: Vec<Vec<u8>> = shares
        .iter()
        .map(|s| {
            let mut v = Vec::with_capacity(SECRET_LEN + 1);
            v.push(s.x);
            v.extend_from_slice(s.y.expose());
            v
        })
        .collect();
    let result = vsss_rs::Gf256::combine_bytes(&raw)
        .map_err(|e| ShamirError::Library(format!("{e:?}")))
        .map(SecretBytes::new);
    for v in raw.iter_mut() {
        zeroize::Zeroize::zeroize(v);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretBytes {
        SecretBytes::new(
            (0u8..32)
                .map(|i| i.wrapping_mul(7).wrapping_add(3))
                .collect(),
        )
    }

    /// SECURITY.md invariant 1: for n up to 5, every subset below the threshold fails to
    /// recover the key and every subset at or above recovers it exactly.
    #[test]
    fn every_subset_below_threshold_fails_and_at_or_above_succeeds() {
        let k = secret();
        for n in 2u8..=5 {
            for t in 2..=n {
                let shares = split(&k, t, n).unwrap();
                for mask in 1u32..(1 << n) {
                    let subset: Vec<&Share> = shares
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, s)| s)
                        .collect();
                    let result = combine(&subset, t);
                    if subset.len() >= t as usize {
                        assert!(
                            result.unwrap().ct_eq(k.expose()),
                            "n={n} t={t} mask={mask:b}"
                        );
                    } else {
                        assert!(
                            matches!(result, Err(ShamirError::NotEnoughShares { .. })),
                            "n={n} t={t} mask={mask:b}"
                        );
                        // Even forcing the library with too few shares never yields the key.
                        if subset.len() >= 2 {
                            let forced = combine(&subset, subset.len() as u8).unwrap();
                            assert!(!forced.ct_eq(k.expose()), "n={n} t={t} mask={mask:b}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn threshold_one_and_oversized_thresholds_are_refused() {
        let k = secret();
        assert_eq!(
            split(&k, 1, 3).err(),
            Some(ShamirError::BadThreshold {
                threshold: 1,
                shares: 3
            })
        );
        assert_eq!(
            split(&k, 4, 3).err(),
            Some(ShamirError::BadThreshold {
                threshold: 4,
                shares: 3
            })
        );
        assert_eq!(split(&k, 2, 40).err(), Some(ShamirError::TooManyShares(40)));
    }

    #[test]
    fn the_same_share_twice_counts_once() {
        let shares = split(&secret(), 2, 3).unwrap();
        let err = combine(&[&shares[0], &shares[0]], 2).err().unwrap();
        assert!(matches!(err, ShamirError::BadShare { x: 1, .. }));
    }

    #[test]
    fn resplitting_gives_fresh_shares() {
        let k = secret();
        let a = split(&k, 2, 3).unwrap();
        let b = split(&k, 2, 3).unwrap();
        assert!(!a[0].y.ct_eq(b[0].y.expose()));
        // Mixing shares of two splittings never yields the key.
        assert!(!combine(&[&a[0], &b[1]], 2).unwrap().ct_eq(k.expose()));
    }
}
