//! Names of custodians and entries: `[a-z0-9][a-z0-9._-]{0,31}`.
//!
//! Names become file names (`shares/<name>.age`) and log fields, so they are
//! restricted to a portable, unambiguous alphabet.

/// Whether `name` is a valid custodian or entry name.
pub fn is_valid(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'_' || c == b'-'
        })
}

/// A custodian's name: holds only names that meet [`RULE`], so code that
/// has one never checks it again (parse, don't validate). It is read from
/// descriptors, manifests and the command line through [`CustodianName::parse`]
/// (serde included) and used as a `&str` everywhere else.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CustodianName(String);

/// A name that does not meet [`RULE`] (quoted, bounded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custodian name is invalid ('{0}'): use {RULE}")]
pub struct InvalidName(String);

impl CustodianName {
    /// Parses a name, refusing one outside [`RULE`].
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        if is_valid(name) {
            Ok(CustodianName(name.to_owned()))
        } else {
            Err(InvalidName(crate::text::bounded(name)))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustodianName {
    type Error = InvalidName;
    fn try_from(name: String) -> Result<Self, InvalidName> {
        if is_valid(&name) {
            Ok(CustodianName(name))
        } else {
            Err(InvalidName(crate::text::bounded(&name)))
        }
    }
}

impl std::str::FromStr for CustodianName {
    type Err = InvalidName;
    fn from_str(name: &str) -> Result<Self, InvalidName> {
        Self::parse(name)
    }
}

impl From<CustodianName> for String {
    fn from(name: CustodianName) -> String {
        name.0
    }
}

impl std::ops::Deref for CustodianName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CustodianName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for CustodianName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CustodianName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for CustodianName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for CustodianName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for CustodianName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// The rule, for error messages.
pub const RULE: &str =
    "1 to 32 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit";

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        for ok in ["alice", "a", "aws-root", "r2.d2_x", "0x"] {
            assert!(super::is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "Alice",
            "-a",
            ".a",
            "a/b",
            "a b",
            "é",
            &"a".repeat(33),
            "../x",
        ] {
            assert!(!super::is_valid(bad), "{bad}");
        }
    }
}
