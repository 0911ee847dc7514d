//! Benchmark of the core paths (run: `cargo bench --bench core`). Prints figures;
//! asserts nothing about speed (these machines are noisy).
//!
//! * `log verify` on a 100,000-entry log;
//! * `init` of a 2-of-3 vault (no KDF: init never unlocks an identity);
//! * `unseal` by two software custodians, minus the two Argon2id derivations
//!   (measured separately), i.e. the tool's own work;
//! * `reseal` (fresh shares for 3 custodians, opened by 2), minus the KDF;
//! * `rekey` (threshold 2 → 3 for the same 3 custodians, opened by 2), minus the KDF;
//! * one Argon2id derivation at the default parameters (the "about 1 s" target).

use std::time::Instant;

use breakglass::ceremony::quorum::QuorumInput;
use breakglass::ceremony::{init, unseal};
use breakglass::clock::Timestamp;
use breakglass::kdf::{self, KdfParams};
use breakglass::log::{By, Log};
use breakglass::payload::Entry;
use breakglass::secret::SecretString;
use breakglass::token::{software, CustodianDescriptor, SuppliedIdentity};
use breakglass::ui::Answers;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. log verify, 100k entries (share-accepted entries are unsigned, as
    //    the ceremonies write them: this is the chain alone; signatures are
    //    measured by `cargo bench --bench governance`).
    let path = dir.path().join("log.jsonl");
    let vault = "00112233445566778899aabbccddeeff";
    let mut log = Log::at_head(&path, vault, None);
    let mut text = String::with_capacity(100_000 * 400);
    let start = Timestamp(1_767_225_600);
    for i in 0..100_000u64 {
        let data = breakglass::log_data! {"ticket" => format!("INC-{i}"), "custodian" => "alice", "request" => i};
        let (line, head) = log
            .build_line("share-accepted", 1, data, start.plus(i as i64), By::Nobody)
            .expect("line");
        text.push_str(&line);
        log = Log::at_head(&path, vault, Some(head));
    }
    std::fs::write(&path, &text).expect("write log");
    let t = Instant::now();
    let report = breakglass::log::verify(&path, None, |_, _| {}).expect("verify");
    let v = secs(t);
    assert!(report.is_intact());
    println!(
        "log verify: {} entries, {:.1} MB in {:.3} s ({:.0} entries/s)",
        report.entries,
        text.len() as f64 / 1e6,
        v,
        report.entries as f64 / v
    );

    // 2. init and unseal without the KDF.
    let mut descs = Vec::new();
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let pass = SecretString::new(format!("bench passphrase {name}"));
        let (bytes, token) = software::create(name, &pass, KdfParams::DEMO).expect("identity");
        descs.push(CustodianDescriptor {
            format: CustodianDescriptor::FORMAT.into(),
            name: breakglass::names::CustodianName::parse(name).unwrap(),
            tokens: vec![token],
        });
        ids.push(SuppliedIdentity {
            path: name.into(),
            bytes,
        });
    }
    let runs = 20;
    let mut init_total = 0.0;
    let mut unseal_total = 0.0;
    let mut reseal_total = 0.0;
    let mut rekey_total = 0.0;
    let present = || -> Vec<SuppliedIdentity> {
        ids.iter()
            .map(|i| SuppliedIdentity {
                path: i.path.clone(),
                bytes: i.bytes.clone(),
            })
            .collect()
    };
    let salt = [7u8; 16];
    let t = Instant::now();
    for _ in 0..runs * 2 {
        kdf::derive(&SecretString::new("x".repeat(20)), &salt, KdfParams::DEMO).expect("kdf");
    }
    let kdf_demo = secs(t) / (runs * 2) as f64;
    let anchors = breakglass::attestation::TrustAnchors::yubico().expect("bundled roots");
    for r in 0..runs {
        let vdir = dir.path().join(format!("v{r}"));
        let init_anchors = anchors.clone();
        let t = Instant::now();
        init::init(
            init::InitOptions {
                dir: vdir.clone(),
                threshold: 2,
                custodians: descs.clone(),
                entries: vec![Entry::Password {
                    name: "aws-root".into(),
                    value: zeroize::Zeroizing::new("bench-password".into()),
                    account: None,
                    username: None,
                    url: None,
                    notes: None,
                }],
                anchors: init_anchors,
            },
            &mut Answers::default(),
        )
        .expect("init");
        init_total += secs(t);
        let mut ui = Answers::default();
        ui.set_passphrase("alice", "bench passphrase alice");
        ui.set_passphrase("bob", "bench passphrase bob");
        ui.set_confirm("rekey.proceed", true);
        let t = Instant::now();
        let s = unseal::unseal(
            unseal::UnsealOptions {
                dir: vdir,
                ticket: "BENCH".into(),
                reason: "bench".into(),
                entries: vec![],
                session_secs: 60,
                quorum: QuorumInput {
                    identities: present(),
                    order: vec!["alice".into(), "bob".into()],
                    ..Default::default()
                },
            },
            &mut ui,
        )
        .expect("unseal");
        s.end(unseal::EndReason::OneShot).expect("end");
        unseal_total += secs(t);
        let t = Instant::now();
        breakglass::ceremony::reseal::reseal(
            breakglass::ceremony::reseal::ResealOptions {
                dir: dir.path().join(format!("v{r}")),
                ticket: "BENCH".into(),
                reason: "bench reseal".into(),
                changes: vec![],
                quorum: QuorumInput {
                    identities: present(),
                    order: vec!["alice".into(), "bob".into()],
                    ..Default::default()
                },
                purpose: "reseal",
            },
            &mut ui,
        )
        .expect("reseal");
        reseal_total += secs(t);
        let rekey_anchors = anchors.clone();
        let t = Instant::now();
        breakglass::ceremony::rekey::rekey(
            breakglass::ceremony::rekey::RekeyOptions {
                dir: dir.path().join(format!("v{r}")),
                ticket: "BENCH".into(),
                reason: "bench rekey".into(),
                changes: breakglass::ceremony::rekey::CustodianChanges {
                    threshold: Some(3),
                    ..Default::default()
                },
                anchors: rekey_anchors,
                quorum: QuorumInput {
                    identities: present(),
                    order: vec!["alice".into(), "bob".into()],
                    ..Default::default()
                },
            },
            &mut ui,
        )
        .expect("rekey");
        rekey_total += secs(t);
    }
    println!(
        "init 2-of-3 (no KDF involved): {:.1} ms per vault",
        init_total / runs as f64 * 1e3
    );
    println!(
        "unseal by 2 custodians: {:.1} ms total, {:.1} ms excluding 2 KDF runs at demo cost ({:.1} ms each)",
        unseal_total / runs as f64 * 1e3,
        (unseal_total / runs as f64 - 2.0 * kdf_demo) * 1e3,
        kdf_demo * 1e3
    );

    println!(
        "reseal of 3 custodians by 2: {:.1} ms total, {:.1} ms excluding 2 KDF runs",
        reseal_total / runs as f64 * 1e3,
        (reseal_total / runs as f64 - 2.0 * kdf_demo) * 1e3
    );

    println!(
        "rekey of 3 custodians (threshold 2 -> 3) by 2: {:.1} ms total, {:.1} ms excluding 2 KDF runs",
        rekey_total / runs as f64 * 1e3,
        (rekey_total / runs as f64 - 2.0 * kdf_demo) * 1e3
    );

    // 3. One Argon2id derivation at the production default.
    let t = Instant::now();
    kdf::derive(
        &SecretString::new("x".repeat(20)),
        &salt,
        KdfParams::DEFAULT,
    )
    .expect("kdf");
    println!("argon2id default (64 MiB, t=3, p=1): {:.3} s", secs(t));
}
