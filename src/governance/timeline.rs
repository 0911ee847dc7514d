//! The points of the auditor page's timeline ([`Marker`]), collected by
//! [`super::report::Collector`] and drawn by [`super::html`]: what happened,
//! when, in which log entry, and what the events table prints beside it
//! (ticket, reason, custodians, and for activations the flags an auditor
//! looks for: not reviewed, not resealed, outside the documented scenarios).
//!
//! Invariant: the flags are set from the whole log read by the report
//! (an activation is "not reviewed" only when no later review names it),
//! never guessed; text here comes from the log and is escaped by whoever
//! prints it.

use crate::clock::Timestamp;

/// Kinds of timeline marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// An activation.
    Unseal,
    /// A reseal.
    Reseal,
    /// A review recorded.
    Review,
    /// A successful drill.
    Drill,
    /// A failed drill.
    DrillFailed,
    /// A custodian change (rekey).
    Rekey,
}

impl MarkerKind {
    /// Name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Unseal => "unseal",
            MarkerKind::Reseal => "reseal",
            MarkerKind::Review => "review",
            MarkerKind::Drill => "drill",
            MarkerKind::DrillFailed => "drill-failed",
            MarkerKind::Rekey => "rekey",
        }
    }
}

/// One point of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// When.
    pub time: Timestamp,
    /// What.
    pub kind: MarkerKind,
    /// Log entry.
    pub seq: u64,
    /// Short label (ticket, custodians).
    pub label: String,
    /// What the events table shows beside it.
    pub detail: Detail,
}

/// The events table's columns of one marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    /// Ticket (empty when the entry has none).
    pub ticket: String,
    /// Reason given (empty when the entry has none).
    pub reason: String,
    /// The custodians involved: whose shares opened, who drilled, who reviewed.
    pub custodians: Vec<String>,
    /// An activation no review names (yet).
    pub unreviewed: bool,
    /// An activation with no reseal after it (yet).
    pub not_resealed: bool,
    /// An activation whose reason matches no documented scenario (false
    /// when no scenario list was given).
    pub outside_scenarios: bool,
    /// The custodians who presented remotely (quorum-signed entries only;
    /// see [`super::remote`]).
    pub remote: Vec<String>,
}

impl Detail {
    /// The columns of an activation (flags set later by the collector).
    pub fn of_grant(g: &super::Grant) -> Detail {
        Detail {
            ticket: g.ticket.clone(),
            reason: g.reason.clone(),
            custodians: g.custodians.clone(),
            ..Detail::default()
        }
    }

    /// Whether any flag is set.
    pub fn flagged(&self) -> bool {
        self.unreviewed || self.not_resealed || self.outside_scenarios
    }
}
