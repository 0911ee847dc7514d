//! PIV attestation under a **test** certificate authority.
//!
//! Real YubiKeys (before firmware 5.7.4) carry an RSA-2048 attestation key in
//! slot F9 whose certificate (`CN=Yubico PIV Attestation`) is issued by
//! `Yubico PIV Root CA Serial 263751`; `ATTEST` returns a certificate for a slot
//! key signed by that F9 key (sha256WithRSAEncryption), with Yubico's private
//! extensions. This module reproduces that structure byte for byte in shape
//! (see `shared/yubico-pki/vectors/*`), but under a test root
//! `CN=Virtual YubiKey TEST PIV Root CA (not Yubico)`.
//!
//! The two RSA keys are fixed test keys (`src/testca/*.der`, PKCS#1 DER, made
//! once with `openssl genrsa 2048`): generating RSA keys at run time in a debug
//! build takes seconds, and fixed keys make the test root identical in every
//! process, so a product test may pin it. They protect nothing.

use std::sync::OnceLock;

use p256::elliptic_curve::sec1::ToSec1Point;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;

use crate::der;

/// Yubico's private arc, 1.3.6.1.4.1.41482.3.
const YUBICO_PIV: [u64; 8] = [1, 3, 6, 1, 4, 1, 41482, 3];
/// Subject CN of the test root certificate.
pub const TEST_ROOT_CN: &str = "Virtual YubiKey TEST PIV Root CA (not Yubico)";
/// Subject CN of the F9 certificate, as on real pre-5.7.4 YubiKeys.
pub const F9_CN: &str = "Yubico PIV Attestation";
const NOT_BEFORE: &str = "160314000000Z";
const NOT_AFTER: &str = "20520417000000Z";

static ROOT_KEY_DER: &[u8] = include_bytes!("testca/root-key.pkcs1.der");
static F9_KEY_DER: &[u8] = include_bytes!("testca/f9-key.pkcs1.der");

struct TestCa {
    root_key: RsaPrivateKey,
    f9_key: RsaPrivateKey,
    root_cert: Vec<u8>,
}

fn ca() -> Option<&'static TestCa> {
    static CA: OnceLock<Option<TestCa>> = OnceLock::new();
    CA.get_or_init(|| {
        let root_key = RsaPrivateKey::from_pkcs1_der(ROOT_KEY_DER).ok()?;
        let f9_key = RsaPrivateKey::from_pkcs1_der(F9_KEY_DER).ok()?;
        let spki = root_key
            .to_public_key()
            .to_public_key_der()
            .ok()?
            .as_bytes()
            .to_vec();
        let ski = sha1ish(&spki);
        let tbs = der::seq(&[
            der::explicit(0, &der::uint(&[2])),
            der::uint(&[0x0B, 0xAD, 0xCA, 0xFE, 0x00, 0x00, 0x00, 0x01]),
            sha256_with_rsa(),
            der::name_cn(TEST_ROOT_CN),
            validity(),
            der::name_cn(TEST_ROOT_CN),
            spki,
            der::explicit(
                3,
                &der::seq(&[
                    der::extension(&[2, 5, 29, 14], false, &der::octets(&ski)),
                    der::extension(
                        &[2, 5, 29, 19],
                        false,
                        &der::seq(&[der::bool_true(), der::uint(&[1])]),
                    ),
                    // keyUsage: keyCertSign | cRLSign (bits 5 and 6).
                    der::extension(&[2, 5, 29, 15], true, &[0x03, 0x02, 0x01, 0x06]),
                ]),
            ),
        ]);
        let root_cert = sign(&root_key, tbs)?;
        Some(TestCa {
            root_key,
            f9_key,
            root_cert,
        })
    })
    .as_ref()
}

/// A 20-byte key identifier (truncated SHA-256; RFC 5280 leaves the method open).
fn sha1ish(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    Sha256::digest(data)[..20].to_vec()
}

fn sha256_with_rsa() -> Vec<u8> {
    der::seq(&[der::oid(&[1, 2, 840, 113549, 1, 1, 11]), der::null()])
}

fn validity() -> Vec<u8> {
    der::seq(&[der::utc_time(NOT_BEFORE), der::generalized_time(NOT_AFTER)])
}

fn yubico_oid(last: u64) -> Vec<u64> {
    let mut v = YUBICO_PIV.to_vec();
    v.push(last);
    v
}

fn sign(key: &RsaPrivateKey, tbs: Vec<u8>) -> Option<Vec<u8>> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer.try_sign(&tbs).ok()?.to_vec();
    Some(der::seq(&[tbs, sha256_with_rsa(), der::bits(&sig)]))
}

