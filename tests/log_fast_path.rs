//! The fast verifier (`log::verify_rooted`) and the reference
//! (`log::verify_rooted_reference`) give the same report — verdict, first
//! failing line and its wording, torn tail, anchor, counts, trust findings,
//! time regressions — and visit the same entries with the same
//! authentication, on every log vector and on 10,000 seeded random
//! mutations of real logs (byte edits anywhere, line deletions,
//! duplications and swaps, truncations, and edits re-hashed so that the
//! line passes the chain and reaches the signature checks), with and
//! without an anchor and a genesis seed. Logs larger than the fast path's
//! block exercise its block boundaries. Histories whose quorum entries
//! carry checkpoints (as the ceremonies write them) are among the bases, so
//! the vouching and its fallback are compared too, and
//! `log::verify_every_signature` (no vouching) is held to the same answers.

#[path = "support/signed_history.rs"]
mod signed_history;

use std::path::{Path, PathBuf};

use breakglass::clock::Timestamp;
use breakglass::encoding::{canonical_json, hex};
use breakglass::log::{self, events};
use breakglass::manifest::LogHead;
use breakglass::sign::PublicKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use signed_history::SignedHistory;

/// Which verifier.
#[derive(Clone, Copy)]
enum Mode {
    /// `verify_rooted`: trusts confirmed checkpoints.
    Fast,
    /// `verify_every_signature` (unseeded only).
    Every,
    /// `verify_reading` with `Reads::Chain` (unseeded only): data left as
    /// text, its members read from it.
    Chain,
    /// `verify_rooted_reference`.
    Reference,
}

/// Data members the visits read one by one (those the synthetic histories
/// write, a checkpoint, and one nobody writes).
const MEMBERS: [&str; 9] = [
    "ticket",
    "reason",
    "entries",
    "kind",
    "custodian",
    "generation",
    "verified_through",
    "signers",
    "absent",
];

/// Everything a verifier reports, visits included (with every entry's data
/// read four ways), as one comparable text.
fn outcome(
    mode: Mode,
    path: &Path,
    anchor: Option<&LogHead>,
    seed: Option<PublicKey>,
) -> (String, Vec<String>) {
    let mut visits = Vec::new();
    let visit = |e: &log::Entry, a: &log::trust::Authn| {
        // Members first (from the text when the map is not built yet),
        // then the data as export writes it, then the map itself.
        let members: Vec<String> = MEMBERS
            .iter()
            .map(|k| {
                format!(
                    "{k}={:?}/{:?}/{:?}/{:?}/{:?}",
                    e.data.member(k),
                    e.data.str_member(k),
                    e.data.strs_member(k),
                    e.data.u64_member(k),
                    e.data.u64s_member(k)
                )
            })
            .collect();
        // All of them again in one pass (`Data::members`: from the text
        // when the map is not built), as the SIEM mappings read them.
        let d = e.data.members();
        let all: Vec<String> = MEMBERS
            .iter()
            .map(|k| format!("{k}={:?}/{:?}/{:?}", d.str(k), d.strs(k), d.u64(k)))
            .collect();
        let mut json = Vec::new();
        e.data.write_json(&mut json);
        visits.push(format!(
            "{} {} {} {:?} {members:?} {all:?} {} {:?}",
            e.seq,
            e.hash,
            e.event,
            a,
            String::from_utf8_lossy(&json),
            *e.data
        ));
    };
    let r = match mode {
        Mode::Fast => log::verify_rooted(path, anchor, seed, visit),
        Mode::Every if seed.is_none() => log::verify_every_signature(path, anchor, visit),
        Mode::Every => log::verify_rooted(path, anchor, seed, visit),
        Mode::Chain if seed.is_none() => {
            log::verify_reading(path, anchor, false, log::Reads::Chain, visit)
        }
        Mode::Chain => log::verify_rooted(path, anchor, seed, visit),
        Mode::Reference => log::verify_rooted_reference(path, anchor, seed, visit),
    };
    let r = r.expect("the log file is readable");
    let summary = format!(
        "intact={} chain_intact={} explain={:?} report={:?}",
        r.is_intact(),
        r.chain_intact(),
        r.explain(),
        r
    );
    (summary, visits)
}

