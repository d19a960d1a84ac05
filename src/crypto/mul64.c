/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash half of f9 (UIA2, 128-EIA1; TS 35.215 4.4.3): EVAL, the
 * polynomial in P whose coefficients are the message's 64-bit blocks,
 * then the length block and one multiplication by Q, all with MUL64
 * (4.3.3): multiplication in GF(2^64) modulo x^64 + x^4 + x^3 + x + 1,
 * bit i of a word being the coefficient of x^i.
 *
 * P and Q are keystream and the message may be secret, so everything
 * here is constant time: no branch and no memory address depends on
 * them.  Two multipliers, picked once per process:
 *
 * - clmul: the CPU's carry-less multiply (x86-64 PCLMULQDQ, AArch64
 *   PMULL), checked for at run time.  Horner's rule is aggregated: four
 *   blocks per step, eval' = (eval + m1) P^4 + m2 P^3 + m3 P^2 + m4 P.
 *   The four products are independent and only their sum is reduced, so
 *   the chain where each step waits for the last (multiply, then
 *   reduce) runs once per four blocks instead of once per block; P^2,
 *   P^3 and P^4 cost three multiplications per message, repaid from the
 *   fourth block on.  Reduction is two more carry-less multiplications
 *   by x^4 + x^3 + x + 1.
 *
 * - portable: plain C11, for every other CPU, and constant time as far
 *   as the CPU's integer multiply is (true of x86-64 and AArch64 cores;
 *   some small cores finish early on small operands).  A 32 x 32-bit
 *   carry-less product comes from integer products of operands with
 *   holes (see clmul32), a 64 x 64-bit one from three of those
 *   (Karatsuba).  The 4-bit tables it replaces looked up memory at
 *   addresses that depended on P and the message; on the AMD EPYC of our
 *   benchmarks it runs at about 0.7 of their speed on 1400 octets, and
 *   faster on short messages, as it builds no 2 KiB table per message.
 *
 * prosec__mul64_select (internal.h) lets the tests run either multiplier
 * on any CPU that has both, so neither rots unseen.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

#if defined(PROSEC_TARGET_PCLMUL)
#include <immintrin.h>
#elif defined(PROSEC_TARGET_PMULL)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

/* x^64 = x^4 + x^3 + x + 1 modulo the field polynomial */
#define MUL64_R 0x1Bu

/* ---- portable ------------------------------------------------------------ */

/*
 * 32 x 32 -> 64-bit carry-less product.  Each operand is split into four
 * parts that keep every fourth bit (part i: the bits at positions equal
 * to i modulo 4, at most 8 of them).  The integer product of two parts
 * adds at most 8 ones into each position it can set, and 8 fits in the 4
 * bits below the next such position: no carry reaches a position of the
 * same residue, so there the integer product's bit is the XOR of the
 * pairs, which is what carry-less multiplication wants.  Masking keeps
 * those positions only.
 */
static uint64_t clmul32(uint32_t a, uint32_t b)
{
    uint64_t a0 = a & 0x11111111u, a1 = a & 0x22222222u;
    uint64_t a2 = a & 0x44444444u, a3 = a & 0x88888888u;
    uint64_t b0 = b & 0x11111111u, b1 = b & 0x22222222u;
    uint64_t b2 = b & 0x44444444u, b3 = b & 0x88888888u;
    uint64_t z0, z1, z2, z3;

    /* z_k collects the pairs whose positions add up to k modulo 4 */
    z0 = (a0 * b0) ^ (a1 * b3) ^ (a2 * b2) ^ (a3 * b1);
    z1 = (a0 * b1) ^ (a1 * b0) ^ (a2 * b3) ^ (a3 * b2);
    z2 = (a0 * b2) ^ (a1 * b1) ^ (a2 * b0) ^ (a3 * b3);
    z3 = (a0 * b3) ^ (a1 * b2) ^ (a2 * b1) ^ (a3 * b0);
    return (z0 & 0x1111111111111111u) | (z1 & 0x2222222222222222u) |
           (z2 & 0x4444444444444444u) | (z3 & 0x8888888888888888u);
}

