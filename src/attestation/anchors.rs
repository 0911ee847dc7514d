//! The trust anchors attestation chains are verified against: Yubico's two
//! PIV attestation PKIs bundled in `roots/`, each certificate checked against
//! its published SHA-256 fingerprint at load, the U2F root recognised only to
//! refuse it, and (test-hooks builds only) an injected test root.

use rsa::sha2::{Digest, Sha256};

use super::cert::{parse_cert, ParsedCert};
use super::{AttestationError, CertRole, Pki};

/// A bundled certificate: file name, PEM, published SHA-256 of the DER.
pub(super) struct Bundled {
    pub(super) name: &'static str,
    pub(super) pem: &'static str,
    pub(super) sha256: [u8; 32],
}

macro_rules! bundled {
    ($file:literal, $hex:literal) => {
        Bundled {
            name: $file,
            pem: include_str!(concat!("roots/", $file)),
            // Decoded at compile time: a typo fails the build, not the program.
            sha256: hex_literal::hex!($hex),
        }
    };
}

/// Roots and their PKI. Fingerprints as published by Yubico (see
/// `tests/data/attestation/README.md`).
pub(super) const ROOTS: [(Bundled, Pki); 2] = [
    (
        bundled!(
            "root-piv-263751.pem",
            "63ECE914E54DD87915F34033C85AF4C0696BA1512F8ADD66CED738331207B546"
        ),
        Pki::LegacyPivRoot263751,
    ),
    (
        bundled!(
            "root-attestation-1.pem",
            "62760C6A6EF91679F454C8902B80FD009825B3F25DA90F1FBACE2EC6586CD5A8"
        ),
        Pki::AttestationRoot1,
    ),
];

/// Intermediates of the current PKI.
pub(super) const INTERMEDIATES: [Bundled; 5] = [
    bundled!(
        "intermediate-attestation-a-1.pem",
        "4698A1D3389C3EC60016C216250F1D0439922832D65142327436376DC2942B55"
    ),
    bundled!(
        "intermediate-attestation-b-1.pem",
        "D4CC3F456FDAF4E7812A21AAB1DFE9D8E27D24E2FD2D6F21C9940109F0DAA754"
    ),
    bundled!(
        "piv-attestation-a-1.pem",
        "6DE693F05376F5D8CA29069261E1C8626C75D503BD2EDBFD75354CAD1F722870"
    ),
    bundled!(
        "piv-attestation-b-1.pem",
        "2D55B7998F4E42569D6D8FA382B6DC77D1DACF07358B19701163892922B17052"
    ),
    bundled!(
        "piv-attestation-b2-1.pem",
        "0C90B7D184A36EDF50A35F9BE935F0C5689BFDCFE5BDD073366CAFB49061A440"
    ),
];

/// Known but refused root: only used to name the YubiKey 4 / U2F case precisely.
pub(super) const U2F_ROOT: Bundled = bundled!(
    "root-u2f-457200631.pem",
    "0FA1386F80EB8713263AE5C1D84DEB455BDF08AEA50AB05503CEFEE82B092D42"
);

pub(super) fn load_bundled(b: &Bundled, role: CertRole) -> Result<ParsedCert, AttestationError> {
    let der = pem_to_der(b.pem).map_err(|e| AttestationError::BundledCertificateInvalid {
        name: b.name,
        detail: e.to_string(),
    })?;
    if Sha256::digest(&der).as_slice() != b.sha256.as_slice() {
        return Err(AttestationError::BundledCertificateMismatch { name: b.name });
    }
    parse_cert(&der, role).map_err(|e| AttestationError::BundledCertificateInvalid {
        name: b.name,
        detail: e.to_string(),
    })
}

/// A trusted root and the PKI it stands for.
#[derive(Clone, Debug)]
pub(super) struct Anchor {
    pub(super) cert: ParsedCert,
    pub(super) pki: Pki,
}

