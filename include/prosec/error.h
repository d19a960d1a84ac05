/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error codes of libprosec.  Codes, names and messages come from the one
 * list below, so they cannot drift apart.  PROSEC_OK is 0; every failure is
 * a positive value.  Codes are append-only: a released value never changes.
 */
#ifndef PROSEC_ERROR_H
#define PROSEC_ERROR_H

#include "attr.h"

#define PROSEC_ERR_MAP(X)                                                      \
    X(OK, "success")                                                           \
    X(ERR_INTERNAL, "internal error")                                          \
    X(ERR_NOMEM, "out of memory")                                              \
    X(ERR_NULL, "required pointer argument is NULL")                           \
    X(ERR_KEY_LEN, "wrong key length")                                         \
    X(ERR_ALG_ID, "algorithm id out of range")                                 \
    X(ERR_LENGTH, "LENGTH is larger than the buffer given")                    \
    X(ERR_BEARER, "BEARER out of range (5 bits)")                              \
    X(ERR_DIRECTION, "DIRECTION out of range (1 bit)")                         \
    X(ERR_OVERLAP, "input and output buffers overlap without being equal")     \
    X(ERR_KDF_PARAM, "KDF parameter too long or too many parameters")          \
    X(ERR_L2_ID, "Layer-2 ID out of range (24 bits)")                          \
    X(ERR_BACKEND_UNKNOWN, "unknown crypto backend name")                      \
    X(ERR_BACKEND_UNAVAILABLE, "crypto backend not available here")            \
    X(ERR_CRYPTO_LIB, "the cryptographic library reported a failure")          \
    X(ERR_ARG, "invalid argument")                                             \
    X(ERR_BUFFER, "output buffer too small")                                   \
    X(ERR_MALFORMED, "malformed PDU or frame")                                 \
    X(ERR_UNPROTECTED, "unprotected PDU where protection is required")         \
    X(ERR_PGK_UNKNOWN, "no PGK with this index")                               \
    X(ERR_PGK_NOT_ACTIVE, "PGK not yet active")                                \
    X(ERR_PGK_EXPIRED, "PGK expired")                                          \
    X(ERR_PGK_REVOKED, "PGK revoked")                                          \
    X(ERR_MAC, "MAC-I verification failed")                                    \
    X(ERR_REPLAY, "replayed PDU")                                              \
    X(ERR_TOO_OLD, "PDU too old for the replay window")                        \
    X(ERR_PGK_EXHAUSTED, "PGK exhausted: no PTK ID left")                      \
    X(ERR_NO_PGK, "no valid PGK to send with")                                 \
    X(ERR_PGK_INDEX_CLASH, "another valid PGK has the same index")             \
    X(ERR_PGK_DUPLICATE, "a PGK with this PGK ID is already held")             \
    X(ERR_EEA0_FORBIDDEN, "EEA0 is only allowed in a testing group")           \
    X(ERR_PERSIST, "persisting the PTK ID reservation failed")                 \
    X(ERR_FULL, "table full")                                                  \
    /* MIKEY and key request/response codecs (src/wire) */                     \
    X(ERR_MIKEY_MALFORMED, "malformed MIKEY message")                          \
    X(ERR_MIKEY_UNSUPPORTED,                                                   \
      "MIKEY message with an unsupported version, type or algorithm")          \
    X(ERR_MIKEY_MAC, "MIKEY MAC verification failed")                          \
    X(ERR_MIKEY_KEY_WRAP, "MIKEY key unwrap failed its integrity check")       \
    X(ERR_MIKEY_TIME, "MIKEY timestamp outside the accepted window")           \
    X(ERR_MIKEY_REPLAY, "replayed MIKEY message")                              \
    X(ERR_KEYREQ_SYNTAX, "key management message is not valid JSON")           \
    X(ERR_KEYREQ_TOO_LARGE, "key management message too large")                \
    X(ERR_KEYREQ_VERSION,                                                      \
      "key management message of an unknown version or message type")          \
    X(ERR_KEYREQ_FIELD,                                                        \
      "key management message with a missing, unknown or mistyped field")      \
    X(ERR_KEYREQ_RANGE, "key management message field out of range")           \
    X(ERR_KEYREQ_LIMIT, "key management message with too many entries")        \
    /* keystore: src/keystore, include/prosec/keystore.h */                    \
    X(ERR_KS_EXISTS, "keystore file already exists; not overwriting it")       \
    X(ERR_KS_NOT_FOUND, "keystore file or its folder not found")               \
    X(ERR_KS_IO, "keystore file I/O failed")                                   \
    X(ERR_KS_AUTH, "wrong passphrase or key, or the file was altered")         \
    X(ERR_KS_TRUNCATED, "keystore file truncated")                             \
    X(ERR_KS_MAGIC, "not a prosec keystore (bad magic)")                       \
    X(ERR_KS_VERSION, "unknown keystore format version")                       \
    X(ERR_KS_HEADER, "keystore header field out of range")                     \
    X(ERR_KS_KDF_PARAMS,                                                       \
      "keystore Argon2 parameters below the floor or above the cap")           \
    X(ERR_KS_SIZE, "keystore file longer than its header says, or too big")    \
    X(ERR_KS_SEAL_KIND,                                                        \
      "keystore sealed with the other kind of key (passphrase or key file)")   \
    X(ERR_KS_BODY, "keystore body malformed")                                  \
    X(ERR_KS_LOCKED, "keystore in use: locked by another process or handle")   \
    X(ERR_KS_FILE_MODE,                                                        \
      "keystore file open to group or others (needs 0600 or stricter)")        \
    X(ERR_KS_DIR_MODE, "keystore folder writable by group or others")          \
    X(ERR_KS_OWNER,                                                            \
      "keystore file, lock file or folder not owned by the current user")      \
    X(ERR_KS_NOT_REGULAR, "keystore path is a symbolic link or not a file")    \
    X(ERR_KS_KEY_FILE,                                                         \
      "key file missing, unreadable or not exactly 32 octets")                 \
    X(ERR_KS_KEY_FILE_MODE,                                                    \
      "key file must be mode 0600 or 0400 and owned by the current user")      \
    X(ERR_KS_NO_ENTRY, "no such entry in the keystore")                        \
    /* files, services and the KMF */                                         \
    X(ERR_IO, "file, folder or socket operation failed")                       \
    X(ERR_PERM, "permissions too loose or wrong owner")                        \
    X(ERR_EXISTS, "already exists")                                            \
    X(ERR_NOT_FOUND, "not found")                                              \
    X(ERR_DB, "database error")                                                \
    X(ERR_TLS, "TLS or certificate error")                                     \
    X(ERR_CONFIG, "bad configuration")                                         \
    X(ERR_UNREACHABLE, "the KMF cannot be reached")                            \
    X(ERR_DENIED, "refused by the KMF")                                        \
    X(ERR_PROTOCOL, "unexpected or malformed message from the peer")         \
    X(ERR_TIMEOUT, "timed out")                                                \
    /* relay signalling and link: src/wire/pc5sig.c, pc5link.c */              \
    X(ERR_PC5SIG_MALFORMED, "malformed relay signalling message")              \
    X(ERR_PC5SIG_VERSION, "relay signalling message of an unknown version")    \
    X(ERR_PC5SIG_TYPE,                                                         \
      "relay signalling message of an unknown or unexpected type")             \
    X(ERR_PC5SIG_INCOMPLETE, "incomplete relay signalling message")            \
    X(ERR_PC5SIG_MAC, "relay signalling or link MAC-I verification failed")    \
    X(ERR_PC5SIG_ECHO,                                                         \
      "security capabilities echoed by the relay differ from those sent")      \
    X(ERR_PC5SIG_ALG,                                                          \
      "no common algorithm, or an algorithm chosen that was not offered")      \
    X(ERR_PC5SIG_REPLAY, "replayed or reordered message on the relay link")    \
    X(ERR_PC5SIG_COUNT, "relay link COUNT exhausted: set up a new link")       \
    X(ERR_PC5SIG_TOO_LARGE, "relay link payload larger than 16 KiB")           \
    X(ERR_BUSY, "too many requests: try again later")                          \
    X(ERR_HTTP_METHOD, "HTTP method not allowed: the KMF's routes take POST")

typedef enum {
#define PROSEC__ERR_ENUM(name, msg) PROSEC_##name,
    PROSEC_ERR_MAP(PROSEC__ERR_ENUM)
#undef PROSEC__ERR_ENUM
        PROSEC__ERR_COUNT
} prosec_err;

/*
 * A sentence describing err, for people.  Never NULL; an unknown value
 * gives "unknown error".
 */
PROSEC_API const char *prosec_strerror(prosec_err err);

/*
 * The code's name, for machines and logs: "PROSEC_ERR_KEY_LEN".  Never
 * NULL; an unknown value gives "PROSEC_ERR_UNKNOWN".
 */
PROSEC_API const char *prosec_err_name(prosec_err err);

/*
 * What the last failing call of this thread said about its failure beyond
 * the code (which file, field or peer, and why), or "" when it said
 * nothing.  Functions that set it say so in their contract; it never holds
 * key bytes.  Valid until the next call into libprosec on this thread.
 */
PROSEC_API const char *prosec_error_detail(void);

#endif
