//! The remote custodian parsers (docs/remote.md): requests, responses and
//! their text blocks, all read from a channel a relay controls. Never
//! panics; whatever parses re-encodes to the exact input (the digest and
//! the code are of those bytes); a block decodes to what it encodes.
//! The first byte picks the parser.
#![no_main]

use breakglass::clock::Timestamp;
use breakglass::remote::{armor, decode_any, Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(r) = Request::parse(rest) {
                assert_eq!(
                    r.to_bytes().unwrap(),
                    rest,
                    "accepted a non-canonical request"
                );
            }
            // A fingerprint no vault has (a second preimage of 128 bits): refused, never a panic.
            let v = Request::verify(
                rest,
                "0000-0000-0000-0000-0000-0000-0000-0000",
                Timestamp(0),
            );
            assert!(
                v.is_err(),
                "a request verified under the all-zero fingerprint"
            );
        }
        1 => {
            if let Ok(r) = Response::parse(rest) {
                assert_eq!(
                    r.to_bytes().unwrap(),
                    rest,
                    "accepted a non-canonical response"
                );
                assert!(r.signed_body().is_ok());
            }
        }
        2 => {
            let text = String::from_utf8_lossy(rest);
            for kind in [armor::Kind::Request, armor::Kind::Response] {
                if let Ok(bytes) = armor::decode(kind, &text) {
                    let again = armor::encode(kind, &bytes);
                    assert_eq!(armor::decode(kind, &again).unwrap(), bytes);
                }
            }
            let _ = decode_any(armor::Kind::Response, rest);
        }
        _ => {
            let block = armor::encode(armor::Kind::Request, rest);
            assert_eq!(armor::decode(armor::Kind::Request, &block).unwrap(), rest);
            let parts = armor::qr_parts(&block);
            assert_eq!(parts.concat(), block);
            assert!(parts.iter().all(|p| p.len() <= armor::QR_PART));
        }
    }
});
