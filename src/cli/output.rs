//! Presenting results: checklists, receipts (text + QR), log reports and
//! unseal sessions. Only the binary prints.

use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::time::Duration;

use breakglass::ceremony::unseal::{EndReason, Session};
use breakglass::ceremony::Sealed;
use breakglass::clock::Timestamp;
use breakglass::error::Result;
use breakglass::manifest::LogHead;
use breakglass::payload::Entry;
use breakglass::secret::SecretString;
use breakglass::ui::{Level, Ui};
use zeroize::Zeroizing;

use super::out::{self, errln, outln};

thread_local! {
    /// Set by a `--json` run: new values go to stdout as JSON lines.
    static AS_JSON_LINES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// From now on, each new value is written to stdout as one JSON line
/// `{"new_value":{"label":…,"value":…}}` the moment it is made, before the
/// result line: before the ceremony commits, as on a terminal, so a crash
/// after the commit never leaves a value that nobody was given.
pub fn new_values_as_json_lines() {
    AS_JSON_LINES.with(|c| c.set(true));
}

/// What a value shown to the custodians is.
#[derive(Clone, Copy)]
pub enum Shown {
    /// A value this ceremony made or was given, to set at the provider.
    New,
    /// A value already sealed, revealed on request (and logged).
    Sealed,
}

/// Shows a new value to set at the provider: on stderr, or with `--json` as
/// a JSON line on stdout ([`new_values_as_json_lines`]).
pub fn show_new_value(label: &str, value: &SecretString) {
    if !AS_JSON_LINES.with(|c| c.get()) {
        return show_value(Shown::New, label, value);
    }
    let v = serde_json::json!({"new_value": {"label": label, "value": value.expose()}});
    let line = Zeroizing::new(format!("{v}\n"));
    drop(v);
    // A reader that went away is the caller's to see at the result line;
    // a full disk is reported there too.
    let _ = out::raw(&line);
}

/// Shows a value on stderr, labelled for what it is, with its QR code when
/// it is an otpauth URI and stderr is a terminal.
pub fn show_value(kind: Shown, label: &str, value: &SecretString) {
    // The value is shown exactly (escaping would change what is typed at
    // the provider); it is ours or the quorum's, never read from a file.
    let tag = match kind {
        Shown::New => "NEW VALUE",
        Shown::Sealed => "SEALED VALUE (revealed, logged)",
    };
    let line = Zeroizing::new(format!("  >  {tag} {label}: {}\n", value.expose()));
    out::err_raw(&line);
    if label.ends_with(".otpauth") && std::io::stderr().is_terminal() {
        if let Some(q) = qr(value.expose()) {
            let q = Zeroizing::new(q);
            out::err_raw(&q);
            out::err_raw("\n");
        }
    }
}

/// Asks for a secret twice until both entries agree: a typo sealed at setup
/// is found only when the vault is opened in an emergency.
fn secret_twice(ui: &mut dyn Ui, id: &str, question: &str) -> Result<SecretString> {
    loop {
        let a = ui.secret(id, question)?;
        let b = ui.secret(id, "Type it again")?;
        if a.ct_eq(&b) {
            return Ok(a);
        }
        ui.say(Level::Warn, "The two entries differ; type the value again.");
    }
}

/// Asks for entries at the terminal (setup ceremony, interactive form).
pub fn prompt_entries(ui: &mut dyn Ui) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    loop {
        let n = out.len() + 1;
        let kind = ui.text(
            &format!("entry.{n}.kind"),
            &format!("Entry {n}: kind (password, totp, note) or empty to finish"),
        )?;
        let kind = kind.trim().to_owned();
        if kind.is_empty() {
            if out.is_empty() {
                ui.say(Level::Warn, "At least one entry is needed.");
                continue;
            }
            return Ok(out);
        }
        let name = ui.text(&format!("entry.{n}.name"), "Name (e.g. aws-root)")?;
        let opt = |ui: &mut dyn Ui, id: &str, q: &str| -> Result<Option<String>> {
            let v = ui.text(id, q)?;
            Ok(if v.trim().is_empty() {
                None
            } else {
                Some(v.trim().to_owned())
            })
        };
        let entry = match kind.as_str() {
            "password" => Entry::Password {
                value: zeroize::Zeroizing::new(
                    secret_twice(ui, &format!("entry.{name}.value"), "Password (not echoed)")?
                        .expose()
                        .to_owned(),
                ),
                account: opt(
                    ui,
                    &format!("entry.{name}.account"),
                    "Account id (optional)",
                )?,
                username: opt(
                    ui,
                    &format!("entry.{name}.username"),
                    "User name (optional)",
                )?,
                url: opt(ui, &format!("entry.{name}.url"), "Sign-in URL (optional)")?,
                notes: opt(
                    ui,
                    &format!("entry.{name}.notes"),
                    "Notes, not secret (optional)",
                )?,
                name,
            },
            "note" => Entry::Note {
                text: zeroize::Zeroizing::new(
                    secret_twice(
                        ui,
                        &format!("entry.{name}.value"),
                        "Text (not echoed; one line)",
                    )?
                    .expose()
                    .to_owned(),
                ),
                name,
            },
            "totp" => crate::cli::render::totp_entry(
                name.clone(),
                &secret_twice(
                    ui,
                    &format!("entry.{name}.value"),
                    "TOTP seed (base32) or otpauth:// URI (not echoed)",
                )?,
            )?,
            _ => {
                ui.say(Level::Warn, "Kind must be password, totp or note.");
                continue;
            }
        };
        out.push(entry);
    }
}

