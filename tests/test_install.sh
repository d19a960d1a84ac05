#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `make install` as a user of the library sees it: install the build tree
# into a scratch prefix, then build and run a program against it with
# nothing but pkg-config, shared and static.
# Usage: test_install.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/prosec/prosec.h include/prosec/crypto.h \
    include/prosec/kdf.h include/prosec/mikey.h include/prosec/keyreq.h \
    include/prosec/keystore.h share/man/man1/prosec.1 bin/prosec; do
    [ -e "$tmp/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
pc=$(find "$tmp/prefix" -name prosec.pc)
[ -n "$pc" ] || { echo "FAIL: prosec.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir prosec)

cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <prosec/prosec.h>
int main(void)
{
    uint8_t pgk[32], ptk[32];
    prosec_err e;

    for (int i = 0; i < 32; i++) {
        pgk[i] = (uint8_t)i;
    }
    e = prosec_ptk_derive(ptk, pgk, 0xa1b2c3, 1, 0xd4e5f6);
    printf("%s %s %02x%02x\n", prosec_version(), prosec_err_name(e), ptk[0],
           ptk[1]);
    if (e != PROSEC_OK || ptk[0] != 0xb1 || ptk[1] != 0xf9) {
        return 1;
    }
    /* the JSON codec: Jansson must come along (Requires.private) */
    {
        struct prosec_key_release rel = {.all = true};
        char *s = NULL;

        e = prosec_key_release_encode(&rel, &s);
        if (e != PROSEC_OK || strstr(s, "\"all\":true") == NULL) {
            return 1;
        }
        prosec_key_json_free(s);
    }
    /* the keystore pulls in libargon2 (Requires.private of prosec.pc) */
    {
        struct prosec_keystore *ks = NULL;
        struct prosec_seal seal = {0};

        seal.kind = PROSEC_SEAL_PASSPHRASE;
        seal.passphrase = (const uint8_t *)"pw";
        seal.passphrase_len = 2;
        e = prosec_keystore_open(&ks, "/nonexistent/device.ks", &seal);
        printf("%s\n", prosec_err_name(e));
        return e != PROSEC_ERR_KS_NOT_FOUND;
    }
}
C
${CC:-cc} "$tmp/use.c" $(pkg-config --cflags --libs prosec) -o "$tmp/use"
LD_LIBRARY_PATH=$libdir "$tmp/use"
${CC:-cc} "$tmp/use.c" $(pkg-config --cflags prosec) "$libdir/libprosec.a" \
    $(pkg-config --libs-only-other --libs-only-L --static prosec) \
    $(pkg-config --static --libs prosec | tr ' ' '\n' | grep -v '^-lprosec$') \
    -o "$tmp/use_static"
"$tmp/use_static"
"$tmp/prefix/bin/prosec" --version
echo "install: ok"
