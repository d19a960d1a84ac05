/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ZUC (TS 35.222) and the 3GPP algorithms built on it: 128-EEA3 and
 * 128-EIA3 (TS 35.221), in portable C.
 *
 * Like SNOW 3G here, ZUC's S-boxes are table lookups on secret state: not
 * constant time against a local cache-timing attacker.
 *
 * The LFSR is a ring of 16 31-bit words, indexed as in snow3g.c: at step i
 * of a block of 16, s_j is s[(i + j) % 16] and the new s16 replaces s0.
 */
#include <string.h>

#include "internal.h"

static const uint8_t s0_box[256] = {
    0x3e, 0x72, 0x5b, 0x47, 0xca, 0xe0, 0x00, 0x33, 0x04, 0xd1, 0x54, 0x98,
    0x09, 0xb9, 0x6d, 0xcb, 0x7b, 0x1b, 0xf9, 0x32, 0xaf, 0x9d, 0x6a, 0xa5,
    0xb8, 0x2d, 0xfc, 0x1d, 0x08, 0x53, 0x03, 0x90, 0x4d, 0x4e, 0x84, 0x99,
    0xe4, 0xce, 0xd9, 0x91, 0xdd, 0xb6, 0x85, 0x48, 0x8b, 0x29, 0x6e, 0xac,
    0xcd, 0xc1, 0xf8, 0x1e, 0x73, 0x43, 0x69, 0xc6, 0xb5, 0xbd, 0xfd, 0x39,
    0x63, 0x20, 0xd4, 0x38, 0x76, 0x7d, 0xb2, 0xa7, 0xcf, 0xed, 0x57, 0xc5,
    0xf3, 0x2c, 0xbb, 0x14, 0x21, 0x06, 0x55, 0x9b, 0xe3, 0xef, 0x5e, 0x31,
    0x4f, 0x7f, 0x5a, 0xa4, 0x0d, 0x82, 0x51, 0x49, 0x5f, 0xba, 0x58, 0x1c,
    0x4a, 0x16, 0xd5, 0x17, 0xa8, 0x92, 0x24, 0x1f, 0x8c, 0xff, 0xd8, 0xae,
    0x2e, 0x01, 0xd3, 0xad, 0x3b, 0x4b, 0xda, 0x46, 0xeb, 0xc9, 0xde, 0x9a,
    0x8f, 0x87, 0xd7, 0x3a, 0x80, 0x6f, 0x2f, 0xc8, 0xb1, 0xb4, 0x37, 0xf7,
    0x0a, 0x22, 0x13, 0x28, 0x7c, 0xcc, 0x3c, 0x89, 0xc7, 0xc3, 0x96, 0x56,
    0x07, 0xbf, 0x7e, 0xf0, 0x0b, 0x2b, 0x97, 0x52, 0x35, 0x41, 0x79, 0x61,
    0xa6, 0x4c, 0x10, 0xfe, 0xbc, 0x26, 0x95, 0x88, 0x8a, 0xb0, 0xa3, 0xfb,
    0xc0, 0x18, 0x94, 0xf2, 0xe1, 0xe5, 0xe9, 0x5d, 0xd0, 0xdc, 0x11, 0x66,
    0x64, 0x5c, 0xec, 0x59, 0x42, 0x75, 0x12, 0xf5, 0x74, 0x9c, 0xaa, 0x23,
    0x0e, 0x86, 0xab, 0xbe, 0x2a, 0x02, 0xe7, 0x67, 0xe6, 0x44, 0xa2, 0x6c,
    0xc2, 0x93, 0x9f, 0xf1, 0xf6, 0xfa, 0x36, 0xd2, 0x50, 0x68, 0x9e, 0x62,
    0x71, 0x15, 0x3d, 0xd6, 0x40, 0xc4, 0xe2, 0x0f, 0x8e, 0x83, 0x77, 0x6b,
    0x25, 0x05, 0x3f, 0x0c, 0x30, 0xea, 0x70, 0xb7, 0xa1, 0xe8, 0xa9, 0x65,
    0x8d, 0x27, 0x1a, 0xdb, 0x81, 0xb3, 0xa0, 0xf4, 0x45, 0x7a, 0x19, 0xdf,
    0xee, 0x78, 0x34, 0x60};

