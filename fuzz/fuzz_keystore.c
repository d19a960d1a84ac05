/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the keystore file parser, through the entry open
 * uses after reading the file (prosec__ks_from_memory).  The first octet
 * picks what the rest is (fuzz_keystore.h):
 *
 *   FILE         a whole file, opened with a fixed raw key: the header
 *                checks and the AEAD; seeds sealed with that key reach
 *                the body parser until a mutation breaks the tag.
 *   BODY         a plaintext body for the body decoder, which the AEAD
 *                otherwise hides; an accepted body must encode, decode and
 *                encode again to the same octets.
 *   SEALED_BODY  a body sealed with the fixed key, then opened as a file:
 *                must give the same result as BODY.
 *   HEADER       the header decoder alone, as an Argon2 seal would see it
 *                (no Argon2 run: a hostile header may ask for 1 GiB).
 *
 * A crash, leak, overflow, undefined behaviour or broken property is a
 * finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/keystore/internal.h"
#include "fuzz_keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct prosec_seal fixed_seal(void)
{
    struct prosec_seal s;

    memset(&s, 0, sizeof(s));
    s.kind = PROSEC_SEAL_KEY;
    s.key = fuzz_ks_key;
    return s;
}

/* encode(ks), decode, encode: the two encodings must be equal. */
static void check_round_trip(const struct prosec_keystore *ks)
{
    struct prosec_keystore *back = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;

    if (prosec__ks_body_encode(ks, &a, &al) != PROSEC_OK) {
        abort();
    }
    if (prosec__ks_from_body(&back, a, al) != PROSEC_OK ||
        prosec__ks_body_encode(back, &b, &bl) != PROSEC_OK || al != bl ||
        memcmp(a, b, al) != 0) {
        abort();
    }
    prosec__secmem_free(a);
    prosec__secmem_free(b);
    prosec_keystore_close(back);
}

static prosec_err sealed_body(const uint8_t *body, size_t len)
{
    struct prosec__ks_seal *m = prosec__secmem_alloc(sizeof(*m), NULL);
    struct prosec_seal s = fixed_seal();
    struct prosec_keystore *ks = NULL;
    uint8_t *file = NULL;
    size_t flen = 0;
    prosec_err err;

    if (m == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    m->kind = PROSEC_SEAL_KEY;
    memcpy(m->key, fuzz_ks_key, sizeof(m->key));
    err = prosec__ks_seal(m, body, len, &file, &flen);
    prosec__secmem_free(m);
    if (err != PROSEC_OK) {
        /* only the empty body cannot be sealed */
        return len == 0 ? PROSEC_ERR_KS_BODY : err;
    }
    err = prosec__ks_from_memory(&ks, file, flen, &s);
    prosec_keystore_close(ks);
    free(file);
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct prosec_seal s = fixed_seal();
    struct prosec_keystore *ks = NULL;
    struct prosec__ks_header h;
    prosec_err err;

    if (size == 0) {
        return 0;
    }
    switch (data[0] % FUZZ_KS_MODES) {
    case FUZZ_KS_FILE:
        if (prosec__ks_from_memory(&ks, data + 1, size - 1, &s) == PROSEC_OK) {
            check_round_trip(ks);
        }
        break;
    case FUZZ_KS_BODY:
        err = prosec__ks_from_body(&ks, data + 1, size - 1);
        if (err == PROSEC_OK) {
            check_round_trip(ks);
        }
        if (sealed_body(data + 1, size - 1) != err) {
            abort();
        }
        break;
    case FUZZ_KS_SEALED_BODY:
        err = sealed_body(data + 1, size - 1);
        if (err != PROSEC_OK && err != PROSEC_ERR_KS_BODY &&
            err != PROSEC_ERR_KS_VERSION) {
            abort();
        }
        break;
    default:
        (void)prosec__ks_header_decode(data + 1, size - 1, false, &h);
        (void)prosec__ks_header_decode(data + 1, size - 1, true, &h);
        break;
    }
    prosec_keystore_close(ks);
    return 0;
}
