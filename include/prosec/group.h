/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group protection of one-to-many traffic (TS 33.303 6.2.3, DESIGN.md
 * "One-to-many PDU"): the key ring of a group, the sender that allocates
 * PTK IDs and protects PDUs, and the receiver that opens them, with a
 * replay window.  Times are Unix seconds passed in by the caller, so the
 * library never reads a clock.  No object here is safe for two threads at
 * once; use one per thread or lock around it.
 *
 * Profiles: `ts33303` is the standard (ciphering only); `integrity`
 * (beyond TS 33.303, the default) appends MAC-I = EIA(PIK, COUNT, BEARER,
 * 0, header || data) to the data and ciphers data || MAC-I.
 */
#ifndef PROSEC_GROUP_H
#define PROSEC_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "constants.h"
#include "crypto.h"
#include "error.h"
#include "wire.h"

enum prosec_profile {
    PROSEC_PROFILE_TS33303 = 0,
    PROSEC_PROFILE_INTEGRITY = 1
};

/* "ts33303" or "integrity".  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_profile_parse(const char *name, enum prosec_profile *out);
PROSEC_API const char *prosec_profile_name(enum prosec_profile p);

/* A ProSe Group Key with what a device must know about it. */
struct prosec_pgk {
    uint8_t key[PROSEC_PGK_LEN];
    uint8_t pgk_id;     /* 8 bits; its 5 low bits are the PGK index */
    int64_t activation; /* valid from (Unix seconds) */
    int64_t expiry;     /* valid until, exclusive; > activation */
    uint8_t alg;        /* EEA id 0..3; integrity uses the EIA of the same
                           number, so the integrity profile needs 1..3 */
    enum prosec_profile profile;
    uint8_t bearer;     /* BEARER input, 0..31: 0, or the group's LCID */
    uint32_t member_id; /* this device's Group Member ID in the group */
};

/* The ProSe keys of one (sender, PGK, PTK ID): PEK and PIK, prepared. */
struct prosec_ptk_keys;

/*
 * Derives PTK = KDF(PGK, member_id, ptk_id, group_id) and from it the PEK
 * (and the PIK in the integrity profile) for pgk's algorithm, prepared on
 * backend b.  member_id is the sender's Group Member ID.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ALG_ID, PROSEC_ERR_L2_ID,
 * PROSEC_ERR_ARG (PTK ID 0), PROSEC_ERR_NOMEM, backend and KDF errors.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_ptk_keys_new(struct prosec_ptk_keys **out, const struct prosec_pgk *pgk,
                    uint32_t group_id, uint32_t member_id, uint16_t ptk_id,
                    enum prosec_backend b);
/* Wipes and frees; NULL does nothing. */
PROSEC_API void prosec_ptk_keys_free(struct prosec_ptk_keys *k);

/*
 * Protects data (len octets, at most PROSEC_PDU_DATA_MAX) into a PDU in out
 * (capacity cap; it needs len + 5, plus 4 in the integrity profile) with
 * the header h; *out_len gets the PDU's length.  Stateless: the caller
 * owns PTK ID and SN allocation (see struct prosec_sender).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (header fields, PTK ID 0, data
 * too long), PROSEC_ERR_BUFFER, algorithm errors.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pdu_protect(
    const struct prosec_ptk_keys *k, const struct prosec_pdu_hdr *h,
    const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Opens a PDU with keys already chosen for its sender and PTK ID: deciphers
 * and, in the integrity profile, checks MAC-I in constant time; only then
 * is anything written to out (capacity cap), *out_len set and *h filled.
 * No replay check: that is the receiver's.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_MALFORMED, PROSEC_ERR_UNPROTECTED (PTK ID 0),
 * PROSEC_ERR_MAC, PROSEC_ERR_BUFFER, algorithm errors.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pdu_unprotect(
    const struct prosec_ptk_keys *k, const uint8_t *pdu, size_t len,
    struct prosec_pdu_hdr *h, uint8_t *out, size_t cap, size_t *out_len);

/* ---- key ring -------------------------------------------------------- */

enum {
    PROSEC_KEYRING_MAX = 64,         /* PGKs and tombstones held */
    PROSEC_KEYRING_SKEW_DEFAULT = 30 /* seconds */
};

/* PROSEC_KEYRING_TESTING: the group was made for testing: EEA0 allowed. */
enum { PROSEC_KEYRING_TESTING = 1 };

/* The state of a PGK in the ring at a given time. */
enum prosec_pgk_state {
    PROSEC_PGK_PENDING,   /* not yet active */
    PROSEC_PGK_ACTIVE,    /* usable */
    PROSEC_PGK_EXHAUSTED, /* active, but no PTK ID left to send with */
    PROSEC_PGK_EXPIRED,   /* key wiped, kept as a tombstone */
    PROSEC_PGK_REVOKED    /* key wiped, kept as a tombstone */
};
PROSEC_API const char *prosec_pgk_state_name(enum prosec_pgk_state s);

/* A PGK without its key, for status displays. */
struct prosec_pgk_info {
    uint8_t pgk_id;
    int64_t activation, expiry;
    uint8_t alg;
    enum prosec_profile profile;
    uint32_t member_id;
    enum prosec_pgk_state state;
};

