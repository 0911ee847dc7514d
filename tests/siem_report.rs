//! Issue 10, "SIEM" and "The auditor's report": `log export --format
//! ecs|ocsf` checked, line by line, against the published field
//! definitions shipped in `tests/data/siem/` (ECS 8.11 fields, OCSF 1.1
//! classes: types, required fields, enumerations), for every event type the
//! library writes; and the `report --html` page checked with `tidy` (0
//! errors) and rendered in headless Chromium (a non-blank screenshot, no
//! console errors). The vaults are real format 2 vault directories
//! (`support/signed_history.rs`).

#[path = "support/signed_history.rs"]
mod signed_history;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use breakglass::governance::siem::{self, Format};
use breakglass::log::events;
use breakglass::log_data;
use breakglass::vault::Vault;
use serde_json::{Map, Value};
use signed_history::SignedHistory;

const T0: &str = "2024-01-10T10:00:00Z";

/// A history with every event type the library writes (but `migrated`,
/// the root of a migrated vault), in the shapes the ceremonies write them.
/// Returns the history and, per seq, the expected outcome.
fn every_event() -> (SignedHistory, BTreeMap<u64, &'static str>) {
    let mut b = SignedHistory::new();
    let mut want = BTreeMap::new();
    let root = b.init(T0, &["alice", "bob", "carol"], 2);
    for s in 1..=root {
        want.insert(s, "success");
    }
    let add = |want: &mut BTreeMap<u64, &'static str>, s: u64, o: &'static str| {
        want.insert(s, o);
    };
    let s = b.unsigned(
        events::UNSEAL_REQUESTED,
        "2024-02-01T08:00:00Z",
        log_data! {"ticket" => "INC-7", "reason" => "idp-outage: okta <down>"},
    );
    add(&mut want, s, "unknown");
    let req = s;
    let s = b.unsigned(
        events::SHARE_REJECTED,
        "2024-02-01T08:01:00Z",
        log_data! {"custodian" => "carol", "request" => req, "why" => "wrong PIN"},
    );
    add(&mut want, s, "failure");
    for c in ["alice", "bob"] {
        let s = b.unsigned(
            events::SHARE_ACCEPTED,
            "2024-02-01T08:02:00Z",
            log_data! {"custodian" => c, "request" => req, "token" => "t"},
        );
        add(&mut want, s, "success");
    }
    let grant = b.quorum(
        events::UNSEAL_GRANTED,
        "2024-02-01T08:03:00Z",
        log_data! {"ticket" => "INC-7", "reason" => "idp-outage: okta <down>",
        "custodians" => ["alice", "bob"], "entries" => ["aws-root"],
        "session_limit_s" => 900, "request" => req},
    );
    add(&mut want, grant, "success");
    let s = b.quorum(
        events::SEED_REVEALED,
        "2024-02-01T08:04:00Z",
        log_data! {"entry" => "aws-mfa", "grant" => grant, "ticket" => "INC-7"},
    );
    add(&mut want, s, "success");
    let s = b.quorum(
        events::SESSION_ENDED,
        "2024-02-01T08:10:00Z",
        log_data! {"grant" => grant, "duration_s" => 420, "how" => "closed"},
    );
    add(&mut want, s, "success");
    let s = b.unsigned(
        events::UNSEAL_REQUESTED,
        "2024-02-02T08:00:00Z",
        log_data! {"ticket" => "INC-8", "reason" => "curious"},
    );
    add(&mut want, s, "unknown");
    let s = b.quorum(
        events::UNSEAL_ABORTED,
        "2024-02-02T08:01:00Z",
        log_data! {"request" => s, "why" => "quorum not reached"},
    );
    add(&mut want, s, "failure");
    let s = b.unsigned(
        events::RESEAL_REQUESTED,
        "2024-02-01T09:00:00Z",
        log_data! {"ticket" => "INC-7", "reason" => "rotate after INC-7"},
    );
    add(&mut want, s, "unknown");
    let s = b.quorum(
        events::ROTATION_VALUES_SHOWN,
        "2024-02-01T09:05:00Z",
        log_data! {"entries" => ["aws-root"]},
    );
    add(&mut want, s, "success");
    let s = b.seal(
        "2024-02-01T09:10:00Z",
        log_data! {"reason" => "reseal", "ticket" => "INC-7", "request" => s - 1},
    );
    add(&mut want, s, "success");
    let s = b.by(
        "alice",
        events::REVIEW_RECORDED,
        "2024-02-03T12:00:00Z",
        log_data! {"grants" => [grant], "ticket" => "INC-7", "complete" => true},
    );
    add(&mut want, s, "success");
    let s = b.by(
        "alice",
        events::DRILL,
        "2024-03-01T09:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok", "token" => "t"},
    );
    add(&mut want, s, "success");
    let s = b.unsigned(
        events::DRILL,
        "2024-03-01T09:30:00Z",
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "failed", "why" => "none of bob's tokens opens this share file"},
    );
    add(&mut want, s, "failure");
    let s = b.unsigned(
        events::DRILL_REQUESTED,
        "2024-03-02T09:00:00Z",
        log_data! {"kind" => "quorum"},
    );
    add(&mut want, s, "unknown");
    let s = b.quorum(
        events::DRILL,
        "2024-03-02T09:01:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok", "request" => s, "quorum_macs_verified" => 3},
    );
    add(&mut want, s, "success");
    let s = b.unsigned(
        events::REKEY_REQUESTED,
        "2024-04-01T09:00:00Z",
        log_data! {"ticket" => "CHG-1", "reason" => "carol leaves", "add" => ["dave"], "remove" => ["carol"], "replace" => Vec::<String>::new(), "threshold" => 2},
    );
    add(&mut want, s, "unknown");
    let s = b.unsigned(
        events::INTEGRITY_OVERRIDE,
        "2024-05-01T09:00:00Z",
        log_data! {"problem" => "entry 3 is forged", "reason" => "outage", "ticket" => "INC-9", "forged" => [3]},
    );
    add(&mut want, s, "failure");
    for (ev, data, o) in [
        (
            events::SEAL_ROLLED_BACK,
            log_data! {"generation" => 3, "why" => "interrupted reseal"},
            "failure",
        ),
        (
            events::GENERATION_SET_ASIDE,
            log_data! {"generation" => 3, "moved_to" => "g3.aside"},
            "success",
        ),
        (
            events::GENERATION_INSTALLED,
            log_data! {"generation" => 2},
            "success",
        ),
        (
            events::LOG_REPAIRED,
            log_data! {"removed_bytes" => 17},
            "success",
        ),
        (
            events::RECEIPT_CHECKED,
            log_data! {"receipt" => "5:0011223344556677"},
            "success",
        ),
        ("future-event", log_data! {"x" => 1}, "unknown"),
    ] {
        let s = b.unsigned(ev, "2024-06-01T09:00:00Z", data);
        add(&mut want, s, o);
    }
    (b, want)
}

