//! Help texts: the examples after each command's `--help`, and the answers
//! file description (`breakglass help-answers`). Kept apart from the argument
//! definitions so the examples read as text; `tests/help.rs` checks them.

pub const AFTER_HELP: &str = "\
Exit codes: 0 ok · 1 verification failed or something overdue · 2 usage or operational error.
Secrets are never taken from the command line or the environment: they are typed at
prompts, or, non-interactively, read from an answers file (--answers FILE, '-' for stdin;
see `breakglass help-answers`).

Examples:
  breakglass demo
  breakglass custodian enroll --name alice --out alice.identity
  breakglass init --vault /media/vault --threshold 2 --custodian alice.custodian.json \\
      --custodian bob.custodian.json --custodian carol.custodian.json
  breakglass unseal --vault /media/vault --ticket INC-4711 --reason \"IdP outage\" \\
      --identity /media/alice/alice.identity --identity /media/bob/bob.identity
  breakglass log verify --vault /media/vault";

/// `breakglass init --help` examples.
pub const INIT: &str = "Example:\n  breakglass init --vault /media/vault --threshold 2 \\\n    --custodian alice.custodian.json --custodian bob.custodian.json --custodian carol.custodian.json\n\nNon-interactive: --entries FILE (JSON list, '-' for stdin; see ceremonies/setup.md).";

/// `breakglass unseal --help` examples.
pub const UNSEAL: &str = "Example:\n  breakglass unseal --vault /media/vault --ticket INC-4711 --reason \"IdP outage, console access\" \\\n    --identity /media/alice/alice.identity --identity /media/bob/bob.identity\n\nThe request and the grant are written to the audit log before anything is shown.\nWith --json (or when stdout is not a terminal) the entries are printed once and the\nsession ends at once; interactively they stay on screen until Enter or the time limit.\n\nA custodian who is elsewhere presents remotely (docs/remote.md):\n  breakglass unseal --vault /media/vault --ticket INC-4711 --reason \"IdP outage\" \\\n    --custodian alice --custodian bob --identity alice.identity \\\n    --remote bob --remote-dir /media/usb --remote-channel e-mail --remote-expiry 15m\nAt bob's turn it writes /media/usb/bob-SEQ.bgrequest (+ .txt text block, QR codes), shows\nthe code to read aloud to bob, and waits for his response (a path, or the pasted block;\nanswers id `remote.bob.response`). See ceremonies/remote-unseal.md.";

/// `breakglass reseal --help` examples.
pub const RESEAL: &str = "Examples:\n  breakglass reseal --vault /media/vault --ticket INC-4711 --reason \"rotation after INC-4711\" \\\n    --generate aws-root --set aws-root-mfa --identity a.identity --identity b.identity\n  breakglass reseal --vault /media/vault --ticket CHG-12 --reason \"yearly reseal\"   (fresh shares only)\n\nNew values are read at prompts (or from the answers file as secrets.\"entry.NAME.value\").\nGenerated passwords and new TOTP seeds are shown once, to be set at the provider, and\nthe reseal commits only after you confirm the provider was updated. With --json they are\nJSON lines {\"new_value\":{\"label\":\"aws-root.password\",\"value\":…}} on stdout, written\nas they are made (before the commit), then the result line.";

/// `breakglass rekey --help` examples.
pub const REKEY: &str = "Examples:\n  breakglass rekey --vault /media/vault --ticket CHG-31 --reason \"dave joins, carol leaves\" \\\n    --add dave.custodian.json --remove carol --identity alice.identity --identity bob.identity\n  breakglass rekey --vault /media/vault --ticket CHG-32 --reason \"alice lost her YubiKey\" \\\n    --replace alice-new.custodian.json\n  breakglass rekey --vault /media/vault --ticket CHG-33 --reason \"raise to 3 of 5\" --threshold 3\n\nThe quorum is drawn from the CURRENT custodians. The tool shows the new custodian set with\neach new token's fingerprint and asks the quorum to confirm (answers id `rekey.proceed`).\nEvery custodian gets a fresh share; all shares of the current generation stop working.\nThe credentials are unchanged (rotate them with `breakglass reseal`). See ceremonies/rekey.md.";

