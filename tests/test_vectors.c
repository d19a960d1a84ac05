/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every record of every file in tests/vectors, through the public API,
 * on every backend this build has (the portable one with each GF(2^64)
 * multiplier that EIA1 has here).  A record whose ID no handler claims
 * fails the test, so data cannot be skipped silently.  A failure names
 * file:line and shows expected and actual hex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/crypto/internal.h"
#include "prosec/prosec.h"
#include "relay_vec.h"
#include "vecfile.h"

enum { MAX_DATA = 8192 };

/*
 * The backends, the portable one twice: once with the CPU's carry-less
 * multiply for EIA1 (when it has one), once with the portable multiplier
 * (src/crypto/mul64.c), so that neither goes untested; then AUTO, which
 * shares the algorithms between them.
 */
static const struct variant {
    enum prosec_backend backend;
    enum prosec__mul64_impl mul64;
    const char *name;
} variants[] = {
    {PROSEC_BACKEND_PORTABLE, PROSEC__MUL64_CLMUL, "portable"},
    {PROSEC_BACKEND_PORTABLE, PROSEC__MUL64_PORTABLE, "portable+mul64-c"},
    {PROSEC_BACKEND_IPSECMB, PROSEC__MUL64_AUTO, "ipsecmb"},
    {PROSEC_BACKEND_AUTO, PROSEC__MUL64_AUTO, "auto"},
};

struct file_case {
    char *path;
    const struct variant *v;
    char name[256];
};

/* One record; returns the number of checks that failed. */
typedef int (*handler_fn)(const struct vec_record *r, enum prosec_backend b);

static int mismatch(const struct vec_record *r, const char *what,
                    const uint8_t *want, const uint8_t *got, size_t len)
{
    if (memcmp(want, got, len) == 0) {
        return 0;
    }
    vec_report(r, what, want, got, len);
    return 1;
}

static int api_fail(const struct vec_record *r, const char *what, prosec_err e)
{
    fprintf(stderr, "%s:%d [%s] %s: %s\n", r->file, r->line, r->id, what,
            prosec_err_name(e));
    return 1;
}

/* The common inputs of EEA/EIA records. */
struct alg_rec {
    uint8_t key[16];
    uint32_t count;
    uint8_t bearer, direction;
    size_t bits;
};

static int read_alg(const struct vec_record *r, struct alg_rec *a)
{
    long long count = vec_num(r, "COUNT", 16);
    long long bearer = vec_num(r, "BEARER", 16);
    long long dir = vec_num(r, "DIRECTION", 10);
    long long bits = vec_num(r, "LENGTH", 10);

    if (vec_hex(r, "KEY", a->key, sizeof(a->key)) != 16 || count < 0 ||
        bearer < 0 || dir < 0 || bits < 0) {
        return 1;
    }
    a->count = (uint32_t)count;
    a->bearer = (uint8_t)bearer;
    a->direction = (uint8_t)dir;
    a->bits = (size_t)bits;
    return 0;
}

static int do_eea(const struct vec_record *r, enum prosec_backend b,
                  unsigned alg)
{
    static uint8_t pt[MAX_DATA], ct[MAX_DATA], junk[MAX_DATA];
    struct alg_rec a;
    struct prosec_alg_input in;
    long npt, nct;
    size_t len;
    uint8_t *out;
    prosec_err e;
    int bad = 0;

    npt = vec_hex(r, "PLAINTEXT", pt, sizeof(pt));
    nct = vec_hex(r, "CIPHERTEXT", ct, sizeof(ct));
    if (read_alg(r, &a) != 0 || npt < 0 || nct != npt) {
        return 1;
    }
    len = prosec__bytes(a.bits);
    if ((size_t)npt != len) {
        fprintf(stderr, "%s:%d [%s] data is not ceil(LENGTH/8) octets\n",
                r->file, r->line, r->id);
        return 1;
    }
    in =
        (struct prosec_alg_input){a.key, 16, a.count, a.bearer, a.direction, b};

    /* Out of place, into a buffer of exactly len octets (the sanitizer
     * build catches a write past it). */
    out = malloc(len + 1);
    e = prosec_eea(alg, &in, pt, len, out, len, a.bits);
    if (e != PROSEC_OK) {
        bad += api_fail(r, "encrypt", e);
    } else {
        bad += mismatch(r, "ciphertext", ct, out, len);
    }

    /* In place, back to the plaintext. */
    memcpy(out, ct, len);
    e = prosec_eea(alg, &in, out, len, out, len, a.bits);
    if (e != PROSEC_OK) {
        bad += api_fail(r, "decrypt in place", e);
    } else {
        bad += mismatch(r, "plaintext (in place)", pt, out, len);
    }

    /* Garbage in the unused trailing bits of the input changes nothing:
     * they are ignored and cleared in the output. */
    if (a.bits % 8 != 0) {
        memcpy(junk, pt, len);
        junk[len - 1] |= (uint8_t)~prosec__tail_mask(a.bits);
        e = prosec_eea(alg, &in, junk, len, out, len, a.bits);
        if (e != PROSEC_OK) {
            bad += api_fail(r, "encrypt with trailing bits set", e);
        } else {
            bad += mismatch(r, "ciphertext (trailing bits set)", ct, out, len);
        }
    }
    free(out);
    return bad;
}

