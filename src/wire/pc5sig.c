/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relay signalling messages of prosec (docs/wire.md "Relay
 * signalling"): version | type | body length | body, with a fixed body
 * per type.  The framing check bounds every message by its type before a
 * reader waits for its body; decoders then read fixed offsets of a body
 * whose exact length is already checked.
 *
 * Properties to keep: out-parameters and output buffers are written last,
 * only on success; MAC-Is are compared in constant time with
 * prosec_ct_equal before any field they cover is believed.
 */
#include <stdbool.h>
#include <string.h>

#include "../crypto/internal.h"
#include "pc5sig_internal.h"
#include "prosec/relay.h"

/* Body layouts: offsets into the body. */
enum {
    ANN_L2 = 0,
    ANN_ADDR = 3,
    ANN_RSC = 9,
    ANN_BODY = 12,
    DCR_L2 = 0,
    DCR_PRUK_ID = 3,
    DCR_NONCE1 = DCR_PRUK_ID + PROSEC_PRUK_ID_LEN,
    DCR_CAPS = DCR_NONCE1 + PROSEC_NONCE_LEN,
    DCR_BODY = DCR_CAPS + 2,
    DSMC_NONCE2 = 0,
    DSMC_FRESH = DSMC_NONCE2 + PROSEC_NONCE_LEN,
    DSMC_CAPS = DSMC_FRESH + PROSEC_KD_FRESHNESS_LEN,
    DSMC_EEA = DSMC_CAPS + 2,
    DSMC_EIA = DSMC_EEA + 1,
    DSMC_MIKEY = DSMC_EIA + 1,
    DSMC_MAC = DSMC_MIKEY + 6,
    DSMC_BODY = DSMC_MAC + PROSEC_MAC_LEN,
    /* the octets the command's MAC-I covers: header and body before it */
    DSMC_MACED = PROSEC_PC5SIG_HDR_LEN + DSMC_MAC,
    /* the octets the complete message's MAC-I covers */
    COMPLETE_MACED = PROSEC_PC5SIG_HDR_LEN + PROSEC_PC5SIG_DSMC_LEN,
    LINK_BODY_MIN = 4 + PROSEC_MAC_LEN
};

/* Direction bits of the security mode messages (TS 33.401 B.1 inputs). */
enum { DIR_REMOTE_TO_RELAY = 0, DIR_RELAY_TO_REMOTE = 1 };

/* ---- fields -------------------------------------------------------------- */

static void put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static uint32_t get24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void put_addr(uint8_t *p, const struct prosec_pc5sig_addr *a)
{
    memcpy(p, a->ipv4, 4);
    p[4] = (uint8_t)(a->port >> 8);
    p[5] = (uint8_t)a->port;
}

static void get_addr(const uint8_t *p, struct prosec_pc5sig_addr *a)
{
    memcpy(a->ipv4, p, 4);
    a->port = (uint16_t)(p[4] << 8 | p[5]);
}

static bool caps_ok(const struct prosec_ue_sec_caps *c)
{
    return (c->eea & ~PROSEC_CAPS_EEA_MASK) == 0 &&
           (c->eia & ~PROSEC_CAPS_EIA_MASK) == 0;
}

static bool offered(uint8_t mask, unsigned alg)
{
    return alg < 8 && (mask >> alg & 1) != 0;
}

/* ---- framing ------------------------------------------------------------- */

/* Whether a body of n octets fits type; false for an unknown type. */
static bool body_len_ok(uint8_t type, size_t n)
{
    switch (type) {
    case PROSEC_PC5SIG_ANNOUNCE:
        return n == ANN_BODY;
    case PROSEC_PC5SIG_DCR:
        return n == DCR_BODY;
    case PROSEC_PC5SIG_DSMC:
        return n == DSMC_BODY;
    case PROSEC_PC5SIG_DSM_COMPLETE:
        return n == PROSEC_MAC_LEN;
    case PROSEC_PC5SIG_DSM_REJECT:
    case PROSEC_PC5SIG_LINK_REJECT:
        return n == 1;
    case PROSEC_PC5SIG_LINK_DATA:
        return n >= LINK_BODY_MIN &&
               n <= LINK_BODY_MIN + PROSEC_LINK_PAYLOAD_MAX;
    default:
        return false;
    }
}

static bool type_known(uint8_t type)
{
    return type >= PROSEC_PC5SIG_ANNOUNCE && type <= PROSEC_PC5SIG_LINK_DATA;
}

void prosec__pc5sig_put_hdr(uint8_t out[PROSEC_PC5SIG_HDR_LEN], uint8_t type,
                            size_t body_len)
{
    out[0] = PROSEC_PC5SIG_VERSION;
    out[1] = type;
    out[2] = (uint8_t)(body_len >> 8);
    out[3] = (uint8_t)body_len;
}

prosec_err prosec_pc5sig_frame(const uint8_t *buf, size_t avail, size_t *need)
{
    size_t body;

    if (need == NULL || (buf == NULL && avail > 0)) {
        return PROSEC_ERR_NULL;
    }
    /* judge what has arrived of the header, so a bad stream fails early */
    if (avail >= 1 && buf[0] != PROSEC_PC5SIG_VERSION) {
        return PROSEC_ERR_PC5SIG_VERSION;
    }
    if (avail >= 2 && !type_known(buf[1])) {
        return PROSEC_ERR_PC5SIG_TYPE;
    }
    if (avail < PROSEC_PC5SIG_HDR_LEN) {
        *need = PROSEC_PC5SIG_HDR_LEN;
        return PROSEC_ERR_PC5SIG_INCOMPLETE;
    }
    body = (size_t)buf[2] << 8 | buf[3];
    if (!body_len_ok(buf[1], body)) {
        return PROSEC_ERR_PC5SIG_MALFORMED;
    }
    *need = PROSEC_PC5SIG_HDR_LEN + body;
    return avail >= *need ? PROSEC_OK : PROSEC_ERR_PC5SIG_INCOMPLETE;
}

prosec_err prosec_pc5sig_type(const uint8_t *msg, size_t len,
                              enum prosec_pc5sig_type *type)
{
    size_t need = 0;
    prosec_err err;

    if (msg == NULL || type == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_pc5sig_frame(msg, len, &need);
    if (err == PROSEC_ERR_PC5SIG_INCOMPLETE ||
        (err == PROSEC_OK && need != len)) {
        return PROSEC_ERR_PC5SIG_MALFORMED; /* short, or trailing octets */
    }
    if (err == PROSEC_OK) {
        *type = (enum prosec_pc5sig_type)msg[1];
    }
    return err;
}

prosec_err prosec__pc5sig_open(const uint8_t *msg, size_t len, uint8_t want,
                               const uint8_t **body)
{
    enum prosec_pc5sig_type type;
    prosec_err err = prosec_pc5sig_type(msg, len, &type);

    if (err != PROSEC_OK) {
        return err;
    }
    if (type != want) {
        return PROSEC_ERR_PC5SIG_TYPE;
    }
    *body = msg + PROSEC_PC5SIG_HDR_LEN;
    return PROSEC_OK;
}

/* Checks the common encoder arguments for a message of total octets. */
static prosec_err out_ok(const uint8_t *out, size_t cap, const size_t *out_len,
                         const void *in, size_t total)
{
    if (out == NULL || out_len == NULL || in == NULL) {
        return PROSEC_ERR_NULL;
    }
    return cap < total ? PROSEC_ERR_BUFFER : PROSEC_OK;
}

/* ---- RELAY_ANNOUNCE ------------------------------------------------------ */

prosec_err prosec_pc5sig_announce_encode(uint8_t *out, size_t cap,
                                         size_t *out_len,
                                         const struct prosec_pc5sig_announce *a)
{
    prosec_err err = out_ok(out, cap, out_len, a, PROSEC_PC5SIG_ANNOUNCE_LEN);
    uint8_t *b;

    if (err != PROSEC_OK) {
        return err;
    }
    if (a->relay_l2_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    if (a->tcp.port == 0 || a->service_code > 0xFFFFFF) {
        return PROSEC_ERR_ARG;
    }
    b = out + PROSEC_PC5SIG_HDR_LEN;
    prosec__pc5sig_put_hdr(out, PROSEC_PC5SIG_ANNOUNCE, ANN_BODY);
    put24(b + ANN_L2, a->relay_l2_id);
    put_addr(b + ANN_ADDR, &a->tcp);
    put24(b + ANN_RSC, a->service_code);
    *out_len = PROSEC_PC5SIG_ANNOUNCE_LEN;
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_announce_decode(const uint8_t *msg, size_t len,
                                         struct prosec_pc5sig_announce *a)
{
    struct prosec_pc5sig_announce t;
    const uint8_t *b = NULL;
    prosec_err err;

    if (a == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__pc5sig_open(msg, len, PROSEC_PC5SIG_ANNOUNCE, &b);
    if (err != PROSEC_OK) {
        return err;
    }
    t.relay_l2_id = get24(b + ANN_L2);
    get_addr(b + ANN_ADDR, &t.tcp);
    t.service_code = get24(b + ANN_RSC);
    if (t.tcp.port == 0) {
        return PROSEC_ERR_PC5SIG_MALFORMED;
    }
    *a = t;
    return PROSEC_OK;
}

/* ---- DIRECT_COMM_REQUEST ------------------------------------------------- */

prosec_err prosec_pc5sig_dcr_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const struct prosec_pc5sig_dcr *r)
{
    prosec_err err = out_ok(out, cap, out_len, r, PROSEC_PC5SIG_DCR_LEN);
    uint8_t *b;

    if (err != PROSEC_OK) {
        return err;
    }
    if (r->remote_l2_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    if (!caps_ok(&r->caps)) {
        return PROSEC_ERR_ARG;
    }
    b = out + PROSEC_PC5SIG_HDR_LEN;
    prosec__pc5sig_put_hdr(out, PROSEC_PC5SIG_DCR, DCR_BODY);
    put24(b + DCR_L2, r->remote_l2_id);
    memcpy(b + DCR_PRUK_ID, r->pruk_id, PROSEC_PRUK_ID_LEN);
    memcpy(b + DCR_NONCE1, r->nonce1, PROSEC_NONCE_LEN);
    b[DCR_CAPS] = r->caps.eea;
    b[DCR_CAPS + 1] = r->caps.eia;
    *out_len = PROSEC_PC5SIG_DCR_LEN;
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_dcr_decode(const uint8_t *msg, size_t len,
                                    struct prosec_pc5sig_dcr *r)
{
    struct prosec_pc5sig_dcr t;
    const uint8_t *b = NULL;
    prosec_err err;

    if (r == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__pc5sig_open(msg, len, PROSEC_PC5SIG_DCR, &b);
    if (err != PROSEC_OK) {
        return err;
    }
    t.remote_l2_id = get24(b + DCR_L2);
    memcpy(t.pruk_id, b + DCR_PRUK_ID, PROSEC_PRUK_ID_LEN);
    memcpy(t.nonce1, b + DCR_NONCE1, PROSEC_NONCE_LEN);
    t.caps.eea = b[DCR_CAPS];
    t.caps.eia = b[DCR_CAPS + 1];
    if (!caps_ok(&t.caps)) {
        return PROSEC_ERR_PC5SIG_MALFORMED;
    }
    *r = t;
    return PROSEC_OK;
}

/* The first of pref (n ids) that mask offers, or -1. */
static int first_offered(uint8_t mask, const uint8_t *pref, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (offered(mask, pref[k])) {
            return pref[k];
        }
    }
    return -1;
}

prosec_err prosec_pc5sig_choose_alg(const struct prosec_ue_sec_caps *offer,
                                    const struct prosec_ue_sec_caps *allowed,
                                    uint8_t *eea, uint8_t *eia)
{
    /* AES first: the fastest here, and in most devices' hardware */
    static const uint8_t eea_pref[] = {PROSEC_EEA2, PROSEC_EEA3, PROSEC_EEA1,
                                       PROSEC_EEA0};
    static const uint8_t eia_pref[] = {PROSEC_EIA2, PROSEC_EIA3, PROSEC_EIA1};
    int e, i;

    if (offer == NULL || allowed == NULL || eea == NULL || eia == NULL) {
        return PROSEC_ERR_NULL;
    }
    e = first_offered(offer->eea & allowed->eea & PROSEC_CAPS_EEA_MASK,
                      eea_pref, sizeof(eea_pref));
    i = first_offered(offer->eia & allowed->eia & PROSEC_CAPS_EIA_MASK,
                      eia_pref, sizeof(eia_pref));
    if (e < 0 || i < 0) {
        return PROSEC_ERR_PC5SIG_ALG;
    }
    *eea = (uint8_t)e;
    *eia = (uint8_t)i;
    return PROSEC_OK;
}

/* ---- DIRECT_SECURITY_MODE_COMMAND ---------------------------------------- */

/* The command's MAC-I over its first DSMC_MACED octets (COUNT 0). */
static prosec_err dsmc_mac(struct prosec_alg_key *pik, uint8_t eia,
                           const uint8_t *msg, uint8_t mac[PROSEC_MAC_LEN])
{
    return prosec_eia_keyed(pik, eia, 0, 0, DIR_RELAY_TO_REMOTE, msg,
                            DSMC_MACED, DSMC_MACED * 8, mac);
}

prosec_err prosec_pc5sig_dsmc_encode(uint8_t *out, size_t cap, size_t *out_len,
                                     const struct prosec_pc5sig_dsmc *m,
                                     struct prosec_alg_key *pik)
{
    uint8_t buf[PROSEC_PC5SIG_DSMC_LEN];
    uint8_t *b = buf + PROSEC_PC5SIG_HDR_LEN;
    prosec_err err = out_ok(out, cap, out_len, m, PROSEC_PC5SIG_DSMC_LEN);

    if (err != PROSEC_OK) {
        return err;
    }
    if (pik == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!caps_ok(&m->caps) || m->mikey.port == 0) {
        return PROSEC_ERR_ARG;
    }
    /* EEA0 only when the remote offered it, as any choice */
    if (m->eea > PROSEC_EEA_MAX || m->eia < PROSEC_EIA_MIN ||
        m->eia > PROSEC_EIA_MAX || !offered(m->caps.eea, m->eea) ||
        !offered(m->caps.eia, m->eia)) {
        return PROSEC_ERR_PC5SIG_ALG;
    }

    prosec__pc5sig_put_hdr(buf, PROSEC_PC5SIG_DSMC, DSMC_BODY);
    memcpy(b + DSMC_NONCE2, m->nonce2, PROSEC_NONCE_LEN);
    memcpy(b + DSMC_FRESH, m->kd_freshness, PROSEC_KD_FRESHNESS_LEN);
    b[DSMC_CAPS] = m->caps.eea;
    b[DSMC_CAPS + 1] = m->caps.eia;
    b[DSMC_EEA] = m->eea;
    b[DSMC_EIA] = m->eia;
    put_addr(b + DSMC_MIKEY, &m->mikey);
    err = dsmc_mac(pik, m->eia, buf, b + DSMC_MAC);
    if (err != PROSEC_OK) {
        return err;
    }
    memcpy(out, buf, sizeof(buf));
    *out_len = sizeof(buf);
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_dsmc_decode(const uint8_t *msg, size_t len,
                                     struct prosec_pc5sig_dsmc *m)
{
    struct prosec_pc5sig_dsmc t;
    const uint8_t *b = NULL;
    prosec_err err;

    if (m == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__pc5sig_open(msg, len, PROSEC_PC5SIG_DSMC, &b);
    if (err != PROSEC_OK) {
        return err;
    }
    memcpy(t.nonce2, b + DSMC_NONCE2, PROSEC_NONCE_LEN);
    memcpy(t.kd_freshness, b + DSMC_FRESH, PROSEC_KD_FRESHNESS_LEN);
    t.caps.eea = b[DSMC_CAPS];
    t.caps.eia = b[DSMC_CAPS + 1];
    t.eea = b[DSMC_EEA];
    t.eia = b[DSMC_EIA];
    get_addr(b + DSMC_MIKEY, &t.mikey);
    memcpy(t.mac, b + DSMC_MAC, PROSEC_MAC_LEN);
    if (!caps_ok(&t.caps) || t.eea > PROSEC_EEA_MAX ||
        t.eia < PROSEC_EIA_MIN || t.eia > PROSEC_EIA_MAX ||
        t.mikey.port == 0) {
        return PROSEC_ERR_PC5SIG_MALFORMED;
    }
    *m = t;
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_dsmc_verify(const uint8_t *msg, size_t len,
                                     struct prosec_alg_key *pik,
                                     const struct prosec_ue_sec_caps *sent)
{
    struct prosec_pc5sig_dsmc m;
    uint8_t mac[PROSEC_MAC_LEN];
    prosec_err err;

    if (pik == NULL || sent == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_pc5sig_dsmc_decode(msg, len, &m);
    if (err != PROSEC_OK) {
        return err;
    }
    err = dsmc_mac(pik, m.eia, msg, mac);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!prosec_ct_equal(mac, m.mac, PROSEC_MAC_LEN)) {
        return PROSEC_ERR_PC5SIG_MAC;
    }

    /* authentic: now the relay's word on what we offered can be judged */
    if (m.caps.eea != sent->eea || m.caps.eia != sent->eia) {
        return PROSEC_ERR_PC5SIG_ECHO;
    }
    if (!offered(sent->eea, m.eea) || !offered(sent->eia, m.eia)) {
        return PROSEC_ERR_PC5SIG_ALG;
    }
    return PROSEC_OK;
}

/* ---- DIRECT_SECURITY_MODE_COMPLETE --------------------------------------- */

/*
 * MAC-I of a complete message: over its header followed by the whole
 * command it answers, under the command's EIA, COUNT 0, DIRECTION 0.
 */
static prosec_err complete_mac(struct prosec_alg_key *pik, const uint8_t *dsmc,
                               size_t dsmc_len, uint8_t mac[PROSEC_MAC_LEN])
{
    uint8_t buf[COMPLETE_MACED];
    struct prosec_pc5sig_dsmc m;
    prosec_err err;

    if (pik == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_pc5sig_dsmc_decode(dsmc, dsmc_len, &m);
    if (err != PROSEC_OK) {
        return err;
    }
    prosec__pc5sig_put_hdr(buf, PROSEC_PC5SIG_DSM_COMPLETE, PROSEC_MAC_LEN);
    memcpy(buf + PROSEC_PC5SIG_HDR_LEN, dsmc, PROSEC_PC5SIG_DSMC_LEN);
    return prosec_eia_keyed(pik, m.eia, 0, 0, DIR_REMOTE_TO_RELAY, buf,
                            sizeof(buf), sizeof(buf) * 8, mac);
}

prosec_err prosec_pc5sig_complete_encode(uint8_t *out, size_t cap,
                                         size_t *out_len, const uint8_t *dsmc,
                                         size_t dsmc_len,
                                         struct prosec_alg_key *pik)
{
    uint8_t mac[PROSEC_MAC_LEN];
    prosec_err err =
        out_ok(out, cap, out_len, dsmc, PROSEC_PC5SIG_COMPLETE_LEN);

    if (err != PROSEC_OK) {
        return err;
    }
    err = complete_mac(pik, dsmc, dsmc_len, mac);
    if (err != PROSEC_OK) {
        return err;
    }
    prosec__pc5sig_put_hdr(out, PROSEC_PC5SIG_DSM_COMPLETE, PROSEC_MAC_LEN);
    memcpy(out + PROSEC_PC5SIG_HDR_LEN, mac, PROSEC_MAC_LEN);
    *out_len = PROSEC_PC5SIG_COMPLETE_LEN;
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_complete_check(const uint8_t *msg, size_t len,
                                        const uint8_t *dsmc, size_t dsmc_len,
                                        struct prosec_alg_key *pik)
{
    uint8_t mac[PROSEC_MAC_LEN];
    const uint8_t *b = NULL;
    prosec_err err;

    err = prosec__pc5sig_open(msg, len, PROSEC_PC5SIG_DSM_COMPLETE, &b);
    if (err != PROSEC_OK) {
        return err;
    }
    err = complete_mac(pik, dsmc, dsmc_len, mac);
    if (err != PROSEC_OK) {
        return err;
    }
    return prosec_ct_equal(mac, b, PROSEC_MAC_LEN) ? PROSEC_OK
                                                   : PROSEC_ERR_PC5SIG_MAC;
}

/* ---- DIRECT_SECURITY_MODE_REJECT, LINK_REJECT ---------------------------- */

static bool reject_type(unsigned type)
{
    return type == PROSEC_PC5SIG_DSM_REJECT ||
           type == PROSEC_PC5SIG_LINK_REJECT;
}

prosec_err prosec_pc5sig_reject_encode(uint8_t *out, size_t cap,
                                       size_t *out_len,
                                       enum prosec_pc5sig_type type,
                                       uint8_t cause)
{
    prosec_err err = out_ok(out, cap, out_len, out, PROSEC_PC5SIG_REJECT_LEN);

    if (err != PROSEC_OK) {
        return err;
    }
    if (!reject_type(type) || cause == 0 || cause > PROSEC_PC5SIG_CAUSE_MAX) {
        return PROSEC_ERR_ARG;
    }
    prosec__pc5sig_put_hdr(out, (uint8_t)type, 1);
    out[PROSEC_PC5SIG_HDR_LEN] = cause;
    *out_len = PROSEC_PC5SIG_REJECT_LEN;
    return PROSEC_OK;
}

prosec_err prosec_pc5sig_reject_decode(const uint8_t *msg, size_t len,
                                       enum prosec_pc5sig_type *type,
                                       uint8_t *cause)
{
    enum prosec_pc5sig_type t;
    prosec_err err;

    if (type == NULL || cause == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_pc5sig_type(msg, len, &t);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!reject_type(t)) {
        return PROSEC_ERR_PC5SIG_TYPE;
    }
    if (msg[PROSEC_PC5SIG_HDR_LEN] == 0 ||
        msg[PROSEC_PC5SIG_HDR_LEN] > PROSEC_PC5SIG_CAUSE_MAX) {
        return PROSEC_ERR_PC5SIG_MALFORMED;
    }
    *type = t;
    *cause = msg[PROSEC_PC5SIG_HDR_LEN];
    return PROSEC_OK;
}
