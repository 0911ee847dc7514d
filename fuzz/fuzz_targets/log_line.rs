//! `log::parse_line`: never panics; whatever it accepts re-encodes (from the
//! parsed fields, by the writer's rules of docs/formats.md §6) to the exact line.
#![no_main]

use breakglass::encoding::canonical_json;
use breakglass::log;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fn encode(e: &log::Entry) -> String {
    let mut o = Map::new();
    o.insert("data".into(), Value::Object(e.data.clone()));
    o.insert("event".into(), Value::String(e.event.clone()));
    o.insert("generation".into(), Value::from(e.generation));
    o.insert("hash".into(), Value::String(e.hash.clone()));
    if let Some(m) = &e.mac {
        o.insert("mac".into(), Value::String(m.clone()));
    }
    o.insert("prev".into(), Value::String(e.prev.clone()));
    o.insert("seq".into(), Value::from(e.seq));
    o.insert("time".into(), Value::String(e.time.to_rfc3339()));
    o.insert("vault".into(), Value::String(e.vault.clone()));
    canonical_json(&Value::Object(o)).expect("a parsed entry re-encodes")
}

fuzz_target!(|data: &[u8]| {
    // A log line is UTF-8 without its terminating LF (verify() splits on LF).
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entry) = log::parse_line(line) {
        assert_eq!(encode(&entry), line, "accepted a non-canonical log line");
    }
});
