/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmf.conf, the KMF's settings: `key = value` lines.  The parser is
 * strict (an unknown key is an error, not ignored: a typo must not go
 * unnoticed in a security product) and bounded (lines of at most 512
 * octets, values of their field's size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kmf.h"

void kmf_conf_default(struct kmf_conf *c)
{
    memset(c, 0, sizeof(*c));
    (void)prosec__fmt(c->name, sizeof(c->name), "kmf");
    (void)prosec__fmt(c->listen, sizeof(c->listen), "127.0.0.1:5380");
    (void)prosec__fmt(c->address, sizeof(c->address), "127.0.0.1:5380");
    (void)prosec__fmt(c->mikey_bind, sizeof(c->mikey_bind), "0.0.0.0:0");
    c->pmk_lifetime = 7 * 86400;
    c->retry_first_ms = 300;
    c->retry_max_ms = 30000;
    c->handshake_timeout_ms = 10000;
    c->max_connections = 4096;
    c->device_requests_per_minute = 30;
    c->log_level = PROSEC_LOG_INFO;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > KMF_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.')) {
            return false;
        }
    }
    return true;
}

static bool int_in(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long x;

    if (v[0] < '0' || v[0] > '9') {
        return false;
    }
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < lo || x > hi) {
        return false;
    }
    *out = x;
    return true;
}

static bool addr_ok(const char *v, bool port_zero)
{
    struct sockaddr_storage ss;
    unsigned len;

    return prosec__parse_addr(v, port_zero, &ss, &len);
}

/* Sets one key; false when the key is unknown or the value bad. */
static bool set(struct kmf_conf *c, const char *k, const char *v,
                const char **why)
{
    int64_t x;

    *why = "bad value";
    if (strcmp(k, "name") == 0) {
        *why = "a name of 1 to 64 letters, digits, '-', '_' or '.'";
        return name_ok(v) && prosec__fmt(c->name, sizeof(c->name), "%s", v);
    }
    if (strcmp(k, "listen") == 0 || strcmp(k, "mikey_bind") == 0) {
        bool mikey = k[0] == 'm';

        *why = "an ADDR:PORT with a numeric IPv4 or [IPv6] address";
        return addr_ok(v, mikey) &&
               prosec__fmt(mikey ? c->mikey_bind : c->listen, KMF_ADDR_MAX,
                           "%s", v);
    }
    if (strcmp(k, "address") == 0) {
        *why = "HOST:PORT, at most 63 octets";
        return strchr(v, ':') != NULL && strchr(v, ' ') == NULL &&
               prosec__fmt(c->address, sizeof(c->address), "%s", v);
    }
    if (strcmp(k, "pmk_lifetime") == 0) {
        *why = "seconds, 60 to 31536000";
        return int_in(v, 60, 31536000, &c->pmk_lifetime);
    }
    if (strcmp(k, "retry_first_ms") == 0) {
        *why = "milliseconds, 10 to 60000";
        if (!int_in(v, 10, 60000, &x)) {
            return false;
        }
        c->retry_first_ms = x;
        return true;
    }
    if (strcmp(k, "retry_max_ms") == 0) {
        *why = "milliseconds, 100 to 3600000";
        if (!int_in(v, 100, 3600000, &x)) {
            return false;
        }
        c->retry_max_ms = x;
        return true;
    }
    if (strcmp(k, "handshake_timeout_ms") == 0) {
        *why = "milliseconds, 100 to 120000";
        return int_in(v, 100, 120000, &c->handshake_timeout_ms);
    }
    if (strcmp(k, "max_connections") == 0) {
        *why = "16 to 65536";
        return int_in(v, 16, 65536, &c->max_connections);
    }
    if (strcmp(k, "device_requests_per_minute") == 0) {
        *why = "0 (no limit) to 60000";
        return int_in(v, 0, 60000, &c->device_requests_per_minute);
    }
    if (strcmp(k, "log_level") == 0) {
        *why = "error, warn, info or debug";
        return prosec_log_level_parse(v, &c->log_level) == 0;
    }
    *why = "unknown key";
    return false;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

prosec_err kmf_conf_parse(struct kmf_conf *c, const char *text, size_t len)
{
    char line[513];
    size_t pos = 0;
    unsigned lineno = 0;

    kmf_conf_default(c);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        const char *why;
        char *k, *v, *eq;

        lineno++;
        if (n >= sizeof(line)) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "kmf.conf line %u: longer than 512 octets",
                                lineno);
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        if (memchr(line, '\0', n) != NULL) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "kmf.conf line %u: NUL octet", lineno);
        }
        k = trim(line);
        if (*k == '\0' || *k == '#') {
            continue;
        }
        eq = strchr(k, '=');
        if (eq == NULL) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "kmf.conf line %u: not `key = value`", lineno);
        }
        *eq = '\0';
        v = trim(eq + 1);
        k = trim(k);
        if (!set(c, k, v, &why)) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "kmf.conf line %u: %.40s: %s", lineno, k, why);
        }
    }
    if (c->retry_max_ms < c->retry_first_ms) {
        return prosec__fail(PROSEC_ERR_CONFIG,
                            "kmf.conf: retry_max_ms is below retry_first_ms");
    }
    return PROSEC_OK;
}

char *kmf_conf_format(const struct kmf_conf *c)
{
    char buf[2048];

    if (!prosec__fmt(
            buf, sizeof(buf),
            "# prosec KMF settings (prosec kmf serve reads them at "
            "start)\n"
            "# the KMF's name, part of its MIKEY identity urn:prosec:"
            "kmf:NAME\n"
            "name = %s\n"
            "# where the HTTPS API listens\n"
            "listen = %s\n"
            "# what enrolment bundles tell devices to connect to\n"
            "address = %s\n"
            "# UDP address MIKEY pushes are sent from (port 0: any)\n"
            "mikey_bind = %s\n"
            "# seconds before a device's PMK is renewed\n"
            "pmk_lifetime = %lld\n"
            "# push retries: first after this, doubling up to the max\n"
            "retry_first_ms = %lld\n"
            "retry_max_ms = %lld\n"
            "# a client's TLS handshake must end within this\n"
            "handshake_timeout_ms = %lld\n"
            "# HTTPS connections open at once (the oldest goes first)\n"
            "max_connections = %lld\n"
            "# key requests and releases a device may make per minute,\n"
            "# after a burst of 10 (0: no limit)\n"
            "device_requests_per_minute = %lld\n"
            "# error, warn, info or debug\n"
            "log_level = %s\n",
            c->name, c->listen, c->address, c->mikey_bind,
            (long long)c->pmk_lifetime, (long long)c->retry_first_ms,
            (long long)c->retry_max_ms, (long long)c->handshake_timeout_ms,
            (long long)c->max_connections,
            (long long)c->device_requests_per_minute,
            prosec_log_level_name(c->log_level))) {
        return NULL;
    }
    return strdup(buf);
}
