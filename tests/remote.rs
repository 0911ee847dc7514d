//! Remote custodians (issue 12, docs/remote.md) through the real binary:
//! a quorum ceremony on the air-gapped vault machine writes a request for a
//! custodian who is elsewhere, shows a code the lead reads aloud, and waits
//! for the signed response that `breakglass respond` makes on the
//! custodian's laptop (a second directory here, with the custodian's own copy
//! of their identity). Each attack a relay can mount on the two files is
//! refused with its own message, and nothing is granted.
//!
//! Ceremonies run as background children (they wait for a file); every wait
//! has a deadline and every child is killed by its PID if a test fails.

mod common;
#[path = "support/remote_kit.rs"]
mod remote_kit;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{passphrase, run, Fixture, Run, PASSWORD};
use remote_kit::*;

/// What the lead's vault machine knows of a vault: the fixture, and the
/// fingerprint on the custodians' paper cards.
struct Site {
    f: Fixture,
    fingerprint: String,
    vault_id: String,
    ceremonies: std::cell::Cell<usize>,
    /// Environment of every ceremony (the test attestation root).
    env: Vec<(String, String)>,
}

impl Site {
    fn new() -> Site {
        Site::from(Fixture::new(3, 2))
    }

    fn from(f: Fixture) -> Site {
        let r = run(&["status", "--vault", &f.vault(), "--json"], "");
        let v: Value = serde_json::from_str(r.stdout.trim())
            .unwrap_or_else(|e| panic!("status --json ({e}): {} {}", r.stdout, r.stderr));
        let fingerprint = v["fingerprint"].as_str().expect("fingerprint").to_owned();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(f.vault_path().join("manifest.json")).unwrap())
                .unwrap();
        Site {
            vault_id: manifest["vault_id"].as_str().unwrap().to_owned(),
            f,
            fingerprint,
            ceremonies: std::cell::Cell::new(0),
            env: Vec::new(),
        }
    }

    fn log(&self) -> PathBuf {
        self.f.log_path()
    }

    fn granted(&self) -> usize {
        self.f
            .events()
            .iter()
            .filter(|e| *e == "unseal-granted")
            .count()
    }

    /// Starts `unseal` with `local` presenting here (identity files and
    /// their passphrases), `remote` presenting remotely, in `order`. The
    /// answers say where each remote custodian's response will be put; the
    /// vault machine never gets a remote custodian's passphrase.
    fn unseal(&self, order: &[&str], local: &[&str], remote: &[&str], extra: &[&str]) -> Started {
        let n = self.ceremonies.get() + 1;
        self.ceremonies.set(n);
        let outbox = self.f.dir.path().join(format!("outbox-{n}"));
        std::fs::create_dir_all(&outbox).unwrap();
        let inbox = self.f.dir.path().join(format!("inbox-{n}"));
        std::fs::create_dir_all(&inbox).unwrap();
        let mut passphrases = serde_json::Map::new();
        for l in local {
            passphrases.insert((*l).into(), passphrase(l).into());
        }
        let mut text = serde_json::Map::new();
        let mut awaited = Vec::new();
        for r in remote {
            let p = inbox.join(format!("{r}-reply"));
            text.insert(
                format!("remote.{r}.response"),
                p.display().to_string().into(),
            );
            awaited.push(((*r).to_owned(), p));
        }
        let answers = self.f.dir.path().join(format!("vault-answers-{n}.json"));
        write_answers(&answers, &json!({"passphrases": passphrases, "text": text}));
        let mut args: Vec<String> = [
            "unseal",
            "--vault",
            &self.f.vault(),
            "--ticket",
            "INC-12",
            "--reason",
            "IdP outage, bob is abroad",
            "--answers",
            &answers.display().to_string(),
            "--json",
            "--remote-dir",
            &outbox.display().to_string(),
            "--remote-channel",
            "e-mail",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for o in order {
            args.extend(["--custodian".into(), (*o).to_string()]);
        }
        for l in local {
            args.extend(["--identity".into(), self.f.identity(l)]);
        }
        for r in remote {
            args.extend(["--remote".into(), (*r).to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Started {
            before: last_seq(&self.log()),
            ceremony: Ceremony::spawn(
                &args,
                &self
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            ),
            outbox,
            awaited,
        }
    }

    /// A reseal by alice and bob at the vault machine (generation + 1).
    fn reseal(&self) {
        let answers = self.f.path("reseal-answers.json");
        write_answers(
            Path::new(&answers),
            &json!({"passphrases": self.f.passphrases(),
                    "confirm": {"reseal.provider-updated": true}}),
        );
        let r = run(
            &[
                "reseal",
                "--vault",
                &self.f.vault(),
                "--ticket",
                "INC-12",
                "--reason",
                "rotation",
                "--generate",
                "aws-root",
                "--answers",
                &answers,
                "--json",
                "--identity",
                &self.f.identity("alice"),
                "--identity",
                &self.f.identity("bob"),
            ],
            "",
        );
        assert_eq!(r.code, 0, "reseal: {}", r.stderr);
    }

    /// A second vault with the same custodians (the same tokens) in the same
    /// directory: `vault2`.
    fn second_vault(&self) -> Site {
        let f = &self.f;
        let g = Fixture {
            dir: tempfile::tempdir().unwrap(),
            n: 3,
            t: 2,
        };
        for name in ["alice", "bob", "carol"] {
            std::fs::copy(f.identity(name), g.identity(name)).unwrap();
        }
        let r = run(
            &[
                "init",
                "--vault",
                &g.vault(),
                "--threshold",
                "2",
                "--custodian",
                &f.path("alice.custodian.json"),
                "--custodian",
                &f.path("bob.custodian.json"),
                "--custodian",
                &f.path("carol.custodian.json"),
                "--entries",
                "-",
                "--json",
            ],
            &f.entries_json(),
        );
        assert_eq!(r.code, 0, "init vault2: {}", r.stderr);
        Site::from(g)
    }
}

/// A ceremony started by [`Site::unseal`].
struct Started {
    ceremony: Ceremony,
    /// Log seq before the ceremony started.
    before: u64,
    outbox: PathBuf,
    awaited: Vec<(String, PathBuf)>,
}

/// One request as the vault machine wrote it, and the code shown for it.
struct Request {
    path: PathBuf,
    bytes: Vec<u8>,
    json: Value,
    code: String,
}

impl Request {
    fn file_name(&self) -> String {
        self.path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
    fn text_block(&self) -> String {
        std::fs::read_to_string(txt(&self.path)).unwrap()
    }
}

impl Started {
    /// Waits for `name`'s turn: the code on stderr and the request files.
    fn request(&mut self, name: &str, nth: usize) -> Request {
        let code = self.ceremony.code_for(name, nth);
        let (path, bytes, json) = wait_request(&self.outbox, name);
        Request {
            path,
            bytes,
            json,
            code,
        }
    }

    /// Puts `bytes` where the ceremony waits for `name`'s response.
    fn deliver(&self, name: &str, bytes: &[u8]) {
        let p = &self
            .awaited
            .iter()
            .find(|(n, _)| n == name)
            .expect("a remote custodian")
            .1;
        deliver(bytes, p);
    }
}

/// A custodian's laptop: a directory of their own with their own copy of
/// their identity file and an answers file holding only their passphrase.
struct Laptop {
    dir: tempfile::TempDir,
    name: String,
}

impl Laptop {
    fn new(f: &Fixture, name: &str) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            f.identity(name),
            dir.path().join(format!("{name}.identity")),
        )
        .unwrap();
        write_answers(
            &dir.path().join("answers.json"),
            &json!({"passphrases": {name: passphrase(name)}}),
        );
        // No answer at all for the passphrase: a prompt for it would fail
        // with "no answer for 'passphrases.<name>'".
        write_answers(&dir.path().join("no-passphrase.json"), &json!({}));
        Laptop {
            dir,
            name: name.to_owned(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Receives `bytes` as the file `file_name` (the e-mail attachment).
    fn receive(&self, file_name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.path(file_name), bytes).unwrap();
        file_name.to_owned()
    }

    /// `breakglass respond REQUEST --fingerprint FP --code CODE --identity
    /// … --answers ANSWERS` in the laptop's directory.
    fn respond(
        &self,
        request: &str,
        fp: &str,
        code: &str,
        answers: &str,
        env: &[(&str, &str)],
    ) -> Run {
        self.respond_stdin(request, "", fp, code, answers, env)
    }

    fn respond_stdin(
        &self,
        request: &str,
        stdin: &str,
        fp: &str,
        code: &str,
        answers: &str,
        env: &[(&str, &str)],
    ) -> Run {
        let identity = self.path(&format!("{}.identity", self.name));
        let answers = self.path(answers).display().to_string();
        let mut args = vec![
            request,
            "--fingerprint",
            fp,
            "--code",
            code,
            "--answers",
            &answers,
        ];
        // A YubiKey custodian's laptop has no identity file.
        let identity = identity.display().to_string();
        if Path::new(&identity).exists() {
            args.extend(["--identity", &identity]);
        }
        respond(self.dir.path(), &args, stdin, env)
    }

    /// Responses written in the laptop's directory so far.
    fn responses(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.ends_with(".bgresponse") || n.ends_with(".bgresponse.txt")
            })
            .collect();
        v.sort();
        v
    }

    /// Answers `req` honestly; returns the raw response bytes (and checks
    /// its text block decodes to the same bytes).
    fn answer(&self, req: &Request, fp: &str) -> Vec<u8> {
        let file = self.receive(&req.file_name(), &req.bytes);
        let r = self.respond(&file, fp, &req.code, "answers.json", &[]);
        assert_eq!(r.code, 0, "respond: {}", r.stderr);
        let seq = req.json["request_seq"].as_u64().unwrap();
        let out = self.path(&format!("{}-{seq}.bgresponse", self.name));
        let bytes = std::fs::read(&out)
            .unwrap_or_else(|e| panic!("{} ({e}); respond said: {}", out.display(), r.stderr));
        let (decoded, _) = unarmor(&std::fs::read_to_string(txt(&out)).unwrap(), "RESPONSE");
        assert_eq!(decoded, bytes, "the response's text block is another file");
        std::fs::rename(&out, self.path(&format!("answered-{}", sha256_hex(&bytes)))).unwrap();
        std::fs::remove_file(txt(&out)).unwrap();
        bytes
    }
}

fn parse_response(bytes: &[u8]) -> Value {
    let text = std::str::from_utf8(bytes).unwrap();
    breakglass::encoding::parse_canonical(text.strip_suffix('\n').expect("final newline"))
        .expect("a canonical response")
}

fn json_out(r: &Run) -> Value {
    serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr))
}

