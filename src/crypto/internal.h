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

struct prosec__backend {
    enum prosec_backend id;
    /* Prepares this backend's part of k's state from k->key; may be NULL.
     * Runs only when k's plan sends some algorithm to this backend. */
    prosec_err (*key_init)(struct prosec_alg_key *k);
    /* Wipes and frees this backend's part of k's state (even if absent). */
    void (*key_free)(struct prosec_alg_key *k);
    prosec_err (*eea)(struct prosec_alg_key *k, unsigned alg,
                      const struct prosec__iv *iv, const uint8_t *in,
                      uint8_t *out, size_t bits);
    prosec_err (*eia)(struct prosec_alg_key *k, unsigned alg,
                      const struct prosec__iv *iv, const uint8_t *msg,
                      size_t bits, uint8_t mac[PROSEC_MAC_LEN]);
};

/*
 * Where one algorithm runs: on lo for messages of up to lo_max_bits bits,
 * on hi for longer ones.  lo == hi (with lo_max_bits SIZE_MAX) for all
 * but the algorithms whose fastest backend depends on the length.
 */
struct prosec__route {
    const struct prosec__backend *lo, *hi;
    size_t lo_max_bits;
};

/*
 * Where every algorithm runs, by EEA and EIA number (entry 0 unused: the
 * front end does EEA0).  Plans are static and never change once made, so
 * keys point to them and threads read them without locks (alg.c).
 */
struct prosec__plan {
    enum prosec_backend id; /* PORTABLE or IPSECMB if it runs all, or AUTO */
    struct prosec__route eea[PROSEC_EEA_MAX + 1];
    struct prosec__route eia[PROSEC_EIA_MAX + 1];
};

struct prosec__aes;

/* A key prepared for the backends of its plan; see prosec_alg_key_new. */
struct prosec_alg_key {
    const struct prosec__plan *plan;
    uint8_t key[PROSEC_ALG_KEY_LEN];
    struct prosec__aes *aes; /* the portable backend's AES, or NULL */
    void *imb;               /* intel-ipsec-mb's state, or NULL */
};

static inline const struct prosec__backend *
prosec__route_pick(const struct prosec__route *r, size_t bits)
{
    return bits <= r->lo_max_bits ? r->lo : r->hi;
}

/* The backend a call on k of 128-EEA<alg> or 128-EIA<alg> (alg 1..3) over
 * bits bits runs on: what the keyed calls dispatch through. */
static inline const struct prosec__backend *
prosec__key_eea_backend(const struct prosec_alg_key *k, unsigned alg,
                        size_t bits)
{
    return prosec__route_pick(&k->plan->eea[alg], bits);
}

static inline const struct prosec__backend *
prosec__key_eia_backend(const struct prosec_alg_key *k, unsigned alg,
                        size_t bits)
{
    return prosec__route_pick(&k->plan->eia[alg], bits);
}

extern const struct prosec__backend prosec__backend_portable;
#ifdef PROSEC_HAVE_IPSECMB
extern const struct prosec__backend prosec__backend_ipsecmb;
/* True when intel-ipsec-mb initialises on this CPU. */
bool prosec__ipsecmb_usable(void);
/* True when it does, with AES-NI (not its IMB_ARCH_NOAESNI emulation). */
bool prosec__ipsecmb_aesni(void);
#endif

/*
 * UIA2 (f9) with any FRESH, which 128-EIA1 fixes to BEARER << 27: only the
 * official UIA2 test data need it.  Runs where k runs EIA1 for bits.
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

/* True when this build and CPU have the carry-less multiply, whichever
 * multiplier is in use (AUTO's choice for EIA1 depends on it, alg.c). */
bool prosec__mul64_has_clmul(void);

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
