/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keys at rest: AES-256-GCM under the master key (master.key, 0600), a
 * random 96-bit nonce per value, the value's name as associated data.
 * Layout: nonce (12) || ciphertext || tag (16).
 */
#include <string.h>

#include <openssl/evp.h>

#include "kmf.h"

enum { NONCE = 12, TAG = 16 };

static prosec_err gcm(bool enc, const uint8_t mk[KMF_MASTER_LEN],
                      const char *aad, const uint8_t *nonce, const uint8_t *in,
                      size_t len, uint8_t *out, uint8_t tag[TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;
    int n = 0, ok;

    if (c == NULL || len > 4096) {
        goto out;
    }
    ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, mk, nonce, enc) == 1 &&
         EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)aad,
                          (int)strlen(aad)) == 1 &&
         EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && !enc) {
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1;
    }
    if (!ok) {
        goto out;
    }
    if (EVP_CipherFinal_ex(c, out + n, &n) != 1) {
        err = enc ? PROSEC_ERR_CRYPTO_LIB
                  : prosec__fail(PROSEC_ERR_DB,
                                 "a sealed value does not open: wrong "
                                 "master.key, or the database was altered");
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) != 1) {
        goto out;
    }
    err = PROSEC_OK;

out:
    EVP_CIPHER_CTX_free(c);
    return err;
}

prosec_err kmf_seal(const uint8_t mk[KMF_MASTER_LEN], const char *aad,
                    const uint8_t *in, size_t len, uint8_t *out)
{
    prosec_err err = prosec__random(out, NONCE);

    if (err != PROSEC_OK) {
        return err;
    }
    return gcm(true, mk, aad, out, in, len, out + NONCE, out + NONCE + len);
}

prosec_err kmf_unseal(const uint8_t mk[KMF_MASTER_LEN], const char *aad,
                      const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t tag[TAG];
    size_t n;
    prosec_err err;

    if (len < KMF_SEAL_OVERHEAD) {
        return prosec__fail(PROSEC_ERR_DB, "a sealed value is truncated");
    }
    n = len - KMF_SEAL_OVERHEAD;
    memcpy(tag, in + NONCE + n, TAG);
    err = gcm(false, mk, aad, in, in + NONCE, n, out, tag);
    if (err != PROSEC_OK) {
        prosec_wipe(out, n);
    }
    return err;
}
