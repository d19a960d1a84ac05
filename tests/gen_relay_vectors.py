#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent known answers for prosec's relay keys and messages.

Writes tests/vectors/relay.txt and the seeds of fuzz/corpus/pc5sig from
the layouts in docs/wire.md ("Relay signalling") and the FC values of
include/prosec/constants.h, with nothing of prosec: the KDF is Python's
hmac over an S built here octet by octet, 128-EIA2 is AES-CMAC and 128-EEA2
AES-CTR from the 'cryptography' package, set up as TS 33.401 B.2.3 and
B.1.3 say.  Run it from anywhere; it rewrites both outputs.
"""
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FC_ALG_KEY, FC_KD, FC_KD_SESS = 0x4B, 0x4C, 0x4D
T_ANNOUNCE, T_DCR, T_DSMC, T_COMPLETE = 1, 2, 3, 4
T_DSM_REJECT, T_LINK_REJECT, T_LINK_DATA = 5, 6, 7


def seq(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


def kdf_s(fc, *params):
    s = bytes([fc])
    for p in params:
        s += p + len(p).to_bytes(2, "big")
    return s


def kdf(key, s):
    return hmac.new(key, s, hashlib.sha256).digest()


def iv_block(count, bearer, direction):
    # COUNT (32) || BEARER (5) || DIRECTION (1) || 26 zero bits
    word = bearer << 27 | direction << 26
    return count.to_bytes(4, "big") + word.to_bytes(4, "big")


def eia2(key, count, bearer, direction, msg):
    c = cmac.CMAC(algorithms.AES(key))
    c.update(iv_block(count, bearer, direction) + msg)
    return c.finalize()[:4]


def eea(alg, key, count, bearer, direction, data):
    if alg == 0:
        return data
    assert alg == 2
    iv = iv_block(count, bearer, direction) + bytes(8)
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def hdr(msg_type, body_len):
    return bytes([1, msg_type]) + body_len.to_bytes(2, "big")


def hx(b):
    return b.hex()


# ---- the inputs --------------------------------------------------------
PRUK = seq(0x40, 32)
FRESH = seq(0xA0, 16)
PRUK_ID = bytes.fromhex("0102030405060708")
NONCE1 = seq(0x10, 16)
NONCE2 = seq(0x20, 16)
REMOTE_L2, RELAY_L2 = 0x00C0FF, 0xABCDEF
CAPS = bytes([0x0F, 0x0E])  # EEA0..3, EIA1..3
EEA, EIA = 2, 2
MIKEY_ADDR = bytes([10, 0, 0, 1]) + (5304).to_bytes(2, "big")
TCP_ADDR = bytes([192, 0, 2, 10]) + (5305).to_bytes(2, "big")
RSC = 0x000123

out = []


def rec(rid, comments, fields):
    out.append("[%s]" % rid)
    out.extend("# " + c for c in comments)
    out.extend("%s = %s" % kv for kv in fields)
    out.append("")


# ---- derivations -------------------------------------------------------
s_kd = kdf_s(FC_KD, FRESH)
KD = kdf(PRUK, s_kd)
rec("RELAY-KD-1", ["KD = KDF(PRUK, 0x4C, KD freshness): FC chosen, not "
                   "verified against TS 33.303 A.7"],
    [("PRUK", hx(PRUK)), ("KD_FRESHNESS", hx(FRESH)), ("S", hx(s_kd)),
     ("KD", hx(KD))])
pruk2, fresh2 = bytes(32), bytes([0xFF] * 16)
s2 = kdf_s(FC_KD, fresh2)
rec("RELAY-KD-2", ["an all-zero PRUK, an all-ones freshness"],
    [("PRUK", hx(pruk2)), ("KD_FRESHNESS", hx(fresh2)), ("S", hx(s2)),
     ("KD", hx(kdf(pruk2, s2)))])

s_sess = kdf_s(FC_KD_SESS, NONCE1, NONCE2)
KD_SESS = kdf(KD, s_sess)
rec("RELAY-KD-SESS-1", ["KD-sess = KDF(KD, 0x4D, Nonce_1, Nonce_2): FC "
                        "chosen, layout of TS 33.536 KNRP-sess"],
    [("KD", hx(KD)), ("NONCE_1", hx(NONCE1)), ("NONCE_2", hx(NONCE2)),
     ("S", hx(s_sess)), ("KD_SESS", hx(KD_SESS))])
s_swap = kdf_s(FC_KD_SESS, NONCE2, NONCE1)
rec("RELAY-KD-SESS-2", ["the nonces swapped: another key"],
    [("KD", hx(KD)), ("NONCE_1", hx(NONCE2)), ("NONCE_2", hx(NONCE1)),
     ("S", hx(s_swap)), ("KD_SESS", hx(kdf(KD, s_swap)))])

alg_keys = {}
for name, ptype, alg in (("PEK", 0, 2), ("PIK", 1, 2), ("PEK", 0, 0),
                         ("PIK", 1, 3)):
    s = kdf_s(FC_ALG_KEY, bytes([ptype]), bytes([alg]))
    full = kdf(KD_SESS, s)
    alg_keys[(name, alg)] = full[16:]
    rec("RELAY-%s-%d" % (name, alg),
        ["TS 33.303 A.4 with KD-sess as the key: the 16 last octets"],
        [("KD_SESS", hx(KD_SESS)), ("ALG", str(alg)), ("S", hx(s)),
         ("KDF_OUT", hx(full)), (name, hx(full[16:]))])
PEK, PIK = alg_keys[("PEK", 2)], alg_keys[("PIK", 2)]

# ---- the security mode messages ----------------------------------------
body = NONCE2 + FRESH + CAPS + bytes([EEA, EIA]) + MIKEY_ADDR
maced = hdr(T_DSMC, len(body) + 4) + body
DSMC = maced + eia2(PIK, 0, 0, 1, maced)
rec("RELAY-DSMC-1", ["DIRECT_SECURITY_MODE_COMMAND, MAC-I = 128-EIA2(PIK, "
                     "COUNT 0, BEARER 0, DIRECTION 1, all before it)"],
    [("PIK", hx(PIK)), ("CAPS", hx(CAPS)), ("MESSAGE", hx(DSMC)),
     ("ERR", "PROSEC_OK")])
bad = bytearray(DSMC)
bad[-1] ^= 0x01
rec("RELAY-DSMC-2", ["the last MAC-I bit flipped"],
    [("PIK", hx(PIK)), ("CAPS", hx(CAPS)), ("MESSAGE", hx(bytes(bad))),
     ("ERR", "PROSEC_ERR_PC5SIG_MAC")])
rec("RELAY-DSMC-3", ["authentic, but the request offered EEA1..3 only: the "
                     "echo differs"],
    [("PIK", hx(PIK)), ("CAPS", "0e0e"), ("MESSAGE", hx(DSMC)),
     ("ERR", "PROSEC_ERR_PC5SIG_ECHO")])

chdr = hdr(T_COMPLETE, 4)
COMPLETE = chdr + eia2(PIK, 0, 0, 0, chdr + DSMC)
rec("RELAY-COMPLETE-1", ["DIRECT_SECURITY_MODE_COMPLETE, MAC-I = 128-EIA2("
                         "PIK, COUNT 0, BEARER 0, DIRECTION 0, header || "
                         "DSMC)"],
    [("PIK", hx(PIK)), ("DSMC", hx(DSMC)), ("MESSAGE", hx(COMPLETE)),
     ("ERR", "PROSEC_OK")])
rec("RELAY-COMPLETE-2", ["the MAC-I of DIRECTION 1: a reflected MAC-I"],
    [("PIK", hx(PIK)), ("DSMC", hx(DSMC)),
     ("MESSAGE", hx(chdr + eia2(PIK, 0, 0, 1, chdr + DSMC))),
     ("ERR", "PROSEC_ERR_PC5SIG_MAC")])


# ---- LINK_DATA -----------------------------------------------------------
def link_data(eea_alg, pek, pik, count, direction, pt):
    h = hdr(T_LINK_DATA, 4 + len(pt) + 4) + count.to_bytes(4, "big")
    mac = eia2(pik, count, 0, direction, h + pt)
    return h + eea(eea_alg, pek, count, 0, direction, pt + mac)


links = []
for n, (sender, count, pt, eea_alg) in enumerate((
        ("remote", 1, b"first datagram from the remote UE", 2),
        ("relay", 0x102, bytes(range(37)), 2),
        ("remote", 2, b"", 2),
        ("relay", 0xFFFFFFFF, b"the very last COUNT", 2),
        ("remote", 5, b"null ciphering, MAC-I in clear", 0))):
    direction = 1 if sender == "relay" else 0
    pek = alg_keys[("PEK", eea_alg)]
    msg = link_data(eea_alg, pek, PIK, count, direction, pt)
    links.append(msg)
    rec("RELAY-LINK-%d" % (n + 1),
        ["LINK_DATA from the %s: DIRECTION %d, BEARER 0" % (sender,
                                                            direction)],
        [("KD_SESS", hx(KD_SESS)), ("EEA", str(eea_alg)), ("EIA", "2"),
         ("SENDER", sender), ("COUNT", "%08x" % count),
         ("PLAINTEXT", hx(pt) if pt else "(empty)"), ("MESSAGE", hx(msg)),
         ("ERR", "PROSEC_OK")])
bad = bytearray(links[0])
bad[10] ^= 0x80
rec("RELAY-LINK-6", ["RELAY-LINK-1 with a ciphertext bit flipped"],
    [("KD_SESS", hx(KD_SESS)), ("EEA", "2"), ("EIA", "2"),
     ("SENDER", "remote"), ("COUNT", "00000001"), ("PLAINTEXT", "(empty)"),
     ("MESSAGE", hx(bytes(bad))), ("ERR", "PROSEC_ERR_PC5SIG_MAC")])
rec("RELAY-LINK-7", ["RELAY-LINK-1 opened by the remote itself: the wrong "
                     "DIRECTION"],
    [("KD_SESS", hx(KD_SESS)), ("EEA", "2"), ("EIA", "2"),
     ("SENDER", "relay"), ("COUNT", "00000001"), ("PLAINTEXT", "(empty)"),
     ("MESSAGE", hx(links[0])), ("ERR", "PROSEC_ERR_PC5SIG_MAC")])

head = """# Relay keys and signalling (TS 33.303 6.7 as prosec lays it out)
# NOT official 3GPP data: computed for this project by
# tests/gen_relay_vectors.py from docs/wire.md ("Relay signalling") and the
# FC values of include/prosec/constants.h (0x4C and 0x4D are chosen, not
# verified against TS 33.303), with Python's hmac and the AES-CMAC and
# AES-CTR of the 'cryptography' package, independently of prosec's code.
# Hex strings are octet strings.  ERR is the prosec_err a receiver gives.
# LINK records: SENDER seals at COUNT; the other side opens; a negative
# record's PLAINTEXT is unused.

