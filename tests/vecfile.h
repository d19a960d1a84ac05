/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader of the test-vector files of tests/vectors (format in their
 * README.md): records headed by [ID], fields NAME = value, comments with
 * #, values that may continue on the following lines.  Fields before the
 * first [ID] form a record with an empty ID.
 */
#ifndef PROSEC_TESTS_VECFILE_H
#define PROSEC_TESTS_VECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vec_field {
    char *name;  /* text before " =" */
    char *value; /* text after "= ", continuation lines joined by ' ' */
};

struct vec_record {
    char id[64];
    const char *file;
    int line; /* of the [ID] line */
    struct vec_field *fields;
    size_t n_fields;
};

struct vec_file {
    char *path;
    struct vec_record *recs;
    size_t n_recs;
};

/* Reads path; returns false (with a message on stderr) on failure. */
bool vec_load(struct vec_file *vf, const char *path);
void vec_free(struct vec_file *vf);

/*
 * The value of the field called name, or whose name is name followed by
 * " (": "K" finds "K (k0 k1 k2 k3)".  NULL when absent.
 */
const char *vec_get(const struct vec_record *r, const char *name);

/*
 * Decodes the hex of r's field name (spaces ignored, a trailing " (..)"
 * dropped) into out (capacity cap).  Returns the octet count, or -1 when
 * the field is missing or not hex; the failure is reported with file:line.
 */
long vec_hex(const struct vec_record *r, const char *name, uint8_t *out,
             size_t cap);

/* The value as an unsigned number in base (16 or 10); -1 on failure. */
long long vec_num(const struct vec_record *r, const char *name, int base);

/* Prints "file:line [ID] what: expected X, got Y" with both as hex. */
void vec_report(const struct vec_record *r, const char *what,
                const uint8_t *want, const uint8_t *got, size_t len);

/* Reads a whole directory's *.txt files, sorted by name. */
bool vec_list(const char *dir, char ***names, size_t *n);

#endif
