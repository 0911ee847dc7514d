//! Custodians presenting their shares, one after another, within one logged
//! request: who presents next, each try, its acceptance or rejection (each
//! logged), a retry or stepping aside after a slip, and a clean stop on
//! Ctrl-C.
//!
//! Invariants: every try is logged (`share-accepted` / `share-rejected`)
//! before the next prompt; a custodian counts once; a rejected custodian may
//! try again (the token's PIN counter limits guesses; at most
//! [`MAX_TRIES`] per request) or step aside for another; an interruption at a
//! prompt logs `unseal-aborted` before the error returns; rejection reasons
//! never contain secret material.

use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::log::{events, By, Log};
use crate::log_data;
use crate::manifest::{sha256_hex, CustodianRecord, Manifest};
use crate::shamir::Share;
use crate::token::{self, SuppliedIdentity, TokenDescriptor, TokenError};
use crate::ui::{Level, Ui, UiError};
use crate::vault::Vault;
use serde_json::{Map, Value};

use super::quorum::QuorumInput;
use super::remote::{self, Refusal, RemoteSettings};

/// How many tries one custodian has within one request.
pub const MAX_TRIES: usize = 5;

/// Where the shares are presented: the vault, its manifest, the log (the
/// request already in it) and the vault fingerprint shown at every PIN.
pub struct Presentation<'a> {
    /// The vault directory.
    pub vault: &'a Vault,
    /// The authenticated manifest.
    pub manifest: &'a Manifest,
    /// Sequence number of the logged request.
    pub request: u64,
    /// The vault fingerprint.
    pub fingerprint: &'a str,
    /// The logged request event (`unseal-requested`, …).
    pub event: &'a str,
    /// Its ticket and reason (carried by remote requests).
    pub ticket: &'a str,
    /// Reason.
    pub reason: &'a str,
    /// Seqs of the log entries a remote request carries as certificates
    /// (the root, every `sealed`).
    pub certificates: Vec<u64>,
    /// How remote custodians are reached.
    pub remote: &'a RemoteSettings,
}

/// Why one try failed.
enum Failed {
    /// The share was refused (logged as `share-rejected` with the data; the
    /// text says why).
    Rejected(String, Map<String, Value>),
    /// The custodian pressed Ctrl-C: the request stops.
    Interrupted(UiError),
}

/// What the custodians presented: accepted shares and, for custodians who
/// stepped aside, the last reason their share was rejected.
pub struct Collected {
    /// Accepted shares, by custodian, in the order they were presented.
    pub accepted: Vec<(String, Share)>,
    /// Custodians who stepped aside, and why their last try was rejected.
    pub rejected: Vec<(String, String)>,
    /// Accepted custodians who presented remotely.
    pub remote: Vec<String>,
}

/// Collects shares until the threshold is reached or nobody is left to
/// present.
pub fn collect(
    p: &Presentation<'_>,
    log: &mut Log,
    input: &QuorumInput,
    ui: &mut dyn Ui,
) -> Result<Collected> {
    let t = p.manifest.threshold as usize;
    let mut accepted: Vec<(String, Share)> = Vec::new();
    let mut rejected: Vec<(String, String)> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let mut remote_accepted: Vec<String> = Vec::new();
    let mut order = input.order.iter();
    let mut done: Option<String> = None;
    while accepted.len() < t {
        let Some((name, is_remote)) =
            next_custodian(p.manifest, input, &mut order, &accepted, &tried, ui)
                .or_else(|e| stop(p, log, e))?
        else {
            break;
        };
        if tried.contains(&name) {
            ui.say(
                Level::Warn,
                &format!("{name} has already presented; the same custodian counts once — another custodian is needed"),
            );
            continue;
        }
        tried.push(name.clone());
        let Some(record) = p.manifest.custodian(&name) else {
            let why = format!("'{name}' is not a custodian of this vault");
            ui.say(Level::Warn, &why);
            rejected.push((name.clone(), why));
            continue;
        };
        if is_remote {
            if let Some(prev) = done.take() {
                ui.say(Level::Info, &format!("{prev}: done, remove your token."));
            }
            ui.say(
                Level::Step,
                &format!(
                    "{name}: presenting remotely (the request goes to {})",
                    p.remote.dir.display()
                ),
            );
        } else {
            ui.say(Level::Step, &announce(done.take(), record));
        }
        let presented: Vec<String> = accepted.iter().map(|(n, _)| n.clone()).collect();
        let how = Presenter {
            identities: &input.identities,
            remote: is_remote.then_some(presented.as_slice()),
        };
        match tries(p, log, record, &how, ui)? {
            Ok((share, yubikey)) => {
                if yubikey && !is_remote {
                    done = Some(name.clone());
                }
                if is_remote {
                    remote_accepted.push(name.clone());
                }
                accepted.push((name, share));
            }
            Err(why) => rejected.push((name, why)),
        }
    }
    if let Some(last) = done {
        ui.say(Level::Info, &format!("{last}: done, remove your token."));
    }
    Ok(Collected {
        accepted,
        rejected,
        remote: remote_accepted,
    })
}

