//! Governance on a 1,000,000-entry log: `status`, `report`, `log verify`
//! (chain + anchor) and `log export`, each one streaming pass. Prints
//! seconds, entries/s and peak RSS (VmHWM, reset between phases through
//! /proc/self/clear_refs when the kernel allows it).
//!
//! Run: `cargo bench --bench governance` (ENTRIES=N to change the size).

use std::io::{BufWriter, Write};
use std::time::Instant;

use breakglass::clock::Timestamp;
use breakglass::governance::{self, report};
use breakglass::log::{self, events, Log};
use breakglass::log_data;
use breakglass::manifest::{CustodianRecord, Manifest, PayloadRef};

const VAULT: &str = "00112233445566778899aabbccddeeff";

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn phase(name: &str, n: u64, f: impl FnOnce() -> String) {
    let reset = reset_hwm();
    let t = Instant::now();
    let what = f();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name:<12} {s:>7.2} s  {:>10.0} entries/s  peak RSS {:>7} KiB{}  ({what})",
        n as f64 / s,
        vm_hwm_kib(),
        if reset { "" } else { " (process peak)" }
    );
}

fn main() {
    let n: u64 = std::env::var("ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.jsonl");
    let start = Timestamp::parse("2016-01-01T00:00:00Z").expect("time");
    let mut anchor = None;
    phase("generate", n, || {
        let mut w = BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut log = Log::at_head(&path, VAULT, None);
        let names = ["alice", "bob", "carol"];
        for i in 0..n {
            let t = start.plus(i as i64 * 300);
            let cycle = i / 10;
            let (ev, data) = match i % 10 {
                0 => (
                    events::UNSEAL_REQUESTED,
                    log_data! {"ticket" => format!("INC-{cycle}"), "reason" => "idp-outage: bench"},
                ),
                1 | 2 => (
                    events::SHARE_ACCEPTED,
                    log_data! {"custodian" => names[(i % 10) as usize - 1], "request" => i},
                ),
                3 => (
                    events::UNSEAL_GRANTED,
                    log_data! {"ticket" => format!("INC-{cycle}"),
                    "reason" => if cycle % 7 == 0 { "curious" } else { "idp-outage: bench" },
                    "custodians" => ["alice", "bob"], "entries" => ["aws-root"],
                    "session_limit_s" => 900, "request" => i - 3},
                ),
                4 => (
                    events::SESSION_ENDED,
                    log_data! {"grant" => i, "duration_s" => 300, "how" => "closed"},
                ),
                5 => (
                    events::SEALED,
                    log_data! {"reason" => "reseal", "generation" => cycle + 2},
                ),
                6 => (
                    events::REVIEW_RECORDED,
                    log_data! {"grants" => [i - 2], "ticket" => format!("INC-{cycle}"), "complete" => true},
                ),
                7 => (events::DRILL_REQUESTED, log_data! {"kind" => "quorum"}),
                8 => (
                    events::DRILL,
                    log_data! {"kind" => "quorum", "custodians" => ["bob", "carol"], "result" => "ok"},
                ),
                _ => (
                    events::DRILL,
                    log_data! {"kind" => "custodian", "custodian" => "alice", "result" => "ok"},
                ),
            };
            let (line, head) = log.build_line(ev, 1, data, t, None).expect("line");
            w.write_all(line.as_bytes()).expect("write");
            if i == 0 {
                anchor = Some(head.clone());
            }
            log = Log::at_head(&path, VAULT, Some(head));
        }
        w.flush().expect("flush");
        format!(
            "{} MiB",
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >> 20
        )
    });
    let anchor = anchor.expect("anchor");
    let manifest = Manifest {
        created: start.to_rfc3339(),
        custodians: ["alice", "bob", "carol"]
            .iter()
            .enumerate()
            .map(|(i, c)| CustodianRecord {
                commitment: "00".repeat(32),
                name: (*c).into(),
                share: String::new(),
                tokens: vec![],
                x: i as u8 + 1,
            })
            .collect(),
        entries: vec![],
        format: breakglass::manifest::FORMAT.into(),
        generation: 1,
        log_head: anchor.clone(),
        mac: String::new(),
        payload: PayloadRef {
            digest: String::new(),
            file: String::new(),
        },
        sealed: start.to_rfc3339(),
        threshold: 2,
        vault_id: VAULT.into(),
    };
    let now = start.plus(n as i64 * 300);
    phase("log verify", n, || {
        let r = log::verify(&path, Some(&anchor), |_| {}).expect("verify");
        format!("{} entries, intact {}", r.entries, r.is_intact())
    });
    phase("status", n, || {
        let s = governance::status(&path, &manifest, now).expect("status");
        format!(
            "{} activations, {} obligations, exit {}",
            s.activations,
            s.obligations.len(),
            s.exit_code()
        )
    });
    phase("report", n, || {
        let sc = report::Scenarios::parse(b"idp-outage bench\n").expect("scenarios");
        let r = report::report(&path, Some(&anchor), None, None, Some(sc), now).expect("report");
        let html = governance::html::render(&r, VAULT);
        format!(
            "{} quarters, {} activations, {} outside, html {} KiB",
            r.quarters.len(),
            r.total.activations,
            r.total.outside_scenarios.unwrap_or(0),
            html.len() >> 10
        )
    });
    phase("log export", n, || {
        let mut sink = std::io::sink();
        let (_, written) =
            governance::export::export(&path, Some(&anchor), 0, &mut sink).expect("export");
        format!("{written} lines")
    });
}
