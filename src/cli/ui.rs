//! The non-interactive `Ui`: every prompt answered from an answers file,
//! with what the custodians would see echoed by an [`Echo`]. One wrapper
//! serves the answers-file runs (a checklist on stderr) and the demo (a
//! walk-through on stdout); each echo changes only what it shows.

use breakglass::secret::SecretString;
use breakglass::ui::{Answers, Level, PassphrasePurpose, PinRequest, Ui, UiError};

use super::out::errln;

/// What an answered run shows of each step. Only display hooks: answers
/// always come from the file.
pub trait Echo {
    /// A checklist line.
    fn say(&mut self, level: Level, text: &str);
    /// Before a passphrase is taken from the file.
    fn passphrase(&mut self, _custodian: &str) {}
    /// Before a PIN is taken from the file.
    fn pin(&mut self, _request: &PinRequest<'_>) {}
    /// A touch is requested.
    fn touch(&mut self, _custodian: &str, _serial: u32) {}
    /// A new value to set at the provider.
    fn reveal(&mut self, label: &str, value: &SecretString);
}

/// A `Ui` answering from an [`Answers`] file and echoing through `E`.
pub struct Echoing<E> {
    answers: Answers,
    echo: E,
}

impl<E: Echo> Echoing<E> {
    /// Answers from `answers`, shown by `echo`.
    pub fn new(answers: Answers, echo: E) -> Self {
        Echoing { answers, echo }
    }
}

impl<E: Echo> Ui for Echoing<E> {
    fn say(&mut self, level: Level, text: &str) {
        self.echo.say(level, text);
    }
    fn confirm(&mut self, id: &str, q: &str) -> Result<bool, UiError> {
        self.answers.confirm(id, q)
    }
    fn text(&mut self, id: &str, q: &str) -> Result<String, UiError> {
        self.answers.text(id, q)
    }
    fn secret(&mut self, id: &str, q: &str) -> Result<SecretString, UiError> {
        self.answers.secret(id, q)
    }
    fn passphrase(&mut self, c: &str, p: PassphrasePurpose) -> Result<SecretString, UiError> {
        self.echo.passphrase(c);
        self.answers.passphrase(c, p)
    }
    fn pin(&mut self, r: &PinRequest<'_>) -> Result<SecretString, UiError> {
        self.echo.pin(r);
        self.answers.pin(r)
    }
    fn touch(&mut self, custodian: &str, serial: u32) {
        self.echo.touch(custodian, serial);
    }
    fn insert_token(&mut self, c: &str, s: &[u32]) -> Result<(), UiError> {
        self.answers.insert_token(c, s)
    }
    fn choose(&mut self, id: &str, q: &str, o: &[String]) -> Result<usize, UiError> {
        self.answers.choose(id, q, o)
    }
    fn reveal(&mut self, label: &str, value: &SecretString) {
        self.echo.reveal(label, value);
    }
    fn publish(&mut self, path: &std::path::Path, block: &str) -> Vec<std::path::PathBuf> {
        super::remote::write_qr(path, block, "request")
    }
}

/// The answers-file run: the checklist on stderr, as at the terminal.
pub struct Checklist {
    step: usize,
}

impl Checklist {
    /// The answers-file Ui.
    pub fn ui(answers: Answers) -> Echoing<Checklist> {
        Echoing::new(answers, Checklist { step: 0 })
    }
}

impl Echo for Checklist {
    fn say(&mut self, level: Level, text: &str) {
        super::terminal::checklist_line(&mut self.step, level, text);
    }
    fn pin(&mut self, r: &PinRequest<'_>) {
        if let Some(fp) = r.vault_fingerprint {
            errln!("     Opening vault {fp} with YubiKey {}", r.serial);
        }
    }
    fn touch(&mut self, custodian: &str, serial: u32) {
        errln!("     {custodian}: touch YubiKey {serial} now");
    }
    fn reveal(&mut self, label: &str, value: &SecretString) {
        super::output::show_new_value(label, value);
    }
}
