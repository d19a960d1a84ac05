#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Interop: Wireshark's MIKEY dissector must decode every message prosec
# sends.  mikey_sample writes a PGK push, a revocation and a verification
# message; text2pcap wraps each in a UDP datagram to PORT; tshark, told
# that PORT carries MIKEY, must show every payload of each and report no
# malformed packet and no expert info.
#
# Wireshark 4.0 knows the RFC 3830 numbers only: it names PRF func 1
# (PRF-HMAC-SHA-256), CS ID map type 1 (Empty map) and Mac alg 2
# (HMAC-SHA-256-256, RFC 6043) "Unknown" and shows no MAC octets after
# the Mac alg field.  That is accepted; anything missing before is not.
#
# Usage: test_mikey_tshark.sh MIKEY_SAMPLE
set -euo pipefail
sample=$1
port=5304
for tool in text2pcap tshark; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool not found (scripts/setup installs tshark)"
        exit 1
    }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$sample" >"$tmp/mikey.txt"
text2pcap -q -u 40000,$port "$tmp/mikey.txt" "$tmp/mikey.pcap"
tshark -r "$tmp/mikey.pcap" -d udp.port==$port,mikey -V -O mikey \
    >"$tmp/tree.txt" 2>/dev/null
tshark -r "$tmp/mikey.pcap" -d udp.port==$port,mikey -q -z expert \
    >"$tmp/expert.txt" 2>/dev/null

fail=0
# frame FRAME: the dissection of one frame, from its Frame line
frame() {
    awk -v f="$1" '/^Frame [0-9]+:/ { on = ($2 == f ":") } on' "$tmp/tree.txt"
}
expect() { # FRAME TEXT...
    local f=$1 t
    shift
    for t in "$@"; do
        if ! frame "$f" | grep -qF -- "$t"; then
            echo "FAIL: frame $f: no \"$t\""
            fail=1
        fi
    done
}

i_message=("Common Header (HDR) Type: Pre-shared" "Timestamp (T) Type: NTP-UTC"
    "RAND len: 16" "ID URI: https://kmf.example.org"
    "ID URI: sip:device-7@example.org" "General Extension (EXT) Type: Vendor-ID"
    "Key Data Transport (KEMAC)" "Mac alg:")
expect 1 "${i_message[@]}" "Encr alg: AES-KW-128 (2)" "Key data len: 48"
expect 2 "${i_message[@]}" "Encr alg: NULL (0)" "Key data len: 0"
expect 3 "Common Header (HDR) Type: PSK ver msg" \
    "Timestamp (T) Type: NTP-UTC" "Ver msg (V)" "Auth alg:"

if grep -qi "malformed" "$tmp/tree.txt"; then
    echo "FAIL: tshark reports a malformed packet"
    fail=1
fi
if grep -qE "^ *(Error|Warn|Note|Chat) " "$tmp/expert.txt" ||
    grep -q "Expert Info" "$tmp/tree.txt"; then
    echo "FAIL: tshark has expert info:"
    cat "$tmp/expert.txt"
    fail=1
fi
if [ $fail -ne 0 ]; then
    cat "$tmp/tree.txt"
    exit 1
fi
grep -c "^Multimedia Internet KEYing" "$tmp/tree.txt" | grep -qx 3 || {
    echo "FAIL: expected 3 MIKEY messages"
    exit 1
}
echo "mikey tshark: 3 messages decoded, every payload shown"
