/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key request, response and release messages as JSON, with Jansson.
 * Parsing checks the shape of every object against a list of its fields,
 * so an unknown field, a wrong type or a value out of range is refused
 * with its own code (keyreq.h); nothing is written to the caller's struct
 * before the whole message has passed.
 *
 * Keys (PMK, PRUK) are never handed to Jansson when encoding: their hex is
 * spliced into the output text, in a buffer this file allocates and
 * prosec_key_json_free wipes.  When parsing, the decoded octets live on
 * our stack until copied out, and Jansson's string value is wiped before
 * the tree is released (Jansson keeps no hash of string values, so the
 * buffer may be overwritten).
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prosec/crypto.h"
#include "prosec/keyreq.h"

enum {
    GROUP_HEX = 6,  /* Group ID, Group Member ID: 24 bits */
    PMK_ID_HEX = 8, /* 32 bits */
    ALG_MAX = 3,
    BEARER_MAX = 31,
    SECRET_TEXT_MAX = 256 /* the spliced key fields, with their names */
};

static const char *const error_names[] = {
    [PROSEC_KEYRESP_NOT_MEMBER] = "not_member",
    [PROSEC_KEYRESP_UNKNOWN_GROUP] = "unknown_group",
    [PROSEC_KEYRESP_NO_COMMON_ALG] = "no_common_algorithm"};
static const char *const profile_names[] = {"ts33303", "integrity"};

/* ---- text helpers ------------------------------------------------------ */

static void to_hex(char *dst, const uint8_t *src, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 0xF];
    }
    dst[2 * n] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Exactly 2 * n hex digits of s (s_len characters) into out. */
static bool from_hex(uint8_t *out, size_t n, const char *s, size_t s_len)
{
    if (s_len != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A group name: 1..63 of [A-Za-z0-9._-]. */
static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > PROSEC_KEYREQ_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* "a.b.c.d:port" or "[v6]:port", the port 1..65535 in decimal. */
static bool addr_ok(const char *s)
{
    char host[PROSEC_KEYREQ_ADDR_MAX + 1];
    uint8_t bin[16];
    const char *port, *end;
    size_t host_len, len = strnlen(s, PROSEC_KEYREQ_ADDR_MAX + 1);
    unsigned long p = 0;
    int af = AF_INET;

    if (len == 0 || len > PROSEC_KEYREQ_ADDR_MAX) {
        return false;
    }
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || end[1] != ':') {
            return false;
        }
        af = AF_INET6;
        s++;
        port = end + 2;
    } else {
        end = strchr(s, ':');
        if (end == NULL || strchr(end + 1, ':') != NULL) {
            return false;
        }
        port = end + 1;
    }
    host_len = (size_t)(end - s);
    memcpy(host, s, host_len);
    host[host_len] = '\0';

    if (*port == '\0' || strlen(port) > 5) {
        return false;
    }
    for (const char *c = port; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return false;
        }
        p = p * 10 + (unsigned long)(*c - '0');
    }
    return p >= 1 && p <= 65535 && inet_pton(af, host, bin) == 1;
}

/* ---- reading fields ---------------------------------------------------- */

/* Every key of obj must be one of the NULL-terminated list allowed. */
static prosec_err only_keys(json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        size_t i = 0;

        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0) {
            i++;
        }
        if (allowed[i] == NULL) {
            return PROSEC_ERR_KEYREQ_FIELD;
        }
    }
    return PROSEC_OK;
}

/* An integer field within min..max. */
static prosec_err get_int(json_t *obj, const char *key, json_int_t min,
                          json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        return PROSEC_ERR_KEYREQ_RANGE;
    }
    *out = json_integer_value(v);
    return PROSEC_OK;
}

/* Overwrites the text of a string value that held a key. */
static void wipe_string(json_t *v)
{
    const char *text = json_string_value(v);
    char *writable;

    /* The buffer belongs to v and is writable; only the API is const. */
    memcpy(&writable, &text, sizeof(writable));
    if (writable != NULL) {
        prosec_wipe(writable, json_string_length(v));
    }
}

