//! `breakglass log export`: the verified log as JSON Lines for a SIEM.
//!
//! One JSON object per line, members (stable, documented in
//! `docs/governance.md`):
//!
//! | member       | type    | meaning                                             |
//! |--------------|---------|-----------------------------------------------------|
//! | `seq`        | integer | sequence number, from 1                             |
//! | `time`       | string  | RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`)               |
//! | `event`      | string  | event type (`unseal-granted`, `drill`, …)           |
//! | `generation` | integer | vault generation current when written               |
//! | `auth`       | string  | who wrote it, as verified: `quorum`, `custodian`, `unsigned`, `forged`, `format-1-mac`, `format-1` |
//! | `signer`     | string  | the custodian whose token signed it (`auth: custodian`), else absent |
//! | `hash`       | string  | the entry's SHA-256 (hex), as in the log            |
//! | `prev`       | string  | the previous entry's hash                           |
//! | `vault`      | string  | vault id (hex)                                      |
//! | `data`       | object  | event data, as logged (never secrets)               |
//!
//! Only entries that verified are exported; the export stops at the first
//! problem (the caller reports it and exits 1). Streaming: one pass over
//! the log, output written in chunks of 64 KiB; memory does not grow with
//! the log.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::log::trust::Authn;
use crate::log::{self, Entry, Reads, VerifyReport};
use crate::manifest::LogHead;

/// How one verified entry becomes one exported line: the mapping of an
/// export format, kept apart from the pass over the log ([`export_with`])
/// so another format (a SIEM's schema) is one more function of this type.
/// It appends the line, without its `\n`, to `out`.
pub type Mapping = fn(&Entry, &Authn, &mut Vec<u8>);

/// The export object of one entry, as a value (for callers that embed it;
/// [`write_jsonl`] writes the same bytes without building it).
pub fn export_value(e: &Entry, a: &Authn) -> Value {
    let mut v = json!({
        "seq": e.seq,
        "time": e.time.to_rfc3339(),
        "event": e.event,
        "generation": e.generation,
        "auth": a.as_str(),
        "hash": e.hash,
        "prev": e.prev,
        "vault": e.vault,
        "data": e.data,
    });
    if let (Authn::Custodian { custodian, .. }, Some(o)) = (a, v.as_object_mut()) {
        o.insert("signer".into(), custodian.clone().into());
    }
    v
}

/// The JSON Lines mapping: exactly `export_value(e, a).to_string()`,
/// written member by member (sorted keys, serde_json's escaping) without
/// building a value per entry.
pub fn write_jsonl(e: &Entry, a: &Authn, out: &mut Vec<u8>) {
    fn string(out: &mut Vec<u8>, s: &str) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
    fn member(out: &mut Vec<u8>, key: &str) {
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }
    let number = |out: &mut Vec<u8>, n: u64| {
        use std::io::Write as _;
        let _ = write!(out, "{n}");
    };
    out.push(b'{');
    member(out, "auth");
    string(out, a.as_str());
    member(out, "data");
    // The canonical text as the line holds it: the same bytes serde_json
    // writes for the map (`log::Data`), without reading it into one.
    e.data.write_json(out);
    member(out, "event");
    string(out, &e.event);
    member(out, "generation");
    number(out, e.generation);
    member(out, "hash");
    string(out, &e.hash);
    member(out, "prev");
    string(out, &e.prev);
    member(out, "seq");
    number(out, e.seq);
    if let Authn::Custodian { custodian, .. } = a {
        member(out, "signer");
        string(out, custodian);
    }
    member(out, "time");
    string(out, &e.time.to_rfc3339());
    member(out, "vault");
    string(out, &e.vault);
    out.push(b'}');
}

/// Writes every verified entry with `seq > after` as one JSON line to `out`.
/// Returns the verification report and the number of lines written.
pub fn export(
    log_path: &Path,
    anchor: Option<&LogHead>,
    after: u64,
    out: &mut dyn Write,
) -> Result<(VerifyReport, u64)> {
    let x = export_with(
        log_path,
        anchor,
        after,
        None,
        Reads::Chain,
        write_jsonl,
        out,
    )?;
    Ok((x.report, x.written))
}

/// What an export did.
pub struct Exported {
    /// The verification of the whole log.
    pub report: VerifyReport,
    /// Lines written.
    pub written: u64,
    /// The state at the end, to resume from ([`log::Resume`]).
    pub resume: Option<log::Resume>,
    /// The head of the prefix it resumed after (None: read from the start).
    pub resumed_after: Option<LogHead>,
}

/// Bytes gathered before one write to the output.
const CHUNK: usize = 1 << 16;

