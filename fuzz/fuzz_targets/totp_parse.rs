//! `totp::TotpSeed::parse` (base32 or otpauth:// URI): never panics; an
//! accepted seed round-trips through its canonical URI, which is a fixed
//! point; a URI gives the same answer through `parse` and `from_otpauth_uri`.
#![no_main]

use breakglass::totp::TotpSeed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = TotpSeed::parse(text);
    if text
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .contains(':')
    {
        let direct = TotpSeed::from_otpauth_uri(text);
        assert_eq!(
            parsed.as_ref().err().map(|e| e.to_string()),
            direct.as_ref().err().map(|e| e.to_string()),
            "parse and from_otpauth_uri disagree"
        );
    }
    if let Ok(seed) = parsed {
        let a = seed.params();
        assert!(a.validate().is_ok(), "accepted invalid parameters");
        let uri = seed.to_otpauth_uri("fuzz");
        let again = TotpSeed::parse(uri.expose()).expect("the canonical URI parses");
        assert_eq!(again.secret_bytes(), seed.secret_bytes());
        let b = again.params();
        assert_eq!(
            (a.algorithm, a.digits, a.period, &a.issuer),
            (b.algorithm, b.digits, b.period, &b.issuer)
        );
        if a.account.is_some() {
            assert_eq!(a.account, b.account);
        }
        assert_eq!(again.to_otpauth_uri("fuzz").expose(), uri.expose());
        let code = seed.code_at(59).unwrap();
        assert_eq!(code.len(), usize::from(a.digits));
        assert_eq!(code, again.code_at(59).unwrap());
    }
});
