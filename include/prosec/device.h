/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device side of key delivery (DESIGN.md "Key delivery"): the
 * enrolment bundle, the key request and key release over HTTPS, and the
 * handling of the KMF's MIKEY pushes (check, store, answer), keeping a key
 * ring per group.  The device agent (prosec device agent) is built on
 * this with its keystore and sockets; tests drive it directly as a real
 * device.  Not safe for two threads at once.
 *
 * Storing is the application's: every change of keys goes through the
 * hooks, which must make it durable before returning PROSEC_OK; a push is
 * answered only after its hook returned PROSEC_OK.
 */
#ifndef PROSEC_DEVICE_H
#define PROSEC_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "error.h"
#include "group.h"

enum {
    PROSEC_DEVICE_GROUPS_MAX = 32, /* groups one device is in */
    PROSEC_DEVICE_NAME_MAX = 64,
    PROSEC_DEVICE_URI_MAX = 255,
    PROSEC_DEVICE_ADDR_MAX = 63
};

/* What an enrolment bundle holds (prosec kmf device add --out). */
struct prosec_device_cred {
    char name[PROSEC_DEVICE_NAME_MAX + 1];
    char uri[PROSEC_DEVICE_URI_MAX + 1];
    char kmf_uri[PROSEC_DEVICE_URI_MAX + 1];
    char kmf_address[PROSEC_DEVICE_ADDR_MAX + 1];
    char *ca_pem, *cert_pem, *key_pem; /* malloc'd; key_pem is secret */
    bool has_pruk;  /* the relay user key (TS 33.303 6.7), from the KMF */
    uint8_t pruk[32];
    uint8_t pruk_id[8];
};

/*
 * Parses a bundle (JSON, len octets) into *out.  Errors: PROSEC_ERR_ARG
 * (not a bundle, a field missing or malformed: the detail names it),
 * PROSEC_ERR_NOMEM.  Free with prosec_device_cred_wipe.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_cred_parse(
    const char *json, size_t len, struct prosec_device_cred *out);
/* Wipes and frees the strings of c (not c itself). */
PROSEC_API void prosec_device_cred_wipe(struct prosec_device_cred *c);

/* A group as the device knows it. */
struct prosec_device_group {
    uint32_t group_id;
    char name[PROSEC_DEVICE_NAME_MAX + 1]; /* "" until a key response */
    uint32_t member_id;
    uint8_t alg, profile, bearer;
};

/* Durable storage, implemented by the application (all may be NULL in a
 * test that stores nothing).  Each returns PROSEC_OK once it is durable. */
struct prosec_device_hooks {
    prosec_err (*save_pmk)(void *ctx, uint32_t pmk_id, const uint8_t pmk[32]);
    prosec_err (*save_group)(void *ctx, const struct prosec_device_group *g);
    prosec_err (*save_pgk)(void *ctx, uint32_t group_id,
                           const struct prosec_pgk *pgk);
    prosec_err (*revoke_pgk)(void *ctx, uint32_t group_id, uint8_t pgk_id);
    void *ctx;
    /* a PRUK from a key response (may be NULL) */
    prosec_err (*save_pruk)(void *ctx, const uint8_t pruk_id[8],
                            const uint8_t pruk[32]);
    /* around the network wait of a key request or release, so that other
     * threads may use the device meanwhile (may be NULL): the caller
     * holds its lock on entry, unlock lets it go, relock takes it back */
    void (*unlock)(void *ctx);
    void (*relock)(void *ctx);
};

struct prosec_device;

/*
 * A device with cred (copied) and hooks.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_ARG, PROSEC_ERR_NOMEM, PROSEC_ERR_TLS (the credential does
 * not load).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_new(
    struct prosec_device **out, const struct prosec_device_cred *cred,
    const struct prosec_device_hooks *hooks);
/* Wipes every key and frees; NULL does nothing. */
PROSEC_API void prosec_device_free(struct prosec_device *d);

/* Restoring from storage (no hook is called). */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_restore_pmk(
    struct prosec_device *d, uint32_t pmk_id, const uint8_t pmk[32]);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_restore_group(
    struct prosec_device *d, const struct prosec_device_group *g);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_restore_pgk(
    struct prosec_device *d, uint32_t group_id, const struct prosec_pgk *p);

