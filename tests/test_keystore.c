/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device keystore: a round trip of every field in both seal modes;
 * every bad file we can think of (wrong passphrase or key, truncated at
 * every length, one flipped bit at every header bit and many body
 * positions, foreign files, unknown versions, loose modes, foreign
 * owners) refused with its own code and left exactly as it was; the lock,
 * within a process and across fork(); a failure and a crash at every step
 * of a write, simulated and real, after which the file opens as exactly
 * the old state or exactly the new; no key in clear in the file; expiry;
 * and a real struct prosec_sender persisting its reservations through it.
 * The sealing key is derived once per seal: saves run no KDF (counted
 * through prosec__ks_kdf_runs, not timed), keep the salt and draw a fresh
 * nonce each.
 *
 * Argon2 runs with tiny parameters (PROSEC_SEAL_ALLOW_WEAK_KDF) except in
 * test_default_kdf and test_saves_reuse_key, which run the defaults a few
 * times.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/keystore/internal.h"
#include "prosec/prosec.h"

enum { GROUP_A = 0xd4e5f6, GROUP_B = 0x000102, MEMBER = 0xa1b2c3 };

/* Where the salt and nonce sit in a header (docs/keystore.md). */
enum { SALT_AT = 24, NONCE_AT = 56 };

static const char passphrase[] = "correct horse battery staple";
static const char private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIHs2Xo6wO0cvU6QWrR0XlZgqJf8mTn3l4Ck5yXq0Dd1s\n"
    "-----END PRIVATE KEY-----\n";

struct fixture {
    char dir[64];
    char path[96];
    char keyfile[96];
    uint8_t key[PROSEC_KS_KEY_LEN];
};

/* ---- helpers ----------------------------------------------------------------
 */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

static void rnd_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = rnd8();
    }
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[512];
    struct stat st;

    if (d == NULL) {
        (void)unlink(path);
        return;
    }
    (void)chmod(path, 0700);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(sub);
        } else {
            (void)unlink(sub);
        }
    }
    closedir(d);
    (void)rmdir(path);
}

static void write_bytes(const char *path, const void *data, size_t len,
                        mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_true(len == 0 || write(fd, data, len) == (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* The whole file, malloc'd; NULL when missing or not a regular file. */
static uint8_t *read_bytes(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    FILE *f;

    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    assert_int_equal(fstat(fileno(f), &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)st.st_size, f);
    assert_int_equal(*len, (size_t)st.st_size);
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static struct prosec_seal pass_seal(const char *pass)
{
    struct prosec_seal s;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_PASSPHRASE;
    s.passphrase = (const uint8_t *)pass;
    s.passphrase_len = strlen(pass);
    s.argon2.passes = 1;
    s.argon2.memory_kib = 64;
    s.argon2.lanes = 1;
    s.flags = PROSEC_SEAL_ALLOW_WEAK_KDF;
    return s;
}

static struct prosec_seal key_seal(const uint8_t *key)
{
    struct prosec_seal s;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_KEY;
    s.key = key;
    return s;
}

static struct prosec_seal keyfile_seal(const char *path)
{
    struct prosec_seal s;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_KEY_FILE;
    s.key_file = path;
    return s;
}

static struct prosec_pgk make_pgk(uint8_t id, int64_t act, int64_t exp)
{
    struct prosec_pgk p;

    memset(&p, 0, sizeof(p));
    rnd_fill(p.key, sizeof(p.key));
    p.pgk_id = id;
    p.activation = act;
    p.expiry = exp;
    p.alg = 2;
    p.profile = PROSEC_PROFILE_INTEGRITY;
    p.bearer = 3;
    p.member_id = MEMBER;
    return p;
}

/* What fill() put in, to check against. */
struct content {
    struct prosec_pgk pgk[3];
    uint8_t pmk[32];
    uint8_t pruk[32];
    char name[32];
};

/* Sets every field; variant makes two different states. */
static void fill(struct prosec_keystore *ks, struct content *c, int variant)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "device-%d", variant);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_NAME,
                                              c->name, strlen(c->name)),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_URI,
                                              "sip:unit7@fire.example", 22),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_PRIVATE_KEY,
                                              private_pem, strlen(private_pem)),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_CERTIFICATE,
                                              "-----BEGIN CERTIFICATE-----\n",
                                              28),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_CA,
                                              "-----BEGIN CERTIFICATE-----\nCA",
                                              30),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_ADDRESS,
                                              "kmf.example:8443", 16),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_URI,
                                              "https://kmf.example/", 20),
                     PROSEC_OK);
    rnd_fill(c->pmk, sizeof(c->pmk));
    rnd_fill(c->pruk, sizeof(c->pruk));
    assert_int_equal(prosec_keystore_set_pmk(ks, c->pmk, 0x01020304),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_set_pruk(ks, c->pruk, 0x1122334455667788u),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_group_set(ks, GROUP_A, "fire crew"),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_group_set(ks, GROUP_B, "police"),
                     PROSEC_OK);
    c->pgk[0] = make_pgk(1, 1000, 2000);
    c->pgk[1] = make_pgk(0x22, 2000, 3000);
    c->pgk[1].profile = PROSEC_PROFILE_TS33303;
    c->pgk[1].alg = 0;
    c->pgk[1].bearer = 0;
    c->pgk[2] = make_pgk(7, -5, 0x7fffffffffffffff);
    c->pgk[2].alg = 3;
    c->pgk[2].member_id = 0xFFFFFF;
    assert_int_equal(prosec_keystore_pgk_put(ks, GROUP_A, &c->pgk[0]),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_put(ks, GROUP_A, &c->pgk[1]),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_put(ks, GROUP_B, &c->pgk[2]),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_set(ks, GROUP_A, 0x0b0b0b, 1, 9,
                                                (uint16_t)(100 + variant)),
                     PROSEC_OK);
    assert_int_equal(
        prosec_keystore_replay_set(ks, GROUP_B, 0xFFFFFF, 7, 0xFFFE, 0xFFFF),
        PROSEC_OK);
    assert_int_equal(prosec_keystore_setting_set(ks, "pc5.iface", "veth0", 5),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_setting_set(ks, "empty", NULL, 0),
                     PROSEC_OK);
}

static void check_pgk_equal(const struct prosec_pgk *a,
                            const struct prosec_pgk *b)
{
    assert_memory_equal(a->key, b->key, sizeof(a->key));
    assert_int_equal(a->pgk_id, b->pgk_id);
    assert_true(a->activation == b->activation);
    assert_true(a->expiry == b->expiry);
    assert_int_equal(a->alg, b->alg);
    assert_int_equal(a->profile, b->profile);
    assert_int_equal(a->bearer, b->bearer);
    assert_int_equal(a->member_id, b->member_id);
}

static void check_cred(const struct prosec_keystore *ks,
                       enum prosec_keystore_cred which, const char *want)
{
    const char *v;
    size_t len;