fn agree(path: &Path, anchor: Option<&LogHead>, seed: Option<PublicKey>, what: &str) -> bool {
    let reference = outcome(Mode::Reference, path, anchor, seed);
    for (mode, name) in [
        (Mode::Fast, "fast path"),
        (Mode::Every, "every-signature path"),
        (Mode::Chain, "chain-only path"),
    ] {
        let fast = outcome(mode, path, anchor, seed);
        assert_eq!(
            fast.0, reference.0,
            "{what}: the {name} and the reference disagree on the report"
        );
        assert_eq!(
            fast.1, reference.1,
            "{what}: the {name} and the reference visit different entries"
        );
    }
    reference.0.starts_with("intact=true")
}

/// The body of a log vector (`tests/vectors/log/*.txt`).
fn vector_body(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("vector");
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("header ends with a blank line");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let body = &bytes[split + 2..];
    if head.lines().any(|l| l == "encoding: base64") {
        let text: String = String::from_utf8_lossy(body)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        breakglass::encoding::unb64(&text, "body").expect("base64 vector body")
    } else {
        body.to_vec()
    }
}

fn log_vectors() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/log");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/vectors/log")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                vector_body(&p),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() > 40, "the log vectors are there");
    out
}

/// A signed format 2 history: init, an unseal with quorum and custodian
/// entries, reseals (new generations), drills by every custodian.
fn history(cycles: u64) -> SignedHistory {
    history_with(cycles, false)
}

/// [`history`], with `checkpoints`: each cycle's quorum entries vouch for
/// the log before the cycle, as a ceremony writes them.
fn history_with(cycles: u64, checkpoints: bool) -> SignedHistory {
    let mut h = SignedHistory::new();
    h.init(Timestamp(1_800_000_000), &["alice", "bob", "carol"], 2);
    for i in 0..cycles {
        h.unseal_cycle(i, checkpoints);
    }
    h
}

fn genesis_of(log: &[u8]) -> Option<PublicKey> {
    let first = log.split(|&b| b == b'\n').next()?;
    let v: Value = serde_json::from_slice(first).ok()?;
    PublicKey::from_hex(v.get("data")?.get("genesis_key")?.as_str()?)
}

fn head_of(log: &[u8], nth_from_end: usize) -> Option<LogHead> {
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines.get(lines.len().checked_sub(1 + nth_from_end)?)?;
    let v: Value = serde_json::from_slice(line).ok()?;
    Some(LogHead {
        hash: v.get("hash")?.as_str()?.to_owned(),
        seq: v.get("seq")?.as_u64()?,
    })
}

/// Re-hashes one line after an edit (so it passes its own hash check).
fn rehash(line: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object_mut()?;
    o.remove("hash");
    let body = canonical_json(&v).ok()?;
    let h = hex(&Sha256::digest(body.as_bytes()));
    v.as_object_mut()?.insert("hash".into(), h.into());
    canonical_json(&v).ok().map(String::into_bytes)
}

const ALPHABET: &[u8] = b"{}[]\",:\\0123456789abcdefxyzAEu-.+ \n\t\r\x00\x7f\xc3\xa9\xff";

