//! Argument parsing (clap) and command dispatch. Two phases: clap turns argv
//! into raw flags; each handler validates them into library options before
//! any work starts.

mod check;
mod demo;
mod governance;
pub mod out;
mod output;
mod terminal;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use breakglass::ceremony::{init, unseal};
use breakglass::error::{Error, Result};
use breakglass::kdf::KdfParams;
use breakglass::payload::Entry;
use breakglass::token::{software, CustodianDescriptor, SuppliedIdentity, TokenDescriptor};
use breakglass::ui::{Answers, Level, PassphrasePurpose, Ui};

use out::{errln, outln};

const AFTER_HELP: &str = "\
Exit codes: 0 ok · 1 verification failed or something overdue · 2 usage or operational error.
Secrets are never taken from the command line or the environment: they are typed at
prompts, or, non-interactively, read from an answers file (--answers FILE, '-' for stdin;
see `breakglass help-answers`).

Examples:
  breakglass demo
  breakglass custodian enroll --name alice --out alice.identity
  breakglass init --vault /media/vault --threshold 2 --custodian alice.custodian.json \\
      --custodian bob.custodian.json --custodian carol.custodian.json
  breakglass unseal --vault /media/vault --ticket INC-4711 --reason \"IdP outage\" \\
      --identity /media/alice/alice.identity --identity /media/bob/bob.identity
  breakglass log verify --vault /media/vault";

#[derive(Parser)]
#[command(
    name = "breakglass",
    version,
    about = "Offline sealed-credential vault for break-glass credentials (dual control, audit log)",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage custodians (enroll a software identity or a YubiKey).
    #[command(subcommand)]
    Custodian(CustodianCmd),
    /// Setup ceremony: create a vault from enrolled custodians and seal the secrets.
    #[command(
        after_help = "Example:\n  breakglass init --vault /media/vault --threshold 2 \\\n    --custodian alice.custodian.json --custodian bob.custodian.json --custodian carol.custodian.json\n\nNon-interactive: --entries FILE (JSON list, '-' for stdin; see ceremonies/setup.md)."
    )]
    Init(InitArgs),
    /// Emergency unseal: a quorum of custodians opens the vault for a ticket and a reason.
    #[command(
        after_help = "Example:\n  breakglass unseal --vault /media/vault --ticket INC-4711 --reason \"IdP outage, console access\" \\\n    --identity /media/alice/alice.identity --identity /media/bob/bob.identity\n\nThe request and the grant are written to the audit log before anything is shown.\nWith --json (or when stdout is not a terminal) the entries are printed once and the\nsession ends at once; interactively they stay on screen until Enter or the time limit."
    )]
    Unseal(UnsealArgs),
    /// Reseal after rotation: a quorum changes credentials and seals a new generation with fresh shares.
    #[command(
        after_help = "Examples:\n  breakglass reseal --vault /media/vault --ticket INC-4711 --reason \"rotation after INC-4711\" \\\n    --generate aws-root --set aws-root-mfa --identity a.identity --identity b.identity\n  breakglass reseal --vault /media/vault --ticket CHG-12 --reason \"yearly reseal\"   (fresh shares only)\n\nNew values are read at prompts (or from the answers file as secrets.\"entry.NAME.value\").\nGenerated passwords and new TOTP seeds are shown once, to be set at the provider, and\nthe reseal commits only after you confirm the provider was updated."
    )]
    Reseal(ResealArgs),
    /// Change custodians or the threshold: a quorum of the current custodians seals a new generation.
    #[command(
        after_help = "Examples:\n  breakglass rekey --vault /media/vault --ticket CHG-31 --reason \"dave joins, carol leaves\" \\\n    --add dave.custodian.json --remove carol --identity alice.identity --identity bob.identity\n  breakglass rekey --vault /media/vault --ticket CHG-32 --reason \"alice lost her YubiKey\" \\\n    --replace alice-new.custodian.json\n  breakglass rekey --vault /media/vault --ticket CHG-33 --reason \"raise to 3 of 5\" --threshold 3\n\nThe quorum is drawn from the CURRENT custodians. The tool shows the new custodian set with\neach new token's fingerprint and asks the quorum to confirm (answers id `rekey.proceed`).\nEvery custodian gets a fresh share; all shares of the current generation stop working.\nThe credentials are unchanged (rotate them with `breakglass reseal`). See ceremonies/rekey.md."
    )]
    Rekey(RekeyArgs),
    /// Migrate a format 1 vault to format 2 (a quorum; fresh shares; the history is kept).
    #[command(
        after_help = "Example:\n  breakglass migrate --vault /media/vault --ticket CHG-40 --reason \"format 2: signed history\" \\\n    --identity alice.identity --identity bob.identity\n\nThe new generation becomes the vault's root of trust: write the new vault fingerprint on\npaper (it never changes again). Any reseal of a format 1 vault migrates it the same way."
    )]
    Migrate(MigrateArgs),
    /// The audit log: verify, show, export, repair.
    #[command(subcommand)]
    Log(LogCmd),
    /// Health check of a vault copy: log, manifest and every file's digest; no token, writes nothing.
    #[command(after_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Drill: prove a custodian's share opens (--custodian), or the whole quorum path (--quorum), showing nothing.
    #[command(
        after_help = "Examples:\n  breakglass drill --vault /media/vault --custodian alice --identity /media/alice/alice.identity\n  breakglass drill --vault /media/vault --quorum --identity alice.identity --identity bob.identity\n\nExit 0 when the drill passed, 1 when it failed (logged either way). See ceremonies/drill.md."
    )]
    Drill(governance::DrillArgs),
    /// Record the post-incident review of an unseal (due within 5 days).
    #[command(
        after_help = "Examples:\n  breakglass review --vault /media/vault --ticket INC-4711 --from review.txt\n  breakglass review --vault /media/vault --ticket INC-4711 --edit    (in $EDITOR, on a template)\n\nAn incomplete review is refused, naming what is missing. See\nceremonies/post-incident-review.md for the document format."
    )]
    Review(governance::ReviewArgs),
    /// Open sessions and obligations (rotation, review, drills); exit 1 when something is overdue.
    Status(governance::StatusArgs),
    /// Metrics per quarter for auditors (table, --json, --html FILE).
    Report(governance::ReportArgs),
    /// Walk every ceremony on a throwaway vault (no prompts).
    Demo(DemoArgs),
    /// Describe the answers file used for non-interactive runs.
    HelpAnswers,
}

