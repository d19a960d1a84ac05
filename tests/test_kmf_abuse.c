/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMF under abuse: what a review tried to break, one test per problem
 * found.  Two harnesses: the KMF's logic in this process (struct kmf with
 * its store, no sockets, the admin as caller), for what needs thousands
 * of operations; and the real daemon (kmfutil), for sockets and time.
 */
#define _GNU_SOURCE /* prlimit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/kmf/kmf.h"
#include "kmfutil.h"

/* ---- the logic in this process ------------------------------------------ */

struct lk {
    char dir[128];
    struct kmf k;
    struct kmf_caller admin;
};

static void lk_open(struct lk *l, const char *tag)
{
    struct kmf_cert ca = {0};
    uint8_t mk[KMF_MASTER_LEN];
    char path[256];

    memset(l, 0, sizeof(*l));
    snprintf(l->dir, sizeof(l->dir), "/tmp/prosec-test-%s-%ld", tag,
             (long)getpid());
    assert_int_equal(mkdir(l->dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/kmf.db", l->dir);
    assert_int_equal(prosec__random(mk, sizeof(mk)), PROSEC_OK);
    assert_int_equal(kmf_store_open(&l->k.st, path, mk), PROSEC_OK);
    assert_int_equal(kmf_ca_create("abuse", &ca), PROSEC_OK);
    l->k.ca_pem = ca.pem;
    l->k.ca_key_pem = ca.key_pem;
    l->k.udp_fd = -1; /* no sockets: the push engine stays still */
    kmf_conf_default(&l->k.conf);
    snprintf(l->k.uri, sizeof(l->k.uri), "urn:prosec:kmf:abuse");
    l->admin.admin = true;
    snprintf(l->admin.name, sizeof(l->admin.name), "admin");
}

static void lk_close(struct lk *l)
{
    char cmd[200];

    kmf_store_close(&l->k.st);
    free(l->k.ca_pem);
    free(l->k.ca_key_pem);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", l->dir);
    assert_int_equal(system(cmd), 0);
}

/* An admin operation; its error, the answer dropped. */
static prosec_err lk_op(struct lk *l, kmf_op_fn fn, json_t *req)
{
    json_t *resp = NULL;
    prosec_err err = fn(&l->k, &l->admin, req, &resp);

    if (err != PROSEC_OK) {
        print_message("      refused: %s\n", prosec_error_detail());
    }
    json_decref(req);
    json_decref(resp);
    return err;
}

static void lk_device(struct lk *l, const char *name)
{
    assert_int_equal(
        lk_op(l, kmf_op_device_add, json_pack("{s:s}", "name", name)),
        PROSEC_OK);
}

static void lk_group(struct lk *l, const char *name, int gid, int lifetime,
                     int ahead)
{
    assert_int_equal(
        lk_op(l, kmf_op_group_create,
              json_pack("{s:s, s:i, s:i, s:i}", "name", name, "group_id", gid,
                        "lifetime", lifetime, "ahead", ahead)),
        PROSEC_OK);
}

static prosec_err lk_member(struct lk *l, kmf_op_fn fn, const char *g,
                            const char *d)
{
    return lk_op(l, fn, json_pack("{s:s, s:s}", "group", g, "device", d));
}

/* The first column of the first row of sql, an integer. */
static int64_t lk_int(struct lk *l, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(l->k.st.db, sql, -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* No two valid PGKs of a group whose periods overlap share an index, and
 * no valid PGK has the ID of a revoked one that may still be held. */
static void lk_pgk_invariants(struct lk *l)
{
    assert_int_equal(
        lk_int(l, "SELECT count(*) FROM pgks a JOIN pgks b ON "
                  "a.group_ref = b.group_ref AND a.id < b.id WHERE "
                  "a.state = 'valid' AND b.state = 'valid' AND "
                  "a.pgk_id % 32 = b.pgk_id % 32 AND "
                  "a.activation < b.expiry AND b.activation < a.expiry"),
        0);
    assert_int_equal(
        lk_int(l, "SELECT count(*) FROM pgks a JOIN pgks b ON "
                  "a.group_ref = b.group_ref AND a.id != b.id WHERE "
                  "a.state = 'valid' AND b.state = 'revoked' AND "
                  "a.pgk_id = b.pgk_id AND b.expiry > strftime('%s')"),
        0);
}

/* ---- PGK indices run out ------------------------------------------------ */

/*
 * Every rekey, compromise or removal leaves revoked PGKs whose periods
 * still overlap the new ones; with 32 indices, the 32nd replacement
 * within a key's period found no index, and from then on a member could
 * not be removed nor a compromised device revoked.
 */
static void test_index_exhaustion(void **state)
{
    struct lk l;

    (void)state;
    lk_open(&l, "index");
    lk_device(&l, "a");
    lk_device(&l, "b");
    lk_device(&l, "c");
    lk_group(&l, "g", 0x00dd01, 3600, 2);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "a"),
                     PROSEC_OK);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "b"),
                     PROSEC_OK);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "c"),
                     PROSEC_OK);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(
            lk_op(&l, kmf_op_group_rekey, json_pack("{s:s}", "group", "g")),
            PROSEC_OK);
        lk_pgk_invariants(&l);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(lk_op(&l, kmf_op_group_compromise,
                               json_pack("{s:s}", "group", "g")),
                         PROSEC_OK);
        lk_pgk_invariants(&l);
    }
    assert_int_equal(lk_member(&l, kmf_op_group_remove_member, "g", "b"),
                     PROSEC_OK);
    lk_pgk_invariants(&l);
    /* the one that matters most: a compromised device can be revoked */
    assert_int_equal(
        lk_op(&l, kmf_op_device_revoke, json_pack("{s:s}", "name", "a")),
        PROSEC_OK);
    lk_pgk_invariants(&l);
    assert_int_equal(lk_int(&l, "SELECT count(*) FROM members"), 1);
    /* and the chain is whole: a PGK now and two ahead */
    assert_int_equal(
        lk_int(&l, "SELECT count(*) FROM pgks WHERE state = 'valid'"), 3);
    lk_close(&l);
}

