//! Serves one virtual YubiKey through pcscd until stdin closes or the process
//! is killed, for shell-level interop (yubico-piv-tool, age-plugin-yubikey).
//!
//! ```text
//! virtual-yubikey --serial 99000001 --firmware 5.4.3|5.7.1 [--port 35963]
//!                 [--pin PIN] [--puk PUK] [--touch immediate|never]
//!                 [--print-root PATH]
//! ```
//! Without `--port`, a harness is acquired: a private pcscd is started if none
//! runs, a free vpcd slot is locked, and pcscd is stopped on exit (stdin EOF).
//! With `--port`, the card connects to that vpcd port of a pcscd you run.
#![forbid(unsafe_code)]

use std::io::Read;
use std::process::ExitCode;

use virtual_yubikey::harness::{is_test_serial, Harness, READER_NAME};
use virtual_yubikey::{Config, Touch, VirtualYubiKey};

struct Plan {
    config: Config,
    port: Option<u16>,
    print_root: Option<String>,
}

fn parse(args: &[String]) -> Result<Plan, String> {
    let mut serial = None;
    let mut firmware = None;
    let mut port = None;
    let mut pin = None;
    let mut puk = None;
    let mut touch = Touch::Immediate;
    let mut print_root = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--serial" => serial = Some(value()?.parse::<u32>().map_err(|e| e.to_string())?),
            "--firmware" => {
                let v = value()?;
                let parts: Vec<u8> = v
                    .split('.')
                    .map(|p| p.parse::<u8>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("bad firmware {v}, expected e.g. 5.7.1"))?;
                firmware = Some(
                    <[u8; 3]>::try_from(parts.as_slice())
                        .map_err(|_| format!("bad firmware {v}, expected e.g. 5.7.1"))?,
                );
            }
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
        port,
        print_root,
    })
}

fn run(plan: Plan) -> Result<(), String> {
    if let Some(path) = &plan.print_root {
        let contents = if path.ends_with(".der") {
            virtual_yubikey::test_attestation_root_der()
        } else {
            virtual_yubikey::test_attestation_root_pem().into_bytes()
        };
        std::fs::write(path, contents).map_err(|e| format!("writing {path}: {e}"))?;
    }
    let serial = plan.config.serial;
    let (_harness, mut card, port) = match plan.port {
        Some(port) => (None, VirtualYubiKey::new(plan.config), port),
        None => {
            let h = Harness::acquire().map_err(|e| format!("harness: {e}"))?;
            let port = h.port();
            (Some(h), VirtualYubiKey::new(plan.config), port)
        }
    };
    card.insert(port)
        .map_err(|e| format!("inserting into vpcd port {port}: {e}"))?;
    println!("virtual YubiKey serial {serial} inserted on vpcd port {port} (private reader name: \"{READER_NAME}\"); close stdin to remove");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    card.remove();
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("usage: virtual-yubikey --serial N --firmware 5.4.3|5.7.1 [--port 35963] [--pin PIN] [--puk PUK] [--touch immediate|never] [--print-root PATH(.pem|.der)]");
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
