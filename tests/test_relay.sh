#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Relays across network namespaces that this test makes and removes:
#
#   segment A (10.51.1.0/24, PC5 239.255.51.1)   segment B (10.51.2.0/24,
#   the KMF, device a1, the relay's leg A        PC5 239.255.52.1): the
#                                                relay's leg B, remote
#                                                devices b1 and b2, an
#                                                intruder
#
# The relay forwards no IP: b1 and b2 reach the KMF only through it (UE-to-
# network relay, --relay auto), and group traffic crosses only as the group
# relay re-broadcasts it.  Checks: b1 and b2 get their keys and pushes
# through the relay; a file goes a1 -> b1 and b1 -> a1; the intruder (no
# PRUK, a wrong PRUK, a replayed request, a forged security mode complete)
# gets no service and the relay's log says why; frames replayed, forged or
# altered on B never reach A; b2, removed from the group, gets no new key.
#
# Needs root (ip netns); says so and fails otherwise.
# Usage: test_relay.sh PROSEC PC5_TAP RELAY_INTRUDER
set -uo pipefail
P=${1:?usage: test_relay.sh PROSEC PC5_TAP RELAY_INTRUDER}
TAP=${2:?}
INTRUDER=${3:?}
if [ "$(id -u)" != 0 ]; then
    echo "test_relay: needs root to make network namespaces (ip netns);" \
        "run the suite as root" >&2
    exit 1
fi
T=$(mktemp -d /tmp/prosec-relay.XXXXXX)
chmod 700 "$T"
S=r$$ # namespace prefix, unique to this run
NS=(sw kmf a1 rl b1 b2 x)
pids=()
n=0
bad=0

ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
fail() {
    n=$((n + 1))
    bad=$((bad + 1))
    echo "FAIL $n - $*"
}
check() { # NAME COMMAND...
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    for s in "${NS[@]}"; do
        ip netns del "$S$s" 2>/dev/null
    done
    if [ "$bad" -gt 0 ] || [ -n "${KEEP:-}" ]; then
        echo "test_relay: logs kept in $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() {
    echo "test_relay: $*" >&2
    bad=$((bad + 1))
    exit 1
}

command -v ip >/dev/null || die "ip (iproute2) is missing: scripts/setup"
command -v jq >/dev/null || die "jq is missing: scripts/setup"

# ---- the namespaces ------------------------------------------------------

nsx() { # NS COMMAND...: run in a namespace
    local s=$1
    shift
    ip netns exec "$S$s" "$@"
}
# nsbg NS LOG COMMAND...: a daemon in a namespace, stderr to LOG; its PID
# (ip netns exec becomes the command) is kept for the clean-up
nsbg() {
    local s=$1 log=$2
    shift 2
    ip netns exec "$S$s" "$@" 2>"$log" &
    pids+=($!)
}
for s in "${NS[@]}"; do
    ip netns add "$S$s" || die "cannot make network namespace $S$s"
    nsx "$s" ip link set lo up || die "no loopback in $S$s"
done
nsx sw ip link add brA type bridge mcast_snooping 0 || die "no bridge"
nsx sw ip link add brB type bridge mcast_snooping 0 || die "no bridge"
nsx sw ip link set brA up
nsx sw ip link set brB up
# node NS IF BRIDGE ADDR: a veth from the node to the switch
node() {
    ip link add "$2" netns "$S$1" type veth peer name "$1$2" \
        netns "${S}sw" || die "cannot make veth $2 in $S$1"
    nsx sw ip link set "$1$2" master "$3" up
    nsx "$1" ip addr add "$4/24" dev "$2"
    nsx "$1" ip link set "$2" up
    nsx "$1" ip route add 224.0.0.0/4 dev "$2" 2>/dev/null
}
node kmf k0 brA 10.51.1.1
node a1 a0 brA 10.51.1.2
node rl rA brA 10.51.1.3
node rl rB brB 10.51.2.1
node b1 b0 brB 10.51.2.2
node b2 b0 brB 10.51.2.3
node x x0 brB 10.51.2.4
nsx rl ip route del 224.0.0.0/4 dev rB 2>/dev/null
nsx rl sysctl -qw net.ipv4.ip_forward=0
check "b1 has no route to the KMF" \
    bash -c "! ip netns exec ${S}b1 ping -c1 -W1 10.51.1.1 >/dev/null 2>&1"

PC5A=239.255.51.1:5303
PC5B=239.255.52.1:5303

# ---- the KMF and the devices --------------------------------------------

kmf() { nsx kmf "$P" kmf "$@" --dir "$T/kmf"; }
"$P" kmf init --dir "$T/kmf" --listen 10.51.1.1:8443 >/dev/null ||
    die "kmf init failed"
nsbg kmf "$T/kmf.log" "$P" kmf serve --dir "$T/kmf"
for _ in $(seq 50); do
    kmf status >/dev/null 2>&1 && break
    sleep 0.2
