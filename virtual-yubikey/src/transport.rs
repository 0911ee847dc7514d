//! The vsmartcard-vpcd transport: a [`Card`] inserted into a vpcd reader slot.
//!
//! vpcd (the pcscd reader driver from Debian's `vsmartcard-vpcd`) listens on
//! TCP 35963 (slot 0) and 35964 (slot 1). The emulator connects to it; while
//! the connection is open the card is present. Framing: 2-byte big-endian
//! length, then payload. A 1-byte payload is control (0 power off, 1 power on,
//! 2 reset, 4 get ATR); anything longer is a command APDU, answered with
//! data ‖ SW1 SW2.
//!
//! Invariants:
//! - We only ever connect to 127.0.0.1.
//! - `TCP_NODELAY` is set once and `TCP_QUICKACK` is re-armed before every
//!   read (Linux clears it); without them each APDU costs ~45 ms of delayed ACK.
//! - Card state lives in an `Arc<Mutex<Card>>` owned by the handle, so it
//!   survives [`VirtualYubiKey::remove`] and a later [`VirtualYubiKey::insert`];
//!   with a state file ([`VirtualYubiKey::with_state_file`]) it also survives
//!   the process: the file is rewritten after every command that changed it.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::card::{Card, Config};

/// ATR of a YubiKey 5 (advertises T=1, which the `yubikey` crate requires).
pub const YUBIKEY5_ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
    0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];
/// vpcd port of the first reader slot.
pub const VPCD_PORT_0: u16 = 35963;
/// vpcd port of the second reader slot.
pub const VPCD_PORT_1: u16 = 35964;
/// Never removed automatically.
const NO_REMOVAL: u64 = u64::MAX;

/// Shared between the handle and its connection thread.
struct Shared {
    card: Mutex<Card>,
    /// Command APDUs still allowed before a simulated removal.
    apdus_before_removal: AtomicU64,
    /// State file kept up to date after every change, and what it holds.
    state_file: Option<(PathBuf, Mutex<String>)>,
}

struct Connection {
    stream: TcpStream,
    thread: JoinHandle<()>,
}

/// A virtual YubiKey that can be inserted into and removed from a vpcd slot.
pub struct VirtualYubiKey {
    shared: Arc<Shared>,
    connection: Option<Connection>,
    port: Option<u16>,
}

impl VirtualYubiKey {
    /// A new card, not inserted.
    pub fn new(config: Config) -> Self {
        Self::from_card(Card::new(config), None)
    }

    /// A card whose state lives in `path` (see [`crate::persist`]): loaded
    /// from it if it exists (then `config` only supplies defaults and its
    /// serial must match), else created from `config` and written there. The
    /// file is rewritten (atomically, 0600) after every command that changes
    /// the card's persistent state.
    pub fn with_state_file(config: Config, path: &Path) -> Result<Self, String> {
        let card = if path.exists() {
            let card = crate::persist::load(path)?;
            if card.config().serial != config.serial {
                return Err(format!(
                    "{} holds card {}, not {}",
                    path.display(),
                    card.config().serial,
                    config.serial
                ));
            }
            card
        } else {
            Card::new(config)
        };
        let text = card.to_state_text();
        crate::persist::write_private(path, text.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(Self::from_card(
            card,
            Some((path.to_path_buf(), Mutex::new(text))),
        ))
    }

    fn from_card(card: Card, state_file: Option<(PathBuf, Mutex<String>)>) -> Self {
        VirtualYubiKey {
            shared: Arc::new(Shared {
                card: Mutex::new(card),
                apdus_before_removal: AtomicU64::new(NO_REMOVAL),
                state_file,
            }),
            connection: None,
            port: None,
        }
    }

    /// Writes the state file now if the card changed since it was last written
    /// (a no-op without a state file). Also done after every command APDU.
    pub fn save(&self) -> io::Result<()> {
        persist(&self.shared)
    }

    /// Locks the card for inspection or configuration (e.g. touch, faults).
    pub fn card(&self) -> MutexGuard<'_, Card> {
        self.shared
            .card
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Snapshot of the card's persistent security state, to compare before
    /// and after an operation that must leave the token unchanged.
    pub fn state(&self) -> crate::CardState {
        self.card().state()
    }

    /// The card's serial number.
    pub fn serial(&self) -> u32 {
        self.card().config().serial
    }

    /// Inserts the card into the vpcd slot listening on `127.0.0.1:port` and
    /// waits (up to 10 s) until pcscd reports the card present in that slot's
    /// reader, so it is usable by PC/SC clients when this returns. Removes it
    /// first if inserted. The simulated-removal count is reset.
    pub fn insert(&mut self, port: u16) -> io::Result<()> {
        self.remove();
        self.shared
            .apdus_before_removal
            .store(NO_REMOVAL, Ordering::SeqCst);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot connect to vpcd at {addr}: {e} (is pcscd running with the vpcd driver?)"),
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_nodelay(true)?;
        let reader = stream.try_clone()?;
        let shared = Arc::clone(&self.shared);
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-{port}"))
            .spawn(move || serve(reader, &shared))?;
        self.connection = Some(Connection { stream, thread });
        if !wait_reader_state(port, true, deadline) {
            self.remove();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "vpcd accepted the card but pcscd never reported it present",
            ));
        }
        self.port = Some(port);
        Ok(())
    }

    /// True while the connection to vpcd is open (the card is present).
    pub fn is_inserted(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|c| !c.thread.is_finished())
    }

    /// Removes the card (closes the vpcd connection), joins the thread and
    /// waits (up to 5 s) until pcscd reports the reader empty.
    /// The card's state is kept; the session state is cleared as on power loss.
    pub fn remove(&mut self) {
        if let Some(c) = self.connection.take() {
            let _ = c.stream.shutdown(Shutdown::Both);
            let _ = c.thread.join();
            // Wait until pcscd has seen the card go, so that a quick
            // re-insertion is a real insertion (power-up, fresh ATR) for it.
            if let Some(port) = self.port.take() {
                wait_reader_state(port, false, Instant::now() + Duration::from_secs(5));
            }
        }
        self.card().power_cycle();
    }

    /// Simulates removal in the middle of an operation: after `n` more command
    /// APDUs have been answered, the next one gets no answer and the card
    /// disappears from the reader. The count is reset by the next `insert`.
    ///
    /// Known limitation: after this, vpcd stops reporting new cards on that
    /// slot until pcscd restarts, so use it in a test binary of its own.
    pub fn remove_after_apdus(&self, n: u64) {
        self.shared.apdus_before_removal.store(n, Ordering::SeqCst);
    }
}

