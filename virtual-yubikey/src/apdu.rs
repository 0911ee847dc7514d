//! Command APDU parsing and BER-TLV helpers for the card core.
//!
//! Short and extended-length APDUs are accepted (yubikit sends extended ones).
//!
//! Invariant: parsing never panics and never indexes out of bounds; malformed
//! input becomes an [`Sw`] error that the card returns as the status word.

/// A status word the card answers with.
pub type Sw = u16;

/// ISO 7816-4 / SP 800-73 status words used by the card.
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// Wrong length (Lc/Le inconsistent, bad TLV length).
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Security status not satisfied (PIN / management key / touch missing).
    pub const SECURITY_STATUS: u16 = 0x6982;
    /// Authentication method blocked (PIN or PUK blocked).
    pub const AUTH_BLOCKED: u16 = 0x6983;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// Incorrect parameters in the data field.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// File or application not found.
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Not enough memory.
    pub const NO_SPACE: u16 = 0x6A84;
    /// Incorrect P1/P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Referenced data (slot, key) not found.
    pub const REF_NOT_FOUND: u16 = 0x6A88;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// A parsed short command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty for cases 1 and 2).
    pub data: &'a [u8],
}

impl<'a> Command<'a> {
    /// Parses a command APDU, short (cases 1–4) or extended length (cases
    /// 2E–4E, as yubikit sends to a YubiKey 4.3+ over USB: `00 Lc1 Lc2 data
    /// [Le1 Le2]` or `00 Le1 Le2`). An inconsistent length gets `6700`.
    pub fn parse(apdu: &'a [u8]) -> Result<Self, Sw> {
        let (header, body) = match apdu {
            [cla, ins, p1, p2, rest @ ..] => ([*cla, *ins, *p1, *p2], rest),
            _ => return Err(sw::WRONG_LENGTH),
        };
        let data: &[u8] = match body {
            // Case 1, or case 2 (a lone Le byte; also the `Lc = 00` the yubikey crate sends).
            [] | [_] => &[],
            // Case 2E: extended Le only.
            [0, _, _] => &[],
            // Cases 3E / 4E: 3-byte Lc, data, optional 2-byte Le.
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                match rest.len().checked_sub(lc) {
                    Some(0) | Some(2) if lc > 0 => &rest[..lc],
                    _ => return Err(sw::WRONG_LENGTH),
                }
            }
            [0, ..] => return Err(sw::WRONG_LENGTH),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    // Case 3, or case 4 with a trailing Le.
                    Some(0) | Some(1) => rest.get(..lc).ok_or(sw::WRONG_LENGTH)?,
                    _ => return Err(sw::WRONG_LENGTH),
                }
            }
        };
        Ok(Command {
            cla: header[0],
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data,
        })
    }
}

/// One BER-TLV element (single- or two-byte tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, e.g. `0x7C` or `0x7F49`.
    pub tag: u16,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Parses one TLV from the front of `input`, returning it and the rest.
pub fn parse_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Sw> {
    let (tag, rest) = match input {
        [t, rest @ ..] if t & 0x1F != 0x1F => (u16::from(*t), rest),
        [t1, t2, rest @ ..] => (u16::from_be_bytes([*t1, *t2]), rest),
        _ => return Err(sw::WRONG_DATA),
    };
    let (len, rest) = match rest {
        [l, rest @ ..] if *l < 0x80 => (usize::from(*l), rest),
        [0x81, l, rest @ ..] => (usize::from(*l), rest),
        [0x82, h, l, rest @ ..] => (usize::from(u16::from_be_bytes([*h, *l])), rest),
        _ => return Err(sw::WRONG_DATA),
    };
    if rest.len() < len {
        return Err(sw::WRONG_DATA);
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Parses a whole buffer as a sequence of TLVs.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, Sw> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse_tlv(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// Encodes a TLV with a one- or two-byte tag (two bytes when `tag > 0xFF`).
pub fn tlv(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 5);
    if tag > 0xFF {
        out.extend(tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    out.extend(crate::der::len(value.len()));
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdu_cases() {
        let c = Command::parse(&[0, 0xFD, 0, 0]).unwrap();
        assert!(c.data.is_empty());
        let c = Command::parse(&[0, 0xFD, 0, 0, 0]).unwrap();
        assert!(c.data.is_empty());
        let c = Command::parse(&[0, 0xA4, 4, 0, 2, 0xAA, 0xBB]).unwrap();
        assert_eq!(c.data, [0xAA, 0xBB]);
        let c = Command::parse(&[0, 0xA4, 4, 0, 2, 0xAA, 0xBB, 0x00]).unwrap();
        assert_eq!(c.data, [0xAA, 0xBB]);
        assert_eq!(Command::parse(&[0, 1, 2]), Err(sw::WRONG_LENGTH));
        assert_eq!(Command::parse(&[0, 1, 2, 3, 4, 1]), Err(sw::WRONG_LENGTH));
        assert_eq!(
            Command::parse(&[0, 1, 2, 3, 1, 1, 2, 3]),
            Err(sw::WRONG_LENGTH)
        );
        // Extended length: case 3E, 4E, 2E; inconsistent ones are refused.
        let c = Command::parse(&[0, 1, 2, 3, 0, 0, 1, 9]).unwrap();
        assert_eq!(c.data, [9]);
        let c = Command::parse(&[0, 1, 2, 3, 0, 0, 1, 9, 0, 0]).unwrap();
        assert_eq!(c.data, [9]);
        assert!(Command::parse(&[0, 1, 2, 3, 0, 1, 0])
            .unwrap()
            .data
            .is_empty());
        assert_eq!(
            Command::parse(&[0, 1, 2, 3, 0, 0, 2, 9]),
            Err(sw::WRONG_LENGTH)
        );
        assert_eq!(
            Command::parse(&[0, 1, 2, 3, 0, 0, 1, 9, 0]),
            Err(sw::WRONG_LENGTH)
        );
    }

    #[test]
    fn tlv_roundtrip() {
        let long = vec![7u8; 300];
        let enc = tlv(0x7F49, &long);
        assert_eq!(&enc[..5], &[0x7F, 0x49, 0x82, 0x01, 0x2C]);
        let (t, rest) = parse_tlv(&enc).unwrap();
        assert_eq!(t.tag, 0x7F49);
        assert_eq!(t.value, &long[..]);
        assert!(rest.is_empty());
        assert_eq!(parse_tlv(&[0x53, 0x05, 1]), Err(sw::WRONG_DATA));
        assert_eq!(parse_tlv(&[0x53, 0x83, 1, 1, 1]), Err(sw::WRONG_DATA));
        assert_eq!(parse_tlv(&[0x7F]), Err(sw::WRONG_DATA));
    }
}
