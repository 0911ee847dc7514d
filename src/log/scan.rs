//! The fast reader of one log line: checks that the bytes are canonical JSON
//! as they are (no `serde_json::Value` of the whole line, no re-encoding),
//! hashes them with the `hash` member cut out, and finds the signed body as
//! byte ranges of the line (the line without `hash` and without
//! `sig.value`).
//!
//! Invariant (soundness): [`scan`] accepts a line only if
//! [`super::parse_line`] accepts it and yields the same [`Entry`]; the hash
//! it compares and the body it returns are byte-for-byte what the reference
//! computes by re-encoding. Anything it is unsure of (an escape other than
//! the canonical ones, a key with an escape, deep nesting, a time that is
//! not in its canonical spelling, a member it does not expect) makes it
//! answer `None`, and the caller asks the reference ([`super::parse_line`])
//! for the verdict and its exact wording. `tests/log_fast_path.rs` checks
//! both agree on every vector and on seeded random mutations.

use sha2::{Digest, Sha256};

use super::data::Data;
use super::entry::{Alg, Entry, Seal, Signer};
use crate::clock::Timestamp;
use crate::encoding::{unhex_public, unhex_public_vec, MAX_INT};

/// Deepest nesting the scanner follows (serde_json stops at 128).
const MAX_DEPTH: u32 = 64;

/// The signed body of a line as up to three byte ranges of it, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Body {
    parts: [(usize, usize); 3],
}

impl Body {
    /// Appends the body's bytes to `out`.
    pub(super) fn write_to(&self, line: &[u8], out: &mut Vec<u8>) {
        for &(a, b) in &self.parts {
            out.extend_from_slice(&line[a..b]);
        }
    }
}

/// A line the scanner accepted: the entry and, when it is signed, where
/// its signed body is.
pub(super) struct Scanned {
    pub(super) entry: Entry,
    pub(super) body: Option<Body>,
}

/// Whether any byte of `w` is `"`, `\\` or below 0x20 (may say so of a
/// byte ≥ 0x80 next to one of those; never misses one).
#[inline]
fn special_in(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || zero_in(w ^ (ONES * u64::from(b'"'))) || zero_in(w ^ (ONES * u64::from(b'\\')))
}

/// Whether `c` ends a run of plain string bytes.
#[inline(always)]
fn special(c: u8) -> bool {
    (c == b'"') | (c == b'\\') | (c < 0x20)
}

