#!/usr/bin/env python3
"""Independent verifier of a breakglass audit log, written from docs/formats.md
alone (breakglass-log/2 and the format 1 history a migrated log begins with).

Checks everything that needs no secret: canonical JSON, members, own hash, seq,
prev chain, one vault, no torn tail (section 7); the root of trust, every
Ed25519 and ECDSA P-256 signature, the chain of certified generations from the
root, dead generations (section 8). Optionally also:

  --fingerprint F   the vault fingerprint on the custodians' paper copy: refuse
                    unless the log's root of trust has exactly this fingerprint
                    (section 9; case and the dashes are not significant);
  --manifest FILE   a manifest.json: refuse unless the newest certificate in the
                    log certifies exactly these bytes and the manifest's own
                    signatures hold (section 5);
  RECEIPT           bg1:<vault>:<seq>:<hash> from the incident ticket: refuse
                    unless the log holds it (section 11).

Signatures need the `cryptography` package (Debian: python3-cryptography).
Without it the verifier falls back to the chain and the structure alone, says
so loudly, and never exits 0.

Usage: verify_log.py [--fingerprint F] [--manifest FILE] LOG [RECEIPT]
Exit codes:
  0  verified: chain intact, every signature holds, and what was given matches;
  1  NOT verified: a broken or empty log, a forged entry, or a fingerprint,
     manifest or receipt that does not match;
  2  usage or I/O error (nothing was verified);
  3  chain intact but signatures NOT checked (`cryptography` is missing).

As a module: verify_log(data, fingerprint=None, manifest=None, receipt=None)
returns the report as a dict (what the command prints, for tests and tools).
"""
import calendar
import hashlib
import json
import re
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    CRYPTO = True
except ImportError:  # pragma: no cover - exercised by the test suite
    CRYPTO = False

GENESIS = "0" * 64
MAX_LINE = 65536  # bytes of a line without its LF (section 7.1)
MAX_DEPTH = 127  # nested arrays and objects (section 2.1)
MAX_INT = 2 ** 53
LOG_CONTEXT = b"breakglass/v2 log entry\n"
MANIFEST_CONTEXT = b"breakglass/v2 manifest\n"
SUCCESSOR_CONTEXT = b"breakglass/v2 successor manifest\n"
FINGERPRINT_CONTEXT = b"breakglass/v2 vault fingerprint\n"
MANIFEST_FORMAT = "breakglass-manifest/2"
ENTRY_MEMBERS = {"data", "event", "generation", "hash", "mac", "prev", "seq", "sig", "time", "vault"}
ALGS = ("ed25519", "ecdsa-p256")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
EVEN_HEX = re.compile(r"(?:[0-9a-f]{2})*")

# Ed25519 (RFC 8032): field prime, group order, and the y coordinates of the
# eight points of small order (strict verification rejects them as keys and as R).
ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493


def _ed_y(b):
    return (int.from_bytes(b, "little") & ((1 << 255) - 1)) % ED_P


ED_SMALL_ORDER_Y = {0, 1, ED_P - 1} | {
    _ed_y(bytes.fromhex(h))
    for h in (
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    )
}
# P-256 (for the compact point form 05 || x, see section 4).
P256_P = 2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


class Broken(Exception):
    """The chain is broken at a line: nothing from there on is trusted."""


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hexn(v, n):
    return isinstance(v, str) and re.fullmatch(f"[0-9a-f]{{{n}}}", v) is not None


def unhex(v):
    """Lower-case hex of any even length (None when not)."""
    if not isinstance(v, str) or not EVEN_HEX.fullmatch(v):
        return None
    return bytes.fromhex(v)


def uint(v):
    return type(v) is int  # not bool


def depth(v):
    deepest, todo = 0, [(v, 1)]
    while todo:
        x, d = todo.pop()
        if isinstance(x, (dict, list)):
            deepest = max(deepest, d)
            todo.extend((c, d + 1) for c in (x.values() if isinstance(x, dict) else x))
    return deepest


