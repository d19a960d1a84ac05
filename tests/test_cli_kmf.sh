#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `prosec kmf` as a new user meets it: init a KMF in a scratch folder on a
# free port, start `prosec kmf serve` in the background, then every admin
# command through the CLI: what it prints, the defaults (EEA2, integrity,
# 24 h, 2 ahead: 3 PGKs), the fields of `group show --json` and `audit
# --json`, the bundle's mode and no overwrite, one-line errors with the
# right exit status, SIGTERM, and no key in the daemon's log.  When curl
# is there, one device (its credential from its bundle) makes a key request
# and a release, so the log is also checked against a real PMK.
# JSON is read with awk (no jq or python on a fresh Debian).
# Usage: test_cli_kmf.sh PATH/TO/prosec
set -u
P=${1:?usage: test_cli_kmf.sh PROSEC}
unset PROSEC_KMF_DIR
tmp=$(mktemp -d /tmp/prosec-cli-kmf.XXXXXX)
D=$tmp/kmf
out=$tmp/out
err=$tmp/err
log=$tmp/kmf.log
pid=
fails=0
n=0

cleanup() {
    if [ -n "$pid" ]; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    [ -n "${KEEP:-}" ] && cp "$log" /tmp/last-kmf.log; rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# k WANT ARGS...: runs `prosec kmf ARGS`; $out and $err get what it wrote.
k() {
    local want=$1 rc
    shift
    n=$((n + 1))
    "$P" kmf "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "kmf $*: exit $rc, want $want: $(head -c 300 "$err")"
        return 1
    fi
}

# ok ARGS...: exit 0, something on stdout, nothing on stderr.
ok() {
    k 0 "$@" || return 1
    [ -s "$out" ] || fail "kmf $*: printed nothing"
    [ -s "$err" ] && fail "kmf $*: wrote to stderr: $(head -c 300 "$err")"
    return 0
}

# refused WANT TEXT ARGS...: exit WANT, one line on stderr holding TEXT,
# nothing on stdout.
refused() {
    local want=$1 text=$2 lines
    shift 2
    k "$want" "$@" || return 1
    lines=$(wc -l <"$err")
    [ "$lines" = 1 ] || fail "kmf $*: $lines lines on stderr, want 1: $(cat "$err")"
    grep -qF -- "$text" "$err" ||
        fail "kmf $*: stderr '$(cat "$err")' lacks '$text'"
    [ -s "$out" ] && fail "kmf $*: printed on stdout: $(head -c 200 "$out")"
    return 0
}

# has TEXT: the last command's stdout holds TEXT.
has() {
    grep -qF -- "$1" "$out" || fail "output lacks '$1': $(head -c 400 "$out")"
}

# flat: the last command's JSON (as --json indents it) as PATH=VALUE lines,
# e.g. pgks[0].pgk_id=1, members[1].device=radio-2, [0].action=kmf-init;
# strings without their quotes, [] and {} for empty ones.
flat() {
    awk '
    function pfx(   i, p) {
        p = ""
        for (i = 1; i <= d; i++) {
            if (nm[i] == "") continue
            p = (p == "" || substr(nm[i], 1, 1) == "[") ? p nm[i] \
                                                        : p "." nm[i]
        }
        return p
    }
    function join(b, key) {
        if (b == "") return key
        return substr(key, 1, 1) == "[" ? b key : b "." key
    }
    {
        line = $0
        sub(/^[ \t]+/, "", line)
        sub(/,$/, "", line)
        if (line == "") next
        if (line == "}" || line == "]") { d--; next }
        key = ""
        if (match(line, /^"[^"]*": /)) {
            key = substr(line, 2, RLENGTH - 4)
            line = substr(line, RLENGTH + 1)
        } else if (d > 0 && ty[d] == "a") {
            key = "[" cnt[d]++ "]"
        }
        if (line == "{" || line == "[") {
            d++; nm[d] = key; ty[d] = line == "{" ? "o" : "a"; cnt[d] = 0
            next
        }
        if (line ~ /^".*"$/) line = substr(line, 2, length(line) - 2)
        print join(pfx(), key) "=" line
    }' "$out" >"$tmp/flat"
}

# jv PATH: the value at PATH in the last flat, or nothing.
jv() {
    awk -v p="$1" 'index($0, p "=") == 1 { print substr($0, length(p) + 2);
                                           exit }' "$tmp/flat"
}

