//! The vault machine's side of a remote presentation (`docs/remote.md`):
//! a fresh session key in memory, the request logged (`share-requested`)
//! and written (file, text block, QR codes), the code shown for the lead to
//! read aloud, the response read (a file that arrives, or a pasted block)
//! and checked. The caller logs the outcome (`share-accepted` /
//! `share-rejected`, with `remote: true`, the channel and the response's
//! digest).
//!
//! Invariants: the request is logged before it is written; the session key
//! is never written and is dropped once its one response has been read (a
//! second response to the same request opens nothing); the code is shown,
//! never logged or written.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::log::{events, By, Log};
use crate::log_data;
use crate::manifest::{sha256_hex, CustodianRecord};
use crate::remote::{armor, request::Draft, response::Expected, sas, Request, Response};
use crate::shamir::Share;
use crate::token::agefile::SessionKey;
use crate::ui::{Level, Ui, UiError};

use super::presenting::Presentation;

/// How long after a request's expiry the ceremony still waits for a response
/// file to appear (a late one is then refused, naming why).
pub const GRACE_SECS: i64 = 300;

/// How remote custodians are reached (`--remote`, `--remote-dir`,
/// `--remote-channel`, `--remote-expiry`).
#[derive(Clone)]
pub struct RemoteSettings {
    /// Custodians who present remotely.
    pub names: Vec<String>,
    /// Where requests are written.
    pub dir: PathBuf,
    /// How the files travel (logged): `file`, `e-mail`, `chat`, …
    pub channel: String,
    /// A request's lifetime in seconds (at most one hour).
    pub lifetime: i64,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            names: Vec::new(),
            dir: PathBuf::from("."),
            channel: "file".into(),
            lifetime: 15 * 60,
        }
    }
}

/// A share presented remotely.
pub struct Presented {
    /// The share.
    pub share: Share,
    /// Fingerprint of the custodian's token that opened and signed it.
    pub token: String,
    /// Logged with `share-accepted`.
    pub data: Map<String, Value>,
}

/// A remote try that failed: why, and what to log with `share-rejected`.
pub enum Refusal {
    /// Refused (the text says why).
    Rejected(String, Map<String, Value>),
    /// Ctrl-C at the prompt.
    Interrupted(UiError),
}

/// The log lines a request carries: the root entry and every `sealed`
/// entry, read from the log once per ceremony.
pub fn certificates(p: &Presentation<'_>) -> Result<Vec<String>> {
    let path = p.vault.log_path();
    let file = std::fs::File::open(&path).map_err(Error::io("read the audit log", &path))?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(Error::io("read the audit log", &path))?;
        let candidate = [events::SEALED, events::VAULT_CREATED, events::MIGRATED]
            .iter()
            .any(|e| line.contains(&format!("\"event\":\"{e}\"")));
        if !candidate {
            continue;
        }
        if let Ok(e) = crate::log::parse_line(&line) {
            if p.certificates.contains(&e.seq) {
                out.push(line);
            }
        }
    }
    Ok(out)
}