def load_canonical(text):
    """Parses canonical JSON (section 2.1); raises ValueError otherwise."""

    def bad_number(s):
        raise ValueError(f"numbers must be integers between 0 and 2^53 ({s[:20]})")

    def integer(s):
        v = int(s)
        return v if 0 <= v <= MAX_INT else bad_number(s)

    try:
        v = json.loads(text, parse_int=integer, parse_float=bad_number, parse_constant=bad_number)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if depth(v) > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if canon(v) != text:
        raise ValueError("not in canonical form (keys must be sorted, no spaces, integers only)")
    return v


def time_ok(s):
    m = isinstance(s, str) and TIME.fullmatch(s)
    if not m:
        return False
    y, mo, d, h, mi, se = map(int, m.groups())
    return (y >= 1970 and 1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]
            and h <= 23 and mi <= 59 and se <= 59)


def parse_sig(sig):
    """The `sig` member (section 7.2): (signer, value bytes); raises ValueError."""
    if not isinstance(sig, dict):
        raise ValueError("member 'sig' is not an object")

    def s(k):
        v = sig.get(k)
        if not isinstance(v, str):
            raise ValueError(f"member 'sig.{k}' missing or not a string")
        return v

    value = unhex(s("value"))
    if not value or len(value) > 128:
        raise ValueError("member 'sig.value' is not lower-case hex of 1 to 128 bytes")
    by = s("by")
    if by == "quorum":
        signer, allowed = ("quorum",), {"by", "value"}
    elif by == "custodian":
        custodian = s("custodian")
        if not NAME.fullmatch(custodian):
            raise ValueError("member 'sig.custodian' is not a valid custodian name")
        token = s("token")
        if not token or len(token.encode()) > 64:
            raise ValueError("member 'sig.token' is empty or too long")
        alg = s("alg")
        if alg not in ALGS:
            raise ValueError("member 'sig.alg' is not ed25519 or ecdsa-p256")
        signer, allowed = ("custodian", custodian, token, alg), {"alg", "by", "custodian", "token", "value"}
    else:
        raise ValueError("member 'sig.by' is neither quorum nor custodian")
    unknown = sorted(set(sig) - allowed)
    if unknown:
        raise ValueError(f"unknown member 'sig.{unknown[0][:32]}'")
    return signer, value


