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
    X(ERR_CRYPTO_LIB, "the cryptographic library reported a failure")

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

#endif
