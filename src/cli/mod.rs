//! The binary's front: parse the command line (`args`), dispatch to the
//! handler of each command family, and map errors to hints. Handlers turn
//! flags into library options (`input`) before any work starts; only this
//! tree prints (`out`), through the `Ui` implementations (`terminal`, `ui`)
//! and the renderers (`output`, `render`).

mod args;
mod ceremony;
mod check;
mod contrib;
mod custodian;
mod demo;
mod drill;
mod governance;
mod help;
mod input;
mod log;
pub mod out;
mod output;
mod qr;
mod remote;
mod render;
mod review;
mod terminal;
mod ui;
mod version;

use std::io::IsTerminal;

use clap::Parser;

use breakglass::error::{Error, Result};

use args::{Cli, Command, CustodianCmd, LogCmd};
use out::errln;

/// Disables core dumps and ptrace-style dumping: secrets live in this
/// process's memory (SECURITY.md, invariant 5).
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
        Error::Usage(_) => Some("run the same command with --help for its options and examples (`breakglass --help` lists the commands)"),
        Error::LogBroken { .. } => Some("`breakglass log verify --vault DIR` shows the first bad entry"),
        Error::Untrusted { .. } => Some("`breakglass log verify --vault DIR` shows what the log certifies; compare the vault fingerprint with the one on paper"),
        Error::NotEnoughShares { .. } => Some("each rejected custodian can try again in a new unseal; the rejections are in the audit log"),
        Error::Remote(_) => Some("do not answer or accept it; call the other side back on the number you know (ceremonies/remote-unseal.md)"),
        Error::Output { .. } => Some("free space where the output goes, or send it elsewhere; what the command did to the vault is done and logged (see `breakglass log show`)"),
        _ => None,
    }
}

pub fn run() -> Result<u8> {
    if breakglass::clock::TEST_HOOKS {
        errln!("warning: TEST BUILD with test hooks (injectable clock, kill points); never use it for a real vault");
    }
    if let Some(dir) = contrib::requested() {
        return contrib::generate(<Cli as clap::CommandFactory>::command(), &dir);
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
        Command::Custodian(CustodianCmd::Enroll(a)) if a.yubikey => custodian::enroll_yubikey(*a),
        Command::Custodian(CustodianCmd::Enroll(a)) => custodian::enroll(*a),
        Command::Custodian(CustodianCmd::Tokens { json }) => custodian::list_tokens(json),
        Command::Init(a) => ceremony::run_init(a),
        Command::Unseal(a) => ceremony::run_unseal(a),
        Command::Reseal(a) => ceremony::run_reseal(a),
        Command::Rekey(a) => ceremony::run_rekey(a),
        Command::Migrate(a) => ceremony::run_migrate(a),
        Command::Drill(a) => drill::run_drill(a),
        Command::Review(a) => review::run_review(a),
        Command::Respond(a) => remote::run(*a),
        Command::Status(a) => governance::run_status(a),
        Command::Report(a) => governance::run_report(a),
        Command::Check(a) => check::run(a),
        Command::Log(LogCmd::Verify(a)) => governance::run_verify(a),
        Command::Log(LogCmd::Export(a)) => governance::run_export(a),
        Command::Log(LogCmd::Show(a)) => log::log_show(&a.vault, a.json),
        Command::Log(LogCmd::Repair(a)) => log::log_repair(&a.vault, a.json),
        Command::Demo(a) => demo::run(a.dir, a.keep),
        Command::Version(a) => version::run(a),
        Command::HelpAnswers => {
            out::raw(help::ANSWERS_HELP)?;
            out::raw("\n")?;
            Ok(0)
        }
    }
}
