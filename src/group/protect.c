/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protection of one PDU with the keys of one (sender, PGK, PTK ID): the
 * stateless core that the sender and the receiver build on.
 *
 * Integrity profile (beyond TS 33.303, as PDCP does for one-to-one links):
 * MAC-I = EIA(PIK, COUNT, BEARER, 0, header || data), then data || MAC-I
 * is ciphered with EEA(PEK, COUNT, BEARER, 0).  COUNT = PTK ID << 16 | SN.
 * A receiver deciphers, checks MAC-I in constant time, and trusts nothing
 * before that.
 */
#include <stdlib.h>
#include <string.h>

#include "prosec/group.h"
#include "prosec/kdf.h"

struct prosec_ptk_keys {
    struct prosec_alg_key *pek;
    struct prosec_alg_key *pik; /* NULL in the ts33303 profile */
    uint8_t alg;
    enum prosec_profile profile;
    uint8_t bearer;
    uint16_t ptk_id;
};

void prosec_ptk_keys_free(struct prosec_ptk_keys *k)
{
    if (k == NULL) {
        return;
    }
    prosec_alg_key_free(k->pek);
    prosec_alg_key_free(k->pik);
    prosec_wipe(k, sizeof(*k));
    free(k);
}

prosec_err prosec_ptk_keys_new(struct prosec_ptk_keys **out,
                               const struct prosec_pgk *pgk, uint32_t group_id,
                               uint32_t member_id, uint16_t ptk_id,
                               enum prosec_backend b)
{
    uint8_t ptk[PROSEC_PTK_LEN], key[PROSEC_ALG_KEY_LEN];
    struct prosec_ptk_keys *k = NULL;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || pgk == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (ptk_id == 0 || pgk->bearer > PROSEC_BEARER_MAX) {
        return PROSEC_ERR_ARG;
    }
    if (pgk->alg > PROSEC_EEA_MAX ||
        (pgk->profile == PROSEC_PROFILE_INTEGRITY &&
         pgk->alg < PROSEC_EIA_MIN)) {
        return PROSEC_ERR_ALG_ID;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    k->alg = pgk->alg;
    k->profile = pgk->profile;
    k->bearer = pgk->bearer;
    k->ptk_id = ptk_id;

    /* PTK (TS 33.303 A.3), then PEK and PIK (A.4). */
    err = prosec_ptk_derive(ptk, pgk->key, member_id, ptk_id, group_id);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec_pek_derive(key, ptk, pgk->alg);
    if (err == PROSEC_OK) {
        err = prosec_alg_key_new(&k->pek, b, key, sizeof(key));
    }
    if (err == PROSEC_OK && k->profile == PROSEC_PROFILE_INTEGRITY) {
        err = prosec_pik_derive(key, ptk, pgk->alg);
        if (err == PROSEC_OK) {
            err = prosec_alg_key_new(&k->pik, b, key, sizeof(key));
        }
    }
    if (err == PROSEC_OK) {
        *out = k;
        k = NULL;
    }

out:
    prosec_wipe(ptk, sizeof(ptk));
    prosec_wipe(key, sizeof(key));
    prosec_ptk_keys_free(k);
    return err;
}

static uint32_t count_of(const struct prosec_pdu_hdr *h)
{
    return (uint32_t)h->ptk_id << 16 | h->sn;
}

prosec_err prosec_pdu_protect(const struct prosec_ptk_keys *k,
                              const struct prosec_pdu_hdr *h,
                              const uint8_t *data, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len)
{
    size_t mac_len, body;
    uint32_t count;
    prosec_err err;

    if (k == NULL || h == NULL || out == NULL || out_len == NULL ||
        (data == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if (h->ptk_id == 0 || h->ptk_id != k->ptk_id || len > PROSEC_PDU_DATA_MAX) {
        return PROSEC_ERR_ARG;
    }
    mac_len = k->profile == PROSEC_PROFILE_INTEGRITY ? PROSEC_MAC_LEN : 0;
    body = len + mac_len;
    if (cap < PROSEC_PDU_HDR_LEN + body) {
        return PROSEC_ERR_BUFFER;
    }
    err = prosec_pdu_hdr_encode(out, h);
    if (err != PROSEC_OK) {
        return err;
    }
    count = count_of(h);
    if (len > 0) {
        memmove(out + PROSEC_PDU_HDR_LEN, data, len);
    }

    /* MAC-I over header || data, appended, then ciphered with the data. */
    if (mac_len > 0) {
        err = prosec_eia_keyed(
            k->pik, k->alg, count, k->bearer, 0, out, PROSEC_PDU_HDR_LEN + len,
            (PROSEC_PDU_HDR_LEN + len) * 8, out + PROSEC_PDU_HDR_LEN + len);
        if (err != PROSEC_OK) {
            return err;
        }
    }
    err = prosec_eea_keyed(k->pek, k->alg, count, k->bearer, 0,
                           out + PROSEC_PDU_HDR_LEN, body,
                           out + PROSEC_PDU_HDR_LEN, body, body * 8);
    if (err != PROSEC_OK) {
        prosec_wipe(out, PROSEC_PDU_HDR_LEN + body);
        return err;
    }
    *out_len = PROSEC_PDU_HDR_LEN + body;
    return PROSEC_OK;
}

prosec_err prosec_pdu_unprotect(const struct prosec_ptk_keys *k,
                                const uint8_t *pdu, size_t len,
                                struct prosec_pdu_hdr *h, uint8_t *out,
                                size_t cap, size_t *out_len)
{
    /* header || plaintext || MAC-I, contiguous for the MAC check; decode
     * bounds len by PROSEC_PDU_MAX */
    uint8_t buf[PROSEC_PDU_MAX];
    struct prosec_pdu_hdr hd;
    const uint8_t *payload;
    size_t plen, mac_len, dlen;
    uint8_t mac[PROSEC_MAC_LEN];
    prosec_err err;

    if (k == NULL || pdu == NULL || out_len == NULL || h == NULL ||
        (out == NULL && cap > 0)) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_pdu_decode(pdu, len, &hd, &payload, &plen);
    if (err != PROSEC_OK) {
        return err;
    }
    if (hd.ptk_id == 0) {
        return PROSEC_ERR_UNPROTECTED;
    }
    if (hd.ptk_id != k->ptk_id) {
        return PROSEC_ERR_ARG;
    }
    mac_len = k->profile == PROSEC_PROFILE_INTEGRITY ? PROSEC_MAC_LEN : 0;
    if (plen < mac_len) {
        return PROSEC_ERR_MALFORMED;
    }
    dlen = plen - mac_len;
    if (cap < dlen) {
        return PROSEC_ERR_BUFFER;
    }
    memcpy(buf, pdu, PROSEC_PDU_HDR_LEN);
    err = prosec_eea_keyed(k->pek, k->alg, count_of(&hd), k->bearer, 0, payload,
                           plen, buf + PROSEC_PDU_HDR_LEN, plen, plen * 8);
    if (err != PROSEC_OK) {
        goto out;
    }
    if (mac_len > 0) {
        err = prosec_eia_keyed(k->pik, k->alg, count_of(&hd), k->bearer, 0, buf,
                               PROSEC_PDU_HDR_LEN + dlen,
                               (PROSEC_PDU_HDR_LEN + dlen) * 8, mac);
        if (err != PROSEC_OK) {
            goto out;
        }
        if (!prosec_ct_equal(mac, buf + PROSEC_PDU_HDR_LEN + dlen,
                             PROSEC_MAC_LEN)) {
            err = PROSEC_ERR_MAC;
            goto out;
        }
    }
    if (dlen > 0) {
        memcpy(out, buf + PROSEC_PDU_HDR_LEN, dlen);
    }
    *out_len = dlen;
    *h = hd;
    err = PROSEC_OK;

out:
    prosec_wipe(buf, len);
    prosec_wipe(mac, sizeof(mac));
    return err;
}
