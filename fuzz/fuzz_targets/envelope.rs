//! `Envelope::decode`: never panics; whatever it accepts re-encodes to the
//! exact input (canonical encoding, docs/formats.md §6) and is bound to the
//! values it states.
#![no_main]

use breakglass::envelope::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Envelope::decode(data) {
        assert_eq!(&e.encode()[..], data, "accepted a non-canonical envelope");
        assert!((2..=32).contains(&e.threshold), "threshold out of range");
        assert!((1..=32).contains(&e.share.x), "x out of range");
        assert!(e.generation >= 1, "generation 0");
        assert!(breakglass::names::is_valid(&e.custodian), "invalid name");
        e.check_binding(
            &e.vault_id,
            e.generation,
            &e.custodian,
            e.threshold,
            e.share.x,
        )
        .expect("an envelope is bound to its own fields");
    }
});
