//! Named format vectors (`tests/vectors/{manifest,envelope,log,identity,payload}/*.txt`),
//! a deterministic mutation loop over them (the stable-toolchain stand-in for
//! the cargo-fuzz targets in `fuzz/`), and the independent Python log verifier
//! (`docs/verify_log.py`) run against what this library writes and reads.
//!
//! The formats, and the vector file format, are specified in `docs/formats.md`.
//! A vector file is header lines `key: value`, one blank line, then the input
//! **byte for byte** (everything after the first blank line, including or not
//! including a final newline). Headers:
//! - `expect: ok` or `expect: error <text>` (required): `<text>` must occur in
//!   the `Display` of the error the parser returns (for a chain vector, in
//!   `VerifyReport::explain()`, which names a forged entry although its chain
//!   is intact);
//! - `comment: …` (required): what the vector is about;
//! - `encoding: base64` (optional): the body is the base64 of the input (for
//!   inputs whose exact bytes an editor could change: CR, no final newline,
//!   invalid UTF-8);
//! - `scope: line` or `scope: chain` (log vectors only): one line checked with
//!   `log::parse_line`, or a whole log checked with `log::verify`;
//! - `bug: …` (optional): the parser is known to get this vector wrong; the
//!   vector is skipped by the main test and pinned by an `#[ignore]`d test
//!   named after the bug.
//!
//! For every `ok` vector the re-encoding of what was parsed must reproduce the
//! input byte for byte (canonical encoding; the payload, which is not a
//! canonical format, is exempt), and no parser may panic on any vector or
//! mutation.
//!
//! Format 1 vectors (MACs) are still read; the format 2 vectors (`*-v2*`:
//! signed log chains and manifests, and one bad chain per trust rule) are
//! built here by the library from fixed keys: Ed25519 is deterministic and
//! the YubiKey custodian's ECDSA uses RFC 6979 nonces.
//!
//! The vectors that the library can rebuild deterministically are checked
//! against what it builds today (format drift is a test failure). Set
//! `BREAKGLASS_WRITE_VECTORS=1` to rewrite them (and then review the diff: the
//! spec's test vectors in `docs/formats.md` must change with them; restore
//! `identity/ok-header.txt`, which that rewrites at random).
//!
//! The Python verifier must agree with the library on every chain vector and
//! on mutations of `ok-v2-chain` (verdict; on an intact chain also the counts,
//! forged entries, certified generations and fingerprint), refuse an empty
//! log, check `--fingerprint` and `--manifest`, and exit 3 without the
//! `cryptography` package. A debug build verifies an Ed25519 signature in
//! about 20 ms, which is most of this file's run time.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use breakglass::clock::Timestamp;
use breakglass::encoding::{self, b64, canonical_json, unb64};
use breakglass::envelope::Envelope;
use breakglass::keys::MasterKey;
use breakglass::log::{self, Log};
use breakglass::manifest::{
    generation_dir, sha256_hex, CustodianRecord, LogHead, Manifest, PayloadRef,
};
use breakglass::payload::{Entry as PayloadEntry, EntryInfo, Payload};
use breakglass::secret::{SecretBytes, SecretString};
use breakglass::shamir::Share;
use breakglass::sign::{Purpose, SigningKey};
use breakglass::token::piv_p256::PivRecipient;
use breakglass::token::{software, AttestationRecord, TokenDescriptor, YubikeyDescriptor};
use breakglass::{log_data, totp, ui};
use serde_json::{Map, Value};

/// Passphrase of every identity vector (published in `docs/formats.md`).
const PASSPHRASE: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------
// Vector files

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Ok,
    Error(String),
}

struct Vector {
    name: String,
    expect: Expect,
    headers: BTreeMap<String, String>,
    input: Vec<u8>,
}

impl Vector {
    fn scope(&self) -> &str {
        self.headers.get("scope").map_or("", String::as_str)
    }
    fn bug(&self) -> Option<&str> {
        self.headers.get("bug").map(String::as_str)
    }
}

fn vectors_dir(format: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(format)
}

fn load(format: &str) -> Vec<Vector> {
    let mut paths: Vec<PathBuf> = fs::read_dir(vectors_dir(format))
        .unwrap_or_else(|e| panic!("tests/vectors/{format}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no vectors in tests/vectors/{format}");
    paths.iter().map(|p| parse_vector(p)).collect()
}

fn parse_vector(path: &Path) -> Vector {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the header"));
    let head = std::str::from_utf8(&bytes[..split]).expect("header is UTF-8");
    let body = &bytes[split + 2..];
    let mut headers = BTreeMap::new();
    for line in head.lines() {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        assert!(
            ["expect", "comment", "encoding", "scope", "bug"].contains(&key),
            "{name}: unknown header {key}"
        );
        let previous = headers.insert(key.to_owned(), value.to_owned());
        assert!(previous.is_none(), "{name}: header {key} twice");
    }
    for required in ["expect", "comment"] {
        assert!(headers.contains_key(required), "{name}: no {required}");
    }
    let expect = match headers["expect"].as_str() {
        "ok" => Expect::Ok,
        e => Expect::Error(
            e.strip_prefix("error ")
                .unwrap_or_else(|| panic!("{name}: expect must be `ok` or `error <text>`"))
                .to_owned(),
        ),
    };
    assert_eq!(
        name.starts_with("ok"),
        expect == Expect::Ok,
        "{name}: ok vectors are named ok-*, error vectors bad-*"
    );
    let input = match headers.get("encoding").map(String::as_str) {
        None => body.to_vec(),
        Some("base64") => {
            let text: String = std::str::from_utf8(body)
                .expect("base64 body")
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            unb64(&text, "body").unwrap_or_else(|e| panic!("{name}: {e}"))
        }
        Some(other) => panic!("{name}: unknown encoding {other}"),
    };
    Vector {
        name,
        expect,
        headers,
        input,
    }
}

fn write_vector(
    format: &str,
    name: &str,
    expect: &str,
    comment: &str,
    extra: &[(&str, &str)],
    input: &[u8],
) {
    let mut out = format!("expect: {expect}\ncomment: {comment}\n");
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(input);
    fs::write(vectors_dir(format).join(format!("{name}.txt")), bytes).unwrap();
}

// ---------------------------------------------------------------------------
// The parsers under test. Each returns the re-encoding of what it accepted
// (when the format is canonical) or the error's `Display`.

type Outcome = Result<Option<Vec<u8>>, String>;

fn run_manifest(input: &[u8]) -> Outcome {
    let m = Manifest::from_bytes(input).map_err(|e| e.to_string())?;
    Ok(Some(m.to_bytes().map_err(|e| e.to_string())?))
}

fn run_envelope(input: &[u8]) -> Outcome {
    let e = Envelope::decode(input).map_err(|e| e.to_string())?;
    Ok(Some(e.encode().to_vec()))
}

/// Re-encodes a parsed entry from its fields (the writer's rules, spec §7).
fn encode_entry(e: &log::Entry) -> String {
    log::encode_entry(e).expect("a parsed entry re-encodes")
}

/// A format 1 line, built here from the spec (the library no longer writes
/// format 1): `mac` = HMAC-SHA256 under the log MAC key of the canonical JSON
/// without `hash` and `mac`; `hash` = SHA-256 of the canonical JSON without `hash`.
fn v1_line(
    head: Option<&LogHead>,
    vid: &str,
    event: &str,
    data: Map<String, Value>,
    t: &str,
    key: Option<&breakglass::keys::MacKey>,
) -> (String, LogHead) {
    let (seq, prev) = head.map_or((1, log::GENESIS.to_owned()), |h| {
        (h.seq + 1, h.hash.clone())
    });
    let mut o = Map::new();
    o.insert("data".into(), Value::Object(data));
    o.insert("event".into(), event.into());
    o.insert("generation".into(), 1.into());
    o.insert("prev".into(), prev.into());
    o.insert("seq".into(), seq.into());
    o.insert("time".into(), t.into());
    o.insert("vault".into(), vid.into());
    if let Some(k) = key {
        let mac = k.tag(
            canonical_json(&Value::Object(o.clone()))
                .unwrap()
                .as_bytes(),
        );
        o.insert("mac".into(), encoding::hex(&mac).into());
    }
    let hash = sha256_hex(
        canonical_json(&Value::Object(o.clone()))
            .unwrap()
            .as_bytes(),
    );
    o.insert("hash".into(), hash.clone().into());
    (
        format!("{}\n", canonical_json(&Value::Object(o)).unwrap()),
        LogHead { hash, seq },
    )
}

/// One log line: the input is the line with its terminating `\n`.
fn run_log_line(input: &[u8]) -> Outcome {
    let text = std::str::from_utf8(input).map_err(|_| "not UTF-8".to_string())?;
    let line = text
        .strip_suffix('\n')
        .ok_or_else(|| "line not terminated by \\n".to_string())?;
    if line.contains('\n') {
        return Err("more than one line".into());
    }
    let entry = log::parse_line(line)?;
    Ok(Some(format!("{}\n", encode_entry(&entry)).into_bytes()))
}

/// A whole log file, through `log::verify` (no anchor).
fn run_log_chain(input: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    fs::write(&path, input).unwrap();
    let mut reencoded = Vec::new();
    let report = log::verify(&path, None, |e, _| {
        reencoded.extend_from_slice(encode_entry(e).as_bytes());
        reencoded.push(b'\n');
    })
    .map_err(|e| e.to_string())?;
    if report.is_intact() {
        Ok(Some(reencoded))
    } else {
        Err(report.explain())
    }
}

fn canonical_file(input: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(input).unwrap();
    let v = encoding::parse_canonical(text.strip_suffix('\n').unwrap()).unwrap();
    format!("{}\n", canonical_json(&v).unwrap()).into_bytes()
}

/// The public header only (no KDF work): what the fuzz target exercises.
fn run_identity_header(input: &[u8]) -> Outcome {
    software::header(input, "vector").map_err(|e| e.to_string())?;
    Ok(Some(canonical_file(input)))
}

/// Header, then unlock with [`PASSPHRASE`] (the full decoder).
fn run_identity(input: &[u8]) -> Outcome {
    software::header(input, "vector").map_err(|e| e.to_string())?;
    let id = software::unlock(input, "vector", &SecretString::new(PASSPHRASE.into()))
        .map_err(|e| e.to_string())?;
    drop(id);
    Ok(Some(canonical_file(input)))
}

/// The decrypted payload (not canonical: accepted input must parse again
/// after serialisation, with the same index, and hold usable TOTP seeds).
fn run_payload(input: &[u8]) -> Outcome {
    let p = Payload::from_bytes(input).map_err(|e| e.to_string())?;
    let again = Payload::from_bytes(&p.to_bytes().map_err(|e| e.to_string())?)
        .expect("a written payload parses");
    assert_eq!(again.index(), p.index());
    for e in &p.entries {
        if let PayloadEntry::Totp { seed, .. } = e {
            let s = totp::TotpSeed::from_base32(seed, totp::TotpParams::default())
                .unwrap_or_else(|e| panic!("accepted a TOTP seed that does not decode: {e:?}"));
            assert_eq!(
                s.to_base32().expose(),
                seed.as_str(),
                "accepted a TOTP seed not in canonical base32"
            );
        }
    }
    Ok(None)
}

fn no_panic<T>(what: &str, input: &[u8], f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        panic!(
            "{what} panicked on input (base64) {}",
            b64(&input[..input.len().min(4096)])
        )
    })
}

fn check(format: &str, v: &Vector, outcome: &Outcome) -> Result<(), String> {
    match (&v.expect, outcome) {
        (Expect::Ok, Ok(Some(re))) if re != &v.input => Err(format!(
            "{format}/{}: accepted, but re-encoding differs from the input:\n  input: {:?}\n  again: {:?}",
            v.name,
            String::from_utf8_lossy(&v.input),
            String::from_utf8_lossy(re)
        )),
        (Expect::Ok, Ok(_)) => Ok(()),
        (Expect::Ok, Err(e)) => Err(format!("{format}/{}: rejected: {e}", v.name)),
        (Expect::Error(want), Err(e)) if e.contains(want.as_str()) => Ok(()),
        (Expect::Error(want), Err(e)) => Err(format!(
            "{format}/{}: rejected, but the error {e:?} does not mention {want:?}",
            v.name
        )),
        (Expect::Error(want), Ok(_)) => Err(format!(
            "{format}/{}: accepted, expected an error mentioning {want:?}",
            v.name
        )),
    }
}

fn runner(format: &str, v: &Vector) -> fn(&[u8]) -> Outcome {
    match (format, v.scope()) {
        ("manifest", "") => run_manifest,
        ("envelope", "") => run_envelope,
        ("log", "line") => run_log_line,
        ("log", "chain") => run_log_chain,
        ("identity", "") => run_identity,
        ("payload", "") => run_payload,
        _ => panic!("{format}/{}: no runner for scope {:?}", v.name, v.scope()),
    }
}