/// Validates one canonical JSON string starting at `b[i] == '"'`; returns
/// the index after the closing quote and whether it holds an escape.
fn string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    let mut escaped = false;
    loop {
        // Plain bytes (none of `"`, `\\` or a control): sixteen at a time
        // (a form the compiler turns into vector compares), then eight.
        while let Some(w) = b.get(i..i + 16) {
            if w.iter().fold(false, |any, &c| any | special(c)) {
                break;
            }
            i += 16;
        }
        while let Some(w) = b.get(i..i + 8) {
            if special_in(u64::from_le_bytes(w.try_into().ok()?)) {
                break;
            }
            i += 8;
        }
        let c = *b.get(i)?;
        match c {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        // Only control characters without a short escape.
                        let h = b.get(i + 2..i + 6)?;
                        if h[0] != b'0' || h[1] != b'0' || !matches!(h[2], b'0' | b'1') {
                            return None;
                        }
                        let lo = match h[3] {
                            d @ b'0'..=b'9' => d - b'0',
                            d @ b'a'..=b'f' => d - b'a' + 10,
                            _ => return None,
                        };
                        let v = ((h[2] - b'0') << 4) | lo;
                        if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// A canonical non-negative integer at `b[i..]`: (end, value).
fn number(b: &[u8], i: usize) -> Option<(usize, u64)> {
    let mut j = i;
    let mut v: u64 = 0;
    while let Some(d @ b'0'..=b'9') = b.get(j) {
        if j - i >= 16 {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
        j += 1;
    }
    if j == i || (b[i] == b'0' && j - i > 1) || v > MAX_INT {
        return None;
    }
    if matches!(b.get(j), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((j, v))
}

/// Validates one canonical JSON value at `b[i..]`; returns its end and
/// whether it is a string with an escape in it.
fn value(b: &[u8], i: usize, depth: u32) -> Option<(usize, bool)> {
    let end = match *b.get(i)? {
        b'"' => return string(b, i),
        b'{' => object(b, i, depth + 1, |_| Some(())),
        b'[' => {
            if depth + 1 > MAX_DEPTH {
                return None;
            }
            let mut j = i + 1;
            if b.get(j) == Some(&b']') {
                return Some((j + 1, false));
            }
            loop {
                j = value(b, j, depth + 1)?.0;
                match *b.get(j)? {
                    b',' => j += 1,
                    b']' => return Some((j + 1, false)),
                    _ => return None,
                }
            }
        }
        b't' => b[i..].starts_with(b"true").then_some(i + 4),
        b'f' => b[i..].starts_with(b"false").then_some(i + 5),
        b'n' => b[i..].starts_with(b"null").then_some(i + 4),
        b'0'..=b'9' => number(b, i).map(|(e, _)| e),
        _ => None,
    };
    end.map(|e| (e, false))
}

/// One member of an object: where its key starts (the opening quote),
/// where its value starts and ends, and whether the value is a string with
/// an escape (read once: [`plain_str`] needs no second pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member {
    key: usize,
    start: usize,
    end: usize,
    escaped: bool,
}

impl Member {
    /// The key's bytes (keys have no escapes).
    fn key<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        &b[self.key + 1..self.start - 2]
    }
}

/// Validates a canonical object at `b[i] == '{'` (keys without escapes,
/// strictly increasing in byte order); calls `member` for each member.
fn object(
    b: &[u8],
    i: usize,
    depth: u32,
    mut member: impl FnMut(Member) -> Option<()>,
) -> Option<usize> {
    if depth > MAX_DEPTH || b.get(i) != Some(&b'{') {
        return None;
    }
    let mut j = i + 1;
    if b.get(j) == Some(&b'}') {
        return Some(j + 1);
    }
    let mut last: Option<&[u8]> = None;
    loop {
        let (ke, esc) = string(b, j)?;
        let key = &b[j + 1..ke - 1];
        if esc || last.is_some_and(|l| l >= key) {
            return None;
        }
        last = Some(key);
        if b.get(ke) != Some(&b':') {
            return None;
        }
        let (ve, escaped) = value(b, ke + 1, depth)?;
        member(Member {
            key: j,
            start: ke + 1,
            end: ve,
            escaped,
        })?;
        match *b.get(ve)? {
            b',' => j = ve + 1,
            b'}' => return Some(ve + 1),
            _ => return None,
        }
    }
}

/// The text of a member's string value without escapes (`None` if it is
/// not a string or has any).
fn plain_str(line: &str, m: Member) -> Option<&str> {
    (!m.escaped && line.as_bytes()[m.start] == b'"').then(|| &line[m.start + 1..m.end - 1])
}

/// The text of top-level member `key`'s value in the canonical object
/// `text` (an object [`scan`] validated).
pub(super) fn top_level_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let b = text.as_bytes();
    let mut found = None;
    object(b, 0, 1, |m| {
        if m.key(b) == key.as_bytes() {
            found = Some(&text[m.start..m.end]);
            // Found: no need to read on (keys are unique).
            return None;
        }
        Some(())
    });
    found
}

/// Every top-level member of the canonical object `text` (an object
/// [`scan`] validated, so keys have no escapes): (key, value's text).
pub(super) fn top_level_members(text: &str) -> Vec<(&str, &str)> {
    let b = text.as_bytes();
    let mut all = Vec::new();
    object(b, 0, 1, |m| {
        all.push((&text[m.key + 1..m.start - 2], &text[m.start..m.end]));
        Some(())
    });
    all
}

/// The value of `v` when all of it is a canonical non-negative integer.
pub(super) fn whole_u64(v: &str) -> Option<u64> {
    number(v.as_bytes(), 0).and_then(|(e, n)| (e == v.len()).then_some(n))
}

/// Top-level member `key` of the canonical object `text` when it is a
/// non-negative integer.
pub(super) fn top_level_u64(text: &str, key: &str) -> Option<u64> {
    whole_u64(top_level_member(text, key)?)
}

/// Reads `line` (without its `\n`) on the fast path; `None` means "ask the
/// reference" (the line may still be valid, or is invalid).
pub(super) fn scan(line: &str) -> Option<Scanned> {
    let b = line.as_bytes();
    // The top-level members.
    #[derive(Default)]
    struct Members {
        data: Option<Member>,
        event: Option<Member>,
        generation: Option<Member>,
        hash: Option<Member>,
        mac: Option<Member>,
        prev: Option<Member>,
        seq: Option<Member>,
        sig: Option<Member>,
        time: Option<Member>,
        vault: Option<Member>,
    }
    let mut m = Members::default();
    let end = object(b, 0, 1, |member| {
        let slot = match member.key(b) {
            b"data" => &mut m.data,
            b"event" => &mut m.event,
            b"generation" => &mut m.generation,
            b"hash" => &mut m.hash,
            b"mac" => &mut m.mac,
            b"prev" => &mut m.prev,
            b"seq" => &mut m.seq,
            b"sig" => &mut m.sig,
            b"time" => &mut m.time,
            b"vault" => &mut m.vault,
            _ => return None,
        };
        *slot = Some(member);
        Some(())
    })?;
    if end != b.len() {
        return None;
    }
    let data = m.data?;
    if b[data.start] != b'{' {
        return None;
    }
    let hash_member = m.hash?;
    let (hk, he) = (hash_member.key, hash_member.end);
    // Checked against the line's digest below (that is its hex check too).
    let hash = plain_str(line, hash_member)?;
    let prev = plain_str(line, m.prev?)?;
    unhex_public::<32>(prev)?;
    let seal_and_body = match (m.mac, m.sig) {
        (None, None) => (Seal::None, None),
        (Some(r), None) => {
            let mac = plain_str(line, r)?;
            unhex_public::<32>(mac)?;
            (Seal::Mac(mac.to_owned()), None)
        }
        (None, Some(sg)) => {
            let (se, (by, value, value_at)) = (sg.end, sig(line, sg)?);
            // Body: the line without `"hash":"…",` and without `,"value":"…"`.
            if b.get(he) != Some(&b',') || value_at < he {
                return None;
            }
            let body = Body {
                parts: [(0, hk), (he + 1, value_at), (se - 1, b.len())],
            };
            (Seal::Signed { by, value }, Some(body))
        }
        (Some(_), Some(_)) => return None,
    };
    let event = plain_str(line, m.event?)?;
    if event.is_empty() || event.len() > 64 {
        return None;
    }
    let vault = plain_str(line, m.vault?)?;
    unhex_public::<16>(vault)?;
    let time_text = plain_str(line, m.time?)?;
    let time = Timestamp::parse(time_text).ok()?;
    if time.rfc3339_bytes().as_ref().map(<[u8; 20]>::as_slice) != Some(time_text.as_bytes()) {
        return None;
    }
    if b.get(he) != Some(&b',') {
        return None;
    }
    let mut h = Sha256::new();
    h.update(&b[..hk]);
    h.update(&b[he + 1..]);
    let digest: [u8; 32] = h.finalize().into();
    if unhex_public::<32>(hash)? != digest {
        return None;
    }
    let num = |r: Option<Member>| -> Option<u64> {
        let r = r?;
        let (end, v) = number(b, r.start)?;
        (end == r.end).then_some(v)
    };
    let generation = num(m.generation)?;
    if generation == 0 {
        return None;
    }
    let seq = num(m.seq)?;
    let (seal, body) = seal_and_body;
    Some(Scanned {
        entry: Entry {
            seq,
            time,
            event: event.to_owned(),
            generation,
            vault: vault.to_owned(),
            data: Data::from_canonical(&line[data.start..data.end]),
            prev: prev.to_owned(),
            hash: hash.to_owned(),
            seal,
        },
        body,
    })
}

/// The `sig` object at `line[ss..se]`, with the checks of the reference
/// (`Seal::parse`) and the members in the order `sig_object` writes them:
/// (signer, value, index of the `,` before `"value"`).
fn sig(line: &str, at: Member) -> Option<(Signer, Vec<u8>, usize)> {
    let b = line.as_bytes();
    let mut members: [Option<Member>; 5] = [None; 5];
    let mut n = 0;
    let end = object(b, at.start, 2, |m| {
        let slot = members.get_mut(n)?;
        *slot = Some(m);
        n += 1;
        Some(())
    })?;
    if end != at.end {
        return None;
    }
    let key = |i: usize| -> Option<&[u8]> { Some(members.get(i).copied().flatten()?.key(b)) };
    let text = |i: usize| -> Option<&str> { plain_str(line, members.get(i).copied().flatten()?) };
    let (by, value_i) = match n {
        2 if key(0)? == b"by" && key(1)? == b"value" && text(0)? == "quorum" => (Signer::Quorum, 1),
        5 if key(0)? == b"alg"
            && key(1)? == b"by"
            && key(2)? == b"custodian"
            && key(3)? == b"token"
            && key(4)? == b"value"
            && text(1)? == "custodian" =>
        {
            let custodian = text(2)?;
            let token = text(3)?;
            if !crate::names::is_valid(custodian) || token.is_empty() || token.len() > 64 {
                return None;
            }
            let alg = Alg::parse(text(0)?)?;
            (
                Signer::Custodian {
                    custodian: custodian.into(),
                    token: token.into(),
                    alg,
                },
                4,
            )
        }
        _ => return None,
    };
    let value = unhex_public_vec(text(value_i)?).filter(|v| !v.is_empty() && v.len() <= 128)?;
    Some((by, value, members[value_i]?.key - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{parse_line, By, Log};
    use crate::sign::SigningKey;

    /// The eight-byte test never misses a byte the string scanner must
    /// look at: every byte value at every position of a word, and words of
    /// random bytes (SplitMix64, fixed seed).
    #[test]
    fn special_in_never_misses_a_quote_backslash_or_control() {
        let naive = |w: u64| {
            w.to_le_bytes()
                .iter()
                .any(|&c| c == b'"' || c == b'\\' || c < 0x20)
        };
        for pos in 0..8 {
            for fill in [b'a', 0x80, 0xff, b' ', 0x21] {
                for c in 0..=255u8 {
                    let mut bytes = [fill; 8];
                    bytes[pos] = c;
                    let w = u64::from_le_bytes(bytes);
                    assert!(special_in(w) || !naive(w), "{bytes:?}");
                    if !naive(w) && fill < 0x80 && c < 0x80 {
                        assert!(!special_in(w), "plain ASCII {bytes:?} flagged");
                    }
                }
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            assert!(special_in(z) || !naive(z), "{z:#x}");
        }
    }

    /// Lines the writer produces take the fast path (the fallback is for
    /// the unusual), with the reference's entry, hash and signed body.
    #[test]
    fn written_lines_take_the_fast_path_with_the_reference_results() {
        let key = SigningKey::from_seed(&[7; 32]);
        let mut log = Log::at_head(std::path::Path::new("unused"), &"ab".repeat(16), None);
        let datas = [
            serde_json::json!({}),
            serde_json::json!({"reason": "quote \" backslash \\ newline \n tab \t ctl \u{1} é ✓", "n": 9007199254740992u64}),
            serde_json::json!({"list": [[], {}, [1, [2, {"a": null, "b": true, "c": false}]]], "z": ""}),
        ];
        for (i, d) in datas.iter().enumerate() {
            for signed in [false, true] {
                let by = if signed { By::Quorum(&key) } else { By::Nobody };
                let data = d.as_object().cloned().unwrap_or_default();
                let (line, head) = log
                    .build_line("drill", 1, data, Timestamp(1_800_000_000 + i as i64), by)
                    .unwrap();
                let text = line.trim_end_matches('\n');
                let fast = scan(text).unwrap_or_else(|| panic!("fell back on {text}"));
                let reference = parse_line(text).unwrap();
                assert_eq!(fast.entry, reference);
                match fast.body {
                    Some(b) => {
                        let mut out = Vec::new();
                        b.write_to(text.as_bytes(), &mut out);
                        assert_eq!(out, reference.signed_body().unwrap().into_bytes());
                    }
                    None => assert!(!signed, "a signed line has a body"),
                }
                log = Log::at_head(std::path::Path::new("unused"), &"ab".repeat(16), Some(head));
            }
        }
    }

    /// What the scanner leaves to the reference (never accepts wrongly).
    #[test]
    fn unusual_or_wrong_json_is_left_to_the_reference() {
        for bad in [
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u000a"}"#,
            r#"{"b":1,"a":1}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.0}"#,
            r#"{"a":-1}"#,
            r#"{"a":9007199254740993}"#,
            r#"{"a": 1}"#,
            r#"{"a\n":1}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(
                value(bad.as_bytes(), 0, 0).map(|v| v.0) != Some(bad.len()),
                "{bad}"
            );
        }
        for good in [
            r#"{"a":"\u0001\u001f\b\f\n\r\t\"\\"}"#,
            r#"{"a":[0,1,true,false,null,{}],"b":9007199254740992}"#,
        ] {
            assert_eq!(
                value(good.as_bytes(), 0, 0).map(|v| v.0),
                Some(good.len()),
                "{good}"
            );
        }
    }
}
