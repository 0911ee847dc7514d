//! Governance commands: `drill`, `review`, `status`, `report`, `log export`
//! and `log verify --receipt`. Arguments are validated here; the work is in
//! `breakglass::ceremony::{drill, review}` and `breakglass::governance`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use breakglass::ceremony::drill::{self, DrillOutcome};
use breakglass::ceremony::review::{self, ReviewTarget};
use breakglass::clock::Timestamp;
use breakglass::error::{Error, Result};
use breakglass::governance::{self, html, receipt, report, siem};
use breakglass::vault::Vault;

use super::out::{self, errln, outln};
use super::output::{print_receipt, receipt as receipt_string};

#[derive(Args)]
pub struct DrillArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Quorum drill: run the whole unseal path (shares, key, MACs, payload) and show nothing.
    #[arg(long)]
    quorum: bool,
    /// Custodian drill: the custodian whose share is checked. With --quorum: presentation order (repeatable).
    #[arg(long = "custodian", value_name = "NAME")]
    custodians: Vec<String>,
    /// A software custodian's identity file (repeatable).
    #[arg(long = "identity", value_name = "FILE")]
    identities: Vec<PathBuf>,
    /// Answers for every prompt, from a JSON file ('-' for stdin); see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    receipt: super::args::ReceiptArg,
}

pub fn run_drill(a: DrillArgs) -> Result<u8> {
    let (identities, order) = super::input::presenters(&a.identities, &a.custodians)?;
    let expect_receipt = a.receipt.parse()?;
    let outcome = if a.quorum {
        let mut ui = super::input::make_ui(a.answers.as_deref())?;
        drill::quorum_drill(
            drill::QuorumDrillOptions {
                dir: a.vault.clone(),
                quorum: breakglass::ceremony::quorum::QuorumInput {
                    identities,
                    order,
                    override_broken_log: None,
                    expect_receipt,
                },
            },
            ui.as_mut(),
        )?
    } else {
        let [custodian] = a.custodians.as_slice() else {
            return Err(Error::Usage(
                "give exactly one --custodian NAME for a custodian drill, or --quorum for a quorum drill".into(),
            ));
        };
        let mut ui = super::input::make_ui(a.answers.as_deref())?;
        drill::custodian_drill(
            drill::CustodianDrillOptions {
                dir: a.vault.clone(),
                custodian: custodian.clone(),
                identities,
                expect_receipt,
            },
            ui.as_mut(),
        )?
    };
    print_drill(&outcome, a.json)?;
    Ok(if outcome.ok { 0 } else { 1 })
}

fn print_drill(o: &DrillOutcome, json: bool) -> Result<()> {
    if json {
        return out::json(&json!({
            "kind": o.kind, "result": if o.ok { "ok" } else { "failed" }, "why": o.why,
            "custodians": o.custodians, "generation": o.generation,
            "signatures_verified": o.signatures_verified,
            "receipt": receipt_string(&o.vault_id, &o.receipt),
        }));
    }
    if o.ok {
        outln!(
            "drill OK ({}): {}",
            o.kind,
            match o.kind {
                "quorum" => format!(
                    "{} rebuilt the key of generation {}; certified key, {} log signatures and payload verified; nothing was shown",
                    o.custodians.join(" + "),
                    o.generation,
                    o.signatures_verified
                ),
                _ => format!(
                    "{}'s share opens and matches its commitment and binding (generation {}){}",
                    o.custodians.join(""),
                    o.generation,
                    if o.signatures_verified > 0 {
                        "; the drill entry is signed by the token"
                    } else {
                        "; the drill entry is NOT signed (no enrolled signing key): it does not count"
                    }
                ),
            }
        )?;
    } else {
        outln!(
            "drill FAILED ({}): {}",
            o.kind,
            o.why.as_deref().unwrap_or("")
        )?;
    }
    print_receipt(&o.vault_id, &o.receipt)
}

#[derive(Args)]
pub struct ReviewArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// The unseal reviewed: log sequence number of its `unseal-granted` entry.
    #[arg(long, conflicts_with = "ticket", required_unless_present = "ticket")]
    grant: Option<u64>,
    /// The unseal(s) reviewed: every unseal granted for this ticket.
    #[arg(long)]
    ticket: Option<String>,
    /// The review document (JSON or `key: value` text; '-' for stdin). Without it: prompts.
    #[arg(long = "from", value_name = "FILE", conflicts_with = "edit")]
    from: Option<PathBuf>,
    /// Write the review in an editor ($VISUAL, $EDITOR, else `editor`), on a template.
    #[arg(long)]
    edit: bool,
    /// The custodian who records the review and signs it with their token (required).
    #[arg(long = "custodian", value_name = "NAME")]
    custodian: String,
    /// That custodian's software identity file (else their YubiKey signs, or the path is asked).
    #[arg(long = "identity", value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Answers for the prompts, from a JSON file; see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    receipt: super::args::ReceiptArg,
}

