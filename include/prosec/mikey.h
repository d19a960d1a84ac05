/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MIKEY (RFC 3830) in pre-shared-key mode as prosec's KMF uses it to push a
 * PGK, or to revoke one, to a device (DESIGN.md "Key delivery" item 3), and
 * the verification message the device answers with.  The pre-shared key is
 * the device's 32-octet PMK; the PRF is PRF-HMAC-SHA-256 (RFC 6043).  The
 * byte layout of every payload, the key derivations and what each MAC
 * covers are in docs/wire.md.
 *
 *   I_MESSAGE = HDR, T, RAND, IDi, IDr, General Extension, KEMAC
 *   R_MESSAGE = HDR, T, V
 *
 * A device handles a push in this order: prosec_mikey_peek (which PMK?),
 * prosec_mikey_decode (MAC, then unwrap), prosec_mikey_replay_check
 * (timestamp window, replay), store the key durably, then
 * prosec_mikey_replay_add and prosec_mikey_verify_encode.  The KMF matches
 * an answer to its pending push with prosec_mikey_verify_peek (CSB ID)
 * and prosec_mikey_verify_check.
 *
 * Decoders accept exactly the payload chain above, check every length,
 * never read past the input and reject trailing octets.  Nothing here
 * reads a clock or draws random numbers: times and RAND come from the
 * caller.  No function logs.
 */
#ifndef PROSEC_MIKEY_H
#define PROSEC_MIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "error.h"

enum prosec_mikey_limits {
    PROSEC_MIKEY_PMK_LEN = 32,  /* pre-shared key */
    PROSEC_MIKEY_PGK_LEN = 32,  /* the key a push carries */
    PROSEC_MIKEY_RAND_LEN = 16, /* RAND payload */
    PROSEC_MIKEY_MAC_LEN = 32,  /* HMAC-SHA-256-256 */
    PROSEC_MIKEY_URI_MAX = 255, /* IDi, IDr: octets, without the NUL */
    PROSEC_MIKEY_MSG_MAX = 1024 /* any message prosec sends or accepts */
};

/*
 * The protocol numbers prosec's MIKEY profile uses (RFC 3830 6, with the
 * RFC 4563 and RFC 6043 registrations), and the TLV types of its General
 * Extension (docs/wire.md).
 */
enum prosec_mikey_wire {
    PROSEC_MIKEY_VERSION = 1,
    PROSEC_MIKEY_TYPE_PSK_INIT = 0,   /* data type: I_MESSAGE */
    PROSEC_MIKEY_TYPE_PSK_VERIFY = 1, /* data type: R_MESSAGE */
    PROSEC_MIKEY_PRF_HMAC_SHA256 = 1, /* PRF func, RFC 6043 */
    PROSEC_MIKEY_CS_MAP_EMPTY = 1,    /* CS ID map type, RFC 4563 */
    PROSEC_MIKEY_PT_LAST = 0,         /* next payload values */
    PROSEC_MIKEY_PT_KEMAC = 1,
    PROSEC_MIKEY_PT_T = 5,
    PROSEC_MIKEY_PT_ID = 6,
    PROSEC_MIKEY_PT_V = 9,
    PROSEC_MIKEY_PT_RAND = 11,
    PROSEC_MIKEY_PT_GENEXT = 21,
    PROSEC_MIKEY_TS_NTP_UTC = 0, /* TS type */
    PROSEC_MIKEY_ID_URI = 1,     /* ID type */
    PROSEC_MIKEY_ENCR_NULL = 0,  /* KEMAC Encr alg */
    PROSEC_MIKEY_ENCR_AES_KW_128 = 2,
    PROSEC_MIKEY_MAC_HMAC_SHA256 = 2, /* Mac alg: HMAC-SHA-256-256, RFC 6043 */
    PROSEC_MIKEY_KEY_TGK = 0,         /* Key data type */
    PROSEC_MIKEY_KV_NULL = 0,         /* Key validity type */
    PROSEC_MIKEY_GENEXT_VENDOR = 0,   /* General Extension type: Vendor-ID */
    PROSEC_MIKEY_EXT_VERSION = 1,     /* version of prosec's extension */
    /* General Extension TLV types; others are skipped on receipt */
    PROSEC_MIKEY_TLV_KIND = 1,       /* 1 octet: enum prosec_mikey_kind */
    PROSEC_MIKEY_TLV_GROUP_ID = 2,   /* 3 octets */
    PROSEC_MIKEY_TLV_MEMBER_ID = 3,  /* 3 octets */
    PROSEC_MIKEY_TLV_PGK_ID = 4,     /* 1 octet */
    PROSEC_MIKEY_TLV_ACTIVATION = 5, /* 8 octets, Unix seconds */
    PROSEC_MIKEY_TLV_EXPIRY = 6,     /* 8 octets, Unix seconds */
    PROSEC_MIKEY_TLV_ALG = 7,        /* 1 octet: EEA id 0..3 */
    PROSEC_MIKEY_TLV_PROFILE = 8,    /* 1 octet: 0 ts33303, 1 integrity */
    PROSEC_MIKEY_TLV_BEARER = 9,     /* 1 octet: 0..31 */
    PROSEC_MIKEY_TLV_PMK_ID = 10     /* 4 octets */
};

