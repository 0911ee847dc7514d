//! Durable file operations: the only place that writes vault files.
//!
//! Invariants: a file is either absent, or complete and fsynced, or (for
//! appends) complete up to a possibly torn final line; a directory entry is
//! durable once its directory is fsynced. Secret-bearing files are created
//! with `create_new` and mode 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Mode for every file the vault writes (shares and identities are secret;
/// the rest gains nothing from being world-readable on an air-gapped machine).
pub const FILE_MODE: u32 = 0o600;

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `path` (which must not exist) with mode 0600, writes `bytes`,
/// fsyncs the file and its directory.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    sync_dir(parent_of(path))
}

/// Atomically replaces (or creates) `path` with `bytes`: a temporary file
/// beside it is written with `create_new`, fsynced, renamed over `path`, and
/// the directory is fsynced. The rename is the commit point.
pub fn replace_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    // A leftover from a crash is ours to remove: it was never committed.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    write_new(&tmp, bytes)?;
    crate::hooks::kill_point("replace.before-rename");
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Appends `line` (which must end with `\n`) to `path` with one `write`
/// call and fsyncs it. The file is created (0600) if missing.
pub fn append_durable(path: &Path, line: &[u8]) -> io::Result<()> {
    let existed = path.exists();
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)?;
    crate::hooks::torn_write_point(&mut f, line)?;
    f.write_all(line)?;
    f.sync_all()?;
    if !existed {
        sync_dir(parent_of(path))?;
    }
    Ok(())
}

/// Creates a directory (mode 0700) and fsyncs its parent.
pub fn create_dir_durable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(path)?;
    sync_dir(parent_of(path))
}

/// Reads a file, refusing anything larger than `max` bytes (the caller names
/// what the file is in its own error).
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let f = File::open(path)?;
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_new_is_0600_and_refuses_existing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("share.age");
        write_new(&p, b"x").unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(write_new(&p, b"y").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"x");
    }

    #[test]
    fn replace_atomically_overwrites_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.json");
        replace_atomically(&p, b"one").unwrap();
        replace_atomically(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_capped_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, vec![0u8; 11]).unwrap();
        assert!(read_capped(&p, 10).is_err());
        assert_eq!(read_capped(&p, 11).unwrap().len(), 11);
    }
}
