/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract of the crypto API beyond the test data: each bad input has
 * its own error code and leaves the output untouched; LENGTH 0 works; in
 * place equals out of place; nothing is read or written past
 * ceil(LENGTH / 8) octets; unused trailing bits come out cleared.  All of
 * it on each backend and on AUTO, whose choice per algorithm is checked
 * against what its keys run; CTest runs this once more with each
 * PROSEC_BACKEND, which AUTO must then obey for every algorithm.
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

static const uint8_t key16[16] = {0x2b, 0xd6, 0x45, 0x9f, 0x82, 0xc5,
                                  0xb3, 0x00, 0x95, 0x2c, 0x49, 0x10,
                                  0x48, 0x81, 0xff, 0x48};

static enum prosec_backend backends[3];
static size_t n_backends;

static struct prosec_alg_input input(enum prosec_backend b)
{
    return (struct prosec_alg_input){key16, 16, 0x38a6f056, 5, 1, b};
}

static void test_error_strings(void **state)
{
    (void)state;
    for (int e = 0; e < PROSEC__ERR_COUNT; e++) {
        const char *name = prosec_err_name((prosec_err)e);

        assert_non_null(prosec_strerror((prosec_err)e));
        assert_true(strncmp(name, "PROSEC_", 7) == 0);
        /* every code has its own name */
        for (int f = 0; f < e; f++) {
            assert_string_not_equal(name, prosec_err_name((prosec_err)f));
        }
    }
    assert_string_equal(prosec_err_name(PROSEC_OK), "PROSEC_OK");
    assert_string_equal(prosec_strerror((prosec_err)9999), "unknown error");
}

static void test_eea_errors(void **state)
{
    uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8], keep[8];
    struct prosec_alg_input p = input(PROSEC_BACKEND_PORTABLE);

    (void)state;
    memset(out, 0xA5, sizeof(out));
    memcpy(keep, out, sizeof(out));

    assert_int_equal(prosec_eea(4, &p, in, 8, out, 8, 64), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_eea(99, &p, in, 8, out, 8, 64), PROSEC_ERR_ALG_ID);
    p.key_len = 15;
    assert_int_equal(prosec_eea(2, &p, in, 8, out, 8, 64), PROSEC_ERR_KEY_LEN);
    p.key_len = 32;
    assert_int_equal(prosec_eea(1, &p, in, 8, out, 8, 64), PROSEC_ERR_KEY_LEN);
    p = input(PROSEC_BACKEND_PORTABLE);
    p.bearer = 32;
    assert_int_equal(prosec_eea(3, &p, in, 8, out, 8, 64), PROSEC_ERR_BEARER);
    p = input(PROSEC_BACKEND_PORTABLE);
    p.direction = 2;
    assert_int_equal(prosec_eea(3, &p, in, 8, out, 8, 64),
                     PROSEC_ERR_DIRECTION);
    p = input(PROSEC_BACKEND_PORTABLE);
    /* 65 bits need 9 octets; either buffer too short is refused */
    assert_int_equal(prosec_eea(2, &p, in, 8, out, 8, 65), PROSEC_ERR_LENGTH);
    assert_int_equal(prosec_eea(2, &p, in, 8, out, 7, 64), PROSEC_ERR_LENGTH);
    assert_int_equal(prosec_eea(2, &p, in, 7, out, 8, 64), PROSEC_ERR_LENGTH);
    assert_int_equal(prosec_eea(2, &p, in, 8, out, 8, SIZE_MAX),
                     PROSEC_ERR_LENGTH);
    assert_int_equal(prosec_eea(2, &p, NULL, 8, out, 8, 64), PROSEC_ERR_NULL);
    assert_int_equal(prosec_eea(2, NULL, in, 8, out, 8, 64), PROSEC_ERR_NULL);
    /* partial overlap */
    assert_int_equal(prosec_eea(2, &p, in, 8, in + 1, 7, 56),
                     PROSEC_ERR_OVERLAP);
    p.backend = (enum prosec_backend)7;
    assert_int_equal(prosec_eea(2, &p, in, 8, out, 8, 64),
                     PROSEC_ERR_BACKEND_UNKNOWN);
    /* no error above wrote to out */
    assert_memory_equal(out, keep, sizeof(out));
}

