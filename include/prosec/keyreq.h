/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key request, key response and key release messages a device
 * exchanges with the KMF over HTTPS (DESIGN.md "Key delivery" item 2), as
 * JSON.  Field names follow the information elements of TS 33.303 Annex E
 * (Transaction ID, Group ID, PGK ID, Supported Algorithm, Error Code,
 * Group Member ID, Algorithm Info, PMK ID, PMK, PRUK ID, PRUK); docs/wire.md
 * has the mapping and an example of each message.
 *
 * Parsing is strict: the input is at most PROSEC_KEYREQ_JSON_MAX octets of
 * UTF-8 JSON with no duplicate keys; the message type and version must be
 * known; every field must have its type and range; unknown fields are
 * refused.  The first problem found decides the error:
 *   PROSEC_ERR_KEYREQ_TOO_LARGE  longer than PROSEC_KEYREQ_JSON_MAX
 *   PROSEC_ERR_KEYREQ_SYNTAX     not JSON (or a duplicate key, a NUL)
 *   PROSEC_ERR_KEYREQ_VERSION    another "message" or "version"
 *   PROSEC_ERR_KEYREQ_FIELD      a field missing, unknown or of a wrong type
 *   PROSEC_ERR_KEYREQ_RANGE      a value out of range, badly formed or
 *                                repeated where it must be unique
 *   PROSEC_ERR_KEYREQ_LIMIT      more entries than the structs hold
 * Out-parameters are set only on success.
 *
 * Encoders check the struct by the same rules (PROSEC_ERR_ARG when it
 * breaks one) and return a NUL-terminated string allocated here; free it
 * with prosec_key_json_free, which wipes it first (a response may hold a
 * PMK or PRUK).
 *
 * Keys and Jansson: a key never enters Jansson when encoding; its hex is
 * written into the output buffer directly.  When parsing, Jansson copies
 * each string token into its own buffers; the parser wipes the string
 * value of a key before releasing it, but Jansson's lexer buffers are
 * freed without wiping unless prosec_key_json_harden was called.  The
 * caller owns (and should wipe) the input text.
 */
#ifndef PROSEC_KEYREQ_H
#define PROSEC_KEYREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "error.h"

enum prosec_keyreq_limits {
    PROSEC_KEYREQ_VERSION = 1,      /* the "version" this code speaks */
    PROSEC_KEYREQ_JSON_MAX = 65536, /* octets of JSON accepted */
    PROSEC_KEYREQ_GROUPS_MAX = 32,  /* groups per message */
    PROSEC_KEYREQ_PGK_IDS_MAX = 32, /* PGK IDs held, per group */
    PROSEC_KEYREQ_NAME_MAX = 63,    /* group name: [A-Za-z0-9._-] */
    PROSEC_KEYREQ_ADDR_MAX = 63,    /* "a.b.c.d:port" or "[v6]:port" */
    PROSEC_KEYREQ_KEY_LEN = 32,     /* PMK, PRUK */
    PROSEC_KEYREQ_PRUK_ID_LEN = 8   /* PRUK ID, octets */
};

/* ---- key request: device to KMF ---------------------------------------- */

/*
 * A group the device wants keys for, by Group ID or by name: name is ""
 * for a request by Group ID (24 bits).  pgk_ids are the PGK IDs of the
 * group the device already holds (unique).
 */
struct prosec_keyreq_group {
    uint32_t group_id;
    char name[PROSEC_KEYREQ_NAME_MAX + 1];
    size_t n_pgk_ids;
    uint8_t pgk_ids[PROSEC_KEYREQ_PGK_IDS_MAX];
};

struct prosec_key_request {
    uint8_t transaction_id; /* chosen by the device, echoed back */
    size_t n_groups;        /* 0 asks for nothing but a PMK */
    struct prosec_keyreq_group groups[PROSEC_KEYREQ_GROUPS_MAX];
    uint8_t algorithms; /* bit i set: 128-EEAi supported (bits 0..3) */
    /* where the device takes MIKEY pushes: "192.0.2.7:5304" or
     * "[2001:db8::7]:5304" (port 1..65535) */
    char mikey_address[PROSEC_KEYREQ_ADDR_MAX + 1];
    bool has_pmk_id; /* the device holds a PMK */
    uint32_t pmk_id;
};

