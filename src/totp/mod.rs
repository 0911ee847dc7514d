//! TOTP seeds: import, validation, code generation and the explicit reveal.
//!
//! Role: this module is the only user of `totp-rs`, and `totp-rs` is used for
//! one thing only, the RFC 6238 / RFC 4226 arithmetic (HMAC, dynamic
//! truncation). Everything that touches untrusted text — base32 seeds and
//! `otpauth://` URIs — is parsed here, strictly, by hand, so that the rules are
//! ours and errors never carry the input (an `otpauth` URI contains the seed).
//!
//! Invariants:
//! - A [`TotpSeed`] always holds a valid seed: [`MIN_SEED_BYTES`] to
//!   [`MAX_SEED_BYTES`] bytes, digits in [`MIN_DIGITS`]`..=`[`MAX_DIGITS`],
//!   period in [`MIN_PERIOD`]`..=`[`MAX_PERIOD`] seconds, issuer/account names
//!   without `:` or control characters. Every constructor checks this.
//! - The seed lives in [`SecretBytes`]; every intermediate copy (normalised
//!   base32 text, percent-decoded parameter, the copy handed to `totp-rs`,
//!   which is built with its `zeroize` feature) is wiped on drop. [`TotpSeed`]
//!   has no `Debug`, `Display` or `Clone`; neither has [`CodeWindow`].
//! - [`TotpError`] never contains the secret or the raw input, only positions,
//!   lengths, parsed numbers and static names.
//!
//! Minimum seed length: RFC 4226 §4 requires 128 bits and recommends 160. We
//! *generate* 160/256/512-bit seeds, but we *accept* seeds down to 80 bits
//! because real providers still issue them (Google Authenticator's own example
//! `JBSWY3DPEHPK3PXP` is 80 bits, and many sites hand out 16-character base32
//! seeds). A vault that refused them could not hold the credential the provider
//! gave; [`TotpSeed::meets_rfc4226_minimum`] lets the UI warn so the seed is
//! replaced at the next rotation. Shorter than 80 bits is refused: that is a
//! truncated paste, not a legacy provider.
//!
//! Base32 normalisation: ASCII whitespace and `-` are removed, letters are
//! upper-cased, `=` padding is optional but, when present, must be exactly the
//! RFC 4648 padding. Lengths that cannot come from whole bytes (8n+1, 8n+3,
//! 8n+6 characters) are refused: a character was lost or added. Unused
//! trailing bits are ignored, as authenticator apps do, so the codes match
//! theirs (and [`TotpSeed::to_base32`] of such a seed is the canonical form,
//! not the input).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod error;
mod text;

pub use error::TotpError;
use text::{
    decode_base32, encode_base32, encode_base32_into, parse_decimal, percent_decode,
    percent_encode_into, set_once, split_label, strip_prefix_ignore_case,
};

use crate::secret::{SecretBytes, SecretString};