/* ---- the daemon ----------------------------------------------------------
 */

/* Appends lines to k's kmf.conf (before it starts). */
static void conf_add(const struct tkmf *k, const char *lines)
{
    char p[300];
    FILE *f;

    snprintf(p, sizeof(p), "%s/kmf.conf", k->dir);
    f = fopen(p, "a");
    assert_non_null(f);
    fputs(lines, f);
    fclose(f);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time the process pid has used, in milliseconds. */
static int64_t cpu_ms(pid_t pid)
{
    char p[64], buf[1024], *s;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(p, sizeof(p), "/proc/%ld/stat", (long)pid);
    f = fopen(p, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    s = strrchr(buf, ')'); /* after the command name: fields 3.. */
    assert_non_null(s);
    assert_int_equal(sscanf(s + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %lu %lu",
                            &ut, &st),
                     2);
    return (int64_t)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/* A TCP connection to k's API that has sent the first octets of a TLS
 * record (a ClientHello of 16000 octets, never finished). */
static int half_hello(const struct tkmf *k)
{
    static const uint8_t hdr[5] = {0x16, 0x03, 0x01, 0x3e, 0x80};
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)k->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), 5);
    return fd;
}

/* Has the server closed fd?  Waits up to ms. */
static bool closed_by_peer(int fd, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    uint8_t b[64];

    if (poll(&pf, 1, ms) != 1) {
        return false;
    }
    return recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0;
}

/* ---- slow and many clients --------------------------------------------- */

/*
 * libevent's timeout is an idle one: a client trickling a ClientHello an
 * octet at a time held its connection (and a descriptor) for good, with
 * no certificate at all.
 */
static void test_slow_handshake(void **state)
{
    struct tkmf k;
    int fd;
    int64_t t0;
    bool closed = false;

    (void)state;
    assert_true(tkmf_init(&k, "slow"));
    conf_add(&k, "handshake_timeout_ms = 1000\n");
    assert_true(tkmf_start(&k));
    fd = half_hello(&k);
    t0 = mono_ms();
    while (!closed && mono_ms() - t0 < 5000) {
        (void)send(fd, "\x01", 1, MSG_NOSIGNAL);
        closed = closed_by_peer(fd, 200);
    }
    print_message("      closed after %lld ms\n", (long long)(mono_ms() - t0));
    assert_true(closed);
    assert_true(mono_ms() - t0 < 3000);
    close(fd);
    /* a real client is served as before */
    json_decref(tkmf_admin(&k, "status", NULL));
    tkmf_remove(&k);
}

enum { FLOOD = 400 };