/// Every file under `dirs` that contains the code (with or without dashes).
fn files_with_code(dirs: &[&Path], code: &str) -> Vec<PathBuf> {
    let bare = code.replace('-', "");
    dirs.iter()
        .flat_map(|d| common::files_under(d))
        .filter(|p| {
            let b = std::fs::read(p).unwrap_or_default();
            let s = String::from_utf8_lossy(&b);
            s.contains(code) || s.contains(&bare)
        })
        .collect()
}

/// The request as docs/remote.md describes it, for `custodian`, in the
/// ceremony that logged `request_seq`.
fn check_request(site: &Site, req: &Request, custodian: &str, presented: &[&str]) {
    let v = &req.json;
    assert_eq!(v["format"], "breakglass-remote-request/1");
    assert_eq!(v["custodian"], custodian);
    assert_eq!(v["vault_id"], site.vault_id.as_str());
    assert_eq!(v["ceremony"], "unseal-requested");
    assert_eq!(v["presented"], json!(presented));
    assert!(
        v["session_key"].as_str().unwrap().starts_with("age1"),
        "{}",
        v["session_key"]
    );
    let seq = v["request_seq"].as_u64().unwrap();
    let all = entries(&site.log());
    let requested = all.iter().find(|e| e["seq"] == seq).expect("request entry");
    assert_eq!(requested["event"], "unseal-requested");
    assert_eq!(req.file_name(), format!("{custodian}-{seq}.bgrequest"));
    // The text block decodes to the same bytes, with the checksum of the spec.
    let (decoded, sum) = unarmor(&req.text_block(), "REQUEST");
    assert_eq!(decoded, req.bytes, "the text block is another request");
    assert_eq!(sum, sha256_hex(&req.bytes)[..8]);
    // The code shown is the one docs/remote.md defines.
    assert_eq!(
        req.code,
        spoken_code(&req.bytes),
        "the code shown is not Argon2id of the request digest as docs/remote.md says"
    );
}

