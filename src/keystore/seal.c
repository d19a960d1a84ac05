/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealing and opening the body (docs/keystore.md "Sealing").  The key
 * comes from the header's salt: Argon2id(passphrase, salt) in passphrase
 * mode, HKDF-SHA-256(salt, key) with a key file or a raw key.  It is
 * derived once per seal and kept, with its salt, in the handle's locked
 * memory: at open from the file's salt, at create and at set_seal from a
 * fresh one.  Each save then seals under that key with a fresh random
 * nonce, so that a save in passphrase mode costs no Argon2 run (the
 * agent saves on every PTK ID reservation and every PGK pushed).  The
 * nonce budget of one key is PROSEC__KS_SEALS_PER_KEY (internal.h).
 * ChaCha20-Poly1305 seals the body with the whole header as associated
 * data, so no header octet can change unnoticed.
 *
 * OpenSSL deciphers into the (secret, locked) output buffer while it
 * computes the tag and compares the tag in constant time at the final
 * step; nothing reads that buffer before the tag is good, and it is wiped
 * when the tag is bad.
 *
 * Limitation (docs/keystore.md, "What is protected, and what is not"):
 * no rollback protection; an older file sealed with the same secret
 * opens.  Binding it to a hardware monotonic counter would need hardware
 * we do not have.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../crypto/internal.h"
#include "internal.h"

_Static_assert((int)ARGON2_VERSION_13 == (int)PROSEC__KS_ARGON2_VERSION,
               "the header names Argon2 version 0x13");

static const char hkdf_info[] = "prosec keystore v1 sealing key";

/* Keys derived in this process, per KDF: the tests' view of the cost.
 * Atomic, as two threads may each run a keystore of their own. */
static atomic_uint_least64_t argon2_runs, hkdf_runs;

uint64_t prosec__ks_kdf_runs(uint8_t kdf)
{
    if (kdf == PROSEC__KS_KDF_ARGON2ID) {
        return atomic_load(&argon2_runs);
    }
    return kdf == PROSEC__KS_KDF_KEY ? atomic_load(&hkdf_runs) : 0;
}

/* ---- the seal's material ------------------------------------------------- */

/* Reads a key file: exactly 32 octets, mode 0600 or 0400, ours. */
static prosec_err read_key_file(const char *path,
                                uint8_t key[PROSEC_KS_KEY_LEN])
{
    uint8_t buf[PROSEC_KS_KEY_LEN + 1];
    struct stat st;
    size_t got = 0;
    int fd;
    prosec_err err = PROSEC_ERR_KS_KEY_FILE;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return errno == ELOOP ? PROSEC_ERR_KS_KEY_FILE_MODE
                              : PROSEC_ERR_KS_KEY_FILE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        goto out;
    }
    if (st.st_uid != geteuid() ||
        ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)) {
        err = PROSEC_ERR_KS_KEY_FILE_MODE;
        goto out;
    }
    if (st.st_size != PROSEC_KS_KEY_LEN) {
        goto out;
    }
    /* read one octet more than expected, to see the file did not grow */
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got != PROSEC_KS_KEY_LEN) {
        goto out;
    }
    memcpy(key, buf, PROSEC_KS_KEY_LEN);
    err = PROSEC_OK;

out:
    prosec_wipe(buf, sizeof(buf));
    close(fd);
    return err;
}

