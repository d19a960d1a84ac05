#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `prosec pdu` as a user sees it: the PROSE-* records of
# tests/vectors/prose_one_to_many.txt through the command line (protect
# gives the record's ciphertext behind the header, unprotect gives the
# plaintext back), the integrity profile's round trip and its refusal of
# a changed PDU, inspect's fields, and exit codes (0 ok, 1 refused, 2 bad
# arguments) with one-line errors.
# Usage: test_cli_pdu.sh PATH/TO/prosec PATH/TO/prose_one_to_many.txt
set -u
P=${1:?usage: test_cli_pdu.sh PROSEC VECTORS}
V=${2:?usage: test_cli_pdu.sh PROSEC VECTORS}
fails=0
n=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT

fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# field RECORD NAME: the value of "NAME... = value" in [RECORD]
field() {
    awk -v rec="[$1]" -v name="$2" '
        $0 == rec { on = 1; next }
        /^\[/ { on = 0 }
        on && index($0, name " ") == 1 { sub(/^[^=]*= */, "");
                                         sub(/ .*/, ""); print; exit }' "$V"
}

PGK=$(field PROSE-PTK-1 PGK)
MEMBER=$(field PROSE-PTK-1 GROUP_MEMBER_IDENTITY)
GROUP=$(field PROSE-PTK-1 GROUP_IDENTITY)
[ ${#PGK} = 64 ] && [ ${#MEMBER} = 6 ] && [ ${#GROUP} = 6 ] ||
    fail "could not read PROSE-PTK-1 from $V"

# PROSE-PEK-1..3: EEA1..3; PROSE-PEK-2-LCID: EEA2 with BEARER 1.  The
# records give PTK ID 1 and SN 5 (COUNT 00010005); the PDU is the header
# (SDU type 0, PGK index 1 for PGK ID 1) and the ciphertext.
for rec in PROSE-PEK-1:1:0 PROSE-PEK-2:2:0 PROSE-PEK-3:3:0 \
           PROSE-PEK-2-LCID:2:1; do
    IFS=: read -r name alg bearer <<<"$rec"
    pt=$(field "$name" PLAINTEXT)
    ct=$(field "$name" CIPHERTEXT)
    count=$(field "$name" COUNT)
    want="01${count}${ct}"
    got=$("$P" pdu protect --pgk "$PGK" --pgk-id 1 --group "$GROUP" \
        --member "$MEMBER" --alg "$alg" --profile ts33303 --ptk-id 1 --sn 5 \
        --bearer "$bearer" --in "$pt" 2>"$err")
    n=$((n + 1))
    [ "$got" = "$want" ] || fail "$name protect: '$got', want '$want'"
    got=$("$P" pdu unprotect --pgk "$PGK" --pgk-id 1 --group "$GROUP" \
        --member "$MEMBER" --alg "$alg" --profile ts33303 \
        --bearer "$bearer" --in "$want" 2>"$err")
    n=$((n + 1))
    [ "$got" = "$pt" ] || fail "$name unprotect: '$got', want '$pt'"
done

# The integrity profile: round trip, and every changed nibble refused.
A=(--pgk "$PGK" --pgk-id 33 --group "$GROUP" --member "$MEMBER" --alg 2
   --profile integrity)
data=48656c6c6f2c20666972652063726577
pdu=$("$P" pdu protect "${A[@]}" --ptk-id 7 --sn 65535 --sdu-type 3 \
    --in $data)
n=$((n + 1))
[ ${#pdu} = $((10 + ${#data} + 8)) ] || fail "integrity PDU length: $pdu"
got=$("$P" pdu unprotect "${A[@]}" --in "$pdu")
n=$((n + 1))
[ "$got" = "$data" ] || fail "integrity round trip: '$got'"
for i in 0 3 9 10 20 $((${#pdu} - 1)); do
    c=${pdu:$i:1}
    [ "$c" = 0 ] && r=1 || r=0
    bad=${pdu:0:$i}$r${pdu:$((i + 1))}
    out=$("$P" pdu unprotect "${A[@]}" --in "$bad" 2>"$err")
    rc=$?
    n=$((n + 1))
    # a changed index finds no PGK; anything else fails the MAC
    if [ $rc != 1 ] || [ -n "$out" ] ||
        ! grep -qE '^PROSEC_ERR_(MAC|PGK_UNKNOWN)$' "$err"; then
        fail "changed digit $i accepted or wrongly refused: rc $rc" \
            "'$out' $(cat "$err")"
    fi
done
# the same PDU under ts33303 rules is not checked: it opens to garbage
got=$("$P" pdu unprotect "${A[@]/integrity/ts33303}" --in "$pdu")
n=$((n + 1))
[ ${#got} = $((${#data} + 8)) ] || fail "ts33303 open of integrity PDU"

# inspect
got=$("$P" pdu inspect --in "$pdu")
want="sdu_type: 3
sdu_type_name: non-ip
pgk_index: 1
ptk_id: 7
sn: 65535
count: 0007ffff
protected: yes
payload_octets: $(((${#data} + 8) / 2))"
n=$((n + 1))
[ "$got" = "$want" ] || fail "inspect: '$got'"

# refusals: exit 1, the error's name on stderr
refused() { # refused NAME WANT_ERR ARGS...
    local name=$1 want=$2
    shift 2
    out=$("$P" "$@" 2>"$err")
    rc=$?
    n=$((n + 1))
    if [ $rc != 1 ] || [ -n "$out" ] || [ "$(cat "$err")" != "$want" ]; then
        fail "$name: rc $rc, stdout '$out', stderr '$(cat "$err")'" \
            "(want 1, '$want')"
    fi
}
refused "unprotected PDU" PROSEC_ERR_UNPROTECTED pdu unprotect "${A[@]}" \
    --in 6100000005aabbccddeeff
refused "short PDU" PROSEC_ERR_MALFORMED pdu unprotect "${A[@]}" --in 61000700
refused "no room for MAC-I" PROSEC_ERR_MALFORMED pdu unprotect "${A[@]}" \
    --in 610007000500
refused "inspect reserved type" PROSEC_ERR_MALFORMED pdu inspect \
    --in e1000100050000
refused "wrong PGK index" PROSEC_ERR_PGK_UNKNOWN pdu unprotect "${A[@]}" \
    --in "62${pdu:2}"

# bad arguments: exit 2, one line naming the problem
bad() { # bad NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    out=$("$P" "$@" 2>"$err")
    rc=$?
    n=$((n + 1))
    if [ $rc != 2 ] || [ -n "$out" ] || [ "$(wc -l <"$err")" != 1 ] ||
        ! grep -q -- "$pat" "$err"; then
        fail "$name: rc $rc, stdout '$out', stderr '$(cat "$err")'" \
            "(want 2, '$pat')"
    fi
}
bad "profile name" "--profile: 'strong' is not ts33303 or integrity" \
    pdu protect "${A[@]/integrity/strong}" --ptk-id 1 --sn 0 --in 00
bad "integrity with EEA0" "--profile integrity needs --alg 1..3" \
    pdu protect --pgk "$PGK" --pgk-id 1 --group "$GROUP" --member "$MEMBER" \
    --alg 0 --profile integrity --ptk-id 1 --sn 0 --in 00
bad "ptk-id 0" "--ptk-id: 0 is out of range" pdu protect "${A[@]}" \
    --ptk-id 0 --sn 0 --in 00
bad "sn range" "--sn: 65536 is out of range" pdu protect "${A[@]}" \
    --ptk-id 1 --sn 65536 --in 00
bad "sdu type" "--sdu-type: 4 is out of range" pdu protect "${A[@]}" \
    --ptk-id 1 --sn 0 --sdu-type 4 --in 00
bad "missing sn" "missing option --sn" pdu protect "${A[@]}" --ptk-id 1 \
    --in 00
bad "pgk length" "--pgk must be 64 hex digits" pdu protect --pgk 00 \
    --pgk-id 1 --group "$GROUP" --member "$MEMBER" --alg 2 \
    --profile integrity --ptk-id 1 --sn 0 --in 00
bad "group width" "--group must be 6 hex digits" pdu protect --pgk "$PGK" \
    --pgk-id 1 --group 12 --member "$MEMBER" --alg 2 --profile integrity \
    --ptk-id 1 --sn 0 --in 00
bad "unprotect takes no sn" "come from the PDU" pdu unprotect "${A[@]}" \
    --sn 3 --in "$pdu"
bad "inspect only --in" "inspect takes only --in" pdu inspect --sn 1 \
    --in "$pdu"
bad "unknown command" "unknown command 'seal'" pdu seal
bad "odd hex" "odd number of hex digits" pdu inspect --in 123
# no key bytes in errors
"$P" pdu protect --pgk "${PGK}0" --pgk-id 1 --group "$GROUP" \
    --member "$MEMBER" --alg 2 --profile integrity --ptk-id 1 --sn 0 \
    --in 00 2>"$err" >/dev/null
n=$((n + 1))
grep -qi "${PGK:0:12}" "$err" && fail "PGK bytes in an error message"
"$P" pdu --help | grep -q 'prosec pdu COMMAND' || fail "pdu --help"
n=$((n + 1))

echo "# $n checks, $fails failed"
[ $fails = 0 ]
