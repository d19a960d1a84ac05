/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prosec_kmf_init and prosec_kmf_serve: making a KMF's folder, and
 * running it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "kmf.h"

static bool path_in(char *out, size_t cap, const char *dir, const char *f)
{
    return prosec__fmt(out, cap, "%s/%s", dir, f);
}

/* ---- init ------------------------------------------------------------------
 */

static const char *const made_files[] = {
    "master.key", "ca.crt",   "ca.key", "server.crt", "server.key", "admin.crt",
    "admin.key",  "kmf.conf", "kmf.db", "kmf.db-wal", "kmf.db-shm"};

static void undo_init(const char *dir, bool made_dir)
{
    char p[4200];

    for (size_t i = 0; i < sizeof(made_files) / sizeof(made_files[0]); i++) {
        if (path_in(p, sizeof(p), dir, made_files[i])) {
            (void)unlink(p);
        }
    }
    if (made_dir) {
        (void)rmdir(dir);
    }
}

static prosec_err prepare_dir(const char *dir, bool *made)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    bool empty = true;

    *made = false;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0) {
            return prosec__fail(PROSEC_ERR_IO, "cannot make %s: %s", dir,
                                strerror(errno));
        }
        *made = true;
        return PROSEC_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        return prosec__fail(PROSEC_ERR_EXISTS,
                            "%s exists and is not a "
                            "folder",
                            dir);
    }
    d = opendir(dir);
    if (d == NULL) {
        return prosec__fail(PROSEC_ERR_IO, "cannot read %s: %s", dir,
                            strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
        }
    }
    closedir(d);
    if (!empty) {
        return prosec__fail(PROSEC_ERR_EXISTS,
                            "%s is not empty: is a KMF there already?", dir);
    }
    if (chmod(dir, 0700) != 0) {
        return prosec__fail(PROSEC_ERR_IO, "cannot chmod %s: %s", dir,
                            strerror(errno));
    }
    return PROSEC_OK;
}

static prosec_err write_in(const char *dir, const char *name, const void *data,
                           size_t n, mode_t mode)
{
    char p[4200];
    prosec_err err;

    if (!path_in(p, sizeof(p), dir, name)) {
        return prosec__fail(PROSEC_ERR_IO, "path too long");
    }
    err = prosec__file_write(p, data, n, mode, true);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "cannot write %s: %s", p, strerror(errno));
    }
    return PROSEC_OK;
}

/* The host part of "HOST:PORT" or "[V6]:PORT" into out. */
static bool host_of(char *out, size_t cap, const char *addr)
{
    const char *colon;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        return close != NULL &&
               prosec__fmt(out, cap, "%.*s", (int)(close - addr - 1), addr + 1);
    }
    colon = strrchr(addr, ':');
    return colon != NULL &&
           prosec__fmt(out, cap, "%.*s", (int)(colon - addr), addr);
}

static prosec_err init_files(const char *dir,
                             const struct prosec_kmf_init_opts *o,
                             struct kmf_conf *conf)
{
    uint8_t mk[KMF_MASTER_LEN];
    struct kmf_cert ca = {0}, srv = {0}, adm = {0};
    const char *hosts[40];
    char h1[80], h2[80], path[4200], *text = NULL;
    size_t nh = 0;
    struct kmf_store st;
    prosec_err err;

