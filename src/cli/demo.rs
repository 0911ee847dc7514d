//! `breakglass demo`: every ceremony on a throwaway vault, without a prompt.
//!
//! Clearly labelled as a demo: software custodians with demo-grade KDF
//! parameters and printed passphrases, a sample password and TOTP seed, all
//! in a fresh temporary directory that is removed afterwards (unless --keep).

use std::path::{Path, PathBuf};

use breakglass::ceremony::quorum::QuorumInput;
use breakglass::ceremony::{drill, init, rekey, reseal, review, unseal};
use breakglass::error::{Error, Result};
use breakglass::kdf::KdfParams;
use breakglass::payload::Entry;
use breakglass::token::{software, CustodianDescriptor, SuppliedIdentity};
use breakglass::ui::{Answers, Level};

use super::out::{self, outln};
use super::ui::{Echo, Echoing};

const CUSTODIANS: [(&str, &str); 3] = [
    ("alice", "demo passphrase of alice"),
    ("bob", "demo passphrase of bob"),
    ("carol", "demo passphrase of carol"),
];
/// The custodian who joins in the rekey step.
const JOINER: (&str, &str) = ("dave", "demo passphrase of dave");
/// Steps of the walk.
const STEPS: usize = 10;
/// The post-incident review of the demo unseal (text form, see ceremonies/post-incident-review.md).
const REVIEW: &str = "ticket: DEMO-1
participants: alice, bob, security lead
timeline: 2026-01-01T10:00:00Z identity provider outage detected
timeline: 2026-01-01T10:20:00Z break-glass unseal by alice and bob
root cause: demo: the identity provider's signing certificate expired
preventive measure: monitor certificate expiry
provider event: demo-cloudtrail-event-0001
";
/// A well-known sample seed (base32 of "12345678901234567890", RFC 6238's test key).
const SAMPLE_TOTP: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The demo's echo: each step on stdout, as a walk-through. `phone`: the
/// call to the remote custodian, over which the code shown is read aloud.
struct Printer {
    phone: Option<std::sync::mpsc::Sender<String>>,
}

impl Echo for Printer {
    fn say(&mut self, level: Level, text: &str) {
        if let (Some(phone), Some(code)) = (
            &self.phone,
            text.strip_prefix("Read this code aloud to carol: "),
        ) {
            let _ = phone.send(code.to_owned());
        }
        let mark = match level {
            Level::Step => "  -",
            Level::Info => "   ",
            Level::Warn => "  !",
        };
        // A write error here shows at the next line the walk prints.
        let _ = outln!("{mark} {text}");
    }
    fn passphrase(&mut self, custodian: &str) {
        let _ = outln!("    {custodian} types their passphrase");
    }
    fn reveal(&mut self, label: &str, value: &breakglass::secret::SecretString) {
        let line = zeroize::Zeroizing::new(format!("    NEW VALUE {label}: {}\n", value.expose()));
        let _ = out::raw(&line);
    }
}

fn heading(n: usize, text: &str) -> Result<()> {
    outln!()?;
    outln!("[{n}/{STEPS}] {text}")
}

/// The quorum input of the named custodians, presenting in that order.
fn quorum_of(identities: &[SuppliedIdentity], names: &[&str]) -> QuorumInput {
    QuorumInput {
        identities: presenting(identities, names),
        order: names.iter().map(|n| (*n).to_owned()).collect(),
        ..QuorumInput::default()
    }
}

/// Copies of the named custodians' identity files, in that order.
fn presenting(identities: &[SuppliedIdentity], names: &[&str]) -> Vec<SuppliedIdentity> {
    names
        .iter()
        .filter_map(|n| {
            identities
                .iter()
                .find(|i| i.path.ends_with(&format!("/{n}.identity")))
        })
        .map(|i| SuppliedIdentity {
            path: i.path.clone(),
            bytes: i.bytes.clone(),
        })
        .collect()
}

