//! Governance commands: `status`, `report`, `log export` and `log verify`.
//! Arguments are validated here; the work is in `breakglass::governance`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use breakglass::clock::Timestamp;
use breakglass::error::{Error, Result};
use breakglass::governance::{self, html, receipt, report, siem};
use breakglass::vault::Vault;

use super::out::{self, errln, outln};

#[derive(Args)]
pub struct StatusArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    receipt: super::args::ReceiptArg,
    #[command(flatten)]
    incremental: super::args::IncrementalArg,
}

pub fn run_status(a: StatusArgs) -> Result<u8> {
    let vault = Vault::open_read_only(&a.vault)?;
    let receipt = a.receipt.parse()?;
    if receipt.is_some() && a.incremental.incremental {
        return Err(Error::Usage(
            "--expect-receipt is checked on the whole log: leave out --incremental".into(),
        ));
    }
    let cache = a.incremental.open(&a.vault)?;
    let now = Timestamp::now();
    let (s, inc) = match &cache {
        Some(c) => {
            let (s, inc) = governance::status_incremental(&vault, c, now)?;
            (s, Some(inc))
        }
        None => (governance::status(&vault, receipt.as_ref(), now)?, None),
    };
    if let Some(why) = inc.as_ref().and_then(|i| i.not_stored.as_ref()) {
        errln!("note: {why}");
    }
    // A lost entry is a failed check, as a receipt that does not hold.
    let code = s
        .exit_code()
        .max(u8::from(inc.as_ref().is_some_and(|i| i.lost.is_some())));
    if a.json {
        let mut j = s.to_json();
        if let (Some(i), Some(log)) = (&inc, j.get_mut("log").and_then(|l| l.as_object_mut())) {
            log.insert("incremental".into(), i.to_json());
        }
        out::json(&j)?;
        return Ok(code);
    }
    let names: Vec<&str> = s.custodians.iter().map(|c| c.name.as_str()).collect();
    outln!(
        "vault {} · generation {} · {} of {} custodians ({})",
        s.vault_id,
        s.generation,
        s.threshold,
        names.len(),
        names.join(", ")
    )?;
    outln!(
        "fingerprint    {} (compare with the paper copy)",
        s.fingerprint
    )?;
    if let Some(c) = s.created {
        outln!("created        {}", c.to_rfc3339())?;
    }
    match (&s.head, s.log_intact) {
        (Some(h), true) => outln!(
            "audit log      {} entries, verified; {} signed by a quorum, {} by a custodian; head {}:{}",
            s.log_entries,
            s.quorum_signed,
            s.custodian_signed,
            h.seq,
            &h.hash[..16]
        )?,
        _ if s.log_problem.is_empty() => outln!(
            "audit log      {} entries; NOT TRUSTED: governance entries below are forged or unsigned",
            s.log_entries
        )?,
        _ => outln!("audit log      DOES NOT VERIFY: {}", s.log_problem)?,
    }
    if let Some(i) = &inc {
        match &i.resumed_after {
            Some(h) => outln!(
                "incremental    read the entries after {} (cached); whole log last read {}",
                h.seq,
                i.fully_verified_at.to_rfc3339()
            )?,
            None => outln!("incremental    read the whole log (nothing cached fitted)")?,
        }
        if let Some(why) = i.explain_lost() {
            outln!("incremental    LOST: {why}")?;
        }
    }
    for f in &s.forged.entries {
        outln!(
            "FORGED         entry {} ({}) {}: it counts for nothing",
            f.seq,
            f.event,
            f.why
        )?;
    }
    if s.forged.count > s.forged.entries.len() as u64 {
        outln!(
            "FORGED         and {} more",
            s.forged.count - s.forged.entries.len() as u64
        )?;
    }
    match (&s.receipt, s.entries_after_receipt()) {
        (Some(r), _) if !r.holds => outln!("receipt        DOES NOT HOLD: {}", r.explanation)?,
        (Some(r), Some(n)) => outln!("receipt        entry {} holds; {n} entries after it", r.seq)?,
        (None, Some(n)) => outln!(
            "receipt        {n} entries after the last receipt a ceremony checked (--expect-receipt)"
        )?,
        _ => outln!(
            "receipt        none checked yet: give --expect-receipt with the last receipt from the ticket"
        )?,
    }
    if s.unsigned_after_last_signature > 0 {
        outln!(
            "unsigned tail  {} entries after the last signed one",
            s.unsigned_after_last_signature
        )?;
    }
    match s.last_rotation {
        Some((t, seq, _)) => outln!("last rotation  {} (entry {seq})", t.to_rfc3339())?,
        None => outln!("last rotation  never (no reseal yet)")?,
    }
    outln!("activations    {}", s.activations)?;
    let r = &s.remote;
    outln!(
        "remote         last 12 months: {}",
        r.last_12_months.describe()
    )?;
    outln!("remote         all time: {}", r.all_time.describe())?;
    for f in &r.ignored.entries {
        outln!("remote         entry {} ({}) {}", f.seq, f.event, f.why)?;
    }
    if r.ignored.count > r.ignored.entries.len() as u64 {
        outln!(
            "remote         and {} more entries not (fully) counted",
            r.ignored.count - r.ignored.entries.len() as u64
        )?;
    }
    for c in &s.custodians {
        match &c.last_drill {
            Some(d) => outln!(
                "drill          {:<12} last {} ({}, entry {})",
                c.name,
                d.time.to_rfc3339(),
                d.kind,
                d.seq
            )?,
            None => outln!("drill          {:<12} never", c.name)?,
        }
    }
    if s.open_sessions.is_empty() {
        outln!("open sessions  none")?;
    }
    for g in &s.open_sessions {
        outln!(
            "open session   unseal #{} ticket {} granted {} to {} (never ended: closed by a crash, or still running)",
            g.seq,
            g.ticket,
            g.time.to_rfc3339(),
            g.custodians.join(" + ")
        )?;
    }
    outln!("obligations:")?;
    for o in &s.obligations {
        outln!("  {}", o.describe())?;
    }
    let overdue = s.overdue().count();
    if overdue > 0 {
        outln!("{overdue} overdue")?;
    }
    Ok(code)
}

