/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `prosec kmf`: make and run a Key Management Function, and administer
 * it.  The admin commands reach the running daemon over HTTPS with the
 * admin credential of the KMF's folder (--dir DIR, or PROSEC_KMF_DIR).
 * The syntax is fixed (it is used from outside); see docs/prosec.1.
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
    "usage: prosec kmf COMMAND [ARGS] [--dir DIR] [--json]\n"
    "\n"
    "  init  --dir DIR [--listen ADDR:PORT] [--address HOST:PORT]\n"
    "        [--name NAME] [--host NAME]...     make a KMF in DIR\n"
    "  serve --dir DIR [--listen ADDR:PORT] [--log-level LEVEL]\n"
    "                                  run it in the foreground\n"
    "  device add NAME --out BUNDLE [--relay]\n"
    "                                  enrol a device (--relay: it may\n"
    "                                  serve as a UE-to-network relay)\n"
    "  device list\n"
    "  device revoke NAME\n"
    "  group create NAME --group-id HEX6 [--alg 1|2|3]\n"
    "        [--profile integrity|ts33303] [--lifetime DURATION]\n"
    "        [--ahead N] [--bearer N] [--testing]\n"
    "  group list\n"
    "  group add-member NAME DEVICE\n"
    "  group remove-member NAME DEVICE\n"
    "  group rekey NAME\n"
    "  group compromise NAME [--pgk-id N]\n"
    "  group show NAME\n"
    "  audit [--since TIME]\n"
    "  status\n"
    "\n"
    "DIR may come from PROSEC_KMF_DIR.  DURATION: 90s, 30m, 24h, 7d (or\n"
    "seconds).  TIME: Unix seconds, 2026-12-04T08:00:00Z, or a DURATION\n"
    "ago.  --json prints the KMF's answer as JSON.  Exit status: 0 done,\n"
    "1 refused or failed (the message says why), 2 bad arguments.\n";

enum {
    O_DIR,
    O_JSON,
    O_LISTEN,
    O_ADDRESS,
    O_NAME,
    O_HOST,
    O_LOG,
    O_OUT,
    O_GID,
    O_ALG,
    O_PROFILE,
    O_LIFETIME,
    O_AHEAD,
    O_BEARER,
    O_TESTING,
    O_PGKID,
    O_SINCE,
    O_READY,
    O_RELAY,
    O_N
};

static const struct cli_opt opts[O_N] = {
    [O_DIR] = {"dir", false, false, false},
    [O_JSON] = {"json", false, false, true},
    [O_LISTEN] = {"listen", false, false, false},
    [O_ADDRESS] = {"address", false, false, false},
    [O_NAME] = {"name", false, false, false},
    [O_HOST] = {"host", true, false, false},
    [O_LOG] = {"log-level", false, false, false},
    [O_OUT] = {"out", false, false, false},
    [O_GID] = {"group-id", false, false, false},
    [O_ALG] = {"alg", false, false, false},
    [O_PROFILE] = {"profile", false, false, false},
    [O_LIFETIME] = {"lifetime", false, false, false},
    [O_AHEAD] = {"ahead", false, false, false},
    [O_BEARER] = {"bearer", false, false, false},
    [O_TESTING] = {"testing", false, false, true},
    [O_PGKID] = {"pgk-id", false, false, false},
    [O_SINCE] = {"since", false, false, false},
    [O_READY] = {"ready-fd", false, false, false},
    [O_RELAY] = {"relay", false, false, true},
};

/* What one command accepts besides --dir and --json. */
struct spec {
    const char *words; /* "group create" */
    size_t n_pos;      /* positional arguments it needs */
    const char *pos_names;
    unsigned long allowed; /* bit i: option i */
    int (*run)(const struct cli *c, const char *dir, const char **pos,
               const struct cli_val *v, bool json);
};

#define BIT(o) (1ul << (o))

/* ---- small parsers ------------------------------------------------------ */

