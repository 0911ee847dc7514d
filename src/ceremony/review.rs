//! Post-incident review: recorded against one unseal (by its grant's log
//! sequence number) or every unseal of a ticket, within 5 days of it.
//!
//! A review names participants, a timeline, the root cause, preventive
//! measures and the provider's audit event ids (e.g. CloudTrail event ids)
//! for what was done with the credentials. It is read from a document
//! ([`parse_document`]: JSON or a simple `key: value` text form) or asked
//! through [`Ui`] prompts. Incomplete reviews are refused, listing exactly
//! what is missing; nothing incomplete is ever logged. A complete review is
//! logged as `review-recorded` with its content (reviews are not secret) and
//! the SHA-256 of the submitted document, so the document filed elsewhere
//! can be matched to the log. The entry is signed by the token of the
//! custodian who records it (format 2): only a signed review counts, and
//! only a quorum-signed `unseal-granted` entry can be reviewed.
//!
//! Text form (keys case-insensitive, `#` comments, repeatable keys add items):
//!
//! ```text
//! ticket: INC-4711                       (optional; must match the unseal's)
//! participants: alice, bob, carol
//! timeline: 2026-03-01T10:02:00Z IdP outage detected
//! timeline: 2026-03-01T10:20:00Z vault opened by alice and bob
//! root cause: expired SAML signing certificate
//! preventive measure: alert 30 days before certificate expiry
//! provider event: 3f1c6a52-0c1e-4d5e-9a0b-2a1e4c7b9d10
//! ```
//!
//! JSON form: `{"ticket"?: S, "participants": [S], "timeline": [{"time": T,
//! "what": S}], "root_cause": S, "preventive_measures": [S],
//! "provider_events": [S]}` (unknown members refused).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ceremony::custodians::append_signed;
use crate::ceremony::quorum;
use crate::clock::Timestamp;
use crate::encoding::hex;
use crate::error::{Error, Result};
use crate::governance::Grant;
use crate::log::events;
use crate::manifest::LogHead;
use crate::token::SuppliedIdentity;
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// Largest review document accepted.
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// Longest single text item.
pub const MAX_ITEM: usize = 2000;
/// Largest review content logged (the log line limit is 64 KiB).
pub const MAX_LOGGED: usize = 40 * 1024;

/// One timeline item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineItem {
    /// When (RFC 3339 UTC).
    pub time: String,
    /// What happened.
    pub what: String,
}

/// A review document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDocument {
    /// Incident ticket (optional; checked against the unseal's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// People who took part.
    #[serde(default)]
    pub participants: Vec<String>,
    /// What happened, when.
    #[serde(default)]
    pub timeline: Vec<TimelineItem>,
    /// Root cause.
    #[serde(default)]
    pub root_cause: String,
    /// Preventive measures.
    #[serde(default)]
    pub preventive_measures: Vec<String>,
    /// Provider audit event ids (CloudTrail event ids, …).
    #[serde(default)]
    pub provider_events: Vec<String>,
}

impl ReviewDocument {
    /// What a complete review still lacks (empty when complete).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let blank = |v: &[String]| v.iter().all(|s| s.trim().is_empty());
        if blank(&self.participants) {
            m.push("participants");
        }
        if self.timeline.iter().all(|t| t.what.trim().is_empty()) {
            m.push("timeline");
        }
        if self.root_cause.trim().is_empty() {
            m.push("root cause");
        }
        if blank(&self.preventive_measures) {
            m.push("preventive measures");
        }
        if blank(&self.provider_events) {
            m.push("provider audit event ids");
        }
        m
    }

    /// Checks completeness and the form of every item.
    pub fn check(&self) -> Result<()> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(Error::ReviewIncomplete {
                missing: missing.join(", "),
            });
        }
        // Line breaks are allowed (multi-line JSON values); other controls,
        // Unicode format characters (bidi, zero-width) and the Unicode line
        // and paragraph separators are not: they make the logged review
        // read differently from what it says.
        let item = |what: &str, s: &str| -> Result<()> {
            if s.chars().count() > MAX_ITEM {
                return Err(Error::Usage(format!(
                    "review {what}: items must be text of at most {MAX_ITEM} characters"
                )));
            }
            if let Some(c) = s.chars().find(|&c| c != '\n' && crate::text::is_unsafe(c)) {
                return Err(Error::Usage(format!(
                    "review {what}: contains the invisible or control character {} (a bidi or zero-width character, a tab, …); remove it and record the review again",
                    crate::text::code_point(c)
                )));
            }
            Ok(())
        };
        for t in &self.timeline {
            Timestamp::parse(&t.time).map_err(|e| {
                Error::Usage(format!(
                    "review timeline: {e}; write each item as `timeline: 2026-03-01T10:02:00Z what happened`"
                ))
            })?;
            item("timeline", &t.what)?;
        }
        item("root cause", &self.root_cause)?;
        let lists: [(&str, &[String]); 3] = [
            ("participants", &self.participants),
            ("preventive measures", &self.preventive_measures),
            ("provider events", &self.provider_events),
        ];
        for (what, list) in lists {
            for s in list {
                item(what, s)?;
            }
        }
        if let Some(t) = &self.ticket {
            item("ticket", t)?;
        }
        Ok(())
    }

    fn trimmed(mut self) -> ReviewDocument {
        let clean = |v: &mut Vec<String>| {
            v.iter_mut().for_each(|s| *s = s.trim().to_owned());
            v.retain(|s| !s.is_empty());
        };
        clean(&mut self.participants);
        clean(&mut self.preventive_measures);
        clean(&mut self.provider_events);
        self.timeline.retain(|t| !t.what.trim().is_empty());
        self.timeline
            .iter_mut()
            .for_each(|t| t.what = t.what.trim().to_owned());
        self.root_cause = self.root_cause.trim().to_owned();
        self.ticket = self
            .ticket
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        self
    }
}