prosec_err prosec__ks_seal_load(struct prosec__ks_seal *m,
                                const struct prosec_seal *s, bool for_write)
{
    struct prosec__ks_seal *t = NULL;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (s == NULL) {
        return PROSEC_ERR_NULL;
    }
    if ((s->flags & ~(unsigned)PROSEC_SEAL_ALLOW_WEAK_KDF) != 0) {
        return PROSEC_ERR_ARG;
    }
    /* built apart, so a failure leaves m as it was */
    t = prosec__secmem_alloc(sizeof(*t), NULL);
    if (t == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    t->kind = s->kind;
    t->allow_weak = (s->flags & PROSEC_SEAL_ALLOW_WEAK_KDF) != 0;

    switch (s->kind) {
    case PROSEC_SEAL_PASSPHRASE:
        err = PROSEC_ERR_NULL;
        if (s->passphrase == NULL) {
            goto out;
        }
        err = PROSEC_ERR_ARG;
        if (s->passphrase_len == 0 ||
            s->passphrase_len > PROSEC_KS_PASSPHRASE_MAX) {
            goto out;
        }
        memcpy(t->passphrase, s->passphrase, s->passphrase_len);
        t->passphrase_len = s->passphrase_len;
        t->argon2 = s->argon2;
        if (t->argon2.passes == 0) {
            t->argon2.passes = PROSEC_ARGON2_PASSES_DEFAULT;
        }
        if (t->argon2.memory_kib == 0) {
            t->argon2.memory_kib = PROSEC_ARGON2_MEMORY_DEFAULT;
        }
        if (t->argon2.lanes == 0) {
            t->argon2.lanes = PROSEC_ARGON2_LANES_DEFAULT;
        }
        err = for_write ? prosec__ks_argon2_check(&t->argon2, t->allow_weak)
                        : PROSEC_OK;
        break;
    case PROSEC_SEAL_KEY_FILE:
        err = s->key_file == NULL ? PROSEC_ERR_NULL
                                  : read_key_file(s->key_file, t->key);
        break;
    case PROSEC_SEAL_KEY:
        err = PROSEC_ERR_NULL;
        if (s->key != NULL) {
            memcpy(t->key, s->key, PROSEC_KS_KEY_LEN);
            err = PROSEC_OK;
        }
        break;
    default:
        err = PROSEC_ERR_ARG;
        break;
    }
    if (err == PROSEC_OK) {
        memcpy(m, t, sizeof(*m));
    }

out:
    prosec__secmem_free(t);
    return err;
}

/* ---- key derivation ---------------------------------------------------------
 */

static prosec_err derive_key(const struct prosec__ks_seal *m,
                             const struct prosec__ks_header *h,
                             uint8_t key[PROSEC_KS_KEY_LEN])
{
    static const uint8_t one = 1;
    uint8_t prk[32];
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (h->kdf == PROSEC__KS_KDF_ARGON2ID) {
        int r;

        atomic_fetch_add_explicit(&argon2_runs, 1, memory_order_relaxed);
        r = argon2_hash(h->argon2.passes, h->argon2.memory_kib, h->argon2.lanes,
                        m->passphrase, m->passphrase_len, h->salt,
                        sizeof(h->salt), key, PROSEC_KS_KEY_LEN, NULL, 0,
                        Argon2_id, ARGON2_VERSION_13);
        if (r == ARGON2_MEMORY_ALLOCATION_ERROR) {
            return PROSEC_ERR_NOMEM;
        }
        return r == ARGON2_OK ? PROSEC_OK : PROSEC_ERR_CRYPTO_LIB;
    }

    /* HKDF-SHA-256 (RFC 5869) for one block: PRK = HMAC(salt, IKM),
     * OKM = HMAC(PRK, info || 0x01). */
    {
        struct prosec__part ikm = {m->key, PROSEC_KS_KEY_LEN};
        struct prosec__part info[2] = {
            {(const uint8_t *)hkdf_info, sizeof(hkdf_info) - 1}, {&one, 1}};

        atomic_fetch_add_explicit(&hkdf_runs, 1, memory_order_relaxed);
        err = prosec__hmac_sha256(prk, h->salt, sizeof(h->salt), &ikm, 1);
        if (err == PROSEC_OK) {
            err = prosec__hmac_sha256(key, prk, sizeof(prk), info, 2);
        }
    }
    prosec_wipe(prk, sizeof(prk));
    return err;
}

/* ---- the AEAD
 * ------------------------------------------------------------------- */

/* ChaCha20-Poly1305 over in (len octets) with aad; enc or dec. */
static prosec_err aead(bool enc, const uint8_t key[PROSEC_KS_KEY_LEN],
                       const uint8_t nonce[PROSEC__KS_NONCE_LEN],
                       const uint8_t *aad, size_t aad_len, const uint8_t *in,
                       size_t len, uint8_t *out,
                       uint8_t tag[PROSEC__KS_TAG_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    int r;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    if (c == NULL || len > PROSEC_KS_BODY_MAX || aad_len > 1024) {
        goto out;
    }
    r = enc ? EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce)
            : EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce);
    if (r != 1 || EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_CipherUpdate(c, out, &n, in, (int)len) != 1) {
        goto out;
    }
    if (enc) {
        if (EVP_EncryptFinal_ex(c, out + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, PROSEC__KS_TAG_LEN,
                                tag) != 1) {
            goto out;
        }
    } else {
        if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, PROSEC__KS_TAG_LEN,
                                tag) != 1) {
            goto out;
        }
        if (EVP_DecryptFinal_ex(c, out + n, &n) != 1) {
            err = PROSEC_ERR_KS_AUTH;
            goto out;
        }
    }
    err = PROSEC_OK;

