/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What fuzz_keystore and its seed generator share: the fixed key the
 * harness opens files with, and the modes picked by the first octet.
 */
#ifndef PROSEC_FUZZ_KEYSTORE_H
#define PROSEC_FUZZ_KEYSTORE_H

#include <stdint.h>

/* The first octet of an input (modulo FUZZ_KS_MODES) says what the rest
 * is. */
enum fuzz_ks_mode {
    FUZZ_KS_FILE = 0,        /* a file, opened with the fixed key */
    FUZZ_KS_BODY = 1,        /* a plaintext body */
    FUZZ_KS_SEALED_BODY = 2, /* a body, sealed with the fixed key, opened */
    FUZZ_KS_HEADER = 3,      /* a file, header only (an Argon2 seal) */
    FUZZ_KS_MODES = 4
};

static const uint8_t fuzz_ks_key[32] = "prosec fuzz_keystore fixed key!";

#endif