fn run_format(format: &str) {
    let mut failures = Vec::new();
    let vectors = load(format);
    for v in &vectors {
        if v.bug().is_some() {
            continue;
        }
        let run = runner(format, v);
        let outcome = no_panic(&format!("{format}/{}", v.name), &v.input, || run(&v.input));
        if let Err(e) = check(format, v, &outcome) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs a vector marked `bug:` and asserts the parser now gets it right.
/// Regression vectors: parser bugs found by the vectors (now fixed), pinned one by one.
fn run_bug_vector(format: &str, name: &str) {
    let v = parse_vector(&vectors_dir(format).join(name));
    let run = runner(format, &v);
    let outcome = no_panic(name, &v.input, || run(&v.input));
    if let Err(e) = check(format, &v, &outcome) {
        panic!("{e}");
    }
}

#[test]
fn manifest_vectors() {
    run_format("manifest");
}

#[test]
fn envelope_vectors() {
    run_format("envelope");
}

#[test]
fn log_vectors() {
    run_format("log");
}

#[test]
fn identity_vectors() {
    run_format("identity");
}

#[test]
fn payload_vectors() {
    run_format("payload");
}

// Known parser bugs, one test each (see the `bug:` header of the vector).
// Each fails today; remove the `#[ignore]` (and the vector's `bug:` header)
// with the fix.

#[test]
fn bug_manifest_same_token_two_custodians_case() {
    run_bug_vector("manifest", "bad-same-token-two-custodians-case.txt");
}

#[test]
fn bug_manifest_token_recipient_not_checked() {
    run_bug_vector("manifest", "bad-token-recipient.txt");
}

#[test]
fn bug_manifest_token_recipient_uppercase() {
    run_bug_vector("manifest", "bad-token-recipient-uppercase.txt");
}

#[test]
fn bug_manifest_entry_kind_not_checked() {
    run_bug_vector("manifest", "bad-entry-kind.txt");
}

#[test]
fn bug_manifest_log_head_seq_0() {
    run_bug_vector("manifest", "bad-log-head-seq-0.txt");
}

#[test]
fn bug_log_generation_0() {
    run_bug_vector("log", "bad-generation-0.txt");
}

#[test]
fn bug_identity_recipient_uppercase() {
    run_bug_vector("identity", "bad-recipient-uppercase.txt");
}

#[test]
fn bug_identity_name_not_checked() {
    run_bug_vector("identity", "bad-name-invalid.txt");
}

#[test]
fn bug_identity_header_accepts_short_salt() {
    let v = parse_vector(&vectors_dir("identity").join("bad-salt-short.txt"));
    let outcome = run_identity_header(&v.input);
    assert!(outcome.is_err(), "header() accepted an 8-byte salt");
}

// ---------------------------------------------------------------------------
// Library-built vectors: deterministic inputs, frozen in files.

/// The test master key K of every vector: bytes 00 01 … 1f.
fn test_key() -> MasterKey {
    MasterKey::from_secret(SecretBytes::new((0u8..32).collect())).unwrap()
}

/// The test vault id: bytes a0 a1 … af.
fn test_vault_id() -> [u8; 16] {
    std::array::from_fn(|i| 0xa0 + i as u8)
}

/// A deterministic age X25519 recipient (the payload recipient of a key of `fill` bytes).
fn test_recipient(fill: u8) -> String {
    MasterKey::from_secret(SecretBytes::new(vec![fill; 32]))
        .unwrap()
        .payload_identity(&[0; 16])
        .unwrap()
        .to_public()
        .to_string()
}

fn time(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The three lines of `log/ok-chain-3.txt`.
fn test_log_lines() -> Vec<(String, LogHead)> {
    let vid = encoding::hex(&test_vault_id());
    let key = test_key().log_mac_key(&test_vault_id()).unwrap();
    let mut head: Option<LogHead> = None;
    let mut out = Vec::new();
    let entries: [(&str, Map<String, Value>, &str, bool); 3] = [
        (
            log::events::VAULT_CREATED,
            log_data! {"threshold" => 2, "custodians" => ["alice", "bob"]},
            "2026-01-15T09:00:00Z",
            true,
        ),
        (
            log::events::SEALED,
            log_data! {"reason" => "init", "generation" => 1, "threshold" => 2, "custodians" => ["alice", "bob"]},
            "2026-01-15T09:01:00Z",
            true,
        ),
        (
            log::events::UNSEAL_REQUESTED,
            log_data! {"ticket" => "INC-4711", "reason" => "root account locked out: \"MFA lost\"", "entries" => ["aws-root"]},
            "2026-03-02T23:17:05Z",
            false,
        ),
    ];
    for (event, data, t, with_mac) in entries {
        let (line, h) = v1_line(
            head.as_ref(),
            &vid,
            event,
            data,
            t,
            with_mac.then_some(&key),
        );
        head = Some(h.clone());
        out.push((line, h));
    }
    out
}

fn test_manifest(spare: bool) -> Manifest {
    let vid = test_vault_id();
    let g = 1;
    let dir = generation_dir(g);
    let heads = test_log_lines();
    let custodian = |name: &str, x: u8, tokens: Vec<TokenDescriptor>| CustodianRecord {
        commitment: sha256_hex(format!("share file of {name}").as_bytes()),
        name: breakglass::names::CustodianName::parse(name).unwrap(),
        share: format!("{dir}/shares/{name}.age"),
        tokens,
        x,
    };
    let sw = |fill| TokenDescriptor::Software {
        recipient: test_recipient(fill),
        signing_key: None,
    };
    let mut alice_tokens = vec![sw(0x11)];
    if spare {
        alice_tokens.push(sw(0x33));
    }
    let mut m = Manifest {
        created: "2026-01-15T09:00:00Z".into(),
        custodians: vec![
            custodian("alice", 1, alice_tokens),
            custodian("bob", 2, vec![sw(0x22)]),
        ],
        entries: vec![EntryInfo {
            kind: "password".into(),
            name: "aws-root".into(),
        }],
        format: breakglass::manifest::FORMAT_V1.into(),
        generation: g,
        genesis_key: None,
        log_head: heads[1].1.clone(),
        mac: None,
        signatures: None,
        signing_key: None,
        payload: PayloadRef {
            digest: sha256_hex(b"payload file"),
            file: format!("{dir}/payload.age"),
        },
        sealed: "2026-01-15T09:01:00Z".into(),
        threshold: 2,
        vault_id: encoding::hex(&vid),
    };
    m.seal(&test_key().manifest_mac_key(&vid).unwrap()).unwrap();
    m
}

fn test_envelope() -> Envelope {
    Envelope {
        vault_id: test_vault_id(),
        generation: 1,
        custodian: "alice".into(),
        threshold: 2,
        share: Share {
            x: 1,
            y: SecretBytes::new((0u8..32).map(|i| i.wrapping_mul(7) ^ 0x5a).collect()),
        },
    }
}

/// A vector the library builds from fixed inputs, frozen in its file.
struct LibVector {
    format: &'static str,
    name: &'static str,
    /// `ok`, or `error <text the library prints>`.
    expect: String,
    comment: &'static str,
    extra: Vec<(&'static str, &'static str)>,
    input: Vec<u8>,
}

fn ok_vector(
    format: &'static str,
    name: &'static str,
    comment: &'static str,
    extra: Vec<(&'static str, &'static str)>,
    input: Vec<u8>,
) -> LibVector {
    LibVector {
        format,
        name,
        expect: "ok".into(),
        comment,
        extra,
        input,
    }
}

/// Every deterministic vector: format 1 (ok only) and format 2 (ok and bad).
fn library_vectors() -> Vec<LibVector> {
    let lines = test_log_lines();
    let chain: String = lines.iter().map(|(l, _)| l.as_str()).collect();
    let mut out = vec![
        ok_vector(
            "manifest",
            "ok-minimal",
            "format 1: two software custodians, threshold 2, generation 1; built by the library (K = 00..1f, vault a0..af), MAC verifies",
            vec![],
            test_manifest(false).to_bytes().unwrap(),
        ),
        ok_vector(
            "manifest",
            "ok-spare-token",
            "format 1: alice has two tokens (a spare): one share, two recipients; built by the library",
            vec![],
            test_manifest(true).to_bytes().unwrap(),
        ),
        ok_vector(
            "envelope",
            "ok",
            "share of alice (x = 1) in generation 1 of vault a0..af, threshold 2; built by the library",
            vec![],
            test_envelope().encode().to_vec(),
        ),
        ok_vector(
            "log",
            "ok",
            "format 1: first entry (seq 1, prev = 64 zeros) with a quorum MAC; built from the spec",
            vec![("scope", "line")],
            lines[0].0.clone().into_bytes(),
        ),
        ok_vector(
            "log",
            "ok-no-mac",
            "format 1: third entry of ok-chain-3: no quorum MAC, string escapes in data; built from the spec",
            vec![("scope", "line")],
            lines[2].0.clone().into_bytes(),
        ),
        ok_vector(
            "log",
            "ok-chain-3",
            "format 1: three chained entries (two with MAC, one without); built from the spec",
            vec![("scope", "chain")],
            chain.into_bytes(),
        ),
    ];
    out.extend(v2_vectors());
    out
}

#[test]
fn library_built_vectors_are_frozen() {
    let write = std::env::var_os("BREAKGLASS_WRITE_VECTORS").is_some();
    let all = library_vectors();
    for v in &all {
        let path = vectors_dir(v.format).join(format!("{}.txt", v.name));
        if write {
            write_vector(v.format, v.name, &v.expect, v.comment, &v.extra, &v.input);
        }
        let file = parse_vector(&path);
        assert_eq!(
            String::from_utf8_lossy(&file.input),
            String::from_utf8_lossy(&v.input),
            "{}/{}: the library now builds a different encoding (format drift?)",
            v.format,
            v.name
        );
        let want = match v.expect.strip_prefix("error ") {
            None => Expect::Ok,
            Some(text) => Expect::Error(text.into()),
        };
        assert_eq!(file.expect, want, "{}/{}: expect line", v.format, v.name);
        for (k, val) in &v.extra {
            assert_eq!(
                file.headers.get(*k).map(String::as_str),
                Some(*val),
                "{}/{}: header {k}",
                v.format,
                v.name
            );
        }
    }
    // Every format 2 vector file is one the library builds.
    for format in ["log", "manifest"] {
        for file in load(format).iter().filter(|f| f.name.contains("-v2")) {
            assert!(
                all.iter()
                    .any(|v| v.format == format && format!("{}.txt", v.name) == file.name),
                "{format}/{}: a format 2 vector the library does not build",
                file.name
            );
        }
    }
    if write {
        let (bytes, _) = software::create(
            "alice",
            &SecretString::new(PASSPHRASE.into()),
            breakglass::kdf::KdfParams::DEMO,
        )
        .unwrap();
        write_vector(
            "identity",
            "ok-header",
            "ok",
            "alice's identity with the cheapest (demo) Argon2id parameters; passphrase `correct horse battery staple`; built by the library",
            &[],
            &bytes,
        );
    }
}

// ---------------------------------------------------------------------------
// Format 2 vectors (docs/formats.md §13): keys, custodians, manifests and
// logs built by the library from fixed inputs. Ed25519 is deterministic and
// the YubiKey custodian's ECDSA signatures use RFC 6979 nonces, so every
// byte is reproducible.

/// Generation 2's master key: bytes 20 21 … 3f.
fn test_key_2() -> MasterKey {
    MasterKey::from_secret(SecretBytes::new((0x20u8..0x40).collect())).unwrap()
}

/// The genesis key `S_1` (K = 00..1f, vault a0..af).
fn s1() -> SigningKey {
    test_key().signing_key(&test_vault_id()).unwrap()
}

/// Generation 2's key `S_2` (K = 20..3f, vault a0..af).
fn s2() -> SigningKey {
    test_key_2().signing_key(&test_vault_id()).unwrap()
}

/// The key of a retried migration's generation 2 (K = 40..5f).
fn s3() -> SigningKey {
    MasterKey::from_secret(SecretBytes::new((0x40u8..0x60).collect()))
        .unwrap()
        .signing_key(&test_vault_id())
        .unwrap()
}

/// A key nobody certified: someone with write access to the vault signing
/// with a key of their own (seed ee…ee).
fn intruder() -> SigningKey {
    SigningKey::from_seed(&[0xee; 32])
}

/// A software custodian's signing key, derived from the identity's secret
/// key text as docs/formats.md §3 says (HKDF-SHA256, no salt).
fn software_signing_key(identity_text: &str) -> SigningKey {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, identity_text.as_bytes());
    let mut seed = [0u8; 32];
    hk.expand(software::INFO_SIGNING, &mut seed).unwrap();
    SigningKey::from_seed(&seed)
}

enum CustodianKey {
    Software(SigningKey),
    Yubikey(p256v14::ecdsa::SigningKey),
}

/// A custodian of the format 2 vectors and their one token.
struct V2Custodian {
    name: &'static str,
    token: TokenDescriptor,
    key: CustodianKey,
}

impl V2Custodian {
    /// A software custodian whose age identity is the payload identity of
    /// the key `fill`…`fill` in vault 00…00 (as [`test_recipient`]).
    fn software(name: &'static str, fill: u8) -> V2Custodian {
        let text = MasterKey::from_secret(SecretBytes::new(vec![fill; 32]))
            .unwrap()
            .payload_identity_text(&[0; 16])
            .unwrap();
        let key = software_signing_key(&text);
        V2Custodian {
            name,
            token: TokenDescriptor::Software {
                recipient: test_recipient(fill),
                signing_key: Some(key.public().to_hex()),
            },
            key: CustodianKey::Software(key),
        }
    }

    /// A YubiKey custodian whose PIV P-256 key is the scalar `fill`…`fill`.
    fn yubikey(name: &'static str, fill: u8, serial: u32) -> V2Custodian {
        let key = p256v14::ecdsa::SigningKey::from_slice(&[fill; 32]).unwrap();
        let point = key.verifying_key().to_sec1_point(true);
        let recipient = PivRecipient::from_compressed(point.as_bytes())
            .unwrap()
            .to_string();
        V2Custodian {
            name,
            token: TokenDescriptor::Yubikey(YubikeyDescriptor {
                recipient,
                serial,
                slot: "82".into(),
                firmware: "5.7.1".into(),
                pin_policy: breakglass::attestation::PinPolicy::Once,
                touch_policy: breakglass::attestation::TouchPolicy::Always,
                // The manifest parser does not check attestation evidence
                // (init does, at enrollment): left empty in the vectors.
                attestation: AttestationRecord {
                    slot_cert: String::new(),
                    f9_cert: String::new(),
                    pki: "test".into(),
                },
            }),
            key: CustodianKey::Yubikey(key),
        }
    }

    fn signer(&self) -> log::Signer {
        log::Signer::Custodian {
            custodian: self.name.into(),
            token: self.token.fingerprint(),
            alg: match self.key {
                CustodianKey::Software(_) => log::Alg::Ed25519,
                CustodianKey::Yubikey(_) => log::Alg::EcdsaP256,
            },
        }
    }

    /// The token's signature of a log entry's signed body.
    fn sign(&self, body: &[u8]) -> Vec<u8> {
        match &self.key {
            CustodianKey::Software(k) => k.sign(Purpose::LogEntry, body).to_vec(),
            CustodianKey::Yubikey(k) => {
                use p256v14::ecdsa::signature::Signer as _;
                let sig: p256v14::ecdsa::Signature = k.sign(&Purpose::LogEntry.message(body));
                sig.to_der().as_bytes().to_vec()
            }
        }
    }

    fn record(&self, generation: u64, x: u8) -> CustodianRecord {
        let dir = generation_dir(generation);
        CustodianRecord {
            commitment: sha256_hex(
                format!("share file of {} in generation {generation}", self.name).as_bytes(),
            ),
            name: breakglass::names::CustodianName::parse(self.name).unwrap(),
            share: format!("{dir}/shares/{}.age", self.name),
            tokens: vec![self.token.clone()],
            x,
        }
    }
}

/// alice and bob (software), carol (YubiKey): the custodians of `ok-v2`.
fn v2_custodians() -> Vec<V2Custodian> {
    vec![
        V2Custodian::software("alice", 0x11),
        V2Custodian::software("bob", 0x22),
        V2Custodian::yubikey("carol", 0x33, 99_000_003),
    ]
}

/// The `signers` member of a `sealed` entry: every token's signing key.
fn signers_of(custodians: &[V2Custodian]) -> Value {
    let mut out = Map::new();
    for c in custodians {
        let keys: Vec<Value> = [&c.token]
            .into_iter()
            .filter_map(|t| {
                t.signing_public().map(|(alg, key)| {
                    serde_json::json!({"alg": alg.as_str(), "key": encoding::hex(&key), "token": t.fingerprint()})
                })
            })
            .collect();
        out.insert(c.name.into(), Value::Array(keys));
    }
    Value::Object(out)
}

fn names_of(custodians: &[V2Custodian]) -> Vec<&'static str> {
    custodians.iter().map(|c| c.name).collect()
}

const V2_ENTRIES: [(&str, &str); 2] = [("password", "aws-root"), ("totp", "aws-root-mfa")];

/// A format 2 manifest of `generation`, signed by `own` and `predecessor`.
fn v2_manifest(
    generation: u64,
    custodians: &[V2Custodian],
    genesis: &SigningKey,
    own: &SigningKey,
    predecessor: Option<&SigningKey>,
    log_head: &LogHead,
    (created, sealed): (&str, Timestamp),
) -> Manifest {
    let dir = generation_dir(generation);
    let mut m = Manifest {
        created: created.into(),
        custodians: custodians
            .iter()
            .zip(1u8..)
            .map(|(c, x)| c.record(generation, x))
            .collect(),
        entries: V2_ENTRIES
            .iter()
            .map(|(kind, name)| EntryInfo {
                kind: (*kind).into(),
                name: (*name).into(),
            })
            .collect(),
        format: breakglass::manifest::FORMAT.into(),
        generation,
        genesis_key: Some(genesis.public().to_hex()),
        log_head: log_head.clone(),
        mac: None,
        payload: PayloadRef {
            digest: sha256_hex(format!("payload file of generation {generation}").as_bytes()),
            file: format!("{dir}/payload.age"),
        },
        sealed: sealed.to_rfc3339(),
        signatures: None,
        signing_key: None,
        threshold: 2,
        vault_id: encoding::hex(&test_vault_id()),
    };
    m.sign(own, predecessor).unwrap();
    m
}

/// The `sealed` entry's data for `manifest` (the members the commit
/// protocol writes), plus `extra`.
fn sealed_data(
    manifest: &Manifest,
    custodians: &[V2Custodian],
    mut extra: Map<String, Value>,
) -> Map<String, Value> {
    let entries: Vec<&str> = manifest.entries.iter().map(|e| e.name.as_str()).collect();
    let mut d = log_data! {
        "custodians" => names_of(custodians),
        "entries" => entries,
        "generation" => manifest.generation,
        "manifest_digest" => manifest.digest().unwrap(),
        "payload_digest" => manifest.payload.digest,
        "signers" => signers_of(custodians),
        "signing_key" => manifest.signing_key.clone().unwrap(),
        "threshold" => manifest.threshold,
    };
    d.append(&mut extra);
    d
}

/// Who signs a line being built.
enum Who<'a> {
    Nobody,
    Quorum(&'a SigningKey),
    Custodian(&'a V2Custodian),
}

/// A log being built line by line with `Log::build_line`.
#[derive(Clone)]
struct Chain {
    vid: String,
    lines: Vec<String>,
    head: Option<LogHead>,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            vid: encoding::hex(&test_vault_id()),
            lines: Vec::new(),
            head: None,
        }
    }

    /// The minute `n` of the vectors' day (2026-04-01T09:00:00Z + n min).
    fn at(n: i64) -> Timestamp {
        time("2026-04-01T09:00:00Z").plus(60 * n)
    }

    fn build(
        &self,
        event: &str,
        generation: u64,
        data: Map<String, Value>,
        who: &Who<'_>,
    ) -> String {
        let log = Log::at_head(Path::new("unused"), &self.vid, self.head.clone());
        let at = Chain::at(self.lines.len() as i64);
        let (line, _) = match who {
            Who::Nobody => log.build_line(event, generation, data, at, log::By::Nobody),
            Who::Quorum(k) => log.build_line(event, generation, data, at, log::By::Quorum(k)),
            Who::Custodian(c) => {
                let mut sign = |body_for: &mut dyn FnMut(&log::Signer) -> Vec<u8>| {
                    let signer = c.signer();
                    let body = body_for(&signer);
                    Ok((signer, c.sign(&body)))
                };
                log.build_line(event, generation, data, at, log::By::Custodian(&mut sign))
            }
        }
        .unwrap();
        line
    }

    /// Appends a line as the library writes it.
    fn push(
        &mut self,
        event: &str,
        generation: u64,
        data: Map<String, Value>,
        who: Who<'_>,
    ) -> LogHead {
        let line = self.build(event, generation, data, &who);
        self.push_line(line)
    }

    /// Appends a line the library would not write: built and signed, then
    /// `edit`ed (members other than `hash`), its hash recomputed.
    fn push_edited(
        &mut self,
        event: &str,
        generation: u64,
        data: Map<String, Value>,
        who: Who<'_>,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> LogHead {
        let line = self.build(event, generation, data, &who);
        let Value::Object(mut o) = serde_json::from_str(line.trim_end()).unwrap() else {
            unreachable!()
        };
        o.remove("hash");
        edit(&mut o);
        let hash = sha256_hex(
            canonical_json(&Value::Object(o.clone()))
                .unwrap()
                .as_bytes(),
        );
        o.insert("hash".into(), hash.clone().into());
        let seq = o["seq"].as_u64().unwrap();
        let line = format!("{}\n", canonical_json(&Value::Object(o)).unwrap());
        // (Not parsed again: an edited line may nest deeper than serde_json reads.)
        self.lines.push(line);
        self.head = Some(LogHead { hash, seq });
        self.head.clone().unwrap()
    }

    /// Appends a complete line (with its LF) and makes it the head.
    fn push_line(&mut self, line: String) -> LogHead {
        let Value::Object(o) = serde_json::from_str(line.trim_end()).unwrap() else {
            unreachable!()
        };
        let head = LogHead {
            hash: o["hash"].as_str().unwrap().into(),
            seq: o["seq"].as_u64().unwrap(),
        };
        self.lines.push(line);
        self.head = Some(head.clone());
        head
    }

    /// The first `n` lines.
    fn prefix(&self, n: usize) -> Chain {
        let mut c = self.clone();
        c.lines.truncate(n);
        c.head = c.lines.last().map(|l| {
            let e = log::parse_line(l.trim_end()).unwrap();
            LogHead {
                hash: e.hash,
                seq: e.seq,
            }
        });
        c
    }

    fn bytes(&self) -> Vec<u8> {
        self.lines.concat().into_bytes()
    }
}

