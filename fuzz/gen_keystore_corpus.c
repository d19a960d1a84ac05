/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of fuzz_keystore into the folder given: real
 * files (sealed with the harness's fixed key, and one with a passphrase
 * and small Argon2 parameters) and bodies, each behind its mode octet.
 * Built with the fuzzers, never run by the tests:
 *   build-san/fuzz/gen_keystore_corpus fuzz/corpus/keystore
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/keystore/internal.h"
#include "fuzz_keystore.h"

static void die(const char *what)
{
    fprintf(stderr, "gen_keystore_corpus: %s\n", what);
    exit(1);
}

static void put(const char *dir, const char *name, uint8_t mode,
                const uint8_t *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fputc(mode, f) == EOF || fwrite(data, 1, len, f) != len ||
        fclose(f) != 0) {
        die(path);
    }
}

static void check(prosec_err err)
{
    if (err != PROSEC_OK) {
        die(prosec_strerror(err));
    }
}

/* A store with something of every kind. */
static struct prosec_keystore *full_store(void)
{
    struct prosec_keystore *ks = NULL;
    struct prosec_pgk p;
    uint8_t k[32];

    check(prosec__ks_new(&ks));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_NAME, "unit7", 5));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_URI,
                                   "sip:unit7@fire.example", 22));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_PRIVATE_KEY,
                                   "-----BEGIN PRIVATE KEY-----\n", 28));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_CERTIFICATE,
                                   "-----BEGIN CERTIFICATE-----\n", 28));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_CA,
                                   "-----BEGIN CERTIFICATE-----\n", 28));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_ADDRESS,
                                   "kmf.example:8443", 16));
    check(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_URI,
                                   "https://kmf.example/", 20));
    memset(k, 0x11, sizeof(k));
    check(prosec_keystore_set_pmk(ks, k, 0x01020304));
    check(prosec_keystore_set_pruk(ks, k, 0x1122334455667788u));
    check(prosec_keystore_group_set(ks, 0xd4e5f6, "fire crew"));
    check(prosec_keystore_group_set(ks, 0x000102, "police"));
    memset(&p, 0, sizeof(p));
    memset(p.key, 0x5a, sizeof(p.key));
    p.pgk_id = 1;
    p.activation = 1000;
    p.expiry = 2000;
    p.alg = 2;
    p.profile = PROSEC_PROFILE_INTEGRITY;
    p.member_id = 0xa1b2c3;
    check(prosec_keystore_pgk_put(ks, 0xd4e5f6, &p));
    p.pgk_id = 0x21;
    p.alg = 0;
    p.profile = PROSEC_PROFILE_TS33303;
    check(prosec_keystore_pgk_put(ks, 0x000102, &p));
    check(prosec_keystore_replay_set(ks, 0xd4e5f6, 0x0b0b0b, 1, 9, 100));
    check(prosec_keystore_setting_set(ks, "pc5.iface", "veth0", 5));
    check(prosec_keystore_setting_set(ks, "empty", NULL, 0));
    ks->res[0].group_id = 0xd4e5f6; /* a reservation, without a save */
    ks->res[0].pgk_id = 1;
    ks->res[0].reserved = 3;
    ks->n_res = 1;
    return ks;
}

static void put_store(const char *dir, const char *name,
                      const struct prosec_keystore *ks,
                      struct prosec__ks_seal *m, uint8_t mode)
{
    uint8_t *body = NULL, *file = NULL;
    size_t blen = 0, flen = 0;

    check(prosec__ks_body_encode(ks, &body, &blen));
    check(prosec__ks_seal(m, body, blen, &file, &flen));
    put(dir, name, mode, file, flen);
    prosec__secmem_free(body);
    free(file);
}

int main(int argc, char **argv)
{
    struct prosec__ks_seal *key, *pass;
    struct prosec_keystore *empty = NULL, *full;
    uint8_t *body = NULL;
    size_t blen = 0;

    if (argc != 2) {
        die("usage: gen_keystore_corpus DIR");
    }
    key = prosec__secmem_alloc(sizeof(*key), NULL);
    pass = prosec__secmem_alloc(sizeof(*pass), NULL);
    if (key == NULL || pass == NULL) {
        die("out of memory");
    }
    key->kind = PROSEC_SEAL_KEY;
    memcpy(key->key, fuzz_ks_key, sizeof(key->key));
    pass->kind = PROSEC_SEAL_PASSPHRASE;
    memcpy(pass->passphrase, "passphrase", 10);
    pass->passphrase_len = 10;
    pass->argon2.passes = 1;
    pass->argon2.memory_kib = 64;
    pass->argon2.lanes = 1;
    pass->allow_weak = true;

    check(prosec__ks_new(&empty));
    full = full_store();
    put_store(argv[1], "file_empty", empty, key, FUZZ_KS_FILE);
    put_store(argv[1], "file_full", full, key, FUZZ_KS_FILE);
    put_store(argv[1], "file_argon2", full, pass, FUZZ_KS_FILE);
    put_store(argv[1], "header_argon2", full, pass, FUZZ_KS_HEADER);
    check(prosec__ks_body_encode(full, &body, &blen));
    put(argv[1], "body_full", FUZZ_KS_BODY, body, blen);
    put(argv[1], "sealed_body_full", FUZZ_KS_SEALED_BODY, body, blen);
    prosec__secmem_free(body);
    put(argv[1], "body_empty", FUZZ_KS_BODY, (const uint8_t *)"\1", 1);

    prosec_keystore_close(empty);
    prosec_keystore_close(full);
    prosec__secmem_free(key);
    prosec__secmem_free(pass);
    return 0;
}
