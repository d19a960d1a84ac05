/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic KDF of TS 33.220 Annex B (HMAC-SHA-256 over S = FC || P0 ||
 * L0 || ...) and the ProSe derivations of TS 33.303 Annex A on top of it.
 * S is streamed into the MAC, never assembled, so its size is bounded only
 * by the parameter limits.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"
#include "prosec/kdf.h"

enum { KDF_MAX_KEY_LEN = 4096 };

static prosec_err check(const uint8_t *key, size_t key_len,
                        const struct prosec_kdf_param *params, size_t n_params)
{
    if (key == NULL || (n_params > 0 && params == NULL)) {
        return PROSEC_ERR_NULL;
    }
    if (key_len == 0 || key_len > KDF_MAX_KEY_LEN) {
        return PROSEC_ERR_KEY_LEN;
    }
    if (n_params > PROSEC_KDF_MAX_PARAMS) {
        return PROSEC_ERR_KDF_PARAM;
    }
    for (size_t i = 0; i < n_params; i++) {
        if (params[i].len > PROSEC_KDF_MAX_PARAM_LEN) {
            return PROSEC_ERR_KDF_PARAM;
        }
        if (params[i].len > 0 && params[i].data == NULL) {
            return PROSEC_ERR_NULL;
        }
    }
    return PROSEC_OK;
}

prosec_err prosec__hmac_sha256(uint8_t out[32], const uint8_t *key,
                               size_t key_len, const struct prosec__part *parts,
                               size_t n)
{
    char digest[] = "SHA256";
    OSSL_PARAM mp[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    uint8_t t[32];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    size_t tlen = 0;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    if (ctx == NULL || EVP_MAC_init(ctx, key, key_len, mp) != 1) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > 0 &&
            EVP_MAC_update(ctx, parts[i].data, parts[i].len) != 1) {
            goto out;
        }
    }
    if (EVP_MAC_final(ctx, t, &tlen, sizeof(t)) != 1 || tlen != sizeof(t)) {
        goto out;
    }
    memcpy(out, t, sizeof(t));
    err = PROSEC_OK;

out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    prosec_wipe(t, sizeof(t));
    return err;
}

prosec_err prosec_kdf(uint8_t out[PROSEC_KDF_OUT_LEN], const uint8_t *key,
                      size_t key_len, uint8_t fc,
                      const struct prosec_kdf_param *params, size_t n_params)
{
    struct prosec__part parts[1 + 2 * PROSEC_KDF_MAX_PARAMS];
    uint8_t l[PROSEC_KDF_MAX_PARAMS][2];
    size_t n = 0;
    prosec_err err;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = check(key, key_len, params, n_params);
    if (err != PROSEC_OK) {
        return err;
    }

    /* S = FC || P0 || L0 || ... || Pn || Ln (TS 33.220 B.2.0), each Li the
     * length of Pi in two big-endian octets. */
    parts[n++] = (struct prosec__part){&fc, 1};
    for (size_t i = 0; i < n_params; i++) {
        l[i][0] = (uint8_t)(params[i].len >> 8);
        l[i][1] = (uint8_t)params[i].len;
        parts[n++] = (struct prosec__part){params[i].data, params[i].len};
        parts[n++] = (struct prosec__part){l[i], 2};
    }
    return prosec__hmac_sha256(out, key, key_len, parts, n);
}

prosec_err prosec_ptk_derive(uint8_t ptk[PROSEC_PTK_LEN],
                             const uint8_t pgk[PROSEC_PGK_LEN],
                             uint32_t member_id, uint16_t ptk_id,
                             uint32_t group_id)
{
    uint8_t m[PROSEC_L2_ID_LEN], p[PROSEC_PTK_ID_LEN], g[PROSEC_L2_ID_LEN];
    struct prosec_kdf_param params[3] = {
        {m, sizeof(m)}, {p, sizeof(p)}, {g, sizeof(g)}};

    if (ptk == NULL || pgk == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (member_id > PROSEC_L2_ID_MAX || group_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    /* TS 33.303 A.3: P0 = Group Member ID, P1 = PTK ID, P2 = Group ID. */
    m[0] = (uint8_t)(member_id >> 16);
    m[1] = (uint8_t)(member_id >> 8);
    m[2] = (uint8_t)member_id;
    p[0] = (uint8_t)(ptk_id >> 8);
    p[1] = (uint8_t)ptk_id;
    g[0] = (uint8_t)(group_id >> 16);
    g[1] = (uint8_t)(group_id >> 8);
    g[2] = (uint8_t)group_id;
    return prosec_kdf(ptk, pgk, PROSEC_PGK_LEN, PROSEC_FC_PTK, params, 3);
}

/* TS 33.303 A.4: KDF(PTK, 0x4B, type, alg), keep the last 16 octets. */
static prosec_err alg_key(uint8_t key[PROSEC_ALG_KEY_LEN],
                          const uint8_t ptk[PROSEC_PTK_LEN], uint8_t type,
                          uint8_t alg)
{
    uint8_t t[PROSEC_KDF_OUT_LEN];
    struct prosec_kdf_param params[2] = {{&type, 1}, {&alg, 1}};
    prosec_err err;

    if (key == NULL || ptk == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_kdf(t, ptk, PROSEC_PTK_LEN, PROSEC_FC_ALG_KEY, params, 2);
    if (err == PROSEC_OK) {
        memcpy(key, t + PROSEC_KDF_OUT_LEN - PROSEC_ALG_KEY_LEN,
               PROSEC_ALG_KEY_LEN);
    }
    prosec_wipe(t, sizeof(t));
    return err;
}

prosec_err prosec_pek_derive(uint8_t pek[PROSEC_ALG_KEY_LEN],
                             const uint8_t ptk[PROSEC_PTK_LEN], unsigned alg)
{
    if (alg > PROSEC_EEA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    return alg_key(pek, ptk, PROSEC_ALG_TYPE_PEK, (uint8_t)alg);
}

prosec_err prosec_pik_derive(uint8_t pik[PROSEC_ALG_KEY_LEN],
                             const uint8_t ptk[PROSEC_PTK_LEN], unsigned alg)
{
    if (alg < PROSEC_EIA_MIN || alg > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    return alg_key(pik, ptk, PROSEC_ALG_TYPE_PIK, (uint8_t)alg);
}
