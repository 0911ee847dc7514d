//! The sealed payload: the secrets themselves (plaintext schema, version 1).
//!
//! Format `breakglass-payload/1`: a JSON object, encrypted with age to the
//! generation's payload identity. The plaintext never touches disk.
//!
//! ```text
//! {"entries":[ENTRY, …],"format":"breakglass-payload/1"}
//! ENTRY = {"kind":"password","name":N,"value":S,"account":S?,"username":S?,"url":S?,"notes":S?}
//!       | {"kind":"totp","name":N,"seed":BASE32,"algorithm":"SHA1"|"SHA256"|"SHA512",
//!          "digits":6..8,"period":15..300,"issuer":S?,"account":S?}
//!       | {"kind":"note","name":N,"text":S}
//! ```
//! Names follow [`crate::names`] and are unique. Unknown members are
//! rejected. Entries' non-secret metadata (name, kind) is also listed in the
//! manifest so that ceremonies can name entries without opening the vault.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::SecretString;
use crate::totp::{
    Algorithm, TotpError, TotpParams, TotpSeed, MAX_DIGITS, MAX_PERIOD, MIN_DIGITS, MIN_PERIOD,
};

/// Format tag.
pub const FORMAT: &str = "breakglass-payload/1";
/// Largest payload plaintext accepted (1 MiB).
pub const MAX_SIZE: usize = 1 << 20;
/// Most entries in one vault.
pub const MAX_ENTRIES: usize = 256;

/// One sealed credential, generic over how its TOTP algorithm is held: as
/// read from JSON (`EntryOf<String>`, private) or parsed ([`Entry`], the only
/// form the rest of the library sees). Parsing turns the first into the
/// second, so an [`Entry`] never holds an algorithm it cannot compute.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EntryOf<A> {
    /// A password with provider metadata.
    Password {
        /// Entry name.
        name: String,
        /// The password (secret).
        value: Zeroizing<String>,
        /// Provider account id (e.g. AWS account number).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// User name at the provider.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// Sign-in URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// Free-form, non-secret notes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
    /// A TOTP (RFC 6238) seed.
    Totp {
        /// Entry name.
        name: String,
        /// Base32 seed, canonical upper case without padding (secret).
        seed: Zeroizing<String>,
        /// HMAC algorithm: `SHA1`, `SHA256` or `SHA512`.
        algorithm: A,
        /// Code length, 6 to 8.
        digits: u8,
        /// Period in seconds.
        period: u32,
        /// Issuer shown by authenticator apps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        /// Account label.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Free-form secret text (recovery codes).
    Note {
        /// Entry name.
        name: String,
        /// The text (secret).
        text: Zeroizing<String>,
    },
}

/// A parsed entry.
pub type Entry = EntryOf<Algorithm>;

/// An entry as JSON holds it, before its algorithm is parsed.
type WireEntry = EntryOf<String>;

impl WireEntry {
    /// The algorithm parsed; every other member moves unchanged.
    fn parse(self) -> Result<Entry, PayloadError> {
        Ok(match self {
            EntryOf::Password {
                name,
                value,
                account,
                username,
                url,
                notes,
            } => EntryOf::Password {
                name,
                value,
                account,
                username,
                url,
                notes,
            },
            EntryOf::Totp {
                name,
                seed,
                algorithm,
                digits,
                period,
                issuer,
                account,
            } => {
                let Some(algorithm) = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
                    .into_iter()
                    .find(|a| a.name() == algorithm)
                else {
                    return Err(PayloadError::BadEntry {
                        name: crate::text::bounded(&name),
                        why: "algorithm must be SHA1, SHA256 or SHA512".into(),
                    });
                };
                EntryOf::Totp {
                    name,
                    seed,
                    algorithm,
                    digits,
                    period,
                    issuer,
                    account,
                }
            }
            EntryOf::Note { name, text } => EntryOf::Note { name, text },
        })
    }
}

/// Parses a JSON list of entries (the `--entries`/`--add` file of init and
/// reseal). Errors give a position, never content.
pub fn parse_entries(bytes: &[u8]) -> Result<Vec<Entry>, PayloadError> {
    let wire: Vec<WireEntry> =
        serde_json::from_slice(bytes).map_err(|e| PayloadError::BadEntryList {
            line: e.line(),
            column: e.column(),
        })?;
    wire.into_iter().map(WireEntry::parse).collect()
}

impl Entry {
    /// A TOTP entry from a base32 seed or an otpauth URI typed by a person
    /// (validated; the error never holds the input).
    pub fn totp(name: String, input: &SecretString) -> Result<Entry, TotpError> {
        let seed = TotpSeed::parse(input.expose())?;
        let p = seed.params();
        Ok(Entry::Totp {
            seed: Zeroizing::new(seed.to_base32().expose().to_owned()),
            algorithm: p.algorithm,
            digits: p.digits,
            period: p.period,
            issuer: p.issuer,
            account: p.account,
            name,
        })
    }

    /// The TOTP parameters of a TOTP entry.
    pub fn totp_params(&self) -> Option<TotpParams> {
        match self {
            Entry::Totp {
                algorithm,
                digits,
                period,
                issuer,
                account,
                ..
            } => Some(TotpParams {
                algorithm: *algorithm,
                digits: *digits,
                period: *period,
                issuer: issuer.clone(),
                account: account.clone(),
            }),
            _ => None,
        }
    }

    /// The seed of a TOTP entry, ready to give codes (`None` for other kinds,
    /// or a seed that does not decode: a validated payload holds none).
    pub fn totp_seed(&self) -> Option<TotpSeed> {
        let Entry::Totp { seed, .. } = self else {
            return None;
        };
        TotpSeed::from_base32(seed, self.totp_params()?).ok()
    }

    /// Entry name.
    pub fn name(&self) -> &str {
        match self {
            Entry::Password { name, .. } | Entry::Totp { name, .. } | Entry::Note { name, .. } => {
                name
            }
        }
    }

    /// Entry kind: `password`, `totp` or `note`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Password { .. } => "password",
            Entry::Totp { .. } => "totp",
            Entry::Note { .. } => "note",
        }
    }
}

