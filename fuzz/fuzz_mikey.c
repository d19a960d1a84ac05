/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the MIKEY decoders: the input goes through
 * prosec_mikey_peek, prosec_mikey_decode with a fixed PMK (the one
 * tests/mikey_sample uses, so that its messages in the seed corpus get
 * past the MAC to the key unwrap), prosec_mikey_verify_peek and
 * prosec_mikey_verify_check against the sample's push.  Besides crashes
 * and sanitizer findings, it aborts when decode accepts a message that
 * the encoder would refuse, or whose re-encoding decodes differently.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prosec/prosec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The push of tests/mikey_sample.c, for the verification message. */
static struct prosec_mikey_msg sample_push(void)
{
    struct prosec_mikey_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = PROSEC_MIKEY_PGK_PUSH;
    m.ntp_time = 0xE8D4A51000000000ull;
    for (int i = 0; i < PROSEC_MIKEY_RAND_LEN; i++) {
        m.rand[i] = (uint8_t)(0xA0 + i);
    }
    strcpy(m.idi, "https://kmf.example.org");
    strcpy(m.idr, "sip:device-7@example.org");
    m.group_id = 0xD4E5F6;
    m.member_id = 0xA1B2C3;
    m.pgk_id = 0x21;
    m.activation = 1697260000;
    m.expiry = 1697346400;
    m.alg = 2;
    m.profile = 1;
    m.pmk_id = 0x0BADF00D;
    return m;
}

static bool same(const struct prosec_mikey_msg *a,
                 const struct prosec_mikey_msg *b)
{
    return a->kind == b->kind && a->ntp_time == b->ntp_time &&
           memcmp(a->rand, b->rand, sizeof(a->rand)) == 0 &&
           strcmp(a->idi, b->idi) == 0 && strcmp(a->idr, b->idr) == 0 &&
           a->group_id == b->group_id && a->member_id == b->member_id &&
           a->pgk_id == b->pgk_id && a->activation == b->activation &&
           a->expiry == b->expiry && a->alg == b->alg &&
           a->profile == b->profile && a->bearer == b->bearer &&
           a->pmk_id == b->pmk_id &&
           memcmp(a->pgk, b->pgk, sizeof(a->pgk)) == 0;
}

/* A decoded message must encode again and decode to itself. */
static void round_trip(const struct prosec_mikey_msg *m,
                       const uint8_t pmk[PROSEC_MIKEY_PMK_LEN])
{
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    struct prosec_mikey_msg back;
    size_t n = 0;

    if (prosec_mikey_encode(buf, sizeof(buf), &n, m, pmk) != PROSEC_OK ||
        prosec_mikey_decode(buf, n, pmk, &back) != PROSEC_OK ||
        !same(&back, m)) {
        abort();
    }
    /* and its answer must check */
    if (prosec_mikey_verify_encode(buf, sizeof(buf), &n, m, pmk, 1) !=
            PROSEC_OK ||
        prosec_mikey_verify_check(buf, n, m, pmk) != PROSEC_OK) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct prosec_mikey_msg push;
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN];
    struct prosec_mikey_info info;
    struct prosec_mikey_msg m;
    uint32_t csb = 0;
    uint64_t t = 0;

    if (push.kind == 0) {
        push = sample_push();
    }
    memset(pmk, 0x5A, sizeof(pmk));
    (void)prosec_mikey_peek(data, size, &info);
    memset(&m, 0, sizeof(m));
    if (prosec_mikey_decode(data, size, pmk, &m) == PROSEC_OK) {
        round_trip(&m, pmk);
    }
    (void)prosec_mikey_verify_peek(data, size, &csb, &t);
    (void)prosec_mikey_verify_check(data, size, &push, pmk);
    return 0;
}
