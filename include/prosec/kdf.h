/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key derivation function of TS 33.220 Annex B and the ProSe
 * derivations of TS 33.303 Annex A built on it.  FC values and lengths are
 * in constants.h.
 */
#ifndef PROSEC_KDF_H
#define PROSEC_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "constants.h"
#include "error.h"

/* One input parameter Pi; its length Li is encoded by the KDF. */
struct prosec_kdf_param {
    const uint8_t *data; /* may be NULL when len is 0 */
    size_t len;          /* at most PROSEC_KDF_MAX_PARAM_LEN */
};

/*
 * out = HMAC-SHA-256(key, S), S = FC || P0 || L0 || ... || Pn || Ln, each Li
 * the length of Pi in octets as two big-endian octets (TS 33.220 B.2).
 * key holds key_len octets (1 to 4096); params holds n_params entries
 * (0 to PROSEC_KDF_MAX_PARAMS).
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KEY_LEN, PROSEC_ERR_KDF_PARAM,
 * PROSEC_ERR_CRYPTO_LIB.  On error out is not written.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_kdf(uint8_t out[PROSEC_KDF_OUT_LEN], const uint8_t *key, size_t key_len,
           uint8_t fc, const struct prosec_kdf_param *params, size_t n_params);

/*
 * PTK = KDF(PGK, FC 0x4A, Group Member ID (3 octets), PTK ID (2 octets),
 * Group ID (3 octets)), TS 33.303 A.3.  member_id and group_id are 24-bit
 * values; ptk_id is never 0 on the air, but the derivation accepts it.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID (an id above 24 bits),
 * PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_ptk_derive(
    uint8_t ptk[PROSEC_PTK_LEN], const uint8_t pgk[PROSEC_PGK_LEN],
    uint32_t member_id, uint16_t ptk_id, uint32_t group_id);

/*
 * PEK (confidentiality key, EEA alg 0..3) or PIK (integrity key, EIA alg
 * 1..3): the last 16 octets of KDF(PTK, FC 0x4B, type, alg), TS 33.303 A.4.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ALG_ID, PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pek_derive(uint8_t pek[PROSEC_ALG_KEY_LEN],
                  const uint8_t ptk[PROSEC_PTK_LEN], unsigned alg);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pik_derive(uint8_t pik[PROSEC_ALG_KEY_LEN],
                  const uint8_t ptk[PROSEC_PTK_LEN], unsigned alg);

/*
 * The MIKEY PRF (RFC 3830 4.1.2) with HMAC-SHA-256 as RFC 6043 6.1 makes
 * it: inkey is cut into 256-bit pieces s_1..s_n, and out (out_len octets,
 * 1 to 1024) is the XOR over the pieces of P(s_i, label, m), where P
 * chains A_0 = label, A_j = HMAC(s, A_{j-1}) and outputs HMAC(s, A_j ||
 * label) for j = 1..m.  inkey holds 1 to 1024 octets; label 1 to 1024.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KEY_LEN, PROSEC_ERR_KDF_PARAM (label
 * or out_len out of range), PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_mikey_prf(uint8_t *out, size_t out_len, const uint8_t *inkey,
                 size_t inkey_len, const uint8_t *label, size_t label_len);

#endif
