/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MIKEY push engine: every pending delivery (a PGK to push, or one to
 * revoke, to one device) is sent as an I_MESSAGE over UDP to the address
 * the device gave in its last key request, and sent again with back-off
 * (retry_first_ms doubling up to retry_max_ms, with jitter) until the
 * device's verification message comes back.  Each attempt is a new
 * message (new T and RAND), so a device's replay cache never has to tell
 * a retry from a replay.  Answers are checked against the last message
 * sent, then written to the store in one transaction per flush.
 *
 * The table of pending deliveries is rebuilt from the store after every
 * change (kmf_push_kick), so what is pending survives a restart of the
 * daemon: the store is the truth, memory only paces the sending.
 * Sending goes in chunks with the event loop in between, so answers are
 * read while a large rekey is still going out.
 *
 * The address is the device's word: until an answer has come from it,
 * one delivery at a time goes there (struct kmf_peer), so a device
 * cannot turn the KMF into a reflector of its whole backlog, retried for
 * hours, toward a host of its choice.  Once the address has answered,
 * everything due goes at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "kmf.h"

enum {
    CHUNK = 64,      /* messages sent per turn of the loop */
    TICK_MS = 20,    /* how often due retries are looked for */
    FLUSH_MS = 10,   /* how long answers wait to be written */
    FLUSH_MAX = 1024 /* or how many */
};

static uint64_t push_key(int64_t pgk_row, int64_t dev_row, bool revoke)
{
    return (uint64_t)pgk_row << 33 | (uint64_t)dev_row << 1 | revoke;
}

static struct kmf_push *find(struct kmf_push_table *t, int64_t pgk_row,
                             int64_t dev_row, bool revoke)
{
    for (size_t i = 0; i < t->n; i++) {
        struct kmf_push *p = &t->v[i];

        if (p->pgk_row == pgk_row && p->device_row == dev_row &&
            p->revoke == revoke) {
            return p;
        }
    }
    return NULL;
}

static bool same_addr(const struct sockaddr_storage *a, unsigned alen,
                      const struct sockaddr_storage *b, unsigned blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* ---- peers: one per device with deliveries ------------------------------ */

static int cmp_peer(const void *a, const void *b)
{
    int64_t x = ((const struct kmf_peer *)a)->device_row;
    int64_t y = ((const struct kmf_peer *)b)->device_row;

    return (x > y) - (x < y);
}

static struct kmf_peer *peer_of(const struct kmf_push_table *t, int64_t dev)
{
    struct kmf_peer key;

    if (t->n_peers == 0) {
        return NULL;
    }
    key.device_row = dev;
    return bsearch(&key, t->peers, t->n_peers, sizeof(key), cmp_peer);
}

/*
 * The peers of the devices in the table, each keeping what was known of
 * it while its address stays the same (a new address is unproven).
 */
static void rebuild_peers(struct kmf_push_table *t)
{
    struct kmf_peer *v = calloc(t->n > 0 ? t->n : 1, sizeof(*v));
    size_t n = 0;

    if (v == NULL) {
        return; /* the old ones stay; devices not in them wait */
    }
    for (size_t i = 0; i < t->n; i++) {
        v[i].device_row = t->v[i].device_row;
        v[i].addr = t->v[i].addr;
        v[i].addr_len = t->v[i].addr_len;
    }
    qsort(v, t->n, sizeof(*v), cmp_peer);
    for (size_t i = 0; i < t->n; i++) {
        const struct kmf_peer *old;

        if (n > 0 && v[n - 1].device_row == v[i].device_row) {
            continue;
        }
        v[n] = v[i];
        old = peer_of(t, v[n].device_row);
        if (old != NULL &&
            same_addr(&old->addr, old->addr_len, &v[n].addr, v[n].addr_len)) {
            v[n].proven = old->proven;
            v[n].probing =
                old->probing && find(t, old->probe_pgk, old->device_row,
                                     old->probe_revoke) != NULL;
            v[n].probe_pgk = old->probe_pgk;
            v[n].probe_revoke = old->probe_revoke;
        }
        n++;
    }
    free(t->peers);
    t->peers = v;
    t->n_peers = n;
}

/* May p go now?  Always to a proven address; else if it is the probe. */
static bool may_send(struct kmf_push_table *t, const struct kmf_push *p)
{
    struct kmf_peer *e = peer_of(t, p->device_row);

    if (e == NULL) {
        return false;
    }
    if (e->proven) {
        return true;
    }
    if (e->probing &&
        (e->probe_pgk != p->pgk_row || e->probe_revoke != p->revoke)) {
        return false;
    }
    e->probing = true;
    e->probe_pgk = p->pgk_row;
    e->probe_revoke = p->revoke;
    return true;
}

static int64_t backoff_ms(const struct kmf *k, int attempts)
{
    int64_t d = k->conf.retry_first_ms;
    uint32_t r = 0;

    for (int i = 1; i < attempts && d < k->conf.retry_max_ms; i++) {
        d *= 2;
    }
    if (d > k->conf.retry_max_ms) {
        d = k->conf.retry_max_ms;
    }
    /* +-25% so that a crowd does not retry in step */
    if (prosec__random(&r, sizeof(r)) == PROSEC_OK) {
        d = d * 3 / 4 + (int64_t)(r % (uint32_t)(d / 2 + 1));
    }
    return d;
}

/* ---- building one message ------------------------------------------------ */

struct target {
    struct prosec_mikey_msg m;
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN];
};

