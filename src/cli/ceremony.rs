//! The ceremonies that need a quorum or create a vault: `init`, `unseal`,
//! `reseal`, `rekey`, `migrate`. Each handler checks its flags, reads its
//! inputs, runs the library ceremony and prints the result.

use std::io::IsTerminal;
use std::path::PathBuf;

use breakglass::ceremony::{init, unseal};
use breakglass::error::{Error, Result};
use breakglass::payload;
use breakglass::token::CustodianDescriptor;

use super::args::{InitArgs, MigrateArgs, RekeyArgs, ResealArgs, UnsealArgs};
use super::input::{make_ui, parse_duration, read_secret_input, trust_anchors};
use super::out::errln;
use super::output;

pub(crate) fn run_init(a: InitArgs) -> Result<u8> {
    let custodians = a
        .custodians
        .iter()
        .map(|p| CustodianDescriptor::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    breakglass::ceremony::check_custodians(&custodians, a.threshold)?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let entries = match &a.entries {
        Some(p) => payload::parse_entries(&read_secret_input(p, "entries file")?)?,
        None => output::prompt_entries(ui.as_mut())?,
    };
    let sealed = init::init(
        init::InitOptions {
            dir: a.vault.clone(),
            threshold: a.threshold,
            custodians,
            entries,
            anchors: trust_anchors()?,
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

pub(crate) fn run_unseal(a: UnsealArgs) -> Result<u8> {
    let secs = parse_duration(&a.session)?;
    unseal::check_session(secs)?;
    a.what.check()?;
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let session = unseal::unseal(
        unseal::UnsealOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            entries: a.entries.clone(),
            session_secs: secs,
            quorum,
        },
        ui.as_mut(),
    )?;
    let interactive =
        !a.common.json && std::io::stdout().is_terminal() && a.common.answers.is_none();
    output::present_session(session, &a.reveal_seed, interactive, a.common.json)
}

pub(crate) fn run_reseal(a: ResealArgs) -> Result<u8> {
    use breakglass::ceremony::reseal::{self, Change};
    a.what.check()?;
    let policy = breakglass::passgen::Policy {
        length: a.length,
        symbols: !a.no_symbols,
        ..Default::default()
    };
    policy
        .validate()
        .map_err(|e| Error::Usage(format!("password policy: {e}")))?;
    let mut changes: Vec<Change> = Vec::new();
    changes.extend(a.set.iter().cloned().map(Change::Set));
    changes.extend(
        a.generate
            .iter()
            .map(|n| Change::Generate(n.clone(), policy.clone())),
    );
    changes.extend(a.new_totp.iter().cloned().map(Change::NewTotp));
    changes.extend(a.remove.iter().cloned().map(Change::Remove));
    if let Some(p) = &a.add {
        changes.extend(
            payload::parse_entries(&read_secret_input(p, "entries file")?)?
                .into_iter()
                .map(Change::Add),
        );
    }
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    if a.common.json {
        // The new values belong in the machine-readable output, not stderr.
        output::new_values_as_json_lines();
    }
    let sealed = reseal::reseal(
        reseal::ResealOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            changes,
            quorum,
            purpose: "reseal",
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

pub(crate) fn run_rekey(a: RekeyArgs) -> Result<u8> {
    use breakglass::ceremony::rekey;
    a.what.check()?;
    let read_all = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| CustodianDescriptor::read(p))
            .collect::<Result<Vec<_>, _>>()
    };
    let changes = rekey::CustodianChanges {
        add: read_all(&a.add)?,
        remove: a.remove.clone(),
        replace: read_all(&a.replace)?,
        threshold: a.threshold,
    };
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let sealed = rekey::rekey(
        rekey::RekeyOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            changes,
            anchors: trust_anchors()?,
            quorum,
        },
        ui.as_mut(),
    )?;
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}

pub(crate) fn run_migrate(a: MigrateArgs) -> Result<u8> {
    use breakglass::ceremony::migrate;
    a.what.check()?;
    let quorum = a.quorum.input()?;
    let mut ui = make_ui(a.common.answers.as_deref())?;
    let sealed = migrate::migrate(
        migrate::MigrateOptions {
            dir: a.what.vault.clone(),
            ticket: a.what.ticket.clone(),
            reason: a.what.reason.clone(),
            quorum,
        },
        ui.as_mut(),
    )?;
    if !a.common.json {
        errln!(
            "The vault is now format 2. Write its fingerprint on paper; it never changes again: {}",
            sealed.fingerprint
        );
    }
    output::print_sealed(&sealed, a.common.json)?;
    Ok(0)
}