/* ---- key response: KMF to device --------------------------------------- */

/* Error Code of a group in a response. */
enum prosec_keyresp_error {
    PROSEC_KEYRESP_OK = 0,            /* the group's fields are valid */
    PROSEC_KEYRESP_NOT_MEMBER = 1,    /* "not_member" */
    PROSEC_KEYRESP_UNKNOWN_GROUP = 2, /* "unknown_group" */
    PROSEC_KEYRESP_NO_COMMON_ALG = 3  /* "no_common_algorithm" */
};

/*
 * The answer for one requested group.  It names the group by Group ID
 * (has_group_id), by name (name not ""), or both; a successful entry
 * always has the Group ID.  member_id, alg, profile and bearer are set
 * when error is PROSEC_KEYRESP_OK, and zero otherwise.
 */
struct prosec_keyresp_group {
    bool has_group_id;
    uint32_t group_id;
    char name[PROSEC_KEYREQ_NAME_MAX + 1];
    enum prosec_keyresp_error error;
    uint32_t member_id; /* Group Member ID, 24 bits */
    uint8_t alg;        /* Algorithm Info: EEA id 0..3 */
    uint8_t profile;    /* 0 = ts33303, 1 = integrity */
    uint8_t bearer;     /* 0..31 */
};

struct prosec_key_response {
    uint8_t transaction_id;
    size_t n_groups;
    struct prosec_keyresp_group groups[PROSEC_KEYREQ_GROUPS_MAX];
    bool has_pmk; /* a fresh PMK and its PMK ID */
    uint8_t pmk[PROSEC_KEYREQ_KEY_LEN];
    uint32_t pmk_id;
    /* the relay user key (TS 33.303 6.7), for relays: relay.h */
    bool has_pruk;
    uint8_t pruk[PROSEC_KEYREQ_KEY_LEN];
    uint8_t pruk_id[PROSEC_KEYREQ_PRUK_ID_LEN];
};

/* ---- key release: device to KMF ---------------------------------------- */

/* Stop pushing keys of these groups (or of all groups) to the device. */
struct prosec_key_release {
    uint8_t transaction_id;
    bool all;        /* then n_groups is 0 */
    size_t n_groups; /* 1..PROSEC_KEYREQ_GROUPS_MAX unless all */
    uint32_t group_ids[PROSEC_KEYREQ_GROUPS_MAX]; /* unique, 24 bits */
};

/*
 * Encoders: *out gets the JSON text (compact, fields in a fixed order).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (the struct breaks a rule of
 * the format), PROSEC_ERR_NOMEM.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_key_request_encode(const struct prosec_key_request *r, char **out);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_key_response_encode(const struct prosec_key_response *r, char **out);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_key_release_encode(const struct prosec_key_release *r, char **out);

/*
 * Parsers of len octets of JSON at json (need not be NUL-terminated).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_NOMEM and those listed at the top.
 * A parsed response holds keys: wipe it with prosec_key_response_wipe.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_key_request_parse(
    const char *json, size_t len, struct prosec_key_request *out);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_key_response_parse(
    const char *json, size_t len, struct prosec_key_response *out);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_key_release_parse(
    const char *json, size_t len, struct prosec_key_release *out);

/* Wipes the whole struct (its keys with it). */
PROSEC_API void prosec_key_response_wipe(struct prosec_key_response *r);

/* Wipes a string from an encoder and frees it; NULL does nothing. */
PROSEC_API void prosec_key_json_free(char *s);

/*
 * Makes Jansson wipe every block it frees, so that the copies its lexer
 * makes of a PMK's hex do not outlive the parse.  It sets Jansson's
 * allocator, which is global to the process: call it once, at start-up,
 * before other threads use Jansson (the KMF and the device agent do).
 * The library never calls it by itself.  Blocks Jansson allocated before
 * are still freed correctly (the wipe asks malloc for their size).
 * Errors: PROSEC_ERR_ARG when the application installed its own Jansson
 * allocator, which is left in place.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_key_json_harden(void);

#endif
