/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `prosec device`: enrol a device, run its agent, and talk to the agent
 * (status, send, listen).  The syntax is fixed (it is used from outside);
 * see docs/prosec.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmd.h"
#include "prosec/prosec.h"

static const char usage[] =
    "usage: prosec device COMMAND [OPTIONS]\n"
    "\n"
    "  enroll --bundle FILE --store PATH (--passphrase-file F | --key-file F)\n"
    "        seal the bundle from `prosec kmf device add` into a keystore\n"
    "  agent  --store PATH (--passphrase-file F | --key-file F)\n"
    "         [--pc5 ADDR:PORT] [--iface IF] [--mikey ADDR:PORT]\n"
    "         [--control SOCKET] [--log-level LEVEL] [--skew SECONDS]\n"
    "         [--sync-interval SECONDS] [--mikey-advertise ADDR:PORT]\n"
    "         [--relay auto|off|IP:PORT] [--ready-fd FD]\n"
    "        run the device's daemon in the foreground; without a path to\n"
    "        the KMF (--relay auto, the default) it uses a relay it hears\n"
    "        announced on the PC5 channel\n"
    "  status --control SOCKET [--json]\n"
    "  send   --control SOCKET --group NAME|HEX6 [FILE|-]\n"
    "  listen --control SOCKET --group NAME|HEX6 [--out FILE] [--count N]\n"
    "         [--timeout SECONDS] [--json]\n"
    "\n"
    "--pc5 defaults to " PROSEC_PC5_DEFAULT ", --control to PATH.sock.\n"
    "A passphrase file holds the passphrase (a final newline is dropped); a\n"
    "key file holds exactly 32 octets; both must be mode 0600.  Exit\n"
    "status: 0 done, 1 failed (the message says why), 2 bad arguments.\n";

enum {
    O_BUNDLE,
    O_STORE,
    O_PASS,
    O_KEYF,
    O_PC5,
    O_IFACE,
    O_MIKEY,
    O_CONTROL,
    O_LOG,
    O_JSON,
    O_GROUP,
    O_OUT,
    O_COUNT,
    O_TIMEOUT,
    O_READY,
    O_SYNCS,
    O_SKEW,
    O_ADVERT,
    O_RELAY,
    O_LISTEN,
    O_UPSTREAM,
    O_GPC5,
    O_GIFACE,
    O_N
};

static const struct cli_opt opts[O_N] = {
    [O_BUNDLE] = {"bundle", false, false, false},
    [O_STORE] = {"store", false, false, false},
    [O_PASS] = {"passphrase-file", false, false, false},
    [O_KEYF] = {"key-file", false, false, false},
    [O_PC5] = {"pc5", false, false, false},
    [O_IFACE] = {"iface", false, false, false},
    [O_MIKEY] = {"mikey", false, false, false},
    [O_CONTROL] = {"control", false, false, false},
    [O_LOG] = {"log-level", false, false, false},
    [O_JSON] = {"json", false, false, true},
    [O_GROUP] = {"group", false, false, false},
    [O_OUT] = {"out", false, false, false},
    [O_COUNT] = {"count", false, false, false},
    [O_TIMEOUT] = {"timeout", false, false, false},
    [O_READY] = {"ready-fd", false, false, false},
    [O_SYNCS] = {"sync-interval", false, false, false},
    [O_SKEW] = {"skew", false, false, false},
    [O_ADVERT] = {"mikey-advertise", false, false, false},
    [O_RELAY] = {"relay", false, false, false},
    [O_LISTEN] = {"listen", false, false, false},
    [O_UPSTREAM] = {"upstream", false, false, false},
    [O_GPC5] = {"group-pc5", false, false, false},
    [O_GIFACE] = {"group-iface", false, false, false},
};

#define BIT(o) (1ul << (o))

/* ---- sealing
 * ----------------------------------------------------------------- */

struct secret {
    uint8_t *buf;
    size_t len;
};

/* The seal from --passphrase-file or --key-file; pass holds the bytes. */
static int get_seal(const struct cli *c, const struct cli_val *v,
                    struct prosec_seal *seal, struct secret *pass)
{
    struct stat st;
    int fd;
    ssize_t n;

