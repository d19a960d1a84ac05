#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `prosec crypto` as a user sees it: the official answers through the
# command line on each backend, the exit codes (0 ok, 2 bad input), one-line
# errors that name the problem, and no key bytes in any error.
# Usage: test_cli.sh PATH/TO/prosec
set -u
P=${1:?usage: test_cli.sh PATH/TO/prosec}
fails=0
n=0

check() { # check NAME WANT_RC WANT_STDOUT -- ARGS...
    local name=$1 want_rc=$2 want_out=$3
    shift 4
    local out rc
    out=$("$P" "$@" 2>/tmp/prosec_cli_err.$$)
    rc=$?
    n=$((n + 1))
    if [ "$rc" != "$want_rc" ] || { [ -n "$want_out" ] && [ "$out" != "$want_out" ]; }; then
        echo "FAIL $name: rc $rc (want $want_rc), stdout '$out' (want '$want_out')"
        sed 's/^/  stderr: /' /tmp/prosec_cli_err.$$
        fails=$((fails + 1))
    fi
}

# check_err NAME PATTERN ARGS...: exit 2, one line on stderr matching
# PATTERN, nothing on stdout.
check_err() {
    local name=$1 pat=$2
    shift 2
    local out rc lines
    out=$("$P" "$@" 2>/tmp/prosec_cli_err.$$)
    rc=$?
    n=$((n + 1))
    lines=$(wc -l </tmp/prosec_cli_err.$$)
    if [ "$rc" != 2 ] || [ -n "$out" ] || [ "$lines" != 1 ] ||
        ! grep -q -- "$pat" /tmp/prosec_cli_err.$$; then
        echo "FAIL $name: rc $rc, stdout '$out', stderr:"
        sed 's/^/  /' /tmp/prosec_cli_err.$$
        echo "  (want rc 2, one line matching '$pat')"
        fails=$((fails + 1))
    fi
}

K1=d3c5d592327fb11c4035c6680af8c6d1
PT1=981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f3de8a6dc66b1f0
# auto: no --backend, so AUTO (with PROSEC_BACKEND unset) picks per
# algorithm; it must give the same answers
unset PROSEC_BACKEND
for b in portable ipsecmb auto; do
    if [ "$b" = ipsecmb ] && ! "$P" crypto selftest | grep -q '^  ipsecmb   ok'; then
        echo "# ipsecmb not available: skipped"
        continue
    fi
    B="--backend $b"
    [ "$b" = auto ] && B=""
    # TS 33.401 C.3 / C.1 test set 1, ETSI EEA3 set 1, C.4/C.2 set 1
    check "eea1 $b" 0 5d5bfe75eb04f68ce0a12377ea00b37d47c6a0ba06309155086a859c4341b378 -- \
        crypto eea --alg 1 --key $K1 --count 398a59b4 --bearer 21 \
        --direction 1 --length 253 --in $PT1 $B
    check "eea2 $b" 0 e9fed8a63d155304d71df20bf3e82214b20ed7dad2f233dc3c22d7bdeeed8e78 -- \
        crypto eea --alg 2 --key $K1 --count 398a59b4 --bearer 21 \
        --direction 1 --length 253 --in $PT1 $B
    check "eea3 $b" 0 a6c85fc66afb8533aafc2518dfe784940ee1e4b030238cc800 -- \
        crypto eea --alg 3 --key 173d14ba5003731d7a60049470f00a29 \
        --count 66035492 --bearer 15 --direction 0 --length 193 \
        --in 6cf65340735552ab0c9752fa6f9025fe0bd675d9005875b200 $B
    check "eea0 $b" 0 abcdef -- crypto eea --alg 0 --key $K1 --count 00000000 \
        --bearer 0 --direction 0 --length 24 --in ABCDEF $B
    check "eia1 $b" 0 731f1165 -- crypto eia --alg 1 \
        --key 2bd6459f82c5b300952c49104881ff48 --count 38a6f056 --bearer 31 \
        --direction 0 --length 88 --in 3332346263393861373479 $B
    check "eia2 $b" 0 118c6eb8 -- crypto eia --alg 2 \
        --key 2bd6459f82c5b300952c49104881ff48 --count 38a6f056 --bearer 24 \
        --direction 0 --length 58 --in 3332346263393840 $B
    check "eia3 $b" 0 c8a9595e -- crypto eia --alg 3 \
        --key 00000000000000000000000000000000 --count 00000000 --bearer 0 \
        --direction 0 --length 1 --in 00 $B
    check "eea length 0 $b" 0 "" -- crypto eea --alg 2 --key $K1 \
        --count 00000000 --bearer 0 --direction 0 --length 0 --in "" $B