# want WHAT GOT WANT
want() {
    n=$((n + 1))
    [ "$2" = "$3" ] || fail "$1: '$2', want '$3'"
}

# ---- before there is a KMF ---------------------------------------------

k 0 --help && has "usage: prosec kmf" && has "group create NAME --group-id"
refused 2 "missing option --dir DIR" status
refused 2 "missing option --dir DIR" group show fire
refused 2 "unknown command 'frob' (try prosec kmf --help)" frob --dir "$D"
refused 2 "unknown command 'group frob'" group frob x --dir "$D"
refused 1 "is $D a KMF folder?" status --dir "$D"

# ---- init, on a free port ------------------------------------------------

# a port nothing listens on; serve may still lose it to another program
# before it binds, so the whole start is tried a few times
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=false
for attempt in 1 2 3 4 5; do
    port=$((20000 + (RANDOM * 7 + attempt * 131) % 40000))
    port_free "$port" || continue
    rm -rf "$D"
    ok init --dir "$D" --listen "127.0.0.1:$port" || break
    "$P" kmf serve --dir "$D" --log-level debug 2>"$log" &
    pid=$!
    for _ in $(seq 200); do
        if "$P" kmf status --dir "$D" >/dev/null 2>&1; then
            started=true
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    $started && break
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
    grep -q "Address already in use" "$log" || break
done
if ! $started; then
    fail "prosec kmf serve did not answer prosec kmf status: $(cat "$log")"
    echo "$n checks, $fails failed"
    exit 1
fi

# what init made (checked on the last, successful attempt)
n=$((n + 1))
[ "$(stat -c %a "$D")" = 700 ] || fail "KMF folder mode $(stat -c %a "$D")"
for f in kmf.db master.key ca.crt ca.key server.crt server.key admin.crt \
    admin.key kmf.conf; do
    [ -f "$D/$f" ] || fail "init made no $f"
done
want "master.key mode" "$(stat -c %a "$D/master.key")" 600
want "master.key size" "$(stat -c %s "$D/master.key")" 32
grep -qx "listen = 127.0.0.1:$port" "$D/kmf.conf" ||
    fail "kmf.conf lacks the listen address"
refused 1 "is not empty" init --dir "$D"
# a second daemon on the folder, on the same port or another
refused 1 "another prosec kmf serve is running on $D" serve --dir "$D"
refused 1 "another prosec kmf serve is running on $D" serve --dir "$D" \
    --listen 127.0.0.1:0

# the daemon's first line, and PROSEC_KMF_DIR in place of --dir
grep -q "serving urn:prosec:kmf:kmf: HTTPS on 127.0.0.1:$port" "$log" ||
    fail "no 'serving' line in the log: $(head -c 300 "$log")"
export PROSEC_KMF_DIR=$D
ok status && has "urn:prosec:kmf:kmf (prosec " && has "0 devices, 0 groups"
ok status --json && flat && want "status devices" "$(jv devices)" 0
unset PROSEC_KMF_DIR

# ---- devices -------------------------------------------------------------

B1=$tmp/radio-1.bundle
ok device add radio-1 --out "$B1" --dir "$D" && has "device 'radio-1' enrolled"
want "bundle mode" "$(stat -c %a "$B1" 2>&1)" 600
grep -q '"format": "prosec-enrolment-bundle"' "$B1" ||
    fail "the bundle is not an enrolment bundle"
grep -q 'BEGIN PRIVATE KEY' "$B1" || fail "the bundle holds no private key"
sum=$(cksum <"$B1")
# never over an existing file, and nothing enrolled when it refuses
refused 2 "exists" device add radio-2 --out "$B1" --dir "$D"
want "bundle after a refused overwrite" "$(cksum <"$B1")" "$sum"
refused 1 "cannot create $tmp/nodir/b" device add radio-2 \
    --out "$tmp/nodir/b" --dir "$D"
ok device list --dir "$D"
grep -q radio-2 "$out" && fail "a refused device add enrolled radio-2"
ok device add radio-2 --out "$tmp/radio-2.bundle" --dir "$D" --json &&
    flat && want "device add --json" "$(jv result) $(jv device)" \
        "enrolled radio-2"
