//! `custodian enroll` (software identity or YubiKeys) and `custodian
//! tokens`: flags checked, the work done by `breakglass::token`, the public
//! descriptor written.

use std::path::{Path, PathBuf};

use breakglass::error::{Error, Result};
use breakglass::kdf::KdfParams;
use breakglass::token::{software, CustodianDescriptor, TokenDescriptor};
use breakglass::ui::{Level, PassphrasePurpose};

use super::args::EnrollArgs;
use super::input::{make_ui, trust_anchors};
use super::out::{self, outln};

pub(crate) fn enroll(a: EnrollArgs) -> Result<u8> {
    let params = match a.kdf.as_str() {
        "default" => KdfParams::DEFAULT,
        "demo" => KdfParams::DEMO,
        other => {
            return Err(Error::Usage(format!(
                "--kdf '{other}' is unknown: use `default` or `demo`"
            )))
        }
    };
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Usage("--out FILE is required for a software custodian".into()))?;
    let descriptor_path = a
        .descriptor
        .clone()
        .unwrap_or_else(|| out.with_file_name(format!("{}.custodian.json", a.name)));
    for p in [&out, &descriptor_path] {
        if p.exists() {
            return Err(Error::Usage(format!(
                "{} already exists; enrollment never overwrites a file",
                p.display()
            )));
        }
    }
    let mut ui = make_ui(a.common.answers.as_deref())?;
    ui.say(
        Level::Step,
        &format!("Enrolling software custodian '{}'", a.name),
    );
    if params.is_weaker_than_default() {
        ui.say(
            Level::Warn,
            "Demo-grade KDF parameters: use this identity for throwaway vaults only",
        );
    }
    let pass = ui.passphrase(&a.name, PassphrasePurpose::New)?;
    let (bytes, token) = software::create(&a.name, &pass, params).map_err(token_err)?;
    breakglass::fsutil::write_new(&out, &bytes)
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", out.display())))?;
    let desc = CustodianDescriptor {
        format: CustodianDescriptor::FORMAT.into(),
        name: a.name.clone(),
        tokens: vec![token],
    };
    write_descriptor(&desc, &descriptor_path, Some(&out), a.common.json)
}

fn write_descriptor(
    desc: &CustodianDescriptor,
    path: &Path,
    identity: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let text = serde_json::to_string_pretty(desc).map_err(|e| Error::Usage(e.to_string()))?;
    breakglass::fsutil::write_new(path, format!("{text}\n").as_bytes())
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    let fps: Vec<String> = desc.tokens.iter().map(|t| t.fingerprint()).collect();
    if json {
        out::json(
            &serde_json::json!({"custodian": desc.name, "identity": identity, "descriptor": path,
            "tokens": desc.tokens.iter().map(|t| t.label()).collect::<Vec<_>>(),
            "token_fingerprints": fps}),
        )?;
    } else {
        outln!("custodian:   {}", desc.name)?;
        if let Some(id) = identity {
            outln!(
                "identity:    {} (secret; keep it on your own medium)",
                id.display()
            )?;
        }
        outln!(
            "descriptor:  {} (public; give it to the setup ceremony)",
            path.display()
        )?;
        for (t, fp) in desc.tokens.iter().zip(&fps) {
            outln!("token:       {} · {fp}", t.label())?;
        }
    }
    Ok(0)
}

pub(crate) fn enroll_yubikey(a: EnrollArgs) -> Result<u8> {
    use breakglass::attestation::{PinPolicy, TouchPolicy};
    use breakglass::token::yubikey;
    let descriptor_path = a
        .descriptor
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.custodian.json", a.name)));
    if descriptor_path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; enrollment never overwrites a file",
            descriptor_path.display()
        )));
    }
    let pin_policy: PinPolicy = a.pin_policy.parse().map_err(|_| {
        Error::Usage(format!(
            "--pin-policy '{}': use once or always",
            a.pin_policy
        ))
    })?;
    let touch_policy: TouchPolicy = a.touch_policy.parse().map_err(|_| {
        Error::Usage(format!(
            "--touch-policy '{}': use always, cached or never",
            a.touch_policy
        ))
    })?;
    let slot = match &a.slot {
        None => None,
        Some(s) => Some(
            u8::from_str_radix(s, 16)
                .ok()
                .filter(|v| (yubikey::FIRST_RETIRED_SLOT..=yubikey::LAST_RETIRED_SLOT).contains(v))
                .ok_or_else(|| {
                    Error::Usage(format!("--slot '{s}': use a retired slot, 82 to 95 (hex)"))
                })?,
        ),
    };
    let anchors = trust_anchors()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let serials: Vec<Option<u32>> = if a.serials.is_empty() {
        vec![None]
    } else {
        a.serials.iter().copied().map(Some).collect()
    };
    let mut tokens = Vec::new();
    for (i, serial) in serials.iter().enumerate() {
        let label = serial
            .map(|s| format!("YubiKey {s}"))
            .unwrap_or_else(|| "the inserted YubiKey".into());
        ui.say(
            Level::Step,
            &format!(
                "Enrolling {label} for custodian '{}' (token {} of {})",
                a.name,
                i + 1,
                serials.len()
            ),
        );
        let desc = if a.adopt {
            let (Some(serial), Some(slot)) = (serial, slot) else {
                return Err(Error::Usage("--adopt needs --serial and --slot".into()));
            };
            yubikey::enroll_existing(*serial, slot, &a.name, &anchors, ui.as_mut())
        } else {
            let opts = yubikey::EnrollOptions {
                serial: *serial,
                slot,
                pin_policy,
                touch_policy,
            };
            yubikey::enroll(&opts, &a.name, &anchors, ui.as_mut())
        }
        .map_err(|e| Error::Token(e.into()))?;
        ui.say(
            Level::Info,
            &format!(
                "YubiKey {} slot {}: P-256 key {} the token, attestation verified ({}), firmware {}",
                desc.serial,
                desc.slot,
                if a.adopt { "already on" } else { "generated on" },
                desc.attestation.pki,
                desc.firmware
            ),
        );
        if tokens
            .iter()
            .any(|t| matches!(t, TokenDescriptor::Yubikey(o) if o.serial == desc.serial))
        {
            return Err(Error::Usage(format!(
                "YubiKey {} was given twice; a spare must be another token",
                desc.serial
            )));
        }
        tokens.push(TokenDescriptor::Yubikey(desc));
    }
    let desc = CustodianDescriptor {
        format: CustodianDescriptor::FORMAT.into(),
        name: a.name.clone(),
        tokens,
    };
    write_descriptor(&desc, &descriptor_path, None, a.common.json)
}

pub(crate) fn list_tokens(json: bool) -> Result<u8> {
    let tokens = breakglass::token::yubikey::list().map_err(|e| Error::Token(e.into()))?;
    if json {
        let v: Vec<serde_json::Value> = tokens
            .iter()
            .map(|t| serde_json::json!({"serial": t.serial, "firmware": t.firmware, "reader": t.reader}))
            .collect();
        out::json(&serde_json::Value::Array(v))?;
    } else if tokens.is_empty() {
        outln!("no YubiKey inserted")?;
    } else {
        for t in tokens {
            outln!(
                "YubiKey {} · firmware {} · {}",
                t.serial,
                t.firmware,
                t.reader
            )?;
        }
    }
    Ok(0)
}

fn token_err(e: software::SoftwareError) -> Error {
    Error::Token(e.into())
}