/// The vault of `ok-v2-chain` and its manifests.
struct V2Vault {
    chain: Chain,
    /// Generation 1 (`ok-v2`), certified by entry 5.
    manifest_1: Manifest,
    /// Generation 2 (`ok-v2-gen2`), certified by entry 11.
    manifest_2: Manifest,
}

/// `ok-v2-chain`: the life of a format 2 vault (docs/formats.md §13.1
/// lists its entries).
fn v2_vault() -> V2Vault {
    let (s1, s2) = (s1(), s2());
    let cs = v2_custodians();
    let [alice, bob, carol] = [&cs[0], &cs[1], &cs[2]];
    let mut c = Chain::new();
    c.push(
        log::events::VAULT_CREATED,
        1,
        log_data! {"custodians" => names_of(&cs), "format" => 2, "genesis_key" => s1.public().to_hex(), "threshold" => 2},
        Who::Quorum(&s1),
    );
    for cu in &cs {
        c.push(
            log::events::CUSTODIAN_ENROLLED,
            1,
            log_data! {"custodian" => cu.name, "tokens" => [cu.token.fingerprint()]},
            Who::Quorum(&s1),
        );
    }
    let created = Chain::at(0).to_rfc3339();
    let manifest_1 = v2_manifest(
        1,
        &cs,
        &s1,
        &s1,
        None,
        c.head.as_ref().unwrap(),
        (&created, Chain::at(4)),
    );
    c.push(
        log::events::SEALED,
        1,
        sealed_data(&manifest_1, &cs, log_data! {"reason" => "init"}),
        Who::Quorum(&s1),
    );
    let request = c.push(
        log::events::UNSEAL_REQUESTED,
        1,
        log_data! {"entries" => ["aws-root"], "reason" => "root account locked out: \"MFA lost\"", "ticket" => "INC-4711"},
        Who::Nobody,
    );
    c.push(
        log::events::UNSEAL_GRANTED,
        1,
        log_data! {"custodians" => ["alice", "carol"], "entries" => ["aws-root"], "reason" => "root account locked out: \"MFA lost\"", "request" => request.seq, "session_limit_s" => 900, "ticket" => "INC-4711"},
        Who::Quorum(&s1),
    );
    for cu in [alice, carol] {
        c.push(
            log::events::DRILL,
            1,
            log_data! {"custodian" => cu.name, "kind" => "custodian", "result" => "ok", "token" => cu.token.fingerprint()},
            Who::Custodian(cu),
        );
    }
    let request = c.push(
        log::events::RESEAL_REQUESTED,
        1,
        log_data! {"reason" => "rotate after INC-4711", "ticket" => "CHG-815"},
        Who::Nobody,
    );
    let manifest_2 = v2_manifest(
        2,
        &cs,
        &s1,
        &s2,
        Some(&s1),
        c.head.as_ref().unwrap(),
        (&created, Chain::at(10)),
    );
    c.push(
        log::events::SEALED,
        1,
        sealed_data(
            &manifest_2,
            &cs,
            log_data! {"changes" => [serde_json::json!({"change": "generated", "entry": "aws-root", "length": 32})], "previous_generation" => 1, "reason" => "reseal", "request" => request.seq, "ticket" => "CHG-815"},
        ),
        Who::Quorum(&s1),
    );
    c.push(
        log::events::DRILL,
        2,
        log_data! {"custodian" => "bob", "kind" => "custodian", "result" => "ok", "token" => bob.token.fingerprint()},
        Who::Custodian(bob),
    );
    let request = c.push(
        log::events::UNSEAL_REQUESTED,
        2,
        log_data! {"entries" => ["aws-root-mfa"], "reason" => "MFA device re-enrollment", "ticket" => "INC-4712"},
        Who::Nobody,
    );
    c.push(
        log::events::UNSEAL_GRANTED,
        2,
        log_data! {"custodians" => ["bob", "carol"], "entries" => ["aws-root-mfa"], "reason" => "MFA device re-enrollment", "request" => request.seq, "session_limit_s" => 900, "ticket" => "INC-4712"},
        Who::Quorum(&s2),
    );
    V2Vault {
        chain: c,
        manifest_1,
        manifest_2,
    }
}

