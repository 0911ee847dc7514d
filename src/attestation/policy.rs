//! PIN and touch policies as attested by the YubiKey (extension
//! `1.3.6.1.4.1.41482.3.8`, byte 0 = PIN policy, byte 1 = touch policy), their text
//! names, and the "at least" ordering enrollment uses.

use core::fmt;
use core::str::FromStr;

use super::AttestationError;

/// PIN policy of a PIV key, as attested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PinPolicy {
    /// The key can be used without the PIN.
    Never,
    /// The PIN is needed once per session.
    Once,
    /// The PIN is needed for every use.
    Always,
    /// Biometric match (or PIN) once per session (YubiKey Bio).
    MatchOnce,
    /// Biometric match (or PIN) for every use (YubiKey Bio).
    MatchAlways,
}

impl PinPolicy {
    /// Strength level used by [`Requirements`]: never = 0, once/match-once = 1,
    /// always/match-always = 2.
    pub fn level(self) -> u8 {
        match self {
            PinPolicy::Never => 0,
            PinPolicy::Once | PinPolicy::MatchOnce => 1,
            PinPolicy::Always | PinPolicy::MatchAlways => 2,
        }
    }

    /// Decodes the attested byte (1 never, 2 once, 3 always, 4 match-once,
    /// 5 match-always). 0 ("default") never appears in an attestation.
    pub(crate) fn from_attested(byte: u8) -> Result<Self, AttestationError> {
        match byte {
            1 => Ok(PinPolicy::Never),
            2 => Ok(PinPolicy::Once),
            3 => Ok(PinPolicy::Always),
            4 => Ok(PinPolicy::MatchOnce),
            5 => Ok(PinPolicy::MatchAlways),
            value => Err(AttestationError::UnknownPolicyValue { kind: "pin", value }),
        }
    }

    /// The name descriptors store and `Display` writes.
    pub fn name(self) -> &'static str {
        match self {
            PinPolicy::Never => "never",
            PinPolicy::Once => "once",
            PinPolicy::Always => "always",
            PinPolicy::MatchOnce => "match-once",
            PinPolicy::MatchAlways => "match-always",
        }
    }
}

impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PinPolicy {
    type Err = AttestationError;

    /// Accepts exactly the names [`Display`](fmt::Display) writes: `never`, `once`,
    /// `always`, `match-once`, `match-always`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PinPolicy::Never,
            PinPolicy::Once,
            PinPolicy::Always,
            PinPolicy::MatchOnce,
            PinPolicy::MatchAlways,
        ]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| AttestationError::UnknownPolicyName {
            kind: "pin",
            name: s.to_owned(),
            expected: "never, once, always, match-once, match-always",
        })
    }
}

/// Touch policy of a PIV key, as attested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TouchPolicy {
    /// No touch needed.
    Never,
    /// Touch needed for every use.
    Always,
    /// Touch needed, then cached for 15 seconds.
    Cached,
}

impl TouchPolicy {
    /// Strength level used by [`Requirements`]: never = 0, cached = 1, always = 2.
    pub fn level(self) -> u8 {
        match self {
            TouchPolicy::Never => 0,
            TouchPolicy::Cached => 1,
            TouchPolicy::Always => 2,
        }
    }

    /// Decodes the attested byte (1 never, 2 always, 3 cached).
    pub(crate) fn from_attested(byte: u8) -> Result<Self, AttestationError> {
        match byte {
            1 => Ok(TouchPolicy::Never),
            2 => Ok(TouchPolicy::Always),
            3 => Ok(TouchPolicy::Cached),
            value => Err(AttestationError::UnknownPolicyValue {
                kind: "touch",
                value,
            }),
        }
    }

    /// The name descriptors store and `Display` writes.
    pub fn name(self) -> &'static str {
        match self {
            TouchPolicy::Never => "never",
            TouchPolicy::Always => "always",
            TouchPolicy::Cached => "cached",
        }
    }
}

impl fmt::Display for TouchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TouchPolicy {
    type Err = AttestationError;

    /// Accepts exactly `never`, `always`, `cached`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [TouchPolicy::Never, TouchPolicy::Always, TouchPolicy::Cached]
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| AttestationError::UnknownPolicyName {
                kind: "touch",
                name: s.to_owned(),
                expected: "never, always, cached",
            })
    }
}

