//! What the SIEM formats (`log export --format ecs|ocsf`, [`super::ecs`],
//! [`super::ocsf`]) share: the reading of one verified entry as a security
//! event ([`Fact`]: outcome, severity, the custodians it names, ticket and
//! reason) and a small writer of one JSON object into the export buffer
//! ([`Obj`]), so that no `serde_json::Value` is built per entry: the data
//! members a [`Fact`] reads are found in one pass over the entry's data as
//! the line holds it ([`crate::log::Data::members`]; strings borrowed unless
//! escaped), and `data` itself is copied as it is.
//!
//! Invariants: the reading depends only on the entry and how it verified;
//! a failed drill, a refused share, an aborted unseal, a rolled-back seal
//! and an integrity override are failures; requests (nothing decided yet)
//! and unknown event types are of unknown outcome; text from the log is
//! written only through serde_json's string escaping.

use std::borrow::Cow;

use crate::log::trust::Authn;
use crate::log::{events, Data, Entry, Members};

/// Product name written as the observer / product of every event.
pub const PRODUCT: &str = "breakglass";
/// Vendor name written with it (the project is its own vendor).
pub const VENDOR: &str = "breakglass";
/// The version of this build, written as the product version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what it set out to do.
    Success,
    /// It failed or was refused (failed drill, rejected share, aborted unseal,
    /// rolled-back seal, integrity override).
    Failure,
    /// Not decided by this entry (a request) or an event type this version
    /// does not know.
    Unknown,
}

/// Severity, on OCSF's scale (`severity_id`), also written as ECS
/// `event.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 1: routine.
    Informational = 1,
    /// 2: maintenance of the log itself.
    Low = 2,
    /// 3: a failure, or a secret shown on request.
    Medium = 3,
    /// 4: emergency access granted, or an entry whose signature is forged.
    High = 4,
    /// 5: a ceremony that went on despite a broken log.
    Critical = 5,
}

impl Severity {
    /// OCSF's caption of the id.
    pub fn caption(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// One entry read as a security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<'a> {
    /// How it ended.
    pub outcome: Outcome,
    /// How much it matters.
    pub severity: Severity,
    /// The one custodian the entry is about (`data.custodian`; else the
    /// only custodian of `data.custodians`; else the signing custodian).
    pub user: Option<Cow<'a, str>>,
    /// Every custodian the entry names, signer included, in order, once.
    pub users: Vec<Cow<'a, str>>,
    /// The ticket (`data.ticket`, when not empty).
    pub ticket: Option<Cow<'a, str>>,
    /// The reason given (`data.reason`) or, for failures, why
    /// (`data.why`, `data.problem`), when not empty.
    pub reason: Option<Cow<'a, str>>,
    /// The request entry the event belongs to (`data.request`, or
    /// `data.grant` for what happens inside a session).
    pub request: Option<u64>,
}

/// A string member of the data, when not empty.
fn text<'a>(d: &Members<'a>, key: &str) -> Option<Cow<'a, str>> {
    d.str(key).filter(|s| !s.is_empty())
}

impl<'a> Fact<'a> {
    /// Reads `e`, verified as `a`.
    pub fn of(e: &'a Entry, a: &'a Authn) -> Fact<'a> {
        // One pass over the data: a dozen members are read below.
        let d = e.data.members();
        let ev = e.event.as_str();
        let outcome = match ev {
            events::DRILL if text(&d, "result").as_deref() == Some("ok") => Outcome::Success,
            events::DRILL
            | events::SHARE_REJECTED
            | events::UNSEAL_ABORTED
            | events::SEAL_ROLLED_BACK
            | events::INTEGRITY_OVERRIDE => Outcome::Failure,
            events::UNSEAL_REQUESTED
            | events::RESEAL_REQUESTED
            | events::REKEY_REQUESTED
            | events::DRILL_REQUESTED
            | events::SHARE_REQUESTED => Outcome::Unknown,
            events::VAULT_CREATED
            | events::CUSTODIAN_ENROLLED
            | events::SEALED
            | events::ROTATION_VALUES_SHOWN
            | events::SHARE_ACCEPTED
            | events::UNSEAL_GRANTED
            | events::SESSION_ENDED
            | events::SEED_REVEALED
            | events::REVIEW_RECORDED
            | events::LOG_REPAIRED
            | events::MIGRATED
            | events::GENERATION_SET_ASIDE
            | events::GENERATION_INSTALLED
            | events::RECEIPT_CHECKED => Outcome::Success,
            _ => Outcome::Unknown,
        };
        let severity = if ev == events::INTEGRITY_OVERRIDE {
            Severity::Critical
        } else if ev == events::UNSEAL_GRANTED || matches!(a, Authn::Forged { .. }) {
            Severity::High
        } else if outcome == Outcome::Failure || ev == events::SEED_REVEALED {
            Severity::Medium
        } else if ev == events::LOG_REPAIRED {
            Severity::Low
        } else {
            Severity::Informational
        };
        let signer = match a {
            Authn::Custodian { custodian, .. } => Some(Cow::Borrowed(custodian.as_str())),
            _ => None,
        };
        let custodian = text(&d, "custodian");
        let custodians = d.strs("custodians");
        let mut users: Vec<Cow<'a, str>> = Vec::new();
        let named = custodian
            .iter()
            .chain(&custodians)
            .cloned()
            .chain(
                ["add", "remove", "replace", "added", "removed", "replaced"]
                    .into_iter()
                    .flat_map(|k| d.strs(k)),
            )
            .chain(signer.clone());
        for n in named {
            if !users.contains(&n) {
                users.push(n);
            }
        }
        let user = custodian
            .or_else(|| match custodians.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            })
            .or(signer);
        let reason = text(&d, "reason")
            .or_else(|| text(&d, "why"))
            .or_else(|| text(&d, "problem"));
        let request = ["request", "grant"]
            .into_iter()
            .find_map(|k| d.u64(k))
            .filter(|&n| n > 0);
        Fact {
            outcome,
            severity,
            user,
            users,
            ticket: text(&d, "ticket"),
            reason,
            request,
        }
    }
}

