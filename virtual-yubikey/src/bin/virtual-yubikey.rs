//! Serves virtual YubiKeys through pcscd, for shell-level interop (ykman,
//! yubico-piv-tool, age-plugin-yubikey) and ceremony rehearsals.
//!
//! ```text
//! virtual-yubikey --serial 99000001 --firmware 5.4.3|5.7.1 [--state FILE]
//!                 [--port 35963] [--pin PIN] [--puk PUK]
//!                 [--touch immediate|never] [--print-root PATH(.pem|.der)]
//! virtual-yubikey drawer --dir DIR [--card NAME:SERIAL[:FIRMWARE]]...
//!                 [--print-root PATH(.pem|.der)]
//! ```
//! One card: inserted at once; stdin lines `remove`, `insert`, `quit`; stdin
//! EOF removes it and exits. With `--state FILE` its state is loaded from /
//! kept in FILE (0600), so a restart is not a factory reset.
//! Drawer: named cards with state files `DIR/NAME.card` (existing ones are
//! loaded, `--card` adds new ones), none inserted; stdin commands `insert
//! NAME`, `remove NAME`, `list`, `state NAME`, `quit` (see
//! `virtual_yubikey::drawer`); each answered with one `ok …`/`error …` line.
//!
//! Without `--port`, a harness is acquired (the drawer takes both slots): a
//! private pcscd is started if none runs, and stopped when its last user exits.
//! With `--port`, the card connects to that vpcd port of a pcscd you run.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use virtual_yubikey::drawer::Drawer;
use virtual_yubikey::harness::{is_test_serial, Harness, READER_NAME};
use virtual_yubikey::{Config, Touch, VirtualYubiKey};

struct Plan {
    config: Config,
    state: Option<PathBuf>,
    port: Option<u16>,
    print_root: Option<String>,
}

struct DrawerPlan {
    dir: PathBuf,
    cards: Vec<(String, Config)>,
    print_root: Option<String>,
}

fn parse_firmware(v: &str) -> Result<[u8; 3], String> {
    let parts: Vec<u8> = v
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bad firmware {v}, expected e.g. 5.7.1"))?;
    <[u8; 3]>::try_from(parts.as_slice())
        .map_err(|_| format!("bad firmware {v}, expected e.g. 5.7.1"))
}

fn parse_drawer(args: &[String]) -> Result<DrawerPlan, String> {
    let mut dir = None;
    let mut cards = Vec::new();
    let mut print_root = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--card" => {
                let v = value()?;
                let parts: Vec<&str> = v.split(':').collect();
                let (name, serial, firmware) = match parts.as_slice() {
                    [n, s] => (*n, *s, "5.7.1"),
                    [n, s, f] => (*n, *s, *f),
                    _ => return Err(format!("--card {v}: expected NAME:SERIAL[:FIRMWARE]")),
                };
                let serial = serial
                    .parse::<u32>()
                    .map_err(|_| format!("--card {v}: bad serial {serial}"))?;
                cards.push((
                    name.to_owned(),
                    Config::new(serial, parse_firmware(firmware)?),
                ));
            }
            "--print-root" => print_root = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(DrawerPlan {
        dir: dir.ok_or("--dir is required")?,
        cards,
        print_root,
    })
}

fn parse(args: &[String]) -> Result<Plan, String> {
    let mut serial = None;
    let mut firmware = None;
    let mut port = None;
    let mut pin = None;
    let mut puk = None;
    let mut touch = Touch::Immediate;
    let mut print_root = None;
    let mut state = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--serial" => serial = Some(value()?.parse::<u32>().map_err(|e| e.to_string())?),
            "--firmware" => firmware = Some(parse_firmware(&value()?)?),
            "--state" => state = Some(PathBuf::from(value()?)),
            "--port" => port = Some(value()?.parse::<u16>().map_err(|e| e.to_string())?),
            "--pin" => pin = Some(value()?.into_bytes()),
            "--puk" => puk = Some(value()?.into_bytes()),
            "--touch" => {
                touch = match value()?.as_str() {
                    "immediate" => Touch::Immediate,
                    "never" => Touch::Never,
                    other => return Err(format!("--touch {other}: expected immediate or never")),
                }
            }
            "--print-root" => print_root = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let serial = serial.ok_or("--serial is required")?;
    if !is_test_serial(serial) {
        return Err(format!(
            "serial {serial} is outside the reserved test range 99000000..=99999999"
        ));
    }
    let mut config = Config::new(serial, firmware.ok_or("--firmware is required")?);
    for (name, v) in [("--pin", &pin), ("--puk", &puk)] {
        if v.as_ref().is_some_and(|v| !(6..=8).contains(&v.len())) {
            return Err(format!("{name} must be 6 to 8 characters"));
        }
    }
    if let Some(pin) = pin {
        config.pin = pin;
    }
    if let Some(puk) = puk {
        config.puk = puk;
    }
    config.touch = touch;
    Ok(Plan {
        config,
        state,
        port,
        print_root,
    })
}

