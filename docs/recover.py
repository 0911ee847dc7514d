#!/usr/bin/env python3
"""Recover a breakglass vault's payload without breakglass (docs/recovery.md).

Follows docs/recovery.md step by step, with stock `age` (and
`age-plugin-yubikey` for YubiKey custodians) and Python's standard library
plus `cryptography` (ChaCha20-Poly1305) and an Argon2id implementation
(`cryptography` >= 44, or the `argon2-cffi` package, Debian python3-argon2).

    recover.py vault --vault DIR --identity FILE [--identity FILE ...]
        FILE is a software identity (breakglass-software-identity/1, asks for
        its passphrase) or an age identity file, e.g. the stub written by
        `age-plugin-yubikey --identity --slot 1` (age asks for PIN/touch).
        Writes the payload plaintext (JSON) to standard output.
    recover.py combine            stdin: one "x y-hex" line per share; prints K
    recover.py payload-identity --vault-id HEX
                                  stdin: K in hex; prints the age identity

Passphrases are read from the terminal, or one line each from standard input
when it is not a terminal. Secrets never go to argv, the environment or files:
identities reach `age` through a pipe (`age -d -i -`). Python cannot wipe
memory reliably; run this on the offline machine and close it afterwards.
"""

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

# --- GF(256) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B) -------

POLY = 0x11B


def gf_mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= POLY
        b >>= 1
    return r


def gf_inv(a):
    if a == 0:
        raise ValueError("0 has no inverse")
    r, e = 1, 254  # a^254 = a^-1 in GF(256)
    while e:
        if e & 1:
            r = gf_mul(r, a)
        a = gf_mul(a, a)
        e >>= 1
    return r


def combine(shares):
    """Lagrange interpolation at x = 0, byte by byte. shares: [(x, bytes)]."""
    xs = [x for x, _ in shares]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError("share x values must be distinct and non-zero")
    n = len(shares[0][1])
    secret = bytearray(n)
    for j, (xj, yj) in enumerate(shares):
        num, den = 1, 1
        for m, (xm, _) in enumerate(shares):
            if m != j:
                num = gf_mul(num, xm)  # (0 - x_m) = x_m in characteristic 2
                den = gf_mul(den, xm ^ xj)  # (x_j - x_m) = x_j XOR x_m
        lj = gf_mul(num, gf_inv(den))
        for i in range(n):
            secret[i] ^= gf_mul(yj[i], lj)
    return secret


# --- HKDF-SHA256 (RFC 5869), one output block -------------------------------


def hkdf32(ikm, salt, info):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


# --- Bech32 (BIP 173), as age encodes identities ----------------------------

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_encode(hrp, data):
    bits, acc, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = _polymod(expanded + five + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in five + checksum)


def payload_identity(k, vault_id):
    raw = hkdf32(bytes(k), vault_id, b"breakglass/v1 payload identity")
    return bech32_encode("age-secret-key-", raw).upper()


# --- software identity files (formats.md §12.1) -----------------------------


def argon2id(passphrase, salt, m_kib, t, p):
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt, length=32, iterations=t, lanes=p, memory_cost=m_kib
        ).derive(passphrase)
    except ImportError:
        pass
    try:
        from argon2.low_level import Type, hash_secret_raw
    except ImportError:
        sys.exit(
            "error: no Argon2id implementation: install python3-argon2 (Debian) "
            "or cryptography >= 44"
        )
    return hash_secret_raw(passphrase, salt, t, m_kib, p, 32, Type.ID, 19)


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def unlock_software_identity(doc, passphrase):
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    kdf = doc["kdf"]
    salt = base64.b64decode(doc["salt"], validate=True)
    nonce = base64.b64decode(doc["nonce"], validate=True)
    ciphertext = base64.b64decode(doc["ciphertext"], validate=True)
    aad = canonical({k: v for k, v in doc.items() if k != "ciphertext"}).encode()
    key = argon2id(passphrase, salt, kdf["m_kib"], kdf["t"], kdf["p"])
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None


def read_passphrase(prompt):
    if sys.stdin.isatty():
        return getpass.getpass(prompt).encode()
    sys.stderr.write(prompt + "(from standard input)\n")
    line = sys.stdin.readline()
    if not line:
        sys.exit("error: standard input ended before a passphrase")
    return line.rstrip("\n").encode()


# --- age ---------------------------------------------------------------------


