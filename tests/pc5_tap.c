/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tap on a PC5 channel for the agent tests: `pc5_tap capture GROUP:PORT
 * FILE SECONDS` joins the multicast group on lo and writes every frame it
 * sees (2-octet length, then the frame) to FILE; `pc5_tap replay GROUP:PORT
 * FILE` sends them again, as an attacker in radio range would;
 * `pc5_tap forge GROUP:PORT FILE` sends each with the top bit of its SN
 * flipped (a new SN, so the MAC-I decides).  `pc5_tap relay LISTEN TARGET FILE
 * SECONDS` is a UDP relay on 127.0.0.1 (an agent's advertised MIKEY port in
 * front of its real one): it forwards what comes to LISTEN to TARGET and the
 * answers back, and writes what it forwarded to TARGET to FILE; `pc5_tap send
 * IP:PORT FILE` sends those datagrams straight to an address; `pc5_tap alter
 * GROUP:PORT FILE` sends each frame with its last octet (the MAC-I's)
 * flipped; `pc5_tap common FILE1 FILE2` prints how many frames of FILE1
 * are in FILE2.  PC5_TAP_IFACE names the channel's interface (lo when
 * unset).  Exits non-zero on any socket error.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

/* The interface of the channel: PC5_TAP_IFACE, or lo. */
static const char *tap_iface(void)
{
    const char *i = getenv("PC5_TAP_IFACE");

    return i != NULL && i[0] != '\0' ? i : "lo";
}

/* The next frame of a capture file; its length, or -1 at the end. */
static long next_frame(FILE *f, unsigned char *buf)
{
    unsigned char len[2];
    size_t l;

    if (fread(len, 1, 2, f) != 2) {
        return -1;
    }
    l = (size_t)len[0] << 8 | len[1];
    return fread(buf, 1, l, f) == l ? (long)l : -1;
}

/* How many frames of file a are in file b too (printed). */
static int common(const char *a, const char *b)
{
    static unsigned char fa[65536], fb[65536];
    FILE *f = fopen(a, "rb");
    long la, lb;
    int n = 0;

    if (f == NULL) {
        perror(a);
        return 2;
    }
    while ((la = next_frame(f, fa)) >= 0) {
        FILE *g = fopen(b, "rb");

        if (g == NULL) {
            perror(b);
            return 2;
        }
        while ((lb = next_frame(g, fb)) >= 0) {
            if (la == lb && memcmp(fa, fb, (size_t)la) == 0) {
                n++;
                break;
            }
        }
        fclose(g);
    }
    fclose(f);
    printf("%d\n", n);
    return 0;
}

static int capture(const struct sockaddr_in *g, const char *path, int secs)
{
    struct ip_mreqn mr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, n = 0;
    FILE *f = fopen(path, "wb");
    time_t end = time(NULL) + secs;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    memset(&mr, 0, sizeof(mr));
    mr.imr_multiaddr = g->sin_addr;
    mr.imr_ifindex = (int)if_nametoindex(tap_iface());
    if (f == NULL || bind(fd, (const struct sockaddr *)g, sizeof(*g)) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
        perror("pc5_tap capture");
        return 1;
    }
    printf("capturing\n");
    fflush(stdout);
    while (time(NULL) < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        unsigned char buf[65536];
        ssize_t r;

        if (poll(&pf, 1, 100) != 1) {
            continue;
        }
        r = recv(fd, buf, sizeof(buf), 0);
        if (r > 0) {
            unsigned char len[2] = {(unsigned char)(r >> 8), (unsigned char)r};

            fwrite(len, 1, 2, f);
            fwrite(buf, 1, (size_t)r, f);
            n++;
        }
    }
    fclose(f);
    fprintf(stderr, "pc5_tap: %d frames captured\n", n);
    return 0;
}