fn written() -> (tempfile::TempDir, PathBuf, BTreeMap<u64, &'static str>) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let (mut b, want) = every_event();
    b.write(&vault);
    (dir, vault, want)
}

fn fingerprint(vault: &Path) -> String {
    let v = Vault::open_read_only(vault).unwrap();
    v.read_manifest().unwrap().0.fingerprint()
}

fn export(vault: &Path, format: Format) -> Vec<String> {
    let v = Vault::open_read_only(vault).unwrap();
    let (m, _) = v.read_manifest().unwrap();
    let mut out = Vec::new();
    let (report, n) = siem::export(
        format,
        &m.fingerprint(),
        &v.log_path(),
        Some(&m.log_head),
        0,
        &mut out,
    )
    .unwrap();
    assert!(report.is_intact(), "{}", report.explain());
    let lines: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len() as u64, n);
    lines
}

fn schema(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/siem")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Leaves of a JSON object as dotted paths (arrays are leaves).
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, v, out);
            }
        }
        v => out.push((prefix.to_owned(), v.clone())),
    }
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// Checks one ECS document against the field definitions; returns it.
fn check_ecs(defs: &Value, line: &str) -> Value {
    assert!(
        line.starts_with("{\"@timestamp\":\""),
        "the entry's time comes first: {line}"
    );
    let doc: Value = serde_json::from_str(line).unwrap();
    let fields = defs["fields"].as_object().unwrap();
    let custom = defs["custom_prefix"].as_str().unwrap();
    assert!(!strs(&defs["reserved_field_sets"]).contains(&custom));
    let mut all = Vec::new();
    leaves("", &doc, &mut all);
    for (path, v) in &all {
        if path.starts_with(&format!("{custom}.")) {
            continue;
        }
        if let Some(label) = path.strip_prefix("labels.") {
            assert!(!label.contains('.'), "labels are flat: {path}");
            assert!(v.is_string(), "labels are keywords: {path} = {v}");
            continue;
        }
        let def = fields
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not an ECS field we use: {line}"));
        let ty = def["type"].as_str().unwrap();
        let is_array = def.get("array").and_then(Value::as_bool).unwrap_or(false);
        let values: Vec<&Value> = match v {
            Value::Array(a) => {
                assert!(is_array, "{path} is not an array field");
                assert!(!a.is_empty(), "{path} is empty");
                a.iter().collect()
            }
            v => vec![v],
        };
        for x in values {
            match ty {
                "keyword" | "match_only_text" => assert!(x.is_string(), "{path}: {x}"),
                "long" => assert!(x.is_i64() || x.is_u64(), "{path}: {x}"),
                "date" => {
                    breakglass::clock::Timestamp::parse(x.as_str().unwrap()).unwrap();
                }
                t => panic!("type {t} not handled"),
            }
            if let Some(allowed) = def.get("allowed") {
                assert!(
                    strs(allowed).contains(&x.as_str().unwrap()),
                    "{path}: {x} is not an allowed value"
                );
            }
        }
    }
    let present: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
    for r in strs(&defs["required"]) {
        assert!(present.contains(&r), "{r} missing: {line}");
    }
    // Every event.type is one ECS expects with every event.category given.
    for c in strs(&doc["event"]["category"]) {
        let expected = strs(&defs["expected_event_types"][c]);
        for t in strs(&doc["event"]["type"]) {
            assert!(expected.contains(&t), "{c} does not expect type {t}");
        }
    }
    doc
}

