//! The pure PIV card core: [`Card::execute`] maps a command APDU to a response.
//!
//! Invariants:
//! - `execute` never panics on any input; malformed APDUs get `6700`/`6A80`/
//!   `6D00`/`6E00`, exactly as a real card refuses them.
//! - Persistent state (PIN, PUK, retry counters, management key, keys, data
//!   objects) survives [`Card::power_cycle`]; session state (selected
//!   application, PIN verified, management key authenticated, chaining buffers)
//!   does not.
//! - Behaviour follows a YubiKey 5 (firmware 5.4.3 / 5.7.x) as far as the
//!   `yubikey` crate, `yubico-piv-tool` and `age-plugin-yubikey` can observe it.

use std::collections::{BTreeMap, VecDeque};

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::elliptic_curve::Generate;
use p256::{ProjectivePoint, PublicKey, SecretKey};
use subtle::ConstantTimeEq;

use crate::apdu::{parse_all, parse_tlv, sw, tlv, Command, Sw, Tlv};
use crate::attest;

/// The PIV application identifier (prefix; a longer SELECT AID also matches).
pub const PIV_AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];
/// The YubiKey management application identifier.
pub const MGMT_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17];
/// The default management key bytes (3DES before 5.7, AES-192 from 5.7).
pub const DEFAULT_MGM_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// Default PIN.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// Default PUK.
pub const DEFAULT_PUK: &[u8] = b"12345678";
/// Largest data object the card stores (as a YubiKey 5: 3052 bytes).
pub const MAX_OBJECT: usize = 3052;
/// Largest command-chained input the card buffers.
const MAX_CHAIN: usize = 4096;

/// Firmware 5.4.3: 3DES default management key.
pub const FW_5_4_3: [u8; 3] = [5, 4, 3];
/// Firmware 5.7.1: AES-192 default management key.
pub const FW_5_7_1: [u8; 3] = [5, 7, 1];

/// Algorithm identifiers (SP 800-78 / Yubico).
mod alg {
    pub const TDES: u8 = 0x03;
    pub const RSA2048: u8 = 0x07;
    pub const AES128: u8 = 0x08;
    pub const AES192: u8 = 0x0A;
    pub const AES256: u8 = 0x0C;
    pub const ECCP256: u8 = 0x11;
    pub const PIN_PUK: u8 = 0xFF;
}

/// Instructions the card implements.
mod ins {
    /// Management application: read the device info.
    pub const READ_CONFIG: u8 = 0x1D;
    pub const VERIFY: u8 = 0x20;
    pub const CHANGE_REFERENCE: u8 = 0x24;
    pub const RESET_RETRY: u8 = 0x2C;
    pub const GENERATE: u8 = 0x47;
    pub const AUTHENTICATE: u8 = 0x87;
    pub const SELECT: u8 = 0xA4;
    pub const GET_RESPONSE: u8 = 0xC0;
    pub const GET_DATA: u8 = 0xCB;
    pub const PUT_DATA: u8 = 0xDB;
    pub const GET_METADATA: u8 = 0xF7;
    pub const GET_SERIAL: u8 = 0xF8;
    pub const ATTEST: u8 = 0xF9;
    pub const SET_PIN_RETRIES: u8 = 0xFA;
    pub const RESET: u8 = 0xFB;
    pub const GET_VERSION: u8 = 0xFD;
    pub const SET_MGM_KEY: u8 = 0xFF;
}

/// Slot ids.
mod slot {
    pub const MANAGEMENT: u8 = 0x9B;
    pub const SIGNATURE: u8 = 0x9C;
    pub const CARD_AUTH: u8 = 0x9E;
    pub const ATTESTATION: u8 = 0xF9;
    pub const PIN: u8 = 0x80;
    pub const PUK: u8 = 0x81;
}

/// PIN policy values as the card stores and reports them.
pub mod pin_policy {
    /// Use the slot default.
    pub const DEFAULT: u8 = 0;
    /// PIN never required.
    pub const NEVER: u8 = 1;
    /// PIN required once per session.
    pub const ONCE: u8 = 2;
    /// PIN required immediately before every use.
    pub const ALWAYS: u8 = 3;
}

/// Touch policy values as the card stores and reports them.
pub mod touch_policy {
    /// Use the slot default (never).
    pub const DEFAULT: u8 = 0;
    /// Touch never required.
    pub const NEVER: u8 = 1;
    /// Touch required for every use.
    pub const ALWAYS: u8 = 2;
    /// Touch cached for 15 s.
    pub const CACHED: u8 = 3;
}

