/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMF under load, on loopback, with simulated devices that are the
 * real device code (struct prosec_device, each with its own UDP socket):
 *
 * 1. `group rekey` of a group of N members (default 1000): the time until
 *    every delivery (the new PGK and the old one's revocation, to each
 *    member) is answered, read from kmf.db beside the daemon; the KMF's CPU
 *    time over that span (from /proc/PID/schedstat, nanoseconds) per
 *    member; the octets on the wire per member, both ways;
 * 2. key requests per second over HTTPS from 16 clients at once, each a
 *    new TCP connection with TLS session resumption (a real key request
 *    of a real member, parsed and answered by the KMF).
 *
 * The baseline for scale is the issue's: MIKEY-SAKKE costs about 11 ms of
 * server CPU per member.  usage: bench_kmf [--members N] [--seconds S]
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/core/core.h"
#include "kmfutil.h"

enum { CLIENTS = 16, GID = 0x0be4c1 };

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of pid in nanoseconds (its threads together). */
static unsigned long long cpu_ns(pid_t pid)
{
    char p[64];
    unsigned long long ns = 0;
    FILE *f;

    snprintf(p, sizeof(p), "/proc/%ld/schedstat", (long)pid);
    f = fopen(p, "r");
    if (f != NULL) {
        if (fscanf(f, "%llu", &ns) != 1) {
            ns = 0;
        }
        fclose(f);
    }
    return ns;
}

static long pending(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    long n = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM deliveries WHERE state = "
                           "'pending'",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int(s, 0);
    }
    sqlite3_finalize(s);
    return n;
}

static json_int_t push_stat(const struct tkmf *k, const char *what)
{
    json_t *r = tkmf_admin(k, "status", NULL);
    json_int_t v =
        json_integer_value(json_object_get(json_object_get(r, "push"), what));

    json_decref(r);
    return v;
}

struct want {
    int id, gone;
};

static bool rekeyed(struct tdev *d, size_t n, void *arg)
{
    const struct want *w = arg;

    for (size_t i = 0; i < n; i++) {
        if (!tdev_holds(&d[i], GID, (uint8_t)w->id) ||
            tdev_holds(&d[i], GID, (uint8_t)w->gone)) {
            return false;
        }
    }
    return true;
}

static bool synced(struct tdev *d, size_t n, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        if (tdev_count(&d[i], GID) < 2) {
            return false;
        }
    }
    return true;
}

/* ---- key requests from CLIENTS threads ------------------------------------
 */

struct client {
    const struct tkmf *k;
    struct tdev *dev;
    double seconds;
    unsigned long ok, failed;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    const struct prosec_device_cred *cred = prosec_device_cred(c->dev->d);
    struct prosec_key_request r;
    struct prosec__https *h = NULL;
    char *text = NULL;
    double end;

    memset(&r, 0, sizeof(r));
    r.algorithms = 0x0F;
    r.n_groups = 1;
    (void)prosec__fmt(r.groups[0].name, sizeof(r.groups[0].name), "bench");
    (void)prosec__fmt(r.mikey_address, sizeof(r.mikey_address), "%s",
                      c->dev->addr);
    r.has_pmk_id = true;
    r.pmk_id = prosec_device_pmk_id(c->dev->d);
    if (prosec__https_new(&h, cred->kmf_address, cred->cert_pem, cred->key_pem,
                          cred->ca_pem) != PROSEC_OK ||
        prosec_key_request_encode(&r, &text) != PROSEC_OK) {
        c->failed++;
        prosec__https_free(h);
        return NULL;
    }
    /* a new connection each time; the TLS session is resumed */
    prosec__https_fresh(h, true);
    end = now_s() + c->seconds;
    while (now_s() < end) {
        char *body = NULL;
        long status = 0;

        if (prosec__https_post(h, "/v1/key-request", text, 10000, &body,
                               &status) == PROSEC_OK &&
            status == 200 && strstr(body, "KEY_RESPONSE") != NULL) {
            c->ok++;
        } else {
            c->failed++;
        }
        if (body != NULL) {
            prosec__free_wiped(body, strlen(body));
        }
    }
    prosec_key_json_free(text);
    prosec__https_free(h);
    return NULL;
}