/*
 * Connections past the descriptor limit: accept failed with EMFILE and
 * libevent retried it at once, for ever (100% CPU, a warning on stderr
 * each time: a gigabyte of log in a minute), and the admin could not
 * connect.  Now the oldest unauthenticated connection makes room.
 */
static void test_many_connections(void **state)
{
    static int fds[FLOOD];
    struct rlimit rl = {160, 160};
    struct tkmf k;
    json_t *r;
    int64_t cpu0, t0;

    (void)state;
    assert_true(tkmf_init(&k, "many"));
    assert_true(tkmf_start(&k));
    assert_int_equal(prlimit(k.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = half_hello(&k);
    }
    cpu0 = cpu_ms(k.pid);
    usleep(1500 * 1000);
    print_message("      KMF CPU with %d connections: %lld ms in 1500 ms\n",
                  FLOOD, (long long)(cpu_ms(k.pid) - cpu0));
    assert_true(cpu_ms(k.pid) - cpu0 < 500);
    t0 = mono_ms();
    r = tkmf_admin(&k, "status", NULL);
    assert_non_null(r);
    print_message("      the admin got through in %lld ms; %lld shed\n",
                  (long long)(mono_ms() - t0),
                  (long long)json_integer_value(json_object_get(
                      json_object_get(r, "tls"), "connections_shed")));
    assert_true(json_integer_value(json_object_get(json_object_get(r, "tls"),
                                                   "connections_shed")) > 0);
    json_decref(r);
    assert_true(mono_ms() - t0 < 3000);
    for (int i = 0; i < FLOOD; i++) {
        close(fds[i]);
    }
    tkmf_remove(&k);
}

/* ---- secrets ----------------------------------------------------------- */

/*
 * The daemon holds the master key, the CA's private key and, in passing,
 * every PGK and PMK: a core dump would carry them to wherever
 * core_pattern points (a file in its folder, or systemd-coredump's
 * store).  It did nothing to prevent one.
 */
static void test_no_core_dump(void **state)
{
    struct tkmf k;
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY}, was, got;

    (void)state;
    assert_true(tkmf_init(&k, "core"));
    /* even started with core dumps allowed */
    assert_int_equal(getrlimit(RLIMIT_CORE, &was), 0);
    if (was.rlim_max == RLIM_INFINITY) {
        assert_int_equal(setrlimit(RLIMIT_CORE, &rl), 0);
    }
    assert_true(tkmf_start(&k));
    assert_int_equal(setrlimit(RLIMIT_CORE, &was), 0);
    assert_int_equal(prlimit(k.pid, RLIMIT_CORE, NULL, &got), 0);
    assert_int_equal(got.rlim_cur, 0);
    assert_int_equal(got.rlim_max, 0);
    tkmf_remove(&k);
}

/* ---- where pushes go ------------------------------------------------------
 */

/* An IPv4 address of this host other than the loopback; false if none. */
static bool other_ipv4(char *out, size_t cap)
{
    struct ifaddrs *all = NULL;
    bool found = false;

    if (getifaddrs(&all) != 0) {
        return false;
    }
    for (struct ifaddrs *i = all; i != NULL && !found; i = i->ifa_next) {
        const struct sockaddr_in *a = (const void *)i->ifa_addr;

        if (a != NULL && a->sin_family == AF_INET &&
            (ntohl(a->sin_addr.s_addr) >> 24) != 127) {
            found = inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)cap);
        }
    }
    freeifaddrs(all);
    return found;
}

static prosec_err request_to(struct tdev *d, const char *mikey)
{
    return prosec_device_key_request(d->d, NULL, 0, mikey, 10000, NULL);
}

/*
 * The device names the address its pushes go to, and the KMF took any:
 * a multicast group (every host of the KMF's network), the unspecified
 * address (the KMF's own host), the loopback of the KMF's host (its local
 * UDP services, a resolver on 127.0.0.53:53) from a device anywhere.
 */