static void test_eia_errors(void **state)
{
    uint8_t msg[8] = {0}, mac[4] = {9, 9, 9, 9};
    struct prosec_alg_input p = input(PROSEC_BACKEND_PORTABLE);

    (void)state;
    assert_int_equal(prosec_eia(0, &p, msg, 8, 64, mac), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_eia(4, &p, msg, 8, 64, mac), PROSEC_ERR_ALG_ID);
    p.key_len = 0;
    assert_int_equal(prosec_eia(1, &p, msg, 8, 64, mac), PROSEC_ERR_KEY_LEN);
    p = input(PROSEC_BACKEND_PORTABLE);
    p.bearer = 200;
    assert_int_equal(prosec_eia(2, &p, msg, 8, 64, mac), PROSEC_ERR_BEARER);
    p = input(PROSEC_BACKEND_PORTABLE);
    p.direction = 1;
    assert_int_equal(prosec_eia(2, &p, msg, 8, 65, mac), PROSEC_ERR_LENGTH);
    assert_int_equal(prosec_eia(2, &p, msg, 8, 64, NULL), PROSEC_ERR_NULL);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(mac[i], 9);
    }
}

static void test_kdf_errors(void **state)
{
    uint8_t out[32], key[32] = {1}, big[2] = {0};
    struct prosec_kdf_param p[17];

    (void)state;
    for (unsigned i = 0; i < 17; i++) {
        p[i] = (struct prosec_kdf_param){big, 1};
    }
    assert_int_equal(prosec_kdf(out, key, 0, 0x10, p, 1), PROSEC_ERR_KEY_LEN);
    assert_int_equal(prosec_kdf(out, key, 32, 0x10, p, 17),
                     PROSEC_ERR_KDF_PARAM);
    p[0].len = 0x10000;
    assert_int_equal(prosec_kdf(out, key, 32, 0x10, p, 1),
                     PROSEC_ERR_KDF_PARAM);
    p[0] = (struct prosec_kdf_param){NULL, 3};
    assert_int_equal(prosec_kdf(out, key, 32, 0x10, p, 1), PROSEC_ERR_NULL);
    assert_int_equal(prosec_kdf(out, NULL, 32, 0x10, NULL, 0), PROSEC_ERR_NULL);
    /* an empty parameter is legal: L = 0 */
    p[0] = (struct prosec_kdf_param){NULL, 0};
    assert_int_equal(prosec_kdf(out, key, 32, 0x10, p, 1), PROSEC_OK);

    assert_int_equal(prosec_pek_derive(out, key, 4), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_pik_derive(out, key, 0), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_pik_derive(out, key, 4), PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_ptk_derive(out, key, 0x1000000, 1, 1),
                     PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_ptk_derive(out, key, 1, 1, 0x1000000),
                     PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_mikey_prf(out, 0, key, 16, big, 1),
                     PROSEC_ERR_KDF_PARAM);
    assert_int_equal(prosec_mikey_prf(out, 16, key, 0, big, 1),
                     PROSEC_ERR_KEY_LEN);
}

/* The KDF output depends on every input: FC, each P and each L. */
static void test_kdf_separation(void **state)
{
    uint8_t key[32] = {7}, a[32], b[32], p0[3] = {1, 2, 3};
    struct prosec_kdf_param one = {p0, 3}, two[2] = {{p0, 2}, {p0 + 2, 1}};

    (void)state;
    assert_int_equal(prosec_kdf(a, key, 32, 0x4A, &one, 1), PROSEC_OK);
    assert_int_equal(prosec_kdf(b, key, 32, 0x4B, &one, 1), PROSEC_OK);
    assert_memory_not_equal(a, b, 32);
    /* same octets, split differently: the lengths tell them apart */
    assert_int_equal(prosec_kdf(b, key, 32, 0x4A, two, 2), PROSEC_OK);
    assert_memory_not_equal(a, b, 32);
    assert_int_equal(prosec_pek_derive(a, key, 2), PROSEC_OK);
    assert_int_equal(prosec_pik_derive(b, key, 2), PROSEC_OK);
    assert_memory_not_equal(a, b, 16);
}

