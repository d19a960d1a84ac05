/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a MIKEY PGK push, a revocation and the verification message that
 * answers the push, made with fixed inputs, as a hex dump that text2pcap
 * reads (od -Ax -tx1 layout, each message from offset 0): the input of
 * test_mikey_tshark.sh.  Exits non-zero when the library refuses its own
 * messages, so a broken codec cannot pass the interop test unnoticed.
 *
 * mikey_sample DIR also writes the three messages, raw, to DIR/push,
 * DIR/revoke and DIR/verify: the seeds of fuzz/corpus/mikey.
 */
#include <stdio.h>
#include <string.h>

#include "prosec/prosec.h"

static const char *seed_dir;

/* The hex dump on stdout; with a seed directory, the raw file too. */
static int dump(const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    FILE *f;

    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0) {
            printf("%s%06zx", i > 0 ? "\n" : "", i);
        }
        printf(" %02x", b[i]);
    }
    printf("\n");
    if (seed_dir == NULL) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "mikey_sample: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static struct prosec_mikey_msg sample(enum prosec_mikey_kind kind)
{
    struct prosec_mikey_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.ntp_time = 0xE8D4A51000000000ull; /* 2023-10-14 */
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
    for (int i = 0; i < PROSEC_MIKEY_PGK_LEN; i++) {
        m.pgk[i] = (uint8_t)i;
    }
    return m;
}

int main(int argc, char **argv)
{
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN], buf[PROSEC_MIKEY_MSG_MAX];
    struct prosec_mikey_msg push = sample(PROSEC_MIKEY_PGK_PUSH);
    struct prosec_mikey_msg revoke = sample(PROSEC_MIKEY_PGK_REVOKE);
    struct prosec_mikey_msg back;
    size_t n = 0;

    seed_dir = argc > 1 ? argv[1] : NULL;
    memset(pmk, 0x5A, sizeof(pmk));
    if (prosec_mikey_encode(buf, sizeof(buf), &n, &push, pmk) != PROSEC_OK ||
        prosec_mikey_decode(buf, n, pmk, &back) != PROSEC_OK) {
        fprintf(stderr, "mikey_sample: push failed\n");
        return 1;
    }
    if (dump("push", buf, n) != 0) {
        return 1;
    }
    if (prosec_mikey_encode(buf, sizeof(buf), &n, &revoke, pmk) != PROSEC_OK ||
        prosec_mikey_decode(buf, n, pmk, &back) != PROSEC_OK) {
        fprintf(stderr, "mikey_sample: revoke failed\n");
        return 1;
    }
    if (dump("revoke", buf, n) != 0) {
        return 1;
    }
    if (prosec_mikey_verify_encode(buf, sizeof(buf), &n, &push, pmk,
                                   push.ntp_time + (3ull << 32)) != PROSEC_OK ||
        prosec_mikey_verify_check(buf, n, &push, pmk) != PROSEC_OK) {
        fprintf(stderr, "mikey_sample: verification message failed\n");
        return 1;
    }
    return dump("verify", buf, n);
}
