/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the configuration and enrolment parsers: the
 * first octet chooses kmf.conf (whose parse, when it succeeds, must
 * survive format then parse again unchanged) or an enrolment bundle.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/kmf/kmf.h"
#include "prosec/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Field by field: a key given twice leaves old octets past the NUL. */
static bool same(const struct kmf_conf *a, const struct kmf_conf *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->listen, b->listen) == 0 &&
           strcmp(a->address, b->address) == 0 &&
           strcmp(a->mikey_bind, b->mikey_bind) == 0 &&
           a->pmk_lifetime == b->pmk_lifetime &&
           a->retry_first_ms == b->retry_first_ms &&
           a->retry_max_ms == b->retry_max_ms &&
           a->handshake_timeout_ms == b->handshake_timeout_ms &&
           a->max_connections == b->max_connections &&
           a->device_requests_per_minute == b->device_requests_per_minute &&
           a->log_level == b->log_level;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmf_conf a, b;
    struct prosec_device_cred cred;
    char *text;

    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        if (prosec_device_cred_parse((const char *)data + 1, size - 1, &cred) ==
            PROSEC_OK) {
            if (cred.key_pem == NULL || cred.name[0] == '\0') {
                abort();
            }
            prosec_device_cred_wipe(&cred);
        }
        return 0;
    }
    if (kmf_conf_parse(&a, (const char *)data + 1, size - 1) != PROSEC_OK) {
        return 0;
    }
    text = kmf_conf_format(&a);
    if (text == NULL || kmf_conf_parse(&b, text, strlen(text)) != PROSEC_OK ||
        !same(&a, &b)) {
        abort();
    }
    free(text);
    return 0;
}