#[derive(Args)]
pub struct ReportArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// First day counted (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC).
    #[arg(long = "from", value_name = "DATE")]
    from: Option<String>,
    /// Last day counted, inclusive (YYYY-MM-DD), or an exclusive time (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long = "to", value_name = "DATE")]
    to: Option<String>,
    /// Documented scenarios file [default: VAULT/scenarios if present].
    #[arg(long, value_name = "FILE")]
    scenarios: Option<PathBuf>,
    /// Also write the self-contained auditor page to FILE (mode 0644: it holds no secret).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

fn date(s: &str, end: bool) -> Result<Timestamp> {
    let t = governance::parse_date(s)
        .map_err(|e| Error::Usage(format!("{e}; or give a day as YYYY-MM-DD")))?;
    Ok(if end && s.len() == 10 {
        t.plus(86_400)
    } else {
        t
    })
}

pub fn run_report(a: ReportArgs) -> Result<u8> {
    let from = a.from.as_deref().map(|s| date(s, false)).transpose()?;
    let to = a.to.as_deref().map(|s| date(s, true)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            return Err(Error::Usage("--to is before --from".into()));
        }
    }
    let vault = Vault::open_read_only(&a.vault)?;
    let (manifest, _) = vault.read_manifest()?;
    let default_scenarios = a.vault.join("scenarios");
    let scenarios = match &a.scenarios {
        Some(p) => Some(report::Scenarios::read(p)?),
        None if default_scenarios.is_file() => Some(report::Scenarios::read(&default_scenarios)?),
        None => None,
    };
    let r = report::report(&vault, from, to, scenarios, Timestamp::now())?;
    if let Some(p) = &a.html {
        use std::io::Write;
        let mut f = create_report_file(p, &a.vault)?;
        let receipt = r.head.as_ref().and_then(|h| {
            let text = super::output::receipt(&manifest.vault_id, h);
            let qr_svg = super::qr::svg(&text)?;
            Some(html::PageReceipt { text, qr_svg })
        });
        let page = html::render_page(&r, &manifest.vault_id, receipt.as_ref());
        f.write_all(page.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|source| Error::Output {
                what: p.display().to_string(),
                source,
            })?;
    }
    if a.json {
        out::json(&r.to_json(&manifest.vault_id))?;
    } else {
        print_report(&r, &manifest.vault_id)?;
        if let Some(p) = &a.html {
            outln!("auditor page written to {}", p.display())?;
        }
    }
    Ok(if r.log_intact { 0 } else { 1 })
}