/// Minimum policies enrollment demands of an attested key.
///
/// Ordering: PIN `never < once < always` (`match-once` counts as `once`,
/// `match-always` as `always`); touch `never < cached < always`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Requirements {
    /// The weakest acceptable PIN policy.
    pub pin_policy_at_least: PinPolicy,
    /// The weakest acceptable touch policy.
    pub touch_policy_at_least: TouchPolicy,
}

impl Requirements {
    /// Checks attested policies against these requirements.
    pub(crate) fn check(&self, pin: PinPolicy, touch: TouchPolicy) -> Result<(), AttestationError> {
        if pin.level() < self.pin_policy_at_least.level() {
            return Err(AttestationError::PinPolicyTooWeak {
                found: pin,
                required: self.pin_policy_at_least,
            });
        }
        if touch.level() < self.touch_policy_at_least.level() {
            return Err(AttestationError::TouchPolicyTooWeak {
                found: touch,
                required: self.touch_policy_at_least,
            });
        }
        Ok(())
    }
}

/// The name descriptors store (what `Display` writes).
impl From<PinPolicy> for String {
    fn from(p: PinPolicy) -> String {
        p.to_string()
    }
}

/// Parses the names descriptors store; anything else is refused.
impl TryFrom<String> for PinPolicy {
    type Error = AttestationError;
    fn try_from(s: String) -> Result<Self, AttestationError> {
        s.parse()
    }
}

/// The name descriptors store (what `Display` writes).
impl From<TouchPolicy> for String {
    fn from(p: TouchPolicy) -> String {
        p.to_string()
    }
}

/// Parses the names descriptors store; anything else is refused.
impl TryFrom<String> for TouchPolicy {
    type Error = AttestationError;
    fn try_from(s: String) -> Result<Self, AttestationError> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in [
            PinPolicy::Never,
            PinPolicy::Once,
            PinPolicy::Always,
            PinPolicy::MatchOnce,
            PinPolicy::MatchAlways,
        ] {
            assert_eq!(p.to_string().parse::<PinPolicy>(), Ok(p));
        }
        for t in [TouchPolicy::Never, TouchPolicy::Always, TouchPolicy::Cached] {
            assert_eq!(t.to_string().parse::<TouchPolicy>(), Ok(t));
        }
        assert!("Once".parse::<PinPolicy>().is_err());
        assert!(" once".parse::<PinPolicy>().is_err());
        assert!("default".parse::<TouchPolicy>().is_err());
    }

    #[test]
    fn attested_bytes() {
        assert_eq!(PinPolicy::from_attested(2), Ok(PinPolicy::Once));
        assert_eq!(TouchPolicy::from_attested(3), Ok(TouchPolicy::Cached));
        assert!(PinPolicy::from_attested(0).is_err());
        assert!(PinPolicy::from_attested(6).is_err());
        assert!(TouchPolicy::from_attested(0).is_err());
        assert!(TouchPolicy::from_attested(4).is_err());
    }

    #[test]
    fn ordering() {
        let req = Requirements {
            pin_policy_at_least: PinPolicy::Once,
            touch_policy_at_least: TouchPolicy::Cached,
        };
        assert!(req.check(PinPolicy::MatchOnce, TouchPolicy::Cached).is_ok());
        assert!(req
            .check(PinPolicy::MatchAlways, TouchPolicy::Always)
            .is_ok());
        assert_eq!(
            req.check(PinPolicy::Never, TouchPolicy::Always),
            Err(AttestationError::PinPolicyTooWeak {
                found: PinPolicy::Never,
                required: PinPolicy::Once
            })
        );
        assert_eq!(
            req.check(PinPolicy::Always, TouchPolicy::Never),
            Err(AttestationError::TouchPolicyTooWeak {
                found: TouchPolicy::Never,
                required: TouchPolicy::Cached
            })
        );
        let match_always = Requirements {
            pin_policy_at_least: PinPolicy::MatchAlways,
            touch_policy_at_least: TouchPolicy::Never,
        };
        assert!(match_always
            .check(PinPolicy::Always, TouchPolicy::Never)
            .is_ok());
        assert!(match_always
            .check(PinPolicy::MatchOnce, TouchPolicy::Never)
            .is_err());
    }
}