/// The decrypted payload.
#[derive(Serialize)]
pub struct Payload {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Format tag.
    pub format: String,
}

/// The host of an `http(s)://host[:port]/…` URL (lower case), if any.
fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    .then(|| host.to_ascii_lowercase())
}

/// The payload as JSON holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePayload {
    entries: Vec<WireEntry>,
    format: String,
}

/// Payload errors (never contain secret values).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// The plaintext is not a valid payload.
    #[error("payload is malformed: {0}")]
    Malformed(String),
    /// An entry name is invalid.
    #[error("entry name '{0}' is invalid: use {rule}", rule = crate::names::RULE)]
    BadName(String),
    /// Two entries share a name.
    #[error("two entries are named '{0}'; entry names must be unique")]
    DuplicateName(String),
    /// An entry is invalid.
    #[error("entry '{name}' is invalid: {why}")]
    BadEntry {
        /// Entry name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// An entries file (init, reseal `--add`) is not a list of entries.
    #[error("the entries file is not a valid list of entries (line {line}, column {column}); see ceremonies/setup.md for the format")]
    BadEntryList {
        /// Line of the first error.
        line: usize,
        /// Column of the first error.
        column: usize,
    },
    /// Too many entries or too large.
    #[error("payload too large: at most {MAX_ENTRIES} entries and {MAX_SIZE} bytes")]
    TooLarge,
}

