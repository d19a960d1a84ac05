/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The intel-ipsec-mb backend: SNOW 3G and ZUC through the library's
 * single-buffer calls, AES-128-CTR and AES-CMAC through its job API with
 * the 3GPP bit-length modes (IMB_CIPHER_CNTR_BITLEN,
 * IMB_AUTH_AES_CMAC_BITLEN).
 *
 * The job API keeps jobs in the manager, and the single-buffer calls
 * report refusals in the manager's errno, so each thread gets its own
 * manager, freed when the thread ends.  A shared one, made once, tells
 * whether the library runs here (and on which instruction set, which AUTO
 * weighs in alg.c) and prepares key schedules.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

#include "internal.h"

/*
 * intel-ipsec-mb 1.3's ZUC calls refuse messages above 8188 octets (65504
 * bits), its CMAC-bitlen jobs above 65534 bits (both measured), and its
 * SNOW 3G calls take 32-bit bit lengths; longer messages go to the
 * portable code (OpenSSL for AES), which has no limit.
 */
enum {
    AES_BLOCK = 16,
    CMAC_PREFIX = 8,
    STACK_MSG = 2048,
    ZUC_MAX_LEN = 8188,
    CMAC_MAX_BITS = 65534
};

/* ---- managers ------------------------------------------------------------ */

static IMB_MGR *new_mgr(IMB_ARCH *arch)
{
    IMB_MGR *m = alloc_mb_mgr(0);

    *arch = IMB_ARCH_NONE;
    if (m == NULL) {
        return NULL;
    }
    init_mb_mgr_auto(m, arch);
    if (imb_get_errno(m) != 0 || *arch == IMB_ARCH_NONE) {
        free_mb_mgr(m);
        return NULL;
    }
    return m;
}

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static IMB_MGR *shared_mgr;
static IMB_ARCH shared_arch;

static void make_shared(void)
{
    shared_mgr = new_mgr(&shared_arch);
}

static IMB_MGR *shared(void)
{
    (void)pthread_once(&shared_once, make_shared);
    return shared_mgr;
}

bool prosec__ipsecmb_usable(void)
{
    return shared() != NULL;
}

bool prosec__ipsecmb_aesni(void)
{
    return shared() != NULL && shared_arch != IMB_ARCH_NOAESNI;
}

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;

static void free_thread_mgr(void *m)
{
    free_mb_mgr(m);
}

static void make_tls_key(void)
{
    (void)pthread_key_create(&tls_key, free_thread_mgr);
}

static IMB_MGR *thread_mgr(void)
{
    IMB_ARCH arch;
    IMB_MGR *m;

    (void)pthread_once(&tls_once, make_tls_key);
    m = pthread_getspecific(tls_key);
    if (m == NULL) {
        m = new_mgr(&arch);
        if (m != NULL && pthread_setspecific(tls_key, m) != 0) {
            free_mb_mgr(m);
            m = NULL;
        }
    }
    return m;
}

/* ---- keys ---------------------------------------------------------------- */

struct imb_key {
    /* The library wants these 16-octet aligned; the struct is allocated
     * with 64-octet alignment. */
    uint32_t enc[4 * 15];
    uint32_t dec[4 * 15];
    uint8_t skey1[AES_BLOCK];
    uint8_t skey2[AES_BLOCK];
    snow3g_key_schedule_t snow;
    struct prosec__aes *aes; /* OpenSSL, made when a message is too long */
};

