//! The adversarial review of format 1, replayed against format 2: an
//! attacker who can write the vault directory (a backup medium, the USB
//! stick, the air-gapped disk) but holds no share, token or passphrase.
//! Each attack is done with raw file edits or an attacker program using only
//! the library's public API, and each is refused with its exact message.
//! Against format 1 every one of them worked (generation substitution, the
//! rollback that deleted the live generation, one forged MAC blocking every
//! ceremony, `status` turned green by forged entries, truncation after the
//! last seal hiding later unseals): see the issue "A vault that proves its
//! own history".

mod common;

use std::path::Path;

use breakglass::encoding::hex;
use breakglass::envelope::Envelope;
use breakglass::keys::MasterKey;
use breakglass::log::{self, By, Log};
use breakglass::log_data;
use breakglass::manifest::{generation_dir, sha256_hex, CustodianRecord, Manifest, PayloadRef};
use breakglass::payload::{Entry, Payload};
use breakglass::secret::SecretString;
use breakglass::token::{self, agefile, software, CustodianDescriptor};
use common::{run, run_env, Fixture, PASSWORD};
use serde_json::Value;

const NEW_PASSWORD_LEN: usize = 32;

fn manifest_of(f: &Fixture) -> Manifest {
    Manifest::from_bytes(&std::fs::read(f.vault_path().join("manifest.json")).unwrap()).unwrap()
}

fn head_of(f: &Fixture) -> breakglass::manifest::LogHead {
    log::verify(&f.log_path(), None, |_, _| {})
        .unwrap()
        .head
        .unwrap()
}

fn answers(f: &Fixture) {
    let mut p = serde_json::Map::new();
    for n in common::NAMES.iter().take(f.n) {
        p.insert((*n).into(), common::passphrase(n).into());
    }
    f.write_answers(serde_json::json!({
        "passphrases": p,
        "confirm": {"reseal.provider-updated": true},
    }));
}

fn reseal_generate(f: &Fixture, who: &[&str], extra: &[&str]) -> common::Run {
    let vault = f.vault();
    let answers = f.path("answers.json");
    let ids: Vec<String> = who.iter().map(|w| f.identity(w)).collect();
    let mut args = vec![
        "reseal",
        "--vault",
        &vault,
        "--ticket",
        "INC-1",
        "--reason",
        "rotation after INC-1",
        "--generate",
        "aws-root",
        "--json",
        "--answers",
        &answers,
    ];
    for id in &ids {
        args.push("--identity");
        args.push(id);
    }
    args.extend_from_slice(extra);
    run(&args, "")
}

fn unseal_password(f: &Fixture, extra: &[&str]) -> (common::Run, Option<String>) {
    let r = f.unseal(&["alice", "bob"], extra);
    let pw = serde_json::from_str::<Value>(r.stdout.trim())
        .ok()
        .and_then(|v| {
            v["entries"]
                .as_array()?
                .iter()
                .find(|e| e["name"] == "aws-root")?
                .get("value")?
                .as_str()
                .map(str::to_owned)
        });
    (r, pw)
}

/// What an attacker writes to the disk: a complete generation under a key
/// of their own, for the real custodians plus one token of theirs each.
struct Forgery {
    key: MasterKey,
    manifest: Manifest,
    bytes: Vec<u8>,
}

