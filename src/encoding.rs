//! Canonical encodings shared by every on-disk format.
//!
//! **Canonical JSON** (used by the manifest, log lines, descriptors and
//! identity files): UTF-8, no insignificant whitespace, object members sorted
//! by key (byte order of UTF-8, which equals code-point order), integers only
//! (no fractions or exponents), strings escaped exactly as `serde_json` and
//! Python's `json.dumps(..., ensure_ascii=False)` do: `\"`, `\\`, `\b`, `\f`,
//! `\n`, `\r`, `\t`, other control characters as `\u00xx` (lower-case hex),
//! everything else literal. Python reproduces it with
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
//! Decoders re-encode what they parsed and reject input that differs
//! (non-canonical input is an error, never silently normalised).
//!
//! **Base64** is standard with padding; decoders reject non-canonical
//! encodings. **Hex** is lower-case (`base16ct`, which refuses upper case).
//!
//! Why the canonical JSON writer is ours and not a crate's: the formats sign
//! and hash exact bytes, and the rule above (sorted members, integers only,
//! serde_json's string escapes, Python-reproducible) is the contract with
//! verifiers written from `docs/formats.md` alone. Canonical-JSON crates
//! implement other rules (RFC 8785 escapes and number formats differ); one
//! small, tested writer is easier to hold to the spec than a crate's choice.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// Errors of the canonical encodings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodingError {
    /// The text is not JSON at all (position only; the input is never quoted).
    #[error("not valid JSON (line {line}, column {column})")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// JSON, but not in canonical form.
    #[error("not in canonical form (keys must be sorted, no spaces, integers only)")]
    NotCanonical,
    /// A number that is not a non-negative integer below 2^53, or a float.
    #[error("numbers must be integers between 0 and 2^53")]
    BadNumber,
    /// Invalid or non-canonical base64.
    #[error("field '{field}' is not canonical base64")]
    Base64 {
        /// Field name.
        field: &'static str,
    },
    /// Invalid hex.
    #[error("field '{field}' is not lower-case hex of the right length")]
    Hex {
        /// Field name.
        field: &'static str,
    },
}

/// Largest integer accepted in canonical JSON (2^53, exact in every language).
pub const MAX_INT: u64 = 1 << 53;

/// Serialises a JSON value canonically. Fails on floats and out-of-range integers.
pub fn canonical_json(value: &Value) -> Result<String, EncodingError> {
    let mut out = String::new();
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut String) -> Result<(), EncodingError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_u64() {
            Some(u) if u <= MAX_INT => out.push_str(&u.to_string()),
            _ => return Err(EncodingError::BadNumber),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                if let Some(v) = map.get(*key) {
                    write_value(v, out)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses `text` as JSON and checks it is exactly the canonical encoding.
pub fn parse_canonical(text: &str) -> Result<Value, EncodingError> {
    let value: Value = serde_json::from_str(text).map_err(|e| EncodingError::Json {
        line: e.line(),
        column: e.column(),
    })?;
    if canonical_json(&value)? != text {
        return Err(EncodingError::NotCanonical);
    }
    Ok(value)
}

/// Serialises any serde value canonically.
pub fn to_canonical<T: serde::Serialize>(value: &T) -> Result<String, EncodingError> {
    let v = serde_json::to_value(value).map_err(|_| EncodingError::BadNumber)?;
    canonical_json(&v)
}

/// Lower-case hex (base16ct: constant-time, no table lookups on secret bytes).
pub fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Decodes lower-case hex of exactly `N` bytes; upper case is refused
/// (canonical form).
pub fn unhex<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], EncodingError> {
    let mut out = [0u8; N];
    match base16ct::lower::decode(s, &mut out) {
        Ok(decoded) if decoded.len() == N => Ok(out),
        _ => Err(EncodingError::Hex { field }),
    }
}

/// Lower-case hex of any even length to bytes (`None` when not).
pub fn unhex_vec(s: &str) -> Option<Vec<u8>> {
    base16ct::lower::decode_vec(s).ok()
}

/// Nibble values of lower-case hex digits; 0xff for every other byte.
const NIBBLE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut c = 0;
    while c < 16 {
        t[b"0123456789abcdef"[c] as usize] = c as u8;
        c += 1;
    }
    t
};

/// Decodes lower-case hex into `out` (exactly twice its length), by table:
/// fast, but **not constant-time**, so only for public values (what the log
/// holds: hashes, vault ids, signatures). Accepts exactly what [`unhex`]
/// accepts.
fn unhex_public_into(s: &[u8], out: &mut [u8]) -> Option<()> {
    if s.len() != 2 * out.len() {
        return None;
    }
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    // A valid nibble is below 16: any 0xff sets the high bits.
    (bad < 16).then_some(())
}

