//! The verified-prefix cache of `--incremental` reports: state a read-only
//! command computed over a log, kept so the next run reads only what was
//! appended since ([`crate::log::Resume`] says what that trusts).
//!
//! Where: `--cache-dir DIR`, else `$XDG_CACHE_HOME/breakglass`, else
//! `$HOME/.cache/breakglass`: the operator's own directory, **never the
//! vault's** (whoever can write the vault directory must not be able to
//! write what a report trusts). The directory is created 0700 and must be
//! owned by the user running breakglass and writable by no one else; each
//! file is 0600, owned by that user, replaced atomically.
//!
//! A file is one header line, then the payload (JSON):
//!
//! ```text
//! {"digest":SHA256_HEX_OF_PAYLOAD,"format":"breakglass-cache/1","log":PATH,"purpose":P}\n
//! PAYLOAD
//! ```
//!
//! A file that is missing, unreadable, of another format, for another log
//! or purpose, or whose digest does not match is ignored (the report is
//! then computed from the first byte and the file rewritten): the cache can
//! make a report faster, never different, and never fail it.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::fsutil;

/// The header's `format`.
const FORMAT: &str = "breakglass-cache/1";

/// Largest cache file read.
const MAX_FILE: u64 = 64 << 20;

/// A cache directory that passed the ownership checks.
pub struct Cache {
    dir: PathBuf,
}

/// What is wrong with a cache directory (the caller says which option).
#[derive(Debug, thiserror::Error)]
#[error("cache directory {dir}: {why}")]
pub struct CacheError {
    /// The directory.
    pub dir: PathBuf,
    /// What is wrong and what to do.
    pub why: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    digest: String,
    format: String,
    log: String,
    purpose: String,
}

/// Where `dir` is or would be: its nearest existing ancestor resolved
/// (links followed), then the missing names (None if one is `.` or `..`).
fn resolved(dir: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(dir).ok()?;
    let mut missing = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            let mut out = real;
            for name in missing.iter().rev() {
                out.push(name);
            }
            return Some(out);
        }
        match at.components().next_back()? {
            std::path::Component::Normal(name) => missing.push(name.to_owned()),
            _ => return None,
        }
        at = at.parent()?;
    }
}

/// Whether `dir` is, or would be, in `vault` or reached through it: some
/// directory on its way (as given, or with links resolved) is the vault
/// directory itself (same device and inode, so a bind mount or another
/// name for it counts). None when that cannot be told.
fn inside(dir: &Path, vault: &Path) -> Option<bool> {
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let v = id(vault)?;
    let given = std::path::absolute(dir).ok()?;
    let real = resolved(dir)?;
    Some(
        given
            .ancestors()
            .chain(real.ancestors())
            .any(|a| id(a) == Some(v)),
    )
}

impl Cache {
    /// The default directory: `$XDG_CACHE_HOME/breakglass`, else
    /// `$HOME/.cache/breakglass` (None when neither is set to an absolute path).
    pub fn default_dir() -> Option<PathBuf> {
        let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        std::env::var_os("XDG_CACHE_HOME")
            .and_then(abs)
            .or_else(|| {
                std::env::var_os("HOME")
                    .and_then(abs)
                    .map(|h| h.join(".cache"))
            })
            .map(|d| d.join("breakglass"))
    }

    /// Opens `dir` (created 0700 if missing) for the vault in `vault`,
    /// refusing one that another user owns or can write, or one inside the
    /// vault directory (whoever can write the vault could write it).
    pub fn open(dir: &Path, vault: &Path) -> Result<Cache, CacheError> {
        Cache::open_with(dir, vault, true)
    }

    /// [`Cache::open`] for a directory the operator named: only its last
    /// component is created (a typo in a parent is an error, not a tree).
    pub fn open_given(dir: &Path, vault: &Path) -> Result<Cache, CacheError> {
        Cache::open_with(dir, vault, false)
    }

