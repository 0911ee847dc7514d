//! The one way the library talks to people.
//!
//! The library never prints and never reads the terminal. Ceremonies describe
//! what they need through [`Ui`]; the CLI implements it for a terminal, and
//! [`Answers`] implements it from a JSON document (the documented
//! non-interactive form, used by scripts, drills and tests). Secrets asked for
//! through this trait come back as [`SecretString`] and never pass through argv
//! or the environment.

use std::collections::BTreeMap;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::secret::SecretString;

/// Why a passphrase is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// Unlock an existing software custodian identity.
    Unlock,
    /// Choose the passphrase of a new software custodian identity.
    New,
}

/// Why a PIN is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPurpose {
    /// Verify the current PIN before a private-key operation.
    Verify,
    /// Choose a new PIN (replacing a default one at enrollment).
    New,
    /// The PUK, to change a default PUK or unblock a PIN.
    Puk,
    /// Choose a new PUK (replacing the default one at enrollment).
    NewPuk,
}

/// A request for a token PIN, with everything the custodian should see first.
#[derive(Debug, Clone)]
pub struct PinRequest<'a> {
    /// Custodian the token belongs to (or is being enrolled for).
    pub custodian: &'a str,
    /// Token serial number.
    pub serial: u32,
    /// What the PIN is for.
    pub purpose: PinPurpose,
    /// Tries left before the PIN blocks, when the token tells.
    pub retries_left: Option<u8>,
    /// Vault fingerprint the custodian is about to open (None at enrollment).
    pub vault_fingerprint: Option<&'a str>,
}

/// A short line of the ceremony checklist, or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A checklist step being started.
    Step,
    /// Information.
    Info,
    /// Something the custodians should pay attention to.
    Warn,
}

/// Errors from the user-interaction layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// The person cancelled (Ctrl-D, "no", empty answer where one is required).
    #[error("cancelled at the prompt '{prompt}'")]
    Cancelled {
        /// Prompt identifier.
        prompt: String,
    },
    /// Non-interactive mode has no answer for a prompt.
    #[error(
        "the answers file has no answer for '{prompt}'; add it (see `breakglass help-answers`)"
    )]
    NoAnswer {
        /// Prompt identifier, as it must appear in the answers file.
        prompt: String,
    },
    /// The answer given was not acceptable (the message says why).
    #[error("invalid answer for '{prompt}': {why}")]
    Invalid {
        /// Prompt identifier.
        prompt: String,
        /// What is wrong with it.
        why: String,
    },
    /// The person pressed Ctrl-C at a prompt: the ceremony stops, and a
    /// ceremony that logged a request logs that it was aborted.
    #[error("interrupted (Ctrl-C) at the prompt '{prompt}'; nothing more was done")]
    Interrupted {
        /// Prompt identifier.
        prompt: String,
    },
    /// Reading from the terminal failed.
    #[error("cannot read from the terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything a ceremony may ask of the people at the machine.
