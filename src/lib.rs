//! breakglass: an offline sealed-credential vault for break-glass credentials.
//!
//! The library holds all logic; the `breakglass` binary only parses arguments,
//! does terminal I/O and maps errors to exit codes. The library never prints
//! and never prompts: ceremonies talk to people through [`ui::Ui`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod attestation;
pub mod build_info;
pub mod cache;
pub mod ceremony;
pub mod check;
pub mod clock;
pub mod encoding;
pub mod envelope;
pub mod error;
pub mod fsutil;
pub mod governance;
pub mod history;
mod hooks;
pub mod kdf;
pub mod keys;
pub mod log;
pub mod manifest;
pub mod names;
pub mod passgen;
pub mod payload;
pub mod remote;
pub mod secret;
pub mod shamir;
pub mod sign;
pub mod text;
pub mod token;
pub mod totp;
pub mod ui;
pub mod vault;

pub use error::{Error, Result};
