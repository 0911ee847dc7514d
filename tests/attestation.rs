//! Tests of the PIV attestation verifier against real YubiKey chains
//! (`tests/data/attestation/vectors/`, see the README there for provenance), tampered
//! variants of them, and a generated test PKI.

use breakglass::attestation::{
    pem_to_der, verify, AttestationError, AttestationFacts, CertRole, PinPolicy, Pki, Requirements,
    SubjectKey, TouchPolicy, TrustAnchors,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/attestation");

const V_437: &str = "yk4-4.3.7-u2f-root";
const V_543: &str = "yk5fips-5.4.3-piv-root";
const V_572: &str = "yk5bio-5.7.2-piv-root";
const V_574: &str = "yk5-5.7.4-attestation-root-1";
const V_574_ED: &str = "yk5fips-5.7.4-ed25519-attestation-root-1";
const GOOD_VECTORS: [&str; 4] = [V_543, V_572, V_574, V_574_ED];

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{path}"))
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn der_file(path: &str) -> Vec<u8> {
    pem_to_der(&read(path)).unwrap_or_else(|e| panic!("pem {path}: {e}"))
}

/// (slot DER, F9 DER) of a vector.
fn vector(name: &str) -> (Vec<u8>, Vec<u8>) {
    (
        der_file(&format!("vectors/{name}/slot.pem")),
        der_file(&format!("vectors/{name}/f9.pem")),
    )
}

fn yubico() -> TrustAnchors {
    TrustAnchors::yubico().expect("bundled anchors load")
}

/// Value of a `key : value` line of a vector's facts.txt (first word of the value).
fn fact(name: &str, key: &str) -> String {
    let text = read(&format!("vectors/{name}/facts.txt"));
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.split_whitespace().next().unwrap_or("").to_owned())
        })
        .unwrap_or_else(|| panic!("{name}: no '{key}' in facts.txt"))
}

fn verify_vector(name: &str) -> Result<AttestationFacts, AttestationError> {
    let (slot, f9) = vector(name);
    verify(&slot, &f9, &yubico())
}

// ---------------------------------------------------------------------------------
// Real vectors: accepted with the facts recorded in facts.txt.