static prosec_err load_target(struct kmf *k, const struct kmf_push *p,
                              struct target *t)
{
    sqlite3_stmt *s = kmf_stmt(
        &k->st,
        "SELECT p.pgk_id, p.key, p.activation, p.expiry, g.group_id, g.alg, "
        "g.profile, g.bearer, m.member_id, d.uri, d.pmk, d.pmk_id, d.name "
        "FROM pgks p JOIN groups g ON g.id = p.group_ref JOIN devices d ON "
        "d.id = ?2 LEFT JOIN members m ON m.group_ref = g.id AND "
        "m.device_ref = d.id WHERE p.id = ?1");
    char aad[128];
    bool row = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, p->pgk_row);
    sqlite3_bind_int64(s, 2, p->device_row);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!row || sqlite3_column_type(s, 10) == SQLITE_NULL ||
        sqlite3_column_bytes(s, 10) !=
            PROSEC_MIKEY_PMK_LEN + KMF_SEAL_OVERHEAD) {
        return PROSEC_ERR_NOT_FOUND;
    }
    memset(t, 0, sizeof(*t));
    t->m.kind = p->revoke ? PROSEC_MIKEY_PGK_REVOKE : PROSEC_MIKEY_PGK_PUSH;
    t->m.pgk_id = (uint8_t)sqlite3_column_int(s, 0);
    t->m.activation = sqlite3_column_int64(s, 2);
    t->m.expiry = sqlite3_column_int64(s, 3);
    t->m.group_id = (uint32_t)sqlite3_column_int64(s, 4);
    t->m.alg = (uint8_t)sqlite3_column_int(s, 5);
    t->m.profile = (uint8_t)sqlite3_column_int(s, 6);
    t->m.bearer = (uint8_t)sqlite3_column_int(s, 7);
    t->m.member_id = (uint32_t)sqlite3_column_int64(s, 8);
    (void)prosec__fmt(t->m.idi, sizeof(t->m.idi), "%s", k->uri);
    (void)prosec__fmt(t->m.idr, sizeof(t->m.idr), "%s",
                      (const char *)sqlite3_column_text(s, 9));
    t->m.pmk_id = (uint32_t)sqlite3_column_int64(s, 11);

    (void)prosec__fmt(aad, sizeof(aad), "pmk %s %u",
                      (const char *)sqlite3_column_text(s, 12), t->m.pmk_id);
    err = kmf_unseal(k->st.master, aad, sqlite3_column_blob(s, 10),
                     (size_t)sqlite3_column_bytes(s, 10), t->pmk);
    if (err != PROSEC_OK || p->revoke) {
        return err;
    }
    /* a push needs the key, and a member to give it to */
    if (sqlite3_column_type(s, 1) == SQLITE_NULL ||
        sqlite3_column_type(s, 8) == SQLITE_NULL ||
        sqlite3_column_bytes(s, 1) != PROSEC_PGK_LEN + KMF_SEAL_OVERHEAD) {
        prosec_wipe(t, sizeof(*t));
        return PROSEC_ERR_NOT_FOUND;
    }
    (void)prosec__fmt(aad, sizeof(aad), "pgk %06x %d %lld", t->m.group_id,
                      t->m.pgk_id, (long long)t->m.activation);
    err = kmf_unseal(k->st.master, aad, sqlite3_column_blob(s, 1),
                     (size_t)sqlite3_column_bytes(s, 1), t->m.pgk);
    if (err != PROSEC_OK) {
        prosec_wipe(t, sizeof(*t));
    }
    return err;
}

