//! `log verify`, `log show`, `log repair`: the audit log as an auditor reads
//! it (every entry's text escaped, `src/text.rs`), and the one repair the
//! tool makes (a torn last line), logged.

use std::path::Path;

use breakglass::error::{Error, Result};
use breakglass::log::trust::Authn;
use breakglass::log::{self, events};
use breakglass::vault::Vault;

use super::out::{self, errln, outln};
use super::output::{print_receipt_for, ReceiptFor};

/// How an entry is authenticated, for people: a short label.
pub fn auth_label(a: &Authn) -> String {
    match a {
        Authn::Quorum => "(quorum)".into(),
        Authn::Custodian { custodian, .. } => format!("(signed by {custodian})"),
        Authn::Unsigned => String::new(),
        Authn::Forged { .. } => "(FORGED)".into(),
        Authn::Legacy { mac: true } => "(format 1, quorum MAC)".into(),
        Authn::Legacy { mac: false } => "(format 1)".into(),
    }
}

/// The JSON spelling of the anchor check.
fn anchor_json(a: &log::AnchorStatus) -> serde_json::Value {
    use serde_json::json;
    match a {
        log::AnchorStatus::NotChecked => json!({"status": "not-checked"}),
        log::AnchorStatus::Present => json!({"status": "present"}),
        log::AnchorStatus::Truncated {
            anchor_seq,
            last_seq,
        } => json!({"status": "truncated", "anchor_seq": anchor_seq, "last_seq": last_seq}),
        log::AnchorStatus::Mismatch { anchor_seq } => {
            json!({"status": "mismatch", "anchor_seq": anchor_seq})
        }
    }
}

/// `log verify`: the chain, the anchor, every signature and the certified
/// generations, with no secret.
pub fn log_verify(dir: &Path, every_signature: bool, json: bool, qr_code: bool) -> Result<u8> {
    let vault = Vault::open_read_only(dir)?;
    let h = breakglass::history::read_with(&vault, every_signature, log::Reads::Chain, |_, _| {})?;
    let report = &h.report;
    let t = &report.trust;
    let ok = h.is_intact();
    let explanation = h.explain();
    if json {
        out::json(&serde_json::json!({
            "ok": ok,
            "entries": report.entries,
            "format": if h.manifest.is_v2() { 2 } else { 1 },
            "fingerprint": h.fingerprint(),
            "signatures": {
                "quorum": t.quorum_signed,
                "custodian": t.custodian_signed,
                "unsigned": t.unsigned,
                "format_1": t.legacy,
                "forged": t.forged_count,
                "last_signed_seq": t.last_signed_seq,
            },
            "forged": t.findings.iter().map(|f| serde_json::json!({"seq": f.seq, "event": f.event, "why": f.why})).collect::<Vec<_>>(),
            "certified_generations": t.certified_generations(),
            "generation": h.manifest.generation,
            "head": report.head.as_ref().map(|h| serde_json::json!({"seq": h.seq, "hash": h.hash})),
            "problem": report.problem.as_ref().map(|p| serde_json::json!({"line": p.line, "what": p.what})),
            "torn_tail": report.torn_tail.map(|(o, l)| serde_json::json!({"offset": o, "length": l})),
            "anchor": anchor_json(&report.anchor),
            "time_regressions": report.time_regressions.iter().map(|(seq, by)| serde_json::json!({"seq": seq, "by_secs": by})).collect::<Vec<_>>(),
            "explanation": if explanation.is_empty() { serde_json::Value::Null } else { explanation.clone().into() },
        }))?;
    } else if ok {
        if h.manifest.is_v2() {
            outln!(
                "log OK: {} entries; {} signed by a quorum, {} signed by a custodian, {} unsigned{}",
                report.entries,
                t.quorum_signed,
                t.custodian_signed,
                t.unsigned,
                if t.legacy > 0 {
                    format!(", {} format 1 history", t.legacy)
                } else {
                    String::new()
                }
            )?;
            outln!(
                "{} generations certified from vault fingerprint {} up to the current manifest (generation {})",
                t.certified_generations(),
                h.fingerprint(),
                h.manifest.generation
            )?;
            if let (Some(head), Some(last)) = (&report.head, t.last_signed_seq) {
                if head.seq > last {
                    outln!(
                        "{} entries after the last signed one (entry {last}): anyone with write access could have appended them",
                        head.seq - last
                    )?;
                }
            }
        } else {
            outln!(
                "log OK (format 1): {} entries, anchor of generation {} present; a quorum migrates the vault to format 2 (`breakglass migrate`)",
                report.entries,
                h.manifest.generation
            )?;
        }
        if let Some(head) = &report.head {
            print_receipt_for(&h.manifest.vault_id, head, ReceiptFor::Record, qr_code)?;
        }
        print_time_regressions(report)?;
    } else {
        outln!("log FAILED: {explanation}")?;
        for f in t.findings.iter().skip(1) {
            outln!("  {}", f.describe())?;
        }
        outln!("{} entries verified", report.entries)?;
    }
    Ok(if ok { 0 } else { 1 })
}

