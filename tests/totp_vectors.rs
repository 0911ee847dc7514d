//! Named otpauth / base32 vectors (`tests/vectors/otpauth/*.txt`) and a
//! mutation loop over them.
//!
//! Vector format: header lines `key: value`, a blank line, then the input
//! (one line; its final newline is not part of it). Headers:
//! - `expect: ok` or `expect: error <TotpError variant>` (required);
//! - `comment: ...` (required);
//! - for `ok`: `algorithm`, `digits`, `period`, `issuer`, `account`
//!   (`-` for none) (required), and any number of `code-at: <unix time> <code>`
//!   computed independently of this crate (RFC tables or Python `hmac`).
//!
//! Every error's `Display` and `Debug` text is checked not to contain the input,
//! the secret, or any 10-character base32 piece of the secret.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use breakglass::totp::{Algorithm, TotpError, TotpParams, TotpSeed};

struct Vector {
    name: String,
    headers: BTreeMap<String, String>,
    code_at: Vec<(u64, String)>,
    input: String,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/otpauth")
}

fn load_vectors() -> Vec<Vector> {
    let mut paths: Vec<PathBuf> = fs::read_dir(vectors_dir())
        .expect("vectors directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths.iter().map(|p| parse_vector(p)).collect()
}

fn parse_vector(path: &Path) -> Vector {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (head, body) = text
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the header"));
    let input = body.strip_suffix('\n').unwrap_or(body);
    assert!(!input.contains('\n'), "{name}: the input must be one line");
    let mut headers = BTreeMap::new();
    let mut code_at = Vec::new();
    for line in head.lines() {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        if key == "code-at" {
            let (t, code) = value.split_once(' ').expect("code-at: <time> <code>");
            code_at.push((t.parse().expect("code-at time"), code.to_owned()));
        } else {
            let previous = headers.insert(key.to_owned(), value.to_owned());
            assert!(previous.is_none(), "{name}: header {key} twice");
        }
    }
    for required in ["expect", "comment"] {
        assert!(
            headers.contains_key(required),
            "{name}: no {required} header"
        );
    }
    Vector {
        name,
        headers,
        code_at,
        input: input.to_owned(),
    }
}

/// The variant name of an error, from its derived `Debug` text.
fn variant(err: &TotpError) -> String {
    format!("{err:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The secret as written in the input: the `secret=` value of a URI (empty if
/// there is none), or the whole input for a bare base32 key.
fn secret_text(input: &str) -> String {
    if !input.contains(':') {
        return input.to_owned();
    }
    let lower = input.to_ascii_lowercase();
    match lower.find("secret=") {
        Some(i) => input
            .get(i + "secret=".len()..)
            .unwrap_or("")
            .split(['&', '#'])
            .next()
            .unwrap_or("")
            .to_owned(),
        None => String::new(),
    }
}

/// Asserts that no text of `err` (Display, Debug, sources) leaks the input:
/// neither the whole input (when 24 bytes or more, so that short fragments
/// like `otpauth:/` can match the fixed hint text), nor the secret as
/// written (when 16 bytes or more, the shortest accepted seed), nor any 10 consecutive
/// base32 characters of the secret (compared case-insensitively, so a
/// normalised copy would be caught too).
fn assert_no_leak(context: &str, input: &str, err: &TotpError) {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        texts.push(s.to_string());
        source = s.source();
    }
    let secret = secret_text(input);
    let base32: Vec<char> = secret
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(c))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    for text in &texts {
        if input.len() >= 24 {
            assert!(
                !text.contains(input),
                "{context}: error echoes the input: {text}"
            );
        }
        if secret.len() >= 16 {
            assert!(
                !text.contains(&secret),
                "{context}: error echoes the secret: {text}"
            );
        }
        let upper = text.to_ascii_uppercase();
        for piece in base32.windows(10) {
            let piece: String = piece.iter().collect();
            assert!(
                !upper.contains(&piece),
                "{context}: error contains secret text {piece:?}: {text}"
            );
        }
    }
}

fn optional(value: &str) -> Option<String> {
    (value != "-").then(|| value.to_owned())
}

fn check_ok(v: &Vector, seed: &TotpSeed) {
    let h = |k: &str| {
        v.headers
            .get(k)
            .unwrap_or_else(|| panic!("{}: ok vector without {k} header", v.name))
            .as_str()
    };
    let algorithm = match h("algorithm") {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        other => panic!("{}: algorithm {other}", v.name),
    };
    let want = TotpParams {
        algorithm,
        digits: h("digits").parse().expect("digits"),
        period: h("period").parse().expect("period"),
        issuer: optional(h("issuer")),
        account: optional(h("account")),
    };
    assert_eq!(seed.params(), want, "{}: parameters", v.name);
    assert!(
        !v.code_at.is_empty(),
        "{}: ok vector without code-at",
        v.name
    );
    for (t, code) in &v.code_at {
        assert_eq!(&seed.code_at(*t).unwrap(), code, "{}: code at {t}", v.name);
    }
    // The canonical URI round-trips to the same seed and is a fixed point.
    let uri = seed.to_otpauth_uri("fallback");
    let back = TotpSeed::from_otpauth_uri(uri.expose())
        .unwrap_or_else(|e| panic!("{}: canonical URI refused: {e}", v.name));
    assert_eq!(back.secret_bytes(), seed.secret_bytes(), "{}", v.name);
    assert_eq!(back.to_otpauth_uri("fallback").expose(), uri.expose());
    let b32 = seed.to_base32();
    let back = TotpSeed::from_base32(b32.expose(), seed.params()).unwrap();
    assert_eq!(back.secret_bytes(), seed.secret_bytes(), "{}", v.name);
}

#[test]
fn named_vectors() {
    let vectors = load_vectors();
    assert!(vectors.len() >= 12, "only {} vectors", vectors.len());
    let (mut ok, mut bad) = (0, 0);
    for v in &vectors {
        let expect = v.headers["expect"].as_str();
        let result = TotpSeed::parse(&v.input);
        // A URI gives the same outcome through the URI entry point.
        if v.input.contains(':') {
            let direct = TotpSeed::from_otpauth_uri(&v.input);
            assert_eq!(
                direct.as_ref().err().map(variant),
                result.as_ref().err().map(variant),
                "{}: parse and from_otpauth_uri disagree",
                v.name
            );
        }
        match (expect, result) {
            ("ok", Ok(seed)) => {
                assert!(v.name.starts_with("good-"), "{}: name", v.name);
                check_ok(v, &seed);
                ok += 1;
            }
            ("ok", Err(e)) => panic!("{}: expected ok, got {}: {e}", v.name, variant(&e)),
            (expect, Ok(_)) => panic!("{}: expected {expect}, got ok", v.name),
            (expect, Err(e)) => {
                assert!(v.name.starts_with("bad-"), "{}: name", v.name);
                let want = expect
                    .strip_prefix("error ")
                    .unwrap_or_else(|| panic!("{}: bad expect header", v.name));
                assert_eq!(variant(&e), want, "{}: {e}", v.name);
                assert_no_leak(&v.name, &v.input, &e);
                bad += 1;
            }
        }
    }
    println!("{ok} good and {bad} bad otpauth vectors passed");
    assert!(ok >= 4 && bad >= 12);
}

/// A small deterministic xorshift generator: the loop is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const INSERTS: &[&str] = &[
    "%",
    "%3",
    "%3A",
    "%C3",
    "%C3%28",
    "%00",
    "&",
    "=",
    ":",
    "?",
    "#",
    "/",
    "+",
    " ",
    "-",
    "A",
    "7",
    "0",
    "é",
    "\u{0}",
    "\u{202e}",
    "&secret=A",
    "&secret=",
    "&digits=9",
    "&period=0",
    "&algorithm=MD5",
    "&issuer=X",
    "otpauth://",
    "totp/",
    "hotp/",
    "====",
    "99999999999999999999999",
];