static void send_one(struct kmf *k, struct kmf_push *p, int64_t now_ms)
{
    struct target t;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    size_t n = 0;
    prosec_err err;

    p->attempts++;
    p->next_ms = now_ms + backoff_ms(k, p->attempts);
    err = load_target(k, p, &t);
    if (err == PROSEC_ERR_NOT_FOUND) {
        /* ended meanwhile (revoked, expired, member removed): the next
         * kick drops it */
        p->next_ms = now_ms + k->conf.retry_max_ms;
        return;
    }
    if (err == PROSEC_OK) {
        err = prosec__random(t.m.rand, sizeof(t.m.rand));
    }
    if (err == PROSEC_OK) {
        err = prosec_ntp_from_unix(prosec__unix_now(), 0, &t.m.ntp_time);
    }
    if (err == PROSEC_OK) {
        err = prosec_mikey_encode(buf, sizeof(buf), &n, &t.m, t.pmk);
    }
    if (err != PROSEC_OK) {
        prosec__err("push: building a message failed: %s",
                    prosec_strerror(err));
        prosec_wipe(&t, sizeof(t));
        return;
    }
    p->ntp = t.m.ntp_time;
    memcpy(p->rand, t.m.rand, sizeof(p->rand));
    p->csb_id = prosec_mikey_csb_id(t.m.group_id, t.m.pgk_id);
    prosec_wipe(&t, sizeof(t));
    if (sendto(k->udp_fd, buf, n, 0, (struct sockaddr *)&p->addr, p->addr_len) <
        0) {
        prosec__debug("push: sendto failed: %s", strerror(errno));
    } else {
        k->push.sent++;
        k->push.bytes_out += n;
    }
    prosec_wipe(buf, n);
}