static void test_length_zero(void **state)
{
    uint8_t mac[4], guard = 0x5A;

    (void)state;
    for (size_t bi = 0; bi < n_backends; bi++) {
        struct prosec_alg_input p = input(backends[bi]);

        for (unsigned alg = 0; alg <= 3; alg++) {
            assert_int_equal(prosec_eea(alg, &p, NULL, 0, NULL, 0, 0),
                             PROSEC_OK);
            assert_int_equal(prosec_eea(alg, &p, &guard, 0, &guard, 0, 0),
                             PROSEC_OK);
            assert_int_equal(guard, 0x5A);
        }
        for (unsigned alg = 1; alg <= 3; alg++) {
            assert_int_equal(prosec_eia(alg, &p, NULL, 0, 0, mac), PROSEC_OK);
        }
    }
}

/*
 * For every length 0..300 bits and every algorithm: out of place into a
 * buffer guarded on both sides equals in place; the guards and the octets
 * past ceil(LENGTH/8) are untouched; trailing bits are clear; EEA twice is
 * the identity on the used bits.
 */
static void test_bits_and_bounds(void **state)
{
    uint8_t in[64], buf[64 + 32], inplace[64];

    (void)state;
    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(0xC3 ^ (i * 37));
    }
    for (size_t bi = 0; bi < n_backends; bi++) {
        struct prosec_alg_input p = input(backends[bi]);

        for (unsigned alg = 0; alg <= 3; alg++) {
            for (size_t bits = 0; bits <= 300; bits++) {
                size_t len = (bits + 7) / 8;
                uint8_t *out = buf + 16, back[64];

                memset(buf, 0xEE, sizeof(buf));
                assert_int_equal(prosec_eea(alg, &p, in, len, out, len, bits),
                                 PROSEC_OK);
                for (size_t g = 0; g < 16; g++) {
                    assert_int_equal(buf[g], 0xEE);
                }
                for (size_t g = 16 + len; g < sizeof(buf); g++) {
                    assert_int_equal(buf[g], 0xEE);
                }
                if (bits % 8 != 0) {
                    assert_int_equal(out[len - 1] & (0xFF >> (bits % 8)), 0);
                }
                memcpy(inplace, in, len);
                assert_int_equal(
                    prosec_eea(alg, &p, inplace, len, inplace, len, bits),
                    PROSEC_OK);
                assert_memory_equal(inplace, out, len);
                assert_int_equal(prosec_eea(alg, &p, out, len, back, len, bits),
                                 PROSEC_OK);
                if (len > 0) {
                    uint8_t mask =
                        (uint8_t)(0xFF00 >> (bits % 8 ? bits % 8 : 8));

                    assert_memory_equal(back, in, len - 1);
                    assert_int_equal(back[len - 1], in[len - 1] & mask);
                }
            }
        }
    }
}

/* A MAC depends on every input bit, and on nothing past LENGTH. */
static void test_mac_sensitivity(void **state)
{
    uint8_t msg[40], base[4], mac[4];

    (void)state;
    memset(msg, 0x3C, sizeof(msg));
    for (size_t bi = 0; bi < n_backends; bi++) {
        for (unsigned alg = 1; alg <= 3; alg++) {
            const size_t bits = 301;
            struct prosec_alg_input p = input(backends[bi]);

            assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, base),
                             PROSEC_OK);
            for (size_t i = 0; i < bits; i++) {
                msg[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
                assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, mac),
                                 PROSEC_OK);
                assert_memory_not_equal(mac, base, 4);
                msg[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
            }
            /* bits 301..303 and octets past 38 do not count */
            msg[37] ^= 0x07;
            msg[38] ^= 0xFF;
            assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, mac),
                             PROSEC_OK);
            assert_memory_equal(mac, base, 4);
            msg[37] ^= 0x07;
            msg[38] ^= 0xFF;
            /* and every other input */
            p.count ^= 1;
            assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, mac),
                             PROSEC_OK);
            assert_memory_not_equal(mac, base, 4);
            p = input(backends[bi]);
            p.bearer ^= 1;
            assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, mac),
                             PROSEC_OK);
            assert_memory_not_equal(mac, base, 4);
            p = input(backends[bi]);
            p.direction ^= 1;
            assert_int_equal(prosec_eia(alg, &p, msg, 38, bits, mac),
                             PROSEC_OK);
            assert_memory_not_equal(mac, base, 4);
        }
    }
}