static const uint8_t s1_box[256] = {
    0x55, 0xc2, 0x63, 0x71, 0x3b, 0xc8, 0x47, 0x86, 0x9f, 0x3c, 0xda, 0x5b,
    0x29, 0xaa, 0xfd, 0x77, 0x8c, 0xc5, 0x94, 0x0c, 0xa6, 0x1a, 0x13, 0x00,
    0xe3, 0xa8, 0x16, 0x72, 0x40, 0xf9, 0xf8, 0x42, 0x44, 0x26, 0x68, 0x96,
    0x81, 0xd9, 0x45, 0x3e, 0x10, 0x76, 0xc6, 0xa7, 0x8b, 0x39, 0x43, 0xe1,
    0x3a, 0xb5, 0x56, 0x2a, 0xc0, 0x6d, 0xb3, 0x05, 0x22, 0x66, 0xbf, 0xdc,
    0x0b, 0xfa, 0x62, 0x48, 0xdd, 0x20, 0x11, 0x06, 0x36, 0xc9, 0xc1, 0xcf,
    0xf6, 0x27, 0x52, 0xbb, 0x69, 0xf5, 0xd4, 0x87, 0x7f, 0x84, 0x4c, 0xd2,
    0x9c, 0x57, 0xa4, 0xbc, 0x4f, 0x9a, 0xdf, 0xfe, 0xd6, 0x8d, 0x7a, 0xeb,
    0x2b, 0x53, 0xd8, 0x5c, 0xa1, 0x14, 0x17, 0xfb, 0x23, 0xd5, 0x7d, 0x30,
    0x67, 0x73, 0x08, 0x09, 0xee, 0xb7, 0x70, 0x3f, 0x61, 0xb2, 0x19, 0x8e,
    0x4e, 0xe5, 0x4b, 0x93, 0x8f, 0x5d, 0xdb, 0xa9, 0xad, 0xf1, 0xae, 0x2e,
    0xcb, 0x0d, 0xfc, 0xf4, 0x2d, 0x46, 0x6e, 0x1d, 0x97, 0xe8, 0xd1, 0xe9,
    0x4d, 0x37, 0xa5, 0x75, 0x5e, 0x83, 0x9e, 0xab, 0x82, 0x9d, 0xb9, 0x1c,
    0xe0, 0xcd, 0x49, 0x89, 0x01, 0xb6, 0xbd, 0x58, 0x24, 0xa2, 0x5f, 0x38,
    0x78, 0x99, 0x15, 0x90, 0x50, 0xb8, 0x95, 0xe4, 0xd0, 0x91, 0xc7, 0xce,
    0xed, 0x0f, 0xb4, 0x6f, 0xa0, 0xcc, 0xf0, 0x02, 0x4a, 0x79, 0xc3, 0xde,
    0xa3, 0xef, 0xea, 0x51, 0xe6, 0x6b, 0x18, 0xec, 0x1b, 0x2c, 0x80, 0xf7,
    0x74, 0xe7, 0xff, 0x21, 0x5a, 0x6a, 0x54, 0x1e, 0x41, 0x31, 0x92, 0x35,
    0xc4, 0x33, 0x07, 0x0a, 0xba, 0x7e, 0x0e, 0x34, 0x88, 0xb1, 0x98, 0x7c,
    0xf3, 0x3d, 0x60, 0x6c, 0x7b, 0xca, 0xd3, 0x1f, 0x32, 0x65, 0x04, 0x28,
    0x64, 0xbe, 0x85, 0x9b, 0x2f, 0x59, 0x8a, 0xd7, 0xb0, 0x25, 0xac, 0xaf,
    0x12, 0x03, 0xe2, 0xf2};

/* The key-loading constants d0..d15, 15 bits each (TS 35.222 3.5). */
static const uint16_t ek_d[16] = {
    0x44d7, 0x26bc, 0x626b, 0x135e, 0x5789, 0x35e2, 0x7135, 0x09af,
    0x4d78, 0x2f13, 0x6bc4, 0x1af1, 0x5e26, 0x3c4d, 0x789a, 0x47ac};

