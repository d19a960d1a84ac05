/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plumbing shared by the files of src/keystore: the in-memory model, the
 * file format codecs, the sealing, locked memory, and the fault-injection
 * hook of the tests.  Nothing here is part of the public API; the tests
 * and the fuzzer use it through the static library.
 *
 * Invariant: every secret the keystore holds (PGKs, PMK, PRUK, private
 * key, passphrase or key, plaintext bodies) sits in memory from
 * prosec__secmem_alloc, which wipes it on free; the short-lived copies on
 * the stack (a derived key, a PGK being decoded) are wiped at out:.  The
 * derived sealing key kept for saves sits with the seal in the secrets.
 */
#ifndef PROSEC_KEYSTORE_INTERNAL_H
#define PROSEC_KEYSTORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prosec/keystore.h"

/* The file format, docs/keystore.md. */
enum prosec__ks_format {
    PROSEC__KS_MAGIC_LEN = 8,
    PROSEC__KS_VERSION = 1,
    PROSEC__KS_HDR_LEN = 72,
    PROSEC__KS_SALT_LEN = 32,
    PROSEC__KS_NONCE_LEN = 12,
    PROSEC__KS_TAG_LEN = 16,
    PROSEC__KS_KDF_ARGON2ID = 1,
    PROSEC__KS_KDF_KEY = 2, /* HKDF-SHA-256 from a 32-octet key */
    PROSEC__KS_AEAD_CHACHA20_POLY1305 = 1,
    PROSEC__KS_ARGON2_VERSION = 0x13,
    PROSEC__KS_BODY_VERSION = 1,
    PROSEC__KS_FILE_MAX =
        PROSEC__KS_HDR_LEN + PROSEC_KS_BODY_MAX + PROSEC__KS_TAG_LEN
};

extern const uint8_t prosec__ks_magic[PROSEC__KS_MAGIC_LEN];

struct prosec__ks_header {
    uint16_t version;
    uint8_t kdf;
    uint8_t aead;
    struct prosec_argon2_params argon2; /* zeros with PROSEC__KS_KDF_KEY */
    uint8_t salt[PROSEC__KS_SALT_LEN];
    uint8_t nonce[PROSEC__KS_NONCE_LEN];
    uint32_t body_len; /* ciphertext octets, without the tag */
};

/* ---- locked memory ------------------------------------------------------- */

/*
 * n zeroed octets in pages of their own, marked MADV_DONTDUMP and locked
 * when the limit allows (*locked says whether; locked may be NULL).
 * Under AddressSanitizer plain calloc, so overflows are caught.
 */
void *prosec__secmem_alloc(size_t n, bool *locked);
/* Wipes, unlocks and frees; NULL does nothing. */
void prosec__secmem_free(void *p);

/* ---- the in-memory model ---------------------------------------------------
 */

struct prosec__ks_blob {
    uint8_t *data; /* len octets and a NUL; NULL when unset */
    size_t len;
    bool secret; /* data from prosec__secmem_alloc */
    bool locked; /* and mlock succeeded */
};

struct prosec__ks_pgk {
    uint32_t group_id;
    struct prosec_pgk pgk;
};

/*
 * Saves sealed under one key before the next save draws a fresh salt, and
 * so derives a fresh key.  Nonces are random 96-bit strings: after q seals
 * under one key, the chance that two share a nonce is at most q^2 / 2^97,
 * so 2^-33 at q = 2^32 (the limit NIST SP 800-38D sets for random 96-bit
 * IVs).  The count is per handle: the next open derives the same key from
 * the file's salt and counts from 0 again, so across restarts the bound
 * rests on the write rate; 2^32 is ten saves a second for 13 years.
 */
#define PROSEC__KS_SEALS_PER_KEY (UINT64_C(1) << 32)

/*
 * The sealing material a save needs, kept for the life of the handle.
 * When keyed, seal_key is the key derived from salt with kind, the
 * passphrase or key, and argon2: the four always change together, so the
 * header a save writes always names how its key was made.
 */
struct prosec__ks_seal {
    enum prosec_seal_kind kind;
    uint8_t passphrase[PROSEC_KS_PASSPHRASE_MAX];
    size_t passphrase_len;
    uint8_t key[PROSEC_KS_KEY_LEN]; /* KEY_FILE and KEY */
    struct prosec_argon2_params argon2;
    bool allow_weak;
    bool keyed; /* salt and seal_key hold a derived key */
    uint8_t salt[PROSEC__KS_SALT_LEN];
    uint8_t seal_key[PROSEC_KS_KEY_LEN];
    uint64_t sealed; /* seals under seal_key by this handle */
};