/// The ceremony ended without a grant, refusing `delivered` from bob with
/// `phrase` (on stderr and in the logged `share-rejected`).
fn assert_refused(site: &Site, started: Started, delivered: &[u8], phrase: &str) {
    let granted = site.granted();
    let before = started.before;
    let r = started.ceremony.finish();
    assert_ne!(
        r.code, 0,
        "granted on a bad response ({phrase}): {}",
        r.stdout
    );
    assert!(!r.stdout.contains(PASSWORD), "{}", r.stdout);
    assert!(
        r.stderr.contains(phrase),
        "want {phrase:?} in:\n{}",
        r.stderr
    );
    assert!(r.stderr.contains("not enough"), "{}", r.stderr);
    let all = entries(&site.log());
    assert_eq!(site.granted(), granted);
    assert!(events_after(&all, before, "unseal-granted").is_empty());
    let rejected = events_after(&all, before, "share-rejected");
    let bob: Vec<_> = rejected
        .iter()
        .filter(|e| e["data"]["custodian"] == "bob")
        .collect();
    assert_eq!(bob.len(), 1, "{rejected:?}");
    let d = &bob[0]["data"];
    assert_eq!(d["remote"], true, "{d}");
    assert!(d["why"].as_str().unwrap().contains(phrase), "{d}");
    assert_eq!(d["response"], sha256_hex(delivered), "{d}");
    assert_eq!(site.f.verify_log().code, 0);
}