/// DER of the test attestation root certificate (the same in every process).
///
/// Returns an empty vector only if the embedded test keys failed to parse,
/// which the unit tests rule out.
pub fn test_attestation_root_der() -> Vec<u8> {
    ca().map(|c| c.root_cert.clone()).unwrap_or_default()
}

/// PEM of [`test_attestation_root_der`].
pub fn test_attestation_root_pem() -> String {
    pem("CERTIFICATE", &test_attestation_root_der())
}

/// Encodes DER as PEM (64-column base64).
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3F) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The F9 attestation certificate of a card with this firmware.
pub(crate) fn f9_certificate(firmware: [u8; 3], serial: u32) -> Option<Vec<u8>> {
    let ca = ca()?;
    let spki = ca
        .f9_key
        .to_public_key()
        .to_public_key_der()
        .ok()?
        .as_bytes()
        .to_vec();
    let mut serial_number = vec![0x5E, 0xED];
    serial_number.extend(serial.to_be_bytes());
    serial_number.extend(firmware);
    let tbs = der::seq(&[
        der::explicit(0, &der::uint(&[2])),
        der::uint(&serial_number),
        sha256_with_rsa(),
        der::name_cn(TEST_ROOT_CN),
        validity(),
        der::name_cn(F9_CN),
        spki,
        der::explicit(
            3,
            &der::seq(&[
                der::extension(&yubico_oid(3), false, &firmware),
                der::extension(
                    &[2, 5, 29, 19],
                    true,
                    &der::seq(&[der::bool_true(), der::uint(&[0])]),
                ),
            ]),
        ),
    ]);
    sign(&ca.root_key, tbs)
}

/// Facts recorded in a slot attestation certificate.
pub(crate) struct SlotFacts<'a> {
    pub slot: u8,
    pub public: &'a p256::PublicKey,
    pub firmware: [u8; 3],
    pub serial: u32,
    pub pin_policy: u8,
    pub touch_policy: u8,
    pub form_factor: u8,
    pub cert_serial: [u8; 16],
}

/// The attestation certificate for a P-256 slot key, signed by the F9 key.
pub(crate) fn slot_certificate(f: &SlotFacts<'_>) -> Option<Vec<u8>> {
    let ca = ca()?;
    let point = f.public.to_sec1_point(false);
    let spki = der::seq(&[
        der::seq(&[
            der::oid(&[1, 2, 840, 10045, 2, 1]),
            der::oid(&[1, 2, 840, 10045, 3, 1, 7]),
        ]),
        der::bits(point.as_bytes()),
    ]);
    let mut cert_serial = f.cert_serial;
    cert_serial[0] = (cert_serial[0] & 0x7F).max(1);
    let tbs = der::seq(&[
        der::explicit(0, &der::uint(&[2])),
        der::uint(&cert_serial),
        sha256_with_rsa(),
        der::name_cn(F9_CN),
        validity(),
        der::name_cn(&format!("YubiKey PIV Attestation {:02x}", f.slot)),
        spki,
        der::explicit(
            3,
            &der::seq(&[
                der::extension(&yubico_oid(3), false, &f.firmware),
                der::extension(&yubico_oid(7), false, &der::uint(&f.serial.to_be_bytes())),
                der::extension(&yubico_oid(8), false, &[f.pin_policy, f.touch_policy]),
                der::extension(&yubico_oid(9), false, &[f.form_factor]),
            ]),
        ),
    ]);
    sign(&ca.f9_key, tbs)
}

/// Modulus and public exponent of the F9 key (for GET METADATA on slot F9).
pub(crate) fn f9_public_parts() -> Option<(Vec<u8>, Vec<u8>)> {
    use rsa::traits::PublicKeyParts;
    let ca = ca()?;
    let n = ca
        .f9_key
        .n()
        .as_ref()
        .to_be_bytes_trimmed_vartime()
        .to_vec();
    let e = ca.f9_key.e().to_be_bytes_trimmed_vartime().to_vec();
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_deterministic_and_parses_as_der() {
        let a = test_attestation_root_der();
        assert!(!a.is_empty());
        assert_eq!(a, test_attestation_root_der());
        assert_eq!(a[0], 0x30);
        assert!(test_attestation_root_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    }

    #[test]
    fn pem_base64() {
        assert_eq!(
            pem("X", b"Man"),
            "-----BEGIN X-----\nTWFu\n-----END X-----\n"
        );
        assert_eq!(
            pem("X", b"Ma"),
            "-----BEGIN X-----\nTWE=\n-----END X-----\n"
        );
        assert_eq!(pem("X", b"M"), "-----BEGIN X-----\nTQ==\n-----END X-----\n");
    }
}
