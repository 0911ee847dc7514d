//! The vault directory: layout, locking, generations and the commit point.
//!
//! ```text
//! VAULT/
//!   manifest.json            the current generation's manifest (replaced atomically)
//!   log.jsonl                the audit log (append-only)
//!   g000007/manifest.json    generation 7's own copy of its manifest
//!   g000007/payload.age      the payload of generation 7
//!   g000007/shares/NAME.age  one share file per custodian
//!   .aside/g000008-T/        a generation directory never certified, moved aside
//! ```
//!
//! A new generation is written completely and fsynced in its own directory
//! beside the current one; the quorum-signed `sealed` entry certifying its
//! manifest is the commit point; replacing `manifest.json` (rename +
//! directory fsync) follows, and older generation directories are removed.
//! This module never decides which generation is current: that is
//! [`crate::history`]'s judgement, made before anything here is removed or
//! moved aside.
//!
//! **Locking.** Commands that write (ceremonies, `log repair`) hold an
//! exclusive `flock` on the vault directory itself, from [`Vault::open`] or
//! [`Vault::create`] until the [`Vault`] is dropped; a second one waits up
//! to [`LOCK_WAIT`] (the binary says so once, see [`on_lock_wait`]), then
//! refuses. The directory cannot be deleted or swapped while it is open the
//! way a lock file could (`rm .lock` let a second ceremony in), and after
//! locking the path is checked to still name the locked directory.
//! Read-only commands ([`Vault::open_read_only`]) take no lock and write
//! nothing, so they never delay or fail a ceremony and work on read-only
//! media; what they read is consistent without it: the manifest is replaced
//! atomically, and the log is append-only, one `write` per line. (Older
//! versions locked a `.lock` file; one left in a vault is ignored.)

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::fsutil;
use crate::manifest::{generation_dir, Manifest, ManifestError, MAX_SIZE};

/// Where generation directories that were never certified are moved.
pub const ASIDE_DIR: &str = ".aside";

/// Largest share or payload file accepted.
pub const MAX_DATA_FILE: u64 = 4 << 20;

/// Vault I/O errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No vault at the path.
    #[error("no vault at {0} (no manifest.json); check the --vault path")]
    NotAVault(PathBuf),
    /// Init target not empty.
    #[error("{0} already exists and is not empty; choose a new directory for the vault")]
    NotEmpty(PathBuf),
    /// Init target holds a setup that never wrote its manifest.json (a crash
    /// or kill during `init`).
    #[error("{} holds an unfinished setup (no manifest.json: init was interrupted before its commit{}); nothing in it was ever a vault. Remove the directory (rm -r {}) and run init again", .path.display(), if *.sealed { ", after its `sealed` entry was logged but before manifest.json was written" } else { "" }, .path.display())]
    UnfinishedSetup {
        /// The directory.
        path: PathBuf,
        /// Whether the log already holds the `sealed` entry.
        sealed: bool,
    },
    /// Another command holds the lock.
    #[error("another breakglass command is using the vault at {0}; wait for it to finish")]
    Locked(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The manifest does not parse.
    #[error("{path}: {source}")]
    Manifest {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: ManifestError,
    },
}

/// An open vault directory (locked by [`Vault::open`] and [`Vault::create`],
/// not by [`Vault::open_read_only`]).
pub struct Vault {
    dir: PathBuf,
    _lock: File,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How long a command that writes waits for another one to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

static LOCK_WAIT_NOTICE: OnceLock<fn(&Path)> = OnceLock::new();

/// Registers what to do, once per wait, when a command has to wait for the
/// vault's lock (the binary says so on stderr; the library never prints).
/// The first registration wins.
pub fn on_lock_wait(notice: fn(&Path)) {
    let _ = LOCK_WAIT_NOTICE.set(notice);
}

/// Opens the vault directory itself (read-only: this works on read-only
/// media), refusing anything that is not a directory.
fn open_dir(dir: &Path) -> Result<File, VaultError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::DIRECTORY.bits() as i32)
        .open(dir)
        .map_err(io_err(dir))
}

