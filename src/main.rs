//! The `breakglass` command: parses arguments, does terminal I/O and maps
//! errors to the documented exit codes (0 ok, 1 verification failed or
//! something overdue, 2 usage or operational error). All logic is in the
//! library.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::harden_process();
    match cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = cli::hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