/// How the simulated user responds to a touch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Touch {
    /// The user touches at once: operations needing touch succeed.
    #[default]
    Immediate,
    /// Nobody touches: the operation fails as on a real YubiKey after its
    /// ~15 s touch timeout, with `6982` (security status not satisfied),
    /// which the `yubikey` crate reports as `Error::AuthenticationError`.
    /// (Answered at once; the virtual card does not wait 15 s.)
    Never,
}

/// An injectable fault, consumed by the first matching command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer the next command with this INS (any INS when `None`) with `sw`
    /// and no data, without executing it.
    StatusWord {
        /// INS to match, or any.
        ins: Option<u8>,
        /// Status word returned.
        sw: u16,
    },
}

/// Static configuration of a virtual card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Serial number (tests use 99_000_000..=99_999_999, see [`crate::harness`]).
    pub serial: u32,
    /// Firmware version; 5.7.0 and later default to an AES-192 management key.
    pub firmware: [u8; 3],
    /// Initial PIN (6–8 bytes).
    pub pin: Vec<u8>,
    /// Initial PUK (6–8 bytes).
    pub puk: Vec<u8>,
    /// PIN retry count.
    pub pin_retries: u8,
    /// PUK retry count.
    pub puk_retries: u8,
    /// Simulated user behaviour when touch is required.
    pub touch: Touch,
    /// Form factor byte in attestation (0x03 = USB-C keychain; | 0x80 for FIPS).
    pub form_factor: u8,
}

impl Config {
    /// A factory-fresh card: default PIN/PUK/management key, 3 retries each.
    pub fn new(serial: u32, firmware: [u8; 3]) -> Self {
        Config {
            serial,
            firmware,
            pin: DEFAULT_PIN.to_vec(),
            puk: DEFAULT_PUK.to_vec(),
            pin_retries: 3,
            puk_retries: 3,
            touch: Touch::Immediate,
            form_factor: 0x03,
        }
    }
}

/// Management key algorithm and key bytes.
#[derive(Clone)]
pub(crate) struct MgmKey {
    pub(crate) alg: u8,
    pub(crate) key: Vec<u8>,
    pub(crate) touch: bool,
}

impl MgmKey {
    pub(crate) fn default_for(firmware: [u8; 3]) -> Self {
        let alg = if firmware >= [5, 7, 0] {
            alg::AES192
        } else {
            alg::TDES
        };
        MgmKey {
            alg,
            key: DEFAULT_MGM_KEY.to_vec(),
            touch: false,
        }
    }

    pub(crate) fn key_len(alg: u8) -> Option<usize> {
        match alg {
            alg::TDES | alg::AES192 => Some(24),
            alg::AES128 => Some(16),
            alg::AES256 => Some(32),
            _ => None,
        }
    }

    fn block_len(&self) -> usize {
        if self.alg == alg::TDES {
            8
        } else {
            16
        }
    }

    fn crypt(&self, block: &mut [u8], encrypt: bool) -> Result<(), Sw> {
        fn run<C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt>(
            key: &[u8],
            block: &mut [u8],
            encrypt: bool,
        ) -> Result<(), Sw> {
            let cipher = C::new_from_slice(key).map_err(|_| sw::WRONG_DATA)?;
            let b: &mut Block<C> = block.try_into().map_err(|_| sw::WRONG_DATA)?;
            if encrypt {
                cipher.encrypt_block(b);
            } else {
                cipher.decrypt_block(b);
            }
            Ok(())
        }
        match self.alg {
            alg::TDES => run::<des::TdesEde3>(&self.key, block, encrypt),
            alg::AES128 => run::<aes::Aes128>(&self.key, block, encrypt),
            alg::AES192 => run::<aes::Aes192>(&self.key, block, encrypt),
            alg::AES256 => run::<aes::Aes256>(&self.key, block, encrypt),
            _ => Err(sw::WRONG_DATA),
        }
    }
}

/// A private key held in a slot.
pub(crate) struct SlotKey {
    pub(crate) secret: SecretKey,
    pub(crate) pin_policy: u8,
    pub(crate) touch_policy: u8,
    pub(crate) generated: bool,
}

/// A pending management-key authentication step.
enum MgmPending {
    /// Mutual authentication: the plaintext witness the host must return.
    Witness(Vec<u8>),
    /// One-way (external) authentication: the challenge the host must encrypt.
    Challenge(Vec<u8>),
}

/// Which application is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    None,
    Piv,
    Management,
}

/// A retry-counted reference (PIN or PUK), stored padded to 8 bytes with 0xFF.
pub(crate) struct Reference {
    pub(crate) value: [u8; 8],
    pub(crate) max: u8,
    pub(crate) left: u8,
    pub(crate) default: [u8; 8],
}