/// `manifest.json` and `log.jsonl` must be regular files of ours: `log
/// verify` must not read through a link or block on a FIFO, `log repair`
/// must not truncate what a link points to. (Shares and payload are checked
/// as they are read, by [`fsutil::read_capped`].)
fn check_vault_files(dir: &Path) -> Result<(), VaultError> {
    for name in ["manifest.json", "log.jsonl"] {
        let path = dir.join(name);
        match fsutil::check_regular(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => r.map_err(io_err(&path))?,
        }
    }
    Ok(())
}

/// Why `init` cannot use the non-empty directory `dir`: a setup that never
/// wrote manifest.json (it holds `log.jsonl` and/or `g000001/`, nothing
/// else of its own) is named, with whether its `sealed` entry was logged.
fn not_empty_error(dir: &Path) -> VaultError {
    let log = dir.join("log.jsonl");
    let gen1 = dir.join(generation_dir(1));
    let ours = |name: &str| {
        name == "log.jsonl" || name == generation_dir(1) || name == ".lock" || name == ASIDE_DIR
    };
    let only_ours = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .all(|e| e.file_name().to_str().is_some_and(ours));
    let looks_like_setup = !dir.join("manifest.json").exists()
        && only_ours
        && (fsutil::check_regular(&log).is_ok() || gen1.is_dir());
    if !looks_like_setup {
        return VaultError::NotEmpty(dir.to_owned());
    }
    // An interrupted setup's log is a few entries; read at most 1 MiB of it.
    let sealed = fsutil::read_capped(&log, 1 << 20)
        .ok()
        .map(|bytes| {
            String::from_utf8_lossy(&bytes).lines().any(|l| {
                crate::log::parse_line(l).is_ok_and(|e| e.event == crate::log::events::SEALED)
            })
        })
        .unwrap_or(false);
    VaultError::UnfinishedSetup {
        path: dir.to_owned(),
        sealed,
    }
}

