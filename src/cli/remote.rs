//! `respond` (the remote custodian's side, on their own machine) and what
//! both sides share in the binary: the QR codes of a text block written
//! beside its file, and reading a pasted block from a terminal. The work is
//! in `breakglass::remote`; see docs/remote.md and
//! ceremonies/remote-unseal.md.

use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use breakglass::ceremony::respond;
use breakglass::error::{Error, Result};
use breakglass::remote::{self, armor};

use super::out::{self, errln};

#[derive(Args)]
pub struct RespondArgs {
    /// The request: its file (NAME-SEQ.bgrequest), its text block (.txt), or '-' to paste or
    /// pipe the text block on stdin.
    #[arg(value_name = "REQUEST")]
    request: PathBuf,
    /// The vault fingerprint on your paper card [default: asked].
    #[arg(long, value_name = "FP")]
    fingerprint: Option<String>,
    /// The code the lead reads to you over the phone [default: asked]. It is not a secret: it
    /// proves the request is the one on the lead's screen.
    #[arg(long, value_name = "CODE")]
    code: Option<String>,
    /// Your software identity file (a YubiKey custodian needs none).
    #[arg(long = "identity", value_name = "FILE")]
    identities: Vec<PathBuf>,
    /// Answers for every prompt, from a JSON file ('-' for stdin); see `breakglass help-answers`.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Where to write the response [default: NAME-SEQ.bgresponse here]; its text block goes to
    /// FILE.txt and its QR codes beside it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

/// `breakglass respond`: exit 0 answered, 1 refused, 2 usage.
pub fn run(a: RespondArgs) -> Result<u8> {
    let raw = read_request(&a.request)?;
    let (bytes, _) = remote::decode_any(armor::Kind::Request, &raw)?;
    let (identities, _) = super::input::supplied_identities(&a.identities)?;
    let mut ui = super::input::make_ui(a.answers.as_deref())?;
    let answered = respond::respond(
        &bytes,
        &respond::Input {
            fingerprint: a.fingerprint.as_deref(),
            code: a.code.as_deref(),
            identities: &identities,
            now: breakglass::clock::Timestamp::now(),
        },
        ui.as_mut(),
    )?;
    let r = &answered.request;
    let path = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.bgresponse", r.custodian, r.request_seq)));
    let block = armor::encode(armor::Kind::Response, &answered.response);
    let text = with_suffix(&path, ".txt");
    write(&path, &answered.response)?;
    write(&text, block.as_bytes())?;
    let qr = write_qr(&path, &block, "response");
    let digest = breakglass::manifest::sha256_hex(&answered.response);
    if a.json {
        out::json(&json!({
            "response": path.display().to_string(),
            "text_block": text.display().to_string(),
            "qr": qr.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "digest": digest,
            "custodian": r.custodian,
            "request_seq": r.request_seq,
            "token": answered.token,
        }))?;
    }
    errln!(
        "     Response written: {} (text block {}{}). Send it back to the lead the way the request came.",
        path.display(),
        text.display(),
        if qr.is_empty() { String::new() } else { format!(", {} QR codes beside it", qr.len()) }
    );
    errln!("     Nothing secret is on this disk: your share inside is sealed to the ceremony's one-time key, which never left the vault machine.");
    Ok(0)
}

/// The request's bytes: a file, or stdin ('-'; from a terminal, read up to
/// the block's END line).
fn read_request(p: &Path) -> Result<Vec<u8>> {
    let cap = remote::MAX_FILE as u64 + 1;
    if p != Path::new("-") {
        return breakglass::fsutil::read_capped(p, cap)
            .map_err(|e| Error::Usage(format!("cannot read the request {}: {e}", p.display())));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        errln!("     Paste the request's text block (from -----BEGIN to -----END):");
        return read_block_lines(&mut stdin.lock(), armor::Kind::Request)
            .map(String::into_bytes)
            .map_err(|e| Error::Usage(format!("cannot read the request from stdin: {e}")));
    }
    let mut buf = Vec::new();
    stdin
        .lock()
        .take(cap)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Usage(format!("cannot read the request from stdin: {e}")))?;
    Ok(buf)
}

/// Reads lines until one holds the END marker of `kind` (or end of input).
pub fn read_block_lines(input: &mut dyn BufRead, kind: armor::Kind) -> std::io::Result<String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 || text.len() > remote::MAX_FILE * 2 {
            return Ok(text);
        }
        let end = armor::is_end(kind, &line);
        text.push_str(&line);
        if end {
            return Ok(text);
        }
    }
}

/// Writes the QR codes of `block` beside `path` (`<path>.qr-I-of-N.svg`);
/// returns their paths. A part that cannot be written is reported and
/// skipped: the file and its text block are what must travel.
pub fn write_qr(path: &Path, block: &str, what: &str) -> Vec<PathBuf> {
    let parts = armor::qr_parts(block);
    let n = parts.len();
    let mut written = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let label = format!("QR code {} of {n} of the remote {what}", i + 1);
        let Some(svg) = super::qr::svg_labelled(part, &label) else {
            errln!(
                "  !  part {} of the {what} does not fit a QR code; use the file or the text block",
                i + 1
            );
            continue;
        };
        let to = with_suffix(path, &format!(".qr-{}-of-{n}.svg", i + 1));
        match breakglass::fsutil::replace_atomically(&to, svg.as_bytes()) {
            Ok(()) => written.push(to),
            Err(e) => errln!("  !  cannot write {}: {e}", to.display()),
        }
    }
    written
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    breakglass::fsutil::replace_atomically(path, bytes).map_err(Error::io("write", path))
}