/// `breakglass migrate --help` examples.
pub const MIGRATE: &str = "Example:\n  breakglass migrate --vault /media/vault --ticket CHG-40 --reason \"format 2: signed history\" \\\n    --identity alice.identity --identity bob.identity\n\nThe new generation becomes the vault's root of trust: write the new vault fingerprint on\npaper (it never changes again). Any reseal of a format 1 vault migrates it the same way.";

/// `breakglass drill --help` examples.
pub const DRILL: &str = "Examples:\n  breakglass drill --vault /media/vault --custodian alice --identity /media/alice/alice.identity\n  breakglass drill --vault /media/vault --quorum --identity alice.identity --identity bob.identity\n\nExit 0 when the drill passed, 1 when it failed (logged either way). See ceremonies/drill.md.";

/// `breakglass respond --help` examples.
pub const RESPOND: &str = "Examples:\n  breakglass respond bob-412.bgrequest --identity bob.identity\n      (asks the fingerprint on your paper card, then the code the lead reads aloud)\n  breakglass respond - < request.txt --fingerprint 3f2a-... --code 1234-5678-9012\n      (a YubiKey custodian: no --identity; PIN and touch are asked)\n\nBefore any PIN the request is checked against your paper card's fingerprint and the\nvault's signed chain; a wrong code is refused. Writes NAME-SEQ.bgresponse, its text block\n(.txt) and QR codes in the current directory (--out elsewhere); nothing secret is written.\nPrompts: respond.fingerprint, respond.code. Exit 0 answered, 1 refused, 2 usage.\nSee ceremonies/remote-unseal.md.";

/// `breakglass review --help` examples.
pub const REVIEW: &str = "Examples:\n  breakglass review --vault /media/vault --ticket INC-4711 --from review.txt\n  breakglass review --vault /media/vault --ticket INC-4711 --edit    (in $EDITOR, on a template)\n\nAn incomplete review is refused, naming what is missing. See\nceremonies/post-incident-review.md for the document format.";

/// `breakglass custodian enroll --help` examples.
pub const ENROLL: &str = "Examples:\n  breakglass custodian enroll --name alice --yubikey --serial 12345678 --serial 23456789\n      (a main token and a spare kept in a safe: one share, either token opens it)\n  breakglass custodian enroll --name bob --out /media/bob/bob.identity\n      (software custodian, for small teams and drills)\n\nYubiKey: the key is generated ON the token in a retired PIV slot; a default PIN or PUK\nis refused and changed first; the attestation is verified to Yubico's roots.\nWrites NAME.custodian.json (public) and, for software, the identity (secret, 0600).";

/// `breakglass log verify --help` examples.
pub const LOG_VERIFY: &str = "Exit 0 when the log verifies, 1 naming the first bad entry otherwise.\nSignatures before a quorum checkpoint are taken on that quorum's word (it checked them\nbefore it signed); --every-signature checks each one here.\nExamples:\n  breakglass log verify --vault /media/vault\n  breakglass log verify --vault /media/vault --every-signature --json";

/// `breakglass custodian --help` examples.
pub const CUSTODIAN: &str = "\
Examples:
  breakglass custodian enroll --name alice --yubikey
  breakglass custodian enroll --name bob --out /media/bob/bob.identity
  breakglass custodian tokens";

/// `breakglass log --help` examples.
pub const LOG: &str = "\
Examples:
  breakglass log verify --vault /media/vault
  breakglass log show --vault /media/vault
  breakglass log export --vault /media/vault --out audit.jsonl
  breakglass log repair --vault /media/vault";

/// `breakglass custodian tokens --help` examples.
pub const TOKENS: &str = "\
Examples:
  breakglass custodian tokens
  breakglass custodian tokens --json

Lists the YubiKeys the PC/SC service sees (serial, firmware, reader). Needs pcscd
running; software custodians have no token to list.";

/// `breakglass status --help` examples.
pub const STATUS: &str = "\
Examples:
  breakglass status --vault /media/vault
  breakglass status --vault /media/vault --json --expect-receipt bg1:…   (cron, monitoring)
  breakglass status --vault /media/vault --json --incremental   (cron: only new entries)

