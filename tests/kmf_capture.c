/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Captures real MIKEY traffic of a running KMF for the interop test
 * (test_kmf_tshark.sh): a KMF and one device on loopback; the device
 * syncs and takes its first push, the KMF revokes a PGK (a rekey), and
 * the datagrams are written as a hex dump text2pcap reads: the push as
 * the device received it, the verification message it sent back, and the
 * revocation as received.
 * The device's MIKEY port is printed first ("port N"), so a live capture
 * (tshark -i lo) can watch it too.  Exits non-zero when anything fails.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kmfutil.h"

static void dump(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0) {
            printf("%s%06zx", i > 0 ? "\n" : "", i);
        }
        printf(" %02x", b[i]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct tkmf k;
    struct tdev d;
    uint8_t push[1024], reply[1024], revoke[1024];
    size_t push_len = 0, reply_len = 0, revoke_len = 0;
    json_t *r;
    int rc = 1, wait_s = argc > 1 ? 2 : 0;

    (void)argv;
    if (!tkmf_init(&k, "capture") || !tkmf_start(&k)) {
        return 1;
    }
    if (!tdev_new(&d, &k, "capture-device")) {
        goto out;
    }
    fprintf(stderr, "port %s\n", strchr(d.addr, ':') + 1);
    /* with an argument, give a live capture time to start */
    sleep((unsigned)wait_s);
    r = tkmf_admin(&k, "group/create",
                   json_pack("{s:s, s:i, s:i, s:i}", "name", "cap", "group_id",
                             0x0c0a01, "ahead", 0, "lifetime", 3600));
    json_decref(r);
    r = tkmf_admin(
        &k, "group/add-member",
        json_pack("{s:s, s:s}", "group", "cap", "device", "capture-device"));
    json_decref(r);
    if (r == NULL || tdev_sync(&d) != PROSEC_OK ||
        tdev_pump(&d, 1, 2000) == 0 || d.pushes == 0 || d.sent_len == 0) {
        fprintf(stderr, "kmf_capture: no push arrived\n");
        goto out;
    }
    memcpy(push, d.raw, d.raw_len);
    push_len = d.raw_len;
    memcpy(reply, d.sent, d.sent_len);
    reply_len = d.sent_len;
    r = tkmf_admin(&k, "group/rekey", json_pack("{s:s}", "group", "cap"));
    json_decref(r);
    for (int i = 0; i < 40 && d.revoke_len == 0; i++) {
        (void)tdev_pump(&d, 1, 100);
    }
    memcpy(revoke, d.revoke_raw, d.revoke_len);
    revoke_len = d.revoke_len;
    if (revoke_len == 0) {
        fprintf(stderr, "kmf_capture: no revocation arrived\n");
        goto out;
    }
    dump(push, push_len);
    dump(reply, reply_len);
    dump(revoke, revoke_len);
    rc = 0;

out:
    tdev_free(&d);
    tkmf_remove(&k);
    return rc;
}