/// Writes a demo software identity for `name`; returns its descriptor and file.
fn enroll(base: &Path, name: &str, pass: &str) -> Result<(CustodianDescriptor, SuppliedIdentity)> {
    let (bytes, token) = software::create(
        name,
        &breakglass::secret::SecretString::new(pass.into()),
        KdfParams::DEMO,
    )
    .map_err(|e| Error::Token(e.into()))?;
    let path = base.join(format!("{name}.identity"));
    breakglass::fsutil::write_new(&path, &bytes).map_err(io(&path))?;
    let d = CustodianDescriptor {
        format: CustodianDescriptor::FORMAT.into(),
        name: breakglass::names::CustodianName::parse(name)
            .map_err(|e| Error::Usage(e.to_string()))?,
        tokens: vec![token],
    };
    outln!(
        "  - {name}: identity {} · token {}",
        path.display(),
        d.tokens[0].fingerprint()
    )?;
    Ok((
        d,
        SuppliedIdentity {
            path: path.display().to_string(),
            bytes,
        },
    ))
}

/// carol's own machine in the demo: waits for the lead's call (the code on
/// `handset`), takes her request from `outbox`, checks it against the
/// fingerprint on her paper card and the code, opens her share and writes
/// the response to `reply`.
fn respond_remotely(
    outbox: &Path,
    reply: &Path,
    fingerprint: &str,
    identities: Vec<SuppliedIdentity>,
    handset: std::sync::mpsc::Receiver<String>,
) -> Result<()> {
    let wait = std::time::Duration::from_secs(120);
    let code = handset
        .recv_timeout(wait)
        .map_err(|_| Error::Usage("demo: the lead never called carol with the code".into()))?;
    let deadline = std::time::Instant::now() + wait;
    let request = loop {
        let found = std::fs::read_dir(outbox)
            .map_err(io(outbox))?
            .flatten()
            .find(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("carol-") && n.ends_with(".bgrequest")
            });
        if let Some(e) = found {
            break breakglass::fsutil::read_capped(&e.path(), breakglass::remote::MAX_FILE as u64)
                .map_err(io(&e.path()))?;
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::Usage("demo: carol's request never appeared".into()));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    outln!("  - on carol's machine: breakglass respond; she types the code {code} she hears")?;
    let mut answers = Answers::default();
    answers.set_passphrase(CUSTODIANS[2].0, CUSTODIANS[2].1);
    let mut ui = Echoing::new(answers, Printer { phone: None });
    let answered = breakglass::ceremony::respond::respond(
        &request,
        &breakglass::ceremony::respond::Input {
            fingerprint: Some(fingerprint),
            code: Some(&code),
            identities: &identities,
            now: breakglass::clock::Timestamp::now(),
        },
        &mut ui,
    )?;
    breakglass::fsutil::replace_atomically(reply, &answered.response).map_err(io(reply))?;
    outln!(
        "  - carol sends back {} ({} bytes)",
        reply.display(),
        answered.response.len()
    )
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Usage(format!("demo: cannot use {}: {e}", p.display()))
}