Exit 0 when nothing is owed, 1 when something is overdue (rotation within 24 h of an
unseal, post-incident review within 5 days, a yearly drill per custodian) or the log
holds forged entries, 2 when the vault cannot be read. See docs/governance.md.";

/// `breakglass report --help` examples.
pub const REPORT: &str = "\
Examples:
  breakglass report --vault /media/vault
  breakglass report --vault /media/vault --from 2026-01-01 --to 2026-12-31 --html audit-2026.html
  breakglass report --vault /media/vault --json > metrics.json

Per quarter: activations, time to rotation and to review, drills per custodian, and
activations outside the documented scenarios. The HTML page is self-contained (no
external resources) and prints on paper.";

/// `breakglass log export --help` examples.
pub const LOG_EXPORT: &str = "\
Examples:
  breakglass log export --vault /media/vault --out audit.jsonl
  breakglass log export --vault /media/vault --after 1200 >> siem-spool.jsonl   (shipping)
  breakglass log export --vault /media/vault --after 1200 --incremental >> spool.jsonl  (cached)
  breakglass log export --vault /media/vault --format ecs --out audit-ecs.jsonl  (Elastic; ocsf: OCSF)

The log is verified first; only a verified log is exported. Fields: docs/governance.md.";

/// `breakglass log show --help` examples.
pub const LOG_SHOW: &str = "\
Examples:
  breakglass log show --vault /media/vault
  breakglass log show --vault /media/vault --json | jq 'select(.event == \"unseal-granted\")'

Text read from the log is shown escaped: a control character never reaches the terminal.";

/// `breakglass log repair --help` examples.
pub const LOG_REPAIR: &str = "\
Example:
  breakglass log repair --vault /media/vault

Only a torn last line (a crash in the middle of an append) is removed, and the repair
is logged; any other damage is refused: restore the vault from a backup copy.";

/// `breakglass demo --help` examples.
pub const DEMO: &str = "\
Examples:
  breakglass demo
  breakglass demo --dir /tmp/bg-demo --keep   (look at the vault and its log afterwards)

Software custodians with demo-grade KDF parameters and fixed passphrases: never use
what it makes for real credentials.";

/// `breakglass help-answers --help` examples.
pub const HELP_ANSWERS: &str = "\
Example:
  breakglass help-answers | less";

pub const ANSWERS_HELP: &str = r#"The answers file (--answers FILE, or '-' for stdin) answers every prompt of a
command non-interactively. It is JSON; every member is optional; a prompt without an
answer stops the command naming the missing key. It holds secrets: keep it on the
air-gapped machine, mode 0600 (other modes are refused), and shred it after use.

{
  "passphrases":     {"alice": "…"},          unlock alice's software identity
  "new_passphrases": {"dave": "…"},           passphrase for a new identity (enroll)
  "pins":            {"12345678": "…"},       YubiKey PIN by serial
  "new_pins":        {"12345678": "…"},       replacement for a default PIN (enroll)
  "puks":            {"12345678": "…"},       PUK by serial
  "new_puks":        {"12345678": "…"},       replacement for a default PUK (enroll)
  "confirm":         {"rekey.proceed": true},  yes/no questions by id
  "text":            {"identity.alice": "/media/alice/alice.identity",
                      "unseal.custodian.1": "alice"},
  "secrets":         {"entry.aws-root.value": "…"}
}

Question ids:
  confirm   reseal.provider-updated   the new values are set at the provider (reseal)
            rekey.proceed             seal for the new custodian set (rekey)
            review.edit-again         reopen the editor on an incomplete review
  text      identity.NAME             path of NAME's identity file, when not given
            unseal.custodian.N        who presents the N-th share (also reseal, rekey, drill);
                                      "NAME (remote)" for a custodian who presents remotely
            remote.NAME.response      path where NAME's remote response will arrive (waited for)
            respond.fingerprint       the vault fingerprint on the paper card (respond)
            respond.code              the code the lead reads aloud (respond)
            entry.N.kind, entry.N.name, entry.NAME.account, .username, .url, .notes
                                      the entries typed at init
            review.participants, review.timeline.N, review.root_cause,
            review.preventive_measures.N, review.provider_events.N
  secrets   entry.NAME.value          an entry's secret (init, reseal --set)
            yubikey.management-key    a non-default, non-PIN-protected management key"#;