static void test_mikey_address(void **state)
{
    static const char *const bad[] = {
        "0.0.0.0:5304",      "0.1.2.3:5304",         "224.0.0.251:5353",
        "239.255.51.1:5303", "255.255.255.255:5304", "240.0.0.1:5304",
        "[::]:5304",         "[ff02::1]:5304",       "[::ffff:224.0.0.1]:5304",
    };
    struct tkmf k;
    struct tdev d;
    char line[96], ip[64], via[96], mikey[96];

    (void)state;
    assert_true(tkmf_init(&k, "maddr"));
    snprintf(line, sizeof(line),
             "listen = 0.0.0.0:%d\ndevice_requests_per_minute = 0\n", k.port);
    conf_add(&k, line);
    assert_true(tkmf_start(&k));
    assert_true(tdev_new(&d, &k, "m1"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prosec_err err = request_to(&d, bad[i]);

        if (err != PROSEC_ERR_DENIED) {
            print_message("      %s: %s\n", bad[i], prosec_err_name(err));
        }
        assert_int_equal(err, PROSEC_ERR_DENIED);
    }
    /* the loopback from the loopback: the tests' own case */
    assert_int_equal(request_to(&d, d.addr), PROSEC_OK);
    /* from another address: the loopback no, that address yes */
    if (other_ipv4(ip, sizeof(ip))) {
        snprintf(via, sizeof(via), "%s:%d", ip, k.port);
        assert_int_equal(prosec_device_via(d.d, via), PROSEC_OK);
        assert_int_equal(request_to(&d, d.addr), PROSEC_ERR_DENIED);
        snprintf(mikey, sizeof(mikey), "%s:5304", ip);
        assert_int_equal(request_to(&d, mikey), PROSEC_OK);
    } else {
        print_message("      no address but the loopback: part skipped\n");
    }
    tdev_free(&d);
    tkmf_remove(&k);
}

/* A UDP socket on the loopback that only counts what reaches it. */
static int udp_sink(char *addr, size_t cap)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(addr, cap, "127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* Datagrams reaching fd in ms milliseconds. */
static unsigned udp_count(int fd, int ms)
{
    int64_t end = mono_ms() + ms;
    unsigned n = 0;
    uint8_t b[2048];

    while (mono_ms() < end) {
        struct pollfd pf = {fd, POLLIN, 0};

        if (poll(&pf, 1, (int)(end - mono_ms())) == 1) {
            while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0) {
                n++;
            }
        }
    }
    return n;
}

static bool holds_all(struct tdev *d, size_t n, void *arg)
{
    (void)n;
    (void)arg;
    for (uint32_t g = 1; g <= 4; g++) {
        if (tdev_count(d, 0x00ee00 + g) != 9) {
            return false;
        }
    }
    return true;
}

/*
 * A member of 4 groups with 8 PGKs ahead has 36 deliveries: one key
 * request naming someone else's address sent all 36 there at once, and
 * again on each retry, for as long as the PGKs live (hours), answered or
 * not; flapping between two addresses re-sent all 36 per request.  Now
 * an address gets one delivery at a time until it has answered.
 */
static void test_reflection(void **state)
{
    struct tkmf k;
    struct tdev d;
    char victim[64];
    int vfd = udp_sink(victim, sizeof(victim));
    unsigned got;

    (void)state;
    assert_true(tkmf_init(&k, "reflect"));
    assert_true(tkmf_start(&k));
    assert_true(tdev_new(&d, &k, "r1"));
    for (int g = 1; g <= 4; g++) {
        char name[16];
        json_t *r;

        snprintf(name, sizeof(name), "g%d", g);
        r = tkmf_admin(&k, "group/create",
                       json_pack("{s:s, s:i, s:i, s:i}", "name", name,
                                 "group_id", 0x00ee00 + g, "lifetime", 3600,
                                 "ahead", 8));
        assert_non_null(r);
        json_decref(r);
        json_decref(
            tkmf_admin(&k, "group/add-member",
                       json_pack("{s:s, s:s}", "group", name, "device", "r1")));
    }
    assert_int_equal(request_to(&d, victim), PROSEC_OK);
    got = udp_count(vfd, 1500);
    print_message("      the victim got %u datagrams in 1.5 s\n", got);
    /* the probe and its retries (100, 200, 400, 800 ms): 36 each before */
    assert_true(got >= 1);
    assert_true(got <= 6);
    /* the device's own address answers: everything follows */
    assert_int_equal(request_to(&d, d.addr), PROSEC_OK);
    assert_true(tdev_wait(&d, 1, holds_all, NULL, 5000));
    close(vfd);
    tdev_free(&d);
    tkmf_remove(&k);
}

/* ---- pacing ---------------------------------------------------------------
 */

/* Audit rows of action at k. */
static size_t audit_count(const struct tkmf *k, const char *action)
{
    json_t *r = tkmf_admin(k, "audit", NULL), *a;
    size_t i, n = 0;

    json_array_foreach(r, i, a)
    {
        n += strcmp(json_string_value(json_object_get(a, "action")), action) ==
             0;
    }
    json_decref(r);
    return n;
}

/*
 * Each key request is a durable transaction and two audit rows (and a
 * new PMK when the device names another): 320 a second from one device
 * over one connection, for as long as it liked, filling the disk.  Now a
 * device gets a burst of 10, then 30 a minute (kmf.conf).
 */
static void test_request_pacing(void **state)
{
    struct tkmf k;
    struct tdev a, b;
    unsigned ok = 0, busy = 0;
    int64_t t0, refills;

    (void)state;
    assert_true(tkmf_init(&k, "pace"));
    assert_true(tkmf_start(&k));
    assert_true(tdev_new(&a, &k, "p1"));
    assert_true(tdev_new(&b, &k, "p2"));
    t0 = mono_ms();
    for (int i = 0; i < 25; i++) {
        prosec_err err = tdev_sync(&a);

        if (err == PROSEC_OK) {
            ok++;
        } else {
            assert_int_equal(err, PROSEC_ERR_DENIED);
            assert_non_null(strstr(prosec_error_detail(), "HTTP 429"));
            busy++;
        }
    }
    /* a token every 2 s on top of the burst (more under sanitizers) */
    refills = (mono_ms() - t0) / 2000 + 1;
    print_message("      25 requests: %u answered, %u refused\n", ok, busy);
    assert_true(ok >= 10 && ok <= 10 + refills);
    assert_true(busy > 0);
    assert_true(audit_count(&k, "key-request") <= 10 + (size_t)refills);
    /* another device is not held up by it */
    assert_int_equal(tdev_sync(&b), PROSEC_OK);
    /* and one a minute's thirtieth later, it may again */
    usleep(2100 * 1000);
    assert_int_equal(tdev_sync(&a), PROSEC_OK);
    tdev_free(&a);
    tdev_free(&b);
    tkmf_remove(&k);
}

/* ---- relay KD -------------------------------------------------------------
 */

/*
 * The KMF's side of TS 33.303 6.7: a relay gets the KD of a remote
 * device's PRUK ID, bound to the relay's freshness, and equal to what the
 * remote derives from its own PRUK; a device not added with --relay gets
 * none, nor does anyone for an unknown or revoked device; and a relay's
 * requests are paced on a budget of their own, which leaves its own key
 * requests alone.
 */
static void test_relay_kd(void **state)
{
    struct tkmf k;
    struct tdev r, b, c;
    uint8_t pruk[32], id[8], fresh[16], kd[32], want[32], other[8] = {0};
    char name[64] = "";
    unsigned found = 0, busy = 0;
    prosec_err err;

    (void)state;
    assert_true(tkmf_init(&k, "rkd"));
    assert_true(tkmf_start(&k));
    assert_true(tdev_new_relay(&r, &k, "relay", true));
    assert_true(tdev_new(&b, &k, "remote"));
    assert_true(tdev_new(&c, &k, "plain"));
    assert_true(prosec_device_pruk(b.d, pruk, id));
    memset(fresh, 0x5a, sizeof(fresh));
    assert_int_equal(
        prosec_device_kd_request(r.d, id, fresh, 10000, kd, name, sizeof(name)),
        PROSEC_OK);
    assert_string_equal(name, "remote");
    assert_int_equal(prosec_kd_derive(want, pruk, fresh), PROSEC_OK);
    assert_memory_equal(kd, want, sizeof(kd));
    /* another freshness, another KD */
    fresh[0] ^= 1;
    assert_int_equal(
        prosec_device_kd_request(r.d, id, fresh, 10000, kd, NULL, 0),
        PROSEC_OK);
    assert_memory_not_equal(kd, want, sizeof(kd));
    /* not a relay */
    assert_int_equal(
        prosec_device_kd_request(c.d, id, fresh, 10000, kd, NULL, 0),
        PROSEC_ERR_DENIED);
    assert_non_null(strstr(prosec_error_detail(), "not allowed to relay"));
    /* nobody's PRUK ID */
    assert_int_equal(
        prosec_device_kd_request(r.d, other, fresh, 10000, kd, NULL, 0),
        PROSEC_ERR_NOT_FOUND);
    /* a revoked device: revocation erased its PRUK and PRUK ID */
    json_decref(
        tkmf_admin(&k, "device/revoke", json_pack("{s:s}", "name", "remote")));
    err = prosec_device_kd_request(r.d, id, fresh, 10000, kd, NULL, 0);
    assert_int_equal(err, PROSEC_ERR_NOT_FOUND);
    assert_true(audit_count(&k, "relay-kd") >= 5);
    /* pacing: 10 times a device's burst, then refused */
    for (int i = 0; i < 130; i++) {
        err = prosec_device_kd_request(r.d, other, fresh, 10000, kd, NULL, 0);
        if (err == PROSEC_ERR_NOT_FOUND) {
            found++;
        } else {
            assert_int_equal(err, PROSEC_ERR_DENIED);
            assert_non_null(strstr(prosec_error_detail(), "HTTP 429"));
            busy++;
        }
    }
    print_message("      130 KD requests: %u answered, %u refused\n", found,
                  busy);
    assert_true(found >= 90 && found < 130);
    assert_true(busy > 0);
    /* the relay's own key requests have their own budget */
    assert_int_equal(tdev_sync(&r), PROSEC_OK);
    prosec_wipe(pruk, sizeof(pruk));
    prosec_wipe(kd, sizeof(kd));
    prosec_wipe(want, sizeof(want));
    tdev_free(&r);
    tdev_free(&b);
    tdev_free(&c);
    tkmf_remove(&k);
}

/* ---- the admin client --------------------------------------------------- */

/*
 * prosec_kmf_admin of a KMF that is not running: the detail passed
 * prosec_error_detail() to prosec__fail, which formats into that same
 * buffer, so the cause was lost ("... not running (...): the KMF of ...
 * not running (...): " instead of "...: 127.0.0.1:PORT: Couldn't ...").
 */
static void test_admin_not_running(void **state)
{
    struct tkmf k;
    char *resp = NULL, cause[64];
    const char *d, *p;

    (void)state;
    assert_true(tkmf_init(&k, "down"));
    assert_int_equal(prosec_kmf_admin(k.dir, "status", "{}", &resp),
                     PROSEC_ERR_UNREACHABLE);
    assert_null(resp);
    d = prosec_error_detail();
    print_message("      %s\n", d);
    p = strstr(d, "not running");
    assert_non_null(p);
    assert_null(strstr(p + 1, "not running"));
    /* the cause, from the HTTPS client, follows the hint */
    snprintf(cause, sizeof(cause), "): 127.0.0.1:%d", k.port);
    assert_non_null(strstr(d, cause));
    tkmf_remove(&k);
}

/* ---- admin requests: unknown fields, refusals audited ------------------- */

/* The last audit entry of action at k, or NULL (a new reference). */
static json_t *audit_last(const struct tkmf *k, const char *action)
{
    json_t *r = tkmf_admin(k, "audit", NULL), *a, *last = NULL;
    size_t i;

    json_array_foreach(r, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "action")), action) ==
            0) {
            last = a;
        }
    }
    json_incref(last);
    json_decref(r);
    return last;
}

