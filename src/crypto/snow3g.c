/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SNOW 3G (TS 35.216) and the 3GPP algorithms built on it: 128-EEA1 (UEA2,
 * f8, TS 35.215 4.3) and 128-EIA1 (UIA2, f9, TS 35.215 4.4), in portable C;
 * the GF(2^64) hash of f9, and its constant-time property, are in mul64.c.
 *
 * The S-boxes S1 and S2 are looked up through tables built once from SR and
 * SQ; like every table-driven SNOW 3G, the lookups depend on secret state,
 * so this code is not constant time against a local cache-timing attacker.
 * The intel-ipsec-mb backend is the one to use where that matters.
 *
 * The LFSR lives in a ring of 16 words: at step i of a block of 16, the
 * specification's s_j is s[(i + j) % 16], and the new s15 takes the slot of
 * the old s0.  Unrolled by 16, every index is a constant.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

/* SR: the AES S-box; SQ: the S-box derived from the Dickson polynomial. */
static const uint8_t sr[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b,
    0xfe, 0xd7, 0xab, 0x76, 0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0,
    0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0, 0xb7, 0xfd, 0x93, 0x26,
    0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2,
    0xeb, 0x27, 0xb2, 0x75, 0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0,
    0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84, 0x53, 0xd1, 0x00, 0xed,
    0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f,
    0x50, 0x3c, 0x9f, 0xa8, 0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5,
    0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2, 0xcd, 0x0c, 0x13, 0xec,
    0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14,
    0xde, 0x5e, 0x0b, 0xdb, 0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c,
    0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79, 0xe7, 0xc8, 0x37, 0x6d,
    0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f,
    0x4b, 0xbd, 0x8b, 0x8a, 0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e,
    0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e, 0xe1, 0xf8, 0x98, 0x11,
    0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f,
    0xb0, 0x54, 0xbb, 0x16};

static const uint8_t sq[256] = {
    0x25, 0x24, 0x73, 0x67, 0xd7, 0xae, 0x5c, 0x30, 0xa4, 0xee, 0x6e, 0xcb,
    0x7d, 0xb5, 0x82, 0xdb, 0xe4, 0x8e, 0x48, 0x49, 0x4f, 0x5d, 0x6a, 0x78,
    0x70, 0x88, 0xe8, 0x5f, 0x5e, 0x84, 0x65, 0xe2, 0xd8, 0xe9, 0xcc, 0xed,
    0x40, 0x2f, 0x11, 0x28, 0x57, 0xd2, 0xac, 0xe3, 0x4a, 0x15, 0x1b, 0xb9,
    0xb2, 0x80, 0x85, 0xa6, 0x2e, 0x02, 0x47, 0x29, 0x07, 0x4b, 0x0e, 0xc1,
    0x51, 0xaa, 0x89, 0xd4, 0xca, 0x01, 0x46, 0xb3, 0xef, 0xdd, 0x44, 0x7b,
    0xc2, 0x7f, 0xbe, 0xc3, 0x9f, 0x20, 0x4c, 0x64, 0x83, 0xa2, 0x68, 0x42,
    0x13, 0xb4, 0x41, 0xcd, 0xba, 0xc6, 0xbb, 0x6d, 0x4d, 0x71, 0x21, 0xf4,
    0x8d, 0xb0, 0xe5, 0x93, 0xfe, 0x8f, 0xe6, 0xcf, 0x43, 0x45, 0x31, 0x22,
    0x37, 0x36, 0x96, 0xfa, 0xbc, 0x0f, 0x08, 0x52, 0x1d, 0x55, 0x1a, 0xc5,
    0x4e, 0x23, 0x69, 0x7a, 0x92, 0xff, 0x5b, 0x5a, 0xeb, 0x9a, 0x1c, 0xa9,
    0xd1, 0x7e, 0x0d, 0xfc, 0x50, 0x8a, 0xb6, 0x62, 0xf5, 0x0a, 0xf8, 0xdc,
    0x03, 0x3c, 0x0c, 0x39, 0xf1, 0xb8, 0xf3, 0x3d, 0xf2, 0xd5, 0x97, 0x66,
    0x81, 0x32, 0xa0, 0x00, 0x06, 0xce, 0xf6, 0xea, 0xb7, 0x17, 0xf7, 0x8c,
    0x79, 0xd6, 0xa7, 0xbf, 0x8b, 0x3f, 0x1f, 0x53, 0x63, 0x75, 0x35, 0x2c,
    0x60, 0xfd, 0x27, 0xd3, 0x94, 0xa5, 0x7c, 0xa1, 0x05, 0x58, 0x2d, 0xbd,
    0xd9, 0xc7, 0xaf, 0x6b, 0x54, 0x0b, 0xe0, 0x38, 0x04, 0xc8, 0x9d, 0xe7,
    0x14, 0xb1, 0x87, 0x9c, 0xdf, 0x6f, 0xf9, 0xda, 0x2a, 0xc4, 0x59, 0x16,
    0x74, 0x91, 0xab, 0x26, 0x61, 0x76, 0x34, 0x2b, 0xad, 0x99, 0xfb, 0x72,
    0xec, 0x33, 0x12, 0xde, 0x98, 0x3b, 0xc0, 0x9b, 0x3e, 0x18, 0x10, 0x3a,
    0x56, 0xe1, 0x77, 0xc9, 0x1e, 0x9e, 0x95, 0xa3, 0x90, 0x19, 0xa8, 0x6c,
    0x09, 0xd0, 0xf0, 0x86};