struct prosec_keyring;

/* A ring for the group group_id (24 bits).  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_L2_ID, PROSEC_ERR_NOMEM. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keyring_new(
    struct prosec_keyring **out, uint32_t group_id, unsigned flags);
/* Wipes every key and frees; NULL does nothing. */
PROSEC_API void prosec_keyring_free(struct prosec_keyring *kr);
PROSEC_API uint32_t prosec_keyring_group(const struct prosec_keyring *kr);

/* Clock-skew allowance of lookups for receiving (default 30 s). */
PROSEC_API void prosec_keyring_set_skew(struct prosec_keyring *kr,
                                        uint32_t seconds);

/*
 * Adds a copy of pgk.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (expiry not
 * after activation, bad bearer or member ID), PROSEC_ERR_ALG_ID (alg above
 * 3, or 0 in the integrity profile), PROSEC_ERR_EEA0_FORBIDDEN,
 * PROSEC_ERR_PGK_DUPLICATE (the PGK ID is held, or was revoked),
 * PROSEC_ERR_PGK_INDEX_CLASH (a PGK with the same index, not revoked, is
 * valid for part of the same period), PROSEC_ERR_FULL.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_add(struct prosec_keyring *kr, const struct prosec_pgk *pgk);

/* Wipes the PGK and keeps a tombstone, so that its PDUs are reported as
 * revoked.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_PGK_UNKNOWN. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_revoke(struct prosec_keyring *kr, uint8_t pgk_id);

/* Wipes every PGK whose expiry (plus the skew allowance) has passed at
 * now; returns how many. */
PROSEC_API size_t prosec_keyring_expire(struct prosec_keyring *kr, int64_t now);

/*
 * The PGK to send with at now: active, not exhausted, the earliest expiry.
 * The pointer stays valid until the ring is next changed.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_PGK_EXHAUSTED (every active PGK is),
 * PROSEC_ERR_NO_PGK.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_select(const struct prosec_keyring *kr, int64_t now,
                      const struct prosec_pgk **out);

/*
 * The PGK with this index valid at now within the skew allowance, for
 * receiving.  When none is, the error tells why, in this order:
 * PROSEC_ERR_PGK_NOT_ACTIVE, PROSEC_ERR_PGK_REVOKED, PROSEC_ERR_PGK_EXPIRED,
 * PROSEC_ERR_PGK_UNKNOWN.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_lookup(const struct prosec_keyring *kr, uint8_t index,
                      int64_t now, const struct prosec_pgk **out);

/*
 * A number that changes whenever a PGK is added, revoked or wiped, so that
 * holders of derived state (the receiver's caches) know to drop it.
 */
PROSEC_API uint64_t prosec_keyring_generation(const struct prosec_keyring *kr);

/* True when the ring holds pgk_id with its key (not revoked or wiped). */
PROSEC_API bool prosec_keyring_holds(const struct prosec_keyring *kr,
                                     uint8_t pgk_id);

/*
 * Removes pgk_id from the ring entirely, key wiped, tombstone and all (a
 * device undoing a change its storage refused, or making room for a PGK
 * ID its KMF gives again).  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_PGK_UNKNOWN.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_forget(struct prosec_keyring *kr, uint8_t pgk_id);

/* Marks a PGK as having no PTK ID left for sending. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_exhaust(struct prosec_keyring *kr, uint8_t pgk_id);

/* The PGKs and tombstones held, and each one's state at now. */
PROSEC_API size_t prosec_keyring_count(const struct prosec_keyring *kr);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keyring_info(const struct prosec_keyring *kr, size_t i, int64_t now,
                    struct prosec_pgk_info *out);

/* ---- sender ------------------------------------------------------------ */

/*
 * Persistence of PTK ID reservations, implemented by the caller (the
 * device agent keeps them in its keystore).  save must make `reserved`
 * durable before it returns PROSEC_OK: the sender uses a PTK ID only once
 * a reservation covering it is saved.  load gives the last saved value for
 * (group, PGK), or 0 when there is none.  Any error makes the send fail
 * with PROSEC_ERR_PERSIST and changes nothing.
 */
typedef prosec_err (*prosec_reserve_save_fn)(void *ctx, uint32_t group_id,
                                             uint8_t pgk_id, uint16_t reserved);
typedef prosec_err (*prosec_reserve_load_fn)(void *ctx, uint32_t group_id,
                                             uint8_t pgk_id,
                                             uint16_t *reserved);

struct prosec_sender_config {
    prosec_reserve_save_fn save;
    prosec_reserve_load_fn load;
    void *ctx;
    uint16_t ahead; /* PTK IDs reserved per save; 0 means 3 */
    enum prosec_backend backend;
};

struct prosec_sender;

