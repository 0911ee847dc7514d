//! The rules a custodian set meets before shares are made for it (setup,
//! rekey): threshold 2 or more and at most the share limit, valid distinct
//! names, every custodian with a token, no token (recipient or YubiKey
//! serial) enrolled for two custodians (SECURITY.md, invariant 1).

use super::{check_recipient_canonical, CustodianDescriptor, TokenDescriptor};
use crate::shamir;

/// Why a custodian set is refused (init, rekey). Names are quoted as given
/// (bounded); messages say what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustodianSetError {
    /// Threshold below 2.
    #[error("threshold {0} is refused: a single custodian could open the vault alone, which defeats dual control; use --threshold 2 or more")]
    ThresholdBelowTwo(u8),
    /// Fewer custodians than the threshold.
    #[error("threshold {threshold} needs at least {threshold} custodians, {given} given")]
    TooFew {
        /// The threshold asked for.
        threshold: u8,
        /// Custodians given.
        given: usize,
    },
    /// More custodians than shares can be made.
    #[error("at most {max} custodians")]
    TooMany {
        /// The limit.
        max: u8,
    },
    /// A descriptor of another format.
    #[error(
        "custodian descriptor of '{custodian}' is not {}",
        CustodianDescriptor::FORMAT
    )]
    WrongFormat {
        /// The custodian.
        custodian: String,
    },
    /// A name outside [`crate::names::RULE`].
    #[error("custodian name '{name}' is invalid: use {rule}", rule = crate::names::RULE)]
    BadName {
        /// The name (bounded).
        name: String,
    },
    /// The same custodian twice.
    #[error("custodian '{custodian}' is given twice; each custodian holds exactly one share")]
    Duplicate {
        /// The custodian.
        custodian: String,
    },
    /// A custodian without a token.
    #[error("custodian '{custodian}' has no token")]
    NoToken {
        /// The custodian.
        custodian: String,
    },
    /// A token's recipient is not in canonical form.
    #[error("custodian descriptor of '{custodian}': {why}")]
    BadRecipient {
        /// The custodian.
        custodian: String,
        /// What is wrong.
        why: String,
    },
    /// One token (recipient) enrolled for two custodians.
    #[error("the same token ({fingerprint}) is enrolled for '{first}' and '{second}'; one token can never belong to two custodians")]
    SharedToken {
        /// The token's fingerprint.
        fingerprint: String,
        /// The first custodian holding it.
        first: String,
        /// The second.
        second: String,
    },
    /// One YubiKey (serial) enrolled for two custodians.
    #[error("YubiKey {serial} is enrolled for '{first}' and '{second}'; one token can never belong to two custodians")]
    SharedSerial {
        /// The serial.
        serial: u32,
        /// The first custodian holding it.
        first: String,
        /// The second.
        second: String,
    },
}

/// Checks a custodian set for init/rekey: names valid and distinct, tokens
/// distinct across custodians, threshold in range.
pub fn check_custodians(
    custodians: &[CustodianDescriptor],
    threshold: u8,
) -> Result<(), CustodianSetError> {
    use CustodianSetError as E;
    if threshold < 2 {
        return Err(E::ThresholdBelowTwo(threshold));
    }
    if custodians.len() < threshold as usize {
        return Err(E::TooFew {
            threshold,
            given: custodians.len(),
        });
    }
    if custodians.len() > shamir::MAX_SHARES as usize {
        return Err(E::TooMany {
            max: shamir::MAX_SHARES,
        });
    }
    let mut recipients: Vec<(&str, &str)> = Vec::new();
    let mut serials: Vec<(u32, &str)> = Vec::new();
    for (i, c) in custodians.iter().enumerate() {
        let custodian = || c.name.to_string();
        if c.format != CustodianDescriptor::FORMAT {
            return Err(E::WrongFormat {
                custodian: crate::text::bounded(&c.name),
            });
        }
        if !crate::names::is_valid(&c.name) {
            return Err(E::BadName {
                name: crate::text::bounded(&c.name),
            });
        }
        if custodians[..i].iter().any(|o| o.name == c.name) {
            return Err(E::Duplicate {
                custodian: custodian(),
            });
        }
        if c.tokens.is_empty() {
            return Err(E::NoToken {
                custodian: custodian(),
            });
        }
        for t in &c.tokens {
            check_recipient_canonical(t).map_err(|why| E::BadRecipient {
                custodian: custodian(),
                why: why.to_string(),
            })?;
            if let Some((_, other)) = recipients.iter().find(|(r, _)| *r == t.recipient()) {
                return Err(E::SharedToken {
                    fingerprint: t.fingerprint(),
                    first: (*other).into(),
                    second: custodian(),
                });
            }
            recipients.push((t.recipient(), &c.name));
            if let TokenDescriptor::Yubikey(y) = t {
                if let Some((_, other)) = serials.iter().find(|(s, _)| *s == y.serial) {
                    return Err(E::SharedSerial {
                        serial: y.serial,
                        first: (*other).into(),
                        second: custodian(),
                    });
                }
                serials.push((y.serial, &c.name));
            }
        }
    }
    Ok(())
}
