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
//! | `quorum_mac` | boolean | the entry carries a quorum MAC (written with the key)|
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
use crate::log::{self, Entry, VerifyReport};
use crate::manifest::LogHead;

/// The export object of one entry.
pub fn export_value(e: &Entry) -> Value {
    json!({
        "seq": e.seq,
        "time": e.time.to_rfc3339(),
        "event": e.event,
        "generation": e.generation,
        "quorum_mac": e.mac.is_some(),
        "hash": e.hash,
        "prev": e.prev,
        "vault": e.vault,
        "data": e.data,
    })
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
    let report = log::verify(log_path, anchor, |e| {
        if failure.is_some() || e.seq <= after {
            return;
        }
        let line = export_value(e).to_string();
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