impl Reference {
    pub(crate) fn new(value: &[u8], default: &[u8], max: u8) -> Self {
        Reference {
            value: pad8(value),
            max,
            left: max,
            default: pad8(default),
        }
    }

    pub(crate) fn is_default(&self) -> bool {
        bool::from(self.value.ct_eq(&self.default))
    }

    /// Checks a padded candidate, updating the counter; `Err` is the SW to return.
    fn check(&mut self, candidate: &[u8]) -> Result<(), Sw> {
        if self.left == 0 {
            return Err(sw::AUTH_BLOCKED);
        }
        if bool::from(self.value.as_slice().ct_eq(candidate)) {
            self.left = self.max;
            Ok(())
        } else {
            self.left = self.left.saturating_sub(1);
            Err(0x63C0 | u16::from(self.left.min(15)))
        }
    }
}

fn pad8(v: &[u8]) -> [u8; 8] {
    let mut out = [0xFF; 8];
    for (o, b) in out.iter_mut().zip(v) {
        *o = *b;
    }
    out
}

/// Validates an 8-byte padded PIN/PUK field: 6–8 bytes then 0xFF padding.
pub(crate) fn valid_padded(v: &[u8]) -> bool {
    let n = v.iter().position(|b| *b == 0xFF).unwrap_or(v.len());
    v.len() == 8 && (6..=8).contains(&n) && v[n..].iter().all(|b| *b == 0xFF)
}

pub(crate) fn valid_key_slot(s: u8) -> bool {
    matches!(s, 0x9A | 0x9C | 0x9D | 0x9E | 0x82..=0x95)
}

/// The virtual PIV card.
pub struct Card {
    pub(crate) config: Config,
    pub(crate) pin: Reference,
    pub(crate) puk: Reference,
    pub(crate) mgm: MgmKey,
    pub(crate) keys: BTreeMap<u8, SlotKey>,
    pub(crate) objects: BTreeMap<[u8; 3], Vec<u8>>,
    // Session state, cleared by power cycle / reset.
    app: App,
    pin_verified: bool,
    pin_just_verified: bool,
    mgm_authenticated: bool,
    mgm_pending: Option<MgmPending>,
    chain: Option<([u8; 3], Vec<u8>)>,
    pending_response: Vec<u8>,
    // Test hooks.
    faults: VecDeque<Fault>,
    apdus: u64,
}

/// Object id of the F9 attestation certificate.
const F9_CERT_OBJECT: [u8; 3] = [0x5F, 0xFF, 0x01];
/// Object id of the PIN-protected "printed information" object.
const PRINTED_OBJECT: [u8; 3] = [0x5F, 0xC1, 0x09];

impl Card {
    /// Creates a factory-fresh card (plus the given PIN/PUK/retries).
    pub fn new(config: Config) -> Self {
        let mut card = Card {
            pin: Reference::new(&config.pin, DEFAULT_PIN, config.pin_retries.max(1)),
            puk: Reference::new(&config.puk, DEFAULT_PUK, config.puk_retries.max(1)),
            mgm: MgmKey::default_for(config.firmware),
            keys: BTreeMap::new(),
            objects: BTreeMap::new(),
            app: App::None,
            pin_verified: false,
            pin_just_verified: false,
            mgm_authenticated: false,
            mgm_pending: None,
            chain: None,
            pending_response: Vec::new(),
            faults: VecDeque::new(),
            apdus: 0,
            config,
        };
        card.install_f9_certificate();
        card
    }

    fn install_f9_certificate(&mut self) {
        if let Some(cert) = attest::f9_certificate(self.config.firmware, self.config.serial) {
            self.objects.insert(F9_CERT_OBJECT, cert_object(&cert));
        }
    }

    /// The card's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the simulated touch behaviour.
    pub fn set_touch(&mut self, touch: Touch) {
        self.config.touch = touch;
    }