static int check_mac(const struct vec_record *r, const char *what,
                     const uint8_t want[4], const uint8_t got[4])
{
    return mismatch(r, what, want, got, 4);
}

static int do_eia(const struct vec_record *r, enum prosec_backend b,
                  unsigned alg)
{
    static uint8_t msg[MAX_DATA];
    uint8_t want[4], mac[4];
    struct alg_rec a;
    struct prosec_alg_input in;
    long n;
    size_t len;
    prosec_err e;
    int bad = 0;

    n = vec_hex(r, "MESSAGE", msg, sizeof(msg));
    if (read_alg(r, &a) != 0 || n < 0 || vec_hex(r, "MAC", want, 4) != 4) {
        return 1;
    }
    len = prosec__bytes(a.bits);
    if ((size_t)n != len) {
        fprintf(stderr, "%s:%d [%s] MESSAGE is not ceil(LENGTH/8) octets\n",
                r->file, r->line, r->id);
        return 1;
    }
    in =
        (struct prosec_alg_input){a.key, 16, a.count, a.bearer, a.direction, b};
    e = prosec_eia(alg, &in, msg, len, a.bits, mac);
    if (e != PROSEC_OK) {
        return api_fail(r, "mac", e);
    }
    bad += check_mac(r, "MAC-I", want, mac);

    if (a.bits % 8 != 0) {
        msg[len - 1] |= (uint8_t)~prosec__tail_mask(a.bits);
        e = prosec_eia(alg, &in, msg, len, a.bits, mac);
        bad += e != PROSEC_OK
                   ? api_fail(r, "mac, trailing bits set", e)
                   : check_mac(r, "MAC-I (trailing bits set)", want, mac);
    }
    return bad;
}

static int h_eea1(const struct vec_record *r, enum prosec_backend b)
{
    return do_eea(r, b, PROSEC_EEA1);
}
static int h_eea2(const struct vec_record *r, enum prosec_backend b)
{
    return do_eea(r, b, PROSEC_EEA2);
}
static int h_eea3(const struct vec_record *r, enum prosec_backend b)
{
    return do_eea(r, b, PROSEC_EEA3);
}
static int h_eia1(const struct vec_record *r, enum prosec_backend b)
{
    return do_eia(r, b, PROSEC_EIA1);
}
static int h_eia2(const struct vec_record *r, enum prosec_backend b)
{
    return do_eia(r, b, PROSEC_EIA2);
}
static int h_eia3(const struct vec_record *r, enum prosec_backend b)
{
    return do_eia(r, b, PROSEC_EIA3);
}

/* UIA2 (f9) with its own FRESH. */
static int h_uia2(const struct vec_record *r, enum prosec_backend b)
{
    static uint8_t msg[MAX_DATA];
    uint8_t key[16], want[4], mac[4];
    long long count = vec_num(r, "COUNT", 16);
    long long fresh = vec_num(r, "FRESH", 16);
    long long dir = vec_num(r, "DIRECTION", 10);
    long long bits = vec_num(r, "LENGTH", 10);
    long n = vec_hex(r, "MESSAGE", msg, sizeof(msg));
    struct prosec_alg_key *k = NULL;
    prosec_err e;

    if (vec_hex(r, "KEY", key, 16) != 16 || vec_hex(r, "MAC", want, 4) != 4 ||
        count < 0 || fresh < 0 || dir < 0 || bits < 0 || n < 0) {
        return 1;
    }
    e = prosec_alg_key_new(&k, b, key, 16);
    if (e == PROSEC_OK) {
        e = prosec__uia2(k, (uint32_t)count, (uint32_t)fresh, (uint8_t)dir, msg,
                         (size_t)bits, mac);
    }
    prosec_alg_key_free(k);
    if (e != PROSEC_OK) {
        return api_fail(r, "f9", e);
    }
    return check_mac(r, "MAC-I", want, mac);
}