def age_decrypt(path, identity_text=None, identity_file=None):
    """`age -d`; the identity goes through a pipe, never a file or argv."""
    if identity_text is not None:
        cmd = ["age", "-d", "-i", "-", path]
        r = subprocess.run(cmd, input=identity_text, capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"age -d {path}: " + r.stderr.decode(errors="replace").strip())
    else:
        # A plugin (age-plugin-yubikey) talks to the custodian: PIN, touch.
        cmd = ["age", "-d", "-i", identity_file, path]
        r = subprocess.run(cmd, stdout=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(f"age -d -i {identity_file} {path} failed (see its message above)")
    return r.stdout


# --- share envelope (formats.md §6) -----------------------------------------

ENVELOPE = re.compile(
    rb"breakglass-share/1\n"
    rb"vault: ([0-9a-f]{32})\n"
    rb"generation: (0|[1-9][0-9]*)\n"
    rb"custodian: ([a-z0-9][a-z0-9._-]{0,31})\n"
    rb"threshold: ([1-9][0-9]*)\n"
    rb"x: ([1-9][0-9]*)\n"
    rb"y: ([0-9a-f]{64})\n\Z"
)


def parse_envelope(text):
    m = ENVELOPE.match(text)
    if not m:
        raise ValueError("not a breakglass-share/1 envelope")
    return {
        "vault": m.group(1).decode(),
        "generation": int(m.group(2)),
        "custodian": m.group(3).decode(),
        "threshold": int(m.group(4)),
        "x": int(m.group(5)),
        "y": bytearray.fromhex(m.group(6).decode()),
    }


# --- the recovery -------------------------------------------------------------


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def identity_recipient(path):
    """(kind, recipient, document) of an identity file."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("format") == "breakglass-software-identity/1":
        return "software", doc["recipient"], doc
    m = re.search(rb"Recipient: (age1[0-9a-z]+)", raw)
    return "age", (m.group(1).decode() if m else None), None


def recover(vault, identities):
    with open(os.path.join(vault, "manifest.json"), "rb") as f:
        manifest = json.load(f)
    if manifest.get("format") not in ("breakglass-manifest/2", "breakglass-manifest/1"):
        sys.exit(f"error: {vault}/manifest.json is not a breakglass manifest")
    vault_id = manifest["vault_id"]
    generation = manifest["generation"]
    threshold = manifest["threshold"]
    by_recipient = {}
    for c in manifest["custodians"]:
        for t in c["tokens"]:
            by_recipient[t["recipient"]] = c
    shares = {}
    for path in identities:
        kind, recipient, doc = identity_recipient(path)
        custodian = by_recipient.get(recipient)
        if custodian is None:
            sys.exit(f"error: {path}: its recipient {recipient} is not a token of this vault")
        name = custodian["name"]
        share_path = os.path.join(vault, custodian["share"])
        if sha256_file(share_path) != custodian["commitment"]:
            sys.exit(f"error: {share_path} does not match {name}'s commitment in the manifest")
        if kind == "software":
            identity = unlock_software_identity(doc, read_passphrase(f"passphrase of {name}: "))
            if identity is None:
                sys.exit(f"error: wrong passphrase for {path} (or the file was altered)")
            envelope = age_decrypt(share_path, identity_text=identity + b"\n")
        else:
            envelope = age_decrypt(share_path, identity_file=path)
        e = parse_envelope(envelope)
        expected = {"vault": vault_id, "generation": generation, "custodian": name,
                    "threshold": threshold, "x": custodian["x"]}
        for field, want in expected.items():
            if e[field] != want:
                sys.exit(f"error: {name}'s share says {field} {e[field]}, the manifest {want}")
        shares[e["x"]] = e["y"]
        sys.stderr.write(f"share of {name} (x = {e['x']}) accepted\n")
    if len(shares) < threshold:
        sys.exit(f"error: {len(shares)} distinct shares, {threshold} needed")
    k = combine(sorted(shares.items())[:threshold])
    identity = payload_identity(k, bytes.fromhex(vault_id))
    payload_path = os.path.join(vault, manifest["payload"]["file"])
    if sha256_file(payload_path) != manifest["payload"]["digest"]:
        sys.exit(f"error: {payload_path} does not match the manifest's payload digest")
    return age_decrypt(payload_path, identity_text=identity.encode() + b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vault")
    v.add_argument("--vault", required=True)
    v.add_argument("--identity", action="append", required=True)
    sub.add_parser("combine")
    p = sub.add_parser("payload-identity")
    p.add_argument("--vault-id", required=True)
    args = ap.parse_args()
    if args.cmd == "combine":
        shares = []
        for line in sys.stdin:
            if line.strip():
                x, y = line.split()
                shares.append((int(x), bytes.fromhex(y)))
        print(combine(shares).hex())
    elif args.cmd == "payload-identity":
        k = bytes.fromhex(sys.stdin.readline().strip())
        print(payload_identity(k, bytes.fromhex(args.vault_id)))
    else:
        try:
            plaintext = recover(args.vault, args.identity)
        except (RuntimeError, ValueError, KeyError, OSError) as e:
            sys.exit(f"error: {e}")
        sys.stdout.buffer.write(plaintext)
        if not plaintext.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")


if __name__ == "__main__":
    main()