pub fn run(dir: Option<PathBuf>, keep: bool) -> Result<u8> {
    // A given directory is created (and kept); otherwise a fresh one with an
    // unpredictable name (0700), removed afterwards unless --keep.
    let (base, temp) = match dir {
        Some(d) => {
            breakglass::fsutil::create_dir_durable(&d).map_err(io(&d))?;
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("breakglass-demo-")
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .tempdir()
                .map_err(io(&std::env::temp_dir()))?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let result = walk(&base);
    let removed = match temp {
        Some(t) if !keep => {
            drop(t);
            true
        }
        Some(t) => {
            let _kept = t.keep();
            false
        }
        None => false,
    };
    let said = if removed {
        outln!().and_then(|()| outln!("Demo directory {} removed.", base.display()))
    } else {
        outln!().and_then(|()| outln!("Demo files kept in {}.", base.display()))
    };
    result.and_then(|code| said.map(|()| code))
}

fn walk(base: &Path) -> Result<u8> {
    outln!(
        "=== breakglass DEMO — throwaway vault in {} ===",
        base.display()
    )?;
    outln!("Software custodians with demo-grade KDF parameters and printed passphrases:")?;
    outln!("never do this with real credentials.")?;
    let mut answers = Answers::default();
    for (name, pass) in CUSTODIANS.iter().chain([&JOINER]) {
        outln!("  {name:<6} \"{pass}\"")?;
        answers.set_passphrase(name, pass);
    }
    answers.set_confirm("reseal.provider-updated", true);
    answers.set_confirm("rekey.proceed", true);
    let outbox = base.join("outbox");
    let laptop = base.join("carol-laptop");
    for d in [&outbox, &laptop] {
        breakglass::fsutil::create_dir_durable(d).map_err(io(d))?;
    }
    let carol_response = laptop.join("carol.bgresponse");
    answers.set_text(
        "remote.carol.response",
        &carol_response.display().to_string(),
    );
    let (phone, handset) = std::sync::mpsc::channel();
    let mut ui = Echoing::new(answers, Printer { phone: Some(phone) });
    let anchors = breakglass::attestation::TrustAnchors::yubico()
        .map_err(|e| Error::Usage(format!("attestation roots: {e}")))?;

    heading(1, "Enroll three custodians (alice, bob, carol)")?;
    let mut descriptors = Vec::new();
    let mut identities = Vec::new();
    for (name, pass) in CUSTODIANS {
        let (d, id) = enroll(base, name, pass)?;
        descriptors.push(d);
        identities.push(id);
    }

    heading(
        2,
        "Setup ceremony: 2-of-3 vault with a sample break-glass password and MFA seed",
    )?;
    let vault = base.join("vault");
    let sealed = init::init(
        init::InitOptions {
            dir: vault.clone(),
            threshold: 2,
            custodians: descriptors,
            anchors: anchors.clone(),
            entries: vec![
                Entry::Password {
                    name: "aws-breakglass".into(),
                    value: zeroize::Zeroizing::new("Demo-Only-Password-1".into()),
                    account: Some("123456789012".into()),
                    username: Some("breakglass-admin".into()),
                    url: Some("https://123456789012.signin.aws.amazon.com/console".into()),
                    notes: Some("demo sample".into()),
                },
                crate::cli::render::totp_entry(
                    "aws-breakglass-mfa".into(),
                    &breakglass::secret::SecretString::new(SAMPLE_TOTP.into()),
                )?,
            ],
        },
        &mut ui,
    )?;
    outln!(
        "    vault fingerprint {} (custodians write it down)",
        sealed.fingerprint
    )?;
    outln!(
        "    receipt {}",
        crate::cli::output::receipt(&sealed.vault_id, &sealed.receipt)
    )?;

    heading(3, "Emergency unseal by alice and bob, ticket DEMO-1")?;
    let session = unseal::unseal(
        unseal::UnsealOptions {
            dir: vault.clone(),
            ticket: "DEMO-1".into(),
            reason: "demo: identity provider outage".into(),
            entries: vec![],
            session_secs: 60,
            quorum: quorum_of(&identities, &["alice", "bob"]),
        },
        &mut ui,
    )?;
    let now = breakglass::clock::Timestamp::now();
    for e in session.entries() {
        for line in crate::cli::render::entry_text(e, now).lines() {
            out::raw(&format!("    | {line}\n"))?;
        }
    }
    let head = session.end(unseal::EndReason::OneShot)?;
    outln!("  - session ended and logged (entry {})", head.seq)?;

    heading(
        4,
        "Rotation and reseal by bob and carol: new password, new MFA seed",
    )?;
    let resealed = reseal::reseal(
        reseal::ResealOptions {
            dir: vault.clone(),
            ticket: "DEMO-1".into(),
            reason: "rotation after DEMO-1".into(),
            changes: vec![
                reseal::Change::Generate(
                    "aws-breakglass".into(),
                    breakglass::passgen::Policy::default(),
                ),
                reseal::Change::NewTotp("aws-breakglass-mfa".into()),
            ],
            quorum: quorum_of(&identities, &["bob", "carol"]),
            purpose: "reseal",
        },
        &mut ui,
    )?;
    outln!(
        "    vault fingerprint {} (unchanged; generation {} certified by generation {})",
        resealed.fingerprint,
        resealed.generation,
        resealed.generation - 1
    )?;

    heading(5, "Post-incident review of DEMO-1 (due within 5 days)")?;
    let reviewed = review::record(
        review::ReviewOptions {
            dir: vault.clone(),
            target: review::ReviewTarget::Ticket("DEMO-1".into()),
            document: Some(REVIEW.as_bytes().to_vec()),
            custodian: "carol".into(),
            identities: presenting(&identities, &["carol"]),
            expect_receipt: None,
        },
        &mut ui,
    )?;
    outln!(
        "  - review recorded for grant(s) {:?}, document sha256 {}",
        reviewed.grants,
        &reviewed.document_sha256[..16]
    )?;

    heading(
        6,
        "Drills: alice proves her share; bob and carol drill the whole quorum path, carol remotely",
    )?;
    let alone = drill::custodian_drill(
        drill::CustodianDrillOptions {
            dir: vault.clone(),
            custodian: "alice".into(),
            identities: presenting(&identities, &["alice"]),
            expect_receipt: None,
        },
        &mut ui,
    )?;
    let carol = presenting(&identities, &["carol"]);
    let fingerprint = sealed.fingerprint.clone();
    let (watch, reply) = (outbox.clone(), carol_response.clone());
    let remote_carol =
        std::thread::spawn(move || respond_remotely(&watch, &reply, &fingerprint, carol, handset));
    let quorum = drill::quorum_drill(
        drill::QuorumDrillOptions {
            dir: vault.clone(),
            quorum: QuorumInput {
                remote: breakglass::ceremony::remote::RemoteSettings {
                    names: vec!["carol".into()],
                    dir: outbox,
                    channel: "demo (a directory)".into(),
                    lifetime: 15 * 60,
                },
                ..quorum_of(&identities, &["bob", "carol"])
            },
        },
        &mut ui,
    );
    let answered = remote_carol
        .join()
        .unwrap_or_else(|_| Err(Error::Usage("demo: carol's side stopped".into())));
    let quorum = quorum?;
    answered?;
    for d in [&alone, &quorum] {
        outln!(
            "  - {} drill of {}: {}",
            d.kind.as_str(),
            d.custodians.join(", "),
            if d.verdict.passed() {
                "passed"
            } else {
                "FAILED"
            }
        )?;
        if let Some(why) = d.verdict.why() {
            return Err(Error::Usage(format!(
                "demo: the {} drill failed: {why}",
                d.kind.as_str()
            )));
        }
    }

    heading(
        7,
        "Custodian change (rekey) by alice and bob: dave joins, carol leaves",
    )?;
    let (dave, dave_id) = enroll(base, JOINER.0, JOINER.1)?;
    identities.push(dave_id);
    let rekeyed = rekey::rekey(
        rekey::RekeyOptions {
            dir: vault.clone(),
            ticket: "DEMO-2".into(),
            reason: "demo: dave joins, carol leaves".into(),
            changes: rekey::CustodianChanges {
                add: vec![dave],
                remove: vec!["carol".into()],
                ..Default::default()
            },
            anchors,
            quorum: quorum_of(&identities, &["alice", "bob"]),
        },
        &mut ui,
    )?;
    outln!(
        "    vault fingerprint {} (unchanged, generation {}); carol's share is dead",
        rekeyed.fingerprint,
        rekeyed.generation
    )?;

    heading(8, "Status: what is owed")?;
    let v = breakglass::vault::Vault::open_read_only(&vault)?;
    let status = breakglass::governance::status(&v, None, breakglass::clock::Timestamp::now())?;
    let names: Vec<&str> = status.custodians.iter().map(|c| c.name.as_str()).collect();
    outln!(
        "  - generation {}, {} of {} custodians ({}); activations: {}; open sessions: {}",
        status.generation,
        status.threshold,
        names.len(),
        names.join(", "),
        status.activations,
        status.open_sessions.len()
    )?;
    for o in &status.obligations {
        outln!("    {}", o.describe())?;
    }
    outln!(
        "  - overdue: {} (rotation and review of DEMO-1 are fulfilled)",
        status.overdue().count()
    )?;

    heading(
        9,
        "Verify the audit log and the vault's history, with no secret",
    )?;
    let mut shown: Result<()> = Ok(());
    let h = breakglass::history::read(&v, |e, a| {
        if shown.is_ok() {
            shown = outln!(
                "    {:>3} {} {:<22} {}",
                e.seq,
                e.time.to_rfc3339(),
                e.event,
                crate::cli::log::auth_label(a)
            );
        }
    })?;
    shown?;
    if !h.is_intact() {
        return Err(Error::LogBroken {
            explanation: h.explain(),
        });
    }
    let t = &h.report.trust;
    outln!(
        "  - log OK: {} entries, {} signed by a quorum, {} by a custodian; {} generations certified from fingerprint {}",
        h.report.entries,
        t.quorum_signed,
        t.custodian_signed,
        t.certified_generations(),
        h.fingerprint()
    )?;

    heading(10, "Receipt for the tickets")?;
    if let Some(head) = &h.report.head {
        crate::cli::output::print_receipt(&h.manifest.vault_id, head)?;
    }
    outln!()?;
    outln!(
        "Demo complete: setup, emergency unseal, rotation and reseal, post-incident review, drills (one custodian remote), custodian change, status, log verification."
    )?;
    Ok(0)
}
