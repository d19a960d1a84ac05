/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device keystore (DESIGN.md "Device keystore", docs/keystore.md): one
 * sealed file per device holding its credential, PMK, PRUK, the PGKs of
 * its groups, PTK ID reservations, replay high-water marks and a few
 * settings.  The file is a clear but authenticated header and a body
 * sealed with ChaCha20-Poly1305 under a key from Argon2id over a
 * passphrase, or from a 32-octet key (a key file standing in for a
 * hardware keystore).  The sealing key is derived once per seal: at open
 * from the file's salt, at create and at prosec_keystore_set_seal from a
 * fresh one, and kept with its salt in locked memory.  Every save seals
 * under it with a fresh random nonce (no Argon2 run), writes a temporary
 * file, flushes it, renames it over the old file and flushes the folder,
 * so a crash leaves the old state or the new one.
 *
 * An open keystore holds an exclusive lock (flock on PATH.lock) until it
 * is closed, so two handles, in one process or two, never write the file
 * at once.  Changes live in memory until prosec_keystore_save(); close
 * discards unsaved ones.  A keystore is not safe for two threads at once.
 *
 * Secrets in memory (PGKs, PMK, PRUK, private key, the passphrase or key,
 * plaintext bodies) live in pages marked MADV_DONTDUMP and locked with
 * mlock when RLIMIT_MEMLOCK allows (see prosec_keystore_memory_locked);
 * every buffer that held one is wiped before it is freed.
 *
 * Errors of open and create, beyond those listed per function:
 * PROSEC_ERR_NULL, PROSEC_ERR_ARG (a bad path or seal), PROSEC_ERR_NOMEM,
 * PROSEC_ERR_KS_NOT_FOUND, PROSEC_ERR_KS_IO, PROSEC_ERR_KS_LOCKED,
 * PROSEC_ERR_KS_DIR_MODE (the folder is group- or other-writable),
 * PROSEC_ERR_KS_FILE_MODE (the file has any group or other bit),
 * PROSEC_ERR_KS_OWNER (file, lock file or folder owned by someone else),
 * PROSEC_ERR_KS_NOT_REGULAR (a symbolic link, a folder, a device),
 * PROSEC_ERR_KS_KEY_FILE, PROSEC_ERR_KS_KEY_FILE_MODE,
 * PROSEC_ERR_KS_KDF_PARAMS, PROSEC_ERR_CRYPTO_LIB.  A failed open or
 * create leaves the keystore file exactly as it was.
 */
#ifndef PROSEC_KEYSTORE_H
#define PROSEC_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "error.h"
#include "group.h"

/* Sizes and limits of what a keystore holds (_LEN and _MAX in octets). */
enum prosec_keystore_limits {
    PROSEC_KS_KEY_LEN = 32,  /* a key file, a raw key, the sealing key */
    PROSEC_KS_PMK_LEN = 32,  /* PMK */
    PROSEC_KS_PRUK_LEN = 32, /* PRUK */
    PROSEC_KS_PASSPHRASE_MAX = 1024,
    PROSEC_KS_NAME_MAX = 255,    /* device name, group name */
    PROSEC_KS_URI_MAX = 1024,    /* device URI, KMF URI */
    PROSEC_KS_PEM_MAX = 16384,   /* private key, certificate */
    PROSEC_KS_CA_MAX = 65536,    /* the KMF CA certificate(s) */
    PROSEC_KS_ADDRESS_MAX = 300, /* the KMF's host:port */
    PROSEC_KS_GROUPS_MAX = 64,
    PROSEC_KS_GROUP_PGKS_MAX = PROSEC_KEYRING_MAX, /* so a group fits a ring */
    PROSEC_KS_PGKS_MAX = 256,                      /* over all groups */
    PROSEC_KS_RESERVATIONS_MAX = 1024,
    PROSEC_KS_REPLAY_MAX = 1024,
    PROSEC_KS_SETTINGS_MAX = 64,
    PROSEC_KS_SETTING_KEY_MAX = 64,
    PROSEC_KS_SETTING_VALUE_MAX = 4096,
    PROSEC_KS_BODY_MAX = 1 << 20 /* the sealed body, and so the file */
};