#[test]
fn ecs_export_matches_the_ecs_field_definitions_for_every_event() {
    let (_d, vault, want) = written();
    let defs = schema("ecs-8.11-fields.json");
    let fpr = fingerprint(&vault);
    let lines = export(&vault, Format::Ecs);
    let plain = export(&vault, Format::Jsonl);
    assert_eq!(lines.len(), want.len());
    for (line, plain) in lines.iter().zip(&plain) {
        let doc = check_ecs(&defs, line);
        let entry: Value = serde_json::from_str(plain).unwrap();
        let seq = entry["seq"].as_u64().unwrap();
        let ev = &doc["event"];
        assert_eq!(doc["@timestamp"], entry["time"]);
        assert_eq!(ev["sequence"], seq);
        assert_eq!(ev["action"], entry["event"]);
        assert_eq!(ev["kind"], "event");
        assert_eq!(ev["outcome"], want[&seq], "seq {seq} {}", entry["event"]);
        assert_eq!(ev["id"], entry["hash"]);
        assert_eq!(doc["ecs"]["version"], defs["ecs_version"]);
        assert_eq!(doc["observer"]["product"], "breakglass");
        assert_eq!(doc["observer"]["vendor"], "breakglass");
        assert_eq!(doc["breakglass"]["vault"]["fingerprint"], fpr.as_str());
        assert_eq!(doc["breakglass"]["vault"]["id"], entry["vault"]);
        assert_eq!(doc["breakglass"]["data"], entry["data"]);
        assert_eq!(doc["breakglass"]["auth"], entry["auth"]);
        let data = &entry["data"];
        if let Some(t) = data["ticket"].as_str().filter(|t| !t.is_empty()) {
            assert_eq!(doc["labels"]["ticket"], t);
        }
        if let Some(r) = data["reason"].as_str() {
            assert_eq!(ev["reason"], r);
        } else if let Some(w) = data["why"].as_str() {
            assert_eq!(ev["reason"], w);
        }
        if let Some(c) = data["custodian"].as_str() {
            assert_eq!(doc["user"]["name"], c);
            assert!(strs(&doc["related"]["user"]).contains(&c));
        }
        if let Some(cs) = data["custodians"].as_array() {
            for c in cs {
                assert!(strs(&doc["related"]["user"]).contains(&c.as_str().unwrap()));
            }
        }
        if let Some(s) = entry["signer"].as_str() {
            assert!(strs(&doc["related"]["user"]).contains(&s));
        }
    }
    // The hostile reason stays JSON text (escaped by JSON, not altered).
    let granted = lines
        .iter()
        .find(|l| l.contains("\"action\":\"unseal-granted\""))
        .unwrap();
    let doc: Value = serde_json::from_str(granted).unwrap();
    assert_eq!(doc["event"]["reason"], "idp-outage: okta <down>");
    assert_eq!(
        strs(&doc["event"]["category"]),
        ["authentication", "session"]
    );
    assert_eq!(strs(&doc["related"]["user"]), ["alice", "bob"]);
    assert!(
        doc.get("user").is_none(),
        "two custodians: no single user.name"
    );
}

