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
