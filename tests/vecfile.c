/* SPDX-License-Identifier: Apache-2.0 */
/* The test-vector reader; see vecfile.h. */
#include "vecfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

static bool add_field(struct vec_record *r, const char *name, const char *value)
{
    struct vec_field *f =
        realloc(r->fields, (r->n_fields + 1) * sizeof(*r->fields));

    if (f == NULL) {
        return false;
    }
    r->fields = f;
    f[r->n_fields].name = strdup(name);
    f[r->n_fields].value = strdup(value);
    if (f[r->n_fields].name == NULL || f[r->n_fields].value == NULL) {
        return false;
    }
    r->n_fields++;
    return true;
}

static bool append_value(struct vec_record *r, const char *more)
{
    struct vec_field *f = &r->fields[r->n_fields - 1];
    size_t a = strlen(f->value), b = strlen(more);
    char *v = realloc(f->value, a + b + 2);

    if (v == NULL) {
        return false;
    }
    if (a > 0) {
        v[a++] = ' ';
    }
    memcpy(v + a, more, b + 1);
    f->value = v;
    return true;
}

static struct vec_record *new_record(struct vec_file *vf, const char *id,
                                     int line)
{
    struct vec_record *r =
        realloc(vf->recs, (vf->n_recs + 1) * sizeof(*vf->recs));

    if (r == NULL) {
        return NULL;
    }
    vf->recs = r;
    r = &r[vf->n_recs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->file = vf->path;
    r->line = line;
    return r;
}

bool vec_load(struct vec_file *vf, const char *path)
{
    FILE *fp = fopen(path, "r");
    char buf[65536];
    struct vec_record *cur = NULL;
    int line = 0;
    bool ok = false;

    memset(vf, 0, sizeof(*vf));
    vf->path = strdup(path);
    if (fp == NULL || vf->path == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        goto out;
    }
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        char *s = trim(buf), *eq;

        line++;
        if (*s == '\0' || *s == '#') {
            continue;
        }
        if (*s == '[') {
            char *end = strchr(s, ']');

            if (end == NULL) {
                fprintf(stderr, "%s:%d: unterminated [ID]\n", path, line);
                goto out;
            }
            *end = '\0';
            cur = new_record(vf, s + 1, line);
            if (cur == NULL) {
                goto out;
            }
            continue;
        }
        if (cur == NULL) {
            cur = new_record(vf, "", line);
            if (cur == NULL) {
                goto out;
            }
        }
        eq = strchr(s, '=');
        /* "NAME = value", or a continuation of the last value */
        if (eq != NULL && eq > s && eq[-1] == ' ') {
            *eq = '\0';
            if (!add_field(cur, trim(s), trim(eq + 1))) {
                goto out;
            }
        } else if (cur->n_fields > 0) {
            if (!append_value(cur, s)) {
                goto out;
            }
        } else {
            fprintf(stderr, "%s:%d: text outside a field\n", path, line);
            goto out;
        }
    }
    ok = true;

out:
    if (fp != NULL) {
        fclose(fp);
    }
    return ok;
}

void vec_free(struct vec_file *vf)
{
    for (size_t i = 0; i < vf->n_recs; i++) {
        for (size_t j = 0; j < vf->recs[i].n_fields; j++) {
            free(vf->recs[i].fields[j].name);
            free(vf->recs[i].fields[j].value);
        }
        free(vf->recs[i].fields);
    }
    free(vf->recs);
    free(vf->path);
    memset(vf, 0, sizeof(*vf));
}

const char *vec_get(const struct vec_record *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < r->n_fields; i++) {
        const char *f = r->fields[i].name;

        if (strcmp(f, name) == 0 ||
            (strncmp(f, name, n) == 0 && strncmp(f + n, " (", 2) == 0)) {
            return r->fields[i].value;
        }
    }
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long vec_hex(const struct vec_record *r, const char *name, uint8_t *out,
             size_t cap)
{
    const char *v = vec_get(r, name);
    size_t n = 0;
    int hi = -1;

    if (v == NULL) {
        fprintf(stderr, "%s:%d [%s]: no field %s\n", r->file, r->line, r->id,
                name);
        return -1;
    }
    for (; *v != '\0' && *v != '('; v++) {
        int d;

        if (isspace((unsigned char)*v)) {
            continue;
        }
        d = hexval(*v);
        if (d < 0 || (hi < 0 && n >= cap)) {
            fprintf(stderr, "%s:%d [%s]: field %s: bad hex or too long\n",
                    r->file, r->line, r->id, name);
            return -1;
        }
        if (hi < 0) {
            hi = d;
        } else {
            out[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fprintf(stderr, "%s:%d [%s]: field %s: odd number of hex digits\n",
                r->file, r->line, r->id, name);
        return -1;
    }
    return (long)n;
}

long long vec_num(const struct vec_record *r, const char *name, int base)
{
    const char *v = vec_get(r, name);
    char *end = NULL;
    unsigned long long x;

    if (v == NULL) {
        fprintf(stderr, "%s:%d [%s]: no field %s\n", r->file, r->line, r->id,
                name);
        return -1;
    }
    errno = 0;
    x = strtoull(v, &end, base);
    if (errno != 0 || end == v || (*end != '\0' && *end != ' ')) {
        fprintf(stderr, "%s:%d [%s]: field %s: not a number\n", r->file,
                r->line, r->id, name);
        return -1;
    }
    return (long long)x;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "%02x", p[i]);
    }
}

void vec_report(const struct vec_record *r, const char *what,
                const uint8_t *want, const uint8_t *got, size_t len)
{
    fprintf(stderr, "%s:%d [%s] %s mismatch\n  expected ", r->file, r->line,
            r->id, what);
    print_hex(want, len);
    fprintf(stderr, "\n  actual   ");
    print_hex(got, len);
    fprintf(stderr, "\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool vec_list(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t k = 0;

    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        char **nv;

        if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0) {
            continue;
        }
        nv = realloc(v, (k + 1) * sizeof(*v));
        if (nv == NULL) {
            break;
        }
        v = nv;
        v[k] = malloc(strlen(dir) + l + 2);
        if (v[k] == NULL) {
            break;
        }
        sprintf(v[k], "%s/%s", dir, e->d_name);
        k++;
    }
    closedir(d);
    qsort(v, k, sizeof(*v), cmp_str);
    *names = v;
    *n = k;
    return k > 0;
}
