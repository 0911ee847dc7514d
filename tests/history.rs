//! Format 2 over the life of a vault: one fingerprint from setup to the end
//! across reseals and rekeys, every generation certified from it, and `log
//! verify` saying so with no secret; format 1 vaults stay readable and a
//! quorum migrates them (the history kept and chained), crash-safely.

mod common;

use common::{run, Fixture};
use serde_json::Value;

fn answers(f: &Fixture) {
    let mut p = serde_json::Map::new();
    for n in common::NAMES.iter().take(f.n) {
        p.insert((*n).into(), common::passphrase(n).into());
    }
    f.write_answers(serde_json::json!({
        "passphrases": p,
        "confirm": {"reseal.provider-updated": true, "rekey.proceed": true},
    }));
}

fn quorum_args(f: &Fixture, cmd: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        cmd,
        "--vault",
        &f.vault(),
        "--ticket",
        "CHG-1",
        "--reason",
        "periodic",
        "--answers",
        &f.path("answers.json"),
        "--json",
        "--identity",
        &f.identity("alice"),
        "--identity",
        &f.identity("bob"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn sealed_fingerprint(r: &common::Run) -> String {
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    v["fingerprint"].as_str().unwrap().to_owned()
}

#[test]
fn ten_reseals_and_rekeys_keep_one_fingerprint_and_certify_every_generation() {
    let f = Fixture::new(3, 2);
    answers(&f);
    let setup = {
        let r = run(&["log", "verify", "--vault", &f.vault(), "--json"], "");
        let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        v["fingerprint"].as_str().unwrap().to_owned()
    };
    let mut threshold = 2;
    let carol = f.identity("carol");
    for i in 0..10 {
        let mut extra: Vec<&str> = Vec::new();
        let cmd = if i % 2 == 0 {
            "reseal"
        } else {
            extra.extend(["--threshold", if threshold == 2 { "3" } else { "2" }]);
            "rekey"
        };
        // With a threshold of 3, carol presents too.
        if threshold == 3 {
            extra.extend(["--identity", &carol]);
        }
        let args = quorum_args(&f, cmd, &extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args, "");
        assert_eq!(sealed_fingerprint(&r), setup, "ceremony {i} ({cmd})");
        if cmd == "rekey" {
            threshold = 5 - threshold;
        }
    }
    let r = run(&["log", "verify", "--vault", &f.vault()], "");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "11 generations certified from vault fingerprint {setup} up to the current manifest (generation 11)"
        )),
        "{}",
        r.stdout
    );
    let v: Value = serde_json::from_str(
        run(&["log", "verify", "--vault", &f.vault(), "--json"], "")
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(v["fingerprint"], setup.as_str());
    assert_eq!(v["certified_generations"], 11);
    assert_eq!(v["signatures"]["forged"], 0);
    assert!(v["signatures"]["quorum"].as_u64().unwrap() >= 15);
}