#[test]
fn real_vectors_verify_with_the_facts_of_facts_txt() {
    for name in GOOD_VECTORS {
        let facts = verify_vector(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(facts.serial.to_string(), fact(name, "serial"), "{name}");
        let fw = fact(name, "firmware");
        assert_eq!(
            format!(
                "{}.{}.{}",
                facts.firmware.0, facts.firmware.1, facts.firmware.2
            ),
            fw,
            "{name}"
        );
        assert_eq!(
            facts.pin_policy.to_string(),
            fact(name, "pin policy"),
            "{name}"
        );
        assert_eq!(
            facts.touch_policy.to_string(),
            fact(name, "touch policy"),
            "{name}"
        );
        let slot = fact(name, "slot");
        assert_eq!(facts.slot.map(|s| format!("{s:02x}")), Some(slot), "{name}");
    }
}

#[test]
fn real_vectors_exact_facts() {
    let f = verify_vector(V_543).unwrap();
    assert_eq!(f.serial, 25_515_003);
    assert_eq!(f.firmware, (5, 4, 3));
    assert_eq!(
        (f.pin_policy, f.touch_policy),
        (PinPolicy::Always, TouchPolicy::Never)
    );
    assert_eq!(
        (f.form_factor, f.fips, f.slot),
        (Some(0x83), true, Some(0x9c))
    );
    assert!(matches!(&f.public_key, SubjectKey::P384(p) if p.len() == 97 && p[0] == 4));
    assert_eq!(f.pki, Pki::LegacyPivRoot263751);

    let f = verify_vector(V_572).unwrap();
    assert_eq!(f.serial, 30_000_948);
    assert_eq!(f.firmware, (5, 7, 2));
    assert_eq!(
        (f.pin_policy, f.touch_policy),
        (PinPolicy::Once, TouchPolicy::Never)
    );
    assert_eq!(
        (f.form_factor, f.fips, f.slot),
        (Some(0x07), false, Some(0x9a))
    );
    assert!(matches!(&f.public_key, SubjectKey::Rsa(spki) if spki.len() > 256));
    assert_eq!(f.pki, Pki::LegacyPivRoot263751);

    let f = verify_vector(V_574).unwrap();
    assert_eq!(f.serial, 32_718_477);
    assert_eq!(f.firmware, (5, 7, 4));
    assert_eq!(
        (f.pin_policy, f.touch_policy),
        (PinPolicy::Always, TouchPolicy::Never)
    );
    assert_eq!(
        (f.form_factor, f.fips, f.slot),
        (Some(0x04), false, Some(0x9a))
    );
    assert!(matches!(f.public_key, SubjectKey::Rsa(_)));
    assert_eq!(f.pki, Pki::AttestationRoot1);

    let f = verify_vector(V_574_ED).unwrap();
    assert_eq!(f.serial, 38_165_850);
    assert_eq!(f.firmware, (5, 7, 4));
    assert_eq!(
        (f.pin_policy, f.touch_policy),
        (PinPolicy::Once, TouchPolicy::Always)
    );
    assert_eq!(
        (f.form_factor, f.fips, f.slot),
        (Some(0x83), true, Some(0x9c))
    );
    assert!(matches!(f.public_key, SubjectKey::Ed25519(_)));
    assert_eq!(f.pki, Pki::AttestationRoot1);
}

/// Decision: YubiKey 4 chains under the U2F root are refused (module docs).
#[test]
fn yubikey4_u2f_root_chain_is_refused() {
    assert_eq!(
        verify_vector(V_437),
        Err(AttestationError::LegacyU2fRootRefused)
    );
    // Even a build that trusted the U2F root would refuse it: the F9 is not a CA.
    let (slot, f9) = vector(V_437);
    let u2f = yubico().with_test_root(&der_file("root-u2f-457200631.pem"));
    assert_eq!(
        verify(&slot, &f9, &u2f),
        Err(AttestationError::NotCa { role: CertRole::F9 })
    );
}

/// Decision: only the pathlen:1 certificate of the legacy root is an anchor; the
/// pre-2018 one (pathlen:0, same key) rejects every root → F9 → slot chain.
#[test]
fn pre2018_legacy_root_certificate_is_not_enough() {
    let (slot, f9) = vector(V_543);
    let anchors = yubico()
        .without_pki(Pki::LegacyPivRoot263751)
        .with_test_root(&der_file("root-piv-263751-pre2018.pem"));
    assert_eq!(
        verify(&slot, &f9, &anchors),
        Err(AttestationError::PathLenExceeded {
            role: CertRole::TestRoot,
            pathlen: 0,
            below: 1
        })
    );
}

// ---------------------------------------------------------------------------------
// Tampering: one test per kind, exact variant.

#[test]
fn wrong_root_is_rejected() {
    let (slot, f9) = vector(V_574);
    assert_eq!(
        verify(&slot, &f9, &yubico().without_pki(Pki::AttestationRoot1)),
        Err(AttestationError::UntrustedIssuer {
            role: CertRole::Intermediate,
            issuer: "CN=Yubico Attestation Root 1".to_owned()
        })
    );
    let (slot, f9) = vector(V_543);
    assert_eq!(
        verify(&slot, &f9, &yubico().without_pki(Pki::LegacyPivRoot263751)),
        Err(AttestationError::UntrustedIssuer {
            role: CertRole::F9,
            issuer: "CN=Yubico PIV Root CA Serial 263751".to_owned()
        })
    );
    // The other PKI still works without the removed root.
    let (slot, f9) = vector(V_572);
    assert!(verify(&slot, &f9, &yubico().without_pki(Pki::AttestationRoot1)).is_ok());
}

#[test]
fn swapped_f9_is_rejected() {
    // Same issuer name ("Yubico PIV Attestation"), other device's F9: signature fails.
    let (slot, _) = vector(V_543);
    let (_, other_f9) = vector(V_572);
    assert_eq!(
        verify(&slot, &other_f9, &yubico()),
        Err(AttestationError::BadSignature {
            role: CertRole::Slot
        })
    );
    let (slot, _) = vector(V_574_ED);
    let (_, other_f9) = vector(V_543);
    assert_eq!(
        verify(&slot, &other_f9, &yubico()),
        Err(AttestationError::BadSignature {
            role: CertRole::Slot
        })
    );
    // Different names: caught before any signature work.
    let (slot, _) = vector(V_574);
    assert!(matches!(
        verify(&slot, &other_f9, &yubico()),
        Err(AttestationError::IssuerMismatch {
            role: CertRole::Slot,
            ..
        })
    ));
}

/// Finds the value bytes of Yubico extension `.3.<arc>` in a DER certificate:
/// returns the index of the first byte of the extnValue contents and its length.
fn yubico_ext_value(der: &[u8], arc: u8) -> (usize, usize) {
    let oid = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xc4, 0x0a, 0x03, arc,
    ];
    let at = der
        .windows(oid.len())
        .position(|w| w == oid)
        .unwrap_or_else(|| panic!("extension .3.{arc} not found"));
    let octet = at + oid.len();
    assert_eq!(der[octet], 0x04, "extnValue is an OCTET STRING");
    (octet + 2, usize::from(der[octet + 1]))
}