/// Checks `obj` against the attribute definitions `attrs` (objects by name
/// in `objects`), recursively.
fn check_ocsf_attrs(objects: &Value, attrs: &Map<String, Value>, obj: &Value, at: &str) {
    let m = obj
        .as_object()
        .unwrap_or_else(|| panic!("{at} is an object"));
    for (k, v) in m {
        let def = attrs
            .get(k)
            .unwrap_or_else(|| panic!("{at}{k} is not an OCSF attribute we use"));
        match def["type"].as_str().unwrap() {
            "string_t" => assert!(v.is_string(), "{at}{k}: {v}"),
            "integer_t" | "long_t" => assert!(v.is_u64() || v.is_i64(), "{at}{k}: {v}"),
            "timestamp_t" => {
                let ms = v.as_u64().unwrap_or_else(|| panic!("{at}{k}: {v}"));
                // Milliseconds: after 2001 and before 2286 as such.
                assert!((1_000_000_000_000..10_000_000_000_000).contains(&ms));
            }
            "object_t" => {
                let name = def["object"].as_str().unwrap();
                if name == "object" {
                    assert!(v.is_object(), "{at}{k}");
                } else {
                    let sub = objects[name].as_object().unwrap();
                    check_ocsf_attrs(objects, sub, v, &format!("{at}{k}."));
                }
            }
            t => panic!("type {t} not handled"),
        }
        if let Some(e) = def.get("enum") {
            let id = v.as_u64().unwrap().to_string();
            let caption = e
                .get(&id)
                .unwrap_or_else(|| panic!("{at}{k} = {id} is not in the enumeration"));
            if let Some(sib) = def.get("sibling").and_then(Value::as_str) {
                if let Some(s) = m.get(sib) {
                    assert_eq!(s, caption, "{at}{sib} is the caption of {k}");
                }
            }
        }
    }
    for (k, def) in attrs {
        if def["requirement"] == "required" {
            assert!(m.contains_key(k), "required {at}{k} missing: {obj}");
        }
    }
}