/* "2bd6459f 82c5b300 ..." into 32-bit words. */
static int words(const struct vec_record *r, const char *name, uint32_t *w,
                 size_t n)
{
    uint8_t b[64];

    if (vec_hex(r, name, b, sizeof(b)) != (long)(4 * n)) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        w[i] = prosec__load32_be(b + 4 * i);
    }
    return 0;
}

/* The largest N of the record's zN fields (keystream word N, from 1). */
static size_t max_z(const struct vec_record *r)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_fields; i++) {
        const char *f = r->fields[i].name;
        char *end;
        unsigned long v;

        if (f[0] != 'z' || f[1] < '1' || f[1] > '9') {
            continue;
        }
        v = strtoul(f + 1, &end, 10);
        if (*end == '\0' && v > n) {
            n = v;
        }
    }
    return n;
}

/* Every zN field of the record against word N of z. */
static int check_words(const struct vec_record *r, const uint32_t *z)
{
    int bad = 0, seen = 0;

    for (size_t i = 0; i < r->n_fields; i++) {
        const char *f = r->fields[i].name;
        uint32_t want;
        uint8_t w[4], g[4];
        size_t n;

        if (f[0] != 'z' || f[1] < '1' || f[1] > '9') {
            continue;
        }
        n = strtoul(f + 1, NULL, 10);
        if (words(r, f, &want, 1) != 0) {
            return 1;
        }
        prosec__store32_be(w, want);
        prosec__store32_be(g, z[n - 1]);
        bad += mismatch(r, f, w, g, 4);
        seen++;
    }
    if (seen == 0) {
        fprintf(stderr, "%s:%d [%s] no zN field\n", r->file, r->line, r->id);
        bad++;
    }
    return bad;
}

static int h_snow3g_ks(const struct vec_record *r, enum prosec_backend b)
{
    static uint32_t z[4096];
    uint32_t k[4], iv[4];
    size_t n = max_z(r);

    (void)b;
    if (words(r, "K", k, 4) != 0 || words(r, "IV", iv, 4) != 0 || n == 0 ||
        n > 4096) {
        return 1;
    }
    prosec_snow3g_keystream(k, iv, z, n);
    return check_words(r, z);
}

static int h_zuc_ks(const struct vec_record *r, enum prosec_backend b)
{
    static uint32_t z[4096];
    uint8_t key[16], iv[16];
    size_t n = max_z(r);

    (void)b;
    if (vec_hex(r, "KEY", key, 16) != 16 || vec_hex(r, "IV", iv, 16) != 16 ||
        n == 0 || n > 4096) {
        return 1;
    }
    prosec_zuc_keystream(key, iv, z, n);
    return check_words(r, z);
}

/*
 * Splits S = FC || P0 || L0 || ... || Pn || Ln from the end (each Li gives
 * the length of the Pi before it) into params.  Returns the count, or -1.
 */
static int split_s(const uint8_t *s, size_t len, struct prosec_kdf_param *p,
                   size_t cap)
{
    struct prosec_kdf_param rev[PROSEC_KDF_MAX_PARAMS];
    size_t n = 0, end = len;

    while (end > 1) {
        size_t l;

        if (end < 3 || n == cap || n == PROSEC_KDF_MAX_PARAMS) {
            return -1;
        }
        l = (size_t)s[end - 2] << 8 | s[end - 1];
        if (l + 2 > end - 1) {
            return -1;
        }
        rev[n].data = s + end - 2 - l;
        rev[n].len = l;
        n++;
        end -= 2 + l;
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = rev[n - 1 - i];
    }
    return (int)n;
}

