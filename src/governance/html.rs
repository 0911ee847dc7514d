//! The auditor page (`breakglass report --html FILE`): one self-contained
//! HTML file an auditor can print and sign — no scripts, no external
//! assets, inline CSS (with a print stylesheet) and an inline SVG timeline
//! of unseals, reseals, reviews, drills and custodian changes (rekeys), with
//! lanes, a legend, month ticks and same-day marks stacked (an `R` beside
//! marks whose quorum-signed entry lists remote custodians); the events
//! table with ticket, reason, custodians (remote ones marked) and flags; the vault fingerprint,
//! the log receipt (with its QR code, drawn by the caller) and a signature
//! block. The axis starts at the report range start, else at vault creation.
//!
//! Invariants: every piece of text from the log (tickets, reasons, names)
//! is escaped with [`escape`]; meaning is printed on the page (legend,
//! flags as words, shapes besides colours), never only in tooltips; the
//! only markup not made here is the receipt's QR SVG, which the caller
//! generates from the receipt text alone (hex digits, digits, `bg1:`).

use std::fmt::Write as _;

use super::chart::{axis, legend, timeline};
use super::report::{Marker, Quarter, Report};
use super::DEACTIVATION_TARGET_SECS;
use crate::clock::Timestamp;
use crate::manifest::LogHead;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0} %", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn dur(v: Option<f64>) -> String {
    v.map(|s| format!("{:.1} h", s / 3600.0))
        .unwrap_or_else(|| "—".into())
}

