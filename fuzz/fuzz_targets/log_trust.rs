//! `log::trust`: a whole log of arbitrary lines goes through the
//! authenticator without a panic; every entry gets exactly one verdict, the
//! counts add up, and judging any manifest against what it found answers.
#![no_main]

use breakglass::log::{self, trust::Authenticator};
use breakglass::sign::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut auth = Authenticator::new();
    let mut seen = 0u64;
    for line in text.split('\n') {
        if let Ok(entry) = log::parse_line(line) {
            auth.observe(&entry);
            seen += 1;
        }
    }
    let t = auth.finish();
    assert_eq!(
        t.quorum_signed + t.custodian_signed + t.unsigned + t.legacy + t.forged_count,
        seen,
        "every entry gets one verdict"
    );
    assert!(t.findings.len() as u64 <= t.forged_count);
    let _ = t.check_manifest(1, &PublicKey([0; 32]), &"00".repeat(32));
    let _ = t.certified_generations();
});
