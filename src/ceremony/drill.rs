//! Drills: prove that custodians can still open the vault, without opening it.
//!
//! * **Custodian drill** ([`custodian_drill`]): one custodian opens *their*
//!   share with their token; the share file is checked against its
//!   commitment in the manifest and the envelope against its binding (vault
//!   id, generation, name, threshold, x). Nothing is combined; the share is
//!   wiped on return. Logged as `drill` `{kind:"custodian", custodian,
//!   result:"ok"|"failed", token?, why?}`, signed by the custodian's token
//!   when it passed (format 2): only a signed drill counts for governance.
//!   The manifest is authenticated first from the log's certificates
//!   ([`crate::history`]), so a custodian drill proves "my token opens my
//!   share of the generation the quorum certified".
//! * **Quorum drill** ([`quorum_drill`]): the whole unseal path — request
//!   logged (`drill-requested`, never `unseal-requested`), shares collected
//!   through [`quorum::open`], key combined and matched to the certified
//!   generation key, every signature of the log verified, payload digest
//!   checked, payload decrypted and parsed, its index compared to the
//!   manifest — and nothing shown. Logged as `drill` `{kind:"quorum",
//!   custodians, result, request, signatures_verified, why?}`, signed by the
//!   quorum.
//!
//! Drills never write `unseal-granted`, so they are never activations
//! (governance counts only `unseal-granted`). Every attempt that reached the
//! log is recorded, failed ones included; a failed drill is a finding
//! (exit 1), not an operational error.

use std::path::PathBuf;

use crate::ceremony::custodians::append_signed;
use crate::ceremony::quorum::{self, Request};
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::log::{self, events, By, Log};
use crate::log_data;
use crate::manifest::{sha256_hex, LogHead, Manifest};
use crate::token::{self, CustodianSigner, SuppliedIdentity, TokenError};
use crate::ui::{Level, Ui};
use crate::vault::Vault;

/// Which drill ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillKind {
    /// One custodian's share opened with their token.
    Custodian,
    /// The whole unseal path, nothing shown.
    Quorum,
}

impl DrillKind {
    /// The name in the log's `kind` member: `custodian` or `quorum`.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::Custodian => "custodian",
            DrillKind::Quorum => "quorum",
        }
    }
}

/// A drill's verdict. A failed drill is a finding (logged, exit 1), not an
/// operational error: the ceremony itself ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything the drill checks held.
    Passed,
    /// What did not hold.
    Failed(String),
}

impl Verdict {
    /// Whether the drill passed.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }

    /// Why it failed (`None` when it passed).
    pub fn why(&self) -> Option<&str> {
        match self {
            Verdict::Passed => None,
            Verdict::Failed(why) => Some(why),
        }
    }

    /// The log's `result` member: `ok` or `failed`.
    pub fn as_str(&self) -> &'static str {
        if self.passed() {
            "ok"
        } else {
            "failed"
        }
    }

    fn of(result: std::result::Result<(), String>) -> Self {
        result.map_or_else(Verdict::Failed, |()| Verdict::Passed)
    }
}

/// What a drill proved.
#[derive(Debug, Clone)]
pub struct DrillOutcome {
    /// Which drill.
    pub kind: DrillKind,
    /// Passed, or why not.
    pub verdict: Verdict,
    /// Custodians the drill covered.
    pub custodians: Vec<String>,
    /// Signatures of the log verified (quorum drill: every quorum and
    /// custodian signature in the log; custodian drill: 1 when its entry is signed).
    pub signatures_verified: u64,
    /// Vault id.
    pub vault_id: String,
    /// Generation drilled.
    pub generation: u64,
    /// Log head after the drill (the receipt).
    pub receipt: LogHead,
}

/// Options of a custodian drill.
pub struct CustodianDrillOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// The custodian.
    pub custodian: String,
    /// Supplied software identity files.
    pub identities: Vec<SuppliedIdentity>,
    /// The last receipt from the ticket: the log must still hold it.
    pub expect_receipt: Option<crate::governance::receipt::Receipt>,
}

/// What a custodian's share check found. Not boxed although the first
/// variant is large: moving a signer into a box would leave a copy of its
/// key material behind on the stack, unzeroized.
#[allow(clippy::large_enum_variant)]
enum ShareCheck {
    /// The share opened, matches its commitment and its binding.
    Opened {
        /// The token that opened it.
        token: String,
        /// The custodian's signer for the drill entry, when the token has one.
        signer: Option<CustodianSigner>,
    },
    /// Why it did not.
    Failed(String),
}