/*
 * Argon2id parameters: defaults for create, and the range open accepts
 * from a header.  Memory is in KiB.  Below the floor, a file is refused
 * unless the seal has PROSEC_SEAL_ALLOW_WEAK_KDF; above the cap, always,
 * so that a hostile header cannot make us allocate or spin without bound.
 */
enum prosec_argon2_limits {
    PROSEC_ARGON2_PASSES_DEFAULT = 3,
    PROSEC_ARGON2_MEMORY_DEFAULT = 65536, /* 64 MiB */
    PROSEC_ARGON2_LANES_DEFAULT = 1,
    PROSEC_ARGON2_PASSES_MIN = 2,
    PROSEC_ARGON2_MEMORY_MIN = 19456, /* 19 MiB */
    PROSEC_ARGON2_PASSES_MAX = 10,
    PROSEC_ARGON2_MEMORY_MAX = 1048576, /* 1 GiB */
    PROSEC_ARGON2_LANES_MAX = 4
};

struct prosec_argon2_params {
    uint32_t passes;     /* t; 0 means the default */
    uint32_t memory_kib; /* m; 0 means the default */
    uint32_t lanes;      /* p, 1..4; 0 means the default */
};

/* Where the sealing key comes from. */
enum prosec_seal_kind {
    PROSEC_SEAL_PASSPHRASE = 1, /* Argon2id over a passphrase */
    PROSEC_SEAL_KEY_FILE = 2,   /* a file of exactly 32 octets, 0600/0400 */
    PROSEC_SEAL_KEY = 3         /* 32 octets given by the caller */
};

/*
 * For tests only: accept Argon2 parameters below the floor, at create and
 * at open (never above the cap).
 */
enum { PROSEC_SEAL_ALLOW_WEAK_KDF = 1 };

/*
 * How a keystore is sealed.  Only the fields of the kind are read; they
 * are copied (the key file is read at once), so the caller may wipe its
 * copies as soon as the call returns.  A file sealed with a key file can
 * be opened with PROSEC_SEAL_KEY and the same 32 octets, and back.
 */
struct prosec_seal {
    enum prosec_seal_kind kind;
    const uint8_t *passphrase; /* PASSPHRASE: 1..PROSEC_KS_PASSPHRASE_MAX */
    size_t passphrase_len;
    const char *key_file;               /* KEY_FILE: path */
    const uint8_t *key;                 /* KEY: PROSEC_KS_KEY_LEN octets */
    struct prosec_argon2_params argon2; /* PASSPHRASE, create and set_seal
                                           only; open takes the header's */
    unsigned flags;                     /* PROSEC_SEAL_ALLOW_WEAK_KDF */
};

struct prosec_keystore;

