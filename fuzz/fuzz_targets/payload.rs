//! `Payload::from_bytes` (decrypted plaintext, docs/formats.md §12.4): never
//! panics; an accepted payload serialises and parses again to the same index,
//! and every TOTP entry holds what the writer stores: a seed in canonical
//! base32 (upper case, unpadded) with parameters `TotpSeed` accepts, so the
//! codes can be shown.
//! The payload is not a canonical encoding (it never touches disk in the
//! clear), so there is no byte-for-byte round-trip.
#![no_main]

use breakglass::payload::{Entry, Payload};
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
        for e in &p.entries {
            if let Entry::Totp { seed, .. } = e {
                let s = e
                    .totp_seed()
                    .expect("an accepted TOTP entry holds a usable seed");
                assert_eq!(
                    s.to_base32().expose(),
                    seed.as_str(),
                    "accepted a TOTP seed not in canonical base32"
                );
            }
        }
    }
});