/* 90s, 30m, 24h, 7d, or plain seconds; 1 s to 366 days. */
static bool parse_duration(const char *s, long long *out)
{
    char *end;
    long long v, mul = 1;

    errno = 0;
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    v = strtoll(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    if (strcmp(end, "s") == 0 || *end == '\0') {
        mul = 1;
    } else if (strcmp(end, "m") == 0) {
        mul = 60;
    } else if (strcmp(end, "h") == 0) {
        mul = 3600;
    } else if (strcmp(end, "d") == 0) {
        mul = 86400;
    } else {
        return false;
    }
    if (v < 1 || v > 366LL * 86400 / mul) {
        return false;
    }
    *out = v * mul;
    return true;
}

/* Unix seconds, YYYY-MM-DDTHH:MM:SSZ, or a duration ago. */
static bool parse_time(const char *s, long long *out)
{
    struct tm want, tm;
    char *end;
    long long d;
    time_t t;
    int used = 0;

    memset(&want, 0, sizeof(want));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &want.tm_year, &want.tm_mon,
               &want.tm_mday, &want.tm_hour, &want.tm_min, &want.tm_sec,
               &used) == 6 &&
        s[used] == '\0') {
        want.tm_year -= 1900;
        want.tm_mon -= 1;
        tm = want;
        t = timegm(&tm);
        /* timegm reads 02-31 as 03-03: a date must come back unchanged */
        if (gmtime_r(&t, &tm) == NULL || tm.tm_year != want.tm_year ||
            tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
            tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min ||
            tm.tm_sec != want.tm_sec) {
            return false;
        }
        *out = (long long)t;
        return true;
    }
    errno = 0;
    d = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0' && s[0] >= '0' && s[0] <= '9') {
        *out = d;
        return true;
    }
    if (parse_duration(s, &d)) {
        *out = (long long)time(NULL) - d;
        return true;
    }
    return false;
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

/* ---- talking to the daemon ---------------------------------------------- */

/* Runs op with req (stolen); *out gets the parsed answer. */
static int call(const struct cli *c, const char *dir, const char *op,
                json_t *req, json_t **out)
{
    char *text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    char *resp = NULL;
    prosec_err err;

    json_decref(req);
    if (text == NULL) {
        return cli_fail(c, "out of memory");
    }
    err = prosec_kmf_admin(dir, op, text, &resp);
    free(text);
    if (err == PROSEC_ERR_UNREACHABLE) {
        /* our own words: the library's detail repeats itself here */
        return cli_fail(c,
                        "the KMF of %s is not running (start it with: "
                        "prosec kmf serve --dir %s)",
                        dir, dir);
    }
    if (err != PROSEC_OK) {
        const char *d = prosec_error_detail();

        return cli_fail(c, "%s", d[0] != '\0' ? d : prosec_strerror(err));
    }
    *out = json_loads(resp, 0, NULL);
    prosec_kmf_free(resp);
    if (*out == NULL) {
        return cli_fail(c, "the KMF's answer is not JSON");
    }
    return CLI_OK;
}