    assert_int_equal(prosec_keystore_cred(ks, which, &v, &len), PROSEC_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    assert_int_equal(v[len], 0);
}

/* Checks every field fill() set, through the public getters. */
static void check(const struct prosec_keystore *ks, const struct content *c)
{
    struct prosec_pgk p;
    uint8_t k[32];
    uint32_t id32, gid;
    uint64_t id64;
    uint16_t ptk, sn;
    const char *name, *v;
    size_t n;

    check_cred(ks, PROSEC_KS_DEVICE_NAME, c->name);
    check_cred(ks, PROSEC_KS_DEVICE_URI, "sip:unit7@fire.example");
    check_cred(ks, PROSEC_KS_PRIVATE_KEY, private_pem);
    check_cred(ks, PROSEC_KS_CERTIFICATE, "-----BEGIN CERTIFICATE-----\n");
    check_cred(ks, PROSEC_KS_KMF_CA, "-----BEGIN CERTIFICATE-----\nCA");
    check_cred(ks, PROSEC_KS_KMF_ADDRESS, "kmf.example:8443");
    check_cred(ks, PROSEC_KS_KMF_URI, "https://kmf.example/");
    assert_int_equal(prosec_keystore_pmk(ks, k, &id32), PROSEC_OK);
    assert_memory_equal(k, c->pmk, 32);
    assert_int_equal(id32, 0x01020304);
    assert_int_equal(prosec_keystore_pruk(ks, k, &id64), PROSEC_OK);
    assert_memory_equal(k, c->pruk, 32);
    assert_true(id64 == 0x1122334455667788u);

    assert_int_equal(prosec_keystore_group_count(ks), 2);
    assert_int_equal(prosec_keystore_group_at(ks, 0, &gid, &name), PROSEC_OK);
    assert_int_equal(gid, GROUP_A);
    assert_string_equal(name, "fire crew");
    assert_int_equal(prosec_keystore_group_at(ks, 1, &gid, &name), PROSEC_OK);
    assert_int_equal(gid, GROUP_B);
    assert_string_equal(name, "police");
    assert_int_equal(prosec_keystore_pgk_count(ks, GROUP_A, &n), PROSEC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(prosec_keystore_pgk_at(ks, GROUP_A, 0, &p), PROSEC_OK);
    check_pgk_equal(&p, &c->pgk[0]);
    assert_int_equal(prosec_keystore_pgk_at(ks, GROUP_A, 1, &p), PROSEC_OK);
    check_pgk_equal(&p, &c->pgk[1]);
    assert_int_equal(prosec_keystore_pgk_get(ks, GROUP_B, 7, &p), PROSEC_OK);
    check_pgk_equal(&p, &c->pgk[2]);

    assert_int_equal(prosec_keystore_replay_count(ks), 2);
    assert_int_equal(
        prosec_keystore_replay_get(ks, GROUP_A, 0x0b0b0b, 1, &ptk, &sn),
        PROSEC_OK);
    assert_int_equal(ptk, 9);
    assert_int_equal(sn, 100 + (c->name[7] - '0'));
    assert_int_equal(
        prosec_keystore_replay_get(ks, GROUP_B, 0xFFFFFF, 7, &ptk, &sn),
        PROSEC_OK);
    assert_int_equal(ptk, 0xFFFE);
    assert_int_equal(sn, 0xFFFF);
    assert_int_equal(prosec_keystore_setting(ks, "pc5.iface", &v, &n),
                     PROSEC_OK);
    assert_int_equal(n, 5);
    assert_string_equal(v, "veth0");
    assert_int_equal(prosec_keystore_setting(ks, "empty", &v, &n), PROSEC_OK);
    assert_int_equal(n, 0);
    assert_string_equal(v, "");
}

/* The state of ks as its body encoding (malloc'd), to compare states. */
static uint8_t *state_of(const struct prosec_keystore *ks, size_t *len)
{
    uint8_t *body = NULL, *copy;

    assert_int_equal(prosec__ks_body_encode(ks, &body, len), PROSEC_OK);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, body, *len);
    prosec__secmem_free(body);
    return copy;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* Opens path and expects err; the file's bytes and mode must not change. */
static void expect_open_fails(const char *path, const struct prosec_seal *s,
                              prosec_err want)
{
    struct prosec_keystore *ks = NULL;
    uint8_t *before, *after;
    size_t blen = 0, alen = 0;
    mode_t mode = exists(path) ? mode_of(path) : 0;
    prosec_err err;

    before = read_bytes(path, &blen);
    err = prosec_keystore_open(&ks, path, s);
    if (err != want) {
        fail_msg("%s: got %s, want %s", path, prosec_err_name(err),
                 prosec_err_name(want));
    }
    assert_null(ks);
    after = read_bytes(path, &alen);
    assert_int_equal(before != NULL, after != NULL);
    if (before != NULL) {
        assert_int_equal(blen, alen);
        assert_memory_equal(before, after, blen);
        assert_int_equal(mode, mode_of(path));
    }
    free(before);
    free(after);
}

/* ---- fixture
 * -------------------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/prosec-ks-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/device.ks", f->dir);
    snprintf(f->keyfile, sizeof(f->keyfile), "%s/seal.key", f->dir);
    rnd_fill(f->key, sizeof(f->key));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    prosec__ks_set_fault_hook(NULL, NULL);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* A keystore at f->path in state `variant`, closed; its content in *c. */
static void make_store(struct fixture *f, const struct prosec_seal *s,
                       struct content *c, int variant)
{
    struct prosec_keystore *ks = NULL;

    assert_int_equal(prosec_keystore_create(&ks, f->path, s), PROSEC_OK);
    fill(ks, c, variant);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
}

/* ---- round trips
 * --------------------------------------------------------------- */

static void test_round_trip_passphrase(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct content c;
    const char *v;
    size_t n;

    /* an empty store first: every getter says "no entry" */
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(mode_of(f->path), 0600);
    assert_int_equal(prosec_keystore_cred(ks, PROSEC_KS_DEVICE_NAME, &v, &n),
                     PROSEC_ERR_KS_NO_ENTRY);
    {
        uint8_t k[32];
        uint32_t id;

        assert_int_equal(prosec_keystore_pmk(ks, k, &id),
                         PROSEC_ERR_KS_NO_ENTRY);
    }
    fill(ks, &c, 1);
    check(ks, &c);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    printf("  memory locked: %s\n",
           prosec_keystore_memory_locked(ks) ? "yes" : "no");
    prosec_keystore_close(ks);
    ks = NULL;

    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    check(ks, &c);
    /* saving again without change gives the same state, new bytes */
    {
        uint8_t *a, *b, *fa, *fb;
        size_t al, bl, fal, fbl;

        a = state_of(ks, &al);
        fa = read_bytes(f->path, &fal);
        assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
        fb = read_bytes(f->path, &fbl);
        b = state_of(ks, &bl);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        assert_int_equal(fal, fbl);
        /* the salt (and key) of the open, a fresh nonce */
        assert_memory_equal(fa + SALT_AT, fb + SALT_AT, PROSEC__KS_SALT_LEN);
        assert_memory_not_equal(fa + NONCE_AT, fb + NONCE_AT,
                                PROSEC__KS_NONCE_LEN);
        free(a);
        free(b);
        free(fa);
        free(fb);
    }
    prosec_keystore_close(ks);
    prosec_keystore_close(NULL);
}

static void test_round_trip_key_file(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = keyfile_seal(f->keyfile);
    struct prosec_seal raw = key_seal(f->key);
    struct prosec_seal pass = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct content c;

    write_bytes(f->keyfile, f->key, sizeof(f->key), 0400);
    make_store(f, &s, &c, 1);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
    ks = NULL;
    /* the same 32 octets given directly open it too */
    assert_int_equal(prosec_keystore_open(&ks, f->path, &raw), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
    /* a passphrase is the wrong kind of seal for it */
    expect_open_fails(f->path, &pass, PROSEC_ERR_KS_SEAL_KIND);
}

/* ---- the model's rules
 * ----------------------------------------------------------- */

static void test_model_rules(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct prosec_pgk p = make_pgk(5, 10, 20), q;
    char big[PROSEC_KS_CA_MAX + 2];
    uint16_t r, ptk, sn;
    size_t n;

    memset(big, 'x', sizeof(big));
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);

    /* arguments and bounds */
    assert_int_equal(
        prosec_keystore_set_cred(NULL, PROSEC_KS_DEVICE_URI, "a", 1),
        PROSEC_ERR_NULL);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_NAME, big,
                                              PROSEC_KS_NAME_MAX + 1),
                     PROSEC_ERR_ARG);
    assert_int_equal(
        prosec_keystore_set_cred(ks, PROSEC_KS_KMF_CA, big, PROSEC_KS_CA_MAX),
        PROSEC_OK);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_CA, big,
                                              PROSEC_KS_CA_MAX + 1),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_keystore_set_cred(ks, PROSEC_KS_KMF_CA, NULL, 0),
                     PROSEC_OK);
    assert_int_equal(
        prosec_keystore_set_cred(ks, (enum prosec_keystore_cred)7, "a", 1),
        PROSEC_ERR_ARG);
    assert_int_equal(prosec_keystore_group_set(ks, 0x1000000, "x"),
                     PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_keystore_group_set(ks, 1, ""), PROSEC_ERR_ARG);
    big[PROSEC_KS_NAME_MAX + 1] = 0;
    assert_int_equal(prosec_keystore_group_set(ks, 1, big), PROSEC_ERR_ARG);
    big[PROSEC_KS_NAME_MAX] = 0;
    assert_int_equal(prosec_keystore_group_set(ks, 1, big), PROSEC_OK);
    assert_int_equal(prosec_keystore_group_set(ks, 1, "renamed"), PROSEC_OK);
    assert_int_equal(prosec_keystore_group_count(ks), 1);
    {
        const char *own = NULL;

        /* setting a value from the keystore's own copy of it */
        assert_int_equal(prosec_keystore_group_name(ks, 1, &own), PROSEC_OK);
        assert_int_equal(prosec_keystore_group_set(ks, 1, own), PROSEC_OK);
        assert_int_equal(prosec_keystore_group_name(ks, 1, &own), PROSEC_OK);
        assert_string_equal(own, "renamed");
        assert_int_equal(
            prosec_keystore_set_cred(ks, PROSEC_KS_KMF_URI, "kmf", 3),
            PROSEC_OK);
        assert_int_equal(prosec_keystore_cred(ks, PROSEC_KS_KMF_URI, &own, &n),
                         PROSEC_OK);
        assert_int_equal(
            prosec_keystore_set_cred(ks, PROSEC_KS_KMF_URI, own, n), PROSEC_OK);
        assert_int_equal(prosec_keystore_cred(ks, PROSEC_KS_KMF_URI, &own, &n),
                         PROSEC_OK);
        assert_int_equal(n, 3);
        assert_memory_equal(own, "kmf", 3);
        assert_int_equal(prosec_keystore_setting_set(ks, "s", "val", 3),
                         PROSEC_OK);
        assert_int_equal(prosec_keystore_setting(ks, "s", &own, &n), PROSEC_OK);
        assert_int_equal(prosec_keystore_setting_set(ks, "s", own, n),
                         PROSEC_OK);
        assert_int_equal(prosec_keystore_setting(ks, "s", &own, &n), PROSEC_OK);
        assert_string_equal(own, "val");
        assert_int_equal(prosec_keystore_setting_remove(ks, "s"), PROSEC_OK);
    }
    assert_int_equal(prosec_keystore_pgk_put(ks, 2, &p),
                     PROSEC_ERR_KS_NO_ENTRY);
    q = p;
    q.expiry = q.activation;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_ERR_ARG);
    q = p;
    q.bearer = 32;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_ERR_ARG);
    q = p;
    q.member_id = 0x1000000;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_ERR_ARG);
    q = p;
    q.alg = 4;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_ERR_ALG_ID);
    q = p;
    q.alg = 0;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_keystore_setting_set(ks, "has space", "v", 1),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_keystore_setting_set(ks, "", "v", 1),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_keystore_setting_set(
                         ks, "k", big, PROSEC_KS_SETTING_VALUE_MAX + 1),
                     PROSEC_ERR_ARG);

    /* the same PGK ID replaces; the same key keeps its reservation */
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &p), PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_set(ks, 1, 9, 5, 3, 3), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_save(ks, 1, 5, 30), PROSEC_OK);
    q = p;
    q.expiry = 99;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_count(ks, 1, &n), PROSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(prosec_keystore_reserve_load(ks, 1, 5, &r), PROSEC_OK);
    assert_int_equal(r, 30);
    /* a reservation never goes down */
    assert_int_equal(prosec_keystore_reserve_save(ks, 1, 5, 10), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_load(ks, 1, 5, &r), PROSEC_OK);
    assert_int_equal(r, 30);
    /* another key under the same ID drops what belonged to the old one */
    q.key[0] ^= 1;
    assert_int_equal(prosec_keystore_pgk_put(ks, 1, &q), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_load(ks, 1, 5, &r), PROSEC_OK);
    assert_int_equal(r, 0);
    assert_int_equal(prosec_keystore_replay_get(ks, 1, 9, 5, &ptk, &sn),
                     PROSEC_ERR_KS_NO_ENTRY);
    /* removal wipes the PGK but keeps a reservation made since */
    assert_int_equal(prosec_keystore_reserve_save(ks, 1, 5, 6), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_remove(ks, 1, 5), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_remove(ks, 1, 5),
                     PROSEC_ERR_KS_NO_ENTRY);
    assert_int_equal(prosec_keystore_pgk_get(ks, 1, 5, &q),
                     PROSEC_ERR_KS_NO_ENTRY);
    assert_int_equal(prosec_keystore_reserve_load(ks, 1, 5, &r), PROSEC_OK);
    assert_int_equal(r, 6);

    /* replay marks: the highest (PTK ID, SN); the oldest gives way */
    assert_int_equal(prosec_keystore_replay_set(ks, 1, 9, 5, 4, 1), PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_set(ks, 1, 9, 5, 3, 900),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_get(ks, 1, 9, 5, &ptk, &sn),
                     PROSEC_OK);
    assert_int_equal(ptk, 4);
    assert_int_equal(sn, 1);
    assert_int_equal(prosec_keystore_replay_set(ks, 1, 0x1000000, 5, 4, 1),
                     PROSEC_ERR_L2_ID);
    for (uint32_t i = 0; i < PROSEC_KS_REPLAY_MAX; i++) {
        assert_int_equal(prosec_keystore_replay_set(ks, 2, i, 1, 1, 1),
                         PROSEC_OK);
    }
    assert_int_equal(prosec_keystore_replay_count(ks), PROSEC_KS_REPLAY_MAX);
    assert_int_equal(prosec_keystore_replay_get(ks, 1, 9, 5, &ptk, &sn),
                     PROSEC_ERR_KS_NO_ENTRY);
    assert_int_equal(prosec_keystore_replay_get(ks, 2, 0, 1, &ptk, &sn),
                     PROSEC_OK);
    /* touching an entry makes it the newest */
    assert_int_equal(prosec_keystore_replay_set(ks, 2, 0, 1, 1, 1), PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_set(ks, 3, 0, 1, 1, 1), PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_get(ks, 2, 0, 1, &ptk, &sn),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_replay_get(ks, 2, 1, 1, &ptk, &sn),
                     PROSEC_ERR_KS_NO_ENTRY);

    /* caps: groups, PGKs per group, settings */
    for (uint32_t g = 100;
         prosec_keystore_group_count(ks) < PROSEC_KS_GROUPS_MAX; g++) {
        assert_int_equal(prosec_keystore_group_set(ks, g, "g"), PROSEC_OK);
    }
    assert_int_equal(prosec_keystore_group_set(ks, 99, "g"), PROSEC_ERR_FULL);
    for (unsigned i = 0; i < PROSEC_KS_GROUP_PGKS_MAX; i++) {
        q = make_pgk((uint8_t)i, 1, 2);
        assert_int_equal(prosec_keystore_pgk_put(ks, 100, &q), PROSEC_OK);
    }
    q = make_pgk(200, 1, 2);
    assert_int_equal(prosec_keystore_pgk_put(ks, 100, &q), PROSEC_ERR_FULL);
    for (unsigned i = 0; i < PROSEC_KS_SETTINGS_MAX; i++) {
        char key[16];

        snprintf(key, sizeof(key), "k%u", i);
        assert_int_equal(prosec_keystore_setting_set(ks, key, "v", 1),
                         PROSEC_OK);
    }
    assert_int_equal(prosec_keystore_setting_set(ks, "one-more", "v", 1),
                     PROSEC_ERR_FULL);
    assert_int_equal(prosec_keystore_setting_set(ks, "k3", "new", 3),
                     PROSEC_OK);
    assert_int_equal(prosec_keystore_setting_remove(ks, "k3"), PROSEC_OK);
    assert_int_equal(prosec_keystore_setting_remove(ks, "k3"),
                     PROSEC_ERR_KS_NO_ENTRY);

    /* a removed group takes its PGKs with it */
    assert_int_equal(prosec_keystore_group_remove(ks, 100), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_count(ks, 100, &n),
                     PROSEC_ERR_KS_NO_ENTRY);
    assert_int_equal(prosec_keystore_group_remove(ks, 100),
                     PROSEC_ERR_KS_NO_ENTRY);

    /* all of it survives a save and an open */
    {
        uint8_t *a, *b;
        size_t al, bl;

        a = state_of(ks, &al);
        assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
        prosec_keystore_close(ks);
        ks = NULL;
        assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
        b = state_of(ks, &bl);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        free(a);
        free(b);
    }
    prosec_keystore_close(ks);
}