fn lines_of(log: &[u8]) -> Vec<Vec<u8>> {
    log.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// One random mutation of `log`.
fn mutate(rng: &mut StdRng, log: &mut Vec<u8>) {
    if log.is_empty() {
        log.push(ALPHABET[rng.gen_range(0..ALPHABET.len())]);
        return;
    }
    let at = rng.gen_range(0..log.len());
    let pick = |rng: &mut StdRng| ALPHABET[rng.gen_range(0..ALPHABET.len())];
    match rng.gen_range(0..10) {
        0 => log[at] ^= 1 << rng.gen_range(0..8),
        1 => log[at] = pick(rng),
        2 => {
            log.remove(at);
        }
        3 => log.insert(at, pick(rng)),
        4 => log.truncate(at),
        5..=7 => {
            // Line-level: delete, duplicate, swap, or edit and re-hash.
            let mut lines = lines_of(log);
            let i = rng.gen_range(0..lines.len());
            match rng.gen_range(0..4) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                2 => {
                    let j = rng.gen_range(0..lines.len());
                    lines.swap(i, j);
                }
                _ => {
                    let mut l = lines[i].clone();
                    let nl = l.last() == Some(&b'\n');
                    if nl {
                        l.pop();
                    }
                    if !l.is_empty() {
                        let k = rng.gen_range(0..l.len());
                        l[k] = pick(rng);
                    }
                    if let Some(mut fixed) = rehash(&l) {
                        if nl {
                            fixed.push(b'\n');
                        }
                        lines[i] = fixed;
                    }
                }
            }
            *log = lines.concat();
        }
        _ => {
            // A hex digit changed in place (hashes, keys, signatures).
            let hexes: Vec<usize> = log
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_hexdigit())
                .map(|(i, _)| i)
                .collect();
            if let Some(&k) = hexes.get(rng.gen_range(0..hexes.len().max(1))) {
                log[k] = b"0123456789abcdef"[rng.gen_range(0..16)];
            }
        }
    }
}

#[test]
fn fast_path_agrees_with_the_reference_on_every_log_vector() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut intact = 0;
    for (name, body) in log_vectors() {
        std::fs::write(&path, &body).unwrap();
        let seed = genesis_of(&body);
        let anchor = head_of(&body, 0);
        intact += usize::from(agree(&path, None, None, &name));
        agree(&path, anchor.as_ref(), None, &format!("{name} (anchored)"));
        agree(&path, None, seed, &format!("{name} (seeded)"));
    }
    assert!(intact >= 5, "the ok vectors verify ({intact})");
}

#[test]
fn fast_path_agrees_with_the_reference_on_10000_random_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut bases: Vec<(String, Vec<u8>)> = log_vectors()
        .into_iter()
        .filter(|(n, _)| n.starts_with("ok"))
        .collect();
    bases.push(("history".into(), history(3).text().as_bytes().to_vec()));
    bases.push((
        "history with checkpoints".into(),
        history_with(4, true).text().as_bytes().to_vec(),
    ));
    let mut rng = StdRng::seed_from_u64(0x6272_6561_6b67_6c61);
    let (mut broken, mut intact) = (0, 0);
    for case in 0..10_000 {
        let (name, base) = &bases[case % bases.len()];
        let mut log = base.clone();
        for _ in 0..rng.gen_range(1..=3) {
            mutate(&mut rng, &mut log);
        }
        std::fs::write(&path, &log).unwrap();
        let anchor = rng
            .gen_bool(0.3)
            .then(|| head_of(base, rng.gen_range(0..3)));
        let seed = rng.gen_bool(0.2).then(|| genesis_of(base)).flatten();
        let ok = agree(
            &path,
            anchor.flatten().as_ref(),
            seed,
            &format!("mutation {case} of {name}"),
        );
        if ok {
            intact += 1;
        } else {
            broken += 1;
        }
    }
    // The mutations mostly break something, and the comparison saw both.
    assert!(
        broken > 5_000 && intact > 0,
        "broken {broken}, intact {intact}"
    );
}

/// Logs under the fast path's one-thread size are read on one thread, so
/// the 10,000 mutations above never split a block between workers; these
/// do, on a log just over that size (several threads on any machine with
/// more than one core).
#[test]
fn fast_path_agrees_on_mutations_of_a_log_read_on_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let h = history_with(200, true);
    let base = h.text().as_bytes().to_vec();
    assert!(
        base.len() > 256 << 10 && base.len() < 1 << 20,
        "{} bytes: above the one-thread size, within one block",
        base.len()
    );
    std::fs::write(&path, &base).unwrap();
    assert!(agree(&path, h.head(), None, "the multi-thread history"));
    let mut rng = StdRng::seed_from_u64(0x0074_6872_6561_6473);
    let (mut broken, mut intact) = (0, 0);
    for case in 0..100 {
        let mut log = base.clone();
        for _ in 0..rng.gen_range(1..=3) {
            mutate(&mut rng, &mut log);
        }
        std::fs::write(&path, &log).unwrap();
        let anchor = rng.gen_bool(0.5).then(|| h.head()).flatten();
        if agree(
            &path,
            anchor,
            None,
            &format!("multi-thread mutation {case}"),
        ) {
            intact += 1;
        } else {
            broken += 1;
        }
    }
    assert!(broken > 50, "broken {broken}, intact {intact}");
}