    err = prosec__random(mk, sizeof(mk));
    if (err == PROSEC_OK) {
        err = write_in(dir, "master.key", mk, sizeof(mk), 0600);
    }
    if (err == PROSEC_OK) {
        err = kmf_ca_create(conf->name, &ca);
    }
    hosts[nh++] = "localhost";
    hosts[nh++] = "127.0.0.1";
    hosts[nh++] = "::1";
    if (host_of(h1, sizeof(h1), conf->listen) && strcmp(h1, "0.0.0.0") &&
        strcmp(h1, "::")) {
        hosts[nh++] = h1;
    }
    if (host_of(h2, sizeof(h2), conf->address)) {
        hosts[nh++] = h2;
    }
    for (size_t i = 0; i < o->n_hosts && nh < 40; i++) {
        hosts[nh++] = o->hosts[i];
    }
    if (err == PROSEC_OK) {
        err = kmf_ca_issue(ca.pem, ca.key_pem, KMF_CERT_SERVER, conf->name,
                           NULL, hosts, nh, &srv);
    }
    if (err == PROSEC_OK) {
        err = kmf_ca_issue(ca.pem, ca.key_pem, KMF_CERT_ADMIN, "admin",
                           "urn:prosec:admin", NULL, 0, &adm);
    }
    if (err == PROSEC_OK) {
        err = write_in(dir, "ca.crt", ca.pem, strlen(ca.pem), 0644);
    }
    if (err == PROSEC_OK) {
        err = write_in(dir, "ca.key", ca.key_pem, strlen(ca.key_pem), 0600);
    }
    if (err == PROSEC_OK) {
        err = write_in(dir, "server.crt", srv.pem, strlen(srv.pem), 0644);
    }
    if (err == PROSEC_OK) {
        err =
            write_in(dir, "server.key", srv.key_pem, strlen(srv.key_pem), 0600);
    }
    if (err == PROSEC_OK) {
        err = write_in(dir, "admin.crt", adm.pem, strlen(adm.pem), 0600);
    }
    if (err == PROSEC_OK) {
        err =
            write_in(dir, "admin.key", adm.key_pem, strlen(adm.key_pem), 0600);
    }
    text = err == PROSEC_OK ? kmf_conf_format(conf) : NULL;
    if (err == PROSEC_OK && text == NULL) {
        err = PROSEC_ERR_NOMEM;
    }
    if (err == PROSEC_OK) {
        err = write_in(dir, "kmf.conf", text, strlen(text), 0600);
    }
    if (err == PROSEC_OK && path_in(path, sizeof(path), dir, "kmf.db")) {
        err = kmf_store_open(&st, path, mk);
        if (err == PROSEC_OK) {
            err = kmf_begin(&st);
            if (err == PROSEC_OK) {
                err = kmf_meta_set(&st, "admin_serial", adm.serial);
            }
            if (err == PROSEC_OK) {
                err = kmf_meta_set(&st, "ca_serial", ca.serial);
            }
            if (err == PROSEC_OK) {
                err = kmf_audit(&st, "init", "kmf-init", conf->name,
                                conf->listen);
            }
            if (err == PROSEC_OK) {
                err = kmf_commit(&st);
            } else {
                kmf_rollback(&st);
            }
            kmf_store_close(&st);
        }
    }
    free(text);
    kmf_cert_free(&ca);
    kmf_cert_free(&srv);
    kmf_cert_free(&adm);
    prosec_wipe(mk, sizeof(mk));
    return err;
}

prosec_err prosec_kmf_init(const char *dir,
                           const struct prosec_kmf_init_opts *opts)
{
    static const struct prosec_kmf_init_opts none = {0};
    const struct prosec_kmf_init_opts *o = opts != NULL ? opts : &none;
    struct kmf_conf conf;
    struct sockaddr_storage ss;
    unsigned sl;
    bool made = false;
    prosec_err err;

    prosec__detail_clear();
    if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4000) {
        return prosec__fail(PROSEC_ERR_ARG, "no folder given");
    }
    kmf_conf_default(&conf);
    if (o->name != NULL &&
        (!kmf_name_ok(o->name) ||
         !prosec__fmt(conf.name, sizeof(conf.name), "%s", o->name))) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "--name '%.64s': 1 to 64 letters, digits, '-', "
                            "'_' or '.'",
                            o->name);
    }
    if (o->listen != NULL) {
        if (!prosec__parse_addr(o->listen, false, &ss, &sl)) {
            return prosec__fail(PROSEC_ERR_ARG,
                                "--listen '%.64s' is not a numeric "
                                "ADDR:PORT",
                                o->listen);
        }
        (void)prosec__fmt(conf.listen, sizeof(conf.listen), "%s", o->listen);
        (void)prosec__fmt(conf.address, sizeof(conf.address), "%s", o->listen);
    }
    if (o->address != NULL &&
        (strchr(o->address, ':') == NULL ||
         !prosec__fmt(conf.address, sizeof(conf.address), "%s", o->address))) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "--address '%.64s' is not HOST:PORT", o->address);
    }
    err = prepare_dir(dir, &made);
    if (err != PROSEC_OK) {
        return err;
    }
    err = init_files(dir, o, &conf);
    if (err != PROSEC_OK) {
        char keep[PROSEC__LOG_MAX];

        (void)prosec__fmt(keep, sizeof(keep), "%s", prosec_error_detail());
        undo_init(dir, made);
        return prosec__fail(err, "%s", keep[0] ? keep : prosec_strerror(err));
    }
    return PROSEC_OK;
}

