//! The slot metadata certificate, written the way age-plugin-yubikey writes it.
//!
//! age-plugin-yubikey recognises "its" keys by the self-signed certificate in
//! the slot: subject `O=age-plugin-yubikey, OU=<version>, CN=<name>`, the P-256
//! public key, and the PIN/touch policies in the (non-critical) Yubico policy
//! extension `1.3.6.1.4.1.41482.3.8` whose value is the two raw bytes
//! `[pin, touch]` (same encoding as in PIV attestations). With such a
//! certificate `age-plugin-yubikey --list` shows the key, and stock `age` can
//! decrypt a share with the plugin.
//!
//! The certificate is built here with a minimal DER writer (fixed structure,
//! definite lengths) and signed on the card (ECDSA P-256 / SHA-256 over the
//! TBSCertificate). It is metadata, not a trust anchor: trust comes from the
//! PIV attestation.

use sha2::{Digest, Sha256};

/// Organization that marks a key as usable by age-plugin-yubikey.
pub(crate) const ORGANIZATION: &str = "age-plugin-yubikey";

const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// 1.3.6.1.4.1.41482.3.8 (Yubico PIN/touch policy).
const OID_YUBICO_POLICY: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03, 0x08];
const OID_O: &[u8] = &[0x55, 0x04, 0x0A];
const OID_OU: &[u8] = &[0x55, 0x04, 0x0B];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn name(org: &str, unit: &str, common: &str) -> Vec<u8> {
    let rdn = |oid: &[u8], value: &str| {
        let atv = seq(&[&tlv(0x06, oid), &tlv(0x0C, value.as_bytes())]);
        tlv(0x31, &atv)
    };
    seq(&[&rdn(OID_O, org), &rdn(OID_OU, unit), &rdn(OID_CN, common)])
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950–2049) from an RFC 3339 UTC timestamp
/// `YYYY-MM-DDTHH:MM:SSZ`; falls back to 2025-01-01 if the clock text is odd.
fn utc_time(rfc3339: &str) -> Vec<u8> {
    let digits: String = rfc3339.chars().filter(char::is_ascii_digit).collect();
    let text = match digits.get(2..14) {
        Some(d) if rfc3339.starts_with("20") && rfc3339.len() >= 19 => format!("{d}Z"),
        _ => "250101000000Z".to_owned(),
    };
    tlv(0x17, text.as_bytes())
}

/// The TBSCertificate of a slot certificate.
pub(crate) struct SlotCertTemplate<'a> {
    /// Positive serial number, 20 bytes (the top bit is cleared here).
    pub serial: [u8; 20],
    /// Certificate subject common name.
    pub common_name: &'a str,
    /// Organizational unit (the writer and version).
    pub unit: &'a str,
    /// Uncompressed P-256 public point.
    pub public_point: &'a [u8; 65],
    /// PIV PIN policy byte (1 never, 2 once, 3 always).
    pub pin_policy: u8,
    /// PIV touch policy byte (1 never, 2 always, 3 cached).
    pub touch_policy: u8,
    /// Issuance time, RFC 3339 UTC.
    pub not_before_rfc3339: &'a str,
}

impl SlotCertTemplate<'_> {
    /// DER of the TBSCertificate.
    pub(crate) fn tbs(&self) -> Vec<u8> {
        let mut serial = self.serial;
        // Positive and minimal: clear the sign bit and make the first byte non-zero.
        serial[0] = (serial[0] & 0x7F) | 0x40;
        let alg = seq(&[&tlv(0x06, OID_ECDSA_SHA256)]);
        let subject = name(ORGANIZATION, self.unit, self.common_name);
        let validity = seq(&[
            &utc_time(self.not_before_rfc3339),
            &tlv(0x18, b"99991231235959Z"),
        ]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(self.public_point);
        let spki = seq(&[
            &seq(&[&tlv(0x06, OID_EC_PUBLIC_KEY), &tlv(0x06, OID_PRIME256V1)]),
            &tlv(0x03, &bits),
        ]);
        let ext = seq(&[
            &tlv(0x06, OID_YUBICO_POLICY),
            &tlv(0x04, &[self.pin_policy, self.touch_policy]),
        ]);
        let extensions = tlv(0xA3, &seq(&[&ext]));
        seq(&[
            &tlv(0xA0, &tlv(0x02, &[0x02])),
            &tlv(0x02, &serial),
            &alg,
            &subject,
            &validity,
            &subject,
            &spki,
            &extensions,
        ])
    }

    /// SHA-256 of the TBSCertificate (what the card signs).
    pub(crate) fn digest(tbs: &[u8]) -> [u8; 32] {
        Sha256::digest(tbs).into()
    }

    /// The full certificate from the TBS and the card's DER ECDSA signature.
    pub(crate) fn assemble(tbs: &[u8], signature_der: &[u8]) -> Vec<u8> {
        let mut bits = vec![0u8];
        bits.extend_from_slice(signature_der);
        seq(&[
            tbs,
            &seq(&[&tlv(0x06, OID_ECDSA_SHA256)]),
            &tlv(0x03, &bits),
        ])
    }
}

/// Reads one BER-TLV (PIV objects: 1-byte tag, short or 0x81/0x82 long length)
/// and returns `(tag, value, rest)`.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = match l0 {
        0..=0x7F => (usize::from(l0), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => {
            let hi = usize::from(*rest.first()?);
            let lo = usize::from(*rest.get(1)?);
            ((hi << 8) | lo, rest.get(2..)?)
        }
        _ => return None,
    };
    let value = rest.get(..len)?;
    Some((tag, value, rest.get(len..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbs_is_parseable_x509_with_policy_extension() {
        let point = {
            let mut p = [0u8; 65];
            let sk = p256::SecretKey::from_bytes(&[7u8; 32].into()).unwrap();
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            p.copy_from_slice(sk.public_key().to_encoded_point(false).as_bytes());
            p
        };
        let t = SlotCertTemplate {
            serial: [0u8; 20],
            common_name: "breakglass custodian alice",
            unit: "breakglass 0.1.0",
            public_point: &point,
            pin_policy: 2,
            touch_policy: 2,
            not_before_rfc3339: "2025-11-21T10:11:12Z",
        };
        let tbs = t.tbs();
        // A fake signature is enough to check the structure parses.
        let cert =
            SlotCertTemplate::assemble(&tbs, &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
        use x509_cert::der::Decode;
        let parsed = x509_cert::Certificate::from_der(&cert).unwrap();
        let tbs_p = parsed.tbs_certificate();
        assert_eq!(
            tbs_p.subject().to_string(),
            "CN=breakglass custodian alice,OU=breakglass 0.1.0,O=age-plugin-yubikey"
        );
        let exts = tbs_p.extensions().unwrap();
        assert_eq!(exts.len(), 1);
        assert_eq!(exts[0].extn_id.to_string(), "1.3.6.1.4.1.41482.3.8");
        assert!(!exts[0].critical);
        assert_eq!(exts[0].extn_value.as_bytes(), &[2, 2]);
        assert_eq!(
            tbs_p
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
            &point[..]
        );
        let (tag, value, rest) = read_tlv(&[0x70, 0x82, 0x00, 0x01, 0xAA, 0x71]).unwrap();
        assert_eq!((tag, value, rest), (0x70, &[0xAA][..], &[0x71][..]));
        assert!(read_tlv(&[0x70, 0x05, 0x00]).is_none());
    }
}