/* What an I_MESSAGE asks the device to do (General Extension, kind). */
enum prosec_mikey_kind {
    PROSEC_MIKEY_PGK_PUSH = 1,  /* store the PGK it carries */
    PROSEC_MIKEY_PGK_REVOKE = 2 /* delete this PGK ID of the group now */
};

/*
 * The content of an I_MESSAGE.  URIs are NUL-terminated, 1 to
 * PROSEC_MIKEY_URI_MAX printable ASCII characters (0x21..0x7E).  A revoke
 * uses kind, ntp_time, rand, idi, idr, group_id, pgk_id and pmk_id; the
 * other fields are ignored by the encoder and zero after decoding.
 */
struct prosec_mikey_msg {
    enum prosec_mikey_kind kind;
    uint64_t ntp_time;                   /* T: NTP-UTC, 64 bits */
    uint8_t rand[PROSEC_MIKEY_RAND_LEN]; /* fresh random per message */
    char idi[PROSEC_MIKEY_URI_MAX + 1];  /* the KMF's URI */
    char idr[PROSEC_MIKEY_URI_MAX + 1];  /* the device's URI */
    uint32_t group_id;                   /* 24 bits */
    uint32_t member_id;                  /* the device's Group Member ID */
    uint8_t pgk_id;
    int64_t activation; /* Unix seconds, >= 0 */
    int64_t expiry;     /* Unix seconds, > activation */
    uint8_t alg;        /* EEA id 0..3 */
    uint8_t profile;    /* 0 = ts33303, 1 = integrity (enum prosec_profile) */
    uint8_t bearer;     /* 0..31 */
    uint32_t pmk_id;    /* which PMK protects the message */
    uint8_t pgk[PROSEC_MIKEY_PGK_LEN]; /* push only */
};

/* The CSB ID of a message about (group_id, pgk_id): Group ID << 8 | PGK ID. */
static inline uint32_t prosec_mikey_csb_id(uint32_t group_id, uint8_t pgk_id)
{
    return (group_id & 0xFFFFFFu) << 8 | pgk_id;
}

/*
 * Writes the I_MESSAGE for m, protected with pmk, into out (capacity cap);
 * *out_len gets its length (at most PROSEC_MIKEY_MSG_MAX).  The PGK is
 * wrapped with AES-KW under the MIKEY encryption key and the message is
 * authenticated with HMAC-SHA-256 under the MIKEY authentication key, both
 * derived from pmk, the CSB ID and m->rand (RFC 3830 4.1.4).
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (kind, a URI, a field out of
 * range, expiry not after activation), PROSEC_ERR_BUFFER,
 * PROSEC_ERR_CRYPTO_LIB.  out is not written on error.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_encode(
    uint8_t *out, size_t cap, size_t *out_len, const struct prosec_mikey_msg *m,
    const uint8_t pmk[PROSEC_MIKEY_PMK_LEN]);

/*
 * What an I_MESSAGE says about itself, read without a key so that the
 * device can choose the PMK by pmk_id.  Nothing in it is authenticated:
 * use it to find the key, then trust only prosec_mikey_decode.
 */
