//! Interop with a tool nobody here wrote: Debian's `yubico-piv-tool`.
//! Skipped (with a printed reason) when the tool is absent or when the running
//! pcscd is not ours (its reader name would not match "Yubikey").

use std::process::Command;

use virtual_yubikey::harness::{pcscd_answers, Harness};
use virtual_yubikey::FW_5_4_3;

#[test]
fn yubico_piv_tool_status_shows_serial_and_version() {
    if Command::new("yubico-piv-tool")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: yubico-piv-tool not installed (apt-get install yubico-piv-tool)");
        return;
    }
    let system_pcscd = pcscd_answers()
        && !std::path::Path::new(virtual_yubikey::harness::STATE_DIR)
            .join("pcscd.pid")
            .exists();
    let harness = Harness::acquire().expect("harness");
    if system_pcscd {
        eprintln!("SKIPPED: a pcscd not started by the harness is running; its reader is not named like a YubiKey");
        return;
    }
    let card = harness.insert_fresh(FW_5_4_3).expect("insert");
    // yubico-piv-tool picks the first reader matching "Yubikey"; select ours by full name.
    let reader = format!(
        "{} 00 0{}",
        virtual_yubikey::harness::READER_NAME,
        harness.port() - virtual_yubikey::transport::VPCD_PORT_0
    );
    let out = Command::new("yubico-piv-tool")
        .args(["-r", &reader, "-a", "status"])
        .output()
        .expect("run yubico-piv-tool");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Version:\t5.4.3"), "{stdout}");
    assert!(
        stdout.contains(&format!("Serial Number:\t{}", card.serial())),
        "{stdout}"
    );
    assert!(stdout.contains("PIN tries left:\t3"), "{stdout}");
}