#[test]
fn ocsf_export_matches_the_ocsf_class_definitions_for_every_event() {
    let (_d, vault, want) = written();
    let defs = schema("ocsf-1.1-classes.json");
    let fpr = fingerprint(&vault);
    let lines = export(&vault, Format::Ocsf);
    let plain = export(&vault, Format::Jsonl);
    assert_eq!(lines.len(), want.len());
    let mut classes_seen = std::collections::BTreeSet::new();
    for (line, plain) in lines.iter().zip(&plain) {
        assert!(line.starts_with("{\"time\":"), "time first: {line}");
        let ev: Value = serde_json::from_str(line).unwrap();
        let entry: Value = serde_json::from_str(plain).unwrap();
        let seq = entry["seq"].as_u64().unwrap();
        let class = defs["classes"]
            .as_object()
            .unwrap()
            .values()
            .find(|c| c["uid"] == ev["class_uid"])
            .unwrap_or_else(|| panic!("class {} not defined", ev["class_uid"]));
        classes_seen.insert(class["name"].as_str().unwrap().to_owned());
        let mut attrs = defs["base_event"].as_object().unwrap().clone();
        attrs.extend(class["attributes"].as_object().unwrap().clone());
        check_ocsf_attrs(&defs["objects"], &attrs, &ev, "");
        assert_eq!(ev["class_name"], class["name"]);
        assert_eq!(ev["category_uid"], class["category_uid"]);
        let cat = ev["category_uid"].as_u64().unwrap().to_string();
        assert_eq!(ev["category_name"], defs["categories"][&cat]);
        let act = ev["activity_id"].as_u64().unwrap();
        assert_eq!(
            ev["activity_name"],
            class["activities"][act.to_string()],
            "activity {act} of {}",
            class["name"]
        );
        assert_eq!(
            ev["type_uid"].as_u64().unwrap(),
            ev["class_uid"].as_u64().unwrap() * 100 + act
        );
        assert_eq!(
            ev["type_name"],
            format!(
                "{}: {}",
                class["name"].as_str().unwrap(),
                ev["activity_name"].as_str().unwrap()
            )
        );
        let time = breakglass::clock::Timestamp::parse(entry["time"].as_str().unwrap()).unwrap();
        assert_eq!(ev["time"].as_u64().unwrap(), time.0 as u64 * 1000);
        let status = match want[&seq] {
            "success" => 1,
            "failure" => 2,
            _ => 0,
        };
        assert_eq!(ev["status_id"], status, "seq {seq} {}", entry["event"]);
        assert_eq!(ev["metadata"]["version"], defs["ocsf_version"]);
        assert_eq!(ev["metadata"]["product"]["name"], "breakglass");
        assert_eq!(ev["metadata"]["sequence"], seq);
        assert_eq!(ev["metadata"]["uid"], entry["hash"]);
        let u = &ev["unmapped"];
        assert_eq!(u["vault_fingerprint"], fpr.as_str());
        assert_eq!(u["data"], entry["data"]);
        assert_eq!(u["event"], entry["event"]);
        if let Some(c) = entry["data"]["custodian"].as_str() {
            assert_eq!(ev["user"]["name"], c);
        }
        if status == 2 {
            let why = entry["data"]["why"]
                .as_str()
                .or(entry["data"]["reason"].as_str());
            assert_eq!(ev["status_detail"].as_str(), why, "{line}");
        }
        match entry["event"].as_str().unwrap() {
            "unseal-granted" => {
                assert_eq!((ev["class_uid"].as_u64(), act), (Some(3002), 1));
                assert_eq!(ev["severity_id"], 4);
                assert_eq!(ev["user"]["name"], "alice,bob");
                assert_eq!(u["ticket"], "INC-7");
            }
            "session-ended" => assert_eq!((ev["class_uid"].as_u64(), act), (Some(3002), 2)),
            "integrity-override" => assert_eq!(ev["severity_id"], 5),
            "custodian-enrolled" => assert_eq!((ev["class_uid"].as_u64(), act), (Some(3001), 1)),
            _ => {}
        }
    }
    assert_eq!(
        classes_seen.into_iter().collect::<Vec<_>>(),
        ["Account Change", "Authentication", "Base Event"]
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_breakglass"))
}

#[test]
fn cli_export_format_flag() {
    let (_d, vault, want) = written();
    let last = *want.keys().last().unwrap();
    for (name, format) in [
        ("jsonl", Format::Jsonl),
        ("ecs", Format::Ecs),
        ("ocsf", Format::Ocsf),
    ] {
        let o = bin()
            .args(["log", "export", "--format", name, "--vault"])
            .arg(&vault)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let want: String = export(&vault, format)
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(String::from_utf8(o.stdout).unwrap(), want);
    }
    // The default stays our own members.
    let o = bin()
        .args(["log", "export", "--vault"])
        .arg(&vault)
        .output()
        .unwrap();
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .starts_with("{\"auth\":"));
    let o = bin()
        .args(["log", "export", "--format", "cef", "--vault"])
        .arg(&vault)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cef") && err.contains("ecs") && err.contains("ocsf"),
        "{err}"
    );
    // --after keeps working in the SIEM formats.
    let o = bin()
        .args([
            "log",
            "export",
            "--format",
            "ocsf",
            "--after",
            &(last - 3).to_string(),
            "--vault",
        ])
        .arg(&vault)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let seqs: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["metadata"]["sequence"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [last - 2, last - 1, last]);
}

// ------------------------------------------------------ the auditor's report

/// A two-year history for the auditor page: created 2023-01-10; INC-1
/// reviewed and resealed; INC-2 outside the scenarios, reviewed; INC-3 never
/// reviewed; three drills on one day (bob twice, one failed, and a quorum
/// drill); INC-4 neither reviewed nor resealed; a hostile ticket.
fn report_history() -> SignedHistory {
    let mut b = SignedHistory::new();
    b.init("2023-01-10T10:00:00Z", &["alice", "bob", "carol"], 2);
    let grant = |t: &str, r: &str, c: [&str; 2]| {
        log_data! {"ticket" => t, "reason" => r, "custodians" => c,
        "entries" => ["aws-root"], "session_limit_s" => 900, "request" => 0}
    };
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-02-01T08:05:00Z",
        grant("INC-1", "idp-outage: okta down", ["alice", "bob"]),
    );
    b.seal(
        "2023-02-01T10:05:00Z",
        log_data! {"reason" => "reseal", "ticket" => "INC-1"},
    );
    b.by(
        "alice",
        events::REVIEW_RECORDED,
        "2023-02-03T12:00:00Z",
        log_data! {"grants" => [6], "ticket" => "INC-1", "complete" => true},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-05-10T00:00:00Z",
        grant("INC-2", "curious", ["alice", "carol"]),
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2023-05-10T06:00:00Z",
        grant("INC-3", "root-only: close account", ["bob", "carol"]),
    );
    b.seal("2023-05-10T10:00:00Z", log_data! {"reason" => "reseal"});
    b.by(
        "carol",
        events::REVIEW_RECORDED,
        "2023-05-12T00:00:00Z",
        log_data! {"grants" => [9], "ticket" => "INC-2", "complete" => true},
    );
    b.by(
        "bob",
        events::DRILL,
        "2023-09-01T09:00:00Z",
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "failed", "why" => "wrong PIN"},
    );
    b.by(
        "bob",
        events::DRILL,
        "2023-09-01T09:10:00Z",
        log_data! {"kind" => "custodian", "custodian" => "bob", "result" => "ok"},
    );
    b.quorum(
        events::DRILL,
        "2023-09-01T11:00:00Z",
        log_data! {"kind" => "quorum", "custodians" => ["alice", "carol"], "result" => "ok", "request" => 0},
    );
    b.quorum(
        events::UNSEAL_GRANTED,
        "2024-11-20T12:00:00Z",
        grant(
            "<script>alert(1)</script>",
            "idp-outage: \"x\" & <y>",
            ["alice", "bob"],
        ),
    );
    b
}

