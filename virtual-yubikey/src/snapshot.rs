//! A comparable snapshot of a virtual card's persistent security state, so a
//! test can assert "this operation left the token exactly as it was".
//!
//! Invariants:
//! - [`CardState`] covers everything that survives a power cycle: PIN, PUK
//!   and their retry counters, the management key, every slot's key and
//!   policies, every data object (certificates, printed/admin data).
//! - No secret appears in clear: PIN, PUK, management key and private keys
//!   enter only [`CardState::secrets_digest`], an HMAC-style SHA-256 keyed with
//!   a random per-process key, so snapshots compare within one process and
//!   a printed snapshot (`Debug`, assertion failure) reveals nothing
//!   guessable about a PIN.
//! - Session state (selected application, PIN verified, chaining) is not
//!   part of it: a reset or re-insertion does not change a snapshot.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use p256::elliptic_curve::sec1::ToSec1Point;
use sha2::{Digest, Sha256};

use crate::card::Card;

/// Retry state of a PIN or PUK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceState {
    /// Configured number of tries.
    pub max: u8,
    /// Tries left.
    pub left: u8,
    /// True while the value is the factory default.
    pub is_default: bool,
}

/// Management key facts (not the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagementKeyState {
    /// Algorithm id (0x03 3DES, 0x08/0x0A/0x0C AES-128/192/256).
    pub algorithm: u8,
    /// Touch required to use it.
    pub touch: bool,
    /// True while it is the factory default key.
    pub is_default: bool,
}

/// A key slot's public facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// SEC1 uncompressed public point (65 bytes, P-256).
    pub public_key: Vec<u8>,
    /// PIN policy as stored (1 never, 2 once, 3 always).
    pub pin_policy: u8,
    /// Touch policy as stored (1 never, 2 always, 3 cached).
    pub touch_policy: u8,
    /// Generated on the card (attestable) rather than imported.
    pub generated: bool,
}

/// A snapshot of a card's persistent state; compare two with `==`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardState {
    /// Serial number.
    pub serial: u32,
    /// Firmware version.
    pub firmware: [u8; 3],
    /// PIN retry state.
    pub pin: ReferenceState,
    /// PUK retry state.
    pub puk: ReferenceState,
    /// Management key facts.
    pub management_key: ManagementKeyState,
    /// Occupied key slots by slot id (0x9A, 0x82, ...).
    pub slots: BTreeMap<u8, SlotState>,
    /// SHA-256 of each stored data object, by object id (e.g. 5FC10A).
    pub objects: BTreeMap<[u8; 3], [u8; 32]>,
    /// Keyed digest of the PIN, PUK, management key and private keys.
    pub secrets_digest: [u8; 32],
}

fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut k);
        k
    })
}

impl Card {
    /// Snapshot of the persistent security state (see [`CardState`]).
    pub fn state(&self) -> CardState {
        let mut secrets = Sha256::new();
        secrets.update(process_key());
        secrets.update(self.pin.value);
        secrets.update(self.puk.value);
        secrets.update([self.mgm.alg]);
        secrets.update((self.mgm.key.len() as u32).to_be_bytes());
        secrets.update(&self.mgm.key);
        let mut slots = BTreeMap::new();
        for (id, key) in &self.keys {
            secrets.update([*id]);
            secrets.update(key.secret.to_bytes());
            slots.insert(
                *id,
                SlotState {
                    public_key: key
                        .secret
                        .public_key()
                        .to_sec1_point(false)
                        .as_bytes()
                        .to_vec(),
                    pin_policy: key.pin_policy,
                    touch_policy: key.touch_policy,
                    generated: key.generated,
                },
            );
        }
        let objects = self
            .objects
            .iter()
            .map(|(id, v)| (*id, Sha256::digest(v).into()))
            .collect();
        let reference = |r: &crate::card::Reference| ReferenceState {
            max: r.max,
            left: r.left,
            is_default: r.is_default(),
        };
        CardState {
            serial: self.config.serial,
            firmware: self.config.firmware,
            pin: reference(&self.pin),
            puk: reference(&self.puk),
            management_key: ManagementKeyState {
                algorithm: self.mgm.alg,
                touch: self.mgm.touch,
                is_default: self.mgm.key == crate::card::DEFAULT_MGM_KEY,
            },
            slots,
            objects,
            secrets_digest: Sha256::digest(secrets.finalize()).into(),
        }
    }
}