/// Test 1, software track: alice at the vault machine, bob from his laptop;
/// then both remote, the lead only operating (request by stdin as a text
/// block, responses as a text block and as a raw file).
#[test]
fn software_custodians_present_remotely_and_the_unseal_is_granted() {
    let site = Site::new();
    let bob = Laptop::new(&site.f, "bob");
    let alice = Laptop::new(&site.f, "alice");

    // alice here, bob remote.
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    check_request(&site, &req, "bob", &["alice"]);
    let seq = req.json["request_seq"].as_u64().unwrap();
    let file = bob.receive(&req.file_name(), &req.bytes);
    let r = bob.respond(&file, &site.fingerprint, &req.code, "answers.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Default output: <name>-<seq>.bgresponse in the current directory, and its text block.
    let out = bob.path(&format!("bob-{seq}.bgresponse"));
    let resp_bytes = std::fs::read(&out).unwrap();
    let (decoded, sum) = unarmor(&std::fs::read_to_string(txt(&out)).unwrap(), "RESPONSE");
    assert_eq!(decoded, resp_bytes);
    assert_eq!(sum, sha256_hex(&resp_bytes)[..8]);
    let resp = parse_response(&resp_bytes);
    assert_eq!(resp["format"], "breakglass-remote-response/1");
    assert_eq!(resp["request"], sha256_hex(&req.bytes));
    assert_eq!(resp["custodian"], "bob");
    assert_eq!(resp["vault_id"], site.vault_id.as_str());
    assert_eq!(resp["generation"], 1);
    assert_eq!(resp["alg"], "ed25519");
    s.deliver("bob", &resp_bytes);
    let before = s.before;
    let (outbox, inbox) = (s.outbox.clone(), s.awaited[0].1.clone());
    let r = s.ceremony.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_out(&r);
    assert_eq!(v["entries"][0]["value"], PASSWORD);

    let all = entries(&site.log());
    let requested = events_after(&all, before, "share-requested");
    assert_eq!(requested.len(), 1, "{requested:?}");
    let d = &requested[0]["data"];
    assert_eq!(d["custodian"], "bob");
    assert_eq!(d["request"], seq);
    assert_eq!(d["request_digest"], sha256_hex(&req.bytes));
    assert_eq!(
        d["session_key"],
        sha256_hex(req.json["session_key"].as_str().unwrap().as_bytes()),
        "the log holds the recipient's digest, not the recipient"
    );
    assert_eq!(d["channel"], "e-mail");
    assert_eq!(d["remote"], true);
    assert_eq!(d["expires"], req.json["expires"]);
    let accepted = events_after(&all, before, "share-accepted");
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    let (a, b) = (&accepted[0]["data"], &accepted[1]["data"]);
    assert_eq!(a["custodian"], "alice");
    assert!(
        a.get("remote").is_none() || a["remote"] == false,
        "alice presented here: {a}"
    );
    assert_eq!(b["custodian"], "bob");
    assert_eq!(b["remote"], true, "{b}");
    assert_eq!(b["channel"], "e-mail");
    assert_eq!(b["request"], seq);
    assert_eq!(b["token"], resp["token"]);
    assert_eq!(b["response"], sha256_hex(&resp_bytes));
    let granted = events_after(&all, before, "unseal-granted");
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0]["data"]["remote"], json!(["bob"]));
    assert_eq!(site.f.verify_log().code, 0);
    // The code is never written to any file: not at the vault, not in the
    // files that travel, not on the laptop.
    let dirs = [site.f.dir.path(), bob.dir.path(), outbox.as_path()];
    assert!(files_with_code(&dirs, &req.code).is_empty());
    assert!(inbox.exists());

    // Both remote: the lead only operates; no passphrase at the vault machine.
    let mut s = site.unseal(&["alice", "bob"], &[], &["alice", "bob"], &[]);
    let ra = s.request("alice", 1);
    check_request(&site, &ra, "alice", &[]);
    // alice gets the text block pasted into a chat, quoted: `respond -`.
    let quoted: String = ra
        .text_block()
        .lines()
        .map(|l| format!("> {l}\n"))
        .collect();
    let r = alice.respond_stdin(
        "-",
        &quoted,
        &site.fingerprint,
        &ra.code,
        "answers.json",
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let aseq = ra.json["request_seq"].as_u64().unwrap();
    let a_out = alice.path(&format!("alice-{aseq}.bgresponse"));
    // Her response travels as its text block.
    s.deliver("alice", &std::fs::read(txt(&a_out)).unwrap());
    let rb = s.request("bob", 1);
    check_request(&site, &rb, "bob", &["alice"]);
    assert_eq!(
        rb.json["request_seq"], aseq,
        "one ceremony, one request entry"
    );
    assert_ne!(rb.json["session_key"], ra.json["session_key"]);
    assert_ne!(rb.json["nonce"], ra.json["nonce"]);
    // bob is given the .txt file.
    let file = bob.receive(
        &format!("{}.txt", rb.file_name()),
        rb.text_block().as_bytes(),
    );
    let r = bob.respond(&file, &site.fingerprint, &rb.code, "answers.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b_bytes = std::fs::read(bob.path(&format!("bob-{aseq}.bgresponse"))).unwrap();
    s.deliver("bob", &b_bytes);
    let before = s.before;
    let r = s.ceremony.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_out(&r)["entries"][0]["value"], PASSWORD);
    let all = entries(&site.log());
    let accepted = events_after(&all, before, "share-accepted");
    assert_eq!(accepted.len(), 2);
    assert!(accepted.iter().all(|e| e["data"]["remote"] == true));
    let granted = events_after(&all, before, "unseal-granted");
    assert_eq!(granted[0]["data"]["remote"], json!(["alice", "bob"]));
    assert_eq!(site.f.verify_log().code, 0);
}