"""
with open(os.path.join(ROOT, "tests/vectors/relay.txt"), "w") as f:
    f.write(head + "\n".join(out))

# ---- fuzz seeds: valid under the fuzzer's fixed keys (fuzz_pc5sig.c) ----
announce_body = (RELAY_L2.to_bytes(3, "big") + TCP_ADDR +
                 RSC.to_bytes(3, "big"))
dcr_body = REMOTE_L2.to_bytes(3, "big") + PRUK_ID + NONCE1 + CAPS
seeds = {
    "announce": hdr(T_ANNOUNCE, len(announce_body)) + announce_body,
    "dcr": hdr(T_DCR, len(dcr_body)) + dcr_body,
    "dsmc": DSMC,
    "complete": COMPLETE,
    "dsm_reject": hdr(T_DSM_REJECT, 1) + bytes([2]),
    "link_reject": hdr(T_LINK_REJECT, 1) + bytes([1]),
    "link_data": links[0],
    "link_data_empty": links[2],
    "link_data_eea0": links[4],
    "dcr_truncated": (hdr(T_DCR, len(dcr_body)) + dcr_body)[:20],
    "two_messages": COMPLETE + links[0],
}
corpus = os.path.join(ROOT, "fuzz/corpus/pc5sig")
os.makedirs(corpus, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(data)
