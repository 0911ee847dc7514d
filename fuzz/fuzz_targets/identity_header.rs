//! `software::header` (public part of an identity file, no KDF work): never
//! panics; accepted files are canonical JSON, name a valid custodian, and
//! their KDF parameters are within the caps (docs/formats.md §12.1).
#![no_main]

use breakglass::encoding;
use breakglass::token::software;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = software::header(data, "fuzz") {
        assert!(
            h.kdf.validate().is_ok(),
            "accepted out-of-range KDF parameters"
        );
        assert!(
            breakglass::names::is_valid(&h.name),
            "accepted an invalid name"
        );
        assert!(
            h.recipient.starts_with("age1"),
            "accepted a non-age recipient"
        );
        let text = std::str::from_utf8(data).expect("accepted input is UTF-8");
        let body = text
            .strip_suffix('\n')
            .expect("accepted input ends with LF");
        let v = encoding::parse_canonical(body).expect("accepted input is canonical");
        assert_eq!(encoding::canonical_json(&v).unwrap(), body);
    }
});
