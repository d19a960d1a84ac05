/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error strings, the wipe helper and constant-time comparison: the few
 * functions every part of prosec uses.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "prosec/prosec.h"

const char *prosec_strerror(prosec_err err)
{
    /* No default: the compiler flags a code without a message. */
    switch (err) {
#define PROSEC__ERR_MSG(name, msg)                                             \
    case PROSEC_##name:                                                        \
        return msg;
        PROSEC_ERR_MAP(PROSEC__ERR_MSG)
#undef PROSEC__ERR_MSG
    case PROSEC__ERR_COUNT:
        break;
    }
    return "unknown error";
}

const char *prosec_err_name(prosec_err err)
{
    switch (err) {
#define PROSEC__ERR_NAME(name, msg)                                            \
    case PROSEC_##name:                                                        \
        return "PROSEC_" #name;
        PROSEC_ERR_MAP(PROSEC__ERR_NAME)
#undef PROSEC__ERR_NAME
    case PROSEC__ERR_COUNT:
        break;
    }
    return "PROSEC_ERR_UNKNOWN";
}

void prosec_wipe(void *p, size_t len)
{
    /* glibc's explicit_bzero is memset that the compiler may not remove
     * (it is not a dead store to the optimiser), at memset speed;
     * OPENSSL_cleanse goes a byte at a time. */
    if (p != NULL && len > 0) {
        explicit_bzero(p, len);
    }
}

bool prosec_ct_equal(const void *a, const void *b, size_t len)
{
    return len == 0 || CRYPTO_memcmp(a, b, len) == 0;
}

const char *prosec_version(void)
{
    return PROSEC_VERSION;
}
