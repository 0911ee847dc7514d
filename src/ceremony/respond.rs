//! The custodian's side (`breakglass respond`): check the request against
//! the paper card, show what is asked, compare the code the lead reads,
//! open the share with the custodian's token, and answer — nothing secret
//! written anywhere (the response holds the share sealed to the session
//! key, which only the waiting ceremony holds).

use crate::clock::Timestamp;
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::remote::{sas, RemoteError, Request, Response, Verified};
use crate::sign::Purpose;
use crate::token::{self, SuppliedIdentity};
use crate::ui::{Level, Ui};

/// What the custodian gives besides the request.
pub struct Input<'a> {
    /// The vault fingerprint from their paper card (`None`: asked, prompt
    /// `respond.fingerprint`).
    pub fingerprint: Option<&'a str>,
    /// The code the lead read aloud (`None`: asked, prompt `respond.code`).
    pub code: Option<&'a str>,
    /// Software identity files (`--identity`).
    pub identities: &'a [SuppliedIdentity],
    /// The custodian's clock.
    pub now: Timestamp,
}

/// A request answered.
pub struct Answered {
    /// The response file's bytes.
    pub response: Vec<u8>,
    /// The request it answers.
    pub request: Request,
    /// Fingerprint of the token that signed.
    pub token: String,
}

/// Answers the request file `bytes` (see the module docs for the order).
pub fn respond(bytes: &[u8], input: &Input<'_>, ui: &mut dyn Ui) -> Result<Answered> {
    // Form first: a file that is not a request is named before anything is asked.
    Request::parse(bytes)?;
    let typed_fp = match input.fingerprint {
        Some(f) => f.to_owned(),
        None => ui.text(
            "respond.fingerprint",
            "Vault fingerprint, from your paper card (8 groups of 4 hex digits)",
        )?,
    };
    crate::remote::request::normalize_fingerprint(&typed_fp).map_err(Error::Usage)?;
    let v = Request::verify(bytes, &typed_fp, input.now)?;
    show(&v, ui);
    let code = sas::code(&v.digest)?;
    let typed = match input.code {
        Some(c) => c.to_owned(),
        None => ui.text(
            "respond.code",
            "Type the code the lead reads to you over the phone (12 digits)",
        )?,
    };
    match sas::typed_matches(&typed, &code) {
        Err(usage) => return Err(Error::Usage(usage)),
        Ok(false) => {
            return Err(RemoteError::Refused(
                "the code you typed does not match this request's code: the request was altered on its way (a relay swapped its key) or the code was misheard; do not answer it — call the lead back on the number you know and compare again".into(),
            )
            .into())
        }
        Ok(true) => {}
    }
    ui.say(
        Level::Info,
        "The code matches: this is the request on the lead's screen",
    );
    let r = &v.request;
    let record = &v.record;
    ui.say(Level::Step, &format!("{}: open your share", record.name));
    let opened = token::open_share(
        &r.custodian,
        &record.tokens,
        &v.share_file,
        input.identities,
        &v.fingerprint,
        ui,
    )?;
    let env = Envelope::decode(opened.plaintext.expose())?;
    env.check_binding(
        &v.manifest.vault_id_bytes()?,
        v.manifest.generation,
        &r.custodian,
        v.manifest.threshold,
        record.x,
    )?;
    let signer = opened.signer.ok_or_else(|| {
        RemoteError::Refused(format!(
            "{}'s software identity was enrolled before format 2 and records no signing key, so a response cannot be signed; present at the vault machine, or re-enroll",
            r.custodian
        ))
    })?;
    let unsigned = Response::unsigned(&v, opened.plaintext.expose(), input.now)?;
    let mut body_for =
        |s: &crate::log::Signer| unsigned.signed_by(s).signed_body().unwrap_or_default();
    let (by, mut sig) = signer.sign(Purpose::RemoteResponse, &mut body_for, ui)?;
    if let crate::log::Signer::Custodian {
        alg: crate::log::Alg::EcdsaP256,
        ..
    } = &by
    {
        // The card gives either of the two valid S; the response carries
        // the low one, the only one the vault machine accepts.
        sig = crate::sign::p256_low_s(&sig).unwrap_or(sig);
    }
    let mut response = unsigned.signed_by(&by);
    response.signature = crate::encoding::hex(&sig);
    let bytes = response.to_bytes()?;
    Ok(Answered {
        response: bytes,
        request: v.request,
        token: response.token,
    })
}

/// What the custodian is asked to approve, before the code.
fn show(v: &Verified, ui: &mut dyn Ui) {
    let r = &v.request;
    let presented = if r.presented.is_empty() {
        "nobody yet".to_owned()
    } else {
        r.presented.join(", ")
    };
    ui.say(
        Level::Step,
        &format!(
            "Request from vault {} (your paper card's), generation {}: {}'s share",
            v.fingerprint, r.generation, r.custodian
        ),
    );
    let or_none = |s: &str| {
        if s.is_empty() {
            "(none)".to_owned()
        } else {
            s.to_owned()
        }
    };
    for line in [
        format!("ceremony: {} (log entry {})", r.ceremony, r.request_seq),
        format!("ticket:   {}", or_none(&r.ticket)),
        format!("reason:   {}", or_none(&r.reason)),
        format!("presented so far: {presented}"),
        format!("expires:  {}", r.expires),
    ] {
        ui.say(Level::Info, &line);
    }
}
