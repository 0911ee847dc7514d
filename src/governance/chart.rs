//! The auditor page's timeline (`report --html`): an inline SVG with one
//! lane per kind of mark (unseals, reseals, reviews, drills, rekeys), a
//! shape per kind besides its colour (it reads in black and white), month
//! ticks, same-day marks stacked, a bold `R` beside a mark whose entry lists
//! remote custodians, and the legend under it. Drawn by
//! [`super::html`] from the report's markers ([`super::timeline`]).
//!
//! Invariant: text from the log (labels, names) is escaped with
//! [`super::html::escape`]; meaning is also printed (legend, events table),
//! never only in tooltips.

use std::fmt::Write as _;

use super::html::escape;
use super::report::{Marker, MarkerKind, Report};
use crate::clock::Timestamp;

/// Colour, lane and legend text of a kind of mark.
fn style(k: MarkerKind) -> (&'static str, usize, &'static str) {
    match k {
        MarkerKind::Unseal => ("#c0392b", 0, "activation: an unseal was granted"),
        MarkerKind::Reseal => ("#1e8449", 1, "reseal: credentials rotated, old shares void"),
        MarkerKind::Review => ("#2471a3", 2, "post-incident review recorded"),
        MarkerKind::Drill => ("#555555", 3, "drill passed"),
        MarkerKind::DrillFailed => ("#d35400", 3, "drill failed (hollow)"),
        MarkerKind::Rekey => ("#8e44ad", 4, "custodians or threshold changed (rekey)"),
    }
}

/// Lane names, top to bottom.
const LANES: [&str; 5] = ["unseals", "reseals", "reviews", "drills", "rekeys"];
const KINDS: [MarkerKind; 6] = [
    MarkerKind::Unseal,
    MarkerKind::Reseal,
    MarkerKind::Review,
    MarkerKind::Drill,
    MarkerKind::DrillFailed,
    MarkerKind::Rekey,
];

/// Geometry of the timeline (SVG user units; the SVG scales to the page).
const W: f64 = 1000.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 8.0;
const LANE_H: f64 = 40.0;
/// Marks drawn in one stack; more are counted as `+N`.
const STACK: usize = 4;
/// Vertical distance of stacked marks, and the closest two stacks get.
const STEP: f64 = 10.0;
const MIN_GAP: f64 = 12.0;

/// One mark's shape centred at (x, y): a shape per kind, so that the page
/// reads in black and white; flagged activations get a ring.
fn shape(k: MarkerKind, x: f64, y: f64, flagged: bool) -> String {
    let (c, _, _) = style(k);
    let mut s = match k {
        MarkerKind::Unseal => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.6\" fill=\"{c}\"/>"),
        MarkerKind::Reseal => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\" fill=\"{c}\"/>",
            x - 3.5,
            y - 3.5
        ),
        MarkerKind::Review => format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}\" fill=\"{c}\"/>",
            y - 4.2,
            x + 4.2,
            y + 4.2,
            x - 4.2
        ),
        MarkerKind::Drill | MarkerKind::DrillFailed => {
            let fill = if k == MarkerKind::Drill { c } else { "#ffffff" };
            format!(
                "<polygon points=\"{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{fill}\" stroke=\"{c}\" stroke-width=\"1.5\"/>",
                y - 4.0,
                x + 4.0,
                y + 3.2,
                x - 4.0,
                y + 3.2
            )
        }
        MarkerKind::Rekey => format!(
            "<path d=\"M{:.1} {y:.1}h8M{x:.1} {:.1}v8\" stroke=\"{c}\" stroke-width=\"2.5\"/>",
            x - 4.0,
            y - 4.0
        ),
    };
    if flagged {
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5.4\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1.2\"/>"
        );
    }
    s
}

/// The mark beside a mark at (x, y) whose entry lists remote custodians:
/// a bold `R` (it prints in black and white; the events table names them).
fn remote_mark(x: f64, y: f64) -> String {
    format!(
        "<text class=\"remote\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" font-weight=\"bold\">R</text>",
        x + 5.5,
        y - 1.0
    )
}

/// The first day of the month of `t` and its (year, month).
fn month_of(t: Timestamp) -> (i64, i64) {
    let s = t.to_rfc3339();
    let y = s.get(0..4).and_then(|v| v.parse().ok()).unwrap_or(1970);
    let m = s.get(5..7).and_then(|v| v.parse().ok()).unwrap_or(1);
    (y, m)
}

fn month_start(y: i64, m: i64) -> Option<Timestamp> {
    Timestamp::parse(&format!("{y:04}-{m:02}-01T00:00:00Z")).ok()
}

/// Axis range: from the report range start, else vault creation, else the
/// first mark; to the range end, else the report time (never before a mark).
pub(super) fn axis(r: &Report) -> (i64, i64) {
    let first = r.timeline.first().map(|m| m.time.0);
    let last = r.timeline.last().map(|m| m.time.0);
    let t0 = r
        .from
        .or(r.created)
        .map(|t| t.0)
        .or(first)
        .unwrap_or(r.now.0);
    let t0 = first.map_or(t0, |f| t0.min(f));
    let t1 = r.to.map_or(r.now.0, |t| t.0);
    let t1 = last.map_or(t1, |l| t1.max(l)).max(t0 + 86_400);
    (t0, t1)
}