/* A string field of exactly n octets in hex. */
static prosec_err get_hex(json_t *obj, const char *key, uint8_t *out, size_t n)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    if (!from_hex(out, n, json_string_value(v), json_string_length(v))) {
        return PROSEC_ERR_KEYREQ_RANGE;
    }
    return PROSEC_OK;
}

/* A key in hex: as get_hex, then the JSON copy is wiped. */
static prosec_err get_secret(json_t *obj, const char *key, uint8_t *out,
                             size_t n)
{
    prosec_err err = get_hex(obj, key, out, n);

    if (json_is_string(json_object_get(obj, key))) {
        wipe_string(json_object_get(obj, key));
    }
    return err;
}

/* A 24-bit ID as 6 hex digits. */
static prosec_err get_id24(json_t *obj, const char *key, uint32_t *out)
{
    uint8_t b[3];
    prosec_err err = get_hex(obj, key, b, sizeof(b));

    if (err == PROSEC_OK) {
        *out = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
    }
    return err;
}

static prosec_err get_id32(json_t *obj, const char *key, uint32_t *out)
{
    uint8_t b[4];
    prosec_err err = get_hex(obj, key, b, sizeof(b));

    if (err == PROSEC_OK) {
        *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
               (uint32_t)b[2] << 8 | b[3];
    }
    return err;
}

/* A group name field into name (capacity NAME_MAX + 1). */
static prosec_err get_name(json_t *obj, const char *key, char *name)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    if (!name_ok(json_string_value(v), json_string_length(v))) {
        return PROSEC_ERR_KEYREQ_RANGE;
    }
    memcpy(name, json_string_value(v), json_string_length(v) + 1);
    return PROSEC_OK;
}

/* An array field of at most max entries. */
static prosec_err get_array(json_t *obj, const char *key, size_t max,
                            json_t **out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_array(v)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    if (json_array_size(v) > max) {
        return PROSEC_ERR_KEYREQ_LIMIT;
    }
    *out = v;
    return PROSEC_OK;
}

/* Both of a and b present, or neither; *both tells which. */
static prosec_err pair(json_t *obj, const char *a, const char *b, bool *both)
{
    bool has_a = json_object_get(obj, a) != NULL;

    if (has_a != (json_object_get(obj, b) != NULL)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    *both = has_a;
    return PROSEC_OK;
}

/* Names of the fields that may hold a key: wiped on every path. */
static const char *const secret_keys[] = {"pmk", "pruk", NULL};

static void wipe_secrets(json_t *obj)
{
    for (size_t i = 0; secret_keys[i] != NULL; i++) {
        if (json_is_string(json_object_get(obj, secret_keys[i]))) {
            wipe_string(json_object_get(obj, secret_keys[i]));
        }
    }
}

/*
 * Parses len octets as a JSON object of the given message type and of
 * version PROSEC_KEYREQ_VERSION, whose keys are all in allowed.
 */
static prosec_err load(const char *json, size_t len, const char *message,
                       const char *const *allowed, json_t **root)
{
    json_error_t jerr;
    json_t *r, *m, *ver;
    prosec_err err;

    if (len > PROSEC_KEYREQ_JSON_MAX) {
        return PROSEC_ERR_KEYREQ_TOO_LARGE;
    }
    r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r == NULL) {
        return json_error_code(&jerr) == json_error_out_of_memory
                   ? PROSEC_ERR_NOMEM
                   : PROSEC_ERR_KEYREQ_SYNTAX;
    }
    m = json_object_get(r, "message");
    ver = json_object_get(r, "version");
    if (!json_is_object(r) || !json_is_string(m) || !json_is_integer(ver)) {
        err = PROSEC_ERR_KEYREQ_FIELD;
    } else if (strcmp(json_string_value(m), message) != 0 ||
               json_integer_value(ver) != PROSEC_KEYREQ_VERSION) {
        err = PROSEC_ERR_KEYREQ_VERSION;
    } else {
        err = only_keys(r, allowed);
    }
    if (err != PROSEC_OK) {
        wipe_secrets(r); /* a key in a message refused for its shape */
        json_decref(r);
        return err;
    }
    *root = r;
    return PROSEC_OK;
}

/* ---- writing ----------------------------------------------------------- */

/* Adds key = v to obj; v NULL (out of memory) or a failed add clears ok. */
static void set(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        *ok = false;
    }
}

