//! `totp::TotpSeed::parse` (base32 or otpauth:// URI): never panics; an
//! accepted seed round-trips through its canonical URI.
#![no_main]

use breakglass::totp::TotpSeed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(seed) = TotpSeed::parse(text) {
        let uri = seed.to_otpauth_uri("fuzz");
        let again = TotpSeed::parse(uri.expose()).expect("the canonical URI parses");
        assert_eq!(again.secret_bytes(), seed.secret_bytes());
        let (a, b) = (seed.params(), again.params());
        assert_eq!((a.digits, a.period), (b.digits, b.period));
        assert_eq!(seed.code_at(59).unwrap(), again.code_at(59).unwrap());
    }
});