/// Parses a review document: JSON when it starts with `{`, else the text form.
pub fn parse_document(bytes: &[u8]) -> Result<ReviewDocument> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(Error::Usage(format!(
            "the review document is larger than {MAX_DOCUMENT} bytes"
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::Usage("the review document is not UTF-8 text".into()))?;
    if text.trim_start().starts_with('{') {
        let doc: ReviewDocument = serde_json::from_str(text).map_err(|e| {
            Error::Usage(format!(
                "the review document is not valid review JSON (line {}, column {}): {}",
                e.line(),
                e.column(),
                e
            ))
        })?;
        return Ok(doc.trimmed());
    }
    let mut doc = ReviewDocument::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(Error::Usage(format!(
                "review document line {}: expected `key: value` (keys: ticket, participants, timeline, root cause, preventive measure, provider event)",
                i + 1
            )));
        };
        let value = value.trim();
        let key = key.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        match key.trim_end_matches('s') {
            "ticket" => doc.ticket = Some(value.to_owned()),
            "participant" => doc
                .participants
                .extend(value.split(',').map(|s| s.trim().to_owned())),
            "timeline" => {
                let (time, what) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
                doc.timeline.push(TimelineItem {
                    time: time.to_owned(),
                    what: what.trim().to_owned(),
                });
            }
            "root cause" => {
                if !doc.root_cause.is_empty() {
                    doc.root_cause.push(' ');
                }
                doc.root_cause.push_str(value);
            }
            "preventive measure" => doc.preventive_measures.push(value.to_owned()),
            "provider event" | "provider audit event" | "provider audit event id" | "provider event id" => doc
                .provider_events
                .extend(value.split(',').map(|s| s.trim().to_owned())),
            _ => {
                return Err(Error::Usage(format!(
                    "review document line {}: unknown key '{}' (keys: ticket, participants, timeline, root cause, preventive measure, provider event)",
                    i + 1,
                    crate::text::bounded(&key)
                )))
            }
        }
    }
    Ok(doc.trimmed())
}

/// Asks for a review through prompts (ids `review.participants`,
/// `review.timeline.N`, `review.root_cause`, `review.preventive_measures.N`,
/// `review.provider_events.N`; an empty answer ends a list).
pub fn prompt_document(ui: &mut dyn Ui) -> Result<ReviewDocument> {
    let mut doc = ReviewDocument {
        participants: ui
            .text(
                "review.participants",
                "Participants (comma-separated names)",
            )?
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect(),
        ..ReviewDocument::default()
    };
    for n in 1.. {
        let line = ui.text(
            &format!("review.timeline.{n}"),
            "Timeline item: `YYYY-MM-DDTHH:MM:SSZ what happened` (empty to finish)",
        )?;
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        let (time, what) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        doc.timeline.push(TimelineItem {
            time: time.into(),
            what: what.trim().into(),
        });
    }
    doc.root_cause = ui.text("review.root_cause", "Root cause")?;
    for (id, q, list) in [
        (
            "review.preventive_measures",
            "Preventive measure (empty to finish)",
            &mut doc.preventive_measures,
        ),
        (
            "review.provider_events",
            "Provider audit event id, e.g. a CloudTrail event id (empty to finish)",
            &mut doc.provider_events,
        ),
    ] {
        for n in 1.. {
            let v = ui.text(&format!("{id}.{n}"), q)?;
            if v.trim().is_empty() {
                break;
            }
            list.push(v.trim().to_owned());
        }
    }
    Ok(doc.trimmed())
}

/// Which unseal a review is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewTarget {
    /// The `unseal-granted` entry with this sequence number.
    Grant(u64),
    /// Every unseal granted for this ticket.
    Ticket(String),
}

/// What `review` needs.
pub struct ReviewOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// The unseal(s) reviewed.
    pub target: ReviewTarget,
    /// The submitted document (its bytes are hashed), or None to prompt.
    pub document: Option<Vec<u8>>,
    /// The custodian who records (and signs) the review.
    pub custodian: String,
    /// Supplied software identity files (the recording custodian's).
    pub identities: Vec<SuppliedIdentity>,
    /// The last receipt from the ticket: the log must still hold it.
    pub expect_receipt: Option<crate::governance::receipt::Receipt>,
}