done
# trailing bits of the output are cleared: 4 bits of EEA0 over ff
check "eea0 tail" 0 f0 -- crypto eea --alg 0 --key $K1 --count 00000000 \
    --bearer 0 --direction 0 --length 4 --in ff
# --opt=value works too
check "eia2 opt=value" 0 118c6eb8 -- crypto eia --alg=2 \
    --key=2bd6459f82c5b300952c49104881ff48 --count=38a6f056 --bearer=24 \
    --direction=0 --length=58 --in=3332346263393840

# KDF (srsRAN KDF-3 data), PTK, PEK, PIK (DESIGN.md derivations)
check kdf 0 b855871d17d4a717e931d9a6069c6e54b79408e243dd367dc8c6392295b3b451 -- \
    crypto kdf --key d5ef4d8f33266902295d42f322a2f2cf11fb2ccc124c09b4d88d361597037990 \
    --fc 15 --param 02 --param 01
PGK=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
PTK=b1f948b3bd2eeecf41cf4939ba67f7485b5cb73cb83704d17337cdb7a8d98068
check ptk 0 $PTK -- crypto ptk --pgk $PGK --member a1b2c3 --ptk-id 1 --group d4e5f6
check pek 0 44b3cae35e3dbed0357082eb8cc5e5a6 -- crypto pek --ptk $PTK --alg 2
check pek0 0 "" -- crypto pek --ptk $PTK --alg 0
pik=$("$P" crypto pik --ptk $PTK --alg 2)
n=$((n + 1))
if [ ${#pik} != 32 ] || [ "$pik" = 44b3cae35e3dbed0357082eb8cc5e5a6 ]; then
    echo "FAIL pik: '$pik'"
    fails=$((fails + 1))
fi

# help and version
check "help" 0 "" -- --help
check "crypto help" 0 "" -- crypto --help
check "eea help" 0 "" -- crypto eea --help
check "version" 0 "" -- --version
"$P" crypto --help | grep -q 'prosec crypto COMMAND' || {
    echo "FAIL crypto --help text"; fails=$((fails + 1)); }

# bad input: exit 2 and one line naming the problem
E="crypto eea --alg 2 --count 00000000 --bearer 0 --direction 0"
check_err "odd hex" "odd number of hex digits" $E --key $K1 --length 12 --in abc
# --in and keys are secret: the character is not quoted; --param is not
check_err "bad hex char" "--in: character 2 is not a hex digit" $E --key $K1 --length 8 --in 0x
check_err "bad hex char, public" "'x' (character 2) is not a hex digit" \
    crypto kdf --key 00 --fc 4a --param 0x
check_err "short key" "key must be 32 hex digits" $E --key d3c5 --length 8 --in 00
check_err "long key" "key must be 32 hex digits" $E --key ${K1}00 --length 8 --in 00
check_err "in vs length" "--in has 1 octets but --length 9 needs 2" $E --key $K1 --length 9 --in 00
check_err "alg range" "--alg: 4 is out of range (0 to 3)" crypto eea --alg 4 \
    --key $K1 --count 00000000 --bearer 0 --direction 0 --length 8 --in 00
check_err "eia alg 0" "--alg: 0 is out of range (1 to 3)" crypto eia --alg 0 \
    --key $K1 --count 00000000 --bearer 0 --direction 0 --length 8 --in 00
check_err "bearer range" "--bearer: 32 is out of range" crypto eea --alg 2 \
    --key $K1 --count 00000000 --bearer 32 --direction 0 --length 8 --in 00
check_err "direction range" "--direction: 2 is out of range" crypto eea --alg 2 \
    --key $K1 --count 00000000 --bearer 0 --direction 2 --length 8 --in 00
check_err "count width" "--count must be 8 hex digits" crypto eea --alg 2 \
    --key $K1 --count 1234 --bearer 0 --direction 0 --length 8 --in 00
check_err "negative" "is not a decimal number" crypto eea --alg -1 \
    --key $K1 --count 00000000 --bearer 0 --direction 0 --length 8 --in 00
check_err "unknown option" "unknown option '--colour'" $E --key $K1 --length 8 --in 00 --colour red
check_err "missing option" "missing option --length" $E --key $K1 --in 00
check_err "no value" "option --in needs a value" $E --key $K1 --length 8 --in
check_err "twice" "option --key given twice" $E --key $K1 --key $K1 --length 8 --in 00
check_err "stray arg" "unexpected argument 'extra'" $E --key $K1 --length 8 --in 00 extra
check_err "backend name" "--backend: 'fast' is not portable or ipsecmb" $E \
    --key $K1 --length 8 --in 00 --backend fast
check_err "fc width" "--fc must be 2 hex digits" crypto kdf --key 00 --fc 4 --param 01
check_err "kdf empty key" "--key is empty" crypto kdf --key "" --fc 4a
check_err "ptk-id 0" "--ptk-id: 0 is out of range (1 to 65535)" crypto ptk \
    --pgk $PGK --member a1b2c3 --ptk-id 0 --group d4e5f6
check_err "ptk-id big" "--ptk-id: 65536 is out of range" crypto ptk \
    --pgk $PGK --member a1b2c3 --ptk-id 65536 --group d4e5f6
check_err "member width" "--member must be 6 hex digits" crypto ptk \
    --pgk $PGK --member a1b2 --ptk-id 1 --group d4e5f6
check_err "pgk length" "--pgk must be 64 hex digits" crypto ptk \
    --pgk 0011 --member a1b2c3 --ptk-id 1 --group d4e5f6
check_err "pik alg 0" "--alg: 0 is out of range (1 to 3)" crypto pik --ptk $PTK --alg 0
check_err "unknown sub" "unknown command 'frobnicate'" crypto frobnicate
check_err "unknown group" "unknown command 'nope'" nope

# PROSEC_BACKEND: an unknown name is an error, a known one is obeyed
out=$(PROSEC_BACKEND=turbo "$P" crypto eea --alg 2 --key $K1 --count 00000000 \
    --bearer 0 --direction 0 --length 8 --in 00 2>&1)
rc=$?
n=$((n + 1))
if [ $rc != 2 ] || ! echo "$out" | grep -q "unknown crypto backend name"; then
    echo "FAIL PROSEC_BACKEND=turbo: rc $rc, '$out'"
    fails=$((fails + 1))
fi
check "PROSEC_BACKEND=portable" 0 "" -- crypto selftest
PROSEC_BACKEND=portable "$P" crypto selftest | grep -q 'default backend: portable' || {
    echo "FAIL PROSEC_BACKEND=portable not obeyed"; fails=$((fails + 1)); }

# selftest shows where AUTO runs each algorithm: all on the backend that
# PROSEC_BACKEND names; unset, each of the six on a backend that runs here
# (which one is machine-dependent: test_crypto_api checks the table)
auto_line() { "$P" crypto selftest | sed -n 's/^  auto: //p'; }
have_ipsecmb() { "$P" crypto selftest | grep -q '^  ipsecmb   ok'; }
for b in portable ipsecmb; do
    if [ "$b" = ipsecmb ] && ! have_ipsecmb; then
        continue
    fi
    want="EEA1 $b, EEA2 $b, EEA3 $b, EIA1 $b, EIA2 $b, EIA3 $b"
    got=$(PROSEC_BACKEND=$b auto_line)
    n=$((n + 1))
    if [ "$got" != "$want" ]; then
        echo "FAIL PROSEC_BACKEND=$b: auto line '$got' (want '$want')"
        fails=$((fails + 1))
    fi
done
got=$(auto_line)
be='(portable|ipsecmb)'
names=$(echo "$got" |
    sed -E "s/ $be( \($be above [0-9]+ (octets|bits)\))?//g")
n=$((n + 1))
if [ "$names" != "EEA1, EEA2, EEA3, EIA1, EIA2, EIA3" ] ||
    ! "$P" crypto selftest | grep -Eq '^  auto( +ok){6} *$'; then
    echo "FAIL auto line or auto row: '$got'"
    fails=$((fails + 1))
fi
all_portable="EEA1 portable, EEA2 portable, EEA3 portable, EIA1 portable"
all_portable="$all_portable, EIA2 portable, EIA3 portable"
if ! have_ipsecmb && [ "$got" != "$all_portable" ]; then
    echo "FAIL auto without ipsecmb: '$got'"
    fails=$((fails + 1))
fi

# A key never appears in an error message
"$P" crypto eea --alg 2 --key ${K1}zz --count 00000000 --bearer 0 \
    --direction 0 --length 8 --in 00 2>/tmp/prosec_cli_err.$$ >/dev/null
n=$((n + 1))
if grep -q -i "${K1:0:8}" /tmp/prosec_cli_err.$$; then
    echo "FAIL key bytes in an error message"
    fails=$((fails + 1))
fi

rm -f /tmp/prosec_cli_err.$$
echo "# $n checks, $fails failed"
[ $fails = 0 ]