fn forge_generation(f: &Fixture, attacker: &Path) -> Forgery {
    let real = manifest_of(f);
    let vid = real.vault_id_bytes().unwrap();
    let g = real.generation + 1;
    let key = MasterKey::generate().unwrap();
    let custodians: Vec<CustodianDescriptor> = real
        .custodians
        .iter()
        .map(|c| {
            // One attacker identity per custodian (a token is enrolled once).
            let (id_bytes, attacker_token) = software::create(
                &c.name,
                &SecretString::new("attacker passphrase".into()),
                breakglass::kdf::KdfParams::DEMO,
            )
            .unwrap();
            std::fs::write(attacker.with_extension(c.name.as_str()), id_bytes).unwrap();
            let mut tokens = c.tokens.clone();
            tokens.push(attacker_token);
            CustodianDescriptor {
                format: CustodianDescriptor::FORMAT.into(),
                name: c.name.clone(),
                tokens,
            }
        })
        .collect();
    let shares = breakglass::shamir::split(
        key.expose_for_sharing(),
        real.threshold,
        custodians.len() as u8,
    )
    .unwrap();
    let gdir = generation_dir(g);
    std::fs::create_dir_all(f.vault_path().join(&gdir).join("shares")).unwrap();
    let mut records = Vec::new();
    for (c, share) in custodians.iter().zip(shares) {
        let env = Envelope {
            vault_id: vid,
            generation: g,
            custodian: c.name.to_string(),
            threshold: real.threshold,
            share,
        };
        let file = agefile::encrypt(&token::recipients(c).unwrap(), &env.encode()).unwrap();
        let rel = format!("{gdir}/shares/{}.age", c.name);
        std::fs::write(f.vault_path().join(&rel), &file).unwrap();
        records.push(CustodianRecord {
            commitment: sha256_hex(&file),
            name: c.name.clone(),
            share: rel,
            tokens: c.tokens.clone(),
            x: env.share.x,
        });
    }
    let payload = Payload::new(vec![Entry::Password {
        name: "aws-root".into(),
        value: zeroize::Zeroizing::new("attacker-chosen".into()),
        account: None,
        username: None,
        url: None,
        notes: None,
    }])
    .unwrap();
    let recipient: Vec<Box<dyn age::Recipient + Send>> =
        vec![Box::new(key.payload_identity(&vid).unwrap().to_public())];
    let payload_file = agefile::encrypt(&recipient, &payload.to_bytes().unwrap()).unwrap();
    let prel = format!("{gdir}/payload.age");
    std::fs::write(f.vault_path().join(&prel), &payload_file).unwrap();
    let own = key.signing_key(&vid).unwrap();
    let mut m = Manifest {
        created: real.created.clone(),
        custodians: records,
        entries: payload.index(),
        format: breakglass::manifest::FORMAT.into(),
        generation: g,
        genesis_key: real.genesis_key.clone(),
        log_head: head_of(f),
        mac: None,
        payload: PayloadRef {
            digest: sha256_hex(&payload_file),
            file: prel,
        },
        sealed: real.sealed.clone(),
        signatures: None,
        signing_key: None,
        threshold: real.threshold,
        vault_id: real.vault_id.clone(),
    };
    // The attacker has no key of the current generation: they sign as its
    // predecessor with their own key.
    m.sign(&own, Some(&own)).unwrap();
    let bytes = m.to_bytes().unwrap();
    Forgery {
        key,
        manifest: m,
        bytes,
    }
}

/// Appends an entry the way an attacker can: chained correctly, signed (or not) as they choose.
fn append(
    f: &Fixture,
    event: &str,
    generation: u64,
    data: serde_json::Map<String, Value>,
    by: By<'_>,
) -> u64 {
    let vault = manifest_of(f).vault_id;
    let mut log = Log::at_head(&f.log_path(), &vault, Some(head_of(f)));
    log.append(event, generation, data, by).unwrap().seq
}