static void test_pgk_total_cap(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *ks = NULL;
    struct prosec_pgk p;
    size_t stored = 0;

    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    for (uint32_t g = 0; g < 5; g++) {
        assert_int_equal(prosec_keystore_group_set(ks, g, "g"), PROSEC_OK);
        for (unsigned i = 0; i < PROSEC_KS_GROUP_PGKS_MAX; i++) {
            prosec_err err;

            p = make_pgk((uint8_t)i, 1, 2);
            err = prosec_keystore_pgk_put(ks, g, &p);
            if (stored < PROSEC_KS_PGKS_MAX) {
                assert_int_equal(err, PROSEC_OK);
                stored++;
            } else {
                assert_int_equal(err, PROSEC_ERR_FULL);
            }
        }
    }
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    prosec_keystore_close(ks);
}

/* ---- crafted bodies and files
 * ----------------------------------------------------- */

struct body {
    uint8_t *b;
    size_t n, cap;
};

static void body_init(struct body *bb)
{
    bb->cap = 1 << 16;
    bb->b = malloc(bb->cap);
    assert_non_null(bb->b);
    bb->b[0] = 1; /* body version */
    bb->n = 1;
}

static void tlv(struct body *bb, uint8_t type, const void *v, size_t len)
{
    assert_true(bb->n + 5 + len <= bb->cap);
    bb->b[bb->n] = type;
    bb->b[bb->n + 1] = (uint8_t)(len >> 24);
    bb->b[bb->n + 2] = (uint8_t)(len >> 16);
    bb->b[bb->n + 3] = (uint8_t)(len >> 8);
    bb->b[bb->n + 4] = (uint8_t)len;
    if (len > 0) {
        memcpy(bb->b + bb->n + 5, v, len);
    }
    bb->n += 5 + len;
}

static void tlv_group(struct body *bb, uint32_t id, const char *name)
{
    uint8_t v[3 + 255];
    size_t n = strlen(name);

    v[0] = (uint8_t)(id >> 16);
    v[1] = (uint8_t)(id >> 8);
    v[2] = (uint8_t)id;
    memcpy(v + 3, name, n);
    tlv(bb, 0x20, v, 3 + n);
}

/* A PGK TLV value: group, PGK ID, key, times 1 and 2, alg, profile. */
static void tlv_pgk(struct body *bb, uint32_t group, uint8_t id, uint8_t alg,
                    uint8_t profile)
{
    uint8_t v[58];

    memset(v, 0, sizeof(v));
    v[0] = (uint8_t)(group >> 16);
    v[1] = (uint8_t)(group >> 8);
    v[2] = (uint8_t)group;
    v[3] = id;
    memset(v + 4, 0x5a, 32);
    v[43] = 1; /* activation 1 */
    v[51] = 2; /* expiry 2 */
    v[52] = alg;
    v[53] = profile;
    tlv(bb, 0x21, v, sizeof(v));
}

static void tlv_res(struct body *bb, uint32_t group, uint8_t id, uint16_t r)
{
    uint8_t v[6] = {(uint8_t)(group >> 16), (uint8_t)(group >> 8),
                    (uint8_t)group,         id,
                    (uint8_t)(r >> 8),      (uint8_t)r};

    tlv(bb, 0x22, v, sizeof(v));
}

static prosec_err decode(const struct body *bb)
{
    struct prosec_keystore *ks = NULL;
    prosec_err err = prosec__ks_from_body(&ks, bb->b, bb->n);

    assert_true((err == PROSEC_OK) == (ks != NULL));
    prosec_keystore_close(ks);
    return err;
}

/* Seals a body with a raw key into a file at path, as a save would. */
static void write_sealed(const char *path, const uint8_t *key,
                         const uint8_t *body, size_t len)
{
    struct prosec__ks_seal *m = calloc(1, sizeof(*m));
    uint8_t *file = NULL;
    size_t flen = 0;

    assert_non_null(m);
    m->kind = PROSEC_SEAL_KEY;
    memcpy(m->key, key, PROSEC_KS_KEY_LEN);
    assert_int_equal(prosec__ks_seal(m, body, len, &file, &flen), PROSEC_OK);
    write_bytes(path, file, flen, 0600);
    free(file);
    prosec_wipe(m, sizeof(*m));
    free(m);
}

/* The plaintext body of the file at path, sealed with a raw key. */
static uint8_t *unseal_file(const char *path, const uint8_t *key, size_t *len)
{
    struct prosec__ks_seal *m = calloc(1, sizeof(*m));
    uint8_t *file, *body = NULL, *copy;
    size_t flen = 0;

    assert_non_null(m);
    m->kind = PROSEC_SEAL_KEY;
    memcpy(m->key, key, PROSEC_KS_KEY_LEN);
    file = read_bytes(path, &flen);
    assert_non_null(file);
    assert_int_equal(prosec__ks_unseal(m, file, flen, &body, len), PROSEC_OK);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, body, *len);
    prosec__secmem_free(body);
    free(file);
    free(m);
    return copy;
}