impl Payload {
    /// A payload with these entries (validated).
    pub fn new(entries: Vec<Entry>) -> Result<Self, PayloadError> {
        let p = Payload {
            entries,
            format: FORMAT.into(),
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks names, uniqueness and per-kind constraints.
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.format != FORMAT {
            return Err(PayloadError::Malformed(format!(
                "unknown format '{}'",
                crate::text::bounded(&self.format)
            )));
        }
        if self.entries.len() > MAX_ENTRIES {
            return Err(PayloadError::TooLarge);
        }
        let mut names: Vec<&str> = Vec::new();
        for e in &self.entries {
            let name = e.name();
            if !crate::names::is_valid(name) {
                return Err(PayloadError::BadName(crate::text::bounded(name)));
            }
            if names.contains(&name) {
                return Err(PayloadError::DuplicateName(name.into()));
            }
            names.push(name);
            let bad = |why: &str| PayloadError::BadEntry {
                name: name.into(),
                why: why.into(),
            };
            match e {
                Entry::Password { value, .. } if value.is_empty() => {
                    return Err(bad("the password is empty"))
                }
                Entry::Totp {
                    seed,
                    algorithm,
                    digits,
                    period,
                    issuer,
                    account,
                    ..
                } => {
                    if seed.is_empty() {
                        return Err(bad("the TOTP seed is empty"));
                    }
                    if !(MIN_DIGITS..=MAX_DIGITS).contains(digits) {
                        return Err(bad(&format!("digits must be {MIN_DIGITS} to {MAX_DIGITS}")));
                    }
                    if !(MIN_PERIOD..=MAX_PERIOD).contains(period) {
                        return Err(bad(&format!(
                            "period must be {MIN_PERIOD} to {MAX_PERIOD} seconds"
                        )));
                    }
                    // Issuer and account: what `TotpSeed` accepts (no ':', no
                    // control characters, not empty, at most 256 bytes).
                    let params = TotpParams {
                        algorithm: *algorithm,
                        digits: *digits,
                        period: *period,
                        issuer: issuer.clone(),
                        account: account.clone(),
                    };
                    params.validate().map_err(|e| bad(&e.to_string()))?;
                    // The writer stores `TotpSeed::to_base32`: anything else
                    // (not base32, too short or long, lower case, padded,
                    // non-zero trailing bits) was not written by breakglass,
                    // and could not give codes. The error never shows the seed.
                    let canonical = TotpSeed::from_base32(seed, params)
                        .ok()
                        .map(|s| s.to_base32());
                    if canonical.as_ref().map(|c| c.expose()) != Some(seed.as_str()) {
                        return Err(bad(
                            "the TOTP seed is not canonical base32 of 10 to 1024 bytes (upper case, no padding)",
                        ));
                    }
                }
                Entry::Note { text, .. } if text.is_empty() => {
                    return Err(bad("the note is empty"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Serialises to JSON in a zeroizing buffer (pre-sized: no reallocation copies).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
        let estimate = 4096
            + self
                .entries
                .iter()
                .map(|e| match e {
                    Entry::Password { value, notes, .. } => {
                        value.len() * 6 + notes.as_ref().map_or(0, |n| n.len() * 6) + 1024
                    }
                    Entry::Totp { seed, .. } => seed.len() * 6 + 1024,
                    Entry::Note { text, .. } => text.len() * 6 + 256,
                })
                .sum::<usize>();
        let mut buf = Zeroizing::new(Vec::with_capacity(estimate));
        serde_json::to_writer(&mut *buf, self)
            .map_err(|e| PayloadError::Malformed(e.to_string()))?;
        if buf.len() > MAX_SIZE {
            return Err(PayloadError::TooLarge);
        }
        Ok(buf)
    }

    /// Parses and validates decrypted bytes. Errors give a position, never content.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.len() > MAX_SIZE {
            return Err(PayloadError::TooLarge);
        }
        let wire: WirePayload = serde_json::from_slice(bytes).map_err(|e| {
            PayloadError::Malformed(format!(
                "not a valid payload document (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let p = Payload {
            entries: wire
                .entries
                .into_iter()
                .map(WireEntry::parse)
                .collect::<Result<_, _>>()?,
            format: wire.format,
        };
        p.validate()?;
        Ok(p)
    }

    /// The otpauth URI of TOTP entry `name`, labelled so an authenticator
    /// app names it: the entry's own issuer, else the provider of the password
    /// entry it belongs to (see [`Payload::provider_of`]), else the entry name.
    /// `None` when there is no such TOTP entry.
    pub fn otpauth_uri(&self, name: &str) -> Option<SecretString> {
        let entry = self.get(name)?;
        let mut params = entry.totp_params()?;
        if params.issuer.is_none() {
            let provider = self.provider_of(name).unwrap_or_else(|| name.to_owned());
            // Only an issuer TotpSeed accepts (no ':', no control characters).
            params.issuer = Some(provider).filter(|i| {
                TotpParams {
                    issuer: Some(i.clone()),
                    ..TotpParams::default()
                }
                .validate()
                .is_ok()
            });
        }
        let Entry::Totp { seed, .. } = entry else {
            return None;
        };
        let seed = TotpSeed::from_base32(seed, params).ok()?;
        Some(seed.to_otpauth_uri(name))
    }

    /// The provider a TOTP entry belongs to, from the password entry whose
    /// name is the longest proper prefix of its name followed by `-`, `_` or
    /// `.` (`aws-root` for `aws-root-mfa`): that entry's sign-in URL host
    /// (`signin.aws.amazon.com`), else its account.
    pub fn provider_of(&self, totp_name: &str) -> Option<String> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Password {
                    name, url, account, ..
                } if totp_name.len() > name.len()
                    && totp_name.starts_with(name.as_str())
                    && totp_name[name.len()..].starts_with(['-', '_', '.']) =>
                {
                    let host = url.as_deref().and_then(url_host);
                    Some((name.len(), host.or_else(|| account.clone())?))
                }
                _ => None,
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, provider)| provider)
    }

    /// Names and kinds, for the manifest.
    pub fn index(&self) -> Vec<EntryInfo> {
        self.entries
            .iter()
            .map(|e| EntryInfo {
                kind: e.kind().into(),
                name: e.name().into(),
            })
            .collect()
    }

    /// Finds an entry by name.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name() == name)
    }
}

/// Public index of one entry (manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInfo {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10: an otpauth URI without an issuer leaves authenticator apps
    /// with an unlabelled code; the URI takes the entry's issuer, else its
    /// password entry's sign-in host or account, else the entry name.
    #[test]
    fn otpauth_uris_are_labelled_from_the_provider() {
        let totp = |name: &str, issuer: Option<&str>| {
            let mut e = Entry::totp(
                name.into(),
                &SecretString::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into()),
            )
            .unwrap();
            if let Entry::Totp { issuer: i, .. } = &mut e {
                *i = issuer.map(str::to_owned);
            }
            e
        };
        let mut with_url = pw("aws-root", "pw");
        if let Entry::Password { url, .. } = &mut with_url {
            *url = Some("https://signin.AWS.amazon.com:443/console?x=1".into());
        }
        let p = Payload::new(vec![
            with_url,
            pw("gcp", "pw2"),
            totp("aws-root-mfa", None),
            totp("gcp.mfa", None),
            totp("okta-mfa", Some("Okta")),
            totp("lonely", None),
        ])
        .unwrap();
        let issuer = |name: &str| {
            let uri = p.otpauth_uri(name).unwrap();
            TotpSeed::parse(uri.expose()).unwrap().params().issuer
        };
        assert_eq!(
            issuer("aws-root-mfa").as_deref(),
            Some("signin.aws.amazon.com")
        );
        assert_eq!(issuer("gcp.mfa").as_deref(), Some("123456789012"));
        assert_eq!(issuer("okta-mfa").as_deref(), Some("Okta"));
        assert_eq!(issuer("lonely").as_deref(), Some("lonely"));
        assert!(p.otpauth_uri("aws-root").is_none(), "not a TOTP entry");
        assert!(p.otpauth_uri("nothing").is_none());
        // A prefix that is not followed by a separator is another provider.
        assert_eq!(p.provider_of("gcpx"), None);
        assert_eq!(url_host("ftp://x"), None);
        assert_eq!(url_host("https://a b/"), None);
    }

    fn pw(name: &str, v: &str) -> Entry {
        Entry::Password {
            name: name.into(),
            value: Zeroizing::new(v.into()),
            account: Some("123456789012".into()),
            username: None,
            url: None,
            notes: None,
        }
    }

    #[test]
    fn round_trip_and_validation() {
        let p = Payload::new(vec![pw("aws-root", "s3cret")]).unwrap();
        let bytes = p.to_bytes().unwrap();
        let back = Payload::from_bytes(&bytes).unwrap();
        assert_eq!(back.index(), p.index());
        assert!(matches!(
            Payload::new(vec![pw("a", "x"), pw("a", "y")]),
            Err(PayloadError::DuplicateName(_))
        ));
        assert!(matches!(
            Payload::new(vec![pw("Bad Name", "x")]),
            Err(PayloadError::BadName(_))
        ));
    }

    #[test]
    fn malformed_errors_do_not_quote_content() {
        let err = Payload::from_bytes(
            br#"{"entries":[{"kind":"password","name":"a","value":"hunter2","bogus":1}],"format":"breakglass-payload/1"}"#,
        )
        .err()
        .unwrap();
        assert!(!err.to_string().contains("hunter2"));
    }
}