done
kmf status >/dev/null || die "the KMF did not start ($T/kmf.log)"
kmf group create fire --group-id 0f1e00 --alg 2 --profile integrity \
    --lifetime 1h --ahead 1 >/dev/null || die "group create failed"
for d in relay a1 b1 b2; do
    extra=()
    [ $d = relay ] && extra=(--relay)
    kmf device add $d "${extra[@]}" --out "$T/$d.bundle" >/dev/null ||
        die "device add $d"
    head -c 32 /dev/urandom >"$T/$d.key"
    chmod 600 "$T/$d.key"
    "$P" device enroll --bundle "$T/$d.bundle" --store "$T/$d.ks" \
        --key-file "$T/$d.key" >/dev/null || die "enroll $d"
    kmf group add-member fire $d >/dev/null || die "add-member $d"
done
ctl() { echo "$T/$1.sock"; }
status() { "$P" device status --control "$(ctl "$1")" --json; }
wait_for() { # SECONDS COMMAND...
    local end=$(($(date +%s) + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.3
    done
}
held() { # DEVICE: PGK IDs held, active or pending
    status "$1" | jq -r '.groups[]? | .pgks[] |
        select(.state == "active" or .state == "pending") | .pgk_id' |
        sort -n | tr '\n' ' '
}
holds() { held "$1" | grep -qw "$2"; }
current() {
    kmf group show fire --json |
        jq -r '[.pgks[] | select(.state == "active")] | .[0].pgk_id'
}

nsbg a1 "$T/a1.log" "$P" device agent --store "$T/a1.ks" \
    --key-file "$T/a1.key" --pc5 $PC5A --iface a0 --control "$(ctl a1)" \
    --relay off
nsbg rl "$T/relay.log" "$P" relay --store "$T/relay.ks" \
    --key-file "$T/relay.key" --pc5 $PC5B --iface rB --group-pc5 $PC5A \
    --group-iface rA --control "$(ctl relay)" --log-level debug \
    --sync-interval 3
cur=$(current)
check "a1 gets its keys from the KMF" wait_for 15 holds a1 "$cur"
check "the relay gets its keys from the KMF" wait_for 15 holds relay "$cur"

# ---- UE-to-network relay ------------------------------------------------

nsbg b1 "$T/b1.log" "$P" device agent --store "$T/b1.ks" \
    --key-file "$T/b1.key" --pc5 $PC5B --iface b0 --control "$(ctl b1)"
link_up() { [ "$(status "$1" | jq -r .relay.state)" = up ]; }
check "b1 (no route to the KMF) finds the relay and sets a link up" \
    wait_for 20 link_up b1
check "b1 syncs and gets its PGKs through the relay" \
    wait_for 20 holds b1 "$cur"
check "the relay logged b1's link" grep -q "relay: link up for b1" \
    "$T/relay.log"
mikey_of() {
    kmf device list --json | jq -r --arg d "$1" \
        '.[] | select(.name == $d) | .mikey_address'
}
if [[ $(mikey_of b1) == 10.51.1.3:* ]]; then
    ok "the KMF pushes to b1 at the relay's address: $(mikey_of b1)"
else
    fail "b1's MIKEY address at the KMF is $(mikey_of b1)"
fi
taken_before=$(status b1 | jq .kmf.pushes_taken)
kmf group rekey fire >/dev/null || fail "rekey"
new=$(kmf group show fire --json | jq -r '[.pgks[].pgk_id] | max')
check "a rekey's MIKEY push reaches b1 through the relay" \
    wait_for 20 holds b1 "$new"
check "b1 answered the push (taken: $taken_before before)" \
    test "$(status b1 | jq .kmf.pushes_taken)" -gt "$taken_before"
no_key_in_log() { ! grep -Eqi '[0-9a-f]{64}' "$T/relay.log"; }
check "no 256-bit key in hex in the relay's log" no_key_in_log

# ---- group relay ----------------------------------------------------------

sha() { sha256sum "$1" | cut -d' ' -f1; }
head -c 30000 /dev/urandom >"$T/file"
# send FROM TO: a file from one segment to the other
send() {
    "$P" device listen --control "$(ctl "$2")" --group fire --count 1 \
        --timeout 15 --out "$T/$2.out" 2>/dev/null &
    local l=$!
    sleep 0.5
    "$P" device send --control "$(ctl "$1")" --group fire "$T/file" \
        >/dev/null || fail "send from $1"
    wait $l
    check "$1 -> $2 through the group relay, byte for byte" \
        test "$(sha "$T/$2.out")" = "$(sha "$T/file")"
}
# b1's frames on B, taken by the intruder's tap as it sends
PC5_TAP_IFACE=x0 nsx x "$TAP" capture $PC5B "$T/b.cap" 4 >/dev/null &
cap=$!
sleep 0.5
send a1 b1
send b1 a1
wait $cap
bridged=$(status relay | jq '.relay_service.bridged_in')
check "the relay bridged b1's frames to A ($bridged)" test "$bridged" -gt 0

# ---- the intruder --------------------------------------------------------

b1_id=$(kmf device list --json | jq -r '.[] | select(.name == "b1") | .pruk_id')
intrude() { # MODE [ID] / log line expected
    local mode=$1 want=$2
    shift 2
    if nsx x "$INTRUDER" "$mode" 10.51.2.1:5304 "$@" >"$T/x.$mode" 2>&1; then
        ok "intruder ($mode) gets no service: $(tail -1 "$T/x.$mode")"
    else
        fail "intruder ($mode): $(cat "$T/x.$mode")"
    fi
    sleep 0.3
    check "the relay says why ($want)" grep -q "$want" "$T/relay.log"
}
intrude nopruk "no device has this PRUK ID"
intrude wrongpruk "rejected the security mode command" "$b1_id"
intrude replay "a replayed direct communication request" "$b1_id"
intrude forge "a forged or wrong security mode complete" "$b1_id"
if nsx x "$INTRUDER" slow 10.51.2.1:5304 >"$T/x.slow" 2>&1; then
    ok "a request sent an octet at a time: $(cat "$T/x.slow")"
else
    fail "a slow request held a link slot: $(cat "$T/x.slow")"
fi
check "the relay counted the refusals" \
    test "$(status relay | jq .relay_service.refused)" -ge 4
check "b1 is still served" link_up b1

# frames replayed, forged and altered on B, with a tap on A meanwhile
rej() { status relay | jq '[.groups[0].rejected[]] | add'; }
rej_before=$(rej)
a1_acc=$(status a1 | jq '.groups[0].accepted')
PC5_TAP_IFACE=a0 nsx a1 "$TAP" capture $PC5A "$T/a.cap" 5 >/dev/null &
cap=$!
sleep 0.5
for m in replay forge alter; do
    PC5_TAP_IFACE=x0 nsx x "$TAP" "$m" $PC5B "$T/b.cap" 2>/dev/null ||
        fail "tap $m"
done
# and one real message, so that the tap on A is seen to work
"$P" device listen --control "$(ctl a1)" --group fire --count 1 \
    --timeout 10 --out "$T/a1.legit" 2>/dev/null &
l=$!
sleep 0.3
echo "a real one" | "$P" device send --control "$(ctl b1)" --group fire - \
    >/dev/null || fail "send from b1"
wait $l
wait $cap
check "a1 received b1's real message meanwhile" \
    test "$(cat "$T/a1.legit")" = "a real one"
frames_on_a=$(nsx a1 "$TAP" common "$T/a.cap" "$T/a.cap")
check "on A, only the real message's frame (frames seen: $frames_on_a)" \
    test "$frames_on_a" = 1
check "none of the replayed frames reached A" \
    test "$(nsx a1 "$TAP" common "$T/b.cap" "$T/a.cap")" = 0
check "a1 accepted only that frame" \
    test "$(status a1 | jq '.groups[0].accepted')" = $((a1_acc + 1))
check "the relay refused them as a member would ($(rej) > $rej_before)" \
    test "$(rej)" -gt "$rej_before"

# ---- a removed member ------------------------------------------------------

# a false relay announced 50 times a second meanwhile: b2 must still
# find the real one
nsx x "$INTRUDER" announce 239.255.52.1:5304 10.51.2.4:5304 12 \
    >"$T/x.announce" 2>&1 &
ann=$!
sleep 1
nsbg b2 "$T/b2.log" "$P" device agent --store "$T/b2.ks" \
    --key-file "$T/b2.key" --pc5 $PC5B --iface b0 --control "$(ctl b2)"
cur=$(current)
check "b2 gets its keys through the relay, false announcements or not" \
    wait_for 20 holds b2 "$cur"
wait $ann
check "the false relay was tried and passed over" \
    grep -q "no link with the relay at 10.51.2.4:5304\|cannot reach the relay at 10.51.2.4" \
    "$T/b2.log"
kmf group remove-member fire b2 >/dev/null || fail "remove-member b2"
new=$(kmf group show fire --json | jq -r '[.pgks[].pgk_id] | max')
check "b1 gets the PGK of the new membership ($new)" \
    wait_for 20 holds b1 "$new"
sleep 3
lacks() { ! holds "$@"; }
check "b2 gets no new key through the relay" lacks b2 "$new"
check "b2's link is up all the same (only its keys are withheld)" link_up b2

# ---- the relay revoked ----------------------------------------------------

kmf device revoke relay >/dev/null || fail "revoke relay"
link_down() { [ "$(status "$1" | jq -r .relay.state)" != up ]; }
check "a revoked relay closes its links (b1's link down)" \
    wait_for 20 link_down b1
check "the relay says so" grep -q "the KMF refused us" "$T/relay.log"
sleep 3
check "and sets up no new one (b1 not served)" link_down b1

echo "$n checks, $bad failed"
[ "$bad" = 0 ]
