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