#[derive(Subcommand)]
enum CustodianCmd {
    /// Enroll a custodian: YubiKeys, or a passphrase-protected software identity.
    #[command(
        after_help = "Examples:\n  breakglass custodian enroll --name alice --yubikey --serial 12345678 --serial 23456789\n      (a main token and a spare kept in a safe: one share, either token opens it)\n  breakglass custodian enroll --name bob --out /media/bob/bob.identity\n      (software custodian, for small teams and drills)\n\nYubiKey: the key is generated ON the token in a retired PIV slot; a default PIN or PUK\nis refused and changed first; the attestation is verified to Yubico's roots.\nWrites NAME.custodian.json (public) and, for software, the identity (secret, 0600)."
    )]
    Enroll(Box<EnrollArgs>),
    /// List the YubiKeys inserted (serial, firmware, reader).
    Tokens {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct EnrollArgs {
    /// Custodian name (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    name: String,
    /// Software custodian: where to write the encrypted identity file (must not exist).
    #[arg(long, required_unless_present = "yubikey", conflicts_with = "yubikey")]
    out: Option<PathBuf>,
    /// Enroll YubiKeys instead of a software identity.
    #[arg(long)]
    yubikey: bool,
    /// YubiKey serial to enroll (repeat for a spare token) [default: the only one inserted].
    #[arg(long = "serial", requires = "yubikey")]
    serials: Vec<u32>,
    /// Retired PIV slot in hex, 82-95 [default: the first free one].
    #[arg(long, requires = "yubikey")]
    slot: Option<String>,
    /// PIN policy of the key: once or always.
    #[arg(long, default_value = "once")]
    pin_policy: String,
    /// Touch policy of the key: always, cached or never.
    #[arg(long, default_value = "always")]
    touch_policy: String,
    /// Adopt the key already in --slot (e.g. made by age-plugin-yubikey) instead of generating one.
    #[arg(long, requires = "slot")]
    adopt: bool,
    /// Where to write the public descriptor [default: NAME.custodian.json beside --out].
    #[arg(long)]
    descriptor: Option<PathBuf>,
    /// KDF cost: `default` (Argon2id 64 MiB, t=3) or `demo` (8 MiB, t=1; throwaway vaults only).
    #[arg(long, default_value = "default")]
    kdf: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Common {
    /// Answers for every prompt, from a JSON file ('-' for stdin); see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InitArgs {
    /// New vault directory (absent or empty).
    #[arg(long)]
    vault: PathBuf,
    /// Custodians needed to open (at least 2).
    #[arg(long)]
    threshold: u8,
    /// A custodian descriptor (NAME.custodian.json); repeat for each custodian.
    #[arg(long = "custodian", value_name = "FILE", required = true)]
    custodians: Vec<PathBuf>,
    /// Entries to seal, as a JSON list (secrets: a file or '-' for stdin, never argv).
    #[arg(long, value_name = "FILE")]
    entries: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct UnsealArgs {
    #[command(flatten)]
    what: Ticketed,
    /// Only reveal these entries (repeatable) [default: all].
    #[arg(long = "entry", value_name = "NAME")]
    entries: Vec<String>,
    /// Session length, e.g. 15m, 1h, 90s (max 4h).
    #[arg(long, default_value = "15m")]
    session: String,
    /// Also reveal this TOTP entry's seed and otpauth QR code (logged as its own event).
    #[arg(long = "reveal-seed", value_name = "NAME")]
    reveal_seed: Vec<String>,
    #[command(flatten)]
    quorum: QuorumArgs,
    #[command(flatten)]
    common: Common,
}

/// Which vault, for which ticket, and why (unseal, reseal, rekey); all logged.
#[derive(Args)]
struct Ticketed {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// The incident or change ticket this ceremony is for (required).
    #[arg(long)]
    ticket: String,
    /// Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711".
    #[arg(long)]
    reason: String,
}

impl Ticketed {
    /// Ticket and reason are non-empty single lines of sane length.
    fn check(&self) -> Result<()> {
        unseal::check_text("ticket", &self.ticket)?;
        unseal::check_text("reason", &self.reason)
    }
}

/// How the quorum presents (shared by unseal, reseal and rekey).
#[derive(Args)]
struct QuorumArgs {
    /// A software custodian's identity file (repeatable; order = presentation order).
    #[arg(long = "identity", value_name = "FILE")]
    identities: Vec<PathBuf>,
    /// Custodians in presentation order (repeatable) [default: ask, or the --identity order].
    #[arg(long = "custodian", value_name = "NAME")]
    custodians: Vec<String>,
    /// Proceed although the audit log does not verify, has forged entries, or the vault was
    /// rolled back; the reason is logged. Never accepted for a manifest no quorum certified.
    #[arg(long, value_name = "REASON")]
    override_broken_log: Option<String>,
    #[command(flatten)]
    receipt: ReceiptArg,
}

/// The external anchor: the last receipt written in the ticket.
#[derive(Args)]
pub(crate) struct ReceiptArg {
    /// The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it.
    #[arg(long, value_name = "RECEIPT")]
    pub expect_receipt: Option<String>,
}

impl ReceiptArg {
    /// The parsed receipt.
    pub fn parse(&self) -> Result<Option<breakglass::governance::receipt::Receipt>> {
        self.expect_receipt
            .as_deref()
            .map(breakglass::governance::receipt::Receipt::parse)
            .transpose()
    }
}

impl QuorumArgs {
    /// Reads the identity files and builds the library's input.
    fn input(&self) -> Result<breakglass::ceremony::quorum::QuorumInput> {
        let (identities, order) = presenters(&self.identities, &self.custodians)?;
        Ok(breakglass::ceremony::quorum::QuorumInput {
            identities,
            order,
            override_broken_log: self.override_broken_log.clone(),
            expect_receipt: self.receipt.parse()?,
        })
    }
}

#[derive(Args)]
struct MigrateArgs {
    #[command(flatten)]
    what: Ticketed,
    #[command(flatten)]
    quorum: QuorumArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ResealArgs {
    #[command(flatten)]
    what: Ticketed,
    /// Replace the secret of this entry with a value typed at the prompt (repeatable).
    /// For a TOTP entry: the new seed or otpauth URI from the provider; two consecutive codes are shown.
    #[arg(long = "set", value_name = "NAME")]
    set: Vec<String>,
    /// Replace this password with a generated one (repeatable).
    #[arg(long = "generate", value_name = "NAME")]
    generate: Vec<String>,
    /// Length of generated passwords (12-128).
    #[arg(long, default_value_t = 32)]
    length: usize,
    /// Generated passwords without symbols.
    #[arg(long)]
    no_symbols: bool,
    /// Replace this TOTP seed with a freshly generated one (repeatable).
    #[arg(long = "new-totp", value_name = "NAME")]
    new_totp: Vec<String>,
    /// Remove this entry (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    remove: Vec<String>,
    /// Add the entries in this JSON list (a file or '-' for stdin).
    #[arg(long, value_name = "FILE")]
    add: Option<PathBuf>,
    #[command(flatten)]
    quorum: QuorumArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct RekeyArgs {
    #[command(flatten)]
    what: Ticketed,
    /// Add a custodian: their NAME.custodian.json from `custodian enroll` (repeatable).
    #[arg(long = "add", value_name = "FILE")]
    add: Vec<PathBuf>,
    /// Remove this custodian (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    remove: Vec<String>,
    /// New tokens for an existing custodian: a descriptor enrolled under their name,
    /// listing ALL their tokens (e.g. a new main token and the spare) (repeatable).
    #[arg(long = "replace", value_name = "FILE")]
    replace: Vec<PathBuf>,
    /// New threshold (at least 2, at most the number of custodians) [default: unchanged].
    #[arg(long)]
    threshold: Option<u8>,
    #[command(flatten)]
    quorum: QuorumArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum LogCmd {
    /// Verify the hash chain and the anchor recorded in the sealed manifest.
    #[command(
        after_help = "Exit 0 when the log verifies, 1 naming the first bad entry otherwise.\nExample:\n  breakglass log verify --vault /media/vault"
    )]
    Verify(governance::VerifyArgs),
    /// Export the verified log as JSON Lines for a SIEM (fields: see docs/governance.md).
    Export(governance::ExportArgs),
    /// Show the log entries.
    Show(LogArgs),
    /// Remove a torn last line left by a crash (logged as `log-repaired`).
    Repair(LogArgs),
}

#[derive(Args)]
struct LogArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// Directory for the throwaway vault [default: a new temporary directory].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the demo directory afterwards.
    #[arg(long)]
    keep: bool,
}

/// Disables core dumps and ptrace-style dumping: secrets live in this
/// process's memory (DESIGN §1.5).
pub fn harden_process() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// A hint for what to do next, when the error alone does not say.
pub fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::Usage(_) => Some("see `breakglass <command> --help`"),
        Error::LogBroken { .. } => Some("`breakglass log verify --vault DIR` shows the first bad entry"),
        Error::Untrusted { .. } => Some("`breakglass log verify --vault DIR` shows what the log certifies; compare the vault fingerprint with the one on paper"),
        Error::NotEnoughShares { .. } => Some("each rejected custodian can try again in a new unseal; the rejections are in the audit log"),
        Error::Output { .. } => Some("free space where the output goes, or send it elsewhere; what the command did to the vault is done and logged (see `breakglass log show`)"),
        _ => None,
    }
}

pub fn run() -> Result<u8> {
    if breakglass::clock::TEST_HOOKS {
        errln!("warning: TEST BUILD with test hooks (injectable clock, kill points); never use it for a real vault");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version go through the same output rules as the
        // rest (clap drops its write errors: `--help > /dev/full` exited 0).
        Err(e) if !e.use_stderr() => {
            let text = if std::io::stdout().is_terminal() {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            out::raw(&text)?;
            return Ok(0);
        }
        Err(e) => e.exit(),
    };
    breakglass::vault::on_lock_wait(|dir| {
        errln!(
            "waiting for another breakglass command to finish… (it is using the vault at {}; giving up after {} s)",
            dir.display(),
            breakglass::vault::LOCK_WAIT.as_secs()
        )
    });
    match cli.command {
        Command::Custodian(CustodianCmd::Enroll(a)) if a.yubikey => enroll_yubikey(*a),
        Command::Custodian(CustodianCmd::Enroll(a)) => enroll(*a),
        Command::Custodian(CustodianCmd::Tokens { json }) => list_tokens(json),
        Command::Init(a) => run_init(a),
        Command::Unseal(a) => run_unseal(a),
        Command::Reseal(a) => run_reseal(a),
        Command::Rekey(a) => run_rekey(a),
        Command::Migrate(a) => run_migrate(a),
        Command::Drill(a) => governance::run_drill(a),
        Command::Review(a) => governance::run_review(a),
        Command::Status(a) => governance::run_status(a),
        Command::Report(a) => governance::run_report(a),
        Command::Check(a) => check::run(a),
        Command::Log(LogCmd::Verify(a)) => governance::run_verify(a),
        Command::Log(LogCmd::Export(a)) => governance::run_export(a),
        Command::Log(LogCmd::Show(a)) => output::log_show(&a.vault, a.json),
        Command::Log(LogCmd::Repair(a)) => output::log_repair(&a.vault, a.json),
        Command::Demo(a) => demo::run(a.dir, a.keep),
        Command::HelpAnswers => {
            out::raw(ANSWERS_HELP)?;
            out::raw("\n")?;
            Ok(0)
        }
    }
}

const ANSWERS_HELP: &str = r#"The answers file (--answers FILE, or '-' for stdin) answers every prompt of a
command non-interactively. It is JSON; every member is optional; a prompt without an
answer stops the command naming the missing key. It holds secrets: keep it on the
air-gapped machine, mode 0600 (other modes are refused), and shred it after use.

{
  "passphrases":     {"alice": "…"},          unlock alice's software identity
  "new_passphrases": {"dave": "…"},           passphrase for a new identity (enroll)
  "pins":            {"12345678": "…"},       YubiKey PIN by serial
  "new_pins":        {"12345678": "…"},       replacement for a default PIN (enroll)
  "puks":            {"12345678": "…"},       PUK by serial
  "new_puks":        {"12345678": "…"},       replacement for a default PUK (enroll)
  "confirm":         {"rekey.proceed": true},  yes/no questions by id
  "text":            {"identity.alice": "/media/alice/alice.identity",
                      "unseal.custodian.1": "alice"},
  "secrets":         {"entry.aws-root.value": "…"}
}

Question ids:
  confirm   reseal.provider-updated   the new values are set at the provider (reseal)
            rekey.proceed             seal for the new custodian set (rekey)
            review.edit-again         reopen the editor on an incomplete review
  text      identity.NAME             path of NAME's identity file, when not given
            unseal.custodian.N        who presents the N-th share (also reseal, rekey, drill)
            entry.N.kind, entry.N.name, entry.NAME.account, .username, .url, .notes
                                      the entries typed at init
            review.participants, review.timeline.N, review.root_cause,
            review.preventive_measures.N, review.provider_events.N
  secrets   entry.NAME.value          an entry's secret (init, reseal --set)
            yubikey.management-key    a non-default, non-PIN-protected management key"#;

/// Builds the Ui: the terminal, or the answers file.
fn make_ui(answers: Option<&Path>) -> Result<Box<dyn Ui>> {
    match answers {
        None => Ok(Box::new(terminal::Terminal::new())),
        Some(p) => Ok(Box::new(output::Scripted::new(read_answers(p)?))),
    }
}

fn read_answers(p: &Path) -> Result<Answers> {
    let bytes = read_secret_input(p, "answers file")?;
    Ok(Answers::from_json(&bytes)?)
}

/// Largest answers or entries file accepted (1 MiB).
const MAX_SECRET_INPUT: u64 = 1 << 20;

/// Reads at most [`MAX_SECRET_INPUT`] bytes into `buf`; a larger input is
/// refused (it was cut at the limit and then failed to parse, "error at
/// column 1048576").
fn read_bounded(
    mut input: impl Read,
    buf: &mut zeroize::Zeroizing<Vec<u8>>,
    name: &str,
    what: &str,
) -> Result<()> {
    (&mut input)
        .take(MAX_SECRET_INPUT + 1)
        .read_to_end(buf)
        .map_err(|e| Error::Usage(format!("cannot read the {what} ({name}): {e}")))?;
    if buf.len() as u64 > MAX_SECRET_INPUT {
        return Err(Error::Usage(format!(
            "{name}: file too large (limit 1 MiB); the {what} is read whole, so split it or remove what is not needed"
        )));
    }
    Ok(())
}

/// A secret-bearing input that is a regular file must give group and
/// others no access. Checked on the open descriptor (fstat): the file
/// checked is the file read (checking the path, then opening it, let a
/// file swapped in between go unchecked), and stdin redirected from a file
/// is checked too. Pipes and terminals have no such mode to check.
fn check_private(fd: impl std::os::fd::AsFd, name: &str, what: &str, fix: &str) -> Result<()> {
    use rustix::fs::{FileType, Mode};
    let st = rustix::fs::fstat(fd)
        .map_err(|e| Error::Usage(format!("cannot read the {what} ({name}): {e}")))?;
    let mode = Mode::from_raw_mode(st.st_mode);
    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
        && mode.intersects(Mode::RWXG | Mode::RWXO)
    {
        return Err(Error::Usage(format!(
            "the {what} {name} holds secrets but is readable by others; {fix} (it has mode {:04o})",
            mode.bits()
        )));
    }
    Ok(())
}

/// Reads a secret-bearing input: stdin for '-', else a file; either, when it
/// is a regular file, must not be accessible to group or others.
fn read_secret_input(p: &Path, what: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    // Sized up front: growing the buffer would leave copies of the secrets
    // in freed memory.
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(MAX_SECRET_INPUT as usize + 1));
    if p == Path::new("-") {
        let stdin = std::io::stdin();
        check_private(
            &stdin,
            "on stdin",
            what,
            "stdin is redirected from that file: run `chmod 600` on it first",
        )?;
        read_bounded(stdin, &mut buf, "stdin", what)?;
        return Ok(buf);
    }
    let name = p.display().to_string();
    let f = std::fs::File::open(p)
        .map_err(|e| Error::Usage(format!("cannot read the {what} {name}: {e}")))?;
    check_private(&f, &name, what, &format!("run `chmod 600 {name}` first"))?;
    read_bounded(f, &mut buf, &name, what)?;
    Ok(buf)
}

fn enroll(a: EnrollArgs) -> Result<u8> {
    if !breakglass::names::is_valid(&a.name) {
        return Err(Error::Usage(format!(
            "custodian name '{}' is invalid: use {}",
            a.name,
            breakglass::names::RULE
        )));
    }
    let params = match a.kdf.as_str() {
        "default" => KdfParams::DEFAULT,
        "demo" => KdfParams::DEMO,
        other => {
            return Err(Error::Usage(format!(
                "--kdf '{other}' is unknown: use `default` or `demo`"
            )))
        }
    };
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Usage("--out FILE is required for a software custodian".into()))?;
    let descriptor_path = a
        .descriptor
        .clone()
        .unwrap_or_else(|| out.with_file_name(format!("{}.custodian.json", a.name)));
    for p in [&out, &descriptor_path] {
        if p.exists() {
            return Err(Error::Usage(format!(
                "{} already exists; enrollment never overwrites a file",
                p.display()
            )));
        }
    }
    let mut ui = make_ui(a.common.answers.as_deref())?;
    ui.say(
        Level::Step,
        &format!("Enrolling software custodian '{}'", a.name),
    );
    if params.is_weaker_than_default() {
        ui.say(
            Level::Warn,
            "Demo-grade KDF parameters: use this identity for throwaway vaults only",
        );
    }
    let pass = ui.passphrase(&a.name, PassphrasePurpose::New)?;
    let (bytes, token) = software::create(&a.name, &pass, params).map_err(token_err)?;
    breakglass::fsutil::write_new(&out, &bytes)
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", out.display())))?;
    let desc = CustodianDescriptor {
        format: CustodianDescriptor::FORMAT.into(),
        name: a.name.clone(),
        tokens: vec![token],
    };
    write_descriptor(&desc, &descriptor_path, Some(&out), a.common.json)
}

