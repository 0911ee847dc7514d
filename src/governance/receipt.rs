//! Log receipts: the head printed after each ceremony, kept outside the
//! machine (incident ticket, photo of the QR code), and checked later with
//! `breakglass log verify --receipt R`.
//!
//! Forms accepted:
//!
//! * long: `bg1:<vault id, 32 hex>:<seq>:<hash, 64 hex>`
//! * short: `<seq>:<at least 16 hex digits of the hash>` (what people copy
//!   into a ticket: "seq 42 · 3f1c…").
//!
//! A receipt holds when the verified log still contains entry `seq` with a
//! hash starting with the given digits (all 64 for the long form). It fails
//! when the log ends before `seq` (truncated past the receipt), when the
//! entry differs (rewritten), when it belongs to another vault, or when the
//! log does not verify up to `seq`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::log;

/// A parsed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Vault id (long form only).
    pub vault: Option<String>,
    /// Sequence number.
    pub seq: u64,
    /// Hash or hash prefix (lower-case hex, 16–64 digits).
    pub hash_prefix: String,
}

/// Fewest hash digits accepted in the short form.
pub const MIN_PREFIX: usize = 16;

impl Receipt {
    /// Parses either form; the error says what a receipt looks like.
    pub fn parse(s: &str) -> Result<Receipt> {
        let bad = || {
            Error::Usage(format!(
                "'{}' is not a log receipt: use bg1:<vault>:<seq>:<hash> or <seq>:<first 16+ hex digits of the hash>",
                s.chars().take(120).collect::<String>()
            ))
        };
        let s = s.trim();
        let parts: Vec<&str> = s.split(':').collect();
        let (vault, seq, hash) = match parts.as_slice() {
            ["bg1", v, n, h] => {
                if v.len() != 32 || !is_hex(v) || h.len() != 64 {
                    return Err(bad());
                }
                (Some((*v).to_owned()), *n, *h)
            }
            [n, h] => (None, *n, *h),
            _ => return Err(bad()),
        };
        let hash = hash.to_ascii_lowercase();
        if hash.len() < MIN_PREFIX || hash.len() > 64 || !is_hex(&hash) {
            return Err(bad());
        }
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(Receipt {
            vault,
            seq,
            hash_prefix: hash,
        })
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// The outcome of checking a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptCheck {
    /// The log still contains the entry.
    Present,
    /// The receipt is of another vault.
    OtherVault {
        /// Vault id of this log.
        log_vault: String,
    },
    /// The verified log ends before the receipt's entry.
    Truncated {
        /// Last verified sequence number.
        last_seq: u64,
    },
    /// The entry at `seq` has another hash.
    Rewritten,
}

impl ReceiptCheck {
    /// Explanation for people.
    pub fn explain(&self, r: &Receipt) -> String {
        match self {
            ReceiptCheck::Present => format!(
                "the log still contains entry {} with hash {}…",
                r.seq,
                &r.hash_prefix[..MIN_PREFIX]
            ),
            ReceiptCheck::OtherVault { log_vault } => format!(
                "the receipt is for vault {}, this log is of vault {log_vault}",
                r.vault.as_deref().unwrap_or("?")
            ),
            ReceiptCheck::Truncated { last_seq } => format!(
                "the verified log ends at entry {last_seq} but the receipt records entry {}: the log was truncated past the receipt (or broken before it)",
                r.seq
            ),
            ReceiptCheck::Rewritten => format!(
                "entry {} no longer has the hash on the receipt: the log was rewritten",
                r.seq
            ),
        }
    }
}

/// Checks a receipt while another pass streams the log: feed every verified
/// entry to [`Watch::observe`], then judge with [`Watch::finish`].
#[derive(Debug, Clone)]
pub struct Watch {
    receipt: Receipt,
    found: Option<bool>,
}

impl Watch {
    /// Watches for `receipt`.
    pub fn new(receipt: Receipt) -> Watch {
        Watch {
            receipt,
            found: None,
        }
    }

    /// The receipt watched.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// Takes one verified entry into account.
    pub fn observe(&mut self, e: &log::Entry) {
        if e.seq == self.receipt.seq {
            self.found = Some(e.hash.starts_with(&self.receipt.hash_prefix));
        }
    }

    /// The verdict, once the whole log was seen.
    pub fn finish(&self, report: &log::VerifyReport) -> ReceiptCheck {
        if let (Some(rv), Some(lv)) = (&self.receipt.vault, &report.vault) {
            if rv != lv {
                return ReceiptCheck::OtherVault {
                    log_vault: lv.clone(),
                };
            }
        }
        match self.found {
            Some(true) => ReceiptCheck::Present,
            Some(false) => ReceiptCheck::Rewritten,
            None => ReceiptCheck::Truncated {
                last_seq: report.entries,
            },
        }
    }
}

/// Checks `receipt` against the log, streaming. Returns the check and the
/// log's verification report (which may have its own problems after `seq`).
pub fn check(log_path: &Path, receipt: &Receipt) -> Result<(ReceiptCheck, log::VerifyReport)> {
    let mut w = Watch::new(receipt.clone());
    let report = log::verify_reading(log_path, None, false, log::Reads::Chain, |e, _| {
        w.observe(e)
    })?;
    Ok((w.finish(&report), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let h = "ab".repeat(32);
        let v = "cd".repeat(16);
        let r = Receipt::parse(&format!("bg1:{v}:42:{h}")).unwrap();
        assert_eq!((r.vault.as_deref(), r.seq), (Some(v.as_str()), 42));
        let r = Receipt::parse("42:ABABABABABABABAB").unwrap();
        assert_eq!(r.hash_prefix, "abababababababab");
        for bad in [
            "42:abab",
            "x:abababababababab",
            "0:abababababababab",
            "bg1:1:2:3",
            "",
        ] {
            assert!(Receipt::parse(bad).is_err(), "{bad}");
        }
    }
}
