#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The device agent as a user runs it, against a real KMF on loopback:
# - a push sent while the agent is down is retried and stored once it is
#   up again;
# - a replayed push (captured in front of the agent) is refused;
# - frames replayed on the PC5 channel are refused, also after the
#   receiver restarted (its high-water marks were saved); forged ones fail
#   the MAC;
# - keys expire on time (state, then gone after the skew allowance);
# - a frame under a revoked PGK is refused as revoked.
# Usage: test_agent.sh PROSEC PC5_TAP
set -uo pipefail
P=$1
TAP=$2
tmp=$(mktemp -d /tmp/prosec-agent-test.XXXXXX)
pids=()
fails=0
n=0
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL $n - $*"; }
expect() { # NAME COMMAND...
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}
wait_for() { # SECONDS COMMAND...
    local end=$(($(date +%s) + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.2
    done
}
command -v jq >/dev/null || { echo "FAIL: jq missing (scripts/setup)"; exit 1; }

port=$((21000 + $$ % 20000))
PC5="239.255.52.1:$((port + 1))"
K=$tmp/kmf
kmf() { "$P" kmf "$@" --dir "$K"; }
"$P" kmf init --dir "$K" --listen 127.0.0.1:$port >/dev/null || exit 1
printf 'retry_first_ms = 100\nretry_max_ms = 500\n' >>"$K/kmf.conf"
"$P" kmf serve --dir "$K" 2>"$tmp/kmf.log" &
pids+=($!)
wait_for 10 kmf status || { echo "FAIL: no KMF"; cat "$tmp/kmf.log"; exit 1; }
kmf group create g --group-id 0a0a01 --lifetime 300s --ahead 1 >/dev/null
kmf group create e --group-id 0a0a02 --lifetime 4s --ahead 1 >/dev/null

declare -A APID MPORT
for d in a b; do
    kmf device add $d --out "$tmp/$d.bundle" >/dev/null
    head -c 32 /dev/urandom >"$tmp/$d.key"
    chmod 600 "$tmp/$d.key"
    "$P" device enroll --bundle "$tmp/$d.bundle" --store "$tmp/$d.ks" \
        --key-file "$tmp/$d.key" >/dev/null
    kmf group add-member g $d >/dev/null
    kmf group add-member e $d >/dev/null
done
MPORT[a]=$((port + 2))
MPORT[b]=$((port + 3))
RELAY=$((port + 4)) # in front of b's MIKEY port
agent() { # DEVICE [ARGS...]
    local d=$1
    shift
    "$P" device agent --store "$tmp/$d.ks" --key-file "$tmp/$d.key" \
        --pc5 "$PC5" --iface lo --control "$tmp/$d.sock" --skew 2 \
        --mikey 127.0.0.1:${MPORT[$d]} "$@" 2>>"$tmp/$d.log" &
    APID[$d]=$!
    pids+=($!)
}
status() { "$P" device status --control "$tmp/$1.sock" --json; }
holds() { # DEVICE PGK_ID [GROUP]
    status "$1" | jq -e --argjson id "$2" --arg g "${3:-g}" \
        '[.groups[] | select(.name == $g) | .pgks[] | select(.pgk_id == $id
          and (.state == "active" or .state == "pending"))] | length == 1'
}
current() { # [GROUP]
    kmf group show "${1:-g}" --json |
        jq -r '[.pgks[] | select(.state == "active")] | sort_by(.expiry) |
               .[0].pgk_id'
}
up_to_date() {
    for g in g e; do
        kmf group show $g --json | jq -e \
            '[.members[] | select(.delivery != "up-to-date")] | length == 0' ||
            return 1
    done
}

"$TAP" relay $RELAY ${MPORT[b]} "$tmp/pushes" 200 >"$tmp/relay.out" &
pids+=($!)
agent a
agent b --mikey-advertise 127.0.0.1:$RELAY
wait_for 15 up_to_date || fail "the agents did not sync"
cur=$(current)
holds a "$cur" >/dev/null && holds b "$cur" >/dev/null &&
    ok "a and b hold PGK $cur" || fail "a or b lacks PGK $cur"