/// How one custodian presents: at the machine (with these identity files),
/// or remotely (`remote`: who has presented before them).
struct Presenter<'a> {
    identities: &'a [SuppliedIdentity],
    remote: Option<&'a [String]>,
}

/// The checklist line before a custodian presents: who is done, who is next
/// and which token they insert.
fn announce(done: Option<String>, record: &CustodianRecord) -> String {
    let name = &record.name;
    let serials: Vec<String> = record
        .tokens
        .iter()
        .filter_map(|t| match t {
            TokenDescriptor::Yubikey(y) => Some(y.serial.to_string()),
            _ => None,
        })
        .collect();
    let next = if serials.is_empty() {
        name.to_string()
    } else {
        format!("{name}, insert YubiKey {}", serials.join(" or "))
    };
    match done {
        Some(prev) => format!("{prev}: done, remove your token. Next: {next}"),
        None if serials.is_empty() => format!("{name}: presenting share"),
        None => format!("{name}: presenting share; {next}"),
    }
}

/// One custodian's tries: each logged; after a rejection the custodian may
/// try again or step aside. `Ok(Ok((share, presented_with_a_yubikey)))`,
/// `Ok(Err(last reason))` when they stepped aside.
fn tries(
    p: &Presentation<'_>,
    log: &mut Log,
    record: &CustodianRecord,
    how: &Presenter<'_>,
    ui: &mut dyn Ui,
) -> Result<std::result::Result<(Share, bool), String>> {
    let (name, g) = (record.name.as_str(), p.manifest.generation);
    for attempt in 1..=MAX_TRIES {
        let outcome = match how.remote {
            None => present(p, record, how.identities, ui)
                .map(|(share, token)| (share, token, Map::new())),
            Some(presented) => match remote::present(p, log, record, presented, attempt, ui)? {
                Ok(r) => Ok((r.share, r.token, r.data)),
                Err(Refusal::Rejected(why, data)) => Err(Failed::Rejected(why, data)),
                Err(Refusal::Interrupted(e)) => Err(Failed::Interrupted(e)),
            },
        };
        match outcome {
            Ok((share, token, extra)) => {
                let mut data = log_data! {"custodian" => name, "request" => p.request, "token" => token.clone()};
                data.extend(extra);
                log.append(events::SHARE_ACCEPTED, g, data, By::Nobody)?;
                ui.say(Level::Info, &format!("{name}: share accepted"));
                let yubikey = record
                    .tokens
                    .iter()
                    .any(|t| matches!(t, TokenDescriptor::Yubikey(_)) && t.fingerprint() == token);
                return Ok(Ok((share, yubikey)));
            }
            Err(Failed::Interrupted(e)) => return stop(p, log, e),
            Err(Failed::Rejected(why, extra)) => {
                let why = bounded_reason(why);
                let mut data =
                    log_data! {"custodian" => name, "request" => p.request, "why" => why.clone()};
                data.extend(extra);
                log.append(events::SHARE_REJECTED, g, data, By::Nobody)?;
                ui.say(Level::Warn, &format!("{name}: share rejected: {why}"));
                let again = attempt < MAX_TRIES
                    && match ui.retry(name, &why) {
                        Ok(again) => again,
                        Err(e @ UiError::Interrupted { .. }) => return stop(p, log, e),
                        Err(_) => false,
                    };
                if !again {
                    return Ok(Err(why));
                }
            }
        }
    }
    Ok(Err(format!("{name} used all {MAX_TRIES} tries")))
}

/// A rejection reason as logged: whole up to 2,000 characters (a reason
/// quoting crafted input must not make the log line too long to write).
fn bounded_reason(why: String) -> String {
    const MAX: usize = 2000;
    match why.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &why[..i]),
        None => why,
    }
}

/// Logs that the request stopped at a prompt (`unseal-aborted`), then
/// returns the interruption; other errors pass through unlogged.
fn stop<T>(p: &Presentation<'_>, log: &mut Log, e: UiError) -> Result<T> {
    if let UiError::Interrupted { prompt } = &e {
        log.append(
            events::UNSEAL_ABORTED,
            p.manifest.generation,
            log_data! {"request" => p.request, "why" => format!("interrupted (Ctrl-C) at the prompt '{prompt}'")},
            By::Nobody,
        )?;
    }
    Err(Error::Ui(e))
}

/// Next custodian and whether they present remotely: from the given order
/// (remote if named by `--remote`), else asked among those who have not
/// presented yet (each offered at the machine and, as `NAME (remote)`,
/// remotely); `None` when nobody is left who could complete the quorum.
fn next_custodian(
    manifest: &Manifest,
    input: &QuorumInput,
    order: &mut std::slice::Iter<'_, String>,
    accepted: &[(String, Share)],
    tried: &[String],
    ui: &mut dyn Ui,
) -> std::result::Result<Option<(String, bool)>, UiError> {
    let remote = |n: &String| input.remote.names.contains(n);
    if !input.order.is_empty() {
        return Ok(order.next().map(|n| (n.clone(), remote(n))));
    }
    let t = manifest.threshold as usize;
    let remaining: Vec<String> = manifest
        .custodians
        .iter()
        .map(|c| c.name.to_string())
        .filter(|n| !tried.contains(n))
        .collect();
    if remaining.len() + accepted.len() < t {
        return Ok(None);
    }
    let mut options = remaining.clone();
    options.extend(remaining.iter().map(|n| format!("{n} (remote)")));
    let i = ui.choose(
        &format!("unseal.custodian.{}", accepted.len() + 1),
        &format!(
            "Custodian {} of {t}: who presents their share? (NAME (remote): not at this machine)",
            accepted.len() + 1
        ),
        &options,
    )?;
    let n = remaining.len();
    Ok(remaining
        .get(i % n.max(1))
        .filter(|_| i < 2 * n)
        .map(|name| (name.clone(), i >= n || remote(name))))
}