/// The receipt string of a log head: `bg1:<vault>:<seq>:<hash>`.
pub fn receipt(vault: &str, head: &LogHead) -> String {
    format!("bg1:{vault}:{}:{}", head.seq, head.hash)
}

pub use super::qr::terminal as qr;

/// What a receipt is written into, for its hint line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReceiptFor {
    /// Setup: the vault's setup record.
    Setup,
    /// An emergency unseal: the incident ticket.
    Incident,
    /// Any other ceremony or check: its ticket or record.
    Record,
}

/// Prints the log receipt and its hint, without the QR code (after checks,
/// drills, reviews and reports; `print_receipt_for` draws it at the end of a
/// ceremony).
pub fn print_receipt(vault: &str, head: &LogHead) -> Result<()> {
    print_receipt_for(vault, head, ReceiptFor::Record, false)
}

/// Prints the log receipt, a hint naming where it is written, and, when `qr`
/// and stdout is a terminal, its QR code (at the end of a ceremony that
/// succeeded: never after a failure's message).
pub fn print_receipt_for(vault: &str, head: &LogHead, to: ReceiptFor, qr_code: bool) -> Result<()> {
    let r = receipt(vault, head);
    let into = match to {
        ReceiptFor::Setup => "the vault's setup record",
        ReceiptFor::Incident => "the incident ticket",
        ReceiptFor::Record => "the ticket or record of this ceremony",
    };
    outln!("log receipt: {r}")?;
    outln!("  (write \"seq {} · {}\" into {into}; verify later with `breakglass log verify --receipt {r}`)", head.seq, head.hash.get(..16).unwrap_or(&head.hash))?;
    if qr_code && std::io::stdout().is_terminal() {
        if let Some(q) = qr(&r) {
            out::raw(&q)?;
            out::raw("\n")?;
        }
    }
    Ok(())
}

pub fn print_sealed(s: &Sealed, json: bool) -> Result<()> {
    if json {
        return out::json(&serde_json::json!({
            "vault_id": s.vault_id, "generation": s.generation, "fingerprint": s.fingerprint,
            "receipt": receipt(&s.vault_id, &s.receipt),
        }));
    }
    outln!("vault id:     {}", s.vault_id)?;
    outln!("generation:   {}", s.generation)?;
    outln!(
        "fingerprint:  {}   <- every custodian writes this down",
        s.fingerprint
    )?;
    let to = if s.generation == 1 {
        ReceiptFor::Setup
    } else {
        ReceiptFor::Record
    };
    print_receipt_for(&s.vault_id, &s.receipt, to, true)
}

/// Cursor home, erase the screen, then erase the scrollback, in that order:
/// terminals that save a cleared screen into the scrollback (tmux's
/// `scroll-on-clear`, on by default) have the copy erased by the `ESC[3J`
/// that follows; the reverse order left the last screen, secrets and all, in
/// the history.
pub const CLEAR_ALL: &str = "\x1b[H\x1b[2J\x1b[3J";
/// The alternate screen: what is drawn there never enters the scrollback.
pub const ENTER_ALTERNATE: &str = "\x1b[?1049h";
/// Back to the normal screen (as it was before the alternate one).
pub const LEAVE_ALTERNATE: &str = "\x1b[?1049l";

