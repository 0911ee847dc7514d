//! Ceremonies: the orchestration of the vault's life. Each ceremony is a
//! function taking options and a [`Ui`](crate::ui::Ui); nothing imports the
//! ceremonies except the binary.
//!
//! Floors, from the bottom: [`custodians`] (set checks) and [`generation`]
//! (build and commit a generation) serve [`quorum`] (authenticate the vault,
//! bring a quorum together, through [`presenting`]: each custodian's tries), which serves the ceremonies themselves.

pub mod custodians;
pub mod drill;
pub mod generation;
pub mod init;
pub mod migrate;
pub mod presenting;
pub mod quorum;
pub mod rekey;
pub mod reseal;
pub mod review;
pub mod unseal;

pub use custodians::{check_attestations, check_custodians};
pub use generation::Sealed;
