//! Test harness: a private `pcscd` with the vpcd driver, a cross-process lock
//! on the two vpcd slots, and serial numbers from the reserved test range.
//!
//! # Reserved serials
//! Virtual cards use serials in [`TEST_SERIALS`] = 99_000_000..=99_999_999.
//! Real YubiKey serials are far below (tens of millions today), and the
//! product's tests must only ever open serials in this range, so a real token
//! plugged into a developer's machine is never touched. [`fresh_serial`] hands
//! out serials unique across all processes on the machine.
//!
//! # pcscd lifetime (only one pcscd per machine: `/run/pcscd/pcscd.comm`)
//! - If a pcscd already answers on the socket, it is reused as is (a system
//!   pcscd from `/etc/reader.conf.d/vpcd` works for the `yubikey` crate, but
//!   its reader is named "Virtual PCD", which `yubico-piv-tool` ignores).
//! - Otherwise the first [`Harness`] starts `pcscd -f -c <dir>/reader.conf`
//!   with ONE vpcd entry (two entries hang pcscd; one entry gives two slots),
//!   named "Yubico YubiKey OTP+FIDO+CCID (virtual)" so that yubico-piv-tool
//!   accepts it, and records its PID.
//! - Every live `Harness`, in any process, holds a shared lock on
//!   `users.lock`; the last one to drop stops the recorded pcscd by its PID
//!   (checking `/proc/<pid>/cmdline` first) and removes its files. A pcscd
//!   the harness did not start is never stopped.
//!
//! Files live in `/tmp/virtual-yubikey/`: lock files and the serial counter
//! stay (deleting lock files races with other processes); the config, log and
//! PID file are removed with the pcscd they belong to.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::card::Config;
use crate::transport::{VirtualYubiKey, VPCD_PORT_0, VPCD_PORT_1};

/// Serial numbers reserved for virtual test cards.
pub const TEST_SERIALS: std::ops::RangeInclusive<u32> = 99_000_000..=99_999_999;
/// The pcscd socket.
pub const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
/// The vpcd driver shipped by Debian's `vsmartcard-vpcd`.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// Reader name of the private pcscd (contains "Yubico YubiKey" for yubico-piv-tool).
pub const READER_NAME: &str = "Yubico YubiKey OTP+FIDO+CCID (virtual)";
/// Directory of the harness's lock and state files.
pub const STATE_DIR: &str = "/tmp/virtual-yubikey";

/// The pcscd child this process started, if any (reaped when stopped).
static CHILD: Mutex<Option<Child>> = Mutex::new(None);

/// True if `serial` is in the reserved test range.
pub fn is_test_serial(serial: u32) -> bool {
    TEST_SERIALS.contains(&serial)
}

/// A serial in [`TEST_SERIALS`], unique across processes on this machine
/// (a counter file under an exclusive lock; wraps after a million cards).
pub fn fresh_serial() -> io::Result<u32> {
    let mut file = open_state("serial.counter")?;
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let span = TEST_SERIALS.end() - TEST_SERIALS.start() + 1;
    let n: u32 = text.trim().parse().unwrap_or(0) % span;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{}", (n + 1) % span)?;
    Ok(TEST_SERIALS.start() + n)
}

fn state_path(name: &str) -> PathBuf {
    Path::new(STATE_DIR).join(name)
}

fn open_state(name: &str) -> io::Result<File> {
    fs::create_dir_all(STATE_DIR)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(state_path(name))
}

/// True if some pcscd answers on [`PCSCD_SOCKET`].
pub fn pcscd_answers() -> bool {
    std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_ok()
}

/// A locked vpcd slot on a running pcscd. Holding it is the right to insert
/// cards into [`Harness::port`]. Drop cards before the harness (declare the
/// harness first).
pub struct Harness {
    port: u16,
    slot: Option<File>,
    users: Option<File>,
}

impl Harness {
    /// Ensures a pcscd with the vpcd driver runs and locks one free vpcd slot
    /// (either), waiting up to 5 minutes for one.
    ///
    /// Never call this while holding another [`Harness`]: two callers each
    /// holding one slot and waiting for the other would deadlock. A test that
    /// needs both slots takes them with [`Harness::acquire_pair`].
    pub fn acquire() -> io::Result<Harness> {
        let deadline = Instant::now() + SLOT_WAIT;
        loop {
            for (i, port) in [VPCD_PORT_0, VPCD_PORT_1].into_iter().enumerate() {
                let f = open_state(&format!("slot{i}.lock"))?;
                if f.try_lock().is_ok() {
                    return Harness::join(port, f);
                }
            }
            wait_or_time_out(deadline)?;
        }
    }

    /// Both vpcd slots, taken in a fixed order (slot 0, then slot 1) so that
    /// any number of callers, in any processes, queue instead of deadlocking.
    /// Waits up to 5 minutes.
    pub fn acquire_pair() -> io::Result<[Harness; 2]> {
        let deadline = Instant::now() + SLOT_WAIT;
        let mut locks = Vec::with_capacity(2);
        for i in 0..2 {
            let f = open_state(&format!("slot{i}.lock"))?;
            while f.try_lock().is_err() {
                wait_or_time_out(deadline)?;
            }
            locks.push(f);
        }
        let second = Harness::join(VPCD_PORT_1, locks.pop().expect("two slots"))?;
        let first = Harness::join(VPCD_PORT_0, locks.pop().expect("two slots"))?;
        Ok([first, second])
    }

