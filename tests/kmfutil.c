/* SPDX-License-Identifier: Apache-2.0 */
/* See kmfutil.h. */
#include "kmfutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

bool tkmf_init(struct tkmf *k, const char *tag)
{
    struct prosec_kmf_init_opts o = {0};
    char listen[64], conf[300];
    FILE *f;

    memset(k, 0, sizeof(*k));
    snprintf(k->dir, sizeof(k->dir), "/tmp/prosec-test-%s-%ld-%ld", tag,
             (long)getpid(), (long)time(NULL));
    k->port = free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", k->port);
    o.listen = listen;
    if (k->port <= 0 || prosec_kmf_init(k->dir, &o) != PROSEC_OK) {
        fprintf(stderr, "tkmf_init: %s\n", prosec_error_detail());
        return false;
    }
    /* tests want quick retries and a quiet log */
    snprintf(conf, sizeof(conf), "%s/kmf.conf", k->dir);
    f = fopen(conf, "a");
    if (f == NULL) {
        return false;
    }
    fputs("retry_first_ms = 100\nretry_max_ms = 1000\nlog_level = warn\n", f);
    fclose(f);
    return true;
}

static void child_log(void *ctx, enum prosec_log_level l, const char *m)
{
    prosec_log_stderr(ctx, l, m);
}

bool tkmf_start(struct tkmf *k)
{
    int p[2];
    char line[200];
    ssize_t n = 0;
    pid_t pid;
    struct pollfd pf;

    if (pipe(p) != 0) {
        return false;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        return false;
    }
    if (pid == 0) {
        static char tag[] = "kmf";
        struct prosec_kmf_serve_opts o = {NULL, -1, p[1]};

        close(p[0]);
        /* a test that fails mid-way must not leave its KMF behind */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        prosec_log_set(child_log, tag, PROSEC_LOG_DEBUG);
        _exit(prosec_kmf_serve(k->dir, &o) == PROSEC_OK ? 0 : 1);
    }
    close(p[1]);
    pf.fd = p[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, 20000) == 1) {
        n = read(p[0], line, sizeof(line) - 1);
    }
    close(p[0]);
    if (n <= 0) {
        fprintf(stderr, "tkmf_start: the KMF did not start\n");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return false;
    }
    line[n] = '\0';
    k->pid = pid;
    if (sscanf(line, "ready %*s %63s", k->mikey) != 1) {
        k->mikey[0] = '\0';
    }
    return true;
}

void tkmf_stop(struct tkmf *k, int sig)
{
    if (k->pid > 0) {
        kill(k->pid, sig);
        waitpid(k->pid, NULL, 0);
        k->pid = 0;
    }
}

void tkmf_remove(struct tkmf *k)
{
    char cmd[300];

    tkmf_stop(k, SIGTERM);
    if (strncmp(k->dir, "/tmp/prosec-test-", 17) == 0 &&
        strchr(k->dir, '\'') == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", k->dir);
        }
    }
}

static json_t *call(const struct tkmf *k, const char *op, json_t *req,
                    prosec_err *err, bool quiet)
{
    char *text;
    char *resp = NULL;
    json_t *out = NULL;

    if (req == NULL) {
        req = json_object();
    }
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    *err = prosec_kmf_admin(k->dir, op, text, &resp);
    free(text);
    if (*err != PROSEC_OK) {
        if (!quiet) {
            fprintf(stderr, "admin %s: %s: %s\n", op, prosec_err_name(*err),
                    prosec_error_detail());
        }
        return NULL;
    }
    out = json_loads(resp, 0, NULL);
    prosec_kmf_free(resp);
    return out;
}

json_t *tkmf_admin(const struct tkmf *k, const char *op, json_t *req)
{
    prosec_err err;

    return call(k, op, req, &err, false);
}

prosec_err tkmf_admin_err(const struct tkmf *k, const char *op, json_t *req)
{
    prosec_err err;

    json_decref(call(k, op, req, &err, true));
    return err;
}

/* ---- devices ----------------------------------------------------------------
 */

static prosec_err save_pmk(void *ctx, uint32_t id, const uint8_t pmk[32])
{
    struct tdev *t = ctx;

    t->pmk_id = id;
    memcpy(t->pmk, pmk, 32);
    return PROSEC_OK;
}

