//! Command-line arguments (clap): raw flags only. Each handler turns them
//! into library options before any work starts (see `input.rs`); help texts
//! live in `help.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::help;
use super::{check, drill, governance, review, version};

#[derive(Parser)]
#[command(
    name = "breakglass",
    version = breakglass::build_info::LONG_VERSION,
    about = "Offline sealed-credential vault for break-glass credentials (dual control, audit log)",
    after_help = help::AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Manage custodians (enroll a software identity or a YubiKey).
    #[command(subcommand, after_help = help::CUSTODIAN)]
    Custodian(CustodianCmd),
    /// Setup ceremony: create a vault from enrolled custodians and seal the secrets.
    #[command(
        after_help = help::INIT
    )]
    Init(InitArgs),
    /// Emergency unseal: a quorum of custodians opens the vault for a ticket and a reason.
    #[command(
        after_help = help::UNSEAL
    )]
    Unseal(UnsealArgs),
    /// Reseal after rotation: a quorum changes credentials and seals a new generation with fresh shares.
    #[command(
        after_help = help::RESEAL
    )]
    Reseal(ResealArgs),
    /// Change custodians or the threshold: a quorum of the current custodians seals a new generation.
    #[command(
        after_help = help::REKEY
    )]
    Rekey(RekeyArgs),
    /// Migrate a format 1 vault to format 2 (a quorum; fresh shares; the history is kept).
    #[command(
        after_help = help::MIGRATE
    )]
    Migrate(MigrateArgs),
    /// The audit log: verify, show, export, repair.
    #[command(subcommand, after_help = help::LOG)]
    Log(LogCmd),
    /// Health check of a vault copy: log, manifest and every file's digest; no token, writes nothing.
    #[command(after_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Drill: prove a custodian's share opens (--custodian), or the whole quorum path (--quorum), showing nothing.
    #[command(
        after_help = help::DRILL
    )]
    Drill(drill::DrillArgs),
    /// Remote custodian: answer a share request from the vault machine with your own token.
    #[command(after_help = help::RESPOND)]
    Respond(Box<super::remote::RespondArgs>),
    /// Record the post-incident review of an unseal (due within 5 days).
    #[command(
        after_help = help::REVIEW
    )]
    Review(review::ReviewArgs),
    /// Open sessions and obligations (rotation, review, drills); exit 1 when something is overdue.
    #[command(after_help = help::STATUS)]
    Status(governance::StatusArgs),
    /// Metrics per quarter for auditors (table, --json, --html FILE).
    #[command(after_help = help::REPORT)]
    Report(governance::ReportArgs),
    /// Walk every ceremony on a throwaway vault (no prompts).
    #[command(after_help = help::DEMO)]
    Demo(DemoArgs),
    /// Describe the answers file used for non-interactive runs.
    #[command(after_help = help::HELP_ANSWERS)]
    HelpAnswers,
    /// This build: version, commit, commit date and the SHA-256 of the running executable.
    #[command(after_help = version::AFTER_HELP)]
    Version(version::VersionArgs),
}