/*
 * Connects to the KMF through addr (HOST:PORT, a relay) instead of the
 * bundle's address, TLS still end to end with the KMF; NULL: directly.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_device_via(struct prosec_device *d, const char *addr);

/* The answer of a key request, per group. */
struct prosec_device_sync {
    size_t n_groups;
    struct {
        struct prosec_device_group g;
        int error; /* enum prosec_keyresp_error: 0 ok */
    } groups[PROSEC_DEVICE_GROUPS_MAX];
    bool new_pmk;
};

/*
 * Key request (TS 33.303 6.2.3.3): asks for groups (names or 6-hex-digit
 * Group IDs; n 0: every group the device is a member of), telling the KMF
 * the PGK IDs held, the algorithms supported and mikey_addr (IP:PORT)
 * where pushes are taken.  A fresh PMK in the answer is saved (hook)
 * before this returns.  *out (may be NULL) gets the answer.
 * Errors: PROSEC_ERR_UNREACHABLE, PROSEC_ERR_TLS, PROSEC_ERR_DENIED (the
 * KMF refused: detail), PROSEC_ERR_PROTOCOL, the hooks' errors.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_key_request(
    struct prosec_device *d, const char *const *groups, size_t n,
    const char *mikey_addr, long timeout_ms, struct prosec_device_sync *out);

/* Key release: the KMF stops pushing to this device. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_device_key_release(struct prosec_device *d, long timeout_ms);

/* What one MIKEY message did. */
enum prosec_device_push_result {
    PROSEC_DEVICE_PUSH_STORED,  /* a PGK, new or again */
    PROSEC_DEVICE_PUSH_REVOKED, /* a PGK deleted */
};

/*
 * Handles one datagram from the KMF at Unix time now: structure, the PMK
 * by PMK ID, MAC, identities (ours and our KMF's), timestamp window and
 * replay cache, then the change, stored through the hooks, then
 * *reply (capacity cap, *reply_len) gets the verification message to send
 * back to the datagram's source.  *what (may be NULL) says what happened;
 * group_id and pgk_id (may be NULL) which key.
 * Errors: PROSEC_ERR_MIKEY_* (the message was refused: nothing changed,
 * nothing to answer), PROSEC_ERR_DENIED (not for us, or from another
 * KMF), PROSEC_ERR_NOT_FOUND (no PMK of that ID: a key request may be in
 * flight), the hooks' errors (nothing answered: the KMF will retry).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_mikey_input(
    struct prosec_device *d, const uint8_t *msg, size_t len, int64_t now,
    uint8_t *reply, size_t cap, size_t *reply_len,
    enum prosec_device_push_result *what, uint32_t *group_id, uint8_t *pgk_id);

/* The groups known, and the key ring of one (NULL when unknown). */
PROSEC_API size_t prosec_device_group_count(const struct prosec_device *d);
PROSEC_API const struct prosec_device_group *
prosec_device_group_at(const struct prosec_device *d, size_t i);
PROSEC_API struct prosec_keyring *prosec_device_keyring(struct prosec_device *d,
                                                        uint32_t group_id);
/* A group by name or 6-hex-digit Group ID; NULL when unknown. */
PROSEC_API const struct prosec_device_group *
prosec_device_group_find(const struct prosec_device *d, const char *name);

/*
 * A relay's request to the KMF for the KD of the remote device with
 * pruk_id, bound to the freshness the relay chose (TS 33.303 6.7.3), over
 * its own HTTPS connection (safe beside a key request in another thread).
 * *kd gets the key; remote (capacity cap, may be NULL) the device's name.
 * Errors: PROSEC_ERR_UNREACHABLE, PROSEC_ERR_TLS, PROSEC_ERR_NOT_FOUND (no
 * device with that PRUK ID), PROSEC_ERR_DENIED (revoked, or we may not
 * relay), PROSEC_ERR_PROTOCOL; detail set.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_device_kd_request(
    const struct prosec_device *d, const uint8_t pruk_id[8],
    const uint8_t freshness[16], long timeout_ms, uint8_t kd[32],
    char *remote, size_t cap);

/* The PRUK held (false when none). */
PROSEC_API bool prosec_device_pruk(const struct prosec_device *d,
                                   uint8_t pruk[32], uint8_t pruk_id[8]);

/* The PMK ID held, 0 when none. */
PROSEC_API uint32_t prosec_device_pmk_id(const struct prosec_device *d);
PROSEC_API const struct prosec_device_cred *
prosec_device_cred(const struct prosec_device *d);

#endif