out:
    EVP_CIPHER_CTX_free(c);
    return err;
}

/* The fields of a header that name m's KDF and AEAD; no salt or nonce. */
static prosec_err header_for(const struct prosec__ks_seal *m,
                             struct prosec__ks_header *h)
{
    memset(h, 0, sizeof(*h));
    h->version = PROSEC__KS_VERSION;
    h->aead = PROSEC__KS_AEAD_CHACHA20_POLY1305;
    if (m->kind == PROSEC_SEAL_PASSPHRASE) {
        h->kdf = PROSEC__KS_KDF_ARGON2ID;
        h->argon2 = m->argon2;
        return prosec__ks_argon2_check(&h->argon2, m->allow_weak);
    }
    if (m->kind == PROSEC_SEAL_KEY_FILE || m->kind == PROSEC_SEAL_KEY) {
        h->kdf = PROSEC__KS_KDF_KEY;
        return PROSEC_OK;
    }
    return PROSEC_ERR_ARG;
}

prosec_err prosec__ks_seal_rekey(struct prosec__ks_seal *m)
{
    struct prosec__ks_header h;
    uint8_t key[PROSEC_KS_KEY_LEN];
    prosec_err err = PROSEC_ERR_INTERNAL;

    err = header_for(m, &h);
    if (err != PROSEC_OK) {
        goto out;
    }
    if (RAND_bytes(h.salt, sizeof(h.salt)) != 1) {
        err = PROSEC_ERR_CRYPTO_LIB;
        goto out;
    }
    err = derive_key(m, &h, key);
    if (err != PROSEC_OK) {
        goto out;
    }

    /* salt, key and (unchanged) parameters now go together */
    memcpy(m->salt, h.salt, sizeof(m->salt));
    memcpy(m->seal_key, key, sizeof(m->seal_key));
    m->keyed = true;
    m->sealed = 0;

out:
    prosec_wipe(key, sizeof(key));
    return err;
}