/// One try: commitment, token, envelope binding. Returns the share and the
/// fingerprint of the token that opened it.
fn present(
    p: &Presentation<'_>,
    record: &CustodianRecord,
    identities: &[SuppliedIdentity],
    ui: &mut dyn Ui,
) -> std::result::Result<(Share, String), Failed> {
    let rejected = |e: &dyn std::fmt::Display| Failed::Rejected(e.to_string(), Map::new());
    let file = p.vault.read_data(&record.share).map_err(|e| rejected(&e))?;
    if !crate::secret::ct_eq(sha256_hex(&file).as_bytes(), record.commitment.as_bytes()) {
        return Err(Failed::Rejected(
            format!(
                "{}'s share file does not match its commitment in the manifest (altered or substituted); restore it from a backup copy",
                record.name
            ),
            Map::new(),
        ));
    }
    let opened = token::open_share(
        &record.name,
        &record.tokens,
        &file,
        identities,
        p.fingerprint,
        ui,
    )
    .map_err(|e| match interruption(e) {
        Ok(interrupted) => Failed::Interrupted(interrupted),
        Err(e) => rejected(&e),
    })?;
    let env = Envelope::decode(opened.plaintext.expose())
        .map_err(|e| Failed::Rejected(format!("{}'s {e}", record.name), Map::new()))?;
    let vault_id = p.manifest.vault_id_bytes().map_err(|e| rejected(&e))?;
    env.check_binding(
        &vault_id,
        p.manifest.generation,
        &record.name,
        p.manifest.threshold,
        record.x,
    )
    .map_err(|e| Failed::Rejected(format!("{}'s {e}", record.name), Map::new()))?;
    Ok((env.share, opened.token))
}

/// The interruption inside a token error, or the error itself.
fn interruption(e: TokenError) -> std::result::Result<UiError, TokenError> {
    match e {
        TokenError::Ui(u @ UiError::Interrupted { .. }) => Ok(u),
        TokenError::Yubikey(token::yubikey::YubikeyError::Ui(u @ UiError::Interrupted { .. })) => {
            Ok(u)
        }
        e => Err(e),
    }
}

/// Whether the quorum can only be reached with YubiKeys at this machine, so
/// the smart-card service must answer before the request is logged (a
/// remote custodian's YubiKey is at their own machine).
pub fn needs_pcscd(manifest: &Manifest, remote: &[String]) -> bool {
    let without_yubikey = manifest
        .custodians
        .iter()
        .filter(|c| {
            remote.iter().any(|r| c.name == r.as_str())
                || c.tokens
                    .iter()
                    .any(|t| !matches!(t, TokenDescriptor::Yubikey(_)))
        })
        .count();
    without_yubikey < manifest.threshold as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{AttestationRecord, YubikeyDescriptor};

    fn yubikey(serial: u32) -> TokenDescriptor {
        TokenDescriptor::Yubikey(YubikeyDescriptor {
            recipient: String::new(),
            serial,
            slot: "82".into(),
            firmware: "5.7.1".into(),
            pin_policy: "once".parse().unwrap(),
            touch_policy: "always".parse().unwrap(),
            attestation: AttestationRecord {
                slot_cert: String::new(),
                f9_cert: String::new(),
                pki: "test".into(),
            },
        })
    }

    fn software() -> TokenDescriptor {
        TokenDescriptor::Software {
            recipient: String::new(),
            signing_key: None,
        }
    }

    fn record(name: &str, tokens: Vec<TokenDescriptor>) -> CustodianRecord {
        CustodianRecord {
            commitment: String::new(),
            name: crate::names::CustodianName::parse(name).unwrap(),
            share: String::new(),
            tokens,
            x: 1,
        }
    }

    #[test]
    fn announce_says_who_is_done_and_which_token_comes_next() {
        let bob = record("bob", vec![yubikey(99_100_012), yubikey(99_100_013)]);
        assert_eq!(
            announce(Some("alice".into()), &bob),
            "alice: done, remove your token. Next: bob, insert YubiKey 99100012 or 99100013"
        );
        assert_eq!(
            announce(None, &bob),
            "bob: presenting share; bob, insert YubiKey 99100012 or 99100013"
        );
        let carol = record("carol", vec![software()]);
        assert_eq!(announce(None, &carol), "carol: presenting share");
        assert_eq!(
            announce(Some("alice".into()), &carol),
            "alice: done, remove your token. Next: carol"
        );
    }
}
