//! Ceremonies: the orchestration of the vault's life. Each ceremony is a
//! function taking options and a [`Ui`](crate::ui::Ui); nothing imports the
//! ceremonies except the binary.
//!
//! Floors, from the bottom: [`custodians`] (set checks) and [`generation`]
//! (build and commit a generation) serve [`quorum`] (authenticate the vault,
//! bring a quorum together, through [`presenting`]: each custodian's tries,
//! at the machine or, through [`remote`], from elsewhere), which serves the
//! ceremonies themselves. [`respond`] is the remote custodian's side, on
//! their own machine.

pub mod custodians;
pub mod drill;
pub mod generation;
pub mod init;
pub mod migrate;
pub mod presenting;
pub mod quorum;
pub mod rekey;
pub mod remote;
pub mod reseal;
pub mod respond;
pub mod review;
pub mod unseal;

pub use custodians::{check_attestations, check_custodians};
pub use generation::Sealed;
