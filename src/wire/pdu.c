/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one-to-many PDU header (TS 36.323 6.2.10) and the sidelink frame of
 * DESIGN.md.  Fields go through explicit byte-order code, never a struct
 * overlay; every read is bounded by the length given.
 */
#include <string.h>

#include "prosec/wire.h"

prosec_err prosec_pdu_hdr_encode(uint8_t out[PROSEC_PDU_HDR_LEN],
                                 const struct prosec_pdu_hdr *h)
{
    if (out == NULL || h == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (h->sdu_type > PROSEC_SDU_TYPE_MAX ||
        h->pgk_index > PROSEC_PGK_INDEX_MASK) {
        return PROSEC_ERR_ARG;
    }
    out[0] = (uint8_t)(h->sdu_type << 5 | h->pgk_index);
    out[1] = (uint8_t)(h->ptk_id >> 8);
    out[2] = (uint8_t)h->ptk_id;
    out[3] = (uint8_t)(h->sn >> 8);
    out[4] = (uint8_t)h->sn;
    return PROSEC_OK;
}

prosec_err prosec_pdu_decode(const uint8_t *pdu, size_t len,
                             struct prosec_pdu_hdr *h, const uint8_t **payload,
                             size_t *payload_len)
{
    uint8_t type;

    if (pdu == NULL || h == NULL || payload == NULL || payload_len == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (len < PROSEC_PDU_HDR_LEN || len > PROSEC_PDU_MAX) {
        return PROSEC_ERR_MALFORMED;
    }
    type = pdu[0] >> 5;
    if (type > PROSEC_SDU_TYPE_MAX) {
        return PROSEC_ERR_MALFORMED;
    }
    h->sdu_type = type;
    h->pgk_index = pdu[0] & PROSEC_PGK_INDEX_MASK;
    h->ptk_id = (uint16_t)(pdu[1] << 8 | pdu[2]);
    h->sn = (uint16_t)(pdu[3] << 8 | pdu[4]);
    *payload = pdu + PROSEC_PDU_HDR_LEN;
    *payload_len = len - PROSEC_PDU_HDR_LEN;
    return PROSEC_OK;
}

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

prosec_err prosec_frame_encode(uint8_t *out, size_t cap, size_t *out_len,
                               const struct prosec_frame *f)
{
    if (out == NULL || out_len == NULL || f == NULL ||
        (f->pdu == NULL && f->pdu_len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if (f->src > PROSEC_L2_ID_MAX || f->dst > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    if (f->pdu_len < PROSEC_PDU_HDR_LEN || f->pdu_len > PROSEC_PDU_MAX) {
        return PROSEC_ERR_MALFORMED;
    }
    if (cap < PROSEC_FRAME_HDR_LEN + f->pdu_len) {
        return PROSEC_ERR_BUFFER;
    }
    out[0] = PROSEC_FRAME_VERSION;
    put24(out + 1, f->src);
    put24(out + 4, f->dst);
    memmove(out + PROSEC_FRAME_HDR_LEN, f->pdu, f->pdu_len);
    *out_len = PROSEC_FRAME_HDR_LEN + f->pdu_len;
    return PROSEC_OK;
}

prosec_err prosec_frame_decode(const uint8_t *buf, size_t len,
                               struct prosec_frame *f)
{
    if (buf == NULL || f == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (len < PROSEC_FRAME_HDR_LEN + PROSEC_PDU_HDR_LEN ||
        len > PROSEC_FRAME_MAX || buf[0] != PROSEC_FRAME_VERSION) {
        return PROSEC_ERR_MALFORMED;
    }
    f->version = buf[0];
    f->src = get24(buf + 1);
    f->dst = get24(buf + 4);
    f->pdu = buf + PROSEC_FRAME_HDR_LEN;
    f->pdu_len = len - PROSEC_FRAME_HDR_LEN;
    return PROSEC_OK;
}