fn ticks(svg: &mut String, t0: i64, t1: i64, x: &dyn Fn(i64) -> f64, y_axis: f64) {
    let (y0, m0) = month_of(Timestamp(t0));
    let (y1, m1) = month_of(Timestamp(t1));
    let months = (y1 - y0) * 12 + (m1 - m0) + 1;
    let per_month = (W - LEFT - RIGHT) / months.max(1) as f64;
    let step = [1, 2, 3, 6, 12, 24, 60, 120]
        .into_iter()
        .find(|s| *s as f64 * per_month >= 46.0)
        .unwrap_or(240);
    for i in 0..=months {
        let (y, m) = (y0 + (m0 - 1 + i) / 12, (m0 - 1 + i) % 12 + 1);
        let Some(t) = month_start(y, m).map(|t| t.0) else {
            continue;
        };
        if t < t0 || t > t1 {
            continue;
        }
        let xt = x(t);
        let major = m == 1;
        let _ = writeln!(
            svg,
            "<line x1=\"{xt:.1}\" x2=\"{xt:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{}\"/>",
            y_axis + if major { 6.0 } else { 3.0 },
            if major { "#999999" } else { "#dddddd" },
            if major { 1.0 } else { 0.6 }
        );
        let index = (y - y0) * 12 + m - m0;
        if index % step == 0 || (major && step <= 12) {
            let label = if major || step >= 12 {
                format!("{y}")
            } else {
                format!("{y}-{m:02}")
            };
            let _ = writeln!(
                svg,
                "<text x=\"{xt:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\"{}>{label}</text>",
                y_axis + 17.0,
                if major { " font-weight=\"bold\"" } else { "" }
            );
        }
    }
}

/// The SVG timeline: one lane per kind, month ticks, same-day marks
/// stacked (and marks closer than a mark's width merged into one stack).
pub(super) fn timeline(r: &Report) -> String {
    let y_axis = TOP + LANE_H * LANES.len() as f64;
    let h = y_axis + 26.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"timeline of the events listed below (R: a custodian presented remotely)\">"
    );
    for (i, name) in LANES.iter().enumerate() {
        let y = TOP + LANE_H * i as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"{LANE_H}\" fill=\"{}\"/><text x=\"4\" y=\"{:.1}\" font-size=\"12\">{name}</text>",
            W - LEFT - RIGHT,
            if i % 2 == 0 { "#f6f6f6" } else { "#ffffff" },
            y + LANE_H / 2.0 + 4.0
        );
    }
    let (t0, t1) = axis(r);
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    ticks(&mut svg, t0, t1, &x, y_axis);
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y_axis}\" y2=\"{y_axis}\" stroke=\"#333333\"/>",
        W - RIGHT
    );
    for lane in 0..LANES.len() {
        // Stacks: same day, or closer than MIN_GAP to the previous stack.
        let mut stacks: Vec<(f64, i64, Vec<&Marker>)> = Vec::new();
        for m in r.timeline.iter().filter(|m| style(m.kind).1 == lane) {
            let (mx, day) = (x(m.time.0), m.time.0.div_euclid(86_400));
            match stacks.last_mut() {
                Some((sx, d, list)) if *d == day || mx - *sx < MIN_GAP => {
                    *d = day;
                    list.push(m);
                }
                _ => stacks.push((mx, day, vec![m])),
            }
        }
        let base = TOP + LANE_H * (lane + 1) as f64 - 7.0;
        for (sx, _, list) in &stacks {
            let shown = if list.len() > STACK {
                STACK - 1
            } else {
                list.len()
            };
            for (j, m) in list.iter().take(shown).enumerate() {
                let y = base - STEP * j as f64;
                let (remote, r_mark) = match m.detail.remote.as_slice() {
                    [] => (String::new(), String::new()),
                    names => (
                        format!(" (remote: {})", escape(&names.join(", "))),
                        remote_mark(*sx, y),
                    ),
                };
                let _ = writeln!(
                    svg,
                    "<g><title>#{} {} {} {}{remote}</title>{}{r_mark}</g>",
                    m.seq,
                    m.kind.as_str(),
                    escape(&m.time.to_rfc3339()),
                    escape(&m.label),
                    shape(m.kind, *sx, y, m.detail.flagged())
                );
            }
            if list.len() > STACK {
                let _ = writeln!(
                    svg,
                    "<text x=\"{sx:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">+{}</text>",
                    base - STEP * shown as f64 + 3.0,
                    list.len() - shown
                );
            }
        }
    }
    if r.timeline.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">no events in range</text>",
            (LEFT + W - RIGHT) / 2.0,
            TOP + LANE_H * 2.5
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The legend, as HTML (so it prints and reads without hovering).
pub(super) fn legend() -> String {
    let mut out = String::from("<ul class=\"legend\">\n");
    for k in KINDS {
        let _ = writeln!(
            out,
            "<li><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"16\" viewBox=\"-8 -8 16 16\" aria-hidden=\"true\">{}</svg> {}</li>",
            shape(k, 0.0, 0.0, false),
            style(k).2
        );
    }
    let _ = writeln!(
        out,
        "<li><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"16\" viewBox=\"-8 -8 16 16\" aria-hidden=\"true\">{}</svg> ringed: activation flagged (not reviewed, not resealed or outside documented scenarios)</li>",
        shape(MarkerKind::Unseal, 0.0, 0.0, true)
    );
    let _ = writeln!(
        out,
        "<li><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"24\" height=\"16\" viewBox=\"-8 -8 24 16\" aria-hidden=\"true\">{}{}</svg> <b>R</b> beside a mark: a custodian presented remotely (named in the events table, from the quorum-signed entry)</li>",
        shape(MarkerKind::Unseal, 0.0, 0.0, false),
        remote_mark(0.0, 0.0)
    );
    out.push_str("<li>marks of one day are stacked; <b>+N</b>: N more that day</li>\n</ul>\n");
    out
}
