//! `Envelope::decode`: never panics; whatever it accepts re-encodes to the
//! exact input (canonical encoding, docs/formats.md §4).
#![no_main]

use breakglass::envelope::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Envelope::decode(data) {
        assert_eq!(&e.encode()[..], data, "accepted a non-canonical envelope");
    }
});
