/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protected one-to-one link between a remote device and its relay:
 * PEK and PIK from KD-sess (TS 33.303 A.4), and LINK_DATA messages laid
 * out as PDCP protects a one-to-one bearer (TS 33.303 6.5, TS 33.401 B):
 * header || COUNT || EEA(payload || MAC-I), the MAC-I over header ||
 * COUNT || payload.
 *
 * Properties to keep: a message is built and checked in the link's own
 * buffer, so the caller's output is written only on success; the MAC-I is
 * compared in constant time before the COUNT or the payload is believed;
 * a COUNT is never used twice in a direction (the sender stops at
 * 0xFFFFFFFF); the buffer is wiped after every call.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/internal.h"
#include "pc5sig_internal.h"
#include "prosec/kdf.h"
#include "prosec/relay.h"

enum {
    COUNT_OFF = PROSEC_PC5SIG_HDR_LEN,
    DATA_OFF = COUNT_OFF + 4, /* payload, then MAC-I */
    BEARER = 0                /* the link is one bearer */
};

struct prosec_link {
    struct prosec_alg_key *pek;
    struct prosec_alg_key *pik;
    uint8_t eea, eia;
    uint8_t tx_dir, rx_dir;
    uint32_t sent;     /* last COUNT sent; 0: none */
    uint32_t accepted; /* last COUNT accepted; 0: none */
    /* header || COUNT || payload || MAC-I of the message in hand */
    uint8_t buf[PROSEC_PC5SIG_MSG_MAX];
};

void prosec_link_free(struct prosec_link *l)
{
    if (l == NULL) {
        return;
    }
    prosec_alg_key_free(l->pek);
    prosec_alg_key_free(l->pik);
    prosec_wipe(l, sizeof(*l));
    free(l);
}