/// [`unhex`] by table for public values only: fast, **not constant-time**
/// (log hashes, vault ids, signatures); accepts exactly what [`unhex`] does.
pub fn unhex_public<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    unhex_public_into(s.as_bytes(), &mut out).map(|()| out)
}

/// [`unhex_vec`] by table for public values only (as [`unhex_public`]).
pub fn unhex_public_vec(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0u8; s.len() / 2];
    unhex_public_into(s.as_bytes(), &mut out).map(|()| out)
}

/// Standard padded base64.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64, rejecting non-canonical encodings.
pub fn unb64(s: &str, field: &'static str) -> Result<Vec<u8>, EncodingError> {
    let bytes = STANDARD
        .decode(s)
        .map_err(|_| EncodingError::Base64 { field })?;
    if STANDARD.encode(&bytes) != s {
        return Err(EncodingError::Base64 { field });
    }
    Ok(bytes)
}

/// Standard base64 without padding (the remote text blocks: RFC 4648 section
/// 3.2, so a block has no `=` but the checksum line's).
pub fn b64_unpadded(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Decodes unpadded standard base64, rejecting non-canonical encodings
/// (nonzero trailing bits).
pub fn unb64_unpadded(s: &str, field: &'static str) -> Result<Vec<u8>, EncodingError> {
    let bytes = STANDARD_NO_PAD
        .decode(s)
        .map_err(|_| EncodingError::Base64 { field })?;
    if STANDARD_NO_PAD.encode(&bytes) != s {
        return Err(EncodingError::Base64 { field });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The table decoders accept exactly what the constant-time ones
    /// accept, with the same bytes: every byte value in every position of
    /// a 2-byte value, and every length up to 40 characters.
    #[test]
    fn public_unhex_agrees_with_unhex() {
        for pos in 0..4 {
            for c in 0..=255u8 {
                let mut b = *b"0f9a";
                b[pos] = c;
                let Ok(s) = std::str::from_utf8(&b) else {
                    assert_eq!(unhex_public_into(&b, &mut [0; 2]), None);
                    continue;
                };
                assert_eq!(unhex_public::<2>(s), unhex::<2>(s, "t").ok(), "{s:?}");
                assert_eq!(unhex_public_vec(s), unhex_vec(s), "{s:?}");
            }
        }
        let digits = "0123456789abcdefABCDEF";
        for len in 0..40 {
            let s: String = (0..len)
                .map(|i| digits.as_bytes()[(i * 7) % 16] as char)
                .collect();
            assert_eq!(unhex_public_vec(&s), unhex_vec(&s), "{s}");
            assert_eq!(unhex_public::<8>(&s), unhex::<8>(&s, "t").ok(), "{s}");
            let upper = s.to_uppercase();
            assert_eq!(unhex_public_vec(&upper), unhex_vec(&upper), "{upper}");
        }
    }

    #[test]
    fn canonical_json_sorts_and_escapes_like_python() {
        let v = json!({"b": 1, "a": "x\"y\\z\n\u{1}é", "c": [true, null]});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"a\":\"x\\\"y\\\\z\\n\\u0001é\",\"b\":1,\"c\":[true,null]}"
        );
    }

    #[test]
    fn parse_canonical_rejects_whitespace_order_and_floats() {
        assert!(parse_canonical("{\"a\":1,\"b\":2}").is_ok());
        assert_eq!(
            parse_canonical("{\"b\":2,\"a\":1}"),
            Err(EncodingError::NotCanonical)
        );
        assert_eq!(
            parse_canonical("{\"a\": 1}"),
            Err(EncodingError::NotCanonical)
        );
        assert_eq!(
            parse_canonical("{\"a\":1.5}"),
            Err(EncodingError::BadNumber)
        );
        assert_eq!(parse_canonical("{\"a\":-1}"), Err(EncodingError::BadNumber));
        assert!(matches!(
            parse_canonical("{\"a\":"),
            Err(EncodingError::Json { .. })
        ));
        // Duplicate keys: serde_json keeps the last; re-encoding differs → rejected.
        assert_eq!(
            parse_canonical("{\"a\":1,\"a\":1}"),
            Err(EncodingError::NotCanonical)
        );
        // Escaped forms of plain characters are non-canonical.
        assert_eq!(
            parse_canonical("{\"a\":\"\\u0041\"}"),
            Err(EncodingError::NotCanonical)
        );
    }

    #[test]
    fn hex_and_base64_round_trip_and_reject_non_canonical() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex::<3>("00abff", "f").unwrap(), [0, 0xab, 0xff]);
        assert!(unhex::<3>("00ABFF", "f").is_err());
        assert!(unhex::<3>("00ab", "f").is_err());
        assert_eq!(unb64(&b64(b"hello"), "f").unwrap(), b"hello");
        assert!(unb64("aGVsbG8", "f").is_err()); // missing padding
        assert!(unb64("aGVsbG9=", "f").is_err()); // non-zero trailing bits
    }
}