/*
 * A sender for the group of kr (which must outlive it), sending as the
 * member_id of each PGK.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_NOMEM.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_sender_new(struct prosec_sender **out, struct prosec_keyring *kr,
                  const struct prosec_sender_config *cfg);
PROSEC_API void prosec_sender_free(struct prosec_sender *s);

/*
 * Protects len octets of data as the next PDU of this device: selects the
 * PGK, takes the next (PTK ID, SN) (a new PTK ID at the first send with a
 * PGK, after every restart and when the SN wraps; saving a reservation
 * first when needed), and protects.  A PGK whose PTK IDs run out is
 * marked exhausted and the next one is used.  out needs len + 9 octets.
 * Errors: those of prosec_keyring_select and prosec_pdu_protect, and
 * PROSEC_ERR_PERSIST.  On error nothing was sent and no (PTK ID, SN) used.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_sender_protect(
    struct prosec_sender *s, int64_t now, uint8_t sdu_type, const uint8_t *data,
    size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* ---- receiver ------------------------------------------------------------ */

enum {
    PROSEC_REPLAY_WINDOW = 2048,    /* SNs; the window reaches back so far */
    PROSEC_KEY_CACHE_DEFAULT = 256, /* (sender, PGK, PTK ID) key sets */
    PROSEC_SENDERS_DEFAULT = 1024   /* (sender, PGK) replay states */
};

struct prosec_receiver_config {
    size_t key_cache;   /* 0 means PROSEC_KEY_CACHE_DEFAULT */
    size_t max_senders; /* 0 means PROSEC_SENDERS_DEFAULT */
    enum prosec_backend backend;
};

/* Counters of what a receiver did, by outcome. */
struct prosec_receiver_stats {
    uint64_t accepted;
    uint64_t rejected[PROSEC__ERR_COUNT]; /* indexed by prosec_err */
    uint64_t key_derivations;
    uint64_t evicted_keys, evicted_senders;
};

struct prosec_receiver;

/* A receiver for the group of kr (which must outlive it).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_NOMEM. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_receiver_new(
    struct prosec_receiver **out, const struct prosec_keyring *kr,
    const struct prosec_receiver_config *cfg);
PROSEC_API void prosec_receiver_free(struct prosec_receiver *r);

/*
 * Opens a PDU that sender_id (the frame's source Layer-2 ID) sent to the
 * group: finds the PGK by index, derives or finds the keys, deciphers,
 * verifies MAC-I (integrity profile), and only then checks and updates the
 * replay window of (sender, PGK, PTK ID) and writes the data to out.
 * The window keeps the last PROSEC_REPLAY_WINDOW SNs of the newest PTK ID
 * of each (sender, PGK), and of the one before it; older PTK IDs are too
 * old.  h, if not NULL, gets the header on success.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_MALFORMED, PROSEC_ERR_UNPROTECTED,
 * the key-ring lookup errors, PROSEC_ERR_MAC, PROSEC_ERR_REPLAY,
 * PROSEC_ERR_TOO_OLD, PROSEC_ERR_BUFFER, PROSEC_ERR_NOMEM, algorithm
 * errors.  Every outcome is counted in the stats.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_receiver_unprotect(
    struct prosec_receiver *r, int64_t now, uint32_t sender_id,
    const uint8_t *pdu, size_t len, uint8_t *out, size_t cap, size_t *out_len,
    struct prosec_pdu_hdr *h);

PROSEC_API void prosec_receiver_stats(const struct prosec_receiver *r,
                                      struct prosec_receiver_stats *out);

/*
 * High-water marks, so that a receiver that restarts refuses what it took
 * before: prosec_receiver_marks calls fn for every (sender, PGK) it holds
 * with the newest PTK ID and the highest SN accepted under it; after a
 * restart prosec_receiver_restore_mark makes (sender, PGK) refuse every
 * PDU at or below (ptk_id, sn) (too old, or a replay).  A restored mark of
 * a PGK the ring no longer holds is dropped at the next ring change.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID, PROSEC_ERR_NOMEM.
 */
typedef void (*prosec_mark_fn)(void *ctx, uint32_t sender_id, uint8_t pgk_id,
                               uint16_t ptk_id, uint16_t sn);
PROSEC_API void prosec_receiver_marks(const struct prosec_receiver *r,
                                      prosec_mark_fn fn, void *ctx);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_receiver_restore_mark(struct prosec_receiver *r, uint32_t sender_id,
                             uint8_t pgk_id, uint16_t ptk_id, uint16_t sn);

/* ---- replay window (exposed for its table test) -------------------------- */

/*
 * A sliding window over 16-bit SNs of one PTK ID (RFC 6479's bitmap): the
 * highest SN seen and the PROSEC_REPLAY_WINDOW SNs below it.
 */
struct prosec_replay {
    uint32_t top; /* highest SN seen + 1; 0 when none */
    uint64_t bits[PROSEC_REPLAY_WINDOW / 64 + 1];
};

PROSEC_API void prosec_replay_init(struct prosec_replay *w);
/* PROSEC_OK if sn would be accepted, else PROSEC_ERR_REPLAY or
 * PROSEC_ERR_TOO_OLD; changes nothing. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_replay_check(const struct prosec_replay *w, uint16_t sn);
/* Records sn, which prosec_replay_check accepted. */
PROSEC_API void prosec_replay_update(struct prosec_replay *w, uint16_t sn);

#endif