fn print_report(r: &report::Report, vault_id: &str) -> Result<()> {
    outln!("vault {vault_id} · report generated {}", r.now.to_rfc3339())?;
    outln!("fingerprint {}", r.fingerprint)?;
    if !r.log_intact && !r.log_problem.is_empty() {
        outln!("WARNING: the audit log does not verify: {}", r.log_problem)?;
    }
    if r.time_regressions > 0 {
        outln!(
            "WARNING: {} entries are dated before the entry they follow (a clock set back); durations around them are counted as zero and the targets cannot be met",
            r.time_regressions
        )?;
    }
    if r.forged.count > 0 {
        outln!(
            "WARNING: {} governance entries are forged or unsigned and were not counted:",
            r.forged.count
        )?;
        for f in &r.forged.entries {
            outln!("  entry {} ({}) {}", f.seq, f.event, f.why)?;
        }
    }
    match &r.scenarios {
        Some(s) => outln!(
            "documented scenarios: {} (file sha256 {})",
            s.list
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            &s.sha256[..16]
        )?,
        None => outln!("documented scenarios: none given (outside-scenario activations not computed; see --scenarios)")?,
    }
    outln!(
        "{:<8} {:>5} {:>14} {:>9} {:>9} {:>5} {:>6} {:>8}  drills ok / failed",
        "quarter",
        "acts",
        "reviewed",
        "mean→rs",
        "max→rs",
        "≥4h",
        "open",
        "outside"
    )?;
    let dur = |v: Option<f64>| v.map_or("—".to_string(), |s| format!("{:.1}h", s / 3600.0));
    let map = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "—".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let rows = r
        .quarters
        .iter()
        .map(|(k, q)| (k.as_str(), q))
        .chain(std::iter::once(("total", &r.total)));
    for (k, q) in rows {
        outln!(
            "{:<8} {:>5} {:>14} {:>9} {:>9} {:>5} {:>6} {:>8}  {} / {}",
            k,
            q.activations,
            format!(
                "{}/{} {}",
                q.reviewed,
                q.activations,
                q.review_share()
                    .map_or("—".into(), |x| format!("{:.0}%", x * 100.0))
            ),
            dur(q.deactivation_mean_s()),
            dur((q.deactivated > 0).then_some(q.deactivation_max_s as f64)),
            q.over_target,
            q.not_deactivated,
            q.outside_scenarios.map_or("—".into(), |n| n.to_string()),
            map(&q.drills),
            map(&q.drills_failed)
        )?;
    }
    print_remote(r)?;
    outln!(
        "targets: 100% reviewed, activation→reseal < 4h, 0 outside scenarios: {}",
        if r.targets_met() { "met" } else { "MISSED" }
    )?;
    Ok(())
}