static void test_body_decoder(void **state)
{
    struct body bb;
    uint8_t name[300];

    (void)state;
    memset(name, 'n', sizeof(name));
    body_init(&bb);
    assert_int_equal(decode(&bb), PROSEC_OK); /* an empty store */
    bb.n = 0;
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.b[0] = 2;
    bb.n = 1;
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_VERSION);

    /* TLV framing */
    {
        static const uint8_t cut[] = {1, 0x01, 0, 0, 0};
        static const uint8_t over[] = {1, 0x01, 0, 0, 0, 5, 'a'};
        static const uint8_t huge[] = {1, 0x01, 0xff, 0xff, 0xff, 0xff, 'a'};
        struct body t = {NULL, 0, 0};

        t.b = (uint8_t *)(uintptr_t)cut;
        t.n = sizeof(cut);
        assert_int_equal(decode(&t), PROSEC_ERR_KS_BODY);
        t.b = (uint8_t *)(uintptr_t)over;
        t.n = sizeof(over);
        assert_int_equal(decode(&t), PROSEC_ERR_KS_BODY);
        t.b = (uint8_t *)(uintptr_t)huge;
        t.n = sizeof(huge);
        assert_int_equal(decode(&t), PROSEC_ERR_KS_BODY);
    }

    /* singletons: once, in bounds */
    bb.b[0] = 1;
    bb.n = 1;
    tlv(&bb, 0x01, "dev", 3);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv(&bb, 0x01, "dev", 3);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x01, "", 0);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x01, name, 256);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x08, "x", 1);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x7f, "x", 1);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x10, name, 35);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x10, name, 36);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv(&bb, 0x10, name, 36);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x11, name, 39);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);

    /* groups and PGKs: the group first, each once, fields checked */
    bb.n = 1;
    tlv_pgk(&bb, 5, 1, 2, 1);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv_group(&bb, 5, "g");
    tlv_pgk(&bb, 5, 1, 2, 1);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv_pgk(&bb, 5, 1, 2, 1);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv_group(&bb, 5, "g");
    tlv_group(&bb, 5, "h");
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x20, "\0\0\5", 3);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x20, "\0\0\5a\0b", 6);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv_group(&bb, 5, "g");
    tlv_pgk(&bb, 5, 1, 4, 1);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv_group(&bb, 5, "g");
    tlv_pgk(&bb, 5, 1, 2, 2);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);

    /* reservations, replay marks, settings: no duplicates */
    bb.n = 1;
    tlv_res(&bb, 5, 1, 3);
    tlv_res(&bb, 5, 2, 3);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv_res(&bb, 5, 1, 4);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x23, "\0\0\5\0\0\6\1\0\1\0\1", 11);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv(&bb, 0x23, "\0\0\5\0\0\6\1\0\2\0\1", 11);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x30, "\3keyvalue", 9);
    assert_int_equal(decode(&bb), PROSEC_OK);
    tlv(&bb, 0x30, "\3key", 4);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x30, "\0value", 6);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x30, "\11key", 4);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    bb.n = 1;
    tlv(&bb, 0x30, "\3k y", 4);
    assert_int_equal(decode(&bb), PROSEC_ERR_KS_BODY);
    free(bb.b);

    /* a full state encodes, decodes and encodes to the same bytes */
    {
        struct prosec_keystore *ks = NULL, *back = NULL;
        struct content c;
        uint8_t *a, *b;
        size_t al, bl;

        assert_int_equal(prosec__ks_new(&ks), PROSEC_OK);
        fill(ks, &c, 3);
        a = state_of(ks, &al);
        assert_int_equal(prosec__ks_from_body(&back, a, al), PROSEC_OK);
        check(back, &c);
        b = state_of(back, &bl);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        /* a keystore from memory has no file to save to */
        assert_int_equal(prosec_keystore_save(back), PROSEC_ERR_ARG);
        free(a);
        free(b);
        prosec_keystore_close(ks);
        prosec_keystore_close(back);
    }
}

static void test_reservation_eviction(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *ks = NULL;
    struct body bb;
    uint16_t r;
    unsigned n = 2;

    /* a full table: (7,0) oldest with its PGK held, then (7,1) without */
    body_init(&bb);
    tlv_group(&bb, 7, "g");
    tlv_pgk(&bb, 7, 0, 2, 1);
    tlv_res(&bb, 7, 0, 11);
    tlv_res(&bb, 7, 1, 12);
    for (uint32_t g = 8; n < PROSEC_KS_RESERVATIONS_MAX; g++) {
        for (unsigned id = 0; id < 256 && n < PROSEC_KS_RESERVATIONS_MAX;
             id++, n++) {
            tlv_res(&bb, g, (uint8_t)id, 1);
        }
    }
    write_sealed(f->path, f->key, bb.b, bb.n);
    free(bb.b);

    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_save(ks, 99, 0, 5), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_load(ks, 99, 0, &r), PROSEC_OK);
    assert_int_equal(r, 5);
    /* the oldest whose PGK is gone gave way, not the held one */
    assert_int_equal(prosec_keystore_reserve_load(ks, 7, 0, &r), PROSEC_OK);
    assert_int_equal(r, 11);
    assert_int_equal(prosec_keystore_reserve_load(ks, 7, 1, &r), PROSEC_OK);
    assert_int_equal(r, 0);
    assert_int_equal(prosec_keystore_reserve_load(ks, 8, 0, &r), PROSEC_OK);
    assert_int_equal(r, 1);
    prosec_keystore_close(ks);
}

/* ---- bad files
 * --------------------------------------------------------------------- */

static void test_create_refuses_existing(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct content c;
    uint8_t *before, *after;
    size_t bl, al;

    make_store(f, &s, &c, 1);
    before = read_bytes(f->path, &bl);
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_EXISTS);
    assert_null(ks);
    after = read_bytes(f->path, &al);
    assert_int_equal(al, bl);
    assert_memory_equal(before, after, bl);
    free(before);
    free(after);

    /* anything at the path, even not a keystore */
    write_bytes(f->path, "hello", 5, 0600);
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_EXISTS);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(symlink("/nonexistent", f->path), 0);
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_EXISTS);
    assert_null(ks);
}

static void test_wrong_secret(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_seal wrong = pass_seal("correct horse battery stapler");
    struct prosec_seal kf = keyfile_seal(f->keyfile);
    uint8_t other[PROSEC_KS_KEY_LEN];
    struct content c;

    make_store(f, &s, &c, 1);
    expect_open_fails(f->path, &wrong, PROSEC_ERR_KS_AUTH);
    assert_string_equal(prosec_strerror(PROSEC_ERR_KS_AUTH),
                        "wrong passphrase or key, or the file was altered");
    assert_int_equal(unlink(f->path), 0);

    write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);
    make_store(f, &kf, &c, 1);
    memcpy(other, f->key, sizeof(other));
    other[31] ^= 0x80;
    write_bytes(f->keyfile, other, sizeof(other), 0600);
    expect_open_fails(f->path, &kf, PROSEC_ERR_KS_AUTH);
    {
        struct prosec_seal raw = key_seal(other);

        expect_open_fails(f->path, &raw, PROSEC_ERR_KS_AUTH);
    }
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    char path[128];
    uint8_t *file, *longer;
    size_t len;
    struct content c;

    make_store(f, &s, &c, 1);
    file = read_bytes(f->path, &len);
    snprintf(path, sizeof(path), "%s/cut.ks", f->dir);
    /* the header states the body's length: every cut is seen as one,
     * before any key is derived */
    for (size_t n = 0; n < len; n++) {
        write_bytes(path, file, n, 0600);
        expect_open_fails(path, &s, PROSEC_ERR_KS_TRUNCATED);
    }
    longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, file, len);
    longer[len] = 0;
    write_bytes(path, longer, len + 1, 0600);
    expect_open_fails(path, &s, PROSEC_ERR_KS_SIZE);
    write_bytes(path, file, len, 0600);
    {
        struct prosec_keystore *ks = NULL;

        assert_int_equal(prosec_keystore_open(&ks, path, &s), PROSEC_OK);
        prosec_keystore_close(ks);
    }
    free(longer);
    free(file);
}

/* What a flipped bit at off of a (passphrase, weak) file may give. */
static bool flip_ok(size_t off, bool passphrase_file, prosec_err e)
{
    if (off < 8) {
        return e == PROSEC_ERR_KS_MAGIC;
    }
    if (off < 10) {
        return e == PROSEC_ERR_KS_VERSION;
    }
    if (off == 10 || off == 11 || off == 21 || off == 22 || off == 23) {
        return e == PROSEC_ERR_KS_HEADER;
    }
    if (off < 24) {
        /* Argon2 parameters: out of range, or in range and so a wrong
         * key; with a key file they must stay zero */
        return passphrase_file
                   ? e == PROSEC_ERR_KS_KDF_PARAMS || e == PROSEC_ERR_KS_AUTH
                   : e == PROSEC_ERR_KS_HEADER;
    }
    if (off < 68) {
        return e == PROSEC_ERR_KS_AUTH; /* salt, nonce */
    }
    if (off < 72) {
        return e == PROSEC_ERR_KS_TRUNCATED || e == PROSEC_ERR_KS_SIZE ||
               e == PROSEC_ERR_KS_HEADER;
    }
    return e == PROSEC_ERR_KS_AUTH; /* body, tag */
}

static void flip_all(struct fixture *f, const struct prosec_seal *s,
                     bool passphrase_file)
{
    char path[128];
    uint8_t *file, *after;
    size_t len, alen;
    size_t tried = 0;

    file = read_bytes(f->path, &len);
    snprintf(path, sizeof(path), "%s/flip.ks", f->dir);
    for (size_t off = 0; off < len; off++) {
        /* every bit of the header, one bit of every body octet */
        unsigned first = off < PROSEC__KS_HDR_LEN ? 0 : (unsigned)off % 8;
        unsigned last = off < PROSEC__KS_HDR_LEN ? 7 : first;

        for (unsigned bit = first; bit <= last; bit++) {
            struct prosec_keystore *ks = NULL;
            prosec_err err;

            file[off] ^= (uint8_t)(1u << bit);
            write_bytes(path, file, len, 0600);
            err = prosec_keystore_open(&ks, path, s);
            if (!flip_ok(off, passphrase_file, err)) {
                fail_msg("bit %u of octet %zu: %s", bit, off,
                         prosec_err_name(err));
            }
            after = read_bytes(path, &alen);
            assert_int_equal(alen, len);
            assert_memory_equal(after, file, len);
            free(after);
            file[off] ^= (uint8_t)(1u << bit);
            tried++;
        }
    }
    printf("  %zu flips of a %zu-octet file refused\n", tried, len);
    free(file);
}