    memset(seal, 0, sizeof(*seal));
    if ((v[O_PASS].n > 0) == (v[O_KEYF].n > 0)) {
        return cli_usage_error(c, "give one of --passphrase-file F or "
                                  "--key-file F");
    }
    if (v[O_KEYF].n > 0) {
        seal->kind = PROSEC_SEAL_KEY_FILE;
        seal->key_file = v[O_KEYF].v[0];
        return CLI_OK;
    }
    fd = open(v[O_PASS].v[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return cli_usage_error(c, "--passphrase-file: cannot read %.200s: %s",
                               v[O_PASS].v[0], strerror(errno));
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return cli_usage_error(c,
                               "--passphrase-file: %.200s is readable by "
                               "others (chmod 600 it)",
                               v[O_PASS].v[0]);
    }
    pass->buf = malloc(PROSEC_KS_PASSPHRASE_MAX + 2);
    n = pass->buf != NULL ? read(fd, pass->buf, PROSEC_KS_PASSPHRASE_MAX + 1)
                          : -1;
    close(fd);
    if (n <= 0 || n > PROSEC_KS_PASSPHRASE_MAX) {
        return cli_usage_error(c,
                               "--passphrase-file: %.200s must hold 1 to %d "
                               "octets",
                               v[O_PASS].v[0], PROSEC_KS_PASSPHRASE_MAX);
    }
    pass->len = (size_t)n;
    if (pass->buf[pass->len - 1] == '\n') {
        pass->len--;
    }
    if (pass->len == 0) {
        return cli_usage_error(c, "--passphrase-file: the passphrase is "
                                  "empty");
    }
    seal->kind = PROSEC_SEAL_PASSPHRASE;
    seal->passphrase = pass->buf;
    seal->passphrase_len = pass->len;
    return CLI_OK;
}

static void secret_wipe(struct secret *s)
{
    if (s->buf != NULL) {
        prosec_wipe(s->buf, PROSEC_KS_PASSPHRASE_MAX + 2);
        free(s->buf);
    }
    s->buf = NULL;
}

static int fail_detail(const struct cli *c, prosec_err err)
{
    const char *d = prosec_error_detail();

    return cli_fail(c, "%s", d[0] != '\0' ? d : prosec_strerror(err));
}

/* ---- enroll and agent
 * -------------------------------------------------------- */

static int run_enroll(const struct cli *c, const struct cli_val *v)
{
    struct prosec_seal seal;
    struct secret pass = {NULL, 0};
    char name[80];
    int rc;
    prosec_err err;

    if (v[O_BUNDLE].n == 0 || v[O_STORE].n == 0) {
        return cli_usage_error(c, "missing option --%s",
                               v[O_BUNDLE].n == 0 ? "bundle FILE"
                                                  : "store PATH");
    }
    rc = get_seal(c, v, &seal, &pass);
    if (rc != CLI_OK) {
        secret_wipe(&pass);
        return rc;
    }
    err = prosec_device_enroll(v[O_BUNDLE].v[0], v[O_STORE].v[0], &seal, name,
                               sizeof(name));
    secret_wipe(&pass);
    if (err != PROSEC_OK) {
        return fail_detail(c, err);
    }
    fprintf(c->out,
            "device '%s' enrolled into %s (sealed; the bundle can be "
            "deleted now)\n",
            name, v[O_STORE].v[0]);
    return CLI_OK;
}

static int run_agent(const struct cli *c, const struct cli_val *v, bool relay)
{
    struct prosec_agent_opts o;
    struct secret pass = {NULL, 0};
    enum prosec_log_level lvl = PROSEC_LOG_INFO;
    unsigned long long x;
    static char tag[] = "agent";
    int rc;
    prosec_err err;

    memset(&o, 0, sizeof(o));
    o.ready_fd = -1;
    o.log_level = -1;
    o.skew = -1;
    if (v[O_STORE].n == 0) {
        return cli_usage_error(c, "missing option --store PATH");
    }
    if (v[O_LOG].n > 0) {
        if (prosec_log_level_parse(v[O_LOG].v[0], &lvl) != 0) {
            return cli_usage_error(c,
                                   "--log-level: '%.20s' is not error, warn, "
                                   "info or debug",
                                   v[O_LOG].v[0]);
        }
        o.log_level = (int)lvl;
    }
    if (v[O_READY].n > 0) {
        if (!cli_dec(c, "ready-fd", v[O_READY].v[0], 3, 1023, &x)) {
            return CLI_USAGE;
        }
        o.ready_fd = (int)x;
    }
    if (v[O_SYNCS].n > 0) {
        if (!cli_dec(c, "sync-interval", v[O_SYNCS].v[0], 1, 86400, &x)) {
            return CLI_USAGE;
        }
        o.sync_interval = (unsigned)x;
    }
    if (v[O_SKEW].n > 0) {
        if (!cli_dec(c, "skew", v[O_SKEW].v[0], 0, 3600, &x)) {
            return CLI_USAGE;
        }
        o.skew = (int)x;
    }
    rc = get_seal(c, v, &o.seal, &pass);
    if (rc != CLI_OK) {
        secret_wipe(&pass);
        return rc;
    }
    o.store = v[O_STORE].v[0];
    o.pc5 = v[O_PC5].n ? v[O_PC5].v[0] : NULL;
    o.iface = v[O_IFACE].n ? v[O_IFACE].v[0] : NULL;
    o.relay = v[O_RELAY].n ? v[O_RELAY].v[0] : NULL;
    if (relay) {
        /* --pc5/--iface face the remote devices; --group-pc5/--group-iface
         * are the in-coverage channel bridged with it */
        o.relay_listen = v[O_LISTEN].n ? v[O_LISTEN].v[0] : "0.0.0.0:5304";
        o.upstream = v[O_UPSTREAM].n ? v[O_UPSTREAM].v[0] : NULL;
        if (v[O_GPC5].n > 0) {
            o.relay_pc5 = o.pc5 != NULL ? o.pc5 : PROSEC_PC5_DEFAULT;
            if (strcmp(o.relay_pc5, v[O_GPC5].v[0]) == 0 &&
                (v[O_GIFACE].n == 0) == (o.iface == NULL) &&
                (o.iface == NULL || strcmp(o.iface, v[O_GIFACE].v[0]) == 0)) {
                return cli_usage_error(c, "--group-pc5 is the same channel "
                                          "as --pc5: nothing to bridge");
            }
            o.relay_iface = o.iface;
            o.pc5 = v[O_GPC5].v[0];
            o.iface = v[O_GIFACE].n ? v[O_GIFACE].v[0] : NULL;
        } else if (v[O_GIFACE].n > 0) {
            return cli_usage_error(c, "--group-iface needs --group-pc5");
        }
    }
    o.mikey = v[O_MIKEY].n ? v[O_MIKEY].v[0] : NULL;
    o.mikey_advertise = v[O_ADVERT].n ? v[O_ADVERT].v[0] : NULL;
    o.control = v[O_CONTROL].n ? v[O_CONTROL].v[0] : NULL;
    prosec_log_set(prosec_log_stderr, tag, PROSEC_LOG_DEBUG);
    err = prosec_agent_run(&o);
    prosec_log_set(NULL, NULL, PROSEC_LOG_INFO);
    secret_wipe(&pass);
    return err == PROSEC_OK ? CLI_OK : fail_detail(c, err);
}

/* ---- clients of the agent
 * ---------------------------------------------------- */

static int connect_agent(const struct cli *c, const struct cli_val *v,
                         struct prosec_ctl **ctl)
{
    prosec_err err;

