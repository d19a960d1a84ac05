/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte formats of the data plane: the one-to-many PDU (TS 36.323 6.2.10,
 * TS 33.303 6.2.3) and prosec's sidelink frame, which carries a PDU over
 * UDP in place of the radio (DESIGN.md).  Decoders check every length and
 * never read past the input; encoders never write past the capacity.
 *
 *   PDU:   SDU type (3 bits) | PGK index (5) | PTK ID (16) | SN (16) | data
 *   frame: version (8) | source L2 ID (24) | destination L2 ID (24) | PDU
 */
#ifndef PROSEC_WIRE_H
#define PROSEC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "constants.h"
#include "error.h"

struct prosec_pdu_hdr {
    uint8_t sdu_type;  /* 0..3, enum prosec_sdu_type */
    uint8_t pgk_index; /* 0..31 */
    uint16_t ptk_id;   /* 0: unprotected */
    uint16_t sn;       /* PDCP SN */
};

/*
 * Writes the 5-octet header.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG
 * (SDU type above 3 or index above 31).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pdu_hdr_encode(
    uint8_t out[PROSEC_PDU_HDR_LEN], const struct prosec_pdu_hdr *h);

/*
 * Reads a PDU of len octets: its header into *h and where its payload
 * (data and MAC-I, still ciphered) starts and how long it is.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_MALFORMED (shorter than the header,
 * longer than PROSEC_PDU_MAX, or a reserved SDU type).  Out-parameters are
 * set only on success.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pdu_decode(const uint8_t *pdu, size_t len, struct prosec_pdu_hdr *h,
                  const uint8_t **payload, size_t *payload_len);

struct prosec_frame {
    uint8_t version; /* PROSEC_FRAME_VERSION */
    uint32_t src;    /* source Layer-2 ID: the sender's Group Member ID */
    uint32_t dst;    /* destination Layer-2 ID: the Group ID */
    const uint8_t *pdu;
    size_t pdu_len;
};

/*
 * Writes a frame around f->pdu into out (capacity cap); *out_len gets its
 * length.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID, PROSEC_ERR_MALFORMED
 * (the PDU is too long), PROSEC_ERR_BUFFER.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_frame_encode(
    uint8_t *out, size_t cap, size_t *out_len, const struct prosec_frame *f);

/*
 * Reads a frame of len octets; f->pdu points into buf.  Errors:
 * PROSEC_ERR_NULL, PROSEC_ERR_MALFORMED (too short, too long, unknown
 * version).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_frame_decode(const uint8_t *buf, size_t len, struct prosec_frame *f);

#endif
