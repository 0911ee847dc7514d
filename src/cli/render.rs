//! Rendering of sealed entries for the unseal session, the demo and
//! `--json` (TOTP entries show codes, never the seed).

use breakglass::clock::Timestamp;
use breakglass::error::{Error, Result};
use breakglass::payload::Entry;
use breakglass::secret::SecretString;

/// A TOTP entry from a base32 seed or an otpauth URI typed at a prompt.
pub fn totp_entry(name: String, input: &SecretString) -> Result<Entry> {
    Entry::totp(name.clone(), input).map_err(|e| Error::Usage(format!("entry '{name}': {e}")))
}

fn opt_line(label: &str, v: &Option<String>) -> String {
    v.as_ref()
        .map(|v| format!("\n    {label:<9} {v}"))
        .unwrap_or_default()
}

/// Plain-text rendering of an entry (TOTP: codes, never the seed).
pub fn entry_text(e: &Entry, now: Timestamp) -> String {
    match e {
        Entry::Password {
            name,
            value,
            account,
            username,
            url,
            notes,
        } => format!(
            "[password] {name}\n    password  {}{}{}{}{}",
            value.as_str(),
            opt_line("account", account),
            opt_line("user", username),
            opt_line("sign-in", url),
            opt_line("notes", notes)
        ),
        Entry::Totp {
            name,
            issuer,
            account,
            ..
        } => {
            let w = e
                .totp_seed()
                .and_then(|s| s.window(now.0.max(0) as u64).ok());
            match w {
                Some(w) => format!(
                    "[totp] {name}{}{}\n    code      {}   ({} s left; next {})",
                    opt_line("issuer", issuer),
                    opt_line("account", account),
                    w.current,
                    w.seconds_left,
                    w.next
                ),
                None => format!("[totp] {name}\n    (the stored seed is invalid)"),
            }
        }
        Entry::Note { name, text } => format!("[note] {name}\n{}", text.as_str()),
    }
}

/// JSON rendering of an entry (TOTP: codes, never the seed).
pub fn entry_json(e: &Entry, now: Timestamp) -> serde_json::Value {
    match e {
        Entry::Password {
            name,
            value,
            account,
            username,
            url,
            notes,
        } => serde_json::json!({
            "kind": "password", "name": name, "value": value.as_str(), "account": account,
            "username": username, "url": url, "notes": notes,
        }),
        Entry::Totp {
            name,
            issuer,
            account,
            ..
        } => {
            let w = e
                .totp_seed()
                .and_then(|s| s.window(now.0.max(0) as u64).ok());
            serde_json::json!({
                "kind": "totp", "name": name, "issuer": issuer, "account": account,
                "code": w.as_ref().map(|w| w.current.clone()),
                "next_code": w.as_ref().map(|w| w.next.clone()),
                "seconds_left": w.as_ref().map(|w| w.seconds_left),
            })
        }
        Entry::Note { name, text } => {
            serde_json::json!({"kind": "note", "name": name, "text": text.as_str()})
        }
    }
}