/// `ok-v2-migrated`: format 1 history, then a `migrated` root (generation 2)
/// and its own certificate; and that generation's manifest.
fn v2_migrated() -> (Chain, Manifest) {
    let s2 = s2();
    let cs: Vec<V2Custodian> = v2_custodians().into_iter().take(2).collect();
    let mac = test_key().log_mac_key(&test_vault_id()).unwrap();
    let mut c = Chain::new();
    let vid = c.vid.clone();
    let (l1, h1) = v1_line(
        None,
        &vid,
        log::events::VAULT_CREATED,
        log_data! {"threshold" => 2, "custodians" => ["alice", "bob"]},
        "2026-01-15T09:00:00Z",
        Some(&mac),
    );
    c.push_line(l1);
    let (l2, _) = v1_line(
        Some(&h1),
        &vid,
        log::events::SEALED,
        log_data! {"reason" => "init", "generation" => 1, "threshold" => 2, "custodians" => ["alice", "bob"], "entries" => ["aws-root", "aws-root-mfa"], "payload_digest" => sha256_hex(b"payload file of generation 1")},
        "2026-01-15T09:01:00Z",
        Some(&mac),
    );
    c.push_line(l2);
    let request = c.push(
        log::events::RESEAL_REQUESTED,
        1,
        log_data! {"reason" => "migrate to format 2", "ticket" => "CHG-900"},
        Who::Nobody,
    );
    for cu in &cs {
        c.push(
            log::events::SHARE_ACCEPTED,
            1,
            log_data! {"custodian" => cu.name, "request" => request.seq, "token" => cu.token.fingerprint()},
            Who::Nobody,
        );
    }
    c.push(
        log::events::MIGRATED,
        2,
        log_data! {"from_format" => 1, "genesis_key" => s2.public().to_hex(), "previous_generation" => 1, "request" => request.seq, "ticket" => "CHG-900"},
        Who::Quorum(&s2),
    );
    let manifest = v2_manifest(
        2,
        &cs,
        &s2,
        &s2,
        None,
        c.head.as_ref().unwrap(),
        ("2026-01-15T09:00:00Z", Chain::at(6)),
    );
    c.push(
        log::events::SEALED,
        2,
        sealed_data(
            &manifest,
            &cs,
            log_data! {"changes" => Vec::<Value>::new(), "previous_generation" => 1, "reason" => "migrate", "request" => request.seq, "ticket" => "CHG-900"},
        ),
        Who::Quorum(&s2),
    );
    c.push(
        log::events::DRILL,
        2,
        log_data! {"custodian" => "alice", "kind" => "custodian", "result" => "ok", "token" => cs[0].token.fingerprint()},
        Who::Custodian(&cs[0]),
    );
    (c, manifest)
}

/// The grant of `ok-v2-chain` (entry 7) again, for the bad vectors.
fn grant_data() -> Map<String, Value> {
    log_data! {"custodians" => ["alice", "carol"], "entries" => ["aws-root"], "reason" => "root account locked out: \"MFA lost\"", "request" => 6, "session_limit_s" => 900, "ticket" => "INC-4711"}
}

fn drill_data(c: &V2Custodian, result: &str) -> Map<String, Value> {
    log_data! {"custodian" => c.name, "kind" => "custodian", "result" => result, "token" => c.token.fingerprint()}
}

/// An edit of a line's members (without `hash`).
type Edit = Box<dyn FnOnce(&mut Map<String, Value>)>;

fn edit_sig(edit: impl FnOnce(&mut Map<String, Value>)) -> impl FnOnce(&mut Map<String, Value>) {
    move |o| {
        if let Some(Value::Object(sig)) = o.get_mut("sig") {
            edit(sig);
        }
    }
}

/// Every format 2 vector (ok and bad), built by the library.
fn v2_vectors() -> Vec<LibVector> {
    let (s1k, s2k, bad_key) = (s1(), s2(), intruder());
    let cs = v2_custodians();
    let [alice, _, carol] = [&cs[0], &cs[1], &cs[2]];
    let vault = v2_vault();
    let ok = &vault.chain;
    let (migrated, migrated_manifest) = v2_migrated();
    let migrated = &migrated;
    let chain = |name, expect: &str, comment, c: Chain| LibVector {
        format: "log",
        name,
        expect: expect.into(),
        comment,
        extra: vec![("scope", "chain")],
        input: c.bytes(),
    };
    let mut out = vec![
        ok_vector(
            "manifest",
            "ok-v2",
            "format 2: generation 1 of ok-v2-chain (alice, bob: software; carol: YubiKey; threshold 2), signed by S_1 (K = 00..1f, vault a0..af), certified by entry 5 of ok-v2-chain",
            vec![],
            vault.manifest_1.to_bytes().unwrap(),
        ),
        ok_vector(
            "manifest",
            "ok-v2-gen2",
            "format 2: generation 2 of ok-v2-chain, signed by S_2 (K = 20..3f) and by its predecessor S_1, certified by entry 11 of ok-v2-chain",
            vec![],
            vault.manifest_2.to_bytes().unwrap(),
        ),
        ok_vector(
            "manifest",
            "ok-v2-migrated",
            "format 2: generation 2 of ok-v2-migrated, the root generation of a migrated vault (genesis key S_2, no predecessor signature), certified by entry 7",
            vec![],
            migrated_manifest.to_bytes().unwrap(),
        ),
        chain(
            "ok-v2-chain",
            "ok",
            "format 2: root (vault-created, S_1), three enrollments, sealed (certifies generation 1 = ok-v2), unsigned request, quorum-signed grant, custodian-signed drills (alice Ed25519, carol ECDSA P-256), unsigned reseal request, sealed (certifies generation 2 = ok-v2-gen2, signed by S_1), bob's drill in generation 2, request, grant signed by S_2",
            ok.clone(),
        ),
        chain(
            "ok-v2-migrated",
            "ok",
            "format 2: format 1 history (two MACed entries, three unsigned), a migrated root (generation 2, S_2), its own certificate (ok-v2-migrated manifest), alice's signed drill",
            migrated.clone(),
        ),
    ];
    let after = |n: usize| ok.prefix(n);

    // A migration interrupted after its root, retried with a new key.
    let s3k = s3();
    let two: Vec<V2Custodian> = v2_custodians().into_iter().take(2).collect();
    let mut c = migrated.prefix(3);
    let migrated_data = |key: &SigningKey, request: u64| {
        log_data! {"from_format" => 1, "genesis_key" => key.public().to_hex(), "previous_generation" => 1, "request" => request, "ticket" => "CHG-900"}
    };
    c.push(
        log::events::MIGRATED,
        2,
        migrated_data(&s2k, 3),
        Who::Quorum(&s2k),
    );
    let request = c.push(
        log::events::RESEAL_REQUESTED,
        1,
        log_data! {"reason" => "migrate to format 2 (again: the first attempt was interrupted)", "ticket" => "CHG-901"},
        Who::Nobody,
    );
    c.push(
        log::events::MIGRATED,
        2,
        migrated_data(&s3k, request.seq),
        Who::Quorum(&s3k),
    );
    let retried = v2_manifest(
        2,
        &two,
        &s3k,
        &s3k,
        None,
        c.head.as_ref().unwrap(),
        ("2026-01-15T09:00:00Z", Chain::at(6)),
    );
    c.push(
        log::events::SEALED,
        2,
        sealed_data(
            &retried,
            &two,
            log_data! {"changes" => Vec::<Value>::new(), "previous_generation" => 1, "reason" => "migrate", "request" => request.seq, "ticket" => "CHG-901"},
        ),
        Who::Quorum(&s3k),
    );
    c.push(
        log::events::DRILL,
        2,
        drill_data(&two[0], "ok"),
        Who::Custodian(&two[0]),
    );
    out.push(chain(
        "ok-v2-migration-retried",
        "ok",
        "format 2: format 1 history, a migrated root (S_2) whose migration was interrupted before its sealed entry, a new request, a second migrated root (S_3, K = 40..5f) that replaces it, its own certificate, alice's drill",
        c,
    ));
    let mut c = migrated.clone();
    c.push(
        log::events::MIGRATED,
        2,
        migrated_data(&bad_key, 3),
        Who::Quorum(&bad_key),
    );
    out.push(chain(
        "bad-v2-migrated-after-certificate",
        "error entry 9 ('migrated') claims to be written by a quorum of generation 2 but its signature does not verify",
        "format 2: ok-v2-migrated, then another migrated root by another key: once a certificate exists the root is never replaced",
        c,
    ));

    let mut c = after(6);
    c.push(
        log::events::UNSEAL_GRANTED,
        1,
        grant_data(),
        Who::Quorum(&bad_key),
    );
    out.push(chain(
        "bad-v2-forged-quorum",
        "error entry 7 ('unseal-granted') claims to be written by a quorum of generation 1 but its signature does not verify",
        "format 2: the grant is signed by a key that is not generation 1's (someone with write access and a key of their own); the chain is intact",
        c,
    ));

    let mut c = after(6);
    c.push_edited(log::events::UNSEAL_GRANTED, 1, grant_data(), Who::Quorum(&s1k), |o| {
        o.insert("data".into(), Value::Object(log_data! {"custodians" => ["alice", "carol"], "entries" => ["aws-root", "aws-root-mfa"], "reason" => "root account locked out: \"MFA lost\"", "request" => 6, "session_limit_s" => 900, "ticket" => "INC-4711"}));
    });
    out.push(chain(
        "bad-v2-edited-grant",
        "error entry 7 ('unseal-granted') claims to be written by a quorum of generation 1 but its signature does not verify",
        "format 2: the quorum-signed grant was edited (one more entry) and its hash recomputed: the chain is intact, the signature is not",
        c,
    ));

    let mut c = after(6);
    c.push(
        log::events::UNSEAL_GRANTED,
        2,
        grant_data(),
        Who::Quorum(&bad_key),
    );
    out.push(chain(
        "bad-v2-quorum-uncertified-generation",
        "error entry 7 ('unseal-granted') claims to be written by a quorum of generation 2, which no quorum certified",
        "format 2: a quorum signature under generation 2 before any sealed entry certified generation 2",
        c,
    ));

    let mut c = after(10);
    let forged_cert = v2_manifest(
        2,
        &cs,
        &s1k,
        &bad_key,
        Some(&bad_key),
        c.head.as_ref().unwrap(),
        (&Chain::at(0).to_rfc3339(), Chain::at(10)),
    );
    c.push(
        log::events::SEALED,
        1,
        sealed_data(&forged_cert, &cs, log_data! {"reason" => "reseal", "previous_generation" => 1, "request" => 10, "ticket" => "CHG-815", "changes" => Vec::<Value>::new()}),
        Who::Quorum(&bad_key),
    );
    c.push(
        log::events::UNSEAL_GRANTED,
        2,
        grant_data(),
        Who::Quorum(&bad_key),
    );
    out.push(chain(
        "bad-v2-forged-certificate",
        "error entry 11 ('sealed') claims to be written by a quorum of generation 1 but its signature does not verify: it was forged or altered, and counts for nothing (and 1 more forged entries",
        "format 2: a sealed entry certifying the intruder's key for generation 2, signed by that key, then a grant signed with it: both forged",
        c,
    ));

    let mut c = after(7);
    let stranger = V2Custodian::software("alice", 0x44);
    c.push(
        log::events::DRILL,
        1,
        drill_data(&stranger, "ok"),
        Who::Custodian(&stranger),
    );
    out.push(chain(
        "bad-v2-custodian-uncertified-token",
        "error which is not certified for generation 1",
        "format 2: a drill signed as alice by a software token no sealed entry certified (a lost or never-enrolled token)",
        c,
    ));

    let mut c = after(7);
    c.push_edited(
        log::events::DRILL,
        1,
        drill_data(alice, "failed"),
        Who::Custodian(alice),
        |o| {
            o.insert("data".into(), Value::Object(drill_data(alice, "ok")));
        },
    );
    out.push(chain(
        "bad-v2-edited-drill",
        "error entry 8 ('drill') claims to be signed by alice's token software:",
        "format 2: alice's failed drill edited to ok and its hash recomputed: her Ed25519 signature no longer verifies",
        c,
    ));

    let mut c = after(8);
    c.push_edited(
        log::events::DRILL,
        1,
        drill_data(carol, "failed"),
        Who::Custodian(carol),
        |o| {
            o.insert("data".into(), Value::Object(drill_data(carol, "ok")));
        },
    );
    out.push(chain(
        "bad-v2-edited-yubikey-drill",
        "error entry 9 ('drill') claims to be signed by carol's token yubikey:",
        "format 2: carol's failed drill edited to ok and its hash recomputed: her ECDSA P-256 signature no longer verifies",
        c,
    ));

    let mut c = Chain::new();
    let vid = c.vid.clone();
    let mac = test_key().log_mac_key(&test_vault_id()).unwrap();
    let (l1, _) = v1_line(
        None,
        &vid,
        log::events::VAULT_CREATED,
        log_data! {"threshold" => 2, "custodians" => ["alice", "bob"]},
        "2026-01-15T09:00:00Z",
        Some(&mac),
    );
    c.push_line(l1);
    c.push(
        log::events::UNSEAL_GRANTED,
        2,
        grant_data(),
        Who::Quorum(&s2k),
    );
    c.push(
        log::events::MIGRATED,
        2,
        log_data! {"from_format" => 1, "genesis_key" => s2k.public().to_hex(), "previous_generation" => 1, "request" => 1, "ticket" => "CHG-900"},
        Who::Quorum(&s2k),
    );
    out.push(chain(
        "bad-v2-sig-before-root",
        "error entry 2 ('unseal-granted') is signed but comes before the vault's root of trust",
        "format 2: format 1 history, then a signed entry, then the migrated root: a signature before the root is certified by nothing",
        c,
    ));

    let mut c = Chain::new();
    c.push(
        log::events::VAULT_CREATED,
        1,
        log_data! {"custodians" => names_of(&cs), "format" => 2, "genesis_key" => s1k.public().to_hex(), "threshold" => 2},
        Who::Quorum(&bad_key),
    );
    out.push(chain(
        "bad-v2-root-not-signed-by-genesis-key",
        "error entry 1 ('vault-created') is a root of trust whose signature does not verify under its genesis key",
        "format 2: the root names S_1 but is signed by another key",
        c,
    ));

    let mut c = after(6);
    c.push_edited(
        log::events::UNSEAL_GRANTED,
        1,
        grant_data(),
        Who::Nobody,
        |o| {
            let tag = mac.tag(
                canonical_json(&Value::Object(o.clone()))
                    .unwrap()
                    .as_bytes(),
            );
            o.insert("mac".into(), encoding::hex(&tag).into());
        },
    );
    out.push(chain(
        "bad-v2-mac-after-root",
        "error entry 7 ('unseal-granted') carries a format 1 MAC although the vault is format 2",
        "format 2: a format 1 MAC (under the log MAC key of K = 00..1f) on an entry after the root: MACs are not checkable and count for nothing",
        c,
    ));

    let mut c = ok.clone();
    c.push(
        log::events::UNSEAL_GRANTED,
        1,
        grant_data(),
        Who::Quorum(&s1k),
    );
    out.push(chain(
        "bad-v2-dead-generation",
        "error entry 15 ('unseal-granted') is signed under generation 1 after generation 2 had taken over",
        "format 2: ok-v2-chain, then a grant signed by S_1 after generation 2 has signed: the shares of a dead generation",
        c,
    ));

    let mut c = after(4);
    let mut data = sealed_data(&vault.manifest_1, &cs, log_data! {"reason" => "init"});
    data.insert(
        "signers".into(),
        serde_json::json!({"alice": [{"alg": "ed25519", "key": "00", "token": alice.token.fingerprint()}]}),
    );
    c.push(log::events::SEALED, 1, data, Who::Quorum(&s1k));
    out.push(chain(
        "bad-v2-malformed-certificate",
        "error entry 5 ('sealed') is a signed seal whose certificate is malformed (signers)",
        "format 2: a quorum-signed sealed entry whose signers list an Ed25519 key of one byte",
        c,
    ));

    let mut c = after(10);
    let mut data = sealed_data(&vault.manifest_2, &cs, log_data! {"reason" => "reseal"});
    data.insert("generation".into(), 3.into());
    c.push(log::events::SEALED, 1, data, Who::Quorum(&s1k));
    out.push(chain(
        "bad-v2-certificate-skips-generation",
        "error entry 11 ('sealed') is a signed seal whose certificate is malformed (it certifies neither its own generation nor the next)",
        "format 2: generation 1 certifies generation 3: a quorum certifies only its successor (or, as the root's generation, itself)",
        c,
    ));

    let mut c = after(4);
    let mut data = sealed_data(&vault.manifest_1, &cs, log_data! {"reason" => "init"});
    data.insert("signing_key".into(), bad_key.public().to_hex().into());
    c.push(log::events::SEALED, 1, data, Who::Quorum(&s1k));
    out.push(chain(
        "bad-v2-own-certificate-new-key",
        "error entry 5 ('sealed') is a signed seal whose certificate is malformed (it certifies neither its own generation nor the next)",
        "format 2: generation 1 certifies itself with another signing key than its own: a generation's own certificate keeps its key",
        c,
    ));

    let line_error = |name, expect: &'static str, comment, edit: Edit| {
        let mut c = after(6);
        c.push_edited(
            log::events::UNSEAL_GRANTED,
            1,
            grant_data(),
            Who::Quorum(&s1k),
            edit,
        );
        chain(name, expect, comment, c)
    };
    let s1_hex = s1k.public().to_hex();
    out.push(line_error(
        "bad-v2-sig-unknown-member",
        "error line 7 does not verify: unknown member 'sig.key'",
        "format 2: the grant's sig carries a member the format does not define",
        Box::new(edit_sig(move |sig| {
            sig.insert("key".into(), s1_hex.into());
        })),
    ));
    out.push(line_error(
        "bad-v2-sig-value-not-hex",
        "error line 7 does not verify: member 'sig.value' is not lower-case hex of 1 to 128 bytes",
        "format 2: the grant's sig.value in upper-case hex",
        Box::new(edit_sig(|sig| {
            let v = sig["value"].as_str().unwrap().to_uppercase();
            sig.insert("value".into(), v.into());
        })),
    ));
    out.push(line_error(
        "bad-v2-sig-unknown-signer",
        "error line 7 does not verify: member 'sig.by' is neither quorum nor custodian",
        "format 2: sig.by names neither a quorum nor a custodian",
        Box::new(edit_sig(|sig| {
            sig.insert("by".into(), "root".into());
        })),
    ));
    let mac_hex = encoding::hex(&mac.tag(b"any"));
    out.push(line_error(
        "bad-v2-mac-and-sig",
        "error line 7 does not verify: an entry carries either 'mac' (format 1) or 'sig' (format 2), not both",
        "format 2: an entry with both a format 1 mac and a format 2 sig",
        Box::new(move |o| {
            o.insert("mac".into(), mac_hex.into());
        }),
    ));
    out
}