/* Appends v to arr (which takes it, even on failure). */
static void append(json_t *arr, json_t *v, bool *ok)
{
    if (json_array_append_new(arr, v) != 0) {
        *ok = false;
    }
}

static json_t *hex_value(uint64_t v, int digits)
{
    char s[17];

    snprintf(s, sizeof(s), "%0*llx", digits, (unsigned long long)v);
    return json_string(s);
}

static json_t *new_message(const char *message, uint8_t transaction_id,
                           bool *ok)
{
    json_t *o = json_object();

    *ok = o != NULL;
    if (o != NULL) {
        set(o, "message", json_string(message), ok);
        set(o, "version", json_integer(PROSEC_KEYREQ_VERSION), ok);
        set(o, "transaction_id", json_integer(transaction_id), ok);
    }
    return o;
}

/*
 * Dumps root and copies it into a buffer of ours, with secret (the text
 * of extra fields, e.g. ,"pmk":"..") inserted before the closing brace.
 */
static prosec_err finish(json_t *root, bool ok, const char *secret, char **out)
{
    json_malloc_t jmalloc;
    json_free_t jfree;
    char *dump = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    size_t dlen, slen = strlen(secret);
    char *s = NULL;

    json_decref(root);
    json_get_alloc_funcs(&jmalloc, &jfree);
    if (dump == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    dlen = strlen(dump); /* ends with '}' */
    s = malloc(dlen + slen + 1);
    if (s != NULL) {
        memcpy(s, dump, dlen - 1);
        memcpy(s + dlen - 1, secret, slen);
        memcpy(s + dlen - 1 + slen, "}", 2);
        *out = s;
    }
    jfree(dump);
    return s != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
}

void prosec_key_json_free(char *s)
{
    if (s != NULL) {
        prosec_wipe(s, strlen(s));
        free(s);
    }
}

void prosec_key_response_wipe(struct prosec_key_response *r)
{
    prosec_wipe(r, r != NULL ? sizeof(*r) : 0);
}

/* Frees a block Jansson allocated, wiping it first (see harden). */
static void wiping_free(void *p)
{
    if (p != NULL) {
        prosec_wipe(p, malloc_usable_size(p));
        free(p);
    }
}

prosec_err prosec_key_json_harden(void)
{
    json_malloc_t m;
    json_free_t f;

    json_get_alloc_funcs(&m, &f);
    if (m == malloc && f == wiping_free) {
        return PROSEC_OK;
    }
    if (m != malloc || f != free) {
        return PROSEC_ERR_ARG;
    }
    /* malloc stays: earlier blocks and new ones are freed alike. */
    json_set_alloc_funcs(malloc, wiping_free);
    return PROSEC_OK;
}

/* ---- key request ------------------------------------------------------- */

static const char *const request_keys[] = {"message",
                                           "version",
                                           "transaction_id",
                                           "groups",
                                           "supported_algorithms",
                                           "mikey_address",
                                           "pmk_id",
                                           NULL};
static const char *const request_group_keys[] = {"group_id", "group_name",
                                                 "pgk_ids", NULL};

/* Are groups a and b the same group (same Group ID, or same name)? */
static bool same_ref(uint32_t id_a, const char *name_a, uint32_t id_b,
                     const char *name_b)
{
    if (name_a[0] != '\0' || name_b[0] != '\0') {
        return strcmp(name_a, name_b) == 0;
    }
    return id_a == id_b;
}

/* A group reference: exactly one of group_id and group_name. */
static prosec_err get_ref(json_t *g, uint32_t *id, char *name)
{
    bool has_id = json_object_get(g, "group_id") != NULL;
    bool has_name = json_object_get(g, "group_name") != NULL;

    if (has_id == has_name) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    return has_id ? get_id24(g, "group_id", id)
                  : get_name(g, "group_name", name);
}

static prosec_err parse_req_group(json_t *g, struct prosec_keyreq_group *out)
{
    json_t *ids = NULL, *v;
    size_t i;
    prosec_err err;

    if (!json_is_object(g)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    err = only_keys(g, request_group_keys);
    if (err == PROSEC_OK) {
        err = get_ref(g, &out->group_id, out->name);
    }
    if (err == PROSEC_OK) {
        err = get_array(g, "pgk_ids", PROSEC_KEYREQ_PGK_IDS_MAX, &ids);
    }
    json_array_foreach(ids, i, v)
    {
        if (err != PROSEC_OK) {
            break;
        }
        if (!json_is_integer(v)) {
            err = PROSEC_ERR_KEYREQ_FIELD;
        } else if (json_integer_value(v) < 0 || json_integer_value(v) > 255 ||
                   memchr(out->pgk_ids, (int)json_integer_value(v),
                          out->n_pgk_ids) != NULL) {
            err = PROSEC_ERR_KEYREQ_RANGE;
        } else {
            out->pgk_ids[out->n_pgk_ids++] = (uint8_t)json_integer_value(v);
        }
    }
    return err;
}

/* supported_algorithms: 1..4 distinct EEA ids. */
static prosec_err parse_algs(json_t *root, uint8_t *mask)
{
    json_t *algs = NULL, *v;
    size_t i;
    prosec_err err =
        get_array(root, "supported_algorithms", ALG_MAX + 1, &algs);

    if (err == PROSEC_OK && json_array_size(algs) == 0) {
        err = PROSEC_ERR_KEYREQ_RANGE;
    }
    json_array_foreach(algs, i, v)
    {
        if (err != PROSEC_OK) {
            break;
        }
        if (!json_is_integer(v)) {
            err = PROSEC_ERR_KEYREQ_FIELD;
        } else if (json_integer_value(v) < 0 ||
                   json_integer_value(v) > ALG_MAX ||
                   (*mask >> json_integer_value(v) & 1) != 0) {
            err = PROSEC_ERR_KEYREQ_RANGE;
        } else {
            *mask = (uint8_t)(*mask | 1u << json_integer_value(v));
        }
    }
    return err;
}

static prosec_err parse_request(json_t *root, struct prosec_key_request *r)
{
    json_t *groups = NULL, *addr, *g;
    json_int_t tid = 0;
    size_t i;
    prosec_err err = get_int(root, "transaction_id", 0, 255, &tid);

    r->transaction_id = (uint8_t)tid;
    if (err == PROSEC_OK) {
        err = get_array(root, "groups", PROSEC_KEYREQ_GROUPS_MAX, &groups);
    }
    json_array_foreach(groups, i, g)
    {
        struct prosec_keyreq_group *cur = &r->groups[i];

        if (err == PROSEC_OK) {
            err = parse_req_group(g, cur);
        }
        for (size_t j = 0; err == PROSEC_OK && j < i; j++) {
            if (same_ref(r->groups[j].group_id, r->groups[j].name,
                         cur->group_id, cur->name)) {
                err = PROSEC_ERR_KEYREQ_RANGE;
            }
        }
        r->n_groups = i + 1;
    }
    if (err == PROSEC_OK) {
        err = parse_algs(root, &r->algorithms);
    }
    addr = json_object_get(root, "mikey_address");
    if (err == PROSEC_OK && !json_is_string(addr)) {
        err = PROSEC_ERR_KEYREQ_FIELD;
    } else if (err == PROSEC_OK &&
               (json_string_length(addr) > PROSEC_KEYREQ_ADDR_MAX ||
                !addr_ok(json_string_value(addr)))) {
        err = PROSEC_ERR_KEYREQ_RANGE;
    } else if (err == PROSEC_OK) {
        memcpy(r->mikey_address, json_string_value(addr),
               json_string_length(addr) + 1);
    }
    r->has_pmk_id = json_object_get(root, "pmk_id") != NULL;
    if (err == PROSEC_OK && r->has_pmk_id) {
        err = get_id32(root, "pmk_id", &r->pmk_id);
    }
    return err;
}

prosec_err prosec_key_request_parse(const char *json, size_t len,
                                    struct prosec_key_request *out)
{
    struct prosec_key_request r;
    json_t *root = NULL;
    prosec_err err;

    if (json == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = load(json, len, "KEY_REQUEST", request_keys, &root);
    if (err != PROSEC_OK) {
        return err;
    }
    memset(&r, 0, sizeof(r));
    err = parse_request(root, &r);
    json_decref(root);
    if (err == PROSEC_OK) {
        *out = r;
    }
    return err;
}

/* The rules of the format, for encoders. */
static bool request_ok(const struct prosec_key_request *r)
{
    if (r->n_groups > PROSEC_KEYREQ_GROUPS_MAX || r->algorithms == 0 ||
        r->algorithms > 0xF || !addr_ok(r->mikey_address)) {
        return false;
    }
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct prosec_keyreq_group *g = &r->groups[i];
        size_t name_len = strnlen(g->name, sizeof(g->name));

        if ((name_len == 0 ? g->group_id > 0xFFFFFF
                           : !name_ok(g->name, name_len)) ||
            g->n_pgk_ids > PROSEC_KEYREQ_PGK_IDS_MAX) {
            return false;
        }
        for (size_t j = 0; j < g->n_pgk_ids; j++) {
            if (memchr(g->pgk_ids, g->pgk_ids[j], j) != NULL) {
                return false;
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (same_ref(r->groups[j].group_id, r->groups[j].name, g->group_id,
                         g->name)) {
                return false;
            }
        }
    }
    return true;
}

prosec_err prosec_key_request_encode(const struct prosec_key_request *r,
                                     char **out)
{
    json_t *root, *groups, *algs;
    bool ok;

    if (r == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!request_ok(r)) {
        return PROSEC_ERR_ARG;
    }
    root = new_message("KEY_REQUEST", r->transaction_id, &ok);
    groups = json_array();
    for (size_t i = 0; groups != NULL && i < r->n_groups; i++) {
        const struct prosec_keyreq_group *g = &r->groups[i];
        json_t *o = json_object(), *ids = json_array();

        if (g->name[0] != '\0') {
            set(o, "group_name", json_string(g->name), &ok);
        } else {
            set(o, "group_id", hex_value(g->group_id, GROUP_HEX), &ok);
        }
        for (size_t j = 0; ids != NULL && j < g->n_pgk_ids; j++) {
            append(ids, json_integer(g->pgk_ids[j]), &ok);
        }
        set(o, "pgk_ids", ids, &ok);
        append(groups, o, &ok);
    }
    set(root, "groups", groups, &ok);
    algs = json_array();
    for (int a = 0; algs != NULL && a <= ALG_MAX; a++) {
        if ((r->algorithms >> a & 1) != 0) {
            append(algs, json_integer(a), &ok);
        }
    }
    set(root, "supported_algorithms", algs, &ok);
    set(root, "mikey_address", json_string(r->mikey_address), &ok);
    if (r->has_pmk_id) {
        set(root, "pmk_id", hex_value(r->pmk_id, PMK_ID_HEX), &ok);
    }
    return finish(root, ok && root != NULL, "", out);
}

/* ---- key response ------------------------------------------------------ */

static const char *const response_keys[] = {
    "message", "version", "transaction_id", "groups", "pmk",
    "pmk_id",  "pruk",    "pruk_id",        NULL};
static const char *const response_group_keys[] = {
    "group_id",       "group_name", "error_code", "group_member_id",
    "algorithm_info", "profile",    "bearer",     NULL};

/* Looks name up in a table of n strings; -1 when absent. */
static int lookup(const char *const *table, size_t n, json_t *v)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i] != NULL && strcmp(table[i], json_string_value(v)) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static prosec_err parse_error_code(json_t *g, struct prosec_keyresp_group *out)
{
    json_t *v = json_object_get(g, "error_code");
    int code;

    if (!json_is_string(v)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    code = lookup(error_names, sizeof(error_names) / sizeof(error_names[0]), v);
    if (code <= 0) {
        return PROSEC_ERR_KEYREQ_RANGE;
    }
    out->error = (enum prosec_keyresp_error)code;
    /* A failed group carries nothing else. */
    if (json_object_get(g, "group_member_id") != NULL ||
        json_object_get(g, "algorithm_info") != NULL ||
        json_object_get(g, "profile") != NULL ||
        json_object_get(g, "bearer") != NULL) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    return PROSEC_OK;
}

static prosec_err parse_grant(json_t *g, struct prosec_keyresp_group *out)
{
    json_t *profile = json_object_get(g, "profile");
    json_int_t alg = 0, bearer = 0;
    int p = -1;
    prosec_err err = out->has_group_id ? PROSEC_OK : PROSEC_ERR_KEYREQ_FIELD;

    if (err == PROSEC_OK) {
        err = get_id24(g, "group_member_id", &out->member_id);
    }
    if (err == PROSEC_OK) {
        err = get_int(g, "algorithm_info", 0, ALG_MAX, &alg);
    }
    if (err == PROSEC_OK && !json_is_string(profile)) {
        err = PROSEC_ERR_KEYREQ_FIELD;
    }
    if (err == PROSEC_OK) {
        p = lookup(profile_names, 2, profile);
        err = p < 0 ? PROSEC_ERR_KEYREQ_RANGE : PROSEC_OK;
    }
    if (err == PROSEC_OK) {
        err = get_int(g, "bearer", 0, BEARER_MAX, &bearer);
    }
    out->alg = (uint8_t)alg;
    out->profile = (uint8_t)(p < 0 ? 0 : p);
    out->bearer = (uint8_t)bearer;
    return err;
}

static prosec_err parse_resp_group(json_t *g, struct prosec_keyresp_group *out)
{
    prosec_err err;

    if (!json_is_object(g)) {
        return PROSEC_ERR_KEYREQ_FIELD;
    }
    err = only_keys(g, response_group_keys);
    out->has_group_id = json_object_get(g, "group_id") != NULL;
    if (err == PROSEC_OK && out->has_group_id) {
        err = get_id24(g, "group_id", &out->group_id);
    }
    if (err == PROSEC_OK && json_object_get(g, "group_name") != NULL) {
        err = get_name(g, "group_name", out->name);
    }
    if (err == PROSEC_OK && !out->has_group_id && out->name[0] == '\0') {
        err = PROSEC_ERR_KEYREQ_FIELD;
    }
    if (err != PROSEC_OK) {
        return err;
    }
    return json_object_get(g, "error_code") != NULL ? parse_error_code(g, out)
                                                    : parse_grant(g, out);
}

/* Do response groups a and b name the same group? */
static bool same_resp_group(const struct prosec_keyresp_group *a,
                            const struct prosec_keyresp_group *b)
{
    return (a->has_group_id && b->has_group_id && a->group_id == b->group_id) ||
           (a->name[0] != '\0' && strcmp(a->name, b->name) == 0);
}

static prosec_err parse_keys(json_t *root, struct prosec_key_response *r)
{
    prosec_err err = pair(root, "pmk", "pmk_id", &r->has_pmk);

    if (err == PROSEC_OK) {
        err = pair(root, "pruk", "pruk_id", &r->has_pruk);
    }
    /* Keys first, so that their JSON copies are wiped whatever fails. */
    if (json_object_get(root, "pmk") != NULL) {
        prosec_err e = get_secret(root, "pmk", r->pmk, sizeof(r->pmk));

        err = err != PROSEC_OK ? err : e;
    }
    if (json_object_get(root, "pruk") != NULL) {
        prosec_err e = get_secret(root, "pruk", r->pruk, sizeof(r->pruk));

        err = err != PROSEC_OK ? err : e;
    }
    if (err == PROSEC_OK && r->has_pmk) {
        err = get_id32(root, "pmk_id", &r->pmk_id);
    }
    if (err == PROSEC_OK && r->has_pruk) {
        err = get_hex(root, "pruk_id", r->pruk_id, sizeof(r->pruk_id));
    }
    return err;
}

static prosec_err parse_response(json_t *root, struct prosec_key_response *r)
{
    json_t *groups = NULL, *g;
    json_int_t tid = 0;
    size_t i;
    prosec_err err = parse_keys(root, r);

    if (err == PROSEC_OK) {
        err = get_int(root, "transaction_id", 0, 255, &tid);
    }
    r->transaction_id = (uint8_t)tid;
    if (err == PROSEC_OK) {
        err = get_array(root, "groups", PROSEC_KEYREQ_GROUPS_MAX, &groups);
    }
    json_array_foreach(groups, i, g)
    {
        if (err == PROSEC_OK) {
            err = parse_resp_group(g, &r->groups[i]);
        }
        for (size_t j = 0; err == PROSEC_OK && j < i; j++) {
            if (same_resp_group(&r->groups[j], &r->groups[i])) {
                err = PROSEC_ERR_KEYREQ_RANGE;
            }
        }
        r->n_groups = i + 1;
    }
    return err;
}

prosec_err prosec_key_response_parse(const char *json, size_t len,
                                     struct prosec_key_response *out)
{
    struct prosec_key_response r;
    json_t *root = NULL;
    prosec_err err;

    if (json == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = load(json, len, "KEY_RESPONSE", response_keys, &root);
    if (err != PROSEC_OK) {
        return err;
    }
    memset(&r, 0, sizeof(r));
    err = parse_response(root, &r);
    json_decref(root);
    if (err == PROSEC_OK) {
        *out = r;
    }
    prosec_wipe(&r, sizeof(r));
    return err;
}

static bool response_ok(const struct prosec_key_response *r)
{
    if (r->n_groups > PROSEC_KEYREQ_GROUPS_MAX) {
        return false;
    }
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct prosec_keyresp_group *g = &r->groups[i];
        size_t name_len = strnlen(g->name, sizeof(g->name));

        if ((g->has_group_id && g->group_id > 0xFFFFFF) ||
            (name_len > 0 && !name_ok(g->name, name_len)) ||
            (!g->has_group_id && name_len == 0) ||
            (unsigned)g->error > PROSEC_KEYRESP_NO_COMMON_ALG) {
            return false;
        }
        if (g->error == PROSEC_KEYRESP_OK &&
            (!g->has_group_id || g->member_id > 0xFFFFFF || g->alg > ALG_MAX ||
             g->profile > 1 || g->bearer > BEARER_MAX)) {
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (same_resp_group(&r->groups[j], g)) {
                return false;
            }
        }
    }
    return true;
}

static json_t *resp_group(const struct prosec_keyresp_group *g, bool *ok)
{
    json_t *o = json_object();

    if (o == NULL) {
        *ok = false;
        return NULL;
    }
    if (g->has_group_id) {
        set(o, "group_id", hex_value(g->group_id, GROUP_HEX), ok);
    }
    if (g->name[0] != '\0') {
        set(o, "group_name", json_string(g->name), ok);
    }
    if (g->error != PROSEC_KEYRESP_OK) {
        set(o, "error_code", json_string(error_names[g->error]), ok);
        return o;
    }
    set(o, "group_member_id", hex_value(g->member_id, GROUP_HEX), ok);
    set(o, "algorithm_info", json_integer(g->alg), ok);
    set(o, "profile", json_string(profile_names[g->profile]), ok);
    set(o, "bearer", json_integer(g->bearer), ok);
    return o;
}

/* ,"pmk":"..","pmk_id":"..","pruk":"..","pruk_id":"..": text we wipe. */
static void secret_text(const struct prosec_key_response *r,
                        char text[SECRET_TEXT_MAX])
{
    char key[2 * PROSEC_KEYREQ_KEY_LEN + 1];
    char id[2 * PROSEC_KEYREQ_PRUK_ID_LEN + 1];
    size_t n = 0;

    text[0] = '\0';
    if (r->has_pmk) {
        to_hex(key, r->pmk, sizeof(r->pmk));
        n += (size_t)snprintf(text + n, SECRET_TEXT_MAX - n,
                              ",\"pmk\":\"%s\",\"pmk_id\":\"%08lx\"", key,
                              (unsigned long)r->pmk_id);
    }
    if (r->has_pruk) {
        to_hex(key, r->pruk, sizeof(r->pruk));
        to_hex(id, r->pruk_id, sizeof(r->pruk_id));
        snprintf(text + n, SECRET_TEXT_MAX - n,
                 ",\"pruk\":\"%s\",\"pruk_id\":\"%s\"", key, id);
    }
    prosec_wipe(key, sizeof(key));
}

prosec_err prosec_key_response_encode(const struct prosec_key_response *r,
                                      char **out)
{
    char secret[SECRET_TEXT_MAX];
    json_t *root, *groups;
    bool ok;
    prosec_err err;

    if (r == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!response_ok(r)) {
        return PROSEC_ERR_ARG;
    }
    root = new_message("KEY_RESPONSE", r->transaction_id, &ok);
    groups = json_array();
    for (size_t i = 0; groups != NULL && i < r->n_groups; i++) {
        append(groups, resp_group(&r->groups[i], &ok), &ok);
    }
    set(root, "groups", groups, &ok);
    secret_text(r, secret);
    err = finish(root, ok && root != NULL, secret, out);
    prosec_wipe(secret, sizeof(secret));
    return err;
}

/* ---- key release ------------------------------------------------------- */

static const char *const release_keys[] = {
    "message", "version", "transaction_id", "groups", "all", NULL};

static prosec_err parse_release(json_t *root, struct prosec_key_release *r)
{
    json_t *groups = NULL, *all = json_object_get(root, "all"), *g;
    json_int_t tid = 0;
    size_t i;
    prosec_err err = get_int(root, "transaction_id", 0, 255, &tid);

    r->transaction_id = (uint8_t)tid;
    if (err == PROSEC_OK &&
        (all != NULL) == (json_object_get(root, "groups") != NULL)) {
        err = PROSEC_ERR_KEYREQ_FIELD; /* one of the two */
    }
    if (err == PROSEC_OK && all != NULL) {
        err = !json_is_boolean(all) ? PROSEC_ERR_KEYREQ_FIELD
              : !json_is_true(all)  ? PROSEC_ERR_KEYREQ_RANGE
                                    : PROSEC_OK;
        r->all = true;
        return err;
    }
    if (err == PROSEC_OK) {
        err = get_array(root, "groups", PROSEC_KEYREQ_GROUPS_MAX, &groups);
    }
    if (err == PROSEC_OK && json_array_size(groups) == 0) {
        err = PROSEC_ERR_KEYREQ_RANGE;
    }
    json_array_foreach(groups, i, g)
    {
        uint8_t b[3];

        if (err != PROSEC_OK) {
            break;
        }
        if (!json_is_string(g)) {
            err = PROSEC_ERR_KEYREQ_FIELD;
            break;
        }
        if (!from_hex(b, 3, json_string_value(g), json_string_length(g))) {
            err = PROSEC_ERR_KEYREQ_RANGE;
            break;
        }
        r->group_ids[i] = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
        for (size_t j = 0; j < i; j++) {
            if (r->group_ids[j] == r->group_ids[i]) {
                err = PROSEC_ERR_KEYREQ_RANGE;
            }
        }
        r->n_groups = i + 1;
    }
    return err;
}

prosec_err prosec_key_release_parse(const char *json, size_t len,
                                    struct prosec_key_release *out)
{
    struct prosec_key_release r;
    json_t *root = NULL;
    prosec_err err;

    if (json == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = load(json, len, "KEY_RELEASE", release_keys, &root);
    if (err != PROSEC_OK) {
        return err;
    }
    memset(&r, 0, sizeof(r));
    err = parse_release(root, &r);
    json_decref(root);
    if (err == PROSEC_OK) {
        *out = r;
    }
    return err;
}

prosec_err prosec_key_release_encode(const struct prosec_key_release *r,
                                     char **out)
{
    json_t *root, *groups;
    bool ok;

    if (r == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (r->all ? r->n_groups != 0
               : r->n_groups == 0 || r->n_groups > PROSEC_KEYREQ_GROUPS_MAX) {
        return PROSEC_ERR_ARG;
    }
    for (size_t i = 0; i < r->n_groups; i++) {
        for (size_t j = 0; j < i; j++) {
            if (r->group_ids[j] == r->group_ids[i]) {
                return PROSEC_ERR_ARG;
            }
        }
        if (r->group_ids[i] > 0xFFFFFF) {
            return PROSEC_ERR_ARG;
        }
    }
    root = new_message("KEY_RELEASE", r->transaction_id, &ok);
    if (r->all) {
        set(root, "all", json_true(), &ok);
        return finish(root, ok && root != NULL, "", out);
    }
    groups = json_array();
    for (size_t i = 0; groups != NULL && i < r->n_groups; i++) {
        append(groups, hex_value(r->group_ids[i], GROUP_HEX), &ok);
    }
    set(root, "groups", groups, &ok);
    return finish(root, ok && root != NULL, "", out);
}