/// The roots and intermediates attestation chains are verified against.
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    pub(super) roots: Vec<Anchor>,
    pub(super) intermediates: Vec<ParsedCert>,
    /// Roots recognised only to refuse them with a precise error.
    pub(super) refused_u2f_root: ParsedCert,
    /// Injected test roots (DER), parsed at verification time.
    #[cfg(feature = "test-hooks")]
    test_roots: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// The bundled Yubico set: both PIV attestation PKIs, each certificate checked
    /// against its published SHA-256 fingerprint.
    ///
    /// # Errors
    /// [`AttestationError::BundledCertificateMismatch`] or
    /// [`AttestationError::BundledCertificateInvalid`] if the build is corrupt.
    pub fn yubico() -> Result<Self, AttestationError> {
        let roots = ROOTS
            .iter()
            .map(|(b, pki)| {
                Ok(Anchor {
                    cert: load_bundled(b, CertRole::Root)?,
                    pki: *pki,
                })
            })
            .collect::<Result<Vec<_>, AttestationError>>()?;
        let intermediates = INTERMEDIATES
            .iter()
            .map(|b| load_bundled(b, CertRole::Intermediate))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustAnchors {
            roots,
            intermediates,
            refused_u2f_root: load_bundled(&U2F_ROOT, CertRole::Root)?,
            #[cfg(feature = "test-hooks")]
            test_roots: Vec::new(),
        })
    }

    /// The anchors this build trusts: the bundled Yubico set; in builds with the
    /// `test-hooks` feature (tests only) plus the root (DER or PEM) named by the
    /// environment variable `BREAKGLASS_TEST_ATTESTATION_ROOT`, if set.
    pub fn for_this_build() -> Result<Self, AttestationError> {
        let anchors = Self::yubico()?;
        #[cfg(feature = "test-hooks")]
        if let Some(path) = std::env::var_os("BREAKGLASS_TEST_ATTESTATION_ROOT") {
            if let Ok(bytes) = std::fs::read(path) {
                // DER, or PEM as `virtual-yubikey --print-root` writes it; a
                // bad PEM block stays as is and fails as an invalid test root.
                let der = match std::str::from_utf8(&bytes) {
                    Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
                        pem_to_der(text.trim()).unwrap_or_else(|_| bytes.clone())
                    }
                    _ => bytes,
                };
                return Ok(anchors.with_test_root(&der));
            }
        }
        Ok(anchors)
    }

    /// SHA-256 fingerprints of the DER of every bundled certificate, computed from the
    /// embedded bytes (for display, and for tests comparing them with the published
    /// table).
    pub fn bundled_fingerprints() -> Vec<(&'static str, [u8; 32])> {
        ROOTS
            .iter()
            .map(|(b, _)| b)
            .chain(INTERMEDIATES.iter())
            .chain(core::iter::once(&U2F_ROOT))
            .map(|b| {
                let mut fp = [0u8; 32];
                if let Ok(der) = pem_to_der(b.pem) {
                    fp.copy_from_slice(&Sha256::digest(&der));
                }
                (b.name, fp)
            })
            .collect()
    }

    /// Adds a test root (DER). Chains under it verify with [`Pki::Test`]. Only in builds
    /// with the `test-hooks` feature; an invalid root makes [`verify`] fail with a
    /// [`CertRole::TestRoot`] error.
    #[cfg(feature = "test-hooks")]
    pub fn with_test_root(mut self, root_der: &[u8]) -> Self {
        self.test_roots.push(root_der.to_vec());
        self
    }

    /// Removes the bundled root of `pki` (tests of "the needed root is missing").
    /// Only in builds with the `test-hooks` feature.
    #[cfg(feature = "test-hooks")]
    pub fn without_pki(mut self, pki: Pki) -> Self {
        self.roots.retain(|a| a.pki != pki);
        self
    }

    /// All anchors in effect: bundled roots, then test roots.
    pub(super) fn effective_roots(&self) -> Result<Vec<Anchor>, AttestationError> {
        #[allow(unused_mut)]
        let mut roots = self.roots.clone();
        #[cfg(feature = "test-hooks")]
        for der in &self.test_roots {
            roots.push(Anchor {
                cert: parse_cert(der, CertRole::TestRoot)?,
                pki: Pki::Test,
            });
        }
        Ok(roots)
    }
}

/// Converts one strict RFC 7468 PEM `CERTIFICATE` block to DER. Anything else (other
/// labels, headers, text around the block, bad Base64, several blocks) is refused.
///
/// # Errors
/// [`AttestationError::InvalidPem`].
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, AttestationError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    // The RFC 7468 decoder tolerates explanatory text before the block; we do not.
    let body = pem.trim_end_matches(['\r', '\n']);
    if !body.starts_with(BEGIN) || !body.ends_with(END) || body.matches("-----BEGIN").count() != 1 {
        return Err(AttestationError::InvalidPem {
            detail: "expected exactly one certificate block and nothing around it".to_owned(),
        });
    }
    let (label, der) = x509_cert::der::pem::decode_vec(pem.as_bytes()).map_err(|e| {
        AttestationError::InvalidPem {
            detail: e.to_string(),
        }
    })?;
    if label != "CERTIFICATE" {
        return Err(AttestationError::InvalidPem {
            detail: format!("label is {label:?}, not \"CERTIFICATE\""),
        });
    }
    if der.is_empty() {
        return Err(AttestationError::InvalidPem {
            detail: "empty body".to_owned(),
        });
    }
    Ok(der)
}
