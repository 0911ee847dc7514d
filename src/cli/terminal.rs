//! The terminal implementation of the library's `Ui`: checklist lines on
//! stderr, secrets read without echo (rpassword), choices by number.

use std::io::{BufRead, Write};

use breakglass::secret::SecretString;
use breakglass::ui::{Level, PassphrasePurpose, PinPurpose, PinRequest, Ui, UiError};

/// Prints one checklist line to stderr: numbered steps, indented information,
/// marked warnings (shared by the terminal and the answers-file prompts).
pub fn checklist_line(step: &mut usize, level: Level, text: &str) {
    match level {
        Level::Step => {
            *step += 1;
            eprintln!("[{:>2}] {text}", *step);
        }
        Level::Info => eprintln!("     {text}"),
        Level::Warn => eprintln!("  !  {text}"),
    }
}

/// Prompts on the controlling terminal.
pub struct Terminal {
    step: usize,
}

impl Terminal {
    pub fn new() -> Self {
        Terminal { step: 0 }
    }

    fn line(&mut self, question: &str) -> Result<String, UiError> {
        eprint!("{question}: ");
        let _ = std::io::stderr().flush();
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
        let v = rpassword::prompt_password(format!("{question}: "))?;
        Ok(SecretString::new(v))
    }
}

impl Ui for Terminal {
    fn say(&mut self, level: Level, text: &str) {
        checklist_line(&mut self.step, level, text);
    }

    fn confirm(&mut self, _id: &str, question: &str) -> Result<bool, UiError> {
        let a = self.line(&format!("{question} [y/N]"))?;
        Ok(matches!(a.trim(), "y" | "Y" | "yes" | "YES"))
    }

    fn text(&mut self, _id: &str, question: &str) -> Result<String, UiError> {
        self.line(question)
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
                eprintln!("  !  The two entries differ; try again.");
            },
        }
    }

    fn pin(&mut self, r: &PinRequest<'_>) -> Result<SecretString, UiError> {
        if let Some(fp) = r.vault_fingerprint {
            eprintln!("     You are opening vault {fp}. Compare it with the fingerprint on paper.");
        }
        let tries = r
            .retries_left
            .map(|t| format!(" ({t} tries left)"))
            .unwrap_or_default();
        let what = match r.purpose {
            PinPurpose::Verify => "PIN",
            PinPurpose::New => "new PIN (6-8 characters)",
            PinPurpose::Puk => "PUK",
            PinPurpose::NewPuk => "new PUK (6-8 characters)",
        };
        self.hidden(&format!(
            "{}, enter the {what} of YubiKey {}{tries}",
            r.custodian, r.serial
        ))
    }

    fn touch(&mut self, custodian: &str, serial: u32) {
        eprintln!("     {custodian}: touch YubiKey {serial} now (it blinks).");
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
        super::output::show_new_value(label, value);
    }

    fn choose(&mut self, _id: &str, question: &str, options: &[String]) -> Result<usize, UiError> {
        eprintln!("     {question}");
        for (i, o) in options.iter().enumerate() {
            eprintln!("       {}) {o}", i + 1);
        }
        loop {
            let a = self.line("Number")?;
            match a.trim().parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => eprintln!("  !  Type a number from 1 to {}.", options.len()),
            }
        }
    }
}