/* ---- serve ------------------------------------------------------------------
 */

static prosec_err read_text(const char *dir, const char *name, bool secret,
                            char **out)
{
    char p[4200];
    uint8_t *buf = NULL;
    size_t n = 0;
    prosec_err err;

    if (!path_in(p, sizeof(p), dir, name)) {
        return PROSEC_ERR_IO;
    }
    err = prosec__file_read(p, 1 << 20, secret, &buf, &n);
    if (err == PROSEC_ERR_PERM) {
        return prosec__fail(err, "%s must be mode 0600 and ours", p);
    }
    if (err != PROSEC_OK) {
        return prosec__fail(err, "cannot read %s", p);
    }
    *out = (char *)buf;
    return PROSEC_OK;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)kmf_schedule(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct kmf *k = arg;

    (void)what;
    prosec__info("signal %d: shutting down", (int)sig);
    k->stopping = true;
    event_base_loopexit(k->base, NULL);
}

static prosec_err load(struct kmf *k, const char *dir)
{
    char *conf = NULL, p[4200], *serial;
    uint8_t *mk = NULL;
    size_t mk_len = 0;
    prosec_err err;

    err = prosec__dir_check(dir, true);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "%s: %s", dir,
                            err == PROSEC_ERR_PERM
                                ? "must be a folder of ours, mode 0700"
                                : "not a KMF folder (prosec kmf init?)");
    }
    (void)prosec__fmt(k->dir, sizeof(k->dir), "%s", dir);
    err = read_text(dir, "kmf.conf", false, &conf);
    if (err == PROSEC_OK) {
        err = kmf_conf_parse(&k->conf, conf, strlen(conf));
    }
    free(conf);
    if (err != PROSEC_OK) {
        return err;
    }
    (void)path_in(p, sizeof(p), dir, "master.key");
    err = prosec__file_read(p, 64, true, &mk, &mk_len);
    if (err == PROSEC_OK && mk_len != KMF_MASTER_LEN) {
        prosec__free_wiped(mk, mk_len + 1);
        err = PROSEC_ERR_CONFIG;
    }
    if (err != PROSEC_OK) {
        return prosec__fail(err, "%s: %s", p,
                            err == PROSEC_ERR_PERM
                                ? "must be mode 0600 and ours"
                                : "missing, or not a 32-octet key");
    }
    (void)path_in(p, sizeof(p), dir, "kmf.db");
    err = kmf_store_open(&k->st, p, mk);
    prosec__free_wiped(mk, KMF_MASTER_LEN + 1);
    if (err == PROSEC_OK) {
        err = read_text(dir, "ca.crt", false, &k->ca_pem);
    }
    if (err == PROSEC_OK) {
        err = read_text(dir, "ca.key", true, &k->ca_key_pem);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    serial = kmf_meta_get(&k->st, "admin_serial");
    if (serial == NULL) {
        return prosec__fail(PROSEC_ERR_DB, "kmf.db has no admin credential");
    }
    (void)prosec__fmt(k->admin_serial, sizeof(k->admin_serial), "%s", serial);
    free(serial);
    (void)prosec__fmt(k->uri, sizeof(k->uri), "urn:prosec:kmf:%s",
                      k->conf.name);
    return PROSEC_OK;
}

static void unload(struct kmf *k)
{
    kmf_push_stop(k);
    kmf_http_stop(k);
    for (size_t i = 0; i < 2; i++) {
        if (k->sig_ev[i] != NULL) {
            event_free(k->sig_ev[i]);
        }
    }
    if (k->tick_ev != NULL) {
        event_free(k->tick_ev);
    }
    if (k->base != NULL) {
        event_base_free(k->base);
    }
    kmf_store_close(&k->st);
    free(k->paces.v);
    free(k->ca_pem);
    if (k->ca_key_pem != NULL) {
        prosec__free_wiped(k->ca_key_pem, strlen(k->ca_key_pem));
    }
    prosec_wipe(k, sizeof(*k));
}

/* Descriptors up to the hard limit (at most 65536): each HTTPS client
 * holds one, and the soft limit is often 1024. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = 65536;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        want = rl.rlim_max;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            prosec__warn("cannot raise the descriptor limit: %s",
                         strerror(errno));
        }
    }
}

/*
 * No core dump and no ptrace by our own uid: the process holds the
 * master key and the CA's key, and every PGK and PMK passes through it.
 * RLIMIT_CORE 0 alone does not stop a core_pattern pipe
 * (systemd-coredump); a process that is not dumpable dumps nowhere.
 */