    /// Queues a fault; faults fire in order.
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push_back(fault);
    }

    /// Number of command APDUs executed so far.
    pub fn apdu_count(&self) -> u64 {
        self.apdus
    }

    /// Remaining PIN tries.
    pub fn pin_tries_left(&self) -> u8 {
        self.pin.left
    }

    /// Remaining PUK tries.
    pub fn puk_tries_left(&self) -> u8 {
        self.puk.left
    }

    /// Public key in a slot, if any (for test assertions).
    pub fn public_key(&self, slot_id: u8) -> Option<PublicKey> {
        self.keys.get(&slot_id).map(|k| k.secret.public_key())
    }

    /// Power off, power on or warm reset: session state is lost, as on a real card.
    pub fn power_cycle(&mut self) {
        self.app = App::None;
        self.clear_auth();
        self.chain = None;
        self.pending_response.clear();
    }

    fn clear_auth(&mut self) {
        self.pin_verified = false;
        self.pin_just_verified = false;
        self.mgm_authenticated = false;
        self.mgm_pending = None;
    }

    /// Executes one command APDU; returns response data followed by SW1 SW2.
    pub fn execute(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus = self.apdus.saturating_add(1);
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(e) => return status(e),
        };
        if let Some(pos) = self.faults.iter().position(|f| match f {
            Fault::StatusWord { ins, .. } => ins.is_none_or(|i| i == cmd.ins),
        }) {
            if let Some(Fault::StatusWord { sw, .. }) = self.faults.remove(pos) {
                return status(sw);
            }
        }
        if cmd.cla & !0x10 != 0 {
            return status(sw::CLA_NOT_SUPPORTED);
        }
        if cmd.ins == ins::GET_RESPONSE {
            let rest = std::mem::take(&mut self.pending_response);
            if rest.is_empty() {
                return status(sw::CONDITIONS);
            }
            return self.chunk(rest);
        }
        self.pending_response.clear();

        // Command chaining (CLA bit 0x10): buffer until the last block.
        let key = [cmd.ins, cmd.p1, cmd.p2];
        let data: Vec<u8> = match self.chain.take() {
            Some((k, mut buf)) if k == key => {
                buf.extend_from_slice(cmd.data);
                buf
            }
            _ => cmd.data.to_vec(),
        };
        if cmd.cla & 0x10 != 0 {
            if data.len() > MAX_CHAIN {
                return status(sw::WRONG_LENGTH);
            }
            self.chain = Some((key, data));
            return status(sw::OK);
        }
        let cmd = Command { data: &data, ..cmd };

        let just_verified = std::mem::take(&mut self.pin_just_verified);
        let result = self.dispatch(&cmd, just_verified);
        match result {
            Ok(data) => self.chunk(data),
            Err(e) => status(e),
        }
    }

    /// Returns at most 256 bytes, keeping the rest for GET RESPONSE (`61xx`).
    fn chunk(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        if data.len() <= 256 {
            data.extend(sw::OK.to_be_bytes());
            return data;
        }
        let rest = data.split_off(256);
        let sw2 = if rest.len() >= 256 {
            0
        } else {
            rest.len() as u8
        };
        self.pending_response = rest;
        data.extend([0x61, sw2]);
        data
    }

    fn dispatch(&mut self, cmd: &Command<'_>, just_verified: bool) -> Result<Vec<u8>, Sw> {
        if cmd.ins == ins::SELECT {
            return self.select(cmd);
        }
        match self.app {
            App::Piv => {}
            App::Management if cmd.ins == ins::READ_CONFIG => {
                return crate::management::device_info(&self.config, cmd.p1);
            }
            App::Management | App::None => return Err(sw::INS_NOT_SUPPORTED),
        }
        match cmd.ins {
            ins::GET_VERSION => Ok(self.config.firmware.to_vec()),
            ins::GET_SERIAL => Ok(self.config.serial.to_be_bytes().to_vec()),
            ins::VERIFY => self.verify(cmd),
            ins::CHANGE_REFERENCE => self.change_reference(cmd),
            ins::RESET_RETRY => self.reset_retry(cmd),
            ins::AUTHENTICATE => self.authenticate(cmd, just_verified),
            ins::SET_MGM_KEY => self.set_mgm_key(cmd),
            ins::GET_DATA => self.get_data(cmd),
            ins::PUT_DATA => self.put_data(cmd),
            ins::GENERATE => self.generate(cmd),
            ins::GET_METADATA => self.metadata(cmd),
            ins::ATTEST => self.attest(cmd),
            ins::RESET => self.reset(),
            ins::SET_PIN_RETRIES => self.set_pin_retries(cmd),
            _ => Err(sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if cmd.p1 != 0x04 {
            return Err(sw::WRONG_P1P2);
        }
        if cmd.data.len() >= PIV_AID.len() && cmd.data.starts_with(&PIV_AID) {
            self.app = App::Piv;
            self.clear_auth();
            // Application property template, as a YubiKey 5 answers.
            let mut apt = tlv(0x4F, &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
            apt.extend(tlv(0x79, &tlv(0x4F, &PIV_AID)));
            return Ok(tlv(0x61, &apt));
        }
        if cmd.data == MGMT_AID {
            self.app = App::Management;
            self.clear_auth();
            // A YubiKey 5 answers with its version as text; yubikit parses it.
            let [a, b, c] = self.config.firmware;
            return Ok(format!("{a}.{b}.{c}").into_bytes());
        }
        Err(sw::NOT_FOUND)
    }

    fn verify(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if cmd.p1 == 0xFF && cmd.data.is_empty() {
            self.pin_verified = false;
            return Ok(Vec::new());
        }
        if cmd.p1 != 0 || cmd.p2 != slot::PIN {
            return Err(sw::WRONG_P1P2);
        }
        if cmd.data.is_empty() {
            if self.pin.left == 0 {
                return Err(sw::AUTH_BLOCKED);
            }
            if self.pin_verified {
                return Ok(Vec::new());
            }
            return Err(0x63C0 | u16::from(self.pin.left.min(15)));
        }
        if cmd.data.len() != 8 {
            return Err(sw::WRONG_DATA);
        }
        match self.pin.check(cmd.data) {
            Ok(()) => {
                self.pin_verified = true;
                self.pin_just_verified = true;
                Ok(Vec::new())
            }
            Err(e) => {
                self.pin_verified = false;
                Err(e)
            }
        }
    }

    fn change_reference(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if cmd.p1 != 0 {
            return Err(sw::WRONG_P1P2);
        }
        if cmd.data.len() != 16 {
            return Err(sw::WRONG_DATA);
        }
        let (old, new) = cmd.data.split_at(8);
        let reference = match cmd.p2 {
            slot::PIN => &mut self.pin,
            slot::PUK => &mut self.puk,
            _ => return Err(sw::REF_NOT_FOUND),
        };
        reference.check(old)?;
        if !valid_padded(new) {
            return Err(sw::WRONG_DATA);
        }
        reference.value = pad8(new);
        Ok(Vec::new())
    }

    fn reset_retry(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if cmd.p1 != 0 || cmd.p2 != slot::PIN {
            return Err(sw::WRONG_P1P2);
        }
        if cmd.data.len() != 16 {
            return Err(sw::WRONG_DATA);
        }
        let (puk, new) = cmd.data.split_at(8);
        self.puk.check(puk)?;
        if !valid_padded(new) {
            return Err(sw::WRONG_DATA);
        }
        self.pin.value = pad8(new);
        self.pin.left = self.pin.max;
        Ok(Vec::new())
    }

    /// Parses `7C { ... }` into its inner TLVs.
    fn dynamic_auth(data: &[u8]) -> Result<Vec<Tlv<'_>>, Sw> {
        let (outer, rest) = parse_tlv(data)?;
        if outer.tag != 0x7C || !rest.is_empty() {
            return Err(sw::WRONG_DATA);
        }
        parse_all(outer.value)
    }

    fn authenticate(&mut self, cmd: &Command<'_>, just_verified: bool) -> Result<Vec<u8>, Sw> {
        let items = Self::dynamic_auth(cmd.data)?;
        let get = |tag: u16| items.iter().find(|t| t.tag == tag).map(|t| t.value);
        if cmd.p2 == slot::MANAGEMENT {
            return self.mgm_authenticate(cmd.p1, get(0x80), get(0x81), get(0x82));
        }
        if !valid_key_slot(cmd.p2) && cmd.p2 != slot::ATTESTATION {
            return Err(sw::WRONG_P1P2);
        }
        let key = self.keys.get(&cmd.p2).ok_or(sw::REF_NOT_FOUND)?;
        if cmd.p1 != alg::ECCP256 {
            return Err(sw::WRONG_DATA);
        }
        if get(0x82) != Some(&[][..]) {
            return Err(sw::WRONG_DATA);
        }
        // Check the operation's input before policies, as the card parses first.
        enum Op<'a> {
            Sign(&'a [u8]),
            Ecdh(&'a [u8]),
        }
        let op = match (get(0x81), get(0x85)) {
            (Some(hash), None) if !hash.is_empty() => Op::Sign(hash),
            (None, Some(point)) if point.len() == 65 => Op::Ecdh(point),
            _ => return Err(sw::WRONG_DATA),
        };
        let pin_ok = match key.pin_policy {
            pin_policy::NEVER => true,
            pin_policy::ALWAYS => just_verified,
            _ => self.pin_verified,
        };
        if !pin_ok {
            return Err(sw::SECURITY_STATUS);
        }
        if key.touch_policy != touch_policy::NEVER && self.config.touch == Touch::Never {
            return Err(sw::SECURITY_STATUS);
        }
        let result = match op {
            Op::Sign(hash) => {
                // bits2int: use the leftmost 32 bytes, left-pad shorter input.
                let mut prehash = [0u8; 32];
                let take = hash.len().min(32);
                prehash[32 - take..].copy_from_slice(&hash[..take]);
                let signer = p256::ecdsa::SigningKey::from(&key.secret);
                let sig: p256::ecdsa::Signature =
                    signer.sign_prehash(&prehash).map_err(|_| sw::WRONG_DATA)?;
                sig.to_der().as_bytes().to_vec()
            }
            Op::Ecdh(point) => {
                let peer = PublicKey::from_sec1_bytes(point).map_err(|_| sw::WRONG_DATA)?;
                let shared = (ProjectivePoint::from(*peer.as_affine())
                    * *key.secret.to_nonzero_scalar())
                .to_affine()
                .to_sec1_point(false);
                shared.x().ok_or(sw::WRONG_DATA)?.to_vec()
            }
        };
        Ok(tlv(0x7C, &tlv(0x82, &result)))
    }

    fn mgm_authenticate(
        &mut self,
        p1: u8,
        witness: Option<&[u8]>,
        challenge: Option<&[u8]>,
        response: Option<&[u8]>,
    ) -> Result<Vec<u8>, Sw> {
        if p1 != self.mgm.alg {
            self.mgm_pending = None;
            return Err(sw::WRONG_P1P2);
        }
        let n = self.mgm.block_len();
        let pending = self.mgm_pending.take();
        match (witness, challenge, response) {
            // Step 1 of mutual authentication: send an encrypted witness.
            (Some([]), None, None) => {
                if self.mgm.touch && self.config.touch == Touch::Never {
                    return Err(sw::SECURITY_STATUS);
                }
                let plain = random_bytes(n);
                let mut enc = plain.clone();
                self.mgm.crypt(&mut enc, true)?;
                self.mgm_pending = Some(MgmPending::Witness(plain));
                Ok(tlv(0x7C, &tlv(0x80, &enc)))
            }
            // Step 2: check the decrypted witness, answer the host's challenge.
            (Some(decrypted), Some(host_challenge), None) => {
                let Some(MgmPending::Witness(expected)) = pending else {
                    return Err(sw::CONDITIONS);
                };
                if decrypted.len() != n || host_challenge.len() != n {
                    return Err(sw::WRONG_DATA);
                }
                if !bool::from(expected.as_slice().ct_eq(decrypted)) {
                    self.mgm_authenticated = false;
                    return Err(sw::SECURITY_STATUS);
                }
                let mut enc = host_challenge.to_vec();
                self.mgm.crypt(&mut enc, true)?;
                self.mgm_authenticated = true;
                Ok(tlv(0x7C, &tlv(0x82, &enc)))
            }
            // One-way authentication, step 1: a plain challenge.
            (None, Some([]), None) => {
                if self.mgm.touch && self.config.touch == Touch::Never {
                    return Err(sw::SECURITY_STATUS);
                }
                let plain = random_bytes(n);
                self.mgm_pending = Some(MgmPending::Challenge(plain.clone()));
                Ok(tlv(0x7C, &tlv(0x81, &plain)))
            }
            // One-way authentication, step 2: the host's encryption of it.
            (None, None, Some(host_response)) => {
                let Some(MgmPending::Challenge(plain)) = pending else {
                    return Err(sw::CONDITIONS);
                };
                let mut expected = plain;
                self.mgm.crypt(&mut expected, true)?;
                if !bool::from(expected.as_slice().ct_eq(host_response)) {
                    self.mgm_authenticated = false;
                    return Err(sw::SECURITY_STATUS);
                }
                self.mgm_authenticated = true;
                Ok(Vec::new())
            }
            _ => Err(sw::WRONG_DATA),
        }
    }

    fn set_mgm_key(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        let touch = match (cmd.p1, cmd.p2) {
            (0xFF, 0xFF) => false,
            (0xFF, 0xFE) => true,
            _ => return Err(sw::WRONG_P1P2),
        };
        if !self.mgm_authenticated {
            return Err(sw::SECURITY_STATUS);
        }
        let (algorithm, rest) = match cmd.data {
            [a, slot::MANAGEMENT, len, rest @ ..] if usize::from(*len) == rest.len() => (*a, rest),
            _ => return Err(sw::WRONG_DATA),
        };
        if MgmKey::key_len(algorithm) != Some(rest.len()) {
            return Err(sw::WRONG_DATA);
        }
        if algorithm != alg::TDES && self.config.firmware < [5, 4, 0] {
            return Err(sw::WRONG_DATA);
        }
        self.mgm = MgmKey {
            alg: algorithm,
            key: rest.to_vec(),
            touch,
        };
        Ok(Vec::new())
    }

    /// Parses the `5C <id>` object reference; returns the id and the rest.
    fn object_id(data: &[u8]) -> Result<(Vec<u8>, &[u8]), Sw> {
        let (t, rest) = parse_tlv(data)?;
        if t.tag != 0x5C || !(t.value.len() == 1 || t.value.len() == 3) {
            return Err(sw::WRONG_DATA);
        }
        Ok((t.value.to_vec(), rest))
    }

    fn get_data(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Err(sw::WRONG_P1P2);
        }
        let (id, rest) = Self::object_id(cmd.data)?;
        if !rest.is_empty() {
            return Err(sw::WRONG_DATA);
        }
        if id == [0x7E] {
            // Discovery object: PIV AID, PIN usage policy (PIN, global PIN off).
            let mut d = tlv(0x4F, &[0xA0, 0, 0, 3, 8, 0, 0, 0x10, 0, 1, 0]);
            d.extend(tlv(0x5F2F, &[0x40, 0x10]));
            return Ok(tlv(0x7E, &d));
        }
        let id: [u8; 3] = id.as_slice().try_into().map_err(|_| sw::NOT_FOUND)?;
        if id == PRINTED_OBJECT && !self.pin_verified {
            return Err(sw::SECURITY_STATUS);
        }
        let value = self.objects.get(&id).ok_or(sw::NOT_FOUND)?;
        Ok(tlv(0x53, value))
    }

    fn put_data(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Err(sw::WRONG_P1P2);
        }
        if !self.mgm_authenticated {
            return Err(sw::SECURITY_STATUS);
        }
        let (id, rest) = Self::object_id(cmd.data)?;
        let id: [u8; 3] = id.as_slice().try_into().map_err(|_| sw::WRONG_DATA)?;
        if id[0] != 0x5F || !(id[1] == 0xC1 || id[1] == 0xFF) {
            return Err(sw::WRONG_DATA);
        }
        let (t, tail) = parse_tlv(rest)?;
        if t.tag != 0x53 || !tail.is_empty() {
            return Err(sw::WRONG_DATA);
        }
        if t.value.len() > MAX_OBJECT {
            return Err(sw::NO_SPACE);
        }
        if t.value.is_empty() {
            self.objects.remove(&id);
        } else {
            self.objects.insert(id, t.value.to_vec());
        }
        Ok(Vec::new())
    }

    fn generate(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if cmd.p1 != 0 || !valid_key_slot(cmd.p2) {
            return Err(sw::WRONG_P1P2);
        }
        if !self.mgm_authenticated {
            return Err(sw::SECURITY_STATUS);
        }
        let (t, rest) = parse_tlv(cmd.data)?;
        if t.tag != 0xAC || !rest.is_empty() {
            return Err(sw::WRONG_DATA);
        }
        let mut algorithm = None;
        let mut pin = pin_policy::DEFAULT;
        let mut touch = touch_policy::DEFAULT;
        for item in parse_all(t.value)? {
            match (item.tag, item.value) {
                (0x80, [a]) => algorithm = Some(*a),
                (0xAA, [p]) if *p <= pin_policy::ALWAYS => pin = *p,
                (0xAB, [p]) if *p <= touch_policy::CACHED => touch = *p,
                _ => return Err(sw::WRONG_DATA),
            }
        }
        if algorithm != Some(alg::ECCP256) {
            return Err(sw::WRONG_DATA);
        }
        if pin == pin_policy::DEFAULT {
            pin = match cmd.p2 {
                slot::SIGNATURE => pin_policy::ALWAYS,
                slot::CARD_AUTH => pin_policy::NEVER,
                _ => pin_policy::ONCE,
            };
        }
        if touch == touch_policy::DEFAULT {
            touch = touch_policy::NEVER;
        }
        let secret = SecretKey::generate_from_rng(&mut rand::rng());
        let point = secret.public_key().to_sec1_point(false);
        self.keys.insert(
            cmd.p2,
            SlotKey {
                secret,
                pin_policy: pin,
                touch_policy: touch,
                generated: true,
            },
        );
        Ok(tlv(0x7F49, &tlv(0x86, point.as_bytes())))
    }

    fn metadata(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if self.config.firmware < [5, 3, 0] {
            return Err(sw::INS_NOT_SUPPORTED);
        }
        if cmd.p1 != 0 {
            return Err(sw::WRONG_P1P2);
        }
        let mut out = Vec::new();
        match cmd.p2 {
            slot::PIN | slot::PUK => {
                let r = if cmd.p2 == slot::PIN {
                    &self.pin
                } else {
                    &self.puk
                };
                out.extend(tlv(0x01, &[alg::PIN_PUK]));
                out.extend(tlv(0x05, &[u8::from(r.is_default())]));
                out.extend(tlv(0x06, &[r.max, r.left]));
            }
            slot::MANAGEMENT => {
                let touch = if self.mgm.touch {
                    touch_policy::ALWAYS
                } else {
                    touch_policy::NEVER
                };
                let is_default = self.mgm.key == DEFAULT_MGM_KEY;
                out.extend(tlv(0x01, &[self.mgm.alg]));
                out.extend(tlv(0x02, &[pin_policy::DEFAULT, touch]));
                out.extend(tlv(0x05, &[u8::from(is_default)]));
            }
            slot::ATTESTATION => {
                let (n, e) = attest::f9_public_parts().ok_or(sw::REF_NOT_FOUND)?;
                let mut public = tlv(0x81, &n);
                public.extend(tlv(0x82, &e));
                out.extend(tlv(0x01, &[alg::RSA2048]));
                out.extend(tlv(0x02, &[pin_policy::NEVER, touch_policy::NEVER]));
                out.extend(tlv(0x03, &[0x02]));
                out.extend(tlv(0x04, &public));
            }
            s if valid_key_slot(s) => {
                let key = self.keys.get(&s).ok_or(sw::REF_NOT_FOUND)?;
                let point = key.secret.public_key().to_sec1_point(false);
                out.extend(tlv(0x01, &[alg::ECCP256]));
                out.extend(tlv(0x02, &[key.pin_policy, key.touch_policy]));
                out.extend(tlv(0x03, &[if key.generated { 0x01 } else { 0x02 }]));
                out.extend(tlv(0x04, &tlv(0x86, point.as_bytes())));
            }
            _ => return Err(sw::REF_NOT_FOUND),
        }
        Ok(out)
    }

    fn attest(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if !valid_key_slot(cmd.p1) || cmd.p2 != 0 {
            return Err(sw::WRONG_P1P2);
        }
        let key = self.keys.get(&cmd.p1).ok_or(sw::REF_NOT_FOUND)?;
        if !key.generated {
            return Err(sw::WRONG_DATA);
        }
        let mut cert_serial = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut cert_serial);
        let public = key.secret.public_key();
        attest::slot_certificate(&attest::SlotFacts {
            slot: cmd.p1,
            public: &public,
            firmware: self.config.firmware,
            serial: self.config.serial,
            pin_policy: key.pin_policy,
            touch_policy: key.touch_policy,
            form_factor: self.config.form_factor,
            cert_serial,
        })
        .ok_or(sw::CONDITIONS)
    }

    fn reset(&mut self) -> Result<Vec<u8>, Sw> {
        if self.pin.left != 0 || self.puk.left != 0 {
            return Err(sw::CONDITIONS);
        }
        self.pin = Reference::new(DEFAULT_PIN, DEFAULT_PIN, 3);
        self.puk = Reference::new(DEFAULT_PUK, DEFAULT_PUK, 3);
        self.mgm = MgmKey::default_for(self.config.firmware);
        self.keys.clear();
        let f9 = self.objects.remove(&F9_CERT_OBJECT);
        self.objects.clear();
        if let Some(f9) = f9 {
            self.objects.insert(F9_CERT_OBJECT, f9);
        }
        self.clear_auth();
        Ok(Vec::new())
    }

    fn set_pin_retries(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, Sw> {
        if !self.mgm_authenticated || !self.pin_verified {
            return Err(sw::SECURITY_STATUS);
        }
        if cmd.p1 == 0 || cmd.p2 == 0 {
            return Err(sw::WRONG_P1P2);
        }
        // Like a real YubiKey, this also resets PIN and PUK to their defaults.
        self.pin = Reference::new(DEFAULT_PIN, DEFAULT_PIN, cmd.p1);
        self.puk = Reference::new(DEFAULT_PUK, DEFAULT_PUK, cmd.p2);
        self.pin_verified = false;
        Ok(Vec::new())
    }
}

/// Wraps a certificate as a PIV certificate object: `70 cert 71 00 FE 00`.
fn cert_object(cert: &[u8]) -> Vec<u8> {
    let mut v = tlv(0x70, cert);
    v.extend(tlv(0x71, &[0x00]));
    v.extend(tlv(0xFE, &[]));
    v
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut v);
    v
}

fn status(sw: Sw) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

#[cfg(test)]
#[path = "card_tests.rs"]
mod tests;
