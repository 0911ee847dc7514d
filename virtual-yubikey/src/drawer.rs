//! A drawer of named virtual cards with state files, for rehearsals with more
//! custodians than vpcd has slots: cards go in and out of the two slots by
//! name, and keep their keys in `DIR/NAME.card` across removal and across
//! restarts of the emulator.
//!
//! Commands (one a line, as read by [`Drawer::command`]); every answer is one
//! line starting `ok ` or `error `:
//! ```text
//! insert NAME   put NAME into a free vpcd slot
//! remove NAME   take NAME out (its state stays in DIR/NAME.card)
//! list          every card: name, serial, firmware, slot or "out"
//! state NAME    PIN/PUK tries left and occupied key slots of NAME
//! ```
//!
//! Invariants:
//! - Card names are `[a-z0-9_-]{1,32}`, so a name never leaves DIR.
//! - DIR is created with mode 0700; state files are 0600 ([`crate::persist`]).
//! - Serials are in the reserved test range.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::card::Config;
use crate::harness::is_test_serial;
use crate::transport::VirtualYubiKey;

/// A card known to the drawer.
struct Entry {
    card: VirtualYubiKey,
    /// Index into the drawer's ports while inserted.
    slot: Option<usize>,
}

/// Named cards backed by state files, and the vpcd ports they may go into.
pub struct Drawer {
    dir: PathBuf,
    ports: Vec<u16>,
    cards: BTreeMap<String, Entry>,
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Drawer {
    /// Opens (creating, mode 0700) `dir` and loads every `*.card` in it.
    /// Cards are inserted into `ports` only on command.
    pub fn open(dir: &Path, ports: Vec<u16>) -> Result<Drawer, String> {
        let shown = dir.display();
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("creating {shown}: {e}"))?;
        }
        let mode = std::fs::metadata(dir)
            .map_err(|e| format!("{shown}: {e}"))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{shown} holds virtual cards' secrets and is open to others; chmod 700 it"
            ));
        }
        let mut drawer = Drawer {
            dir: dir.to_path_buf(),
            ports,
            cards: BTreeMap::new(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{shown}: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "card"))
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|n| valid_name(n))
                .ok_or_else(|| format!("{}: not a valid card name", path.display()))?
                .to_owned();
            let card = crate::persist::load(&path)?;
            let config = card.config().clone();
            let card = VirtualYubiKey::with_state_file(config, &path)?;
            drawer.cards.insert(name, Entry { card, slot: None });
        }
        Ok(drawer)
    }

    /// Adds card `name` with `config` unless a card of that name exists; an
    /// existing one must have the same serial.
    pub fn add(&mut self, name: &str, config: Config) -> Result<(), String> {
        if !valid_name(name) {
            return Err(format!("card name {name:?}: use 1-32 of a-z 0-9 - _"));
        }
        if !is_test_serial(config.serial) {
            return Err(format!(
                "serial {} is outside the reserved test range 99000000..=99999999",
                config.serial
            ));
        }
        if let Some(e) = self.cards.get(name) {
            let serial = e.card.serial();
            if serial != config.serial {
                return Err(format!(
                    "card {name} already exists with serial {serial}, not {}",
                    config.serial
                ));
            }
            return Ok(());
        }
        if let Some((other, _)) = self
            .cards
            .iter()
            .find(|(_, e)| e.card.serial() == config.serial)
        {
            return Err(format!("serial {} is already card {other}", config.serial));
        }
        let path = self.dir.join(format!("{name}.card"));
        let card = VirtualYubiKey::with_state_file(config, &path)?;
        self.cards
            .insert(name.to_owned(), Entry { card, slot: None });
        Ok(())
    }

    /// Inserts card `name` into a free port; returns the slot index.
    pub fn insert(&mut self, name: &str) -> Result<usize, String> {
        let used: Vec<usize> = self.cards.values().filter_map(|e| e.slot).collect();
        let entry = self
            .cards
            .get_mut(name)
            .ok_or_else(|| format!("no card named {name} (try: list)"))?;
        if let Some(slot) = entry.slot {
            return Err(format!("{name} is already in slot {slot}"));
        }
        let slot = (0..self.ports.len())
            .find(|i| !used.contains(i))
            .ok_or_else(|| "both vpcd slots are full: remove a card first".to_owned())?;
        entry
            .card
            .insert(self.ports[slot])
            .map_err(|e| format!("inserting {name}: {e}"))?;
        entry.slot = Some(slot);
        Ok(slot)
    }

    /// Removes card `name` (its state stays in its file).
    pub fn remove(&mut self, name: &str) -> Result<(), String> {
        let entry = self
            .cards
            .get_mut(name)
            .ok_or_else(|| format!("no card named {name} (try: list)"))?;
        if entry.slot.take().is_none() {
            return Err(format!("{name} is not inserted"));
        }
        entry.card.remove();
        entry.card.save().map_err(|e| format!("saving {name}: {e}"))
    }

    /// Removes every card, saving their state.
    pub fn remove_all(&mut self) {
        for entry in self.cards.values_mut() {
            if entry.slot.take().is_some() {
                entry.card.remove();
            }
            let _ = entry.card.save();
        }
    }

    /// One line per card: `NAME SERIAL FIRMWARE slot N|out`.
    pub fn list(&self) -> Vec<String> {
        self.cards
            .iter()
            .map(|(name, e)| {
                let [a, b, c] = e.card.card().config().firmware;
                let place = e.slot.map_or("out".to_owned(), |s| format!("slot {s}"));
                format!("{name} {} {a}.{b}.{c} {place}", e.card.serial())
            })
            .collect()
    }

    /// The card named `name`, for inspection.
    pub fn card(&self, name: &str) -> Option<&VirtualYubiKey> {
        self.cards.get(name).map(|e| &e.card)
    }

    /// Runs one command line; returns the answer line (`ok …` / `error …`).
    pub fn command(&mut self, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let result = match words.as_slice() {
            ["insert", name] => self
                .insert(name)
                .map(|slot| format!("{name} inserted in slot {slot}")),
            ["remove", name] => self.remove(name).map(|()| format!("{name} removed")),
            ["list"] => Ok(self.list().join("; ")),
            ["state", name] => self
                .card(name)
                .map(|c| {
                    let s = c.state();
                    let slots: Vec<String> = s.slots.keys().map(|k| format!("{k:02x}")).collect();
                    format!(
                        "{name} PIN {}/{} PUK {}/{} default PIN {} keys [{}]",
                        s.pin.left,
                        s.pin.max,
                        s.puk.left,
                        s.puk.max,
                        s.pin.is_default,
                        slots.join(" ")
                    )
                })
                .ok_or_else(|| format!("no card named {name} (try: list)")),
            [] => {
                Err("empty command (insert NAME | remove NAME | list | state NAME | quit)".into())
            }
            _ => Err(format!(
                "unknown command {line:?} (insert NAME | remove NAME | list | state NAME | quit)"
            )),
        };
        match result {
            Ok(s) => format!("ok {s}"),
            Err(e) => format!("error {e}"),
        }
    }
}

impl Drop for Drawer {
    fn drop(&mut self) {
        self.remove_all();
    }
}
