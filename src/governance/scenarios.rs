//! The documented scenarios for which the vault may be opened (`VAULT/scenarios`
//! or `report --scenarios FILE`), and the rule that says whether an
//! activation's reason falls within one (see [`Scenarios`]).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::error::{Error, Result};

/// Largest scenarios file accepted.
pub const MAX_SCENARIOS_FILE: u64 = 64 * 1024;

/// The documented scenarios for which the vault may be opened.
///
/// File format (`<vault>/scenarios` by default, or `--scenarios FILE`): UTF-8
/// text, one scenario per line: a *tag* (`a-z 0-9 . _ -`, starting with a
/// letter or digit), then whitespace and a free description. Blank lines and
/// lines starting with `#` are ignored.
///
/// Matching rule: an activation is *within* a documented scenario when its
/// unseal reason starts with a tag, compared case-insensitively, followed by
/// `:`, whitespace or the end of the reason. So `--reason "idp-outage: Okta
/// down"` matches the tag `idp-outage`; `--reason "curious"` matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenarios {
    /// (tag, description), in file order.
    pub list: Vec<(String, String)>,
    /// SHA-256 (hex) of the file, printed with the report so the list the
    /// metric was computed against can be identified.
    pub sha256: String,
}

impl Scenarios {
    /// Parses a scenarios file.
    pub fn parse(bytes: &[u8]) -> Result<Scenarios> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::Usage("the scenarios file is not UTF-8 text".into()))?;
        let mut list = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (tag, desc) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let tag = tag.to_ascii_lowercase();
            if !crate::names::is_valid(&tag) {
                return Err(Error::Usage(format!(
                    "scenarios file line {}: '{}' is not a valid scenario tag (use {})",
                    i + 1,
                    tag.chars().take(40).collect::<String>(),
                    crate::names::RULE
                )));
            }
            list.push((tag, desc.trim().to_owned()));
        }
        Ok(Scenarios {
            list,
            sha256: hex(&Sha256::digest(bytes)),
        })
    }

    /// Reads a scenarios file (size-capped).
    pub fn read(path: &Path) -> Result<Scenarios> {
        let bytes = crate::fsutil::read_capped(path, MAX_SCENARIOS_FILE).map_err(|e| {
            Error::Usage(format!(
                "cannot read the scenarios file {}: {e}",
                path.display()
            ))
        })?;
        Scenarios::parse(&bytes)
    }

    /// The tag the reason matches, if any.
    pub fn matching(&self, reason: &str) -> Option<&str> {
        let r = reason.trim_start();
        self.list.iter().map(|(t, _)| t.as_str()).find(|t| {
            r.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t))
                && r[t.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == ':' || c.is_whitespace())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_matching_rule() {
        let s = Scenarios::parse(
            b"# documented\nidp-outage   IdP down: console via root\nroot-only Tasks only root can do\n\n",
        )
        .unwrap();
        assert_eq!(s.list.len(), 2);
        assert_eq!(s.matching("idp-outage: Okta down"), Some("idp-outage"));
        assert_eq!(s.matching("IDP-Outage okta"), Some("idp-outage"));
        assert_eq!(s.matching("root-only"), Some("root-only"));
        assert_eq!(s.matching("idp-outages: no"), None);
        assert_eq!(s.matching("curious"), None);
        assert_eq!(s.matching(""), None);
        assert!(Scenarios::parse(b"Bad!Tag x\n").is_err());
    }
}
