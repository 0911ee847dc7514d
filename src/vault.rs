//! The vault directory: layout, locking, generations and the commit point.
//!
//! ```text
//! VAULT/
//!   manifest.json          the commit point (replaced atomically)
//!   log.jsonl              the audit log (append-only)
//!   .lock                  advisory lock held by every command
//!   g000007/payload.age    the payload of generation 7
//!   g000007/shares/NAME.age  one share file per custodian
//! ```
//!
//! A new generation is written completely and fsynced in its own directory
//! beside the current one; replacing `manifest.json` (rename + directory
//! fsync) is the single commit point; other generation directories are
//! removed afterwards, and any found later (crash) are leftovers: older ones
//! are dead, newer ones were never committed.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::manifest::{generation_dir, Manifest, ManifestError, MAX_SIZE};

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

/// An open, locked vault directory.
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

impl Vault {
    fn lock(dir: &Path) -> Result<File, VaultError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(".lock");
        // Never through a symbolic link: `create` would make the file
        // wherever the link points.
        let f = fsutil::open_regular(
            &path,
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(fsutil::FILE_MODE),
        )
        .map_err(io_err(&path))?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => Err(VaultError::Locked(dir.to_owned())),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }

    /// Creates a new vault directory (absent or empty) and locks it.
    pub fn create(dir: &Path) -> Result<Vault, VaultError> {
        if dir.exists() {
            let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
            if entries.next().is_some() {
                return Err(VaultError::NotEmpty(dir.to_owned()));
            }
        } else {
            fsutil::create_dir_durable(dir).map_err(io_err(dir))?;
        }
        let lock = Self::lock(dir)?;
        Ok(Vault {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// Opens and locks an existing vault.
    pub fn open(dir: &Path) -> Result<Vault, VaultError> {
        if !dir.join("manifest.json").is_file() {
            return Err(VaultError::NotAVault(dir.to_owned()));
        }
        let lock = Self::lock(dir)?;
        Ok(Vault {
            dir: dir.to_owned(),
            _lock: lock,
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

    /// Writes generation `g` completely (payload + shares), fsynced, beside the
    /// current one. A leftover directory of the same number (an earlier crash,
    /// never committed) is removed first.
    pub fn write_generation(
        &self,
        g: u64,
        payload: &[u8],
        shares: &[(String, Vec<u8>)],
    ) -> Result<(), VaultError> {
        let gdir = self.dir.join(generation_dir(g));
        if gdir.exists() {
            fs::remove_dir_all(&gdir).map_err(io_err(&gdir))?;
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
        fsutil::sync_dir(&gdir).map_err(io_err(&gdir))?;
        Ok(())
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

    /// Removes every generation directory except `keep` (dead or uncommitted).
    /// Returns the generations removed.
    pub fn remove_other_generations(&self, keep: u64) -> Result<Vec<u64>, VaultError> {
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
            if g != keep {
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
