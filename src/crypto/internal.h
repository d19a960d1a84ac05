/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plumbing shared by the files of src/crypto: byte-order helpers and the
 * backend interface.  Nothing here is part of the public API.
 *
 * Backends receive validated input only: the key is PROSEC_ALG_KEY_LEN
 * octets, bearer and direction are in range, buffers hold ceil(bits / 8)
 * octets and out either equals in or does not overlap it.  A backend may
 * leave garbage in the unused trailing bits of the last output octet (the
 * front end clears them) but must write nothing past it, and must ignore
 * the unused trailing bits of its input.
 */
#ifndef PROSEC_CRYPTO_INTERNAL_H
#define PROSEC_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "prosec/crypto.h"

static inline uint32_t prosec__load32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline void prosec__store32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint64_t prosec__load64_be(const uint8_t *p)
{
    return (uint64_t)prosec__load32_be(p) << 32 | prosec__load32_be(p + 4);
}

/* A piece of a message given in parts. */
struct prosec__part {
    const uint8_t *data;
    size_t len;
};

/* Octets that hold bits bits. */
static inline size_t prosec__bytes(size_t bits)
{
    return bits / 8 + (bits % 8 != 0);
}

/* Mask of the used bits of the last octet of a bits-long string. */
static inline uint8_t prosec__tail_mask(size_t bits)
{
    return (uint8_t)(0xFF00u >> (bits % 8 == 0 ? 8 : bits % 8));
}

/* The per-call inputs besides key and data. */
struct prosec__iv {
    uint32_t count;
    uint8_t bearer;
    uint8_t direction;
    uint32_t fresh; /* FRESH of f9 (EIA1): BEARER << 27 for 128-EIA1 */
};

/* A key prepared for one backend; see prosec_alg_key_new. */
struct prosec_alg_key {
    const struct prosec__backend *be;
    uint8_t key[PROSEC_ALG_KEY_LEN];
    void *state; /* the backend's own, or NULL */
};

struct prosec__backend {
    enum prosec_backend id;
    /* Prepares k->state from k->key; may be NULL. */
    prosec_err (*key_init)(struct prosec_alg_key *k);
    /* Wipes and frees k->state (which may be NULL). */
    void (*key_free)(struct prosec_alg_key *k);
    prosec_err (*eea)(struct prosec_alg_key *k, unsigned alg,
                      const struct prosec__iv *iv, const uint8_t *in,
                      uint8_t *out, size_t bits);
    prosec_err (*eia)(struct prosec_alg_key *k, unsigned alg,
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits, uint8_t mac[PROSEC_MAC_LEN]);
};

extern const struct prosec__backend prosec__backend_portable;
#ifdef PROSEC_HAVE_IPSECMB
extern const struct prosec__backend prosec__backend_ipsecmb;
/* True when intel-ipsec-mb initialises on this CPU. */
bool prosec__ipsecmb_usable(void);
#endif

/*
 * UIA2 (f9) with any FRESH, which 128-EIA1 fixes to BEARER << 27: only the
 * official UIA2 test data need it.  Runs on k's backend.
 */
prosec_err prosec__uia2(struct prosec_alg_key *k, uint32_t count,
                        uint32_t fresh, uint8_t direction, const uint8_t *msg,
                        size_t bits, uint8_t mac[PROSEC_MAC_LEN]);

/* The S-box tables, for the test against the official constants:
 * which = 0 gives SR (SNOW 3G) or S0 (ZUC), 1 gives SQ or S1. */
const uint8_t *prosec__snow3g_sbox(unsigned which);
const uint8_t *prosec__zuc_sbox(unsigned which);
const uint16_t *prosec__zuc_d(void);

/* HMAC-SHA-256 over the concatenation of n parts (kdf.c). */
prosec_err prosec__hmac_sha256(uint8_t out[32], const uint8_t *key,
                               size_t key_len, const struct prosec__part *parts,
                               size_t n);

/* Portable primitives (snow3g.c, zuc.c, aes.c). */
void prosec__eea1(const uint8_t key[PROSEC_ALG_KEY_LEN],
                  const struct prosec__iv *iv, const uint8_t *in, uint8_t *out,
                  size_t bits);
uint32_t prosec__eia1(const uint8_t key[PROSEC_ALG_KEY_LEN],
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits);
void prosec__eea3(const uint8_t key[PROSEC_ALG_KEY_LEN],
                  const struct prosec__iv *iv, const uint8_t *in, uint8_t *out,
                  size_t bits);
uint32_t prosec__eia3(const uint8_t key[PROSEC_ALG_KEY_LEN],
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits);

/*
 * EVAL of f9 (TS 35.215 4.4.3) over a bits-long message, with P and Q
 * from the keystream: the value whose high 32 bits, XORed with z5, are
 * MAC-I (mul64.c).  Constant time in p, q and the message.
 */
uint64_t prosec__f9_eval(uint64_t p, uint64_t q, const uint8_t *msg,
                         size_t bits);

/* MUL64 (TS 35.215 4.3.3): v * p in GF(2^64), with the multiplier in use. */
uint64_t prosec__mul64(uint64_t v, uint64_t p);

/* The multipliers of mul64.c. */
enum prosec__mul64_impl {
    PROSEC__MUL64_AUTO,     /* the CPU's carry-less multiply if it has one */
    PROSEC__MUL64_PORTABLE, /* plain C, whatever the CPU */
    PROSEC__MUL64_CLMUL     /* PCLMULQDQ or PMULL */
};

/*
 * For tests: makes every later f9 of the process use impl (the default is
 * AUTO, chosen at first use).  Returns false, and changes nothing, when
 * this build or CPU lacks impl.  Safe to call from any thread; calls in
 * flight finish with the multiplier they started with.
 */
bool prosec__mul64_select(enum prosec__mul64_impl impl);

/* The multiplier in use: "portable", "pclmul" or "pmull". */
const char *prosec__mul64_name(void);

/* OpenSSL AES state of a key (aes.c). */
struct prosec__aes;
prosec_err prosec__aes_new(struct prosec__aes **out,
                           const uint8_t key[PROSEC_ALG_KEY_LEN]);
void prosec__aes_free(struct prosec__aes *a);
prosec_err prosec__eea2(struct prosec__aes *a, const struct prosec__iv *iv,
                        const uint8_t *in, uint8_t *out, size_t bits);
prosec_err prosec__eia2(struct prosec__aes *a, const struct prosec__iv *iv,
                        const uint8_t *msg, size_t bits,
                        uint8_t mac[PROSEC_MAC_LEN]);

#endif