fn write_descriptor(
    desc: &CustodianDescriptor,
    path: &Path,
    identity: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let text = serde_json::to_string_pretty(desc).map_err(|e| Error::Usage(e.to_string()))?;
    breakglass::fsutil::write_new(path, format!("{text}\n").as_bytes())
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    let fps: Vec<String> = desc.tokens.iter().map(|t| t.fingerprint()).collect();
    if json {
        out::json(
            &serde_json::json!({"custodian": desc.name, "identity": identity, "descriptor": path,
            "tokens": desc.tokens.iter().map(|t| t.label()).collect::<Vec<_>>(),
            "token_fingerprints": fps}),
        )?;
    } else {
        outln!("custodian:   {}", desc.name)?;
        if let Some(id) = identity {
            outln!(
                "identity:    {} (secret; keep it on your own medium)",
                id.display()
            )?;
        }
        outln!(
            "descriptor:  {} (public; give it to the setup ceremony)",
            path.display()
        )?;
        for (t, fp) in desc.tokens.iter().zip(&fps) {
            outln!("token:       {} · {fp}", t.label())?;
        }
    }
    Ok(0)
}

fn enroll_yubikey(a: EnrollArgs) -> Result<u8> {
    use breakglass::attestation::{PinPolicy, TouchPolicy};
    use breakglass::token::yubikey;
    if !breakglass::names::is_valid(&a.name) {
        return Err(Error::Usage(format!(
            "custodian name '{}' is invalid: use {}",
            a.name,
            breakglass::names::RULE
        )));
    }
    let descriptor_path = a
        .descriptor
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.custodian.json", a.name)));
    if descriptor_path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; enrollment never overwrites a file",
            descriptor_path.display()
        )));
    }
    let pin_policy: PinPolicy = a.pin_policy.parse().map_err(|_| {
        Error::Usage(format!(
            "--pin-policy '{}': use once or always",
            a.pin_policy
        ))
    })?;
    let touch_policy: TouchPolicy = a.touch_policy.parse().map_err(|_| {
        Error::Usage(format!(
            "--touch-policy '{}': use always, cached or never",
            a.touch_policy
        ))
    })?;
    let slot = match &a.slot {
        None => None,
        Some(s) => Some(
            u8::from_str_radix(s, 16)
                .ok()
                .filter(|v| (yubikey::FIRST_RETIRED_SLOT..=yubikey::LAST_RETIRED_SLOT).contains(v))
                .ok_or_else(|| {
                    Error::Usage(format!("--slot '{s}': use a retired slot, 82 to 95 (hex)"))
                })?,
        ),
    };
    let anchors = trust_anchors()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let serials: Vec<Option<u32>> = if a.serials.is_empty() {
        vec![None]
    } else {
        a.serials.iter().copied().map(Some).collect()
    };
    let mut tokens = Vec::new();
    for (i, serial) in serials.iter().enumerate() {
        let label = serial
            .map(|s| format!("YubiKey {s}"))
            .unwrap_or_else(|| "the inserted YubiKey".into());
        ui.say(
            Level::Step,
            &format!(
                "Enrolling {label} for custodian '{}' (token {} of {})",
                a.name,
                i + 1,
                serials.len()
            ),
        );
        let desc = if a.adopt {
            let (Some(serial), Some(slot)) = (serial, slot) else {
                return Err(Error::Usage("--adopt needs --serial and --slot".into()));
            };
            yubikey::enroll_existing(*serial, slot, &a.name, &anchors, ui.as_mut())
        } else {
            let opts = yubikey::EnrollOptions {
                serial: *serial,
                slot,
                pin_policy,
                touch_policy,
            };
            yubikey::enroll(&opts, &a.name, &anchors, ui.as_mut())
        }
        .map_err(|e| Error::Token(e.into()))?;
        ui.say(
            Level::Info,
            &format!(
                "YubiKey {} slot {}: P-256 key generated on the token, attestation verified ({}), firmware {}",
                desc.serial, desc.slot, desc.attestation.pki, desc.firmware
            ),
        );
        if tokens
            .iter()
            .any(|t| matches!(t, TokenDescriptor::Yubikey(o) if o.serial == desc.serial))
        {
            return Err(Error::Usage(format!(
                "YubiKey {} was given twice; a spare must be another token",
                desc.serial
            )));
        }
        tokens.push(TokenDescriptor::Yubikey(desc));
    }
    let desc = CustodianDescriptor {
        format: CustodianDescriptor::FORMAT.into(),
        name: a.name.clone(),
        tokens,
    };
    write_descriptor(&desc, &descriptor_path, None, a.common.json)
}