fn drills(m: &std::collections::BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "—".into();
    }
    m.iter()
        .map(|(k, v)| format!("{}: {v}", escape(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The remote presentations of a quarter: per custodian, then per kind.
fn remote_cell(t: &super::remote::RemoteTally) -> String {
    if t.by_custodian.is_empty() {
        return "—".into();
    }
    format!(
        "{} ({} unseals, {} seals, {} drills)",
        drills(&t.by_custodian),
        t.unseals,
        t.seals,
        t.drills
    )
}

fn row(out: &mut String, label: &str, q: &Quarter) {
    let bad = |b: bool| if b { " class=\"bad\"" } else { "" };
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{}</td><td{}>{} ({}/{})</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(label),
        q.activations,
        bad(q.reviewed < q.activations),
        pct(q.review_share()),
        q.reviewed,
        q.activations,
        dur(q.deactivation_mean_s()),
        dur((q.deactivated > 0).then_some(q.deactivation_max_s as f64)),
        bad(q.over_target > 0),
        q.over_target,
        q.not_deactivated,
        bad(q.outside_scenarios.unwrap_or(0) > 0),
        q.outside_scenarios
            .map(|n| n.to_string())
            .unwrap_or_else(|| "not configured".into()),
        drills(&q.drills),
        drills(&q.drills_failed),
        remote_cell(&q.remote),
    );
}

fn flags(m: &Marker) -> String {
    let d = &m.detail;
    let mut f = Vec::new();
    if d.unreviewed {
        f.push("not reviewed");
    }
    if d.not_resealed {
        f.push("not resealed");
    }
    if d.outside_scenarios {
        f.push("outside scenarios");
    }
    f.join(", ")
}

/// The custodians column: each name, `(remote)` after those who presented
/// remotely, and remote custodians the entry does not list otherwise (a
/// reseal lists nobody; a rekey its new roster).
fn custodians_cell(m: &Marker) -> String {
    let d = &m.detail;
    let mut cells: Vec<String> = d
        .custodians
        .iter()
        .map(|c| {
            if d.remote.contains(c) {
                format!("{} <b class=\"remote\">(remote)</b>", escape(c))
            } else {
                escape(c)
            }
        })
        .collect();
    let others: Vec<&str> = d
        .remote
        .iter()
        .filter(|r| !d.custodians.contains(r))
        .map(String::as_str)
        .collect();
    if !others.is_empty() {
        cells.push(format!(
            "<b class=\"remote\">remote:</b> {}",
            escape(&others.join(", "))
        ));
    }
    cells.join(", ")
}

fn events_table(out: &mut String, r: &Report) {
    out.push_str("<h2>Events</h2>\n<table class=\"events\">\n<thead><tr><th>time (UTC)</th><th>event</th><th>seq</th><th>ticket</th><th>reason</th><th>custodians</th><th>flags</th><th>detail</th></tr></thead>\n<tbody>\n");
    for m in &r.timeline {
        let _ = writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if m.detail.flagged() { " class=\"bad\"" } else { "" },
            escape(&m.time.to_rfc3339()),
            m.kind.as_str(),
            m.seq,
            escape(&m.detail.ticket),
            escape(&m.detail.reason),
            custodians_cell(m),
            flags(m),
            escape(&m.label)
        );
    }
    if r.timeline.is_empty() {
        out.push_str("<tr><td colspan=\"8\">no events in range</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// What the remote counts rest on, and the entries whose `remote` member
/// was not (fully) counted.
fn remote_note(out: &mut String, r: &Report) {
    out.push_str("<p>Remote presentations are counted from the <code>remote</code> member of quorum-signed unseals, seals and drills only (never from the unsigned share lines).</p>\n");
    if r.remote_ignored.count > 0 {
        let _ = writeln!(
            out,
            "<p class=\"bad\">{} entries have a <code>remote</code> member that was not (fully) counted:</p>\n<ul>",
            r.remote_ignored.count
        );
        for f in &r.remote_ignored.entries {
            let _ = writeln!(
                out,
                "<li>entry {} ({}) {}</li>",
                f.seq,
                escape(&f.event),
                escape(&f.why)
            );
        }
        out.push_str("</ul>\n");
    }
}

/// The receipt of the log head printed on the page, with its QR code.
#[derive(Debug, Clone)]
pub struct PageReceipt {
    /// The receipt (`bg1:<vault>:<seq>:<hash>`).
    pub text: String,
    /// The receipt as an inline SVG QR code (made by the caller from the
    /// receipt text; inserted as is).
    pub qr_svg: String,
}

fn attestation(out: &mut String, r: &Report, receipt: Option<&PageReceipt>) {
    out.push_str("<section class=\"sign\">\n<h2>Attestation</h2>\n<table>\n");
    let _ = writeln!(
        out,
        "<tr><th>vault fingerprint</th><td><code class=\"fpr\">{}</code> (compare with the paper copy kept since the setup)</td></tr>",
        escape(&r.fingerprint)
    );
    let head = |h: &LogHead| format!("seq {} <code>{}</code>", h.seq, escape(&h.hash));
    let _ = writeln!(
        out,
        "<tr><th>log head</th><td>{}</td></tr>",
        r.head.as_ref().map(head).unwrap_or_else(|| "none".into())
    );
    if let Some(p) = receipt {
        let _ = writeln!(
            out,
            "<tr><th>receipt</th><td><div class=\"qr\">{}</div><code>{}</code><br>check later with <code>breakglass log verify --receipt RECEIPT</code>: it fails if the log was truncated or rewritten past this page</td></tr>",
            p.qr_svg,
            escape(&p.text)
        );
    }
    out.push_str("</table>\n<p>I have compared the vault fingerprint above with the paper copy and checked the figures of this report against the audit log.</p>\n<table class=\"signature\">\n<tr><th>auditor (name, role)</th><td></td></tr>\n<tr><th>date</th><td></td></tr>\n<tr><th>signature</th><td></td></tr>\n</table>\n</section>\n");
}

const STYLE: &str = "<style>\n\
body{font-family:sans-serif;margin:2em;color:#222}\n\
table{border-collapse:collapse;margin:0.5em 0}\n\
th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}\n\
.bad{background:#f9d6d5}.ok{color:#1e8449}code{font-size:12px;word-break:break-all}\n\
svg.timeline{width:100%;height:auto;display:block}\n\
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:0.3em 1.5em;font-size:13px}\n\
ul.legend svg{vertical-align:middle}\n\
.qr svg{width:38mm;height:38mm;display:block;margin-bottom:4px;shape-rendering:crispEdges}\n\
.fpr{font-size:15px;font-weight:bold}\n\
table.signature td{width:24em;height:2.4em}\n\
@media print{\n\
@page{size:A4 landscape;margin:12mm}\n\
body{margin:0;font-size:10pt;color:#000}\n\
th,td{font-size:9pt;padding:2px 5px}\n\
.bad{background:none;font-weight:bold}\n\
thead{display:table-header-group}\n\
tr,svg.timeline,ul.legend,.sign{break-inside:avoid;page-break-inside:avoid}\n\
h2{break-after:avoid;page-break-after:avoid}\n\
.sign{break-before:page;page-break-before:always}\n\
}\n\
</style>\n";

/// Renders the self-contained auditor page, without a receipt QR code.
pub fn render(r: &Report, vault_id: &str) -> String {
    render_page(r, vault_id, None)
}

/// Renders the self-contained auditor page; `receipt` adds the log
/// receipt and its QR code to the attestation block.
pub fn render_page(r: &Report, vault_id: &str, receipt: Option<&PageReceipt>) -> String {
    let mut out = String::with_capacity(32 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>breakglass report — vault {}</title>",
        escape(vault_id)
    );
    out.push_str(STYLE);
    out.push_str("</head><body>\n");
    let _ = write!(
        out,
        "<h1>breakglass — governance report</h1>\n<p>Vault <code>{}</code>, fingerprint <code>{}</code> · generated {} · range {} to {}</p>\n",
        escape(vault_id),
        escape(&r.fingerprint),
        escape(&r.now.to_rfc3339()),
        r.from
            .map(|t| escape(&t.to_rfc3339()))
            .unwrap_or_else(|| "start of log".into()),
        r.to.map(|t| escape(&t.to_rfc3339()))
            .unwrap_or_else(|| "end of log".into()),
    );
    let _ = writeln!(
        out,
        "<p>Audit log: {} entries, {}; head {}.</p>",
        r.log_entries,
        if r.log_intact {
            "<span class=\"ok\">verified</span>".to_string()
        } else {
            format!(
                "<b class=\"bad\">DOES NOT VERIFY: {}</b>",
                escape(&r.log_problem)
            )
        },
        r.head
            .as_ref()
            .map(|h| format!("seq {} <code>{}</code>", h.seq, escape(&h.hash)))
            .unwrap_or_else(|| "none".into()),
    );
    let _ = writeln!(
        out,
        "<p>Targets: every activation reviewed (100 %); activation → reseal under {} h; no activation outside documented scenarios. {}</p>",
        DEACTIVATION_TARGET_SECS / 3600,
        if r.targets_met() {
            "<span class=\"ok\">All targets met.</span>"
        } else {
            "<b>Some targets are missed (highlighted).</b>"
        }
    );
    match &r.scenarios {
        Some(s) => {
            let _ = writeln!(
                out,
                "<p>Documented scenarios (file SHA-256 <code>{}</code>): {}</p>",
                escape(&s.sha256),
                s.list
                    .iter()
                    .map(|(t, d)| format!("<code>{}</code> {}", escape(t), escape(d)))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        None => out.push_str("<p>No scenario list was given: activations outside documented scenarios are not computed.</p>\n"),
    }
    out.push_str("<h2>Per quarter</h2>\n<table>\n<tr><th>quarter</th><th>activations</th><th>reviewed</th><th>mean to reseal</th><th>max to reseal</th><th>≥ 4 h</th><th>not resealed</th><th>outside scenarios</th><th>drills ok</th><th>drills failed</th><th>remote presentations</th></tr>\n");
    for (k, q) in &r.quarters {
        row(&mut out, k, q);
    }
    row(&mut out, "total", &r.total);
    out.push_str("</table>\n");
    remote_note(&mut out, r);
    out.push_str("<h2>Timeline</h2>\n");
    out.push_str(&timeline(r));
    let (t0, t1) = axis(r);
    let _ = writeln!(
        out,
        "<p>Axis from {} ({}) to {} ({}); ticks at month starts, years in bold.</p>",
        escape(&Timestamp(t0).to_rfc3339()),
        if r.from.is_some() {
            "range start"
        } else if r.created.is_some() {
            "vault creation"
        } else {
            "first event"
        },
        escape(&Timestamp(t1).to_rfc3339()),
        if r.to.is_some() {
            "range end"
        } else {
            "report time"
        },
    );
    out.push_str(&legend());
    if r.timeline_dropped > 0 {
        let _ = write!(
            out,
            "\n<p>{} older events are not drawn.</p>",
            r.timeline_dropped
        );
    }
    events_table(&mut out, r);
    attestation(&mut out, r, receipt);
    out.push_str("<p>Every figure is recomputable from the audit log alone (<code>breakglass report --json</code>; log format in <code>docs/formats.md</code>, governance rules in <code>docs/governance.md</code>).</p>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