/* Sends what is due, at most CHUNK now; the rest on the next turn. */
static void send_due(struct kmf *k)
{
    int64_t now = prosec__mono_ms();
    size_t sent = 0;

    for (size_t i = 0; i < k->push.n && sent < CHUNK; i++) {
        struct kmf_push *p = &k->push.v[i];

        if (p->live && p->next_ms <= now && may_send(&k->push, p)) {
            send_one(k, p, now);
            sent++;
        }
    }
    if (sent == CHUNK) {
        event_active(k->retry_ev, EV_TIMEOUT, 0);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_due(arg);
}

/* ---- answers
 * ----------------------------------------------------------------- */

static void flush(struct kmf *k)
{
    struct kmf_push_table *t = &k->push;
    int64_t now = prosec__unix_now();
    prosec_err err;

    if (t->n_done == 0) {
        return;
    }
    err = kmf_begin(&k->st);
    for (size_t i = 0; err == PROSEC_OK && i < t->n_done; i++) {
        sqlite3_stmt *s =
            kmf_stmt(&k->st, "UPDATE deliveries SET state = 'done', "
                             "done = ?, attempts = ? WHERE pgk_ref = ? "
                             "AND device_ref = ? AND kind = ? AND "
                             "state = 'pending'");

        if (s == NULL) {
            err = PROSEC_ERR_DB;
            break;
        }
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int(s, 2, t->done[i].attempts);
        sqlite3_bind_int64(s, 3, t->done[i].pgk_row);
        sqlite3_bind_int64(s, 4, t->done[i].device_row);
        sqlite3_bind_text(s, 5, t->done[i].revoke ? "revoke" : "push", -1,
                          SQLITE_STATIC);
        err = kmf_step(&k->st, s, NULL);
    }
    if (err == PROSEC_OK) {
        err = kmf_commit(&k->st);
    }
    if (err != PROSEC_OK) {
        /* they stay pending in the store: the next kick sends again and
         * the devices answer again */
        kmf_rollback(&k->st);
        prosec__err("push: recording %zu answers failed", t->n_done);
    } else {
        prosec__debug("push: %zu deliveries done", t->n_done);
    }
    t->n_done = 0;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void answered(struct kmf *k, struct kmf_push *p)
{
    struct kmf_push_table *t = &k->push;
    struct kmf_peer *e = peer_of(t, p->device_row);

    if (e != NULL && !e->proven &&
        same_addr(&e->addr, e->addr_len, &p->addr, p->addr_len)) {
        /* the address is the device's: the rest may go now */
        e->proven = true;
        e->probing = false;
        event_active(k->retry_ev, EV_TIMEOUT, 0);
    }

    if (t->n_done == t->cap_done) {
        size_t cap = t->cap_done ? 2 * t->cap_done : 256;
        struct kmf_push *v = realloc(t->done, cap * sizeof(*v));

        if (v == NULL) {
            return; /* it stays pending: answered again next time */
        }
        t->done = v;
        t->cap_done = cap;
    }
    t->done[t->n_done++] = *p;
    p->live = false;
    t->answered++;
    if (t->n_done >= FLUSH_MAX) {
        flush(k);
    } else if (!evtimer_pending(k->flush_ev, NULL)) {
        struct timeval tv = {0, FLUSH_MS * 1000};

        evtimer_add(k->flush_ev, &tv);
    }
}

static struct prosec__ratelimit bad_answers = {1000, 10, 0, 0, 0};

static void check_answer(struct kmf *k, const uint8_t *buf, size_t n,
                         const struct sockaddr_storage *from, unsigned flen)
{
    uint32_t csb = 0;
    prosec_err err = prosec_mikey_verify_peek(buf, n, &csb, NULL);

    if (err != PROSEC_OK) {
        goto bad;
    }
    err = PROSEC_ERR_NOT_FOUND;
    for (size_t i = 0; i < k->push.n; i++) {
        struct kmf_push *p = &k->push.v[i];
        struct target t;

        if (!p->live || p->csb_id != csb || p->attempts == 0 ||
            !same_addr(&p->addr, p->addr_len, from, flen)) {
            continue;
        }
        /* the I_MESSAGE it answers: the last one sent */
        err = load_target(k, p, &t);
        if (err != PROSEC_OK) {
            continue;
        }
        t.m.ntp_time = p->ntp;
        memcpy(t.m.rand, p->rand, sizeof(t.m.rand));
        err = prosec_mikey_verify_check(buf, n, &t.m, t.pmk);
        prosec_wipe(&t, sizeof(t));
        if (err == PROSEC_OK) {
            answered(k, p);
            return;
        }
    }

bad:
    if (prosec__ratelimit(&bad_answers, prosec__mono_ms())) {
        char a[64];

        prosec__format_addr(a, sizeof(a), from);
        prosec__debug("push: answer from %s refused: %s", a,
                      prosec_strerror(err));
    }
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    struct kmf *k = arg;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX + 1];

    (void)what;
    for (int i = 0; i < 256; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

        if (n < 0) {
            break;
        }
        k->push.bytes_in += (uint64_t)n;
        if ((size_t)n <= PROSEC_MIKEY_MSG_MAX) {
            check_answer(k, buf, (size_t)n, &from, (unsigned)flen);
        }
    }
}

/* ---- the table
 * --------------------------------------------------------------- */

static struct kmf_push *add(struct kmf_push_table *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        struct kmf_push *v = realloc(t->v, cap * sizeof(*v));

        if (v == NULL) {
            return NULL;
        }
        t->v = v;
        t->cap = cap;
    }
    memset(&t->v[t->n], 0, sizeof(t->v[0]));
    return &t->v[t->n++];
}