/// Regression: the manifest's uniqueness checks (entry names, token
/// recipients, YubiKey serials) were quadratic. A manifest is parsed before
/// anything in it can be trusted, and may be up to `MAX_SIZE` (4 MiB): 120 000
/// entries (3.5 MB) took 20 s in a release build and two minutes in a debug
/// build. The checks use sets, and a manifest now lists at most as many
/// entries as a payload holds (`payload::MAX_ENTRIES`), so such a manifest is
/// refused by its count, and a duplicate at the very end of a full list is
/// still found (this test asserts the result, not the time).
#[test]
fn manifest_with_120000_entries_is_refused_and_duplicates_are_found() {
    let names = |n: usize| -> Vec<EntryInfo> {
        (0..n)
            .map(|i| {
                let mut name = String::new();
                let mut n = i;
                loop {
                    name.push(char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[n % 36]));
                    n /= 36;
                    if n == 0 {
                        break;
                    }
                }
                EntryInfo {
                    kind: "note".into(),
                    name,
                }
            })
            .collect()
    };
    let mut m = test_manifest(false);
    m.entries = names(120_000);
    let bytes = m.to_bytes().unwrap();
    assert!(bytes.len() as u64 <= breakglass::manifest::MAX_SIZE);
    let err = Manifest::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("a payload holds at most"), "{err}");
    let full = breakglass::payload::MAX_ENTRIES;
    m.entries = names(full);
    let parsed = Manifest::from_bytes(&m.to_bytes().unwrap()).expect("a full manifest");
    assert_eq!(parsed.entries.len(), full);
    // A duplicate at the very end is still found.
    m.entries.truncate(full - 1);
    m.entries.push(m.entries[0].clone());
    let err = Manifest::from_bytes(&m.to_bytes().unwrap()).unwrap_err();
    assert!(err.to_string().contains("unique"), "{err}");
}

#[test]
fn manifest_vector_mac_verifies_under_the_test_key() {
    let vid = test_vault_id();
    for name in ["ok-minimal.txt", "ok-spare-token.txt"] {
        let v = parse_vector(&vectors_dir("manifest").join(name));
        let m = Manifest::from_bytes(&v.input).unwrap();
        m.verify_mac(&test_key().manifest_mac_key(&vid).unwrap())
            .unwrap();
        assert!(m
            .verify_mac(&test_key().log_mac_key(&vid).unwrap())
            .is_err());
    }
}

#[test]
fn spec_values_match_the_library() {
    // docs/formats.md §2.2, §5.4, §11, §12.3.
    assert_eq!(time("2026-01-15T09:00:00Z").0, 1_768_467_600);
    let v = parse_vector(&vectors_dir("manifest").join("ok-minimal.txt"));
    let m = Manifest::from_bytes(&v.input).unwrap();
    assert_eq!(m.fingerprint(), "967e-660e-5b5f-d74c-9e99");
    assert_eq!(
        m.custodians[0].tokens[0].fingerprint(),
        "software:cd0e-166f-3fc0-7fbf"
    );
    let receipt = format!("bg1:{}:{}:{}", m.vault_id, m.log_head.seq, m.log_head.hash);
    assert_eq!(receipt, "bg1:a0a1a2a3a4a5a6a7a8a9aaabacadaeaf:2:352af98692880b6369973510881e2d8f6f09b5c1e0afa447162bb59eafe6ee5e");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    fs::write(
        &path,
        parse_vector(&vectors_dir("log").join("ok-chain-3.txt")).input,
    )
    .unwrap();
    assert_eq!(python_verify(&path, Some(&receipt)), 0);
}