/// Writes one JSON object member by member into the export buffer. Keys
/// are written as given (they are this crate's constants); values go
/// through serde_json, so text from the log keeps JSON's escaping.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    /// Writes `f`'s members as one object.
    pub fn write(out: &'a mut Vec<u8>, f: impl FnOnce(&mut Obj<'_>)) {
        out.push(b'{');
        let mut o = Obj { out, empty: true };
        f(&mut o);
        o.out.push(b'}');
    }

    fn key(&mut self, k: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string member.
    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }

    /// A string member when there is a value.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    /// An integer member.
    pub fn num(&mut self, k: &str, v: u64) {
        use std::io::Write as _;
        self.key(k);
        let _ = write!(self.out, "{v}");
    }

    /// An array of strings.
    pub fn strs(&mut self, k: &str, v: &[impl AsRef<str>]) {
        self.key(k);
        self.out.push(b'[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *self.out, s.as_ref());
        }
        self.out.push(b']');
    }

    /// An entry's `data`, as logged (its text copied when it was kept:
    /// the bytes serde_json writes for the map).
    pub fn data(&mut self, k: &str, v: &Data) {
        self.key(k);
        v.write_json(self.out);
    }

    /// A nested object.
    pub fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) {
        self.key(k);
        Obj::write(self.out, f);
    }
}

/// A one-line human summary: the event, its ticket and its reason.
pub fn message(e: &Entry, f: &Fact<'_>) -> String {
    let mut m = e.event.clone();
    if let Some(t) = &f.ticket {
        m.push_str(" ticket ");
        m.push_str(t);
    }
    if !f.users.is_empty() {
        m.push_str(" custodians ");
        m.push_str(&f.users.join(","));
    }
    if let Some(r) = &f.reason {
        m.push_str(": ");
        m.push_str(r);
    }
    m
}

/// The formats of `log export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Our own members ([`super::export::write_jsonl`]).
    Jsonl,
    /// Elastic Common Schema ([`super::ecs`]).
    Ecs,
    /// Open Cybersecurity Schema Framework ([`super::ocsf`]).
    Ocsf,
}

impl Format {
    /// The names `--format` accepts.
    pub const NAMES: [&'static str; 3] = ["jsonl", "ecs", "ocsf"];

    /// Parses a format name.
    pub fn parse(s: &str) -> crate::error::Result<Format> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "ecs" => Ok(Format::Ecs),
            "ocsf" => Ok(Format::Ocsf),
            _ => Err(crate::error::Error::Usage(format!(
                "unknown export format '{}'; use one of: {}",
                crate::text::for_terminal(&crate::text::bounded(s)),
                Format::NAMES.join(", ")
            ))),
        }
    }
}

/// [`super::export::export`] in `format`, one pass over the log;
/// `fingerprint` is the vault fingerprint the SIEM formats put on every line.
pub fn export(
    format: Format,
    fingerprint: &str,
    log_path: &std::path::Path,
    anchor: Option<&crate::manifest::LogHead>,
    after: u64,
    out: &mut dyn std::io::Write,
) -> crate::error::Result<(crate::log::VerifyReport, u64)> {
    let x = export_resuming(format, fingerprint, log_path, anchor, after, None, out)?;
    Ok((x.report, x.written))
}

