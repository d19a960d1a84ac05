/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the device agent's control protocol: the input is
 * a byte stream as a client would send it, cut into messages by the
 * decoder both sides use, each header parsed as the agent does.  The
 * decoder must never claim more than it was given, and a complete message
 * must account for exactly its octets.
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "prosec/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;

    while (pos < size) {
        size_t need = 0, jl = 0, pl = 0;
        prosec_err err =
            prosec_ctl_decode(data + pos, size - pos, &need, &jl, &pl);
        json_t *j;

        if (err != PROSEC_OK) {
            if (err == PROSEC_ERR_TIMEOUT && need <= size - pos) {
                abort(); /* incomplete, yet all it needs is there */
            }
            break;
        }
        if (need != 4 + jl + pl || need > size - pos || jl == 0) {
            abort();
        }
        j = json_loadb((const char *)data + pos + 4, jl, 0, NULL);
        if (!json_is_object(j)) {
            abort(); /* the decoder let a non-object through */
        }
        (void)json_string_value(json_object_get(j, "op"));
        (void)json_string_value(json_object_get(j, "group"));
        json_decref(j);
        pos += need;
    }
    return 0;
}
