/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two backends against each other: for each of the six algorithms,
 * every bit length 0..511, then PROSEC_DIFF_ROUNDS (default 10,000) random
 * inputs of random bit length 0..12,000 with random key, COUNT, BEARER and
 * DIRECTION, and random junk in the unused trailing bits; outputs must be
 * identical, and AUTO (one-shot, and through a prepared AUTO key, which
 * may hold the state of both backends) must give the same again.  EIA1
 * runs twice, once on each GF(2^64) multiplier of the
 * portable backend (src/crypto/mul64.c).  The seed is fixed so CI is
 * reproducible; PROSEC_SEED=N (or "time") chooses another, and a failure
 * prints the seed and the round to replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../src/crypto/internal.h"
#include "prosec/prosec.h"

enum { MAX_BITS = 12000, MAX_LEN = 70000 / 8 };

static uint64_t seed = 0x9E3779B97F4A7C15u;
static unsigned long rounds = 10000;

/* splitmix64: small, fast, good enough to pick test inputs. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void fill(uint64_t *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)next(s);
    }
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s ", what);
    for (size_t i = 0; i < n && i < 64; i++) {
        fprintf(stderr, "%02x", p[i]);
    }
    fprintf(stderr, n > 64 ? "...\n" : "\n");
}

static void run(unsigned alg, bool mac)
{
    static uint8_t in[MAX_LEN], a[MAX_LEN], b[MAX_LEN], c[MAX_LEN], d[MAX_LEN];
    uint64_t s = seed ^ ((uint64_t)alg << 56) ^ ((uint64_t)mac << 48);
    uint8_t key[16];

    /* Every length 0..511 first (edges of words, blocks and the 64-bit
     * f9 blocks), then random lengths, then lengths around where AUTO
     * changes backend for EIA1 (12800 bits) and the limits of
     * intel-ipsec-mb 1.3 (ZUC 65504 bits, CMAC 65534 bits in all), past
     * which its backend hands over to the portable code. */
    static const size_t edges[] = {12799, 12800, 12801, 65470, 65471, 65503,
                                   65504, 65505, 65535, 65536, 70000};
    const unsigned long n_edges = sizeof(edges) / sizeof(edges[0]);

    for (unsigned long r = 0; r < rounds + 512 + n_edges; r++) {
        size_t bits = r < 512             ? (size_t)r
                      : r < 512 + n_edges ? edges[r - 512]
                                          : (size_t)(next(&s) % (MAX_BITS + 1));
        size_t len = (bits + 7) / 8;
        uint64_t x = next(&s);
        struct prosec_alg_input pa, pb, pc;
        struct prosec_alg_key *k = NULL;
        prosec_err ea, eb, ec, ed;

        fill(&s, key, sizeof(key));
        fill(&s, in, len); /* junk in trailing bits included */
        pa = (struct prosec_alg_input){key,
                                       16,
                                       (uint32_t)x,
                                       (uint8_t)((x >> 32) & 31),
                                       (uint8_t)((x >> 40) & 1),
                                       PROSEC_BACKEND_PORTABLE};
        pb = pa;
        pb.backend = PROSEC_BACKEND_IPSECMB;
        pc = pa;
        pc.backend = PROSEC_BACKEND_AUTO;
        ed = prosec_alg_key_new(&k, PROSEC_BACKEND_AUTO, key, sizeof(key));
        if (mac) {
            ea = prosec_eia(alg, &pa, in, len, bits, a);
            eb = prosec_eia(alg, &pb, in, len, bits, b);
            ec = prosec_eia(alg, &pc, in, len, bits, c);
            if (ed == PROSEC_OK) {
                ed = prosec_eia_keyed(k, alg, pa.count, pa.bearer, pa.direction,
                                      in, len, bits, d);
            }
            len = 4;
        } else {
            ea = prosec_eea(alg, &pa, in, len, a, len, bits);
            eb = prosec_eea(alg, &pb, in, len, b, len, bits);
            ec = prosec_eea(alg, &pc, in, len, c, len, bits);
            if (ed == PROSEC_OK) {
                ed = prosec_eea_keyed(k, alg, pa.count, pa.bearer, pa.direction,
                                      in, len, d, len, bits);
            }
        }
        prosec_alg_key_free(k);
        if (ea != PROSEC_OK || eb != PROSEC_OK || ec != PROSEC_OK ||
            ed != PROSEC_OK || memcmp(a, b, len) != 0 ||
            memcmp(a, c, len) != 0 || memcmp(a, d, len) != 0) {
            fprintf(stderr,
                    "%s%u differs: seed %llu round %lu, %zu bits, COUNT "
                    "%08x BEARER %u DIRECTION %u (%s / %s / %s / %s)\n",
                    mac ? "EIA" : "EEA", alg, (unsigned long long)seed, r, bits,
                    pa.count, pa.bearer, pa.direction, prosec_err_name(ea),
                    prosec_err_name(eb), prosec_err_name(ec),
                    prosec_err_name(ed));
            hexdump("portable ", a, len);
            hexdump("ipsecmb  ", b, len);
            hexdump("auto     ", c, len);
            hexdump("auto key ", d, len);
            fail();
        }
    }
}

static void test_eea1(void **state)
{
    (void)state;
    run(1, false);
}
static void test_eea2(void **state)
{
    (void)state;
    run(2, false);
}
static void test_eea3(void **state)
{
    (void)state;
    run(3, false);
}
/* EIA1 twice: on the carry-less multiply of the CPU, and on the portable
 * multiplier, which the CPU's choice would leave untested. */
static void test_eia1(void **state)
{
    (void)state;
    if (!prosec__mul64_select(PROSEC__MUL64_CLMUL)) {
        printf("# no carry-less multiply on this CPU: skipped\n");
        skip();
    }
    run(1, true);
}
static void test_eia1_portable_mul64(void **state)
{
    (void)state;
    assert_true(prosec__mul64_select(PROSEC__MUL64_PORTABLE));
    run(1, true);
    assert_true(prosec__mul64_select(PROSEC__MUL64_AUTO));
}
static void test_eia2(void **state)
{
    (void)state;
    run(2, true);
}
static void test_eia3(void **state)
{
    (void)state;
    run(3, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eea1),
        cmocka_unit_test(test_eea2),
        cmocka_unit_test(test_eea3),
        cmocka_unit_test(test_eia1),
        cmocka_unit_test(test_eia1_portable_mul64),
        cmocka_unit_test(test_eia2),
        cmocka_unit_test(test_eia3),
    };
    const char *e = getenv("PROSEC_SEED");
    const char *n = getenv("PROSEC_DIFF_ROUNDS");

    if (e != NULL && strcmp(e, "time") == 0) {
        seed = (uint64_t)time(NULL);
    } else if (e != NULL) {
        seed = strtoull(e, NULL, 10);
    }
    if (n != NULL) {
        rounds = strtoul(n, NULL, 10);
    }
    if (!prosec_backend_available(PROSEC_BACKEND_IPSECMB)) {
#ifdef PROSEC_HAVE_IPSECMB
        fprintf(stderr, "intel-ipsec-mb was built in but does not run\n");
        return 1;
#else
        printf("# intel-ipsec-mb not built: nothing to compare (skipped)\n");
        return 77;
#endif
    }
    printf("# seed %llu, %lu rounds per algorithm\n", (unsigned long long)seed,
           rounds);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