fn write_root(path: &str) -> Result<(), String> {
    let contents = if path.ends_with(".der") {
        virtual_yubikey::test_attestation_root_der()
    } else {
        virtual_yubikey::test_attestation_root_pem().into_bytes()
    };
    std::fs::write(path, contents).map_err(|e| format!("writing {path}: {e}"))
}

/// Prints an answer line and flushes (the reader may be a script on a pipe).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run_drawer(plan: DrawerPlan) -> Result<(), String> {
    if let Some(path) = &plan.print_root {
        write_root(path)?;
    }
    let [a, b] = Harness::acquire_pair().map_err(|e| format!("harness: {e}"))?;
    let mut drawer = Drawer::open(&plan.dir, vec![a.port(), b.port()])?;
    for (name, config) in plan.cards {
        drawer.add(&name, config)?;
    }
    say(&format!(
        "ok ready: {} card(s) in {}; reader \"{READER_NAME}\" slots 0 and 1; commands: insert NAME | remove NAME | list | state NAME | quit",
        drawer.list().len(),
        plan.dir.display()
    ));
    say(&format!("ok {}", drawer.list().join("; ")));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "quit" {
            break;
        }
        say(&drawer.command(&line));
    }
    drawer.remove_all();
    say("ok all cards removed; state saved");
    drop(drawer);
    drop((a, b));
    Ok(())
}

fn run(plan: Plan) -> Result<(), String> {
    if let Some(path) = &plan.print_root {
        write_root(path)?;
    }
    let serial = plan.config.serial;
    let mut card = match &plan.state {
        Some(path) => VirtualYubiKey::with_state_file(plan.config, Path::new(path))?,
        None => VirtualYubiKey::new(plan.config),
    };
    let (_harness, port) = match plan.port {
        Some(port) => (None, port),
        None => {
            let h = Harness::acquire().map_err(|e| format!("harness: {e}"))?;
            let port = h.port();
            (Some(h), port)
        }
    };
    card.insert(port)
        .map_err(|e| format!("inserting into vpcd port {port}: {e}"))?;
    say(&format!("virtual YubiKey serial {serial} inserted on vpcd port {port} (private reader name: \"{READER_NAME}\"); stdin: remove | insert | quit (or close stdin)"));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "quit" => break,
            "remove" => {
                card.remove();
                say("ok removed");
            }
            "insert" => match card.insert(port) {
                Ok(()) => say("ok inserted"),
                Err(e) => say(&format!("error inserting: {e}")),
            },
            other => say(&format!(
                "error unknown command {other:?} (remove | insert | quit)"
            )),
        }
    }
    card.remove();
    card.save()
        .map_err(|e| format!("saving the card's state: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "drawer") {
        let plan = match parse_drawer(&args[1..]) {
            Ok(p) => p,
            Err(e) => {
                if !e.is_empty() {
                    eprintln!("error: {e}");
                }
                eprintln!("usage: virtual-yubikey drawer --dir DIR [--card NAME:SERIAL[:FIRMWARE]]... [--print-root PATH(.pem|.der)]");
                return ExitCode::from(2);
            }
        };
        return match run_drawer(plan) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let plan = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("usage: virtual-yubikey --serial N --firmware 5.4.3|5.7.1 [--state FILE] [--port 35963] [--pin PIN] [--puk PUK] [--touch immediate|never] [--print-root PATH(.pem|.der)]");
            return ExitCode::from(2);
        }
    };
    match run(plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