impl Drop for VirtualYubiKey {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The connection loop: serves vpcd requests until EOF, error or removal.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = serve_inner(&mut stream, shared);
    let _ = stream.shutdown(Shutdown::Both);
}

fn serve_inner(stream: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let mut len = [0u8; 2];
    loop {
        // Linux turns quick-ACK mode off by itself; re-arm it before each read.
        rustix::net::sockopt::set_tcp_quickack(&*stream, true)?;
        stream.read_exact(&mut len)?;
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload)?;
        let reply = match payload.as_slice() {
            [0] | [1] | [2] => {
                lock(shared).power_cycle();
                continue;
            }
            [4] => YUBIKEY5_ATR.to_vec(),
            [_] => continue,
            apdu => {
                let left = shared.apdus_before_removal.load(Ordering::SeqCst);
                if left == 0 {
                    shared
                        .apdus_before_removal
                        .store(NO_REMOVAL, Ordering::SeqCst);
                    // Removed mid-operation: the APDU gets no card answer.
                    // vpcd must still get a (empty) frame before the close,
                    // or it stops accepting new cards on this slot.
                    stream.write_all(&[0, 0])?;
                    return Ok(());
                }
                if left != NO_REMOVAL {
                    shared
                        .apdus_before_removal
                        .store(left - 1, Ordering::SeqCst);
                }
                let reply = lock(shared).execute(apdu);
                if let Err(e) = persist(shared) {
                    eprintln!("virtual-yubikey: cannot write the card's state file: {e}");
                }
                reply
            }
        };
        let n = u16::try_from(reply.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "reply too long"))?;
        let mut frame = Vec::with_capacity(reply.len() + 2);
        frame.extend(n.to_be_bytes());
        frame.extend(reply);
        stream.write_all(&frame)?;
    }
}

/// Rewrites the state file if the card's persistent state changed.
fn persist(shared: &Shared) -> io::Result<()> {
    let Some((path, saved)) = &shared.state_file else {
        return Ok(());
    };
    let text = lock(shared).to_state_text();
    let mut saved = saved.lock().unwrap_or_else(|p| p.into_inner());
    if *saved != text {
        crate::persist::write_private(path, text.as_bytes())?;
        *saved = text;
    }
    Ok(())
}

fn lock(shared: &Shared) -> MutexGuard<'_, Card> {
    shared
        .card
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reader names vpcd slots get: `<FRIENDLYNAME> 00 0<slot>`, for our private
/// pcscd and for Debian's system configuration.
const VPCD_READER_NAMES: [&str; 2] = [crate::harness::READER_NAME, "Virtual PCD"];

/// Waits until pcscd reports the vpcd reader of `port` present (or empty).
/// Returns false on timeout; if PC/SC itself is unusable, waits 1 s instead.
fn wait_reader_state(port: u16, present: bool, deadline: Instant) -> bool {
    let Some(slot) = port.checked_sub(VPCD_PORT_0) else {
        return true;
    };
    let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) else {
        std::thread::sleep(Duration::from_secs(1));
        return true;
    };
    let suffix = format!(" {slot:02X}");
    loop {
        let mut buf = vec![0u8; 8192];
        let names: Vec<std::ffi::CString> = match ctx.list_readers(&mut buf) {
            Ok(names) => names
                .filter(|n| {
                    let n = n.to_string_lossy();
                    n.ends_with(&suffix) && VPCD_READER_NAMES.iter().any(|base| n.starts_with(base))
                })
                .map(|n| n.to_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut states: Vec<pcsc::ReaderState> = names
            .iter()
            .map(|n| pcsc::ReaderState::new(n.as_c_str(), pcsc::State::UNAWARE))
            .collect();
        if !states.is_empty()
            && ctx
                .get_status_change(Duration::from_millis(100), &mut states)
                .is_ok()
        {
            let done = states.iter().all(|s| {
                let st = s.event_state();
                if present {
                    st.contains(pcsc::State::PRESENT) && !st.contains(pcsc::State::MUTE)
                } else {
                    st.contains(pcsc::State::EMPTY)
                }
            });
            if done {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