prosec_err prosec_link_new(struct prosec_link **out,
                           const uint8_t kd_sess[PROSEC_KD_SESS_LEN],
                           unsigned eea, unsigned eia,
                           enum prosec_link_role role, enum prosec_backend b)
{
    uint8_t key[PROSEC_ALG_KEY_LEN];
    struct prosec_link *l = NULL;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || kd_sess == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (role != PROSEC_LINK_RELAY && role != PROSEC_LINK_REMOTE) {
        return PROSEC_ERR_ARG;
    }
    if (eea > PROSEC_EEA_MAX || eia < PROSEC_EIA_MIN || eia > PROSEC_EIA_MAX) {
        return PROSEC_ERR_ALG_ID;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    l->eea = (uint8_t)eea;
    l->eia = (uint8_t)eia;
    /* DIRECTION 1 is relay to remote */
    l->tx_dir = role == PROSEC_LINK_RELAY ? 1 : 0;
    l->rx_dir = (uint8_t)(1 - l->tx_dir);

    /* PEK, PIK = KDF(KD-sess, 0x4B, 0x00 / 0x01, alg), TS 33.303 A.4 */
    err = prosec_pek_derive(key, kd_sess, eea);
    if (err == PROSEC_OK) {
        err = prosec_alg_key_new(&l->pek, b, key, sizeof(key));
    }
    if (err == PROSEC_OK) {
        err = prosec_pik_derive(key, kd_sess, eia);
    }
    if (err == PROSEC_OK) {
        err = prosec_alg_key_new(&l->pik, b, key, sizeof(key));
    }
    if (err == PROSEC_OK) {
        *out = l;
        l = NULL;
    }

    prosec_wipe(key, sizeof(key));
    prosec_link_free(l);
    return err;
}

struct prosec_alg_key *prosec_link_pik(struct prosec_link *l)
{
    return l != NULL ? l->pik : NULL;
}

void prosec_link_counts(const struct prosec_link *l, uint32_t *sent,
                        uint32_t *accepted)
{
    if (sent != NULL) {
        *sent = l != NULL ? l->sent : 0;
    }
    if (accepted != NULL) {
        *accepted = l != NULL ? l->accepted : 0;
    }
}

void prosec__link_set_counts(struct prosec_link *l, uint32_t sent,
                             uint32_t accepted)
{
    l->sent = sent;
    l->accepted = accepted;
}

/* Whether the a_len octets at a and the b_len octets at b share one. */
static bool overlap(const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

    if (a_len == 0 || b_len == 0) {
        return false;
    }
    return x < y ? y - x < a_len : x - y < b_len;
}

/* MAC-I over header || COUNT || the len payload octets of l->buf. */
static prosec_err link_mac(struct prosec_link *l, uint32_t count, uint8_t dir,
                           size_t len, uint8_t mac[PROSEC_MAC_LEN])
{
    return prosec_eia_keyed(l->pik, l->eia, count, BEARER, dir, l->buf,
                            DATA_OFF + len, (DATA_OFF + len) * 8, mac);
}

prosec_err prosec_link_seal(struct prosec_link *l, const uint8_t *plaintext,
                            size_t len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    size_t total = PROSEC_LINK_OVERHEAD + len;
    uint32_t count;
    prosec_err err;

    if (l == NULL || out == NULL || out_len == NULL ||
        (plaintext == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if (len > PROSEC_LINK_PAYLOAD_MAX) {
        return PROSEC_ERR_PC5SIG_TOO_LARGE;
    }
    if (cap < total) {
        return PROSEC_ERR_BUFFER;
    }
    /* the contract forbids it, whatever l->buf would make of it */
    if (overlap(plaintext, len, out, total)) {
        return PROSEC_ERR_OVERLAP;
    }
    if (l->sent == UINT32_MAX) {
        return PROSEC_ERR_PC5SIG_COUNT; /* never wrap to a used COUNT */
    }
    count = l->sent + 1;

    prosec__pc5sig_put_hdr(l->buf, PROSEC_PC5SIG_LINK_DATA,
                           total - PROSEC_PC5SIG_HDR_LEN);
    prosec__store32_be(l->buf + COUNT_OFF, count);
    if (len > 0) {
        memcpy(l->buf + DATA_OFF, plaintext, len);
    }

    /* MAC-I appended to the payload, then both ciphered in place */
    err = link_mac(l, count, l->tx_dir, len, l->buf + DATA_OFF + len);
    if (err == PROSEC_OK) {
        err = prosec_eea_keyed(l->pek, l->eea, count, BEARER, l->tx_dir,
                               l->buf + DATA_OFF, len + PROSEC_MAC_LEN,
                               l->buf + DATA_OFF, len + PROSEC_MAC_LEN,
                               (len + PROSEC_MAC_LEN) * 8);
    }
    if (err == PROSEC_OK) {
        memcpy(out, l->buf, total);
        *out_len = total;
        l->sent = count;
    }
    prosec_wipe(l->buf, total);
    return err;
}

prosec_err prosec_link_open(struct prosec_link *l, const uint8_t *msg,
                            size_t len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    uint8_t mac[PROSEC_MAC_LEN];
    const uint8_t *body = NULL;
    size_t plen;
    uint32_t count;
    prosec_err err;

    if (l == NULL || out_len == NULL || (out == NULL && cap > 0)) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__pc5sig_open(msg, len, PROSEC_PC5SIG_LINK_DATA, &body);
    if (err != PROSEC_OK) {
        return err;
    }
    /* the framing check bounds len by PROSEC_PC5SIG_MSG_MAX */
    plen = len - PROSEC_LINK_OVERHEAD;
    if (cap < plen) {
        return PROSEC_ERR_BUFFER;
    }
    count = prosec__load32_be(body);

    /* decipher into our buffer, then check MAC-I before anything else */
    memcpy(l->buf, msg, DATA_OFF);
    err = prosec_eea_keyed(l->pek, l->eea, count, BEARER, l->rx_dir,
                           msg + DATA_OFF, plen + PROSEC_MAC_LEN,
                           l->buf + DATA_OFF, plen + PROSEC_MAC_LEN,
                           (plen + PROSEC_MAC_LEN) * 8);
    if (err == PROSEC_OK) {
        err = link_mac(l, count, l->rx_dir, plen, mac);
    }
    if (err == PROSEC_OK &&
        !prosec_ct_equal(mac, l->buf + DATA_OFF + plen, PROSEC_MAC_LEN)) {
        err = PROSEC_ERR_PC5SIG_MAC;
    }

    /* authentic: the stream keeps order, so COUNT must only go up */
    if (err == PROSEC_OK && count <= l->accepted) {
        err = PROSEC_ERR_PC5SIG_REPLAY;
    }
    if (err == PROSEC_OK) {
        if (plen > 0) {
            memcpy(out, l->buf + DATA_OFF, plen);
        }
        *out_len = plen;
        l->accepted = count;
    }
    prosec_wipe(l->buf, len);
    prosec_wipe(mac, sizeof(mac));
    return err;
}
