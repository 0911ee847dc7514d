//! Named format vectors (`tests/vectors/{manifest,envelope,log,identity,payload}/*.txt`),
//! a deterministic mutation loop over them (the stable-toolchain stand-in for
//! the cargo-fuzz targets in `fuzz/`), and the independent Python log verifier
//! (`docs/verify_log.py`) run against logs this library wrote.
//!
//! The formats, and the vector file format, are specified in `docs/formats.md`.
//! A vector file is header lines `key: value`, one blank line, then the input
//! **byte for byte** (everything after the first blank line, including or not
//! including a final newline). Headers:
//! - `expect: ok` or `expect: error <text>` (required): `<text>` must occur in
//!   the `Display` of the error the parser returns;
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
//! The `ok` vectors that the library can rebuild deterministically are checked
//! against what it builds today (format drift is a test failure). Set
//! `BREAKGLASS_WRITE_VECTORS=1` to rewrite them (and then review the diff: the
//! spec's test vectors in `docs/formats.md` must change with them).

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
use breakglass::token::{software, TokenDescriptor};
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

fn write_vector(format: &str, name: &str, comment: &str, extra: &[(&str, &str)], input: &[u8]) {
    let mut out = format!("expect: ok\ncomment: {comment}\n");
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

/// Re-encodes a parsed entry from its fields (the writer's rules, spec §5).
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
        name: name.into(),
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

/// (format, file name, comment, extra headers, bytes) of every deterministic ok vector.
#[allow(clippy::type_complexity)]
fn library_vectors() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
)> {
    let lines = test_log_lines();
    let chain: String = lines.iter().map(|(l, _)| l.as_str()).collect();
    vec![
        (
            "manifest",
            "ok-minimal",
            "two software custodians, threshold 2, generation 1; built by the library (K = 00..1f, vault a0..af), MAC verifies",
            vec![],
            test_manifest(false).to_bytes().unwrap(),
        ),
        (
            "manifest",
            "ok-spare-token",
            "alice has two tokens (a spare): one share, two recipients; built by the library",
            vec![],
            test_manifest(true).to_bytes().unwrap(),
        ),
        (
            "envelope",
            "ok",
            "share of alice (x = 1) in generation 1 of vault a0..af, threshold 2; built by the library",
            vec![],
            test_envelope().encode().to_vec(),
        ),
        (
            "log",
            "ok",
            "first entry (seq 1, prev = 64 zeros) with a quorum MAC; built by the library",
            vec![("scope", "line")],
            lines[0].0.clone().into_bytes(),
        ),
        (
            "log",
            "ok-no-mac",
            "third entry of ok-chain-3: no quorum MAC, string escapes in data; built by the library",
            vec![("scope", "line")],
            lines[2].0.clone().into_bytes(),
        ),
        (
            "log",
            "ok-chain-3",
            "three chained entries (two with MAC, one without); built by the library",
            vec![("scope", "chain")],
            chain.into_bytes(),
        ),
    ]
}

#[test]
fn library_built_vectors_are_frozen() {
    let write = std::env::var_os("BREAKGLASS_WRITE_VECTORS").is_some();
    for (format, name, comment, extra, bytes) in library_vectors() {
        let path = vectors_dir(format).join(format!("{name}.txt"));
        if write {
            write_vector(format, name, comment, &extra, &bytes);
        }
        let v = parse_vector(&path);
        assert_eq!(
            String::from_utf8_lossy(&v.input),
            String::from_utf8_lossy(&bytes),
            "{format}/{name}: the library now builds a different encoding (format drift?)"
        );
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
            "alice's identity with the cheapest (demo) Argon2id parameters; passphrase `correct horse battery staple`; built by the library",
            &[],
            &bytes,
        );
    }
}

/// Regression: the manifest's uniqueness checks (entry names, token
/// recipients, YubiKey serials) were quadratic. A manifest is parsed before
/// its MAC can be checked, and may be up to `MAX_SIZE` (4 MiB): 120 000
/// entries (3.5 MB) took 20 s in a release build and two minutes in a debug
/// build. With sets it takes well under a second (the figure belongs in a
/// benchmark, not here: this test asserts the result, not the time).
#[test]
fn manifest_with_120000_entries_parses_and_duplicates_are_found() {
    let mut m = test_manifest(false);
    m.entries = (0..120_000u32)
        .map(|i| {
            let mut name = String::new();
            let mut n = i;
            loop {
                name.push(char::from(
                    b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize],
                ));
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
        .collect();
    let bytes = m.to_bytes().unwrap();
    assert!(bytes.len() as u64 <= breakglass::manifest::MAX_SIZE);
    let parsed = Manifest::from_bytes(&bytes).expect("a large but valid manifest");
    assert_eq!(parsed.entries.len(), 120_000);
    // A duplicate at the very end is still found.
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
    // docs/formats.md §2.2, §4, §7, §9.2.
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

fn python_verify(path: &Path, receipt: Option<&str>) -> i32 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify_log.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(path);
    if let Some(r) = receipt {
        cmd.arg(r);
    }
    let out = cmd
        .output()
        .expect("python3 is needed to run docs/verify_log.py");
    out.status.code().expect("exit code")
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