/* 64 x 64 -> 128-bit carry-less product hi:lo, Karatsuba over halves. */
static void clmul64(uint64_t *hi, uint64_t *lo, uint64_t a, uint64_t b)
{
    uint32_t a0 = (uint32_t)a, a1 = (uint32_t)(a >> 32);
    uint32_t b0 = (uint32_t)b, b1 = (uint32_t)(b >> 32);
    uint64_t l = clmul32(a0, b0);
    uint64_t h = clmul32(a1, b1);
    uint64_t m = clmul32(a0 ^ a1, b0 ^ b1) ^ l ^ h;

    *lo = l ^ (m << 32);
    *hi = h ^ (m >> 32);
}

/*
 * hi * x^64 + lo modulo the field polynomial: hi * x^64 = hi * R, where
 * R = x^4 + x^3 + x + 1; the part of hi * R from x^64 up (at most 4
 * bits, shifted out below) is folded the same way once more, and then
 * fits in 8 bits.
 */
static uint64_t reduce64(uint64_t hi, uint64_t lo)
{
    uint64_t over = (hi >> 63) ^ (hi >> 61) ^ (hi >> 60);

    lo ^= hi ^ (hi << 1) ^ (hi << 3) ^ (hi << 4);
    return lo ^ over ^ (over << 1) ^ (over << 3) ^ (over << 4);
}

static uint64_t portable_mul(uint64_t v, uint64_t p)
{
    uint64_t hi, lo;

    clmul64(&hi, &lo, v, p);
    return reduce64(hi, lo);
}

/* Plain Horner: the multiplications, not the reductions, cost here. */
static uint64_t portable_horner(uint64_t eval, uint64_t p, const uint8_t *msg,
                                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        eval = portable_mul(eval ^ prosec__load64_be(msg + 8 * i), p);
    }
    return eval;
}

/* ---- x86-64: PCLMULQDQ --------------------------------------------------- */

#if defined(PROSEC_TARGET_PCLMUL)
#define HAVE_CLMUL 1

/* The 128-bit product t reduced (reduce64, by multiplication), in the low
 * half; the high half cleared. */
static PROSEC_TARGET_PCLMUL __m128i pclmul_reduce(__m128i t)
{
    const __m128i r = _mm_set_epi64x(0, MUL64_R);
    __m128i u = _mm_clmulepi64_si128(t, r, 0x01); /* high(t) * R */
    __m128i w = _mm_clmulepi64_si128(u, r, 0x01); /* high(u) * R */

    return _mm_move_epi64(_mm_xor_si128(t, _mm_xor_si128(u, w)));
}

/* low(a) * low(b), reduced */
static PROSEC_TARGET_PCLMUL __m128i pclmul_mul_lo(__m128i a, __m128i b)
{
    return pclmul_reduce(_mm_clmulepi64_si128(a, b, 0x00));
}

static PROSEC_TARGET_PCLMUL uint64_t pclmul_mul(uint64_t v, uint64_t p)
{
    __m128i a = _mm_cvtsi64_si128((long long)v);
    __m128i b = _mm_cvtsi64_si128((long long)p);

    return (uint64_t)_mm_cvtsi128_si64(pclmul_mul_lo(a, b));
}

static PROSEC_TARGET_PCLMUL uint64_t pclmul_horner(uint64_t eval, uint64_t p,
                                                   const uint8_t *msg, size_t n)
{
    /* big-endian blocks: reverse the octets of each 64-bit lane */
    const __m128i bswap =
        _mm_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    __m128i acc = _mm_cvtsi64_si128((long long)eval);
    __m128i p1 = _mm_cvtsi64_si128((long long)p);

    if (n >= 4) {
        __m128i p2 = pclmul_mul_lo(p1, p1);
        __m128i p3 = pclmul_mul_lo(p2, p1);
        __m128i p4 = pclmul_mul_lo(p2, p2);
        __m128i k43 = _mm_unpacklo_epi64(p4, p3); /* P^4 low, P^3 high */
        __m128i k21 = _mm_unpacklo_epi64(p2, p1);

        for (; n >= 4; n -= 4, msg += 32) {
            const __m128i *in = (const __m128i *)msg;
            __m128i d12 = _mm_shuffle_epi8(_mm_loadu_si128(in), bswap);
            __m128i d34 = _mm_shuffle_epi8(_mm_loadu_si128(in + 1), bswap);
            __m128i t;

            d12 = _mm_xor_si128(d12, acc);
            t = _mm_xor_si128(_mm_clmulepi64_si128(d12, k43, 0x00),
                              _mm_clmulepi64_si128(d12, k43, 0x11));
            t = _mm_xor_si128(t, _mm_clmulepi64_si128(d34, k21, 0x00));
            t = _mm_xor_si128(t, _mm_clmulepi64_si128(d34, k21, 0x11));
            acc = pclmul_reduce(t);
        }
    }

    /* the last 0..3 blocks one at a time */
    for (; n > 0; n--, msg += 8) {
        __m128i d =
            _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)msg), bswap);

        acc = pclmul_mul_lo(_mm_xor_si128(acc, d), p1);
    }
    return (uint64_t)_mm_cvtsi128_si64(acc);
}