refused 1 "a device 'radio-1' is enrolled already" device add radio-1 \
    --out "$tmp/again.bundle" --dir "$D"
[ -e "$tmp/again.bundle" ] && fail "a refused device add left its file"
refused 2 "missing option --out" device add radio-3 --dir "$D"
refused 1 "device name" device add 'bad name' --out "$tmp/bad" --dir "$D"
ok device list --dir "$D" && has radio-1 && has radio-2 && has enrolled
ok device list --dir "$D" --json && flat &&
    want "device list --json" "$(jv '[0].name') $(jv '[1].name')" \
        "radio-1 radio-2"

# ---- a group with the defaults ------------------------------------------

ok group create fire --group-id d4e5f6 --dir "$D" &&
    has "EEA2, profile integrity, lifetime 86400s, 2 PGK(s) ahead"
ok group show fire --dir "$D" --json && flat
want "default alg" "$(jv alg)" 2
want "default profile" "$(jv profile)" integrity
want "default lifetime" "$(jv lifetime)" 86400
want "default ahead" "$(jv ahead)" 2
want "group_id" "$(jv group_id)" d4e5f6
want "PGKs of a new group" "$(grep -c '^pgks\[[0-9]*\]\.pgk_id=' "$tmp/flat")" 3
for i in 0 1 2; do
    for f in pgk_id index activation expiry state; do
        [ -n "$(jv "pgks[$i].$f")" ] || fail "group show --json: no pgks[$i].$f"
    done
    id=$(jv "pgks[$i].pgk_id")
    want "pgks[$i] index" "$(jv "pgks[$i].index")" $((id & 31))
    want "pgks[$i] lifetime" \
        $(($(jv "pgks[$i].expiry") - $(jv "pgks[$i].activation"))) 86400
done
want "states" "$(jv 'pgks[0].state') $(jv 'pgks[1].state') \
$(jv 'pgks[2].state')" "active pending pending"
want "chain" "$(jv 'pgks[1].activation') $(jv 'pgks[2].activation')" \
    "$(jv 'pgks[0].expiry') $(jv 'pgks[1].expiry')"
want "members of a new group" "$(jv members)" "[]"
ok group show fire --dir "$D" && has "Group ID d4e5f6, EEA2, profile integrity"
want "PGK rows" "$(grep -cE '^[0-9]+ +[0-9]+ +20[0-9-]+T' "$out")" 3

# every option of group create, and a group named by its Group ID
ok group create police --group-id A1B2C3 --alg 3 --profile ts33303 \
    --lifetime 1h --ahead 1 --bearer 5 --dir "$D" &&
    has "Group ID a1b2c3, EEA3, profile ts33303, lifetime 3600s, 1 PGK(s)"
ok group show a1b2c3 --dir "$D" --json && flat
want "police" "$(jv name) $(jv alg) $(jv profile) $(jv lifetime) \
$(jv ahead) $(jv bearer)" "police 3 ts33303 3600 1 5"
want "police PGKs" "$(grep -c '^pgks\[[0-9]*\]\.pgk_id=' "$tmp/flat")" 2
ok group create lab --group-id 000001 --alg 0 --testing --profile ts33303 \
    --lifetime 90 --ahead 0 --dir "$D" && has "EEA0"
ok group list --dir "$D" && has fire && has police && has d4e5f6
ok group list --dir "$D" --json && flat &&
    want "group list --json" "$(jv '[0].name') $(jv '[1].name')" "fire lab"

# bad arguments: exit 2, one line, nothing sent
G=(group create x --dir "$D")
refused 2 "--group-id must be 6 hex digits, got 'zz'" "${G[@]}" --group-id zz
refused 2 "--group-id must be 6 hex digits" "${G[@]}" --group-id 12345
refused 2 "--group-id must be 6 hex digits" "${G[@]}" --group-id 1234567
refused 2 "--group-id: '12345g' is not hex" "${G[@]}" --group-id 12345g
refused 2 "missing option --group-id" "${G[@]}"
for bad in 0 24x 367d -1 1.5h ''; do
    refused 2 "--lifetime: '$bad' is not a duration" "${G[@]}" \
        --group-id 000002 --lifetime "$bad"
