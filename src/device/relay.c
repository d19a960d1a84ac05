/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UE-to-network relay, both ends (relay_internal.h).  Each link is one TCP
 * connection served by one thread with blocking I/O under poll(): a
 * handshake (include/prosec/relay.h), then the tunnel.  Inside LINK_DATA
 * the payload is kind (1) | stream (1) | data:
 *
 *   OPEN   remote -> relay   open stream N to the upstream KMF
 *   DATA   either way        octets of stream N
 *   CLOSE  either way        stream N is closed
 *   MIKEY  either way        one datagram: a push of the KMF (relay to
 *                            remote) or the device's answer (back)
 *
 * The relay opens streams only to the upstream KMF and takes datagrams
 * only from the KMF's address: it is no general-purpose proxy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/core.h"
#include "relay_internal.h"

enum {
    STREAMS = 8,
    LINKS_MAX = 32,
    SEEN_MAX = 1024, /* requests remembered against replay */
    HANDSHAKE_MS = 10000,
    KD_TIMEOUT_MS = 8000,
    CONNECT_MS = 3000,
    ANNOUNCE_MS = 2000,
    CHUNK = PROSEC_LINK_PAYLOAD_MAX - 2,
    KD_BURST = 16,        /* KD requests at once, then */
    KD_INTERVAL_MS = 250, /* one each */
    FAILED_MAX = 8,       /* relays remembered as failed, a remote */
    FAILED_MS = 60000,
    T_OPEN = 1,
    T_DATA = 2,
    T_CLOSE = 3,
    T_MIKEY = 4,
    /* what a relay offers and takes: no null integrity; EEA0 only if the
     * remote asks for nothing else (its HTTPS is ciphered anyway) */
    ALLOWED_EEA = 0x0F,
    ALLOWED_EIA = 0x0E
};

/* ---- small socket helpers ------------------------------------------------ */

static bool parse4(const char *s, bool port_zero, struct sockaddr_in *out)
{
    struct sockaddr_storage ss;
    unsigned len = 0;

    if (!prosec__parse_addr(s, port_zero, &ss, &len) ||
        ss.ss_family != AF_INET) {
        return false;
    }
    memcpy(out, &ss, sizeof(*out));
    return true;
}

static void name4(char *out, size_t cap, const struct sockaddr_in *a)
{
    prosec__format_addr(out, cap, a);
}