/*
 * Fields the KMF did not know were ignored: a misspelt "lifetme" made a
 * group with the default lifetime of a day, and the admin was told it
 * had worked.  Now each operation names the fields it reads and refuses
 * any other, naming it.
 */
static void test_admin_unknown_field(void **state)
{
    struct tkmf k;
    json_t *r;

    (void)state;
    assert_true(tkmf_init(&k, "fields"));
    assert_true(tkmf_start(&k));
    assert_int_equal(
        tkmf_admin_err(&k, "group/create",
                       json_pack("{s:s, s:i, s:i}", "name", "g", "group_id",
                                 0x00ee01, "lifetme", 60)),
        PROSEC_ERR_ARG);
    assert_non_null(
        strstr(prosec_error_detail(), "group/create: unknown field 'lifetme'"));
    r = tkmf_admin(&k, "group/list", NULL);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    /* operations without fields too, and a name unfit for a log line */
    assert_int_equal(tkmf_admin_err(&k, "status", json_pack("{s:b}", "x", 1)),
                     PROSEC_ERR_ARG);
    assert_non_null(strstr(prosec_error_detail(), "unknown field 'x'"));
    assert_int_equal(
        tkmf_admin_err(&k, "device/list", json_pack("{s:i}", "a\nb\"c", 1)),
        PROSEC_ERR_ARG);
    assert_non_null(strstr(prosec_error_detail(), "unknown field 'a?b?c'"));
    /* the known ones still work */
    r = tkmf_admin(&k, "group/create",
                   json_pack("{s:s, s:i, s:i}", "name", "g", "group_id",
                             0x00ee01, "lifetime", 60));
    assert_non_null(r);
    json_decref(r);
    tkmf_remove(&k);
}

