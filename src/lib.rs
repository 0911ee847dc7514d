//! breakglass: an offline sealed-credential vault for break-glass credentials.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod passgen;
pub mod secret;
pub mod totp;
pub mod ui;