fn mutate(rng: &mut XorShift, input: &str) -> String {
    let mut chars: Vec<char> = input.chars().collect();
    for _ in 0..=rng.below(3) {
        let len = chars.len();
        match rng.below(6) {
            0 if len > 0 => {
                chars.remove(rng.below(len));
            }
            1 => {
                let at = rng.below(len + 1);
                let insert = INSERTS[rng.below(INSERTS.len())];
                for (i, c) in insert.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
            2 if len > 1 => {
                let (a, b) = (rng.below(len), rng.below(len));
                chars.swap(a, b);
            }
            3 => chars.truncate(rng.below(len + 1)),
            4 if len > 0 => {
                let start = rng.below(len);
                let end = start + rng.below(len - start) + 1;
                let piece: Vec<char> = chars[start..end].to_vec();
                let at = rng.below(len + 1);
                chars.splice(at..at, piece);
            }
            _ => {
                if let Some(c) = chars.get_mut(rng.below(len.max(1))) {
                    *c = if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    };
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_inputs_never_panic_and_never_leak() {
    let seeds: Vec<String> = load_vectors().into_iter().map(|v| v.input).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut refused) = (0u32, 0u32);
    for i in 0..20_000 {
        let base = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, base);
        for result in [
            TotpSeed::parse(&input),
            TotpSeed::from_otpauth_uri(&input),
            TotpSeed::from_base32(&input, TotpParams::default()),
        ] {
            match result {
                Ok(seed) => {
                    accepted += 1;
                    let params = seed.params();
                    assert!(params.validate().is_ok(), "{input:?}");
                    let code = seed.code_at(1_700_000_000).unwrap();
                    assert_eq!(code.len(), usize::from(params.digits));
                    let w = seed.window(1_700_000_000).unwrap();
                    assert!(w.seconds_left >= 1 && w.seconds_left <= params.period);
                    let uri = seed.to_otpauth_uri("x");
                    let back = TotpSeed::from_otpauth_uri(uri.expose())
                        .unwrap_or_else(|e| panic!("canonical URI of {input:?} refused: {e}"));
                    assert_eq!(back.secret_bytes(), seed.secret_bytes());
                    assert_eq!(back.to_otpauth_uri("x").expose(), uri.expose());
                }
                Err(e) => {
                    refused += 1;
                    assert_no_leak(&format!("mutation {i} {input:?}"), &input, &e);
                }
            }
        }
    }
    println!("mutations: {accepted} accepted, {refused} refused");
    assert!(accepted > 0 && refused > 0);
}

#[test]
fn long_inputs_are_refused_cheaply() {
    let huge = format!("otpauth://totp/x?secret={}", "A".repeat(100_000));
    let err = TotpSeed::parse(&huge).err().expect("refused");
    assert_eq!(variant(&err), "InputTooLong");
    let long_seed = format!("otpauth://totp/x?secret={}", "A".repeat(1640));
    let err = TotpSeed::parse(&long_seed).err().expect("refused");
    assert_eq!(variant(&err), "SeedTooLong");
    assert_no_leak("long seed", &long_seed, &err);
}