/*
 * A refused admin request left no trace: not in the log (the device
 * routes' refusals are logged), not in the audit.  Now each is audited
 * as admin-refused, with the operation and the refusal.
 */
static void test_admin_refusal_audited(void **state)
{
    struct tkmf k;
    json_t *a;

    (void)state;
    assert_true(tkmf_init(&k, "refusal"));
    assert_true(tkmf_start(&k));
    assert_int_equal(
        tkmf_admin_err(&k, "group/show", json_pack("{s:s}", "group", "nosuch")),
        PROSEC_ERR_NOT_FOUND);
    /* the caller gets the refusal's message, not the audit's */
    assert_string_equal(prosec_error_detail(), "no group 'nosuch'");
    a = audit_last(&k, "admin-refused");
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "actor")),
                        "admin");
    assert_string_equal(json_string_value(json_object_get(a, "target")),
                        "group/show");
    assert_string_equal(json_string_value(json_object_get(a, "detail")),
                        "PROSEC_ERR_NOT_FOUND: no group 'nosuch'");
    json_decref(a);
    assert_int_equal(tkmf_admin_err(&k, "frob", NULL), PROSEC_ERR_NOT_FOUND);
    a = audit_last(&k, "admin-refused");
    assert_string_equal(json_string_value(json_object_get(a, "target")),
                        "frob");
    json_decref(a);
    assert_int_equal(
        tkmf_admin_err(&k, "audit", json_pack("{s:i}", "since", -1)),
        PROSEC_ERR_ARG);
    a = audit_last(&k, "admin-refused");
    assert_string_equal(json_string_value(json_object_get(a, "target")),
                        "audit");
    json_decref(a);
    assert_int_equal(audit_count(&k, "admin-refused"), 3);
    tkmf_remove(&k);
}

