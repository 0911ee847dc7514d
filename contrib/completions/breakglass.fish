# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_breakglass_global_optspecs
    string join \n h/help V/version
end

function __fish_breakglass_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_breakglass_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_breakglass_using_subcommand
    set -l cmd (__fish_breakglass_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c breakglass -n "__fish_breakglass_needs_command" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_needs_command" -s V -l version -d 'Print version'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "custodian" -d 'Manage custodians (enroll a software identity or a YubiKey)'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "init" -d 'Setup ceremony: create a vault from enrolled custodians and seal the secrets'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "unseal" -d 'Emergency unseal: a quorum of custodians opens the vault for a ticket and a reason'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "reseal" -d 'Reseal after rotation: a quorum changes credentials and seals a new generation with fresh shares'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "rekey" -d 'Change custodians or the threshold: a quorum of the current custodians seals a new generation'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "migrate" -d 'Migrate a format 1 vault to format 2 (a quorum; fresh shares; the history is kept)'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "log" -d 'The audit log: verify, show, export, repair'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "check" -d 'Health check of a vault copy: log, manifest and every file\'s digest; no token, writes nothing'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "drill" -d 'Drill: prove a custodian\'s share opens (--custodian), or the whole quorum path (--quorum), showing nothing'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "respond" -d 'Remote custodian: answer a share request from the vault machine with your own token'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "review" -d 'Record the post-incident review of an unseal (due within 5 days)'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "status" -d 'Open sessions and obligations (rotation, review, drills); exit 1 when something is overdue'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "report" -d 'Metrics per quarter for auditors (table, --json, --html FILE)'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "demo" -d 'Walk every ceremony on a throwaway vault (no prompts)'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "help-answers" -d 'Describe the answers file used for non-interactive runs'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "version" -d 'This build: version, commit, commit date and the SHA-256 of the running executable'
complete -c breakglass -n "__fish_breakglass_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and not __fish_seen_subcommand_from enroll tokens help" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and not __fish_seen_subcommand_from enroll tokens help" -f -a "enroll" -d 'Enroll a custodian: YubiKeys, or a passphrase-protected software identity'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and not __fish_seen_subcommand_from enroll tokens help" -f -a "tokens" -d 'List the YubiKeys inserted (serial, firmware, reader)'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and not __fish_seen_subcommand_from enroll tokens help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l name -d 'Custodian name (a-z, 0-9, \'.\', \'_\', \'-\')' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l out -d 'Software custodian: where to write the encrypted identity file (must not exist)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l serial -d 'YubiKey serial to enroll (repeat for a spare token) [default: the only one inserted]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l slot -d 'Retired PIV slot in hex, 82-95 [default: the first free one]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l pin-policy -d 'PIN policy of the key: once or always' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l touch-policy -d 'Touch policy of the key: always, cached or never' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l descriptor -d 'Where to write the public descriptor [default: NAME.custodian.json beside --out]' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l kdf -d 'KDF cost: `default` (Argon2id 64 MiB, t=3) or `demo` (8 MiB, t=1; throwaway vaults only)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l yubikey -d 'Enroll YubiKeys instead of a software identity'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l adopt -d 'Adopt the key already in --slot (e.g. made by age-plugin-yubikey) instead of generating one'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from enroll" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from tokens" -l json -d 'Machine-readable output'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from tokens" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from help" -f -a "enroll" -d 'Enroll a custodian: YubiKeys, or a passphrase-protected software identity'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from help" -f -a "tokens" -d 'List the YubiKeys inserted (serial, firmware, reader)'
complete -c breakglass -n "__fish_breakglass_using_subcommand custodian; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l vault -d 'New vault directory (absent or empty)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l threshold -d 'Custodians needed to open (at least 2)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l custodian -d 'A custodian descriptor (NAME.custodian.json); repeat for each custodian' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l entries -d 'Entries to seal, as a JSON list (secrets: a file or \'-\' for stdin, never argv)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand init" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l ticket -d 'The incident or change ticket this ceremony is for (required)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l reason -d 'Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711"' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l entry -d 'Only reveal these entries (repeatable) [default: all]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l session -d 'Session length, e.g. 15m, 1h, 90s (max 4h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l reveal-seed -d 'Also reveal this TOTP entry\'s seed and otpauth QR code (logged as its own event)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l identity -d 'A software custodian\'s identity file (repeatable; order = presentation order)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l custodian -d 'Custodians in presentation order (repeatable) [default: ask, or the --identity order]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l override-broken-log -d 'Proceed although the audit log does not verify, has forged entries, or the vault was rolled back; the reason is logged. Never accepted for a manifest no quorum certified' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l remote -d 'A custodian who presents from their own machine (repeatable): a request is written for them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l remote-dir -d 'Where remote requests are written (an outbox, a USB stick)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l remote-channel -d 'How requests and responses travel, as logged (file, e-mail, chat, qr, …)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l remote-expiry -d 'How long a remote request stays valid (e.g. 15m; at most 1h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand unseal" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l ticket -d 'The incident or change ticket this ceremony is for (required)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l reason -d 'Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711"' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l set -d 'Replace the secret of this entry with a value typed at the prompt (repeatable). For a TOTP entry: the new seed or otpauth URI from the provider; two consecutive codes are shown' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l generate -d 'Replace this password with a generated one (repeatable)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l length -d 'Length of generated passwords (12-128)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l new-totp -d 'Replace this TOTP seed with a freshly generated one (repeatable)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l remove -d 'Remove this entry (repeatable)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l add -d 'Add the entries in this JSON list (a file or \'-\' for stdin)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l identity -d 'A software custodian\'s identity file (repeatable; order = presentation order)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l custodian -d 'Custodians in presentation order (repeatable) [default: ask, or the --identity order]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l override-broken-log -d 'Proceed although the audit log does not verify, has forged entries, or the vault was rolled back; the reason is logged. Never accepted for a manifest no quorum certified' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l remote -d 'A custodian who presents from their own machine (repeatable): a request is written for them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l remote-dir -d 'Where remote requests are written (an outbox, a USB stick)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l remote-channel -d 'How requests and responses travel, as logged (file, e-mail, chat, qr, …)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l remote-expiry -d 'How long a remote request stays valid (e.g. 15m; at most 1h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l no-symbols -d 'Generated passwords without symbols'
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand reseal" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l ticket -d 'The incident or change ticket this ceremony is for (required)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l reason -d 'Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711"' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l add -d 'Add a custodian: their NAME.custodian.json from `custodian enroll` (repeatable)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l remove -d 'Remove this custodian (repeatable)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l replace -d 'New tokens for an existing custodian: a descriptor enrolled under their name, listing ALL their tokens (e.g. a new main token and the spare) (repeatable)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l threshold -d 'New threshold (at least 2, at most the number of custodians) [default: unchanged]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l identity -d 'A software custodian\'s identity file (repeatable; order = presentation order)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l custodian -d 'Custodians in presentation order (repeatable) [default: ask, or the --identity order]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l override-broken-log -d 'Proceed although the audit log does not verify, has forged entries, or the vault was rolled back; the reason is logged. Never accepted for a manifest no quorum certified' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l remote -d 'A custodian who presents from their own machine (repeatable): a request is written for them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l remote-dir -d 'Where remote requests are written (an outbox, a USB stick)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l remote-channel -d 'How requests and responses travel, as logged (file, e-mail, chat, qr, …)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l remote-expiry -d 'How long a remote request stays valid (e.g. 15m; at most 1h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand rekey" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l ticket -d 'The incident or change ticket this ceremony is for (required)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l reason -d 'Why, in a few words (required), e.g. "IdP outage" or "rotation after INC-4711"' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l identity -d 'A software custodian\'s identity file (repeatable; order = presentation order)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l custodian -d 'Custodians in presentation order (repeatable) [default: ask, or the --identity order]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l override-broken-log -d 'Proceed although the audit log does not verify, has forged entries, or the vault was rolled back; the reason is logged. Never accepted for a manifest no quorum certified' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l remote -d 'A custodian who presents from their own machine (repeatable): a request is written for them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l remote-dir -d 'Where remote requests are written (an outbox, a USB stick)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l remote-channel -d 'How requests and responses travel, as logged (file, e-mail, chat, qr, …)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l remote-expiry -d 'How long a remote request stays valid (e.g. 15m; at most 1h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -f -a "verify" -d 'Verify the hash chain and the anchor recorded in the sealed manifest'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -f -a "export" -d 'Export the verified log as JSON Lines for a SIEM (fields: see docs/governance.md)'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -f -a "show" -d 'Show the log entries'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -f -a "repair" -d 'Remove a torn last line left by a crash (logged as `log-repaired`)'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and not __fish_seen_subcommand_from verify export show repair help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -l receipt -d 'Also check that the log still contains this receipt\'s head (bg1:<vault>:<seq>:<hash>, or <seq>:<first 16+ hex digits of the hash>)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -l qr -d 'Also draw the receipt of the log\'s head as a QR code (at a terminal), to photograph for the ticket'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -l every-signature -d 'Check every signature here instead of taking a quorum checkpoint\'s word for those before it (slower; see SECURITY.md, "Checkpoints")'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l after -d 'Only entries after this sequence number (incremental shipping)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l out -d 'Write to FILE instead of stdout (mode 0644: the log holds no secret)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l format -d 'Line format: jsonl (our members), ecs (Elastic Common Schema 8.x) or ocsf (OCSF 1.1); fields in docs/governance.md' -r -f -a "jsonl\t''
ecs\t''
ocsf\t''"
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l cache-dir -d 'Where --incremental keeps its state [default: $XDG_CACHE_HOME/breakglass, else ~/.cache/breakglass]; yours alone (0700)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -l incremental -d 'Read only the entries appended since the last --incremental run, from state kept in your cache directory (never the vault\'s); the whole log is read again at least once a day. It trusts that the entries it read before have not changed since: `log verify` reads everything'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from show" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from show" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from repair" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from repair" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from repair" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Verify the hash chain and the anchor recorded in the sealed manifest'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export the verified log as JSON Lines for a SIEM (fields: see docs/governance.md)'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the log entries'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "repair" -d 'Remove a torn last line left by a crash (logged as `log-repaired`)'
complete -c breakglass -n "__fish_breakglass_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand check" -l vault -d 'Vault directory (a copy may be on read-only media)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand check" -l json -d 'Machine-readable output on stdout: {ok, generation, fingerprint, log_entries, findings: [{file, custodian?, problem, kind, damage}]}'
complete -c breakglass -n "__fish_breakglass_using_subcommand check" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l custodian -d 'Custodian drill: the custodian whose share is checked. With --quorum: presentation order (repeatable)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l identity -d 'A software custodian\'s identity file (repeatable)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l remote -d 'A custodian who presents from their own machine (repeatable): a request is written for them, a code shown to read aloud, their response awaited. Interactively, choose NAME (remote)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l remote-dir -d 'Where remote requests are written (an outbox, a USB stick)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l remote-channel -d 'How requests and responses travel, as logged (file, e-mail, chat, qr, …)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l remote-expiry -d 'How long a remote request stays valid (e.g. 15m; at most 1h)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l quorum -d 'Quorum drill: run the whole unseal path (shares, key, MACs, payload) and show nothing'
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand drill" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l fingerprint -d 'The vault fingerprint on your paper card [default: asked]' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l code -d 'The code the lead reads to you over the phone [default: asked]. It is not a secret: it proves the request is the one on the lead\'s screen' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l identity -d 'Your software identity file (a YubiKey custodian needs none)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l answers -d 'Answers for every prompt, from a JSON file (\'-\' for stdin); see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l out -d 'Where to write the response [default: NAME-SEQ.bgresponse here]; its text block goes to FILE.txt and its QR codes beside it' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand respond" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l grant -d 'The unseal reviewed: log sequence number of its `unseal-granted` entry' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l ticket -d 'The unseal(s) reviewed: every unseal granted for this ticket' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l from -d 'The review document (JSON or `key: value` text; \'-\' for stdin). Without it: prompts' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l custodian -d 'The custodian who records the review and signs it with their token (required)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l identity -d 'That custodian\'s software identity file (else their YubiKey signs, or the path is asked)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l answers -d 'Answers for the prompts, from a JSON file; see `breakglass help-answers`' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l edit -d 'Write the review in an editor ($VISUAL, $EDITOR, else `editor`), on a template'
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand review" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -l expect-receipt -d 'The last receipt from the ticket (bg1:… or SEQ:HASH…); refuse unless the log still holds it' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -l cache-dir -d 'Where --incremental keeps its state [default: $XDG_CACHE_HOME/breakglass, else ~/.cache/breakglass]; yours alone (0700)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -l incremental -d 'Read only the entries appended since the last --incremental run, from state kept in your cache directory (never the vault\'s); the whole log is read again at least once a day. It trusts that the entries it read before have not changed since: `log verify` reads everything'
complete -c breakglass -n "__fish_breakglass_using_subcommand status" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l vault -d 'Vault directory' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l from -d 'First day counted (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l to -d 'Last day counted, inclusive (YYYY-MM-DD), or an exclusive time (YYYY-MM-DDTHH:MM:SSZ)' -r
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l scenarios -d 'Documented scenarios file [default: VAULT/scenarios if present]' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l html -d 'Also write the self-contained auditor page to FILE (mode 0644: it holds no secret)' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -l json -d 'Machine-readable output on stdout'
complete -c breakglass -n "__fish_breakglass_using_subcommand report" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand demo" -l dir -d 'Directory for the throwaway vault [default: a new temporary directory]' -r -F
complete -c breakglass -n "__fish_breakglass_using_subcommand demo" -l keep -d 'Keep the demo directory afterwards'
complete -c breakglass -n "__fish_breakglass_using_subcommand demo" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand help-answers" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand version" -l json -d 'Print one JSON object: version, commit, commit_date, executable, sha256'
complete -c breakglass -n "__fish_breakglass_using_subcommand version" -s h -l help -d 'Print help'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "custodian" -d 'Manage custodians (enroll a software identity or a YubiKey)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "init" -d 'Setup ceremony: create a vault from enrolled custodians and seal the secrets'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "unseal" -d 'Emergency unseal: a quorum of custodians opens the vault for a ticket and a reason'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "reseal" -d 'Reseal after rotation: a quorum changes credentials and seals a new generation with fresh shares'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "rekey" -d 'Change custodians or the threshold: a quorum of the current custodians seals a new generation'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "migrate" -d 'Migrate a format 1 vault to format 2 (a quorum; fresh shares; the history is kept)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "log" -d 'The audit log: verify, show, export, repair'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "check" -d 'Health check of a vault copy: log, manifest and every file\'s digest; no token, writes nothing'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "drill" -d 'Drill: prove a custodian\'s share opens (--custodian), or the whole quorum path (--quorum), showing nothing'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "respond" -d 'Remote custodian: answer a share request from the vault machine with your own token'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "review" -d 'Record the post-incident review of an unseal (due within 5 days)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "status" -d 'Open sessions and obligations (rotation, review, drills); exit 1 when something is overdue'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "report" -d 'Metrics per quarter for auditors (table, --json, --html FILE)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "demo" -d 'Walk every ceremony on a throwaway vault (no prompts)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "help-answers" -d 'Describe the answers file used for non-interactive runs'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "version" -d 'This build: version, commit, commit date and the SHA-256 of the running executable'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and not __fish_seen_subcommand_from custodian init unseal reseal rekey migrate log check drill respond review status report demo help-answers version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from custodian" -f -a "enroll" -d 'Enroll a custodian: YubiKeys, or a passphrase-protected software identity'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from custodian" -f -a "tokens" -d 'List the YubiKeys inserted (serial, firmware, reader)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "verify" -d 'Verify the hash chain and the anchor recorded in the sealed manifest'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "export" -d 'Export the verified log as JSON Lines for a SIEM (fields: see docs/governance.md)'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "show" -d 'Show the log entries'
complete -c breakglass -n "__fish_breakglass_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "repair" -d 'Remove a torn last line left by a crash (logged as `log-repaired`)'
