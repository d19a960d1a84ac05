/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the key request, response and release parsers:
 * every input goes through all three.  Besides crashes, leaks and
 * sanitizer findings, it aborts when a parsed message does not encode, or
 * when encoding is not stable (parse, encode, parse, encode must give the
 * same text twice).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prosec/prosec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STABLE(type, parse, encode)                                            \
    do {                                                                       \
        struct type a, b;                                                      \
        char *s1 = NULL, *s2 = NULL;                                           \
                                                                               \
        if (parse((const char *)data, size, &a) != PROSEC_OK) {                \
            break;                                                             \
        }                                                                      \
        if (encode(&a, &s1) != PROSEC_OK ||                                    \
            parse(s1, strlen(s1), &b) != PROSEC_OK ||                          \
            encode(&b, &s2) != PROSEC_OK || strcmp(s1, s2) != 0) {             \
            abort();                                                           \
        }                                                                      \
        prosec_key_json_free(s1);                                              \
        prosec_key_json_free(s2);                                              \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STABLE(prosec_key_request, prosec_key_request_parse,
           prosec_key_request_encode);
    STABLE(prosec_key_response, prosec_key_response_parse,
           prosec_key_response_encode);
    STABLE(prosec_key_release, prosec_key_release_parse,
           prosec_key_release_encode);
    return 0;
}
