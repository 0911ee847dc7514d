//! `Manifest::from_bytes`: never panics; whatever it accepts re-encodes to the
//! exact input (canonical encoding, docs/formats.md §4), and the MAC check
//! that follows every parse answers (here: "bad MAC" under the test key,
//! unless the input carries the right tag).
#![no_main]

use breakglass::keys::MasterKey;
use breakglass::manifest::Manifest;
use breakglass::secret::SecretBytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_bytes(data) {
        let again = m.to_bytes().expect("an accepted manifest re-encodes");
        assert_eq!(again, data, "accepted a non-canonical manifest");
        // The fingerprint is a function of exactly these bytes.
        assert_eq!(m.fingerprint(), breakglass::manifest::fingerprint_of(data));
        let vid = m.vault_id_bytes().expect("an accepted vault id decodes");
        // The test key K = 00 01 .. 1f of the vectors (docs/formats.md §3).
        let k = MasterKey::from_secret(SecretBytes::new((0u8..32).collect())).unwrap();
        let mut sealed = m.clone();
        sealed
            .seal(&k.manifest_mac_key(&vid).unwrap())
            .expect("an accepted manifest can be sealed");
        let key = k.manifest_mac_key(&vid).unwrap();
        assert_eq!(m.verify_mac(&key).is_ok(), sealed.mac == m.mac);
    }
});