/* KDF(key, S) where S comes whole from the record. */
static int kdf_from_s(const struct vec_record *r, const uint8_t *key,
                      size_t key_len, uint8_t out[32])
{
    static uint8_t s[MAX_DATA];
    struct prosec_kdf_param p[PROSEC_KDF_MAX_PARAMS];
    long n = vec_hex(r, "S", s, sizeof(s));
    int np;
    prosec_err e;

    if (n < 1) {
        return 1;
    }
    np = split_s(s, (size_t)n, p, PROSEC_KDF_MAX_PARAMS);
    if (np < 0) {
        fprintf(stderr, "%s:%d [%s] S does not parse as FC || Pi || Li\n",
                r->file, r->line, r->id);
        return 1;
    }
    e = prosec_kdf(out, key, key_len, s[0], p, (size_t)np);
    return e == PROSEC_OK ? 0 : api_fail(r, "kdf", e);
}

static int h_kdf(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t key[256], want[32], want16[16], out[32], s0[MAX_DATA];
    long kl = vec_hex(r, "KEY", key, sizeof(key));
    long long fc = vec_num(r, "FC", 16);
    int bad;

    (void)b;
    if (kl < 1 || fc < 0 || vec_hex(r, "OUT", want, 32) != 32 ||
        vec_hex(r, "OUT_128LSB", want16, 16) != 16 ||
        vec_hex(r, "S", s0, sizeof(s0)) < 1) {
        return 1;
    }
    if (kdf_from_s(r, key, (size_t)kl, out) != 0) {
        return 1;
    }
    bad = mismatch(r, "OUT", want, out, 32);
    bad += mismatch(r, "OUT_128LSB", want16, out + 16, 16);
    if (s0[0] != (uint8_t)fc) {
        fprintf(stderr, "%s:%d [%s] FC does not match S\n", r->file, r->line,
                r->id);
        bad++;
    }
    return bad;
}

static int h_hmac(const struct vec_record *r, enum prosec_backend b)
{
    static uint8_t key[512], data[MAX_DATA];
    uint8_t want[32], out[32];
    long kl = vec_hex(r, "KEY", key, sizeof(key));
    long dl = vec_hex(r, "DATA", data, sizeof(data));
    struct prosec__part part;
    int bad = 0, checked = 0;
    prosec_err e;

    (void)b;
    if (kl < 0 || dl < 0) {
        return 1;
    }
    part = (struct prosec__part){data, (size_t)dl};
    e = prosec__hmac_sha256(out, key, (size_t)kl, &part, 1);
    if (e != PROSEC_OK) {
        return api_fail(r, "hmac", e);
    }
    if (vec_get(r, "HMAC_SHA256") != NULL) {
        checked++;
        bad += vec_hex(r, "HMAC_SHA256", want, 32) != 32 ||
               mismatch(r, "HMAC_SHA256", want, out, 32);
    }
    if (vec_get(r, "HMAC_SHA256_TRUNC128") != NULL) {
        checked++;
        bad += vec_hex(r, "HMAC_SHA256_TRUNC128", want, 16) != 16 ||
               mismatch(r, "HMAC_SHA256_TRUNC128", want, out, 16);
    }
    if (vec_get(r, "HMAC_SHA256_FULL") != NULL) {
        checked++;
        bad += vec_hex(r, "HMAC_SHA256_FULL", want, 32) != 32 ||
               mismatch(r, "HMAC_SHA256_FULL", want, out, 32);
    }
    if (checked == 0) {
        fprintf(stderr, "%s:%d [%s] no expected HMAC field\n", r->file, r->line,
                r->id);
        bad++;
    }
    return bad;
}

/*
 * RFC 3830 4.1.3: label = constant || cs_id || csb_id || RAND.  The 32-bit
 * constant names the key to derive (RFC 3830's TEK constants, or those of
 * TS 33.180 for MCX); it is taken from the record, the rest is rebuilt
 * from the record's fields and must match.
 */
static int check_label(const struct vec_record *r, const char *field,
                       uint8_t cs_id, const uint8_t csb[4], const uint8_t *rand,
                       size_t rand_len, uint8_t *label, size_t *label_len)
{
    uint8_t want[64];
    long n = vec_hex(r, field, want, sizeof(want));

    if (n < 4) {
        return 1;
    }
    memcpy(label, want, 4);
    label[4] = cs_id;
    memcpy(label + 5, csb, 4);
    memcpy(label + 9, rand, rand_len);
    *label_len = 9 + rand_len;
    if (n != (long)*label_len) {
        fprintf(stderr, "%s:%d [%s] %s has the wrong length\n", r->file,
                r->line, r->id, field);
        return 1;
    }
    return mismatch(r, field, want, label, *label_len);
}

