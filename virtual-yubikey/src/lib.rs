//! A virtual YubiKey (PIV) for tests: a pure card core, a vsmartcard-vpcd
//! transport to the real `pcscd`, and a test harness.
//!
//! Layers, bottom up:
//! - [`card::Card`]: `execute(apdu) -> response`, no I/O, unit-tested alone.
//! - [`attest`]: the test attestation CA (never Yubico's; see its docs).
//! - [`snapshot::CardState`]: a comparable snapshot of a card's security state;
//!   [`persist`]: card state files (a restart is not a factory reset);
//!   [`drawer`]: named cards moved in and out of the two vpcd slots.
//! - [`transport::VirtualYubiKey`]: a card inserted into a vpcd reader slot
//!   over TCP 127.0.0.1; its state survives removal and re-insertion.
//! - [`harness`]: a private `pcscd`, a cross-process lock on the vpcd slots,
//!   and serial numbers from the reserved test range.
//!
//! Dev-only: this crate is never a dependency of the product binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apdu;
pub mod attest;
pub mod card;
mod der;
pub mod drawer;
pub mod harness;
pub mod management;
pub mod persist;
pub mod snapshot;
pub mod transport;

pub use attest::{test_attestation_root_der, test_attestation_root_pem};
pub use card::{Card, Config, Fault, Touch, FW_5_4_3, FW_5_7_1};
pub use harness::{fresh_serial, Harness};
pub use snapshot::CardState;
pub use transport::VirtualYubiKey;