/// Shows the session: one-shot (JSON or plain) or interactive until Enter or timeout.
pub fn present_session(
    mut session: Session,
    reveal_seeds: &[String],
    interactive: bool,
    json: bool,
) -> Result<u8> {
    // Interactively, revealed seeds are drawn on every session screen: printed
    // once, the first redraw would clear them before the QR code is scanned.
    let mut revealed = Zeroizing::new(String::new());
    let mut seeds_json: Vec<serde_json::Value> = Vec::new();
    for name in reveal_seeds {
        // Logged as `seed-revealed` before it is shown.
        let seed = session.reveal_seed(name)?.totp_seed();
        if let (Some(seed), Some(uri)) = (seed, session.otpauth_uri(name)) {
            let base32 = seed.to_base32();
            if json {
                seeds_json.push(serde_json::json!({
                    "entry": name, "seed": base32.expose(), "otpauth": uri.expose(),
                }));
                continue;
            }
            if !interactive {
                show_value(Shown::Sealed, &format!("{name}.seed"), &base32);
                show_value(Shown::Sealed, &format!("{name}.otpauth"), &uri);
                continue;
            }
            let code = Zeroizing::new(qr(uri.expose()).unwrap_or_default());
            revealed.reserve(code.len() + 4 * uri.expose().len() + 256);
            let _ = write!(
                revealed,
                "\n[seed] {name} (revealed, logged)\n    seed      {}\n    otpauth   {}\n{}\n",
                base32.expose(),
                uri.expose(),
                code.as_str()
            );
        }
    }
    if !interactive {
        // The output is rendered, the session is ended and logged, and only
        // then is anything printed: a closed or full stdout cannot leave the
        // session open, and the receipt names the session's end.
        let now = Timestamp::now();
        let vault_id = session.vault_id().to_owned();
        let mut text = Zeroizing::new(String::new());
        let json_value = json.then(|| {
            let entries: Vec<serde_json::Value> = session
                .entries()
                .iter()
                .map(|e| crate::cli::render::entry_json(e, now))
                .collect();
            serde_json::json!({
                "ticket": session.ticket(), "custodians": session.custodians(),
                "fingerprint": session.fingerprint(), "grant_seq": session.grant_seq(),
                "entries": entries, "revealed_seeds": std::mem::take(&mut seeds_json),
            })
        });
        if !json {
            for e in session.entries() {
                text.push_str(&crate::cli::render::entry_text(e, now));
                text.push('\n');
            }
        }
        let head = session.end(EndReason::OneShot)?;
        errln!("session ended (one-shot); log entry {}", head.seq);
        if let Some(mut v) = json_value {
            if let Some(o) = v.as_object_mut() {
                o.insert("receipt".into(), receipt(&vault_id, &head).into());
            }
            let rendered = Zeroizing::new(v.to_string());
            drop(v);
            out::raw(&rendered)?;
            out::raw("\n")?;
        } else {
            out::raw(&text)?;
            print_receipt_for(&vault_id, &head, ReceiptFor::Incident, true)?;
        }
        return Ok(0);
    }
    // Enter ends the session; at a terminal so do Ctrl-C, Ctrl-D and Ctrl-\,
    // read as keys while the session is open: a signal would kill the process
    // with the secrets on screen and the session not logged as ended.
    let keys = std::io::stdin()
        .is_terminal()
        .then(|| super::terminal::RawKeys::new(std::io::stdin().as_fd()).ok())
        .flatten();
    let raw = keys.is_some();
    // The session is drawn on the alternate screen and cleared with
    // CLEAR_ALL: neither leaves a copy in the scrollback.
    let _ = out::raw(ENTER_ALTERNATE);
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut key = [0u8; 1];
        loop {
            match stdin.read(&mut key) {
                Ok(0) => break,
                Ok(_) if key[0] == b'\n' || (raw && matches!(key[0], b'\r' | 3 | 4 | 0x1c)) => {
                    break
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    });
    let mut shown: Result<()> = Ok(());
    let how = loop {
        let now = Timestamp::now();
        let left = session.seconds_left(now);
        let header = format!(
            "{CLEAR_ALL}breakglass session · ticket {} · vault {} · ends in {}:{:02} · press Enter to close\n\n",
            session.ticket(),
            session.fingerprint(),
            left / 60,
            left % 60
        );
        // The rendered secrets are wiped too; the screen is sized up front so
        // that growing it leaves no stray copies in freed memory.
        let entries: Vec<Zeroizing<String>> = session
            .entries()
            .iter()
            .map(|e| Zeroizing::new(crate::cli::render::entry_text(e, now)))
            .collect();
        let size = header.len() + entries.iter().map(|e| e.len() + 1).sum::<usize>();
        let mut screen = Zeroizing::new(String::with_capacity(size + revealed.len()));
        screen.push_str(&header);
        for e in &entries {
            screen.push_str(e);
            screen.push('\n');
        }
        screen.push_str(&revealed);
        if let Err(e) = out::raw(&screen).and_then(|()| out::flush()) {
            // The terminal is gone: end the session now (logged below).
            shown = Err(e);
            break EndReason::Closed;
        }
        if left == 0 {
            break EndReason::Expired;
        }
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(()) => break EndReason::Closed,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break EndReason::Closed,
        }
    };
    drop(keys);
    // Cleared and logged as ended even when the screen could not be drawn.
    let cleared = out::raw(CLEAR_ALL)
        .and_then(|()| out::raw(LEAVE_ALTERNATE))
        .and_then(|()| out::flush());
    let vault_id = session.vault_id().to_owned();
    let head = session.end(how)?;
    shown?;
    cleared?;
    outln!(
        "session ended ({}); secrets wiped from memory; log entry {}",
        how.as_str(),
        head.seq
    )?;
    print_receipt_for(&vault_id, &head, ReceiptFor::Incident, true)?;
    Ok(0)
}