static void no_core_dumps(void)
{
    struct rlimit none = {0, 0};

    if (setrlimit(RLIMIT_CORE, &none) != 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        prosec__warn("cannot disable core dumps: %s", strerror(errno));
    }
}

/* One daemon per folder: two would run two schedulers on one store. */
static prosec_err lock_dir(const char *dir, int *fd_out)
{
    char path[4096];
    int fd;

    if (!prosec__fmt(path, sizeof(path), "%s/serve.lock", dir)) {
        return prosec__fail(PROSEC_ERR_ARG, "folder name too long");
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return prosec__fail(PROSEC_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        close(fd);
        if (e == EWOULDBLOCK) {
            return prosec__fail(PROSEC_ERR_BUSY,
                                "another prosec kmf serve is running on %s",
                                dir);
        }
        return prosec__fail(PROSEC_ERR_IO, "%s: cannot lock: %s", dir,
                            strerror(e));
    }
    *fd_out = fd;
    return PROSEC_OK;
}

prosec_err prosec_kmf_serve(const char *dir,
                            const struct prosec_kmf_serve_opts *opts)
{
    struct kmf *k = calloc(1, sizeof(*k));
    struct timeval second = {1, 0};
    char bound[64] = "?", mikey[64] = "?";
    int lock_fd = -1;
    prosec_err err;

    prosec__detail_clear();
    if (k == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    k->udp_fd = -1;
    no_core_dumps(); /* before the first key is read */
    signal(SIGPIPE, SIG_IGN);
    if (prosec_key_json_harden() != PROSEC_OK) {
        prosec__warn("jansson: an allocator of the application is in "
                     "place; JSON copies of keys are not wiped");
    }
    err = dir != NULL ? lock_dir(dir, &lock_fd)
                      : prosec__fail(PROSEC_ERR_ARG, "no folder given");
    if (err == PROSEC_OK) {
        err = load(k, dir);
    }
    if (err != PROSEC_OK) {
        goto out;
    }
    prosec__log_set_level(opts != NULL && opts->log_level >= 0
                              ? (enum prosec_log_level)opts->log_level
                              : k->conf.log_level);
    raise_fd_limit();
    k->base = event_base_new();
    if (k->base == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    k->sig_ev[0] = evsignal_new(k->base, SIGTERM, on_signal, k);
    k->sig_ev[1] = evsignal_new(k->base, SIGINT, on_signal, k);
    k->tick_ev = event_new(k->base, -1, EV_PERSIST, on_tick, k);
    if (k->sig_ev[0] == NULL || k->sig_ev[1] == NULL || k->tick_ev == NULL ||
        event_add(k->sig_ev[0], NULL) != 0 ||
        event_add(k->sig_ev[1], NULL) != 0 ||
        event_add(k->tick_ev, &second) != 0) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    err = kmf_http_start(
        k, opts != NULL && opts->listen != NULL ? opts->listen : k->conf.listen,
        bound, sizeof(bound));
    if (err == PROSEC_OK) {
        err = kmf_push_start(k);
    }
    if (err != PROSEC_OK) {
        goto out;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        if (getsockname(k->udp_fd, (struct sockaddr *)&ss, &sl) == 0) {
            prosec__format_addr(mikey, sizeof(mikey), &ss);
        }
    }
    (void)kmf_schedule(k);
    prosec__info("serving %s: HTTPS on %s, MIKEY from %s", k->uri, bound,
                 mikey);
    if (opts != NULL && opts->ready_fd >= 0) {
        char line[160];

        (void)prosec__fmt(line, sizeof(line), "ready %s %s\n", bound, mikey);
        if (write(opts->ready_fd, line, strlen(line)) < 0) {
            prosec__warn("cannot write the ready line: %s", strerror(errno));
        }
        close(opts->ready_fd);
    }
    event_base_dispatch(k->base);
    prosec__info("stopped");

out:
    if (err != PROSEC_OK) {
        char keep[PROSEC__LOG_MAX];

        (void)prosec__fmt(keep, sizeof(keep), "%s", prosec_error_detail());
        unload(k);
        free(k);
        if (lock_fd >= 0) {
            close(lock_fd);
        }
        return prosec__fail(err, "%s", keep[0] ? keep : prosec_strerror(err));
    }
    unload(k);
    free(k);
    close(lock_fd);
    return PROSEC_OK;
}