/* ---- a key release of some groups --------------------------------------- */

struct rel {
    struct tdev d;
    struct prosec__https *h; /* the device's own credential */
};

/* Enrols name at k as tdev_new does, keeping its credential for h. */
static void rel_new(struct rel *r, const struct tkmf *k, const char *name)
{
    json_t *resp, *b;
    struct prosec_device_cred cred;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char *text, addr[32];

    memset(r, 0, sizeof(*r));
    snprintf(r->d.name, sizeof(r->d.name), "%s", name);
    r->d.answer = true;
    resp = tkmf_admin(k, "device/add", json_pack("{s:s}", "name", name));
    b = json_object_get(resp, "bundle");
    assert_non_null(b);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", k->port);
    assert_int_equal(
        prosec__https_new(&r->h, addr,
                          json_string_value(json_object_get(b, "cert")),
                          json_string_value(json_object_get(b, "key")),
                          json_string_value(json_object_get(b, "ca_cert"))),
        PROSEC_OK);
    text = json_dumps(b, JSON_COMPACT);
    json_decref(resp);
    assert_int_equal(prosec_device_cred_parse(text, strlen(text), &cred),
                     PROSEC_OK);
    prosec_wipe(text, strlen(text));
    free(text);
    assert_int_equal(prosec_device_new(&r->d.d, &cred, NULL), PROSEC_OK);
    prosec_device_cred_wipe(&cred);
    r->d.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(r->d.fd >= 0);
    assert_int_equal(bind(r->d.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(r->d.fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(r->d.addr, sizeof(r->d.addr), "127.0.0.1:%d", ntohs(a.sin_port));
}

static int rekey(const struct tkmf *k, const char *g)
{
    json_t *r = tkmf_admin(k, "group/rekey", json_pack("{s:s}", "group", g));
    int id;

    assert_non_null(r);
    id = (int)json_integer_value(json_object_get(r, "new_pgk_id"));
    json_decref(r);
    return id;
}

static const char *delivery_of(const struct tkmf *k, const char *g, char *out,
                               size_t cap)
{
    json_t *r = tkmf_admin(k, "group/show", json_pack("{s:s}", "group", g));
    json_t *m = json_array_get(json_object_get(r, "members"), 0);

    snprintf(out, cap, "%s", json_string_value(json_object_get(m, "delivery")));
    json_decref(r);
    return out;
}

static bool holds_pgk(struct tdev *d, size_t n, void *arg)
{
    const int *w = arg; /* group, pgk_id */

    (void)n;
    return tdev_holds(d, (uint32_t)w[0], (uint8_t)w[1]);
}

/*
 * docs/wire.md and keyreq.h: a key release of groups means "stop pushing
 * these".  The KMF only cancelled the deliveries pending at that moment:
 * the next rekey (or the scheduler's next PGK) was pushed to the device
 * as if it had never asked.  Now the release holds, per group, until the
 * device's next key request for that group.
 */
static void test_release_some_groups(void **state)
{
    struct tkmf k;
    struct rel r;
    char *resp = NULL, st[32];
    long status = 0;
    int w1[2] = {0x00ab01, 0}, w2[2] = {0x00ab02, 0};

    (void)state;
    assert_true(tkmf_init(&k, "release"));
    assert_true(tkmf_start(&k));
    rel_new(&r, &k, "rel1");
    for (int g = 1; g <= 2; g++) {
        char name[8];

        snprintf(name, sizeof(name), "g%d", g);
        json_decref(tkmf_admin(&k, "group/create",
                               json_pack("{s:s, s:i, s:i, s:i}", "name", name,
                                         "group_id", 0x00ab00 + g, "lifetime",
                                         3600, "ahead", 1)));
        json_decref(tkmf_admin(
            &k, "group/add-member",
            json_pack("{s:s, s:s}", "group", name, "device", "rel1")));
    }
    assert_int_equal(tdev_sync(&r.d), PROSEC_OK);
    w1[1] = 1;
    assert_true(tdev_wait(&r.d, 1, holds_pgk, w1, 5000));
    (void)tdev_pump(&r.d, 1, 300);
    assert_int_equal(tdev_count(&r.d, 0x00ab01), 2);
    assert_int_equal(tdev_count(&r.d, 0x00ab02), 2);

    /* release g1 only */
    assert_int_equal(
        prosec__https_post(r.h, "/v1/key-release",
                           "{\"message\":\"KEY_RELEASE\",\"version\":1,"
                           "\"transaction_id\":9,\"groups\":[\"00ab01\"]}",
                           10000, &resp, &status),
        PROSEC_OK);
    assert_int_equal(status, 200);
    prosec__free_wiped(resp, strlen(resp));
    assert_string_equal(delivery_of(&k, "g1", st, sizeof(st)), "released");
    assert_string_equal(delivery_of(&k, "g2", st, sizeof(st)), "up-to-date");

    /* new keys for both: only g2's reach the device */
    w1[1] = rekey(&k, "g1");
    w2[1] = rekey(&k, "g2");
    assert_true(tdev_wait(&r.d, 1, holds_pgk, w2, 5000));
    (void)tdev_pump(&r.d, 1, 1500);
    print_message("      g1: holds new PGK %d: %d; g2: %d\n", w1[1],
                  tdev_holds(&r.d, 0x00ab01, (uint8_t)w1[1]),
                  tdev_holds(&r.d, 0x00ab02, (uint8_t)w2[1]));
    assert_false(tdev_holds(&r.d, 0x00ab01, (uint8_t)w1[1]));
    assert_true(tdev_holds(&r.d, 0x00ab01, 1)); /* no revocation either */
    assert_string_equal(delivery_of(&k, "g1", st, sizeof(st)), "released");

    /* a key request for its groups ends the release */
    assert_int_equal(tdev_sync(&r.d), PROSEC_OK);
    assert_true(tdev_wait(&r.d, 1, holds_pgk, w1, 5000));
    assert_string_equal(delivery_of(&k, "g1", st, sizeof(st)), "up-to-date");
    prosec__https_free(r.h);
    tdev_free(&r.d);
    tkmf_remove(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_exhaustion),
        cmocka_unit_test(test_slow_handshake),
        cmocka_unit_test(test_many_connections),
        cmocka_unit_test(test_no_core_dump),
        cmocka_unit_test(test_mikey_address),
        cmocka_unit_test(test_reflection),
        cmocka_unit_test(test_request_pacing),
        cmocka_unit_test(test_relay_kd),
        cmocka_unit_test(test_admin_not_running),
        cmocka_unit_test(test_admin_unknown_field),
        cmocka_unit_test(test_admin_refusal_audited),
        cmocka_unit_test(test_release_some_groups),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
