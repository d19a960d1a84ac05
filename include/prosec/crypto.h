/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 3GPP algorithms of prosec: 128-EEA0/1/2/3 ciphering and
 * 128-EIA1/2/3 integrity (TS 33.401 Annex B, TS 35.215, TS 35.221), with a
 * choice of backend, and the wipe and comparison helpers for secrets.
 *
 * Lengths of data are in bits, as in the 3GPP specifications: bit i of a
 * message is bit (7 - i % 8) of octet i / 8.  A function given LENGTH bits
 * reads and writes at most ceil(LENGTH / 8) octets, ignores the unused
 * trailing bits of its input and clears those of its output.
 */
#ifndef PROSEC_CRYPTO_H
#define PROSEC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "constants.h"
#include "error.h"

/*
 * Overwrites len octets at p with zeros in a way the compiler may not
 * remove.  p may be NULL when len is 0.
 */
PROSEC_API void prosec_wipe(void *p, size_t len);

/*
 * Compares len octets of a and b in time that depends only on len.
 * Returns true when they are equal.
 */
PROSEC_API bool prosec_ct_equal(const void *a, const void *b, size_t len);

/*
 * Where the algorithms run.  PORTABLE is prosec's own C for SNOW 3G and ZUC
 * with OpenSSL for AES; IPSECMB is Intel's intel-ipsec-mb, present only when
 * the library was built with it and the CPU supports it.  AUTO takes the
 * PROSEC_BACKEND environment variable ("portable" or "ipsecmb") when it is
 * set, which then runs every algorithm; else it runs each algorithm on the
 * backend that is fastest for it (for some, by message length), as
 * prosec_backend_resolve_alg tells.  It is resolved once per process.
 */
enum prosec_backend {
    PROSEC_BACKEND_AUTO = 0,
    PROSEC_BACKEND_PORTABLE = 1,
    PROSEC_BACKEND_IPSECMB = 2
};

/*
 * Parses "auto", "portable" or "ipsecmb" into *out.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_BACKEND_UNKNOWN.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_backend_parse(const char *name, enum prosec_backend *out);

/* "auto", "portable", "ipsecmb"; "unknown" for any other value. */
PROSEC_API const char *prosec_backend_name(enum prosec_backend b);

/* True when b can run here (AUTO: when PROSEC_BACKEND names one that can). */
PROSEC_API bool prosec_backend_available(enum prosec_backend b);

/*
 * Resolves b to the backend that runs every algorithm: b itself, or for
 * AUTO the one PROSEC_BACKEND names, or PORTABLE where intel-ipsec-mb does
 * not run; AUTO when AUTO shares the algorithms between the two backends
 * (then prosec_backend_resolve_alg tells which runs what).
 * Errors: PROSEC_ERR_BACKEND_UNKNOWN (b, or PROSEC_BACKEND, holds another
 * name), PROSEC_ERR_BACKEND_UNAVAILABLE.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_backend_resolve(enum prosec_backend b, enum prosec_backend *out);

/*
 * The backend (never AUTO) that b runs 128-EEA<alg> (type
 * PROSEC_ALG_TYPE_PEK) or 128-EIA<alg> (PROSEC_ALG_TYPE_PIK) on, alg 1..3,
 * for a message of length_bits bits.  When same_up_to is not NULL, it
 * receives the greatest length (at least length_bits) up to which the
 * answer stays the same, SIZE_MAX when it does for every longer one.  A
 * backend may pass lengths its library refuses to prosec's own code (see
 * ipsecmb.c); it is still the one named here.
 * Errors: PROSEC_ERR_NULL (out), PROSEC_ERR_ALG_ID (type or alg; EEA0 runs
 * on no backend), the errors of prosec_backend_resolve.  *out and
 * *same_up_to are set only on success.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_backend_resolve_alg(
    enum prosec_backend b, enum prosec_alg_type type, unsigned alg,
    size_t length_bits, enum prosec_backend *out, size_t *same_up_to);

/*
 * The inputs of an EEA or EIA call besides the data (TS 33.401 B.1, B.2).
 * key points to key_len octets, which must be PROSEC_ALG_KEY_LEN (EEA0
 * ignores the key but still checks its length); bearer is 5 bits,
 * direction 1 bit.
 */
