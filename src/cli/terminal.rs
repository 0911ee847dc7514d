//! The terminal implementation of the library's `Ui`: checklist lines on
//! stderr, secrets read without echo (rpassword, on a terminal whose modes
//! this module sets and restores), choices by number.

use std::io::{BufRead, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::process::{getpid, kill_process, Signal};
use rustix::termios::{
    tcgetattr, tcsetattr, LocalModes, OptionalActions, SpecialCodeIndex, Termios,
};
use zeroize::Zeroize;

use breakglass::secret::SecretString;
use breakglass::ui::{Level, PassphrasePurpose, PinPurpose, PinRequest, Ui, UiError};

use super::out::{self, errln};

/// Prints one checklist line to stderr: numbered steps, indented information,
/// marked warnings (shared by the terminal and the answers-file prompts).
pub fn checklist_line(step: &mut usize, level: Level, text: &str) {
    match level {
        Level::Step => {
            *step += 1;
            errln!("[{:>2}] {text}", *step);
        }
        Level::Info => errln!("     {text}"),
        Level::Warn => errln!("  !  {text}"),
    }
}

/// Prompts on the controlling terminal.
///
/// Ctrl-C at a hidden prompt (PIN, passphrase, secret) returns
/// [`UiError::Interrupted`], so that the ceremony can log its abort; when
/// the Terminal is dropped afterwards, the process ends as Ctrl-C ends any
/// program (SIGINT).
pub struct Terminal {
    step: usize,
    interrupted: bool,
    /// New values are on the (alternate) screen, to be cleared.
    revealing: bool,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.revealing && !self.interrupted {
            let _ = self.line("Press Enter to clear the new values from the screen");
        }
        self.clear_revealed();
        if self.interrupted {
            let _ = out::flush();
            // As if the terminal had sent it. That returns only when SIGINT
            // is ignored (inherited from a parent, e.g. a background job of a
            // script): then exit as a shell reports a Ctrl-C, 128 + SIGINT.
            let _ = kill_process(getpid(), Signal::INT);
            std::process::exit(130);
        }
    }
}

impl Terminal {
    pub fn new() -> Self {
        Terminal {
            step: 0,
            interrupted: false,
            revealing: false,
        }
    }

    /// Clears shown new values from the screen and the scrollback, and
    /// leaves the alternate screen they were drawn on.
    fn clear_revealed(&mut self) {
        if std::mem::take(&mut self.revealing) {
            out::err_raw(super::output::CLEAR_ALL);
            out::err_raw(super::output::LEAVE_ALTERNATE);
            errln!("     The new values were cleared from the screen.");
        }
    }

    fn line(&mut self, question: &str) -> Result<String, UiError> {
        out::err_prompt(&format!("{question}: "));
        let mut s = String::new();
        let n = std::io::stdin().lock().read_line(&mut s)?;
        if n == 0 {
            return Err(UiError::Cancelled {
                prompt: question.into(),
            });
        }
        Ok(s.trim_end_matches(['\n', '\r']).to_owned())
    }

    fn hidden(&mut self, question: &str) -> Result<SecretString, UiError> {
        let v = read_hidden(&format!("{question}: "));
        self.interrupted |= matches!(v, Err(UiError::Interrupted { .. }));
        Ok(SecretString::new(v?))
    }
}

/// A terminal switched to reading single keys: no echo, no line editing, and
/// Ctrl-C or Ctrl-\ arrive as bytes instead of signals. The previous settings
/// come back when this is dropped.
pub struct RawKeys {
    fd: OwnedFd,
    saved: Termios,
}

impl RawKeys {
    pub fn new(terminal: BorrowedFd<'_>) -> std::io::Result<RawKeys> {
        let fd = terminal.try_clone_to_owned()?;
        let saved = tcgetattr(&fd)?;
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ECHO | LocalModes::ECHONL | LocalModes::ICANON | LocalModes::ISIG);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        tcsetattr(&fd, OptionalActions::Now, &raw)?;
        Ok(RawKeys { fd, saved })
    }
}

impl Drop for RawKeys {
    fn drop(&mut self) {
        let _ = tcsetattr(&self.fd, OptionalActions::Now, &self.saved);
    }
}

/// Ctrl-C typed at a hidden prompt.
#[derive(Debug)]
struct CtrlC;

impl std::fmt::Display for CtrlC {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted (Ctrl-C)")
    }
}

impl std::error::Error for CtrlC {}

/// The terminal's keys, where Ctrl-C is an error before rpassword sees it.
struct KeysUntilCtrlC(std::fs::File);

impl Read for KeysUntilCtrlC {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        if buf[..n].contains(&0x03) {
            buf[..n].zeroize();
            return Err(std::io::Error::other(CtrlC));
        }
        Ok(n)
    }
}

/// Reads a secret at the controlling terminal, not echoed.
///
/// rpassword (7.5) given the terminal itself switches it to raw mode and, on
/// Ctrl-C, raises SIGINT before restoring it: the process died and left the
/// custodian's terminal without echo. Here the terminal modes are set and
/// restored by [`RawKeys`], rpassword only edits the line (backspace, Ctrl-U),
/// and Ctrl-C stops the program only once the terminal is restored.
fn read_hidden(prompt: &str) -> Result<String, UiError> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    (&tty).write_all(breakglass::text::for_terminal(prompt).as_bytes())?;
    let raw = RawKeys::new(tty.as_fd())?;
    let read = rpassword::read_password_with_config(
        rpassword::ConfigBuilder::new()
            .input_reader(KeysUntilCtrlC(tty.try_clone()?))
            .output_discard()
            .build(),
    );
    drop(raw);
    let _ = (&tty).write_all(b"\n");
    match read {
        // The caller stops (a ceremony logs its abort first); the process
        // then ends by SIGINT when the Terminal is dropped.
        Err(e) if e.get_ref().is_some_and(|e| e.is::<CtrlC>()) => Err(UiError::Interrupted {
            prompt: prompt.trim_end_matches([':', ' ']).into(),
        }),
        read => Ok(read?),
    }
}