struct prosec_mikey_info {
    enum prosec_mikey_kind kind;
    uint32_t csb_id;
    uint32_t group_id;
    uint8_t pgk_id;
    uint32_t pmk_id;
    uint64_t ntp_time;
    uint8_t rand[PROSEC_MIKEY_RAND_LEN];
    char idi[PROSEC_MIKEY_URI_MAX + 1];
    char idr[PROSEC_MIKEY_URI_MAX + 1];
};

/*
 * Checks the structure of the I_MESSAGE in buf (len octets) completely,
 * as prosec_mikey_decode does before its first key operation, and fills
 * *info.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_MIKEY_MALFORMED (lengths,
 * payload chain, trailing octets, General Extension content, a CSB ID
 * that disagrees with it), PROSEC_ERR_MIKEY_UNSUPPORTED (MIKEY version,
 * data type, PRF, CS ID map, timestamp type, ID type, algorithms or
 * General Extension version other than prosec's).  *info is set only on
 * success.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_peek(
    const uint8_t *buf, size_t len, struct prosec_mikey_info *info);

/*
 * Decodes and authenticates the I_MESSAGE in buf (len octets) with pmk:
 * the structure as prosec_mikey_peek, then the KEMAC MAC in constant
 * time, and only then (for a push) the AES-KW unwrap and its integrity
 * check.  Does not check the timestamp or replays: see
 * prosec_mikey_replay_check.  The caller checks that idr is its own URI
 * and idi its KMF's.
 *
 * Errors: those of prosec_mikey_peek, PROSEC_ERR_MIKEY_MAC,
 * PROSEC_ERR_MIKEY_KEY_WRAP (the unwrap failed although the MAC held),
 * PROSEC_ERR_MIKEY_MALFORMED (bad key data inside the wrap),
 * PROSEC_ERR_CRYPTO_LIB.  *out is set only on success; temporaries that
 * held keys are wiped.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_decode(
    const uint8_t *buf, size_t len, const uint8_t pmk[PROSEC_MIKEY_PMK_LEN],
    struct prosec_mikey_msg *out);

/*
 * Writes the verification message (R_MESSAGE, RFC 3830 3.1 and 5.2) that
 * answers i_msg, with its own timestamp ntp_time, into out (capacity
 * cap); *out_len gets its length.  Its MAC, under the authentication key
 * of i_msg, covers the R_MESSAGE up to the MAC field followed by IDi ||
 * IDr || T of i_msg (the two identities and the 8-octet timestamp value,
 * not whole payloads).
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (i_msg's URIs or IDs),
 * PROSEC_ERR_BUFFER, PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_verify_encode(
    uint8_t *out, size_t cap, size_t *out_len,
    const struct prosec_mikey_msg *i_msg,
    const uint8_t pmk[PROSEC_MIKEY_PMK_LEN], uint64_t ntp_time);

/*
 * Reads the CSB ID and timestamp of the verification message in buf (len
 * octets) after checking its structure, so that the KMF can find the
 * pending push (same device, same CSB ID) to check it against.
 * Unauthenticated.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_MIKEY_MALFORMED,
 * PROSEC_ERR_MIKEY_UNSUPPORTED.  Out-parameters are set only on success;
 * either may be NULL.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_verify_peek(
    const uint8_t *buf, size_t len, uint32_t *csb_id, uint64_t *ntp_time);

/*
 * Checks that buf (len octets) is the verification message for i_msg
 * under pmk: structure, CSB ID, then the MAC in constant time.
 * Errors: those of prosec_mikey_verify_peek, PROSEC_ERR_ARG (i_msg),
 * PROSEC_ERR_MIKEY_MAC (also for a CSB ID of another push),
 * PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_verify_check(
    const uint8_t *buf, size_t len, const struct prosec_mikey_msg *i_msg,
    const uint8_t pmk[PROSEC_MIKEY_PMK_LEN]);

/* ---- NTP timestamps (RFC 5905 64-bit format, RFC 4330 eras) ---------- */

