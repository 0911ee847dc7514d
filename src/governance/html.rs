//! The auditor page (`breakglass report --html FILE`): one self-contained
//! HTML file — no scripts, no external assets, inline CSS and an inline SVG
//! timeline of unseals, reseals, reviews, drills and custodian changes (rekeys). Every piece of text
//! from the log (tickets, reasons, names) is escaped with [`escape`].

use std::fmt::Write as _;

use super::report::{MarkerKind, Quarter, Report};
use super::DEACTIVATION_TARGET_SECS;

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

fn row(out: &mut String, label: &str, q: &Quarter) {
    let bad = |b: bool| if b { " class=\"bad\"" } else { "" };
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{}</td><td{}>{} ({}/{})</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td></tr>",
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
    );
}

fn color(k: MarkerKind) -> (&'static str, f64) {
    match k {
        MarkerKind::Unseal => ("#c0392b", 30.0),
        MarkerKind::Reseal => ("#27ae60", 60.0),
        MarkerKind::Review => ("#2471a3", 90.0),
        MarkerKind::Drill => ("#7f8c8d", 120.0),
        MarkerKind::DrillFailed => ("#e67e22", 120.0),
        MarkerKind::Rekey => ("#8e44ad", 150.0),
    }
}

fn timeline(r: &Report) -> String {
    let mut svg = String::new();
    let (w, h, left, right) = (960.0, 190.0, 90.0, 20.0);
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"timeline\">"
    );
    for (label, y) in [
        ("unseal", 30.0),
        ("reseal", 60.0),
        ("review", 90.0),
        ("drill", 120.0),
        ("rekey", 150.0),
    ] {
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{label}</text><line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/>",
            y + 4.0,
            w - right
        );
    }
    let (Some(first), Some(last)) = (r.timeline.first(), r.timeline.last()) else {
        svg.push_str("<text x=\"90\" y=\"180\" font-size=\"12\">no events in range</text></svg>");
        return svg;
    };
    let t0 = r.from.map_or(first.time.0, |f| f.0.min(first.time.0));
    let t1 =
        r.to.map_or(last.time.0, |t| t.0.max(last.time.0))
            .max(t0 + 1);
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (w - left - right);
    for m in &r.timeline {
        let (c, y) = color(m.kind);
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill=\"{c}\"><title>{} #{} {} {}</title></circle>",
            x(m.time.0),
            m.kind.as_str(),
            m.seq,
            escape(&m.time.to_rfc3339()),
            escape(&m.label)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"182\" font-size=\"11\">{}</text><text x=\"{}\" y=\"182\" font-size=\"11\" text-anchor=\"end\">{}</text>\n</svg>",
        escape(&crate::clock::Timestamp(t0).to_rfc3339()),
        w - right,
        escape(&crate::clock::Timestamp(t1).to_rfc3339())
    );
    svg
}

/// Renders the self-contained auditor page.
pub fn render(r: &Report, vault_id: &str) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>breakglass report — vault {}</title>",
        escape(vault_id)
    );
    out.push_str(
        "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;font-size:14px}\
.bad{background:#f9d6d5}.ok{color:#1e8449}code{font-size:13px}</style>\n</head><body>\n",
    );
    let _ = write!(
        out,
        "<h1>breakglass — governance report</h1>\n<p>Vault <code>{}</code> · generated {} · range {} to {}</p>\n",
        escape(vault_id),
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
    out.push_str("<h2>Per quarter</h2>\n<table>\n<tr><th>quarter</th><th>activations</th><th>reviewed</th><th>mean to reseal</th><th>max to reseal</th><th>≥ 4 h</th><th>not resealed</th><th>outside scenarios</th><th>drills ok</th><th>drills failed</th></tr>\n");
    for (k, q) in &r.quarters {
        row(&mut out, k, q);
    }
    row(&mut out, "total", &r.total);
    out.push_str("</table>\n<h2>Timeline</h2>\n");
    out.push_str(&timeline(r));
    if r.timeline_dropped > 0 {
        let _ = write!(
            out,
            "\n<p>{} older events are not drawn.</p>",
            r.timeline_dropped
        );
    }
    out.push_str("\n<h2>Events</h2>\n<table>\n<tr><th>time</th><th>event</th><th>seq</th><th>detail</th></tr>\n");
    for m in &r.timeline {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.time.to_rfc3339()),
            m.kind.as_str(),
            m.seq,
            escape(&m.label)
        );
    }
    out.push_str("</table>\n<p>Every figure is recomputable from the audit log alone (<code>breakglass report --json</code>; log format in docs/log-format.md).</p>\n</body></html>\n");
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