#[test]
fn altered_serial_extension_breaks_the_signature() {
    for name in GOOD_VECTORS {
        let (mut slot, f9) = vector(name);
        let (start, len) = yubico_ext_value(&slot, 7);
        slot[start + len - 1] ^= 0x01; // serial ± 1, still a valid DER INTEGER
        assert_eq!(
            verify(&slot, &f9, &yubico()),
            Err(AttestationError::BadSignature {
                role: CertRole::Slot
            }),
            "{name}"
        );
    }
}

#[test]
fn altered_policy_extension_breaks_the_signature() {
    for name in GOOD_VECTORS {
        let (mut slot, f9) = vector(name);
        let (start, _) = yubico_ext_value(&slot, 8);
        slot[start] = 0x03; // pin policy "always"
        slot[start + 1] = 0x02; // touch policy "always"
        let before = vector(name).0;
        if slot == before {
            // Already always/always: pick another valid value.
            slot[start] = 0x01;
        }
        assert_eq!(
            verify(&slot, &f9, &yubico()),
            Err(AttestationError::BadSignature {
                role: CertRole::Slot
            }),
            "{name}"
        );
    }
}

#[test]
fn altered_f9_breaks_its_signature() {
    let (slot, mut f9) = vector(V_574);
    let (start, _) = yubico_ext_value(&f9, 3); // F9's firmware extension
    f9[start + 2] ^= 0x01;
    // The slot link still needs the F9 key, which is unchanged: the F9 → PIV B 1 link fails.
    assert_eq!(
        verify(&slot, &f9, &yubico()),
        Err(AttestationError::BadSignature { role: CertRole::F9 })
    );
}

#[test]
fn policy_below_requirements_is_rejected() {
    let facts = verify_vector(V_574).unwrap(); // always / never
    let ok = Requirements {
        pin_policy_at_least: PinPolicy::Always,
        touch_policy_at_least: TouchPolicy::Never,
    };
    assert_eq!(facts.check(&ok), Ok(()));
    let touch = Requirements {
        pin_policy_at_least: PinPolicy::Once,
        touch_policy_at_least: TouchPolicy::Cached,
    };
    assert_eq!(
        facts.check(&touch),
        Err(AttestationError::TouchPolicyTooWeak {
            found: TouchPolicy::Never,
            required: TouchPolicy::Cached
        })
    );
    let facts = verify_vector(V_574_ED).unwrap(); // once / always
    let pin = Requirements {
        pin_policy_at_least: PinPolicy::Always,
        touch_policy_at_least: TouchPolicy::Always,
    };
    assert_eq!(
        facts.check(&pin),
        Err(AttestationError::PinPolicyTooWeak {
            found: PinPolicy::Once,
            required: PinPolicy::Always
        })
    );
}

#[test]
fn truncated_der_is_rejected() {
    let (slot, f9) = vector(V_543);
    for cut in [0, 1, 2, 3, 4, slot.len() / 2, slot.len() - 1] {
        assert!(
            matches!(
                verify(&slot[..cut], &f9, &yubico()),
                Err(AttestationError::InvalidDer {
                    role: CertRole::Slot,
                    ..
                })
            ),
            "slot cut at {cut}"
        );
    }
    for cut in [0, 10, f9.len() - 1] {
        assert!(
            matches!(
                verify(&slot, &f9[..cut], &yubico()),
                Err(AttestationError::InvalidDer {
                    role: CertRole::F9,
                    ..
                })
            ),
            "f9 cut at {cut}"
        );
    }
}

