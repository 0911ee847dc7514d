//! `log export --format ocsf`: one verified entry as one Open Cybersecurity
//! Schema Framework (OCSF 1.1) event per line. The unseal ceremony (request,
//! shares, grant, abort, session end) and drills are *Authentication*
//! events (class 3002), custodian enrolments and the rotation of the sealed
//! credentials *Account Change* (3001), everything else *Base Event* (0).
//! The mapping, event by event, is documented in `docs/governance.md`
//! ("SIEM formats") and checked against the OCSF class definitions in
//! `tests/data/siem/`.
//!
//! Invariants: `time` (the entry's own time, epoch milliseconds) is the
//! first member of every line; `type_uid` = `class_uid` × 100 +
//! `activity_id`; every class's required attributes are present (`user`
//! for Authentication and Account Change); the entry itself is kept under
//! `unmapped`, so nothing is lost.

use super::siem::{message, Fact, Obj, Outcome, PRODUCT, VENDOR, VERSION};
use crate::log::trust::Authn;
use crate::log::{events, Entry};

/// The OCSF schema version the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.1.0";

/// An OCSF class, with its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// `class_uid`.
    pub uid: u64,
    /// `class_name`.
    pub name: &'static str,
    /// `category_uid`.
    pub category_uid: u64,
    /// `category_name`.
    pub category_name: &'static str,
}

/// Authentication (Identity & Access Management).
pub const AUTHENTICATION: Class = Class {
    uid: 3002,
    name: "Authentication",
    category_uid: 3,
    category_name: "Identity & Access Management",
};
/// Account Change (Identity & Access Management).
pub const ACCOUNT_CHANGE: Class = Class {
    uid: 3001,
    name: "Account Change",
    category_uid: 3,
    category_name: "Identity & Access Management",
};
/// Base Event (Uncategorized).
pub const BASE_EVENT: Class = Class {
    uid: 0,
    name: "Base Event",
    category_uid: 0,
    category_name: "Uncategorized",
};

/// The class, `activity_id` and `activity_name` of an event type.
pub fn classify(event: &str) -> (Class, u64, &'static str) {
    match event {
        events::UNSEAL_GRANTED | events::UNSEAL_ABORTED => (AUTHENTICATION, 1, "Logon"),
        events::SESSION_ENDED => (AUTHENTICATION, 2, "Logoff"),
        events::UNSEAL_REQUESTED
        | events::DRILL_REQUESTED
        | events::SHARE_REQUESTED
        | events::SHARE_ACCEPTED
        | events::SHARE_REJECTED
        | events::DRILL => (AUTHENTICATION, 99, "Other"),
        events::CUSTODIAN_ENROLLED => (ACCOUNT_CHANGE, 1, "Create"),
        events::ROTATION_VALUES_SHOWN => (ACCOUNT_CHANGE, 3, "Password Change"),
        _ => (BASE_EVENT, 99, "Other"),
    }
}

/// The OCSF mapping, for one vault (its fingerprint goes on every line).
#[derive(Debug, Clone)]
pub struct Ocsf {
    /// The vault fingerprint (`unmapped.vault_fingerprint`).
    pub fingerprint: String,
}

impl Ocsf {
    /// Appends the event of `e` (verified as `a`), without its `\n`.
    pub fn write(&self, e: &Entry, a: &Authn, out: &mut Vec<u8>) {
        let f = Fact::of(e, a);
        let (class, activity, activity_name) = classify(&e.event);
        let (status_id, status) = match f.outcome {
            Outcome::Success => (1, "Success"),
            Outcome::Failure => (2, "Failure"),
            Outcome::Unknown => (0, "Unknown"),
        };
        // The subject: the custodian named, else who the entry names
        // (a quorum, the credentials rotated), else the vault's quorum.
        let entries = e.data.members().strs("entries");
        let subject = match (f.user.as_deref(), e.event == events::ROTATION_VALUES_SHOWN) {
            (_, true) if !entries.is_empty() => entries.join(","),
            (Some(u), _) => u.to_owned(),
            (None, _) if !f.users.is_empty() => f.users.join(","),
            (None, _) => "quorum".to_owned(),
        };
        Obj::write(out, |o| {
            // Milliseconds; the log's times are whole seconds.
            o.num("time", (e.time.0.max(0) as u64).saturating_mul(1000));
            o.num("class_uid", class.uid);
            o.str("class_name", class.name);
            o.num("category_uid", class.category_uid);
            o.str("category_name", class.category_name);
            o.num("activity_id", activity);
            o.str("activity_name", activity_name);
            o.num("type_uid", class.uid * 100 + activity);
            o.str("type_name", &format!("{}: {activity_name}", class.name));
            o.num("severity_id", f.severity as u64);
            o.str("severity", f.severity.caption());
            o.num("status_id", status_id);
            o.str("status", status);
            if f.outcome == Outcome::Failure {
                o.opt_str("status_detail", f.reason.as_deref());
            }
            o.str("message", &message(e, &f));
            o.obj("metadata", |o| {
                o.str("version", OCSF_VERSION);
                o.obj("product", |o| {
                    o.str("name", PRODUCT);
                    o.str("vendor_name", VENDOR);
                    o.str("version", VERSION);
                });
                o.str("uid", &e.hash);
                o.num("sequence", e.seq);
                o.str("log_name", "breakglass audit log");
                if let Some(r) = f.request {
                    o.str("correlation_uid", &format!("{}:{r}", e.vault));
                }
            });
            if class.uid != BASE_EVENT.uid {
                o.obj("user", |o| o.str("name", &subject));
            }
            o.obj("unmapped", |o| {
                o.str("event", &e.event);
                o.opt_str("ticket", f.ticket.as_deref());
                o.opt_str("reason", f.reason.as_deref());
                o.strs("custodians", &f.users);
                o.str("vault", &e.vault);
                o.str("vault_fingerprint", &self.fingerprint);
                o.num("generation", e.generation);
                o.str("auth", a.as_str());
                if let Authn::Custodian { custodian, .. } = a {
                    o.str("signer", custodian);
                }
                o.str("hash", &e.hash);
                o.str("prev", &e.prev);
                o.data("data", &e.data);
            });
        });
    }
}
