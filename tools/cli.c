/* SPDX-License-Identifier: Apache-2.0 */
/* Option, hex and number parsing shared by the commands; see cli.h. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void vreport(const struct cli *c, const char *fmt, va_list ap)
    PROSEC_PRINTF(2, 0);

static void vreport(const struct cli *c, const char *fmt, va_list ap)
{
    fprintf(c->err, "%s: ", c->prog);
    vfprintf(c->err, fmt, ap);
    fputc('\n', c->err);
}

int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_parse(const struct cli *c, int argc, char **argv,
              const struct cli_opt *opts, size_t n_opts, struct cli_val *vals)
{
    size_t n_pos = 0;

    return cli_parse_pos(c, argc, argv, opts, n_opts, vals, NULL, 0, &n_pos);
}

int cli_parse_pos(const struct cli *c, int argc, char **argv,
                  const struct cli_opt *opts, size_t n_opts,
                  struct cli_val *vals, const char **pos, size_t max_pos,
                  size_t *n_pos)
{
    bool options = true;

    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *value;
        size_t nlen, k;

        if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            return -1;
        }
        if (options && strcmp(a, "--") == 0) {
            options = false;
            continue;
        }
        if (!options || strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*n_pos == max_pos) {
                return cli_usage_error(c, "unexpected argument '%.40s'", a);
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        name = a + 2;
        eq = strchr(name, '=');
        nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        for (k = 0; k < n_opts; k++) {
            if (strlen(opts[k].name) == nlen &&
                strncmp(opts[k].name, name, nlen) == 0) {
                break;
            }
        }
        if (k == n_opts) {
            return cli_usage_error(c, "unknown option '--%.*s'",
                                   (int)(nlen > 40 ? 40 : nlen), name);
        }
        if (opts[k].flag) {
            if (eq != NULL) {
                return cli_usage_error(c, "option --%s takes no value",
                                       opts[k].name);
            }
            value = "";
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return cli_usage_error(c, "option --%s needs a value",
                                   opts[k].name);
        }
        if (vals[k].n > 0 && !opts[k].repeat) {
            return cli_usage_error(c, "option --%s given twice", opts[k].name);
        }
        if (vals[k].n == CLI_MAX_VALUES) {
            return cli_usage_error(c, "option --%s given too many times",
                                   opts[k].name);
        }
        vals[k].v[vals[k].n++] = value;
    }
    return CLI_OK;
}

int cli_args(const struct cli *c, int argc, char **argv,
             const struct cli_opt *opts, size_t n_opts, struct cli_val *vals,
             const char *usage, bool *done)
{
    int rc = cli_parse(c, argc, argv, opts, n_opts, vals);

    *done = rc != CLI_OK;
    if (rc < 0) {
        fputs(usage, c->out);
        return CLI_OK;
    }
    return rc;
}

const char *cli_need(const struct cli *c, const struct cli_opt *opts,
                     const struct cli_val *vals, size_t i)
{
    if (vals[i].n == 0) {
        (void)cli_usage_error(c, "missing option --%s", opts[i].name);
        return NULL;
    }
    return vals[i].v[0];
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

bool cli_hex(const struct cli *c, const struct cli_opt *opt, const char *s,
             uint8_t *out, size_t cap, long want, size_t *len)
{
    size_t digits = strlen(s);

    for (size_t i = 0; i < digits; i++) {
        if (hexval((unsigned char)s[i]) < 0) {
            if (opt->secret) {
                cli_usage_error(c, "--%s: character %zu is not a hex digit",
                                opt->name, i + 1);
            } else {
                cli_usage_error(c,
                                "--%s: '%c' (character %zu) is not a hex "
                                "digit",
                                opt->name,
                                isprint((unsigned char)s[i]) ? s[i] : '?',
                                i + 1);
            }
            return false;
        }
    }
    if (digits % 2 != 0) {
        cli_usage_error(c, "--%s: odd number of hex digits (%zu)", opt->name,
                        digits);
        return false;
    }
    if (want >= 0 && digits != 2 * (size_t)want) {
        cli_usage_error(c, "--%s must be %ld hex digits (%ld octets), got %zu",
                        opt->name, 2 * want, want, digits);
        return false;
    }
    if (digits / 2 > cap) {
        cli_usage_error(c, "--%s: too long (%zu octets, at most %zu)",
                        opt->name, digits / 2, cap);
        return false;
    }
    for (size_t i = 0; i < digits / 2; i++) {
        out[i] = (uint8_t)(hexval((unsigned char)s[2 * i]) << 4 |
                           hexval((unsigned char)s[2 * i + 1]));
    }
    *len = digits / 2;
    return true;
}

bool cli_hex_num(const struct cli *c, const char *opt, const char *s,
                 unsigned digits, uint32_t *v)
{
    uint32_t x = 0;
    size_t n = strlen(s);

    if (n != digits) {
        cli_usage_error(c, "--%s must be %u hex digits, got '%.40s'", opt,
                        digits, s);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int d = hexval((unsigned char)s[i]);

        if (d < 0) {
            cli_usage_error(c, "--%s: '%.40s' is not hex", opt, s);
            return false;
        }
        x = x << 4 | (uint32_t)d;
    }
    *v = x;
    return true;
}

bool cli_dec(const struct cli *c, const char *opt, const char *s,
             unsigned long long lo, unsigned long long hi,
             unsigned long long *v)
{
    char *end = NULL;
    unsigned long long x;

    if (s[0] < '0' || s[0] > '9') {
        cli_usage_error(c, "--%s: '%.40s' is not a decimal number", opt, s);
        return false;
    }
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        cli_usage_error(c, "--%s: '%.40s' is not a decimal number", opt, s);
        return false;
    }
    if (x < lo || x > hi) {
        cli_usage_error(c, "--%s: %llu is out of range (%llu to %llu)", opt, x,
                        lo, hi);
        return false;
    }
    *v = x;
    return true;
}

void cli_print_hex(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        fprintf(f, "%02x", p[i]);
    }
    fputc('\n', f);
}