/// Checks one custodian's share without combining anything.
fn check_share(
    vault: &Vault,
    manifest: &Manifest,
    name: &str,
    identities: &[SuppliedIdentity],
    ui: &mut dyn Ui,
) -> Result<ShareCheck> {
    let Some(record) = manifest.custodian(name) else {
        return Err(Error::Usage(format!(
            "'{}' is not a custodian of this vault; its custodians are: {}",
            crate::text::bounded(name),
            manifest
                .custodians
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let file = match vault.read_data(&record.share) {
        Ok(f) => f,
        Err(e) => {
            return Ok(ShareCheck::Failed(format!(
                "{name}'s share file cannot be read: {e}"
            )))
        }
    };
    if !crate::secret::ct_eq(sha256_hex(&file).as_bytes(), record.commitment.as_bytes()) {
        return Ok(ShareCheck::Failed(format!(
            "{name}'s share file does not match its commitment in the manifest (altered or substituted); restore it from a backup copy"
        )));
    }
    ui.say(Level::Step, &format!("{name}: opening the share"));
    let opened = match token::open_share(
        name,
        &record.tokens,
        &file,
        identities,
        &manifest.fingerprint(),
        ui,
    ) {
        Ok(p) => p,
        // Prompts cancelled or unanswered: no drill took place.
        Err(TokenError::Ui(e)) => return Err(e.into()),
        Err(e) => return Ok(ShareCheck::Failed(e.to_string())),
    };
    let env = match Envelope::decode(opened.plaintext.expose()) {
        Ok(e) => e,
        Err(e) => return Ok(ShareCheck::Failed(format!("{name}'s {e}"))),
    };
    let binding = env.check_binding(
        &manifest.vault_id_bytes()?,
        manifest.generation,
        name,
        manifest.threshold,
        record.x,
    );
    Ok(match binding {
        Ok(()) => ShareCheck::Opened {
            token: opened.token,
            signer: opened.signer,
        },
        Err(e) => ShareCheck::Failed(format!("{name}'s {e}")),
    })
}

/// Runs a custodian drill and logs its result (signed by the custodian's
/// token when it passed).
pub fn custodian_drill(opts: CustodianDrillOptions, ui: &mut dyn Ui) -> Result<DrillOutcome> {
    let vault = Vault::open(&opts.dir)?;
    ui.say(
        Level::Step,
        "Verifying the audit log and the vault's certificates",
    );
    let quorum::Prepared {
        manifest, mut log, ..
    } = quorum::prepare(
        &vault,
        quorum::Checks {
            expect_receipt: opts.expect_receipt.as_ref(),
            ..quorum::Checks::default()
        },
        ui,
    )?;
    ui.say(
        Level::Info,
        &format!(
            "Vault fingerprint {} (generation {}); custodian drill for {}",
            manifest.fingerprint(),
            manifest.generation,
            opts.custodian
        ),
    );
    let result = check_share(&vault, &manifest, &opts.custodian, &opts.identities, ui)?;
    let mut data = log_data! {
        "kind" => "custodian",
        "custodian" => opts.custodian,
        "result" => if matches!(result, ShareCheck::Opened { .. }) { "ok" } else { "failed" },
    };
    let (receipt, signed, result) = match result {
        ShareCheck::Opened { token, signer } => {
            data.insert("token".into(), token.as_str().into());
            let (receipt, signed) = append_signed(
                &mut log,
                events::DRILL,
                manifest.generation,
                data,
                signer.as_ref(),
                ui,
            )?;
            (receipt, signed, Ok(token))
        }
        ShareCheck::Failed(why) => {
            data.insert("why".into(), why.as_str().into());
            let receipt = log.append(events::DRILL, manifest.generation, data, By::Nobody)?;
            (receipt, false, Err(why))
        }
    };
    match &result {
        Ok(token) if signed => ui.say(
            Level::Step,
            &format!(
                "{}: share opens with token {token}, matches its commitment and its binding; drill signed by the token",
                opts.custodian
            ),
        ),
        Ok(token) => ui.say(
            Level::Warn,
            &format!(
                "{}: share opens with token {token}, but the token has no enrolled signing key, so the drill is logged unsigned and does not count; re-enroll it (rekey --replace)",
                opts.custodian
            ),
        ),
        Err(why) => ui.say(Level::Warn, &format!("drill FAILED: {why}")),
    }
    Ok(DrillOutcome {
        kind: DrillKind::Custodian,
        verdict: Verdict::of(result.map(drop)),
        custodians: vec![opts.custodian],
        signatures_verified: u64::from(signed),
        vault_id: manifest.vault_id,
        generation: manifest.generation,
        receipt,
    })
}

/// Options of a quorum drill.
pub struct QuorumDrillOptions {
    /// Vault directory.
    pub dir: PathBuf,
    /// Identities, presentation order, expected receipt (an override is
    /// refused: a drill never proceeds past a damaged vault).
    pub quorum: quorum::QuorumInput,
}

/// Runs the whole unseal path without revealing anything, and logs the result.
pub fn quorum_drill(mut opts: QuorumDrillOptions, ui: &mut dyn Ui) -> Result<DrillOutcome> {
    opts.quorum.override_broken_log = None;
    let vault = Vault::open(&opts.dir)?;
    let (manifest, _) = vault.read_manifest()?;
    let before = log::verify_only(&vault.log_path())?
        .head
        .map_or(0, |h| h.seq);
    ui.say(
        Level::Step,
        "Quorum drill: verifying the audit log and recording the request",
    );
    let opened = quorum::open(
        &vault,
        Request {
            event: events::DRILL_REQUESTED,
            data: log_data! {"kind" => "quorum"},
            input: &opts.quorum,
            format1: false,
        },
        ui,
    );
    let mut opened = match opened {
        Ok(o) => o,
        Err(e) => {
            // Record the failed drill if its request reached the log.
            let report = log::verify_only(&vault.log_path())?;
            let Some(head) = report.head.clone().filter(|h| h.seq > before) else {
                return Err(e);
            };
            let mut log = Log::at_head(&vault.log_path(), &manifest.vault_id, Some(head));
            let why = e.to_string();
            let receipt = log.append(
                events::DRILL,
                manifest.generation,
                log_data! {"kind" => "quorum", "custodians" => Vec::<String>::new(),
                "result" => "failed", "request" => before + 1, "why" => why},
                By::Nobody,
            )?;
            ui.say(Level::Warn, &format!("drill FAILED: {why}"));
            return Ok(DrillOutcome {
                kind: DrillKind::Quorum,
                verdict: Verdict::Failed(why),
                custodians: Vec::new(),
                signatures_verified: 0,
                vault_id: manifest.vault_id,
                generation: manifest.generation,
                receipt,
            });
        }
    };
    let g = opened.manifest.generation;
    ui.say(
        Level::Step,
        "Key rebuilt and matched to the certified generation key; checking every signature of the log and the payload",
    );
    let report = log::verify_only(&vault.log_path())?;
    let verified = report.trust.quorum_signed + report.trust.custodian_signed;
    let result = if let Some(f) = report.trust.findings.first() {
        Err(f.describe())
    } else {
        check_payload(&vault, &opened)
    };
    let mut data = log_data! {
        "kind" => "quorum",
        "custodians" => opened.custodians,
        "result" => if result.is_ok() { "ok" } else { "failed" },
        "request" => opened.request_seq,
        "signatures_verified" => verified,
    };
    if let Err(why) = &result {
        data.insert("why".into(), why.as_str().into());
    }
    if !opened.remote.is_empty() {
        data.insert("remote".into(), opened.remote.clone().into());
    }
    let receipt = opened.append(events::DRILL, data)?;
    match &result {
        Ok(()) => ui.say(
            Level::Step,
            &format!(
                "Quorum drill passed; {verified} signatures of the log verified; nothing was shown"
            ),
        ),
        Err(why) => ui.say(Level::Warn, &format!("drill FAILED: {why}")),
    }
    Ok(DrillOutcome {
        kind: DrillKind::Quorum,
        verdict: Verdict::of(result),
        custodians: opened.custodians.clone(),
        signatures_verified: verified,
        vault_id: opened.manifest.vault_id.clone(),
        generation: g,
        receipt,
    })
}

/// Payload digest, decryption, schema and index — nothing leaves this function.
fn check_payload(vault: &Vault, opened: &quorum::Opened) -> std::result::Result<(), String> {
    opened.payload(vault).map(drop).map_err(|e| e.to_string())
}