impl Ui for Terminal {
    fn say(&mut self, level: Level, text: &str) {
        checklist_line(&mut self.step, level, text);
    }

    fn confirm(&mut self, _id: &str, question: &str) -> Result<bool, UiError> {
        let a = self.line(&format!("{question} [y/N]"));
        // New values shown for this question are gone once it is answered.
        self.clear_revealed();
        Ok(matches!(a?.trim(), "y" | "Y" | "yes" | "YES"))
    }

    fn text(&mut self, _id: &str, question: &str) -> Result<String, UiError> {
        self.line(question)
    }

    fn block(&mut self, _id: &str, question: &str) -> Result<String, UiError> {
        let first = self.line(question)?;
        if !breakglass::remote::armor::has_block(&first) {
            return Ok(first);
        }
        let rest = super::remote::read_block_lines(
            &mut std::io::stdin().lock(),
            breakglass::remote::armor::Kind::Response,
        )?;
        Ok(format!("{first}\n{rest}"))
    }

    fn publish(&mut self, path: &std::path::Path, block: &str) -> Vec<std::path::PathBuf> {
        super::remote::write_qr(path, block, "request")
    }

    fn secret(&mut self, _id: &str, question: &str) -> Result<SecretString, UiError> {
        self.hidden(question)
    }

    fn passphrase(
        &mut self,
        custodian: &str,
        purpose: PassphrasePurpose,
    ) -> Result<SecretString, UiError> {
        match purpose {
            PassphrasePurpose::Unlock => self.hidden(&format!("{custodian}, type your passphrase")),
            PassphrasePurpose::New => loop {
                let a = self.hidden(&format!(
                    "{custodian}, choose a passphrase (12+ characters)"
                ))?;
                let b = self.hidden("Type it again")?;
                if a.ct_eq(&b) {
                    return Ok(a);
                }
                errln!("  !  The two entries differ; try again.");
            },
        }
    }

    fn pin(&mut self, r: &PinRequest<'_>) -> Result<SecretString, UiError> {
        if let Some(fp) = r.vault_fingerprint {
            errln!("     You are opening vault {fp}. Compare it with the fingerprint on paper.");
        }
        let tries = match r.retries_left {
            Some(1) => " (1 try left)".to_owned(),
            Some(t) => format!(" ({t} tries left)"),
            None => String::new(),
        };
        let what = match r.purpose {
            PinPurpose::Verify => "PIN",
            PinPurpose::New => "new PIN (6-8 characters)",
            PinPurpose::Puk => "PUK",
            PinPurpose::NewPuk => "new PUK (6-8 characters)",
        };
        let question = format!(
            "{}, enter the {what} of YubiKey {}{tries}",
            r.custodian, r.serial
        );
        if !matches!(r.purpose, PinPurpose::New | PinPurpose::NewPuk) {
            return self.hidden(&question);
        }
        // A new PIN or PUK is typed twice: a typo now locks the custodian out
        // years later.
        loop {
            let a = self.hidden(&question)?;
            let b = self.hidden("Type it again")?;
            if a.ct_eq(&b) {
                return Ok(a);
            }
            errln!("  !  The two entries differ; try again.");
        }
    }

    fn retry(&mut self, custodian: &str, _why: &str) -> Result<bool, UiError> {
        let a = self.line(&format!(
            "{custodian}: try again now? [Y/n] (n: step aside; another custodian presents)"
        ))?;
        Ok(!matches!(a.trim(), "n" | "N" | "no" | "NO"))
    }

    fn touch(&mut self, custodian: &str, serial: u32) {
        errln!("     {custodian}: touch YubiKey {serial} now (it blinks).");
    }

    fn insert_token(&mut self, custodian: &str, serials: &[u32]) -> Result<(), UiError> {
        let list: Vec<String> = serials.iter().map(u32::to_string).collect();
        self.line(&format!(
            "{custodian}: insert your YubiKey ({}) and press Enter",
            list.join(" or ")
        ))
        .map(|_| ())
    }

    fn reveal(&mut self, label: &str, value: &SecretString) {
        // Drawn on the alternate screen (never in the scrollback) and cleared
        // at the next question or when the command ends.
        if !std::mem::replace(&mut self.revealing, true) {
            out::err_raw(super::output::ENTER_ALTERNATE);
            out::err_raw(super::output::CLEAR_ALL);
            errln!(
                "     New values, shown only here; cleared from the screen at the next question."
            );
        }
        super::output::show_new_value(label, value);
    }

    fn choose(&mut self, _id: &str, question: &str, options: &[String]) -> Result<usize, UiError> {
        errln!("     {question}");
        for (i, o) in options.iter().enumerate() {
            errln!("       {}) {o}", i + 1);
        }
        loop {
            let a = self.line("Number")?;
            match a.trim().parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => errln!("  !  Type a number from 1 to {}.", options.len()),
            }
        }
    }
}
