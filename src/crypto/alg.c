/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public face of the 3GPP algorithms: checks every input once, picks
 * the backend, and clears the unused trailing bits of the output, so that
 * backends see only valid input (internal.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the portable backend ---------------------------------------------- */

static prosec_err portable_key_init(struct prosec_alg_key *k)
{
    struct prosec__aes *a = NULL;
    prosec_err err = prosec__aes_new(&a, k->key);

    if (err == PROSEC_OK) {
        k->state = a;
    }
    return err;
}

static void portable_key_free(struct prosec_alg_key *k)
{
    prosec__aes_free(k->state);
    k->state = NULL;
}

static prosec_err portable_eea(struct prosec_alg_key *k, unsigned alg,
                               const struct prosec__iv *iv, const uint8_t *in,
                               uint8_t *out, size_t bits)
{
    switch (alg) {
    case PROSEC_EEA1:
        prosec__eea1(k->key, iv, in, out, bits);
        return PROSEC_OK;
    case PROSEC_EEA2:
        return prosec__eea2(k->state, iv, in, out, bits);
    case PROSEC_EEA3:
        prosec__eea3(k->key, iv, in, out, bits);
        return PROSEC_OK;
    default:
        return PROSEC_ERR_INTERNAL;
    }
}

static prosec_err portable_eia(struct prosec_alg_key *k, unsigned alg,
                               const struct prosec__iv *iv, const uint8_t *msg,
                               size_t bits, uint8_t mac[PROSEC_MAC_LEN])
{
    switch (alg) {
    case PROSEC_EIA1:
        prosec__store32_be(mac, prosec__eia1(k->key, iv, msg, bits));
        return PROSEC_OK;
    case PROSEC_EIA2:
        return prosec__eia2(k->state, iv, msg, bits, mac);
    case PROSEC_EIA3:
        prosec__store32_be(mac, prosec__eia3(k->key, iv, msg, bits));
        return PROSEC_OK;
    default:
        return PROSEC_ERR_INTERNAL;
    }
}

const struct prosec__backend prosec__backend_portable = {
    PROSEC_BACKEND_PORTABLE, portable_key_init, portable_key_free, portable_eea,
    portable_eia};

/* ---- backend choice ------------------------------------------------------ */

prosec_err prosec_backend_parse(const char *name, enum prosec_backend *out)
{
    if (name == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (strcmp(name, "auto") == 0) {
        *out = PROSEC_BACKEND_AUTO;
    } else if (strcmp(name, "portable") == 0) {
        *out = PROSEC_BACKEND_PORTABLE;
    } else if (strcmp(name, "ipsecmb") == 0) {
        *out = PROSEC_BACKEND_IPSECMB;
    } else {
        return PROSEC_ERR_BACKEND_UNKNOWN;
    }
    return PROSEC_OK;
}

const char *prosec_backend_name(enum prosec_backend b)
{
    switch (b) {
    case PROSEC_BACKEND_AUTO:
        return "auto";
    case PROSEC_BACKEND_PORTABLE:
        return "portable";
    case PROSEC_BACKEND_IPSECMB:
        return "ipsecmb";
    }
    return "unknown";
}

static bool concrete_available(enum prosec_backend b)
{
    switch (b) {
    case PROSEC_BACKEND_PORTABLE:
        return true;
    case PROSEC_BACKEND_IPSECMB:
#ifdef PROSEC_HAVE_IPSECMB
        return prosec__ipsecmb_usable();
#else
        return false;
#endif
    case PROSEC_BACKEND_AUTO:
        break;
    }
    return false;
}

/* The process-wide meaning of AUTO, fixed at first use. */
static pthread_once_t auto_once = PTHREAD_ONCE_INIT;
static prosec_err auto_err;
static enum prosec_backend auto_backend;

static void resolve_auto(void)
{
    const char *env = getenv("PROSEC_BACKEND");
    enum prosec_backend b = PROSEC_BACKEND_AUTO;

    auto_err = PROSEC_OK;
    if (env != NULL && env[0] != '\0') {
        auto_err = prosec_backend_parse(env, &b);
        if (auto_err != PROSEC_OK) {
            return;
        }
    }
    if (b == PROSEC_BACKEND_AUTO) {
        /* intel-ipsec-mb is the faster wherever it runs. */
        b = concrete_available(PROSEC_BACKEND_IPSECMB)
                ? PROSEC_BACKEND_IPSECMB
                : PROSEC_BACKEND_PORTABLE;
    }
    if (!concrete_available(b)) {
        auto_err = PROSEC_ERR_BACKEND_UNAVAILABLE;
        return;
    }
    auto_backend = b;
}

prosec_err prosec_backend_resolve(enum prosec_backend b,
                                  enum prosec_backend *out)
{
    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (b == PROSEC_BACKEND_AUTO) {
        (void)pthread_once(&auto_once, resolve_auto);
        if (auto_err != PROSEC_OK) {
            return auto_err;
        }
        *out = auto_backend;
        return PROSEC_OK;
    }
    if (b != PROSEC_BACKEND_PORTABLE && b != PROSEC_BACKEND_IPSECMB) {
        return PROSEC_ERR_BACKEND_UNKNOWN;
    }
    if (!concrete_available(b)) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
    *out = b;
    return PROSEC_OK;
}

bool prosec_backend_available(enum prosec_backend b)
{
    enum prosec_backend got;

    return prosec_backend_resolve(b, &got) == PROSEC_OK;
}

static const struct prosec__backend *backend_ops(enum prosec_backend b)
{
#ifdef PROSEC_HAVE_IPSECMB
    if (b == PROSEC_BACKEND_IPSECMB) {
        return &prosec__backend_ipsecmb;
    }
#endif
    (void)b;
    return &prosec__backend_portable;
}

/* ---- keys ---------------------------------------------------------------- */

prosec_err prosec_alg_key_new(struct prosec_alg_key **out,
                              enum prosec_backend b, const uint8_t *key,
                              size_t key_len)
{
    struct prosec_alg_key *k = NULL;
    enum prosec_backend got;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || key == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (key_len != PROSEC_ALG_KEY_LEN) {
        return PROSEC_ERR_KEY_LEN;
    }
    err = prosec_backend_resolve(b, &got);
    if (err != PROSEC_OK) {
        return err;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    k->be = backend_ops(got);
    memcpy(k->key, key, PROSEC_ALG_KEY_LEN);
    if (k->be->key_init != NULL) {
        err = k->be->key_init(k);
        if (err != PROSEC_OK) {
            prosec_alg_key_free(k);
            return err;
        }
    }
    *out = k;
    return PROSEC_OK;
}

void prosec_alg_key_free(struct prosec_alg_key *k)
{
    if (k == NULL) {
        return;
    }
    if (k->be != NULL && k->be->key_free != NULL) {
        k->be->key_free(k);
    }
    prosec_wipe(k, sizeof(*k));
    free(k);
}

enum prosec_backend prosec_alg_key_backend(const struct prosec_alg_key *k)
{
    return k->be->id;
}

/* ---- checks shared by EEA and EIA ---------------------------------------- */

static prosec_err check_common(uint8_t bearer, uint8_t direction, size_t bits,
                               const void *buf, size_t buf_len)
{
    if (bearer > PROSEC_BEARER_MAX) {
        return PROSEC_ERR_BEARER;
    }
    if (direction > PROSEC_DIRECTION_MAX) {
        return PROSEC_ERR_DIRECTION;
    }
    /* bits / 8 first, so that a huge bits cannot overflow. */
    if (bits / 8 > buf_len || prosec__bytes(bits) > buf_len) {
        return PROSEC_ERR_LENGTH;
    }
    if (bits > 0 && buf == NULL) {
        return PROSEC_ERR_NULL;
    }
    return PROSEC_OK;
}

/* Partial overlap, which no stream cipher loop here tolerates. */
static bool overlaps(const uint8_t *a, const uint8_t *b, size_t len)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

    if (len == 0 || x == y) {
        return false;
    }
    return x < y ? y - x < len : x - y < len;
}

prosec_err prosec_eea_keyed(struct prosec_alg_key *k, unsigned alg,
                            uint32_t count, uint8_t bearer, uint8_t direction,
                            const uint8_t *in, size_t in_len, uint8_t *out,
                            size_t out_len, size_t length_bits)
{
    struct prosec__iv iv = {count, bearer, direction, 0};
    size_t len = prosec__bytes(length_bits);
    prosec_err err;

    if (k == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (alg > PROSEC_EEA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = check_common(bearer, direction, length_bits, in, in_len);
    if (err == PROSEC_OK) {
        err = check_common(bearer, direction, length_bits, out, out_len);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    if (overlaps(in, out, len)) {
        return PROSEC_ERR_OVERLAP;
    }
    if (len == 0) {
        return PROSEC_OK;
    }

    if (alg == PROSEC_EEA0) {
        if (out != in) {
            memcpy(out, in, len);
        }
    } else {
        err = k->be->eea(k, alg, &iv, in, out, length_bits);
        if (err != PROSEC_OK) {
            return err;
        }
    }
    out[len - 1] &= prosec__tail_mask(length_bits);
    return PROSEC_OK;
}

prosec_err prosec_eia_keyed(struct prosec_alg_key *k, unsigned alg,
                            uint32_t count, uint8_t bearer, uint8_t direction,
                            const uint8_t *msg, size_t msg_len,
                            size_t length_bits, uint8_t mac[PROSEC_MAC_LEN])
{
    struct prosec__iv iv = {count, bearer, direction, (uint32_t)bearer << 27};
    uint8_t tmp[PROSEC_MAC_LEN];
    prosec_err err;

    if (k == NULL || mac == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (alg < PROSEC_EIA_MIN || alg > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = check_common(bearer, direction, length_bits, msg, msg_len);
    if (err != PROSEC_OK) {
        return err;
    }
    err = k->be->eia(k, alg, &iv, msg, length_bits, tmp);
    if (err == PROSEC_OK) {
        memcpy(mac, tmp, sizeof(tmp));
    }
    return err;
}

/* ---- one-shot calls ------------------------------------------------------ */

prosec_err prosec_eea(unsigned alg, const struct prosec_alg_input *p,
                      const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_len, size_t length_bits)
{
    struct prosec_alg_key *k = NULL;
    prosec_err err;

    if (p == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* Argument errors before the key is built, so they come out the same
     * whatever the key. */
    if (alg > PROSEC_EEA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = prosec_alg_key_new(&k, p->backend, p->key, p->key_len);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec_eea_keyed(k, alg, p->count, p->bearer, p->direction, in,
                           in_len, out, out_len, length_bits);
    prosec_alg_key_free(k);
    return err;
}

prosec_err prosec_eia(unsigned alg, const struct prosec_alg_input *p,
                      const uint8_t *msg, size_t msg_len, size_t length_bits,
                      uint8_t mac[PROSEC_MAC_LEN])
{
    struct prosec_alg_key *k = NULL;
    prosec_err err;

    if (p == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (alg < PROSEC_EIA_MIN || alg > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = prosec_alg_key_new(&k, p->backend, p->key, p->key_len);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec_eia_keyed(k, alg, p->count, p->bearer, p->direction, msg,
                           msg_len, length_bits, mac);
    prosec_alg_key_free(k);
    return err;
}

prosec_err prosec__uia2(struct prosec_alg_key *k, uint32_t count,
                        uint32_t fresh, uint8_t direction, const uint8_t *msg,
                        size_t bits, uint8_t mac[PROSEC_MAC_LEN])
{
    struct prosec__iv iv = {count, 0, direction, fresh};

    if (k == NULL || mac == NULL || (bits > 0 && msg == NULL)) {
        return PROSEC_ERR_NULL;
    }
    if (direction > PROSEC_DIRECTION_MAX) {
        return PROSEC_ERR_DIRECTION;
    }
    return k->be->eia(k, PROSEC_EIA1, &iv, msg, bits, mac);
}