/// [`export`] in the format of `map` (a [`Mapping`], or a closure holding
/// what a format adds to every line, such as the vault fingerprint): one
/// pass over the log, entries gathered into chunks of about 64 KiB, one
/// write each. With `from` (whose head must be at or before `after`, or it
/// is not used), the verification resumes after that prefix when it still
/// fits the log ([`log::verify_resuming`]). `reads` says what `map` reads
/// ([`log::Reads`]: [`write_jsonl`] reads no data).
pub fn export_with(
    log_path: &Path,
    anchor: Option<&LogHead>,
    after: u64,
    from: Option<&log::Resume>,
    reads: Reads,
    mut map: impl FnMut(&Entry, &Authn, &mut Vec<u8>),
    out: &mut dyn Write,
) -> Result<Exported> {
    // Entries in a skipped prefix must all be at or before `after`.
    let from = from.filter(|r| r.head().is_some_and(|h| h.seq <= after));
    let mut written = 0u64;
    let mut failure: Option<std::io::Error> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let r = log::verify_resuming(log_path, anchor, from, reads, |e, a| {
        if failure.is_some() || e.seq <= after {
            return;
        }
        map(e, a, &mut buf);
        buf.push(b'\n');
        written += 1;
        if buf.len() >= CHUNK {
            if let Err(err) = out.write_all(&buf) {
                failure = Some(err);
            }
            buf.clear();
        }
    })?;
    if failure.is_none() && !buf.is_empty() {
        if let Err(err) = out.write_all(&buf) {
            failure = Some(err);
        }
    }
    if let Some(e) = failure {
        return Err(Error::Usage(format!("cannot write the export: {e}")));
    }
    out.flush()
        .map_err(|e| Error::Usage(format!("cannot write the export: {e}")))?;
    Ok(Exported {
        report: r.report,
        written,
        resume: r.resume,
        resumed_after: r.resumed_after,
    })
}

/// What `log export --incremental` keeps between runs.
#[derive(serde::Serialize, serde::Deserialize)]
struct Warm {
    resume: log::Resume,
    /// When the log was last read from the first byte.
    full_at: Timestamp,
    /// When this was stored.
    at: Timestamp,
}

/// The cache's name for what `log export --incremental` keeps.
pub(super) const PURPOSE: &str = "export";

/// An export that goes on from the state the last incremental export of
/// this log left in `cache` (when `after` is at or past its head, it still
/// fits the log, and the log was read from the first byte less than
/// [`super::FULL_CHECK_EVERY_SECS`] ago), and leaves the state at the end
/// there. `run` is the export ([`export_with`], or a format's), given the
/// state to resume from. Same output as without the cache.
pub fn incremental(
    cache: &crate::cache::Cache,
    log_path: &Path,
    now: Timestamp,
    run: impl FnOnce(Option<&log::Resume>) -> Result<Exported>,
) -> Result<(Exported, super::Incremental)> {
    let log = std::fs::canonicalize(log_path).unwrap_or_else(|_| log_path.to_owned());
    let warm = cache
        .load::<Warm>(PURPOSE, &log)
        .filter(|w| super::status::may_resume(w.full_at, w.at, now));
    let x = run(warm.as_ref().map(|w| &w.resume))?;
    let full_at = match (&x.resumed_after, &warm) {
        (Some(_), Some(w)) => w.full_at,
        _ => now,
    };
    // A log that does not verify leaves nothing to go on from.
    let stored = match x.resume.as_ref().filter(|_| x.report.is_intact()) {
        Some(resume) => {
            let w = Warm {
                resume: resume.clone(),
                full_at,
                at: now,
            };
            cache.store(PURPOSE, &log, &w)
        }
        None => super::status::forget_all(cache, &log),
    };
    let not_stored = stored.err().map(|e| {
        format!(
            "cannot update the cache in {}: {e} (the next --incremental export reads the whole log)",
            cache.dir().display()
        )
    });
    let inc = super::Incremental {
        resumed_after: x.resumed_after.clone(),
        fully_verified_at: full_at,
        not_stored,
        lost: None,
        file: cache.path(PURPOSE, &log),
    };
    Ok((x, inc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::log::{Seal, Signer};

    /// The streaming writer gives the bytes of the value it replaces.
    #[test]
    fn write_jsonl_is_export_value_to_string() {
        let mut data = serde_json::Map::new();
        data.insert("reason".into(), "a \"quoted\" \\ \n\u{1} é".into());
        data.insert("list".into(), json!([1, {"b": null, "a": true}]));
        let e = Entry {
            seq: 42,
            time: Timestamp(1_800_000_000),
            event: "drill".into(),
            generation: 3,
            vault: "ab".repeat(16),
            data: data.into(),
            prev: "0".repeat(64),
            hash: "f".repeat(64),
            seal: Seal::Signed {
                by: Signer::Quorum,
                value: vec![1; 64],
            },
        };
        for a in [
            Authn::Quorum,
            Authn::Unsigned,
            Authn::Custodian {
                custodian: "alice".into(),
                token: "t".into(),
            },
            Authn::Forged { why: "x".into() },
        ] {
            let mut out = b"previous line\n".to_vec();
            write_jsonl(&e, &a, &mut out);
            let want = format!("previous line\n{}", export_value(&e, &a));
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