struct prosec_alg_input {
    const uint8_t *key;
    size_t key_len;
    uint32_t count;
    uint8_t bearer;
    uint8_t direction;
    enum prosec_backend backend;
};

/*
 * 128-EEA<alg>: ciphers (or deciphers) length_bits bits of in into out.
 * in holds in_len octets and out out_len octets; both must hold at least
 * ceil(length_bits / 8).  out may equal in (in place) but must not overlap
 * it otherwise.  Only ceil(length_bits / 8) octets of out are written, and
 * the unused trailing bits of the last one are cleared.  in and out may be
 * NULL when length_bits is 0.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ALG_ID (alg > 3), PROSEC_ERR_KEY_LEN,
 * PROSEC_ERR_BEARER, PROSEC_ERR_DIRECTION, PROSEC_ERR_LENGTH (a buffer is
 * shorter than ceil(length_bits / 8)), PROSEC_ERR_OVERLAP, the backend
 * errors of prosec_backend_resolve, PROSEC_ERR_CRYPTO_LIB.  On error out
 * is not written.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_eea(unsigned alg, const struct prosec_alg_input *p, const uint8_t *in,
           size_t in_len, uint8_t *out, size_t out_len, size_t length_bits);

/*
 * 128-EIA<alg>: computes the 32-bit MAC-I of length_bits bits of msg (which
 * holds msg_len octets) into mac, most significant octet first.  msg may be
 * NULL when length_bits is 0.
 *
 * Errors: as prosec_eea, with PROSEC_ERR_ALG_ID for alg outside 1..3.  On
 * error mac is not written.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_eia(unsigned alg, const struct prosec_alg_input *p, const uint8_t *msg,
           size_t msg_len, size_t length_bits, uint8_t mac[PROSEC_MAC_LEN]);

/*
 * The SNOW 3G keystream generator (TS 35.216): n 32-bit words for key
 * words k[0..3] = k0..k3 and iv[0..3] = IV0..IV3 as the specification
 * names them.  Exposed for the official keystream test data.
 */
PROSEC_API void prosec_snow3g_keystream(const uint32_t k[4],
                                        const uint32_t iv[4], uint32_t *z,
                                        size_t n);

/*
 * The ZUC keystream generator (TS 35.222): n 32-bit words for a 16-octet
 * key and 16-octet IV.
 */
PROSEC_API void prosec_zuc_keystream(const uint8_t key[16],
                                     const uint8_t iv[16], uint32_t *z,
                                     size_t n);

/*
 * A 128-bit algorithm key prepared once for many messages: the AES key
 * schedule and the backend's state are kept, so a call per message costs
 * only the message.  Opaque; one key serves EEA and EIA of every algorithm.
 * Not for use by two threads at once; distinct keys may be used by
 * distinct threads.
 *
 * prosec_alg_key_new copies key (key_len octets, which must be
 * PROSEC_ALG_KEY_LEN) into a new object for backend b.  An AUTO key runs
 * each algorithm where prosec_backend_resolve_alg says; it is made with
 * the state of each backend it runs on, so that a call only picks one,
 * without locks.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KEY_LEN, the errors of
 * prosec_backend_resolve, PROSEC_ERR_NOMEM, PROSEC_ERR_CRYPTO_LIB.  *out is
 * set only on success.
 */
struct prosec_alg_key;
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_alg_key_new(struct prosec_alg_key **out, enum prosec_backend b,
                   const uint8_t *key, size_t key_len);

/* Wipes and frees k and the state of each of its backends; NULL does
 * nothing. */
PROSEC_API void prosec_alg_key_free(struct prosec_alg_key *k);

/* The backend k runs every algorithm on, as prosec_backend_resolve gives
 * it: AUTO when k shares them between the two. */
PROSEC_API enum prosec_backend
prosec_alg_key_backend(const struct prosec_alg_key *k);

/*
 * prosec_eea and prosec_eia with a prepared key: same contract and errors,
 * with k in place of p's key and backend.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_eea_keyed(
    struct prosec_alg_key *k, unsigned alg, uint32_t count, uint8_t bearer,
    uint8_t direction, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t out_len, size_t length_bits);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_eia_keyed(
    struct prosec_alg_key *k, unsigned alg, uint32_t count, uint8_t bearer,
    uint8_t direction, const uint8_t *msg, size_t msg_len, size_t length_bits,
    uint8_t mac[PROSEC_MAC_LEN]);

#endif