/* The secrets of a keystore, in one locked allocation. */
struct prosec__ks_secrets {
    struct prosec__ks_pgk pgk[PROSEC_KS_PGKS_MAX];
    size_t n_pgk;
    uint8_t pmk[PROSEC_KS_PMK_LEN];
    uint32_t pmk_id;
    bool has_pmk;
    uint8_t pruk[PROSEC_KS_PRUK_LEN];
    uint64_t pruk_id;
    bool has_pruk;
    struct prosec__ks_seal seal;
};

struct prosec__ks_group {
    uint32_t id;
    char name[PROSEC_KS_NAME_MAX + 1];
};

/* Kept in order of last change, oldest first (the eviction order). */
struct prosec__ks_reservation {
    uint32_t group_id;
    uint8_t pgk_id;
    uint16_t reserved;
};

/* Kept in order of last change, oldest first. */
struct prosec__ks_replay {
    uint32_t group_id;
    uint32_t sender_id;
    uint8_t pgk_id;
    uint16_t ptk_id;
    uint16_t sn;
};

struct prosec__ks_setting {
    char key[PROSEC_KS_SETTING_KEY_MAX + 1];
    struct prosec__ks_blob value;
};

struct prosec_keystore {
    struct prosec__ks_secrets *sec;
    bool mem_locked;
    struct prosec__ks_blob cred[PROSEC_KS_CRED_COUNT];
    struct prosec__ks_group group[PROSEC_KS_GROUPS_MAX];
    size_t n_group;
    struct prosec__ks_reservation res[PROSEC_KS_RESERVATIONS_MAX];
    size_t n_res;
    struct prosec__ks_replay replay[PROSEC_KS_REPLAY_MAX];
    size_t n_replay;
    struct prosec__ks_setting setting[PROSEC_KS_SETTINGS_MAX];
    size_t n_setting;

    /* The file: -1 and NULL for a keystore made from memory. */
    int dir_fd;
    int lock_fd;
    char *base; /* the file's name in its folder */
    char *temp; /* base.tmp */
};

/* An empty keystore with no file.  Errors: PROSEC_ERR_NOMEM. */
prosec_err prosec__ks_new(struct prosec_keystore **out);

/* Frees what prosec__ks_new made and the model; closes no file. */
void prosec__ks_free_model(struct prosec_keystore *ks);

/* Whether a PGK is held for (group, PGK ID). */
bool prosec__ks_pgk_held(const struct prosec_keystore *ks, uint32_t group_id,
                         uint8_t pgk_id);

/* Sets a blob to a copy of len octets at data (len may be 0). */
prosec_err prosec__ks_blob_set(struct prosec__ks_blob *b, const void *data,
                               size_t len, bool secret);
void prosec__ks_blob_clear(struct prosec__ks_blob *b);

/* ---- the codecs (format.c) -------------------------------------------------
 */

void prosec__ks_header_encode(uint8_t out[PROSEC__KS_HDR_LEN],
                              const struct prosec__ks_header *h);

/*
 * Decodes and checks the header of a len-octet file, and that the file's
 * length matches it.  Errors, in the order checked:
 * PROSEC_ERR_KS_MAGIC, PROSEC_ERR_KS_TRUNCATED, PROSEC_ERR_KS_VERSION,
 * PROSEC_ERR_KS_HEADER, PROSEC_ERR_KS_KDF_PARAMS, PROSEC_ERR_KS_SIZE.
 */
prosec_err prosec__ks_header_decode(const uint8_t *file, size_t len,
                                    bool allow_weak,
                                    struct prosec__ks_header *h);

/*
 * Argon2 parameters in range: at most the caps, and at least the floor
 * (or libargon2's own minimum with allow_weak).
 * Errors: PROSEC_ERR_KS_KDF_PARAMS.
 */
prosec_err prosec__ks_argon2_check(const struct prosec_argon2_params *p,
                                   bool allow_weak);

/*
 * The body of ks, in secret memory (*out, *out_len; free with
 * prosec__secmem_free).  Errors: PROSEC_ERR_NOMEM, PROSEC_ERR_FULL
 * (larger than PROSEC_KS_BODY_MAX).
 */
prosec_err prosec__ks_body_encode(const struct prosec_keystore *ks,
                                  uint8_t **out, size_t *out_len);

/*
 * Parses a plaintext body into ks, which must be empty.  On error ks may
 * hold part of it (the caller frees it).  Errors: PROSEC_ERR_KS_VERSION
 * (body version), PROSEC_ERR_KS_BODY, PROSEC_ERR_NOMEM.
 */
prosec_err prosec__ks_body_decode(struct prosec_keystore *ks,
                                  const uint8_t *body, size_t len);

/* ---- sealing (seal.c)
 * --------------------------------------------------------- */

