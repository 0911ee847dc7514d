//! Emergency unseal: a quorum opens the vault for a ticket and a reason.
//!
//! Invariant 2 (SECURITY.md): the `unseal-granted` entry naming ticket, reason,
//! custodians and entries is appended and fsynced *before* any secret is
//! handed to the caller; if it cannot be written, [`unseal`] returns an error
//! and no [`Session`] exists. The session ends by [`Session::end`], which logs
//! its real duration; a session dropped without `end` (crash) stays "open" in
//! `status` until the next ceremony.

use std::path::PathBuf;

use crate::ceremony::quorum::{self, QuorumInput, Request};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::log::{events, By, Log};
use crate::log_data;
use crate::manifest::LogHead;
use crate::payload::{Entry, Payload};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// Default session length (15 minutes).
pub const DEFAULT_SESSION_SECS: u64 = 15 * 60;
/// Hard maximum session length (4 hours).
pub const MAX_SESSION_SECS: u64 = 4 * 60 * 60;
/// Largest ticket or reason accepted.
pub const MAX_TEXT: usize = 500;

/// What an unseal needs.
pub struct UnsealOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Incident ticket id (required).
    pub ticket: String,
    /// Reason (required).
    pub reason: String,
    /// Entries to reveal (empty: all).
    pub entries: Vec<String>,
    /// Session length in seconds (≤ 4 h).
    pub session_secs: u64,
    /// Identities, presentation order, override, expected receipt.
    pub quorum: QuorumInput,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The custodians closed it.
    Closed,
    /// The time limit passed.
    Expired,
    /// One-shot output (non-interactive).
    OneShot,
}

impl EndReason {
    /// Spelling in the log and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Expired => "expired",
            EndReason::OneShot => "one-shot",
        }
    }
}

/// An open unseal session. Holds the revealed entries; wipes them on drop.
pub struct Session {
    _vault: Vault,
    log: Log,
    signer: crate::sign::SigningKey,
    generation: u64,
    payload: Payload,
    ticket: String,
    grant_seq: u64,
    started: Timestamp,
    limit_secs: u64,
    custodians: Vec<String>,
    fingerprint: String,
    vault_id: String,
}

/// Validates a ticket or reason: non-empty, bounded, one line of visible
/// text. Control characters, Unicode format characters (bidi overrides and
/// isolates, zero-width characters, the BOM) and line or paragraph
/// separators are refused: they would make the logged text read
/// differently from what it is ([`crate::text::is_unsafe`]).
pub fn check_text(what: &str, value: &str) -> Result<()> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::Usage(format!(
            "a {what} is required: every unseal is bound to an incident ticket and a reason"
        )));
    }
    if v.len() > MAX_TEXT {
        return Err(Error::Usage(format!(
            "the {what} must be one line of at most {MAX_TEXT} characters"
        )));
    }
    if let Some(c) = v.chars().find(|&c| crate::text::is_unsafe(c)) {
        return Err(Error::Usage(format!(
            "the {what} contains the invisible or control character {} (a line break, a bidi or zero-width character, …); type it again as one line of plain text",
            crate::text::code_point(c)
        )));
    }
    Ok(())
}

/// Validates a session length.
pub fn check_session(secs: u64) -> Result<()> {
    if secs == 0 || secs > MAX_SESSION_SECS {
        return Err(Error::Usage(format!(
            "session length {secs} s is refused: it must be between 1 s and the hard maximum of 4 h ({MAX_SESSION_SECS} s)"
        )));
    }
    Ok(())
}

