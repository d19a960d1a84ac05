/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The GF(2^64) arithmetic of f9 (src/crypto/mul64.c), on each multiplier
 * this CPU has, against a literal reading of TS 35.215: MUL64 as the loop
 * of 4.3.3, EVAL as the block-by-block polynomial of 4.4.3.  Products on
 * edge operands (the ones that carry most in the portable multiplier, the
 * ones that need the second reduction fold) and random ones; EVAL on every
 * bit length up to 17 blocks, so that the aggregated four-block steps,
 * the leftover blocks and the padded last block all meet.  A multiplier
 * that is not there is reported as skipped, and on x86-64 the test checks
 * that the CPU check agrees with the compiler's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../src/crypto/internal.h"

enum { EVAL_MAX_BITS = 17 * 64, RANDOM_PAIRS = 200000 };

/* splitmix64 */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* MUL64x and MUL64 of TS 35.215 4.3.2, 4.3.3, with c = 0x1B. */
static uint64_t ref_mulx(uint64_t v)
{
    return (v & 0x8000000000000000u) ? (v << 1) ^ 0x1Bu : v << 1;
}

static uint64_t ref_mul64(uint64_t v, uint64_t p)
{
    uint64_t r = 0;

    for (unsigned i = 0; i < 64; i++) {
        if ((p >> i) & 1) {
            r ^= v;
        }
        v = ref_mulx(v);
    }
    return r;
}

/* EVAL of 4.4.3, one block at a time; the last block zero-padded. */
static uint64_t ref_eval(uint64_t p, uint64_t q, const uint8_t *msg,
                         size_t bits)
{
    size_t d = (bits + 63) / 64;
    uint64_t eval = 0;

    for (size_t i = 0; i < d; i++) {
        uint64_t m = 0;

        for (unsigned j = 0; j < 64; j++) {
            size_t bit = 64 * i + j;

            m <<= 1;
            if (bit < bits) {
                m |= (uint64_t)(msg[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }
        eval = ref_mul64(eval ^ m, p);
    }
    return ref_mul64(eval ^ (uint64_t)bits, q);
}

static const struct {
    enum prosec__mul64_impl impl;
    const char *what;
} impls[] = {{PROSEC__MUL64_PORTABLE, "portable"},
             {PROSEC__MUL64_CLMUL, "clmul"}};

static void use(size_t i)
{
    if (!prosec__mul64_select(impls[i].impl)) {
        printf("# %s multiplier: not on this CPU or build (skipped)\n",
               impls[i].what);
        skip();
    }
    printf("# %s multiplier: %s\n", impls[i].what, prosec__mul64_name());
}

static void check_mul(uint64_t a, uint64_t b)
{
    uint64_t want = ref_mul64(a, b), got = prosec__mul64(a, b);

    if (got != want) {
        fprintf(stderr, "MUL64(%016llx, %016llx): want %016llx got %016llx\n",
                (unsigned long long)a, (unsigned long long)b,
                (unsigned long long)want, (unsigned long long)got);
        fail();
    }
}

static void mul_on(size_t impl)
{
    static const uint64_t edge[] = {
        0,
        1,
        2,
        0x1B,
        0x8000000000000000u,
        0xF000000000000000u,
        0xF800000000000001u,
        0x00000000FFFFFFFFu,
        0xFFFFFFFF00000000u,
        0x1111111111111111u,
        0x8888888888888888u,
        0xFFFFFFFFFFFFFFFFu,
    };
    const size_t n = sizeof(edge) / sizeof(edge[0]);
    uint64_t s = 0x243F6A8885A308D3u;

    use(impl);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            check_mul(edge[i], edge[j]);
        }
    }
    for (unsigned long r = 0; r < RANDOM_PAIRS; r++) {
        uint64_t a = next(&s), b = next(&s);

        /* dense and sparse operands both */
        if (r % 4 == 1) {
            a |= next(&s);
            b |= next(&s);
        } else if (r % 4 == 2) {
            a &= next(&s) & next(&s);
        }
        check_mul(a, b);
    }
}

static void eval_on(size_t impl)
{
    static uint8_t msg[EVAL_MAX_BITS / 8 + 1];
    uint64_t s = 0x13198A2E03707344u;

    use(impl);
    for (size_t bits = 0; bits <= EVAL_MAX_BITS; bits++) {
        uint64_t p = next(&s), q = next(&s), want, got;

        /* junk in the unused trailing bits too: EVAL must ignore it */
        for (size_t i = 0; i < sizeof(msg); i++) {
            msg[i] = (uint8_t)next(&s);
        }
        want = ref_eval(p, q, msg, bits);
        got = prosec__f9_eval(p, q, msg, bits);
        if (got != want) {
            fprintf(stderr, "EVAL over %zu bits: want %016llx got %016llx\n",
                    bits, (unsigned long long)want, (unsigned long long)got);
            fail();
        }
    }
}

static void test_mul_portable(void **state)
{
    (void)state;
    mul_on(0);
}
static void test_mul_clmul(void **state)
{
    (void)state;
    mul_on(1);
}
static void test_eval_portable(void **state)
{
    (void)state;
    eval_on(0);
}
static void test_eval_clmul(void **state)
{
    (void)state;
    eval_on(1);
}

/* AUTO takes the carry-less multiply exactly when the CPU has it. */
static void test_select(void **state)
{
    bool clmul = prosec__mul64_select(PROSEC__MUL64_CLMUL);

    (void)state;
    assert_true(prosec__mul64_select(PROSEC__MUL64_PORTABLE));
    assert_string_equal(prosec__mul64_name(), "portable");
    assert_true(prosec__mul64_select(PROSEC__MUL64_AUTO));
    assert_int_equal(strcmp(prosec__mul64_name(), "portable") != 0, clmul);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    assert_int_equal(clmul, __builtin_cpu_supports("pclmul") &&
                                __builtin_cpu_supports("sse4.1"));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul_portable),  cmocka_unit_test(test_mul_clmul),
        cmocka_unit_test(test_eval_portable), cmocka_unit_test(test_eval_clmul),
        cmocka_unit_test(test_select),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
