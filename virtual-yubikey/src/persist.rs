//! Card state files: a virtual card's persistent state as text, so stopping
//! the emulator is not a factory reset.
//!
//! Format (one record a line, fields separated by one space, hex lower case):
//! ```text
//! virtual-yubikey-card 1
//! serial 99000101
//! firmware 5.7.1
//! form-factor 03
//! touch immediate|never
//! pin <8 bytes padded with ff> <max tries> <tries left>
//! puk <8 bytes padded with ff> <max tries> <tries left>
//! mgm <alg> <touch 0|1> <key>
//! key <slot> <pin policy> <touch policy> <generated 0|1> <P-256 scalar>
//! object <3-byte id> <value>
//! ```
//!
//! Invariants:
//! - A file is written whole or not at all (temporary file, then rename) with
//!   mode 0600, and a file readable by group or others is refused on load:
//!   it holds the card's PIN, PUK, management key and private keys (test
//!   cards only; never a real token's secrets).
//! - `load(save(card))` has the same [`crate::CardState`] as `card`.
//! - A malformed file is refused with the line number and what is wrong.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use p256::SecretKey;

use crate::card::{valid_key_slot, Card, Config, MgmKey, Reference, SlotKey, Touch};
use crate::card::{DEFAULT_PIN, DEFAULT_PUK};

const MAGIC: &str = "virtual-yubikey-card 1";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:.16}… is not hex"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

impl Card {
    /// The card's persistent state in the state-file format (secrets included).
    pub fn to_state_text(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let [a, b, d] = c.firmware;
        let touch = match c.touch {
            Touch::Immediate => "immediate",
            Touch::Never => "never",
        };
        let _ = writeln!(s, "{MAGIC}\nserial {}\nfirmware {a}.{b}.{d}", c.serial);
        let _ = writeln!(s, "form-factor {:02x}\ntouch {touch}", c.form_factor);
        for (name, r) in [("pin", &self.pin), ("puk", &self.puk)] {
            let _ = writeln!(s, "{name} {} {} {}", hex(&r.value), r.max, r.left);
        }
        let _ = writeln!(
            s,
            "mgm {:02x} {} {}",
            self.mgm.alg,
            u8::from(self.mgm.touch),
            hex(&self.mgm.key)
        );
        for (slot, k) in &self.keys {
            let _ = writeln!(
                s,
                "key {slot:02x} {} {} {} {}",
                k.pin_policy,
                k.touch_policy,
                u8::from(k.generated),
                hex(&k.secret.to_bytes())
            );
        }
        for (id, v) in &self.objects {
            let _ = writeln!(s, "object {} {}", hex(id), hex(v));
        }
        s
    }