static bool clmul_usable(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

#define CLMUL_NAME   "pclmul"
#define CLMUL_MUL    pclmul_mul
#define CLMUL_HORNER pclmul_horner

/* ---- AArch64: PMULL ------------------------------------------------------ */

#elif defined(PROSEC_TARGET_PMULL)
#define HAVE_CLMUL 1

/* low(a) * low(b) and high(a) * high(b), unreduced */
static PROSEC_TARGET_PMULL uint64x2_t pmull_lo(uint64x2_t a, uint64x2_t b)
{
    return vreinterpretq_u64_p128(
        vmull_p64(vgetq_lane_p64(vreinterpretq_p64_u64(a), 0),
                  vgetq_lane_p64(vreinterpretq_p64_u64(b), 0)));
}

static PROSEC_TARGET_PMULL uint64x2_t pmull_hi(uint64x2_t a, uint64x2_t b)
{
    return vreinterpretq_u64_p128(
        vmull_high_p64(vreinterpretq_p64_u64(a), vreinterpretq_p64_u64(b)));
}

/* As pclmul_reduce. */
static PROSEC_TARGET_PMULL uint64x2_t pmull_reduce(uint64x2_t t)
{
    const uint64x2_t r = vdupq_n_u64(MUL64_R);
    uint64x2_t u = pmull_hi(t, r); /* high(t) * R */
    uint64x2_t w = pmull_hi(u, r); /* high(u) * R */

    return vsetq_lane_u64(0, veorq_u64(t, veorq_u64(u, w)), 1);
}

static PROSEC_TARGET_PMULL uint64x2_t pmull_mul_lo(uint64x2_t a, uint64x2_t b)
{
    return pmull_reduce(pmull_lo(a, b));
}

static PROSEC_TARGET_PMULL uint64x2_t pmull_word(uint64_t v)
{
    return vcombine_u64(vcreate_u64(v), vcreate_u64(0));
}

static PROSEC_TARGET_PMULL uint64_t pmull_mul(uint64_t v, uint64_t p)
{
    return vgetq_lane_u64(pmull_mul_lo(pmull_word(v), pmull_word(p)), 0);
}

/* As pclmul_horner. */
static PROSEC_TARGET_PMULL uint64_t pmull_horner(uint64_t eval, uint64_t p,
                                                 const uint8_t *msg, size_t n)
{
    uint64x2_t acc = pmull_word(eval), p1 = pmull_word(p);

    if (n >= 4) {
        uint64x2_t p2 = pmull_mul_lo(p1, p1);
        uint64x2_t p3 = pmull_mul_lo(p2, p1);
        uint64x2_t p4 = pmull_mul_lo(p2, p2);
        uint64x2_t k43 = vzip1q_u64(p4, p3); /* P^4 low, P^3 high */
        uint64x2_t k21 = vzip1q_u64(p2, p1);

        for (; n >= 4; n -= 4, msg += 32) {
            /* big-endian blocks: reverse the octets of each lane */
            uint64x2_t d12 = vreinterpretq_u64_u8(vrev64q_u8(vld1q_u8(msg)));
            uint64x2_t d34 =
                vreinterpretq_u64_u8(vrev64q_u8(vld1q_u8(msg + 16)));
            uint64x2_t t;

            d12 = veorq_u64(d12, acc);
            t = veorq_u64(pmull_lo(d12, k43), pmull_hi(d12, k43));
            t = veorq_u64(t, pmull_lo(d34, k21));
            t = veorq_u64(t, pmull_hi(d34, k21));
            acc = pmull_reduce(t);
        }
    }

    /* the last 0..3 blocks one at a time */
    for (; n > 0; n--, msg += 8) {
        uint64x2_t d = pmull_word(prosec__load64_be(msg));

        acc = pmull_mul_lo(veorq_u64(acc, d), p1);
    }
    return vgetq_lane_u64(acc, 0);
}

#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1u << 4) /* Linux arch/arm64 uapi hwcap.h */
#endif

static bool clmul_usable(void)
{
#if defined(__ARM_FEATURE_AES) || defined(__ARM_FEATURE_CRYPTO)
    return true; /* the whole build assumes it */
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_PMULL) != 0;
#else
    return false; /* no hwcap query here: the portable multiply */
#endif
}