#[test]
fn spec_values_of_format_2_match_the_library() {
    // docs/formats.md §3, §4, §5.3, §7.4, §8.5, §9, §11, §13; re-computed independently with
    // Python's hashlib/hmac and `cryptography` when the spec was written.
    let hkdf = |ikm: &[u8], salt: Option<&[u8]>, info: &[u8]| -> String {
        let mut out = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(salt, ikm)
            .expand(info, &mut out)
            .unwrap();
        encoding::hex(&out)
    };
    assert_eq!(
        breakglass::keys::INFO_SIGNING,
        b"breakglass/v2 generation signing key"
    );
    assert_eq!(
        software::INFO_SIGNING,
        b"breakglass/v2 software custodian signing key"
    );
    let vid = test_vault_id();
    let seed = hkdf(
        &(0u8..32).collect::<Vec<_>>(),
        Some(&vid),
        breakglass::keys::INFO_SIGNING,
    );
    assert_eq!(
        seed,
        "90bd0b4320faff7ba9e6b8efa0f4ac97c74a496bd3ca4f9be6958d842adb6d27"
    );
    let from_seed = SigningKey::from_seed(&encoding::unhex::<32>(&seed, "seed").unwrap());
    assert_eq!(from_seed.public(), s1().public());
    for (key, public) in [
        (
            s1(),
            "f735ebf0c63bd48cb4395e0467b7ed76ea5b0c9deac51aa0e9de9c39be826de4",
        ),
        (
            s2(),
            "27f1b9e99d07ab56eab10abebc94763cd4bc5ff1cec1c1dea43d6d17ccedfdab",
        ),
        (
            s3(),
            "c2fcbeba3539c3a5b6588eebb20d7eb3482dca97a51e94559502957947546a9e",
        ),
    ] {
        assert_eq!(key.public().to_hex(), public);
    }
    // Software custodians: the signing key is derived from the identity text.
    let alice_text = MasterKey::from_secret(SecretBytes::new(vec![0x11; 32]))
        .unwrap()
        .payload_identity_text(&[0; 16])
        .unwrap();
    assert_eq!(
        alice_text.as_str(),
        "AGE-SECRET-KEY-1SJPHVJHW984WL5EHVEWHW4L2HWQ6NR3H436XGSM8XSWJ7JAJPNGS9NQJEG"
    );
    assert_eq!(
        hkdf(alice_text.as_bytes(), None, software::INFO_SIGNING),
        "e75124754b2568b14ec7a28dd7c4459de11a2d3c0d7155b8cdb0c29e19295577"
    );
    let cs = v2_custodians();
    let keys: Vec<(String, String)> = cs
        .iter()
        .map(|c| {
            let (_, key) = c.token.signing_public().unwrap();
            (c.token.fingerprint(), encoding::hex(&key))
        })
        .collect();
    assert_eq!(
        keys,
        [
            (
                "software:cd0e-166f-3fc0-7fbf",
                "00f9d2b72c0c0910b26b09191c1629141a883ed5927da293ed96905ba24d5891"
            ),
            (
                "software:5a15-2c4d-af4e-7b8d",
                "882312d4bde19a65dbdcbbf76c9b99c926365c5377f2dde2c7dccd597fc9f314"
            ),
            (
                "yubikey:382a-21b7-616b-15e7",
                "0351a7580833898ea1b183cbd7350a4099078c6ef1c1e18e970cd7683035f25e7d"
            ),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        cs[2].token.recipient(),
        "age1yubikey1qdg6wkqgxwycagd3s09awdg2gzvs0rrw78q7rr5hpntksvp47f086cj2re0"
    );
    // The library's own derivation agrees with the spec's (identity vector).
    let v = parse_vector(&vectors_dir("identity").join("ok-header.txt"));
    let id =
        software::unlock(&v.input, "ok-header", &SecretString::new(PASSPHRASE.into())).unwrap();
    assert_eq!(
        id.signing_key().public(),
        software_signing_key(id.to_age_secret_key().expose()).public()
    );
    // Contexts.
    assert_eq!(Purpose::LogEntry.context(), b"breakglass/v2 log entry\n");
    assert_eq!(Purpose::Manifest.context(), b"breakglass/v2 manifest\n");
    assert_eq!(
        Purpose::Successor.context(),
        b"breakglass/v2 successor manifest\n"
    );
    // The root entry of ok-v2-chain: signed body, signature, hash.
    let chain = parse_vector(&vectors_dir("log").join("ok-v2-chain.txt")).input;
    let text = String::from_utf8(chain.clone()).unwrap();
    let root = log::parse_line(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        root.signed_body().unwrap(),
        r#"{"data":{"custodians":["alice","bob","carol"],"format":2,"genesis_key":"f735ebf0c63bd48cb4395e0467b7ed76ea5b0c9deac51aa0e9de9c39be826de4","threshold":2},"event":"vault-created","generation":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"sig":{"by":"quorum"},"time":"2026-04-01T09:00:00Z","vault":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"}"#
    );
    let log::Seal::Signed { value, .. } = &root.seal else {
        panic!("the root is signed")
    };
    assert_eq!(encoding::hex(value), "102622b7290cc0e4d6193122522a8bc189301de1815b085e0abd64f6ffb1974a630934641f573a30a6cab93956151367d73061c8da768a07424efefee92e360a");
    assert_eq!(
        root.hash,
        "b124c5109fff0c0822b3471ab62a1ed0e10a531c88c057454e88b318cec4ccb7"
    );
    // The whole chain: counts, certificates, fingerprint, receipt.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    fs::write(&path, &chain).unwrap();
    let r = log::verify(&path, None, |_, _| {}).unwrap();
    assert!(r.is_intact(), "{}", r.explain());
    let t = &r.trust;
    assert_eq!(
        (
            t.quorum_signed,
            t.custodian_signed,
            t.unsigned,
            t.legacy,
            t.forged_count
        ),
        (8, 3, 3, 0, 0)
    );
    let certs: Vec<(u64, u64, Option<&str>)> = t
        .generations
        .iter()
        .map(|c| (c.generation, c.seq, c.manifest_digest.as_deref()))
        .collect();
    assert_eq!(
        certs,
        [
            (1, 1, None),
            (
                1,
                5,
                Some("65cb9e7275b84fab91a666c094d3fcdcfddc7bfe949e5648ec9118781787c033")
            ),
            (
                2,
                11,
                Some("cbe87a84beba978bd4cc2064d0bd3ba95aa4a477bb4a52be4595ad09d31ef0b7")
            ),
        ]
    );
    let head = r.head.clone().unwrap();
    let receipt = format!("bg1:{}:{}:{}", encoding::hex(&vid), head.seq, head.hash);
    assert_eq!(receipt, "bg1:a0a1a2a3a4a5a6a7a8a9aaabacadaeaf:14:979a8394b0eb06aa5a8d25e464e11a13bfcc88c92d2e520549204e9dbbd260c2");
    assert_eq!(python_verify(&path, Some(&receipt)), 0);
    // Manifests: digest, signed body, signatures, fingerprint.
    let manifest = |name: &str| {
        Manifest::from_bytes(
            &parse_vector(&vectors_dir("manifest").join(format!("{name}.txt"))).input,
        )
        .unwrap()
    };
    let (m1, m2, mm) = (
        manifest("ok-v2"),
        manifest("ok-v2-gen2"),
        manifest("ok-v2-migrated"),
    );
    assert_eq!(m1.digest().unwrap(), certs[1].2.unwrap());
    assert_eq!(m2.digest().unwrap(), certs[2].2.unwrap());
    assert_eq!(
        sha256_hex(m1.signed_body().unwrap().as_bytes()),
        "e20892430ffb4ea195d1cfa88a9c4ef4382651ab1279d2663b7be1306bd8161c"
    );
    assert_eq!(
        m1.signatures.as_ref().unwrap().own,
        "7df2e670c137a9dfd30f21d784e97b1dd3c4ddf5ae850a897a055c0ccbe7ade57551ea0bc6669914ac3b72706d240dd69c1179ad9d67254e47f0f643a8c36a0c"
    );
    assert_eq!(m1.signatures.as_ref().unwrap().predecessor, None);
    assert_eq!(
        m2.signatures.as_ref().unwrap().predecessor.as_deref(),
        Some("a4e6e7a3d2b6ed17f2448e8f32d326c5500b2e22d3a5b904a91d270877b6e372c6d3dc8c8e51572223319c8d8aed0ebd415117f396f82902989f4434c89c3a0a")
    );
    m1.verify_signatures(None).unwrap();
    m2.verify_signatures(Some(&s1().public())).unwrap();
    assert!(m2.verify_signatures(Some(&s2().public())).is_err());
    mm.verify_signatures(None).unwrap();
    assert_eq!(
        mm.digest().unwrap(),
        "ff60f67d380aa6d0ab7a53417411cf0b43b3222320628bea5b6aa82d1e608581"
    );
    assert_eq!(m1.fingerprint(), "7a45-e7a0-1df0-1d6f-aae7-96bf-ef2b-94af");
    assert_eq!(
        m2.fingerprint(),
        m1.fingerprint(),
        "the same for the life of the vault"
    );
    assert_eq!(
        m1.fingerprint(),
        breakglass::manifest::vault_fingerprint(&vid, &s1().public())
    );
    assert_eq!(mm.fingerprint(), "7987-209c-7f6c-2816-0c94-9d3e-f5b0-7795");
    assert_eq!(
        breakglass::manifest::vault_fingerprint(&vid, &s3().public()),
        "728c-8457-6355-01ed-7bb9-791e-036f-31ff"
    );
}

#[test]
fn log_vector_macs_verify_under_the_test_key() {
    let v = parse_vector(&vectors_dir("log").join("ok-chain-3.txt"));
    let entries: Vec<log::Entry> = std::str::from_utf8(&v.input)
        .unwrap()
        .lines()
        .map(|l| log::parse_line(l).unwrap())
        .collect();
    let key = test_key().log_mac_key(&test_vault_id()).unwrap();
    let wrong = test_key().manifest_mac_key(&test_vault_id()).unwrap();
    let check = |k: &breakglass::keys::MacKey| -> (u64, Vec<u64>) {
        let mut checked = 0;
        let mut failed = Vec::new();
        for e in &entries {
            let log::Seal::Mac(mac) = &e.seal else {
                continue;
            };
            checked += 1;
            let mut o: Map<String, Value> =
                match encoding::parse_canonical(&log::encode_entry(e).unwrap()).unwrap() {
                    Value::Object(o) => o,
                    _ => unreachable!(),
                };
            o.remove("hash");
            o.remove("mac");
            let input = canonical_json(&Value::Object(o)).unwrap();
            if !k.verify(
                input.as_bytes(),
                &encoding::unhex::<32>(mac, "mac").unwrap(),
            ) {
                failed.push(e.seq);
            }
        }
        (checked, failed)
    };
    assert_eq!(check(&key), (2, vec![]));
    assert_eq!(check(&wrong), (2, vec![1, 2]));
}

#[test]
fn identity_vector_unlocks_to_its_recipient() {
    let v = parse_vector(&vectors_dir("identity").join("ok-header.txt"));
    let h = software::header(&v.input, "ok-header").unwrap();
    let id =
        software::unlock(&v.input, "ok-header", &SecretString::new(PASSPHRASE.into())).unwrap();
    assert_eq!(id.age_identity().to_public().to_string(), h.recipient);
    assert_eq!(h.name, "alice");
}

// ---------------------------------------------------------------------------
// Deterministic mutation loop (stable stand-in for `fuzz/`).

/// Mutations per parser (each applies 1 to 4 edits to a corpus item).
const MUTATIONS: usize = 20_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = b"\"{}[]:,0129aAfzZ- \n\r\t\\.e+/\x00\x7f\xff";

fn mutate(rng: &mut XorShift, corpus: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => b.truncate(rng.below(len + 1)),
            3 => {
                let i = rng.below(len + 1);
                let c = if rng.below(2) == 0 {
                    INTERESTING[rng.below(INTERESTING.len())]
                } else {
                    rng.next() as u8
                };
                b.insert(i, c);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(16)).min(len);
                b.drain(i..j);
            }
            5 | 6 => {
                // Duplicate, drop or swap whole lines.
                let mut lines: Vec<Vec<u8>> = b
                    .split_inclusive(|&c| c == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if !lines.is_empty() {
                    let i = rng.below(lines.len());
                    let j = rng.below(lines.len());
                    match rng.below(3) {
                        0 => {
                            let l = lines[i].clone();
                            lines.insert(j, l);
                        }
                        1 => {
                            lines.remove(i);
                        }
                        _ => lines.swap(i, j),
                    }
                }
                b = lines.concat();
            }
            7 if len > 0 => {
                // Replace a digit run with another number.
                let i = rng.below(len);
                if let Some(start) = (i..len).find(|&k| b[k].is_ascii_digit()) {
                    let end = (start..len)
                        .find(|&k| !b[k].is_ascii_digit())
                        .unwrap_or(len);
                    let n = match rng.below(6) {
                        0 => "0".to_string(),
                        1 => "1".to_string(),
                        2 => "33".to_string(),
                        3 => "9007199254740993".to_string(),
                        4 => "01".to_string(),
                        _ => (rng.next() % 1000).to_string(),
                    };
                    b.splice(start..end, n.into_bytes());
                }
            }
            8 if len > 0 => {
                // Duplicate a JSON member / chunk.
                let i = rng.below(len);
                let j = (i + 1 + rng.below(40)).min(len);
                let chunk = b[i..j].to_vec();
                let k = rng.below(len + 1);
                b.splice(k..k, chunk);
            }
            _ => {
                // Splice with another corpus item.
                let other = &corpus[rng.below(corpus.len())];
                let i = rng.below(len + 1);
                let j = rng.below(other.len() + 1);
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
        }
    }
    b
}

/// Runs `MUTATIONS` mutated corpus items through `parse`, which must not
/// panic; `Ok(Some(bytes))` (accepted, with its re-encoding) must equal the
/// input when `canonical`. Returns (mutations, accepted).
fn mutation_loop(
    name: &str,
    seed: u64,
    corpus: &[Vec<u8>],
    canonical: bool,
    parse: impl Fn(&[u8]) -> Outcome,
) -> (usize, usize) {
    assert!(!corpus.is_empty(), "{name}: empty corpus");
    let mut rng = XorShift(seed);
    let mut accepted = 0;
    for n in 0..MUTATIONS {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, corpus, base);
        let outcome = no_panic(&format!("{name} mutation {n}"), &input, || parse(&input));
        if let Ok(re) = outcome {
            accepted += 1;
            if canonical {
                let re = re.expect("canonical parsers return their re-encoding");
                assert!(
                    re == input,
                    "{name} mutation {n}: accepted a non-canonical input\n  input: {:?}\n  again: {:?}",
                    String::from_utf8_lossy(&input),
                    String::from_utf8_lossy(&re)
                );
            }
        }
    }
    eprintln!("{name}: {MUTATIONS} mutations, {accepted} accepted");
    (MUTATIONS, accepted)
}

fn corpus(format: &str, scope: &str) -> Vec<Vec<u8>> {
    load(format)
        .into_iter()
        .filter(|v| v.scope() == scope)
        .map(|v| v.input)
        .collect()
}