/*
 * Creates a new, empty keystore at path and writes it (durably) before
 * returning it open and locked in *out; the sealing key is derived here,
 * from a fresh salt (one Argon2id run in passphrase mode), and kept for
 * the saves.  The folder must exist.  An existing file is never
 * replaced: the new one is linked into place.  On error nothing is left
 * at path, except after a failure flushing the folder, when the new
 * keystore is in place (as a crash there leaves it).
 * Errors (beyond those in the file comment): PROSEC_ERR_KS_EXISTS when
 * path exists, even as something else than a keystore.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_create(struct prosec_keystore **out, const char *path,
                       const struct prosec_seal *seal);

/*
 * Opens the keystore at path, checks ownership and modes, takes the lock,
 * and unseals and parses the whole file.  The key derived from the file's
 * salt (one Argon2id run in passphrase mode) is kept for the saves.  A
 * stale temporary file left by a crash (PATH.tmp) is removed once the
 * open succeeded.
 * Errors (beyond those in the file comment): PROSEC_ERR_KS_TRUNCATED,
 * PROSEC_ERR_KS_MAGIC, PROSEC_ERR_KS_VERSION, PROSEC_ERR_KS_HEADER,
 * PROSEC_ERR_KS_SIZE, PROSEC_ERR_KS_SEAL_KIND, PROSEC_ERR_KS_AUTH (wrong
 * passphrase or key, or the file was altered), PROSEC_ERR_KS_BODY.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_open(struct prosec_keystore **out, const char *path,
                     const struct prosec_seal *seal);

/*
 * Writes the state in memory to the file: durable when it returns
 * PROSEC_OK.  The whole state goes in one write, so every change made
 * since the last save lands together or not at all.  A save runs no key
 * derivation: it seals with the key of the open, create or last set_seal
 * and a fresh nonce (and after 2^32 saves of one handle under one key,
 * draws a new salt: one Argon2id run).  Its cost is encoding and sealing
 * the body, writing it and two fsyncs (the file and the folder).
 *
 * Callers should batch: make every change one event brings (a PGK push
 * with its group, a revocation, the replay marks of a burst) with the
 * set_* and put functions, then save once, rather than save after each.
 *
 * On an error before the rename the file is unchanged; an error flushing
 * the folder after the rename leaves the new file in place, as a crash
 * there would.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (no file: a
 * keystore made from memory), PROSEC_ERR_KS_IO, PROSEC_ERR_NOMEM,
 * PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_save(struct prosec_keystore *ks);

/* Wipes every secret, releases the lock and frees; NULL does nothing.
 * Unsaved changes are lost. */
PROSEC_API void prosec_keystore_close(struct prosec_keystore *ks);

/*
 * Changes how the next saves seal the file (a new passphrase, new Argon2
 * parameters, a move to a key file).  The new salt is drawn and the new
 * key derived here (one Argon2id run in passphrase mode), so the saves
 * after it stay cheap.  Nothing is written until the next save.  On error
 * the seal in use is unchanged.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG,
 * PROSEC_ERR_NOMEM, PROSEC_ERR_KS_KEY_FILE, PROSEC_ERR_KS_KEY_FILE_MODE,
 * PROSEC_ERR_KS_KDF_PARAMS, PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_set_seal(
    struct prosec_keystore *ks, const struct prosec_seal *seal);

/* True when every secret of ks sits in locked memory (mlock succeeded). */
PROSEC_API bool prosec_keystore_memory_locked(const struct prosec_keystore *ks);

/* ---- device credential ----------------------------------------------------
 */

/* The parts of the device credential, each an opaque octet string. */
enum prosec_keystore_cred {
    PROSEC_KS_DEVICE_NAME = 0, /* up to PROSEC_KS_NAME_MAX */
    PROSEC_KS_DEVICE_URI = 1,  /* up to PROSEC_KS_URI_MAX */
    PROSEC_KS_PRIVATE_KEY = 2, /* PEM, up to PROSEC_KS_PEM_MAX; secret */
    PROSEC_KS_CERTIFICATE = 3, /* PEM, up to PROSEC_KS_PEM_MAX */
    PROSEC_KS_KMF_CA = 4,      /* PEM, up to PROSEC_KS_CA_MAX */
    PROSEC_KS_KMF_ADDRESS = 5, /* host:port, up to PROSEC_KS_ADDRESS_MAX */
    PROSEC_KS_KMF_URI = 6      /* up to PROSEC_KS_URI_MAX */
};
enum { PROSEC_KS_CRED_COUNT = 7 };

/*
 * Sets a part of the credential to a copy of len octets at data; len 0
 * removes it.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (unknown part, too
 * long), PROSEC_ERR_NOMEM.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_set_cred(
    struct prosec_keystore *ks, enum prosec_keystore_cred which,
    const void *data, size_t len);

/*
 * The part which: *data points into ks (followed by a NUL, so text can be
 * used as a C string) and stays valid until that part is next set or ks
 * is closed.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG,
 * PROSEC_ERR_KS_NO_ENTRY (not set).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_cred(
    const struct prosec_keystore *ks, enum prosec_keystore_cred which,
    const char **data, size_t *len);

/* ---- PMK and PRUK
 * ------------------------------------------------------------ */

