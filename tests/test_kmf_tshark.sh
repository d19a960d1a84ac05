#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Interop on real traffic: kmf_capture runs a KMF and a device on
# loopback and writes what crossed the wire (a PGK push, the device's
# verification message, a revocation); text2pcap wraps each in UDP to
# PORT, and tshark (-d udp.port==PORT,mikey) must show every payload with
# no malformed packet or expert info.  As root, the same traffic is also
# captured live on lo with tshark itself, and decoded the same way.
#
# Usage: test_kmf_tshark.sh KMF_CAPTURE
set -uo pipefail
capture=$1
for tool in text2pcap tshark; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool not found (scripts/setup installs tshark)"
        exit 1
    }
done
tmp=$(mktemp -d)
live_pid=
trap '[ -n "$live_pid" ] && kill $live_pid 2>/dev/null; rm -rf "$tmp"' EXIT

live=0
if [ "$(id -u)" = 0 ]; then
    live=1
    tshark -q -i lo -f "udp" -w "$tmp/live.pcap" >/dev/null 2>"$tmp/live.err" &
    live_pid=$!
    sleep 2
fi
if ! "$capture" $([ $live = 1 ] && echo live) >"$tmp/mikey.txt" 2>"$tmp/cap.err"; then
    echo "FAIL: kmf_capture"
    cat "$tmp/cap.err"
    exit 1
fi
port=$(sed -n 's/^port //p' "$tmp/cap.err")

fail=0
# check PCAP PORT MODE: MODE strict (frame 1 a push, 2 its answer, 3 a
# revocation) or any (each of the three somewhere, as in a live capture
# with retries)
check() {
    local pcap=$1 p=$2 mode=$3 want=3
    tree=$tmp/tree.$want.$(basename "$pcap").txt
    tshark -r "$pcap" -d udp.port==$p,mikey -V -O mikey \
        -Y "mikey" >"$tree" 2>/dev/null
    frame() {
        awk -v f="$1" '/^Frame [0-9]+:/ { n++; on = (n == f) } on' "$tree"
    }
    expect() { # FRAME TEXT...
        local f=$1 t k ok
        shift
        for t in "$@"; do
            ok=0
            if [ "$mode" = strict ]; then
                frame "$f" | grep -qF -- "$t" && ok=1
            else
                # some frame that has the first text has this one too
                for k in $(seq 1 "$(grep -c '^Frame ' "$tree")"); do
                    frame "$k" | grep -qF -- "$1" &&
                        frame "$k" | grep -qF -- "$t" && { ok=1; break; }
                done
            fi
            if [ $ok = 0 ]; then
                echo "FAIL: $pcap frame $f: no \"$t\""
                fail=1
            fi
        done
    }
    local i=("Common Header (HDR) Type: Pre-shared" "Timestamp (T) Type: NTP-UTC"
        "RAND len: 16" "ID URI: urn:prosec:kmf:kmf"
        "ID URI: urn:prosec:device:capture-device"
        "General Extension (EXT) Type: Vendor-ID"
        "Key Data Transport (KEMAC)" "Mac alg:")
    expect 1 "Encr alg: AES-KW-128 (2)" "${i[@]}" "Key data len: 48"
    expect 2 "Common Header (HDR) Type: PSK ver msg" \
        "Timestamp (T) Type: NTP-UTC" "Ver msg (V)"
    expect 3 "Encr alg: NULL (0)" "${i[@]}"
    if grep -qi "malformed" "$tree" || grep -q "Expert Info" "$tree"; then
        echo "FAIL: $pcap: tshark reports a malformed packet or expert info"
        fail=1
    fi
    local n
    n=$(grep -c "^Multimedia Internet KEYing" "$tree")
    if [ "$n" -lt "$want" ]; then
        echo "FAIL: $pcap: $n MIKEY messages, want at least $want"
        fail=1
    fi
    [ $fail = 0 ] || cat "$tree"
}

text2pcap -q -u 40000,$port "$tmp/mikey.txt" "$tmp/received.pcap"
check "$tmp/received.pcap" $port strict
if [ $live = 1 ]; then
    sleep 1
    kill -INT $live_pid 2>/dev/null
    wait $live_pid 2>/dev/null
    live_pid=
    if [ -s "$tmp/live.pcap" ]; then
        check "$tmp/live.pcap" $port any
        echo "# live capture on lo decoded too"
    else
        echo "# no live capture (tshark could not capture on lo here):"
        sed 's/^/#   /' "$tmp/live.err"
    fi
fi
[ $fail = 0 ] && echo "kmf tshark: push, verification and revocation decoded"
exit $fail
