//! Text blocks: a request or response as lines of base64 between markers,
//! with a checksum, so it survives e-mail reflow, chat quoting and a copy by
//! hand; and its parts for QR codes.
//!
//! ```text
//! -----BEGIN BREAKGLASS REMOTE REQUEST-----
//! <base64 (RFC 4648, no padding), 64 characters per line>
//! =<first 8 hex digits of SHA-256 of the decoded bytes>
//! -----END BREAKGLASS REMOTE REQUEST-----
//! ```
//!
//! The reader ignores whitespace, line breaks and `>` quote marks between
//! the markers and anything outside them. The checksum names a block
//! damaged in copying (the file's own checks would refuse it anyway, but
//! with a less useful message).

use sha2::{Digest, Sha256};

use super::RemoteError;
use crate::encoding::{b64_unpadded, hex, unb64_unpadded};

/// Characters of base64 per line.
pub const LINE: usize = 64;

/// Largest QR part, in characters (a QR code of version 25–30 at medium
/// error correction, which phone cameras read from paper and screens).
pub const QR_PART: usize = 1200;

/// Which file a block carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A share request (vault machine → custodian).
    Request,
    /// A response (custodian → vault machine).
    Response,
}

impl Kind {
    /// The word in the markers.
    fn word(self) -> &'static str {
        match self {
            Kind::Request => "REQUEST",
            Kind::Response => "RESPONSE",
        }
    }

    /// For messages: "the request", "the response".
    pub fn what(self) -> &'static str {
        match self {
            Kind::Request => "the request",
            Kind::Response => "the response",
        }
    }

    fn other(self) -> Kind {
        match self {
            Kind::Request => Kind::Response,
            Kind::Response => Kind::Request,
        }
    }

    fn begin(self) -> String {
        format!("-----BEGIN BREAKGLASS REMOTE {}-----", self.word())
    }

    fn end(self) -> String {
        format!("-----END BREAKGLASS REMOTE {}-----", self.word())
    }
}

/// The checksum line's digits: the first 8 hex digits of SHA-256.
fn checksum(bytes: &[u8]) -> String {
    let mut h = hex(&Sha256::digest(bytes));
    h.truncate(8);
    h
}

/// The text block of `bytes`.
pub fn encode(kind: Kind, bytes: &[u8]) -> String {
    let body = b64_unpadded(bytes);
    let mut out = String::with_capacity(body.len() + body.len() / LINE + 128);
    out.push_str(&kind.begin());
    out.push('\n');
    for chunk in body.as_bytes().chunks(LINE) {
        // base64 is ASCII: every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push('=');
    out.push_str(&checksum(bytes));
    out.push('\n');
    out.push_str(&kind.end());
    out.push('\n');
    out
}

/// Whether `text` holds the start of a breakglass text block (of any kind).
pub fn has_block(text: &str) -> bool {
    text.contains("-----BEGIN BREAKGLASS REMOTE ")
}

/// Whether `text` holds the end marker of a block of `kind` (a terminal
/// stops reading a pasted block there).
pub fn is_end(kind: Kind, line: &str) -> bool {
    line.contains(&kind.end())
}

/// Decodes the block of `kind` in `text`; names what is wrong otherwise.
pub fn decode(kind: Kind, text: &str) -> Result<Vec<u8>, RemoteError> {
    let bad = |why: String| RemoteError::malformed("the text block", why);
    let (begin, end) = (kind.begin(), kind.end());
    let Some(start) = text.find(&begin) else {
        if text.contains(&kind.other().begin()) {
            return Err(bad(format!(
                "it is {} block, not {} block",
                kind.other().what().replacen("the", "a", 1),
                kind.what().replacen("the", "a", 1)
            )));
        }
        return Err(bad(format!("no line '{begin}'")));
    };
    let rest = &text[start + begin.len()..];
    let Some(stop) = rest.find(&end) else {
        return Err(bad(format!(
            "no line '{end}': the block was cut off; copy all of it, down to that line"
        )));
    };
    let body: String = rest[..stop]
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let Some((data, sum)) = body.rsplit_once('=') else {
        return Err(bad(
            "no checksum line ('=' and 8 hex digits before the END line): the block was cut off"
                .into(),
        ));
    };
    if sum.len() != 8 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "its checksum line is not '=' and 8 hex digits ({} characters): the block was damaged in copying",
            sum.chars().count()
        )));
    }
    let bytes = unb64_unpadded(data, "text block").map_err(|_| {
        bad("its body is not base64: the block was damaged in copying (the checksum cannot be checked); ask for it again, or use the file".into())
    })?;
    if !crate::secret::ct_eq(
        checksum(&bytes).as_bytes(),
        sum.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(bad(format!(
            "its checksum does not match (={sum}, the content gives ={}): a character changed in copying; ask for the block again, or use the file",
            checksum(&bytes)
        )));
    }
    Ok(bytes)
}

/// The block split into QR parts of at most [`QR_PART`] characters, at line
/// boundaries; scanned in order and joined, they give the block back.
pub fn qr_parts(block: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    for line in block.split_inclusive('\n') {
        if !cur.is_empty() && cur.len() + line.len() > QR_PART {
            parts.push(std::mem::take(&mut cur));
        }
        cur.push_str(line);
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..=255u8).cycle().take(3000).collect()
    }

    #[test]
    fn blocks_round_trip_through_quoting_reflow_and_surrounding_text() {
        let bytes = sample();
        let block = encode(Kind::Request, &bytes);
        assert!(block
            .lines()
            .all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert_eq!(decode(Kind::Request, &block).unwrap(), bytes);
        let quoted: String = block.lines().map(|l| format!(">  {l}\r\n")).collect();
        assert_eq!(decode(Kind::Request, &quoted).unwrap(), bytes);
        let wrapped = format!(
            "Hi,\n\nhere it is:\n{}\n-- \nlead",
            block.replace('\n', "\n\n")
        );
        assert_eq!(decode(Kind::Request, &wrapped).unwrap(), bytes);
        assert!(decode(Kind::Request, &encode(Kind::Request, b""))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn damage_is_named() {
        let bytes = sample();
        let block = encode(Kind::Response, &bytes);
        let err = |t: &str| decode(Kind::Response, t).unwrap_err().to_string();
        // One body character changed: still base64, the checksum tells.
        let i = block.find('\n').unwrap() + 11;
        let mut damaged = block.clone().into_bytes();
        damaged[i] = if damaged[i] == b'A' { b'B' } else { b'A' };
        assert!(err(std::str::from_utf8(&damaged).unwrap()).contains("checksum does not match"));
        let cut = &block[..block.len() / 2];
        assert!(err(cut).contains("cut off"));
        assert!(err("hello").contains("no line"));
        assert!(
            err(&encode(Kind::Request, &bytes)).contains("a request block, not a response block")
        );
        let no_sum = block.replace(&format!("={}", checksum(&bytes)), "");
        assert!(err(&no_sum).contains("checksum"), "{}", err(&no_sum));
        let mut bad_b64 = block.clone().into_bytes();
        bad_b64[i] = b'*';
        let bad_b64 = String::from_utf8(bad_b64).unwrap();
        assert!(err(&bad_b64).contains("not base64"), "{}", err(&bad_b64));
    }

    #[test]
    fn qr_parts_join_to_the_block_and_stay_small() {
        let block = encode(Kind::Request, &sample());
        let parts = qr_parts(&block);
        assert!(parts.len() >= 4, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= QR_PART));
        assert_eq!(parts.concat(), block);
        assert_eq!(qr_parts(&encode(Kind::Request, b"x")).len(), 1);
    }
}
