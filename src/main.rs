//! The `breakglass` command: parses arguments, does terminal I/O and maps
//! errors to the documented exit codes (0 ok, 1 verification failed or
//! something overdue, 2 usage or operational error). All logic is in the
//! library.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::harden_process();
    // Output still buffered is written (or its error reported) before exit.
    match cli::run().and_then(|code| cli::out::flush().map(|()| code)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            cli::out::err_line(&format!("error: {e}"));
            if let Some(hint) = cli::hint(&e) {
                cli::out::err_line(&format!("hint: {hint}"));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