/// A warning (not a failure) for entries dated before their predecessor.
fn print_time_regressions(report: &log::VerifyReport) -> Result<()> {
    let Some((seq, by)) = report.time_regressions.first() else {
        return Ok(());
    };
    let more = report.time_regression_count.saturating_sub(1);
    outln!(
        "warning: entry {seq} is dated {by} s before the entry preceding it{}: a clock was set back or wrong when it was written (not a verification failure; check the clock of the machine used for ceremonies)",
        if more > 0 {
            format!(" (and {more} more entries go back in time)")
        } else {
            String::new()
        }
    )
}

pub fn log_show(dir: &Path, json: bool) -> Result<u8> {
    let vault = Vault::open_read_only(dir)?;
    // The first write error stops the output (the walk goes on: its report
    // decides the exit code when stdout merely went away). Lines are
    // gathered and written 64 KiB at a time, not one write per entry.
    let mut failed: Option<Error> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    // --json copies each entry's data as the line holds it (no map).
    let reads = if json {
        log::Reads::Chain
    } else {
        log::Reads::Data
    };
    let h = breakglass::history::read_with(&vault, false, reads, |e, a| {
        if failed.is_some() {
            return;
        }
        if json {
            breakglass::governance::export::write_jsonl(e, a, &mut buf);
        } else {
            let data: Vec<String> = e.data.iter().map(|(k, v)| format!("{k}={}", v)).collect();
            let line = format!(
                "{:>6} {} {:<9} {:<20} {}",
                e.seq,
                e.time.to_rfc3339(),
                a.as_str(),
                e.event,
                data.join(" ")
            );
            buf.extend_from_slice(breakglass::text::for_terminal(&line).as_bytes());
        }
        buf.push(b'\n');
        if buf.len() >= 1 << 16 {
            if let Err(err) = out::raw_bytes(&buf) {
                failed = Some(err);
            }
            buf.clear();
        }
    })?;
    if failed.is_none() {
        if let Err(err) = out::raw_bytes(&buf) {
            failed = Some(err);
        }
    }
    if let Some(err) = failed {
        return Err(err);
    }
    if !h.is_intact() {
        errln!(
            "warning: the vault does not verify ({} entries checked): {}",
            h.report.entries,
            h.explain()
        );
        return Ok(1);
    }
    Ok(0)
}

pub fn log_repair(dir: &Path, json: bool) -> Result<u8> {
    let vault = Vault::open(dir)?;
    let (manifest, _) = vault.read_manifest()?;
    let report = log::verify_only(&vault.log_path())?;
    if report.problem.is_some() {
        return Err(Error::LogBroken {
            explanation: format!(
                "{}; repair only removes a torn last line, it never edits entries",
                report.explain()
            ),
        });
    }
    let Some(repair) = log::truncate_torn_tail(&vault.log_path(), &report)? else {
        outln!("nothing to repair: the last line is complete")?;
        return Ok(0);
    };
    let (head, data) = match &repair {
        log::TailRepair::Removed { len, sha256 } => (
            report.head.clone(),
            breakglass::log_data! {"removed_bytes" => len, "removed_sha256" => sha256},
        ),
        log::TailRepair::RestoredNewline { head } => (
            Some(head.clone()),
            breakglass::log_data! {"restored_newline" => true, "restored_seq" => head.seq},
        ),
    };
    let mut l = log::Log::at_head(&vault.log_path(), &manifest.vault_id, head);
    let head = l.append(
        events::LOG_REPAIRED,
        manifest.generation,
        data,
        log::By::Nobody,
    )?;
    match (&repair, json) {
        (log::TailRepair::Removed { len, sha256 }, true) => out::json(
            &serde_json::json!({"removed_bytes": len, "removed_sha256": sha256, "seq": head.seq}),
        )?,
        (log::TailRepair::Removed { len, sha256 }, false) => outln!(
            "removed a torn last line of {len} bytes (sha256 {sha256}); recorded as entry {}",
            head.seq
        )?,
        (log::TailRepair::RestoredNewline { head: kept }, true) => out::json(
            &serde_json::json!({"restored_newline": true, "restored_seq": kept.seq, "seq": head.seq}),
        )?,
        (log::TailRepair::RestoredNewline { head: kept }, false) => outln!(
            "the last line was a complete entry ({}) missing only its newline: kept it and restored the newline; recorded as entry {}",
            kept.seq,
            head.seq
        )?,
    }
    Ok(0)
}