#[test]
fn fast_path_agrees_across_block_boundaries_and_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    // A little over 1 MiB: two blocks of the fast path (without, then with
    // checkpoints; the edits below are made to the checkpointed one).
    let plain = history(650);
    std::fs::write(&path, plain.text()).unwrap();
    assert!(agree(&path, plain.head(), None, "the long history"));
    let h = history_with(650, true);
    let base = h.text().as_bytes().to_vec();
    assert!(base.len() > 1 << 20, "{} bytes", base.len());
    std::fs::write(&path, &base).unwrap();
    assert!(agree(
        &path,
        h.head(),
        None,
        "the long checkpointed history"
    ));
    let mut rng = StdRng::seed_from_u64(11);
    for case in 0..16 {
        let mut log = base.clone();
        // Edits near the first block boundary and mid-block (where the
        // phase 1 runs of the workers meet), then anywhere.
        let at = if case < 8 {
            (1 << 20) - 4 + case
        } else if case < 12 {
            (1 << 19) - 10 + case
        } else {
            rng.gen_range(0..log.len())
        };
        match case % 4 {
            0 => log[at] ^= 0x20,
            1 => {
                log.remove(at);
            }
            2 => log.insert(at, b'\n'),
            _ => log.truncate(at),
        }
        std::fs::write(&path, &log).unwrap();
        agree(&path, h.head(), None, &format!("long history, edit {case}"));
    }
    // A line longer than any verifier accepts, in the middle and at the end
    // (with and without its newline).
    let long = vec![b'x'; log::MAX_LINE + 10];
    for (name, log) in [
        (
            "long line in the middle",
            [&base[..], &long, b"\n", &base[..]].concat(),
        ),
        ("long line at the end", [&base[..], &long, b"\n"].concat()),
        ("long torn tail", [&base[..], &long].concat()),
        (
            "exactly MAX_LINE",
            [&base[..], &vec![b'x'; log::MAX_LINE], b"\n"].concat(),
        ),
        ("empty", Vec::new()),
        ("one newline", b"\n".to_vec()),
    ] {
        std::fs::write(&path, &log).unwrap();
        agree(&path, None, None, name);
    }
}

/// `history_with(cycles, true)` and then, appended by someone: entries
/// `forge` writes, then a quorum entry (`checkpoint_sig`, of generation
/// `checkpoint_gen`, current when None) whose checkpoint covers them all.
fn with_forged_tail(
    checkpoint_gen: Option<u64>,
    checkpoint_sig: signed_history::Sig,
) -> (SignedHistory, Vec<u64>, u64) {
    use signed_history::json_map;
    let mut h = history_with(3, true);
    let t = Timestamp(1_900_000_000);
    let forged = h.forgeries(t);
    h.verified_through(Some(h.entries()));
    let g = checkpoint_gen.unwrap_or(h.generation());
    let cp = h.raw(
        events::DRILL,
        g,
        t,
        json_map(json!({"kind": "quorum", "custodians": ["alice", "bob"]})),
        checkpoint_sig,
    );
    (h, forged, cp)
}

fn forged_seqs(r: &log::VerifyReport) -> Vec<u64> {
    r.trust.findings.iter().map(|f| f.seq).collect()
}

#[test]
fn checkpoints_from_anyone_but_the_live_quorum_vouch_for_nothing() {
    use signed_history::Sig;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    for (name, gen, sig) in [
        ("a key nobody certified", None, Sig::QuorumSeed([7; 32])),
        ("a random signature", None, Sig::Random(log::Signer::Quorum)),
        ("the dead generation 1", Some(1), Sig::Quorum(1)),
    ] {
        let (h, forged, cp) = with_forged_tail(gen, sig);
        std::fs::write(&path, h.text()).unwrap();
        agree(&path, h.head(), None, name);
        let r = log::verify(&path, h.head(), |_, _| {}).unwrap();
        let mut want = forged.clone();
        want.push(cp);
        assert_eq!(forged_seqs(&r), want, "{name}: {}", r.explain());
    }
}

