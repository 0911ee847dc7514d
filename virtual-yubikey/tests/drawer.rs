//! The `virtual-yubikey drawer` process through the real pcscd: three named
//! cards through two vpcd slots, a PIN changed by the `yubikey` crate survives
//! removal and a restart of the emulator process, state files are 0600, and
//! bad commands are answered with an error line, not a crash; a single card
//! with `--state FILE` keeps its PUK across remove/insert and a restart.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use virtual_yubikey::harness::fresh_serial;
use yubikey::{Serial, YubiKey};

struct DrawerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl DrawerProcess {
    fn start(dir: &std::path::Path, cards: &[String]) -> DrawerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_virtual-yubikey"));
        cmd.arg("drawer").arg("--dir").arg(dir);
        for c in cards {
            cmd.arg("--card").arg(c);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn virtual-yubikey drawer");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut d = DrawerProcess {
            child,
            stdin,
            stdout,
        };
        let ready = d.line();
        assert!(ready.starts_with("ok ready"), "{ready}");
        let _list = d.line();
        d
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).expect("drawer output");
        s.trim_end().to_owned()
    }

    fn cmd(&mut self, c: &str) -> String {
        writeln!(self.stdin, "{c}").unwrap();
        self.line()
    }

    fn quit(mut self) {
        writeln!(self.stdin, "quit").unwrap();
        let bye = self.line();
        assert!(bye.starts_with("ok all cards removed"), "{bye}");
        assert!(self.child.wait().unwrap().success());
    }
}

#[test]
fn three_cards_two_slots_state_survives_removal_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let drawer_dir = dir.path().join("cards");
    let serials: Vec<u32> = (0..3).map(|_| fresh_serial().unwrap()).collect();
    let names = ["alice", "bob", "carol"];
    let cards: Vec<String> = names
        .iter()
        .zip(&serials)
        .map(|(n, s)| format!("{n}:{s}:5.7.1"))
        .collect();

    let mut d = DrawerProcess::start(&drawer_dir, &cards);
    assert_eq!(d.cmd("insert alice"), "ok alice inserted in slot 0");
    assert_eq!(d.cmd("insert bob"), "ok bob inserted in slot 1");
    assert!(d
        .cmd("insert carol")
        .starts_with("error both vpcd slots are full"));
    {
        let mut yk = YubiKey::open_by_serial(Serial(serials[0])).expect("alice through pcscd");
        yk.change_pin(b"123456", b"246802")
            .expect("change alice's PIN");
        assert!(yk.verify_pin(b"111111").is_err());
    }
    let state = d.cmd("state alice");
    assert_eq!(state, "ok alice PIN 2/3 PUK 3/3 default PIN false keys []");
    assert_eq!(d.cmd("remove alice"), "ok alice removed");
    assert!(YubiKey::open_by_serial(Serial(serials[0])).is_err());
    assert_eq!(d.cmd("insert carol"), "ok carol inserted in slot 0");
    YubiKey::open_by_serial(Serial(serials[2])).expect("carol, the third card");
    assert!(d.cmd("insert dave").starts_with("error no card named dave"));
    assert!(d.cmd("frobnicate").starts_with("error unknown command"));
    let list = d.cmd("list");
    assert!(
        list.contains(&format!("alice {} 5.7.1 out", serials[0])),
        "{list}"
    );
    assert!(list.contains("carol") && list.contains("slot 0"), "{list}");
    d.quit();

    for n in names {
        let mode = std::fs::metadata(drawer_dir.join(format!("{n}.card")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{n}.card");
    }
    let dir_mode = std::fs::metadata(&drawer_dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    // A new process, no --card flags: the cards come back from their files.
    let mut d = DrawerProcess::start(&drawer_dir, &[]);
    assert_eq!(
        d.cmd("state alice"),
        "ok alice PIN 2/3 PUK 3/3 default PIN false keys []"
    );
    assert_eq!(d.cmd("insert alice"), "ok alice inserted in slot 0");
    {
        let mut yk = YubiKey::open_by_serial(Serial(serials[0])).expect("alice again");
        assert_eq!(yk.get_pin_retries().unwrap(), 2, "retry counter kept");
        assert!(
            yk.verify_pin(b"123456").is_err(),
            "factory PIN after restart"
        );
        yk.verify_pin(b"246802")
            .expect("PIN set before the restart");
    }
    d.quit();
}

#[test]
fn single_card_with_a_state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("solo.card");
    let serial = fresh_serial().unwrap().to_string();
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_virtual-yubikey"))
            .args(["--serial", &serial, "--firmware", "5.4.3", "--state"])
            .arg(&state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn virtual-yubikey");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("inserted"), "{line}");
        (child, out)
    };
    let (mut child, mut out) = start();
    {
        let mut yk = YubiKey::open_by_serial(Serial(serial.parse().unwrap())).expect("open");
        yk.change_puk(b"12345678", b"87654321").expect("change PUK");
    }
    // remove / insert on stdin keep the card.
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "remove").unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ok removed");
    assert!(YubiKey::open_by_serial(Serial(serial.parse().unwrap())).is_err());
    writeln!(stdin, "insert").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ok inserted");
    drop(child.stdin.take()); // EOF: remove and exit
    assert!(child.wait().unwrap().success());
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let (mut child, _out) = start();
    {
        let mut yk = YubiKey::open_by_serial(Serial(serial.parse().unwrap())).expect("again");
        yk.change_puk(b"87654321", b"12345678")
            .expect("the PUK set before the restart");
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
