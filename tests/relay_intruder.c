/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An intruder on a relay's PC5 side, for tests/test_relay.sh.  Each mode
 * tries to get service from the relay at IP:PORT without the right key:
 *
 *   nopruk RELAY            a request with a PRUK ID no device has
 *   wrongpruk RELAY ID      a real device's PRUK ID, but a key of its own
 *   replay RELAY ID         one request sent twice, on two connections
 *   forge RELAY ID          a security mode complete with a made-up MAC-I,
 *                           then a tunnel message all the same
 *   announce GROUP:PORT FAKE SECONDS
 *                           announcements of a relay at FAKE (IP:PORT),
 *                           50 a second, on the remote devices' channel
 *   slow RELAY              a request's header an octet at a time, every
 *                           3 s: the relay must give up on it within 15 s
 *
 * It prints what the relay did and exits 0 when it got no service (the
 * relay refused, or closed the link), 1 when it did (a defect), 2 on a
 * usage or socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prosec/prosec.h"

static int connect_to(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd;

    if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One message within 10 s: its length, 0 when the relay closed, -1 on a
 * timeout or a malformed stream. */
static long read_msg(int fd, uint8_t *buf, size_t cap)
{
    size_t have = 0, need = PROSEC_PC5SIG_HDR_LEN;

    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        prosec_err err = prosec_pc5sig_frame(buf, have, &need);
        ssize_t n;

        if (err == PROSEC_OK) {
            return (long)need;
        }
        if (err != PROSEC_ERR_PC5SIG_INCOMPLETE || need > cap) {
            return -1;
        }
        if (poll(&p, 1, 10000) != 1) {
            return -1;
        }
        n = recv(fd, buf + have, need - have, 0);
        if (n <= 0) {
            return 0;
        }
        have += (size_t)n;
    }
}

/* What the relay answered; true when it refused with cause want (0: any
 * refusal, or closing the link). */
static bool refused(const char *what, const uint8_t *m, long n, uint8_t want)
{
    enum prosec_pc5sig_type type;
    uint8_t cause = 0;

    if (n <= 0) {
        printf("%s: %s\n", what,
               n == 0 ? "the relay closed the link" : "no answer");
        return want == 0;
    }
    if (prosec_pc5sig_reject_decode(m, (size_t)n, &type, &cause) == PROSEC_OK) {
        printf("%s: refused by the relay, cause %u\n", what, cause);
        return want == 0 || cause == want;
    }
    return false;
}