/*
 * Takes the public seal into m: copies the passphrase or key, reads and
 * checks a key file, fills in default Argon2 parameters and, for_write
 * (create, set_seal), checks them.  m is left without a derived key (not
 * keyed).  m changes only on success.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG, PROSEC_ERR_NOMEM,
 * PROSEC_ERR_KS_KEY_FILE, PROSEC_ERR_KS_KEY_FILE_MODE,
 * PROSEC_ERR_KS_KDF_PARAMS.
 */
prosec_err prosec__ks_seal_load(struct prosec__ks_seal *m,
                                const struct prosec_seal *s, bool for_write);

/*
 * Draws a fresh salt and derives the sealing key from it (one Argon2id
 * run in passphrase mode), keeping both in m; the count of seals starts
 * again.  m changes only on success.  Errors: PROSEC_ERR_ARG (no kind),
 * PROSEC_ERR_KS_KDF_PARAMS, PROSEC_ERR_NOMEM, PROSEC_ERR_CRYPTO_LIB.
 */
prosec_err prosec__ks_seal_rekey(struct prosec__ks_seal *m);

/*
 * Seals body into a whole file (*file, *file_len, from malloc: it holds
 * no secret) with m's salt and key and a fresh random nonce.  When m is
 * not keyed, or its key has sealed PROSEC__KS_SEALS_PER_KEY times, it
 * first calls prosec__ks_seal_rekey.  Errors: PROSEC_ERR_FULL (body
 * empty or too long), those of prosec__ks_seal_rekey.
 */
prosec_err prosec__ks_seal(struct prosec__ks_seal *m, const uint8_t *body,
                           size_t body_len, uint8_t **file, size_t *file_len);

/*
 * Checks the header of a file and opens its body with m (*body, *body_len
 * in secret memory).  On success m is keyed with the file's salt, the key
 * derived from it and the header's Argon2 parameters, so that the next
 * saves need no derivation.  Errors: those of prosec__ks_header_decode,
 * PROSEC_ERR_KS_SEAL_KIND, PROSEC_ERR_KS_AUTH, PROSEC_ERR_NOMEM,
 * PROSEC_ERR_CRYPTO_LIB.
 */
prosec_err prosec__ks_unseal(struct prosec__ks_seal *m, const uint8_t *file,
                             size_t len, uint8_t **body, size_t *body_len);

/*
 * A keystore without a file from the bytes of one (the parser of open,
 * for the fuzzer and tests).  Errors: those of prosec__ks_seal_load,
 * prosec__ks_unseal and prosec__ks_body_decode.
 */
prosec_err prosec__ks_from_memory(struct prosec_keystore **out,
                                  const uint8_t *file, size_t len,
                                  const struct prosec_seal *seal);

/* A keystore without a file from a plaintext body (for the fuzzer). */
prosec_err prosec__ks_from_body(struct prosec_keystore **out,
                                const uint8_t *body, size_t len);

/*
 * How many keys have been derived in this process with kdf
 * (PROSEC__KS_KDF_ARGON2ID or PROSEC__KS_KDF_KEY), attempts that failed
 * included: lets the tests count Argon2 runs instead of timing them.
 */
uint64_t prosec__ks_kdf_runs(uint8_t kdf);

/* ---- fault injection (file.c), for the tests -------------------------------
 */

/* The steps of a write, in order.  Create links instead of renaming. */
enum prosec__ks_step {
    PROSEC__KS_STEP_OPEN_TEMP,  /* create PATH.tmp */
    PROSEC__KS_STEP_WRITE,      /* write the first half */
    PROSEC__KS_STEP_WRITE_REST, /* write the rest */
    PROSEC__KS_STEP_FSYNC,      /* flush PATH.tmp */
    PROSEC__KS_STEP_RENAME,     /* rename (link, for create) over PATH */
    PROSEC__KS_STEP_DIR_FSYNC,  /* flush the folder */
    PROSEC__KS_STEP_COUNT
};

enum prosec__ks_fault {
    PROSEC__KS_GO,   /* do the step */
    PROSEC__KS_FAIL, /* the step fails (as with EIO): save cleans up */
    PROSEC__KS_CRASH /* stop here, cleaning nothing, as a crash would */
};

typedef enum prosec__ks_fault (*prosec__ks_fault_fn)(void *ctx,
                                                     enum prosec__ks_step s);

/*
 * Installs fn (NULL removes it), called before every step of every write
 * of every keystore in the process.  Both FAIL and CRASH make the write
 * return PROSEC_ERR_KS_IO.  Not thread-safe; for tests only.
 */
void prosec__ks_set_fault_hook(prosec__ks_fault_fn fn, void *ctx);

#endif