/// Runs the emergency unseal up to the durable grant, and returns the session.
pub fn unseal(opts: UnsealOptions, ui: &mut dyn Ui) -> Result<Session> {
    check_text("ticket", &opts.ticket)?;
    check_text("reason", &opts.reason)?;
    check_session(opts.session_secs)?;
    let vault = Vault::open(&opts.dir)?;
    let (manifest, _) = vault.read_manifest()?;
    for name in &opts.entries {
        if !manifest.entries.iter().any(|e| &e.name == name) {
            return Err(Error::Usage(format!(
                "the vault has no entry named '{}'; it holds: {}",
                crate::text::bounded(name),
                manifest
                    .entries
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let wanted: Vec<String> = if opts.entries.is_empty() {
        manifest.entries.iter().map(|e| e.name.clone()).collect()
    } else {
        opts.entries.clone()
    };
    ui.say(
        Level::Step,
        "Verifying the audit log and recording the request",
    );
    let mut opened = quorum::open(
        &vault,
        Request {
            event: events::UNSEAL_REQUESTED,
            data: log_data! {
                "ticket" => opts.ticket.trim(),
                "reason" => opts.reason.trim(),
                "entries" => wanted,
                "session_limit_s" => opts.session_secs,
            },
            input: &opts.quorum,
            format1: false,
        },
        ui,
    )?;
    let mut payload = opened.payload_or_abort(&vault)?;
    let mut log = opened.log;
    let manifest = opened.manifest;
    payload
        .entries
        .retain(|e| wanted.iter().any(|w| w == e.name()));
    // The durable record, before anything is revealed.
    let mut data = log_data! {
        "request" => opened.request_seq,
        "ticket" => opts.ticket.trim(),
        "reason" => opts.reason.trim(),
        "custodians" => opened.custodians,
        "entries" => wanted,
        "session_limit_s" => opts.session_secs,
    };
    if !opened.remote.is_empty() {
        data.insert("remote".into(), opened.remote.into());
    }
    let grant = log.append(
        events::UNSEAL_GRANTED,
        manifest.generation,
        data,
        By::Quorum(&opened.signer),
    )?;
    crate::hooks::kill_point("unseal.granted");
    ui.say(
        Level::Step,
        &format!("Access granted and recorded (log entry {})", grant.seq),
    );
    Ok(Session {
        _vault: vault,
        log,
        signer: opened.signer,
        generation: manifest.generation,
        payload,
        ticket: opts.ticket.trim().to_owned(),
        grant_seq: grant.seq,
        started: Timestamp::now(),
        limit_secs: opts.session_secs,
        custodians: opened.custodians,
        fingerprint: manifest.fingerprint(),
        vault_id: manifest.vault_id.clone(),
    })
}

impl Session {
    /// The revealed entries.
    pub fn entries(&self) -> &[Entry] {
        &self.payload.entries
    }

    /// The otpauth URI of a TOTP entry, labelled with its issuer or its
    /// provider ([`Payload::otpauth_uri`]); reveal it with
    /// [`Session::reveal_seed`] first, which logs it.
    pub fn otpauth_uri(&self, name: &str) -> Option<crate::secret::SecretString> {
        self.payload.otpauth_uri(name)
    }

    /// Ticket.
    pub fn ticket(&self) -> &str {
        &self.ticket
    }

    /// Custodians who opened.
    pub fn custodians(&self) -> &[String] {
        &self.custodians
    }

    /// Vault fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Vault id (hex), for the receipt.
    pub fn vault_id(&self) -> &str {
        &self.vault_id
    }

    /// Log entry of the grant.
    pub fn grant_seq(&self) -> u64 {
        self.grant_seq
    }

    /// When the session ends by itself.
    pub fn deadline(&self) -> Timestamp {
        self.started.plus(self.limit_secs as i64)
    }

    /// Seconds left (0 when expired).
    pub fn seconds_left(&self, now: Timestamp) -> u64 {
        (self.deadline().0 - now.0).max(0) as u64
    }

    /// Logs an explicit seed reveal *before* the caller shows it; returns the entry.
    pub fn reveal_seed(&mut self, name: &str) -> Result<&Entry> {
        let found = self
            .payload
            .entries
            .iter()
            .position(|e| e.name() == name && e.kind() == "totp")
            .ok_or_else(|| Error::Usage(format!("no TOTP entry named '{name}' in this session")))?;
        self.log.append(
            events::SEED_REVEALED,
            self.generation,
            log_data! {"entry" => name, "grant" => self.grant_seq, "ticket" => self.ticket},
            By::Quorum(&self.signer),
        )?;
        self.payload
            .entries
            .get(found)
            .ok_or_else(|| Error::Usage("entry vanished".into()))
    }

    /// Ends the session: wipes the entries and logs the real duration.
    pub fn end(mut self, how: EndReason) -> Result<LogHead> {
        self.payload.entries.clear();
        let now = Timestamp::now();
        let duration = (now.0 - self.started.0).max(0);
        let how = if how == EndReason::Closed && self.seconds_left(now) == 0 {
            EndReason::Expired
        } else {
            how
        };
        let head = self.log.append(
            events::SESSION_ENDED,
            self.generation,
            log_data! {"grant" => self.grant_seq, "duration_s" => duration, "how" => how.as_str()},
            By::Quorum(&self.signer),
        )?;
        Ok(head)
    }
}