/// A recorded review.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Vault id.
    pub vault_id: String,
    /// Grants reviewed.
    pub grants: Vec<u64>,
    /// Ticket.
    pub ticket: String,
    /// SHA-256 of the submitted document.
    pub document_sha256: String,
    /// Log head (the `review-recorded` entry).
    pub receipt: LogHead,
}

/// Records a post-incident review.
pub fn record(opts: ReviewOptions, ui: &mut dyn Ui) -> Result<Recorded> {
    let vault = Vault::open(&opts.dir)?;
    // Which grants (in the verifying pass; only matching, quorum-signed
    // grants are kept).
    let mut grants: Vec<Grant> = Vec::new();
    let mut wrong_event: Option<String> = None;
    let quorum::Prepared {
        manifest, mut log, ..
    } = quorum::prepare_visiting(
        &vault,
        quorum::Checks {
            expect_receipt: opts.expect_receipt.as_ref(),
            ..quorum::Checks::default()
        },
        ui,
        |e, a| match &opts.target {
            ReviewTarget::Grant(s) if e.seq == *s => {
                if e.event == events::UNSEAL_GRANTED && a.by_quorum() {
                    grants.push(Grant::from_entry(e));
                } else if e.event == events::UNSEAL_GRANTED {
                    wrong_event = Some(format!("{} ({})", e.event, a.as_str()));
                } else {
                    wrong_event = Some(e.event.clone());
                }
            }
            ReviewTarget::Ticket(t)
                if e.event == events::UNSEAL_GRANTED
                    && a.by_quorum()
                    && e.data.get("ticket").and_then(Value::as_str) == Some(t.as_str()) =>
            {
                grants.push(Grant::from_entry(e))
            }
            _ => {}
        },
    )?;
    let Some(record) = manifest.custodian(&opts.custodian) else {
        return Err(Error::Usage(format!(
            "'{}' is not a custodian of this vault: a review is recorded and signed by a custodian; its custodians are: {}",
            crate::text::bounded(&opts.custodian),
            manifest.custodians.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    };
    if grants.is_empty() {
        return Err(Error::Usage(match (&opts.target, wrong_event) {
            (ReviewTarget::Grant(s), Some(ev)) => format!(
                "log entry {s} is a '{ev}' entry, not an unseal grant signed by a quorum; give the sequence number of the `unseal-granted` entry (see `breakglass status`)"
            ),
            (ReviewTarget::Grant(s), None) => format!("the log has no entry {s}"),
            (ReviewTarget::Ticket(t), _) => format!(
                "no unseal was granted for ticket '{}'",
                t.chars().take(80).collect::<String>()
            ),
        }));
    }
    let ticket = grants.first().map(|g| g.ticket.clone()).unwrap_or_default();
    let (doc, submitted) = match opts.document {
        Some(bytes) => (parse_document(&bytes)?, bytes),
        None => {
            let doc = prompt_document(ui)?;
            let bytes = crate::encoding::to_canonical(&doc)
                .map_err(|e| Error::Usage(e.to_string()))?
                .into_bytes();
            (doc, bytes)
        }
    };
    doc.check()?;
    if let Some(t) = &doc.ticket {
        if *t != ticket {
            return Err(Error::Usage(format!(
                "the review names ticket '{}' but unseal #{} was for ticket '{ticket}'; fix the document or the target",
                t.chars().take(80).collect::<String>(),
                grants.first().map_or(0, |g| g.seq)
            )));
        }
    }
    let sha = hex(&Sha256::digest(&submitted));
    let seqs: Vec<u64> = grants.iter().map(|g| g.seq).collect();
    let mut data = match serde_json::to_value(&doc) {
        Ok(Value::Object(m)) => m,
        _ => return Err(Error::Usage("review cannot be encoded".into())),
    };
    data.insert("grants".into(), seqs.clone().into());
    data.insert("ticket".into(), ticket.clone().into());
    data.insert("document_sha256".into(), sha.clone().into());
    data.insert("complete".into(), true.into());
    let size = crate::encoding::canonical_json(&Value::Object(data.clone()))
        .map_err(|e| Error::Usage(e.to_string()))?
        .len();
    if size > MAX_LOGGED {
        return Err(Error::Usage(format!(
            "the review is {size} bytes once encoded; at most {MAX_LOGGED} fit in one log entry: shorten it and keep the long version with the incident (its SHA-256 is logged)"
        )));
    }
    let signer = crate::token::signer_for(
        &record.name,
        &record.tokens,
        &opts.identities,
        &manifest.fingerprint(),
        ui,
    )?;
    let (receipt, _) = append_signed(
        &mut log,
        events::REVIEW_RECORDED,
        manifest.generation,
        data,
        Some(&signer),
        ui,
    )?;
    ui.say(
        Level::Step,
        &format!(
            "Review of unseal {} (ticket {ticket}) recorded as log entry {}, signed by {}",
            seqs.iter()
                .map(|s| format!("#{s}"))
                .collect::<Vec<_>>()
                .join(", "),
            receipt.seq,
            record.name
        ),
    );
    Ok(Recorded {
        vault_id: manifest.vault_id,
        grants: seqs,
        ticket,
        document_sha256: sha,
        receipt,
    })
}
