//! A minimal DER writer, just enough to build the attestation certificates.
//!
//! Invariant: every function returns a complete, definite-length DER TLV, so
//! callers compose certificates by nesting calls. Nothing here parses input.

/// Encodes a BER/DER definite length (short form below 128, long form above).
pub(crate) fn len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// A TLV with the given (single-byte) tag.
pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len(value.len()));
    out.extend_from_slice(value);
    out
}

/// SEQUENCE of the concatenated, already-encoded elements.
pub(crate) fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// SET of the concatenated elements (callers pass one element, so no sorting).
pub(crate) fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// Context-specific constructed tag `[n]`.
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, inner)
}

/// INTEGER from unsigned big-endian bytes (minimal, with a sign pad if needed).
pub(crate) fn uint(be: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if v.is_empty() {
        v.push(0);
    }
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

/// BOOLEAN TRUE.
pub(crate) fn bool_true() -> Vec<u8> {
    tlv(0x01, &[0xFF])
}

/// OCTET STRING.
pub(crate) fn octets(v: &[u8]) -> Vec<u8> {
    tlv(0x04, v)
}

/// BIT STRING with no unused bits.
pub(crate) fn bits(v: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(v);
    tlv(0x03, &body)
}

/// NULL.
pub(crate) fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

/// OBJECT IDENTIFIER from its arcs (first two arcs must be valid: 0..=2, <40).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let (a, b) = match arcs {
        [a, b, ..] => (*a, *b),
        _ => (0, 0),
    };
    base128(a * 40 + b, &mut body);
    for arc in arcs.iter().skip(2) {
        base128(*arc, &mut body);
    }
    tlv(0x06, &body)
}

fn base128(mut v: u64, out: &mut Vec<u8>) {
    let mut tmp = vec![(v & 0x7F) as u8];
    v >>= 7;
    while v > 0 {
        tmp.push(0x80 | (v & 0x7F) as u8);
        v >>= 7;
    }
    tmp.reverse();
    out.extend(tmp);
}

/// UTF8String.
pub(crate) fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0C, s.as_bytes())
}

/// UTCTime from its `YYMMDDHHMMSSZ` text.
pub(crate) fn utc_time(s: &str) -> Vec<u8> {
    tlv(0x17, s.as_bytes())
}

/// GeneralizedTime from its `YYYYMMDDHHMMSSZ` text.
pub(crate) fn generalized_time(s: &str) -> Vec<u8> {
    tlv(0x18, s.as_bytes())
}

/// An X.501 Name with a single commonName RDN, as Yubico's certificates have.
pub(crate) fn name_cn(cn: &str) -> Vec<u8> {
    seq(&[set(&[seq(&[oid(&[2, 5, 4, 3]), utf8(cn)])])])
}

/// One X.509 extension.
pub(crate) fn extension(oid_arcs: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(oid_arcs)];
    if critical {
        parts.push(bool_true());
    }
    parts.push(octets(value));
    seq(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(len(0), [0]);
        assert_eq!(len(127), [127]);
        assert_eq!(len(128), [0x81, 128]);
        assert_eq!(len(256), [0x82, 1, 0]);
    }

    #[test]
    fn integers() {
        assert_eq!(uint(&[0, 0, 5]), [2, 1, 5]);
        assert_eq!(uint(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(uint(&[]), [2, 1, 0]);
        // The Yubico serial extension: 30000948 = 0x01C9C734.
        assert_eq!(
            uint(&30000948u32.to_be_bytes()),
            [2, 4, 1, 0xC9, 0xC7, 0x34]
        );
    }

    #[test]
    fn oids() {
        // 1.3.6.1.4.1.41482.3.3, as in real attestation certificates.
        assert_eq!(
            oid(&[1, 3, 6, 1, 4, 1, 41482, 3, 3]),
            [6, 10, 0x2B, 6, 1, 4, 1, 0x82, 0xC4, 0x0A, 3, 3]
        );
        assert_eq!(oid(&[2, 5, 4, 3]), [6, 3, 0x55, 4, 3]);
    }
}
