//! Migration of a format 1 vault to format 2: a quorum opens the format 1
//! generation (its manifest MAC checked under the rebuilt key, as format 1
//! always did) and seals the next generation in format 2. That generation
//! becomes the vault's root of trust: a `migrated` entry names its genesis
//! key and is signed by it, then its `sealed` entry certifies its manifest.
//! The format 1 history stays in the log, chained below the root and
//! reported as format 1. The vault fingerprint changes this once (format 1
//! had none that lasted); custodians write the new one on paper.
//!
//! A reseal of a format 1 vault migrates it the same way.

use std::path::PathBuf;

use super::generation::Sealed;
use super::quorum::QuorumInput;
use super::reseal::{reseal, ResealOptions};
use crate::error::{Error, Result};
use crate::ui::Ui;
use crate::vault::Vault;

/// What a migration needs.
pub struct MigrateOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Change ticket.
    pub ticket: String,
    /// Reason.
    pub reason: String,
    /// Identities, presentation order, override, expected receipt.
    pub quorum: QuorumInput,
}

/// Runs the migration (fresh shares, same credentials).
pub fn migrate(opts: MigrateOptions, ui: &mut dyn Ui) -> Result<Sealed> {
    {
        let vault = Vault::open(&opts.dir)?;
        let (manifest, _) = vault.read_manifest()?;
        if manifest.is_v2() {
            return Err(Error::Usage(format!(
                "{} is already a format 2 vault; nothing to migrate",
                opts.dir.display()
            )));
        }
    }
    reseal(
        ResealOptions {
            dir: opts.dir,
            ticket: opts.ticket,
            reason: opts.reason,
            changes: Vec::new(),
            quorum: opts.quorum,
            purpose: "migrate",
        },
        ui,
    )
}