impl Vault {
    /// Takes the exclusive lock on the open directory `f`, waiting up to
    /// [`LOCK_WAIT`], then checks that `dir` still names it.
    fn lock(dir: &Path, f: &File) -> Result<(), VaultError> {
        use rustix::fs::FlockOperation;
        let deadline = Instant::now() + LOCK_WAIT;
        let mut told = false;
        loop {
            match rustix::fs::flock(f, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    if Instant::now() >= deadline {
                        return Err(VaultError::Locked(dir.to_owned()));
                    }
                    if !told {
                        if let Some(notice) = LOCK_WAIT_NOTICE.get() {
                            notice(dir);
                        }
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(io_err(dir)(e.into())),
            }
        }
        // Renamed away and replaced before we locked it, another command
        // would lock the new directory beside us.
        let locked = f.metadata().map_err(io_err(dir))?;
        let named = fs::metadata(dir).map_err(io_err(dir))?;
        if (locked.dev(), locked.ino()) != (named.dev(), named.ino()) {
            return Err(io_err(dir)(io::Error::other(
                "the vault directory was replaced while it was being opened; check what moved it, then run the command again",
            )));
        }
        Ok(())
    }

    /// Creates a new vault directory (absent or empty) and locks it. A
    /// directory left by an interrupted `init` is named as such.
    pub fn create(dir: &Path) -> Result<Vault, VaultError> {
        let not_empty = |dir: &Path| -> Result<bool, VaultError> {
            Ok(fs::read_dir(dir).map_err(io_err(dir))?.next().is_some())
        };
        if dir.is_dir() && not_empty(dir)? {
            return Err(not_empty_error(dir));
        }
        match fsutil::create_dir_durable(dir) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            r => r.map_err(io_err(dir))?,
        }
        let lock = open_dir(dir)?;
        Self::lock(dir, &lock)?;
        // Checked again under the lock: two `init`s on one empty directory
        // must not both find it empty.
        if not_empty(dir)? {
            return Err(not_empty_error(dir));
        }
        Ok(Vault {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// Opens an existing vault for a command that writes, holding its
    /// exclusive lock (waiting up to [`LOCK_WAIT`] for another command).
    pub fn open(dir: &Path) -> Result<Vault, VaultError> {
        if !dir.join("manifest.json").is_file() {
            return Err(VaultError::NotAVault(dir.to_owned()));
        }
        let lock = open_dir(dir)?;
        Self::lock(dir, &lock)?;
        check_vault_files(dir)?;
        Ok(Vault {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// Opens an existing vault for a command that only reads (`status`,
    /// `report`, `log verify|show|export`): no lock is taken and nothing in
    /// the vault is created or opened for writing, so it never delays a
    /// ceremony and works on read-only media. Such a `Vault` must only be
    /// read from.
    pub fn open_read_only(dir: &Path) -> Result<Vault, VaultError> {
        if !dir.join("manifest.json").is_file() {
            return Err(VaultError::NotAVault(dir.to_owned()));
        }
        let handle = open_dir(dir)?;
        check_vault_files(dir)?;
        Ok(Vault {
            dir: dir.to_owned(),
            _lock: handle,
        })
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the audit log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// Path of the manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// Reads and parses the manifest (not yet MAC-verified); returns it and its bytes.
    pub fn read_manifest(&self) -> Result<(Manifest, Vec<u8>), VaultError> {
        let path = self.manifest_path();
        let bytes = fsutil::read_capped(&path, MAX_SIZE).map_err(io_err(&path))?;
        let m = Manifest::from_bytes(&bytes).map_err(|source| VaultError::Manifest {
            path: path.clone(),
            source,
        })?;
        Ok((m, bytes))
    }

    /// Reads a file named in the manifest (relative path).
    pub fn read_data(&self, rel: &str) -> Result<Vec<u8>, VaultError> {
        let path = self.dir.join(rel);
        fsutil::read_capped(&path, MAX_DATA_FILE).map_err(io_err(&path))
    }

    /// Writes generation `g` completely (payload, shares and its own copy of
    /// the manifest), fsynced, beside the current one. A leftover directory
    /// of the same number (never certified: the caller authenticated the
    /// vault first) is moved aside, never deleted.
    pub fn write_generation(
        &self,
        g: u64,
        payload: &[u8],
        shares: &[(String, Vec<u8>)],
        manifest: &[u8],
    ) -> Result<(), VaultError> {
        let gdir = self.dir.join(generation_dir(g));
        if gdir.exists() {
            self.set_aside(g)?;
        }
        fsutil::create_dir_durable(&gdir).map_err(io_err(&gdir))?;
        let sdir = gdir.join("shares");
        fsutil::create_dir_durable(&sdir).map_err(io_err(&sdir))?;
        let p = gdir.join("payload.age");
        fsutil::write_new(&p, payload).map_err(io_err(&p))?;
        crate::hooks::kill_point("generation.payload-written");
        for (name, bytes) in shares {
            let p = sdir.join(format!("{name}.age"));
            fsutil::write_new(&p, bytes).map_err(io_err(&p))?;
            crate::hooks::kill_point("generation.share-written");
        }
        fsutil::sync_dir(&sdir).map_err(io_err(&sdir))?;
        let m = gdir.join("manifest.json");
        fsutil::write_new(&m, manifest).map_err(io_err(&m))?;
        fsutil::sync_dir(&gdir).map_err(io_err(&gdir))?;
        Ok(())
    }

    /// Moves generation directory `g` into `.aside/` (never deletes it);
    /// returns where it went, relative to the vault.
    pub fn set_aside(&self, g: u64) -> Result<String, VaultError> {
        let aside = self.dir.join(ASIDE_DIR);
        if !aside.is_dir() {
            fsutil::create_dir_durable(&aside).map_err(io_err(&aside))?;
        }
        let name = generation_dir(g);
        let stamp = crate::clock::Timestamp::now().0;
        let mut rel = format!("{ASIDE_DIR}/{name}-{stamp}");
        let mut n = 1;
        while self.dir.join(&rel).exists() {
            n += 1;
            rel = format!("{ASIDE_DIR}/{name}-{stamp}-{n}");
        }
        let from = self.dir.join(&name);
        let to = self.dir.join(&rel);
        fs::rename(&from, &to).map_err(io_err(&from))?;
        fsutil::sync_dir(&aside).map_err(io_err(&aside))?;
        fsutil::sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        crate::hooks::kill_point("cleanup.generation-set-aside");
        Ok(rel)
    }

    /// The commit point: atomically replaces the manifest.
    pub fn commit_manifest(&self, manifest: &Manifest) -> Result<(), VaultError> {
        let path = self.manifest_path();
        let bytes = manifest.to_bytes().map_err(|source| VaultError::Manifest {
            path: path.clone(),
            source,
        })?;
        crate::hooks::kill_point("commit.before");
        fsutil::replace_atomically(&path, &bytes).map_err(io_err(&path))?;
        crate::hooks::kill_point("commit.after");
        Ok(())
    }

    /// Removes every generation directory older than `keep`: call only once
    /// `keep` is authenticated as the newest certified generation. Newer
    /// directories are left for [`Vault::set_aside`]. Returns the generations
    /// removed.
    pub fn remove_older_generations(&self, keep: u64) -> Result<Vec<u64>, VaultError> {
        let mut removed = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(num) = name.strip_prefix('g') else {
                continue;
            };
            if num.len() < 6 || !num.bytes().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let Ok(g) = num.parse::<u64>() else { continue };
            if g < keep {
                let p = entry.path();
                fs::remove_dir_all(&p).map_err(io_err(&p))?;
                crate::hooks::kill_point("cleanup.generation-removed");
                removed.push(g);
            }
        }
        fsutil::sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        Ok(removed)
    }

    /// Generation directories present on disk.
    pub fn generations_on_disk(&self) -> Vec<u64> {
        let mut out: Vec<u64> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix('g').map(str::to_owned))
                    .filter(|n| n.len() >= 6 && n.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|n| n.parse().ok())
            })
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    fn vault_dir() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("manifest.json"), b"{}").unwrap();
        fs::write(t.path().join("log.jsonl"), b"").unwrap();
        t
    }

    /// Issue "Hostile input": a vault directory renamed away and replaced
    /// between opening and locking is noticed (a second command would lock
    /// the new one beside us).
    #[test]
    fn a_directory_replaced_before_the_lock_is_refused() {
        let t = vault_dir();
        let dir = t.path().join("v");
        fs::create_dir(&dir).unwrap();
        let f = open_dir(&dir).unwrap();
        fs::rename(&dir, t.path().join("moved")).unwrap();
        fs::create_dir(&dir).unwrap();
        let e = Vault::lock(&dir, &f).err().unwrap().to_string();
        assert!(e.contains("was replaced while it was being opened"), "{e}");
    }

    /// Read-only opens take no lock: they work while a writer holds it, and
    /// create nothing.
    #[test]
    fn read_only_open_takes_no_lock_and_writes_nothing() {
        let t = vault_dir();
        let writer = Vault::open(t.path()).unwrap();
        let reader = Vault::open_read_only(t.path()).unwrap();
        assert_eq!(reader.read_data("log.jsonl").unwrap(), b"");
        let mut names: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["log.jsonl", "manifest.json"]);
        drop(writer);
    }

    /// The vault's own files are refused as links or special files at open.
    #[test]
    fn open_refuses_a_linked_log() {
        let t = vault_dir();
        let log = t.path().join("log.jsonl");
        fs::remove_file(&log).unwrap();
        std::os::unix::fs::symlink("/dev/null", &log).unwrap();
        for r in [Vault::open(t.path()), Vault::open_read_only(t.path())] {
            let e = r.err().unwrap().to_string();
            assert!(
                e.contains("log.jsonl: not a regular file but a symbolic link"),
                "{e}"
            );
        }
    }
}
