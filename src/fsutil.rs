//! Durable file operations: the only place that writes vault files.
//!
//! Invariants: a file is either absent, or complete and fsynced, or (for
//! appends) complete up to a possibly torn final line; a directory entry is
//! durable once its directory is fsynced. Secret-bearing files are created
//! with `create_new` and mode 0600.
//!
//! Files are read and appended only through [`open_regular`]: never through
//! a symbolic link, never a FIFO or device (which could block a ceremony
//! forever or feed it endless data), never a file another user planted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::OFlags;

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

/// What is wrong with a file that is not a regular file of ours (`None`
/// when it is one).
fn not_regular(meta: &fs::Metadata) -> Option<String> {
    let ft = meta.file_type();
    use std::os::unix::fs::FileTypeExt;
    let kind = if ft.is_file() {
        let (owner, me) = (meta.uid(), rustix::process::geteuid().as_raw());
        if owner == me {
            return None;
        }
        return Some(format!(
            "owned by uid {owner}, not by the user running breakglass (uid {me}); files the vault reads or writes must be that user's: find out who put it there, then restore it from a backup copy (or `chown` it if it is genuine)"
        ));
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "something else"
    };
    Some(format!(
        "not a regular file but {kind}; vault files must be regular files — replace it with the real file from a backup copy"
    ))
}

/// Checks, without opening it, that `path` itself (not what a link points
/// to) is a regular file owned by the calling user; same errors as
/// [`open_regular`] (`NotFound` when absent). For files that other code
/// opens by path.
pub fn check_regular(path: &Path) -> io::Result<()> {
    match not_regular(&fs::symlink_metadata(path)?) {
        None => Ok(()),
        Some(why) => Err(io::Error::new(io::ErrorKind::InvalidInput, why)),
    }
}

/// Opens `path` with `opts` only if it is a regular file owned by the
/// calling user: opened with `O_NOFOLLOW` (a symbolic link is refused, and
/// never created through, even with `create`) and `O_NONBLOCK` (a FIFO
/// cannot block the open), then checked on the open descriptor (`fstat`, so
/// nothing can be swapped in between), then `O_NONBLOCK` is cleared. The
/// error says what the file is instead (the caller names the file).
pub fn open_regular(path: &Path, opts: &OpenOptions) -> io::Result<File> {
    let mut o = opts.clone();
    o.custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32);
    let refused = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let f = match o.open(path) {
        Ok(f) => f,
        // ELOOP (a symbolic link under O_NOFOLLOW) or ENXIO (a FIFO opened
        // for writing with no reader): say what the file is.
        Err(e) => {
            return Err(
                match fs::symlink_metadata(path)
                    .ok()
                    .and_then(|m| not_regular(&m))
                {
                    Some(why) if e.kind() != io::ErrorKind::NotFound => refused(why),
                    _ => e,
                },
            )
        }
    };
    if let Some(why) = not_regular(&f.metadata()?) {
        return Err(refused(why));
    }
    let flags = rustix::fs::fcntl_getfl(&f)?;
    rustix::fs::fcntl_setfl(&f, flags - OFlags::NONBLOCK)?;
    Ok(f)
}

/// Appends `line` (which must end with `\n`) to `path` with one `write`
/// call and fsyncs it. The file is created (0600) if missing; an existing
/// one must be a regular file of ours ([`open_regular`]).
pub fn append_durable(path: &Path, line: &[u8]) -> io::Result<()> {
    crate::hooks::append_fault_point()?;
    let existed = fs::symlink_metadata(path).is_ok();
    let mut f = open_regular(
        path,
        OpenOptions::new().append(true).create(true).mode(FILE_MODE),
    )?;
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

/// Reads a regular file of ours ([`open_regular`]), refusing anything larger
/// than `max` bytes (the caller names what the file is in its own error).
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let f = open_regular(path, OpenOptions::new().read(true))?;
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

    /// Issue "Hostile input": what open_regular refuses, and that it never
    /// blocks or creates through a link.
    #[test]
    fn open_regular_refuses_links_fifos_directories_and_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let file = d.join("file");
        fs::write(&file, b"x").unwrap();
        let read = OpenOptions::new().read(true).clone();
        assert!(open_regular(&file, &read).is_ok());
        // A symbolic link, to a file or dangling, read or created through.
        let link = d.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let e = open_regular(&link, &read).unwrap_err().to_string();
        assert!(e.contains("not a regular file but a symbolic link"), "{e}");
        let dangling = d.join("dangling");
        let target = d.join("created-through-the-link");
        std::os::unix::fs::symlink(&target, &dangling).unwrap();
        let create = OpenOptions::new().append(true).create(true).clone();
        let e = open_regular(&dangling, &create).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(!target.exists());
        assert!(append_durable(&dangling, b"line\n").is_err());
        assert!(!target.exists());
        // A FIFO: refused at once, for reading and for appending.
        let fifo = d.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from(0o600),
            0,
        )
        .unwrap();
        let t = std::time::Instant::now();
        let e = read_capped(&fifo, 10).unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        let e = append_durable(&fifo, b"line\n").unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        // A directory.
        let e = read_capped(d, 10).unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        // A device.
        let e = read_capped(Path::new("/dev/zero"), 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a device"), "{e}");
        // Someone else's file (only root can make one here).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&file, Some(4242), None).unwrap();
            let e = read_capped(&file, 10).unwrap_err().to_string();
            assert!(e.contains("owned by uid 4242"), "{e}");
        }
        // The descriptor is left blocking.
        let f = open_regular(&d.join("new"), &create).unwrap();
        assert!(!rustix::fs::fcntl_getfl(&f)
            .unwrap()
            .contains(OFlags::NONBLOCK));
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