pub trait Ui {
    /// Shows a checklist step, information or a warning.
    fn say(&mut self, level: Level, text: &str);
    /// Asks a yes/no question. `id` names the prompt in the answers file.
    fn confirm(&mut self, id: &str, question: &str) -> Result<bool, UiError>;
    /// Asks for a non-secret line of text (ticket, entry name, account id).
    fn text(&mut self, id: &str, question: &str) -> Result<String, UiError>;
    /// Asks for a secret value (an entry's password, a TOTP seed). Never echoed.
    fn secret(&mut self, id: &str, question: &str) -> Result<SecretString, UiError>;
    /// Asks a software custodian's passphrase. Never echoed.
    fn passphrase(
        &mut self,
        custodian: &str,
        purpose: PassphrasePurpose,
    ) -> Result<SecretString, UiError>;
    /// Asks a token PIN (or PUK). Never echoed.
    fn pin(&mut self, request: &PinRequest<'_>) -> Result<SecretString, UiError>;
    /// Tells the custodian to touch the token now (the call returns at once).
    fn touch(&mut self, custodian: &str, serial: u32);
    /// Asks the custodian to insert a token (one of `serials`) and confirm.
    fn insert_token(&mut self, custodian: &str, serials: &[u32]) -> Result<(), UiError>;
    /// Asks which of `options` comes next; returns its index.
    fn choose(&mut self, id: &str, question: &str, options: &[String]) -> Result<usize, UiError>;
    /// After `custodian`'s share was rejected (`why`, already logged): whether
    /// they try again now (`true`) or step aside for another custodian. The
    /// default, and the answers file, never retry: an answer that failed
    /// once fails again (and a wrong PIN would only use up the token's tries).
    fn retry(&mut self, custodian: &str, why: &str) -> Result<bool, UiError> {
        let _ = (custodian, why);
        Ok(false)
    }
    /// Asks for text that may span lines: a file path, or a pasted remote
    /// response block (a terminal reads from its `-----BEGIN` line to its
    /// `-----END` line). The answers file answers it in `text`.
    fn block(&mut self, id: &str, question: &str) -> Result<String, UiError> {
        self.text(id, question)
    }
    /// A file that must travel to a custodian elsewhere has been written at
    /// `path`, with the text block `block`: the binary adds QR codes of the
    /// block beside it and returns their paths (the default adds none).
    fn publish(&mut self, path: &std::path::Path, block: &str) -> Vec<std::path::PathBuf> {
        let _ = (path, block);
        Vec::new()
    }
    /// Shows a new secret value to the custodians (a generated password to set
    /// at the provider). Only called after the showing has been logged.
    fn reveal(&mut self, label: &str, value: &SecretString) {
        let _ = (label, value);
    }
}

/// The non-interactive answers document (`--answers FILE`), JSON.
///
/// ```json
/// {
///   "passphrases": {"alice": "correct horse battery staple"},
///   "new_passphrases": {"dave": "…"},
///   "pins": {"99000001": "864213"},
///   "new_pins": {"99000001": "864213"},
///   "puks": {"99000001": "…"},
///   "new_puks": {"99000001": "…"},
///   "confirm": {"init.proceed": true},
///   "text": {"unseal.custodian.1": "alice"},
///   "secrets": {"entry.aws-root.value": "…"}
/// }
/// ```
/// Every member is optional; a prompt with no answer fails with
/// [`UiError::NoAnswer`] naming the key to add. `choose` prompts are answered
/// in `text` with the option's text.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    passphrases: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    new_passphrases: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    pins: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    new_pins: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    puks: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    new_puks: BTreeMap<String, Zeroizing<String>>,
    #[serde(default)]
    confirm: BTreeMap<String, bool>,
    #[serde(default)]
    text: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, Zeroizing<String>>,
    /// Messages said so far (kept so tests and `--json` callers can read them).
    #[serde(skip)]
    transcript: Vec<(Level, String)>,
    /// Values shown through [`Ui::reveal`] (kept for tests; zeroized on drop).
    #[serde(skip)]
    revealed: Vec<(String, Zeroizing<String>)>,
}

impl Answers {
    /// Parses an answers document. The error never quotes the input.
    pub fn from_json(bytes: &[u8]) -> Result<Self, UiError> {
        serde_json::from_slice(bytes).map_err(|e| UiError::Invalid {
            prompt: "answers file".into(),
            // serde_json errors carry only a position and a category, never input text
            // for the "data" category; be safe and keep only line/column.
            why: format!(
                "not a valid answers document (line {}, column {}); see `breakglass help-answers`",
                e.line(),
                e.column()
            ),
        })
    }

    /// Sets a passphrase answer (used by the demo and tests).
    pub fn set_passphrase(&mut self, custodian: &str, value: &str) {
        self.passphrases
            .insert(custodian.into(), Zeroizing::new(value.into()));
        self.new_passphrases
            .insert(custodian.into(), Zeroizing::new(value.into()));
    }

    /// Sets a PIN answer for a token serial (used by the demo and tests).
    pub fn set_pin(&mut self, serial: u32, value: &str) {
        self.pins
            .insert(serial.to_string(), Zeroizing::new(value.into()));
    }

    /// Sets a free-text answer.
    pub fn set_text(&mut self, id: &str, value: &str) {
        self.text.insert(id.into(), value.into());
    }

    /// Sets a secret answer.
    pub fn set_secret(&mut self, id: &str, value: &str) {
        self.secrets.insert(id.into(), Zeroizing::new(value.into()));
    }

    /// Sets a confirmation answer.
    pub fn set_confirm(&mut self, id: &str, value: bool) {
        self.confirm.insert(id.into(), value);
    }