done
refused 2 "--alg: 4 is out of range" "${G[@]}" --group-id 000002 --alg 4
refused 2 "--alg 0 (no ciphering) needs --testing" "${G[@]}" \
    --group-id 000002 --alg 0
refused 2 "--profile: 'foo' is not integrity or ts33303" "${G[@]}" \
    --group-id 000002 --profile foo
refused 2 "--ahead: 9 is out of range" "${G[@]}" --group-id 000002 --ahead 9
refused 2 "unknown option '--colour'" "${G[@]}" --group-id 000002 --colour red
refused 2 "option --out does not apply here" "${G[@]}" --group-id 000002 \
    --out x
refused 2 "option --alg given twice" "${G[@]}" --group-id 000002 --alg 1 \
    --alg 2
refused 2 "missing NAME" group create --group-id 000002 --dir "$D"
refused 2 "unexpected argument 'extra'" group show fire extra --dir "$D"
refused 2 "missing NAME DEVICE" group add-member fire --dir "$D"
# refusals of the KMF: exit 1
refused 1 "a group 'fire' exists" group create fire --group-id 000003 \
    --dir "$D"
refused 1 "Group ID d4e5f6 is taken by group 'fire'" group create fire2 \
    --group-id d4e5f6 --dir "$D"
refused 1 "the integrity profile needs" group create lab2 --group-id 000004 \
    --alg 0 --testing --dir "$D"
refused 1 "no group 'nosuch'" group show nosuch --dir "$D"
refused 1 "no group 'nosuch'" group rekey nosuch --dir "$D"
refused 1 "no group 'nosuch'" group add-member nosuch radio-1 --dir "$D"
ok group list --dir "$D"
grep -qE '^x ' "$out" && fail "a refused group create made group x"

# ---- members -------------------------------------------------------------

ok group add-member fire radio-1 --dir "$D" &&
    has "device 'radio-1' added to group 'fire' as Group Member ID 000001"
ok group add-member d4e5f6 radio-2 --dir "$D" --json && flat &&
    want "add-member --json" "$(jv member_id) $(jv group)" "2 fire"
refused 1 "no device 'ghost' is enrolled" group add-member fire ghost \
    --dir "$D"
refused 1 "device 'radio-1' is already a member of 'fire'" \
    group add-member fire radio-1 --dir "$D"
ok group show fire --dir "$D" --json && flat
want "members" "$(jv 'members[0].device') $(jv 'members[0].member_id') \
$(jv 'members[1].device') $(jv 'members[1].member_id')" \
    "radio-1 1 radio-2 2"
want "delivery before any key request" "$(jv 'members[0].delivery')" \
    never-synced
ok group show fire --dir "$D" && has "MEMBER ID" && has "never-synced"

# ---- a device talks to the KMF (when curl is there) ----------------------

pmk=
if command -v curl >/dev/null 2>&1; then
    # the device's credential, out of its bundle (JSON strings with \n)
    pem() {
        printf '%b' "$(sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" "$B1")"
    }
    (umask 077 && pem cert >"$tmp/r1.crt" && pem key >"$tmp/r1.key" &&
        pem ca_cert >"$tmp/ca.crt")
    C=(curl -sS --max-time 20 --tlsv1.3 --cacert "$tmp/ca.crt"
       --cert "$tmp/r1.crt" --key "$tmp/r1.key")
    n=$((n + 1))
    # pushes go to a UDP port nobody answers: they stay pending
    "${C[@]}" -d '{"message":"KEY_REQUEST","version":1,"transaction_id":7,
"groups":[],"supported_algorithms":[2],"mikey_address":"127.0.0.1:9"}' \
        "https://127.0.0.1:$port/v1/key-request" >"$out" 2>"$err" ||
        fail "key request: $(cat "$err")"
    pmk=$(sed -n 's/.*"pmk":"\([0-9a-f]*\)".*/\1/p' "$out")
    want "PMK length" "${#pmk}" 64
    grep -q '"group_member_id":"000001"' "$out" ||
        fail "key response: $(head -c 300 "$out")"
    ok group show fire --dir "$D" --json && flat &&
        want "delivery after the key request" "$(jv 'members[0].delivery')" \
            pending
    ok device list --dir "$D" && has "127.0.0.1:9"
    n=$((n + 1))
    "${C[@]}" -d '{"message":"KEY_RELEASE","version":1,"transaction_id":8,