#[test]
fn garbage_der_is_rejected() {
    let (slot, f9) = vector(V_572);
    for garbage in [
        b"hello world".to_vec(),
        vec![0u8; 64],
        vec![0xff; 300],
        read(&format!("vectors/{V_572}/slot.pem")).into_bytes(), // PEM, not DER
    ] {
        assert!(matches!(
            verify(&garbage, &f9, &yubico()),
            Err(AttestationError::InvalidDer {
                role: CertRole::Slot,
                ..
            })
        ));
        assert!(matches!(
            verify(&slot, &garbage, &yubico()),
            Err(AttestationError::InvalidDer {
                role: CertRole::F9,
                ..
            })
        ));
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let (slot, f9) = vector(V_574);
    let mut long_slot = slot.clone();
    long_slot.push(0);
    assert_eq!(
        verify(&long_slot, &f9, &yubico()),
        Err(AttestationError::TrailingData {
            role: CertRole::Slot,
            extra: 1
        })
    );
    let mut long_f9 = f9.clone();
    long_f9.extend_from_slice(&f9);
    assert_eq!(
        verify(&slot, &long_f9, &yubico()),
        Err(AttestationError::TrailingData {
            role: CertRole::F9,
            extra: f9.len()
        })
    );
}

#[test]
fn non_minimal_length_encoding_is_rejected() {
    // Re-encode the outer SEQUENCE length with one more length byte (BER, not DER).
    let (slot, f9) = vector(V_574);
    assert_eq!(slot[1], 0x82);
    let mut ber = vec![0x30, 0x83, 0x00];
    ber.extend_from_slice(&slot[2..]);
    assert!(matches!(
        verify(&ber, &f9, &yubico()),
        Err(AttestationError::InvalidDer {
            role: CertRole::Slot,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------
// Bundled roots.

/// Published SHA-256 (DER) fingerprints, from Yubico's table as recorded in
/// `tests/data/attestation/README.md`.
const PUBLISHED: [(&str, &str); 8] = [
    (
        "root-piv-263751.pem",
        "63ECE914E54DD87915F34033C85AF4C0696BA1512F8ADD66CED738331207B546",
    ),
    (
        "root-attestation-1.pem",
        "62760C6A6EF91679F454C8902B80FD009825B3F25DA90F1FBACE2EC6586CD5A8",
    ),
    (
        "intermediate-attestation-a-1.pem",
        "4698A1D3389C3EC60016C216250F1D0439922832D65142327436376DC2942B55",
    ),
    (
        "intermediate-attestation-b-1.pem",
        "D4CC3F456FDAF4E7812A21AAB1DFE9D8E27D24E2FD2D6F21C9940109F0DAA754",
    ),
    (
        "piv-attestation-a-1.pem",
        "6DE693F05376F5D8CA29069261E1C8626C75D503BD2EDBFD75354CAD1F722870",
    ),
    (
        "piv-attestation-b-1.pem",
        "2D55B7998F4E42569D6D8FA382B6DC77D1DACF07358B19701163892922B17052",
    ),
    (
        "piv-attestation-b2-1.pem",
        "0C90B7D184A36EDF50A35F9BE935F0C5689BFDCFE5BDD073366CAFB49061A440",
    ),
    (
        "root-u2f-457200631.pem",
        "0FA1386F80EB8713263AE5C1D84DEB455BDF08AEA50AB05503CEFEE82B092D42",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn embedded_root_fingerprints_equal_the_published_ones() {
    let embedded = TrustAnchors::bundled_fingerprints();
    assert_eq!(embedded.len(), PUBLISHED.len());
    let readme = read("README.md");
    for (name, published) in PUBLISHED {
        let (_, fp) = embedded
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} not embedded"));
        assert_eq!(hex(fp), published, "{name}");
        // And the published table in the README row of that file says the same.
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("{name} not in README table"));
        assert!(row.contains(&format!("`{published}`")), "{name}: {row}");
    }
}

// ---------------------------------------------------------------------------------
// PEM helper.

#[test]
fn pem_to_der_is_strict() {
    let pem = read(&format!("vectors/{V_574}/slot.pem"));
    assert!(pem_to_der(&pem).is_ok());
    let key = pem.replace("CERTIFICATE", "PUBLIC KEY");
    assert!(matches!(
        pem_to_der(&key),
        Err(AttestationError::InvalidPem { .. })
    ));
    let prose = format!("subject=CN = YubiKey\n{pem}");
    assert!(matches!(
        pem_to_der(&prose),
        Err(AttestationError::InvalidPem { .. })
    ));
    let two = format!("{pem}{pem}");
    assert!(matches!(
        pem_to_der(&two),
        Err(AttestationError::InvalidPem { .. })
    ));
    let bad_b64 = pem.replacen('M', "*", 1);
    assert!(matches!(
        pem_to_der(&bad_b64),
        Err(AttestationError::InvalidPem { .. })
    ));
    assert!(matches!(
        pem_to_der(""),
        Err(AttestationError::InvalidPem { .. })
    ));
}

// ---------------------------------------------------------------------------------
// Error messages.

#[test]
fn error_messages_are_lowercase_and_say_what_to_do() {
    let errs = [
        verify_vector(V_437).unwrap_err(),
        AttestationError::FirmwarePkiMismatch {
            firmware: (5, 7, 2),
            pki: Pki::AttestationRoot1,
        },
        AttestationError::BadSignature {
            role: CertRole::Slot,
        },
    ];
    for e in errs {
        let msg = e.to_string();
        assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
        assert!(msg.contains(';') || msg.contains(" — "), "{msg}");
    }
    assert!(AttestationError::FirmwarePkiMismatch {
        firmware: (5, 7, 2),
        pki: Pki::AttestationRoot1,
    }
    .to_string()
    .contains("5.7.2"));
}

// ---------------------------------------------------------------------------------
// Generated test PKI: test root → F9 → slot, ECDSA P-256, written with a tiny DER
// writer so that every field (and every defect) is under the test's control.

mod der {
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }
    pub fn set(parts: &[&[u8]]) -> Vec<u8> {
        tlv(0x31, &parts.concat())
    }
    pub fn oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
        for &arc in &arcs[2..] {
            let mut chunk = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                chunk.push(0x80 | (rest & 0x7f) as u8);
                rest >>= 7;
            }
            chunk.reverse();
            body.extend(chunk);
        }
        tlv(0x06, &body)
    }
    pub fn uint(v: u64) -> Vec<u8> {
        let mut bytes: Vec<u8> = v
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        if bytes.first().is_none_or(|b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        tlv(0x02, &bytes)
    }
    pub fn boolean(v: bool) -> Vec<u8> {
        tlv(0x01, &[if v { 0xff } else { 0 }])
    }
    pub fn octets(v: &[u8]) -> Vec<u8> {
        tlv(0x04, v)
    }
    pub fn bits(v: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0u8][..], v].concat())
    }
    pub fn utc(s: &str) -> Vec<u8> {
        tlv(0x17, s.as_bytes())
    }
    pub fn gen_time(s: &str) -> Vec<u8> {
        tlv(0x18, s.as_bytes())
    }
    pub fn name_cn(cn: &str) -> Vec<u8> {
        seq(&[&set(&[&seq(&[&oid("2.5.4.3"), &tlv(0x0c, cn.as_bytes())])])])
    }
    pub fn ext(id: &str, critical: bool, value: &[u8]) -> Vec<u8> {
        if critical {
            seq(&[&oid(id), &boolean(true), &octets(value)])
        } else {
            seq(&[&oid(id), &octets(value)])
        }
    }
    pub fn basic_constraints(ca: bool, pathlen: Option<u64>) -> Vec<u8> {
        let mut body = Vec::new();
        if ca {
            body.extend(boolean(true));
        }
        if let Some(p) = pathlen {
            body.extend(uint(p));
        }
        ext("2.5.29.19", true, &tlv(0x30, &body))
    }
    /// keyUsage with digitalSignature only (no keyCertSign).
    pub fn key_usage_digital_signature_only() -> Vec<u8> {
        ext("2.5.29.15", true, &tlv(0x03, &[0x07, 0x80]))
    }
}

use p256v14::ecdsa::{signature::Signer, Signature, SigningKey};

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const YK: &str = "1.3.6.1.4.1.41482.3";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn point(k: &SigningKey) -> Vec<u8> {
    k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

fn spki_p256(point: &[u8]) -> Vec<u8> {
    der::seq(&[
        &der::seq(&[
            &der::oid("1.2.840.10045.2.1"),
            &der::oid("1.2.840.10045.3.1.7"),
        ]),
        &der::bits(point),
    ])
}

struct CertSpec<'a> {
    serial: u64,
    issuer: &'a str,
    subject: &'a str,
    spki: Vec<u8>,
    not_before: Vec<u8>,
    not_after: Vec<u8>,
    exts: Vec<Vec<u8>>,
}

fn build_cert(spec: &CertSpec, signer: &SigningKey) -> Vec<u8> {
    let alg = der::seq(&[&der::oid(ECDSA_SHA256)]);
    let exts: Vec<&[u8]> = spec.exts.iter().map(Vec::as_slice).collect();
    let tbs = der::seq(&[
        &der::tlv(0xa0, &der::uint(2)),
        &der::uint(spec.serial),
        &alg,
        &der::name_cn(spec.issuer),
        &der::seq(&[&spec.not_before, &spec.not_after]),
        &der::name_cn(spec.subject),
        &spec.spki,
        &der::tlv(0xa3, &der::seq(&exts)),
    ]);
    let sig: Signature = signer.sign(&tbs);
    der::seq(&[&tbs, &alg, &der::bits(sig.to_der().as_bytes())])
}

/// Knobs for defects in the generated chain; `Default` is a valid chain.
struct Opts {
    root_pathlen: Option<u64>,
    f9_exts: Vec<Vec<u8>>,
    slot_exts: Vec<Vec<u8>>,
    slot_point: Option<Vec<u8>>,
    slot_validity: (Vec<u8>, Vec<u8>),
}

const SERIAL: u32 = 12_345_678;

fn slot_ext_firmware() -> Vec<u8> {
    der::ext(&format!("{YK}.3"), false, &[5, 4, 3])
}
fn slot_ext_serial() -> Vec<u8> {
    der::ext(&format!("{YK}.7"), false, &der::uint(u64::from(SERIAL)))
}
fn slot_ext_policy(pin: u8, touch: u8) -> Vec<u8> {
    der::ext(&format!("{YK}.8"), false, &[pin, touch])
}
fn slot_ext_form_factor() -> Vec<u8> {
    der::ext(&format!("{YK}.9"), false, &[0x04])
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            root_pathlen: Some(1),
            f9_exts: vec![
                der::ext(&format!("{YK}.3"), false, &[5, 4, 3]),
                der::basic_constraints(true, Some(0)),
            ],
            slot_exts: vec![
                slot_ext_firmware(),
                slot_ext_serial(),
                slot_ext_policy(2, 3),
                slot_ext_form_factor(),
            ],
            slot_point: None,
            slot_validity: (der::utc("160314000000Z"), der::gen_time("20520417000000Z")),
        }
    }
}

