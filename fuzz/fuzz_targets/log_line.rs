//! `log::parse_line`: never panics; whatever it accepts re-encodes (from the
//! parsed fields, by the writer's rules of docs/formats.md §7) to the exact
//! line, and a format 2 entry has a signed body: the line without `hash` and
//! without `sig.value`, which the signature's value alone separates from it.
#![no_main]

use breakglass::encoding::{hex, parse_canonical};
use breakglass::log::{self, Seal};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // A log line is UTF-8 without its terminating LF (verify() splits on LF).
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entry) = log::parse_line(line) {
        let again = log::encode_entry(&entry).expect("a parsed entry re-encodes");
        assert_eq!(again, line, "accepted a non-canonical log line");
        let body = entry
            .signed_body()
            .expect("a parsed entry has a signed body");
        let Ok(Value::Object(mut o)) = parse_canonical(line) else {
            panic!("an accepted line is a canonical object")
        };
        o.remove("hash");
        if let Seal::Signed { value, .. } = &entry.seal {
            let sig = o
                .get_mut("sig")
                .and_then(Value::as_object_mut)
                .expect("sig");
            assert_eq!(sig.remove("value"), Some(Value::String(hex(value))));
        }
        let expected = breakglass::encoding::canonical_json(&Value::Object(o)).unwrap();
        assert_eq!(
            body, expected,
            "the signed body is the line without hash and sig.value"
        );
    }
});