int main(int argc, char **argv)
{
    static struct client cl[CLIENTS];
    pthread_t th[CLIENTS];
    struct tkmf k;
    struct tdev *d;
    size_t n = 1000;
    double seconds = 5, t0, t_dev, t_kmf, setup;
    unsigned long long c0, c1;
    json_int_t out0, in0, out1, in1;
    struct want w;
    sqlite3 *db;
    char path[400];
    json_t *r;
    unsigned long ok = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
            n = (size_t)atol(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_kmf [--members N] [--seconds S]\n");
            return 2;
        }
    }
    if (n < CLIENTS) {
        n = CLIENTS;
    }
    d = calloc(n, sizeof(*d));
    if (d == NULL || !tkmf_init(&k, "bench")) {
        return 1;
    }
    {
        /* the clients below ask as fast as they can: no pacing */
        char p[300];
        FILE *f;

        snprintf(p, sizeof(p), "%s/kmf.conf", k.dir);
        f = fopen(p, "a");
        if (f == NULL) {
            return 1;
        }
        fputs("device_requests_per_minute = 0\n", f);
        fclose(f);
    }
    if (!tkmf_start(&k)) {
        return 1;
    }
    setup = now_s();
    r = tkmf_admin(&k, "group/create",
                   json_pack("{s:s, s:i, s:i, s:i}", "name", "bench",
                             "group_id", GID, "ahead", 1, "lifetime", 86400));
    json_decref(r);
    for (size_t i = 0; i < n; i++) {
        char name[32];

        snprintf(name, sizeof(name), "sim-%04zu", i);
        if (!tdev_new(&d[i], &k, name)) {
            return 1;
        }
        json_decref(tkmf_admin(
            &k, "group/add-member",
            json_pack("{s:s, s:s}", "group", "bench", "device", name)));
    }
    for (size_t i = 0; i < n; i++) {
        if (tdev_sync(&d[i]) != PROSEC_OK) {
            fprintf(stderr, "bench_kmf: key request of %s: %s\n", d[i].name,
                    prosec_error_detail());
            return 1;
        }
    }
    if (!tdev_wait(d, n, synced, NULL, 60000)) {
        fprintf(stderr, "bench_kmf: the members did not get their keys\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/kmf.db", k.dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        return 1;
    }
    while (pending(db) != 0) {
        (void)tdev_pump(d, n, 50);
    }
    printf("prosec %s KMF benchmark, loopback, %zu members (set up in "
           "%.1f s)\n\n",
           prosec_version(), n, now_s() - setup);

    /* 1. rekey */
    out0 = push_stat(&k, "bytes_out");
    in0 = push_stat(&k, "bytes_in");
    r = tkmf_admin(&k, "group/show", json_pack("{s:s}", "group", "bench"));
    w.gone = (int)json_integer_value(json_object_get(
        json_array_get(json_object_get(r, "pgks"), 0), "pgk_id"));
    json_decref(r);
    c0 = cpu_ns(k.pid);
    t0 = now_s();
    r = tkmf_admin(&k, "group/rekey", json_pack("{s:s}", "group", "bench"));
    w.id = (int)json_integer_value(json_object_get(r, "new_pgk_id"));
    json_decref(r);
    if (!tdev_wait(d, n, rekeyed, &w, 60000)) {
        fprintf(stderr, "bench_kmf: the rekey did not reach every member\n");
        return 1;
    }
    t_dev = now_s() - t0;
    /* every answer back at the KMF (the devices keep answering) */
    while (pending(db) != 0 && now_s() - t0 < 60) {
        (void)tdev_pump(d, n, 5);
    }
    t_kmf = now_s() - t0;
    c1 = cpu_ns(k.pid);
    out1 = push_stat(&k, "bytes_out");
    in1 = push_stat(&k, "bytes_in");
    printf("rekey of %zu members (new PGK + revocation of the old, each "
           "answered):\n",
           n);
    printf("  every member holds the new PGK after   %8.3f s\n", t_dev);
    printf("  every answer back at the KMF after     %8.3f s  (target <= "
           "2 s for 1000) %s\n",
           t_kmf, t_kmf <= 2.0 * (double)n / 1000 ? "met" : "MISSED");
    printf("  KMF CPU per member                     %8.1f us (target <= "
           "100 us) %s\n",
           (double)(c1 - c0) / 1e3 / (double)n,
           (double)(c1 - c0) / 1e3 / (double)n <= 100 ? "met" : "MISSED");
    printf("  octets on the wire per member          %8.0f out, %.0f in "
           "(UDP payload)\n",
           (double)(out1 - out0) / (double)n, (double)(in1 - in0) / (double)n);
    printf("  (MIKEY-SAKKE: about 11000 us of server CPU per member)\n\n");
    sqlite3_close(db);

    /* 2. key requests */
    {
        json_t *s0 = tkmf_admin(&k, "status", NULL), *s1;
        json_int_t full0, res0, full1, res1;
        double t;

        full0 = json_integer_value(
            json_object_get(json_object_get(s0, "tls"), "full_handshakes"));
        res0 = json_integer_value(
            json_object_get(json_object_get(s0, "tls"), "resumed"));
        json_decref(s0);
        t = now_s();
        for (int i = 0; i < CLIENTS; i++) {
            cl[i] = (struct client){&k, &d[i], seconds, 0, 0};
            pthread_create(&th[i], NULL, client_run, &cl[i]);
        }
        for (int i = 0; i < CLIENTS; i++) {
            pthread_join(th[i], NULL);
            ok += cl[i].ok;
            failed += cl[i].failed;
        }
        t = now_s() - t;
        s1 = tkmf_admin(&k, "status", NULL);
        full1 = json_integer_value(
            json_object_get(json_object_get(s1, "tls"), "full_handshakes"));
        res1 = json_integer_value(
            json_object_get(json_object_get(s1, "tls"), "resumed"));
        json_decref(s1);
        printf("key requests, %d clients, a new connection each, TLS 1.3 "
               "session resumption:\n",
               CLIENTS);
        printf("  %8.0f requests/s (%lu answered, %lu failed in %.1f s) "
               "(target >= 300) %s\n",
               (double)ok / t, ok, failed, t,
               (double)ok / t >= 300 ? "met" : "MISSED");
        printf("  handshakes at the KMF: %lld resumed, %lld full\n",
               (long long)(res1 - res0), (long long)(full1 - full0));
    }

    for (size_t i = 0; i < n; i++) {
        tdev_free(&d[i]);
    }
    free(d);
    tkmf_remove(&k);
    return failed == 0 ? 0 : 1;
}