/* Unix seconds that NTP timestamps can name (beyond int: macros). */
#define PROSEC_NTP_UNIX_MIN    (-61505152LL) /* 1968-01-20, NTP 2^31 */
#define PROSEC_NTP_UNIX_MAX    4233462143LL  /* 2104-02-26, era 1 */
#define PROSEC_NTP_UNIX_OFFSET 2208988800LL  /* 1900-01-01 to 1970 */

/*
 * *out = the NTP timestamp of Unix time sec + nsec / 10^9.  Seconds from
 * 2^31 up are era 0 (1968-2036), below 2^31 era 1 (2036-2104), as RFC
 * 4330 3 suggests, so one 64-bit value names one instant of 1968-2104.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (sec outside PROSEC_NTP_UNIX_MIN
 * .. PROSEC_NTP_UNIX_MAX, nsec above 999999999).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_ntp_from_unix(int64_t sec,
                                                              uint32_t nsec,
                                                              uint64_t *out);

/* The Unix time, in whole seconds rounded down, of an NTP timestamp. */
PROSEC_API int64_t prosec_ntp_to_unix(uint64_t ntp);

/* ---- replay cache ---------------------------------------------------- */

/*
 * A bounded set of the (T, RAND) pairs of the I_MESSAGEs accepted lately,
 * with a timestamp window.  RFC 3830 5.4 asks for exactly this: a message
 * is refused when its T is more than the window away from the receiver's
 * clock, or when its (T, RAND) was accepted before; entries older than
 * the window can go, since their T is refused anyway.  (T, RAND) rather
 * than the MAC is the key because it names the message before any key
 * work and is what the sender makes unique.
 *
 * Only authenticated messages are added, so an attacker without the PMK
 * cannot fill the cache.  When it is full of entries still inside the
 * window, add refuses (PROSEC_ERR_FULL) rather than forget one that could
 * then be replayed.  The cache lives in memory: a device that restarts
 * within the window also relies on its stored keys (a second push of a
 * PGK it holds changes nothing).  Not for two threads at once.
 */
struct prosec_mikey_replay;

enum {
    PROSEC_MIKEY_WINDOW_DEFAULT = 300, /* seconds: 5 minutes, either way */
    PROSEC_MIKEY_WINDOW_MAX = 86400,
    PROSEC_MIKEY_REPLAY_CAP_MAX = 65536
};

/*
 * A cache for up to capacity (1 to PROSEC_MIKEY_REPLAY_CAP_MAX) entries
 * with a window of window_s seconds (1 to PROSEC_MIKEY_WINDOW_MAX).
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG, PROSEC_ERR_NOMEM.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_replay_new(
    struct prosec_mikey_replay **out, size_t capacity, uint32_t window_s);

/* Frees c; NULL does nothing. */
PROSEC_API void prosec_mikey_replay_free(struct prosec_mikey_replay *c);

/*
 * Would a message with timestamp ntp_time and rand be accepted at Unix
 * time now?  Its T, in whole seconds, must be within now - window ..
 * now + window (inclusive).  Changes nothing.
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_MIKEY_TIME, PROSEC_ERR_MIKEY_REPLAY.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_mikey_replay_check(
    const struct prosec_mikey_replay *c, uint64_t ntp_time,
    const uint8_t rand[PROSEC_MIKEY_RAND_LEN], int64_t now);

/*
 * Checks as prosec_mikey_replay_check, then records (ntp_time, rand),
 * first dropping entries that have left the window when the cache is
 * full.  Errors: those of prosec_mikey_replay_check, PROSEC_ERR_FULL.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_mikey_replay_add(struct prosec_mikey_replay *c, uint64_t ntp_time,
                        const uint8_t rand[PROSEC_MIKEY_RAND_LEN], int64_t now);

/* Entries held now. */
PROSEC_API size_t
prosec_mikey_replay_count(const struct prosec_mikey_replay *c);

#endif