static void test_bit_flips(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_seal k = key_seal(f->key);
    struct content c;

    make_store(f, &s, &c, 1);
    flip_all(f, &s, true);
    assert_int_equal(unlink(f->path), 0);
    make_store(f, &k, &c, 1);
    flip_all(f, &k, false);
}

static void test_foreign_files(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    uint8_t noise[4096];
    uint8_t hdr[80];
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    static const char elf[] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0";
    static const char sqlite[] = "SQLite format 3";
    static const char json[] = "{\"groups\": []}";

    for (size_t n = 1; n <= sizeof(noise); n = n * 3 + 1) {
        rnd_fill(noise, n);
        noise[0] = (uint8_t)(noise[0] == 'P' ? 'Q' : noise[0]);
        write_bytes(f->path, noise, n, 0600);
        expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    }
    write_bytes(f->path, pem, sizeof(pem) - 1, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    write_bytes(f->path, elf, sizeof(elf), 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    write_bytes(f->path, sqlite, sizeof(sqlite), 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    write_bytes(f->path, json, sizeof(json) - 1, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    write_bytes(f->path, "PROSECKX", 8, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_MAGIC);
    write_bytes(f->path, "", 0, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_TRUNCATED);
    write_bytes(f->path, "PROS", 4, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_TRUNCATED);

    /* our magic, other versions (checked before anything else) */
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, "PROSECKS", 8);
    hdr[9] = 2;
    write_bytes(f->path, hdr, sizeof(hdr), 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    hdr[9] = 0;
    write_bytes(f->path, hdr, sizeof(hdr), 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    hdr[8] = 1;
    hdr[9] = 1;
    write_bytes(f->path, hdr, 10, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    hdr[8] = 0;
    write_bytes(f->path, hdr, 10, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_TRUNCATED);
}

static void test_unknown_versions(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct content c;
    uint8_t *file;
    size_t len;

    /* a header version from the future */
    make_store(f, &s, &c, 1);
    file = read_bytes(f->path, &len);
    file[9] = 2;
    write_bytes(f->path, file, len, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    file[8] = 0x80;
    file[9] = 1;
    write_bytes(f->path, file, len, 0600);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    free(file);

    /* a sealed, authentic body of an unknown body version */
    {
        static const uint8_t v2[] = {2, 0x01, 0, 0, 0, 1, 'x'};

        write_sealed(f->path, f->key, v2, sizeof(v2));
        expect_open_fails(f->path, &s, PROSEC_ERR_KS_VERSION);
    }
    /* and an authentic but malformed one */
    {
        static const uint8_t bad[] = {1, 0x7f, 0, 0, 0, 0};

        write_sealed(f->path, f->key, bad, sizeof(bad));
        expect_open_fails(f->path, &s, PROSEC_ERR_KS_BODY);
    }
}

static void test_kdf_bounds(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_seal strict = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    uint8_t *file;
    size_t len;
    char lock[128];

    /* create: weak without the test flag, or beyond the caps */
    strict.flags = 0;
    assert_int_equal(prosec_keystore_create(&ks, f->path, &strict),
                     PROSEC_ERR_KS_KDF_PARAMS);
    s.argon2.lanes = 5;
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_KDF_PARAMS);
    s.argon2.lanes = 1;
    s.argon2.memory_kib = PROSEC_ARGON2_MEMORY_MAX + 1;
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_KDF_PARAMS);
    s.argon2.memory_kib = 64;
    s.argon2.passes = PROSEC_ARGON2_PASSES_MAX + 1;
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                     PROSEC_ERR_KS_KDF_PARAMS);
    s.argon2.passes = 1;
    s.flags = 0x80;
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_ERR_ARG);
    s.flags = PROSEC_SEAL_ALLOW_WEAK_KDF;
    assert_null(ks);
    assert_false(exists(f->path));
    snprintf(lock, sizeof(lock), "%s.lock", f->path);
    assert_false(exists(lock));

    /* open: a weak file needs the flag */
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    prosec_keystore_close(ks);
    expect_open_fails(f->path, &strict, PROSEC_ERR_KS_KDF_PARAMS);

    /* a hostile header: refused before any allocation or Argon2 run */
    file = read_bytes(f->path, &len);
    {
        uint8_t *t = malloc(len);
        static const struct {
            size_t off;
            uint8_t v[4];
            prosec_err want;
        } cases[] = {
            {16, {0x00, 0x10, 0x00, 0x01}, PROSEC_ERR_KS_KDF_PARAMS},
            {16, {0xff, 0xff, 0xff, 0xff}, PROSEC_ERR_KS_KDF_PARAMS},
            {12, {0xff, 0xff, 0xff, 0xff}, PROSEC_ERR_KS_KDF_PARAMS},
            {12, {0x00, 0x00, 0x00, 0x00}, PROSEC_ERR_KS_KDF_PARAMS},
            {12, {0x00, 0x00, 0x00, 0x0b}, PROSEC_ERR_KS_KDF_PARAMS},
            {20, {0x00, 0x13, 0x00, 0x00}, PROSEC_ERR_KS_KDF_PARAMS},
            {20, {0x05, 0x13, 0x00, 0x00}, PROSEC_ERR_KS_KDF_PARAMS},
            {20, {0x01, 0x10, 0x00, 0x00}, PROSEC_ERR_KS_HEADER},
            {20, {0x01, 0x13, 0x00, 0x01}, PROSEC_ERR_KS_HEADER},
            {68, {0x00, 0x00, 0x00, 0x00}, PROSEC_ERR_KS_HEADER},
            {68, {0x00, 0x10, 0x00, 0x01}, PROSEC_ERR_KS_HEADER},
            {68, {0x7f, 0xff, 0xff, 0xff}, PROSEC_ERR_KS_HEADER},
            {68, {0x00, 0x10, 0x00, 0x00}, PROSEC_ERR_KS_TRUNCATED},
        };

        assert_non_null(t);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            uint64_t runs = prosec__ks_kdf_runs(PROSEC__KS_KDF_ARGON2ID);

            memcpy(t, file, len);
            memcpy(t + cases[i].off, cases[i].v, 4);
            write_bytes(f->path, t, len, 0600);
            expect_open_fails(f->path, &s, cases[i].want);
            assert_int_equal(prosec__ks_kdf_runs(PROSEC__KS_KDF_ARGON2ID),
                             runs);
        }
        free(t);
    }
    /* a file larger than any keystore can be */
    write_bytes(f->path, file, len, 0600);
    assert_int_equal(truncate(f->path, PROSEC__KS_FILE_MAX + 1), 0);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_SIZE);
    free(file);
}

static void test_default_kdf(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s;
    struct prosec_keystore *ks = NULL;
    struct content c;
    uint8_t *file;
    size_t len;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_PASSPHRASE;
    s.passphrase = (const uint8_t *)passphrase;
    s.passphrase_len = strlen(passphrase);
    make_store(f, &s, &c, 1); /* two Argon2 runs: create and save */

    file = read_bytes(f->path, &len);
    assert_int_equal(file[10], 1); /* Argon2id */
    assert_int_equal(file[11], 1); /* ChaCha20-Poly1305 */
    assert_int_equal(file[12] << 24 | file[13] << 16 | file[14] << 8 | file[15],
                     PROSEC_ARGON2_PASSES_DEFAULT);
    assert_int_equal(file[16] << 24 | file[17] << 16 | file[18] << 8 | file[19],
                     PROSEC_ARGON2_MEMORY_DEFAULT);
    assert_true(PROSEC_ARGON2_MEMORY_DEFAULT >= 65536);
    assert_true(PROSEC_ARGON2_PASSES_DEFAULT >= 3);
    assert_int_equal(file[20], 1);
    assert_int_equal(file[21], 0x13);
    free(file);

    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
}

/* The salt, nonce and sealed octets (body and tag) of the file at path. */
struct sealed {
    uint8_t salt[PROSEC__KS_SALT_LEN];
    uint8_t nonce[PROSEC__KS_NONCE_LEN];
    uint8_t *ct; /* malloc'd */
    size_t ct_len;
};

static struct sealed sealed_of(const char *path)
{
    struct sealed r;
    size_t len;
    uint8_t *file = read_bytes(path, &len);

    assert_non_null(file);
    assert_true(len > PROSEC__KS_HDR_LEN);
    memcpy(r.salt, file + SALT_AT, sizeof(r.salt));
    memcpy(r.nonce, file + NONCE_AT, sizeof(r.nonce));
    r.ct_len = len - PROSEC__KS_HDR_LEN;
    r.ct = malloc(r.ct_len);
    assert_non_null(r.ct);
    memcpy(r.ct, file + PROSEC__KS_HDR_LEN, r.ct_len);
    free(file);
    return r;
}

static uint64_t argon2_runs(void)
{
    return prosec__ks_kdf_runs(PROSEC__KS_KDF_ARGON2ID);
}

/*
 * Saves ks n times, every other time with no change (the same body sealed
 * again), and checks that no save derived a key, that all kept one salt
 * (copied to salt) and that no two drew the same nonce or wrote the same
 * sealed octets.
 */
static void save_many(struct prosec_keystore *ks, const char *path, size_t n,
                      uint8_t salt[PROSEC__KS_SALT_LEN])
{
    struct sealed *seen = calloc(n, sizeof(*seen));
    uint64_t runs = argon2_runs();
    uint64_t hkdf = prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY);

    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) {
        char v[32];

        if (i % 2 == 0) { /* fixed width: one length for every body */
            snprintf(v, sizeof(v), "%04zu", i);
            assert_int_equal(prosec_keystore_setting_set(ks, "n", v, strlen(v)),
                             PROSEC_OK);
        }
        assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
        seen[i] = sealed_of(path);
        assert_memory_equal(seen[i].salt, seen[0].salt, sizeof(seen[0].salt));
        for (size_t j = 0; j < i; j++) {
            assert_memory_not_equal(seen[i].nonce, seen[j].nonce,
                                    sizeof(seen[i].nonce));
            assert_int_equal(seen[i].ct_len, seen[j].ct_len);
            assert_memory_not_equal(seen[i].ct, seen[j].ct, seen[i].ct_len);
        }
    }
    assert_int_equal(argon2_runs(), runs);
    assert_int_equal(prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY), hkdf);
    memcpy(salt, seen[0].salt, PROSEC__KS_SALT_LEN);
    for (size_t i = 0; i < n; i++) {
        free(seen[i].ct);
    }
    free(seen);
}