/// Remote presentations of the report: per quarter, then each entry that
/// lists remote custodians (from the timeline), then what was not counted.
fn print_remote(r: &report::Report) -> Result<()> {
    outln!("remote presentations (quorum-signed unseals, seals and drills only):")?;
    let rows = r
        .quarters
        .iter()
        .map(|(k, q)| (k.as_str(), q))
        .chain(std::iter::once(("total", &r.total)));
    for (k, q) in rows {
        outln!("  {k:<8} {}", q.remote.describe())?;
    }
    for m in r.timeline.iter().filter(|m| !m.detail.remote.is_empty()) {
        outln!(
            "  {} #{} {} {}: remote {}",
            m.kind.as_str(),
            m.seq,
            m.time.to_rfc3339(),
            m.label,
            m.detail.remote.join(", ")
        )?;
    }
    if r.remote_ignored.count > 0 {
        outln!(
            "WARNING: {} entries have a remote member that was not (fully) counted:",
            r.remote_ignored.count
        )?;
        for f in &r.remote_ignored.entries {
            outln!("  entry {} ({}) {}", f.seq, f.event, f.why)?;
        }
    }
    Ok(())
}

/// Mode of report and export files: readable by the auditor's and the log
/// shipper's accounts, since they hold nothing secret (the log never does);
/// writable only by their owner.
const REPORT_MODE: u32 = 0o644;

/// Creates (or truncates) a report or export file, with mode [`REPORT_MODE`]
/// at most: the umask applies on creation, and an existing file loses any
/// other bit (umask 000 made them 0666). Refused inside the vault
/// directory: `--out VAULT/log.jsonl` would truncate the log it exports.
fn create_report_file(p: &std::path::Path, vault: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |e: std::io::Error| Error::Usage(format!("cannot write {}: {e}", p.display()));
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if let (Ok(dir), Ok(vault)) = (parent.canonicalize(), vault.canonicalize()) {
        if dir.starts_with(&vault) {
            return Err(Error::Usage(format!(
                "{} is inside the vault directory; write reports and exports elsewhere (the vault holds only its own files)",
                p.display()
            )));
        }
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(REPORT_MODE)
        .open(p)
        .map_err(err)?;
    let mode = f.metadata().map_err(err)?.permissions().mode() & 0o7777;
    if mode & !REPORT_MODE != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(mode & REPORT_MODE))
            .map_err(err)?;
    }
    Ok(f)
}

#[derive(Args)]
pub struct ExportArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Only entries after this sequence number (incremental shipping).
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    after: u64,
    /// Write to FILE instead of stdout (mode 0644: the log holds no secret).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Line format: jsonl (our members), ecs (Elastic Common Schema 8.x) or
    /// ocsf (OCSF 1.1); fields in docs/governance.md.
    #[arg(long, value_name = "FORMAT", default_value = "jsonl",
          value_parser = clap::builder::PossibleValuesParser::new(siem::Format::NAMES))]
    format: String,
    #[command(flatten)]
    incremental: super::args::IncrementalArg,
}

