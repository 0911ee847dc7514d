//! What this build is: version, commit and commit date, embedded at compile
//! time by `build.rs`, and the SHA-256 of the running executable, which the
//! install runbook (`ceremonies/install.md`) compares with `SHA256SUMS`.
//!
//! Invariants: the constants hold nothing that differs between two builds
//! of one commit (no build time, no path), so release builds stay
//! byte-identical. The digest is computed only when asked for (never for a
//! plain `--version`, which must start as fast as `/bin/true`), by reading
//! the file the kernel executed (`/proc/self/exe`).

use std::io::Read;

use sha2::{Digest, Sha256};

/// The package version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (full id; `-dirty` for a development
/// build of a changed tree; `unknown` when built without git or release
/// metadata).
pub const COMMIT: &str = env!("BREAKGLASS_COMMIT");

/// That commit's committer date, UTC, RFC 3339 (`unknown` as for [`COMMIT`]).
pub const COMMIT_DATE: &str = env!("BREAKGLASS_COMMIT_DATE");

/// `VERSION (commit COMMIT, COMMIT_DATE)`: what `breakglass --version`
/// prints after the program name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BREAKGLASS_COMMIT"),
    ", ",
    env!("BREAKGLASS_COMMIT_DATE"),
    ")"
);

/// The running executable: its path and the SHA-256 of its contents.
pub struct Executable {
    /// Where the executable is (as the kernel resolved it).
    pub path: std::path::PathBuf,
    /// SHA-256 of the file, lowercase hex: the form `sha256sum` prints.
    pub sha256: String,
}

/// Reads and hashes the running executable.
///
/// # Errors
/// When the executable cannot be found or read (e.g. `/proc` is not
/// mounted); the message names the file.
pub fn executable() -> std::io::Result<Executable> {
    let context = |what: String| {
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{what}: {e}"))
    };
    let path = std::env::current_exe().map_err(context("finding the running executable".into()))?;
    let reading = format!("reading the running executable {}", path.display());
    let mut file = std::fs::File::open(&path).map_err(context(reading.clone()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(context(reading.clone()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Executable {
        path,
        sha256: crate::encoding::hex(&hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_version_names_version_commit_and_date() {
        assert!(LONG_VERSION.starts_with(VERSION));
        assert!(LONG_VERSION.contains(COMMIT));
        assert!(LONG_VERSION.ends_with(&format!(", {COMMIT_DATE})")));
        // Built inside this checkout: the commit is a full id, the date RFC 3339 UTC.
        let id = COMMIT.trim_end_matches("-dirty");
        assert_eq!(id.len(), 40, "{COMMIT}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{COMMIT}");
        assert_eq!(COMMIT_DATE.len(), 20, "{COMMIT_DATE}");
        assert!(COMMIT_DATE.ends_with('Z'), "{COMMIT_DATE}");
    }

    #[test]
    fn executable_digest_is_the_sha256_of_the_file() {
        let exe = executable().expect("hash the test executable");
        let bytes = std::fs::read(&exe.path).expect("read it back");
        assert_eq!(exe.sha256, crate::encoding::hex(&Sha256::digest(&bytes)));
        assert_eq!(exe.sha256.len(), 64);
    }
}