struct TestChain {
    root: Vec<u8>,
    f9: Vec<u8>,
    slot: Vec<u8>,
    slot_key: SigningKey,
}

fn test_chain(opts: Opts) -> TestChain {
    let (root_key, f9_key, slot_key) = (key(1), key(2), key(3));
    let validity = || (der::utc("240101000000Z"), der::gen_time("99991231235959Z"));
    let root = build_cert(
        &CertSpec {
            serial: 1,
            issuer: "breakglass test root",
            subject: "breakglass test root",
            spki: spki_p256(&point(&root_key)),
            not_before: validity().0,
            not_after: validity().1,
            exts: vec![der::basic_constraints(true, opts.root_pathlen)],
        },
        &root_key,
    );
    let f9 = build_cert(
        &CertSpec {
            serial: 2,
            issuer: "breakglass test root",
            subject: "Yubico PIV Attestation",
            spki: spki_p256(&point(&f9_key)),
            not_before: validity().0,
            not_after: validity().1,
            exts: opts.f9_exts,
        },
        &root_key,
    );
    let slot = build_cert(
        &CertSpec {
            serial: 3,
            issuer: "Yubico PIV Attestation",
            subject: "YubiKey PIV Attestation 82",
            spki: spki_p256(&opts.slot_point.unwrap_or_else(|| point(&slot_key))),
            not_before: opts.slot_validity.0,
            not_after: opts.slot_validity.1,
            exts: opts.slot_exts,
        },
        &f9_key,
    );
    TestChain {
        root,
        f9,
        slot,
        slot_key,
    }
}