prosec_err prosec__ks_seal(struct prosec__ks_seal *m, const uint8_t *body,
                           size_t body_len, uint8_t **file, size_t *file_len)
{
    struct prosec__ks_header h;
    uint8_t tag[PROSEC__KS_TAG_LEN];
    uint8_t *f = NULL;
    size_t total = PROSEC__KS_HDR_LEN + body_len + PROSEC__KS_TAG_LEN;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (body_len == 0 || body_len > PROSEC_KS_BODY_MAX) {
        return PROSEC_ERR_FULL;
    }
    /* a new seal, or a key at the end of its nonce budget: a new salt */
    if (!m->keyed || m->sealed >= PROSEC__KS_SEALS_PER_KEY) {
        err = prosec__ks_seal_rekey(m);
        if (err != PROSEC_OK) {
            return err;
        }
    }
    err = header_for(m, &h);
    if (err != PROSEC_OK) {
        return err;
    }
    h.body_len = (uint32_t)body_len;
    memcpy(h.salt, m->salt, sizeof(h.salt));

    /* the salt and key stay; the nonce is fresh on every write.  Counted
     * once drawn: a nonce spent on a write that then failed may still sit
     * in a stale temporary file. */
    if (RAND_bytes(h.nonce, sizeof(h.nonce)) != 1) {
        return PROSEC_ERR_CRYPTO_LIB;
    }
    m->sealed++;

    f = malloc(total);
    if (f == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    prosec__ks_header_encode(f, &h);
    err = aead(true, m->seal_key, h.nonce, f, PROSEC__KS_HDR_LEN, body,
               body_len, f + PROSEC__KS_HDR_LEN, tag);
    if (err != PROSEC_OK) {
        goto out;
    }
    memcpy(f + PROSEC__KS_HDR_LEN + body_len, tag, sizeof(tag));
    *file = f;
    *file_len = total;
    f = NULL;

out:
    free(f);
    return err;
}

prosec_err prosec__ks_unseal(struct prosec__ks_seal *m, const uint8_t *file,
                             size_t len, uint8_t **body, size_t *body_len)
{
    struct prosec__ks_header h;
    uint8_t key[PROSEC_KS_KEY_LEN];
    uint8_t tag[PROSEC__KS_TAG_LEN];
    uint8_t *b = NULL;
    prosec_err err = PROSEC_ERR_INTERNAL;

    err = prosec__ks_header_decode(file, len, m->allow_weak, &h);
    if (err != PROSEC_OK) {
        return err;
    }
    if ((h.kdf == PROSEC__KS_KDF_ARGON2ID) !=
        (m->kind == PROSEC_SEAL_PASSPHRASE)) {
        return PROSEC_ERR_KS_SEAL_KIND;
    }

    b = prosec__secmem_alloc(h.body_len, NULL);
    if (b == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    err = derive_key(m, &h, key);
    if (err != PROSEC_OK) {
        goto out;
    }
    memcpy(tag, file + PROSEC__KS_HDR_LEN + h.body_len, sizeof(tag));
    err = aead(false, key, h.nonce, file, PROSEC__KS_HDR_LEN,
               file + PROSEC__KS_HDR_LEN, h.body_len, b, tag);
    if (err != PROSEC_OK) {
        goto out;
    }
    /* the next saves keep the file's salt, key and cost */
    if (h.kdf == PROSEC__KS_KDF_ARGON2ID) {
        m->argon2 = h.argon2;
    }
    memcpy(m->salt, h.salt, sizeof(m->salt));
    memcpy(m->seal_key, key, sizeof(m->seal_key));
    m->keyed = true;
    m->sealed = 0;
    *body = b;
    *body_len = h.body_len;
    b = NULL;

out:
    prosec_wipe(key, sizeof(key));
    prosec__secmem_free(b);
    return err;
}

/* ---- whole keystores from memory
 * ----------------------------------------------- */

prosec_err prosec__ks_from_body(struct prosec_keystore **out,
                                const uint8_t *body, size_t len)
{
    struct prosec_keystore *ks = NULL;
    prosec_err err;

    if (out == NULL || (body == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__ks_new(&ks);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec__ks_body_decode(ks, body, len);
    if (err != PROSEC_OK) {
        prosec__ks_free_model(ks);
        return err;
    }
    *out = ks;
    return PROSEC_OK;
}

prosec_err prosec__ks_from_memory(struct prosec_keystore **out,
                                  const uint8_t *file, size_t len,
                                  const struct prosec_seal *seal)
{
    struct prosec_keystore *ks = NULL;
    uint8_t *body = NULL;
    size_t body_len = 0;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || seal == NULL || (file == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__ks_new(&ks);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec__ks_seal_load(&ks->sec->seal, seal, false);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec__ks_unseal(&ks->sec->seal, file, len, &body, &body_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec__ks_body_decode(ks, body, body_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    *out = ks;
    ks = NULL;

out:
    prosec__secmem_free(body);
    prosec__ks_free_model(ks);
    return err;
}