/// Attacks on the request, refused by `respond` on the custodian's laptop
/// (nothing is signed, no response is written): (a) a relay substitutes the
/// session key, (g) another vault's request, (h) a damaged text block,
/// (i) certificates cut after a reseal, manifest swapped (rolled back to
/// generation 1, or another vault's), and a request past its expiry. Cases
/// that must be refused before any passphrase prompt run with an answers
/// file holding no passphrase. Then the untouched request is answered and
/// the unseal is granted: each refusal was the mutation's doing.
#[test]
fn respond_refuses_requests_a_relay_altered() {
    let site = Site::new();
    let gen1_manifest = std::fs::read(site.f.vault_path().join("manifest.json")).unwrap();
    site.reseal();
    let other = site.second_vault();
    let other_manifest = std::fs::read(other.f.vault_path().join("manifest.json")).unwrap();
    let bob = Laptop::new(&site.f, "bob");
    let fp = site.fingerprint.clone();

    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    assert_eq!(req.json["generation"], 2);
    let certs = req.json["certificates"].as_array().unwrap().clone();
    assert_eq!(
        certs.len(),
        3,
        "root, sealed g1, sealed g2: {:?}",
        certs.iter().map(|c| c.to_string()).collect::<Vec<_>>()
    );
    let name = req.file_name();
    let refused = |file: &str,
                   stdin: &str,
                   code: &str,
                   fp: &str,
                   answers: &str,
                   env: &[(&str, &str)],
                   phrase: &str| {
        let before = bob.responses();
        let r = bob.respond_stdin(file, stdin, fp, code, answers, env);
        assert_eq!(
            r.code, 1,
            "{phrase}: exit {} {}{}",
            r.code, r.stdout, r.stderr
        );
        assert!(r.stderr.contains(phrase), "want {phrase:?}:\n{}", r.stderr);
        assert!(
            !r.stderr.contains("no answer for"),
            "a prompt came first:\n{}",
            r.stderr
        );
        assert_eq!(bob.responses(), before, "a response was written ({phrase})");
        r
    };

    // (a) The relay swaps the session key for its own and re-encodes: the
    // digest changes, so the code bob types (read by the lead from the
    // vault machine's screen) is not this request's. bob's passphrase is
    // there: nothing but the code stops him.
    let mut relayed = req.json.clone();
    let relay_key = age::x25519::Identity::generate().to_public().to_string();
    relayed["session_key"] = relay_key.into();
    let relayed = canonical(&relayed);
    assert_ne!(spoken_code(&relayed), req.code);
    let file = bob.receive(&name, &relayed);
    refused(
        &file,
        "",
        &req.code,
        &fp,
        "answers.json",
        &[],
        "does not match this request's code",
    );

    // The honest request, its code misheard: also refused.
    let file = bob.receive(&name, &req.bytes);
    let mut misheard = req.code.clone().into_bytes();
    misheard[0] = if misheard[0] == b'9' {
        b'1'
    } else {
        misheard[0] + 1
    };
    let misheard = String::from_utf8(misheard).unwrap();
    refused(
        &file,
        "",
        &misheard,
        &fp,
        "answers.json",
        &[],
        "does not match this request's code",
    );

    // (g) A request that is not from the vault on bob's paper card: refused
    // before any passphrase prompt (there is no answer for one).
    refused(
        &file,
        "",
        &req.code,
        &other.fingerprint,
        "no-passphrase.json",
        &[],
        "not the vault on your paper card",
    );

    // (h) The text block with one character changed in copying.
    let damaged = damage_block(&req.text_block());
    let tfile = bob.receive(&format!("{name}.txt"), damaged.as_bytes());
    let r = bob.respond(&tfile, &fp, &req.code, "no-passphrase.json", &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("checksum"), "{}", r.stderr);
    assert!(!r.stderr.contains("no answer for"), "{}", r.stderr);
    // Through stdin too.
    let r = bob.respond_stdin("-", &damaged, &fp, &req.code, "no-passphrase.json", &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("checksum"), "{}", r.stderr);

    // (i) Certificates cut: the last `sealed` (generation 2's) dropped. The
    // code given is the altered request's own, so only the chain is wrong.
    let mut cut = req.json.clone();
    cut["certificates"] = Value::Array(certs[..2].to_vec());
    let cut = canonical(&cut);
    let file = bob.receive(&name, &cut);
    let r = bob.respond(&file, &fp, &spoken_code(&cut), "no-passphrase.json", &[]);
    assert_eq!(r.code, 1, "certificates cut: {} {}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("no answer for"), "{}", r.stderr);
    eprintln!("certificates cut: {}", r.stderr.trim());
    // The manifest rolled back to generation 1 (with generation 1 in the
    // request, so the manifest and the request agree).
    for (label, manifest, generation) in [
        ("rolled back", &gen1_manifest, 1u64),
        ("rolled back, generation kept", &gen1_manifest, 2),
        ("another vault's", &other_manifest, 2),
    ] {
        let mut swapped = req.json.clone();
        swapped["manifest"] = breakglass::encoding::b64(manifest).into();
        swapped["generation"] = generation.into();
        let swapped = canonical(&swapped);
        let file = bob.receive(&name, &swapped);
        let r = bob.respond(
            &file,
            &fp,
            &spoken_code(&swapped),
            "no-passphrase.json",
            &[],
        );
        assert_eq!(r.code, 1, "manifest {label}: {} {}", r.stdout, r.stderr);
        assert!(!r.stderr.contains("no answer for"), "{}", r.stderr);
        assert!(bob.responses().is_empty());
        eprintln!("manifest {label}: {}", r.stderr.trim());
    }
    let file = bob.receive(&name, &req.bytes);
    // A request past its expiry (the laptop's clock one second after it).
    let expires =
        breakglass::clock::Timestamp::parse(req.json["expires"].as_str().unwrap()).unwrap();
    let later = expires.plus(1).to_rfc3339();
    refused(
        &file,
        "",
        &req.code,
        &fp,
        "no-passphrase.json",
        &[("BREAKGLASS_TEST_NOW", &later)],
        "this request expired at",
    );

    // Control: the request as the vault machine wrote it is answered, and
    // the unseal is granted.
    let bytes = bob.answer(&req, &fp);
    s.deliver("bob", &bytes);
    let r = s.ceremony.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(site.f.verify_log().code, 0);
}

/// Attacks on the response, refused by the vault machine (logged as
/// `share-rejected` with `remote: true`, the reason and the response's
/// digest; nothing granted): (b) replayed to a later request, (e) altered
/// in transit (`sealed` or `signature`), (c) made for another vault with
/// the same custodian, (d) made for the previous generation.
#[test]
fn vault_refuses_replayed_foreign_stale_and_altered_responses() {
    let site = Site::new();
    let bob = Laptop::new(&site.f, "bob");
    let fp = site.fingerprint.clone();

    // An honest unseal: response R1.
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req1 = s.request("bob", 1);
    let r1 = bob.answer(&req1, &fp);
    s.deliver("bob", &r1);
    let r = s.ceremony.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);

    // (b) R1 replayed to the next request.
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req2 = s.request("bob", 1);
    assert_ne!(req2.json["request_seq"], req1.json["request_seq"]);
    s.deliver("bob", &r1);
    assert_refused(&site, s, &r1, "answers another request");

    // (e) Altered in transit: one byte of the decoded `sealed`, re-encoded.
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    let honest = bob.answer(&req, &fp);
    let mut v = parse_response(&honest);
    let mut sealed = breakglass::encoding::unb64(v["sealed"].as_str().unwrap(), "sealed").unwrap();
    let mid = sealed.len() / 2;
    sealed[mid] ^= 0x01;
    v["sealed"] = breakglass::encoding::b64(&sealed).into();
    let altered = canonical(&v);
    s.deliver("bob", &altered);
    assert_refused(&site, s, &altered, "does not carry a valid signature");

    // (e) The signature altered.
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    let honest = bob.answer(&req, &fp);
    let mut v = parse_response(&honest);
    let mut sig = breakglass::encoding::unhex_vec(v["signature"].as_str().unwrap()).unwrap();
    sig[5] ^= 0x01;
    v["signature"] = breakglass::encoding::hex(&sig).into();
    let altered = canonical(&v);
    s.deliver("bob", &altered);
    assert_refused(&site, s, &altered, "does not carry a valid signature");

    // (c) A response bob made for another vault he guards with the same token.
    let other = site.second_vault();
    let bob2 = Laptop::new(&other.f, "bob");
    let mut s2 = other.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let oreq = s2.request("bob", 1);
    let foreign = bob2.answer(&oreq, &other.fingerprint);
    s2.deliver("bob", &foreign);
    assert_eq!(s2.ceremony.finish().code, 0);
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    s.request("bob", 1);
    s.deliver("bob", &foreign);
    assert_refused(&site, s, &foreign, "is for another vault");

    // (d) After a reseal, R1 (generation 1) to a generation 2 request.
    site.reseal();
    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    assert_eq!(req.json["generation"], 2);
    s.deliver("bob", &r1);
    assert_refused(&site, s, &r1, "is for generation");
}