fn verify_test(opts: Opts) -> Result<AttestationFacts, AttestationError> {
    let c = test_chain(opts);
    verify(&c.slot, &c.f9, &yubico().with_test_root(&c.root))
}

#[test]
fn test_root_chain_is_accepted_only_with_the_test_root() {
    let c = test_chain(Opts::default());
    let facts = verify(&c.slot, &c.f9, &yubico().with_test_root(&c.root)).unwrap();
    let mut expected_point = [0u8; 65];
    expected_point.copy_from_slice(&point(&c.slot_key));
    assert_eq!(
        facts,
        AttestationFacts {
            serial: SERIAL,
            firmware: (5, 4, 3),
            pin_policy: PinPolicy::Once,
            touch_policy: TouchPolicy::Cached,
            form_factor: Some(0x04),
            fips: false,
            slot: Some(0x82),
            public_key: SubjectKey::P256(expected_point),
            pki: Pki::Test,
        }
    );
    // Without the injected root: the bundled Yubico set does not trust it.
    assert_eq!(
        verify(&c.slot, &c.f9, &yubico()),
        Err(AttestationError::UntrustedIssuer {
            role: CertRole::F9,
            issuer: "CN=breakglass test root".to_owned()
        })
    );
    // A different test root (same name, other key) does not help either.
    let wrong_key_root = {
        let k = key(9);
        build_cert(
            &CertSpec {
                serial: 1,
                issuer: "breakglass test root",
                subject: "breakglass test root",
                spki: spki_p256(&point(&k)),
                not_before: der::utc("240101000000Z"),
                not_after: der::gen_time("99991231235959Z"),
                exts: vec![der::basic_constraints(true, Some(1))],
            },
            &k,
        )
    };
    assert_eq!(
        verify(&c.slot, &c.f9, &yubico().with_test_root(&wrong_key_root)),
        Err(AttestationError::BadSignature { role: CertRole::F9 })
    );
    // An unparsable injected root is reported as such.
    assert!(matches!(
        verify(&c.slot, &c.f9, &yubico().with_test_root(b"not a cert")),
        Err(AttestationError::InvalidDer {
            role: CertRole::TestRoot,
            ..
        })
    ));
}

