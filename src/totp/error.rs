//! Errors of the TOTP module: what is wrong with a seed or an otpauth URI
//! and what to do, never the seed or the input itself.

/// Errors of the TOTP module. Messages never contain the seed or the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The seed text is empty (after removing spaces and dashes).
    #[error("the seed is empty; paste the secret key shown by the provider")]
    EmptySecret,
    /// A character of the seed is not in the base32 alphabet.
    #[error(
        "the seed is not valid base32: character {position} is not a letter A-Z or a digit 2-7; \
         check for 0/O, 1/I/L and 8/B confusions"
    )]
    SecretNotBase32 {
        /// 1-based position of the offending character in the seed text.
        position: usize,
    },
    /// The number of base32 characters cannot encode whole bytes.
    #[error(
        "the seed has {chars} base32 characters, which cannot encode whole bytes; \
         a character is probably missing or extra, copy the seed again"
    )]
    SecretBadLength {
        /// Number of base32 characters (spaces, dashes and padding excluded).
        chars: usize,
    },
    /// `=` padding is present but wrong (misplaced, or not the RFC 4648 amount).
    #[error("the seed's '=' padding is wrong; remove the '=' characters or copy the seed again")]
    SecretBadPadding,
    /// The seed is shorter than [`MIN_SEED_BYTES`](super::MIN_SEED_BYTES).
    #[error(
        "the seed is only {bits} bits long, the minimum is {min_bits}; \
         it was probably cut off when copied, copy it again"
    )]
    SeedTooShort {
        /// Length of the decoded seed in bits.
        bits: usize,
        /// Minimum accepted length in bits.
        min_bits: usize,
    },
    /// The seed is longer than [`MAX_SEED_BYTES`](super::MAX_SEED_BYTES).
    #[error("the seed is {bytes} bytes long, the maximum is {max_bytes}; this is not a TOTP seed")]
    SeedTooLong {
        /// Length of the decoded seed in bytes.
        bytes: usize,
        /// Maximum accepted length in bytes.
        max_bytes: usize,
    },
    /// The input text is longer than [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES).
    #[error("the input is {len} bytes long, the maximum is {max}; this is not a TOTP seed or URI")]
    InputTooLong {
        /// Length of the input in bytes.
        len: usize,
        /// Maximum accepted length in bytes.
        max: usize,
    },
    /// The URI does not start with `otpauth://`.
    #[error(
        "this is not an otpauth:// URI; give the otpauth://totp/... URI or the base32 secret key \
         (Google Authenticator export URIs, otpauth-migration://, must be exported one account at a time)"
    )]
    BadScheme,
    /// The URI is an HOTP (counter-based) URI.
    #[error("HOTP (counter-based) seeds are not supported; only time-based (otpauth://totp/) seeds can be stored")]
    HotpNotSupported,
    /// The URI's type is neither `totp` nor `hotp`.
    #[error("unknown OTP type in the URI; only otpauth://totp/ is supported")]
    UnknownOtpType,
    /// The URI is structurally malformed.
    #[error("malformed otpauth URI: {reason}; copy the URI again from the provider")]
    MalformedUri {
        /// What is wrong, in general terms (never the input itself).
        reason: &'static str,
    },
    /// A `%XX` escape is malformed or does not decode to UTF-8.
    #[error("bad percent-encoding in the URI's {part} (an incomplete %XX escape or non-UTF-8 bytes); copy the URI again")]
    BadPercentEncoding {
        /// Which part of the URI: "label", "secret", "issuer", ...
        part: &'static str,
    },
    /// A known parameter appears more than once.
    #[error(
        "the URI has the '{name}' parameter more than once; it is ambiguous, copy the URI again"
    )]
    DuplicateParameter {
        /// The repeated parameter.
        name: &'static str,
    },
    /// The URI has no `secret` parameter.
    #[error(
        "the URI has no 'secret' parameter; copy the full URI, or enter the base32 secret key"
    )]
    MissingSecret,
    /// The `algorithm` parameter is not SHA1, SHA256 or SHA512.
    #[error("unsupported algorithm in the URI; TOTP supports SHA1, SHA256 and SHA512")]
    UnknownAlgorithm,
    /// The number of digits is outside [`MIN_DIGITS`](super::MIN_DIGITS)`..=`[`MAX_DIGITS`](super::MAX_DIGITS).
    #[error("codes of {digits} digits are not supported; use 6 to 8 digits")]
    DigitsOutOfRange {
        /// The requested number of digits (saturated at `u64::MAX`).
        digits: u64,
    },
    /// The period is outside [`MIN_PERIOD`](super::MIN_PERIOD)`..=`[`MAX_PERIOD`](super::MAX_PERIOD).
    #[error(
        "a period of {period} seconds is not supported; use 15 to 300 seconds (30 is standard)"
    )]
    PeriodOutOfRange {
        /// The requested period in seconds (saturated at `u64::MAX`).
        period: u64,
    },
    /// A numeric parameter is not a plain decimal number.
    #[error("the URI's '{parameter}' parameter is not a decimal number; copy the URI again")]
    InvalidNumber {
        /// The parameter name.
        parameter: &'static str,
    },
    /// The issuer in the label differs from the `issuer` parameter.
    #[error(
        "the issuer in the URI's label differs from its 'issuer' parameter; \
         make sure the URI belongs to the intended provider and fix one of them"
    )]
    IssuerMismatch,
    /// An issuer or account name is unusable.
    #[error("the {field} name is invalid: {reason}")]
    InvalidName {
        /// "issuer", "account" or "label".
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The time is so far in the future that the next period overflows.
    #[error("the time is out of range; check the system clock")]
    TimeOutOfRange,
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed; do not generate seeds on this machine until it works")]
    Rng {
        /// The underlying error.
        #[source]
        source: rand::Error,
    },
}