/* The salt of the file at path. */
static void salt_of(const char *path, uint8_t salt[PROSEC__KS_SALT_LEN])
{
    struct sealed r = sealed_of(path);

    memcpy(salt, r.salt, PROSEC__KS_SALT_LEN);
    free(r.ct);
}

/*
 * The saves of the device agent, with the default Argon2 cost: the key is
 * derived at create, open and set_seal (one run each), never in a save,
 * and a file saved many times still opens with the passphrase.
 */
static void test_saves_reuse_key(void **state)
{
    enum { SAVES = 40 };
    static const char pass2[] = "a new passphrase";
    struct fixture *f = *state;
    struct prosec_seal s, s2;
    struct prosec_keystore *ks = NULL;
    struct content c;
    uint8_t created[PROSEC__KS_SALT_LEN], salt[PROSEC__KS_SALT_LEN];
    uint64_t runs = argon2_runs();
    const char *v;
    size_t n;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_PASSPHRASE;
    s.passphrase = (const uint8_t *)passphrase;
    s.passphrase_len = strlen(passphrase);
    s2 = s;
    s2.passphrase = (const uint8_t *)pass2;
    s2.passphrase_len = strlen(pass2);

    /* create: one run; SAVES saves after it, under its salt: none */
    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(argon2_runs(), runs + 1);
    salt_of(f->path, created);
    fill(ks, &c, 1);
    save_many(ks, f->path, SAVES, salt);
    assert_memory_equal(salt, created, sizeof(salt));
    printf("  %d saves at the default Argon2 cost: %u Argon2 runs\n", SAVES,
           (unsigned)(argon2_runs() - runs - 1));
    prosec_keystore_close(ks);
    ks = NULL;

    /* the open (one run) takes the file's salt and key for its saves */
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(argon2_runs(), runs + 2);
    check(ks, &c);
    assert_int_equal(prosec_keystore_setting(ks, "n", &v, &n), PROSEC_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "0038", 4);
    save_many(ks, f->path, SAVES, salt);
    assert_memory_equal(salt, created, sizeof(salt));

    /* set_seal: one run, in the call; the saves after it keep its salt */
    assert_int_equal(prosec_keystore_set_seal(ks, &s2), PROSEC_OK);
    assert_int_equal(argon2_runs(), runs + 3);
    save_many(ks, f->path, 4, salt);
    assert_memory_not_equal(salt, created, sizeof(salt));
    prosec_keystore_close(ks);
    ks = NULL;

    expect_open_fails(f->path, &s, PROSEC_ERR_KS_AUTH);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s2), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
}

/* A key file's saves derive nothing either; nor does a failed set_seal. */
static void test_saves_reuse_key_file(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal kf = keyfile_seal(f->keyfile);
    struct prosec_seal weak = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct content c;
    uint8_t first[PROSEC__KS_SALT_LEN], salt[PROSEC__KS_SALT_LEN];
    uint64_t hkdf;

    write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);
    make_store(f, &kf, &c, 1);
    hkdf = prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &kf), PROSEC_OK);
    assert_int_equal(prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY), hkdf + 1);
    salt_of(f->path, first);
    save_many(ks, f->path, 8, salt);
    assert_memory_equal(salt, first, sizeof(salt));

    /* a refused seal neither derives nor changes the seal in use */
    weak.argon2.lanes = 5;
    hkdf = prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY);
    assert_int_equal(prosec_keystore_set_seal(ks, &weak),
                     PROSEC_ERR_KS_KDF_PARAMS);
    assert_int_equal(prosec__ks_kdf_runs(PROSEC__KS_KDF_KEY), hkdf);
    save_many(ks, f->path, 2, salt);
    assert_memory_equal(salt, first, sizeof(salt));
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(prosec_keystore_open(&ks, f->path, &kf), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
}

/* After PROSEC__KS_SEALS_PER_KEY seals under one key, a save draws a new
 * salt (one Argon2 run) and goes on under it. */
static void test_nonce_budget(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_keystore *ks = NULL;
    struct content c;
    uint8_t first[PROSEC__KS_SALT_LEN], salt[PROSEC__KS_SALT_LEN];
    uint64_t runs;

    make_store(f, &s, &c, 1);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    salt_of(f->path, first);
    runs = argon2_runs();
    ks->sec->seal.sealed = PROSEC__KS_SEALS_PER_KEY - 1;
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK); /* the last */
    assert_int_equal(argon2_runs(), runs);
    salt_of(f->path, salt);
    assert_memory_equal(salt, first, sizeof(salt));
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK); /* a new key */
    assert_int_equal(argon2_runs(), runs + 1);
    assert_true(ks->sec->seal.sealed == 1);
    salt_of(f->path, salt);
    assert_memory_not_equal(salt, first, sizeof(salt));
    save_many(ks, f->path, 3, first);
    assert_memory_equal(first, salt, sizeof(salt));
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
}

/* ---- modes and owners
 * ----------------------------------------------------------------- */

static void test_permissions(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_seal kf = keyfile_seal(f->keyfile);
    struct prosec_keystore *ks = NULL;
    struct content c;
    char p[160], lock[200];
    static const mode_t bad_file[] = {0640, 0604, 0620, 0602, 0644, 0660, 0666};
    static const mode_t bad_dir[] = {0720, 0702, 0770, 0777, 0722};
    static const mode_t bad_key[] = {0640, 0604, 0644, 0700, 0200, 0660};

    make_store(f, &s, &c, 1);
    for (size_t i = 0; i < sizeof(bad_file) / sizeof(bad_file[0]); i++) {
        assert_int_equal(chmod(f->path, bad_file[i]), 0);
        expect_open_fails(f->path, &s, PROSEC_ERR_KS_FILE_MODE);
    }
    assert_int_equal(chmod(f->path, 0400), 0); /* stricter is fine */
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(chmod(f->path, 0600), 0);

    for (size_t i = 0; i < sizeof(bad_dir) / sizeof(bad_dir[0]); i++) {
        assert_int_equal(chmod(f->dir, bad_dir[i]), 0);
        expect_open_fails(f->path, &s, PROSEC_ERR_KS_DIR_MODE);
        snprintf(p, sizeof(p), "%s/new.ks", f->dir);
        assert_int_equal(prosec_keystore_create(&ks, p, &s),
                         PROSEC_ERR_KS_DIR_MODE);
        assert_false(exists(p));
    }
    assert_int_equal(chmod(f->dir, 0755), 0); /* readable is fine */
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    assert_int_equal(chmod(f->dir, 0700), 0);

    /* the lock file is held to the same rule */
    snprintf(lock, sizeof(lock), "%s.lock", f->path);
    assert_int_equal(chmod(lock, 0644), 0);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_FILE_MODE);
    assert_int_equal(chmod(lock, 0600), 0);

    /* key files: exactly 32 octets, 0600 or 0400, no symbolic link */
    write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &kf), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    for (size_t i = 0; i < sizeof(bad_key) / sizeof(bad_key[0]); i++) {
        assert_int_equal(chmod(f->keyfile, bad_key[i]), 0);
        expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE_MODE);
    }
    write_bytes(f->keyfile, f->key, 31, 0600);
    expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE);
    {
        uint8_t k33[33];

        memcpy(k33, f->key, 32);
        k33[32] = 0;
        write_bytes(f->keyfile, k33, 33, 0600);
        expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE);
    }
    assert_int_equal(unlink(f->keyfile), 0);
    expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE);
    snprintf(p, sizeof(p), "%s/real.key", f->dir);
    write_bytes(p, f->key, sizeof(f->key), 0600);
    assert_int_equal(symlink(p, f->keyfile), 0);
    expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE_MODE);
    assert_int_equal(unlink(f->keyfile), 0);
    write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);

    /* the keystore itself: a link, a folder, a FIFO, nothing */
    snprintf(p, sizeof(p), "%s/link.ks", f->dir);
    assert_int_equal(symlink(f->path, p), 0);
    expect_open_fails(p, &s, PROSEC_ERR_KS_NOT_REGULAR);
    snprintf(p, sizeof(p), "%s/dir.ks", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    expect_open_fails(p, &s, PROSEC_ERR_KS_NOT_REGULAR);
    snprintf(p, sizeof(p), "%s/fifo.ks", f->dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_open_fails(p, &s, PROSEC_ERR_KS_NOT_REGULAR);
    snprintf(p, sizeof(p), "%s/none.ks", f->dir);
    expect_open_fails(p, &s, PROSEC_ERR_KS_NOT_FOUND);
    snprintf(lock, sizeof(lock), "%s.lock", p);
    assert_false(exists(lock));
    snprintf(p, sizeof(p), "%s/nodir/x.ks", f->dir);
    expect_open_fails(p, &s, PROSEC_ERR_KS_NOT_FOUND);
    assert_int_equal(prosec_keystore_open(&ks, "", &s), PROSEC_ERR_ARG);
    snprintf(p, sizeof(p), "%s/", f->dir);
    assert_int_equal(prosec_keystore_open(&ks, p, &s), PROSEC_ERR_ARG);

    /* owners: only root can give a file away, so only root tests it */
    if (geteuid() != 0) {
        printf("  not root: owner checks skipped\n");
        return;
    }
    assert_int_equal(chown(f->path, 65534, 65534), 0);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_OWNER);
    assert_int_equal(chown(f->path, 0, 0), 0);
    assert_int_equal(chown(f->dir, 65534, 65534), 0);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_OWNER);
    assert_int_equal(chown(f->dir, 0, 0), 0);
    snprintf(lock, sizeof(lock), "%s.lock", f->path);
    assert_int_equal(chown(lock, 65534, 65534), 0);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_OWNER);
    assert_int_equal(chown(lock, 0, 0), 0);
    assert_int_equal(chown(f->keyfile, 65534, 65534), 0);
    expect_open_fails(f->path, &kf, PROSEC_ERR_KS_KEY_FILE_MODE);
    assert_int_equal(chown(f->keyfile, 0, 0), 0);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &kf), PROSEC_OK);
    prosec_keystore_close(ks);
}