struct zuc {
    uint32_t s[16];
    uint32_t r1, r2;
};

static uint32_t rotl32(uint32_t v, unsigned n)
{
    return v << n | v >> (32 - n);
}

/* Addition modulo 2^31 - 1 of two 31-bit values. */
static uint32_t add31(uint32_t a, uint32_t b)
{
    uint32_t c = a + b;

    return (c & 0x7FFFFFFFu) + (c >> 31);
}

/* Multiplication by 2^k modulo 2^31 - 1: a rotation within 31 bits. */
static uint32_t rot31(uint32_t a, unsigned k)
{
    return ((a << k) | (a >> (31 - k))) & 0x7FFFFFFFu;
}

static uint32_t l1(uint32_t x)
{
    return x ^ rotl32(x, 2) ^ rotl32(x, 10) ^ rotl32(x, 18) ^ rotl32(x, 24);
}

static uint32_t l2(uint32_t x)
{
    return x ^ rotl32(x, 8) ^ rotl32(x, 14) ^ rotl32(x, 22) ^ rotl32(x, 30);
}

static uint32_t sbox(uint32_t x)
{
    return (uint32_t)s0_box[x >> 24] << 24 |
           (uint32_t)s1_box[(x >> 16) & 0xFF] << 16 |
           (uint32_t)s0_box[(x >> 8) & 0xFF] << 8 | s1_box[x & 0xFF];
}

/*
 * One step at ring position i: bit reorganisation, the nonlinear function
 * F (whose output goes to w), and the LFSR feedback s16 (without the
 * initialisation-mode term, which the caller adds).  x3 is the fourth word
 * of the bit reorganisation, for the keystream.
 */
#define ZUC_STEP(st, i, w, x3)                                                 \
    do {                                                                       \
        uint32_t *s_ = (st)->s;                                                \
        uint32_t x0_ = (s_[((i) + 15) & 15] & 0x7FFF8000u) << 1 |              \
                       (s_[((i) + 14) & 15] & 0xFFFF);                         \
        uint32_t x1_ =                                                         \
            (s_[((i) + 11) & 15] & 0xFFFF) << 16 | s_[((i) + 9) & 15] >> 15;   \
        uint32_t x2_ =                                                         \
            (s_[((i) + 7) & 15] & 0xFFFF) << 16 | s_[((i) + 5) & 15] >> 15;    \
        uint32_t w1_, w2_, v_;                                                 \
        (x3) = (s_[((i) + 2) & 15] & 0xFFFF) << 16 | s_[(i)&15] >> 15;         \
        (w) = ((x0_ ^ (st)->r1) + (st)->r2);                                   \
        w1_ = (st)->r1 + x1_;                                                  \
        w2_ = (st)->r2 ^ x2_;                                                  \
        (st)->r1 = sbox(l1(w1_ << 16 | w2_ >> 16));                            \
        (st)->r2 = sbox(l2(w2_ << 16 | w1_ >> 16));                            \
        v_ = add31(rot31(s_[((i) + 15) & 15], 15),                             \
                   rot31(s_[((i) + 13) & 15], 17));                            \
        v_ = add31(v_, rot31(s_[((i) + 10) & 15], 21));                        \
        v_ = add31(v_, rot31(s_[((i) + 4) & 15], 20));                         \
        v_ = add31(v_, rot31(s_[(i)&15], 8));                                  \
        v_ = add31(v_, s_[(i)&15]);                                            \
        s_[(i)&15] = v_;                                                       \
    } while (0)

/* Keystream word: Z = F(X0, X1, X2) ^ X3 (TS 35.222 3.6.2). */
#define ZUC_OUT(st, i, z)                                                      \
    do {                                                                       \
        uint32_t w_, x3_;                                                      \
        ZUC_STEP(st, i, w_, x3_);                                              \
        (z) = w_ ^ x3_;                                                        \
    } while (0)