/// Attack 1: a substituted generation that keeps the real tokens and adds the
/// attacker's, with a `sealed` entry and a manifest signed under the
/// attacker's key. Refused before any PIN or passphrase prompt, by every
/// command; the honest reseal never seals the rotated password to it.
#[test]
fn attack_1_generation_substitution_is_refused_before_any_prompt() {
    let f = Fixture::new(3, 2);
    answers(&f);
    let forgery = forge_generation(&f, &f.dir.path().join("mallory.identity"));
    let vid = forgery.manifest.vault_id_bytes().unwrap();
    let attacker_key = forgery.key.signing_key(&vid).unwrap();
    let real_g = manifest_of(&f).generation;
    let forged_seq = append(
        &f,
        log::events::SEALED,
        real_g,
        log_data! {
            "reason" => "reseal", "generation" => real_g + 1,
            "signing_key" => attacker_key.public().to_hex(),
            "manifest_digest" => sha256_hex(&forgery.bytes),
            "signers" => serde_json::json!({}),
        },
        By::Quorum(&attacker_key),
    );
    std::fs::write(f.vault_path().join("manifest.json"), &forgery.bytes).unwrap();
    std::fs::write(
        f.vault_path()
            .join(generation_dir(real_g + 1))
            .join("manifest.json"),
        &forgery.bytes,
    )
    .unwrap();

    let r = f.verify_log();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "entry {forged_seq} ('sealed') claims to be written by a quorum of generation 1 but its signature does not verify: it was forged or altered, and counts for nothing"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("manifest.json (generation 2) is certified by no sealed entry of the audit log: it was substituted, or the log was truncated before its seal"),
        "{}",
        r.stdout
    );
    let r = run(&["status", "--vault", &f.vault()], "");
    assert_eq!(r.code, 1, "{}", r.stdout);

    let before = f.log_lines().len();
    let r = reseal_generate(&f, &["alice", "bob"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("error: the vault cannot be trusted: manifest.json (generation 2) is certified by no sealed entry of the audit log"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("presenting share"),
        "no prompt: {}",
        r.stderr
    );
    assert_eq!(
        f.log_lines().len(),
        before,
        "nothing logged, nothing sealed"
    );
    // Even an explicit override does not open a manifest no quorum certified.
    let r = reseal_generate(
        &f,
        &["alice", "bob"],
        &["--override-broken-log", "just do it"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("is certified by no sealed entry"),
        "{}",
        r.stderr
    );
    let (r, pw) = unseal_password(&f, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(pw, None);

    // The same forgery with an unsigned seal: refused the same way.
    let lines = f.log_lines();
    std::fs::write(
        f.log_path(),
        format!("{}\n", lines[..lines.len() - 1].join("\n")),
    )
    .unwrap();
    append(
        &f,
        log::events::SEALED,
        real_g,
        log_data! {"reason" => "reseal", "generation" => real_g + 1,
        "manifest_digest" => sha256_hex(&forgery.bytes)},
        By::Nobody,
    );
    let r = reseal_generate(&f, &["alice", "bob"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("is certified by no sealed entry"),
        "{}",
        r.stderr
    );
}

/// Attack 2: rollback. After a reseal to generation 2, the generation-1
/// manifest and directory are copied back. The log certifies generation 2
/// and its directory still holds its manifest: the commit is completed
/// (logged), the rotated secret opens, nothing is deleted. With generation 2
/// destroyed as well, the rollback is refused by name and nothing is removed.
#[test]
fn attack_2_rollback_is_refused_and_never_destroys_the_live_generation() {
    let f = Fixture::new(3, 2);
    answers(&f);
    let saved = f.dir.path().join("saved-g1");
    common::copy_dir(&f.vault_path(), &saved);
    let r = reseal_generate(&f, &["alice", "bob"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, rotated) = unseal_password(&f, &[]);
    let rotated = rotated.expect("the rotated password opens");
    assert_eq!(rotated.len(), NEW_PASSWORD_LEN);

    // Manifest and generation 1 copied back.
    std::fs::copy(
        saved.join("manifest.json"),
        f.vault_path().join("manifest.json"),
    )
    .unwrap();
    common::copy_dir(&saved.join("g000001"), &f.vault_path().join("g000001"));
    let r = run(&["status", "--vault", &f.vault()], "");
    assert!(
        r.stdout.contains("generation 2"),
        "read-only commands use the certified generation: {}",
        r.stdout
    );
    // An unseal that fails at its first prompt deletes nothing.
    let r = run(
        &[
            "unseal",
            "--vault",
            &f.vault(),
            "--ticket",
            "INC-2",
            "--reason",
            "r",
            "--json",
        ],
        "",
    );
    assert_ne!(r.code, 0);
    assert!(f.vault_path().join("g000002/manifest.json").exists());
    let (r, pw) = unseal_password(&f, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        pw.as_deref(),
        Some(rotated.as_str()),
        "the pre-rotation secrets never open"
    );
    assert_ne!(pw.as_deref(), Some(PASSWORD));
    assert!(f.events().contains(&"generation-installed".to_string()));
    assert!(f.vault_path().join("g000002").exists());

    // Rolled back AND the live generation destroyed (the attacker's own act):
    // refused by name; the old generation is not opened and nothing is removed.
    std::fs::remove_dir_all(f.vault_path().join("g000002")).unwrap();
    std::fs::copy(
        saved.join("manifest.json"),
        f.vault_path().join("manifest.json"),
    )
    .unwrap();
    common::copy_dir(&saved.join("g000001"), &f.vault_path().join("g000001"));
    let (r, pw) = unseal_password(&f, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(pw, None);
    assert!(
        r.stderr
            .contains("manifest.json is generation 1 but the audit log certifies generation 2"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("the vault was rolled back or a generation was lost"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--override-broken-log"), "{}", r.stderr);
    assert!(
        f.vault_path().join("g000001").exists(),
        "nothing is deleted"
    );
}

/// Attack 3: one appended entry with a random signature (or a format 1
/// MAC) no longer blocks silently: `log verify` names it, ceremonies refuse
/// naming it and logging nothing, and the logged override works.
#[test]
fn attack_3_a_forged_entry_is_named_and_never_blocks_an_emergency() {
    let f = Fixture::new(2, 2);
    answers(&f);
    let vault = manifest_of(&f).vault_id;
    let log = Log::at_head(&f.log_path(), &vault, Some(head_of(&f)));
    let (line, _) = log
        .build_line(
            log::events::DRILL,
            1,
            log_data! {"kind" => "quorum", "custodians" => ["alice", "bob"], "result" => "ok"},
            breakglass::clock::Timestamp::now(),
            By::Quorum(&breakglass::sign::SigningKey::from_seed(&[9u8; 32])),
        )
        .unwrap();
    // Replace the signature with random bytes and re-hash (the attacker can
    // compute hashes; they cannot sign).
    let mut v: serde_json::Map<String, Value> = serde_json::from_str(&line).unwrap();
    v["sig"]["value"] = Value::String(hex(&[0x5a; 64]));
    v.remove("hash");
    let text = breakglass::encoding::canonical_json(&Value::Object(v.clone())).unwrap();
    v.insert("hash".into(), sha256_hex(text.as_bytes()).into());
    let forged = breakglass::encoding::canonical_json(&Value::Object(v)).unwrap();
    let mut all = std::fs::read_to_string(f.log_path()).unwrap();
    all.push_str(&forged);
    all.push('\n');
    std::fs::write(f.log_path(), all).unwrap();
    let seq = head_of(&f).seq;

    let r = f.verify_log();
    assert_eq!(r.code, 1, "log verify no longer says OK: {}", r.stdout);
    let named = format!(
        "entry {seq} ('drill') claims to be written by a quorum of generation 1 but its signature does not verify"
    );
    assert!(r.stdout.contains(&named), "{}", r.stdout);
    let before = f.log_lines().len();
    let (r, pw) = unseal_password(&f, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(pw, None);
    assert!(r.stderr.contains(&named), "{}", r.stderr);
    assert!(r.stderr.contains("--override-broken-log"), "{}", r.stderr);
    assert_eq!(
        f.log_lines().len(),
        before,
        "a refused try logs nothing half-way"
    );
    let (r, pw) = unseal_password(
        &f,
        &["--override-broken-log", "IdP down; forged entry reported"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(pw.as_deref(), Some(PASSWORD));
    let over = f
        .log_lines()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"] == "integrity-override")
        .expect("the override is logged");
    assert_eq!(over["data"]["forged"], serde_json::json!([seq]));

    // A format 1 MAC appended to a format 2 log is named as well.
    let f = Fixture::new(2, 2);
    let mut lines = f.log_lines();
    let mut v: serde_json::Map<String, Value> =
        serde_json::from_str(lines.last().unwrap()).unwrap();
    let prev = v["hash"].as_str().unwrap().to_owned();
    let seq = v["seq"].as_u64().unwrap() + 1;
    v.remove("sig");
    v.insert("mac".into(), hex(&[7; 32]).into());
    v.insert("prev".into(), prev.into());
    v.insert("seq".into(), seq.into());
    v.remove("hash");
    let text = breakglass::encoding::canonical_json(&Value::Object(v.clone())).unwrap();
    v.insert("hash".into(), sha256_hex(text.as_bytes()).into());
    lines.push(breakglass::encoding::canonical_json(&Value::Object(v)).unwrap());
    std::fs::write(f.log_path(), format!("{}\n", lines.join("\n"))).unwrap();
    let r = f.verify_log();
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(&format!(
            "entry {seq} ('sealed') carries a format 1 MAC although the vault is format 2"
        )),
        "{}",
        r.stdout
    );
}

/// Attack 4: forged fulfilments (a reseal, two reviews, a drill, all
/// unsigned or signed by an unknown key) and a MAC-less grant: `status`
/// stays red with each named as forged, `report` does not meet its targets,
/// the forged grant is neither an open session nor reviewable.
#[test]
fn attack_4_forged_fulfilments_never_turn_status_green() {
    let f = Fixture::new(2, 2);
    answers(&f);
    let (r, _) = unseal_password(&f, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let grant = f
        .log_lines()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"] == "unseal-granted")
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    let mallory = breakglass::sign::SigningKey::from_seed(&[0x66; 32]);
    let s1 = append(
        &f,
        log::events::SEALED,
        1,
        log_data! {"reason" => "reseal", "generation" => 2},
        By::Nobody,
    );
    let review = log_data! {"grants" => [grant], "ticket" => "INC-1", "complete" => true,
    "participants" => ["alice"], "root_cause" => "x", "document_sha256" => "00".repeat(32)};
    let s2 = append(
        &f,
        log::events::REVIEW_RECORDED,
        1,
        review.clone(),
        By::Nobody,
    );
    let s4 = append(
        &f,
        log::events::DRILL,
        1,
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "ok"},
        By::Nobody,
    );
    let s5 = append(
        &f,
        log::events::UNSEAL_GRANTED,
        1,
        log_data! {"ticket" => "INC-666", "reason" => "forged", "custodians" => ["alice", "bob"], "request" => 1},
        By::Nobody,
    );
    // The unsigned grant cannot be reviewed (unsigned entries are not
    // findings: anyone may append requests; they just never count).
    let r = run_env(
        &[
            "review",
            "--vault",
            &f.vault(),
            "--grant",
            &s5.to_string(),
            "--custodian",
            "alice",
            "--identity",
            &f.identity("alice"),
            "--from",
            "-",
            "--answers",
            &f.path("answers.json"),
        ],
        "participants: alice\nroot cause: x\n",
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not an unseal grant signed by a quorum"),
        "{}",
        r.stderr
    );
    let mut sign = |body_for: &mut dyn FnMut(&log::Signer) -> Vec<u8>| {
        let s = log::Signer::Custodian {
            custodian: "alice".into(),
            token: "software:0000-0000-0000-0000".into(),
            alg: log::Alg::Ed25519,
        };
        let body = body_for(&s);
        Ok((
            s,
            mallory
                .sign(breakglass::sign::Purpose::LogEntry, &body)
                .to_vec(),
        ))
    };
    let s3 = append(
        &f,
        log::events::REVIEW_RECORDED,
        1,
        review,
        By::Custodian(&mut sign),
    );
    let r = run(&["status", "--vault", &f.vault(), "--json"], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    let s: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let forged: Vec<u64> = s["forged"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(forged, vec![s1, s2, s4, s5, s3]);
    let kinds: Vec<&str> = s["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["grant"] == grant)
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["rotation", "review"],
        "the real grant's obligations stay open"
    );
    assert_eq!(s["activations"], 1, "the forged grant is no activation");
    assert!(s["open_sessions"].as_array().unwrap().is_empty());
    let r = run(&["status", "--vault", &f.vault()], "");
    assert!(
        r.stdout.contains(&format!("FORGED         entry {s3} (review-recorded) claims to be signed by alice's token software:0000-0000-0000-0000, which is not certified for generation 1")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "FORGED         entry {s1} (sealed) is not signed by a quorum (unsigned)"
        )),
        "{}",
        r.stdout
    );
    let r = run(&["report", "--vault", &f.vault(), "--json"], "");
    assert_eq!(r.code, 1);
    let rep: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(rep["forged"]["count"], 5);
    let r = run(&["report", "--vault", &f.vault()], "");
    assert!(!r.stdout.contains("targets: met"), "{}", r.stdout);
}

/// Attack 5: truncation after the last seal hides later unseals from a log
/// that still verifies. The unseal's receipt (text and QR) is the anchor:
/// `status --expect-receipt` and every ceremony refuse on it.
#[test]
fn attack_5_truncation_after_the_seal_is_caught_by_the_receipt() {
    let f = Fixture::new(2, 2);
    answers(&f);
    let (r, _) = unseal_password(&f, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let receipt = v["receipt"]
        .as_str()
        .expect("unseal prints its receipt")
        .to_owned();
    let r = run(
        &[
            "status",
            "--vault",
            &f.vault(),
            "--expect-receipt",
            &receipt,
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("holds; 0 entries after it"),
        "{}",
        r.stdout
    );

    let lines = f.log_lines();
    let seal = lines
        .iter()
        .position(|l| l.contains("\"event\":\"sealed\""))
        .unwrap();
    std::fs::write(f.log_path(), format!("{}\n", lines[..=seal].join("\n"))).unwrap();
    assert_eq!(
        f.verify_log().code,
        0,
        "the prefix is a perfect, certified chain"
    );
    let r = run(
        &[
            "status",
            "--vault",
            &f.vault(),
            "--expect-receipt",
            &receipt,
        ],
        "",
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let seq = receipt.split(':').nth(2).unwrap();
    assert!(
        r.stdout.contains(&format!(
            "receipt        DOES NOT HOLD: the verified log ends at entry {} but the receipt records entry {seq}: the log was truncated past the receipt",
            seal + 1
        )),
        "{}",
        r.stdout
    );
    let (r, pw) = unseal_password(&f, &["--expect-receipt", &receipt]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(pw, None);
    assert!(
        r.stderr
            .contains("the receipt from the ticket does not match: the verified log ends at entry"),
        "{}",
        r.stderr
    );
}