#[derive(Subcommand)]
pub(crate) enum CustodianCmd {
    /// Enroll a custodian: YubiKeys, or a passphrase-protected software identity.
    #[command(
        after_help = help::ENROLL
    )]
    Enroll(Box<EnrollArgs>),
    /// List the YubiKeys inserted (serial, firmware, reader).
    #[command(after_help = help::TOKENS)]
    Tokens {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub(crate) struct EnrollArgs {
    /// Custodian name (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    pub name: breakglass::names::CustodianName,
    /// Software custodian: where to write the encrypted identity file (must not exist).
    #[arg(long, required_unless_present = "yubikey", conflicts_with = "yubikey")]
    pub out: Option<PathBuf>,
    /// Enroll YubiKeys instead of a software identity.
    #[arg(long)]
    pub yubikey: bool,
    /// YubiKey serial to enroll (repeat for a spare token) [default: the only one inserted].
    #[arg(long = "serial", requires = "yubikey")]
    pub serials: Vec<u32>,
    /// Retired PIV slot in hex, 82-95 [default: the first free one].
    #[arg(long, requires = "yubikey")]
    pub slot: Option<String>,
    /// PIN policy of the key: once or always.
    #[arg(long, default_value = "once")]
    pub pin_policy: String,
    /// Touch policy of the key: always, cached or never.
    #[arg(long, default_value = "always")]
    pub touch_policy: String,
    /// Adopt the key already in --slot (e.g. made by age-plugin-yubikey) instead of generating one.
    #[arg(long, requires = "slot")]
    pub adopt: bool,
    /// Where to write the public descriptor [default: NAME.custodian.json beside --out].
    #[arg(long)]
    pub descriptor: Option<PathBuf>,
    /// KDF cost: `default` (Argon2id 64 MiB, t=3) or `demo` (8 MiB, t=1; throwaway vaults only).
    #[arg(long, default_value = "default")]
    pub kdf: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub(crate) struct Common {
    /// Answers for every prompt, from a JSON file ('-' for stdin); see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub(crate) struct InitArgs {
    /// New vault directory (absent or empty).
    #[arg(long)]
    pub vault: PathBuf,
    /// Custodians needed to open (at least 2).
    #[arg(long)]
    pub threshold: u8,
    /// A custodian descriptor (NAME.custodian.json); repeat for each custodian.
    #[arg(long = "custodian", value_name = "FILE", required = true)]
    pub custodians: Vec<PathBuf>,
    /// Entries to seal, as a JSON list (secrets: a file or '-' for stdin, never argv).
    #[arg(long, value_name = "FILE")]
    pub entries: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub(crate) struct UnsealArgs {
    #[command(flatten)]
    pub what: Ticketed,
    /// Only reveal these entries (repeatable) [default: all].
    #[arg(long = "entry", value_name = "NAME")]
    pub entries: Vec<String>,
    /// Session length, e.g. 15m, 1h, 90s (max 4h).
    #[arg(long, default_value = "15m")]
    pub session: String,
    /// Also reveal this TOTP entry's seed and otpauth QR code (logged as its own event).
    #[arg(long = "reveal-seed", value_name = "NAME")]
    pub reveal_seed: Vec<String>,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    #[command(flatten)]
    pub common: Common,
}

/// Which vault, for which ticket, and why (unseal, reseal, rekey); all logged.
#[derive(Args)]
pub(crate) struct Ticketed {
    /// Vault directory.
    #[arg(long)]
    pub vault: PathBuf,
    /// The incident or change ticket this ceremony is for (required).
    #[arg(long)]
    pub ticket: String,
    /// Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711".
    #[arg(long)]
    pub reason: String,
}

/// How the quorum presents (shared by unseal, reseal and rekey).
#[derive(Args)]
pub(crate) struct QuorumArgs {
    /// A software custodian's identity file (repeatable; order = presentation order).
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// Custodians in presentation order (repeatable) [default: ask, or the --identity order].
    #[arg(long = "custodian", value_name = "NAME")]
    pub custodians: Vec<String>,
    /// Proceed although the audit log does not verify, has forged entries, or the vault was
    /// rolled back; the reason is logged. Never accepted for a manifest no quorum certified.
    #[arg(long, value_name = "REASON")]
    pub override_broken_log: Option<String>,
    #[command(flatten)]
    pub receipt: ReceiptArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Custodians who present from elsewhere (docs/remote.md,
/// ceremonies/remote-unseal.md).
#[derive(Args)]
pub(crate) struct RemoteArgs {
    /// A custodian who presents from their own machine (repeatable): a request is written for
    /// them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote).
    #[arg(long = "remote", value_name = "NAME")]
    pub remote: Vec<String>,
    /// Where remote requests are written (an outbox, a USB stick).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub remote_dir: PathBuf,
    /// How requests and responses travel, as logged (file, e-mail, chat, qr, …).
    #[arg(long, value_name = "TEXT", default_value = "file")]
    pub remote_channel: String,
    /// How long a remote request stays valid (e.g. 15m; at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub remote_expiry: String,
}

/// The external anchor: the last receipt written in the ticket.
#[derive(Args)]
pub(crate) struct ReceiptArg {
    /// The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it.
    #[arg(long, value_name = "RECEIPT")]
    pub expect_receipt: Option<String>,
}

#[derive(Args)]
pub(crate) struct IncrementalArg {
    /// Read only the entries appended since the last --incremental run, from
    /// state kept in your cache directory (never the vault's); the whole log
    /// is read again at least once a day. It trusts that the entries it read
    /// before have not changed since: `log verify` reads everything.
    #[arg(long)]
    pub incremental: bool,
    /// Where --incremental keeps its state [default: $XDG_CACHE_HOME/breakglass,
    /// else ~/.cache/breakglass]; yours alone (0700).
    #[arg(long, value_name = "DIR", requires = "incremental")]
    pub cache_dir: Option<std::path::PathBuf>,
}

impl IncrementalArg {
    /// The cache to use for the vault in `vault` (None without --incremental).
    pub fn open(
        &self,
        vault: &std::path::Path,
    ) -> breakglass::error::Result<Option<breakglass::cache::Cache>> {
        use breakglass::error::Error;
        if !self.incremental {
            return Ok(None);
        }
        if let Some(d) = &self.cache_dir {
            // Only DIR itself is created: a typo must not make a tree.
            return breakglass::cache::Cache::open_given(d, vault)
                .map(Some)
                .map_err(|e| Error::Usage(format!("--incremental: {e}")));
        }
        let dir = breakglass::cache::Cache::default_dir().ok_or_else(|| {
                Error::Usage(
                    "--incremental needs a cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path; give --cache-dir DIR".into(),
                )
            })?;
        breakglass::cache::Cache::open(&dir, vault)
            .map(Some)
            .map_err(|e| Error::Usage(format!("--incremental: {e}")))
    }
}

#[derive(Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub what: Ticketed,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub(crate) struct ResealArgs {
    #[command(flatten)]
    pub what: Ticketed,
    /// Replace the secret of this entry with a value typed at the prompt (repeatable).
    /// For a TOTP entry: the new seed or otpauth URI from the provider; two consecutive codes are shown.
    #[arg(long = "set", value_name = "NAME")]
    pub set: Vec<String>,
    /// Replace this password with a generated one (repeatable).
    #[arg(long = "generate", value_name = "NAME")]
    pub generate: Vec<String>,
    /// Length of generated passwords (12-128).
    #[arg(long, default_value_t = 32)]
    pub length: usize,
    /// Generated passwords without symbols.
    #[arg(long)]
    pub no_symbols: bool,
    /// Replace this TOTP seed with a freshly generated one (repeatable).
    #[arg(long = "new-totp", value_name = "NAME")]
    pub new_totp: Vec<String>,
    /// Remove this entry (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    pub remove: Vec<String>,
    /// Add the entries in this JSON list (a file or '-' for stdin).
    #[arg(long, value_name = "FILE")]
    pub add: Option<PathBuf>,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub(crate) struct RekeyArgs {
    #[command(flatten)]
    pub what: Ticketed,
    /// Add a custodian: their NAME.custodian.json from `custodian enroll` (repeatable).
    #[arg(long = "add", value_name = "FILE")]
    pub add: Vec<PathBuf>,
    /// Remove this custodian (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    pub remove: Vec<String>,
    /// New tokens for an existing custodian: a descriptor enrolled under their name,
    /// listing ALL their tokens (e.g. a new main token and the spare) (repeatable).
    #[arg(long = "replace", value_name = "FILE")]
    pub replace: Vec<PathBuf>,
    /// New threshold (at least 2, at most the number of custodians) [default: unchanged].
    #[arg(long)]
    pub threshold: Option<u8>,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand)]
pub(crate) enum LogCmd {
    /// Verify the hash chain and the anchor recorded in the sealed manifest.
    #[command(
        after_help = help::LOG_VERIFY
    )]
    Verify(governance::VerifyArgs),
    /// Export the verified log as JSON Lines for a SIEM (fields: see docs/governance.md).
    #[command(after_help = help::LOG_EXPORT)]
    Export(governance::ExportArgs),
    /// Show the log entries.
    #[command(after_help = help::LOG_SHOW)]
    Show(LogArgs),
    /// Remove a torn last line left by a crash (logged as `log-repaired`).
    #[command(after_help = help::LOG_REPAIR)]
    Repair(LogArgs),
}

#[derive(Args)]
pub(crate) struct LogArgs {
    /// Vault directory.
    #[arg(long)]
    pub vault: PathBuf,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Directory for the throwaway vault [default: a new temporary directory].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the demo directory afterwards.
    #[arg(long)]
    pub keep: bool,
}