    if (v[O_CONTROL].n == 0) {
        return cli_usage_error(c, "missing option --control SOCKET");
    }
    err = prosec_ctl_connect(ctl, v[O_CONTROL].v[0]);
    return err == PROSEC_OK ? CLI_OK : fail_detail(c, err);
}

/* One request, one answer (NULL payload answer ignored). */
static int ask(const struct cli *c, struct prosec_ctl *ctl, json_t *req,
               const void *payload, size_t len, int timeout_ms, json_t **out)
{
    char *text = json_dumps(req, JSON_COMPACT), *ans = NULL;
    uint8_t *pl = NULL;
    size_t pll = 0;
    prosec_err err;

    json_decref(req);
    err = text != NULL ? prosec_ctl_send(ctl, text, payload, len)
                       : PROSEC_ERR_NOMEM;
    free(text);
    if (err == PROSEC_OK) {
        err = prosec_ctl_recv(ctl, timeout_ms, &ans, &pl, &pll);
    }
    prosec_ctl_free(pl);
    if (err != PROSEC_OK) {
        return fail_detail(c, err);
    }
    *out = json_loads(ans, 0, NULL);
    prosec_ctl_free(ans);
    if (*out == NULL) {
        return cli_fail(c, "the agent's answer is not JSON");
    }
    if (json_object_get(*out, "error") != NULL) {
        int rc = cli_fail(c, "%s",
                          json_string_value(json_object_get(*out, "message")));

        json_decref(*out);
        *out = NULL;
        return rc;
    }
    return CLI_OK;
}

static void fmt_time(char *out, size_t cap, json_int_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld", (long long)t);
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static int run_status(const struct cli *c, const struct cli_val *v)
{
    struct prosec_ctl *ctl = NULL;
    json_t *s = NULL, *g, *p;
    size_t i, k;
    int rc = connect_agent(c, v, &ctl);

    if (rc == CLI_OK) {
        rc =
            ask(c, ctl, json_pack("{s:s}", "op", "status"), NULL, 0, 10000, &s);
    }
    prosec_ctl_close(ctl);
    if (rc != CLI_OK) {
        return rc;
    }
    json_object_del(s, "result");
    if (v[O_JSON].n > 0) {
        char *t = json_dumps(s, JSON_INDENT(2) | JSON_SORT_KEYS);

        fprintf(c->out, "%s\n", t != NULL ? t : "{}");
        free(t);
        json_decref(s);
        return CLI_OK;
    }
    {
        json_t *kmf = json_object_get(s, "kmf");

        fprintf(c->out, "device %s (%s)\nKMF %s: %s%s%s\n", str(s, "device"),
                str(s, "uri"), str(kmf, "address"),
                json_is_true(json_object_get(kmf, "reachable"))
                    ? "reachable"
                    : "not reachable",
                str(kmf, "error")[0] ? ": " : "", str(kmf, "error"));
    }
    json_array_foreach(json_object_get(s, "groups"), i, g)
    {
        fprintf(
            c->out,
            "\ngroup %s (Group ID %s): Group Member ID %s, EEA%lld, %s; "
            "frames accepted %lld, sent %lld\n",
            str(g, "name")[0] ? str(g, "name") : "?", str(g, "group_id"),
            str(g, "member_id"),
            (long long)json_integer_value(json_object_get(g, "alg")),
            str(g, "profile"),
            (long long)json_integer_value(json_object_get(g, "accepted")),
            (long long)json_integer_value(json_object_get(g, "sent_frames")));
        fprintf(c->out, "  %-6s %-5s %-20s %-20s %s\n", "PGK ID", "INDEX",
                "ACTIVATION", "EXPIRY", "STATE");
        json_array_foreach(json_object_get(g, "pgks"), k, p)
        {
            char a[32], e[32];

            fmt_time(a, sizeof(a),
                     json_integer_value(json_object_get(p, "activation")));
            fmt_time(e, sizeof(e),
                     json_integer_value(json_object_get(p, "expiry")));
            fprintf(c->out, "  %-6lld %-5lld %-20s %-20s %s\n",
                    (long long)json_integer_value(json_object_get(p, "pgk_id")),
                    (long long)json_integer_value(json_object_get(p, "index")),
                    a, e, str(p, "state"));
        }
    }
    json_decref(s);
    return CLI_OK;
}

/* The whole of FILE (or stdin for "-" or none), at most the agent's cap. */
static int read_input(const struct cli *c, const char *path, uint8_t **out,
                      size_t *len)
{
    int fd = path == NULL || strcmp(path, "-") == 0
                 ? STDIN_FILENO
                 : open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);

    if (fd < 0 || buf == NULL) {
        free(buf);
        return cli_usage_error(c, "cannot read %.200s: %s", path,
                               strerror(errno));
    }
    for (;;) {
        ssize_t r;

        if (n == cap) {
            uint8_t *nb = cap < (size_t)PROSEC_CTL_PAYLOAD_MAX
                              ? realloc(buf, cap * 2)
                              : NULL;

            if (nb == NULL) {
                free(buf);
                return cli_usage_error(c, "the input is larger than %d MiB",
                                       PROSEC_CTL_PAYLOAD_MAX >> 20);
            }
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    if (fd != STDIN_FILENO) {
        close(fd);
    }
    if (n > (size_t)PROSEC_CTL_PAYLOAD_MAX) {
        free(buf);
        return cli_usage_error(c, "the input is larger than %d MiB",
                               PROSEC_CTL_PAYLOAD_MAX >> 20);
    }
    *out = buf;
    *len = n;
    return CLI_OK;
}

static int run_send(const struct cli *c, const struct cli_val *v,
                    const char *file)
{
    struct prosec_ctl *ctl = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *r = NULL;
    int rc;

    if (v[O_GROUP].n == 0) {
        return cli_usage_error(c, "missing option --group NAME|HEX6");
    }
    rc = read_input(c, file, &data, &len);
    if (rc == CLI_OK && len == 0) {
        rc = cli_usage_error(c, "nothing to send: the input is empty");
    }
    if (rc == CLI_OK) {
        rc = connect_agent(c, v, &ctl);
    }
    if (rc == CLI_OK) {
        rc =
            ask(c, ctl,
                json_pack("{s:s, s:s}", "op", "send", "group", v[O_GROUP].v[0]),
                data, len, 600000, &r);
    }
    prosec_ctl_close(ctl);
    free(data);
    if (rc == CLI_OK) {
        fprintf(c->out, "sent %lld octets to %s in %lld frames\n",
                (long long)json_integer_value(json_object_get(r, "octets")),
                v[O_GROUP].v[0],
                (long long)json_integer_value(json_object_get(r, "frames")));
    }
    json_decref(r);
    return rc;
}

static int write_out(const struct cli *c, FILE *f, const uint8_t *p, size_t n)
{
    if (fwrite(p, 1, n, f) != n || fflush(f) != 0) {
        return cli_fail(c, "cannot write the message: %s", strerror(errno));
    }
    return CLI_OK;
}

static int run_listen(const struct cli *c, const struct cli_val *v)
{
    struct prosec_ctl *ctl = NULL;
    unsigned long long count = 0, timeout = 0;
    json_t *r = NULL, *last = NULL;
    FILE *f = c->out;
    int64_t end;
    unsigned long long got = 0;
    int rc;

    if (v[O_GROUP].n == 0) {
        return cli_usage_error(c, "missing option --group NAME|HEX6");
    }
    if ((v[O_COUNT].n &&
         !cli_dec(c, "count", v[O_COUNT].v[0], 1, 1000000, &count)) ||
        (v[O_TIMEOUT].n &&
         !cli_dec(c, "timeout", v[O_TIMEOUT].v[0], 1, 86400, &timeout))) {
        return CLI_USAGE;
    }
    if (v[O_OUT].n > 0) {
        f = fopen(v[O_OUT].v[0], "wb");
        if (f == NULL) {
            return cli_usage_error(c, "--out: cannot write %.200s: %s",
                                   v[O_OUT].v[0], strerror(errno));
        }
    }
    rc = connect_agent(c, v, &ctl);
    if (rc == CLI_OK) {
        rc = ask(
            c, ctl,
            json_pack("{s:s, s:s}", "op", "listen", "group", v[O_GROUP].v[0]),
            NULL, 0, 10000, &r);
    }
    json_decref(r);
    end = timeout ? (int64_t)time(NULL) + (int64_t)timeout : 0;
    while (rc == CLI_OK && (count == 0 || got < count)) {
        char *text = NULL;
        uint8_t *pl = NULL;
        size_t pll = 0;
        int wait = end ? (int)(end - (int64_t)time(NULL)) * 1000 : -1;
        json_t *ev;
        prosec_err err;

        if (end && wait <= 0) {
            break;
        }
        err = prosec_ctl_recv(ctl, wait, &text, &pl, &pll);
        if (err == PROSEC_ERR_TIMEOUT) {
            break;
        }
        if (err != PROSEC_OK) {
            rc = fail_detail(c, err);
            break;
        }
        ev = json_loads(text, 0, NULL);
        if (strcmp(str(ev, "event"), "message") == 0) {
            got++;
            rc = write_out(c, f, pl, pll);
        } else if (strcmp(str(ev, "event"), "stats") == 0) {
            json_decref(last);
            last = json_incref(ev);
        }
        json_decref(ev);
        prosec_ctl_free(text);
        prosec_ctl_free(pl);
    }
    /* the final counts: asked for, so the last frames are in them */
    if (rc == CLI_OK &&
        prosec_ctl_send(ctl, "{\"op\":\"stats\"}", NULL, 0) == PROSEC_OK) {
        for (int tries = 0; tries < 64; tries++) {
            char *text = NULL;
            uint8_t *pl = NULL;
            size_t pll = 0;
            json_t *ev;
            bool done;

            if (prosec_ctl_recv(ctl, 5000, &text, &pl, &pll) != PROSEC_OK) {
                break;
            }
            ev = json_loads(text, 0, NULL);
            done = strcmp(str(ev, "result"), "stats") == 0;
            if (done) {
                json_decref(last);
                last = json_incref(ev);
            }
            json_decref(ev);
            prosec_ctl_free(text);
            prosec_ctl_free(pl);
            if (done) {
                break;
            }
        }
    }
    prosec_ctl_close(ctl);
    if (f != c->out) {
        fclose(f);
    }
    if (rc == CLI_OK) {
        json_t *rej = json_object_get(last, "rejected");
        const char *k;
        json_t *x;
        long long total = 0;

        if (v[O_JSON].n > 0) {
            json_t *sum = json_pack(
                "{s:I, s:I, s:O}", "messages", (json_int_t)got, "accepted",
                json_integer_value(json_object_get(last, "accepted")),
                "rejected", rej != NULL ? rej : json_object());
            char *t = json_dumps(sum, JSON_SORT_KEYS);

            fprintf(stderr, "%s\n", t != NULL ? t : "{}");
            free(t);
            json_decref(sum);
        } else {
            fprintf(stderr, "listen: %llu message(s); frames accepted %lld",
                    got,
                    (long long)json_integer_value(
                        json_object_get(last, "accepted")));
            json_object_foreach(rej, k, x)
            {
                total += json_integer_value(x);
            }
            fprintf(stderr, ", rejected %lld", total);
            json_object_foreach(rej, k, x)
            {
                if (json_integer_value(x) > 0) {
                    fprintf(stderr, " %s=%lld", k,
                            (long long)json_integer_value(x));
                }
            }
            fprintf(stderr, "\n");
        }
    }
    json_decref(last);
    if (rc == CLI_OK && count > 0 && got < count) {
        return cli_fail(c, "%llu of %llu message(s) before the timeout", got,
                        count);
    }
    return rc;
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned long allowed;
    size_t max_pos;
} cmds[] = {
    {"enroll", BIT(O_BUNDLE) | BIT(O_STORE) | BIT(O_PASS) | BIT(O_KEYF), 0},
    {"agent",
     BIT(O_STORE) | BIT(O_PASS) | BIT(O_KEYF) | BIT(O_PC5) | BIT(O_IFACE) |
         BIT(O_MIKEY) | BIT(O_CONTROL) | BIT(O_LOG) | BIT(O_READY) |
         BIT(O_SYNCS) | BIT(O_SKEW) | BIT(O_ADVERT) | BIT(O_RELAY),
     0},
    {"status", BIT(O_CONTROL) | BIT(O_JSON), 0},
    {"send", BIT(O_CONTROL) | BIT(O_GROUP), 1},
    {"listen",
     BIT(O_CONTROL) | BIT(O_GROUP) | BIT(O_OUT) | BIT(O_COUNT) |
         BIT(O_TIMEOUT) | BIT(O_JSON),
     0},
};

int prosec_cmd_device(FILE *out, FILE *err, int argc, char **argv)
{
    char prog[64];
    struct cli c = {out, err, prog};
    struct cli_val v[O_N];
    const char *pos[1] = {NULL};
    size_t n_pos = 0, which = sizeof(cmds) / sizeof(cmds[0]);
    int rc;

    if (argc < 1) {
        fputs(usage, err);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[0], cmds[i].name) == 0) {
            which = i;
        }
    }
    if (which == sizeof(cmds) / sizeof(cmds[0])) {
        c.prog = "prosec device";
        return cli_usage_error(&c,
                               "unknown command '%.40s' (try prosec "
                               "device --help)",
                               argv[0]);
    }
    snprintf(prog, sizeof(prog), "prosec device %s", cmds[which].name);
    memset(v, 0, sizeof(v));
    rc = cli_parse_pos(&c, argc - 1, argv + 1, opts, O_N, v, pos,
                       cmds[which].max_pos, &n_pos);
    if (rc < 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    if (rc != CLI_OK) {
        return rc;
    }
    for (size_t i = 0; i < O_N; i++) {
        if (v[i].n > 0 && !(cmds[which].allowed & BIT(i))) {
            return cli_usage_error(&c, "option --%s does not apply here",
                                   opts[i].name);
        }
    }
    switch (which) {
    case 0:
        return run_enroll(&c, v);
    case 1:
        return run_agent(&c, v, false);
    case 2:
        return run_status(&c, v);
    case 3:
        return run_send(&c, v, pos[0]);
    default:
        return run_listen(&c, v);
    }
}

static const char relay_usage[] =
    "usage: prosec relay --store PATH (--passphrase-file F | --key-file F)\n"
    "         [--pc5 ADDR:PORT] [--iface IF] [--upstream IP:PORT]\n"
    "         [--listen IP:PORT] [--group-pc5 ADDR:PORT] [--group-iface IF]\n"
    "         [--mikey ADDR:PORT] [--control SOCKET] [--log-level LEVEL]\n"
    "         [--sync-interval SECONDS] [--skew SECONDS] [--ready-fd FD]\n"
    "\n"
    "Runs an enrolled device (added with `prosec kmf device add NAME\n"
    "--relay`) as a UE-to-network relay and a group relay.\n"
    "\n"
    "  --pc5, --iface  the PC5 channel of the remote devices (default\n"
    "                  " PROSEC_PC5_DEFAULT "): the relay announces itself\n"
    "                  there (port + 1) and bridges group traffic to it\n"
    "  --listen        where remote devices' links are taken (default\n"
    "                  0.0.0.0:5304, announced with --iface's address)\n"
    "  --upstream      the KMF remote devices' connections go to (default:\n"
    "                  the KMF of the keystore)\n"
    "  --group-pc5, --group-iface\n"
    "                  the in-coverage PC5 channel: the groups' frames that\n"
    "                  pass a member's checks are re-broadcast, unchanged,\n"
    "                  between it and --pc5\n"
    "\n"
    "A remote device is served only once the KMF has vouched for its PRUK\n"
    "(TS 33.303 6.7); the relay carries its HTTPS and MIKEY end to end and\n"
    "sees none of its keys.  The control socket answers `prosec device\n"
    "status`.  Exit status: 0 stopped, 1 failed, 2 bad arguments.\n";

int prosec_cmd_relay(FILE *out, FILE *err, int argc, char **argv)
{
    static const unsigned long allowed =
        BIT(O_STORE) | BIT(O_PASS) | BIT(O_KEYF) | BIT(O_PC5) | BIT(O_IFACE) |
        BIT(O_MIKEY) | BIT(O_CONTROL) | BIT(O_LOG) | BIT(O_READY) |
        BIT(O_SYNCS) | BIT(O_SKEW) | BIT(O_LISTEN) | BIT(O_UPSTREAM) |
        BIT(O_GPC5) | BIT(O_GIFACE);
    struct cli c = {out, err, "prosec relay"};
    struct cli_val v[O_N];
    bool done = false;
    int rc;

    memset(v, 0, sizeof(v));
    rc = cli_args(&c, argc, argv, opts, O_N, v, relay_usage, &done);
    if (done || rc != CLI_OK) {
        return rc;
    }
    for (size_t i = 0; i < O_N; i++) {
        if (v[i].n > 0 && !(allowed & BIT(i))) {
            return cli_usage_error(&c, "option --%s does not apply here",
                                   opts[i].name);
        }
    }
    return run_agent(&c, v, true);
}