    /// Rebuilds a card from [`Card::to_state_text`] output.
    pub fn from_state_text(text: &str) -> Result<Card, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => {
                return Err(format!(
                    "not a virtual card state file (first line must be `{MAGIC}`)"
                ))
            }
        }
        let mut config: Option<Config> = None;
        let (mut serial, mut firmware) = (None, None);
        let mut card: Option<Card> = None;
        for (i, line) in lines {
            let at = |e: String| format!("line {}: {e}", i + 1);
            let fields: Vec<&str> = line.split(' ').collect();
            let num = |s: &str| {
                s.parse::<u8>()
                    .map_err(|_| at(format!("{s} is not a number 0-255")))
            };
            // The header (serial, firmware, form factor, touch) comes first.
            if card.is_none()
                && !matches!(fields[0], "serial" | "firmware" | "form-factor" | "touch")
            {
                let (Some(serial), Some(firmware)) = (serial, firmware) else {
                    return Err(at(
                        "serial and firmware must come before the card's state".into()
                    ));
                };
                let mut cfg = config
                    .take()
                    .unwrap_or_else(|| Config::new(serial, firmware));
                cfg.serial = serial;
                cfg.firmware = firmware;
                let mut fresh = Card::new(cfg);
                fresh.objects.clear();
                card = Some(fresh);
            }
            match fields.as_slice() {
                ["serial", v] => {
                    serial = Some(
                        v.parse::<u32>()
                            .map_err(|_| at(format!("bad serial {v}")))?,
                    )
                }
                ["firmware", v] => {
                    let parts: Vec<u8> = v.split('.').map(num).collect::<Result<_, _>>()?;
                    firmware = Some(
                        <[u8; 3]>::try_from(parts.as_slice())
                            .map_err(|_| at(format!("bad firmware {v}")))?,
                    );
                }
                ["form-factor", v] => {
                    let ff = *unhex(v)
                        .map_err(at)?
                        .first()
                        .ok_or_else(|| at("empty form factor".into()))?;
                    let cfg = config.get_or_insert_with(|| Config::new(0, [5, 7, 1]));
                    cfg.form_factor = ff;
                }
                ["touch", v] => {
                    let t = match *v {
                        "immediate" => Touch::Immediate,
                        "never" => Touch::Never,
                        _ => return Err(at(format!("touch {v}: expected immediate or never"))),
                    };
                    config
                        .get_or_insert_with(|| Config::new(0, [5, 7, 1]))
                        .touch = t;
                }
                [which @ ("pin" | "puk"), value, max, left] => {
                    let value = unhex(value).map_err(at)?;
                    if !crate::card::valid_padded(&value) {
                        return Err(at(format!(
                            "{which}: expected 6-8 bytes padded with ff to 8"
                        )));
                    }
                    let (max, left) = (num(max)?, num(left)?);
                    if max == 0 || left > max {
                        return Err(at(format!("{which}: tries left {left} of {max}")));
                    }
                    let default = if *which == "pin" {
                        DEFAULT_PIN
                    } else {
                        DEFAULT_PUK
                    };
                    let mut r = Reference::new(&value, default, max);
                    r.left = left;
                    let c = card
                        .as_mut()
                        .ok_or_else(|| at("state before header".into()))?;
                    if *which == "pin" {
                        c.pin = r;
                    } else {
                        c.puk = r;
                    }
                }
                ["mgm", alg, touch, key] => {
                    let alg = *unhex(alg)
                        .map_err(at)?
                        .first()
                        .ok_or_else(|| at("empty algorithm".into()))?;
                    let key = unhex(key).map_err(at)?;
                    if MgmKey::key_len(alg) != Some(key.len()) {
                        return Err(at(format!(
                            "management key of {} bytes for algorithm {alg:02x}",
                            key.len()
                        )));
                    }
                    let c = card
                        .as_mut()
                        .ok_or_else(|| at("state before header".into()))?;
                    c.mgm = MgmKey {
                        alg,
                        key,
                        touch: *touch == "1",
                    };
                }
                ["key", slot, pin, touch, generated, scalar] => {
                    let slot = *unhex(slot)
                        .map_err(at)?
                        .first()
                        .ok_or_else(|| at("empty slot".into()))?;
                    if !valid_key_slot(slot) {
                        return Err(at(format!("{slot:02x} is not a key slot")));
                    }
                    let secret = SecretKey::from_slice(&unhex(scalar).map_err(at)?)
                        .map_err(|_| at("not a P-256 private key".into()))?;
                    let key = SlotKey {
                        secret,
                        pin_policy: num(pin)?,
                        touch_policy: num(touch)?,
                        generated: *generated == "1",
                    };
                    card.as_mut()
                        .ok_or_else(|| at("state before header".into()))?
                        .keys
                        .insert(slot, key);
                }
                ["object", id, value] => {
                    let id: [u8; 3] = unhex(id)
                        .map_err(at)?
                        .try_into()
                        .map_err(|_| at("object id must be 3 bytes".into()))?;
                    let value = unhex(value).map_err(at)?;
                    card.as_mut()
                        .ok_or_else(|| at("state before header".into()))?
                        .objects
                        .insert(id, value);
                }
                [""] => {}
                _ => return Err(at(format!("unknown record `{:.20}`", fields[0]))),
            }
        }
        card.ok_or_else(|| "state file ends before the card's PIN, PUK and management key".into())
    }
}

/// Writes the card's state to `path` atomically, mode 0600.
pub fn save(card: &Card, path: &Path) -> io::Result<()> {
    write_private(path, card.to_state_text().as_bytes())
}

/// Writes `bytes` to `path` through a temporary file and a rename, mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Loads a card from `path`; refuses a file readable by group or others.
pub fn load(path: &Path) -> Result<Card, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{shown} holds a virtual card's secrets and is readable by others; chmod 600 it"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    Card::from_state_text(&text).map_err(|e| format!("{shown}: {e}"))
}
