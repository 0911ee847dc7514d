//! `review`: the post-incident review of an unseal, from a file, stdin or
//! `$EDITOR` on a template; the work is in `breakglass::ceremony::review`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use breakglass::ceremony::review::{self, ReviewTarget};
use breakglass::error::{Error, Result};

use super::out::{self, outln};
use super::output::{print_receipt, receipt as receipt_string};

#[derive(Args)]
pub struct ReviewArgs {
    /// Vault directory.
    #[arg(long)]
    vault: PathBuf,
    /// The unseal reviewed: log sequence number of its `unseal-granted` entry.
    #[arg(long, conflicts_with = "ticket", required_unless_present = "ticket")]
    grant: Option<u64>,
    /// The unseal(s) reviewed: every unseal granted for this ticket.
    #[arg(long)]
    ticket: Option<String>,
    /// The review document (JSON or `key: value` text; '-' for stdin). Without it: prompts.
    #[arg(long = "from", value_name = "FILE", conflicts_with = "edit")]
    from: Option<PathBuf>,
    /// Write the review in an editor ($VISUAL, $EDITOR, else `editor`), on a template.
    #[arg(long)]
    edit: bool,
    /// The custodian who records the review and signs it with their token (required).
    #[arg(long = "custodian", value_name = "NAME")]
    custodian: String,
    /// That custodian's software identity file (else their YubiKey signs, or the path is asked).
    #[arg(long = "identity", value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Answers for the prompts, from a JSON file; see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    receipt: super::args::ReceiptArg,
}

pub fn run_review(a: ReviewArgs) -> Result<u8> {
    let target = match (a.grant, &a.ticket) {
        (Some(s), _) => ReviewTarget::Grant(s),
        (None, Some(t)) => ReviewTarget::Ticket(t.trim().to_owned()),
        (None, None) => return Err(Error::Usage("give --grant SEQ or --ticket ID".into())),
    };
    let mut ui = super::input::make_ui(a.answers.as_deref())?;
    let document = match &a.from {
        None if a.edit => Some(edit_review(&target, ui.as_mut())?),
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::io::stdin(), review::MAX_DOCUMENT as u64 + 1),
                &mut buf,
            )
            .map_err(|e| Error::Usage(format!("cannot read the review from stdin: {e}")))?;
            Some(buf)
        }
        Some(p) => Some(
            breakglass::fsutil::read_capped(p, review::MAX_DOCUMENT as u64 + 1).map_err(|e| {
                Error::Usage(format!("cannot read the review {}: {e}", p.display()))
            })?,
        ),
    };
    let (identities, _) = super::input::supplied_identities(a.identity.as_slice())?;
    let r = review::record(
        review::ReviewOptions {
            dir: a.vault.clone(),
            target,
            document,
            custodian: a.custodian.clone(),
            identities,
            expect_receipt: a.receipt.parse()?,
        },
        ui.as_mut(),
    )?;
    if a.json {
        out::json(
            &json!({"grants": r.grants, "ticket": r.ticket, "document_sha256": r.document_sha256,
                    "seq": r.receipt.seq, "receipt": receipt_string(&r.vault_id, &r.receipt)}),
        )?;
    } else {
        outln!(
            "review recorded for unseal {} (ticket {}); document sha256 {}",
            r.grants
                .iter()
                .map(|s| format!("#{s}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.ticket,
            r.document_sha256
        )?;
        print_receipt(&r.vault_id, &r.receipt)?;
    }
    Ok(0)
}

/// The template an editor opens for `review --edit`.
fn review_template(target: &ReviewTarget) -> String {
    let ticket = match target {
        ReviewTarget::Ticket(t) => t.clone(),
        ReviewTarget::Grant(_) => String::new(),
    };
    format!(
        "# Post-incident review (ceremonies/post-incident-review.md). Lines starting with #
# are ignored. Repeat a key for more items. All five parts are required:
# participants, timeline (UTC times, exact ones from `breakglass log show`), root cause,
# preventive measure(s), provider audit event id(s). Never write a credential here.
ticket: {ticket}
participants:
timeline: YYYY-MM-DDTHH:MM:SSZ what happened
root cause:
preventive measure:
provider event:
"
    )
}

/// Runs `$VISUAL`, `$EDITOR` or `editor` on a template until the review is
/// complete (or the author gives up); returns the document. The draft is not
/// secret (reviews never hold credentials); it lives in a fresh 0700
/// directory that is removed afterwards.
fn edit_review(target: &ReviewTarget, ui: &mut dyn breakglass::ui::Ui) -> Result<Vec<u8>> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "editor".into());
    // A fresh private directory (0700, random name, removed on drop).
    let dir = tempfile::Builder::new()
        .prefix("breakglass-review-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(Error::io(
            "create a draft directory in",
            &std::env::temp_dir(),
        ))?;
    let path = dir.path().join("review.txt");
    let result = (|| {
        breakglass::fsutil::write_new(&path, review_template(target).as_bytes())
            .map_err(|e| Error::Usage(format!("cannot write the review draft: {e}")))?;
        loop {
            // The editor command may carry arguments (`code --wait`): a shell splits it.
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status()
                .map_err(|e| Error::Usage(format!("cannot run the editor '{editor}': {e}")))?;
            if !status.success() {
                return Err(Error::Usage(format!(
                    "the editor '{editor}' failed ({status}); nothing was recorded (set $EDITOR to another editor)"
                )));
            }
            let bytes = breakglass::fsutil::read_capped(&path, review::MAX_DOCUMENT as u64 + 1)
                .map_err(|e| Error::Usage(format!("cannot read the review draft: {e}")))?;
            let problem = match review::parse_document(&bytes) {
                Ok(doc) => match doc.check() {
                    Ok(()) => return Ok(bytes),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if !ui.confirm(
                "review.edit-again",
                &format!("{problem}. Edit the review again?"),
            )? {
                return Err(problem);
            }
        }
    })();
    drop(dir);
    result
}
