/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the data plane's byte formats: the input is read
 * as a sidelink frame and, on its own, as a one-to-many PDU.  Beyond the
 * sanitizers' findings it checks two properties: a decoded header encodes
 * back to the same five octets, and a decoded frame encodes back to the
 * same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prosec/prosec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t again[PROSEC_FRAME_MAX];
    struct prosec_pdu_hdr h;
    struct prosec_frame f;
    const uint8_t *payload;
    size_t plen, n = 0;

    if (prosec_pdu_decode(data, size, &h, &payload, &plen) == PROSEC_OK) {
        if (prosec_pdu_hdr_encode(again, &h) != PROSEC_OK ||
            memcmp(again, data, PROSEC_PDU_HDR_LEN) != 0 ||
            payload != data + PROSEC_PDU_HDR_LEN ||
            plen != size - PROSEC_PDU_HDR_LEN) {
            abort();
        }
    }
    if (prosec_frame_decode(data, size, &f) == PROSEC_OK) {
        if (prosec_frame_encode(again, sizeof(again), &n, &f) != PROSEC_OK ||
            n != size || memcmp(again, data, size) != 0) {
            abort();
        }
    }
    return 0;
}