#[test]
fn mutate_manifest() {
    mutation_loop(
        "manifest",
        0x6d61_6e69_6665_7374,
        &corpus("manifest", ""),
        true,
        run_manifest,
    );
}

#[test]
fn mutate_envelope() {
    mutation_loop(
        "envelope",
        0x656e_7665_6c6f_7065,
        &corpus("envelope", ""),
        true,
        run_envelope,
    );
}

#[test]
fn mutate_log_line() {
    // Seeds: the line vectors plus every line of the chain vectors.
    let mut seeds = corpus("log", "line");
    for chain in corpus("log", "chain") {
        seeds.extend(chain.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec));
    }
    mutation_loop(
        "log_line",
        0x6c6f_675f_6c69_6e65,
        &seeds,
        true,
        run_log_line,
    );
}

#[test]
fn mutate_log_chain() {
    // Fewer (each run writes a file), same invariants as log_line.
    let seeds = corpus("log", "chain");
    let mut rng = XorShift(0x6368_6169_6e21);
    for n in 0..2_000 {
        let base = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, &seeds, base);
        if let Ok(Some(re)) = no_panic("log chain", &input, || run_log_chain(&input)) {
            assert!(
                re == input,
                "log chain mutation {n}: intact but not canonical"
            );
        }
    }
}

#[test]
fn mutate_identity_header() {
    mutation_loop(
        "identity_header",
        0x6964_656e_7469_7479,
        &corpus("identity", ""),
        true,
        run_identity_header,
    );
}

fn payload_seeds() -> Vec<Vec<u8>> {
    vec![
        br#"{"entries":[{"kind":"password","name":"aws-root","value":"hunter2 hunter2","account":"123456789012","username":"root","url":"https://signin.aws.amazon.com/","notes":"break glass only"},{"kind":"totp","name":"aws-root-mfa","seed":"JBSWY3DPEHPK3PXP","algorithm":"SHA1","digits":6,"period":30,"issuer":"AWS","account":"root"},{"kind":"note","name":"recovery-codes","text":"1111-2222\n3333-4444"}],"format":"breakglass-payload/1"}"#.to_vec(),
        br#"{"entries":[],"format":"breakglass-payload/1"}"#.to_vec(),
    ]
}

#[test]
fn payload_seeds_are_valid() {
    for s in payload_seeds() {
        let p = Payload::from_bytes(&s).unwrap();
        assert_eq!(
            &*p.to_bytes().unwrap(),
            &s[..],
            "payload seeds are in writer order"
        );
    }
}

#[test]
fn mutate_payload() {
    // Not canonical (plaintext inside age); accepted input must re-parse to
    // the same index and hold canonical TOTP seeds (see `run_payload`).
    let mut seeds = payload_seeds();
    seeds.extend(corpus("payload", ""));
    mutation_loop("payload", 0x0070_6179_6c6f_6164, &seeds, false, run_payload);
}

#[test]
fn mutate_answers() {
    let seeds = vec![
        br#"{"passphrases":{"alice":"correct horse battery staple"},"pins":{"99000001":"864213"},"confirm":{"init.proceed":true},"text":{"unseal.custodian.1":"alice"},"secrets":{"entry.aws-root.value":"x"}}"#.to_vec(),
        br#"{"new_passphrases":{"dave":"a"},"new_pins":{},"puks":{"1":"12345678"},"new_puks":{}}"#.to_vec(),
    ];
    for s in &seeds {
        ui::Answers::from_json(s).unwrap_or_else(|_| panic!("answers seed rejected"));
    }
    mutation_loop("answers", 0x0061_6e73_7765_7273, &seeds, false, |b| {
        ui::Answers::from_json(b).map_err(|e| e.to_string())?;
        Ok(None)
    });
}

#[test]
fn mutate_totp_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/otpauth");
    let mut seeds: Vec<Vec<u8>> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter_map(|p| {
            let t = fs::read_to_string(p).ok()?;
            let (_, body) = t.split_once("\n\n")?;
            Some(body.trim_end_matches('\n').as_bytes().to_vec())
        })
        .collect();
    seeds.sort();
    mutation_loop("totp_parse", 0x746f_7470, &seeds, false, |b| {
        let text = std::str::from_utf8(b).map_err(|_| "not UTF-8".to_string())?;
        let seed = totp::TotpSeed::parse(text).map_err(|e| e.to_string())?;
        // Accepted seeds round-trip through their canonical URI.
        let uri = seed.to_otpauth_uri("x");
        let again = totp::TotpSeed::parse(uri.expose()).expect("canonical URI parses");
        assert_eq!(again.secret_bytes(), seed.secret_bytes());
        assert_eq!(again.params().digits, seed.params().digits);
        assert_eq!(again.params().period, seed.params().period);
        Ok(None)
    });
}

// ---------------------------------------------------------------------------
// The independent Python verifier (docs/verify_log.py).

fn verifier_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify_log.py")
}

/// Runs `docs/verify_log.py ARGS…` (with `env`); returns the exit code and
/// what it printed (stdout then stderr). A Python traceback is a test failure.
fn python_run(args: &[&std::ffi::OsStr], env: &[(&str, &Path)]) -> (i32, String) {
    let mut cmd = Command::new("python3");
    cmd.arg(verifier_script()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("python3 is needed to run docs/verify_log.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Traceback"),
        "verify_log.py crashed:\n{text}"
    );
    (out.status.code().expect("exit code"), text)
}

fn python_verify(path: &Path, receipt: Option<&str>) -> i32 {
    let mut args = vec![path.as_os_str()];
    if let Some(r) = receipt {
        args.push(std::ffi::OsStr::new(r));
    }
    python_run(&args, &[]).0
}

/// Runs `verify_log(data)` of docs/verify_log.py (imported as a module, one
/// Python process for all) on each file; returns its reports.
fn python_reports(paths: &[PathBuf]) -> Vec<Value> {
    const DRIVER: &str = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("verify_log", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
for path in sys.stdin.read().split("\n"):
    if path:
        with open(path, "rb") as f:
            print(json.dumps(m.verify_log(f.read())))
"#;
    use std::io::Write as _;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(verifier_script())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed to run docs/verify_log.py");
    let list: String = paths
        .iter()
        .map(|p| format!("{}\n", p.to_str().unwrap()))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "verify_log.py as a module failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), paths.len());
    reports
}

/// What the library says about a log file, in the Python report's terms.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// Chain intact and every signature holds.
    ok: bool,
    /// The chain (and, when intact, counts, forged seqs, certified
    /// generations and the root's fingerprint).
    chain_intact: bool,
    detail: Option<Value>,
}

fn library_verdict(path: &Path) -> Verdict {
    let r = log::verify(path, None, |_, _| {}).unwrap();
    let t = &r.trust;
    let chain_intact = r.chain_intact();
    let detail = chain_intact.then(|| {
        let vault = r.vault.as_deref().map(|v| encoding::unhex::<16>(v, "vault").unwrap());
        serde_json::json!({
            "counts": {"quorum": t.quorum_signed, "custodian": t.custodian_signed, "unsigned": t.unsigned, "format1": t.legacy, "forged": t.forged_count},
            "forged": t.findings.iter().map(|f| f.seq).collect::<Vec<_>>(),
            "generations": t.generations.iter().filter(|c| c.manifest_digest.is_some()).map(|c| [c.generation, c.seq]).collect::<Vec<_>>(),
            "fingerprint": t.root.as_ref().zip(vault).map(|(root, v)| breakglass::manifest::vault_fingerprint(&v, &root.key)),
        })
    });
    Verdict {
        ok: r.is_intact(),
        chain_intact,
        detail,
    }
}

fn python_verdict(report: &Value) -> Verdict {
    let chain_intact = report["chain_intact"].as_bool().unwrap();
    let detail = chain_intact.then(|| {
        serde_json::json!({
            "counts": report["counts"],
            "forged": report["forged"].as_array().unwrap().iter().map(|f| f[0].clone()).collect::<Vec<_>>(),
            "generations": report["generations"],
            "fingerprint": report["fingerprint"],
        })
    });
    Verdict {
        ok: report["ok"].as_bool().unwrap(),
        chain_intact,
        detail,
    }
}

/// Writes each log to a file in `dir`; asserts that the library and the
/// Python verifier agree on every one (verdict, and on an intact chain the
/// counts, forged entries, certified generations and fingerprint).
/// Returns how many were verified.
fn assert_python_agrees(dir: &Path, what: &str, logs: &[(String, Vec<u8>)]) -> usize {
    let paths: Vec<PathBuf> = logs
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| {
            let p = dir.join(format!("{what}-{i}.jsonl"));
            fs::write(&p, bytes).unwrap();
            p
        })
        .collect();
    // The library on two threads while Python runs (signature checks
    // dominate: one Ed25519 verification takes about 20 ms in a debug build).
    let (library, python): (Vec<Verdict>, Vec<Verdict>) = std::thread::scope(|s| {
        let workers: Vec<_> = paths
            .chunks(paths.len().div_ceil(2).max(1))
            .map(|chunk| {
                s.spawn(move || chunk.iter().map(|p| library_verdict(p)).collect::<Vec<_>>())
            })
            .collect();
        let python = python_reports(&paths).iter().map(python_verdict).collect();
        let library = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        (library, python)
    });
    let mut ok = 0;
    for (((name, bytes), lib), py) in logs.iter().zip(library).zip(python) {
        assert_eq!(
            lib, py,
            "{what} {name}: the library and verify_log.py disagree (library left, Python right); log (base64): {}",
            b64(bytes)
        );
        ok += usize::from(lib.ok);
    }
    ok
}

#[test]
fn python_verifier_agrees_with_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let vid = encoding::hex(&test_vault_id());
    let key = test_key().signing_key(&test_vault_id()).unwrap();
    let mut log = Log::at_head(&path, &vid, None);
    log.append(
        log::events::VAULT_CREATED,
        1,
        log_data! {"threshold" => 2, "custodians" => ["alice", "bob"], "genesis_key" => key.public().to_hex(), "format" => 2},
        log::By::Quorum(&key),
    )
    .unwrap();
    log.append(
        log::events::UNSEAL_REQUESTED,
        1,
        log_data! {"ticket" => "INC-1", "reason" => "naïve \u{1} \"quoted\" \\ reason\n", "n" => 9_007_199_254_740_992u64},
        log::By::Nobody,
    )
    .unwrap();
    let head = log
        .append(
            log::events::SESSION_ENDED,
            1,
            log_data! {"how" => "timeout"},
            log::By::Quorum(&key),
        )
        .unwrap();
    let report = log::verify(&path, None, |_, _| {}).unwrap();
    assert!(report.is_intact());
    let receipt = format!("bg1:{vid}:{}:{}", head.seq, head.hash);
    assert_eq!(python_verify(&path, None), 0, "intact log");
    assert_eq!(
        python_verify(&path, Some(&receipt)),
        0,
        "intact log, receipt"
    );

    // A receipt the log does not hold (a rewritten or truncated log).
    let wrong = format!("bg1:{vid}:{}:{}", head.seq + 1, head.hash);
    assert_eq!(
        python_verify(&path, Some(&wrong)),
        1,
        "receipt past the end"
    );

    // Tampered copy: one character of the second entry's data changed.
    let text = fs::read_to_string(&path).unwrap();
    let tampered = dir.path().join("tampered.jsonl");
    fs::write(&tampered, text.replacen("INC-1", "INC-2", 1)).unwrap();
    assert!(!log::verify(&tampered, None, |_, _| {}).unwrap().is_intact());
    assert_eq!(python_verify(&tampered, None), 1, "tampered log");

    // Torn tail.
    let torn = dir.path().join("torn.jsonl");
    fs::write(&torn, &text[..text.len() - 10]).unwrap();
    assert_eq!(python_verify(&torn, None), 1, "torn log");

    // Usage error.
    assert_eq!(python_verify(&dir.path().join("missing"), None), 2);
}

#[test]
fn python_verifier_agrees_on_every_chain_vector() {
    let dir = tempfile::tempdir().unwrap();
    for v in load("log").iter().filter(|v| v.scope() == "chain") {
        let path = dir.path().join(&v.name);
        fs::write(&path, &v.input).unwrap();
        let want = if v.expect == Expect::Ok { 0 } else { 1 };
        assert_eq!(python_verify(&path, None), want, "log/{}", v.name);
    }
}

fn vector_file(dir: &Path, format: &str, name: &str) -> PathBuf {
    let path = dir.join(format!("{format}-{name}"));
    fs::write(
        &path,
        parse_vector(&vectors_dir(format).join(format!("{name}.txt"))).input,
    )
    .unwrap();
    path
}