/* ---- the lock
 * ----------------------------------------------------------------------------
 */

static void test_lock(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *a = NULL, *b = NULL;
    struct content c;
    int up[2], down[2];
    int status;
    pid_t pid;
    char byte = 0;

    make_store(f, &s, &c, 1);
    assert_int_equal(prosec_keystore_open(&a, f->path, &s), PROSEC_OK);
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_LOCKED);
    assert_int_equal(prosec_keystore_create(&b, f->path, &s),
                     PROSEC_ERR_KS_LOCKED);

    /* another process is refused while we hold it */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prosec_err err = prosec_keystore_open(&b, f->path, &s);

        _exit(err == PROSEC_ERR_KS_LOCKED ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    prosec_keystore_close(a);
    a = NULL;

    /* and we are refused while another process holds it, until it dies */
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prosec_err err = prosec_keystore_open(&b, f->path, &s);

        byte = err == PROSEC_OK ? 'y' : 'n';
        if (write(up[1], &byte, 1) != 1 || read(down[0], &byte, 1) != 1) {
            _exit(2);
        }
        _exit(0); /* dies holding the lock; the kernel releases it */
    }
    assert_int_equal(read(up[0], &byte, 1), 1);
    assert_int_equal(byte, 'y');
    expect_open_fails(f->path, &s, PROSEC_ERR_KS_LOCKED);
    assert_int_equal(write(down[1], "x", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(prosec_keystore_open(&a, f->path, &s), PROSEC_OK);
    prosec_keystore_close(a);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

/* ---- faults and crashes during writes
 * ----------------------------------------------------- */

struct hook {
    enum prosec__ks_step at;
    enum prosec__ks_fault what;
    bool fired;
    bool die; /* a real crash: the process ends at the step */
};

static enum prosec__ks_fault on_step(void *ctx, enum prosec__ks_step s)
{
    struct hook *h = ctx;

    if (h->fired || s != h->at) {
        return PROSEC__KS_GO;
    }
    h->fired = true;
    if (h->die) {
        _exit(0);
    }
    return h->what;
}

/* Opens path and expects exactly the state want (want_len octets). */
static void expect_state(const char *path, const struct prosec_seal *s,
                         const uint8_t *want, size_t want_len)
{
    struct prosec_keystore *ks = NULL;
    uint8_t *got;
    size_t len;

    assert_int_equal(prosec_keystore_open(&ks, path, s), PROSEC_OK);
    got = state_of(ks, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
    prosec_keystore_close(ks);
}

static void test_write_faults(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    char temp[128];
    static const enum prosec__ks_fault kinds[] = {PROSEC__KS_FAIL,
                                                  PROSEC__KS_CRASH};

    snprintf(temp, sizeof(temp), "%s.tmp", f->path);
    for (size_t k = 0; k < 2; k++) {
        for (int step = 0; step < PROSEC__KS_STEP_COUNT; step++) {
            struct hook h = {(enum prosec__ks_step)step, kinds[k], false,
                             false};
            struct prosec_keystore *ks = NULL;
            struct content c;
            uint8_t *old, *new_state, *file;
            size_t old_len, new_len, file_len;
            bool renamed = step == PROSEC__KS_STEP_DIR_FSYNC;

            (void)unlink(f->path);
            make_store(f, &s, &c, 1);
            assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
            old = state_of(ks, &old_len);
            fill(ks, &c, 2);
            new_state = state_of(ks, &new_len);

            prosec__ks_set_fault_hook(on_step, &h);
            assert_int_equal(prosec_keystore_save(ks), PROSEC_ERR_KS_IO);
            prosec__ks_set_fault_hook(NULL, NULL);
            assert_true(h.fired);

            /* a failure cleans up; a crash leaves what it leaves */
            if (kinds[k] == PROSEC__KS_FAIL ||
                step == PROSEC__KS_STEP_OPEN_TEMP || renamed) {
                assert_false(exists(temp));
            } else {
                assert_true(exists(temp));
                assert_int_equal(mode_of(temp), 0600);
            }
            if (kinds[k] == PROSEC__KS_CRASH &&
                step == PROSEC__KS_STEP_WRITE_REST) {
                file = read_bytes(temp, &file_len);
                assert_true(file_len > 0 && file_len < PROSEC__KS_HDR_LEN +
                                                           new_len +
                                                           PROSEC__KS_TAG_LEN);
                free(file);
            }
            prosec_keystore_close(ks);

            /* exactly the old state, or after the rename the new one */
            if (renamed) {
                expect_state(f->path, &s, new_state, new_len);
            } else {
                expect_state(f->path, &s, old, old_len);
            }
            assert_false(exists(temp)); /* the open removed any stale one */
            free(old);
            free(new_state);
        }
    }
}

/* The child of test_real_crash: changes the store, records the state it
 * is saving, and saves with a hook that ends the process at `step`. */
static void crash_child(struct fixture *f, const struct prosec_seal *s,
                        int step, const char *state_path)
{
    struct hook h = {(enum prosec__ks_step)step, PROSEC__KS_GO, false, true};
    struct prosec_keystore *ks = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    int fd;

    if (prosec_keystore_open(&ks, f->path, s) != PROSEC_OK ||
        prosec_keystore_set_cred(ks, PROSEC_KS_DEVICE_NAME, "renamed", 7) !=
            PROSEC_OK ||
        prosec_keystore_replay_set(ks, GROUP_A, 5, 5, 5, 5) != PROSEC_OK ||
        prosec__ks_body_encode(ks, &body, &len) != PROSEC_OK) {
        _exit(3);
    }
    fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, body, len) != (ssize_t)len || close(fd) != 0) {
        _exit(4);
    }
    prosec__ks_set_fault_hook(on_step, &h);
    _exit(prosec_keystore_save(ks) == PROSEC_OK ? 0 : 5);
}

static void test_real_crash(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    char state_path[128];

    snprintf(state_path, sizeof(state_path), "%s/new-state", f->dir);
    /* step COUNT: no crash, the save completes */
    for (int step = 0; step <= PROSEC__KS_STEP_COUNT; step++) {
        struct prosec_keystore *ks = NULL;
        struct content c;
        uint8_t *old, *new_state;
        size_t old_len, new_len;
        int status;
        pid_t pid;

        (void)unlink(f->path);
        make_store(f, &s, &c, 1);
        assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
        old = state_of(ks, &old_len);
        prosec_keystore_close(ks);

        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            crash_child(f, &s, step, state_path);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        new_state = read_bytes(state_path, &new_len);
        assert_non_null(new_state);

        if (step >= PROSEC__KS_STEP_DIR_FSYNC) {
            expect_state(f->path, &s, new_state, new_len);
        } else {
            expect_state(f->path, &s, old, old_len);
        }
        free(old);
        free(new_state);
    }
}

static void test_create_faults(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    char temp[128];

    snprintf(temp, sizeof(temp), "%s.tmp", f->path);
    for (int k = 0; k < 2; k++) {
        for (int step = 0; step < PROSEC__KS_STEP_COUNT; step++) {
            struct hook h = {(enum prosec__ks_step)step,
                             k == 0 ? PROSEC__KS_FAIL : PROSEC__KS_CRASH, false,
                             false};
            struct prosec_keystore *ks = NULL;

            (void)unlink(f->path);
            (void)unlink(temp);
            prosec__ks_set_fault_hook(on_step, &h);
            assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                             PROSEC_ERR_KS_IO);
            prosec__ks_set_fault_hook(NULL, NULL);
            assert_null(ks);
            assert_true(h.fired);
            if (step == PROSEC__KS_STEP_DIR_FSYNC) {
                /* linked already: a whole, empty keystore */
                assert_int_equal(prosec_keystore_open(&ks, f->path, &s),
                                 PROSEC_OK);
                assert_int_equal(prosec_keystore_group_count(ks), 0);
                prosec_keystore_close(ks);
            } else {
                assert_false(exists(f->path));
                expect_open_fails(f->path, &s, PROSEC_ERR_KS_NOT_FOUND);
                /* and create works once the fault is gone */
                assert_int_equal(prosec_keystore_create(&ks, f->path, &s),
                                 PROSEC_OK);
                prosec_keystore_close(ks);
            }
        }
    }
}