    fn open_with(dir: &Path, vault: &Path, parents: bool) -> Result<Cache, CacheError> {
        let err = |why: String| CacheError {
            dir: dir.to_owned(),
            why,
        };
        // Judged before anything is created: where it would be.
        let inside = inside(dir, vault).ok_or_else(|| {
            err("cannot tell where it is (a missing part of it is `.` or `..`, or the vault directory cannot be read); give --cache-dir a plain path".into())
        })?;
        if inside {
            return Err(err(
                "inside the vault directory, which whoever can write the vault can write too: give --cache-dir a directory of your own outside it".into(),
            ));
        }
        if let Err(e) = std::fs::symlink_metadata(dir) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(err(e.to_string()));
            }
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parents && !parent.is_dir() {
                return Err(err(format!(
                    "{} does not exist (only the last directory of the path is created); check the path",
                    parent.display()
                )));
            }
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(parents)
                .mode(0o700)
                .create(dir)
                .map_err(|e| err(format!("cannot create it: {e}")))?;
        }
        let meta = std::fs::symlink_metadata(dir).map_err(|e| err(e.to_string()))?;
        let me = rustix::process::geteuid().as_raw();
        if !meta.is_dir() {
            return Err(err(
                "not a directory (a symbolic link is refused too); give --cache-dir a directory of your own".into(),
            ));
        }
        if meta.uid() != me {
            return Err(err(format!(
                "owned by uid {}, not by the user running breakglass (uid {me}): what a report trusts must be yours alone; give --cache-dir a directory of your own",
                meta.uid()
            )));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o1000 != 0 && mode & 0o022 != 0 {
            return Err(err(format!(
                "a shared directory (mode {mode:o}, like /tmp): what a report trusts must be in a directory of your own; give --cache-dir one (or leave it out for ~/.cache/breakglass)"
            )));
        }
        if mode & 0o022 != 0 {
            return Err(err(format!(
                "writable by others (mode {mode:o}): anyone who can write it could change what a report says; run `chmod 700` on it if it is yours alone, or give --cache-dir a directory of your own"
            )));
        }
        Ok(Cache {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds what is stored for `purpose` over `log`.
    pub fn path(&self, purpose: &str, log: &Path) -> PathBuf {
        self.file(purpose, log)
    }

    /// The file for `purpose` over the log at `log` (an absolute path).
    fn file(&self, purpose: &str, log: &Path) -> PathBuf {
        let mut h = Sha256::new();
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(log.as_os_str().as_encoded_bytes());
        let name = hex(&h.finalize()[..16]);
        self.dir.join(format!("{purpose}-{name}.json"))
    }

    /// What was stored for `purpose` over `log`, if anything usable.
    pub fn load<T: DeserializeOwned>(&self, purpose: &str, log: &Path) -> Option<T> {
        let bytes = fsutil::read_capped(&self.file(purpose, log), MAX_FILE).ok()?;
        let nl = bytes.iter().position(|&b| b == b'\n')?;
        let (head, payload) = (&bytes[..nl], &bytes[nl + 1..]);
        let h: Header = serde_json::from_slice(head).ok()?;
        let digest = hex(&Sha256::digest(payload));
        let ok = h.format == FORMAT
            && h.purpose == purpose
            && h.log == log.to_string_lossy()
            && crate::secret::ct_eq(h.digest.as_bytes(), digest.as_bytes());
        if !ok {
            return None;
        }
        serde_json::from_slice(payload).ok()
    }

    /// Removes what was stored for `purpose` over `log` (nothing to do when
    /// there is nothing).
    pub fn forget(&self, purpose: &str, log: &Path) -> io::Result<()> {
        match std::fs::remove_file(self.file(purpose, log)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Stores `value` for `purpose` over `log` (replacing what was there).
    pub fn store<T: Serialize>(&self, purpose: &str, log: &Path, value: &T) -> io::Result<()> {
        let payload = serde_json::to_vec(value).map_err(io::Error::other)?;
        let header = Header {
            digest: hex(&Sha256::digest(&payload)),
            format: FORMAT.into(),
            log: log.to_string_lossy().into_owned(),
            purpose: purpose.into(),
        };
        let mut bytes = serde_json::to_vec(&header).map_err(io::Error::other)?;
        bytes.push(b'\n');
        bytes.extend_from_slice(&payload);
        // Runs may overlap (cron and a person): each writes a temporary
        // file of its own (random name, 0600), renamed over the last one.
        let mut tmp = tempfile::Builder::new()
            .prefix(".")
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        use std::io::Write;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.file(purpose, log)).map_err(|e| e.error)?;
        fsutil::sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct P {
        n: u64,
    }

    #[test]
    fn round_trip_and_every_mismatch_is_ignored() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("vault")).unwrap();
        let c = Cache::open(&d.path().join("c"), &d.path().join("vault")).unwrap();
        let log = Path::new("/v/log.jsonl");
        assert_eq!(c.load::<P>("status", log), None);
        c.store("status", log, &P { n: 7 }).unwrap();
        assert_eq!(c.load::<P>("status", log), Some(P { n: 7 }));
        assert_eq!(c.load::<P>("export", log), None);
        assert_eq!(c.load::<P>("status", Path::new("/w/log.jsonl")), None);
        let f = c.file("status", log);
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(c.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        // A payload edited without its digest is ignored.
        let b = std::fs::read(&f).unwrap();
        let edited = String::from_utf8(b)
            .unwrap()
            .replace("{\"n\":7}", "{\"n\":8}");
        std::fs::write(&f, edited).unwrap();
        assert_eq!(c.load::<P>("status", log), None);
        // Garbage is ignored.
        std::fs::write(&f, b"\xff\xfe\n\0").unwrap();
        assert_eq!(c.load::<P>("status", log), None);
        std::fs::write(&f, b"").unwrap();
        assert_eq!(c.load::<P>("status", log), None);
        c.store("status", log, &P { n: 9 }).unwrap();
        c.forget("status", log).unwrap();
        assert_eq!(c.load::<P>("status", log), None);
        c.forget("status", log).unwrap();
    }

    #[test]
    fn overlapping_stores_leave_one_whole_file_and_no_temporary_one() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("vault")).unwrap();
        let c = Cache::open(&d.path().join("c"), &d.path().join("vault")).unwrap();
        let log = Path::new("/v/log.jsonl");
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let c = &c;
                s.spawn(move || {
                    for i in 0..25 {
                        c.store("status", log, &P { n: t * 100 + i }).unwrap();
                    }
                });
            }
        });
        let got = c.load::<P>("status", log).expect("a whole file");
        assert!(got.n % 100 == 24, "the last store of some run: {}", got.n);
        let names: Vec<_> = std::fs::read_dir(c.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_directory_others_can_write_or_a_link_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let v = d.path().join("vault");
        std::fs::create_dir(&v).unwrap();
        let e = Cache::open(&open, &v).err().unwrap().to_string();
        assert!(
            e.contains("writable by others") && e.contains("chmod 700"),
            "{e}"
        );
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let e = Cache::open(&link, &v).err().unwrap().to_string();
        assert!(e.contains("not a directory"), "{e}");
        let file = d.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(Cache::open(&file, &v).is_err());
        // Inside the vault: refused before anything is created there.
        let before = std::fs::metadata(&v).unwrap().modified().unwrap();
        for inside in [v.join("cache"), v.join("a/b/cache"), v.join("../vault/c")] {
            let e = Cache::open(&inside, &v).err().unwrap().to_string();
            assert!(
                e.contains("inside the vault directory") || e.contains("plain path"),
                "{e}"
            );
        }
        assert_eq!(std::fs::read_dir(&v).unwrap().count(), 0);
        assert_eq!(std::fs::metadata(&v).unwrap().modified().unwrap(), before);
        let link = d.path().join("to-vault");
        std::os::unix::fs::symlink(&v, &link).unwrap();
        let e = Cache::open(&link.join("cache"), &v)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("inside the vault directory"), "{e}");
        // Through a link inside the vault that points out of it: whoever
        // writes the vault could point it elsewhere later.
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, v.join("out")).unwrap();
        let e = Cache::open(&v.join("out/cache"), &v)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("inside the vault directory"), "{e}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        // Beside the vault is fine.
        assert!(Cache::open(&d.path().join("beside"), &v).is_ok());
        let e = Cache::open(&v, &v).err().unwrap().to_string();
        assert!(e.contains("inside the vault directory"), "{e}");
    }
}