static int replay(const struct sockaddr_in *g, const char *path, int forge)
{
    struct ip_mreqn mr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), n = 0, one = 1;
    FILE *f = fopen(path, "rb");
    unsigned char len[2], buf[65536];

    memset(&mr, 0, sizeof(mr));
    mr.imr_ifindex = (int)if_nametoindex(tap_iface());
    if (f == NULL ||
        (IN_MULTICAST(ntohl(g->sin_addr.s_addr)) &&
         (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) != 0 ||
          setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) !=
              0))) {
        perror("pc5_tap replay");
        return 1;
    }
    while (fread(len, 1, 2, f) == 2) {
        size_t l = (size_t)len[0] << 8 | len[1];

        if (fread(buf, 1, l, f) != l) {
            break;
        }
        if (forge == 2 && l > 20) {
            buf[l - 1] ^= 0x01; /* the MAC-I altered */
        } else if (forge && l > 20) {
            /* another SN (frame header 7, PDU octet 3): past the replay
             * window, into the MAC check, which covers the header */
            buf[7 + 3] ^= 0x80;
        }
        if (sendto(fd, buf, l, 0, (const struct sockaddr *)g, sizeof(*g)) < 0) {
            perror("pc5_tap sendto");
            return 1;
        }
        n++;
        usleep(1000);
    }
    fclose(f);
    fprintf(stderr, "pc5_tap: %d frames sent\n", n);
    return n > 0 ? 0 : 1;
}

static int relay(int listen_port, int target_port, const char *path, int secs)
{
    struct sockaddr_in a, t, peer;
    int in = socket(AF_INET, SOCK_DGRAM, 0),
        out = socket(AF_INET, SOCK_DGRAM, 0);
    FILE *f = fopen(path, "wb");
    time_t end = time(NULL) + secs;
    bool have_peer = false;
    int n = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)listen_port);
    t = a;
    t.sin_port = htons((uint16_t)target_port);
    if (f == NULL || bind(in, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("pc5_tap relay");
        return 1;
    }
    printf("relaying\n");
    fflush(stdout);
    while (time(NULL) < end) {
        struct pollfd pf[2] = {{in, POLLIN, 0}, {out, POLLIN, 0}};
        unsigned char buf[65536];
        socklen_t pl = sizeof(peer);
        ssize_t r;

        if (poll(pf, 2, 100) <= 0) {
            continue;
        }
        if (pf[0].revents & POLLIN) {
            r = recvfrom(in, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
                         &pl);
            if (r > 0) {
                unsigned char len[2] = {(unsigned char)(r >> 8),
                                        (unsigned char)r};

                have_peer = true;
                fwrite(len, 1, 2, f);
                fwrite(buf, 1, (size_t)r, f);
                fflush(f);
                n++;
                sendto(out, buf, (size_t)r, 0, (struct sockaddr *)&t,
                       sizeof(t));
            }
        }
        if (pf[1].revents & POLLIN) {
            r = recv(out, buf, sizeof(buf), 0);
            if (r > 0 && have_peer) {
                sendto(in, buf, (size_t)r, 0, (struct sockaddr *)&peer,
                       sizeof(peer));
            }
        }
    }
    fclose(f);
    fprintf(stderr, "pc5_tap: %d datagrams relayed\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in g;

    if (argc == 4 && strcmp(argv[1], "common") == 0) {
        return common(argv[2], argv[3]);
    }
    if (argc >= 6 && strcmp(argv[1], "relay") == 0) {
        return relay(atoi(argv[2]), atoi(argv[3]), argv[4], atoi(argv[5]));
    }
    if (argc < 4 || parse(argv[2], &g) != 0) {
        fprintf(stderr, "usage: pc5_tap capture|replay|forge GROUP:PORT FILE "
                        "[SECONDS]\n");
        return 2;
    }
    if (strcmp(argv[1], "capture") == 0) {
        return capture(&g, argv[3], argc > 4 ? atoi(argv[4]) : 5);
    }
    /* send: unicast, the same as a replay without the multicast set-up */
    return replay(&g, argv[3],
                  strcmp(argv[1], "forge") == 0   ? 1
                  : strcmp(argv[1], "alter") == 0 ? 2
                                                  : 0);
}