static prosec_err imb_key_init(struct prosec_alg_key *k)
{
    IMB_MGR *m = shared();
    struct imb_key *ik;

    if (m == NULL) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
    ik = aligned_alloc(64, (sizeof(*ik) + 63) / 64 * 64);
    if (ik == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    memset(ik, 0, sizeof(*ik));
    IMB_AES_KEYEXP_128(m, k->key, ik->enc, ik->dec);
    IMB_AES_CMAC_SUBKEY_GEN_128(m, ik->enc, ik->skey1, ik->skey2);
    if (IMB_SNOW3G_INIT_KEY_SCHED(m, k->key, &ik->snow) != 0) {
        prosec_wipe(ik, sizeof(*ik));
        free(ik);
        return PROSEC_ERR_CRYPTO_LIB;
    }
    k->imb = ik;
    return PROSEC_OK;
}

static void imb_key_free(struct prosec_alg_key *k)
{
    if (k->imb != NULL) {
        prosec__aes_free(((struct imb_key *)k->imb)->aes);
        prosec_wipe(k->imb, sizeof(struct imb_key));
        free(k->imb);
        k->imb = NULL;
    }
}

/* ---- IVs ------------------------------------------------------------------
 */

/* COUNT || BEARER || DIRECTION || 0^26, then the same again: the f8 IV of
 * 128-EEA1 and the IV of 128-EEA3, as the library takes them. */
static void iv_cipher(uint8_t v[16], const struct prosec__iv *iv)
{
    memset(v, 0, 16);
    prosec__store32_be(v, iv->count);
    v[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);
    memcpy(v + 8, v, 8);
}

/* f9 IV: COUNT || FRESH || COUNT ^ DIR << 31 || FRESH ^ DIR << 15, with
 * FRESH = BEARER << 27 for 128-EIA1 (TS 35.215 4.4.2). */
static void iv_f9(uint8_t v[16], const struct prosec__iv *iv)
{
    uint32_t fresh = iv->fresh;

    prosec__store32_be(v, iv->count);
    prosec__store32_be(v + 4, fresh);
    prosec__store32_be(v + 8, iv->count ^ (uint32_t)iv->direction << 31);
    prosec__store32_be(v + 12, fresh ^ (uint32_t)iv->direction << 15);
}

/* EIA3 IV (TS 35.221 4.3). */
static void iv_eia3(uint8_t v[16], const struct prosec__iv *iv)
{
    memset(v, 0, 16);
    prosec__store32_be(v, iv->count);
    v[4] = (uint8_t)(iv->bearer << 3);
    memcpy(v + 8, v, 8);
    v[8] ^= (uint8_t)(iv->direction << 7);
    v[14] ^= (uint8_t)(iv->direction << 7);
}

/* ---- jobs -----------------------------------------------------------------
 */

static prosec_err run_job(IMB_MGR *m)
{
    IMB_JOB *job = IMB_SUBMIT_JOB(m);

    if (job == NULL) {
        job = IMB_FLUSH_JOB(m);
    }
    if (job == NULL || job->status != IMB_STATUS_COMPLETED) {
        return PROSEC_ERR_CRYPTO_LIB;
    }
    return PROSEC_OK;
}

static prosec_err eea2(struct imb_key *ik, const struct prosec__iv *iv,
                       const uint8_t *in, uint8_t *out, size_t bits)
{
    IMB_MGR *m = thread_mgr();
    uint8_t ctr[AES_BLOCK] = {0};
    IMB_JOB *job;

    if (m == NULL) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
    prosec__store32_be(ctr, iv->count);
    ctr[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);

    job = IMB_GET_NEXT_JOB(m);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->cipher_mode = IMB_CIPHER_CNTR_BITLEN;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = ik->enc;
    job->dec_keys = ik->enc;
    job->key_len_in_bytes = IMB_KEY_128_BYTES;
    job->src = in;
    job->dst = out;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bits = bits;
    job->iv = ctr;
    job->iv_len_in_bytes = AES_BLOCK;
    return run_job(m);
}

/* EIA2 through OpenSSL, for messages the library refuses. */
static prosec_err eia2_long(struct prosec_alg_key *k,
                            const struct prosec__iv *iv, const uint8_t *msg,
                            size_t bits, uint8_t mac[PROSEC_MAC_LEN])
{
    struct imb_key *ik = k->imb;

    if (ik->aes == NULL) {
        prosec_err err = prosec__aes_new(&ik->aes, k->key);

        if (err != PROSEC_OK) {
            return err;
        }
    }
    return prosec__eia2(ik->aes, iv, msg, bits, mac);
}

static prosec_err eia2(struct imb_key *ik, const struct prosec__iv *iv,
                       const uint8_t *msg, size_t bits,
                       uint8_t mac[PROSEC_MAC_LEN])
{
    IMB_MGR *m = thread_mgr();
    uint8_t stack[STACK_MSG], tag[PROSEC_MAC_LEN];
    size_t len = CMAC_PREFIX + prosec__bytes(bits);
    uint8_t *buf = len <= sizeof(stack) ? stack : malloc(len);
    IMB_JOB *job;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (m == NULL || buf == NULL) {
        err = m == NULL ? PROSEC_ERR_BACKEND_UNAVAILABLE : PROSEC_ERR_NOMEM;
        goto out;
    }
    /* The job API has no IV for CMAC: the message is the 3GPP prefix
     * COUNT || BEARER || DIRECTION || 0^26 followed by the data. */
    memset(buf, 0, CMAC_PREFIX);
    prosec__store32_be(buf, iv->count);
    buf[4] = (uint8_t)(iv->bearer << 3 | iv->direction << 2);
    if (bits > 0) {
        memcpy(buf + CMAC_PREFIX, msg, prosec__bytes(bits));
        buf[len - 1] &= prosec__tail_mask(bits);
    }

    job = IMB_GET_NEXT_JOB(m);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_HASH_CIPHER;
    job->cipher_mode = IMB_CIPHER_NULL;
    job->hash_alg = IMB_AUTH_AES_CMAC_BITLEN;
    job->src = buf;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bits = CMAC_PREFIX * 8 + bits;
    job->u.CMAC._key_expanded = ik->enc;
    job->u.CMAC._skey1 = ik->skey1;
    job->u.CMAC._skey2 = ik->skey2;
    job->auth_tag_output = tag;
    job->auth_tag_output_len_in_bytes = PROSEC_MAC_LEN;
    err = run_job(m);
    if (err == PROSEC_OK) {
        memcpy(mac, tag, PROSEC_MAC_LEN);
    }

out:
    if (buf != NULL) {
        prosec_wipe(buf, len);
    }
    if (buf != stack) {
        free(buf);
    }
    return err;
}

/* ---- the backend ----------------------------------------------------------
 */

/* The single-buffer calls return nothing; a refusal shows in the
 * manager's errno, which is why they run on the thread's own manager. */
static prosec_err lib_status(IMB_MGR *m)
{
    return imb_get_errno(m) == 0 ? PROSEC_OK : PROSEC_ERR_CRYPTO_LIB;
}

static prosec_err imb_eea(struct prosec_alg_key *k, unsigned alg,
                          const struct prosec__iv *iv, const uint8_t *in,
                          uint8_t *out, size_t bits)
{
    struct imb_key *ik = k->imb;
    IMB_MGR *m = thread_mgr();
    uint8_t v[16];

    if (m == NULL) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
    switch (alg) {
    case PROSEC_EEA1:
        if (bits > UINT32_MAX) {
            prosec__eea1(k->key, iv, in, out, bits);
            return PROSEC_OK;
        }
        /* The bit-length call writes one octet past the end (1.3); the
         * octet call does not, and the front end clears the tail bits. */
        iv_cipher(v, iv);
        IMB_SNOW3G_F8_1_BUFFER(m, &ik->snow, v, in, out,
                               (uint32_t)prosec__bytes(bits));
        return lib_status(m);
    case PROSEC_EEA2:
        return eea2(ik, iv, in, out, bits);
    case PROSEC_EEA3:
        if (prosec__bytes(bits) > ZUC_MAX_LEN) {
            prosec__eea3(k->key, iv, in, out, bits);
            return PROSEC_OK;
        }
        iv_cipher(v, iv);
        IMB_ZUC_EEA3_1_BUFFER(m, k->key, v, in, out,
                              (uint32_t)prosec__bytes(bits));
        return lib_status(m);
    default:
        return PROSEC_ERR_INTERNAL;
    }
}

static prosec_err imb_eia(struct prosec_alg_key *k, unsigned alg,
                          const struct prosec__iv *iv, const uint8_t *msg,
                          size_t bits, uint8_t mac[PROSEC_MAC_LEN])
{
    struct imb_key *ik = k->imb;
    IMB_MGR *m = thread_mgr();
    uint8_t v[16];
    uint32_t tag = 0;

    if (m == NULL) {
        return PROSEC_ERR_BACKEND_UNAVAILABLE;
    }
    switch (alg) {
    case PROSEC_EIA1:
        /* The library refuses LENGTH 0, which f9 defines (MAC-I = z5). */
        if (bits == 0 || bits > UINT32_MAX) {
            prosec__store32_be(mac, prosec__eia1(k->key, iv, msg, bits));
            return PROSEC_OK;
        }
        iv_f9(v, iv);
        IMB_SNOW3G_F9_1_BUFFER(m, &ik->snow, v, msg, bits, mac);
        return lib_status(m);
    case PROSEC_EIA2:
        if (bits > CMAC_MAX_BITS - CMAC_PREFIX * 8) {
            return eia2_long(k, iv, msg, bits, mac);
        }
        return eia2(ik, iv, msg, bits, mac);
    case PROSEC_EIA3:
        /* The library refuses LENGTH 0 (leaving the tag unwritten). */
        if (bits == 0 || prosec__bytes(bits) > ZUC_MAX_LEN) {
            prosec__store32_be(mac, prosec__eia3(k->key, iv, msg, bits));
            return PROSEC_OK;
        }
        iv_eia3(v, iv);
        IMB_ZUC_EIA3_1_BUFFER(m, k->key, v, msg, (uint32_t)bits, &tag);
        memcpy(mac, &tag, PROSEC_MAC_LEN);
        return lib_status(m);
    default:
        return PROSEC_ERR_INTERNAL;
    }
}

const struct prosec__backend prosec__backend_ipsecmb = {
    PROSEC_BACKEND_IPSECMB, imb_key_init, imb_key_free, imb_eea, imb_eia};