"all":true}' "https://127.0.0.1:$port/v1/key-release" >"$out" 2>"$err" ||
        fail "key release: $(cat "$err")"
    has '"result":"released"'
    ok group show fire --dir "$D" --json && flat &&
        want "delivery after the release" "$(jv 'members[0].delivery')" \
            released
    # the admin routes refuse a device
    n=$((n + 1))
    "${C[@]}" -d '{}' "https://127.0.0.1:$port/v1/admin/status" >"$out"
    has '"error":"PROSEC_ERR_DENIED"'
    # another method than POST: our JSON error, 405, not libevent's page
    for m in GET PUT DELETE; do
        n=$((n + 1))
        st=$("${C[@]}" -X "$m" -o "$out" -D "$tmp/hdr" -w '%{http_code}' \
            "https://127.0.0.1:$port/v1/key-request" 2>"$err")
        want "$m status" "$st" 405
        has '{"error":"PROSEC_ERR_HTTP_METHOD","message":"/v1/key-request takes POST only"}'
        grep -qi '^content-type: application/json' "$tmp/hdr" ||
            fail "$m: not JSON: $(cat "$tmp/hdr")"
        grep -qi '^allow: POST' "$tmp/hdr" || fail "$m: no Allow: POST"
    done
    n=$((n + 1))
    st=$("${C[@]}" -I -o "$out" -w '%{http_code}' \
        "https://127.0.0.1:$port/v1/key-request" 2>"$err")
    want "HEAD status" "$st" 405
    grep -q "http: /v1/key-request from radio-1 refused: /v1/key-request \
takes POST only" "$log" || fail "the GET is not in the log"
else
    echo "SKIP key request and release: no curl (scripts/setup installs it)"
fi

# ---- keys replaced -------------------------------------------------------

ok group rekey fire --dir "$D" && has "PGK 4 replaces PGK 1 from now"
ok group show fire --dir "$D" --json && flat
active=$(awk -F= '/^pgks\[[0-9]+\]\.state=active$/ { sub(/\.state$/, "", $1);
                                                      print $1 }' "$tmp/flat")
want "PGKs active after the rekey" "$(echo "$active" | wc -w)" 1
want "the active PGK" "$(jv "$active.pgk_id")" 4
want "PGK 1 after the rekey" "$(jv 'pgks[0].pgk_id') $(jv 'pgks[0].state')" \
    "1 revoked"
ok group compromise fire --pgk-id 4 --dir "$D" &&
    has "3 PGK(s) revoked (members told to delete them), 3 new one(s) pushed"
ok group compromise fire --dir "$D" --json && flat &&
    want "compromise --json" "$(jv result) $(jv revoked) $(jv new_pgks)" \
        "replaced 3 3"
refused 1 "group 'fire' never had PGK ID 200" group compromise fire \
    --pgk-id 200 --dir "$D"
refused 2 "--pgk-id: 256 is out of range" group compromise fire \
    --pgk-id 256 --dir "$D"
ok group show fire --dir "$D" --json && flat
want "valid PGKs after compromises" \
    "$(grep -cE '^pgks\[[0-9]+\]\.state=(active|pending)$' "$tmp/flat")" 3

# ---- removal and revocation ------------------------------------------------

ok group remove-member fire radio-2 --dir "$D" &&
    has "device 'radio-2' removed from group 'fire'; 3 PGK(s) revoked"
refused 1 "device 'radio-2' is not a member of 'fire'" \
    group remove-member fire radio-2 --dir "$D"
ok group show fire --dir "$D" --json && flat &&
    want "members after the removal" "$(jv 'members[0].device') \
$(jv 'members[1].device')" "radio-1 "
ok group add-member police radio-2 --dir "$D"
ok device revoke radio-2 --dir "$D" && has "removed from 1 group(s)"
refused 1 "device 'radio-2' is revoked already" device revoke radio-2 \
    --dir "$D"
refused 1 "device 'radio-2' is revoked" group add-member fire radio-2 \
    --dir "$D"