/// (f) A response made in time but delivered after the request expired
/// (`--remote-expiry 2s`) is refused; and `respond` itself refuses an
/// expired request (see above). The response is made with the laptop's
/// clock at the request's creation so a slow machine cannot make it late.
#[test]
fn late_response_is_refused() {
    let site = Site::new();
    let bob = Laptop::new(&site.f, "bob");
    let mut s = site.unseal(
        &["alice", "bob"],
        &["alice"],
        &["bob"],
        &["--remote-expiry", "2s"],
    );
    let req = s.request("bob", 1);
    let created =
        breakglass::clock::Timestamp::parse(req.json["created"].as_str().unwrap()).unwrap();
    let expires =
        breakglass::clock::Timestamp::parse(req.json["expires"].as_str().unwrap()).unwrap();
    assert!(expires.0 - created.0 <= 2, "{} .. {}", created.0, expires.0);
    let file = bob.receive(&req.file_name(), &req.bytes);
    let at = created.to_rfc3339();
    let r = bob.respond(
        &file,
        &site.fingerprint,
        &req.code,
        "answers.json",
        &[("BREAKGLASS_TEST_NOW", &at)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seq = req.json["request_seq"].as_u64().unwrap();
    let bytes = std::fs::read(bob.path(&format!("bob-{seq}.bgresponse"))).unwrap();
    // Wait (a condition with a deadline) until the request has expired.
    poll(
        "the request's expiry",
        WAIT,
        || (breakglass::clock::Timestamp::now().0 > expires.0 + 1).then_some(()),
        String::new,
    );
    s.deliver("bob", &bytes);
    assert_refused(&site, s, &bytes, "arrived after the request expired");
}

/// `--remote-expiry` above one hour is refused before anything is logged.
#[test]
fn remote_expiry_above_one_hour_is_refused() {
    let site = Site::new();
    let before = last_seq(&site.log());
    let r = site
        .unseal(
            &["alice", "bob"],
            &["alice"],
            &["bob"],
            &["--remote-expiry", "61m"],
        )
        .ceremony
        .finish();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 h") || r.stderr.contains("1h"),
        "{}",
        r.stderr
    );
    assert_eq!(last_seq(&site.log()), before, "something was logged");
}

/// The virtual YubiKey bench, or `None` (skipped, with the reason) when
/// pcscd or vsmartcard-vpcd is missing; with `BREAKGLASS_REQUIRE_INTEROP`
/// set (scripts/test-all) a missing one is a failure.
fn yubikey_slots() -> Option<[virtual_yubikey::harness::Harness; 2]> {
    use virtual_yubikey::harness::{pcscd_answers, Harness, VPCD_DRIVER};
    let pcscd = Path::new("/usr/sbin/pcscd").exists() || pcscd_answers();
    let missing = if !Path::new(VPCD_DRIVER).exists() {
        Some("vsmartcard-vpcd")
    } else if !pcscd {
        Some("pcscd")
    } else {
        None
    };
    if let Some(what) = missing {
        if std::env::var_os("BREAKGLASS_REQUIRE_INTEROP").is_some() {
            panic!("{what} is required for the YubiKey tests (scripts/install-deps installs it)");
        }
        eprintln!("SKIPPED: {what} not installed (apt-get install pcscd vsmartcard-vpcd)");
        return None;
    }
    Some(Harness::acquire_pair().expect("both vpcd slots"))
}

/// Test 2, YubiKey track: bob's share is on his (virtual) YubiKey; he
/// answers from his laptop with PIN and touch, the response is signed
/// with his token (ECDSA P-256) and accepted. A request for another vault
/// is refused before the card is even spoken to.
#[test]
fn yubikey_custodian_presents_remotely_with_pin_and_touch() {
    use virtual_yubikey::{harness::fresh_serial, Config, VirtualYubiKey, FW_5_7_1};
    const PIN: &str = "864213";
    const PUK: &str = "97531864";
    let Some(slots) = yubikey_slots() else {
        return;
    };
    let f = Fixture::custodians_only(3, 2);
    let root = f.path("test-root.der");
    std::fs::write(&root, virtual_yubikey::test_attestation_root_der()).unwrap();
    let env = [("BREAKGLASS_TEST_ATTESTATION_ROOT", root.as_str())];
    let mut card = VirtualYubiKey::new(Config::new(fresh_serial().unwrap(), FW_5_7_1));
    let serial = card.serial().to_string();
    card.insert(slots[0].port()).expect("insert");
    let enroll = f.path("enroll-answers.json");
    write_answers(
        Path::new(&enroll),
        &json!({"pins": {&serial: "123456"}, "new_pins": {&serial: PIN}, "new_puks": {&serial: PUK}}),
    );
    let desc = f.path("bob-yk.custodian.json");
    let r = common::run_env(
        &[
            "custodian",
            "enroll",
            "--name",
            "bob",
            "--yubikey",
            "--descriptor",
            &desc,
            "--answers",
            &enroll,
        ],
        "",
        &env,
    );
    assert_eq!(r.code, 0, "enroll: {}", r.stderr);
    card.remove();
    let r = common::run_env(
        &[
            "init",
            "--vault",
            &f.vault(),
            "--threshold",
            "2",
            "--custodian",
            &f.path("alice.custodian.json"),
            "--custodian",
            &desc,
            "--custodian",
            &f.path("carol.custodian.json"),
            "--entries",
            "-",
        ],
        &f.entries_json(),
        &env,
    );
    assert_eq!(r.code, 0, "init: {}", r.stderr);
    let mut site = Site::from(f);
    site.env = vec![(env[0].0.into(), env[0].1.into())];
    let other = Site::new();
    let bob_desc: breakglass::token::CustodianDescriptor =
        serde_json::from_str(&std::fs::read_to_string(&desc).unwrap()).unwrap();

    // bob's laptop: his YubiKey and the PIN he types (no identity file).
    let bob = Laptop {
        dir: tempfile::tempdir().unwrap(),
        name: "bob".into(),
    };
    write_answers(&bob.path("answers.json"), &json!({"pins": {&serial: PIN}}));
    write_answers(&bob.path("no-pin.json"), &json!({}));

    let mut s = site.unseal(&["alice", "bob"], &["alice"], &["bob"], &[]);
    let req = s.request("bob", 1);
    check_request(&site, &req, "bob", &["alice"]);
    let file = bob.receive(&req.file_name(), &req.bytes);
    card.insert(slots[0].port()).expect("insert bob's card");

    // Another vault's fingerprint on the paper card: refused, and the card
    // was not spoken to (no PIN tried, not one APDU).
    let apdus = card.card().apdu_count();
    let r = bob.respond(&file, &other.fingerprint, &req.code, "no-pin.json", &env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not the vault on your paper card"),
        "{}",
        r.stderr
    );
    assert_eq!(
        card.card().apdu_count(),
        apdus,
        "the card was used before the vault was checked"
    );
    assert_eq!(card.card().pin_tries_left(), 3);

    let r = bob.respond(&file, &site.fingerprint, &req.code, "answers.json", &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(card.card().apdu_count() > apdus);
    assert_eq!(card.card().pin_tries_left(), 3, "the right PIN was given");
    assert!(r.stderr.contains("touch"), "no touch asked: {}", r.stderr);
    let seq = req.json["request_seq"].as_u64().unwrap();
    let bytes = std::fs::read(bob.path(&format!("bob-{seq}.bgresponse"))).unwrap();
    card.remove();
    let resp = parse_response(&bytes);
    assert_eq!(resp["alg"], "ecdsa-p256");
    assert_eq!(resp["token"], bob_desc.tokens[0].fingerprint());
    s.deliver("bob", &bytes);
    let before = s.before;
    let r = s.ceremony.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_out(&r)["entries"][0]["value"], PASSWORD);
    let all = entries(&site.log());
    let accepted = events_after(&all, before, "share-accepted");
    let b = accepted
        .iter()
        .find(|e| e["data"]["custodian"] == "bob")
        .expect("bob accepted");
    assert_eq!(b["data"]["remote"], true);
    assert_eq!(b["data"]["token"], bob_desc.tokens[0].fingerprint());
    let granted = events_after(&all, before, "unseal-granted");
    assert_eq!(granted[0]["data"]["remote"], json!(["bob"]));
    assert_eq!(site.f.verify_log().code, 0);
}