fn list_tokens(json: bool) -> Result<u8> {
    let tokens = breakglass::token::yubikey::list().map_err(|e| Error::Token(e.into()))?;
    if json {
        let v: Vec<serde_json::Value> = tokens
            .iter()
            .map(|t| serde_json::json!({"serial": t.serial, "firmware": t.firmware, "reader": t.reader}))
            .collect();
        out::json(&serde_json::Value::Array(v))?;
    } else if tokens.is_empty() {
        outln!("no YubiKey inserted")?;
    } else {
        for t in tokens {
            outln!(
                "YubiKey {} · firmware {} · {}",
                t.serial,
                t.firmware,
                t.reader
            )?;
        }
    }
    Ok(0)
}

fn token_err(e: software::SoftwareError) -> Error {
    Error::Token(e.into())
}

fn read_descriptor(p: &Path) -> Result<CustodianDescriptor> {
    let bytes = breakglass::fsutil::read_capped(p, 1 << 20).map_err(|e| {
        Error::Usage(format!(
            "cannot read custodian descriptor {}: {e}",
            p.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Usage(format!(
            "{} is not a custodian descriptor (line {}, column {}): {}",
            p.display(),
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Data => "unexpected or missing members",
                _ => "not valid JSON",
            }
        ))
    })
}

/// Yubico's attestation roots (plus, in test builds only, an injected test root).
fn trust_anchors() -> Result<breakglass::attestation::TrustAnchors> {
    breakglass::attestation::TrustAnchors::for_this_build()
        .map_err(|e| Error::Usage(format!("attestation roots: {e}")))
}

fn run_init(a: InitArgs) -> Result<u8> {
    let custodians = a
        .custodians
        .iter()
        .map(|p| read_descriptor(p))
        .collect::<Result<Vec<_>>>()?;
    breakglass::ceremony::check_custodians(&custodians, a.threshold)?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let entries = match &a.entries {
        Some(p) => parse_entries(&read_secret_input(p, "entries file")?)?,
        None => output::prompt_entries(ui.as_mut())?,
    };
    let sealed = init::init(
        init::InitOptions {
            dir: a.vault.clone(),
            threshold: a.threshold,
            custodians,
            entries,
            anchors: trust_anchors()?,
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

/// Parses the entries JSON list (payload entry schema).
pub fn parse_entries(bytes: &[u8]) -> Result<Vec<Entry>> {
    serde_json::from_slice::<Vec<Entry>>(bytes).map_err(|e| {
        Error::Usage(format!(
            "the entries file is not a valid list of entries (line {}, column {}); see ceremonies/setup.md for the format",
            e.line(),
            e.column()
        ))
    })
}

/// Parses `90s`, `15m`, `1h`, `2h30m`.
pub fn parse_duration(s: &str) -> Result<u64> {
    let bad = || Error::Usage(format!("'{s}' is not a duration like 90s, 15m or 1h"));
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().map_err(|_| bad())?;
            num.clear();
            let mult = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(bad()),
            };
            total = n
                .checked_mul(mult)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
    }
    if !num.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// The supplied identity files, and the presentation order: the
/// `--custodian` list if given, else the order of the identity files.
fn presenters(
    identity_paths: &[PathBuf],
    custodians: &[String],
) -> Result<(Vec<SuppliedIdentity>, Vec<String>)> {
    let (identities, id_order) = supplied_identities(identity_paths)?;
    let order = if custodians.is_empty() {
        id_order
    } else {
        custodians.to_vec()
    };
    Ok((identities, order))
}

fn supplied_identities(paths: &[PathBuf]) -> Result<(Vec<SuppliedIdentity>, Vec<String>)> {
    let mut out = Vec::new();
    let mut order = Vec::new();
    for p in paths {
        let bytes = breakglass::fsutil::read_capped(p, software::MAX_FILE_SIZE)
            .map_err(|e| Error::Usage(format!("cannot read identity file {}: {e}", p.display())))?;
        let h = software::header(&bytes, &p.display().to_string()).map_err(token_err)?;
        order.push(h.name);
        out.push(SuppliedIdentity {
            path: p.display().to_string(),
            bytes,
        });
    }
    Ok((out, order))
}

fn run_unseal(a: UnsealArgs) -> Result<u8> {
    let secs = parse_duration(&a.session)?;
    unseal::check_session(secs)?;
    a.what.check()?;
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let session = unseal::unseal(
        unseal::UnsealOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            entries: a.entries.clone(),
            session_secs: secs,
            quorum,
        },
        ui.as_mut(),
    )?;
    let interactive =
        !a.common.json && std::io::stdout().is_terminal() && a.common.answers.is_none();
    output::present_session(session, &a.reveal_seed, interactive, a.common.json)
}

fn run_reseal(a: ResealArgs) -> Result<u8> {
    use breakglass::ceremony::reseal::{self, Change};
    a.what.check()?;
    let policy = breakglass::passgen::Policy {
        length: a.length,
        symbols: !a.no_symbols,
        ..Default::default()
    };
    policy
        .validate()
        .map_err(|e| Error::Usage(format!("password policy: {e}")))?;
    let mut changes: Vec<Change> = Vec::new();
    changes.extend(a.set.iter().cloned().map(Change::Set));
    changes.extend(
        a.generate
            .iter()
            .map(|n| Change::Generate(n.clone(), policy.clone())),
    );
    changes.extend(a.new_totp.iter().cloned().map(Change::NewTotp));
    changes.extend(a.remove.iter().cloned().map(Change::Remove));
    if let Some(p) = &a.add {
        changes.extend(
            parse_entries(&read_secret_input(p, "entries file")?)?
                .into_iter()
                .map(Change::Add),
        );
    }
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let sealed = reseal::reseal(
        reseal::ResealOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            changes,
            quorum,
            purpose: "reseal",
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

fn run_rekey(a: RekeyArgs) -> Result<u8> {
    use breakglass::ceremony::rekey;
    a.what.check()?;
    let read_all = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| read_descriptor(p))
            .collect::<Result<Vec<_>>>()
    };
    let changes = rekey::CustodianChanges {
        add: read_all(&a.add)?,
        remove: a.remove.clone(),
        replace: read_all(&a.replace)?,
        threshold: a.threshold,
    };
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let sealed = rekey::rekey(
        rekey::RekeyOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            changes,
            anchors: trust_anchors()?,
            quorum,
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

fn run_migrate(a: MigrateArgs) -> Result<u8> {
    use breakglass::ceremony::migrate;
    a.what.check()?;
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let sealed = migrate::migrate(
        migrate::MigrateOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            quorum,
        },
        ui.as_mut(),
    )?;
    if !a.common.json {
        errln!(
            "The vault is now format 2. Write its fingerprint on paper; it never changes again: {}",
            sealed.fingerprint
        );
    }
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

/// Builds a TOTP entry from a base32 seed or an otpauth URI (validated).
pub fn totp_entry(name: String, input: &breakglass::secret::SecretString) -> Result<Entry> {
    let seed = breakglass::totp::TotpSeed::parse(input.expose())
        .map_err(|e| Error::Usage(format!("entry '{name}': {e}")))?;
    let p = seed.params();
    Ok(Entry::Totp {
        seed: zeroize::Zeroizing::new(seed.to_base32().expose().to_owned()),
        algorithm: p.algorithm.name().into(),
        digits: p.digits,
        period: p.period,
        issuer: p.issuer.clone(),
        account: p.account.clone(),
        name,
    })
}

/// Rebuilds the TOTP seed of an entry.
pub fn seed_of(e: &Entry) -> Option<breakglass::totp::TotpSeed> {
    use breakglass::totp::{Algorithm, TotpParams, TotpSeed};
    let Entry::Totp {
        seed,
        algorithm,
        digits,
        period,
        issuer,
        account,
        ..
    } = e
    else {
        return None;
    };
    let algorithm = match algorithm.as_str() {
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        _ => Algorithm::Sha1,
    };
    TotpSeed::from_base32(
        seed,
        TotpParams {
            algorithm,
            digits: *digits,
            period: *period,
            issuer: issuer.clone(),
            account: account.clone(),
        },
    )
    .ok()
}

fn opt_line(label: &str, v: &Option<String>) -> String {
    v.as_ref()
        .map(|v| format!("\n    {label:<9} {v}"))
        .unwrap_or_default()
}

/// Plain-text rendering of an entry (TOTP: codes, never the seed).
pub fn entry_text(e: &Entry, now: breakglass::clock::Timestamp) -> String {
    match e {
        Entry::Password {
            name,
            value,
            account,
            username,
            url,
            notes,
        } => format!(
            "[password] {name}\n    password  {}{}{}{}{}",
            value.as_str(),
            opt_line("account", account),
            opt_line("user", username),
            opt_line("sign-in", url),
            opt_line("notes", notes)
        ),
        Entry::Totp {
            name,
            issuer,
            account,
            ..
        } => {
            let w = seed_of(e).and_then(|s| s.window(now.0.max(0) as u64).ok());
            match w {
                Some(w) => format!(
                    "[totp] {name}{}{}\n    code      {}   ({} s left; next {})",
                    opt_line("issuer", issuer),
                    opt_line("account", account),
                    w.current,
                    w.seconds_left,
                    w.next
                ),
                None => format!("[totp] {name}\n    (the stored seed is invalid)"),
            }
        }
        Entry::Note { name, text } => format!("[note] {name}\n{}", text.as_str()),
    }
}

/// JSON rendering of an entry (TOTP: codes, never the seed).
pub fn entry_json(e: &Entry, now: breakglass::clock::Timestamp) -> serde_json::Value {
    match e {
        Entry::Password {
            name,
            value,
            account,
            username,
            url,
            notes,
        } => serde_json::json!({
            "kind": "password", "name": name, "value": value.as_str(), "account": account,
            "username": username, "url": url, "notes": notes,
        }),
        Entry::Totp {
            name,
            issuer,
            account,
            ..
        } => {
            let w = seed_of(e).and_then(|s| s.window(now.0.max(0) as u64).ok());
            serde_json::json!({
                "kind": "totp", "name": name, "issuer": issuer, "account": account,
                "code": w.as_ref().map(|w| w.current.clone()),
                "next_code": w.as_ref().map(|w| w.next.clone()),
                "seconds_left": w.as_ref().map(|w| w.seconds_left),
            })
        }
        Entry::Note { name, text } => {
            serde_json::json!({"kind": "note", "name": name, "text": text.as_str()})
        }
    }
}
