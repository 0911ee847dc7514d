#!/usr/bin/env python3
"""Independent verifier of a breakglass-log/1 chain, written from docs/formats.md
(section 5) alone; Python 3 standard library only. Checks what needs no secret:
canonical JSON, members, own hash, seq, prev chain, one vault, no torn tail, and
optionally a receipt bg1:<vault>:<seq>:<hash> from the incident ticket.
Usage: verify_log.py LOG [RECEIPT]   exit 0 intact, 1 not intact, 2 usage/I/O."""
import hashlib, json, re, sys
from datetime import datetime

def canon(v): return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
def no(s): raise ValueError(f"not an integer in 0..2^53: {s}")
def num(s): return int(s) if 0 <= int(s) <= 2**53 else no(s)
def hexn(v, n): return isinstance(v, str) and re.fullmatch(f"[0-9a-f]{{{n}}}", v)
def uint(v): return type(v) is int
def bad(n, why): print(f"log NOT intact: line {n}: {why}"); sys.exit(1)

def entry(n, raw):
    text = raw.decode("utf-8")
    e = json.loads(text, parse_int=num, parse_float=no, parse_constant=no)
    if not isinstance(e, dict) or canon(e) != text: bad(n, "not canonical JSON")
    need = {"data", "event", "generation", "hash", "prev", "seq", "time", "vault"}
    if not need <= set(e) <= need | {"mac"}: bad(n, f"members {sorted(e)}")
    if not (isinstance(e["data"], dict) and isinstance(e["event"], str) and 0 < len(e["event"].encode()) <= 64
            and uint(e["seq"]) and uint(e["generation"]) and e["generation"] >= 1 and hexn(e["hash"], 64) and hexn(e["prev"], 64)
            and hexn(e["vault"], 32) and ("mac" not in e or hexn(e["mac"], 64))): bad(n, "member types")
    if not (re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(e["time"])) and e["time"] >= "1970"):
        bad(n, "time")
    datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ")  # rejects Feb 30, 24:00, ...
    unhashed = {k: v for k, v in e.items() if k != "hash"}
    if hashlib.sha256(canon(unhashed).encode()).hexdigest() != e["hash"]: bad(n, "hash mismatch")
    return e

def main(path, receipt=None):
    try: data = open(path, "rb").read()
    except OSError as err: print(err); sys.exit(2)
    lines, prev, vault, seen = data.split(b"\n"), "0" * 64, None, {}
    if lines[-1]: bad(len(lines), "torn final line (append interrupted): run `breakglass log repair`")
    for n, raw in enumerate(lines[:-1], 1):
        try: e = entry(n, raw)
        except (ValueError, UnicodeDecodeError) as err: bad(n, err)
        if e["seq"] != n: bad(n, f"seq {e['seq']} where {n} was expected")
        if e["prev"] != prev: bad(n, "does not chain to the previous entry")
        if vault not in (None, e["vault"]): bad(n, "another vault")
        prev, vault, seen[n] = e["hash"], e["vault"], e["hash"]
    if receipt:
        m = re.fullmatch(r"bg1:([0-9a-f]{32}):(\d+):([0-9a-f]{64})", receipt)
        if not m: print("receipt is not bg1:<vault>:<seq>:<hash>"); sys.exit(2)
        if m[1] != vault or seen.get(int(m[2])) != m[3]: bad(len(seen), "receipt not in the log (truncated or rewritten)")
    print(f"log intact: {len(seen)} entries, head {prev}"); sys.exit(0)

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3): print(__doc__); sys.exit(2)
    main(*sys.argv[1:])