/// The one place the fast path differs from the reference, on purpose: a
/// checkpoint signed by the live quorum is believed. A quorum that lies
/// about what it checked (a modified tool, signing over an entry whose
/// signature does not hold) gets that entry counted; `--every-signature`
/// and the reference still name it (SECURITY.md, "Checkpoints").
#[test]
fn a_lying_live_quorum_is_believed_by_the_fast_path_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let (h, forged, cp) = with_forged_tail(
        None,
        signed_history::Sig::Quorum(history_with(3, true).generation()),
    );
    std::fs::write(&path, h.text()).unwrap();
    let mut fast_visits = Vec::new();
    let fast = log::verify(&path, h.head(), |e, a| fast_visits.push((e.seq, a.clone()))).unwrap();
    assert!(fast.is_intact(), "{}", fast.explain());
    assert!(fast_visits
        .iter()
        .any(|(s, a)| *s == forged[0] && a.by_custodian("alice")));
    assert!(fast_visits.iter().any(|(s, a)| *s == cp && a.by_quorum()));
    let every = log::verify_every_signature(&path, h.head(), |_, _| {}).unwrap();
    let reference = log::verify_rooted_reference(&path, h.head(), None, |_, _| {}).unwrap();
    assert_eq!(forged_seqs(&every), forged);
    assert_eq!(forged_seqs(&reference), forged);
}

#[test]
fn a_checkpoint_through_itself_or_beyond_vouches_for_nothing() {
    use signed_history::{json_map, Sig};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut h = history_with(2, true);
    let t = Timestamp(1_900_000_000);
    let alice = h.custodian("alice").signer();
    h.verified_through(None);
    let forged = h.signed(
        events::DRILL,
        t,
        json_map(json!({"kind": "custodian", "custodian": "alice"})),
        Sig::Random(alice),
    );
    // Written by hand (the writer never claims its own seq or later).
    let claim = h.entries() + 1;
    h.quorum(
        events::DRILL,
        t,
        json_map(json!({"kind": "quorum", "verified_through": claim})),
    );
    std::fs::write(&path, h.text()).unwrap();
    agree(&path, h.head(), None, "a checkpoint through itself");
    let r = log::verify(&path, h.head(), |_, _| {}).unwrap();
    assert_eq!(forged_seqs(&r), [forged]);
}

/// An entry under a checkpoint rewritten, and every line after it re-hashed
/// and re-chained (what an attacker with write access and no key can do):
/// the checkpoints no longer verify, so nothing is vouched, and the
/// verdicts are the reference's.
#[test]
fn a_rewritten_and_rechained_history_under_checkpoints_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let base = history_with(4, true);
    let mut lines: Vec<Value> = base
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let drill = lines
        .iter()
        .position(|v| v["event"] == "drill" && v["sig"]["by"] == "custodian")
        .unwrap();
    lines[drill]["data"]["custodian"] = "mallory".into();
    let mut prev = lines[drill - 1]["hash"].as_str().unwrap().to_owned();
    let mut text = String::new();
    for (i, v) in lines.iter_mut().enumerate() {
        if i >= drill {
            v["prev"] = prev.clone().into();
            let fixed = rehash(canonical_json(v).unwrap().as_bytes()).unwrap();
            *v = serde_json::from_slice(&fixed).unwrap();
            prev = v["hash"].as_str().unwrap().to_owned();
        }
        text.push_str(&canonical_json(v).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    assert!(!agree(&path, None, None, "re-chained"));
    let r = log::verify(&path, None, |_, _| {}).unwrap();
    assert_eq!(forged_seqs(&r).first(), Some(&(drill as u64 + 1)));
    assert!(r.trust.forged_count > 4, "{}", r.explain());
}