# ---- a push while the agent is down ------------------------------------
kill -TERM "${APID[b]}"
wait "${APID[b]}" 2>/dev/null
r=$(kmf group rekey g --json)
new=$(jq -r .new_pgk_id <<<"$r")
sleep 2
pending=$(kmf group show g --json | jq '.members[] | select(.device == "b") |
                                        .pending')
expect "while b is down its pushes stay pending ($pending)" test "$pending" -gt 0
sent_before=$(kmf status --json | jq .push.sent)
sleep 1.5
sent_after=$(kmf status --json | jq .push.sent)
expect "the KMF keeps retrying ($sent_before -> $sent_after sent)" \
    test "$sent_after" -gt "$sent_before"
agent b --mikey-advertise 127.0.0.1:$RELAY --sync-interval 3600
expect "b stores PGK $new once it is up" wait_for 10 holds b "$new"
expect "and the KMF sees every delivery done" wait_for 10 up_to_date

# ---- a replayed push ---------------------------------------------------
refused=$(status b | jq .kmf.pushes_refused)
"$TAP" send 127.0.0.1:${MPORT[b]} "$tmp/pushes" 2>/dev/null
sleep 1
now=$(status b | jq .kmf.pushes_refused)
expect "replayed pushes are refused ($refused -> $now)" test "$now" -gt "$refused"
grep -q "PROSEC_ERR_MIKEY_REPLAY\|PROSEC_ERR_MIKEY_TIME" "$tmp/b.log" &&
    ok "b's log says why" || fail "b's log does not name the replay"

# ---- frames replayed, forged, and replayed after a restart ------------------
"$TAP" capture "$PC5" "$tmp/frames" 3 >"$tmp/cap.out" &
cap=$!
sleep 0.5
"$P" device listen --control "$tmp/b.sock" --group g --count 1 --timeout 5 \
    --out "$tmp/b.msg" 2>/dev/null &
l=$!
sleep 0.3
head -c 5000 /dev/urandom >"$tmp/data"
"$P" device send --control "$tmp/a.sock" --group g "$tmp/data" >/dev/null
wait $l
wait $cap
expect "b got the message" cmp -s "$tmp/data" "$tmp/b.msg"
listen_sum() { # DEVICE SECONDS -> the JSON summary
    "$P" device listen --control "$tmp/$1.sock" --group g --timeout "$2" \
        --json --out /dev/null 2>&1 >/dev/null | tail -1
}
( sleep 0.5; "$TAP" replay "$PC5" "$tmp/frames" 2>/dev/null ) &
s=$(listen_sum b 2)
expect "replayed frames are refused as replays ($s)" \
    test "$(jq '.rejected.replay' <<<"$s")" -ge 5 -a "$(jq .messages <<<"$s")" = 0
( sleep 0.5; "$TAP" forge "$PC5" "$tmp/frames" 2>/dev/null ) &
s=$(listen_sum b 2)
expect "forged frames fail the MAC ($s)" \
    test "$(jq '.rejected.mac' <<<"$s")" -ge 5 -a "$(jq .messages <<<"$s")" = 0
sleep 5.5 # the marks are saved every 5 s
kill -TERM "${APID[b]}"
wait "${APID[b]}" 2>/dev/null
agent b --mikey-advertise 127.0.0.1:$RELAY --sync-interval 3600
wait_for 5 status b
( sleep 0.5; "$TAP" replay "$PC5" "$tmp/frames" 2>/dev/null ) &
s=$(listen_sum b 2)
expect "after a restart, old frames are still refused ($s)" \
    test "$(jq '.rejected.replay' <<<"$s")" -ge 5 -a "$(jq .messages <<<"$s")" = 0

# ---- a revoked PGK ---------------------------------------------------------
used=$(current)
kmf group compromise g >/dev/null
expect "b learns PGK $used is revoked" wait_for 10 bash -c \
    "'$P' device status --control '$tmp/b.sock' --json | jq -e \
     '[.groups[] | select(.name == \"g\") | .pgks[] |
       select(.pgk_id == $used and .state == \"revoked\")] | length == 1'"
( sleep 0.5; "$TAP" replay "$PC5" "$tmp/frames" 2>/dev/null ) &
s=$(listen_sum b 2)
expect "frames under the revoked PGK are refused as revoked ($s)" \
    test "$(jq '.rejected.revoked' <<<"$s")" -ge 5 -a "$(jq .messages <<<"$s")" = 0

# ---- expiry ------------------------------------------------------------------
exp=$(kmf group show e --json | jq '[.pgks[] | select(.state == "active")] |
                                    sort_by(.expiry) | .[0]')
id=$(jq .pgk_id <<<"$exp")
at=$(jq .expiry <<<"$exp")
sleep $((at - $(date +%s) + 1))
pgk_e() { # the JSON of PGK $id of group e at a
    status a | jq --argjson id "$id" \
        '.groups[] | select(.name == "e") | .pgks[] | select(.pgk_id == $id)'
}
expect "at its expiry PGK $id of group e is expired at a, key still held" \
    test "$(pgk_e | jq -r '"\(.state) \(.key_held)"')" = "expired true"
sleep 3
expect "after the 2 s skew allowance its key is wiped" \
    test "$(pgk_e | jq -r '"\(.state) \(.key_held)"')" = "expired false"

# ---- errors of the commands ----------------------------------------------------
out=$("$P" device send --control "$tmp/a.sock" --group nope "$tmp/data" 2>&1)
rc=$?
expect "send to an unknown group: exit 1, one line ($out)" \
    test $rc = 1 -a "$(wc -l <<<"$out")" = 1
out=$("$P" device status --control "$tmp/none.sock" 2>&1)
rc=$?
expect "no agent: exit 1, says so ($out)" \
    bash -c "test $rc = 1 && grep -q 'no agent' <<<'$out'"
out=$("$P" device enroll --bundle "$tmp/a.bundle" --store "$tmp/a.ks" \
    --key-file "$tmp/a.key" 2>&1)
rc=$?
expect "enrolling over an existing keystore is refused ($out)" test $rc = 1
out=$("$P" device agent --store "$tmp/a.ks" --key-file "$tmp/a.key" \
    --control "$tmp/a2.sock" 2>&1)
rc=$?
expect "a second agent on a keystore in use is refused ($out)" test $rc = 1

echo "# $n checks, $fails failed"
[ $fails = 0 ]