/* Sets the PMK and its PMK ID (replacing any).  Errors: PROSEC_ERR_NULL. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_set_pmk(struct prosec_keystore *ks,
                        const uint8_t pmk[PROSEC_KS_PMK_LEN], uint32_t pmk_id);
/* Copies the PMK out (the caller wipes it).  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_pmk(const struct prosec_keystore *ks,
                    uint8_t pmk[PROSEC_KS_PMK_LEN], uint32_t *pmk_id);
/* Wipes the PMK; nothing happens when there is none. */
PROSEC_API void prosec_keystore_clear_pmk(struct prosec_keystore *ks);

/* The relay user key (PRUK) and its PRUK ID, as the PMK. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_set_pruk(
    struct prosec_keystore *ks, const uint8_t pruk[PROSEC_KS_PRUK_LEN],
    uint64_t pruk_id);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_pruk(const struct prosec_keystore *ks,
                     uint8_t pruk[PROSEC_KS_PRUK_LEN], uint64_t *pruk_id);
PROSEC_API void prosec_keystore_clear_pruk(struct prosec_keystore *ks);

/* ---- groups and their PGKs
 * --------------------------------------------------- */

/*
 * Adds the group group_id (24 bits) named name (1..PROSEC_KS_NAME_MAX
 * octets), or renames it when held.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_L2_ID, PROSEC_ERR_ARG (name), PROSEC_ERR_FULL.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_group_set(
    struct prosec_keystore *ks, uint32_t group_id, const char *name);

/*
 * Removes a group and wipes its PGKs.  Its reservations and replay marks
 * stay (see the reservations below) and age out.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_group_remove(struct prosec_keystore *ks, uint32_t group_id);

/* How many groups are held (0 for NULL). */
PROSEC_API size_t prosec_keystore_group_count(const struct prosec_keystore *ks);

/*
 * The i-th group (in the order they were added): its ID and name (valid
 * until the group is renamed or removed).  name may be NULL.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY (i too large).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_group_at(const struct prosec_keystore *ks, size_t i,
                         uint32_t *group_id, const char **name);

/* The name of a group.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_group_name(
    const struct prosec_keystore *ks, uint32_t group_id, const char **name);

/*
 * Stores a copy of pgk in the group, replacing (and wiping) a PGK with the
 * same PGK ID.  When the replaced key differs, the reservations and replay
 * marks of (group, PGK ID) are dropped: they belonged to the old key.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY (no such group),
 * PROSEC_ERR_ARG (expiry not after activation, bearer above 31, member ID
 * above 24 bits, unknown profile), PROSEC_ERR_ALG_ID (alg above 3, or 0 in
 * the integrity profile), PROSEC_ERR_FULL (PROSEC_KS_GROUP_PGKS_MAX in the
 * group or PROSEC_KS_PGKS_MAX in all).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_pgk_put(struct prosec_keystore *ks, uint32_t group_id,
                        const struct prosec_pgk *pgk);

/* Wipes and removes a PGK.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_pgk_remove(
    struct prosec_keystore *ks, uint32_t group_id, uint8_t pgk_id);

/* How many PGKs the group holds.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY (no such group). */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_pgk_count(
    const struct prosec_keystore *ks, uint32_t group_id, size_t *n);

/* Copies out the i-th PGK of the group (the caller wipes it).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_pgk_at(const struct prosec_keystore *ks, uint32_t group_id,
                       size_t i, struct prosec_pgk *out);

/* Copies out the PGK with this PGK ID.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_pgk_get(const struct prosec_keystore *ks, uint32_t group_id,
                        uint8_t pgk_id, struct prosec_pgk *out);

/*
 * Wipes and removes every PGK whose expiry is at or before now (expiry is
 * exclusive); returns how many (0 for NULL).  No clock-skew allowance:
 * pass now minus the allowance to keep keys for late PDUs.  The caller
 * saves, so that the file loses them too.
 */