static int h_mikey_prf(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t inkey[64], rand[64], csb[4], cs, want[64], lk[80], ls[80];
    uint8_t out[64];
    size_t lk_len, ls_len;
    long il = vec_hex(r, "INKEY", inkey, sizeof(inkey));
    long rl = vec_hex(r, "RAND", rand, sizeof(rand));
    long wl = vec_hex(r, "KEY||SALT", want, sizeof(want));
    int bad;
    prosec_err e;

    (void)b;
    if (il < 1 || rl < 1 || wl <= 16 || vec_hex(r, "CSB_ID", csb, 4) != 4 ||
        vec_hex(r, "CS_ID", &cs, 1) != 1) {
        return 1;
    }
    bad = check_label(r, "LABEL_KEY", cs, csb, rand, (size_t)rl, lk, &lk_len);
    bad += check_label(r, "LABEL_SALT", cs, csb, rand, (size_t)rl, ls, &ls_len);
    e = prosec_mikey_prf(out, 16, inkey, (size_t)il, lk, lk_len);
    if (e == PROSEC_OK) {
        e = prosec_mikey_prf(out + 16, (size_t)wl - 16, inkey, (size_t)il, ls,
                             ls_len);
    }
    if (e != PROSEC_OK) {
        return bad + api_fail(r, "prf", e);
    }
    return bad + mismatch(r, "KEY||SALT", want, out, (size_t)wl);
}

/* TS 33.180 GUK-ID: KDF(GMK, FC, MC user ID); salt = its 28 low bits. */
static int h_mcx_guk(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t gmk[16], want[32], out[32], s[256];
    const char *user = vec_get(r, "MC_USER_ID"), *quote;
    long long gmk_id = vec_num(r, "GMK_ID", 16);
    long long salt = vec_num(r, "USER_SALT", 16);
    const char *guk = vec_get(r, "GUK_ID");
    long long guk_id = -1;
    long sl = vec_hex(r, "S", s, sizeof(s));
    struct prosec_kdf_param p[PROSEC_KDF_MAX_PARAMS];
    uint32_t got_salt;
    int bad, np;

    (void)b;
    /* "GUK_ID = GMK_ID xor USER_SALT = 06a12aea": the value is last. */
    if (guk != NULL && strrchr(guk, '=') != NULL) {
        guk_id = strtoll(strrchr(guk, '=') + 1, NULL, 16);
    }
    if (vec_hex(r, "GMK", gmk, 16) != 16 || user == NULL || gmk_id < 0 ||
        salt < 0 || guk_id < 0 || sl < 1 ||
        vec_hex(r, "KDF_OUT", want, 32) != 32 ||
        kdf_from_s(r, gmk, 16, out) != 0) {
        return 1;
    }
    bad = mismatch(r, "KDF_OUT", want, out, 32);
    /* P0 of S is the MC user ID, quoted in the record. */
    np = split_s(s, (size_t)sl, p, PROSEC_KDF_MAX_PARAMS);
    quote = user[0] == '"' ? strchr(user + 1, '"') : NULL;
    if (np != 1 || quote == NULL || p[0].len != (size_t)(quote - (user + 1)) ||
        memcmp(p[0].data, user + 1, p[0].len) != 0) {
        fprintf(stderr, "%s:%d [%s] P0 of S is not MC_USER_ID\n", r->file,
                r->line, r->id);
        bad++;
    }
    got_salt = prosec__load32_be(out + 28) & 0x0FFFFFFFu;
    if (got_salt != (uint32_t)salt ||
        ((uint32_t)gmk_id ^ got_salt) != (uint32_t)guk_id) {
        fprintf(stderr, "%s:%d [%s] USER_SALT/GUK_ID: got %07x/%08x\n", r->file,
                r->line, r->id, got_salt, (uint32_t)gmk_id ^ got_salt);
        bad++;
    }
    return bad;
}

static int h_prose_ptk(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t pgk[32], want[32], out[32];
    long long member = vec_num(r, "GROUP_MEMBER_IDENTITY", 16);
    long long ptk_id = vec_num(r, "PTK_IDENTITY", 16);
    long long group = vec_num(r, "GROUP_IDENTITY", 16);
    prosec_err e;
    int bad;

    (void)b;
    if (vec_hex(r, "PGK", pgk, 32) != 32 || vec_hex(r, "PTK", want, 32) != 32 ||
        member < 0 || ptk_id < 0 || group < 0) {
        return 1;
    }
    e = prosec_ptk_derive(out, pgk, (uint32_t)member, (uint16_t)ptk_id,
                          (uint32_t)group);
    if (e != PROSEC_OK) {
        return api_fail(r, "ptk", e);
    }
    bad = mismatch(r, "PTK", want, out, 32);
    /* and the record's S, as the generic KDF sees it */
    if (kdf_from_s(r, pgk, 32, out) != 0) {
        return bad + 1;
    }
    return bad + mismatch(r, "PTK from S", want, out, 32);
}

