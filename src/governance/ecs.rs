//! `log export --format ecs`: one verified entry as one Elastic Common
//! Schema (ECS 8.x) document per line. The field mapping, event by event,
//! is documented in `docs/governance.md` ("SIEM formats") and checked
//! against the ECS field definitions in `tests/data/siem/`.
//!
//! Invariants: `@timestamp` (the entry's own time) is the first member of
//! every line; `event.category` and `event.type` use only ECS's allowed
//! values, and each type is one ECS expects with its category; the entry
//! itself (hash, chain link, how it verified, data as logged) is kept under
//! the custom field set `breakglass`, so nothing is lost.

use super::siem::{message, Fact, Obj, Outcome, PRODUCT, VENDOR, VERSION};
use crate::log::trust::Authn;
use crate::log::{events, Entry};

/// The ECS version the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "8.11.0";

/// ECS `event.category` and `event.type` of an event type.
pub fn categorize(event: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match event {
        events::UNSEAL_REQUESTED | events::DRILL_REQUESTED => (&["authentication"], &["start"]),
        events::SHARE_REQUESTED
        | events::SHARE_ACCEPTED
        | events::SHARE_REJECTED
        | events::DRILL => (&["authentication"], &["info"]),
        events::UNSEAL_GRANTED => (&["authentication", "session"], &["start"]),
        events::UNSEAL_ABORTED => (&["authentication"], &["end"]),
        events::SESSION_ENDED => (&["session"], &["end"]),
        events::SEED_REVEALED => (&["session"], &["info"]),
        events::CUSTODIAN_ENROLLED => (&["iam"], &["user", "creation"]),
        events::REKEY_REQUESTED => (&["iam"], &["change"]),
        events::VAULT_CREATED | events::SEALED => (&["configuration"], &["creation"]),
        events::RESEAL_REQUESTED
        | events::ROTATION_VALUES_SHOWN
        | events::MIGRATED
        | events::GENERATION_INSTALLED => (&["configuration"], &["change"]),
        events::SEAL_ROLLED_BACK | events::GENERATION_SET_ASIDE => {
            (&["configuration"], &["deletion"])
        }
        events::INTEGRITY_OVERRIDE => (&["intrusion_detection"], &["allowed"]),
        events::LOG_REPAIRED => (&["file"], &["change"]),
        // review-recorded, receipt-checked, and types this version does not know
        _ => (&["configuration"], &["info"]),
    }
}

/// The ECS mapping, for one vault (its fingerprint goes on every line).
#[derive(Debug, Clone)]
pub struct Ecs {
    /// The vault fingerprint (`breakglass.vault.fingerprint`).
    pub fingerprint: String,
}

impl Ecs {
    /// Appends the document of `e` (verified as `a`), without its `\n`.
    pub fn write(&self, e: &Entry, a: &Authn, out: &mut Vec<u8>) {
        let f = Fact::of(e, a);
        let (category, kind) = categorize(&e.event);
        Obj::write(out, |o| {
            o.str("@timestamp", &e.time.to_rfc3339());
            o.obj("ecs", |o| o.str("version", ECS_VERSION));
            o.obj("event", |o| {
                o.str("kind", "event");
                o.str("action", &e.event);
                o.strs("category", category);
                o.strs("type", kind);
                o.str(
                    "outcome",
                    match f.outcome {
                        Outcome::Success => "success",
                        Outcome::Failure => "failure",
                        Outcome::Unknown => "unknown",
                    },
                );
                o.num("sequence", e.seq);
                o.num("severity", f.severity as u64);
                o.str("id", &e.hash);
                o.str("dataset", "breakglass.audit");
                o.str("module", PRODUCT);
                o.str("provider", PRODUCT);
                o.opt_str("reason", f.reason.as_deref());
            });
            if f.ticket.is_some() || f.request.is_some() {
                o.obj("labels", |o| {
                    o.opt_str("ticket", f.ticket.as_deref());
                    if let Some(r) = f.request {
                        o.str("request_seq", &r.to_string());
                    }
                });
            }
            o.str("message", &message(e, &f));
            o.obj("observer", |o| {
                o.str("product", PRODUCT);
                o.str("vendor", VENDOR);
                o.str("version", VERSION);
                o.str("type", "vault");
            });
            if !f.users.is_empty() {
                o.obj("related", |o| o.strs("user", &f.users));
            }
            if let Some(u) = f.user {
                o.obj("user", |o| o.str("name", &u));
            }
            o.obj("breakglass", |o| {
                o.obj("vault", |o| {
                    o.str("id", &e.vault);
                    o.str("fingerprint", &self.fingerprint);
                });
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