PROSEC_API size_t prosec_keystore_expire(struct prosec_keystore *ks,
                                         int64_t now);

/*
 * Adds every PGK the keystore holds for kr's group to kr.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY (no such group), and
 * those of prosec_keyring_add (the ring may then hold some of them).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_fill_keyring(
    const struct prosec_keystore *ks, struct prosec_keyring *kr);

/* ---- PTK ID reservations (struct prosec_sender)
 * ------------------------------ */

/*
 * prosec_reserve_save_fn and prosec_reserve_load_fn over a keystore: pass
 * them in struct prosec_sender_config with ctx the struct prosec_keystore.
 *
 * save records reserved for (group_id, pgk_id) and saves the whole
 * keystore (any other unsaved change goes with it); it returns PROSEC_OK
 * only once the file is durable, and on error leaves the value in memory
 * as it was.  A reservation never goes down: saving a lower value keeps
 * the higher one.  load gives the value held, or 0 when none.
 *
 * Reservations outlive their PGK (a key pushed again after it was wiped
 * still continues above its old PTK IDs).  At most
 * PROSEC_KS_RESERVATIONS_MAX are kept; when full, the least recently
 * saved one whose PGK is no longer held gives way (one always can: the
 * table is larger than the PGKs a keystore holds).  Each call is a whole
 * save (no key derivation, but a write and two fsyncs): choose the
 * sender's `ahead` accordingly.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID, PROSEC_ERR_NOMEM, and those
 * of prosec_keystore_save; load: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_reserve_save(
    void *ctx, uint32_t group_id, uint8_t pgk_id, uint16_t reserved);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_reserve_load(
    void *ctx, uint32_t group_id, uint8_t pgk_id, uint16_t *reserved);

/* ---- replay high-water marks
 * ------------------------------------------------- */

/*
 * Records that (ptk_id, sn) was accepted from sender_id (24 bits) in
 * group_id under pgk_id.  The mark is the highest (PTK ID, SN) pair, in
 * that order, ever recorded: a lower one changes nothing but freshens the
 * entry.  At most PROSEC_KS_REPLAY_MAX marks are kept; the least recently
 * recorded gives way.  Not saved until the next save.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_L2_ID.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_replay_set(
    struct prosec_keystore *ks, uint32_t group_id, uint32_t sender_id,
    uint8_t pgk_id, uint16_t ptk_id, uint16_t sn);

/* The mark of (group, sender, PGK ID).  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_replay_get(
    const struct prosec_keystore *ks, uint32_t group_id, uint32_t sender_id,
    uint8_t pgk_id, uint16_t *ptk_id, uint16_t *sn);

/* How many marks are held (0 for NULL). */
PROSEC_API size_t
prosec_keystore_replay_count(const struct prosec_keystore *ks);

/* Mark i (0 .. count - 1), to restore a receiver after a restart.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_replay_at(
    const struct prosec_keystore *ks, size_t i, uint32_t *group_id,
    uint32_t *sender_id, uint8_t *pgk_id, uint16_t *ptk_id, uint16_t *sn);

/* ---- settings
 * ------------------------------------------------------------------ */

/*
 * Sets key (1..PROSEC_KS_SETTING_KEY_MAX printable ASCII characters, no
 * space) to a copy of len octets (up to PROSEC_KS_SETTING_VALUE_MAX).
 * Settings are not treated as secrets in memory, but are sealed in the
 * file like the rest.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG,
 * PROSEC_ERR_FULL, PROSEC_ERR_NOMEM.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_keystore_setting_set(
    struct prosec_keystore *ks, const char *key, const void *value, size_t len);

/* The value of key: *value points into ks (followed by a NUL) until key
 * is next set or removed.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_setting(const struct prosec_keystore *ks, const char *key,
                        const char **value, size_t *len);

/* Removes key.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_KS_NO_ENTRY. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_keystore_setting_remove(struct prosec_keystore *ks, const char *key);

#endif