static void print_json(const struct cli *c, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (s != NULL) {
        fprintf(c->out, "%s\n", s);
        free(s);
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* ---- init and serve ----------------------------------------------------- */

static int run_init(const struct cli *c, const char *dir, const char **pos,
                    const struct cli_val *v, bool json)
{
    struct prosec_kmf_init_opts o = {0};
    prosec_err err;

    (void)pos;
    o.name = v[O_NAME].n ? v[O_NAME].v[0] : NULL;
    o.listen = v[O_LISTEN].n ? v[O_LISTEN].v[0] : NULL;
    o.address = v[O_ADDRESS].n ? v[O_ADDRESS].v[0] : NULL;
    o.hosts = v[O_HOST].v;
    o.n_hosts = v[O_HOST].n;
    err = prosec_kmf_init(dir, &o);
    if (err != PROSEC_OK) {
        return cli_fail(c, "%s",
                        prosec_error_detail()[0] != '\0'
                            ? prosec_error_detail()
                            : prosec_strerror(err));
    }
    if (json) {
        json_t *j = json_pack("{s:s, s:s}", "result", "created", "dir", dir);

        print_json(c, j);
        json_decref(j);
    } else {
        fprintf(c->out,
                "KMF created in %s (mode 0700): kmf.db, master.key, the "
                "enrolment CA,\nthe admin credential and kmf.conf.  Start "
                "it with: prosec kmf serve --dir %s\n",
                dir, dir);
    }
    return CLI_OK;
}

static int run_serve(const struct cli *c, const char *dir, const char **pos,
                     const struct cli_val *v, bool json)
{
    struct prosec_kmf_serve_opts o = {NULL, -1, -1};
    enum prosec_log_level lvl = PROSEC_LOG_INFO;
    unsigned long long fd;
    prosec_err err;

    (void)pos;
    (void)json;
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
        if (!cli_dec(c, "ready-fd", v[O_READY].v[0], 3, 1023, &fd)) {
            return CLI_USAGE;
        }
        o.ready_fd = (int)fd;
    }
    o.listen = v[O_LISTEN].n ? v[O_LISTEN].v[0] : NULL;
    static char tag[] = "kmf";

    prosec_log_set(prosec_log_stderr, tag, PROSEC_LOG_DEBUG);
    err = prosec_kmf_serve(dir, &o);
    prosec_log_set(NULL, NULL, PROSEC_LOG_INFO);
    if (err != PROSEC_OK) {
        return cli_fail(c, "%s",
                        prosec_error_detail()[0] != '\0'
                            ? prosec_error_detail()
                            : prosec_strerror(err));
    }
    return CLI_OK;
}

/* ---- devices --------------------------------------------------------------
 */

/* Writes text to fd (the whole of it) and flushes it to disk. */
static bool write_all(int fd, const char *text, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, text, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        text += w;
        n -= (size_t)w;
    }
    return fsync(fd) == 0;
}

static int run_device_add(const struct cli *c, const char *dir,
                          const char **pos, const struct cli_val *v, bool json)
{
    const char *out = v[O_OUT].n ? v[O_OUT].v[0] : NULL;
    json_t *resp = NULL, *bundle;
    char *text = NULL;
    int fd, rc;
    size_t n = 0;

    if (out == NULL) {
        return cli_usage_error(c, "missing option --out BUNDLE");
    }
    /*
     * The bundle's file is made (0600, never over an existing one) before
     * the device is enrolled, so a path that cannot be written refuses
     * the command instead of leaving a device enrolled without a bundle.
     */
    fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        return cli_usage_error(c,
                               "--out: %.200s exists; the bundle holds a "
                               "private key and is never overwritten",
                               out);
    }
    if (fd < 0) {
        return cli_fail(c, "cannot create %.200s: %s", out, strerror(errno));
    }
    rc =
        call(c, dir, "device/add",
             json_pack("{s:s, s:b}", "name", pos[0], "relay", v[O_RELAY].n > 0),
             &resp);
    if (rc == CLI_OK) {
        bundle = json_object_get(resp, "bundle");
        text = bundle != NULL ? json_dumps(bundle, JSON_INDENT(2)) : NULL;
        json_decref(resp);
        if (text == NULL) {
            rc = cli_fail(c, "the KMF sent no bundle");
        }
    }
    if (rc == CLI_OK) {
        n = strlen(text);
        if (!write_all(fd, text, n)) {
            rc = cli_fail(c,
                          "cannot write %.200s: %s (device '%s' is "
                          "enrolled: revoke it and add it again)",
                          out, strerror(errno), pos[0]);
        }
    }
    close(fd);
    if (text != NULL) {
        prosec_wipe(text, n);
        free(text);
    }
    if (rc != CLI_OK) {
        (void)unlink(out);
        return rc;
    }
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "result", "enrolled", "device",
                              pos[0], "bundle", out);

        print_json(c, j);
        json_decref(j);
    } else {
        fprintf(c->out,
                "device '%s' enrolled; its bundle (private key "
                "inside, mode 0600) is in %s.\nCarry it to the device "
                "and run: prosec device enroll --bundle %s ...\n",
                pos[0], out, out);
    }
    return CLI_OK;
}
static int run_device_list(const struct cli *c, const char *dir,
                           const char **pos, const struct cli_val *v, bool json)
{
    json_t *resp = NULL, *d;
    size_t i;
    int rc;

    (void)pos;
    (void)v;
    rc = call(c, dir, "device/list", json_object(), &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out, "%-16s %-8s %-22s %-21s %s\n", "DEVICE", "STATE",
                "MIKEY ADDRESS", "LAST SEEN", "GROUPS");
        json_array_foreach(resp, i, d)
        {
            char seen[32] = "never";
            json_t *ls = json_object_get(d, "last_seen");

            if (json_is_integer(ls)) {
                fmt_time(seen, sizeof(seen), json_integer_value(ls));
            }
            fprintf(c->out, "%-16s %-8s %-22s %-21s %s\n", str(d, "name"),
                    json_is_null(json_object_get(d, "revoked")) ? "enrolled"
                                                                : "revoked",
                    str(d, "mikey_address")[0] ? str(d, "mikey_address") : "-",
                    seen, str(d, "groups")[0] ? str(d, "groups") : "-");
        }
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_device_revoke(const struct cli *c, const char *dir,
                             const char **pos, const struct cli_val *v,
                             bool json)
{
    json_t *resp = NULL;
    int rc;

    (void)v;
    rc = call(c, dir, "device/revoke", json_pack("{s:s}", "name", pos[0]),
              &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out,
                "device '%s' revoked: its certificate is refused, it was "
                "removed from %lld group(s) and their keys replaced\n",
                pos[0], (long long)num(resp, "groups"));
    }
    json_decref(resp);
    return CLI_OK;
}

