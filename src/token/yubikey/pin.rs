//! PIN and PUK entry guard.
//!
//! Checked before anything reaches the token, so a slip never costs a retry:
//! length 6–8, refusal of the factory defaults when choosing a new value, and
//! detection of a YubiKey OTP "typed" by an accidental touch (44 modhex
//! characters starting with the token's public id).

use crate::secret::SecretString;
use crate::ui::{PinPurpose, PinRequest, Ui};

use super::YubikeyError;

/// Factory default PIN.
pub(crate) const DEFAULT_PIN: &str = "123456";
/// Factory default PUK.
pub(crate) const DEFAULT_PUK: &str = "12345678";
/// How many times a refused entry is asked again before giving up.
pub(crate) const MAX_PROMPTS: usize = 3;

const MODHEX: &[u8; 16] = b"cbdefghijklnrtuv";
const OTP_LEN: usize = 44;

/// The modhex public id prefix a YubiKey with `serial` types in its OTPs.
fn otp_prefix(serial: u32) -> String {
    (0..4)
        .map(|_| 0u32)
        .chain((0..8).rev().map(|i| (serial >> (4 * i)) & 0x0F))
        .map(|n| char::from(MODHEX[n as usize]))
        .collect()
}

/// Why `value` is not acceptable for `purpose`, or `None` when it is.
pub(crate) fn refusal(value: &str, purpose: PinPurpose, serial: u32) -> Option<String> {
    let what = match purpose {
        PinPurpose::Verify | PinPurpose::New => "PIN",
        PinPurpose::Puk | PinPurpose::NewPuk => "PUK",
    };
    if value.len() == OTP_LEN
        && (value.starts_with(&otp_prefix(serial)) || value.bytes().all(|b| MODHEX.contains(&b)))
    {
        return Some(format!(
            "that looks like a one-time password typed by touching YubiKey {serial}, not a {what}; \
             type the {what} instead (touch the token only when asked)"
        ));
    }
    if !(6..=8).contains(&value.len()) {
        return Some(format!(
            "a {what} must be 6 to 8 characters (got {}); try again",
            value.len()
        ));
    }
    match purpose {
        PinPurpose::New if value == DEFAULT_PIN => Some(format!(
            "{DEFAULT_PIN} is the factory default PIN; choose another PIN (6 to 8 characters)"
        )),
        PinPurpose::NewPuk if value == DEFAULT_PUK => Some(format!(
            "{DEFAULT_PUK} is the factory default PUK; choose another PUK (6 to 8 characters)"
        )),
        _ => None,
    }
}

/// Asks through `ui` until the value passes the guard (at most [`MAX_PROMPTS`] times).
pub(crate) fn ask(ui: &mut dyn Ui, request: &PinRequest<'_>) -> Result<SecretString, YubikeyError> {
    let mut last = String::new();
    for _ in 0..MAX_PROMPTS {
        let value = ui.pin(request)?;
        match refusal(value.expose(), request.purpose, request.serial) {
            None => return Ok(value),
            Some(why) => {
                ui.say(crate::ui::Level::Warn, &why);
                last = why;
            }
        }
    }
    Err(YubikeyError::PinRefused { why: last })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard() {
        assert_eq!(otp_prefix(0x0102_0304), "cccccbcdcecf");
        assert!(refusal("864213", PinPurpose::Verify, 1).is_none());
        assert!(refusal("12345", PinPurpose::Verify, 1)
            .unwrap()
            .contains("6 to 8"));
        assert!(refusal("123456789", PinPurpose::Verify, 1)
            .unwrap()
            .contains("6 to 8"));
        assert!(refusal("123456", PinPurpose::Verify, 1).is_none());
        assert!(refusal("123456", PinPurpose::New, 1)
            .unwrap()
            .contains("factory default PIN"));
        assert!(refusal("12345678", PinPurpose::NewPuk, 1)
            .unwrap()
            .contains("factory default PUK"));
        let otp = format!("{}{}", otp_prefix(99_000_001), "t".repeat(32));
        assert_eq!(otp.len(), 44);
        assert!(refusal(&otp, PinPurpose::Verify, 99_000_001)
            .unwrap()
            .contains("one-time password"));
        // A different token's OTP is still modhex-only: refused too.
        assert!(refusal(&otp, PinPurpose::Verify, 5)
            .unwrap()
            .contains("one-time password"));
        assert_eq!(otp_prefix(0), "cccccccccccc");
        assert_eq!(otp_prefix(0xF), "cccccccccccv");
    }
}