bool tdev_new(struct tdev *t, const struct tkmf *k, const char *name)
{
    return tdev_new_relay(t, k, name, false);
}

bool tdev_new_relay(struct tdev *t, const struct tkmf *k, const char *name,
                    bool relay)
{
    struct prosec_device_hooks hooks = {.save_pmk = save_pmk, .ctx = t};
    struct prosec_device_cred cred;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    json_t *r, *b;
    char *text;
    prosec_err err;

    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->answer = true;
    snprintf(t->name, sizeof(t->name), "%s", name);
    r = tkmf_admin(k, "device/add",
                   json_pack("{s:s, s:b}", "name", name, "relay", relay));
    b = json_object_get(r, "bundle");
    text = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(r);
    if (text == NULL) {
        return false;
    }
    err = prosec_device_cred_parse(text, strlen(text), &cred);
    prosec_wipe(text, strlen(text));
    free(text);
    if (err == PROSEC_OK) {
        err = prosec_device_new(&t->d, &cred, &hooks);
        prosec_device_cred_wipe(&cred);
    }
    if (err != PROSEC_OK) {
        fprintf(stderr, "tdev_new %s: %s\n", name, prosec_error_detail());
        return false;
    }
    t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(t->fd, (struct sockaddr *)&a, &alen) != 0) {
        return false;
    }
    snprintf(t->addr, sizeof(t->addr), "127.0.0.1:%d", ntohs(a.sin_port));
    return true;
}

void tdev_free(struct tdev *t)
{
    prosec_device_free(t->d);
    if (t->fd >= 0) {
        close(t->fd);
    }
    prosec_wipe(t, sizeof(*t));
    t->fd = -1;
}

prosec_err tdev_sync(struct tdev *t)
{
    return prosec_device_key_request(t->d, NULL, 0, t->addr, 10000, NULL);
}

static void handle(struct tdev *t)
{
    uint8_t reply[1024];
    struct sockaddr_storage from;
    socklen_t flen = sizeof(from);
    enum prosec_device_push_result what;
    size_t rlen = 0;
    ssize_t n;
    prosec_err err;

    n = recvfrom(t->fd, t->raw, sizeof(t->raw), 0, (struct sockaddr *)&from,
                 &flen);
    if (n <= 0) {
        return;
    }
    t->raw_len = (size_t)n;
    err = prosec_device_mikey_input(t->d, t->raw, t->raw_len, time(NULL), reply,
                                    sizeof(reply), &rlen, &what, NULL, NULL);
    if (err != PROSEC_OK) {
        t->refused++;
        t->last_refusal = err;
        return;
    }
    if (what == PROSEC_DEVICE_PUSH_STORED) {
        t->pushes++;
    } else {
        t->revokes++;
        memcpy(t->revoke_raw, t->raw, t->raw_len);
        t->revoke_len = t->raw_len;
    }
    if (t->answer) {
        memcpy(t->sent, reply, rlen);
        t->sent_len = rlen;
        (void)sendto(t->fd, reply, rlen, 0, (struct sockaddr *)&from, flen);
    }
}

size_t tdev_pump(struct tdev *devs, size_t n, int ms)
{
    struct pollfd *pf = calloc(n, sizeof(*pf));
    size_t handled = 0;
    struct timespec t0, t1;

    if (pf == NULL) {
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
                     (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            pf[i].fd = devs[i].fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        r = poll(pf, (nfds_t)n, (int)left);
        if (r <= 0) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (pf[i].revents & POLLIN) {
                handle(&devs[i]);
                handled++;
            }
        }
    }
    free(pf);
    return handled;
}

bool tdev_holds(struct tdev *t, uint32_t group, uint8_t pgk_id)
{
    struct prosec_keyring *kr = prosec_device_keyring(t->d, group);

    return kr != NULL && prosec_keyring_holds(kr, pgk_id);
}

size_t tdev_count(struct tdev *t, uint32_t group)
{
    size_t c = 0;

    for (unsigned id = 0; id < 256; id++) {
        c += tdev_holds(t, group, (uint8_t)id);
    }
    return c;
}

bool tdev_wait(struct tdev *devs, size_t n,
               bool (*pred)(struct tdev *, size_t, void *), void *arg,
               int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (pred(devs, n, arg)) {
            return true;
        }
        (void)tdev_pump(devs, n, 50);
    }
    return pred(devs, n, arg);
}