pub fn run_review(a: ReviewArgs) -> Result<u8> {
    let target = match (a.grant, &a.ticket) {
        (Some(s), _) => ReviewTarget::Grant(s),
        (None, Some(t)) => ReviewTarget::Ticket(t.trim().to_owned()),
        (None, None) => return Err(Error::Usage("give --grant SEQ or --ticket ID".into())),
    };
    let mut ui = super::input::make_ui(a.answers.as_deref())?;
    let document = match &a.from {
        None if a.edit => Some(edit_review(&target, ui.as_mut())?),
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::io::stdin(), review::MAX_DOCUMENT as u64 + 1),
                &mut buf,
            )
            .map_err(|e| Error::Usage(format!("cannot read the review from stdin: {e}")))?;
            Some(buf)
        }
        Some(p) => Some(
            breakglass::fsutil::read_capped(p, review::MAX_DOCUMENT as u64 + 1).map_err(|e| {
                Error::Usage(format!("cannot read the review {}: {e}", p.display()))
            })?,
        ),
    };
    let (identities, _) = super::input::supplied_identities(a.identity.as_slice())?;
    let r = review::record(
        review::ReviewOptions {
            dir: a.vault.clone(),
            target,
            document,
            custodian: a.custodian.clone(),
            identities,
            expect_receipt: a.receipt.parse()?,
        },
        ui.as_mut(),
    )?;
    if a.json {
        out::json(
            &json!({"grants": r.grants, "ticket": r.ticket, "document_sha256": r.document_sha256,
                    "seq": r.receipt.seq, "receipt": receipt_string(&r.vault_id, &r.receipt)}),
        )?;
    } else {
        outln!(
            "review recorded for unseal {} (ticket {}); document sha256 {}",
            r.grants
                .iter()
                .map(|s| format!("#{s}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.ticket,
            r.document_sha256
        )?;
        print_receipt(&r.vault_id, &r.receipt)?;
    }
    Ok(0)
}

/// The template an editor opens for `review --edit`.
fn review_template(target: &ReviewTarget) -> String {
    let ticket = match target {
        ReviewTarget::Ticket(t) => t.clone(),
        ReviewTarget::Grant(_) => String::new(),
    };
    format!(
        "# Post-incident review (ceremonies/post-incident-review.md). Lines starting with #
# are ignored. Repeat a key for more items. All five parts are required:
# participants, timeline (UTC times, exact ones from `breakglass log show`), root cause,
# preventive measure(s), provider audit event id(s). Never write a credential here.
ticket: {ticket}
participants:
timeline: YYYY-MM-DDTHH:MM:SSZ what happened
root cause:
preventive measure:
provider event:
"
    )
}

/// Runs `$VISUAL`, `$EDITOR` or `editor` on a template until the review is
/// complete (or the author gives up); returns the document. The draft is not
/// secret (reviews never hold credentials); it lives in a fresh 0700
/// directory that is removed afterwards.
fn edit_review(target: &ReviewTarget, ui: &mut dyn breakglass::ui::Ui) -> Result<Vec<u8>> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "editor".into());
    // A fresh private directory (0700, random name, removed on drop).
    let dir = tempfile::Builder::new()
        .prefix("breakglass-review-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(Error::io(
            "create a draft directory in",
            &std::env::temp_dir(),
        ))?;
    let path = dir.path().join("review.txt");
    let result = (|| {
        breakglass::fsutil::write_new(&path, review_template(target).as_bytes())
            .map_err(|e| Error::Usage(format!("cannot write the review draft: {e}")))?;
        loop {
            // The editor command may carry arguments (`code --wait`): a shell splits it.
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status()
                .map_err(|e| Error::Usage(format!("cannot run the editor '{editor}': {e}")))?;
            if !status.success() {
                return Err(Error::Usage(format!(
                    "the editor '{editor}' failed ({status}); nothing was recorded (set $EDITOR to another editor)"
                )));
            }
            let bytes = breakglass::fsutil::read_capped(&path, review::MAX_DOCUMENT as u64 + 1)
                .map_err(|e| Error::Usage(format!("cannot read the review draft: {e}")))?;
            let problem = match review::parse_document(&bytes) {
                Ok(doc) => match doc.check() {
                    Ok(()) => return Ok(bytes),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if !ui.confirm(
                "review.edit-again",
                &format!("{problem}. Edit the review again?"),
            )? {
                return Err(problem);
            }
        }
    })();
    drop(dir);
    result
}

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
}

pub fn run_status(a: StatusArgs) -> Result<u8> {
    let vault = Vault::open_read_only(&a.vault)?;
    let receipt = a.receipt.parse()?;
    let s = governance::status(&vault, receipt.as_ref(), Timestamp::now())?;
    if a.json {
        out::json(&s.to_json())?;
        return Ok(s.exit_code());
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
    Ok(s.exit_code())
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
            let qr_svg = super::qr_svg::svg(&text)?;
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
    outln!(
        "targets: 100% reviewed, activation→reseal < 4h, 0 outside scenarios: {}",
        if r.targets_met() { "met" } else { "MISSED" }
    )?;
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
}

pub fn run_export(a: ExportArgs) -> Result<u8> {
    let format = siem::Format::parse(&a.format)?;
    let vault = Vault::open_read_only(&a.vault)?;
    let (manifest, _) = vault.read_manifest()?;
    let fingerprint = manifest.fingerprint();
    let export = |w: &mut dyn std::io::Write| {
        let head = Some(&manifest.log_head);
        siem::export(format, &fingerprint, &vault.log_path(), head, a.after, w)
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
        errln!("exported {written} entries");
    }
    if !report.is_intact() {
        errln!(
            "warning: the log does not verify past entry {}: {}",
            report.entries,
            report.explain()
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
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run_verify(a: VerifyArgs) -> Result<u8> {
    let Some(text) = &a.receipt else {
        return super::output::log_verify(&a.vault, a.json);
    };
    let r = receipt::Receipt::parse(text)?;
    let vault = Vault::open_read_only(&a.vault)?;
    let mut watch = receipt::Watch::new(r.clone());
    let h = breakglass::history::read(&vault, |e, _| watch.observe(e))?;
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