/// Smallest accepted seed: 80 bits (legacy providers; see the module docs).
pub const MIN_SEED_BYTES: usize = 10;
/// RFC 4226 §4 minimum seed length: 128 bits.
pub const RFC4226_MIN_SEED_BYTES: usize = 16;
/// Largest accepted seed (anything longer is not a TOTP seed).
pub const MAX_SEED_BYTES: usize = 1024;
/// Fewest digits in a code.
pub const MIN_DIGITS: u8 = 6;
/// Most digits in a code.
pub const MAX_DIGITS: u8 = 8;
/// Default number of digits.
pub const DEFAULT_DIGITS: u8 = 6;
/// Shortest accepted period, in seconds.
pub const MIN_PERIOD: u32 = 15;
/// Longest accepted period, in seconds.
pub const MAX_PERIOD: u32 = 300;
/// Default period, in seconds (RFC 6238 §5.2).
pub const DEFAULT_PERIOD: u32 = 30;
/// Longest accepted input text (URI or base32), in bytes.
pub const MAX_INPUT_BYTES: usize = 8192;
/// Longest accepted issuer or account name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// HMAC algorithm of a TOTP seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// HMAC-SHA1 (the default, and what most providers use).
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs: `SHA1`, `SHA256` or `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Length of a freshly generated seed: the HMAC output size (20/32/64 bytes).
    pub fn generated_seed_bytes(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    fn from_uri_value(value: &str) -> Result<Self, TotpError> {
        if value.eq_ignore_ascii_case("SHA1") {
            Ok(Algorithm::Sha1)
        } else if value.eq_ignore_ascii_case("SHA256") {
            Ok(Algorithm::Sha256)
        } else if value.eq_ignore_ascii_case("SHA512") {
            Ok(Algorithm::Sha512)
        } else {
            Err(TotpError::UnknownAlgorithm)
        }
    }

    fn engine(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

/// Non-secret parameters of a TOTP seed.
///
/// Deserialised values are not trusted: they are checked by
/// [`TotpParams::validate`], which every [`TotpSeed`] constructor calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpParams {
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Digits per code, [`MIN_DIGITS`]`..=`[`MAX_DIGITS`].
    pub digits: u8,
    /// Period in seconds, [`MIN_PERIOD`]`..=`[`MAX_PERIOD`].
    pub period: u32,
    /// The provider ("AWS", "Google"), if known. No `:`, no control characters.
    pub issuer: Option<String>,
    /// The account at the provider, if known. No `:`, no control characters.
    pub account: Option<String>,
}

impl Default for TotpParams {
    /// SHA1, 6 digits, 30 seconds, no names: what providers use unless they say otherwise.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: DEFAULT_DIGITS,
            period: DEFAULT_PERIOD,
            issuer: None,
            account: None,
        }
    }
}

impl TotpParams {
    /// Checks the parameters.
    ///
    /// # Errors
    /// - [`TotpError::DigitsOutOfRange`] unless `6 <= digits <= 8`;
    /// - [`TotpError::PeriodOutOfRange`] unless `15 <= period <= 300`;
    /// - [`TotpError::InvalidName`] if the issuer or account is empty, longer
    ///   than [`MAX_NAME_BYTES`], starts or ends with whitespace, or contains
    ///   `:` or a control character.
    pub fn validate(&self) -> Result<(), TotpError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&self.digits) {
            return Err(TotpError::DigitsOutOfRange {
                digits: u64::from(self.digits),
            });
        }
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&self.period) {
            return Err(TotpError::PeriodOutOfRange {
                period: u64::from(self.period),
            });
        }
        if let Some(issuer) = &self.issuer {
            check_name("issuer", issuer)?;
        }
        if let Some(account) = &self.account {
            check_name("account", account)?;
        }
        Ok(())
    }
}

fn check_name(field: &'static str, name: &str) -> Result<(), TotpError> {
    let reason = if name.is_empty() {
        "it is empty; leave it out instead"
    } else if name.len() > MAX_NAME_BYTES {
        "it is longer than 256 bytes"
    } else if name.contains(':') {
        "it contains ':', which separates issuer and account in the label"
    } else if name.chars().any(char::is_control) {
        "it contains control characters"
    } else if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        "it starts or ends with a space"
    } else {
        return Ok(());
    };
    Err(TotpError::InvalidName { field, reason })
}

/// The current code, the next one, and how long the current one stays valid.
///
/// No `Debug` or `Clone`: a code is a live credential for its period.
#[derive(PartialEq, Eq)]
pub struct CodeWindow {
    /// The code valid at the given time.
    pub current: String,
    /// The code of the following period.
    pub next: String,
    /// Seconds until `current` expires, `1..=period`.
    pub seconds_left: u32,
}

/// A validated TOTP seed with its parameters. No `Debug`, `Display` or `Clone`.
pub struct TotpSeed {
    secret: SecretBytes,
    params: TotpParams,
}

impl TotpSeed {
    /// A seed from its raw bytes and parameters.
    ///
    /// # Errors
    /// Those of [`TotpParams::validate`]; [`TotpError::EmptySecret`],
    /// [`TotpError::SeedTooShort`] or [`TotpError::SeedTooLong`] when the seed is
    /// not [`MIN_SEED_BYTES`]`..=`[`MAX_SEED_BYTES`] bytes.
    pub fn from_parts(secret: SecretBytes, params: TotpParams) -> Result<Self, TotpError> {
        params.validate()?;
        check_seed_len(secret.len())?;
        Ok(Self { secret, params })
    }

    /// A seed from base32 text (as providers show it under "can't scan the
    /// code?"), normalised as described in the module docs.
    ///
    /// # Errors
    /// [`TotpError::InputTooLong`], [`TotpError::EmptySecret`],
    /// [`TotpError::SecretNotBase32`], [`TotpError::SecretBadPadding`],
    /// [`TotpError::SecretBadLength`], [`TotpError::SeedTooShort`],
    /// [`TotpError::SeedTooLong`], and those of [`TotpParams::validate`].
    pub fn from_base32(text: &str, params: TotpParams) -> Result<Self, TotpError> {
        check_input_len(text)?;
        params.validate()?;
        let secret = decode_base32(text)?;
        Self::from_parts(secret, params)
    }

    /// A seed from an `otpauth://totp/LABEL?secret=...&...` URI (the content
    /// of the provider's QR code).
    ///
    /// Rules: scheme and type are case-insensitive; the label is
    /// `issuer:account` or `account` (a literal or `%3A` colon, optional spaces
    /// before the account); parameters `secret` (required), `issuer`,
    /// `algorithm` (SHA1/SHA256/SHA512), `digits` (6–8), `period` (15–300);
    /// other parameters (e.g. `image`) are ignored; a known parameter given
    /// twice, an issuer in the label that differs from the `issuer` parameter,
    /// a fragment, and percent-escapes that are malformed or not UTF-8 are
    /// refused. `+` means a space in the issuer (form encoding) but is never
    /// accepted in the secret.
    ///
    /// # Errors
    /// [`TotpError::BadScheme`], [`TotpError::HotpNotSupported`],
    /// [`TotpError::UnknownOtpType`], [`TotpError::MalformedUri`],
    /// [`TotpError::BadPercentEncoding`], [`TotpError::DuplicateParameter`],
    /// [`TotpError::MissingSecret`], [`TotpError::UnknownAlgorithm`],
    /// [`TotpError::InvalidNumber`], [`TotpError::DigitsOutOfRange`],
    /// [`TotpError::PeriodOutOfRange`], [`TotpError::IssuerMismatch`],
    /// [`TotpError::InvalidName`], and the seed errors of
    /// [`TotpSeed::from_base32`].
    pub fn from_otpauth_uri(uri: &str) -> Result<Self, TotpError> {
        check_input_len(uri)?;
        let uri = uri.trim_matches(|c: char| c.is_ascii_whitespace());
        let rest = strip_prefix_ignore_case(uri, "otpauth://").ok_or(TotpError::BadScheme)?;
        let (kind, rest) = rest.split_once('/').ok_or(TotpError::MalformedUri {
            reason: "no '/' after the OTP type",
        })?;
        if kind.eq_ignore_ascii_case("hotp") {
            return Err(TotpError::HotpNotSupported);
        }
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(TotpError::UnknownOtpType);
        }
        if rest.contains('#') {
            return Err(TotpError::MalformedUri {
                reason: "it contains a '#' fragment",
            });
        }
        let (raw_label, query) = rest.split_once('?').ok_or(TotpError::MissingSecret)?;

        let label = percent_decode(raw_label, false, "label")?;
        let (label_issuer, account) = split_label(&label)?;

        let mut secret: Option<Zeroizing<String>> = None;
        let mut issuer: Option<Zeroizing<String>> = None;
        let mut algorithm: Option<Algorithm> = None;
        let mut digits: Option<u64> = None;
        let mut period: Option<u64> = None;

        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or(TotpError::MalformedUri {
                reason: "a query parameter has no '='",
            })?;
            if key.eq_ignore_ascii_case("secret") {
                let decoded = percent_decode(value, false, "secret")?;
                set_once(&mut secret, decoded, "secret")?;
            } else if key.eq_ignore_ascii_case("issuer") {
                let decoded = percent_decode(value, true, "issuer")?;
                set_once(&mut issuer, decoded, "issuer")?;
            } else if key.eq_ignore_ascii_case("algorithm") {
                let decoded = percent_decode(value, false, "algorithm")?;
                set_once(
                    &mut algorithm,
                    Algorithm::from_uri_value(&decoded)?,
                    "algorithm",
                )?;
            } else if key.eq_ignore_ascii_case("digits") {
                set_once(&mut digits, parse_decimal(value, "digits")?, "digits")?;
            } else if key.eq_ignore_ascii_case("period") {
                set_once(&mut period, parse_decimal(value, "period")?, "period")?;
            }
            // Other parameters (image, color, ...) carry no meaning for codes.
        }

        let secret = secret.ok_or(TotpError::MissingSecret)?;
        let param_issuer = issuer.as_deref().filter(|s| !s.is_empty());
        let issuer = match (label_issuer, param_issuer) {
            (Some(l), Some(p)) if l != p => return Err(TotpError::IssuerMismatch),
            (Some(l), _) => Some(l.to_owned()),
            (None, Some(p)) => Some(p.to_owned()),
            (None, None) => None,
        };
        let digits = digits.unwrap_or(u64::from(DEFAULT_DIGITS));
        let period = period.unwrap_or(u64::from(DEFAULT_PERIOD));
        let params = TotpParams {
            algorithm: algorithm.unwrap_or_default(),
            digits: u8::try_from(digits).map_err(|_| TotpError::DigitsOutOfRange { digits })?,
            period: u32::try_from(period).map_err(|_| TotpError::PeriodOutOfRange { period })?,
            issuer,
            account: account.map(str::to_owned),
        };
        params.validate()?;
        if secret.is_empty() {
            return Err(TotpError::EmptySecret);
        }
        let secret = decode_base32(&secret)?;
        Self::from_parts(secret, params)
    }

    /// An `otpauth://` URI (scheme case-insensitive) or, for anything else
    /// without a `:`, base32 with default parameters (SHA1, 6 digits, 30 s).
    /// Text with a `:` that is not an otpauth URI is refused as
    /// [`TotpError::BadScheme`].
    ///
    /// # Errors
    /// Those of [`TotpSeed::from_otpauth_uri`] and [`TotpSeed::from_base32`].
    pub fn parse(text: &str) -> Result<Self, TotpError> {
        check_input_len(text)?;
        let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.contains(':') {
            Self::from_otpauth_uri(trimmed)
        } else {
            Self::from_base32(trimmed, TotpParams::default())
        }
    }

    /// A fresh random seed from the OS RNG, for enrolling a new (virtual) MFA
    /// device: 20 bytes for SHA1, 32 for SHA256, 64 for SHA512.
    ///
    /// # Errors
    /// Those of [`TotpParams::validate`]; [`TotpError::Rng`] if the OS RNG fails.
    pub fn generate(params: TotpParams) -> Result<Self, TotpError> {
        params.validate()?;
        let mut secret = SecretBytes::zeroed(params.algorithm.generated_seed_bytes());
        OsRng
            .try_fill_bytes(secret.expose_mut())
            .map_err(|source| TotpError::Rng { source })?;
        Self::from_parts(secret, params)
    }

    /// The code valid at `unix_seconds`.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for engine errors.
    pub fn code_at(&self, unix_seconds: u64) -> Result<String, TotpError> {
        // `new_unchecked`: the checked constructor refuses seeds under 128
        // bits, but we accept 80-bit legacy seeds (module docs) and have
        // already validated everything it would check. The copy of the seed
        // is wiped when `engine` drops (totp-rs `zeroize` feature).
        let engine = totp_rs::TOTP::new_unchecked(
            self.params.algorithm.engine(),
            usize::from(self.params.digits),
            1,
            u64::from(self.params.period),
            self.secret.expose().to_vec(),
        );
        Ok(engine.generate(unix_seconds))
    }

    /// The current code, the next one, and the seconds left for the current one.
    ///
    /// # Errors
    /// [`TotpError::TimeOutOfRange`] if the next period starts after `u64::MAX`.
    pub fn window(&self, unix_seconds: u64) -> Result<CodeWindow, TotpError> {
        let period = u64::from(self.params.period);
        let next_start = (unix_seconds / period)
            .checked_add(1)
            .and_then(|step| step.checked_mul(period))
            .ok_or(TotpError::TimeOutOfRange)?;
        let seconds_left = u32::try_from(next_start.saturating_sub(unix_seconds))
            .map_err(|_| TotpError::TimeOutOfRange)?;
        Ok(CodeWindow {
            current: self.code_at(unix_seconds)?,
            next: self.code_at(next_start)?,
            seconds_left,
        })
    }

    /// Two consecutive codes (this period's and the next), as providers ask
    /// for when enrolling a virtual MFA device. The UI should show
    /// [`CodeWindow::seconds_left`] too: if the first code is about to
    /// expire, waiting for the next period avoids a rejected enrollment.
    ///
    /// # Errors
    /// Those of [`TotpSeed::window`].
    pub fn two_consecutive(&self, unix_seconds: u64) -> Result<(String, String), TotpError> {
        let window = self.window(unix_seconds)?;
        Ok((window.current, window.next))
    }

    /// The seed as canonical base32: upper-case, unpadded. This is the
    /// explicit seed reveal; the caller logs it before showing it.
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(encode_base32(self.secret.expose()))
    }

    /// The canonical otpauth URI (for the QR code of an explicit reveal):
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=B32[&issuer=ISSUER]&algorithm=A&digits=D&period=P`,
    /// names percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`).
    /// `label_fallback` stands in for a missing account; `:` and control
    /// characters in it are replaced by `_`.
    pub fn to_otpauth_uri(&self, label_fallback: &str) -> SecretString {
        let fallback: String = label_fallback
            .chars()
            .map(|c| if c == ':' || c.is_control() { '_' } else { c })
            .collect();
        let account = self.params.account.as_deref().unwrap_or(&fallback);
        let issuer = self.params.issuer.as_deref();
        let b32_len = self.secret.len().saturating_mul(8).div_ceil(5);
        let names_len = issuer.map_or(0, str::len).saturating_mul(2) + account.len();
        let capacity = 128 + b32_len + names_len.saturating_mul(3);
        let mut uri = Zeroizing::new(String::with_capacity(capacity));
        uri.push_str("otpauth://totp/");
        if let Some(issuer) = issuer {
            percent_encode_into(&mut uri, issuer);
            uri.push(':');
        }
        percent_encode_into(&mut uri, account);
        uri.push_str("?secret=");
        encode_base32_into(&mut uri, self.secret.expose());
        if let Some(issuer) = issuer {
            uri.push_str("&issuer=");
            percent_encode_into(&mut uri, issuer);
        }
        uri.push_str("&algorithm=");
        uri.push_str(self.params.algorithm.name());
        uri.push_str("&digits=");
        uri.push_str(&self.params.digits.to_string());
        uri.push_str("&period=");
        uri.push_str(&self.params.period.to_string());
        SecretString::from(uri)
    }

    /// The non-secret parameters.
    pub fn params(&self) -> TotpParams {
        self.params.clone()
    }

    /// The raw seed, for serialising into the encrypted payload only.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.expose()
    }

    /// Whether the seed has at least the 128 bits RFC 4226 requires. `false`
    /// for legacy 80–120-bit seeds: accepted, but worth replacing at the next
    /// rotation.
    pub fn meets_rfc4226_minimum(&self) -> bool {
        self.secret.len() >= RFC4226_MIN_SEED_BYTES
    }
}

