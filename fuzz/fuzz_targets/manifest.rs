//! `Manifest::from_bytes`: never panics; whatever it accepts re-encodes to the
//! exact input (canonical encoding, docs/formats.md §5), its digest is the
//! SHA-256 of these bytes, and the check that follows every parse answers:
//! format 1, the MAC under the test key ("bad MAC" unless the input carries
//! the right tag); format 2, the self signature (under the test key S_1 it
//! verifies exactly when it is the one S_1 makes: Ed25519 is deterministic).
#![no_main]

use breakglass::keys::MasterKey;
use breakglass::manifest::{sha256_hex, vault_fingerprint, Manifest};
use breakglass::secret::SecretBytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_bytes(data) {
        let again = m.to_bytes().expect("an accepted manifest re-encodes");
        assert_eq!(again, data, "accepted a non-canonical manifest");
        assert_eq!(m.digest().unwrap(), sha256_hex(data));
        let vid = m.vault_id_bytes().expect("an accepted vault id decodes");
        // The test key K = 00 01 .. 1f of the vectors (docs/formats.md §3).
        let k = MasterKey::from_secret(SecretBytes::new((0u8..32).collect())).unwrap();
        if m.is_v2() {
            assert!(m.mac.is_none(), "a format 2 manifest with a MAC");
            let genesis = m.genesis_public().expect("an accepted genesis key");
            // The fingerprint is the vault's: its id and genesis key only.
            assert_eq!(m.fingerprint(), vault_fingerprint(&vid, &genesis));
            let ours = k.signing_key(&vid).unwrap();
            let verifies = m.verify_signatures(None).is_ok();
            if m.signing_public().expect("an accepted signing key") == ours.public() {
                let mut signed = m.clone();
                signed
                    .sign(&ours, None)
                    .expect("an accepted manifest can be signed");
                let own = |x: &Manifest| x.signatures.as_ref().map(|s| s.own.clone());
                assert_eq!(verifies, own(&signed) == own(&m));
            }
        } else {
            assert!(m.signatures.is_none() && m.genesis_key.is_none() && m.signing_key.is_none());
            // The format 1 fingerprint is a function of exactly these bytes.
            assert_eq!(m.fingerprint(), breakglass::manifest::fingerprint_of(data));
            let mut sealed = m.clone();
            sealed
                .seal(&k.manifest_mac_key(&vid).unwrap())
                .expect("an accepted manifest can be sealed");
            let key = k.manifest_mac_key(&vid).unwrap();
            assert_eq!(m.verify_mac(&key).is_ok(), sealed.mac == m.mac);
        }
    }
});