    /// Values shown through [`Ui::reveal`], by label.
    pub fn revealed(&self, label: &str) -> Option<&str> {
        self.revealed
            .iter()
            .rev()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    /// Everything said through [`Ui::say`] so far.
    pub fn transcript(&self) -> &[(Level, String)] {
        &self.transcript
    }

    fn secret_from(
        map: &BTreeMap<String, Zeroizing<String>>,
        key: &str,
        prompt: String,
    ) -> Result<SecretString, UiError> {
        map.get(key)
            .map(|v| SecretString::new(v.as_str().to_owned()))
            .ok_or(UiError::NoAnswer { prompt })
    }
}

impl Ui for Answers {
    fn say(&mut self, level: Level, text: &str) {
        self.transcript.push((level, text.to_owned()));
    }

    fn confirm(&mut self, id: &str, _question: &str) -> Result<bool, UiError> {
        self.confirm.get(id).copied().ok_or(UiError::NoAnswer {
            prompt: format!("confirm.{id}"),
        })
    }

    fn text(&mut self, id: &str, _question: &str) -> Result<String, UiError> {
        self.text.get(id).cloned().ok_or(UiError::NoAnswer {
            prompt: format!("text.{id}"),
        })
    }

    fn secret(&mut self, id: &str, _question: &str) -> Result<SecretString, UiError> {
        Self::secret_from(&self.secrets, id, format!("secrets.{id}"))
    }

    fn passphrase(
        &mut self,
        custodian: &str,
        purpose: PassphrasePurpose,
    ) -> Result<SecretString, UiError> {
        match purpose {
            PassphrasePurpose::Unlock => Self::secret_from(
                &self.passphrases,
                custodian,
                format!("passphrases.{custodian}"),
            ),
            PassphrasePurpose::New => Self::secret_from(
                &self.new_passphrases,
                custodian,
                format!("new_passphrases.{custodian}"),
            ),
        }
    }

    fn pin(&mut self, request: &PinRequest<'_>) -> Result<SecretString, UiError> {
        let serial = request.serial.to_string();
        let (map, name) = match request.purpose {
            PinPurpose::Verify => (&self.pins, "pins"),
            PinPurpose::New => (&self.new_pins, "new_pins"),
            PinPurpose::Puk => (&self.puks, "puks"),
            PinPurpose::NewPuk => (&self.new_puks, "new_puks"),
        };
        Self::secret_from(map, &serial, format!("{name}.{serial}"))
    }

    fn touch(&mut self, custodian: &str, serial: u32) {
        self.transcript.push((
            Level::Info,
            format!("touch requested: {custodian}'s token {serial}"),
        ));
    }

    fn insert_token(&mut self, _custodian: &str, _serials: &[u32]) -> Result<(), UiError> {
        Ok(())
    }

    fn choose(&mut self, id: &str, _question: &str, options: &[String]) -> Result<usize, UiError> {
        let answer = self.text.get(id).ok_or(UiError::NoAnswer {
            prompt: format!("text.{id}"),
        })?;
        options
            .iter()
            .position(|o| o == answer)
            .ok_or_else(|| UiError::Invalid {
                prompt: format!("text.{id}"),
                why: format!("'{answer}' is not one of: {}", options.join(", ")),
            })
    }

    fn reveal(&mut self, label: &str, value: &SecretString) {
        self.revealed
            .push((label.to_owned(), Zeroizing::new(value.expose().to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_name_missing_prompts() {
        let mut a =
            Answers::from_json(br#"{"passphrases":{"alice":"pw"},"text":{"next":"bob"}}"#).unwrap();
        assert_eq!(
            a.passphrase("alice", PassphrasePurpose::Unlock)
                .unwrap()
                .expose(),
            "pw"
        );
        let err = a
            .passphrase("bob", PassphrasePurpose::Unlock)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "the answers file has no answer for 'passphrases.bob'; add it (see `breakglass help-answers`)"
        );
        let opts = vec!["alice".to_string(), "bob".to_string()];
        assert_eq!(a.choose("next", "?", &opts).unwrap(), 1);
    }

    #[test]
    fn answers_reject_unknown_members_without_quoting_input() {
        let err = Answers::from_json(br#"{"passwords":{"alice":"hunter2"}}"#)
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
    }
}
