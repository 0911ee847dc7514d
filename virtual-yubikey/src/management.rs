//! The YubiKey management application's device-info answer (READ CONFIG,
//! INS 0x1D), as yubikit's `ManagementSession.read_device_info` reads it.
//!
//! Format (yubikit `DeviceInfo`): one length byte, then BER-TLVs with 1-byte
//! tags: 01 USB supported capabilities (2 bytes), 02 serial (4 bytes BE),
//! 03 USB enabled capabilities, 04 form factor, 05 firmware version,
//! 06 auto-eject timeout (2), 07 challenge-response timeout (1), 08 device
//! flags, 0A configuration lock (1 byte, 0 = unlocked). Page 0 holds all of
//! it; later pages are empty (no 10 "more data" tag).
//!
//! Invariant: the virtual card reports only what it implements, PIV
//! (capability 0x10), so tools never try an application it lacks.

use crate::apdu::{sw, Sw};
use crate::card::Config;

/// Capability bit of the PIV application (yubikit `CAPABILITY.PIV`).
pub const CAPABILITY_PIV: u16 = 0x0010;

/// Answer to READ CONFIG for `page` (P1).
pub fn device_info(config: &Config, page: u8) -> Result<Vec<u8>, Sw> {
    if config.firmware < [4, 1, 0] {
        return Err(sw::INS_NOT_SUPPORTED);
    }
    if page != 0 && config.firmware < [5, 6, 0] {
        return Err(sw::WRONG_P1P2);
    }
    let mut tlvs = Vec::new();
    if page == 0 {
        let caps = CAPABILITY_PIV.to_be_bytes();
        let mut put = |tag: u8, value: &[u8]| {
            tlvs.push(tag);
            tlvs.push(value.len() as u8);
            tlvs.extend_from_slice(value);
        };
        put(0x01, &caps);
        put(0x02, &config.serial.to_be_bytes());
        put(0x03, &caps);
        put(0x04, &[config.form_factor]);
        put(0x05, &config.firmware);
        put(0x06, &[0, 0]);
        put(0x07, &[0x0F]);
        put(0x08, &[0]);
        put(0x0A, &[0]);
    }
    let mut out = Vec::with_capacity(tlvs.len() + 1);
    out.push(u8::try_from(tlvs.len()).map_err(|_| sw::CONDITIONS)?);
    out.extend(tlvs);
    Ok(out)
}