/* The prepared-key calls give what the one-shot calls give, on lengths
 * each side of where AUTO changes backend for EIA1. */
static void test_keyed_equals_oneshot(void **state)
{
    static const size_t lens[] = {797, 12800, 12801, 20000};
    uint8_t in[2500], a[2500], b[2500], ma[4], mb[4];
    struct prosec_alg_key *k = NULL;

    (void)state;
    memset(in, 0x77, sizeof(in));
    for (size_t bi = 0; bi < n_backends; bi++) {
        struct prosec_alg_input p = input(backends[bi]);
        enum prosec_backend want = PROSEC_BACKEND_AUTO;

        assert_int_equal(prosec_alg_key_new(&k, backends[bi], key16, 16),
                         PROSEC_OK);
        assert_int_equal(prosec_backend_resolve(backends[bi], &want),
                         PROSEC_OK);
        assert_int_equal(prosec_alg_key_backend(k), want);
        for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
            for (unsigned alg = 1; alg <= 3; alg++) {
                size_t bits = lens[li], n = (bits + 7) / 8;

                assert_int_equal(prosec_eea(alg, &p, in, n, a, n, bits),
                                 PROSEC_OK);
                assert_int_equal(prosec_eea_keyed(k, alg, p.count, p.bearer,
                                                  p.direction, in, n, b, n,
                                                  bits),
                                 PROSEC_OK);
                assert_memory_equal(a, b, n);
                assert_int_equal(prosec_eia(alg, &p, in, n, bits, ma),
                                 PROSEC_OK);
                assert_int_equal(prosec_eia_keyed(k, alg, p.count, p.bearer,
                                                  p.direction, in, n, bits, mb),
                                 PROSEC_OK);
                assert_memory_equal(ma, mb, 4);
            }
        }
        prosec_alg_key_free(k);
        k = NULL;
    }
    prosec_alg_key_free(NULL);
    assert_int_equal(prosec_alg_key_new(&k, PROSEC_BACKEND_PORTABLE, key16, 17),
                     PROSEC_ERR_KEY_LEN);
    assert_null(k);
}

/*
 * What AUTO is reported to run, per algorithm and length, is what an AUTO
 * key runs: the keyed calls dispatch through prosec__key_e*a_backend.
 * Each reported range is checked at both ends and just past its end, so
 * a change of backend is reported where it happens.
 */
static const size_t probe_bits[] = {0,     1,     8,     511,      512,
                                    12799, 12800, 12801, 9000 * 8, SIZE_MAX};

static void check_route(struct prosec_alg_key *k, enum prosec_alg_type type,
                        unsigned alg, size_t bits)
{
    enum prosec_backend b = PROSEC_BACKEND_AUTO, b2 = PROSEC_BACKEND_AUTO;
    size_t upto = 0, upto2 = 0;
    const struct prosec__backend *ran;

    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type, alg,
                                                bits, &b, &upto),
                     PROSEC_OK);
    assert_true(b == PROSEC_BACKEND_PORTABLE || b == PROSEC_BACKEND_IPSECMB);
    assert_true(prosec_backend_available(b));
    assert_true(upto >= bits);
    ran = type == PROSEC_ALG_TYPE_PEK ? prosec__key_eea_backend(k, alg, bits)
                                      : prosec__key_eia_backend(k, alg, bits);
    assert_int_equal(ran->id, b);

    /* the same up to upto, another backend just after */
    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type, alg,
                                                upto, &b2, &upto2),
                     PROSEC_OK);
    assert_int_equal(b2, b);
    assert_int_equal(upto2, upto);
    if (upto != SIZE_MAX) {
        assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type,
                                                    alg, upto + 1, &b2, NULL),
                         PROSEC_OK);
        assert_int_not_equal(b2, b);
    }
}

