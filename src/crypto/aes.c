/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 128-EEA2 (AES-128-CTR) and 128-EIA2 (AES-128-CMAC), TS 33.401 B.1.3 and
 * B.2.3, through OpenSSL 3.
 *
 * A key keeps its OpenSSL contexts, so a message costs an IV reset and the
 * data, not a key schedule.  OpenSSL's CMAC takes octet strings only; for
 * a bit string whose length is not a multiple of 8, the last block is
 * incomplete and RFC 4493 pads it with 1 0* and masks it with K2.  We build
 * that padded block ourselves and XOR it with K1 ^ K2 too: OpenSSL, seeing
 * a complete last block, masks it with K1, and K1 cancels, leaving exactly
 * the K2 masking of the specification.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

enum { AES_BLOCK = 16, EIA2_PREFIX = 8 };

struct prosec__aes {
    EVP_CIPHER_CTX *ctr;
    EVP_MAC_CTX *cmac;
    uint8_t k1_xor_k2[AES_BLOCK];
};

/* Doubling in GF(2^128) for the CMAC subkeys (RFC 4493 2.3). */
static void dbl(uint8_t out[AES_BLOCK], const uint8_t in[AES_BLOCK])
{
    uint8_t carry = (uint8_t)(in[0] >> 7);

    for (unsigned i = 0; i < AES_BLOCK - 1; i++) {
        out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
    }
    out[AES_BLOCK - 1] = (uint8_t)(in[AES_BLOCK - 1] << 1 ^ (carry * 0x87));
}

