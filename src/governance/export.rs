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
//! problem (the caller reports it and exits 1). Streaming: one entry in
//! memory at a time.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::log::trust::Authn;
use crate::log::{self, Entry, VerifyReport};
use crate::manifest::LogHead;

/// The export object of one entry.
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

/// Writes every verified entry with `seq > after` as one JSON line to `out`.
/// Returns the verification report and the number of lines written.
pub fn export(
    log_path: &Path,
    anchor: Option<&LogHead>,
    after: u64,
    out: &mut dyn Write,
) -> Result<(VerifyReport, u64)> {
    let mut written = 0u64;
    let mut failure: Option<std::io::Error> = None;
    let report = log::verify(log_path, anchor, |e, a| {
        if failure.is_some() || e.seq <= after {
            return;
        }
        let line = export_value(e, a).to_string();
        match out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
        {
            Ok(()) => written += 1,
            Err(err) => failure = Some(err),
        }
    })?;
    if let Some(e) = failure {
        return Err(Error::Usage(format!("cannot write the export: {e}")));
    }
    out.flush()
        .map_err(|e| Error::Usage(format!("cannot write the export: {e}")))?;
    Ok((report, written))
}