/* AUTO's choice for one algorithm over all lengths: a string such as
 * "pp" (portable throughout) or "pi12800" (ipsecmb past 12800 bits). */
static void auto_choice(enum prosec_alg_type type, unsigned alg, char *out,
                        size_t cap)
{
    enum prosec_backend b = PROSEC_BACKEND_AUTO, hi = PROSEC_BACKEND_AUTO;
    size_t upto = 0;

    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type, alg,
                                                0, &b, &upto),
                     PROSEC_OK);
    hi = b;
    if (upto != SIZE_MAX) {
        assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type,
                                                    alg, upto + 1, &hi, NULL),
                         PROSEC_OK);
        snprintf(out, cap, "%c%c%zu", prosec_backend_name(b)[0],
                 prosec_backend_name(hi)[0], upto);
        return;
    }
    snprintf(out, cap, "%c%c", prosec_backend_name(b)[0],
             prosec_backend_name(hi)[0]);
}

static void test_auto_choice(void **state)
{
    /* The table of alg.c, where both backends run with AES-NI: EEA1..3
     * then EIA1..3; EIA1 on ipsecmb alone without a carry-less multiply. */
    const char *const split[6] = {
        "pp", "ii", "pp", prosec__mul64_has_clmul() ? "pi12800" : "ii",
        "ii", "pp"};
    const char *env = getenv("PROSEC_BACKEND");
    enum prosec_backend forced = PROSEC_BACKEND_AUTO, whole;
    struct prosec_alg_key *k = NULL;
    bool is_split;

    (void)state;
    if (env != NULL && env[0] != '\0') {
        assert_int_equal(prosec_backend_parse(env, &forced), PROSEC_OK);
    }
    assert_int_equal(prosec_backend_resolve(PROSEC_BACKEND_AUTO, &whole),
                     PROSEC_OK);
    assert_int_equal(prosec_alg_key_new(&k, PROSEC_BACKEND_AUTO, key16, 16),
                     PROSEC_OK);
    assert_int_equal(prosec_alg_key_backend(k), whole);
    is_split = whole == PROSEC_BACKEND_AUTO;

    for (unsigned i = 0; i < 6; i++) {
        enum prosec_alg_type type =
            i < 3 ? PROSEC_ALG_TYPE_PEK : PROSEC_ALG_TYPE_PIK;
        unsigned alg = i % 3 + 1;
        char got[32];

        for (size_t pi = 0; pi < sizeof(probe_bits) / sizeof(probe_bits[0]);
             pi++) {
            check_route(k, type, alg, probe_bits[pi]);
        }
        auto_choice(type, alg, got, sizeof(got));
        if (forced != PROSEC_BACKEND_AUTO) {
            /* PROSEC_BACKEND rules every algorithm */
            assert_int_equal(whole, forced);
            assert_int_equal(got[0], prosec_backend_name(forced)[0]);
            assert_string_equal(got + 1, got[0] == 'p' ? "p" : "i");
        } else if (is_split) {
            assert_string_equal(got, split[i]);
        } else {
            assert_string_equal(got, "pp");
        }
    }
#ifdef PROSEC_HAVE_IPSECMB
    if (forced == PROSEC_BACKEND_AUTO) {
        /* shared exactly when the table can be used */
        assert_int_equal(is_split, prosec__ipsecmb_aesni());
    }
    /* the key holds the state of the backends it runs on, and only that:
     * OpenSSL's AES when EEA2 or EIA2 runs portable */
    assert_int_equal(k->imb != NULL, whole != PROSEC_BACKEND_PORTABLE);
#else
    assert_false(is_split);
    assert_int_equal(whole, PROSEC_BACKEND_PORTABLE);
#endif
    assert_int_equal(k->aes != NULL, whole == PROSEC_BACKEND_PORTABLE);
    prosec_alg_key_free(k);
}