static void zuc_init(struct zuc *st, const uint8_t key[16],
                     const uint8_t iv[16])
{
    uint32_t w, x3, tmp[16];

    /* Key loading (3.5): s_i = k_i || d_i || iv_i. */
    for (unsigned i = 0; i < 16; i++) {
        st->s[i] = (uint32_t)key[i] << 23 | (uint32_t)ek_d[i] << 8 | iv[i];
    }
    st->r1 = st->r2 = 0;

    /* 32 rounds in initialisation mode (3.6.1): s16 += W >> 1, and a zero
     * result becomes 2^31 - 1. */
    for (unsigned n = 0; n < 32; n++) {
        unsigned i = n & 15;

        ZUC_STEP(st, i, w, x3);
        st->s[i] = add31(st->s[i], w >> 1);
        if (st->s[i] == 0) {
            st->s[i] = 0x7FFFFFFFu;
        }
    }
    /* The first step of the working stage discards W (3.6.2). */
    ZUC_STEP(st, 0, w, x3);
    (void)w;
    (void)x3;

    for (unsigned j = 0; j < 16; j++) {
        tmp[j] = st->s[(j + 1) & 15];
    }
    memcpy(st->s, tmp, sizeof(tmp));
    prosec_wipe(tmp, sizeof(tmp));
}

static void zuc_block(struct zuc *st, uint32_t z[16])
{
    ZUC_OUT(st, 0, z[0]);
    ZUC_OUT(st, 1, z[1]);
    ZUC_OUT(st, 2, z[2]);
    ZUC_OUT(st, 3, z[3]);
    ZUC_OUT(st, 4, z[4]);
    ZUC_OUT(st, 5, z[5]);
    ZUC_OUT(st, 6, z[6]);
    ZUC_OUT(st, 7, z[7]);
    ZUC_OUT(st, 8, z[8]);
    ZUC_OUT(st, 9, z[9]);
    ZUC_OUT(st, 10, z[10]);
    ZUC_OUT(st, 11, z[11]);
    ZUC_OUT(st, 12, z[12]);
    ZUC_OUT(st, 13, z[13]);
    ZUC_OUT(st, 14, z[14]);
    ZUC_OUT(st, 15, z[15]);
}

void prosec_zuc_keystream(const uint8_t key[16], const uint8_t iv[16],
                          uint32_t *z, size_t n)
{
    struct zuc st;
    uint32_t blk[16];

    zuc_init(&st, key, iv);
    while (n > 0) {
        size_t take = n < 16 ? n : 16;

        zuc_block(&st, blk);
        memcpy(z, blk, take * sizeof(*z));
        z += take;
        n -= take;
    }
    prosec_wipe(&st, sizeof(st));
    prosec_wipe(blk, sizeof(blk));
}