#[test]
fn generated_slot_without_serial_is_rejected() {
    let opts = Opts {
        slot_exts: vec![slot_ext_firmware(), slot_ext_policy(2, 3)],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(opts),
        Err(AttestationError::MissingExtension {
            oid: "1.3.6.1.4.1.41482.3.7",
            name: "serial"
        })
    );
}

#[test]
fn generated_slot_without_policy_is_rejected() {
    let opts = Opts {
        slot_exts: vec![slot_ext_firmware(), slot_ext_serial()],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(opts),
        Err(AttestationError::MissingExtension {
            oid: "1.3.6.1.4.1.41482.3.8",
            name: "policy"
        })
    );
}

#[test]
fn serial_and_policy_are_never_read_from_the_f9() {
    // The F9 carries serial and policy extensions, the slot does not: still rejected.
    let opts = Opts {
        f9_exts: vec![
            der::basic_constraints(true, Some(0)),
            slot_ext_firmware(),
            slot_ext_serial(),
            slot_ext_policy(3, 2),
        ],
        slot_exts: vec![slot_ext_firmware()],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(opts),
        Err(AttestationError::MissingExtension {
            oid: "1.3.6.1.4.1.41482.3.7",
            name: "serial"
        })
    );
    // Both carry them with different values: the slot's win.
    let opts = Opts {
        f9_exts: vec![
            der::basic_constraints(true, Some(0)),
            der::ext(&format!("{YK}.7"), false, &der::uint(99)),
            slot_ext_policy(3, 2),
        ],
        ..Opts::default()
    };
    let facts = verify_test(opts).unwrap();
    assert_eq!(facts.serial, SERIAL);
    assert_eq!(
        (facts.pin_policy, facts.touch_policy),
        (PinPolicy::Once, TouchPolicy::Cached)
    );
}

#[test]
fn generated_defects_give_their_exact_error() {
    let unknown_pin = Opts {
        slot_exts: vec![
            slot_ext_firmware(),
            slot_ext_serial(),
            slot_ext_policy(9, 1),
        ],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(unknown_pin),
        Err(AttestationError::UnknownPolicyValue {
            kind: "pin",
            value: 9
        })
    );
    let unknown_touch = Opts {
        slot_exts: vec![
            slot_ext_firmware(),
            slot_ext_serial(),
            slot_ext_policy(1, 0),
        ],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(unknown_touch),
        Err(AttestationError::UnknownPolicyValue {
            kind: "touch",
            value: 0
        })
    );
    let f9_not_ca = Opts {
        f9_exts: vec![slot_ext_firmware()],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(f9_not_ca),
        Err(AttestationError::NotCa { role: CertRole::F9 })
    );
    let f9_ca_false = Opts {
        f9_exts: vec![der::basic_constraints(false, None)],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(f9_ca_false),
        Err(AttestationError::NotCa { role: CertRole::F9 })
    );
    let f9_no_cert_sign = Opts {
        f9_exts: vec![
            der::basic_constraints(true, Some(0)),
            der::key_usage_digital_signature_only(),
        ],
        ..Opts::default()
    };
    assert_eq!(
        verify_test(f9_no_cert_sign),
        Err(AttestationError::KeyUsageForbidsCertSign { role: CertRole::F9 })
    );
    let root_pathlen_0 = Opts {
        root_pathlen: Some(0),
        ..Opts::default()
    };
    assert_eq!(
        verify_test(root_pathlen_0),
        Err(AttestationError::PathLenExceeded {
            role: CertRole::TestRoot,
            pathlen: 0,
            below: 1
        })
    );
    let slot_is_ca = Opts {
        slot_exts: [
            Opts::default().slot_exts,
            vec![der::basic_constraints(true, None)],
        ]
        .concat(),
        ..Opts::default()
    };
    assert_eq!(verify_test(slot_is_ca), Err(AttestationError::SlotCertIsCa));
    let unknown_critical = Opts {
        slot_exts: [
            Opts::default().slot_exts,
            vec![der::ext("1.2.3.4.5", true, &[0x05, 0x00])],
        ]
        .concat(),
        ..Opts::default()
    };
    assert_eq!(
        verify_test(unknown_critical),
        Err(AttestationError::UnknownCriticalExtension {
            role: CertRole::Slot,
            oid: "1.2.3.4.5".to_owned()
        })
    );
    let duplicate = Opts {
        slot_exts: [Opts::default().slot_exts, vec![slot_ext_serial()]].concat(),
        ..Opts::default()
    };
    assert_eq!(
        verify_test(duplicate),
        Err(AttestationError::DuplicateExtension {
            role: CertRole::Slot,
            oid: "1.3.6.1.4.1.41482.3.7".to_owned()
        })
    );
    let serial_too_big = Opts {
        slot_exts: vec![
            slot_ext_firmware(),
            der::ext(&format!("{YK}.7"), false, &der::uint(1 << 40)),
            slot_ext_policy(2, 3),
        ],
        ..Opts::default()
    };
    assert!(matches!(
        verify_test(serial_too_big),
        Err(AttestationError::InvalidExtension { name: "serial", .. })
    ));
    let short_firmware = Opts {
        slot_exts: vec![
            der::ext(&format!("{YK}.3"), false, &[5, 7]),
            slot_ext_serial(),
            slot_ext_policy(2, 3),
        ],
        ..Opts::default()
    };
    assert!(matches!(
        verify_test(short_firmware),
        Err(AttestationError::InvalidExtension {
            name: "firmware",
            ..
        })
    ));
    let reversed_validity = Opts {
        slot_validity: (der::utc("300101000000Z"), der::utc("200101000000Z")),
        ..Opts::default()
    };
    assert_eq!(
        verify_test(reversed_validity),
        Err(AttestationError::InvalidValidity {
            role: CertRole::Slot
        })
    );
    let mut off_curve = point(&key(4));
    off_curve[64] ^= 1;
    let bad_point = Opts {
        slot_point: Some(off_curve),
        ..Opts::default()
    };
    assert!(matches!(
        verify_test(bad_point),
        Err(AttestationError::InvalidSubjectKey { .. })
    ));
}

