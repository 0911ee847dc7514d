//! `Manifest::from_bytes`: never panics; whatever it accepts re-encodes to the
//! exact input (canonical encoding, docs/formats.md §3).
#![no_main]

use breakglass::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_bytes(data) {
        let again = m.to_bytes().expect("an accepted manifest re-encodes");
        assert_eq!(again, data, "accepted a non-canonical manifest");
        // The fingerprint is a function of exactly these bytes.
        assert_eq!(m.fingerprint(), breakglass::manifest::fingerprint_of(data));
    }
});