static int h_prose_pek(const struct vec_record *r, enum prosec_backend b)
{
    static uint8_t pt[MAX_DATA], ct[MAX_DATA], out[MAX_DATA];
    uint8_t ptk[32], pek[16], want_pek[16], s[16], kdf_out[32], want32[32];
    struct alg_rec a;
    struct prosec_alg_input in;
    unsigned alg = PROSEC_EEA2;
    long npt = vec_hex(r, "PLAINTEXT", pt, sizeof(pt));
    long nct = vec_hex(r, "CIPHERTEXT", ct, sizeof(ct));
    int bad = 0;
    prosec_err e;

    if (vec_hex(r, "PEK", want_pek, 16) != 16 || npt < 0 || nct != npt) {
        return 1;
    }
    memcpy(a.key, want_pek, 16);
    a.count = (uint32_t)vec_num(r, "COUNT", 16);
    a.bearer = (uint8_t)vec_num(r, "BEARER", 16);
    a.direction = (uint8_t)vec_num(r, "DIRECTION", 10);
    a.bits = (size_t)vec_num(r, "LENGTH", 10);

    if (vec_get(r, "PTK") != NULL) {
        /* S = 0x4B || 0x00 || 0x0001 || alg || 0x0001 */
        if (vec_hex(r, "PTK", ptk, 32) != 32 ||
            vec_hex(r, "S", s, sizeof(s)) != 7 ||
            vec_hex(r, "KDF_OUT", want32, 32) != 32) {
            return 1;
        }
        alg = s[4];
        e = prosec_pek_derive(pek, ptk, alg);
        if (e != PROSEC_OK) {
            return api_fail(r, "pek", e);
        }
        bad += mismatch(r, "PEK", want_pek, pek, 16);
        if (kdf_from_s(r, ptk, 32, kdf_out) != 0) {
            return bad + 1;
        }
        bad += mismatch(r, "KDF_OUT", want32, kdf_out, 32);
    } else {
        /* PROSE-PEK-2-LCID reuses the EEA2 PEK of PROSE-PEK-2. */
        alg = PROSEC_EEA2;
    }
    if (vec_get(r, "PDCP_SN") != NULL &&
        (a.count & 0xFFFF) != (uint32_t)vec_num(r, "PDCP_SN", 16)) {
        fprintf(stderr, "%s:%d [%s] COUNT does not end in PDCP_SN\n", r->file,
                r->line, r->id);
        bad++;
    }
    in =
        (struct prosec_alg_input){a.key, 16, a.count, a.bearer, a.direction, b};
    e = prosec_eea(alg, &in, pt, (size_t)npt, out, (size_t)npt, a.bits);
    if (e != PROSEC_OK) {
        return bad + api_fail(r, "eea", e);
    }
    return bad + mismatch(r, "CIPHERTEXT", ct, out, (size_t)npt);
}

/* constants.txt: the tables in the code are the official ones. */
static int h_constants(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t t[256], d[32], got_d[32];
    int bad = 0;
    const uint16_t *zd = prosec__zuc_d();

    (void)b;
    if (vec_hex(r, "ZUC_S0", t, 256) != 256 ||
        (bad += mismatch(r, "ZUC_S0", t, prosec__zuc_sbox(0), 256)) != 0) {
        return bad + 1;
    }
    if (vec_hex(r, "ZUC_S1", t, 256) != 256) {
        return 1;
    }
    bad += mismatch(r, "ZUC_S1", t, prosec__zuc_sbox(1), 256);
    if (vec_hex(r, "SNOW3G_SR", t, 256) != 256) {
        return 1;
    }
    bad += mismatch(r, "SNOW3G_SR", t, prosec__snow3g_sbox(0), 256);
    if (vec_hex(r, "SNOW3G_SQ", t, 256) != 256) {
        return 1;
    }
    bad += mismatch(r, "SNOW3G_SQ", t, prosec__snow3g_sbox(1), 256);
    if (vec_hex(r, "ZUC_D", d, 32) != 32) {
        return 1;
    }
    for (unsigned i = 0; i < 16; i++) {
        got_d[2 * i] = (uint8_t)(zd[i] >> 8);
        got_d[2 * i + 1] = (uint8_t)zd[i];
    }
    return bad + mismatch(r, "ZUC_D", d, got_d, 32);
}