    /// With `slot` locked: starts pcscd if none answers and registers as one
    /// of its users (a shared lock on `users.lock`).
    ///
    /// Slots are locked before joining and released after leaving (see
    /// `Drop`), so a caller waiting for a slot is not a pcscd user: when the
    /// last holder leaves, pcscd really stops and the next caller gets a fresh
    /// one. That matters because a card removed mid-APDU leaves its vpcd slot
    /// unable to see new cards until pcscd restarts.
    fn join(port: u16, slot: File) -> io::Result<Harness> {
        let start = open_state("start.lock")?;
        start.lock()?;
        if !pcscd_answers() {
            start_pcscd()?;
        }
        let users = open_state("users.lock")?;
        users.lock_shared()?;
        Ok(Harness {
            port,
            slot: Some(slot),
            users: Some(users),
        })
    }

    /// TCP port of the locked vpcd slot.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a card and inserts it into this harness's slot.
    ///
    /// Refuses serials outside [`TEST_SERIALS`].
    pub fn insert(&self, config: Config) -> io::Result<VirtualYubiKey> {
        if !is_test_serial(config.serial) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "serial {} is outside the reserved test range",
                    config.serial
                ),
            ));
        }
        let mut card = VirtualYubiKey::new(config);
        card.insert(self.port)?;
        Ok(card)
    }

    /// A factory-fresh card with a [`fresh_serial`], inserted.
    pub fn insert_fresh(&self, firmware: [u8; 3]) -> io::Result<VirtualYubiKey> {
        self.insert(Config::new(fresh_serial()?, firmware))
    }
}

impl Drop for Harness {
    /// Leaves pcscd (stopping it if this was its last user), then releases
    /// the slot, in that order: see `Harness::join`.
    fn drop(&mut self) {
        if let (Some(users), Ok(start)) = (self.users.take(), open_state("start.lock")) {
            if start.lock().is_ok() {
                let _ = users.unlock();
                if users.try_lock().is_ok() {
                    stop_recorded_pcscd();
                    let _ = users.unlock();
                }
            }
        }
        drop(self.slot.take());
    }
}

/// How long [`Harness::acquire`] and [`Harness::acquire_pair`] wait for slots.
const SLOT_WAIT: Duration = Duration::from_secs(300);

/// Sleeps a little before the next try, or fails once `deadline` has passed.
fn wait_or_time_out(deadline: Instant) -> io::Result<()> {
    if Instant::now() >= deadline {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no free vpcd slot after 5 minutes (another test process holds them; \
             see /tmp/virtual-yubikey/slot*.lock)",
        ));
    }
    std::thread::sleep(Duration::from_millis(50));
    Ok(())
}

fn pcscd_binary() -> &'static str {
    if Path::new("/usr/sbin/pcscd").exists() {
        "/usr/sbin/pcscd"
    } else {
        "pcscd"
    }
}

/// Starts a private pcscd; caller holds `start.lock`.
fn start_pcscd() -> io::Result<()> {
    if !Path::new(VPCD_DRIVER).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{VPCD_DRIVER} missing: apt-get install vsmartcard-vpcd"),
        ));
    }
    let conf = state_path("reader.conf");
    fs::write(
        &conf,
        format!(
            "FRIENDLYNAME \"{READER_NAME}\"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH {VPCD_DRIVER}\nCHANNELID 0x8C7B\n"
        ),
    )?;
    let log = File::create(state_path("pcscd.log"))?;
    let child = Command::new(pcscd_binary())
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run pcscd: {e} (apt-get install pcscd)"),
            )
        })?;
    let pid = child.id();
    fs::write(state_path("pcscd.pid"), pid.to_string())?;
    let mut slot = CHILD.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(mut old) = slot.replace(child) {
        let _ = old.try_wait();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pcscd_answers() {
        let exited = slot.as_mut().and_then(|c| c.try_wait().ok().flatten());
        if exited.is_some() || Instant::now() >= deadline {
            drop(slot);
            stop_recorded_pcscd();
            return Err(io::Error::other(format!(
                "pcscd did not come up (exit: {exited:?}); see {}",
                state_path("pcscd.log").display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// True if `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
        })
        .unwrap_or(false)
}

/// Stops the pcscd whose PID the harness recorded, if it still is ours.
fn stop_recorded_pcscd() {
    let pid_file = state_path("pcscd.pid");
    let pid: Option<i32> = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if let Some(pid) = pid {
        let ours = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                let c = String::from_utf8_lossy(&c).into_owned();
                c.contains("pcscd") && c.contains(STATE_DIR)
            })
            .unwrap_or(false);
        if ours {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let mut slot = CHILD.lock().unwrap_or_else(|p| p.into_inner());
                let reaped = match slot.as_mut() {
                    Some(c) if c.id() as i32 == pid => c.try_wait().ok().flatten().is_some(),
                    _ => !alive(pid),
                };
                if reaped {
                    if slot.as_ref().is_some_and(|c| c.id() as i32 == pid) {
                        *slot = None;
                    }
                    break;
                }
                drop(slot);
                if Instant::now() >= deadline {
                    if let Some(p) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                    }
                }
                if Instant::now() >= deadline + Duration::from_secs(2) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let _ = fs::remove_file(pid_file);
    let _ = fs::remove_file(state_path("reader.conf"));
    let _ = fs::remove_file(state_path("pcscd.log"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_reserved_and_unique() {
        let a = fresh_serial().unwrap();
        let b = fresh_serial().unwrap();
        assert!(is_test_serial(a) && is_test_serial(b));
        assert_ne!(a, b);
        assert!(!is_test_serial(30_000_948));
    }
}
