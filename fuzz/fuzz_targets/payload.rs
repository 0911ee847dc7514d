//! `Payload::from_bytes` (decrypted plaintext, docs/formats.md §8): never
//! panics; an accepted payload serialises and parses again to the same index.
//! The payload is not a canonical encoding (it never touches disk in the
//! clear), so there is no byte-for-byte round-trip.
#![no_main]

use breakglass::payload::Payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Payload::from_bytes(data) {
        let bytes = p.to_bytes().expect("an accepted payload serialises");
        let again = Payload::from_bytes(&bytes).expect("a written payload parses");
        assert_eq!(again.index(), p.index());
        assert_eq!(
            &*again.to_bytes().unwrap(),
            &*bytes,
            "serialisation is stable"
        );
    }
});
