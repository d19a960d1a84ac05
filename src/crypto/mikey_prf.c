/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MIKEY key derivation PRF of RFC 3830 4.1.2, with HMAC-SHA-256 in
 * place of HMAC-SHA-1 as RFC 6043 6.1 defines PRF-HMAC-SHA-256.  MIKEY
 * derives its encryption and authentication keys from the PMK with it.
 */
#include <string.h>

#include "internal.h"
#include "prosec/kdf.h"

enum { PRF_PIECE = 32, PRF_MAX = 1024 };

/* out ^= P(s, label, m), truncated to out_len octets. */
static prosec_err p_xor(uint8_t *out, size_t out_len, const uint8_t *s,
                        size_t s_len, const uint8_t *label, size_t label_len)
{
    uint8_t a[32], blk[32];
    struct prosec__part chain = {label, label_len};
    prosec_err err = PROSEC_OK;

    for (size_t done = 0; done < out_len && err == PROSEC_OK;) {
        struct prosec__part parts[2];
        size_t take = out_len - done < 32 ? out_len - done : 32;

        /* A_j = HMAC(s, A_{j-1}), A_0 = label */
        err = prosec__hmac_sha256(a, s, s_len, &chain, 1);
        if (err != PROSEC_OK) {
            break;
        }
        chain = (struct prosec__part){a, sizeof(a)};

        /* output block j = HMAC(s, A_j || label) */
        parts[0] = (struct prosec__part){a, sizeof(a)};
        parts[1] = (struct prosec__part){label, label_len};
        err = prosec__hmac_sha256(blk, s, s_len, parts, 2);
        for (size_t i = 0; err == PROSEC_OK && i < take; i++) {
            out[done + i] ^= blk[i];
        }
        done += take;
    }
    prosec_wipe(a, sizeof(a));
    prosec_wipe(blk, sizeof(blk));
    return err;
}

prosec_err prosec_mikey_prf(uint8_t *out, size_t out_len, const uint8_t *inkey,
                            size_t inkey_len, const uint8_t *label,
                            size_t label_len)
{
    uint8_t acc[PRF_MAX];
    prosec_err err = PROSEC_OK;

    if (out == NULL || inkey == NULL || label == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (inkey_len == 0 || inkey_len > PRF_MAX) {
        return PROSEC_ERR_KEY_LEN;
    }
    if (label_len == 0 || label_len > PRF_MAX || out_len == 0 ||
        out_len > PRF_MAX) {
        return PROSEC_ERR_KDF_PARAM;
    }

    memset(acc, 0, out_len);
    for (size_t off = 0; off < inkey_len && err == PROSEC_OK;
         off += PRF_PIECE) {
        size_t piece =
            inkey_len - off < PRF_PIECE ? inkey_len - off : PRF_PIECE;

        err = p_xor(acc, out_len, inkey + off, piece, label, label_len);
    }
    if (err == PROSEC_OK) {
        memcpy(out, acc, out_len);
    }
    prosec_wipe(acc, out_len);
    return err;
}