/* ---- groups ------------------------------------------------------------- */

static int run_group_create(const struct cli *c, const char *dir,
                            const char **pos, const struct cli_val *v,
                            bool json)
{
    unsigned long long alg = 2, ahead = 2, bearer = 0;
    long long lifetime = 86400;
    uint32_t gid = 0;
    const char *profile = "integrity";
    json_t *req, *resp = NULL;
    int rc;

    if (v[O_GID].n == 0) {
        return cli_usage_error(c, "missing option --group-id HEX6");
    }
    if (!cli_hex_num(c, "group-id", v[O_GID].v[0], 6, &gid) ||
        (v[O_ALG].n && !cli_dec(c, "alg", v[O_ALG].v[0], 0, 3, &alg)) ||
        (v[O_AHEAD].n && !cli_dec(c, "ahead", v[O_AHEAD].v[0], 0, 8, &ahead)) ||
        (v[O_BEARER].n &&
         !cli_dec(c, "bearer", v[O_BEARER].v[0], 0, 31, &bearer))) {
        return CLI_USAGE;
    }
    if (alg == 0 && v[O_TESTING].n == 0) {
        return cli_usage_error(c, "--alg 0 (no ciphering) needs --testing");
    }
    if (v[O_PROFILE].n) {
        profile = v[O_PROFILE].v[0];
        if (strcmp(profile, "integrity") != 0 &&
            strcmp(profile, "ts33303") != 0) {
            return cli_usage_error(c,
                                   "--profile: '%.20s' is not integrity or "
                                   "ts33303",
                                   profile);
        }
    }
    if (v[O_LIFETIME].n && !parse_duration(v[O_LIFETIME].v[0], &lifetime)) {
        return cli_usage_error(c,
                               "--lifetime: '%.20s' is not a duration from "
                               "1s to 366d (90s, 30m, 24h, 7d)",
                               v[O_LIFETIME].v[0]);
    }
    req = json_pack("{s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:i}", "name", pos[0],
                    "group_id", (json_int_t)gid, "alg", (json_int_t)alg,
                    "profile", strcmp(profile, "integrity") == 0, "lifetime",
                    (json_int_t)lifetime, "ahead", (json_int_t)ahead, "bearer",
                    (json_int_t)bearer, "testing", v[O_TESTING].n > 0);
    rc = call(c, dir, "group/create", req, &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out,
                "group '%s' created: Group ID %06x, EEA%llu, profile %s, "
                "lifetime %llds, %llu PGK(s) ahead\n",
                pos[0], gid, alg, profile, lifetime, ahead);
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_group_list(const struct cli *c, const char *dir,
                          const char **pos, const struct cli_val *v, bool json)
{
    json_t *resp = NULL, *g;
    size_t i;
    int rc;

    (void)pos;
    (void)v;
    rc = call(c, dir, "group/list", json_object(), &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out, "%-20s %-8s %-4s %-10s %s\n", "GROUP", "GROUP ID",
                "ALG", "PROFILE", "MEMBERS");
        json_array_foreach(resp, i, g)
        {
            fprintf(c->out, "%-20s %-8s EEA%lld %-10s %lld\n", str(g, "name"),
                    str(g, "group_id"), (long long)num(g, "alg"),
                    str(g, "profile"), (long long)num(g, "members"));
        }
    }
    json_decref(resp);
    return CLI_OK;
}