static void test_resolve_alg_errors(void **state)
{
    enum prosec_backend b = PROSEC_BACKEND_AUTO;
    size_t upto = 42;

    (void)state;
    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO,
                                                PROSEC_ALG_TYPE_PEK, 1, 0, NULL,
                                                NULL),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_PORTABLE,
                                                PROSEC_ALG_TYPE_PEK, 0, 8, &b,
                                                &upto),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_PORTABLE,
                                                PROSEC_ALG_TYPE_PIK, 4, 8, &b,
                                                &upto),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_PORTABLE,
                                                (enum prosec_alg_type)2, 1, 8,
                                                &b, &upto),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_backend_resolve_alg((enum prosec_backend)7,
                                                PROSEC_ALG_TYPE_PIK, 1, 8, &b,
                                                &upto),
                     PROSEC_ERR_BACKEND_UNKNOWN);
    /* nothing written on error */
    assert_int_equal(b, PROSEC_BACKEND_AUTO);
    assert_int_equal(upto, 42);
    /* an explicit backend runs everything, at every length */
    for (unsigned alg = 1; alg <= 3; alg++) {
        assert_int_equal(prosec_backend_resolve_alg(PROSEC_BACKEND_PORTABLE,
                                                    PROSEC_ALG_TYPE_PIK, alg,
                                                    12800, &b, &upto),
                         PROSEC_OK);
        assert_int_equal(b, PROSEC_BACKEND_PORTABLE);
        assert_int_equal(upto, SIZE_MAX);
    }
}

static void test_backend_names(void **state)
{
    enum prosec_backend b = PROSEC_BACKEND_AUTO;

    (void)state;
    assert_int_equal(prosec_backend_parse("portable", &b), PROSEC_OK);
    assert_int_equal(b, PROSEC_BACKEND_PORTABLE);
    assert_int_equal(prosec_backend_parse("ipsecmb", &b), PROSEC_OK);
    assert_int_equal(b, PROSEC_BACKEND_IPSECMB);
    assert_int_equal(prosec_backend_parse("auto", &b), PROSEC_OK);
    assert_int_equal(b, PROSEC_BACKEND_AUTO);
    assert_int_equal(prosec_backend_parse("fast", &b),
                     PROSEC_ERR_BACKEND_UNKNOWN);
    assert_int_equal(prosec_backend_parse("", &b), PROSEC_ERR_BACKEND_UNKNOWN);
    assert_string_equal(prosec_backend_name(PROSEC_BACKEND_IPSECMB), "ipsecmb");
    assert_true(prosec_backend_available(PROSEC_BACKEND_PORTABLE));
#ifdef PROSEC_HAVE_IPSECMB
    assert_true(prosec_backend_available(PROSEC_BACKEND_IPSECMB));
#else
    assert_false(prosec_backend_available(PROSEC_BACKEND_IPSECMB));
    assert_int_equal(prosec_backend_resolve(PROSEC_BACKEND_IPSECMB, &b),
                     PROSEC_ERR_BACKEND_UNAVAILABLE);
#endif
}

static void test_wipe_and_compare(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    memset(a, 0xFF, sizeof(a));
    prosec_wipe(a, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_memory_equal(a, b, sizeof(a));
    prosec_wipe(NULL, 0);
    assert_true(prosec_ct_equal(a, b, 32));
    b[31] = 1;
    assert_false(prosec_ct_equal(a, b, 32));
    assert_true(prosec_ct_equal(a, b, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_eea_errors),
        cmocka_unit_test(test_eia_errors),
        cmocka_unit_test(test_kdf_errors),
        cmocka_unit_test(test_kdf_separation),
        cmocka_unit_test(test_length_zero),
        cmocka_unit_test(test_bits_and_bounds),
        cmocka_unit_test(test_mac_sensitivity),
        cmocka_unit_test(test_keyed_equals_oneshot),
        cmocka_unit_test(test_auto_choice),
        cmocka_unit_test(test_resolve_alg_errors),
        cmocka_unit_test(test_backend_names),
        cmocka_unit_test(test_wipe_and_compare),
    };

    backends[n_backends++] = PROSEC_BACKEND_PORTABLE;
    if (prosec_backend_available(PROSEC_BACKEND_IPSECMB)) {
        backends[n_backends++] = PROSEC_BACKEND_IPSECMB;
    }
    backends[n_backends++] = PROSEC_BACKEND_AUTO;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
