/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the receive path with a fixed key ring: the input
 * is a sidelink frame, opened as a device would (frame decode, group
 * check, receiver_unprotect).  The ring holds PGKs of every algorithm in
 * both profiles, one revoked, one expired and one not yet active, so the
 * lookup, derivation, deciphering, MAC check and replay paths are all
 * reachable; in the ts33303 profile nothing is verified, so the replay
 * state moves under fuzzed PDUs too.  The receiver lives across inputs
 * (as on a device) with small caches, so eviction is exercised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prosec/prosec.h"

enum { GROUP = 0x0a0b0c, NOW = 1800000000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add(struct prosec_keyring *kr, uint8_t id, uint8_t alg,
                enum prosec_profile prof, int64_t act, int64_t exp)
{
    struct prosec_pgk p;

    memset(&p, 0, sizeof(p));
    memset(p.key, id, sizeof(p.key));
    p.pgk_id = id;
    p.activation = act;
    p.expiry = exp;
    p.alg = alg;
    p.profile = prof;
    p.member_id = 0x000001;
    if (prosec_keyring_add(kr, &p) != PROSEC_OK) {
        abort();
    }
}

static struct prosec_receiver *setup(void)
{
    static struct prosec_keyring *kr;
    struct prosec_receiver_config rc = {8, 8, PROSEC_BACKEND_AUTO};
    struct prosec_receiver *rx = NULL;

    if (prosec_keyring_new(&kr, GROUP, PROSEC_KEYRING_TESTING) != PROSEC_OK) {
        abort();
    }
    /* index = PGK ID & 31 */
    add(kr, 0, 0, PROSEC_PROFILE_TS33303, NOW - 10, NOW + 100);
    for (uint8_t alg = 1; alg <= 3; alg++) {
        add(kr, alg, alg, PROSEC_PROFILE_TS33303, NOW - 10, NOW + 100);
        add(kr, (uint8_t)(alg + 4), alg, PROSEC_PROFILE_INTEGRITY, NOW - 10,
            NOW + 100);
    }
    add(kr, 10, 2, PROSEC_PROFILE_INTEGRITY, NOW - 10, NOW + 100);
    add(kr, 11, 2, PROSEC_PROFILE_INTEGRITY, NOW - 200, NOW - 100);
    add(kr, 12, 2, PROSEC_PROFILE_INTEGRITY, NOW + 100, NOW + 200);
    if (prosec_keyring_revoke(kr, 10) != PROSEC_OK ||
        prosec_receiver_new(&rx, kr, &rc) != PROSEC_OK) {
        abort();
    }
    return rx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct prosec_receiver *rx;
    static uint8_t out[PROSEC_PDU_MAX];
    struct prosec_frame f;
    struct prosec_pdu_hdr h;
    size_t n = 0;

    if (rx == NULL) {
        rx = setup();
    }
    if (prosec_frame_decode(data, size, &f) != PROSEC_OK || f.dst != GROUP) {
        return 0;
    }
    if (prosec_receiver_unprotect(rx, NOW, f.src, f.pdu, f.pdu_len, out,
                                  sizeof(out), &n, &h) == PROSEC_OK) {
        /* what was accepted fits the PDU it came from */
        if (n > f.pdu_len - PROSEC_PDU_HDR_LEN || h.ptk_id == 0) {
            abort();
        }
    }
    return 0;
}