void kmf_push_kick(struct kmf *k)
{
    struct kmf_push_table *t = &k->push;
    int64_t now = prosec__mono_ms();
    sqlite3_stmt *s;
    bool row = true;
    size_t w = 0;

    if (k->udp_fd < 0) {
        return; /* not serving (init, or tests of the logic alone) */
    }
    flush(k);
    /* not to a device that released all its groups, nor of a group the
     * device released (members.released) */
    s = kmf_stmt(&k->st, "SELECT x.pgk_ref, x.device_ref, x.kind = 'revoke', "
                         "d.mikey_addr FROM deliveries x JOIN devices d ON "
                         "d.id = x.device_ref WHERE x.state = 'pending' AND "
                         "d.released = 0 AND d.revoked IS NULL AND "
                         "d.mikey_addr IS NOT NULL AND d.pmk IS NOT NULL "
                         "AND NOT EXISTS (SELECT 1 FROM pgks p JOIN members "
                         "m ON m.group_ref = p.group_ref WHERE p.id = "
                         "x.pgk_ref AND m.device_ref = x.device_ref AND "
                         "m.released != 0)");
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        t->v[i].live = false;
    }
    while (kmf_step(&k->st, s, &row) == PROSEC_OK && row) {
        int64_t pgk = sqlite3_column_int64(s, 0);
        int64_t dev = sqlite3_column_int64(s, 1);
        bool revoke = sqlite3_column_int(s, 2) != 0;
        struct sockaddr_storage a;
        unsigned alen = 0;
        struct kmf_push *p = find(t, pgk, dev, revoke);

        if (!prosec__parse_addr((const char *)sqlite3_column_text(s, 3), false,
                                &a, &alen)) {
            continue;
        }
        if (p == NULL) {
            p = add(t);
            if (p == NULL) {
                break;
            }
            p->pgk_row = pgk;
            p->device_row = dev;
            p->revoke = revoke;
            p->next_ms = now;
        } else if (!same_addr(&p->addr, p->addr_len, &a, alen)) {
            p->next_ms = now; /* it moved: tell it at once */
        }
        p->addr = a;
        p->addr_len = alen;
        p->live = true;
    }
    /* keep only what is still pending */
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].live) {
            t->v[w++] = t->v[i];
        }
    }
    t->n = w;
    (void)push_key;
    rebuild_peers(t);
    send_due(k);
}

prosec_err kmf_push_start(struct kmf *k)
{
    struct sockaddr_storage a;
    unsigned alen = 0;
    struct timeval tick = {0, TICK_MS * 1000};
    int one = 1;

    if (!prosec__parse_addr(k->conf.mikey_bind, true, &a, &alen)) {
        return prosec__fail(PROSEC_ERR_CONFIG,
                            "mikey_bind '%s' is not "
                            "ADDR:PORT",
                            k->conf.mikey_bind);
    }
    k->udp_fd =
        socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->udp_fd < 0 ||
        setsockopt(k->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
            0 ||
        bind(k->udp_fd, (struct sockaddr *)&a, alen) != 0) {
        prosec_err e = prosec__fail(PROSEC_ERR_IO,
                                    "cannot bind the MIKEY socket to %s: %s",
                                    k->conf.mikey_bind, strerror(errno));

        if (k->udp_fd >= 0) {
            close(k->udp_fd);
        }
        k->udp_fd = -1;
        return e;
    }
    {
        int buf = 4 << 20; /* answers of a large rekey arrive together */

        (void)setsockopt(k->udp_fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    }
    k->udp_ev = event_new(k->base, k->udp_fd, EV_READ | EV_PERSIST, on_udp, k);
    k->retry_ev = event_new(k->base, -1, EV_PERSIST, on_retry, k);
    k->flush_ev = evtimer_new(k->base, on_flush, k);
    if (k->udp_ev == NULL || k->retry_ev == NULL || k->flush_ev == NULL ||
        event_add(k->udp_ev, NULL) != 0 || event_add(k->retry_ev, &tick) != 0) {
        return PROSEC_ERR_NOMEM;
    }
    kmf_push_kick(k);
    return PROSEC_OK;
}

void kmf_push_stop(struct kmf *k)
{
    if (k->udp_fd >= 0) {
        flush(k);
    }
    if (k->udp_ev != NULL) {
        event_free(k->udp_ev);
    }
    if (k->retry_ev != NULL) {
        event_free(k->retry_ev);
    }
    if (k->flush_ev != NULL) {
        event_free(k->flush_ev);
    }
    if (k->udp_fd >= 0) {
        close(k->udp_fd);
    }
    k->udp_fd = -1;
    free(k->push.v);
    free(k->push.done);
    free(k->push.peers);
    memset(&k->push, 0, sizeof(k->push));
}