refused 1 "no device 'ghost' is enrolled" device revoke ghost --dir "$D"
ok device list --dir "$D" && grep -qE '^radio-2 +revoked' "$out" ||
    fail "device list does not show radio-2 revoked: $(cat "$out")"
ok status --dir "$D" && has "1 devices, 3 groups"

# ---- audit ---------------------------------------------------------------

ok audit --dir "$D"
for a in "init       kmf-init" "admin      device-add           radio-1" \
    "group-create         fire" "group-add-member     fire" \
    "group-rekey          fire" "group-compromise     fire" \
    "group-remove-member  fire" "device-revoke        radio-2"; do
    has "$a"
done
lines=$(wc -l <"$out")
ok audit --dir "$D" --json
n=$((n + 1))
[ "$(head -c 1 "$out")" = "[" ] || fail "audit --json is not an array"
flat
want "audit entries" "$(grep -c '^\[[0-9]*\]\.action=' "$tmp/flat")" "$lines"
want "first entry" "$(jv '[0].actor') $(jv '[0].action')" "init kmf-init"
for f in id at actor action target detail; do
    [ -n "$(jv "[1].$f")" ] || fail "audit --json: no [1].$f"
done
ok audit --since 1h --dir "$D" && has "group-create"
k 0 audit --since 2099-01-01T00:00:00Z --dir "$D" &&
    want "audit of the future" "$(cat "$out")" ""
k 0 audit --since 4070908800 --dir "$D" --json && flat &&
    want "audit --json of the future" "$(cat "$out")" "[]"
refused 2 "--since: 'yesterday' is not" audit --since yesterday --dir "$D"
refused 2 "--since: '2026-02-31T00:00:00Z' is not" audit \
    --since 2026-02-31T00:00:00Z --dir "$D"

# ---- SIGTERM, and after ----------------------------------------------------

t0=$(date +%s%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
pid=
want "serve's exit status on SIGTERM" "$rc" 0
n=$((n + 1))
[ "$ms" -lt 3000 ] || fail "serve took $ms ms to stop"
grep -q "signal 15: shutting down" "$log" || fail "no shutdown line"
tail -n 1 "$log" | grep -q "kmf: stopped" || fail "the last line is not 'stopped'"

refused 1 "the KMF of $D is not running" status --dir "$D"
want "'not running' said once" "$(grep -o "not running" "$err" | wc -l)" 1
refused 1 "the KMF of $D is not running" group show fire --dir "$D"
refused 1 "the KMF of $D is not running" device add radio-9 \
    --out "$tmp/radio-9.bundle" --dir "$D"
[ -e "$tmp/radio-9.bundle" ] && fail "device add left a bundle file"

# ---- the log: one line per event, no key --------------------------------

# every audit entry but init's (made before serve ran) is a line of the log
n=$((n + 1))
events=$(grep -c " kmf: audit: " "$log")
[ "$events" -ge $((lines - 1)) ] ||
    fail "$events audit lines in the log for $lines audit entries"
# a refused admin request is logged and audited, as device refusals are
n=$((n + 1))
grep -qF "http: /v1/admin/group/show from admin refused: no group 'nosuch'" \
    "$log" || fail "the refused group show is not in the log"
grep -qF "audit: admin admin-refused group/show PROSEC_ERR_NOT_FOUND: no \
group 'nosuch'" "$log" || fail "the refused group show is not audited"
odd=$(grep -vE '^20[0-9-]+T[0-9:.]+Z (error|warn |info |debug) kmf: ' "$log")
[ -z "$odd" ] || fail "log lines of no known form: $(echo "$odd" | head -3)"
n=$((n + 1))
if grep -nE '[0-9A-Fa-f]{64}' "$log"; then
    fail "64 hex digits in a line of the log"
fi
n=$((n + 1))
if grep -nE 'PRIVATE KEY|BEGIN' "$log"; then
    fail "PEM text in the log"
fi
if [ -n "$pmk" ]; then
    n=$((n + 1))
    if grep -n "${pmk:0:16}" "$log"; then
        fail "the device's PMK is in the log"
    fi
fi

passed=$((n - fails))
[ "$passed" -ge 0 ] || passed=0
echo "$passed passed, $fails failed"
[ "$fails" = 0 ]