static void test_stale_temp(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *ks = NULL;
    struct content c;
    char temp[128], victim[128];
    uint8_t *v;
    size_t vl;

    snprintf(temp, sizeof(temp), "%s.tmp", f->path);
    make_store(f, &s, &c, 1);
    write_bytes(temp, "torn", 4, 0600);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_false(exists(temp));
    write_bytes(temp, "torn again", 10, 0600);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    assert_false(exists(temp));
    prosec_keystore_close(ks);
    ks = NULL;

    /* a temp name planted as a link is removed, never followed */
    snprintf(victim, sizeof(victim), "%s/victim", f->dir);
    write_bytes(victim, "keep me", 7, 0600);
    assert_int_equal(symlink(victim, temp), 0);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(symlink(victim, temp), 0);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
    v = read_bytes(victim, &vl);
    assert_int_equal(vl, 7);
    assert_memory_equal(v, "keep me", 7);
    free(v);
}

/* ---- what the file shows
 * -------------------------------------------------------------------- */

static void test_no_key_in_clear(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = pass_seal(passphrase);
    struct prosec_seal kf = keyfile_seal(f->keyfile);
    struct content c;
    uint8_t *file;
    size_t len;
    char lock[128];

    for (int mode = 0; mode < 2; mode++) {
        (void)unlink(f->path);
        write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);
        make_store(f, mode == 0 ? &s : &kf, &c, 1);
        file = read_bytes(f->path, &len);
        for (size_t i = 0; i < 3; i++) {
            assert_false(contains(file, len, c.pgk[i].key, 32));
            assert_false(contains(file, len, c.pgk[i].key, 8));
        }
        assert_false(contains(file, len, c.pmk, 32));
        assert_false(contains(file, len, c.pmk, 8));
        assert_false(contains(file, len, c.pruk, 32));
        assert_false(contains(file, len, c.pruk, 8));
        assert_false(contains(file, len, private_pem, strlen(private_pem)));
        assert_false(contains(file, len, "MC4CAQAwBQYDK2Vw", 16));
        assert_false(contains(file, len, "PRIVATE", 7));
        assert_false(contains(file, len, passphrase, strlen(passphrase)));
        assert_false(contains(file, len, f->key, 8));
        /* nor anything else of the body */
        assert_false(contains(file, len, "fire crew", 9));
        assert_false(contains(file, len, "kmf.example", 11));
        free(file);
    }
    snprintf(lock, sizeof(lock), "%s.lock", f->path);
    file = read_bytes(lock, &len);
    assert_int_equal(len, 0);
    free(file);
}

static void test_expire(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *ks = NULL;
    struct prosec_pgk p[3], q;
    uint8_t *body;
    size_t n, len;

    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_group_set(ks, GROUP_A, "a"), PROSEC_OK);
    for (int i = 0; i < 3; i++) {
        p[i] = make_pgk((uint8_t)(i + 1), 0, 100 * (i + 1));
        assert_int_equal(prosec_keystore_pgk_put(ks, GROUP_A, &p[i]),
                         PROSEC_OK);
    }
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    body = unseal_file(f->path, f->key, &len);
    assert_true(contains(body, len, p[0].key, 32)); /* the check can fail */
    free(body);

    assert_int_equal(prosec_keystore_expire(ks, 199), 1);
    assert_int_equal(prosec_keystore_expire(ks, 200), 1); /* exclusive */
    assert_int_equal(prosec_keystore_expire(ks, 200), 0);
    assert_int_equal(prosec_keystore_expire(NULL, 200), 0);
    assert_int_equal(prosec_keystore_pgk_count(ks, GROUP_A, &n), PROSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(prosec_keystore_pgk_get(ks, GROUP_A, 1, &q),
                     PROSEC_ERR_KS_NO_ENTRY);
    assert_int_equal(prosec_keystore_pgk_get(ks, GROUP_A, 3, &q), PROSEC_OK);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;

    /* the file's plaintext lost them too */
    body = unseal_file(f->path, f->key, &len);
    assert_false(contains(body, len, p[0].key, 32));
    assert_false(contains(body, len, p[1].key, 32));
    assert_true(contains(body, len, p[2].key, 32));
    free(body);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_count(ks, GROUP_A, &n), PROSEC_OK);
    assert_int_equal(n, 1);
    prosec_keystore_close(ks);
}

static void test_set_seal(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal one = pass_seal(passphrase);
    struct prosec_seal two = pass_seal("a new passphrase");
    struct prosec_seal kf = keyfile_seal(f->keyfile);
    struct prosec_keystore *ks = NULL;
    struct content c;

    make_store(f, &one, &c, 1);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &one), PROSEC_OK);
    assert_int_equal(prosec_keystore_set_seal(ks, &two), PROSEC_OK);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    expect_open_fails(f->path, &one, PROSEC_ERR_KS_AUTH);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &two), PROSEC_OK);
    check(ks, &c);

    /* a bad new seal changes nothing */
    assert_int_equal(prosec_keystore_set_seal(ks, &kf), PROSEC_ERR_KS_KEY_FILE);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    write_bytes(f->keyfile, f->key, sizeof(f->key), 0600);
    assert_int_equal(prosec_keystore_set_seal(ks, &kf), PROSEC_OK);
    assert_int_equal(prosec_keystore_save(ks), PROSEC_OK);
    prosec_keystore_close(ks);
    ks = NULL;
    expect_open_fails(f->path, &two, PROSEC_ERR_KS_SEAL_KIND);
    assert_int_equal(prosec_keystore_open(&ks, f->path, &kf), PROSEC_OK);
    check(ks, &c);
    prosec_keystore_close(ks);
}

/* ---- a real sender
 * -------------------------------------------------------------------------- */

/* Sends one PDU with a fresh keyring and sender; returns its PTK ID. */
static prosec_err send_one(struct prosec_keystore *ks, uint16_t *ptk_id)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_sender *snd = NULL;
    struct prosec_sender_config cfg;
    struct prosec_pdu_hdr h;
    uint8_t out[64];
    const uint8_t *payload;
    size_t n = 0, plen;
    prosec_err err;

    memset(&cfg, 0, sizeof(cfg));
    cfg.save = prosec_keystore_reserve_save;
    cfg.load = prosec_keystore_reserve_load;
    cfg.ctx = ks;
    assert_int_equal(prosec_keyring_new(&kr, GROUP_A, 0), PROSEC_OK);
    assert_int_equal(prosec_keystore_fill_keyring(ks, kr), PROSEC_OK);
    assert_int_equal(prosec_sender_new(&snd, kr, &cfg), PROSEC_OK);
    err = prosec_sender_protect(snd, 500, PROSEC_SDU_NON_IP,
                                (const uint8_t *)"hello", 5, out, sizeof(out),
                                &n);
    if (err == PROSEC_OK) {
        assert_int_equal(prosec_pdu_decode(out, n, &h, &payload, &plen),
                         PROSEC_OK);
        *ptk_id = h.ptk_id;
    }
    prosec_sender_free(snd);
    prosec_keyring_free(kr);
    return err;
}

/* The reservation the file on disk holds, read without the lock. */
static uint16_t reservation_on_disk(struct fixture *f)
{
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *mem = NULL;
    uint8_t *file;
    size_t len;
    uint16_t r = 0;

    file = read_bytes(f->path, &len);
    assert_int_equal(prosec__ks_from_memory(&mem, file, len, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_reserve_load(mem, GROUP_A, 1, &r),
                     PROSEC_OK);
    prosec_keystore_close(mem);
    free(file);
    return r;
}

static void test_sender_reservations(void **state)
{
    struct fixture *f = *state;
    struct prosec_seal s = key_seal(f->key);
    struct prosec_keystore *ks = NULL;
    struct prosec_pgk p = make_pgk(1, 0, 1000000);
    struct hook h = {PROSEC__KS_STEP_WRITE, PROSEC__KS_FAIL, false, false};
    uint16_t ptk = 0, r = 0;

    assert_int_equal(prosec_keystore_create(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(prosec_keystore_group_set(ks, GROUP_A, "a"), PROSEC_OK);
    assert_int_equal(prosec_keystore_pgk_put(ks, GROUP_A, &p), PROSEC_OK);

    assert_int_equal(send_one(ks, &ptk), PROSEC_OK);
    assert_int_equal(ptk, 1);
    /* durable before the PDU went out: the file says 3 (1 + ahead - 1) */
    assert_int_equal(reservation_on_disk(f), 3);
    prosec_keystore_close(ks);
    ks = NULL;

    /* a restart continues above the reservation */
    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(send_one(ks, &ptk), PROSEC_OK);
    assert_int_equal(ptk, 4);
    assert_int_equal(reservation_on_disk(f), 6);

    /* a save that fails makes the send fail and changes nothing */
    prosec__ks_set_fault_hook(on_step, &h);
    assert_int_equal(send_one(ks, &ptk), PROSEC_ERR_PERSIST);
    prosec__ks_set_fault_hook(NULL, NULL);
    assert_int_equal(prosec_keystore_reserve_load(ks, GROUP_A, 1, &r),
                     PROSEC_OK);
    assert_int_equal(r, 6);
    assert_int_equal(reservation_on_disk(f), 6);
    prosec_keystore_close(ks);
    ks = NULL;

    assert_int_equal(prosec_keystore_open(&ks, f->path, &s), PROSEC_OK);
    assert_int_equal(send_one(ks, &ptk), PROSEC_OK);
    assert_int_equal(ptk, 7);
    prosec_keystore_close(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_round_trip_passphrase),
        T(test_round_trip_key_file),
        T(test_model_rules),
        T(test_pgk_total_cap),
        T(test_body_decoder),
        T(test_reservation_eviction),
        T(test_create_refuses_existing),
        T(test_wrong_secret),
        T(test_truncated),
        T(test_bit_flips),
        T(test_foreign_files),
        T(test_unknown_versions),
        T(test_kdf_bounds),
        T(test_default_kdf),
        T(test_saves_reuse_key),
        T(test_saves_reuse_key_file),
        T(test_nonce_budget),
        T(test_permissions),
        T(test_lock),
        T(test_write_faults),
        T(test_real_crash),
        T(test_create_faults),
        T(test_stale_temp),
        T(test_no_key_in_clear),
        T(test_expire),
        T(test_set_seal),
        T(test_sender_reservations),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