static bool send_dcr(int fd, const uint8_t id[8], const uint8_t nonce[16])
{
    struct prosec_pc5sig_dcr r = {0};
    uint8_t m[PROSEC_PC5SIG_DCR_LEN];
    size_t n = 0;

    r.remote_l2_id = 0x00abcd;
    memcpy(r.pruk_id, id, 8);
    memcpy(r.nonce1, nonce, 16);
    r.caps.eea = 0x0F;
    r.caps.eia = 0x0E;
    return prosec_pc5sig_dcr_encode(m, sizeof(m), &n, &r) == PROSEC_OK &&
           send(fd, m, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static void random_bytes(uint8_t *p, size_t n)
{
    FILE *f = fopen("/dev/urandom", "rb");

    if (f == NULL || fread(p, 1, n, f) != n) {
        perror("/dev/urandom");
        exit(2);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    uint8_t id[8], nonce[16], m[PROSEC_PC5SIG_MSG_MAX];
    const char *mode = argc > 1 ? argv[1] : "";
    bool need_id = strcmp(mode, "nopruk") != 0 && strcmp(mode, "slow") != 0 &&
                   strcmp(mode, "announce") != 0;
    int fd;
    long n;

    if ((strcmp(mode, "announce") != 0 && argc != (need_id ? 4 : 3)) ||
        (need_id && (strlen(argv[3]) != 16 ||
                     sscanf(argv[3], "%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx",
                            &id[0], &id[1], &id[2], &id[3], &id[4], &id[5],
                            &id[6], &id[7]) != 8))) {
        fprintf(
            stderr,
            "usage: relay_intruder nopruk|wrongpruk|replay|forge|slow|announce "
            "RELAY [PRUK-ID]\n");
        return 2;
    }
    if (strcmp(mode, "announce") == 0 && argc == 5) {
        struct prosec_pc5sig_announce a = {0};
        struct sockaddr_in g = {.sin_family = AF_INET};
        char host[64];
        const char *colon = strrchr(argv[2], ':');
        size_t len = 0;
        unsigned port = 0;
        int s = socket(AF_INET, SOCK_DGRAM, 0), sent = 0;
        time_t end = time(NULL) + atoi(argv[4]);

        if (colon == NULL || (size_t)(colon - argv[2]) >= sizeof(host) ||
            sscanf(argv[3], "%63[0-9.]:%u", host, &port) != 2 ||
            inet_pton(AF_INET, host, a.tcp.ipv4) != 1) {
            return 2;
        }
        a.tcp.port = (uint16_t)port;
        a.relay_l2_id = 0x123456;
        memcpy(host, argv[2], (size_t)(colon - argv[2]));
        host[colon - argv[2]] = '\0';
        g.sin_port = htons((uint16_t)atoi(colon + 1));
        if (s < 0 || inet_pton(AF_INET, host, &g.sin_addr) != 1 ||
            prosec_pc5sig_announce_encode(m, sizeof(m), &len, &a) !=
                PROSEC_OK) {
            return 2;
        }
        while (time(NULL) < end) {
            if (sendto(s, m, len, 0, (struct sockaddr *)&g, sizeof(g)) > 0) {
                sent++;
            }
            usleep(20000);
        }
        printf("%d false announcements sent\n", sent);
        return 0;
    }
    if (strcmp(mode, "slow") == 0) {
        static const uint8_t hdr[4] = {PROSEC_PC5SIG_VERSION, PROSEC_PC5SIG_DCR,
                                       0, 29};
        time_t t0 = time(NULL);

        fd = connect_to(argv[2]);
        if (fd < 0) {
            return 2;
        }
        for (size_t i = 0; i < 8 && time(NULL) - t0 < 30; i++) {
            struct pollfd p = {fd, POLLIN, 0};

            if (send(fd, &hdr[i % 4], 1, MSG_NOSIGNAL) != 1 ||
                (poll(&p, 1, 3000) == 1 && recv(fd, m, sizeof(m), 0) <= 0)) {
                break; /* the relay closed it */
            }
        }
        n = (long)(time(NULL) - t0);
        close(fd);
        printf("a slow request: closed by the relay after %ld s\n", n);
        return n <= 15 ? 0 : 1;
    }
    if (!need_id) {
        random_bytes(id, sizeof(id));
    }
    random_bytes(nonce, sizeof(nonce));
    fd = connect_to(argv[2]);
    if (fd < 0 || !send_dcr(fd, id, nonce)) {
        fprintf(stderr, "relay_intruder: cannot reach %s: %s\n", argv[2],
                strerror(errno));
        return 2;
    }
    n = read_msg(fd, m, sizeof(m));
    if (strcmp(mode, "nopruk") == 0) {
        return refused("a request with an unknown PRUK ID", m, n,
                       PROSEC_PC5SIG_CAUSE_UNKNOWN_PRUK)
                   ? 0
                   : 1;
    }
    if (strcmp(mode, "replay") == 0) {
        /* the first try may go on, to the security mode command */
        int again;

        close(fd);
        again = connect_to(argv[2]);
        if (again < 0 || !send_dcr(again, id, nonce)) {
            return 2;
        }
        n = read_msg(again, m, sizeof(m));
        close(again);
        return refused("the same request again", m, n,
                       PROSEC_PC5SIG_CAUSE_REPLAYED)
                   ? 0
                   : 1;
    }
    if (refused("a request under a real PRUK ID", m, n, 0)) {
        return 1; /* a real device's ID must get as far as the command */
    }
    if (strcmp(mode, "wrongpruk") == 0) {
        /* derive as the real device would, from a PRUK of our own */
        struct prosec_pc5sig_dsmc cmd;
        struct prosec_ue_sec_caps sent = {0x0F, 0x0E};
        struct prosec_link *l = NULL;
        uint8_t pruk[32], kd[32], ks[32], rej[PROSEC_PC5SIG_REJECT_LEN];
        size_t rn = 0;
        prosec_err err;

        random_bytes(pruk, sizeof(pruk));
        if (prosec_pc5sig_dsmc_decode(m, (size_t)n, &cmd) != PROSEC_OK ||
            prosec_kd_derive(kd, pruk, cmd.kd_freshness) != PROSEC_OK ||
            prosec_kd_sess_derive(ks, kd, nonce, cmd.nonce2) != PROSEC_OK ||
            prosec_link_new(&l, ks, cmd.eea, cmd.eia, PROSEC_LINK_REMOTE,
                            PROSEC_BACKEND_AUTO) != PROSEC_OK) {
            printf("the relay's answer is no security mode command\n");
            return 1;
        }
        err =
            prosec_pc5sig_dsmc_verify(m, (size_t)n, prosec_link_pik(l), &sent);
        prosec_link_free(l);
        printf("security mode command under a wrong PRUK: %s\n",
               prosec_err_name(err));
        if (prosec_pc5sig_reject_encode(
                rej, sizeof(rej), &rn, PROSEC_PC5SIG_DSM_REJECT,
                PROSEC_PC5SIG_CAUSE_AUTH_FAILED) == PROSEC_OK) {
            (void)send(fd, rej, rn, MSG_NOSIGNAL);
        }
        close(fd);
        /* a wrong key cannot check the relay's MAC-I, so no link */
        return err == PROSEC_ERR_PC5SIG_MAC ? 0 : 1;
    }
    if (strcmp(mode, "forge") == 0) {
        uint8_t done[PROSEC_PC5SIG_COMPLETE_LEN], junk[64];

        /* header as a real complete has it, the MAC-I made up */
        done[0] = PROSEC_PC5SIG_VERSION;
        done[1] = PROSEC_PC5SIG_DSM_COMPLETE;
        done[2] = 0;
        done[3] = PROSEC_MAC_LEN;
        random_bytes(done + 4, PROSEC_MAC_LEN);
        random_bytes(junk, sizeof(junk));
        junk[0] = PROSEC_PC5SIG_VERSION;
        junk[1] = PROSEC_PC5SIG_LINK_DATA;
        junk[2] = 0;
        junk[3] = sizeof(junk) - 4;
        (void)send(fd, done, sizeof(done), MSG_NOSIGNAL);
        (void)send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
        n = read_msg(fd, m, sizeof(m));
        close(fd);
        return refused("a forged security mode complete", m, n,
                       PROSEC_PC5SIG_CAUSE_AUTH_FAILED)
                   ? 0
                   : 1;
    }
    fprintf(stderr, "relay_intruder: unknown mode '%s'\n", mode);
    return 2;
}