static int member_op(const struct cli *c, const char *dir, const char **pos,
                     bool json, const char *op, const char *done)
{
    json_t *resp = NULL;
    int rc =
        call(c, dir, op,
             json_pack("{s:s, s:s}", "group", pos[0], "device", pos[1]), &resp);

    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else if (json_object_get(resp, "member_id") != NULL) {
        fprintf(c->out, "device '%s' %s group '%s' as Group Member ID %06llx\n",
                pos[1], done, pos[0],
                (unsigned long long)num(resp, "member_id"));
    } else {
        fprintf(c->out,
                "device '%s' %s group '%s'; %lld PGK(s) revoked and %lld new "
                "one(s) pushed to the remaining members\n",
                pos[1], done, pos[0], (long long)num(resp, "revoked"),
                (long long)num(resp, "new_pgks"));
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_add_member(const struct cli *c, const char *dir,
                          const char **pos, const struct cli_val *v, bool json)
{
    (void)v;
    return member_op(c, dir, pos, json, "group/add-member", "added to");
}

static int run_remove_member(const struct cli *c, const char *dir,
                             const char **pos, const struct cli_val *v,
                             bool json)
{
    (void)v;
    return member_op(c, dir, pos, json, "group/remove-member", "removed from");
}

static int run_rekey(const struct cli *c, const char *dir, const char **pos,
                     const struct cli_val *v, bool json)
{
    json_t *resp = NULL;
    int rc;

    (void)v;
    rc =
        call(c, dir, "group/rekey", json_pack("{s:s}", "group", pos[0]), &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out,
                "group '%s' rekeyed: PGK %lld replaces PGK %lld from now "
                "(pushed to every member; the old one revoked)\n",
                pos[0], (long long)num(resp, "new_pgk_id"),
                (long long)num(resp, "old_pgk_id"));
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_compromise(const struct cli *c, const char *dir,
                          const char **pos, const struct cli_val *v, bool json)
{
    unsigned long long id = 0;
    json_t *req = json_pack("{s:s}", "group", pos[0]), *resp = NULL;
    int rc;

    if (v[O_PGKID].n > 0) {
        if (!cli_dec(c, "pgk-id", v[O_PGKID].v[0], 0, 255, &id)) {
            json_decref(req);
            return CLI_USAGE;
        }
        json_object_set_new(req, "pgk_id", json_integer((json_int_t)id));
    }
    rc = call(c, dir, "group/compromise", req, &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        fprintf(c->out,
                "group '%s': %lld PGK(s) revoked (members told to delete "
                "them), %lld new one(s) pushed\n",
                pos[0], (long long)num(resp, "revoked"),
                (long long)num(resp, "new_pgks"));
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_show(const struct cli *c, const char *dir, const char **pos,
                    const struct cli_val *v, bool json)
{
    json_t *resp = NULL, *x;
    size_t i;
    int rc;

    (void)v;
    rc = call(c, dir, "group/show", json_pack("{s:s}", "group", pos[0]), &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
        json_decref(resp);
        return CLI_OK;
    }
    fprintf(c->out,
            "group %s: Group ID %s, EEA%lld, profile %s, lifetime %llds, "
            "%lld ahead\n\n",
            str(resp, "name"), str(resp, "group_id"),
            (long long)num(resp, "alg"), str(resp, "profile"),
            (long long)num(resp, "lifetime"), (long long)num(resp, "ahead"));
    fprintf(c->out, "%-6s %-5s %-20s %-20s %-9s %s\n", "PGK ID", "INDEX",
            "ACTIVATION", "EXPIRY", "STATE", "DELIVERED/PENDING");
    json_array_foreach(json_object_get(resp, "pgks"), i, x)
    {
        char a[32], e[32];

        fmt_time(a, sizeof(a), num(x, "activation"));
        fmt_time(e, sizeof(e), num(x, "expiry"));
        fprintf(c->out, "%-6lld %-5lld %-20s %-20s %-9s %lld/%lld\n",
                (long long)num(x, "pgk_id"), (long long)num(x, "index"), a, e,
                str(x, "state"), (long long)num(x, "delivered"),
                (long long)num(x, "pending"));
    }
    fprintf(c->out, "\n%-16s %-9s %-13s %-8s %s\n", "MEMBER", "MEMBER ID",
            "DELIVERY", "PENDING", "PGK IDS HELD (VALID)");
    json_array_foreach(json_object_get(resp, "members"), i, x)
    {
        fprintf(c->out, "%-16s %06llx    %-13s %-8lld %s\n", str(x, "device"),
                (unsigned long long)num(x, "member_id"), str(x, "delivery"),
                (long long)num(x, "pending"),
                str(x, "delivered_pgk_ids")[0] ? str(x, "delivered_pgk_ids")
                                               : "-");
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_audit(const struct cli *c, const char *dir, const char **pos,
                     const struct cli_val *v, bool json)
{
    long long since = 0;
    json_t *resp = NULL, *e;
    size_t i;
    int rc;

    (void)pos;
    if (v[O_SINCE].n > 0 && !parse_time(v[O_SINCE].v[0], &since)) {
        return cli_usage_error(c,
                               "--since: '%.30s' is not Unix seconds, "
                               "YYYY-MM-DDTHH:MM:SSZ or a duration (1h)",
                               v[O_SINCE].v[0]);
    }
    rc = call(c, dir, "audit", json_pack("{s:I}", "since", (json_int_t)since),
              &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        json_array_foreach(resp, i, e)
        {
            char t[32];

            fmt_time(t, sizeof(t), num(e, "at"));
            fprintf(c->out, "%s %-10s %-20s %-16s %s\n", t, str(e, "actor"),
                    str(e, "action"), str(e, "target"), str(e, "detail"));
        }
    }
    json_decref(resp);
    return CLI_OK;
}

static int run_status(const struct cli *c, const char *dir, const char **pos,
                      const struct cli_val *v, bool json)
{
    json_t *resp = NULL;
    int rc;

    (void)pos;
    (void)v;
    rc = call(c, dir, "status", json_object(), &resp);
    if (rc != CLI_OK) {
        return rc;
    }
    if (json) {
        print_json(c, resp);
    } else {
        json_t *p = json_object_get(resp, "push");

        fprintf(c->out,
                "%s (prosec %s): %lld devices, %lld groups, %lld deliveries "
                "pending; pushes sent %lld, answered %lld\n",
                str(resp, "uri"), str(resp, "version"),
                (long long)num(resp, "devices"), (long long)num(resp, "groups"),
                (long long)num(resp, "pending_deliveries"),
                (long long)num(p, "sent"), (long long)num(p, "answered"));
    }
    json_decref(resp);
    return CLI_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct spec specs[] = {
    {"init", 0, "", BIT(O_LISTEN) | BIT(O_ADDRESS) | BIT(O_NAME) | BIT(O_HOST),
     run_init},
    {"serve", 0, "", BIT(O_LISTEN) | BIT(O_LOG) | BIT(O_READY), run_serve},
    {"device add", 1, "NAME", BIT(O_OUT) | BIT(O_RELAY), run_device_add},
    {"device list", 0, "", 0, run_device_list},
    {"device revoke", 1, "NAME", 0, run_device_revoke},
    {"group create", 1, "NAME",
     BIT(O_GID) | BIT(O_ALG) | BIT(O_PROFILE) | BIT(O_LIFETIME) | BIT(O_AHEAD) |
         BIT(O_BEARER) | BIT(O_TESTING),
     run_group_create},
    {"group list", 0, "", 0, run_group_list},
    {"group add-member", 2, "NAME DEVICE", 0, run_add_member},
    {"group remove-member", 2, "NAME DEVICE", 0, run_remove_member},
    {"group rekey", 1, "NAME", 0, run_rekey},
    {"group compromise", 1, "NAME", BIT(O_PGKID), run_compromise},
    {"group show", 1, "NAME", 0, run_show},
    {"audit", 0, "", BIT(O_SINCE), run_audit},
    {"status", 0, "", 0, run_status},
};

/* The spec whose words start argv; *used gets how many words. */
static const struct spec *find_spec(int argc, char **argv, int *used)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const char *w = specs[i].words, *sp = strchr(w, ' ');

        if (sp == NULL && argc >= 1 && strcmp(argv[0], w) == 0) {
            *used = 1;
            return &specs[i];
        }
        if (sp != NULL && argc >= 2 &&
            strncmp(argv[0], w, (size_t)(sp - w)) == 0 &&
            argv[0][sp - w] == '\0' && strcmp(argv[1], sp + 1) == 0) {
            *used = 2;
            return &specs[i];
        }
    }
    return NULL;
}

int prosec_cmd_kmf(FILE *out, FILE *err, int argc, char **argv)
{
    char prog[64];
    struct cli c = {out, err, prog};
    struct cli_val v[O_N];
    const struct spec *sp;
    const char *pos[2], *dir;
    size_t n_pos = 0;
    int used = 0, rc;

    if (argc < 1) {
        fputs(usage, err);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    sp = find_spec(argc, argv, &used);
    if (sp == NULL &&
        (strcmp(argv[0], "device") == 0 || strcmp(argv[0], "group") == 0) &&
        (argc == 1 || argv[1][0] == '-')) {
        /* a group of commands without its command */
        c.prog = "prosec kmf";
        return cli_usage_error(
            &c, "'%s' needs a command: %s (prosec kmf --help)", argv[0],
            strcmp(argv[0], "device") == 0
                ? "add, list or revoke"
                : "create, list, add-member, remove-member, rekey, "
                  "compromise or show");
    }
    if (sp == NULL) {
        /* the second word only when it may be one (not an option) */
        bool two = argc > 1 && argv[1][0] != '-';

        c.prog = "prosec kmf";
        return cli_usage_error(&c,
                               "unknown command '%.30s%s%.30s' (try "
                               "prosec kmf --help)",
                               argv[0], two ? " " : "", two ? argv[1] : "");
    }
    snprintf(prog, sizeof(prog), "prosec kmf %s", sp->words);
    memset(v, 0, sizeof(v));
    rc = cli_parse_pos(&c, argc - used, argv + used, opts, O_N, v, pos, 2,
                       &n_pos);
    if (rc < 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    if (rc != CLI_OK) {
        return rc;
    }
    for (size_t i = 0; i < O_N; i++) {
        if (v[i].n > 0 && i != O_DIR && i != O_JSON &&
            !(sp->allowed & BIT(i))) {
            return cli_usage_error(&c, "option --%s does not apply here",
                                   opts[i].name);
        }
    }
    if (n_pos < sp->n_pos) {
        return cli_usage_error(&c, "missing %s", sp->pos_names);
    }
    if (n_pos > sp->n_pos) {
        return cli_usage_error(&c, "unexpected argument '%.40s'",
                               pos[sp->n_pos]);
    }
    dir = v[O_DIR].n ? v[O_DIR].v[0] : getenv("PROSEC_KMF_DIR");
    if (dir == NULL || dir[0] == '\0') {
        return cli_usage_error(&c, "missing option --dir DIR (or "
                                   "PROSEC_KMF_DIR)");
    }
    return sp->run(&c, dir, pos, v, v[O_JSON].n > 0);
}