const SCENARIOS: &[u8] = b"idp-outage  IdP down\nroot-only   root-only tasks\n";

fn report_vault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    report_history().write(&vault);
    std::fs::write(vault.join("scenarios"), SCENARIOS).unwrap();
    (dir, vault)
}

fn page(vault: &Path, from: Option<&str>) -> String {
    use breakglass::clock::Timestamp;
    use breakglass::governance::{html, report};
    let v = Vault::open_read_only(vault).unwrap();
    let r = report::report(
        &v,
        from.map(|f| Timestamp::parse(f).unwrap()),
        None,
        Some(report::Scenarios::parse(SCENARIOS).unwrap()),
        Timestamp::parse("2025-01-15T00:00:00Z").unwrap(),
    )
    .unwrap();
    html::render(&r, signed_history::VAULT)
}

/// The table row (`<tr…>…</tr>`) of the events table naming `ticket`.
fn row<'a>(page: &'a str, ticket: &str) -> &'a str {
    let events = &page[page.find("<table class=\"events\">").unwrap()..];
    events
        .split("</tr>")
        .find(|r| r.contains(&format!("<td>{ticket}</td>")))
        .unwrap_or_else(|| panic!("no row for {ticket}"))
}

#[test]
fn html_report_has_legend_ticks_stacks_flags_and_attestation() {
    let (_d, vault) = report_vault();
    let p = page(&vault, None);
    // Legend, with meaning in words.
    for meaning in [
        "activation: an unseal was granted",
        "reseal: credentials rotated",
        "post-incident review recorded",
        "drill passed",
        "drill failed",
        "custodians or threshold changed",
        "ringed: activation flagged",
    ] {
        assert!(p.contains(meaning), "legend lacks {meaning}");
    }
    // Lanes labelled; the axis starts at vault creation; month ticks (every
    // second month over two years), years in bold.
    for lane in ["unseals", "reseals", "reviews", "drills", "rekeys"] {
        assert!(p.contains(&format!(">{lane}</text>")), "lane {lane}");
    }
    assert!(p.contains(
        "Axis from 2023-01-10T10:00:00Z (vault creation) to 2025-01-15T00:00:00Z (report time)"
    ));
    for tick in [">2023-03<", ">2023-05<", ">2024<", ">2025<"] {
        assert!(p.contains(tick), "tick {tick}");
    }
    assert!(p.contains("font-weight=\"bold\">2024</text>"));
    // The three drills of 2023-09-01 are stacked: same x, y one step apart.
    let drills: Vec<(f64, f64)> = p
        .lines()
        .filter(|l| {
            l.starts_with("<g><title>#") && l.contains(" drill") && l.contains("2023-09-01")
        })
        .map(|l| {
            let pts = l.split("points=\"").nth(1).unwrap();
            let first = pts.split(' ').next().unwrap();
            let (x, y) = first.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert_eq!(drills.len(), 3, "{drills:?}");
    assert!(drills.iter().all(|d| d.0 == drills[0].0), "{drills:?}");
    let mut ys: Vec<f64> = drills.iter().map(|d| d.1).collect();
    ys.sort_by(f64::total_cmp);
    assert!(
        ys.windows(2).all(|w| (w[1] - w[0] - 10.0).abs() < 0.01),
        "{ys:?}"
    );
    // Events table: ticket, reason, custodians, flags in words.
    let r1 = row(&p, "INC-1");
    assert!(r1.contains("<td>idp-outage: okta down</td>") && r1.contains("<td>alice, bob</td>"));
    assert!(!r1.contains("class=\"bad\""), "INC-1 is clean: {r1}");
    assert!(row(&p, "INC-2").contains("<td>outside scenarios</td>"));
    assert!(row(&p, "INC-3").contains("<td>not reviewed</td>"));
    let r4 = row(&p, "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert!(r4.contains("not reviewed, not resealed"), "{r4}");
    assert!(r4.contains("idp-outage: &quot;x&quot; &amp; &lt;y&gt;"));
    assert!(!p.contains("<script"));
    // Print stylesheet, attestation block, fingerprint, no external resource,
    // footer pointing at the format document that exists.
    assert!(p.contains("@media print{"));
    assert!(p.contains("<h2>Attestation</h2>") && p.contains("signature"));
    let fpr = fingerprint(&vault);
    assert!(p.contains(&format!("<code class=\"fpr\">{fpr}</code>")));
    for external in [
        "src=",
        "href=",
        "@import",
        "url(",
        "http://www.w3.org/1999/xlink",
    ] {
        assert!(!p.contains(external), "external reference {external}");
    }
    assert!(p.contains("<code>docs/formats.md</code>") && !p.contains("log-format"));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/formats.md")
        .is_file());
    // A range start moves the axis there.
    let p = page(&vault, Some("2023-06-01T00:00:00Z"));
    assert!(p.contains("Axis from 2023-06-01T00:00:00Z (range start)"));
    assert!(!p.contains("INC-1"));
}

/// The page as the CLI writes it (with the receipt's QR code).
fn cli_page(vault: &Path, dir: &Path) -> (PathBuf, String) {
    let out = dir.join("report.html");
    let o = bin()
        .args(["report", "--vault"])
        .arg(vault)
        .arg("--html")
        .arg(&out)
        .output()
        .unwrap();
    // Exit 1: the page's history misses targets (that is what it shows).
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The receipt of the last entry of the log.
    let last: Value = serde_json::from_str(export(vault, Format::Jsonl).last().unwrap()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let receipt = format!(
        "bg1:{}:{}:{}",
        last["vault"].as_str().unwrap(),
        last["seq"],
        last["hash"].as_str().unwrap()
    );
    assert!(
        text.contains(&format!("<code>{receipt}</code>")),
        "receipt on the page"
    );
    assert!(text.contains("aria-label=\"QR code of the receipt\""));
    (out, receipt)
}

/// Whether `tool` runs; when it does not: a failure in CI
/// (`BREAKGLASS_REQUIRE_INTEROP`, set by scripts/test-all), else a skip
/// with a message.
fn have(tool: &str, package: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_none(),
            "{tool} is missing: install Debian's {package} (scripts/install-deps)"
        );
        eprintln!("SKIPPED: {tool} not found; install Debian's {package} (scripts/install-deps) to run this test");
    }
    ok
}

#[test]
fn html_report_passes_tidy_with_no_errors() {
    if !have("tidy", "tidy") {
        return;
    }
    let (d, vault) = report_vault();
    let (out, _) = cli_page(&vault, d.path());
    let o = Command::new("tidy")
        .args(["-e", "-q", "--show-warnings", "yes"])
        .arg(&out)
        .output()
        .unwrap();
    let msgs = String::from_utf8_lossy(&o.stderr);
    // tidy exits 2 on errors, 1 on warnings: the page has neither.
    assert_eq!(o.status.code(), Some(0), "tidy:\n{msgs}");
    assert!(!msgs.contains("Error:"), "{msgs}");
    // Also the library's page without a receipt, and an empty range.
    let (d2, vault2) = report_vault();
    for (name, p) in [
        ("all.html", page(&vault2, None)),
        ("empty.html", page(&vault2, Some("2026-01-01T00:00:00Z"))),
    ] {
        let f = d2.path().join(name);
        std::fs::write(&f, p).unwrap();
        let o = Command::new("tidy")
            .args(["-e", "-q"])
            .arg(&f)
            .output()
            .unwrap();
        let msgs = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{name}: tidy:\n{msgs}");
    }
}

/// Chromium's flags for one headless run with a fresh profile, nothing
/// fetched in the background.
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn html_report_renders_in_headless_chromium() {
    if !have("chromium", "chromium") {
        return;
    }
    let (d, vault) = report_vault();
    let (page_file, receipt) = cli_page(&vault, d.path());
    let url = format!("file://{}", page_file.display());
    // The DOM as Chromium parsed it, and its console (no script may fail,
    // no resource may be fetched).
    let o = chromium(&d.path().join("profile-dom"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(dom.contains("<h2>Attestation</h2>") && dom.contains("class=\"timeline\""));
    let console = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| {
                ["CONSOLE", "Uncaught", "Failed to load resource"]
                    .iter()
                    .any(|b| l.contains(b))
            })
            .map(str::to_owned)
            .collect()
    };
    let hits = console(&String::from_utf8_lossy(&o.stderr));
    assert!(hits.is_empty(), "console errors: {hits:#?}");
    // The console check sees errors (a control page with a failing script).
    let bad = d.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><title>x</title><script>nope();</script>",
    )
    .unwrap();
    let o = chromium(&d.path().join("profile-bad"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", bad.display()))
        .output()
        .unwrap();
    let hits = console(&String::from_utf8_lossy(&o.stderr));
    assert!(
        hits.iter().any(|l| l.contains("nope")),
        "the console check is blind: {hits:?}"
    );
    // A screenshot: a real PNG of some size, not a blank image — the QR code
    // in it decodes to the receipt (when zbarimg is there).
    let shot = d.path().join("report.png");
    let o = chromium(&d.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1280,3600"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (1280, 3600));
    // Not blank: a blank page of the same size, shot the same way,
    // compresses to a few kB; this one has text, tables, the timeline and
    // the QR code (decoded below).
    let empty = d.path().join("empty.html");
    std::fs::write(&empty, "<!DOCTYPE html><title>x</title>").unwrap();
    let blank = d.path().join("blank.png");
    let o = chromium(&d.path().join("profile-blank"))
        .arg(format!("--screenshot={}", blank.display()))
        .args(["--window-size=1280,3600"])
        .arg(format!("file://{}", empty.display()))
        .output()
        .unwrap();
    assert!(o.status.success());
    let blank = std::fs::read(&blank).unwrap().len();
    assert!(
        png.len() > 10 * blank && png.len() > 40_000,
        "screenshot looks blank: {} bytes, a blank page {blank}",
        png.len()
    );
    // Printed (the print stylesheet): A4 landscape, the attestation on a
    // page of its own, so at least two pages.
    let pdf = d.path().join("report.pdf");
    let o = chromium(&d.path().join("profile-pdf"))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pdf = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    // Numbers after `key` in the first dictionary that has it.
    let numbers = |key: &str, from: usize| -> Vec<f64> {
        let at = from
            + text[from..]
                .find(key)
                .unwrap_or_else(|| panic!("no {key} in the PDF"));
        text[at + key.len()..]
            .split(['/', '>', ']'])
            .next()
            .unwrap()
            .split_whitespace()
            .map(|n| n.trim_start_matches('[').parse().unwrap())
            .collect()
    };
    // The page tree's dictionary, whichever order its keys come in.
    let tree = text.find("/Type /Pages").expect("no page tree in the PDF");
    let dict = text[..tree].rfind("<<").unwrap();
    let pages = numbers("/Count", dict)[0];
    assert!(pages >= 2.0, "{pages} pages");
    let media = numbers("/MediaBox", 0);
    let (w, h) = (media[2] - media[0], media[3] - media[1]);
    assert!(
        (w - 841.9).abs() < 2.0 && (h - 595.3).abs() < 2.0,
        "not A4 landscape: {media:?}"
    );
    if have("zbarimg", "zbar-tools") {
        let o = Command::new("zbarimg")
            .args(["--quiet", "--raw"])
            .arg(&shot)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            receipt,
            "the QR code on the page"
        );
    }
}

#[test]
fn html_report_counts_what_a_full_stack_cannot_draw() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut b = SignedHistory::new();
    b.init("2024-01-10T10:00:00Z", &["alice", "bob", "carol"], 2);
    for i in 0..6 {
        b.by(
            "alice",
            events::DRILL,
            format!("2024-03-01T09:{i:02}:00Z").as_str(),
            log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
        );
    }
    b.write(&vault);
    let p = page(&vault, None);
    let drawn = p
        .lines()
        .filter(|l| l.starts_with("<g><title>#") && l.contains("2024-03-01"))
        .count();
    assert_eq!(drawn, 3, "three marks and +3");
    assert!(p.contains(">+3</text>"));
    // The table still lists all six.
    assert_eq!(p.matches("<td>drill</td>").count(), 6);
}