pub fn run_export(a: ExportArgs) -> Result<u8> {
    let format = siem::Format::parse(&a.format)?;
    let vault = Vault::open_read_only(&a.vault)?;
    let cache = a.incremental.open(&a.vault)?;
    let (manifest, _) = vault.read_manifest()?;
    let fingerprint = manifest.fingerprint();
    let log = vault.log_path();
    let export = |w: &mut dyn std::io::Write| {
        let head = Some(&manifest.log_head);
        let mut run = |from: Option<&breakglass::log::Resume>| {
            siem::export_resuming(format, &fingerprint, &log, head, a.after, from, w)
        };
        match &cache {
            None => run(None).map(|x| (x.report, x.written)),
            Some(c) => {
                let (x, inc) = governance::export::incremental(c, &log, Timestamp::now(), run)?;
                match &inc.resumed_after {
                    Some(h) => errln!(
                        "incremental: read the entries after {} (cached); whole log last read {}",
                        h.seq,
                        inc.fully_verified_at.to_rfc3339()
                    ),
                    None => errln!("incremental: read the whole log (nothing cached fitted)"),
                }
                if let Some(why) = inc.not_stored {
                    errln!("note: {why}");
                }
                Ok((x.report, x.written))
            }
        }
    };
    // export() flushes and reports write errors; the sink names them as
    // output errors, and a reader that went away (EPIPE) stops the output
    // quietly (see out.rs).
    let exported = match &a.out {
        Some(p) => {
            let f = create_report_file(p, &a.vault)?;
            let mut w = std::io::BufWriter::new(out::Sink::new(f, p.display().to_string()));
            let r = export(&mut w);
            r.map_err(|e| w.get_mut().take_error().unwrap_or(e))
        }
        None => {
            let mut w = std::io::BufWriter::new(out::Sink::stdout());
            let r = export(&mut w);
            r.map_err(|e| w.get_mut().take_error().unwrap_or(e))
        }
    };
    let (report, written) = exported?;
    if !out::stdout_gone() {
        // (When the reader went away, `written` counts lines it never read.)
        let plural = if written == 1 { "entry" } else { "entries" };
        errln!("exported {written} {plural}");
    }
    if !report.is_intact() {
        errln!(
            "warning: the log does not verify past entry {}: {}",
            report.entries,
            report.explain()
        );
        return Ok(1);
    }
    if a.after > report.entries {
        // A shipper's last seq past the head: the log lost entries since.
        errln!(
            "warning: the log ends at entry {} but --after {} asks for what follows a later one: it was truncated, rolled back or replaced since that entry was exported (or --after is wrong); entries written since then reuse those numbers",
            report.entries,
            a.after
        );
        return Ok(1);
    }
    Ok(0)
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Also check that the log still contains this receipt's head
    /// (bg1:<vault>:<seq>:<hash>, or <seq>:<first 16+ hex digits of the hash>).
    #[arg(long, value_name = "RECEIPT")]
    receipt: Option<String>,
    /// Also draw the receipt of the log's head as a QR code (at a terminal),
    /// to photograph for the ticket.
    #[arg(long)]
    qr: bool,
    /// Check every signature here instead of taking a quorum checkpoint's
    /// word for those before it (slower; see SECURITY.md, "Checkpoints").
    #[arg(long)]
    every_signature: bool,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run_verify(a: VerifyArgs) -> Result<u8> {
    let Some(text) = &a.receipt else {
        return super::log::log_verify(&a.vault, a.every_signature, a.json, a.qr);
    };
    let r = receipt::Receipt::parse(text)?;
    let vault = Vault::open_read_only(&a.vault)?;
    let mut watch = receipt::Watch::new(r.clone());
    let h = breakglass::history::read_with(
        &vault,
        a.every_signature,
        breakglass::log::Reads::Chain,
        |e, _| watch.observe(e),
    )?;
    let check = watch.finish(&h.report);
    let intact = h.is_intact();
    let ok = check == receipt::ReceiptCheck::Present && intact;
    let t = &h.report.trust;
    if a.json {
        out::json(&json!({
            "ok": ok,
            "receipt": {"seq": r.seq, "present": check == receipt::ReceiptCheck::Present,
                        "explanation": check.explain(&r)},
            "entries": h.report.entries,
            "signatures": {"quorum": t.quorum_signed, "custodian": t.custodian_signed, "forged": t.forged_count},
            "intact": intact,
            "explanation": if intact { serde_json::Value::Null } else { h.explain().into() },
        }))?;
    } else {
        if check == receipt::ReceiptCheck::Present {
            outln!("receipt OK: {}", check.explain(&r))?;
            if let Some(head) = &h.report.head {
                outln!(
                    "{} entries after the receipt",
                    head.seq.saturating_sub(r.seq)
                )?;
            }
        } else {
            outln!("receipt FAILED: {}", check.explain(&r))?;
        }
        if intact {
            outln!(
                "log OK: {} entries, {} signed by a quorum, {} by a custodian",
                h.report.entries,
                t.quorum_signed,
                t.custodian_signed
            )?;
        } else {
            outln!("log FAILED: {}", h.explain())?;
        }
    }
    Ok(if ok { 0 } else { 1 })
}