#[test]
fn python_verifier_agrees_on_every_v2_vector() {
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<(String, Vec<u8>)> = load("log")
        .into_iter()
        .filter(|v| v.scope() == "chain" && v.name.contains("-v2"))
        .map(|v| (v.name, v.input))
        .collect();
    assert!(logs.len() >= 20, "the format 2 chain vectors");
    let ok = assert_python_agrees(dir.path(), "vector", &logs);
    assert_eq!(
        ok, 3,
        "ok-v2-chain, ok-v2-migrated, ok-v2-migration-retried"
    );
    // And through the command line, with the exit codes of the spec.
    for (name, _) in &logs {
        let path = vector_file(dir.path(), "log", name.trim_end_matches(".txt"));
        let (code, out) = python_run(&[path.as_os_str()], &[]);
        let want = if name.starts_with("ok") { 0 } else { 1 };
        assert_eq!(code, want, "log/{name}:\n{out}");
    }
    // The counts the command prints for ok-v2-chain (docs/formats.md §8.5).
    let path = vector_file(dir.path(), "log", "ok-v2-chain");
    let (_, out) = python_run(&[path.as_os_str()], &[]);
    assert!(
        out.contains(
            "entries: 8 quorum-signed, 3 custodian-signed, 3 unsigned, 0 format 1, 0 forged"
        ),
        "{out}"
    );
    let path = vector_file(dir.path(), "log", "bad-v2-forged-certificate");
    let (_, out) = python_run(&[path.as_os_str()], &[]);
    assert!(out.contains("2 forged (seq 11, 12)"), "{out}");
}

/// The `"hash":"…",` member of a line (byte range), to re-hash a mutated line.
fn hash_member(line: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = line.windows(8).position(|w| w == b"\"hash\":\"")?;
    let end = start + 8 + 64 + 2;
    (line.len() >= end && line[end - 2..end] == *b"\",").then_some(start..end)
}

/// Recomputes a line's hash as a writer would (SHA-256 of the line without
/// its hash member), if it has one where a canonical line has it.
fn rehash(line: &mut Vec<u8>) -> Option<String> {
    let r = hash_member(line)?;
    let mut unhashed = line[..r.start].to_vec();
    unhashed.extend_from_slice(&line[r.end..]);
    let hash = sha256_hex(&unhashed);
    line.splice(r.start + 8..r.start + 72, hash.bytes());
    Some(hash)
}

#[test]
fn python_verifier_agrees_on_mutations_of_ok_v2_chain() {
    let dir = tempfile::tempdir().unwrap();
    let base = parse_vector(&vectors_dir("log").join("ok-v2-chain.txt")).input;
    let mut rng = XorShift(0x7632_6d75_7461_6e74);
    // 2,000 single-byte mutations anywhere in the file.
    let mut logs = Vec::new();
    for n in 0..2_000 {
        let mut b = base.clone();
        let i = rng.below(b.len());
        b[i] ^= 1 + rng.below(255) as u8;
        logs.push((format!("byte mutation {n} (offset {i})"), b));
    }
    assert_eq!(assert_python_agrees(dir.path(), "byte", &logs), 0);
    // 200 mutations of an entry's content whose hash is recomputed and the
    // lines after it re-chained: only the signatures (and the trust rules)
    // can tell, so both verifiers must name the same forged entries.
    let lines: Vec<Vec<u8>> = base
        .split_inclusive(|&c| c == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let mut logs = Vec::new();
    for n in 0..200 {
        let mut lines = lines.clone();
        let k = rng.below(lines.len());
        let hash = hash_member(&lines[k]).unwrap();
        let i = loop {
            let i = rng.below(lines[k].len() - 1);
            if !hash.contains(&i) {
                break i;
            }
        };
        lines[k][i] = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            lines[k][i] ^ (1 + rng.below(255) as u8)
        };
        if let Some(mut prev) = rehash(&mut lines[k]) {
            for line in &mut lines[k + 1..] {
                let at = line.windows(8).position(|w| w == b"\"prev\":\"").unwrap() + 8;
                line.splice(at..at + 64, prev.bytes());
                prev = rehash(line).unwrap();
            }
        }
        logs.push((
            format!("re-hashed mutation {n} (line {}, offset {i})", k + 1),
            lines.concat(),
        ));
    }
    let ok = assert_python_agrees(dir.path(), "rehashed", &logs);
    eprintln!("re-hashed mutations: 200, {ok} accepted by both");
}

#[test]
fn python_verifier_agrees_on_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let root = v2_vault().chain.prefix(1);
    let with = |data: Value| -> Vec<u8> {
        let mut c = root.clone();
        c.push_edited(
            log::events::UNSEAL_REQUESTED,
            1,
            Map::new(),
            Who::Nobody,
            |o| {
                o.insert("data".into(), data);
            },
        );
        c.bytes()
    };
    let mut logs = Vec::new();
    // Nesting: the entry and `data` are two levels; the JSON parser's limit.
    for depth in 120..=130usize {
        let mut v = Value::Null;
        for _ in 2..depth {
            v = Value::Array(vec![v]);
        }
        logs.push((
            format!("depth {depth}"),
            with(serde_json::json!({ "x": v })),
        ));
    }
    // Line length around the 64 KiB limit.
    let short = with(serde_json::json!({ "pad": "" }));
    let first = short.iter().position(|&c| c == b'\n').unwrap() + 1;
    let empty_len = short.len() - first - 1;
    for len in [65_535usize, 65_536, 65_537] {
        let pad = "p".repeat(len - empty_len);
        let log = with(serde_json::json!({ "pad": pad }));
        assert_eq!(log.len() - first - 1, len);
        logs.push((format!("line of {len} bytes"), log));
    }
    // Characters written literally or escaped.
    logs.push((
        "escapes".into(),
        with(serde_json::json!({"s": "\u{0}\u{1f}\u{7f}\u{2028}é\"\\/ 😀"})),
    ));
    // A second root claim and an unsigned sealed entry after the root: plain
    // unsigned entries, not roots or certificates.
    let mut c = root.clone();
    c.push(
        log::events::VAULT_CREATED,
        1,
        log_data! {"genesis_key" => intruder().public().to_hex()},
        Who::Nobody,
    );
    c.push(
        log::events::MIGRATED,
        2,
        log_data! {"genesis_key" => intruder().public().to_hex()},
        Who::Nobody,
    );
    c.push(
        log::events::SEALED,
        1,
        sealed_data(&v2_vault().manifest_2, &v2_custodians(), Map::new()),
        Who::Nobody,
    );
    logs.push(("unsigned root claims and seal".into(), c.bytes()));
    // A time with non-ASCII digits; a generation of 2^53.
    let mut c = root.clone();
    c.push_edited(log::events::DRILL, 1, Map::new(), Who::Nobody, |o| {
        o.insert("time".into(), "٢٠٢٦-04-01T09:01:00Z".into());
    });
    logs.push(("arabic-indic digits".into(), c.bytes()));
    let mut c = root.clone();
    c.push(log::events::DRILL, 1 << 53, Map::new(), Who::Nobody);
    logs.push(("generation 2^53".into(), c.bytes()));
    // A custodian signature of 128 and of 129 bytes.
    for len in [128usize, 129] {
        let mut c = root.clone();
        let alice = V2Custodian::software("alice", 0x11);
        c.push_edited(
            log::events::DRILL,
            1,
            Map::new(),
            Who::Custodian(&alice),
            |o| {
                o["sig"]["value"] = encoding::hex(&vec![7u8; len]).into();
            },
        );
        logs.push((format!("signature of {len} bytes"), c.bytes()));
    }
    assert_python_agrees(dir.path(), "edge", &logs);
}

#[test]
fn python_verifier_refuses_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    fs::write(&empty, b"").unwrap();
    let (code, out) = python_run(&[empty.as_os_str()], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the log is empty"), "{out}");
    let newline = dir.path().join("newline.jsonl");
    fs::write(&newline, b"\n").unwrap();
    assert_eq!(python_run(&[newline.as_os_str()], &[]).0, 1);
}

#[test]
fn python_verifier_checks_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let chain = vector_file(dir.path(), "log", "ok-v2-chain");
    let paper = v2_vault().manifest_1.fingerprint();
    let run = |fp: &str, log: &Path| {
        python_run(
            &["--fingerprint".as_ref(), fp.as_ref(), log.as_os_str()],
            &[],
        )
    };
    let (code, out) = run(&paper, &chain);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&paper), "{out}");
    // As typed from paper: upper case, no dashes.
    assert_eq!(run(&paper.to_uppercase().replace('-', ""), &chain).0, 0);
    // Another vault's fingerprint (the migrated vault's, same vault id).
    let migrated = vector_file(dir.path(), "log", "ok-v2-migrated");
    let other = v2_migrated().1.fingerprint();
    assert_ne!(other, paper);
    let (code, out) = run(&other, &chain);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("vault fingerprint is"), "{out}");
    assert_eq!(run(&other, &migrated).0, 0);
    // A format 1 log has no root, so no fingerprint to compare.
    let v1 = vector_file(dir.path(), "log", "ok-chain-3");
    assert_eq!(run(&paper, &v1).0, 1);
    // A root forged by a key of its own: its fingerprint is not on paper.
    let forged = vector_file(dir.path(), "log", "bad-v2-root-not-signed-by-genesis-key");
    assert_eq!(run(&paper, &forged).0, 1);
    // Not a fingerprint: a usage error.
    assert_eq!(run("7a45-e7a0", &chain).0, 2);
}

#[test]
fn python_verifier_checks_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let run = |manifest: &Path, log: &Path| {
        python_run(
            &["--manifest".as_ref(), manifest.as_os_str(), log.as_os_str()],
            &[],
        )
    };
    let chain = vector_file(dir.path(), "log", "ok-v2-chain");
    let gen1 = vector_file(dir.path(), "manifest", "ok-v2");
    let gen2 = vector_file(dir.path(), "manifest", "ok-v2-gen2");
    assert_eq!(run(&gen2, &chain).0, 0, "{}", run(&gen2, &chain).1);
    // Generation 1 is superseded by the certificate in entry 11 (a rollback).
    let (code, out) = run(&gen1, &chain);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 11 certifies generation 2"), "{out}");
    // Before entry 11, generation 1 is the newest.
    let prefix = dir.path().join("prefix.jsonl");
    fs::write(&prefix, v2_vault().chain.prefix(10).bytes()).unwrap();
    assert_eq!(run(&gen1, &prefix).0, 0);
    assert_eq!(run(&gen2, &prefix).0, 1);
    // The migrated vault's root generation (no predecessor signature).
    let migrated = vector_file(dir.path(), "log", "ok-v2-migrated");
    let root = vector_file(dir.path(), "manifest", "ok-v2-migrated");
    assert_eq!(run(&root, &migrated).0, 0);
    assert_eq!(run(&root, &chain).0, 1, "another vault's manifest");
    // One byte changed: certified by nothing.
    let mut bytes = fs::read(&gen2).unwrap();
    let at = bytes.windows(9).position(|w| w == b"threshold").unwrap() + 11;
    bytes[at] = b'3';
    let altered = dir.path().join("altered.json");
    fs::write(&altered, &bytes).unwrap();
    let (code, out) = run(&altered, &chain);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("certified by no sealed entry"), "{out}");
    // A format 1 manifest is never certified by a log.
    let v1 = vector_file(dir.path(), "manifest", "ok-minimal");
    assert_eq!(run(&v1, &chain).0, 1);
    // The library agrees on what is current.
    let report = log::verify(&chain, None, |_, _| {}).unwrap();
    let m2 = Manifest::from_bytes(&fs::read(&gen2).unwrap()).unwrap();
    assert_eq!(
        report
            .trust
            .check_manifest(2, &m2.genesis_public().unwrap(), &m2.digest().unwrap()),
        log::trust::ManifestVerdict::Current {
            seq: 11,
            certified_by: Some(s1().public())
        }
    );
    m2.verify_signatures(Some(&s1().public())).unwrap();
}

#[test]
fn python_verifier_without_cryptography_is_chain_only() {
    let dir = tempfile::tempdir().unwrap();
    let hide = dir.path().join("hide");
    fs::create_dir_all(hide.join("cryptography")).unwrap();
    fs::write(
        hide.join("cryptography/__init__.py"),
        "raise ImportError('hidden by tests/format_vectors.rs')\n",
    )
    .unwrap();
    let env = [("PYTHONPATH", hide.as_path())];
    let chain = vector_file(dir.path(), "log", "ok-v2-chain");
    let (code, out) = python_run(&[chain.as_os_str()], &env);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("NO SIGNATURE IS CHECKED"), "{out}");
    // A forged signature cannot be seen without the package: still 3, never 0.
    let forged = vector_file(dir.path(), "log", "bad-v2-edited-grant");
    assert_eq!(python_run(&[forged.as_os_str()], &env).0, 3);
    // A broken chain, or a structural forgery, is seen.
    let broken = vector_file(dir.path(), "log", "bad-edited-middle");
    assert_eq!(python_run(&[broken.as_os_str()], &env).0, 1);
    let uncertified = vector_file(dir.path(), "log", "bad-v2-quorum-uncertified-generation");
    assert_eq!(python_run(&[uncertified.as_os_str()], &env).0, 1);
    // With the package, the same command checks the signatures.
    assert_eq!(python_run(&[forged.as_os_str()], &[]).0, 1);
}
