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

static bool route_uses(const struct prosec__route *r,
                       const struct prosec__backend *be)
{
    return r->lo == be || r->hi == be;
}

/* SNOW 3G and ZUC run from k->key alone; only AES has state, made when
 * k's plan runs EEA2 or EIA2 here (an AUTO key may run them elsewhere). */
static prosec_err portable_key_init(struct prosec_alg_key *k)
{
    const struct prosec__backend *me = &prosec__backend_portable;

    if (!route_uses(&k->plan->eea[PROSEC_EEA2], me) &&
        !route_uses(&k->plan->eia[PROSEC_EIA2], me)) {
        return PROSEC_OK;
    }
    return prosec__aes_new(&k->aes, k->key);
}

static void portable_key_free(struct prosec_alg_key *k)
{
    prosec__aes_free(k->aes);
    k->aes = NULL;
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
        return prosec__eea2(k->aes, iv, in, out, bits);
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
        return prosec__eia2(k->aes, iv, msg, bits, mac);
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

/* Every backend of this build, in the order keys prepare them. */
static const struct prosec__backend *const all_backends[] = {
    &prosec__backend_portable,
#ifdef PROSEC_HAVE_IPSECMB
    &prosec__backend_ipsecmb,
#endif
};

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

/* Short names for the tables below.  Entry 0 stays empty: EEA0 is done
 * by the front end and there is no EIA0. */
#define PT (&prosec__backend_portable)
#define MB (&prosec__backend_ipsecmb)

static const struct prosec__plan plan_portable = {
    .id = PROSEC_BACKEND_PORTABLE,
    .eea = {[PROSEC_EEA1] = {PT, PT, SIZE_MAX},
            [PROSEC_EEA2] = {PT, PT, SIZE_MAX},
            [PROSEC_EEA3] = {PT, PT, SIZE_MAX}},
    .eia = {[PROSEC_EIA1] = {PT, PT, SIZE_MAX},
            [PROSEC_EIA2] = {PT, PT, SIZE_MAX},
            [PROSEC_EIA3] = {PT, PT, SIZE_MAX}}};

#ifdef PROSEC_HAVE_IPSECMB
static const struct prosec__plan plan_ipsecmb = {
    .id = PROSEC_BACKEND_IPSECMB,
    .eea = {[PROSEC_EEA1] = {MB, MB, SIZE_MAX},
            [PROSEC_EEA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EEA3] = {MB, MB, SIZE_MAX}},
    .eia = {[PROSEC_EIA1] = {MB, MB, SIZE_MAX},
            [PROSEC_EIA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EIA3] = {MB, MB, SIZE_MAX}}};

/*
 * AUTO where both backends run: the fastest per algorithm, from a fixed
 * table.  Not from a timing at first use: the choices below rest on how
 * the two are built, which should hold from one x86-64 machine to the
 * next (we measured one), while a timing of a millisecond or two on a
 * loaded machine measures the scheduler as much as the code, could choose
 * differently from one run to the next (benchmarks and bug reports that
 * do not reproduce) and would cost the first caller that time.
 * bench_crypto prints AUTO beside both backends, so a wrong entry shows.
 * Portable over intel-ipsec-mb 1.3, throughput on an AMD EPYC (AVX-512,
 * VAES) at 64 / 1400 / 4096 octets, random data:
 *
 * - EEA1, EEA3, EIA3 (SNOW 3G, ZUC): portable.  One message's keystream
 *   is a serial recurrence, so the library's SIMD lanes cannot help its
 *   single-buffer calls; ours starts and runs faster: EEA1 2.5 / 1.9 /
 *   1.9x, EEA3 2.1 / 1.5 / 1.4x.  EIA3 1.6 / 1.0 / 0.93x: from 1 KiB up
 *   the MAC loop dominates and the two stay within 7%, the lead changing
 *   with data and run, too close for a second switch.
 * - EEA2, EIA2 (AES): intel-ipsec-mb, whose CTR runs many blocks at once
 *   on AES-NI (VAES here) and whose job API costs less per call than
 *   OpenSSL's EVP: EEA2 0.48 / 0.30 / 0.28x, EIA2 0.85x at every length
 *   (CBC-MAC is serial).  Not where the library runs without AES-NI: it
 *   then has no such edge over OpenSSL, and we measured nothing there.
 * - EIA1: portable up to 1600 octets, intel-ipsec-mb above: 2.9 / 1.08 /
 *   0.57x, equal near 1650 octets, 0.37x at 9000.  Ours starts faster;
 *   the library's f9 hash folds several blocks per carry-less reduction
 *   and pulls ahead with length.  Only where the CPU has a carry-less
 *   multiply: our C multiplier is far slower.
 *
 * Past 8188 octets (ZUC) and 8191 (CMAC) the ipsecmb backend hands
 * messages to the portable code anyway (ipsecmb.c).
 */
enum { EIA1_PORTABLE_MAX_BITS = 1600 * 8 };

static const struct prosec__plan plan_auto = {
    .id = PROSEC_BACKEND_AUTO,
    .eea = {[PROSEC_EEA1] = {PT, PT, SIZE_MAX},
            [PROSEC_EEA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EEA3] = {PT, PT, SIZE_MAX}},
    .eia = {[PROSEC_EIA1] = {PT, MB, EIA1_PORTABLE_MAX_BITS},
            [PROSEC_EIA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EIA3] = {PT, PT, SIZE_MAX}}};

static const struct prosec__plan plan_auto_no_clmul = {
    .id = PROSEC_BACKEND_AUTO,
    .eea = {[PROSEC_EEA1] = {PT, PT, SIZE_MAX},
            [PROSEC_EEA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EEA3] = {PT, PT, SIZE_MAX}},
    .eia = {[PROSEC_EIA1] = {MB, MB, SIZE_MAX},
            [PROSEC_EIA2] = {MB, MB, SIZE_MAX},
            [PROSEC_EIA3] = {PT, PT, SIZE_MAX}}};
#endif

#undef PT
#undef MB

/* The process-wide meaning of AUTO, fixed at first use. */
static pthread_once_t auto_once = PTHREAD_ONCE_INIT;
static prosec_err auto_err;
static const struct prosec__plan *auto_plan;

static void resolve_auto(void)
{
    const char *env = getenv("PROSEC_BACKEND");
    enum prosec_backend b = PROSEC_BACKEND_AUTO;

    auto_err = PROSEC_OK;
    auto_plan = &plan_portable;
    if (env != NULL && env[0] != '\0') {
        auto_err = prosec_backend_parse(env, &b);
        if (auto_err != PROSEC_OK) {
            return;
        }
    }
    if (b != PROSEC_BACKEND_AUTO && !concrete_available(b)) {
        auto_err = PROSEC_ERR_BACKEND_UNAVAILABLE;
        return;
    }
#ifdef PROSEC_HAVE_IPSECMB
    if (b == PROSEC_BACKEND_IPSECMB) {
        auto_plan = &plan_ipsecmb;
    } else if (b == PROSEC_BACKEND_AUTO && prosec__ipsecmb_aesni()) {
        auto_plan =
            prosec__mul64_has_clmul() ? &plan_auto : &plan_auto_no_clmul;
    }
#endif
}

/* The plan of b, AUTO resolved. */
static prosec_err plan_of(enum prosec_backend b,
                          const struct prosec__plan **out)
{
    if (b == PROSEC_BACKEND_AUTO) {
        (void)pthread_once(&auto_once, resolve_auto);
        if (auto_err != PROSEC_OK) {
            return auto_err;
        }
        *out = auto_plan;
        return PROSEC_OK;
    }
    if (b != PROSEC_BACKEND_PORTABLE && b != PROSEC_BACKEND_IPSECMB) {
        return PROSEC_ERR_BACKEND_UNKNOWN;
    }
    if (!concrete_available(b)) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
#ifdef PROSEC_HAVE_IPSECMB
    *out = b == PROSEC_BACKEND_IPSECMB ? &plan_ipsecmb : &plan_portable;
#else
    *out = &plan_portable;
#endif
    return PROSEC_OK;
}

prosec_err prosec_backend_resolve(enum prosec_backend b,
                                  enum prosec_backend *out)
{
    const struct prosec__plan *plan = NULL;
    prosec_err err;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = plan_of(b, &plan);
    if (err == PROSEC_OK) {
        *out = plan->id;
    }
    return err;
}

prosec_err prosec_backend_resolve_alg(enum prosec_backend b,
                                      enum prosec_alg_type type, unsigned alg,
                                      size_t length_bits,
                                      enum prosec_backend *out,
                                      size_t *same_up_to)
{
    const struct prosec__plan *plan = NULL;
    const struct prosec__route *r;
    prosec_err err;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if ((type != PROSEC_ALG_TYPE_PEK && type != PROSEC_ALG_TYPE_PIK) ||
        alg < PROSEC_EIA_MIN || alg > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = plan_of(b, &plan);
    if (err != PROSEC_OK) {
        return err;
    }
    r = type == PROSEC_ALG_TYPE_PEK ? &plan->eea[alg] : &plan->eia[alg];
    *out = prosec__route_pick(r, length_bits)->id;
    if (same_up_to != NULL) {
        *same_up_to = r->lo != r->hi && length_bits <= r->lo_max_bits
                          ? r->lo_max_bits
                          : SIZE_MAX;
    }
    return PROSEC_OK;
}

bool prosec_backend_available(enum prosec_backend b)
{
    const struct prosec__plan *plan;

    return plan_of(b, &plan) == PROSEC_OK;
}

/* ---- keys ---------------------------------------------------------------- */

static bool plan_uses(const struct prosec__plan *plan,
                      const struct prosec__backend *be)
{
    for (unsigned alg = 1; alg <= PROSEC_EEA_MAX; alg++) {
        if (route_uses(&plan->eea[alg], be)) {
            return true;
        }
    }
    for (unsigned alg = PROSEC_EIA_MIN; alg <= PROSEC_EIA_MAX; alg++) {
        if (route_uses(&plan->eia[alg], be)) {
            return true;
        }
    }
    return false;
}

/* A key running on plan, which must outlive it.  The state of each
 * backend the plan uses (both for most AUTO keys) is made here, not per
 * message; the one exception is the OpenSSL fallback of ipsecmb.c for EIA2
 * messages too long for the library, made at the first. */
static prosec_err key_make(struct prosec_alg_key **out,
                           const struct prosec__plan *plan,
                           const uint8_t key[PROSEC_ALG_KEY_LEN])
{
    struct prosec_alg_key *k = calloc(1, sizeof(*k));
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (k == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    k->plan = plan;
    memcpy(k->key, key, PROSEC_ALG_KEY_LEN);
    for (size_t i = 0; i < sizeof(all_backends) / sizeof(all_backends[0]);
         i++) {
        const struct prosec__backend *be = all_backends[i];

        if (be->key_init != NULL && plan_uses(plan, be)) {
            err = be->key_init(k);
            if (err != PROSEC_OK) {
                prosec_alg_key_free(k);
                return err;
            }
        }
    }
    *out = k;
    return PROSEC_OK;
}

prosec_err prosec_alg_key_new(struct prosec_alg_key **out,
                              enum prosec_backend b, const uint8_t *key,
                              size_t key_len)
{
    const struct prosec__plan *plan = NULL;
    prosec_err err;

    if (out == NULL || key == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (key_len != PROSEC_ALG_KEY_LEN) {
        return PROSEC_ERR_KEY_LEN;
    }
    err = plan_of(b, &plan);
    if (err != PROSEC_OK) {
        return err;
    }
    return key_make(out, plan, key);
}

void prosec_alg_key_free(struct prosec_alg_key *k)
{
    if (k == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(all_backends) / sizeof(all_backends[0]);
         i++) {
        if (all_backends[i]->key_free != NULL) {
            all_backends[i]->key_free(k);
        }
    }
    prosec_wipe(k, sizeof(*k));
    free(k);
}

enum prosec_backend prosec_alg_key_backend(const struct prosec_alg_key *k)
{
    return k->plan->id;
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
        err = prosec__key_eea_backend(k, alg, length_bits)
                  ->eea(k, alg, &iv, in, out, length_bits);
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
    err = prosec__key_eia_backend(k, alg, length_bits)
              ->eia(k, alg, &iv, msg, length_bits, tmp);
    if (err == PROSEC_OK) {
        memcpy(mac, tmp, sizeof(tmp));
    }
    return err;
}

/* ---- one-shot calls ------------------------------------------------------ */

/*
 * The key of one call and its plan *one, which runs only this algorithm,
 * on the backend that p's runs it on at this length: so that a call
 * prepares no state it does not use (OpenSSL's AES, for one, costs more
 * than a short message).  The checks come in prosec_alg_key_new's order.
 */
static prosec_err oneshot_key(struct prosec_alg_key **k,
                              struct prosec__plan *one,
                              const struct prosec_alg_input *p,
                              enum prosec_alg_type type, unsigned alg,
                              size_t bits)
{
    const struct prosec__plan *plan = NULL;
    const struct prosec__backend *be;
    prosec_err err;

    if (p->key == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (p->key_len != PROSEC_ALG_KEY_LEN) {
        return PROSEC_ERR_KEY_LEN;
    }
    err = plan_of(p->backend, &plan);
    if (err != PROSEC_OK) {
        return err;
    }

    /* All entries unused: EEA0 needs no backend at all. */
    memset(one, 0, sizeof(*one));
    one->id = plan->id;
    if (type == PROSEC_ALG_TYPE_PEK && alg != PROSEC_EEA0) {
        be = prosec__route_pick(&plan->eea[alg], bits);
        one->eea[alg] = (struct prosec__route){be, be, SIZE_MAX};
        one->id = be->id;
    } else if (type == PROSEC_ALG_TYPE_PIK) {
        be = prosec__route_pick(&plan->eia[alg], bits);
        one->eia[alg] = (struct prosec__route){be, be, SIZE_MAX};
        one->id = be->id;
    }
    return key_make(k, one, p->key);
}

prosec_err prosec_eea(unsigned alg, const struct prosec_alg_input *p,
                      const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_len, size_t length_bits)
{
    struct prosec_alg_key *k = NULL;
    struct prosec__plan one;
    prosec_err err;

    if (p == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* Argument errors before the key is built, so they come out the same
     * whatever the key. */
    if (alg > PROSEC_EEA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = oneshot_key(&k, &one, p, PROSEC_ALG_TYPE_PEK, alg, length_bits);
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
    struct prosec__plan one;
    prosec_err err;

    if (p == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (alg < PROSEC_EIA_MIN || alg > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    err = oneshot_key(&k, &one, p, PROSEC_ALG_TYPE_PIK, alg, length_bits);
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
    return prosec__key_eia_backend(k, PROSEC_EIA1, bits)
        ->eia(k, PROSEC_EIA1, &iv, msg, bits, mac);
}