#define CLMUL_NAME   "pmull"
#define CLMUL_MUL    pmull_mul
#define CLMUL_HORNER pmull_horner
#endif

/* ---- choice -------------------------------------------------------------- */

struct mul64_ops {
    const char *name;
    /* v * p */
    uint64_t (*mul)(uint64_t v, uint64_t p);
    /* Horner's rule from eval over n big-endian 64-bit blocks at msg */
    uint64_t (*horner)(uint64_t eval, uint64_t p, const uint8_t *msg, size_t n);
};

static const struct mul64_ops portable_ops = {"portable", portable_mul,
                                              portable_horner};
#ifdef HAVE_CLMUL
static const struct mul64_ops clmul_ops = {CLMUL_NAME, CLMUL_MUL, CLMUL_HORNER};
#endif

/* The multiplier in use; NULL until the first use picks one.  The
 * structures pointed to are constant, so relaxed order is enough. */
static _Atomic(const struct mul64_ops *) active;

static const struct mul64_ops *clmul_if_usable(void)
{
#ifdef HAVE_CLMUL
    return clmul_usable() ? &clmul_ops : NULL;
#else
    return NULL;
#endif
}

static const struct mul64_ops *find(enum prosec__mul64_impl impl)
{
    const struct mul64_ops *o = NULL;

    switch (impl) {
    case PROSEC__MUL64_AUTO:
        o = clmul_if_usable();
        return o != NULL ? o : &portable_ops;
    case PROSEC__MUL64_PORTABLE:
        return &portable_ops;
    case PROSEC__MUL64_CLMUL:
        return clmul_if_usable();
    }
    return NULL;
}

static const struct mul64_ops *ops(void)
{
    const struct mul64_ops *o =
        atomic_load_explicit(&active, memory_order_relaxed);
    const struct mul64_ops *want;

    if (o != NULL) {
        return o;
    }
    /* a racing first use finds the same; a select that came first wins */
    want = find(PROSEC__MUL64_AUTO);
    if (atomic_compare_exchange_strong_explicit(
            &active, &o, want, memory_order_relaxed, memory_order_relaxed)) {
        return want;
    }
    return o;
}

bool prosec__mul64_select(enum prosec__mul64_impl impl)
{
    const struct mul64_ops *o = find(impl);

    if (o == NULL) {
        return false;
    }
    atomic_store_explicit(&active, o, memory_order_relaxed);
    return true;
}

const char *prosec__mul64_name(void)
{
    return ops()->name;
}

bool prosec__mul64_has_clmul(void)
{
    return clmul_if_usable() != NULL;
}

uint64_t prosec__mul64(uint64_t v, uint64_t p)
{
    return ops()->mul(v, p);
}

uint64_t prosec__f9_eval(uint64_t p, uint64_t q, const uint8_t *msg,
                         size_t bits)
{
    const struct mul64_ops *o = ops();
    size_t full = bits / 64;
    uint64_t eval;
    uint8_t last[8];

    eval = o->horner(0, p, msg, full);

    /* the last block zero-padded, the unused bits of its input ignored */
    if (bits % 64 != 0) {
        size_t tail = prosec__bytes(bits % 64);

        memset(last, 0, sizeof(last));
        memcpy(last, msg + 8 * full, tail);
        last[tail - 1] &= prosec__tail_mask(bits);
        eval = o->horner(eval, p, last, 1);
        prosec_wipe(last, sizeof(last));
    }

    /* then the length block, multiplied by Q (4.4.3) */
    return o->mul(eval ^ (uint64_t)bits, q);
}