/*
 * t1[k][x] and t2[k][x]: the column of S1 and S2 contributed by input octet
 * x in position k (0 = most significant); mul_alpha and div_alpha: the
 * LFSR feedback constants MULalpha and DIValpha (TS 35.216 3.4.5, 3.4.6).
 */
static uint32_t t1[4][256], t2[4][256];
static uint32_t mul_alpha[256], div_alpha[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* MULx (TS 35.216 3.1.1) */
static uint8_t mulx(uint8_t v, uint8_t c)
{
    return (uint8_t)((v & 0x80) ? (v << 1) ^ c : v << 1);
}

/* MULxPOW (TS 35.216 3.1.2) */
static uint8_t mulx_pow(uint8_t v, unsigned i, uint8_t c)
{
    while (i-- > 0) {
        v = mulx(v, c);
    }
    return v;
}

static uint32_t rotr32(uint32_t v, unsigned n)
{
    return v >> n | v << (32 - n);
}

static void build_tables(void)
{
    for (unsigned x = 0; x < 256; x++) {
        uint8_t a = sr[x], b = sq[x];
        uint8_t v = (uint8_t)x;

        /* S1 and S2 are MixColumns-like (TS 35.216 3.3.1, 3.3.2): octet 0
         * feeds (2a, 3a, a, a); octets 1..3 the same column rotated. */
        t1[0][x] = (uint32_t)mulx(a, 0x1B) << 24 |
                   (uint32_t)(mulx(a, 0x1B) ^ a) << 16 | (uint32_t)a << 8 | a;
        t2[0][x] = (uint32_t)mulx(b, 0x69) << 24 |
                   (uint32_t)(mulx(b, 0x69) ^ b) << 16 | (uint32_t)b << 8 | b;
        for (unsigned k = 1; k < 4; k++) {
            t1[k][x] = rotr32(t1[0][x], 8 * k);
            t2[k][x] = rotr32(t2[0][x], 8 * k);
        }
        mul_alpha[x] = (uint32_t)mulx_pow(v, 23, 0xA9) << 24 |
                       (uint32_t)mulx_pow(v, 245, 0xA9) << 16 |
                       (uint32_t)mulx_pow(v, 48, 0xA9) << 8 |
                       mulx_pow(v, 239, 0xA9);
        div_alpha[x] = (uint32_t)mulx_pow(v, 16, 0xA9) << 24 |
                       (uint32_t)mulx_pow(v, 39, 0xA9) << 16 |
                       (uint32_t)mulx_pow(v, 6, 0xA9) << 8 |
                       mulx_pow(v, 64, 0xA9);
    }
}

static void tables_init(void)
{
    (void)pthread_once(&tables_once, build_tables);
}

#define SBOX(t, w)                                                             \
    ((t)[0][(w) >> 24] ^ (t)[1][((w) >> 16) & 0xFF] ^                          \
     (t)[2][((w) >> 8) & 0xFF] ^ (t)[3][(w)&0xFF])

struct snow3g {
    uint32_t s[16];
    uint32_t r1, r2, r3;
};

/* One clock of FSM and LFSR at ring position i; f is the FSM output. */
#define SNOW_CLOCK(st, i, f)                                                   \
    do {                                                                       \
        uint32_t s0_ = (st)->s[(i)&15];                                        \
        uint32_t s11_ = (st)->s[((i) + 11) & 15];                              \
        uint32_t r_ = (st)->r2 + ((st)->r3 ^ (st)->s[((i) + 5) & 15]);         \
        (f) = ((st)->s[((i) + 15) & 15] + (st)->r1) ^ (st)->r2;                \
        (st)->r3 = SBOX(t2, (st)->r2);                                         \
        (st)->r2 = SBOX(t1, (st)->r1);                                         \
        (st)->r1 = r_;                                                         \
        (st)->s[(i)&15] = (s0_ << 8) ^ mul_alpha[s0_ >> 24] ^                  \
                          (st)->s[((i) + 2) & 15] ^ (s11_ >> 8) ^              \
                          div_alpha[s11_ & 0xFF];                              \
    } while (0)

/* Keystream: z = F ^ s0, taken before the clock moves s0. */
#define SNOW_OUT(st, i, z)                                                     \
    do {                                                                       \
        uint32_t f_, s0o_ = (st)->s[(i)&15];                                   \
        SNOW_CLOCK(st, i, f_);                                                 \
        (z) = f_ ^ s0o_;                                                       \
    } while (0)

/* Initialisation, TS 35.216 4.1: key and IV loading, 32 clocks in
 * initialisation mode, then one clock in keystream mode whose output is
 * discarded.  After it the ring is back at position 1; rotate so that the
 * keystream loop starts at position 0. */
static void snow3g_init(struct snow3g *st, const uint32_t k[4],
                        const uint32_t iv[4])
{
    const uint32_t ones = 0xFFFFFFFFu;
    uint32_t f, tmp[16];

    tables_init();
    st->s[15] = k[3] ^ iv[0];
    st->s[14] = k[2];
    st->s[13] = k[1];
    st->s[12] = k[0] ^ iv[1];
    st->s[11] = k[3] ^ ones;
    st->s[10] = k[2] ^ ones ^ iv[2];
    st->s[9] = k[1] ^ ones ^ iv[3];
    st->s[8] = k[0] ^ ones;
    st->s[7] = k[3];
    st->s[6] = k[2];
    st->s[5] = k[1];
    st->s[4] = k[0];
    st->s[3] = k[3] ^ ones;
    st->s[2] = k[2] ^ ones;
    st->s[1] = k[1] ^ ones;
    st->s[0] = k[0] ^ ones;
    st->r1 = st->r2 = st->r3 = 0;

    /* 32 clocks in initialisation mode: F enters the feedback. */
    for (unsigned n = 0; n < 32; n++) {
        unsigned i = n & 15;

        SNOW_CLOCK(st, i, f);
        st->s[i] ^= f;
    }
    SNOW_CLOCK(st, 0, f);
    (void)f;

    for (unsigned j = 0; j < 16; j++) {
        tmp[j] = st->s[(j + 1) & 15];
    }
    memcpy(st->s, tmp, sizeof(tmp));
    prosec_wipe(tmp, sizeof(tmp));
}

/* Sixteen keystream words. */
static void snow3g_block(struct snow3g *st, uint32_t z[16])
{
    SNOW_OUT(st, 0, z[0]);
    SNOW_OUT(st, 1, z[1]);
    SNOW_OUT(st, 2, z[2]);
    SNOW_OUT(st, 3, z[3]);
    SNOW_OUT(st, 4, z[4]);
    SNOW_OUT(st, 5, z[5]);
    SNOW_OUT(st, 6, z[6]);
    SNOW_OUT(st, 7, z[7]);
    SNOW_OUT(st, 8, z[8]);
    SNOW_OUT(st, 9, z[9]);
    SNOW_OUT(st, 10, z[10]);
    SNOW_OUT(st, 11, z[11]);
    SNOW_OUT(st, 12, z[12]);
    SNOW_OUT(st, 13, z[13]);
    SNOW_OUT(st, 14, z[14]);
    SNOW_OUT(st, 15, z[15]);
}

void prosec_snow3g_keystream(const uint32_t k[4], const uint32_t iv[4],
                             uint32_t *z, size_t n)
{
    struct snow3g st;
    uint32_t blk[16];

    snow3g_init(&st, k, iv);
    while (n > 0) {
        size_t take = n < 16 ? n : 16;

        snow3g_block(&st, blk);
        memcpy(z, blk, take * sizeof(*z));
        z += take;
        n -= take;
    }
    prosec_wipe(&st, sizeof(st));
    prosec_wipe(blk, sizeof(blk));
}

/* The key words of f8 and f9 (TS 35.215 4.3.2, 4.4.2): k3 is the first 32
 * bits of the key, k0 the last. */
static void key_words(uint32_t k[4], const uint8_t key[PROSEC_ALG_KEY_LEN])
{
    k[3] = prosec__load32_be(key);
    k[2] = prosec__load32_be(key + 4);
    k[1] = prosec__load32_be(key + 8);
    k[0] = prosec__load32_be(key + 12);
}

void prosec__eea1(const uint8_t key[PROSEC_ALG_KEY_LEN],
                  const struct prosec__iv *iv, const uint8_t *in, uint8_t *out,
                  size_t bits)
{
    struct snow3g st;
    uint32_t k[4], v[4], z[16];
    uint8_t ks[64];
    size_t len = prosec__bytes(bits);

    /* f8 IV (TS 35.215 4.3.2) with the 5-bit BEARER of 128-EEA1:
     * IV3 = IV1 = COUNT, IV2 = IV0 = BEARER || DIRECTION || 0^26. */
    key_words(k, key);
    v[3] = v[1] = iv->count;
    v[2] = v[0] = (uint32_t)iv->bearer << 27 | (uint32_t)iv->direction << 26;
    snow3g_init(&st, k, v);

    while (len > 0) {
        size_t take = len < sizeof(ks) ? len : sizeof(ks);

        snow3g_block(&st, z);
        for (unsigned j = 0; j < 16; j++) {
            prosec__store32_be(ks + 4 * j, z[j]);
        }
        for (size_t j = 0; j < take; j++) {
            out[j] = in[j] ^ ks[j];
        }
        in += take;
        out += take;
        len -= take;
    }

    prosec_wipe(&st, sizeof(st));
    prosec_wipe(k, sizeof(k));
    prosec_wipe(z, sizeof(z));
    prosec_wipe(ks, sizeof(ks));
}

/* The five keystream words of f9 (TS 35.215 4.4.2): z1..z5. */
static void snow3g_f9_words(struct snow3g *st, uint32_t z[5])
{
    SNOW_OUT(st, 0, z[0]);
    SNOW_OUT(st, 1, z[1]);
    SNOW_OUT(st, 2, z[2]);
    SNOW_OUT(st, 3, z[3]);
    SNOW_OUT(st, 4, z[4]);
}

uint32_t prosec__eia1(const uint8_t key[PROSEC_ALG_KEY_LEN],
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits)
{
    struct snow3g st;
    uint32_t k[4], v[4], z[5], fresh, mac;
    uint64_t p, q, eval;

    /* f9 IV (TS 35.215 4.4.2); FRESH is BEARER << 27 for 128-EIA1. */
    fresh = iv->fresh;
    key_words(k, key);
    v[3] = iv->count;
    v[2] = fresh;
    v[1] = iv->count ^ ((uint32_t)iv->direction << 31);
    v[0] = fresh ^ ((uint32_t)iv->direction << 15);
    snow3g_init(&st, k, v);
    snow3g_f9_words(&st, z);

    /* P = z1 || z2, Q = z3 || z4, OTP = z5; EVAL in mul64.c (4.4.3). */
    p = (uint64_t)z[0] << 32 | z[1];
    q = (uint64_t)z[2] << 32 | z[3];
    eval = prosec__f9_eval(p, q, msg, bits);
    mac = (uint32_t)(eval >> 32) ^ z[4];

    prosec_wipe(&st, sizeof(st));
    prosec_wipe(k, sizeof(k));
    prosec_wipe(z, sizeof(z));
    prosec_wipe(&p, sizeof(p));
    prosec_wipe(&q, sizeof(q));
    prosec_wipe(&eval, sizeof(eval));
    return mac;
}

const uint8_t *prosec__snow3g_sbox(unsigned which)
{
    return which == 0 ? sr : sq;
}