fn check_input_len(text: &str) -> Result<(), TotpError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(TotpError::InputTooLong {
            len: text.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

fn check_seed_len(len: usize) -> Result<(), TotpError> {
    if len == 0 {
        Err(TotpError::EmptySecret)
    } else if len < MIN_SEED_BYTES {
        Err(TotpError::SeedTooShort {
            bits: len * 8,
            min_bits: MIN_SEED_BYTES * 8,
        })
    } else if len > MAX_SEED_BYTES {
        Err(TotpError::SeedTooLong {
            bytes: len,
            max_bytes: MAX_SEED_BYTES,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::text::{base32_value, BASE32_ALPHABET};

    const RFC6238_SHA1: &[u8] = b"12345678901234567890";
    const RFC6238_SHA256: &[u8] = b"12345678901234567890123456789012";
    const RFC6238_SHA512: &[u8] =
        b"1234567890123456789012345678901234567890123456789012345678901234";

    fn seed(bytes: &[u8], algorithm: Algorithm, digits: u8, period: u32) -> TotpSeed {
        let params = TotpParams {
            algorithm,
            digits,
            period,
            ..TotpParams::default()
        };
        match TotpSeed::from_parts(SecretBytes::new(bytes.to_vec()), params) {
            Ok(s) => s,
            Err(e) => panic!("test seed refused: {e}"),
        }
    }

    fn code(s: &TotpSeed, t: u64) -> String {
        s.code_at(t).unwrap_or_else(|e| panic!("code_at({t}): {e}"))
    }

    /// RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits, period 30.
    const RFC6238_TABLE: &[(u64, &str, &str, &str)] = &[
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc6238_appendix_b_all_algorithms() {
        let sha1 = seed(RFC6238_SHA1, Algorithm::Sha1, 8, 30);
        let sha256 = seed(RFC6238_SHA256, Algorithm::Sha256, 8, 30);
        let sha512 = seed(RFC6238_SHA512, Algorithm::Sha512, 8, 30);
        for &(t, c1, c256, c512) in RFC6238_TABLE {
            assert_eq!(code(&sha1, t), c1, "SHA1 at {t}");
            assert_eq!(code(&sha256, t), c256, "SHA256 at {t}");
            assert_eq!(code(&sha512, t), c512, "SHA512 at {t}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_low_digits_of_the_rfc_codes() {
        let sha1 = seed(RFC6238_SHA1, Algorithm::Sha1, 6, 30);
        let sha512 = seed(RFC6238_SHA512, Algorithm::Sha512, 6, 30);
        for &(t, c1, _, c512) in RFC6238_TABLE {
            assert_eq!(code(&sha1, t), c1[2..], "SHA1 at {t}");
            assert_eq!(code(&sha512, t), c512[2..], "SHA512 at {t}");
        }
        // Leading zeros are kept: 07081804 -> 081804.
        assert_eq!(code(&sha1, 1111111109), "081804");
    }

    /// RFC 4226 Appendix D HOTP values: counter c is TOTP time 30·c.
    #[test]
    fn rfc4226_appendix_d_through_totp_time() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let s = seed(RFC6238_SHA1, Algorithm::Sha1, 6, 30);
        for (counter, want) in (0u64..).zip(expected) {
            assert_eq!(code(&s, counter * 30), want, "counter {counter}");
            assert_eq!(code(&s, counter * 30 + 29), want, "counter {counter}, end");
        }
    }

    #[test]
    fn window_boundaries_period_30() {
        let s = seed(RFC6238_SHA1, Algorithm::Sha1, 6, 30);
        let c0 = code(&s, 0);
        let c1 = code(&s, 30);
        let c2 = code(&s, 60);
        assert_eq!(
            (c0.as_str(), c1.as_str(), c2.as_str()),
            ("755224", "287082", "359152")
        );

        let w = s.window(29).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (w.current.as_str(), w.next.as_str(), w.seconds_left),
            ("755224", "287082", 1)
        );
        let w = s.window(30).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (w.current.as_str(), w.next.as_str(), w.seconds_left),
            ("287082", "359152", 30)
        );
        let w = s.window(31).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (w.current.as_str(), w.next.as_str(), w.seconds_left),
            ("287082", "359152", 29)
        );
        let w = s.window(0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.seconds_left, 30);

        let pair = s.two_consecutive(31).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pair, ("287082".to_owned(), "359152".to_owned()));
    }

    #[test]
    fn window_other_periods_and_overflow() {
        let s = seed(RFC6238_SHA1, Algorithm::Sha1, 6, 60);
        let w = s.window(59).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.seconds_left, 1);
        assert_eq!(w.current, code(&s, 0));
        assert_eq!(w.next, code(&s, 60));
        // Codes at the far end of time still work; the next period does not exist.
        assert!(s.code_at(u64::MAX).is_ok());
        assert!(matches!(s.window(u64::MAX), Err(TotpError::TimeOutOfRange)));
    }

    fn b32(text: &str) -> Result<TotpSeed, TotpError> {
        TotpSeed::from_base32(text, TotpParams::default())
    }

    #[test]
    fn base32_normalisation() {
        // "Hello!\xde\xad\xbe\xef": Google Authenticator's example (80 bits).
        let want = b"Hello!\xde\xad\xbe\xef";
        for text in [
            "JBSWY3DPEHPK3PXP",
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            " JBSWY3DPEHPK3PXP\n",
            "JBSWY3DP\tEHPK3PXP",
        ] {
            let s = b32(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(s.secret_bytes(), want, "{text:?}");
            assert_eq!(s.to_base32().expose(), "JBSWY3DPEHPK3PXP");
        }
        // Padding: optional, but exact when present. 20 bytes = 32 chars (no padding);
        // 11 bytes = 18 chars + 6 '='.
        let s = b32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.secret_bytes(), RFC6238_SHA1);
        let eleven = encode_base32(b"hello world");
        assert_eq!(eleven.as_str(), "NBSWY3DPEB3W64TMMQ");
        for text in [
            "NBSWY3DPEB3W64TMMQ======",
            "nbswy3dpeb3w64tmmq",
            "NBSWY3DPEB3W64TMMQ",
        ] {
            let s = b32(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(s.secret_bytes(), b"hello world");
        }
        for text in [
            "NBSWY3DPEB3W64TMMQ=",
            "NBSWY3DPEB3W64TMMQ=======",
            "NBSWY3DPEB3W64TM=MQ",
        ] {
            assert!(
                matches!(b32(text), Err(TotpError::SecretBadPadding)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn base32_rejections() {
        assert!(matches!(b32(""), Err(TotpError::EmptySecret)));
        assert!(matches!(b32(" - -\n"), Err(TotpError::EmptySecret)));
        assert!(matches!(b32("===="), Err(TotpError::EmptySecret)));
        assert!(matches!(
            b32("JBSWY3DPEHPK3PX0"),
            Err(TotpError::SecretNotBase32 { position: 16 })
        ));
        assert!(matches!(
            b32("JBSWY3DPEHPK3PX1"),
            Err(TotpError::SecretNotBase32 { position: 16 })
        ));
        assert!(matches!(
            b32("JBSWY3DPÉHPK3PXP"),
            Err(TotpError::SecretNotBase32 { position: 9 })
        ));
        // 17 characters: 8n+1 cannot come from whole bytes.
        assert!(matches!(
            b32("JBSWY3DPEHPK3PXPA"),
            Err(TotpError::SecretBadLength { chars: 17 })
        ));
        // 72 bits: below the 80-bit floor.
        assert!(matches!(
            b32("JBSWY3DPEHPK3PY"),
            Err(TotpError::SeedTooShort {
                bits: 72,
                min_bits: 80
            })
        ));
        let long = "A".repeat(1640); // 1025 bytes
        assert!(matches!(
            b32(&long),
            Err(TotpError::SeedTooLong {
                bytes: 1025,
                max_bytes: 1024
            })
        ));
        let max = "A".repeat(1637); // 1637 * 5 / 8 = 1023 bytes
        assert!(b32(&max).is_ok_and(|s| s.secret_bytes().len() == 1023));
        let huge = "A".repeat(MAX_INPUT_BYTES + 1);
        assert!(matches!(b32(&huge), Err(TotpError::InputTooLong { .. })));
    }

    #[test]
    fn trailing_bits_are_ignored_like_authenticator_apps() {
        // 26 characters = 130 bits -> 16 bytes; the last 2 bits are unused.
        let canonical = encode_base32(&[0xA5; 16]);
        assert_eq!(canonical.len(), 26);
        let mut dirty = canonical.as_str().to_owned();
        let last = dirty.pop().and_then(|c| base32_value(c as u8));
        let last = last.unwrap_or_else(|| panic!("canonical text ends in base32"));
        assert_eq!(last & 3, 0, "canonical encoding zeroes the unused bits");
        // Set the two unused low bits.
        dirty.push(char::from(BASE32_ALPHABET[usize::from(last | 3)]));
        let a = b32(&canonical).unwrap_or_else(|e| panic!("{e}"));
        let b = b32(&dirty).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.secret_bytes(), b.secret_bytes());
        assert_eq!(b.to_base32().expose(), canonical.as_str());
    }

    #[test]
    fn base32_round_trip_all_lengths() {
        for len in MIN_SEED_BYTES..=80 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode_base32(&bytes);
            let s = b32(&text).unwrap_or_else(|e| panic!("len {len}: {e}"));
            assert_eq!(s.secret_bytes(), &bytes[..], "len {len}");
            assert_eq!(s.to_base32().expose(), text.as_str());
        }
    }

    #[test]
    fn params_validation() {
        let ok = TotpParams::default();
        assert!(ok.validate().is_ok());
        let bad = |f: fn(&mut TotpParams)| {
            let mut p = TotpParams::default();
            f(&mut p);
            p.validate()
        };
        assert!(matches!(
            bad(|p| p.digits = 5),
            Err(TotpError::DigitsOutOfRange { digits: 5 })
        ));
        assert!(matches!(
            bad(|p| p.digits = 9),
            Err(TotpError::DigitsOutOfRange { digits: 9 })
        ));
        assert!(matches!(
            bad(|p| p.period = 14),
            Err(TotpError::PeriodOutOfRange { period: 14 })
        ));
        assert!(matches!(
            bad(|p| p.period = 301),
            Err(TotpError::PeriodOutOfRange { period: 301 })
        ));
        assert!(bad(|p| p.period = 15).is_ok());
        assert!(bad(|p| p.period = 300).is_ok());
        assert!(matches!(
            bad(|p| p.issuer = Some("a:b".into())),
            Err(TotpError::InvalidName {
                field: "issuer",
                ..
            })
        ));
        assert!(matches!(
            bad(|p| p.account = Some("a\nb".into())),
            Err(TotpError::InvalidName {
                field: "account",
                ..
            })
        ));
        assert!(matches!(
            bad(|p| p.account = Some(" bob".into())),
            Err(TotpError::InvalidName {
                field: "account",
                ..
            })
        ));
        assert!(matches!(
            bad(|p| p.issuer = Some("AWS ".into())),
            Err(TotpError::InvalidName {
                field: "issuer",
                ..
            })
        ));
        assert!(matches!(
            bad(|p| p.account = Some(String::new())),
            Err(TotpError::InvalidName {
                field: "account",
                ..
            })
        ));
    }

    #[test]
    fn params_serde_round_trip() {
        let p = TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
            issuer: Some("AWS".into()),
            account: Some("breakglass@123456789012".into()),
        };
        let json = serde_json::to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.contains("\"SHA256\""), "{json}");
        let back: TotpParams = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, p);
    }

    #[test]
    fn generate_sizes_and_uniqueness() {
        for (alg, len) in [
            (Algorithm::Sha1, 20),
            (Algorithm::Sha256, 32),
            (Algorithm::Sha512, 64),
        ] {
            let params = TotpParams {
                algorithm: alg,
                ..TotpParams::default()
            };
            let a = TotpSeed::generate(params.clone()).unwrap_or_else(|e| panic!("{e}"));
            let b = TotpSeed::generate(params).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a.secret_bytes().len(), len);
            assert!(a.meets_rfc4226_minimum());
            assert_ne!(a.secret_bytes(), b.secret_bytes());
        }
        let bad = TotpParams {
            digits: 10,
            ..TotpParams::default()
        };
        assert!(matches!(
            TotpSeed::generate(bad),
            Err(TotpError::DigitsOutOfRange { digits: 10 })
        ));
    }

    #[test]
    fn from_parts_length_limits() {
        let p = TotpParams::default;
        let mk = |n: usize| TotpSeed::from_parts(SecretBytes::new(vec![7; n]), p());
        assert!(matches!(mk(0), Err(TotpError::EmptySecret)));
        assert!(matches!(
            mk(9),
            Err(TotpError::SeedTooShort { bits: 72, .. })
        ));
        assert!(mk(10).is_ok_and(|s| !s.meets_rfc4226_minimum()));
        assert!(mk(16).is_ok_and(|s| s.meets_rfc4226_minimum()));
        assert!(mk(1024).is_ok());
        assert!(matches!(
            mk(1025),
            Err(TotpError::SeedTooLong { bytes: 1025, .. })
        ));
    }

    #[test]
    fn uri_round_trip_is_canonical() {
        let params = TotpParams {
            algorithm: Algorithm::Sha512,
            digits: 8,
            period: 60,
            issuer: Some("Amazon Web Services".into()),
            account: Some("break glass@123456789012".into()),
        };
        let s = TotpSeed::from_parts(SecretBytes::new(RFC6238_SHA512.to_vec()), params.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let uri = s.to_otpauth_uri("unused");
        assert!(uri.expose().starts_with(
            "otpauth://totp/Amazon%20Web%20Services:break%20glass%40123456789012?secret="
        ));
        assert!(uri
            .expose()
            .ends_with("&issuer=Amazon%20Web%20Services&algorithm=SHA512&digits=8&period=60"));
        let back = TotpSeed::parse(uri.expose()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.params(), params);
        assert_eq!(back.secret_bytes(), RFC6238_SHA512);
        assert_eq!(back.to_otpauth_uri("unused").expose(), uri.expose());
    }

    #[test]
    fn uri_label_fallback() {
        let s = seed(RFC6238_SHA1, Algorithm::Sha1, 6, 30);
        let uri = s.to_otpauth_uri("root:account\n");
        assert!(
            uri.expose()
                .starts_with("otpauth://totp/root_account_?secret="),
            "fallback sanitised"
        );
        let back = TotpSeed::parse(uri.expose()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.params().account.as_deref(), Some("root_account_"));
        assert_eq!(back.params().issuer, None);
    }

    #[test]
    fn parse_dispatch() {
        assert!(TotpSeed::parse("JBSWY3DPEHPK3PXP").is_ok());
        assert!(TotpSeed::parse("OTPAUTH://TOTP/x?secret=JBSWY3DPEHPK3PXP").is_ok());
        assert!(matches!(
            TotpSeed::parse("https://example.com/?secret=JBSWY3DPEHPK3PXP"),
            Err(TotpError::BadScheme)
        ));
        assert!(matches!(
            TotpSeed::parse("otpauth-migration://offline?data=AAAA"),
            Err(TotpError::BadScheme)
        ));
    }

    #[test]
    fn percent_decoding_is_strict() {
        let ok = |s: &str, plus| percent_decode(s, plus, "t").map(|v| v.as_str().to_owned());
        assert_eq!(ok("a%20b%3Ac", false).ok().as_deref(), Some("a b:c"));
        assert_eq!(ok("a+b", true).ok().as_deref(), Some("a b"));
        assert_eq!(ok("a+b", false).ok().as_deref(), Some("a+b"));
        assert_eq!(ok("%C3%A9", false).ok().as_deref(), Some("é"));
        for bad in ["%", "%4", "%zz", "%4g", "%C3", "%FF", "%C3%28"] {
            assert!(ok(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_input() {
        let uri = "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PX0&issuer=Z";
        let err = match TotpSeed::from_otpauth_uri(uri) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        };
        assert!(matches!(err, TotpError::IssuerMismatch));
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("JBSWY3DP"), "{text}");
        }
    }
}