/// [`export`], resuming the verification after `from` when it applies
/// ([`super::export::export_with`]).
pub fn export_resuming(
    format: Format,
    fingerprint: &str,
    log_path: &std::path::Path,
    anchor: Option<&crate::manifest::LogHead>,
    after: u64,
    from: Option<&crate::log::Resume>,
    out: &mut dyn std::io::Write,
) -> crate::error::Result<super::export::Exported> {
    use super::export::{export_with, write_jsonl};
    let fingerprint = fingerprint.to_owned();
    let (ecs, ocsf);
    let map: &dyn Fn(&Entry, &Authn, &mut Vec<u8>) = match format {
        Format::Jsonl => &write_jsonl,
        Format::Ecs => {
            ecs = super::ecs::Ecs { fingerprint };
            &|e, a, o| ecs.write(e, a, o)
        }
        Format::Ocsf => {
            ocsf = super::ocsf::Ocsf { fingerprint };
            &|e, a, o| ocsf.write(e, a, o)
        }
    };
    // Every format copies `data` as it is; the SIEM mappings read their
    // members from the text in one pass ([`Fact::of`]).
    export_with(
        log_path,
        anchor,
        after,
        from,
        crate::log::Reads::Chain,
        map,
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::log::{Seal, Signer};
    use serde_json::{json, Value};

    fn entry(event: &str, data: Value) -> Entry {
        Entry {
            seq: 7,
            time: Timestamp(1_800_000_000),
            event: event.into(),
            generation: 2,
            vault: "ab".repeat(16),
            data: data.as_object().cloned().unwrap_or_default().into(),
            prev: "0".repeat(64),
            hash: "f".repeat(64),
            seal: Seal::Signed {
                by: Signer::Quorum,
                value: vec![1; 64],
            },
        }
    }

    #[test]
    fn failures_requests_and_unknown_events() {
        let q = Authn::Quorum;
        for (ev, data, want) in [
            (events::DRILL, json!({"result": "ok"}), Outcome::Success),
            (events::DRILL, json!({"result": "failed"}), Outcome::Failure),
            (events::DRILL, json!({}), Outcome::Failure),
            (events::SHARE_REJECTED, json!({}), Outcome::Failure),
            (events::UNSEAL_ABORTED, json!({}), Outcome::Failure),
            (events::SEAL_ROLLED_BACK, json!({}), Outcome::Failure),
            (events::INTEGRITY_OVERRIDE, json!({}), Outcome::Failure),
            (events::UNSEAL_REQUESTED, json!({}), Outcome::Unknown),
            (events::UNSEAL_GRANTED, json!({}), Outcome::Success),
            ("from-the-future", json!({}), Outcome::Unknown),
        ] {
            let e = entry(ev, data);
            assert_eq!(Fact::of(&e, &q).outcome, want, "{ev}");
        }
        let e = entry(events::INTEGRITY_OVERRIDE, json!({"problem": "p"}));
        assert_eq!(Fact::of(&e, &q).severity, Severity::Critical);
        assert_eq!(Fact::of(&e, &q).reason.as_deref(), Some("p"));
        let e = entry(events::SESSION_ENDED, json!({"grant": 5}));
        let forged = Authn::Forged { why: "x".into() };
        assert_eq!(Fact::of(&e, &forged).severity, Severity::High);
        assert_eq!(Fact::of(&e, &q).request, Some(5));
    }

    #[test]
    fn users_ticket_and_reason() {
        let e = entry(
            events::UNSEAL_GRANTED,
            json!({"custodians": ["alice", "bob"], "ticket": "", "reason": "r"}),
        );
        let alice = Authn::Custodian {
            custodian: "alice".into(),
            token: "t".into(),
        };
        let f = Fact::of(&e, &alice);
        assert_eq!(f.users, ["alice", "bob"]);
        assert_eq!(
            (f.user.as_deref(), f.ticket.as_deref(), f.reason.as_deref()),
            (Some("alice"), None, Some("r"))
        );
        let e = entry(
            events::REKEY_REQUESTED,
            json!({"add": ["dave"], "remove": ["carol"], "ticket": "T"}),
        );
        let f = Fact::of(&e, &Authn::Unsigned);
        assert_eq!(
            (f.users, f.user.as_deref(), f.ticket.as_deref()),
            (vec![Cow::from("dave"), Cow::from("carol")], None, Some("T"))
        );
        assert_eq!(
            message(&e, &Fact::of(&e, &Authn::Unsigned)),
            "rekey-requested ticket T custodians dave,carol"
        );
    }

    /// The writer gives what serde_json gives for the same object.
    #[test]
    fn obj_writes_valid_json() {
        let mut out = b"x\n".to_vec();
        let hostile = "\"}\u{1}\\\n<é>";
        Obj::write(&mut out, |o| {
            o.str("a", hostile);
            o.obj("b", |o| {
                o.num("n", u64::MAX);
                o.strs("l", &[hostile, ""]);
                o.obj("empty", |_| {});
            });
            o.opt_str("none", None);
            let d = json!({"k": [1, null]})
                .as_object()
                .cloned()
                .unwrap_or_default();
            o.data("d", &Data::from(d));
        });
        let v: Value = serde_json::from_slice(&out[2..]).unwrap();
        assert_eq!(
            v,
            json!({"a": hostile, "b": {"n": u64::MAX, "l": [hostile, ""], "empty": {}}, "d": {"k": [1, null]}})
        );
    }

    #[test]
    fn format_names() {
        for n in Format::NAMES {
            assert!(Format::parse(n).is_ok());
        }
        let e = Format::parse("cef\u{1b}[2J").unwrap_err().to_string();
        assert!(e.contains("jsonl, ecs, ocsf"), "{e}");
        assert!(!e.contains('\u{1b}'), "shown escaped: {e}");
    }
}