void prosec__eea3(const uint8_t key[PROSEC_ALG_KEY_LEN],
                  const struct prosec__iv *iv, const uint8_t *in, uint8_t *out,
                  size_t bits)
{
    struct zuc st;
    uint8_t v[16], ks[64];
    uint32_t z[16];
    size_t len = prosec__bytes(bits);

    /* IV (TS 35.221 3.3): COUNT || BEARER || DIRECTION || 0^26, twice. */
    prosec__store32_be(v, iv->count);
    v[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);
    v[5] = v[6] = v[7] = 0;
    memcpy(v + 8, v, 8);
    zuc_init(&st, key, v);

    while (len > 0) {
        size_t take = len < sizeof(ks) ? len : sizeof(ks);

        zuc_block(&st, z);
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
    prosec_wipe(z, sizeof(z));
    prosec_wipe(ks, sizeof(ks));
}

/*
 * The EIA3 sum over one 32-bit message word m whose first bit sits at
 * keystream bit 32j, given the 64 keystream bits k = z_j || z_{j+1}: the
 * XOR over the set bits t of m (t = 0 the most significant) of the
 * keystream word starting at bit 32j + t, which is (k >> (32 - t))
 * truncated to 32 bits.
 *
 * Four message bits at a time: nibble n covers t = 4n + u, u = 0..3, whose
 * terms are (k >> (28 - 4n)) >> (4 - u).  tab[v] holds the XOR of k >> 1
 * (bit 0 of v, u = 3) .. k >> 4 (bit 3, u = 0); shifting right commutes
 * with XOR, so each nibble costs one lookup and one shift.
 */
static uint32_t eia3_word(uint32_t m, uint64_t k)
{
    uint64_t tab[16];
    uint64_t acc = 0;

    tab[0] = 0;
    tab[1] = k >> 1;
    tab[2] = k >> 2;
    tab[4] = k >> 3;
    tab[8] = k >> 4;
    tab[3] = tab[1] ^ tab[2];
    tab[5] = tab[1] ^ tab[4];
    tab[6] = tab[2] ^ tab[4];
    tab[7] = tab[3] ^ tab[4];
    for (unsigned j = 9; j < 16; j++) {
        tab[j] = tab[8] ^ tab[j - 8];
    }
    for (unsigned n = 0; n < 8; n++) {
        unsigned sh = 28 - 4 * n;

        acc ^= tab[(m >> sh) & 0xF] >> sh;
    }
    return (uint32_t)acc;
}

/* The keystream as a sequence of words, sixteen generated at a time. */
struct zuc_stream {
    struct zuc st;
    uint32_t buf[16];
    unsigned pos;
};

static uint32_t zuc_next(struct zuc_stream *zs)
{
    if (zs->pos == 16) {
        zuc_block(&zs->st, zs->buf);
        zs->pos = 0;
    }
    return zs->buf[zs->pos++];
}

uint32_t prosec__eia3(const uint8_t key[PROSEC_ALG_KEY_LEN],
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits)
{
    struct zuc_stream zs;
    uint8_t v[16], last[4];
    uint32_t prev = 0, cur, nxt, t = 0, z_len, mac;
    size_t words = bits / 32 + (bits % 32 != 0);
    size_t full = bits / 32;
    unsigned r = (unsigned)(bits % 32);

    /* IV (TS 35.221 4.3): as EEA3 but BEARER || 0^27, with DIRECTION at
     * the top of octets 8 and 14. */
    prosec__store32_be(v, iv->count);
    v[4] = (uint8_t)(iv->bearer << 3);
    v[5] = v[6] = v[7] = 0;
    memcpy(v + 8, v, 8);
    v[8] ^= (uint8_t)(iv->direction << 7);
    v[14] ^= (uint8_t)(iv->direction << 7);
    zuc_init(&zs.st, key, v);
    zs.pos = 16;

    /* T = XOR of z_i over the set message bits i (4.4).  Message word j
     * needs keystream words j and j + 1; the last word is masked to its
     * used bits. */
    cur = zuc_next(&zs);
    nxt = zuc_next(&zs);
    for (size_t j = 0; j < words; j++) {
        uint32_t m;

        if (j < full) {
            m = prosec__load32_be(msg + 4 * j);
        } else {
            memset(last, 0, sizeof(last));
            memcpy(last, msg + 4 * j, prosec__bytes(r));
            m = prosec__load32_be(last) & (0xFFFFFFFFu << (32 - r));
        }
        t ^= eia3_word(m, (uint64_t)cur << 32 | nxt);
        prev = cur;
        cur = nxt;
        nxt = zuc_next(&zs);
    }

    /* Now cur is word `words` and nxt word words + 1 = L - 1, where
     * L = ceil(LENGTH / 32) + 2.  T ^= z_LENGTH; MAC = T ^ z_32(L-1). */
    if (r == 0) {
        z_len = cur;
    } else {
        z_len = (uint32_t)(((uint64_t)prev << 32 | cur) >> (32 - r));
    }
    mac = t ^ z_len ^ nxt;

    prosec_wipe(&zs, sizeof(zs));
    prosec_wipe(&prev, sizeof(prev));
    prosec_wipe(&cur, sizeof(cur));
    prosec_wipe(&nxt, sizeof(nxt));
    prosec_wipe(&z_len, sizeof(z_len));
    return mac;
}

const uint8_t *prosec__zuc_sbox(unsigned which)
{
    return which == 0 ? s0_box : s1_box;
}

const uint16_t *prosec__zuc_d(void)
{
    return ek_d;
}