static prosec_err subkeys(struct prosec__aes *a,
                          const uint8_t key[PROSEC_ALG_KEY_LEN])
{
    static const uint8_t zero[AES_BLOCK];
    uint8_t l[AES_BLOCK], k1[AES_BLOCK], k2[AES_BLOCK];
    EVP_CIPHER_CTX *ecb = EVP_CIPHER_CTX_new();
    int outl = 0;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    if (ecb == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    if (EVP_EncryptInit_ex2(ecb, EVP_aes_128_ecb(), key, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ecb, 0) != 1 ||
        EVP_EncryptUpdate(ecb, l, &outl, zero, AES_BLOCK) != 1 ||
        outl != AES_BLOCK) {
        goto out;
    }
    dbl(k1, l);
    dbl(k2, k1);
    for (unsigned i = 0; i < AES_BLOCK; i++) {
        a->k1_xor_k2[i] = k1[i] ^ k2[i];
    }
    err = PROSEC_OK;

out:
    EVP_CIPHER_CTX_free(ecb);
    prosec_wipe(l, sizeof(l));
    prosec_wipe(k1, sizeof(k1));
    prosec_wipe(k2, sizeof(k2));
    return err;
}

void prosec__aes_free(struct prosec__aes *a)
{
    if (a == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(a->ctr);
    EVP_MAC_CTX_free(a->cmac);
    prosec_wipe(a, sizeof(*a));
    free(a);
}

prosec_err prosec__aes_new(struct prosec__aes **out,
                           const uint8_t key[PROSEC_ALG_KEY_LEN])
{
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end()};
    struct prosec__aes *a = calloc(1, sizeof(*a));
    EVP_MAC *mac = NULL;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    if (a == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    a->ctr = EVP_CIPHER_CTX_new();
    mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (a->ctr == NULL || mac == NULL) {
        goto out;
    }
    a->cmac = EVP_MAC_CTX_new(mac);
    if (a->cmac == NULL) {
        goto out;
    }
    if (EVP_EncryptInit_ex2(a->ctr, EVP_aes_128_ctr(), key, NULL, NULL) != 1 ||
        EVP_MAC_init(a->cmac, key, PROSEC_ALG_KEY_LEN, params) != 1) {
        goto out;
    }
    err = subkeys(a, key);
    if (err != PROSEC_OK) {
        goto out;
    }
    *out = a;
    a = NULL;

out:
    EVP_MAC_free(mac);
    prosec__aes_free(a);
    return err;
}

prosec_err prosec__eea2(struct prosec__aes *a, const struct prosec__iv *iv,
                        const uint8_t *in, uint8_t *out, size_t bits)
{
    uint8_t ctr[AES_BLOCK] = {0};
    size_t len = prosec__bytes(bits);
    int outl = 0;

    /* T1 = COUNT || BEARER || DIRECTION || 0^26 || 0^64 (B.1.3); the
     * counter then runs over all 128 bits, as OpenSSL's CTR does. */
    prosec__store32_be(ctr, iv->count);
    ctr[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);
    if (EVP_EncryptInit_ex2(a->ctr, NULL, NULL, ctr, NULL) != 1) {
        return PROSEC_ERR_CRYPTO_LIB;
    }
    while (len > 0) {
        /* EVP takes an int length. */
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;

        if (EVP_EncryptUpdate(a->ctr, out, &outl, in, chunk) != 1 ||
            outl != chunk) {
            return PROSEC_ERR_CRYPTO_LIB;
        }
        in += chunk;
        out += chunk;
        len -= (size_t)chunk;
    }
    return PROSEC_OK;
}

prosec_err prosec__eia2(struct prosec__aes *a, const struct prosec__iv *iv,
                        const uint8_t *msg, size_t bits,
                        uint8_t mac[PROSEC_MAC_LEN])
{
    uint8_t pre[EIA2_PREFIX] = {0}, last[AES_BLOCK], t[AES_BLOCK];
    size_t total = EIA2_PREFIX * 8 + bits; /* bits of prefix || msg */
    size_t tlen = 0;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    /* M = COUNT || BEARER || DIRECTION || 0^26 || MESSAGE (B.2.3). */
    prosec__store32_be(pre, iv->count);
    pre[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);
    if (EVP_MAC_init(a->cmac, NULL, 0, NULL) != 1) {
        goto out;
    }

    if (bits % 8 == 0) {
        if (EVP_MAC_update(a->cmac, pre, sizeof(pre)) != 1 ||
            EVP_MAC_update(a->cmac, msg, bits / 8) != 1) {
            goto out;
        }
    } else {
        /* The incomplete last block starts at octet f of prefix || msg;
         * since f is a multiple of 16, the prefix lies wholly before it
         * or wholly inside it. */
        size_t f = total / 128 * AES_BLOCK;
        size_t n = prosec__bytes(total) - f; /* octets in the last block */
        size_t pad = total % 128;            /* bit of the padding 1 */

        memset(last, 0, sizeof(last));
        if (f == 0) {
            memcpy(last, pre, sizeof(pre));
            memcpy(last + EIA2_PREFIX, msg, n - EIA2_PREFIX);
        } else {
            memcpy(last, msg + (f - EIA2_PREFIX), n);
            if (EVP_MAC_update(a->cmac, pre, sizeof(pre)) != 1 ||
                EVP_MAC_update(a->cmac, msg, f - EIA2_PREFIX) != 1) {
                goto out;
            }
        }
        last[n - 1] &= prosec__tail_mask(total);
        last[pad / 8] |= (uint8_t)(0x80u >> (pad % 8));
        for (unsigned i = 0; i < AES_BLOCK; i++) {
            last[i] ^= a->k1_xor_k2[i];
        }
        if (EVP_MAC_update(a->cmac, last, sizeof(last)) != 1) {
            goto out;
        }
    }
    if (EVP_MAC_final(a->cmac, t, &tlen, sizeof(t)) != 1 || tlen != AES_BLOCK) {
        goto out;
    }
    memcpy(mac, t, PROSEC_MAC_LEN);
    err = PROSEC_OK;

out:
    prosec_wipe(last, sizeof(last));
    prosec_wipe(t, sizeof(t));
    return err;
}