/// Validity is not checked against a clock (module docs): a chain whose validity
/// period ended long ago still verifies.
#[test]
fn validity_is_not_checked_against_the_clock() {
    let expired = Opts {
        slot_validity: (der::utc("000101000000Z"), der::utc("010101000000Z")),
        ..Opts::default()
    };
    assert!(verify_test(expired).is_ok());
    let future = Opts {
        slot_validity: (
            der::gen_time("21000101000000Z"),
            der::gen_time("21010101000000Z"),
        ),
        ..Opts::default()
    };
    assert!(verify_test(future).is_ok());
}

// ---------------------------------------------------------------------------------
// No panic on mutated or random input.

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(3) {
        if v.is_empty() {
            v.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(v.len());
        match rng.below(6) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => v[at] = rng.next() as u8,
            2 => v.truncate(at),
            3 => v.insert(at, rng.next() as u8),
            4 => {
                v.remove(at);
            }
            _ => v[at] = [0x00, 0x7f, 0x80, 0x81, 0xff][rng.below(5)],
        }
    }
    v
}

#[test]
fn no_panic_on_mutated_or_random_input() {
    let anchors = yubico();
    let generated = test_chain(Opts::default());
    let test_anchors = yubico().with_test_root(&generated.root);
    let mut cases: Vec<(Vec<u8>, Vec<u8>, &TrustAnchors)> = GOOD_VECTORS
        .iter()
        .chain([V_437].iter())
        .map(|n| {
            let (s, f) = vector(n);
            (s, f, &anchors)
        })
        .collect();
    cases.push((generated.slot.clone(), generated.f9.clone(), &test_anchors));

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted_mutants = 0;
    for i in 0..3000 {
        let (slot, f9, anchors) = &cases[i % cases.len()];
        let (m_slot, m_f9) = match rng.below(3) {
            0 => (mutate(&mut rng, slot), f9.clone()),
            1 => (slot.clone(), mutate(&mut rng, f9)),
            _ => (mutate(&mut rng, slot), mutate(&mut rng, f9)),
        };
        let result = verify(&m_slot, &m_f9, anchors);
        if result.is_ok() && (&m_slot != slot || &m_f9 != f9) {
            accepted_mutants += 1;
        }
        // Error messages render without panicking too.
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    }
    assert_eq!(accepted_mutants, 0, "a mutated chain was accepted");

    for len in [0usize, 1, 2, 3, 5, 16, 100, 700, 2000] {
        for _ in 0..20 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut seq = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
            seq.extend_from_slice(&bytes);
            for input in [&bytes, &seq] {
                assert!(verify(input, &cases[0].1, &anchors).is_err());
                assert!(verify(&cases[0].0, input, &anchors).is_err());
            }
            let _ = pem_to_der(&String::from_utf8_lossy(&bytes));
        }
    }
}