static const struct {
    const char *prefix;
    handler_fn fn;
} handlers[] = {
    {"EEA1-", h_eea1},
    {"UEA2-", h_eea1},
    {"EEA2-", h_eea2},
    {"EEA3-", h_eea3},
    {"EIA1-", h_eia1},
    {"EIA2-", h_eia2},
    {"EIA3-", h_eia3},
    {"UIA2-", h_uia2},
    {"SNOW3G-KS-", h_snow3g_ks},
    {"ZUC-KS-", h_zuc_ks},
    {"KDF-", h_kdf},
    {"HMAC-SHA256-", h_hmac},
    {"MIKEY-PRF-", h_mikey_prf},
    {"MCX-GUK-ID-", h_mcx_guk},
    {"PROSE-PTK-", h_prose_ptk},
    {"PROSE-PEK-", h_prose_pek},
    {"RELAY-", relay_vec_check},
};

static handler_fn find_handler(const struct vec_record *r)
{
    if (r->id[0] == '\0' && vec_get(r, "ZUC_S0") != NULL) {
        return h_constants;
    }
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        if (strncmp(r->id, handlers[i].prefix, strlen(handlers[i].prefix)) ==
            0) {
            return handlers[i].fn;
        }
    }
    return NULL;
}

static void test_file(void **state)
{
    const struct file_case *fc = *state;
    struct vec_file vf;
    int bad = 0;

    assert_true(prosec__mul64_select(fc->v->mul64));
    assert_true(vec_load(&vf, fc->path));
    assert_true(vf.n_recs > 0);
    for (size_t i = 0; i < vf.n_recs; i++) {
        handler_fn h = find_handler(&vf.recs[i]);

        if (h == NULL) {
            fprintf(stderr, "%s:%d [%s] no handler for this record\n", vf.path,
                    vf.recs[i].line, vf.recs[i].id);
            bad++;
            continue;
        }
        bad += h(&vf.recs[i], fc->v->backend);
    }
    printf("# %s: %zu records on %s (MUL64: %s), %d failures\n", fc->path,
           vf.n_recs, fc->v->name, prosec__mul64_name(), bad);
    vec_free(&vf);
    assert_int_equal(bad, 0);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : PROSEC_VECTOR_DIR;
    const size_t n_var = sizeof(variants) / sizeof(variants[0]);
    char **files = NULL;
    size_t n = 0, nt = 0;
    struct CMUnitTest *tests;
    struct file_case *cases;
    int rc;

    if (!vec_list(dir, &files, &n)) {
        fprintf(stderr, "no vector files in %s\n", dir);
        return 1;
    }
    tests = calloc(n_var * n, sizeof(*tests));
    cases = calloc(n_var * n, sizeof(*cases));
    if (tests == NULL || cases == NULL) {
        return 1;
    }
    for (size_t vi = 0; vi < n_var; vi++) {
        const struct variant *v = &variants[vi];

        if (!prosec_backend_available(v->backend)) {
#ifdef PROSEC_HAVE_IPSECMB
            fprintf(stderr, "backend %s was built but does not run here\n",
                    prosec_backend_name(v->backend));
            return 1;
#else
            printf("# backend %s not built: skipped\n",
                   prosec_backend_name(v->backend));
            continue;
#endif
        }
        if (!prosec__mul64_select(v->mul64)) {
            printf("# %s: no carry-less multiply on this CPU: skipped\n",
                   v->name);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const char *base = strrchr(files[i], '/');

            cases[nt].path = files[i];
            cases[nt].v = v;
            snprintf(cases[nt].name, sizeof(cases[nt].name), "%s/%s",
                     base != NULL ? base + 1 : files[i], v->name);
            tests[nt].name = cases[nt].name;
            tests[nt].test_func = test_file;
            tests[nt].initial_state = &cases[nt];
            nt++;
        }
    }
    rc = _cmocka_run_group_tests("vectors", tests, nt, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        free(files[i]);
    }
    free(files);
    free(tests);
    free(cases);
    return rc;
}