/// One remote try for `record` (module docs). `try_no` counts from 1.
pub fn present(
    p: &Presentation<'_>,
    log: &mut Log,
    record: &CustodianRecord,
    presented: &[String],
    try_no: usize,
    ui: &mut dyn Ui,
) -> Result<std::result::Result<Presented, Refusal>> {
    let settings = p.remote;
    let name = record.name.as_str();
    let mut data = log_data! {"remote" => true, "channel" => settings.channel.clone()};
    let reject =
        |why: String, data: &Map<String, Value>| Ok(Err(Refusal::Rejected(why, data.clone())));
    if !crate::remote::request::CEREMONIES.contains(&p.event) {
        return reject(
            format!("a {} cannot take a remote custodian", p.event),
            &data,
        );
    }
    let share_file = p.vault.read_data(&record.share)?;
    if !crate::secret::ct_eq(
        sha256_hex(&share_file).as_bytes(),
        record.commitment.as_bytes(),
    ) {
        return reject(format!(
            "{name}'s share file does not match its commitment in the manifest (altered or substituted); restore it from a backup copy"
        ), &data);
    }
    let (on_disk, manifest_bytes) = p.vault.read_manifest()?;
    if on_disk != *p.manifest {
        return reject(
            "manifest.json changed during the ceremony; start again".into(),
            &data,
        );
    }
    let certificates = certificates(p)?;
    let session = SessionKey::generate();
    let recipient = session.recipient();
    let now = Timestamp::now();
    let request = Draft {
        manifest: p.manifest,
        manifest_bytes: &manifest_bytes,
        ceremony: p.event,
        request_seq: p.request,
        ticket: p.ticket,
        reason: p.reason,
        custodian: name,
        presented,
        session_key: &recipient,
        certificates: &certificates,
        share_file: &share_file,
        created: now,
        lifetime: settings.lifetime,
    }
    .build();
    let bytes = request.to_bytes()?;
    let digest = Request::digest(&bytes);
    let expires = Timestamp::parse(&request.expires).unwrap_or(now);
    log.append(
        events::SHARE_REQUESTED,
        p.manifest.generation,
        log_data! {
            "custodian" => name, "request" => p.request, "request_digest" => crate::encoding::hex(&digest),
            "session_key" => sha256_hex(recipient.as_bytes()), "channel" => settings.channel.clone(),
            "expires" => request.expires.clone(), "remote" => true
        },
        By::Nobody,
    )?;
    let stem = if try_no == 1 {
        format!("{name}-{}", p.request)
    } else {
        format!("{name}-{}-try{try_no}", p.request)
    };
    let path = settings.dir.join(format!("{stem}.bgrequest"));
    let block = armor::encode(armor::Kind::Request, &bytes);
    let text_path = with_suffix(&path, ".txt");
    // The request is logged: a failure to write it is this try's outcome,
    // logged as such, not an error that leaves the request open.
    if let Err(e) = write(&path, &bytes).and_then(|()| write(&text_path, block.as_bytes())) {
        return reject(e.to_string(), &data);
    }
    let qr = ui.publish(&path, &block);
    let code = sas::code(&digest)?;
    ui.say(
        Level::Info,
        &format!(
            "Send {name} the request {} (or its text block {}{}). It expires at {}",
            path.display(),
            text_path.display(),
            if qr.is_empty() {
                String::new()
            } else {
                format!(", or the {} QR codes beside it", qr.len())
            },
            request.expires
        ),
    );
    ui.say(
        Level::Info,
        &format!("Call {name} on the number you know (never one given in a message); {name} types the code you read"),
    );
    ui.say(
        Level::Step,
        &format!("Read this code aloud to {name}: {code}"),
    );
    let answer = match ui.block(
        &format!("remote.{name}.response"),
        &format!("{name}'s response: paste its text block, or give the path of the response file"),
    ) {
        Ok(a) => a,
        Err(e @ UiError::Interrupted { .. }) => return Ok(Err(Refusal::Interrupted(e))),
        Err(e) => return reject(format!("no response was given: {e}"), &data),
    };
    let raw = if armor::has_block(&answer) {
        answer.into_bytes()
    } else {
        match arrival(Path::new(answer.trim()), expires.plus(GRACE_SECS), ui) {
            Ok(raw) => raw,
            Err(why) => return reject(why, &data),
        }
    };
    let arrived = Timestamp::now();
    let decoded = crate::remote::decode_any(armor::Kind::Response, &raw);
    let file = decoded.as_ref().map(|(b, _)| b.as_slice()).unwrap_or(&raw);
    data.insert("response".into(), sha256_hex(file).into());
    let checked = decoded
        .and_then(|(b, _)| Response::parse(&b))
        .and_then(|r| {
            let vault_id = p
                .manifest
                .vault_id_bytes()
                .map_err(|e| crate::remote::RemoteError::Refused(e.to_string()))?;
            r.check(
                &Expected {
                    digest: &digest,
                    vault_id: &p.manifest.vault_id,
                    vault_id_bytes: &vault_id,
                    generation: p.manifest.generation,
                    threshold: p.manifest.threshold,
                    record,
                    expires,
                    session: &session,
                },
                arrived,
            )
        });
    drop(session);
    match checked {
        Ok(accepted) => Ok(Ok(Presented {
            share: accepted.envelope.share,
            token: accepted.token,
            data,
        })),
        Err(e) => reject(e.to_string(), &data),
    }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsutil::replace_atomically(path, bytes)
        .map_err(Error::io("write the remote request", path))
}

/// Waits for the response file at `path` until `deadline`, then reads it
/// once it has stopped changing.
fn arrival(
    path: &Path,
    deadline: Timestamp,
    ui: &mut dyn Ui,
) -> std::result::Result<Vec<u8>, String> {
    let cap = crate::remote::MAX_FILE as u64;
    let read = || crate::fsutil::read_capped(path, cap + 1);
    let mut said = false;
    loop {
        if Timestamp::now().0 > deadline.0 {
            return Err(format!(
                "no complete response arrived at {} by {} (the file was missing, or kept changing)",
                path.display(),
                deadline.to_rfc3339()
            ));
        }
        match read() {
            Ok(first) => {
                std::thread::sleep(Duration::from_millis(100));
                match read() {
                    Ok(second) if second == first => return Ok(first),
                    Ok(_) => continue,
                    Err(e) => {
                        return Err(format!("cannot read the response {}: {e}", path.display()))
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !said {
                    ui.say(
                        Level::Info,
                        &format!("Waiting for the response at {}", path.display()),
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("cannot read the response {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relay rewriting the response file without pause cannot hold the
    /// ceremony past the deadline (it gives up, or reads a snapshot if the
    /// writer ever pauses, but it returns).
    #[test]
    fn a_response_file_that_keeps_changing_ends_the_wait_by_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reply");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, path) = (stop.clone(), path.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let tmp = path.with_extension(format!("p{}", i % 2));
                    if std::fs::write(&tmp, format!("garbage {i}\n")).is_ok() {
                        let _ = std::fs::rename(&tmp, &path);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        let started = std::time::Instant::now();
        let got = arrival(
            &path,
            Timestamp::now().plus(2),
            &mut crate::ui::Answers::default(),
        );
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(took < Duration::from_secs(5), "waited {took:?}");
        if let Err(why) = got {
            assert!(why.contains("kept changing"), "{why}");
        }
    }

    #[test]
    fn a_response_that_never_comes_is_named_with_its_path_and_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never");
        let why = arrival(
            &path,
            Timestamp::now().plus(1),
            &mut crate::ui::Answers::default(),
        )
        .unwrap_err();
        assert!(why.contains("never") && why.contains("by "), "{why}");
    }
}