/* Waits for fd (events) or stop; 1 ready, 0 timeout, -1 stop or error. */
static int wait_fd(int fd, short events, int stop, int timeout_ms)
{
    struct pollfd p[2] = {{fd, events, 0}, {stop, POLLIN, 0}};
    int n;

    do {
        n = poll(p, 2, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || (p[1].revents & (POLLIN | POLLHUP)) != 0) {
        return -1;
    }
    return n == 0 ? 0 : 1;
}

/* A peer that stops reading cannot hold a link's thread for long. */
static void set_timeouts(int fd)
{
    struct timeval tv = {HANDSHAKE_MS / 1000, 0};
    int one = 1;

    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_connect(const struct sockaddr_in *to, int stop, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1, e = 0;
    socklen_t el = sizeof(e);

    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) != 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    if (wait_fd(fd, POLLOUT, stop, timeout_ms) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
        close(fd);
        errno = e != 0 ? e : ETIMEDOUT;
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_timeouts(fd);
    return fd;
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool pipe_make(int p[2])
{
    if (pipe(p) != 0) {
        return false;
    }
    for (int i = 0; i < 2; i++) {
        (void)fcntl(p[i], F_SETFD, FD_CLOEXEC);
        (void)fcntl(p[i], F_SETFL, O_NONBLOCK);
    }
    return true;
}

static int accept_cloexec(int lfd, struct sockaddr_in *peer)
{
    socklen_t pl = sizeof(*peer);
    struct sockaddr_in ignored;
    int fd =
        accept(lfd, (struct sockaddr *)(peer != NULL ? peer : &ignored), &pl);

    if (fd >= 0) {
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
}

static void pipe_close(int p[2])
{
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) {
            close(p[i]);
            p[i] = -1;
        }
    }
}

static bool rand24(uint32_t *v)
{
    uint8_t b[3];

    if (prosec__random(b, sizeof(b)) != PROSEC_OK) {
        return false;
    }
    *v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
    return true;
}

/* ---- reading messages off a link ------------------------------------------
 */

struct reader {
    int fd, stop;
    uint8_t buf[2 * PROSEC_PC5SIG_MSG_MAX];
    size_t have, used; /* octets in buf; of them, the last message's */
};

/* Drops the message handed out last. */
static void reader_consume(struct reader *r)
{
    if (r->used > 0) {
        memmove(r->buf, r->buf + r->used, r->have - r->used);
        r->have -= r->used;
        r->used = 0;
    }
}

/*
 * The next whole message, waiting at most timeout_ms (-1: no limit) when
 * none is buffered.  Returns 1 (msg, len), 0 (none yet: timeout), -1 (the
 * peer closed, the stream is malformed, or stop; *why says which).
 */
static int reader_next(struct reader *r, int timeout_ms, const uint8_t **msg,
                       size_t *len, const char **why)
{
    /* one deadline for the whole message: a peer that sends an octet now
     * and then gains nothing */
    int64_t until = prosec__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    reader_consume(r);
    for (;;) {
        size_t need = 0;
        prosec_err err = prosec_pc5sig_frame(r->buf, r->have, &need);
        ssize_t n;
        int w;

        if (err == PROSEC_OK) {
            *msg = r->buf;
            *len = need;
            r->used = need;
            return 1;
        }
        if (err != PROSEC_ERR_PC5SIG_INCOMPLETE) {
            *why = prosec_strerror(err);
            return -1;
        }
        if (timeout_ms > 0) {
            int64_t left = until - prosec__mono_ms();

            w = left > 0 ? wait_fd(r->fd, POLLIN, r->stop, (int)left) : 0;
        } else {
            w = wait_fd(r->fd, POLLIN, r->stop, timeout_ms);
        }
        if (w <= 0) {
            *why = w == 0 ? "timed out" : "stopping";
            return w;
        }
        n = recv(r->fd, r->buf + r->have, sizeof(r->buf) - r->have,
                 MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            *why = n == 0 ? "the peer closed the link" : strerror(errno);
            return -1;
        }
        r->have += (size_t)n;
    }
}

/* ---- the tunnel, both ends --------------------------------------------------
 */

struct tunnel {
    bool relay; /* which end */
    struct reader *rd;
    struct prosec_link *pl;
    int link, stop;
    int udp;                 /* relay: toward the KMF; remote: the agent */
    struct sockaddr_in peer; /* where MIKEY datagrams go */
    bool has_peer;
    struct in_addr udp_from;     /* relay: the only source taken */
    int listener;                /* remote: the device's local HTTPS port */
    struct sockaddr_in upstream; /* relay: the KMF */
    int streams[STREAMS];
    const char *who;
    uint64_t in_octets, out_octets;
};

static bool tun_send(struct tunnel *t, uint8_t kind, uint8_t id,
                     const uint8_t *data, size_t len)
{
    uint8_t plain[PROSEC_LINK_PAYLOAD_MAX], msg[PROSEC_PC5SIG_MSG_MAX];
    size_t mlen = 0;
    bool ok;

    plain[0] = kind;
    plain[1] = id;
    if (len > 0) {
        memcpy(plain + 2, data, len);
    }
    ok = prosec_link_seal(t->pl, plain, len + 2, msg, sizeof(msg), &mlen) ==
             PROSEC_OK &&
         send_all(t->link, msg, mlen);
    prosec_wipe(plain, len + 2);
    t->out_octets += len;
    return ok;
}

static void stream_close(struct tunnel *t, unsigned id)
{
    if (t->streams[id] >= 0) {
        close(t->streams[id]);
        t->streams[id] = -1;
    }
}

/* One LINK_DATA from the peer; false ends the link (*why). */
static bool tun_input(struct tunnel *t, const uint8_t *msg, size_t len,
                      const char **why)
{
    uint8_t plain[PROSEC_LINK_PAYLOAD_MAX];
    size_t plen = 0;
    enum prosec_pc5sig_type type;
    prosec_err err = prosec_pc5sig_type(msg, len, &type);
    unsigned id;
    bool ok = true;

    if (err == PROSEC_OK && type != PROSEC_PC5SIG_LINK_DATA) {
        err = PROSEC_ERR_PC5SIG_TYPE;
    }
    if (err == PROSEC_OK) {
        err = prosec_link_open(t->pl, msg, len, plain, sizeof(plain), &plen);
    }
    if (err != PROSEC_OK) {
        *why = prosec_strerror(err);
        return false;
    }
    if (plen < 2 || plain[1] >= STREAMS) {
        *why = "a tunnel message of no known stream";
        prosec_wipe(plain, plen);
        return false;
    }
    id = plain[1];
    t->in_octets += plen - 2;
    switch (plain[0]) {
    case T_OPEN:
        if (!t->relay || t->streams[id] >= 0) {
            *why = "an unexpected stream opening";
            ok = false;
            break;
        }
        t->streams[id] = tcp_connect(&t->upstream, t->stop, CONNECT_MS);
        if (t->streams[id] < 0) {
            prosec__warn("relay: %s: cannot reach the KMF: %s", t->who,
                         strerror(errno));
            ok = tun_send(t, T_CLOSE, (uint8_t)id, NULL, 0);
        }
        break;
    case T_DATA:
        if (t->streams[id] >= 0 &&
            !send_all(t->streams[id], plain + 2, plen - 2)) {
            stream_close(t, id);
            ok = tun_send(t, T_CLOSE, (uint8_t)id, NULL, 0);
        }
        break;
    case T_CLOSE:
        stream_close(t, id);
        break;
    case T_MIKEY:
        if (t->has_peer &&
            sendto(t->udp, plain + 2, plen - 2, 0,
                   (const struct sockaddr *)&t->peer, sizeof(t->peer)) < 0) {
            prosec__debug("relay: %s: a MIKEY datagram not passed on: %s",
                          t->who, strerror(errno));
        }
        break;
    default:
        *why = "a tunnel message of an unknown kind";
        ok = false;
    }
    prosec_wipe(plain, plen);
    return ok;
}

/* Runs the tunnel until the link ends; returns why. */
static const char *tun_run(struct tunnel *t)
{
    const char *why = "stopping";

    for (;;) {
        struct pollfd p[4 + STREAMS];
        int map[4 + STREAMS];
        const uint8_t *msg;
        size_t len;
        nfds_t n = 0;
        int r, more;

        /* every whole message buffered first: the read that took the
         * handshake's last message may have taken the tunnel's first */
        while ((more = reader_next(t->rd, 0, &msg, &len, &why)) == 1) {
            if (!tun_input(t, msg, len, &why)) {
                return why;
            }
        }
        if (more < 0) {
            return why;
        }

        p[n] = (struct pollfd){t->stop, POLLIN, 0};
        map[n++] = -1;
        p[n] = (struct pollfd){t->link, POLLIN, 0};
        map[n++] = -2;
        p[n] = (struct pollfd){t->udp, POLLIN, 0};
        map[n++] = -3;
        if (t->listener >= 0) {
            p[n] = (struct pollfd){t->listener, POLLIN, 0};
            map[n++] = -4;
        }
        for (int i = 0; i < STREAMS; i++) {
            if (t->streams[i] >= 0) {
                p[n] = (struct pollfd){t->streams[i], POLLIN, 0};
                map[n++] = i;
            }
        }
        r = poll(p, n, -1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 || p[0].revents != 0) {
            return r < 0 ? strerror(errno) : "stopping";
        }
        for (nfds_t i = 1; i < n; i++) {
            if (p[i].revents == 0) {
                continue;
            }
            if (map[i] == -2) {
                continue; /* read at the top of the loop */
            } else if (map[i] == -3) {
                uint8_t d[PROSEC_MIKEY_MSG_MAX + 1];
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t got = recvfrom(t->udp, d, sizeof(d), MSG_DONTWAIT,
                                       (struct sockaddr *)&from, &fl);

                if (got <= 0 || fl != sizeof(from) ||
                    from.sin_family != AF_INET) {
                    continue;
                }
                if (t->relay) {
                    if (from.sin_addr.s_addr != t->udp_from.s_addr) {
                        prosec__debug("relay: %s: a datagram not from the KMF "
                                      "dropped",
                                      t->who);
                        continue;
                    }
                    t->peer = from; /* answers go back to the KMF's port */
                    t->has_peer = true;
                } else if (from.sin_addr.s_addr != t->peer.sin_addr.s_addr ||
                           from.sin_port != t->peer.sin_port) {
                    continue; /* only the agent's answers */
                }
                if (!tun_send(t, T_MIKEY, 0, d, (size_t)got)) {
                    return "cannot write to the link";
                }
            } else if (map[i] == -4) {
                int fd = accept_cloexec(t->listener, NULL);
                int id = -1;

                for (int k = 0; k < STREAMS && fd >= 0 && id < 0; k++) {
                    if (t->streams[k] < 0) {
                        id = k;
                    }
                }
                if (fd >= 0 && id < 0) {
                    close(fd); /* all streams busy */
                } else if (fd >= 0) {
                    set_timeouts(fd);
                    t->streams[id] = fd;
                    if (!tun_send(t, T_OPEN, (uint8_t)id, NULL, 0)) {
                        return "cannot write to the link";
                    }
                }
            } else {
                uint8_t d[CHUNK];
                int id = map[i];
                ssize_t got = recv(t->streams[id], d, sizeof(d), MSG_DONTWAIT);

                if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                }
                if (got <= 0) {
                    stream_close(t, (unsigned)id);
                    if (!tun_send(t, T_CLOSE, (uint8_t)id, NULL, 0)) {
                        return "cannot write to the link";
                    }
                } else if (!tun_send(t, T_DATA, (uint8_t)id, d, (size_t)got)) {
                    return "cannot write to the link";
                }
            }
        }
    }
}

static void tun_init(struct tunnel *t)
{
    memset(t, 0, sizeof(*t));
    t->udp = t->listener = t->link = -1;
    for (int i = 0; i < STREAMS; i++) {
        t->streams[i] = -1;
    }
}

static void tun_close_streams(struct tunnel *t)
{
    for (unsigned i = 0; i < STREAMS; i++) {
        stream_close(t, i);
    }
}

static const char *cause_name(uint8_t c)
{
    switch (c) {
    case PROSEC_PC5SIG_CAUSE_UNKNOWN_PRUK:
        return "unknown PRUK ID";
    case PROSEC_PC5SIG_CAUSE_AUTH_FAILED:
        return "authentication failed";
    case PROSEC_PC5SIG_CAUSE_NO_COMMON_ALG:
        return "no common algorithm";
    case PROSEC_PC5SIG_CAUSE_NOT_AUTHORISED:
        return "not authorised";
    case PROSEC_PC5SIG_CAUSE_REPLAYED:
        return "replayed request";
    default:
        return "unknown cause";
    }
}

static void send_reject(int fd, enum prosec_pc5sig_type type, uint8_t cause)
{
    uint8_t m[PROSEC_PC5SIG_REJECT_LEN];
    size_t n = 0;

    if (prosec_pc5sig_reject_encode(m, sizeof(m), &n, type, cause) ==
        PROSEC_OK) {
        (void)send_all(fd, m, n);
    }
}

/* ---- the relay end
 * ------------------------------------------------------------- */

struct prosec__relay_srv {
    struct prosec__relay_env env;
    struct sockaddr_in listen_addr, upstream, announce;
    unsigned ifindex;
    int lfd, ann_fd, stop[2];
    uint32_t l2;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned active;
    uint64_t total, refused;
    struct prosec__ratelimit rl_log, rl_kd;
    bool suspended; /* our own standing at the KMF is in doubt */
    char suspended_why[160];
    int link_fds[LINKS_MAX];
    uint8_t seen[SEEN_MAX][PROSEC_PRUK_ID_LEN + PROSEC_NONCE_LEN];
    size_t seen_n, seen_pos;
};

struct rlink {
    struct prosec__relay_srv *s;
    int fd;
    char peer[48];
};

/* True when the request was seen before; remembers it otherwise. */
static bool seen_before(struct prosec__relay_srv *s,
                        const struct prosec_pc5sig_dcr *r)
{
    uint8_t key[PROSEC_PRUK_ID_LEN + PROSEC_NONCE_LEN];
    bool found = false;

    memcpy(key, r->pruk_id, PROSEC_PRUK_ID_LEN);
    memcpy(key + PROSEC_PRUK_ID_LEN, r->nonce1, PROSEC_NONCE_LEN);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->seen_n && !found; i++) {
        found = memcmp(s->seen[i], key, sizeof(key)) == 0;
    }
    if (!found) {
        memcpy(s->seen[s->seen_pos], key, sizeof(key));
        s->seen_pos = (s->seen_pos + 1) % SEEN_MAX;
        if (s->seen_n < SEEN_MAX) {
            s->seen_n++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Counts a refusal; true when it may be logged (a flood of requests
 * cannot flood the log). */
static bool count_refusal(struct prosec__relay_srv *s)
{
    bool log;

    pthread_mutex_lock(&s->mu);
    s->refused++;
    log = prosec__ratelimit(&s->rl_log, prosec__mono_ms());
    pthread_mutex_unlock(&s->mu);
    return log;
}

/* A refusal, counted and logged with the peer's address first. */
#define refused(k, fmt, ...)                                                   \
    do {                                                                       \
        if (count_refusal((k)->s)) {                                           \
            prosec__warn(fmt, (k)->peer, __VA_ARGS__);                         \
        }                                                                      \
    } while (0)

/* The per-link UDP socket the KMF pushes this remote's MIKEY to: on the
 * address our route to the KMF uses. */
static int mikey_socket(const struct sockaddr_in *kmf, struct sockaddr_in *at)
{
    socklen_t l = sizeof(*at);
    int fd = -1;

    memset(at, 0, sizeof(*at));
    at->sin_family = AF_INET;
    if (prosec__route_source4(kmf, &at->sin_addr)) {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && (bind(fd, (struct sockaddr *)at, sizeof(*at)) != 0 ||
                        getsockname(fd, (struct sockaddr *)at, &l) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    return fd;
}

static void relay_link(struct rlink *k)
{
    struct prosec__relay_srv *s = k->s;
    struct reader *rd = calloc(1, sizeof(*rd));
    struct prosec_pc5sig_dcr req;
    struct prosec_pc5sig_dsmc cmd;
    struct prosec_ue_sec_caps allowed = {ALLOWED_EEA, ALLOWED_EIA};
    struct tunnel t;
    struct sockaddr_in at;
    uint8_t kd[PROSEC_KD_LEN], kd_sess[PROSEC_KD_SESS_LEN];
    uint8_t dsmc[PROSEC_PC5SIG_DSMC_LEN];
    char id_hex[2 * PROSEC_PRUK_ID_LEN + 1], remote[PROSEC_DEVICE_NAME_MAX + 1];
    char who[PROSEC_DEVICE_NAME_MAX + 64];
    const uint8_t *msg;
    const char *why = "?";
    size_t len = 0, dlen = 0;
    enum prosec_pc5sig_type type;
    uint8_t cause = 0;
    prosec_err err;

    tun_init(&t);
    if (rd == NULL) {
        return;
    }
    rd->fd = k->fd;
    rd->stop = s->stop[0];
    set_timeouts(k->fd);
    if (reader_next(rd, HANDSHAKE_MS, &msg, &len, &why) != 1) {
        prosec__info("relay: a link from %s ended before its request: %s",
                     k->peer, why);
        goto out;
    }
    err = prosec_pc5sig_dcr_decode(msg, len, &req);
    if (err != PROSEC_OK) {
        refused(k, "relay: refused a link from %s: %s%s", prosec_strerror(err),
                "");
        goto out;
    }
    prosec__hex(id_hex, req.pruk_id, sizeof(req.pruk_id));
    if (seen_before(s, &req)) {
        refused(k,
                "relay: refused a link from %s: a replayed direct "
                "communication request (PRUK ID %s)%s",
                id_hex, "");
        send_reject(k->fd, PROSEC_PC5SIG_LINK_REJECT,
                    PROSEC_PC5SIG_CAUSE_REPLAYED);
        goto out;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.caps = req.caps;
    if (prosec_pc5sig_choose_alg(&req.caps, &allowed, &cmd.eea, &cmd.eia) !=
        PROSEC_OK) {
        refused(k,
                "relay: refused a link from %s: no common algorithm (PRUK ID "
                "%s)%s",
                id_hex, "");
        send_reject(k->fd, PROSEC_PC5SIG_LINK_REJECT,
                    PROSEC_PC5SIG_CAUSE_NO_COMMON_ALG);
        goto out;
    }
    /* KD from the KMF, bound to a freshness of ours: within our budget,
     * and not while our own standing at the KMF is in doubt */
    pthread_mutex_lock(&s->mu);
    cause = s->suspended ? PROSEC_PC5SIG_CAUSE_NOT_AUTHORISED
            : !prosec__ratelimit(&s->rl_kd, prosec__mono_ms())
                ? PROSEC_PC5SIG_CAUSE_NOT_AUTHORISED
                : 0;
    why = s->suspended ? "this relay cannot reach the KMF as itself"
                       : "too many requests: the KMF is asked at most 4 "
                         "times a second";
    pthread_mutex_unlock(&s->mu);
    if (cause != 0) {
        refused(k, "relay: refused a link from %s (PRUK ID %s): %s", id_hex,
                why);
        send_reject(k->fd, PROSEC_PC5SIG_LINK_REJECT, cause);
        goto out;
    }
    err = prosec__random(cmd.kd_freshness, sizeof(cmd.kd_freshness));
    if (err == PROSEC_OK) {
        err =
            prosec_device_kd_request(s->env.dev, req.pruk_id, cmd.kd_freshness,
                                     KD_TIMEOUT_MS, kd, remote, sizeof(remote));
    }
    if (err != PROSEC_OK) {
        cause = err == PROSEC_ERR_NOT_FOUND
                    ? PROSEC_PC5SIG_CAUSE_UNKNOWN_PRUK
                    : PROSEC_PC5SIG_CAUSE_NOT_AUTHORISED;
        refused(k, "relay: refused a link from %s: PRUK ID %s: %s", id_hex,
                prosec_error_detail()[0] ? prosec_error_detail()
                                         : prosec_strerror(err));
        send_reject(k->fd, PROSEC_PC5SIG_LINK_REJECT, cause);
        goto out;
    }
    (void)prosec__fmt(who, sizeof(who), "%s at %s", remote, k->peer);
    t.udp = mikey_socket(&s->upstream, &at);
    err = t.udp >= 0 ? prosec__random(cmd.nonce2, sizeof(cmd.nonce2))
                     : prosec__fail(PROSEC_ERR_IO, "no MIKEY socket: %s",
                                    strerror(errno));
    if (err == PROSEC_OK) {
        memcpy(cmd.mikey.ipv4, &at.sin_addr, 4);
        cmd.mikey.port = ntohs(at.sin_port);
        err = prosec_kd_sess_derive(kd_sess, kd, req.nonce1, cmd.nonce2);
    }
    prosec_wipe(kd, sizeof(kd));
    if (err == PROSEC_OK) {
        err = prosec_link_new(&t.pl, kd_sess, cmd.eea, cmd.eia,
                              PROSEC_LINK_RELAY, PROSEC_BACKEND_AUTO);
    }
    prosec_wipe(kd_sess, sizeof(kd_sess));
    if (err == PROSEC_OK) {
        err = prosec_pc5sig_dsmc_encode(dsmc, sizeof(dsmc), &dlen, &cmd,
                                        prosec_link_pik(t.pl));
    }
    if (err != PROSEC_OK || !send_all(k->fd, dsmc, dlen)) {
        prosec__warn("relay: link for %s not set up: %s", who,
                     err != PROSEC_OK ? prosec_strerror(err)
                                      : "cannot write to it");
        goto out;
    }
    if (reader_next(rd, HANDSHAKE_MS, &msg, &len, &why) != 1) {
        refused(k,
                "relay: refused a link from %s (%s): no security mode "
                "complete: %s",
                remote, why);
        goto out;
    }
    err = prosec_pc5sig_type(msg, len, &type);
    if (err == PROSEC_OK && type == PROSEC_PC5SIG_DSM_REJECT) {
        uint8_t c = 0;

        if (prosec_pc5sig_reject_decode(msg, len, &type, &c) != PROSEC_OK) {
            c = 0;
        }
        refused(k,
                "relay: refused a link from %s: the remote device rejected "
                "the security mode command (%s; a wrong PRUK for PRUK ID "
                "%s?)",
                cause_name(c), id_hex);
        goto out;
    }
    err = prosec_pc5sig_complete_check(msg, len, dsmc, dlen,
                                       prosec_link_pik(t.pl));
    if (err != PROSEC_OK) {
        refused(k,
                "relay: refused a link from %s: a forged or wrong security "
                "mode complete for %s: %s",
                remote, prosec_strerror(err));
        send_reject(k->fd, PROSEC_PC5SIG_LINK_REJECT,
                    PROSEC_PC5SIG_CAUSE_AUTH_FAILED);
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    s->total++;
    pthread_mutex_unlock(&s->mu);
    prosec__info("relay: link up for %s (PRUK ID %s, 128-EEA%u, 128-EIA%u, "
                 "MIKEY via %s:%u)",
                 who, id_hex, cmd.eea, cmd.eia, inet_ntoa(at.sin_addr),
                 ntohs(at.sin_port));
    t.relay = true;
    t.rd = rd;
    t.link = k->fd;
    t.stop = s->stop[0];
    t.upstream = s->upstream;
    t.udp_from = s->upstream.sin_addr;
    t.who = who;
    why = tun_run(&t);
    prosec__info("relay: link for %s down: %s (%llu octets in, %llu out)", who,
                 why, (unsigned long long)t.in_octets,
                 (unsigned long long)t.out_octets);
out:
    tun_close_streams(&t);
    if (t.udp >= 0) {
        close(t.udp);
    }
    prosec_link_free(t.pl);
    prosec_wipe(&cmd, sizeof(cmd));
    if (rd != NULL) {
        prosec_wipe(rd, sizeof(*rd));
        free(rd);
    }
}

static void *rlink_main(void *arg)
{
    struct rlink *k = arg;
    struct prosec__relay_srv *s = k->s;
    size_t slot = LINKS_MAX;

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < LINKS_MAX && slot == LINKS_MAX; i++) {
        if (s->link_fds[i] < 0) {
            s->link_fds[i] = k->fd;
            slot = i;
        }
    }
    pthread_mutex_unlock(&s->mu);
    relay_link(k);
    pthread_mutex_lock(&s->mu);
    if (slot < LINKS_MAX) {
        s->link_fds[slot] = -1;
    }
    pthread_mutex_unlock(&s->mu);
    close(k->fd);
    free(k);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void announce(struct prosec__relay_srv *s)
{
    struct prosec_pc5sig_announce a = {0};
    uint8_t m[PROSEC_PC5SIG_ANNOUNCE_LEN];
    size_t n = 0;

    a.relay_l2_id = s->l2;
    memcpy(a.tcp.ipv4, &s->listen_addr.sin_addr, 4);
    a.tcp.port = ntohs(s->listen_addr.sin_port);
    a.service_code = 0;
    if (prosec_pc5sig_announce_encode(m, sizeof(m), &n, &a) == PROSEC_OK &&
        sendto(s->ann_fd, m, n, 0, (const struct sockaddr *)&s->announce,
               sizeof(s->announce)) < 0) {
        prosec__debug("relay: announcement not sent: %s", strerror(errno));
    }
}

/* Whether the KMF lets us relay at all: a KD request for PRUK ID 0 (no
 * device has it) is refused as unknown when we may, as denied when not. */
static void check_permission(struct prosec__relay_srv *s)
{
    static const uint8_t none[PROSEC_PRUK_ID_LEN] = {0};
    uint8_t fresh[PROSEC_KD_FRESHNESS_LEN] = {0}, kd[PROSEC_KD_LEN];
    prosec_err err = prosec_device_kd_request(s->env.dev, none, fresh,
                                              KD_TIMEOUT_MS, kd, NULL, 0);

    prosec_wipe(kd, sizeof(kd));
    if (err == PROSEC_ERR_DENIED) {
        prosec__warn("relay: the KMF will not give us KDs, so no remote "
                     "device can be served: %s",
                     prosec_error_detail());
    } else if (err == PROSEC_ERR_NOT_FOUND) {
        prosec__info("relay: the KMF lets us relay");
    } else {
        prosec__info("relay: could not ask the KMF whether we may relay "
                     "(%s); links will tell",
                     prosec_error_detail()[0] ? prosec_error_detail()
                                              : prosec_strerror(err));
    }
}

static void *accept_main(void *arg)
{
    struct prosec__relay_srv *s = arg;
    int64_t next = 0;

    check_permission(s);

    for (;;) {
        int64_t now = prosec__mono_ms();
        struct sockaddr_in peer;
        struct rlink *k;
        pthread_t th;
        int w, fd;

        if (now >= next) {
            announce(s);
            next = now + ANNOUNCE_MS;
        }
        w = wait_fd(s->lfd, POLLIN, s->stop[0], (int)(next - now));
        if (w < 0) {
            return NULL;
        }
        if (w == 0) {
            continue;
        }
        fd = accept_cloexec(s->lfd, &peer);
        if (fd < 0) {
            continue;
        }
        k = calloc(1, sizeof(*k));
        pthread_mutex_lock(&s->mu);
        if (k == NULL || s->active >= LINKS_MAX) {
            bool log = prosec__ratelimit(&s->rl_log, prosec__mono_ms());

            s->refused++;
            pthread_mutex_unlock(&s->mu);
            if (log) {
                prosec__warn("relay: a link refused: %s",
                             k == NULL ? "out of memory" : "too many links");
            }
            free(k);
            close(fd);
            continue;
        }
        s->active++;
        pthread_mutex_unlock(&s->mu);
        k->s = s;
        k->fd = fd;
        name4(k->peer, sizeof(k->peer), &peer);
        if (pthread_create(&th, NULL, rlink_main, k) != 0) {
            close(fd);
            free(k);
            pthread_mutex_lock(&s->mu);
            s->active--;
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        pthread_detach(th);
    }
}

/* The IPv4 address of interface ifindex (0: loopback) into a. */
static bool if_addr4(unsigned ifindex, struct in_addr *a)
{
    char name[IF_NAMESIZE];
    struct ifaddrs *all = NULL;
    bool found = false;

    if (ifindex == 0) {
        a->s_addr = htonl(INADDR_LOOPBACK);
        return true;
    }
    if (if_indextoname(ifindex, name) == NULL || getifaddrs(&all) != 0) {
        return false;
    }
    for (struct ifaddrs *i = all; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
            strcmp(i->ifa_name, name) == 0) {
            *a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
            found = true;
        }
    }
    freeifaddrs(all);
    return found;
}

prosec_err prosec__relay_srv_start(struct prosec__relay_srv **out,
                                   const struct prosec__relay_env *env,
                                   const struct prosec__relay_srv_cfg *cfg)
{
    struct prosec__relay_srv *s = calloc(1, sizeof(*s));
    socklen_t sl = sizeof(struct sockaddr_in);
    struct ip_mreqn mr;
    int one = 1, ttl = 1;
    prosec_err err = PROSEC_OK;

    if (s == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    s->env = *env;
    s->lfd = s->ann_fd = s->stop[0] = s->stop[1] = -1;
    s->rl_log = (struct prosec__ratelimit){1000, 20, 0, 0, 0};
    /* KD requests: each costs the KMF a TLS handshake and an audit row */
    s->rl_kd = (struct prosec__ratelimit){KD_INTERVAL_MS, KD_BURST, 0, 0, 0};
    for (size_t i = 0; i < LINKS_MAX; i++) {
        s->link_fds[i] = -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->announce = *cfg->announce;
    s->ifindex = cfg->ifindex;
    if (!parse4(cfg->listen, true, &s->listen_addr)) {
        err = prosec__fail(PROSEC_ERR_CONFIG,
                           "--listen '%.60s' is not a numeric IPv4 IP:PORT",
                           cfg->listen);
    } else if (!parse4(cfg->upstream, false, &s->upstream)) {
        err = prosec__fail(PROSEC_ERR_CONFIG,
                           "--upstream '%.60s' is not a numeric IPv4 IP:PORT",
                           cfg->upstream);
    } else if (!pipe_make(s->stop) || !rand24(&s->l2)) {
        err = prosec__fail(PROSEC_ERR_IO, "relay: %s", strerror(errno));
    }
    if (err == PROSEC_OK) {
        s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        (void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (s->lfd < 0 ||
            bind(s->lfd, (struct sockaddr *)&s->listen_addr,
                 sizeof(s->listen_addr)) != 0 ||
            listen(s->lfd, 16) != 0 ||
            getsockname(s->lfd, (struct sockaddr *)&s->listen_addr, &sl) != 0) {
            err = prosec__fail(PROSEC_ERR_IO, "cannot listen on %s: %s",
                               cfg->listen, strerror(errno));
        }
    }
    if (err == PROSEC_OK &&
        s->listen_addr.sin_addr.s_addr == htonl(INADDR_ANY) &&
        !if_addr4(cfg->ifindex, &s->listen_addr.sin_addr)) {
        /* announced: an address remote devices can reach */
        err = prosec__fail(PROSEC_ERR_CONFIG,
                           "the PC5 interface has no IPv4 address to announce "
                           "(give --listen IP:PORT)");
    }
    if (err == PROSEC_OK) {
        s->ann_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&mr, 0, sizeof(mr));
        mr.imr_ifindex =
            (int)(cfg->ifindex != 0 ? cfg->ifindex : if_nametoindex("lo"));
        if (s->ann_fd < 0 || (cfg->ifindex != 0 &&
                              setsockopt(s->ann_fd, IPPROTO_IP, IP_MULTICAST_IF,
                                         &mr, sizeof(mr)) != 0)) {
            err = prosec__fail(PROSEC_ERR_IO,
                               "no socket for relay announcements: %s",
                               strerror(errno));
        }
        (void)setsockopt(s->ann_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
                         sizeof(ttl));
        (void)setsockopt(s->ann_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one,
                         sizeof(one));
        if (err == PROSEC_OK && cfg->ifindex == 0 &&
            sendto(s->ann_fd, "", 0, 0, (const struct sockaddr *)&s->announce,
                   sizeof(s->announce)) < 0) {
            /* no multicast route: the loopback channel */
            (void)setsockopt(s->ann_fd, IPPROTO_IP, IP_MULTICAST_IF, &mr,
                             sizeof(mr));
        }
    }
    if (err == PROSEC_OK && pthread_create(&s->th, NULL, accept_main, s) != 0) {
        err = prosec__fail(PROSEC_ERR_NOMEM, "cannot start the relay's thread");
    }
    if (err != PROSEC_OK) {
        prosec__relay_srv_stop(s);
        return err;
    }
    s->started = true;
    *out = s;
    return PROSEC_OK;
}

void prosec__relay_srv_stop(struct prosec__relay_srv *s)
{
    if (s == NULL) {
        return;
    }
    if (s->stop[1] >= 0 && write(s->stop[1], "x", 1) < 0) {
        prosec__warn("relay: cannot stop the links: %s", strerror(errno));
    }
    if (s->started) {
        pthread_join(s->th, NULL);
    }
    pthread_mutex_lock(&s->mu);
    while (s->active > 0) {
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->lfd >= 0) {
        close(s->lfd);
    }
    if (s->ann_fd >= 0) {
        close(s->ann_fd);
    }
    pipe_close(s->stop);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    prosec_wipe(s, sizeof(*s));
    free(s);
}

void prosec__relay_srv_standing(struct prosec__relay_srv *s, bool good,
                                const char *why)
{
    pthread_mutex_lock(&s->mu);
    if (!good && !s->suspended) {
        s->suspended = true;
        (void)prosec__fmt(s->suspended_why, sizeof(s->suspended_why), "%s",
                          why != NULL ? why : "?");
        /* every link ends: its thread sees the stream close */
        for (size_t i = 0; i < LINKS_MAX; i++) {
            if (s->link_fds[i] >= 0) {
                (void)shutdown(s->link_fds[i], SHUT_RDWR);
            }
        }
        prosec__warn("relay: the KMF refused us (%s): every link closed, "
                     "none taken until it answers us again",
                     s->suspended_why);
    } else if (good && s->suspended) {
        s->suspended = false;
        s->suspended_why[0] = '\0';
        prosec__info("relay: the KMF answers us again: links taken");
    }
    pthread_mutex_unlock(&s->mu);
}

json_t *prosec__relay_srv_status(struct prosec__relay_srv *s)
{
    char l[48], u[48];
    json_t *j;

    name4(l, sizeof(l), &s->listen_addr);
    name4(u, sizeof(u), &s->upstream);
    pthread_mutex_lock(&s->mu);
    j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "listen", l, "upstream", u,
                  "links", (json_int_t)s->active, "links_total",
                  (json_int_t)s->total, "refused", (json_int_t)s->refused,
                  "suspended", s->suspended);
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* ---- the remote end
 * ---------------------------------------------------------- */

struct prosec__relay_cli {
    struct prosec__relay_env env;
    enum prosec__relay_mode mode;
    struct sockaddr_in relay, announce, kmf, mikey, local;
    unsigned ifindex;
    int stop[2], ann_fd, lfd, udp;
    pthread_t th;
    bool started, relayed;
    pthread_mutex_t mu;
    char state[16], via_relay[48], last_error[160];
    int64_t since;
    uint64_t links;
    struct sockaddr_in failed[FAILED_MAX];
    int64_t failed_until[FAILED_MAX];
};

static void cli_state(struct prosec__relay_cli *c, const char *state,
                      const struct sockaddr_in *relay, const char *error)
{
    pthread_mutex_lock(&c->mu);
    (void)prosec__fmt(c->state, sizeof(c->state), "%s", state);
    if (relay != NULL) {
        name4(c->via_relay, sizeof(c->via_relay), relay);
    }
    if (error != NULL) {
        (void)prosec__fmt(c->last_error, sizeof(c->last_error), "%s", error);
    }
    c->since = prosec__unix_now();
    pthread_mutex_unlock(&c->mu);
}

/* Waits ms, refusing the device's connections meanwhile (no link to
 * carry them); false on stop. */
static bool cli_pause(struct prosec__relay_cli *c, int ms)
{
    int64_t until = prosec__mono_ms() + ms;

    for (;;) {
        int64_t left = until - prosec__mono_ms();
        int w;

        if (left <= 0) {
            return true;
        }
        w = wait_fd(c->lfd, POLLIN, c->stop[0], (int)left);
        if (w < 0) {
            return false;
        }
        if (w == 1) {
            int fd = accept_cloexec(c->lfd, NULL);

            if (fd >= 0) {
                close(fd);
            }
        }
    }
}

/* AUTO: can we reach the KMF ourselves? */
static bool kmf_direct(struct prosec__relay_cli *c)
{
    int fd = tcp_connect(&c->kmf, c->stop[0], 1500);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static bool failed_recently(struct prosec__relay_cli *c,
                            const struct sockaddr_in *r)
{
    int64_t now = prosec__mono_ms();

    for (size_t i = 0; i < FAILED_MAX; i++) {
        if (c->failed_until[i] > now &&
            c->failed[i].sin_addr.s_addr == r->sin_addr.s_addr &&
            c->failed[i].sin_port == r->sin_port) {
            return true;
        }
    }
    return false;
}

static void mark_failed(struct prosec__relay_cli *c,
                        const struct sockaddr_in *r)
{
    size_t oldest = 0;

    for (size_t i = 1; i < FAILED_MAX; i++) {
        if (c->failed_until[i] < c->failed_until[oldest]) {
            oldest = i;
        }
    }
    c->failed[oldest] = *r;
    c->failed_until[oldest] = prosec__mono_ms() + FAILED_MS;
}

/*
 * AUTO: a relay announced within ms: of what came meanwhile, the latest
 * that has not failed us in the last minute (announcements are not
 * authenticated: a false relay fails its security mode command, and a
 * flood of them must not keep us from the real one).
 */
static bool heard_relay(struct prosec__relay_cli *c, int ms,
                        struct sockaddr_in *relay)
{
    int64_t until = prosec__mono_ms() + ms;
    bool found = false;

    while (!found && prosec__mono_ms() < until) {
        if (wait_fd(c->ann_fd, POLLIN, c->stop[0],
                    (int)(until - prosec__mono_ms())) != 1) {
            return false;
        }
        for (int i = 0; i < 4096; i++) { /* what is queued, at most */
            uint8_t m[PROSEC_PC5SIG_ANNOUNCE_LEN + 1];
            struct prosec_pc5sig_announce a;
            struct sockaddr_in r = {.sin_family = AF_INET};
            ssize_t n = recv(c->ann_fd, m, sizeof(m), MSG_DONTWAIT);

            if (n < 0) {
                break;
            }
            if (prosec_pc5sig_announce_decode(m, (size_t)n, &a) != PROSEC_OK) {
                continue;
            }
            memcpy(&r.sin_addr, a.tcp.ipv4, 4);
            r.sin_port = htons(a.tcp.port);
            if (!failed_recently(c, &r)) {
                *relay = r;
                found = true;
            }
        }
    }
    return found;
}

/* The remote's handshake on fd; the link in *pl, the KMF's push address
 * for us in mikey. */
static prosec_err cli_handshake(struct prosec__relay_cli *c, int fd,
                                struct reader *rd, struct prosec_link **pl,
                                char *mikey, size_t cap)
{
    struct prosec_pc5sig_dcr req;
    struct prosec_pc5sig_dsmc cmd;
    uint8_t pruk[PROSEC_PRUK_LEN], kd[PROSEC_KD_LEN],
        kd_sess[PROSEC_KD_SESS_LEN];
    uint8_t m[PROSEC_PC5SIG_DSMC_LEN];
    const uint8_t *msg;
    const char *why = "?";
    size_t len = 0, n = 0;
    enum prosec_pc5sig_type type;
    bool have;
    prosec_err err;

    memset(&req, 0, sizeof(req));
    c->env.lock(c->env.ctx);
    have = prosec_device_pruk(c->env.dev, pruk, req.pruk_id);
    c->env.unlock(c->env.ctx);
    if (!have) {
        return prosec__fail(PROSEC_ERR_NOT_FOUND,
                            "no PRUK in the keystore: this device cannot use "
                            "a relay (its KMF gave it none)");
    }
    req.caps.eea = ALLOWED_EEA;
    req.caps.eia = ALLOWED_EIA;
    err = rand24(&req.remote_l2_id)
              ? prosec__random(req.nonce1, sizeof(req.nonce1))
              : PROSEC_ERR_CRYPTO_LIB;
    if (err == PROSEC_OK) {
        err = prosec_pc5sig_dcr_encode(m, sizeof(m), &n, &req);
    }
    if (err == PROSEC_OK && !send_all(fd, m, n)) {
        err = prosec__fail(PROSEC_ERR_UNREACHABLE, "cannot write to the relay");
    }
    if (err == PROSEC_OK &&
        reader_next(rd, HANDSHAKE_MS, &msg, &len, &why) != 1) {
        err = prosec__fail(PROSEC_ERR_UNREACHABLE,
                           "no answer from the relay: %s", why);
    }
    if (err == PROSEC_OK && prosec_pc5sig_type(msg, len, &type) == PROSEC_OK &&
        type == PROSEC_PC5SIG_LINK_REJECT) {
        uint8_t cause = 0;

        if (prosec_pc5sig_reject_decode(msg, len, &type, &cause) != PROSEC_OK) {
            cause = 0;
        }
        err = prosec__fail(PROSEC_ERR_DENIED, "the relay refused us: %s",
                           cause_name(cause));
    }
    if (err == PROSEC_OK) {
        err = prosec_pc5sig_dsmc_decode(msg, len, &cmd);
    }
    if (err == PROSEC_OK) {
        err = prosec_kd_derive(kd, pruk, cmd.kd_freshness);
    }
    if (err == PROSEC_OK) {
        err = prosec_kd_sess_derive(kd_sess, kd, req.nonce1, cmd.nonce2);
    }
    if (err == PROSEC_OK) {
        err = prosec_link_new(pl, kd_sess, cmd.eea, cmd.eia, PROSEC_LINK_REMOTE,
                              PROSEC_BACKEND_AUTO);
    }
    prosec_wipe(pruk, sizeof(pruk));
    prosec_wipe(kd, sizeof(kd));
    prosec_wipe(kd_sess, sizeof(kd_sess));
    if (err == PROSEC_OK) {
        err = prosec_pc5sig_dsmc_verify(msg, len, prosec_link_pik(*pl),
                                        &req.caps);
        if (err != PROSEC_OK) {
            send_reject(fd, PROSEC_PC5SIG_DSM_REJECT,
                        err == PROSEC_ERR_PC5SIG_MAC
                            ? PROSEC_PC5SIG_CAUSE_AUTH_FAILED
                            : PROSEC_PC5SIG_CAUSE_NO_COMMON_ALG);
            err = prosec__fail(err,
                               "the relay's security mode command failed its "
                               "check: %s (a relay the KMF does not know?)",
                               prosec_strerror(err));
        }
    }
    if (err == PROSEC_OK) {
        uint8_t done[PROSEC_PC5SIG_COMPLETE_LEN];
        size_t dn = 0;

        err = prosec_pc5sig_complete_encode(done, sizeof(done), &dn, msg, len,
                                            prosec_link_pik(*pl));
        if (err == PROSEC_OK && !send_all(fd, done, dn)) {
            err = prosec__fail(PROSEC_ERR_UNREACHABLE,
                               "cannot write to the relay");
        }
    }
    if (err == PROSEC_OK) {
        struct in_addr ip;

        memcpy(&ip, cmd.mikey.ipv4, 4);
        (void)prosec__fmt(mikey, cap, "%s:%u", inet_ntoa(ip), cmd.mikey.port);
    } else {
        prosec_link_free(*pl);
        *pl = NULL;
    }
    return err;
}

static void cli_link(struct prosec__relay_cli *c, const struct sockaddr_in *r)
{
    struct reader *rd = calloc(1, sizeof(*rd));
    struct prosec_link *pl = NULL;
    struct tunnel t;
    char name[48], mikey[48], via[48];
    const char *why;
    int fd;
    prosec_err err;

    name4(name, sizeof(name), r);
    if (rd == NULL) {
        return;
    }
    fd = tcp_connect(r, c->stop[0], CONNECT_MS);
    if (fd < 0) {
        prosec__warn("relay: cannot reach the relay at %s: %s", name,
                     strerror(errno));
        cli_state(c, "down", r, strerror(errno));
        free(rd);
        return;
    }
    set_timeouts(fd);
    rd->fd = fd;
    rd->stop = c->stop[0];
    prosec__detail_clear();
    err = cli_handshake(c, fd, rd, &pl, mikey, sizeof(mikey));
    if (err != PROSEC_OK) {
        const char *d = prosec_error_detail()[0] ? prosec_error_detail()
                                                 : prosec_strerror(err);

        prosec__warn("relay: no link with the relay at %s: %s", name, d);
        cli_state(c, "down", r, d);
        close(fd);
        free(rd);
        return;
    }
    name4(via, sizeof(via), &c->local);
    c->env.lock(c->env.ctx);
    c->env.link(c->env.ctx, via, mikey);
    c->env.unlock(c->env.ctx);
    c->relayed = true;
    c->links++;
    cli_state(c, "up", r, "");
    prosec__info("relay: link up with the relay at %s (the KMF pushes to %s)",
                 name, mikey);
    tun_init(&t);
    t.rd = rd;
    t.pl = pl;
    t.link = fd;
    t.stop = c->stop[0];
    t.udp = c->udp;
    t.peer = c->mikey;
    t.has_peer = true;
    t.listener = c->lfd;
    t.who = name;
    why = tun_run(&t);
    prosec__info("relay: link with the relay at %s down: %s", name, why);
    cli_state(c, "down", r, why);
    tun_close_streams(&t);
    prosec_link_free(pl);
    close(fd);
    prosec_wipe(rd, sizeof(*rd));
    free(rd);
}

static void *cli_main(void *arg)
{
    struct prosec__relay_cli *c = arg;
    unsigned backoff = 1;

    for (;;) {
        struct sockaddr_in r = c->relay;
        uint64_t before = c->links;

        if (c->mode == PROSEC__RELAY_AUTO) {
            if (kmf_direct(c)) {
                if (c->relayed) {
                    c->env.lock(c->env.ctx);
                    c->env.link(c->env.ctx, NULL, NULL);
                    c->env.unlock(c->env.ctx);
                    c->relayed = false;
                    prosec__info("relay: the KMF is reachable again: direct");
                }
                cli_state(c, "direct", NULL, "");
                if (wait_fd(-1, 0, c->stop[0], 10000) < 0) {
                    return NULL;
                }
                continue;
            }
            cli_state(c, "searching", NULL, NULL);
            if (!heard_relay(c, 5000, &r)) {
                if (wait_fd(-1, 0, c->stop[0], 0) < 0) {
                    return NULL;
                }
                continue;
            }
        }
        cli_link(c, &r);
        if (c->links == before && c->mode == PROSEC__RELAY_AUTO) {
            /* another relay may be announced: try it soon */
            mark_failed(c, &r);
            backoff = 1;
        } else {
            backoff =
                c->links != before ? 1 : (backoff < 30 ? backoff * 2 : 30);
        }
        if (!cli_pause(c, (int)backoff * 1000)) {
            return NULL;
        }
    }
}

bool prosec__relay_mode_parse(const char *s, enum prosec__relay_mode *mode)
{
    struct sockaddr_in a;

    if (s == NULL || strcmp(s, "auto") == 0) {
        *mode = PROSEC__RELAY_AUTO;
    } else if (strcmp(s, "off") == 0) {
        *mode = PROSEC__RELAY_OFF;
    } else if (parse4(s, false, &a)) {
        *mode = PROSEC__RELAY_FIXED;
    } else {
        return false;
    }
    return true;
}

prosec_err prosec__relay_cli_start(struct prosec__relay_cli **out,
                                   const struct prosec__relay_env *env,
                                   const struct prosec__relay_cli_cfg *cfg)
{
    struct prosec__relay_cli *c = calloc(1, sizeof(*c));
    socklen_t sl = sizeof(c->local);
    prosec_err err = PROSEC_OK;

    if (c == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    c->env = *env;
    c->mode = cfg->mode;
    c->mikey = cfg->mikey;
    c->ifindex = cfg->ifindex;
    c->stop[0] = c->stop[1] = c->ann_fd = c->lfd = c->udp = -1;
    pthread_mutex_init(&c->mu, NULL);
    (void)prosec__fmt(c->state, sizeof(c->state), "starting");
    if (cfg->mode == PROSEC__RELAY_FIXED &&
        !parse4(cfg->relay, false, &c->relay)) {
        err = prosec__fail(PROSEC_ERR_CONFIG,
                           "--relay '%.60s' is not auto, off or a numeric "
                           "IPv4 IP:PORT",
                           cfg->relay);
    } else if (cfg->mode == PROSEC__RELAY_AUTO &&
               !parse4(cfg->kmf, false, &c->kmf)) {
        err = prosec__fail(PROSEC_ERR_CONFIG,
                           "--relay auto needs a numeric IPv4 KMF address, "
                           "not '%.60s'",
                           cfg->kmf);
    } else if (!pipe_make(c->stop)) {
        err = prosec__fail(PROSEC_ERR_IO, "relay: %s", strerror(errno));
    }
    if (err == PROSEC_OK) {
        /* the device's HTTPS comes here, its MIKEY answers go out here */
        struct sockaddr_in lo = {.sin_family = AF_INET};

        lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        c->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (c->lfd < 0 || c->udp < 0 ||
            bind(c->lfd, (struct sockaddr *)&lo, sizeof(lo)) != 0 ||
            listen(c->lfd, 8) != 0 ||
            getsockname(c->lfd, (struct sockaddr *)&c->local, &sl) != 0 ||
            bind(c->udp, (struct sockaddr *)&lo, sizeof(lo)) != 0) {
            err = prosec__fail(PROSEC_ERR_IO,
                               "the relay link's local sockets: %s",
                               strerror(errno));
        }
    }
    if (err == PROSEC_OK && cfg->mode == PROSEC__RELAY_AUTO) {
        struct ip_mreqn mr;
        int one = 1;

        c->announce = *cfg->announce;
        memset(&mr, 0, sizeof(mr));
        mr.imr_multiaddr = c->announce.sin_addr;
        mr.imr_ifindex = (int)cfg->ifindex;
        c->ann_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        (void)setsockopt(c->ann_fd, SOL_SOCKET, SO_REUSEADDR, &one,
                         sizeof(one));
        (void)setsockopt(c->ann_fd, SOL_SOCKET, SO_REUSEPORT, &one,
                         sizeof(one));
        if (c->ann_fd < 0 || bind(c->ann_fd, (struct sockaddr *)&c->announce,
                                  sizeof(c->announce)) != 0) {
            err = prosec__fail(PROSEC_ERR_IO,
                               "cannot hear relay announcements: %s",
                               strerror(errno));
        } else if (setsockopt(c->ann_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
                              sizeof(mr)) != 0) {
            mr.imr_ifindex = (int)if_nametoindex("lo");
            if (setsockopt(c->ann_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
                           sizeof(mr)) != 0) {
                err = prosec__fail(PROSEC_ERR_IO,
                                   "cannot join the relay announcements' "
                                   "group: %s",
                                   strerror(errno));
            }
        }
    }
    if (err == PROSEC_OK && cfg->mode == PROSEC__RELAY_FIXED) {
        char via[48];

        /* told to use a relay: never the KMF directly */
        name4(via, sizeof(via), &c->local);
        c->env.link(c->env.ctx, via, NULL);
        c->relayed = true;
    }
    if (err == PROSEC_OK && pthread_create(&c->th, NULL, cli_main, c) != 0) {
        err = prosec__fail(PROSEC_ERR_NOMEM, "cannot start the relay's thread");
    }
    if (err != PROSEC_OK) {
        prosec__relay_cli_stop(c);
        return err;
    }
    c->started = true;
    *out = c;
    return PROSEC_OK;
}

void prosec__relay_cli_stop(struct prosec__relay_cli *c)
{
    if (c == NULL) {
        return;
    }
    if (c->stop[1] >= 0 && write(c->stop[1], "x", 1) < 0) {
        prosec__warn("relay: cannot stop the link: %s", strerror(errno));
    }
    if (c->started) {
        pthread_join(c->th, NULL);
    }
    for (int *fd = &c->ann_fd; fd != NULL; fd = fd == &c->ann_fd ? &c->lfd
                                                : fd == &c->lfd  ? &c->udp
                                                                 : NULL) {
        if (*fd >= 0) {
            close(*fd);
        }
    }
    pipe_close(c->stop);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool prosec__relay_cli_up(struct prosec__relay_cli *c, char *why, size_t cap)
{
    bool up;

    pthread_mutex_lock(&c->mu);
    up = strcmp(c->state, "up") == 0 || strcmp(c->state, "direct") == 0;
    if (!up && why != NULL) {
        (void)prosec__fmt(why, cap, "%s%s%s",
                          c->via_relay[0] ? c->via_relay : "none found",
                          c->last_error[0] ? ": " : "", c->last_error);
    }
    pthread_mutex_unlock(&c->mu);
    return up;
}

json_t *prosec__relay_cli_status(struct prosec__relay_cli *c)
{
    json_t *j;

    pthread_mutex_lock(&c->mu);
    j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "mode",
                  c->mode == PROSEC__RELAY_AUTO ? "auto" : "fixed", "state",
                  c->state, "relay", c->via_relay, "last_error", c->last_error,
                  "since", (json_int_t)c->since, "links", (json_int_t)c->links);
    pthread_mutex_unlock(&c->mu);
    return j;
}