def parse_entry(raw):
    """One line without its LF (section 7.1); raises ValueError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    e = load_canonical(text)
    if not isinstance(e, dict):
        raise ValueError("not a JSON object")
    unknown = sorted(set(e) - ENTRY_MEMBERS)
    if unknown:
        raise ValueError(f"unknown member '{unknown[0][:32]}'")
    if not isinstance(e.get("data"), dict):
        raise ValueError("member 'data' missing or not an object")
    for k in ("hash", "prev"):
        if not hexn(e.get(k), 64):
            raise ValueError(f"member '{k}' missing or not 64 lower-case hex digits")
    seal = None
    if "mac" in e and "sig" in e:
        raise ValueError("an entry carries either 'mac' (format 1) or 'sig' (format 2), not both")
    if "mac" in e:
        if not hexn(e["mac"], 64):
            raise ValueError("member 'mac' is not 64 lower-case hex digits")
        seal = ("mac",)
    if "sig" in e:
        seal = ("sig",) + parse_sig(e["sig"])
    if not (isinstance(e.get("event"), str) and 1 <= len(e["event"].encode()) <= 64):
        raise ValueError("member 'event' missing, empty or too long")
    if not hexn(e.get("vault"), 32):
        raise ValueError("member 'vault' missing or not 32 lower-case hex digits")
    if not time_ok(e.get("time")):
        raise ValueError("member 'time' is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ, 1970 or later)")
    unhashed = {k: v for k, v in e.items() if k != "hash"}
    if hashlib.sha256(canon(unhashed).encode()).hexdigest() != e["hash"]:
        raise ValueError("its hash does not match its content")
    if not (uint(e.get("generation")) and e["generation"] >= 1):
        raise ValueError("member 'generation' missing or not an integer of at least 1")
    if not uint(e.get("seq")):
        raise ValueError("member 'seq' missing or not an integer")
    return e, seal


def signed_body(e):
    """The canonical JSON of the entry without `hash` and `sig.value` (section 7.2)."""
    body = {k: v for k, v in e.items() if k != "hash"}
    body["sig"] = {k: v for k, v in e["sig"].items() if k != "value"}
    return canon(body).encode()


def ed25519_ok(key, context, body, sig):
    """Strict Ed25519 (section 4): no small-order key or R, canonical S."""
    if len(key) != 32 or len(sig) != 64:
        return False
    if _ed_y(key) in ED_SMALL_ORDER_Y or _ed_y(sig[:32]) in ED_SMALL_ORDER_Y:
        return False
    if int.from_bytes(sig[32:], "little") >= ED_L:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, context + body)
        return True
    except (InvalidSignature, ValueError):
        return False


def p256_key(sec1):
    if len(sec1) == 33 and sec1[0] == 5:
        # The compact form 05 || x (y = the smaller root), which the library's
        # SEC1 parser also accepts (section 4).
        x = int.from_bytes(sec1[1:], "big")
        a = (pow(x, 3, P256_P) - 3 * x + P256_B) % P256_P
        y = pow(a, (P256_P + 1) // 4, P256_P)
        if x >= P256_P or y * y % P256_P != a:
            return None
        sec1 = b"\x04" + sec1[1:] + min(y, P256_P - y).to_bytes(32, "big")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(sec1))
    except ValueError:
        return None


def p256_ok(sec1, context, body, der):
    """ECDSA P-256 with SHA-256, strict DER, high S accepted (section 4)."""
    key = p256_key(sec1) if len(der) <= 72 else None
    if key is None:
        return False
    try:
        key.verify(der, context + body, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def vault_fingerprint(vault_hex, genesis_hex):
    d = hashlib.sha256(FINGERPRINT_CONTEXT + bytes.fromhex(vault_hex) + bytes.fromhex(genesis_hex)).hexdigest()
    return "-".join(d[i:i + 4] for i in range(0, 32, 4))


class Trust:
    """The rules of section 8, applied entry by entry to the intact chain."""

    def __init__(self, check_signatures):
        self.check = check_signatures
        self.root = None  # {"seq", "generation", "key", "event"}
        self.certs = []  # {"generation", "key", "seq", "digest", "signers", "by", "successor"}
        self.active = 0  # the highest generation that has signed an entry
        self.counts = {"quorum": 0, "custodian": 0, "unsigned": 0, "format1": 0, "forged": 0}
        self.forged = []  # [seq, event, why]
        self.last_signed = None

    def ed25519(self, key, body, sig):
        return ed25519_ok(key, LOG_CONTEXT, body, sig) if self.check else True

    def p256(self, key, body, sig):
        return p256_ok(key, LOG_CONTEXT, body, sig) if self.check else True

    def keys_of(self, generation):
        return [c["key"] for c in self.certs if c["generation"] == generation]

    def observe(self, e, seal):
        kind, why = self.classify(e, seal)
        self.counts[kind] += 1
        if kind == "forged":
            self.forged.append([e["seq"], e["event"], why])
        if kind in ("quorum", "custodian"):
            self.last_signed = e["seq"]

    def classify(self, e, seal):
        if self.root is None:
            return self.before_root(e, seal)
        if e["event"] == "migrated" and self.newest() is None:
            # A migration interrupted before its sealed entry committed nothing:
            # the next migration's root replaces it while no certificate exists.
            old, self.root = self.root, None
            kind, why = self.before_root(e, seal)
            if kind == "quorum":
                self.certs = [c for c in self.certs if not (c["key"] == old["key"] and c["digest"] is None)]
            else:
                self.root = old
            return kind, why
        signed = seal is not None and seal[0] == "sig"
        if signed and e["generation"] < self.active:
            return "forged", (f"is signed under generation {e['generation']} after generation "
                              f"{self.active} had taken over: the key of a dead generation")
        kind, why = self.classify_signed(e, seal)
        if kind in ("quorum", "custodian"):
            self.active = max(self.active, e["generation"])
        return kind, why

    def before_root(self, e, seal):
        root_event = (e["event"] == "vault-created" and e["seq"] == 1) or e["event"] == "migrated"
        genesis = e["data"].get("genesis_key")
        if root_event and isinstance(genesis, str):
            if not hexn(genesis, 64):
                return "forged", "names a genesis key that is not 64 hex digits"
            if seal is None or seal[0] != "sig" or seal[1] != ("quorum",):
                return "forged", "is a root of trust without the genesis key's signature"
            key = bytes.fromhex(genesis)
            if not self.ed25519(key, signed_body(e), seal[2]):
                return "forged", "is a root of trust whose signature does not verify under its genesis key"
            g = e["generation"]
            self.root = {"seq": e["seq"], "generation": g, "key": key, "event": e["event"]}
            self.certs.append({"generation": g, "key": key, "seq": e["seq"], "digest": None, "signers": {},
                               "by": key, "successor": False})
            self.active = g
            return "quorum", None
        if seal is not None and seal[0] == "sig":
            return "forged", "is signed but comes before the vault's root of trust"
        return "format1", None

    def classify_signed(self, e, seal):
        g = e["generation"]
        if seal is None:
            return "unsigned", None
        if seal[0] == "mac":
            return "forged", "carries a format 1 MAC although the vault is format 2"
        _, signer, value = seal
        body = signed_body(e)
        if signer == ("quorum",):
            keys = self.keys_of(g)
            by = next((k for k in keys if self.ed25519(k, body, value)), None)
            if by is None:
                return "forged", (f"claims to be written by a quorum of generation {g} but its signature does not verify"
                                  if keys else
                                  f"claims to be written by a quorum of generation {g}, which no quorum certified")
            if e["event"] == "sealed":
                why = self.certify(e, by)
                if why:
                    return "forged", f"is a signed seal whose certificate is malformed ({why})"
            return "quorum", None
        _, custodian, token, alg = signer
        candidates = [k for c in self.certs if c["generation"] == g
                      for k in c["signers"].get(custodian, []) if k["token"] == token and k["alg"] == alg]
        verify = self.ed25519 if alg == "ed25519" else self.p256
        if any(verify(k["key"], body, value) for k in candidates):
            return "custodian", None
        if candidates:
            return "forged", f"claims to be signed by {custodian}'s token {token} but the signature does not verify"
        return "forged", (f"claims to be signed by {custodian}'s token {token}, "
                          f"which is not certified for generation {g}")

    def certify(self, e, by):
        """Records the certificate of a quorum-signed `sealed` entry (section 8.2);
        returns what is malformed, or None."""
        d = e["data"]
        g = d.get("generation")
        if not uint(g):
            return "generation"
        if not hexn(d.get("signing_key"), 64):
            return "signing_key"
        key = bytes.fromhex(d["signing_key"])
        if not hexn(d.get("manifest_digest"), 64):
            return "manifest_digest"
        signers = parse_signers(d.get("signers"))
        if signers is None:
            return "signers"
        successor = g == e["generation"] + 1
        own = g == e["generation"] and key in self.keys_of(g)
        if not (successor or own):
            return "it certifies neither its own generation nor the next"
        self.certs.append({"generation": g, "key": key, "seq": e["seq"], "digest": d["manifest_digest"],
                           "signers": signers, "by": by, "successor": successor})
        return None

    def newest(self):
        """The newest certificate with a manifest digest: highest generation, then latest."""
        with_digest = [c for c in self.certs if c["digest"]]
        return max(with_digest, key=lambda c: (c["generation"], c["seq"])) if with_digest else None


def parse_signers(v):
    """`signers` = {name: [{"alg", "key", "token"}, ...]} (section 8.2); None when malformed."""
    if not isinstance(v, dict):
        return None
    out = {}
    for name, tokens in v.items():
        if not isinstance(tokens, list):
            return None
        keys = []
        for t in tokens:
            if not isinstance(t, dict) or not isinstance(t.get("alg"), str) or t["alg"] not in ALGS:
                return None
            key = unhex(t.get("key"))
            if key is None or len(key) not in ((32,) if t["alg"] == "ed25519" else (33, 65)):
                return None
            if not isinstance(t.get("token"), str):
                return None
            keys.append({"alg": t["alg"], "key": key, "token": t["token"]})
        out[name] = keys
    return out


def check_manifest(data, trust, vault, hashes, check_signatures):
    """Problems with a manifest file against the log's certificates (section 5)."""
    root, newest = trust.root, trust.newest()
    if root is None:
        return ["the log holds no format 2 root of trust, so it certifies no manifest"]
    if newest is None:
        return ["no sealed entry of the log certifies a manifest"]
    digest = hashlib.sha256(data).hexdigest()
    if digest != newest["digest"]:
        older = [c for c in trust.certs if c["digest"] == digest]
        if older:
            return [f"the manifest is generation {older[-1]['generation']} (certified by entry {older[-1]['seq']}) "
                    f"but entry {newest['seq']} certifies generation {newest['generation']}: "
                    "a rollback, or a commit that was not completed"]
        return ["the manifest is certified by no sealed entry of the log: substituted or altered"]
    try:
        text = data.decode("utf-8")
        if not text.endswith("\n"):
            raise ValueError("missing final newline")
        m = load_canonical(text[:-1])
        if not isinstance(m, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        return [f"the certified manifest does not parse: {err}"]
    problems = []
    sigs = m.get("signatures") if isinstance(m.get("signatures"), dict) else {}
    expect = {
        "format": MANIFEST_FORMAT,
        "generation": newest["generation"],
        "genesis_key": root["key"].hex(),
        "signing_key": newest["key"].hex(),
        "vault_id": vault,
    }
    for k, want in expect.items():
        if m.get(k) != want:
            problems.append(f"the manifest's {k} is not {want}")
    head = m.get("log_head") if isinstance(m.get("log_head"), dict) else {}
    seq = head.get("seq")
    if not (uint(seq) and seq < newest["seq"] and hashes.get(seq) == head.get("hash")):
        problems.append("the manifest's log_head is not an entry of the log before its sealed entry")
    if check_signatures and not problems:
        body = canon({k: v for k, v in m.items() if k not in ("mac", "signatures")}).encode()
        own = unhex(sigs.get("self")) or b""
        if not ed25519_ok(newest["key"], MANIFEST_CONTEXT, body, own):
            problems.append("the manifest's self signature does not verify")
        if newest["successor"]:
            pred = unhex(sigs.get("predecessor")) or b""
            if not ed25519_ok(newest["by"], SUCCESSOR_CONTEXT, body, pred):
                problems.append("the manifest's predecessor signature does not verify under the key that certified it")
        elif "predecessor" in sigs:
            problems.append("the manifest carries a predecessor signature but its generation certified itself")
    return problems


def verify_log(data, fingerprint=None, manifest=None, receipt=None, check_signatures=None):
    """Verifies the log bytes `data`; returns the report (a dict)."""
    check = CRYPTO if check_signatures is None else check_signatures
    trust = Trust(check)
    report = {"ok": False, "signatures_checked": check, "chain_intact": False, "entries": 0, "head": None,
              "vault": None, "problems": [], "root": None, "fingerprint": None}
    prev, hashes, pos, n = GENESIS, {}, 0, 0
    if not data:
        report["problems"].append("the log is empty: no entries and no root of trust (truncated to nothing, "
                                  "or not a vault's log)")
    try:
        while pos < len(data):
            n += 1
            nl = data.find(b"\n", pos)
            end = len(data) if nl < 0 else nl
            if end - pos > MAX_LINE:
                raise Broken(f"line {n}: longer than {MAX_LINE} bytes")
            if nl < 0:
                raise Broken(f"line {n}: torn final line ({end - pos} bytes without LF: an append interrupted "
                             "by a crash); run `breakglass log repair`")
            raw, pos = data[pos:nl], nl + 1
            try:
                e, seal = parse_entry(raw)
            except ValueError as err:
                raise Broken(f"line {n}: {err}") from None
            if e["seq"] != n:
                raise Broken(f"line {n}: sequence number {e['seq']} where {n} was expected")
            if e["prev"] != prev:
                raise Broken(f"line {n}: it does not chain to the previous entry")
            if report["vault"] not in (None, e["vault"]):
                raise Broken(f"line {n}: it belongs to another vault")
            report["vault"], prev, hashes[n] = e["vault"], e["hash"], e["hash"]
            report["entries"], report["head"] = n, prev
            trust.observe(e, seal)
        report["chain_intact"] = bool(data)
    except Broken as err:
        report["problems"].append(f"the chain is broken at {err} (edited, reordered, truncated or lines removed)")
    for seq, event, why in trust.forged:
        report["problems"].append(f"entry {seq} ('{event[:64]}') {why}: it was forged or altered, and counts for nothing")
    if trust.root:
        r = trust.root
        report["root"] = {"seq": r["seq"], "event": r["event"], "generation": r["generation"], "key": r["key"].hex()}
        report["fingerprint"] = vault_fingerprint(report["vault"], r["key"].hex())
    report["generations"] = [[c["generation"], c["seq"]] for c in trust.certs if c["digest"]]
    report["counts"], report["forged"], report["last_signed"] = trust.counts, trust.forged, trust.last_signed
    if fingerprint is not None:
        want = fingerprint.lower().replace("-", "").replace(" ", "")
        if report["fingerprint"] is None:
            report["problems"].append("no fingerprint to compare: the log holds no format 2 root of trust")
        elif report["fingerprint"].replace("-", "") != want:
            report["problems"].append(f"the log's vault fingerprint is {report['fingerprint']}, not {fingerprint}: "
                                      "another vault's log, or a forged one")
    if manifest is not None:
        report["problems"] += check_manifest(manifest, trust, report["vault"], hashes, check)
    if receipt is not None:
        m = re.fullmatch(r"bg1:([0-9a-f]{32}):([0-9]+):([0-9a-f]{64})", receipt)
        if not m or m[1] != report["vault"] or hashes.get(int(m[2])) != m[3]:
            report["problems"].append("the receipt is not in the log (truncated or rewritten)")
    report["ok"] = not report["problems"]
    return report


def main(argv):
    args, fingerprint, manifest_path = list(argv), None, None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt not in ("--fingerprint", "--manifest") or not args:
            return usage()
        if opt == "--fingerprint":
            fingerprint = args.pop(0)
            if not re.fullmatch(r"[0-9a-f]{32}", fingerprint.lower().replace("-", "").replace(" ", "")):
                print("the fingerprint is eight groups of four hex digits: xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx")
                return 2
        else:
            manifest_path = args.pop(0)
    if len(args) not in (1, 2):
        return usage()
    receipt = args[1] if len(args) == 2 else None
    if receipt is not None and not re.fullmatch(r"bg1:[0-9a-f]{32}:[0-9]+:[0-9a-f]{64}", receipt):
        print("receipt is not bg1:<vault>:<seq>:<hash>")
        return 2
    try:
        with open(args[0], "rb") as f:
            data = f.read()
        manifest = None
        if manifest_path is not None:
            with open(manifest_path, "rb") as f:
                manifest = f.read()
    except OSError as err:
        print(err)
        return 2
    if not CRYPTO:
        print("WARNING: the Python package `cryptography` is missing (Debian: apt-get install python3-cryptography):\n"
              "WARNING: NO SIGNATURE IS CHECKED. Only the chain and the structure are; signatures are assumed.\n"
              "WARNING: anyone with write access could have written this log. Exit code 3 at best.", file=sys.stderr)
    r = verify_log(data, fingerprint, manifest, receipt)
    c = r["counts"]
    print(f"{r['entries']} entries, head {r['head']}, vault {r['vault']}")
    if r["root"]:
        print(f"root of trust: entry {r['root']['seq']} ({r['root']['event']}), generation {r['root']['generation']}, "
              f"genesis key {r['root']['key']}")
        print(f"vault fingerprint: {r['fingerprint']} (compare with the paper copy)")
        gens = ", ".join(f"generation {g} by entry {s}" for g, s in r["generations"]) or "none"
        print(f"certified manifests: {gens}")
    elif r["entries"]:
        print("no format 2 root of trust: format 1 history only (its MACs need the secret key)")
    print(f"entries: {c['quorum']} quorum-signed, {c['custodian']} custodian-signed, {c['unsigned']} unsigned, "
          f"{c['format1']} format 1, {c['forged']} forged"
          + (f" (seq {', '.join(str(f[0]) for f in r['forged'])})" if r["forged"] else ""))
    if r["last_signed"] is not None and r["last_signed"] < r["entries"]:
        print(f"entries after {r['last_signed']} are signed by nobody (anyone with write access could have appended them)")
    for p in r["problems"]:
        print(f"NOT verified: {p}")
    if not r["ok"]:
        print("log NOT verified")
        return 1
    if not r["signatures_checked"]:
        print("log chain intact, signatures NOT checked (no `cryptography`)")
        return 3
    print("log verified")
    return 0


def usage():
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
