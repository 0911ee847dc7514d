//! The text forms a seed travels in, decoded strictly into zeroizing
//! buffers: base32 (normalised as the module docs of `totp` say; the bit
//! packing is `data-encoding`'s), percent escapes of otpauth URIs, and the
//! URI's small pieces (labels, decimals, one-time parameters). Errors never
//! carry the input.

use data_encoding::BASE32_NOPAD;
use zeroize::{Zeroize, Zeroizing};

use super::{check_seed_len, TotpError};
use crate::secret::SecretBytes;

pub(super) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

pub(super) fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    name: &'static str,
) -> Result<(), TotpError> {
    if slot.is_some() {
        return Err(TotpError::DuplicateParameter { name });
    }
    *slot = Some(value);
    Ok(())
}

/// Splits a decoded label into (issuer, account); empty parts become `None`.
pub(super) fn split_label(label: &str) -> Result<(Option<&str>, Option<&str>), TotpError> {
    let (issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => (Some(issuer), account.trim_start_matches(' ')),
        None => (None, label),
    };
    if account.contains(':') {
        return Err(TotpError::InvalidName {
            field: "label",
            reason: "it has more than one ':'; the label is 'issuer:account' or 'account'",
        });
    }
    Ok((
        issuer.filter(|s| !s.is_empty()),
        Some(account).filter(|s| !s.is_empty()),
    ))
}

/// A decimal number of ASCII digits, saturating at `u64::MAX`.
pub(super) fn parse_decimal(value: &str, parameter: &'static str) -> Result<u64, TotpError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::InvalidNumber { parameter });
    }
    Ok(value.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// The byte of a two-digit hex escape (either case), or `None`.
pub(super) fn hex_pair(hi: Option<u8>, lo: Option<u8>) -> Option<u8> {
    let mut out = [0u8; 1];
    base16ct::mixed::decode([hi?, lo?], &mut out).ok()?;
    Some(out[0])
}

/// Strict percent-decoding into a zeroizing string: every `%` must start a
/// two-hex-digit escape and the result must be UTF-8.
pub(super) fn percent_decode(
    raw: &str,
    plus_is_space: bool,
    part: &'static str,
) -> Result<Zeroizing<String>, TotpError> {
    let bad = TotpError::BadPercentEncoding { part };
    let mut out = Zeroizing::new(Vec::with_capacity(raw.len()));
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => match hex_pair(bytes.next(), bytes.next()) {
                Some(byte) => out.push(byte),
                None => return Err(bad),
            },
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(bad)
        }
    }
}

pub(super) fn percent_encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let mut pair = [0u8; 2];
            out.push('%');
            out.push_str(base16ct::upper::encode_str(&[b], &mut pair).unwrap_or("00"));
        }
    }
}

pub(super) const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) fn base32_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a'),
        b'2'..=b'7' => Some(b - b'2' + 26),
        _ => None,
    }
}

/// Normalises and decodes base32 text (module docs) into a seed of valid length.
pub(super) fn decode_base32(text: &str) -> Result<SecretBytes, TotpError> {
    let mut values = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut padding = 0usize;
    for (index, c) in text.chars().enumerate() {
        if c.is_ascii_whitespace() || c == '-' {
            continue;
        }
        if c == '=' {
            padding += 1;
            continue;
        }
        let value = u8::try_from(c)
            .ok()
            .and_then(base32_value)
            .filter(|_| padding == 0);
        match value {
            Some(v) => values.push(v),
            // A data character after '=' is misplaced padding, not a bad character.
            None if padding > 0 && u8::try_from(c).ok().and_then(base32_value).is_some() => {
                return Err(TotpError::SecretBadPadding)
            }
            None => {
                return Err(TotpError::SecretNotBase32 {
                    position: index + 1,
                })
            }
        }
    }
    let chars = values.len();
    if chars == 0 {
        return Err(TotpError::EmptySecret);
    }
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(TotpError::SecretBadLength { chars });
    }
    if padding != 0 && !(chars + padding).is_multiple_of(8) {
        return Err(TotpError::SecretBadPadding);
    }
    let len = chars * 5 / 8;
    check_seed_len(len)?;
    // Bits past the last whole byte are dropped, as every authenticator app
    // does (data-encoding would refuse them; only canonical seeds are stored).
    let trailing = (chars * 5) % 8;
    if let Some(last) = values.last_mut() {
        *last &= !((1u8 << trailing) - 1);
    }
    for v in values.iter_mut() {
        *v = BASE32_ALPHABET
            .get(usize::from(*v))
            .copied()
            .unwrap_or(b'A');
    }
    let mut secret = SecretBytes::zeroed(len);
    BASE32_NOPAD
        .decode_mut(&values, secret.expose_mut())
        .map_err(|_| TotpError::SecretBadLength { chars })?;
    Ok(secret)
}

pub(super) fn encode_base32_into(out: &mut String, bytes: &[u8]) {
    out.push_str(&encode_base32(bytes));
}

/// Canonical base32 (upper case, unpadded) in a zeroizing buffer.
pub(super) fn encode_base32(bytes: &[u8]) -> Zeroizing<String> {
    let mut buf = Zeroizing::new(vec![0u8; BASE32_NOPAD.encode_len(bytes.len())]);
    BASE32_NOPAD.encode_mut(bytes, &mut buf);
    // The alphabet is ASCII: the buffer is UTF-8.
    Zeroizing::new(String::from_utf8(std::mem::take(&mut *buf)).unwrap_or_default())
}
